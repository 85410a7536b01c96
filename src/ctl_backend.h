/* The native backend of struct ocserv: speaks ocserv's control socket
 * (ctl.h, ctl.proto) instead of running occtl. One connection per call,
 * bounded by the timeout. Results are the same structs, filled the way the
 * occtl backend fills them from occtl's JSON for the same ocserv state
 * (occtl's text formats, its version-dependent spellings, its rounding of
 * times to the minute or of intervals to occtl's compact form), except where
 * occtl is wrong: names and strings are not mangled (UTF-8, long values),
 * and lists are real lists.
 *
 * Per-session RX/TX byte counters come from the tun device's kernel
 * counters (tun_stats.h), in the agent's network namespace, which must be
 * ocserv's, as for occtl; absent (-1, and no averages) when the device is
 * not there.
 *
 * Some of occtl's formats depend on its version (`ocserv -v`, cached for
 * 10 s like the occtl backend's `occtl -v`): "bytes/sec" before 1.2.0,
 * raw_connected_at from 1.2.3. An unknown version gets the newest formats.
 *
 * Errors: no server or not allowed → ERR_UNREACHABLE (nothing was sent;
 * OCCTL_FAILED on the wire); deadline →
 * ERR_OCCTL_TIMEOUT; a reply that does not decode → ERR_CTL_PROTOCOL; a
 * command this ocserv does not know (closed without reply) →
 * ERR_NOT_SUPPORTED; ocserv's "no" to disconnect, unban or terminate →
 * ERR_NOT_FOUND (as occtl's "could not ..."); to reload → ERR_OCCTL_FAILED. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ocserv.h"
#include "tun_stats.h"

#define CTL_SOCKET_DEFAULT "/var/run/occtl.socket"

struct ctl_options {
	const char *socket;	 /* the occtl socket; NULL: CTL_SOCKET_DEFAULT */
	const char *ocserv_path; /* for the version: `ocserv -v` (ocserv has no version command) */
	unsigned timeout_ms;	 /* default deadline of one call */
};

/* A new struct ocserv backed by the control socket; strings are copied.
 * NULL on ENOMEM. */
struct ocserv *ctl_backend_new(const struct ctl_options *o);

/* True when the socket answers a STATUS request within timeout_ms (what
 * OCSERV_BACKEND=auto checks). On false, ei says why. */
bool ctl_probe(const char *socket, unsigned timeout_ms, struct err_info *ei);

/* Decoding of reply payloads (the bytes after the 5-byte header), exposed
 * for tests and the fuzz target; the backend uses exactly these. Any bytes
 * are safe input: what does not decode is ERR_CTL_PROTOCOL with detail in
 * ei, nothing is returned and nothing leaks. */
struct ctl_decode_ctx {
	int64_t now;		       /* epoch seconds of the request */
	struct ocserv_version version; /* text "": unknown, the newest formats */
	const struct tun_stats *tun;   /* device counters; NULL: none (RX/TX absent) */
};

/* STATUS reply → the object status_from_occtl() makes of `show status`. */
int ctl_backend_decode_status(const uint8_t *p, size_t len, const struct ctl_decode_ctx *c,
			      json_t **ret, struct err_info *ei);
/* User list (LIST, USER_INFO, ID_INFO, TOP's first reply) → sessions, in
 * ocserv's order; free with session_list_free(). */
int ctl_backend_decode_sessions(const uint8_t *p, size_t len, const struct ctl_decode_ctx *c,
				struct session_list **ret, struct err_info *ei);
/* User list → `show iroutes` entries; free with iroute_list_free(). */
int ctl_backend_decode_iroutes(const uint8_t *p, size_t len, struct iroute_list **ret,
			       struct err_info *ei);
/* Cookie list → every cookie, or (valid_only) the authenticated ones, as
 * `show sessions all|valid`; free with cookie_list_free(). */
int ctl_backend_decode_cookies(const uint8_t *p, size_t len, bool valid_only,
			       struct cookie_list **ret, struct err_info *ei);
/* Ban list → the banned IPs (points false: entries with an expiry, as
 * `show ip bans`) or every IP with points; free with ban_list_free(). */
int ctl_backend_decode_bans(const uint8_t *p, size_t len, bool points, int64_t now,
			    struct ban_list **ret, struct err_info *ei);
/* Bool reply (reload, disconnect, unban, terminate). */
int ctl_backend_decode_bool(const uint8_t *p, size_t len, bool *ret, struct err_info *ei);
