/* The domain interface to one ocserv: everything the API may ask of the VPN
 * server goes through here. A backend (occtl exec today; the native control
 * socket and a privilege-separated proxy later) provides the operations;
 * handlers and domain code only ever see struct ocserv.
 *
 * Every operation is thread-safe, bounded in time by the backend's timeout,
 * returns ERR_OK or an ERR_* value with internal detail in *ei. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ban.h"
#include "cookie.h"
#include "err.h"
#include "iroute.h"
#include "session.h"

/* What one ocserv can do beyond the basics, by version (OCSERV-FACTS.md). */
struct ocserv_version {
	char text[32]; /* "1.1.6"; "" when unknown */
	unsigned major, minor, patch;
};

struct ocserv_backend_ops {
	const char *name;
	/* Normalised `show status` (see status.h), within timeout_ms (0: the
	 * backend's default). */
	int (*status)(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei);
	/* Every session ocserv lists, in its order, including unauthenticated ones. */
	int (*list)(void *be, struct session_list **ret, struct err_info *ei);
	/* The sessions of one user; an empty list when there are none. */
	int (*user)(void *be, const char *username, struct session_list **ret, struct err_info *ei);
	/* The session with this id; ERR_NOT_FOUND when there is none. Within
	 * timeout_ms (0: the backend's default). */
	int (*id)(void *be, int64_t id, unsigned timeout_ms, struct session_list **ret,
		  struct err_info *ei);
	/* Disconnect one session / every session of a user. A session that is
	 * not there is ERR_NOT_FOUND when the backend can tell, else an error. */
	int (*disconnect_id)(void *be, int64_t id, struct err_info *ei);
	int (*disconnect_user)(void *be, const char *username, struct err_info *ei);
	/* ocserv's version (occtl's, which ships with it). */
	int (*version)(void *be, struct ocserv_version *ret, struct err_info *ei);
	/* Cookies: all, or only those valid for reconnection; one by id (short
	 * or full), ERR_NOT_FOUND when there is none. */
	int (*cookies)(void *be, bool valid_only, struct cookie_list **ret, struct err_info *ei);
	int (*cookie)(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei);
	int (*iroutes)(void *be, struct iroute_list **ret, struct err_info *ei);
	/* Banned IPs; IPs with ban points. */
	int (*bans)(void *be, struct ban_list **ret, struct err_info *ei);
	int (*ban_points)(void *be, struct ban_list **ret, struct err_info *ei);
	/* Lift the ban of a normalised address; ERR_NOT_FOUND when ocserv says
	 * it was not banned. */
	int (*unban)(void *be, const char *ip, struct err_info *ei);
	/* Ask ocserv to re-read its configuration (no check: see conf_check.h). */
	int (*reload)(void *be, struct err_info *ei);
	/* ocserv ≥ 1.4.2: disconnect and invalidate the cookies of a session, of
	 * every session of a user, or the cookie of a closed session (full id).
	 * ERR_NOT_SUPPORTED on older versions. */
	int (*terminate_id)(void *be, int64_t id, struct err_info *ei);
	int (*terminate_user)(void *be, const char *username, struct err_info *ei);
	int (*terminate_cookie)(void *be, const char *sid, struct err_info *ei);
	/* Optional: the name of the backend serving calls now (a backend that
	 * delegates, like auto, says which one); NULL: name. */
	const char *(*in_use)(void *be);
	void (*free)(void *be);
};

struct ocserv;

/* Wrap a backend; takes ownership of be (freed by ops->free). NULL on ENOMEM. */
struct ocserv *ocserv_new(const struct ocserv_backend_ops *ops, void *be);
void ocserv_free(struct ocserv *oc);
const char *ocserv_backend_name(const struct ocserv *oc);
/* The backend that serves calls now: "ctl" or "occtl" (for auto, the one
 * it chose last). */
const char *ocserv_backend_in_use(const struct ocserv *oc);

/* Coalescing of reads (status, list, user, id, cookies, cookie, iroutes,
 * bans, ban_points): concurrent calls with the same arguments (for status,
 * the same timeout too) share one backend call (single flight: the first
 * caller runs it, the others wait for its result and get their own deep
 * copy, theirs to edit and free), always. An error is shared the same way
 * (same ERR_* and err_info) but never cached. With cache_ms > 0 a result
 * is also reused by identical calls for cache_ms (monotonic clock) after it
 * was read. Every write (disconnect, unban, reload, terminate) empties the
 * cache when it starts and when it ends, and a read still in flight then is
 * neither cached nor shared with later callers: after a write returns, no
 * read older than it is reused. ocserv_version() and ocserv_id_within() are
 * neither shared nor cached (the latter's callers need a fresh answer
 * within their own deadline). Memory is bounded: at most 256 distinct reads
 * in flight or cached (more run alone), arguments over 127 bytes are not
 * coalesced. Call before the first request; default 0. */
void ocserv_set_cache(struct ocserv *oc, unsigned cache_ms);

struct ocserv_coalesce_stats {
	uint64_t backend_calls; /* reads that reached the backend (id_within too) */
	uint64_t shared;	/* reads answered by another caller's in-flight call */
	uint64_t cached;	/* reads answered from the cache */
};
void ocserv_coalesce_stats(struct ocserv *oc, struct ocserv_coalesce_stats *ret);

int ocserv_status(struct ocserv *oc, unsigned timeout_ms, json_t **ret, struct err_info *ei);
int ocserv_list(struct ocserv *oc, struct session_list **ret, struct err_info *ei);
int ocserv_user(struct ocserv *oc, const char *username, struct session_list **ret,
		struct err_info *ei);
int ocserv_id(struct ocserv *oc, int64_t id, struct session_list **ret, struct err_info *ei);
/* ocserv_id() that gives up after timeout_ms (for callers with a deadline
 * of their own, like the connect hook). */
int ocserv_id_within(struct ocserv *oc, int64_t id, unsigned timeout_ms, struct session_list **ret,
		     struct err_info *ei);
int ocserv_disconnect_id(struct ocserv *oc, int64_t id, struct err_info *ei);
int ocserv_disconnect_user(struct ocserv *oc, const char *username, struct err_info *ei);
int ocserv_version(struct ocserv *oc, struct ocserv_version *ret, struct err_info *ei);
/* ocserv_version(), or the unknown version (text "") when it cannot be
 * learnt: for callers that then accept every supported version's keys. */
void ocserv_version_or_unknown(struct ocserv *oc, struct ocserv_version *ret);
int ocserv_cookies(struct ocserv *oc, bool valid_only, struct cookie_list **ret,
		   struct err_info *ei);
int ocserv_cookie(struct ocserv *oc, const char *sid, struct cookie_list **ret,
		  struct err_info *ei);
int ocserv_iroutes(struct ocserv *oc, struct iroute_list **ret, struct err_info *ei);
int ocserv_bans(struct ocserv *oc, struct ban_list **ret, struct err_info *ei);
int ocserv_ban_points(struct ocserv *oc, struct ban_list **ret, struct err_info *ei);
int ocserv_unban(struct ocserv *oc, const char *ip, struct err_info *ei);
int ocserv_reload(struct ocserv *oc, struct err_info *ei);
int ocserv_terminate_id(struct ocserv *oc, int64_t id, struct err_info *ei);
int ocserv_terminate_user(struct ocserv *oc, const char *username, struct err_info *ei);
int ocserv_terminate_cookie(struct ocserv *oc, const char *sid, struct err_info *ei);

/* For backends: the version learnt by running `PATH -v` (occtl, which
 * ships with ocserv, or ocserv itself: its socket has no version command).
 * Asking costs a process, so the answer is kept OCSERV_VERSION_TTL_MS (an
 * upgrade shows within that time). */
#define OCSERV_VERSION_TTL_MS 10000

struct ocserv_version_cache {
	pthread_mutex_t lock;
	struct ocserv_version version;
	int64_t at; /* monotonic ms; 0: none cached */
};

void ocserv_version_cache_init(struct ocserv_version_cache *vc);
void ocserv_version_cache_destroy(struct ocserv_version_cache *vc);

/* The cached version, or run `path -v` (needs no privilege: never through
 * sudo) within timeout_ms and parse its stderr, and first its stdout when
 * stdout_too (ocserv prints it there; occtl only on stderr, so a version
 * on occtl's stdout is not occtl's). Only an answer is cached.
 * ERR_OCCTL_NOT_FOUND when path cannot be executed, ERR_OCCTL_FAILED when
 * it prints no version or does not exit. */
int ocserv_version_cache_get(struct ocserv_version_cache *vc, const char *path, bool stdout_too,
			     unsigned timeout_ms, struct ocserv_version *ret, struct err_info *ei);

/* Parse "1.1.6" (or a line ending in it, as `occtl -v` prints) into ret.
 * Returns ERR_OCCTL_FAILED when there is no version number. */
int ocserv_version_parse(const char *text, struct ocserv_version *ret);

/* True when v is at least major.minor.patch (false when v is unknown). */
bool ocserv_version_at_least(const struct ocserv_version *v, unsigned major, unsigned minor,
			     unsigned patch);
