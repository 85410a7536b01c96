#include "occtl_records.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "json_lex.h"
#include "occtl_json.h"
#include "strv.h"
#include "timefmt.h"

struct reader {
	const struct occtl_record_type *t;
	struct json_lex lx;
	int64_t now;
	char *v;	 /* the records */
	size_t n, cap;	 /* v[n] is the open record, when open */
	bool open;	 /* v[n] was started and may own memory */
	const char *why; /* static reason for ERR_OCCTL_BAD_JSON */
};

static int bad(struct reader *r, const char *why)
{
	r->why = why;
	return ERR_OCCTL_BAD_JSON;
}

static void *member(const struct occtl_record_type *t, void *rec, size_t i)
{
	return (char *)rec + t->fields[i].off;
}

void occtl_record_clear(const struct occtl_record_type *t, void *rec)
{
	/* Keys sharing a member would free it twice without the NULL. */
	for (size_t i = 0; i < t->n_fields; i++) {
		char **s;
		switch (t->fields[i].kind) {
		case OCCTL_STR:
		case OCCTL_NAME:
			s = member(t, rec, i);
			free(*s);
			*s = NULL;
			break;
		case OCCTL_STRV:
			strv_free(member(t, rec, i));
			break;
		default:
			break;
		}
	}
}

void occtl_records_free(const struct occtl_record_type *t, void *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		occtl_record_clear(t, (char *)v + i * t->size);
	free(v);
}

static void record_init(const struct occtl_record_type *t, void *rec)
{
	memset(rec, 0, t->size);
	for (size_t i = 0; i < t->n_fields; i++) {
		switch (t->fields[i].kind) {
		case OCCTL_INT:
		case OCCTL_INTERVAL:
		case OCCTL_LOCALTIME:
			*(int64_t *)member(t, rec, i) = -1;
			break;
		case OCCTL_FLAG:
			*(int *)member(t, rec, i) = -1;
			break;
		default:
			break;
		}
	}
}

/* Open a new record at v[n], growing v. */
static int record_start(struct reader *r)
{
	size_t size = r->t->size;

	if (array_grow(&r->v, &r->cap, r->n, size, 8) < 0)
		return ERR_NOMEM;
	record_init(r->t, r->v + r->n * size);
	r->open = true;
	return 0;
}

/* Close the open record: keep it, or reject the list. */
static int record_end(struct reader *r)
{
	const char *why = NULL;

	if (r->t->finish != NULL)
		why = r->t->finish(r->v + r->n * r->t->size, r->now);
	if (why != NULL)
		return bad(r, why);
	r->open = false;
	r->n++;
	return 0;
}

static const struct occtl_field *field_find(const struct occtl_record_type *t, const char *key,
					    size_t len)
{
	for (size_t i = 0; i < t->n_fields; i++)
		if (t->fields[i].key_len == len && memcmp(t->fields[i].key, key, len) == 0)
			return &t->fields[i];
	return NULL;
}

static int set_str(char **dst, const char *s, enum occtl_kind kind)
{
	free(*dst);
	*dst = NULL;
	if (s == NULL || strcmp(s, "(invalid)") == 0 ||
	    (kind == OCCTL_NAME && (strcmp(s, "(none)") == 0 || s[0] == '\0')))
		return 0;
	*dst = occtl_json_recover_utf8(s);
	return *dst ? 0 : ERR_NOMEM;
}

/* A list of strings, whose first token is tok. */
static int read_strv(struct reader *r, struct strv *sv, enum json_tok tok)
{
	struct json_lex *lx = &r->lx;

	strv_free(sv);
	if (tok == JT_STRING)
		return strv_take(sv, occtl_json_recover_utf8(lx->str));
	if (tok != JT_BEGIN_ARRAY)
		return json_lex_skip(lx, tok) ? 0 : bad(r, "bad value");
	while ((tok = json_lex_next(lx)) != JT_END_ARRAY) {
		int err = 0;
		if (tok == JT_STRING)
			err = strv_take(sv, occtl_json_recover_utf8(lx->str));
		else if (tok != JT_COMMA && !json_lex_skip(lx, tok))
			err = bad(r, "bad list");
		if (err < 0)
			return err;
	}
	return 0;
}

static int read_flag(const struct json_lex *lx, enum json_tok tok)
{
	int64_t v = -1;

	if (tok == JT_INTEGER)
		v = lx->num;
	else if (tok == JT_STRING && strcmp(lx->str, "True") == 0)
		v = 1;
	else if (tok == JT_STRING && strcmp(lx->str, "False") == 0)
		v = 0;
	else if (tok == JT_STRING)
		v = occtl_json_uint_text(lx->str);
	return v >= 0 && v <= INT_MAX ? (int)v : -1;
}

static int64_t read_number(const struct json_lex *lx, enum json_tok tok, enum occtl_kind kind)
{
	const char *s = tok == JT_STRING ? lx->str : NULL;

	switch (kind) {
	case OCCTL_INT:
		if (tok == JT_INTEGER)
			return lx->num >= 0 ? lx->num : -1;
		return s ? occtl_json_uint_text(s) : -1;
	case OCCTL_INTERVAL:
		return s ? timefmt_parse_interval(s) : -1;
	case OCCTL_LOCALTIME:
		return s ? timefmt_parse_localtime(s) : -1;
	default:
		return -1;
	}
}

/* The value of field f, whose first token is tok. */
static int read_field(struct reader *r, const struct occtl_field *f, enum json_tok tok)
{
	void *dst = (char *)r->v + r->n * r->t->size + f->off;
	struct json_lex *lx = &r->lx;

	if (tok == JT_ERROR || tok == JT_EOF)
		return bad(r, "bad value");
	switch (f->kind) {
	case OCCTL_STR:
	case OCCTL_NAME:
		if (set_str(dst, tok == JT_STRING ? lx->str : NULL, f->kind) < 0)
			return ERR_NOMEM;
		break;
	case OCCTL_FLAG:
		*(int *)dst = read_flag(lx, tok);
		break;
	case OCCTL_INT:
	case OCCTL_INTERVAL:
	case OCCTL_LOCALTIME:
		*(int64_t *)dst = read_number(lx, tok, f->kind);
		break;
	case OCCTL_STRV:
		return read_strv(r, dst, tok);
	}
	if (tok == JT_BEGIN_ARRAY || tok == JT_BEGIN_OBJECT)
		return json_lex_skip(lx, tok) ? 0 : bad(r, "bad value");
	return 0;
}

/* One "key": value member of the open record, after the key. A second
 * split key closes the record and opens the next one first. */
static int read_member(struct reader *r, bool *split_seen)
{
	const struct occtl_record_type *t = r->t;
	struct json_lex *lx = &r->lx;
	/* Before the next token overwrites the key in the lexer. */
	const struct occtl_field *f = field_find(t, lx->str, lx->str_len);
	bool split = f != NULL && t->split_key != NULL && strcmp(f->key, t->split_key) == 0;
	enum json_tok tok;
	int err;

	if (split && *split_seen) {
		if ((err = record_end(r)) < 0 || (err = record_start(r)) < 0)
			return err;
	}
	*split_seen |= split;
	if (json_lex_next(lx) != JT_COLON)
		return bad(r, "expected ':'");
	tok = json_lex_next(lx);
	if (f != NULL)
		return read_field(r, f, tok);
	return json_lex_skip(lx, tok) ? 0 : bad(r, "bad value");
}

/* The members of an object, after its '{'. In an array the object is one
 * record, even when empty; a bare object opens its first record at its
 * first key, so "{ }" holds none. */
static int read_object(struct reader *r, bool bare)
{
	bool split_seen = false;
	enum json_tok tok;
	int err;

	if (!bare && (err = record_start(r)) < 0)
		return err;
	while ((tok = json_lex_next(&r->lx)) != JT_END_OBJECT) {
		if (tok == JT_COMMA)
			continue;
		if (tok != JT_STRING)
			return bad(r, "expected a key");
		if (!r->open && (err = record_start(r)) < 0)
			return err;
		if ((err = read_member(r, &split_seen)) < 0)
			return err;
	}
	return r->open ? record_end(r) : 0;
}

static int read_array(struct reader *r)
{
	enum json_tok tok;
	int err;

	while ((tok = json_lex_next(&r->lx)) != JT_END_ARRAY) {
		if (tok == JT_COMMA)
			continue;
		if (tok != JT_BEGIN_OBJECT)
			return bad(r, "expected an object");
		if ((err = read_object(r, false)) < 0)
			return err;
	}
	return 0;
}

static int read_top(struct reader *r)
{
	enum json_tok tok = json_lex_next(&r->lx);
	int err;

	if (tok == JT_BEGIN_ARRAY)
		err = read_array(r);
	else if (tok == JT_BEGIN_OBJECT && r->t->bare_object)
		err = read_object(r, true);
	else
		err = bad(r, "expected a list");
	if (err < 0)
		return err;
	return json_lex_next(&r->lx) == JT_EOF ? 0 : bad(r, "text after the list");
}

int occtl_records_parse(const struct occtl_record_type *t, const char *text, size_t len,
			int64_t now, void **ret_v, size_t *ret_n, struct err_info *ei)
{
	struct reader r = {.t = t, .now = now};
	int err;

	json_lex_init(&r.lx, text, len);
	err = read_top(&r);
	if (err == ERR_OCCTL_BAD_JSON)
		err_set(ei, err, "%s list: %s at byte %zu", t->name, r.lx.err ? r.lx.err : r.why,
			json_lex_offset(&r.lx, text));
	else if (err < 0)
		err_set(ei, err, "%s list: out of memory", t->name);
	json_lex_free(&r.lx);
	if (r.open)
		occtl_record_clear(t, r.v + r.n * t->size);
	if (err < 0) {
		occtl_records_free(t, r.v, r.n);
		return err;
	}
	if (r.n == 0) {
		free(r.v);
		r.v = NULL;
	}
	*ret_v = r.v;
	*ret_n = r.n;
	return 0;
}

/* One record: the field table names everything a record owns; several
 * keys may share a member, which is copied once. */
static int record_copy(const struct occtl_record_type *t, char *dst, const char *src)
{
	memcpy(dst, src, t->size);
	for (size_t i = 0; i < t->n_fields; i++)
		if (t->fields[i].kind == OCCTL_STR || t->fields[i].kind == OCCTL_NAME)
			*(char **)(dst + t->fields[i].off) = NULL;
		else if (t->fields[i].kind == OCCTL_STRV)
			*(struct strv *)(dst + t->fields[i].off) = (struct strv){0};
	for (size_t i = 0; i < t->n_fields; i++) {
		size_t off = t->fields[i].off;
		if (t->fields[i].kind == OCCTL_STR || t->fields[i].kind == OCCTL_NAME) {
			const char *s = *(char *const *)(src + off);
			char **d = (char **)(dst + off);
			if (*d == NULL && s != NULL && (*d = strdup(s)) == NULL)
				goto fail;
		} else if (t->fields[i].kind == OCCTL_STRV) {
			const struct strv *s = (const struct strv *)(src + off);
			struct strv *d = (struct strv *)(dst + off);
			for (size_t k = 0, copied = d->n; copied == 0 && k < s->n; k++)
				if (strv_add(d, s->v[k]) < 0)
					goto fail;
		}
	}
	return 0;
fail:
	occtl_record_clear(t, dst);
	return ERR_NOMEM;
}

int occtl_records_copy(const struct occtl_record_type *t, const void *v, size_t n, void **ret)
{
	char *out = NULL;

	if (n > 0 && (out = calloc(n, t->size)) == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (record_copy(t, out + i * t->size, (const char *)v + i * t->size) < 0) {
			occtl_records_free(t, out, i);
			return ERR_NOMEM;
		}
	}
	*ret = out;
	return 0;
}
