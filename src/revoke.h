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
#define REVOKE_SID_MAX	   64 /* bytes of one id (ocserv's are 28) */
#define REVOKE_MAX	   100000 /* entries; the oldest go first beyond it */

struct revoke;

/* An empty store. NULL on ENOMEM. */
struct revoke *revoke_new(void);
void revoke_free(struct revoke *rv);

#define REVOKE_FILE "revoked-sessions"

/* Keep the store in state_dir/REVOKE_FILE from now on, so that a restart of
 * the agent within a cookie's lifetime does not let its client back: load
 * the entries in force at now, and rewrite the file (atomic_file.h) on every
 * revoke_add(). A missing file is an empty store; lines that are not
 * "UNTIL SID" are skipped. Returns 0, or ERR_INTERNAL/ERR_NOMEM with ei set
 * (the store then stays in memory only). */
int revoke_persist(struct revoke *rv, const char *state_dir, int64_t now, struct err_info *ei);

/* List full_sid from now on (and save the store when persisting; a failed
 * save is logged, the entry stays in force). 0, ERR_NOMEM, or
 * ERR_BAD_REQUEST for an empty id, one longer than REVOKE_SID_MAX or with
 * white space. */
int revoke_add(struct revoke *rv, const char *full_sid, int64_t now);

/* True when full_sid is listed and not expired at now. */
bool revoke_contains(struct revoke *rv, const char *full_sid, int64_t now);

/* Entries in force at now (expired ones are dropped). */
size_t revoke_count(struct revoke *rv, int64_t now);
