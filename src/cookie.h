/* ocserv's session cookies as `show sessions all|valid` and `show session
 * SID` list them: one entry per login that ocserv's security module still
 * remembers, open (a VPN session uses it) or resumable until it expires.
 * Integers are -1 and strings NULL when ocserv did not say. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct cookie {
	char *session_id;   /* short id ("Session"), e.g. "LpurJh" */
	char *full_session; /* the whole safe id ("Full session"), 28 base64 chars */
	int64_t created;    /* epoch seconds, from occtl's local "YYYY-MM-DD HH:MM" */
	int64_t expires;    /* the same (the minute, truncated); absent while in use */
	char *state;	    /* "authenticated", "authenticating", "auth failed", ... */
	char *username;
	char *groupname; /* NULL for "(none)" */
	char *vhost;
	char *user_agent;
	char *remote_ip;
	int session_is_open; /* 0, 1, or -1 when absent */
	int tls_auth_ok;     /* likewise */
	int in_use;	     /* likewise */
};

struct cookie_list {
	struct cookie *v;
	size_t n;
};

/* Read occtl's `-j show sessions all|valid` or `-j show session SID` output
 * (len bytes), in occtl's order, tolerating its defects (trailing commas,
 * \u00XX-mangled UTF-8: see occtl_records.h). Local times are converted with
 * the agent's time zone (occtl runs with the same one). Every entry must have
 * a "Session"; "[ ]" is an empty list. ERR_OCCTL_BAD_JSON or ERR_NOMEM with
 * detail in ei; on success the caller frees *ret with cookie_list_free(). */
int cookie_list_parse_occtl(const char *text, size_t len, struct cookie_list **ret,
			    struct err_info *ei);

/* True when a client could still resume a VPN session with this cookie:
 * authenticated, no worker using it (in_use 0), and an expiry after now.
 * session_is_open is not looked at: after a client was killed it stays 1
 * (seen on 1.1.6 and 1.5.0) while the cookie resumes. False without an
 * expiry: ocserv sets one whenever no session uses the cookie. occtl
 * truncates the expiry to the minute, so this may say false up to 59 s
 * before ocserv stops accepting the cookie, never the reverse. */
bool cookie_is_resumable(const struct cookie *c, int64_t now);

/* Keep the cookies for which keep(c, arg) is true, in order; free the
 * others. */
void cookie_list_keep(struct cookie_list *l, bool (*keep)(const struct cookie *c, void *arg),
		      void *arg);

/* A deep copy of l (nothing shared with it) into *ret, for the caller to
 * free with cookie_list_free(). ERR_NOMEM (*ret untouched) or 0. */
int cookie_list_copy(const struct cookie_list *l, struct cookie_list **ret);

/* Free l and every cookie in it; l may be NULL. */
void cookie_list_free(struct cookie_list *l);
