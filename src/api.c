#include "api.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "json_depth.h"
#include "request_id.h"
#include "log.h"
#include "uri.h"
#include "utf8.h"

static const struct api_route *const routes[] = {
	&api_route_health,
	&api_route_status,
	&api_route_sessions,
	&api_route_session,
	&api_route_disconnect,
	&api_route_disconnect_all,
	&api_route_radius,
	&api_route_user,
	&api_route_session_by_id,
	&api_route_terminate,
	&api_route_cookies,
	&api_route_cookie,
	&api_route_iroutes,
	&api_route_bans,
	&api_route_ban_points,
	&api_route_unban,
	&api_route_reload,
	&api_route_capabilities,
	&api_route_events,
	&api_route_service,
	&api_route_service_action,
	/* Literal paths before the {} that would also match them. */
	&api_route_accounts,
	&api_route_accounts_export,
	&api_route_accounts_import,
	&api_route_account_get,
	&api_route_account_put,
	&api_route_account_patch,
	&api_route_account_delete,
	&api_route_account_lock,
	&api_route_account_unlock,
	&api_route_config_get,
	&api_route_config_patch,
	&api_route_config_schema,
	&api_route_config_backups,
	&api_route_config_backup,
	&api_route_config_restore,
	&api_route_userconf_users,
	&api_route_userconf_user_get,
	&api_route_userconf_user_put,
	&api_route_userconf_user_patch,
	&api_route_userconf_user_delete,
	&api_route_userconf_groups,
	&api_route_userconf_group_get,
	&api_route_userconf_group_put,
	&api_route_userconf_group_patch,
	&api_route_userconf_group_delete,
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* Requests the router refused for a limit of its own (the rate limiter and
 * the transport count theirs). Process-wide: there is one API per process. */
static atomic_ullong n_too_large, n_too_deep;

int api_fail(struct api_reply *rp, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rp->msgbuf, sizeof(rp->msgbuf), fmt, ap);
	va_end(ap);
	rp->message = rp->msgbuf;
	return err;
}

json_t *api_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

/* Files we only report on (radcli's) may hold any bytes. */
json_t *api_str(const char *s)
{
	return utf8_json_string(s);
}

json_t *api_int(int64_t v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

int api_body_object(const struct http_request *rq, json_t **ret, struct api_reply *rp)
{
	json_error_t jerr;
	json_t *j;

	if (rq->body_len == 0)
		return api_fail(rp, ERR_BAD_REQUEST, "a JSON object body is required");
	j = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		/* Not jansson's text: it quotes the request ("near '...'"),
		 * which may be a password, into the message and the log. */
		return api_fail(rp, ERR_BAD_REQUEST,
				"malformed JSON at line %d column %d (byte %d)", jerr.line,
				jerr.column, jerr.position);
	if (!json_is_object(j)) {
		json_decref(j);
		return api_fail(rp, ERR_BAD_REQUEST, "the body must be a JSON object");
	}
	*ret = j;
	return 0;
}

/* Match one route path against the request path segment by segment: a
 * "{}" segment matches any non-empty segment, which is percent-decoded into
 * params. Returns true on a match; *bad is set when a parameter is longer
 * than API_MAX_PARAM - 1 bytes (as sent) or decodes to text with a NUL byte:
 * the route is right, the value is not. */
static bool path_match(const char *pattern, const char *path, struct api_params *params, bool *bad)
{
	params->n = 0;
	while (*pattern != '\0' && *path != '\0') {
		size_t pl = strcspn(pattern, "/"), sl = strcspn(path, "/");

		if (pl == 2 && strncmp(pattern, "{}", 2) == 0) {
			if (sl == 0 || params->n == API_MAX_PARAMS)
				return false;
			char *v = params->v[params->n++];
			if (sl >= API_MAX_PARAM) {
				*bad = true;
				v[0] = '\0';
			} else {
				memcpy(v, path, sl);
				v[sl] = '\0';
				if (uri_pct_decode(v) != strlen(v))
					*bad = true;
			}
		} else if (pl != sl || strncmp(pattern, path, pl) != 0) {
			return false;
		}
		pattern += pl;
		path += sl;
		if ((*pattern == '/') != (*path == '/'))
			return false;
		if (*pattern == '/') {
			pattern++;
			path++;
		}
	}
	return *pattern == '\0' && *path == '\0';
}

/* Add method to the Allow list "GET, PUT" unless it is there: a literal
 * route and a {} route can share a path and a method. */
static void allow_add(char *allow, size_t len, const char *method)
{
	size_t ml = strlen(method), o = strlen(allow);

	for (const char *p = allow; *p != '\0';) {
		size_t n = strcspn(p, ",");

		if (n == ml && strncmp(p, method, ml) == 0)
			return;
		p += n;
		if (*p == ',')
			p += 2; /* ", " */
	}
	snprintf(allow + o, len - o, "%s%s", o ? ", " : "", method);
}

/* Find the route for rq. Returns it (params filled), or NULL with *err set
 * to ERR_NOT_FOUND, ERR_BAD_REQUEST (a parameter too long or holding a NUL
 * byte) or ERR_METHOD_NOT_ALLOWED (and allow to the methods the path has). */
static const struct api_route *route_find(const struct http_request *rq, struct api_params *params,
					  int *err, char *allow, size_t allow_len)
{
	const struct api_route *found = NULL;
	bool matched = false, bad = false;

	allow[0] = '\0';
	for (size_t i = 0; i < N_ROUTES; i++) {
		struct api_params p;
		bool b = false;

		if (!path_match(routes[i]->path, rq->path, &p, &b))
			continue;
		matched = true;
		if (found == NULL && strcmp(routes[i]->method, rq->method) == 0) {
			found = routes[i];
			*params = p;
			bad = b;
		}
		allow_add(allow, allow_len, routes[i]->method);
	}
	if (found == NULL) {
		*err = matched ? ERR_METHOD_NOT_ALLOWED : ERR_NOT_FOUND;
		return NULL;
	}
	allow[0] = '\0';
	if (bad) {
		*err = ERR_BAD_REQUEST;
		return NULL;
	}
	return found;
}

/* Render body; when that fails (allocation), answer 500 with an envelope
 * built without allocating JSON, still carrying the request id. */
static void set_body(struct http_response *rs, json_t *body, const struct http_request *rq)
{
	char fallback[200];
	/* jansson allocates with secmem's functions; the transport frees with
	 * free(): copy into a buffer of our own (cheaper than rendering twice). */
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	void (*jfree)(void *);

	json_get_alloc_funcs(NULL, &jfree);
	rs->body = text ? strdup(text) : NULL;
	if (text != NULL)
		jfree(text);
	if (rs->body != NULL) {
		rs->body_len = strlen(rs->body);
		return;
	}
	log_msg(LOG_ERR, rq->id,
		"error code=INTERNAL_ERROR status=500 detail=\"cannot render "
		"the response (out of memory or invalid text)\"");
	snprintf(fallback, sizeof(fallback),
		 "{\"ok\":false,\"error\":{\"code\":\"INTERNAL_ERROR\",\"message\":\"internal "
		 "error\",\"requestId\":\"%s\"}}",
		 rq->id);
	rs->status = 500;
	rs->body = strdup(fallback);
	rs->body_len = rs->body ? strlen(rs->body) : 0;
}

/* Messages may quote the request (a name, an ip): any bytes. */
static json_t *error_envelope(const struct http_request *rq, int err, struct api_reply *rp)
{
	json_t *env = json_pack("{s:b,s:{s:s,s:o,s:s}}", "ok", 0, "error", "code", err_code(err),
				"message", api_str(rp->message ? rp->message : err_message(err)),
				"requestId", rq->id);

	if (env != NULL && rp->body != NULL)
		json_object_update_missing(env, rp->body);
	return env;
}

int api_priv(struct agent *ag, const struct http_request *rq, enum priv_op op, json_t *args,
	     json_t **ret, struct api_reply *rp)
{
	struct priv_error pe;
	int r = priv_call(ag->priv, rq->id, op, args, ret, &pe);

	if (r == 0)
		return 0;
	rp->ei = pe.ei;
	if (pe.message[0] != '\0') {
		snprintf(rp->msgbuf, sizeof(rp->msgbuf), "%s", pe.message);
		rp->message = rp->msgbuf;
	}
	if (pe.extra != NULL) {
		if (rp->body == NULL)
			rp->body = json_incref(pe.extra);
		else
			json_object_update(rp->body, pe.extra);
	}
	if (pe.retry_after > 0)
		rp->retry_after = pe.retry_after;
	priv_error_clear(&pe);
	return r;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Authenticate rq, within the failed-authentication limit of its address:
 * an address over it is refused before its credentials are even looked at
 * (a right token does not help: ratelimit.h), and only refusals count, so
 * clients that authenticate are never slowed down. */
static int authenticate(struct agent *ag, const struct http_request *rq, struct api_reply *rp)
{
	unsigned wait =
		ag->auth_fails ? ratelimit_check(ag->auth_fails, rq->client_ip, now_ms()) : 0;
	int r;

	if (wait > 0) {
		rp->retry_after = wait;
		return api_fail(rp, ERR_RATE_LIMITED,
				"too many failed authentications from this address; retry in %u s",
				wait);
	}
	r = auth_request(ag->cfg, rq, &rp->ei);
	if ((r == ERR_UNAUTHORIZED || r == ERR_FORBIDDEN) && ag->auth_fails != NULL)
		ratelimit_fail(ag->auth_fails, rq->client_ip, now_ms());
	return r;
}

/* The body's nesting, measured before any handler parses it (jansson
 * would recurse into all of it). 0 disables the check. */
static int check_depth(struct agent *ag, const struct http_request *rq, struct api_reply *rp)
{
	unsigned max = ag->cfg->max_json_depth;

	if (max == 0 || rq->body_len == 0 || json_depth(rq->body, rq->body_len, max) <= max)
		return 0;
	atomic_fetch_add(&n_too_deep, 1);
	return api_fail(rp, ERR_TOO_DEEP, "JSON body nested too deeply (limit %u)", max);
}

/* Everything before the handler: authentication, the transport's flags,
 * the route. Returns the route, or NULL with *err set (and rs->allow for
 * 405). */
static const struct api_route *admit(struct agent *ag, const struct http_request *rq,
				     struct api_params *params, struct api_reply *rp,
				     struct http_response *rs, int *err)
{
	const struct api_route *route = NULL;

	if (rq->shutting_down)
		*err = ERR_SHUTTING_DOWN; /* nothing slow, nothing that changes state */
	else if ((*err = authenticate(ag, rq, rp)) < 0)
		;
	else if (rq->body_too_large) {
		atomic_fetch_add(&n_too_large, 1);
		*err = api_fail(rp, ERR_PAYLOAD_TOO_LARGE, "request body larger than %u bytes",
				ag->cfg->max_body_bytes);
	} else if (rq->query_invalid)
		*err = api_fail(rp, ERR_BAD_REQUEST,
				"query arguments must not contain NUL bytes (at most %d arguments)",
				HTTP_MAX_QUERY_ARGS);
	else if ((route = route_find(rq, params, err, rs->allow, sizeof(rs->allow))) == NULL) {
		if (*err == ERR_BAD_REQUEST)
			api_fail(rp, *err,
				 "a path parameter holds a NUL byte or is longer than %d bytes",
				 API_MAX_PARAM - 1);
	} else if ((*err = check_depth(ag, rq, rp)) < 0)
		route = NULL;
	return route;
}

static json_t *json_count(unsigned long long v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *api_limits_json(struct agent *ag)
{
	struct ratelimit_stats rl = {0};
	struct http_server_stats hs = {0};

	if (ag->auth_fails != NULL)
		ratelimit_stats(ag->auth_fails, &rl);
	if (ag->http != NULL)
		http_server_get_stats(ag->http, &hs);
	return json_pack(
		"{s:o,s:o,s:I,s:o,s:o,s:o,s:{s:o,s:o,s:o,s:o}}", "authFailures",
		json_count(rl.failures), "rateLimited", json_count(rl.refused), "addressesTracked",
		(json_int_t)rl.tracked, "addressesEvicted", json_count(rl.evicted),
		"bodiesTooLarge", json_count(atomic_load(&n_too_large)), "jsonTooDeep",
		json_count(atomic_load(&n_too_deep)), "transport", "connectionsRefused",
		json_count(hs.connections_refused), "headersTooLarge",
		json_count(hs.headers_too_large), "bodiesTooLarge", json_count(hs.bodies_too_large),
		"tlsHandshakesFailed", json_count(hs.tls_handshakes_failed));
}

void api_handle(void *app, const struct http_request *rq, struct http_response *rs)
{
	struct agent *ag = app;
	struct api_reply rp = {0};
	struct api_params params = {0};
	const struct api_route *route;
	int r = 0;

	route = admit(ag, rq, &params, &rp, rs, &r);
	if (route != NULL) {
		request_id_set_current(rq->id);
		r = route->handler(ag, rq, &params, &rp);
		request_id_set_current(NULL);
	}

	rs->status = err_http_status(r);
	memcpy(rs->etag, rp.etag, sizeof(rs->etag));
	if (r == 0 && rp.stream != NULL) {
		rs->stream = rp.stream;
		rs->stream_ctx = rp.stream_ctx;
		rp.stream = NULL;
	} else if (r == 0 && rp.text != NULL) {
		rs->body = rp.text;
		rs->body_len = rp.text_len;
		rp.text = NULL;
	} else if (r == 0) {
		set_body(rs, rp.body, rq);
	} else {
		json_t *env = error_envelope(rq, r, &rp);
		rs->retry_after = rp.retry_after;
		set_body(rs, env, rq);
		json_decref(env);
		log_msg(r == ERR_INTERNAL || r == ERR_NOMEM ? LOG_ERR : LOG_WARNING, rq->id,
			"error code=%s status=%u message=\"%s\" detail=\"%s\"", err_code(r),
			rs->status, rp.message ? rp.message : err_message(r), rp.ei.detail);
	}
	json_decref(rp.body);
	free(rp.text);
	if (rp.stream != NULL) /* a handler that failed after starting one */
		rp.stream->close(rp.stream_ctx);
}
