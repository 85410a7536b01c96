#include "cookie.h"

#include <stdlib.h>
#include <string.h>

#include "occtl_records.h"
#include "strv.h"

#define F(key, kind, member) OCCTL_FIELD(key, kind, struct cookie, member)
static const struct occtl_field fields[] = {
	F("Session", OCCTL_STR, session_id),
	F("Full session", OCCTL_STR, full_session),
	F("Created", OCCTL_LOCALTIME, created),
	F("Expires", OCCTL_LOCALTIME, expires),
	F("State", OCCTL_STR, state),
	F("Username", OCCTL_NAME, username),
	F("Groupname", OCCTL_NAME, groupname),
	F("vhost", OCCTL_STR, vhost),
	F("User-Agent", OCCTL_STR, user_agent),
	F("Remote IP", OCCTL_STR, remote_ip),
	F("session_is_open", OCCTL_FLAG, session_is_open),
	F("tls_auth_ok", OCCTL_FLAG, tls_auth_ok),
	F("in_use", OCCTL_FLAG, in_use),
};
#undef F

static const char *cookie_finish(void *rec, int64_t now)
{
	const struct cookie *c = rec;

	/* The session id is what a cookie is known by in every request. */
	return c->session_id == NULL ? "cookie without a session id" : NULL;
}

static const struct occtl_record_type cookie_type = {
	.name = "cookie",
	.size = sizeof(struct cookie),
	.fields = fields,
	.n_fields = sizeof(fields) / sizeof(fields[0]),
	.finish = cookie_finish,
};

int cookie_list_copy(const struct cookie_list *l, struct cookie_list **ret)
{
	struct cookie_list *c = calloc(1, sizeof(*c));
	void *v = NULL;

	if (c == NULL || occtl_records_copy(&cookie_type, l->v, l->n, &v) < 0) {
		free(c);
		return ERR_NOMEM;
	}
	c->v = v;
	c->n = l->n;
	*ret = c;
	return 0;
}

int cookie_list_parse_occtl(const char *text, size_t len, struct cookie_list **ret,
			    struct err_info *ei)
{
	struct cookie_list *l = calloc(1, sizeof(*l));
	void *v;
	int err;

	if (l == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	/* No field of a cookie is relative to now. */
	err = occtl_records_parse(&cookie_type, text, len, 0, &v, &l->n, ei);
	if (err < 0) {
		free(l);
		return err;
	}
	l->v = v;
	*ret = l;
	return 0;
}

bool cookie_is_resumable(const struct cookie *c, int64_t now)
{
	return c->state != NULL && strcmp(c->state, "authenticated") == 0 && c->in_use == 0 &&
	       c->expires != -1 && c->expires > now;
}

void cookie_list_keep(struct cookie_list *l, bool (*keep)(const struct cookie *c, void *arg),
		      void *arg)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (keep(&l->v[i], arg))
			l->v[k++] = l->v[i];
		else
			occtl_record_clear(&cookie_type, &l->v[i]);
	}
	l->n = k;
}

void cookie_list_free(struct cookie_list *l)
{
	if (l == NULL)
		return;
	occtl_records_free(&cookie_type, l->v, l->n);
	free(l);
}
