#include "session.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "occtl_json.h"
#include "timefmt.h"

enum fkind {
	F_STR,      /* string; "(invalid)" (occtl's mark for long strings) is absent */
	F_NAME,     /* like F_STR, and "(none)" is absent too */
	F_INT,      /* non-negative integer, as a number or a numeric string */
	F_STRV,     /* list of strings; a lone string becomes a one-element list */
	F_INTERVAL, /* occtl's compact interval, in seconds */
};

#define S(m) offsetof(struct session, m)
/* Later keys overwrite earlier ones: 1.5.0 renamed "Connected at". */
static const struct field {
	const char *key;
	enum fkind kind;
	size_t off;
} fields[] = {
	{"ID", F_INT, S(id)},
	{"Username", F_NAME, S(username)},
	{"Groupname", F_NAME, S(groupname)},
	{"State", F_STR, S(state)},
	{"vhost", F_STR, S(vhost)},
	{"Device", F_STR, S(device)},
	{"MTU", F_INT, S(mtu)},
	{"Remote IP", F_STR, S(client_ip)},
	{"Local Device IP", F_STR, S(local_device_ip)},
	{"IPv4", F_STR, S(vpn_ipv4)},
	{"P-t-P IPv4", F_STR, S(p2p_ipv4)},
	{"IPv6", F_STR, S(vpn_ipv6)},
	{"User-Agent", F_STR, S(user_agent)},
	{"RX", F_INT, S(rx_bytes)},
	{"TX", F_INT, S(tx_bytes)},
	{"Average RX", F_STR, S(avg_rx)},
	{"Average TX", F_STR, S(avg_tx)},
	{"Connected at", F_STR, S(connected_at)},
	{"Last connected at", F_STR, S(connected_at)},
	{"_Connected at", F_INTERVAL, S(since_seconds)},
	{"_Last connected at", F_INTERVAL, S(since_seconds)},
	{"raw_connected_at", F_INT, S(raw_connected_at)},
	{"Full session", F_STR, S(full_session)},
	{"Session", F_STR, S(session_id)},
	{"TLS ciphersuite", F_STR, S(tls_cipher)},
	{"DTLS cipher", F_STR, S(dtls_cipher)},
	{"DNS", F_STRV, S(dns)},
	{"Routes", F_STRV, S(routes)},
};
#undef S

static int64_t int_value(const json_t *v)
{
	const char *s, *p;
	char *end;
	long long n;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? json_integer_value(v) : SESSION_ABSENT;
	if (!json_is_string(v))
		return SESSION_ABSENT;
	s = json_string_value(v);
	for (p = s; *p == ' '; p++)
		;
	if (!isdigit((unsigned char)*p))
		return SESSION_ABSENT;
	errno = 0;
	n = strtoll(p, &end, 10);
	while (*end == ' ')
		end++;
	return errno == 0 && *end == '\0' ? n : SESSION_ABSENT;
}

static int set_str(char **dst, const json_t *v, enum fkind kind)
{
	const char *s = json_string_value(v);

	free(*dst);
	*dst = NULL;
	if (s == NULL || strcmp(s, "(invalid)") == 0 ||
	    (kind == F_NAME && (strcmp(s, "(none)") == 0 || s[0] == '\0')))
		return 0;
	*dst = occtl_json_recover_utf8(s);
	return *dst ? 0 : ERR_NOMEM;
}

static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int set_strv(struct strv *sv, const json_t *v)
{
	size_t n = json_is_array(v) ? json_array_size(v) : json_is_string(v) ? 1 : 0;

	strv_free(sv);
	if (n == 0)
		return 0;
	sv->v = calloc(n, sizeof(char *));
	if (sv->v == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
		if (!json_is_string(e))
			continue;
		sv->v[sv->n] = occtl_json_recover_utf8(json_string_value(e));
		if (sv->v[sv->n++] == NULL)
			return ERR_NOMEM;
	}
	return 0;
}

static int set_field(struct session *s, const struct field *f, const json_t *v)
{
	void *dst = (char *)s + f->off;

	switch (f->kind) {
	case F_STR:
	case F_NAME:
		return set_str(dst, v, f->kind);
	case F_INT:
		*(int64_t *)dst = int_value(v);
		return 0;
	case F_INTERVAL:
		*(int64_t *)dst = json_is_string(v) ? timefmt_parse_interval(json_string_value(v))
						    : SESSION_ABSENT;
		return 0;
	case F_STRV:
		return set_strv(dst, v);
	}
	return 0;
}

static void session_clear(struct session *s)
{
	char **strs[] = {&s->username, &s->groupname, &s->state, &s->vhost, &s->device,
			 &s->client_ip, &s->vpn_ipv4, &s->vpn_ipv6, &s->local_device_ip,
			 &s->p2p_ipv4, &s->user_agent, &s->connected_at, &s->avg_rx,
			 &s->avg_tx, &s->session_id, &s->full_session, &s->tls_cipher,
			 &s->dtls_cipher};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	strv_free(&s->dns);
	strv_free(&s->routes);
}

static int session_from_occtl(struct session *s, const json_t *obj, int64_t now,
			      struct err_info *ei)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->id = s->raw_connected_at = s->since_seconds = SESSION_ABSENT;
	s->rx_bytes = s->tx_bytes = s->mtu = SESSION_ABSENT;
	if (!json_is_object(obj))
		return err_set(ei, ERR_OCCTL_BAD_JSON, "session entry is not an object");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const json_t *v = json_object_get(obj, fields[i].key);
		if (v != NULL && (r = set_field(s, &fields[i], v)) < 0)
			return err_set(ei, r, "out of memory");
	}
	if (s->id <= 0)
		return err_set(ei, ERR_OCCTL_BAD_JSON, "session entry without a valid ID");
	/* The exact start beats occtl's rounded interval when ocserv gives it. */
	if (s->raw_connected_at != SESSION_ABSENT)
		s->since_seconds = now > s->raw_connected_at ? now - s->raw_connected_at : 0;
	return 0;
}

bool session_is_authenticated(const struct session *s)
{
	static const char *pre[] = {"pre-auth", "authenticating", "auth failed"};

	if (s->username == NULL)
		return false;
	for (size_t i = 0; s->state != NULL && i < sizeof(pre) / sizeof(pre[0]); i++)
		if (strcmp(s->state, pre[i]) == 0)
			return false;
	return true;
}

int session_list_from_occtl(const json_t *arr, int64_t now, struct session_list **ret,
			    struct err_info *ei)
{
	struct session_list *l;
	int r = 0;

	if (!json_is_array(arr))
		return err_set(ei, ERR_OCCTL_BAD_JSON, "expected a JSON array of sessions");
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->v = calloc(json_array_size(arr) + 1, sizeof(*l->v))) == NULL) {
		free(l);
		return err_set(ei, ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		struct session *s = &l->v[l->n];
		r = session_from_occtl(s, json_array_get(arr, i), now, ei);
		if (r < 0) {
			session_clear(s);
			break;
		}
		l->n++;
	}
	if (r < 0) {
		session_list_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

void session_list_keep_authenticated(struct session_list *l)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (session_is_authenticated(&l->v[i]))
			l->v[kept++] = l->v[i];
		else
			session_clear(&l->v[i]);
	}
	l->n = kept;
}

void session_list_free(struct session_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		session_clear(&l->v[i]);
	free(l->v);
	free(l);
}
