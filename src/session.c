#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "occtl_records.h"

#define F(key, kind, member) OCCTL_FIELD(key, kind, struct session, member)
/* occtl's keys and where they go. Input order decides between duplicates:
 * the last one wins, as occtl means it ("Routes": [] then "Routes": "defaultroute"). */
static const struct occtl_field fields[] = {
	F("ID", OCCTL_INT, id),
	F("Username", OCCTL_NAME, username),
	F("Groupname", OCCTL_NAME, groupname),
	F("State", OCCTL_STR, state),
	F("vhost", OCCTL_STR, vhost),
	F("Device", OCCTL_STR, device),
	F("MTU", OCCTL_INT, mtu),
	F("Remote IP", OCCTL_STR, client_ip),
	F("Local Device IP", OCCTL_STR, local_device_ip),
	F("IPv4", OCCTL_STR, vpn_ipv4),
	F("P-t-P IPv4", OCCTL_STR, p2p_ipv4),
	F("IPv6", OCCTL_STR, vpn_ipv6),
	F("User-Agent", OCCTL_STR, user_agent),
	F("RX", OCCTL_INT, rx_bytes),
	F("TX", OCCTL_INT, tx_bytes),
	F("Average RX", OCCTL_STR, avg_rx),
	F("Average TX", OCCTL_STR, avg_tx),
	F("DPD", OCCTL_INT, dpd),
	F("KeepAlive", OCCTL_INT, keepalive),
	F("Hostname", OCCTL_STR, hostname),
	F("Connected at", OCCTL_STR, connected_at),
	F("Last connected at", OCCTL_STR, connected_at), /* 1.4.1's name */
	F("_Connected at", OCCTL_INTERVAL, since_seconds),
	F("_Last connected at", OCCTL_INTERVAL, since_seconds),
	F("raw_connected_at", OCCTL_INT, raw_connected_at),
	F("raw_session_started_at", OCCTL_INT, raw_session_started_at),
	F("Full session", OCCTL_STR, full_session),
	F("Session", OCCTL_STR, session_id),
	F("TLS ciphersuite", OCCTL_STR, tls_cipher),
	F("DTLS cipher", OCCTL_STR, dtls_cipher),
	F("DNS", OCCTL_STRV, dns),
	F("NBNS", OCCTL_STRV, nbns),
	F("Split-DNS-Domains", OCCTL_STRV, split_dns_domains),
	F("Routes", OCCTL_STRV, routes),
	F("No-routes", OCCTL_STRV, no_routes),
	F("iRoutes", OCCTL_STRV, iroutes),
	F("Restricted to routes", OCCTL_FLAG, restricted_to_routes),
	F("Restricted to ports", OCCTL_STRV, restricted_to_ports),
};
#undef F

static const char *session_finish(void *rec, int64_t now)
{
	struct session *s = rec;

	if (s->id <= 0)
		return "session without an ID";
	/* The exact start beats occtl's rounded interval when ocserv gives it. */
	if (s->raw_connected_at != SESSION_ABSENT)
		s->since_seconds = now > s->raw_connected_at ? now - s->raw_connected_at : 0;
	return NULL;
}

static const struct occtl_record_type session_type = {
	.name = "session",
	.size = sizeof(struct session),
	.fields = fields,
	.n_fields = sizeof(fields) / sizeof(fields[0]),
	.finish = session_finish,
};

int session_list_copy(const struct session_list *l, struct session_list **ret)
{
	struct session_list *c = calloc(1, sizeof(*c));
	void *v = NULL;

	if (c == NULL || occtl_records_copy(&session_type, l->v, l->n, &v) < 0) {
		free(c);
		return ERR_NOMEM;
	}
	c->v = v;
	c->n = l->n;
	*ret = c;
	return 0;
}

int session_list_parse_occtl(const char *text, size_t len, int64_t now, struct session_list **ret,
			     struct err_info *ei)
{
	struct session_list *l = calloc(1, sizeof(*l));
	void *v;
	int err;

	if (l == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	err = occtl_records_parse(&session_type, text, len, now, &v, &l->n, ei);
	if (err < 0) {
		free(l);
		return err;
	}
	l->v = v;
	*ret = l;
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

/* Keep authenticated sessions, of username only when it is not NULL. */
static void keep(struct session_list *l, const char *username)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct session *s = &l->v[i];
		if (session_is_authenticated(s) &&
		    (username == NULL || strcmp(s->username, username) == 0))
			l->v[kept++] = l->v[i];
		else
			occtl_record_clear(&session_type, &l->v[i]);
	}
	l->n = kept;
}

void session_list_keep_authenticated(struct session_list *l)
{
	keep(l, NULL);
}

void session_list_keep_user(struct session_list *l, const char *username)
{
	keep(l, username);
}

void session_list_free(struct session_list *l)
{
	if (l == NULL)
		return;
	occtl_records_free(&session_type, l->v, l->n);
	free(l);
}
