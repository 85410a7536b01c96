#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static const struct {
	const char *code;
	unsigned status;
	const char *message;
} table[] = {
	[0] = {"OK", 200, "ok"},
	[-ERR_BAD_REQUEST] = {"BAD_REQUEST", 400, "bad request"},
	[-ERR_UNAUTHORIZED] = {"UNAUTHORIZED", 401, "missing or invalid bearer token"},
	[-ERR_NOT_FOUND] = {"NOT_FOUND", 404, "no such route"},
	[-ERR_METHOD_NOT_ALLOWED] = {"METHOD_NOT_ALLOWED", 405, "method not allowed"},
	[-ERR_PAYLOAD_TOO_LARGE] = {"PAYLOAD_TOO_LARGE", 413, "request body too large"},
	[-ERR_MULTIPLE_SESSIONS] = {"MULTIPLE_SESSIONS", 409,
				    "username has more than one active session"},
	[-ERR_OCCTL_FAILED] = {"OCCTL_FAILED", 503, "occtl command failed"},
	[-ERR_OCCTL_TIMEOUT] = {"OCCTL_TIMEOUT", 503, "occtl command timed out"},
	[-ERR_OCCTL_NOT_FOUND] = {"OCCTL_NOT_FOUND", 503, "occtl binary not found"},
	[-ERR_OCCTL_BAD_JSON] = {"OCCTL_BAD_JSON", 502, "occtl returned unparsable output"},
	[-ERR_INTERNAL] = {"INTERNAL_ERROR", 500, "internal error"},
	[-ERR_NOMEM] = {"INTERNAL_ERROR", 500, "internal error"},
	[-ERR_SHUTTING_DOWN] = {"SHUTTING_DOWN", 503, "the agent is shutting down; retry"},
	[-ERR_NOT_SUPPORTED] = {"NOT_SUPPORTED", 501, "not supported by this ocserv"},
	[-ERR_CONFIG_INVALID] = {"CONFIG_INVALID", 409, "ocserv rejected the configuration"},
	[-ERR_SYSTEMD_UNAVAILABLE] = {"SYSTEMD_UNAVAILABLE", 503,
				      "systemd is not running on this host"},
	[-ERR_SERVICE_FAILED] = {"SERVICE_FAILED", 502, "systemctl failed"},
	[-ERR_LOCKED] = {"LOCKED", 409, "the file is being written by another program; retry"},
	[-ERR_PERMISSION] = {"PERMISSION_DENIED", 503,
			     "the agent is not allowed to read or write that file"},
	[-ERR_CONFLICT] = {"CONFLICT", 409, "the request conflicts with the current state"},
	[-ERR_CHECK_FAILED] = {"CONFIG_CHECK_FAILED", 503,
			       "the configuration check (ocserv -t) could not run"},
	[-ERR_CTL_PROTOCOL] = {"OCSERV_PROTOCOL_ERROR", 502,
			       "ocserv's control socket sent an invalid reply"},
	[-ERR_TOO_MANY] = {"TOO_MANY_REQUESTS", 429, "too many concurrent requests; retry later"},
	[-ERR_UNREACHABLE] = {"OCCTL_FAILED", 503, "ocserv's control socket is not reachable"},
	[-ERR_PRECONDITION_REQUIRED] = {"PRECONDITION_REQUIRED", 428,
					"this change needs an If-Match header with the ETag"},
	[-ERR_PRECONDITION_FAILED] = {"PRECONDITION_FAILED", 412,
				      "the file changed since it was read (ETag mismatch)"},
	[-ERR_RESTART_REQUIRED] = {"RESTART_REQUIRED", 409,
				   "a changed key takes effect only when ocserv restarts"},
	[-ERR_ROLLED_BACK] = {"CONFIG_ROLLED_BACK", 500,
			      "the change failed verification and was rolled back"},
	[-ERR_ROLLBACK_FAILED] = {"CONFIG_ROLLBACK_FAILED", 500,
				  "the change failed verification and so did the rollback"},
	[-ERR_FORBIDDEN] = {"FORBIDDEN", 403, "this client certificate is not allowed"},
	[-ERR_RATE_LIMITED] = {"TOO_MANY_REQUESTS", 429,
			       "too many failed authentications; retry later"},
	[-ERR_PRIV_PROTOCOL] = {"INTERNAL_ERROR", 500, "internal error"},
	[-ERR_TOO_DEEP] = {"BAD_REQUEST", 400, "JSON body nested too deeply"},
};

static int index_of(int err)
{
	if (err > 0 || err < ERR__MIN)
		return -ERR_INTERNAL;
	return -err;
}

const char *err_code(int err)
{
	return table[index_of(err)].code;
}

unsigned err_http_status(int err)
{
	return table[index_of(err)].status;
}

const char *err_message(int err)
{
	return table[index_of(err)].message;
}

int err_set(struct err_info *ei, int err, const char *fmt, ...)
{
	va_list ap;

	if (ei == NULL)
		return err;
	va_start(ap, fmt);
	vsnprintf(ei->detail, sizeof(ei->detail), fmt, ap);
	va_end(ap);
	return err;
}

int err_from_errno(int e)
{
	return e == EACCES || e == EPERM || e == EROFS ? ERR_PERMISSION : ERR_INTERNAL;
}
