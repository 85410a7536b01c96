/* The v1 REST API: authentication, routing, the response envelope.
 *
 * Each resource lives in its own api_<resource>.c and exports route
 * descriptors; api.c owns the table, authenticates every request before
 * routing (auth.h; every endpoint, /ocserv/health included), within the
 * failed-authentication limit of the client's address (ratelimit.h: 429 with
 * Retry-After), answers 404/405/413 itself, and 400 for a body nested deeper
 * than AGENT_MAX_JSON_DEPTH before any handler parses it (json_depth.h),
 * renders success bodies and the error envelope
 * {ok:false, error:{code, message, requestId}} (plus handler-provided extra
 * members such as `matches`), and logs every error with its internal detail. */
#pragma once

#include <jansson.h>

#include "agent.h"
#include "err.h"
#include "http_server.h"

/* The default of AGENT_MAX_BODY_BYTES (the limit is the setting's). */

/* What a handler gives back. On success, body is the whole response object
 * (starting with "ok": true), or text holds it already rendered (malloc'd;
 * for responses that grow with the number of sessions), or stream and
 * stream_ctx a stream (see http_server.h; answered 200 with no JSON, the
 * transport owns stream_ctx from then on). On error, body (optional) holds
 * extra top-level members, message (optional) overrides the code's default
 * text for the client, retry_after (optional, seconds) becomes a
 * Retry-After header, etag (optional) an ETag header (success or error),
 * and ei carries detail for the log only. The router
 * frees body and text, and closes a stream returned with an error. */
struct api_reply {
	json_t *body;
	char *text;
	size_t text_len;
	const struct http_stream_ops *stream;
	void *stream_ctx;
	unsigned retry_after;
	char etag[HTTP_MAX_ETAG]; /* an ETag header for the response, or "" */
	const char *message;
	char msgbuf[320];
	struct err_info ei;
};

#define API_MAX_PARAMS 2
#define API_MAX_PARAM  256 /* bytes of one path segment, encoded, with its NUL */

/* The path parameters of a request, percent-decoded, in path order. */
struct api_params {
	char v[API_MAX_PARAMS][API_MAX_PARAM];
	size_t n;
};

typedef int api_handler_fn(struct agent *ag, const struct http_request *rq,
			   const struct api_params *params, struct api_reply *rp);

/* A path segment "{}" is a parameter: any non-empty segment; one of
 * API_MAX_PARAM bytes or more (as sent), or that decodes to a NUL byte, is
 * answered 400 by the router. Several routes may share a path with other
 * methods. */
struct api_route {
	const char *method;
	const char *path;
	api_handler_fn *handler;
};

extern const struct api_route api_route_health, api_route_status, api_route_sessions,
	api_route_session, api_route_disconnect, api_route_disconnect_all, api_route_radius,
	api_route_user, api_route_session_by_id, api_route_terminate, api_route_cookies,
	api_route_cookie, api_route_iroutes, api_route_bans, api_route_ban_points, api_route_unban,
	api_route_reload, api_route_capabilities, api_route_service, api_route_service_action,
	api_route_accounts, api_route_accounts_export, api_route_accounts_import,
	api_route_account_get, api_route_account_put, api_route_account_patch,
	api_route_account_delete, api_route_account_lock, api_route_account_unlock,
	api_route_userconf_users, api_route_userconf_user_get, api_route_userconf_user_put,
	api_route_userconf_user_patch, api_route_userconf_user_delete, api_route_userconf_groups,
	api_route_userconf_group_get, api_route_userconf_group_put, api_route_userconf_group_patch,
	api_route_userconf_group_delete, api_route_events, api_route_config_get,
	api_route_config_patch, api_route_config_schema, api_route_config_backups,
	api_route_config_backup, api_route_config_restore;

/* The http_handler_fn of the agent; app is a struct agent. ag->auth_fails
 * NULL: no rate limit; cfg->max_json_depth 0: no depth check. */
void api_handle(void *app, const struct http_request *rq, struct http_response *rs);

/* The abuse-limit counters since start, for GET /ocserv/health's "limits"
 * member (new reference, NULL on ENOMEM): failed authentications and
 * requests refused by the rate limiter (ratelimit.h), addresses it tracks
 * and evicted, bodies answered 413 and 400 too deep by the router, and the
 * transport's own (http_server_get_stats(); zeros while ag->http is NULL). */
json_t *api_limits_json(struct agent *ag);

/* Helpers for handlers. */

/* Set a client-facing message and return err (printf-style). */
int api_fail(struct api_reply *rp, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parse the request body strictly (no duplicate keys) as a JSON object.
 * Returns ERR_BAD_REQUEST with a message on anything else. The router has
 * already refused bodies nested too deeply (api_handle). */
int api_body_object(const struct http_request *rq, json_t **ret, struct api_reply *rp);

/* priv_call() (priv.h) for a handler: on failure the client message, the
 * log detail, extra body members and Retry-After go into rp, and the
 * ERR_* is returned as the handler's result. args is consumed. */
int api_priv(struct agent *ag, const struct http_request *rq, enum priv_op op, json_t *args,
	     json_t **ret, struct api_reply *rp);

/* A new {"ok": true} object, or NULL. */
json_t *api_ok(void);

/* json_string() of s, or json_null() when s is NULL. */
json_t *api_str(const char *s);

/* json_integer() of v, or json_null() when v < 0 (absent). */
json_t *api_int(int64_t v);
