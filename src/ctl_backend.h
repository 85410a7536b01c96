/* The native backend of struct ocserv: speaks ocserv's control socket
 * (ctl.h, ctl.proto) instead of running occtl. One connection per call,
 * bounded by the timeout. Results are the same structs, filled the way the
 * occtl backend fills them from occtl's JSON for the same ocserv state,
 * except where occtl is wrong: names and strings are not mangled (UTF-8,
 * long values), and lists are real lists.
 *
 * Per-session RX/TX byte counters come from the tun device's kernel
 * counters (tun_stats.h), in the agent's network namespace, which must be
 * ocserv's, as for occtl.
 *
 * Errors: no server or not allowed → ERR_UNREACHABLE (nothing was sent;
 * OCCTL_FAILED on the wire); deadline →
 * ERR_OCCTL_TIMEOUT; a reply that does not decode → ERR_CTL_PROTOCOL; a
 * command this ocserv does not know (closed without reply) →
 * ERR_NOT_SUPPORTED. */
#pragma once

#include <stdbool.h>

#include "ocserv.h"

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
