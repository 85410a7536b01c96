/* The session model: one authenticated VPN connection as ocserv knows it,
 * independent of how it was read (occtl JSON today, the control socket
 * later). Integers are -1 (SESSION_ABSENT) and strings NULL when ocserv did
 * not say; nothing is guessed. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "strv.h"

#define SESSION_ABSENT INT64_C(-1)

struct session {
	int64_t id; /* occtl's ID: the worker's pid */
	char *username;
	char *groupname; /* NULL when occtl says "(none)" */
	char *state;	 /* "connected", "pre-auth", ... */
	char *vhost;
	char *device;	 /* tun device, e.g. vpns0 */
	char *client_ip; /* the client's real address ("Remote IP") */
	char *vpn_ipv4;	 /* the client's VPN address ("IPv4") */
	char *vpn_ipv6;
	char *local_device_ip;
	char *p2p_ipv4; /* server side of the point-to-point link */
	char *user_agent;
	char *connected_at;	  /* occtl's local "YYYY-MM-DD HH:MM" */
	int64_t raw_connected_at; /* epoch seconds (ocserv ≥ 1.2.3) */
	int64_t since_seconds;
	int64_t rx_bytes, tx_bytes; /* tun counters; absent outside ocserv's netns */
	char *avg_rx, *avg_tx;	    /* occtl's text, e.g. "276 bytes/sec" */
	char *session_id;	    /* short session id ("Session") */
	char *full_session;
	char *tls_cipher, *dtls_cipher;
	int64_t mtu;
	struct strv dns, routes;
	/* The session's configuration, as every session listing prints it. */
	struct strv no_routes, iroutes, nbns, split_dns_domains;
	struct strv restricted_to_ports; /* occtl's text per entry, e.g. "tcp(443)" */
	int restricted_to_routes;	 /* 0, 1, or -1 when absent */
	int64_t keepalive, dpd;		 /* seconds */
	char *hostname;
	int64_t raw_session_started_at; /* epoch seconds (ocserv ≥ 1.4.1) */
};

struct session_list {
	struct session *v;
	size_t n;
};

/* Read occtl's `-j show users|user|id` output (len bytes of text), in
 * occtl's order, without building a JSON tree: this runs on every poll and
 * scales with the number of users. Tolerates what occtl gets wrong (see
 * occtl_records.h). now is the current epoch time, used for since_seconds.
 * Every entry must have an ID > 0; "[ ]" (nothing matched) is an empty list.
 * Returns ERR_OCCTL_BAD_JSON (detail in ei) when the text is not such a list,
 * ERR_NOMEM; on success the caller frees *ret with session_list_free(). */
int session_list_parse_occtl(const char *text, size_t len, int64_t now, struct session_list **ret,
			     struct err_info *ei);

/* True when the session has finished authentication: it has a user name
 * and is not in a pre-authentication state. */
bool session_is_authenticated(const struct session *s);

/* Drop (and free) the sessions that are not authenticated, keeping order. */
void session_list_keep_authenticated(struct session_list *l);

/* The same, and drop the sessions of any user but username (compared
 * exactly: occtl matches names after its own parsing of its command line). */
void session_list_keep_user(struct session_list *l, const char *username);

/* A deep copy of l (nothing shared with it) into *ret, for the caller to
 * free with session_list_free(). ERR_NOMEM (*ret untouched) or 0. */
int session_list_copy(const struct session_list *l, struct session_list **ret);

void session_list_free(struct session_list *l);
