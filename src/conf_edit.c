#include "conf_edit.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "log.h"
#include "ocserv_conf.h"
#include "strbuf.h"

#define BOM "\xef\xbb\xbf"

/* One line: what callers see, and what it takes to give the bytes back. */
struct line {
	struct conf_line pub;
	char *buf;    /* the content (len bytes, NUL), then a copy of it cut into
			 key, value and section, which pub points into */
	size_t len;   /* bytes of content: the line without its ending */
	unsigned eol; /* 0 (a last line without one), 1 ("\n"), 2 ("\r\n") */
};

struct conf_edit {
	struct line *v;
	size_t n, cap;
	bool bom;
	enum conf_edit_place place;
};

static const char *const endings[] = {"", "\n", "\r\n"};

/* ---- reading ---- */

/* Reader state across lines, as ocserv_conf.c keeps it. */
struct cursor {
	const char *section;
	const char *prev_key; /* the key a continuation line adds to, or NULL */
};

/* One line, NUL-terminated without its ending (cut in place). The order of
 * the tests is inih's, which ocserv embeds: comment, continuation,
 * section, pair; ocserv_conf_parse() reads the same way. */
static void classify(struct conf_line *l, char *line, struct cursor *cur)
{
	char *start = ocserv_conf_lskip(ocserv_conf_rstrip(line)), *sep;

	ocserv_conf_rstrip(ocserv_conf_cut_comment(start));
	l->section = cur->section;
	if (*start == '\0') {
		l->kind = CONF_LINE_BLANK;
	} else if (*start == '#' || *start == ';') {
		l->kind = CONF_LINE_COMMENT;
	} else if (start > line && cur->prev_key != NULL) {
		l->kind = CONF_LINE_CONT;
		l->key = cur->prev_key;
		l->value = ocserv_conf_unquote(start);
	} else if (*start == '[') {
		char *end = strchr(start + 1, ']');
		l->kind = end != NULL ? CONF_LINE_SECTION : CONF_LINE_BAD;
		if (end != NULL) {
			*end = '\0';
			l->section = cur->section = start + 1;
			cur->prev_key = NULL;
		}
	} else if ((sep = strpbrk(start, "=:")) == NULL) {
		l->kind = CONF_LINE_BAD;
	} else {
		*sep = '\0';
		l->kind = CONF_LINE_KEY;
		l->key = cur->prev_key = ocserv_conf_rstrip(start);
		l->value = ocserv_conf_unquote(sep + 1);
	}
}

static int add_line(struct conf_edit *e, struct cursor *cur, const char *p, size_t len,
		    unsigned eol)
{
	struct line *l;

	if (array_grow(&e->v, &e->cap, e->n, sizeof(*e->v), 64) < 0)
		return ERR_NOMEM;
	l = &e->v[e->n];
	*l = (struct line){.len = len, .eol = eol};
	if ((l->buf = malloc(2 * len + 2)) == NULL)
		return ERR_NOMEM;
	memcpy(l->buf, p, len);
	l->buf[len] = '\0';
	memcpy(l->buf + len + 1, p, len);
	l->buf[2 * len + 1] = '\0';
	e->n++;
	l->pub.text = l->buf;
	l->pub.number = (unsigned)e->n;
	classify(&l->pub, l->buf + len + 1, cur);
	return 0;
}

static int load(struct conf_edit *e, const char *p, size_t len)
{
	const char *end = p + len;
	struct cursor cur = {0};

	/* A byte order mark, as an editor may save it: ocserv skips it. */
	if (len >= 3 && memcmp(p, BOM, 3) == 0) {
		e->bom = true;
		p += 3;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		unsigned eol = nl != NULL;

		if (nl != NULL && n > 0 && p[n - 1] == '\r') {
			n--;
			eol = 2;
		}
		if (add_line(e, &cur, p, n, eol) < 0)
			return ERR_NOMEM;
		p += n + eol;
	}
	return 0;
}

void conf_edit_free(struct conf_edit *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].buf);
	free(e->v);
	free(e);
}

int conf_edit_parse(const char *text, size_t len, size_t max, struct conf_edit **ret,
		    struct err_info *ei)
{
	struct conf_edit *e;

	if (len > max)
		return err_set(ei, ERR_INTERNAL, "more than %zu bytes", max);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	if (load(e, text, len) < 0) {
		conf_edit_free(e);
		return err_set(ei, ERR_NOMEM, "out of memory");
	}
	*ret = e;
	return 0;
}

/* ---- writing text ---- */

/* A growing text buffer; one failed allocation fails it for good. */
static void buf_line(struct strbuf *b, const struct line *l)
{
	strbuf_add(b, l->buf, l->len);
	strbuf_str(b, endings[l->eol]);
}

char *conf_edit_text(const struct conf_edit *e, size_t *len)
{
	struct strbuf b = {0};

	if (e->bom)
		strbuf_add(&b, BOM, 3);
	for (size_t i = 0; i < e->n; i++)
		buf_line(&b, &e->v[i]);
	return strbuf_done(&b, len);
}

/* ---- looking ---- */

size_t conf_edit_count(const struct conf_edit *e)
{
	return e->n;
}

const struct conf_line *conf_edit_line(const struct conf_edit *e, size_t i)
{
	return i < e->n ? &e->v[i].pub : NULL;
}

unsigned conf_edit_first_bad(const struct conf_edit *e)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].pub.kind == CONF_LINE_BAD)
			return e->v[i].pub.number;
	return 0;
}

static bool same_section(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

bool conf_edit_has_section(const struct conf_edit *e, const char *section)
{
	if (section == NULL)
		return true;
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].pub.kind == CONF_LINE_SECTION &&
		    same_section(e->v[i].pub.section, section))
			return true;
	return false;
}

/* A line holding a value of key in section. */
static bool is_value_of(const struct conf_line *l, const char *section, const char *key)
{
	return (l->kind == CONF_LINE_KEY || l->kind == CONF_LINE_CONT) &&
	       same_section(l->section, section) && strcmp(l->key, key) == 0;
}

size_t conf_edit_values(const struct conf_edit *e, const char *section, const char *key,
			const char **out, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < e->n; i++) {
		if (!is_value_of(&e->v[i].pub, section, key))
			continue;
		if (k < max)
			out[k] = e->v[i].pub.value;
		k++;
	}
	return k;
}

/* ---- editing ---- */

void conf_edit_set_place(struct conf_edit *e, enum conf_edit_place place)
{
	e->place = place;
}

/* How new and rewritten lines end: as most lines of the file do. */
static const char *file_eol(const struct conf_edit *e)
{
	size_t crlf = 0, lf = 0;

	for (size_t i = 0; i < e->n; i++) {
		crlf += e->v[i].eol == 2;
		lf += e->v[i].eol == 1;
	}
	return crlf > lf ? endings[2] : endings[1];
}

/* An edit of one key in one section: its lines go; block (whole lines)
 * takes the place of its first line, or is inserted before line at
 * (e->n: at the end). SIZE_MAX: no such place. */
struct edit {
	const char *section, *key;
	size_t first, at;
	const char *block;
	size_t block_len;
};

/* Replace e's lines by those of text: a fresh parse, so that kinds,
 * numbers and continuations are what a reader of the new text sees. */
static int reload(struct conf_edit *e, const char *text, size_t len, struct err_info *ei)
{
	struct conf_edit *g = NULL;
	int r = conf_edit_parse(text, len, SIZE_MAX, &g, ei);

	if (r < 0)
		return r;
	g->place = e->place;
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].buf);
	free(e->v);
	*e = *g;
	free(g);
	return 0;
}

static int apply(struct conf_edit *e, const struct edit *ed, struct err_info *ei)
{
	struct strbuf b = {0};
	char *text;
	size_t len;
	int r;

	if (e->bom)
		strbuf_add(&b, BOM, 3);
	for (size_t i = 0; i <= e->n; i++) {
		if (i == ed->at) {
			if (i > 0 && e->v[i - 1].eol == 0) /* only the last line */
				strbuf_str(&b, file_eol(e));
			strbuf_add(&b, ed->block, ed->block_len);
		}
		if (i == e->n)
			break;
		if (!is_value_of(&e->v[i].pub, ed->section, ed->key))
			buf_line(&b, &e->v[i]);
		else if (i == ed->first)
			strbuf_add(&b, ed->block, ed->block_len);
	}
	if ((text = strbuf_done(&b, &len)) == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	/* A line that starts with a byte order mark's bytes (not at the start
	 * of the file: those are kept aside) must not become the first. */
	if (!e->bom && len >= 3 && memcmp(text, BOM, 3) == 0)
		r = err_set(ei, ERR_CONFLICT,
			    "a line that starts with the bytes of a byte order mark would become "
			    "the first, where ocserv skips them: change that line first");
	else
		r = reload(e, text, len, ei);
	free(text);
	return r;
}

static size_t first_line(const struct conf_edit *e, const char *section, const char *key)
{
	for (size_t i = 0; i < e->n; i++)
		if (is_value_of(&e->v[i].pub, section, key))
			return i;
	return SIZE_MAX;
}

/* Where a new key of section goes (before that line; e->n: at the end), or
 * SIZE_MAX when the section has no line at all (a new vhost). */
static size_t insert_at(const struct conf_edit *e, const char *section)
{
	size_t last = SIZE_MAX, last_key = SIZE_MAX;

	for (size_t i = 0; i < e->n; i++) {
		const struct conf_line *l = &e->v[i].pub;
		if (!same_section(l->section, section))
			continue;
		last = i;
		if (l->kind == CONF_LINE_KEY || l->kind == CONF_LINE_CONT)
			last_key = i;
	}
	if (e->place == CONF_EDIT_AFTER_KEYS && last_key != SIZE_MAX)
		return last_key + 1;
	if (last != SIZE_MAX)
		return last + 1;
	return section == NULL ? 0 : SIZE_MAX;
}

/* inih reads an indented line after a key as one more value of that key,
 * even "[...]": a new key right before an indented section header (which
 * is a header only because no key precedes it) would swallow it. */
static bool swallows_header(const struct conf_edit *e, size_t at)
{
	return at < e->n && e->v[at].pub.kind == CONF_LINE_SECTION &&
	       isspace((unsigned char)e->v[at].pub.text[0]);
}

/* Whether key's values in section are exactly values[0..n-1]. */
static bool has_values(const struct conf_edit *e, const char *section, const char *key,
		       const char *const *values, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < e->n; i++) {
		if (!is_value_of(&e->v[i].pub, section, key))
			continue;
		if (k == n || strcmp(e->v[i].pub.value, values[k]) != 0)
			return false;
		k++;
	}
	return k == n;
}

static bool blank_or_quote(char c)
{
	return isspace((unsigned char)c) || c == '"';
}

/* Whether s has a '#' after a blank: ocserv would cut the line there. */
static bool has_comment(const char *s)
{
	for (const char *p = strchr(s, '#'); p != NULL; p = strchr(p + 1, '#'))
		if (p > s && isspace((unsigned char)p[-1]))
			return true;
	return false;
}

/* Why key, section or a value would not read back as given, or NULL. */
static const char *unreadable(const char *section, const char *key, const char *const *values,
			      size_t n, const char **what)
{
	size_t len = strlen(key);

	*what = key;
	if (len == 0 || strpbrk(key, "=:\n") != NULL || isspace((unsigned char)key[0]) ||
	    isspace((unsigned char)key[len - 1]) || strchr("#;[", key[0]) != NULL ||
	    has_comment(key))
		return "not a key ocserv would read back";
	if (section != NULL && (strpbrk(section, "]\n") != NULL || has_comment(section)))
		return *what = section, "not a section ocserv would read back";
	if (n == 0)
		return "no value given";
	for (size_t i = 0; i < n; i++) {
		len = strlen(values[i]);
		*what = values[i];
		if (strchr(values[i], '\n') != NULL)
			return "a value must not contain a newline";
		if (len > 0 && (blank_or_quote(values[i][0]) || blank_or_quote(values[i][len - 1])))
			return "ocserv would strip the blank or '\"' at its start or end";
		/* After "key = ", a leading '#' follows a blank too. */
		if (values[i][0] == '#' || has_comment(values[i]))
			return "ocserv would read a '#' after a blank as the start of a comment";
	}
	return NULL;
}

/* "key = value" and the line ending, for each value; headed by the new
 * section's header when header. */
static char *render(const struct conf_edit *e, const char *section, const char *key,
		    const char *const *values, size_t n, bool header, size_t *len)
{
	const char *eol = file_eol(e);
	struct strbuf b = {0};

	if (header) {
		strbuf_str(&b, "[");
		strbuf_str(&b, section);
		strbuf_str(&b, "]");
		strbuf_str(&b, eol);
	}
	for (size_t i = 0; i < n; i++) {
		strbuf_str(&b, key);
		strbuf_str(&b, " = ");
		strbuf_str(&b, values[i]);
		strbuf_str(&b, eol);
	}
	return strbuf_done(&b, len);
}

int conf_edit_set(struct conf_edit *e, const char *section, const char *key,
		  const char *const *values, size_t n, bool *changed, struct err_info *ei)
{
	struct edit ed = {.section = section, .key = key, .at = SIZE_MAX};
	const char *what, *why = unreadable(section, key, values, n, &what);
	char q[80], *block;
	bool header = false;
	int r;

	*changed = false;
	if (why != NULL && what == key)
		return err_set(ei, ERR_BAD_REQUEST, "\"%s\": %s", log_quote(key, q, sizeof(q)),
			       why);
	if (why != NULL)
		return err_set(ei, ERR_BAD_REQUEST, "%s: \"%s\": %s", key,
			       log_quote(what, q, sizeof(q)), why);
	if (has_values(e, section, key, values, n))
		return 0;
	if ((ed.first = first_line(e, section, key)) == SIZE_MAX &&
	    (ed.at = insert_at(e, section)) == SIZE_MAX) {
		ed.at = e->n;
		header = true;
	}
	if (swallows_header(e, ed.at))
		return err_set(
			ei, ERR_CONFLICT,
			"line %u is an indented section header: after a new key, ocserv "
			"would read it as one more value of %s; remove its indentation first",
			e->v[ed.at].pub.number, key);
	if ((block = render(e, section, key, values, n, header, &ed.block_len)) == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	ed.block = block;
	r = apply(e, &ed, ei);
	free(block);
	*changed = r == 0;
	return r;
}

int conf_edit_unset(struct conf_edit *e, const char *section, const char *key, bool *changed,
		    struct err_info *ei)
{
	struct edit ed = {.section = section, .key = key, .at = SIZE_MAX, .block = ""};
	int r;

	*changed = false;
	if ((ed.first = first_line(e, section, key)) == SIZE_MAX)
		return 0;
	r = apply(e, &ed, ei);
	*changed = r == 0;
	return r;
}
