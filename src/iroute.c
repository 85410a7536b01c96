#include "iroute.h"

#include <stdlib.h>
#include <string.h>

#include "occtl_records.h"

#define F(key, kind, member) OCCTL_FIELD(key, kind, struct iroute, member)
static const struct occtl_field fields[] = {
	F("ID", OCCTL_INT, id),
	F("Username", OCCTL_NAME, username),
	F("vhost", OCCTL_STR, vhost),
	F("Device", OCCTL_STR, device),
	F("IP", OCCTL_STR, ip), /* twice per entry ≤1.3.0: the same value */
	F("iRoutes", OCCTL_STRV, iroutes),
};
#undef F

static const char *iroute_finish(void *rec, int64_t now)
{
	const struct iroute *r = rec;

	return r->id <= 0 ? "entry without an ID" : NULL;
}

static const struct occtl_record_type iroute_type = {
	.name = "iroute",
	.size = sizeof(struct iroute),
	.fields = fields,
	.n_fields = sizeof(fields) / sizeof(fields[0]),
	.finish = iroute_finish,
	.split_key = "ID",
	.bare_object = true,
};

/* A deep copy of n records of type t, driven by the field table, which
 * names everything a record owns (occtl_records.h). Several keys may share
 * a member: it is copied once. ERR_NOMEM (nothing allocated) or 0.
 * The same in session.c, cookie.c and iroute.c: occtl_record_copy() in
 * occtl_records.c is its natural home. */
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

static int records_copy(const struct occtl_record_type *t, const void *v, size_t n, void **ret)
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
int iroute_list_copy(const struct iroute_list *l, struct iroute_list **ret)
{
	struct iroute_list *c = calloc(1, sizeof(*c));
	void *v = NULL;

	if (c == NULL || records_copy(&iroute_type, l->v, l->n, &v) < 0) {
		free(c);
		return ERR_NOMEM;
	}
	c->v = v;
	c->n = l->n;
	*ret = c;
	return 0;
}

int iroute_list_parse_occtl(const char *text, size_t len, struct iroute_list **ret,
			    struct err_info *ei)
{
	struct iroute_list *l = calloc(1, sizeof(*l));
	void *v;
	int err;

	if (l == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	err = occtl_records_parse(&iroute_type, text, len, 0, &v, &l->n, ei);
	if (err < 0) {
		free(l);
		return err;
	}
	l->v = v;
	*ret = l;
	return 0;
}

void iroute_list_free(struct iroute_list *l)
{
	if (l == NULL)
		return;
	occtl_records_free(&iroute_type, l->v, l->n);
	free(l);
}
