/* Cookies the agent has revoked: ocserv before 1.4.2 cannot invalidate the
 * cookie of a closed session, so a killed client could resume with it until
 * it expires. The connect hook (hook_server.h) refuses a connection whose
 * session id is listed here. Full session ids are random and never reused,
 * so an entry cannot refuse anyone else; entries expire after a day, long
 * past any cookie-timeout that makes sense. Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define REVOKE_TTL_SECONDS (24 * 3600)
#define REVOKE_SID_MAX	   64	  /* bytes of one id (ocserv's are 28) */
#define REVOKE_MAX	   100000 /* entries; the oldest go first beyond it */

struct revoke;

/* An empty store. NULL on ENOMEM. */
struct revoke *revoke_new(void);
void revoke_free(struct revoke *rv);

#define REVOKE_FILE "revoked-sessions"

/* Keep the store in state_dir/REVOKE_FILE from now on, so that a restart of
 * the agent within a cookie's lifetime does not let its client back: load
 * the entries in force at now, and rewrite the file (atomic_file.h) after
 * every addition, without holding up lookups. A missing file is an empty
 * store; lines that are not "UNTIL SID[ USER]" are skipped. Returns 0, or
 * ERR_INTERNAL/ERR_NOMEM with ei set (the store then stays in memory only). */
int revoke_persist(struct revoke *rv, const char *state_dir, int64_t now, struct err_info *ei);

/* List the n ids sids of user (NULL: of any user) from now on, and save the
 * store once when persisting (a failed save is logged, the entries stay in
 * force). 0, ERR_NOMEM, or ERR_BAD_REQUEST (nothing added) for an empty id,
 * one longer than REVOKE_SID_MAX or with white space, or a user name
 * validate_username() refuses. */
int revoke_add_many(struct revoke *rv, const char *const *sids, const char *user, size_t n,
		    int64_t now);

/* revoke_add_many() of one id of any user. */
int revoke_add(struct revoke *rv, const char *full_sid, int64_t now);

/* True when some entry in force at now is user's or of any user: only then
 * is a connect of user worth looking up (the hook's fast path). */
bool revoke_has_user(struct revoke *rv, const char *user, int64_t now);

/* True when full_sid is listed and not expired at now. */
bool revoke_contains(struct revoke *rv, const char *full_sid, int64_t now);

/* Entries in force at now (expired ones are dropped). */
size_t revoke_count(struct revoke *rv, int64_t now);
