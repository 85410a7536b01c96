/* Session operations with the rules the v1 API promises (domain layer):
 * only authenticated sessions count; a user name must resolve to exactly one
 * session before a single-session operation acts on it; "not there" is an
 * answer, not an error. */
#pragma once

#include <stdint.h>

#include "ocserv.h"

/* Which session a request is about. An id (> 0) wins over a username. */
struct session_selector {
	int64_t id;	      /* 0: not given */
	const char *username; /* NULL: not given */
};

/* Authenticated sessions in ocserv's order. Caller frees *ret. */
int sessions_list(struct ocserv *oc, struct session_list **ret, struct err_info *ei);

/* Every authenticated session of username (possibly none). Caller frees *ret. */
int sessions_of_user(struct ocserv *oc, const char *username, struct session_list **ret,
		     struct err_info *ei);

/* The selected session: *ret holds 0 or 1 sessions. When a username has
 * several, returns ERR_MULTIPLE_SESSIONS and *ret holds them all. In both
 * cases the caller frees *ret. */
int sessions_find(struct ocserv *oc, const struct session_selector *sel, struct session_list **ret,
		  struct err_info *ei);

/* Disconnect the selected session. Same results as sessions_find: *ret holds
 * the one session that was disconnected, none when it was not found, or the
 * matches with ERR_MULTIPLE_SESSIONS (nothing is disconnected then). */
int sessions_disconnect(struct ocserv *oc, const struct session_selector *sel,
			struct session_list **ret, struct err_info *ei);

/* Disconnect every session of username with one ocserv operation; *ret holds
 * the sessions that were disconnected (possibly none). Caller frees *ret. */
int sessions_disconnect_all(struct ocserv *oc, const char *username, struct session_list **ret,
			    struct err_info *ei);
