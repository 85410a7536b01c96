/* The one error convention of ocserv-agent.
 *
 * Every fallible function returns int: ERR_OK (0) or one of the negative ERR_*
 * values below. Each value has exactly one stable wire code and HTTP status,
 * looked up with err_code()/err_http_status(); nothing else in the code base
 * maps errors to HTTP. Internal detail (occtl's stderr, errno text) travels in
 * a struct err_info filled by the failing layer and is only ever logged by the
 * caller, never sent to a client. */
#pragma once

#include <stddef.h>

enum {
	ERR_OK = 0,
	ERR_BAD_REQUEST = -1,
	ERR_UNAUTHORIZED = -2,
	ERR_NOT_FOUND = -3,
	ERR_METHOD_NOT_ALLOWED = -4,
	ERR_PAYLOAD_TOO_LARGE = -5,
	ERR_MULTIPLE_SESSIONS = -6,
	ERR_OCCTL_FAILED = -7,
	ERR_OCCTL_TIMEOUT = -8,
	ERR_OCCTL_NOT_FOUND = -9,
	ERR_OCCTL_BAD_JSON = -10,
	ERR_INTERNAL = -11,
	ERR_NOMEM = -12, /* reported to clients as INTERNAL_ERROR */
	ERR_SHUTTING_DOWN = -13,
	ERR_NOT_SUPPORTED = -14,	 /* this ocserv (version, setup) cannot do it */
	ERR_CONFIG_INVALID = -15,	 /* `ocserv -t` refused the configuration */
	ERR_SYSTEMD_UNAVAILABLE = -16,	 /* systemd is not running here */
	ERR_SERVICE_FAILED = -17,	 /* systemctl failed or timed out */
	ERR_CHECK_FAILED = -18,		 /* `ocserv -t` could not run to a verdict */
	ERR_LOCKED = -19,		 /* another program holds the file's lock */
	ERR_PERMISSION = -20,		 /* the agent may not read or write that file */
	ERR_CONFLICT = -21,		 /* the request contradicts what exists */
	ERR_CTL_PROTOCOL = -22,		 /* ocserv's control socket sent what does not decode */
	ERR_TOO_MANY = -23,		 /* a limit of concurrent use is reached */
	ERR_UNREACHABLE = -24,		 /* ocserv's control socket cannot be connected to
					* (nothing was sent); on the wire OCCTL_FAILED */
	ERR_PRECONDITION_REQUIRED = -25, /* a write that needs If-Match came without it */
	ERR_PRECONDITION_FAILED = -26,	 /* If-Match does not match: changed underneath */
	ERR_RESTART_REQUIRED = -27,	 /* a key ocserv reads at start only, with a reload */
	ERR_ROLLED_BACK = -28,		 /* applied, failed verification, old config back */
	ERR_ROLLBACK_FAILED = -29,	 /* ... and the way back failed too: VPN may be down */
	ERR_FORBIDDEN = -30,		 /* authenticated, but this client may not (mTLS) */
	ERR_RATE_LIMITED = -31,		 /* too many failed authentications from this address */
	ERR_PRIV_PROTOCOL = -32,	 /* a malformed message crossed the privilege
					  * boundary: the sender is ended (priv.h) */
	ERR_TOO_DEEP = -33,		 /* a JSON body nested deeper than allowed */
	ERR__MIN = -33,
};

/* Internal detail of a failure, for the log only. */
struct err_info {
	char detail[256];
};

/* Stable wire code ("OCCTL_FAILED"); unknown values map to INTERNAL_ERROR. */
const char *err_code(int err);
/* HTTP status for err; 200 for ERR_OK. */
unsigned err_http_status(int err);
/* Default client-facing message for err. */
const char *err_message(int err);

/* The error of a failed file operation: ERR_PERMISSION when the agent may
 * not (EACCES, EPERM, and EROFS: a read-only /etc under ProtectSystem=strict),
 * else ERR_INTERNAL. */
int err_from_errno(int e);

/* printf into ei->detail (truncating); returns err so callers can
 * `return err_set(ei, ERR_X, "...")`. ei may be NULL. */
int err_set(struct err_info *ei, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
