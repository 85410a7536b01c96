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

int iroute_list_copy(const struct iroute_list *l, struct iroute_list **ret)
{
	struct iroute_list *c = calloc(1, sizeof(*c));
	void *v = NULL;

	if (c == NULL || occtl_records_copy(&iroute_type, l->v, l->n, &v) < 0) {
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
