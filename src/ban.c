#include "ban.h"

#include <stdlib.h>
#include <string.h>

#include "occtl_records.h"

/* What occtl says of a ban, before its end is worked out. */
struct ban_row {
	struct ban ban;
	int64_t until;	   /* "Since": the end, local time to the minute */
	int64_t remaining; /* "_Since": seconds left, or -1 ("?") */
};

#define F(key, kind, member) OCCTL_FIELD(key, kind, struct ban_row, member)
static const struct occtl_field fields[] = {
	F("IP", OCCTL_STR, ban.ip),
	F("Score", OCCTL_INT, ban.score),
	F("Since", OCCTL_LOCALTIME, until),
	F("_Since", OCCTL_INTERVAL, remaining),
};
#undef F

static const char *ban_finish(void *rec, int64_t now)
{
	struct ban_row *b = rec;

	if (b->ban.ip == NULL)
		return "entry without an IP";
	/* The countdown is to the second; "Since" only to the minute. */
	b->ban.expires = b->remaining >= 0 ? now + b->remaining : b->until;
	return NULL;
}

static const struct occtl_record_type ban_type = {
	.name = "ban",
	.size = sizeof(struct ban_row),
	.fields = fields,
	.n_fields = sizeof(fields) / sizeof(fields[0]),
	.finish = ban_finish,
};

int ban_list_parse_occtl(const char *text, size_t len, int64_t now, struct ban_list **ret,
			 struct err_info *ei)
{
	struct ban_list *l = calloc(1, sizeof(*l));
	struct ban_row *rows = NULL;
	size_t n = 0;
	void *v;
	int err;

	if (l == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	err = occtl_records_parse(&ban_type, text, len, now, &v, &n, ei);
	if (err < 0)
		goto fail;
	rows = v;
	if (n > 0 && (l->v = calloc(n, sizeof(*l->v))) == NULL) {
		err = err_set(ei, ERR_NOMEM, "out of memory");
		goto fail;
	}
	/* The strings move to the list; the rows own nothing else. */
	for (size_t i = 0; i < n; i++)
		l->v[i] = rows[i].ban;
	l->n = n;
	free(rows);
	*ret = l;
	return 0;
fail:
	occtl_records_free(&ban_type, rows, n);
	free(l);
	return err;
}

int ban_list_copy(const struct ban_list *l, struct ban_list **ret)
{
	struct ban_list *c = calloc(1, sizeof(*c));

	if (c == NULL || (l->n > 0 && (c->v = calloc(l->n, sizeof(*c->v))) == NULL))
		goto nomem;
	for (; c->n < l->n; c->n++) {
		c->v[c->n] = l->v[c->n];
		if (l->v[c->n].ip != NULL && (c->v[c->n].ip = strdup(l->v[c->n].ip)) == NULL)
			goto nomem;
	}
	*ret = c;
	return 0;
nomem:
	ban_list_free(c);
	return ERR_NOMEM;
}

void ban_list_free(struct ban_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].ip);
	free(l->v);
	free(l);
}
