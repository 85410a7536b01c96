/* Sessions: GET /ocserv/sessions, GET /ocserv/session, POST
 * /ocserv/disconnect, POST /ocserv/disconnectAll (v1); GET
 * /ocserv/users/{username}, GET /ocserv/sessions/{vpnSessionId}, POST
 * /ocserv/terminate. */
#include <string.h>

#include "api.h"
#include "json_writer.h"
#include "log.h"
#include "sessions.h"
#include "terminate.h"
#include "validate.h"

static void write_strv(struct json_writer *w, const struct strv *sv)
{
	jw_begin_array(w);
	for (size_t i = 0; i < sv->n; i++)
		jw_string(w, sv->v[i]);
	jw_end_array(w);
}

#define STR(k, v) (jw_key(w, k), jw_string(w, v))
#define NUM(k, v) (jw_key(w, k), jw_uint_or_null(w, v))

static void write_session_members(struct json_writer *w, const struct session *s);

/* The v1 session object. remoteIp repeats clientIp and rawLine is always
 * null: both exist because backends of the original agent read them. */
static void write_session(struct json_writer *w, const struct session *s)
{
	jw_begin_object(w);
	write_session_members(w, s);
	jw_end_object(w);
}

/* The v1 object plus what `show id` tells about one session. */
static void write_session_detail(struct json_writer *w, const struct session *s)
{
	jw_begin_object(w);
	write_session_members(w, s);
	jw_key(w, "noRoutes");
	write_strv(w, &s->no_routes);
	jw_key(w, "iroutes");
	write_strv(w, &s->iroutes);
	jw_key(w, "nbns");
	write_strv(w, &s->nbns);
	jw_key(w, "splitDnsDomains");
	write_strv(w, &s->split_dns_domains);
	jw_key(w, "restrictedToRoutes");
	if (s->restricted_to_routes < 0)
		jw_null(w);
	else
		jw_bool(w, s->restricted_to_routes == 1);
	jw_key(w, "restrictedToPorts");
	write_strv(w, &s->restricted_to_ports);
	NUM("keepalive", s->keepalive);
	NUM("dpd", s->dpd);
	STR("hostname", s->hostname);
	NUM("rawSessionStartedAt", s->raw_session_started_at);
	jw_end_object(w);
}

static void write_session_members(struct json_writer *w, const struct session *s)
{
	NUM("vpnSessionId", s->id);
	STR("username", s->username);
	STR("groupname", s->groupname);
	STR("clientIp", s->client_ip);
	STR("ip", s->vpn_ipv4);
	STR("device", s->device);
	STR("status", s->state);
	STR("vhost", s->vhost);
	STR("remoteIp", s->client_ip);
	STR("localDeviceIp", s->local_device_ip);
	STR("p2pIpv4", s->p2p_ipv4);
	STR("ipv6", s->vpn_ipv6);
	STR("connectedAt", s->connected_at);
	NUM("rawConnectedAt", s->raw_connected_at);
	NUM("sinceSeconds", s->since_seconds);
	NUM("rxBytes", s->rx_bytes);
	NUM("txBytes", s->tx_bytes);
	STR("avgRx", s->avg_rx);
	STR("avgTx", s->avg_tx);
	STR("userAgent", s->user_agent);
	STR("session", s->session_id);
	STR("fullSession", s->full_session);
	STR("tlsCiphersuite", s->tls_cipher);
	STR("dtlsCipher", s->dtls_cipher);
	NUM("mtu", s->mtu);
	jw_key(w, "dns");
	write_strv(w, &s->dns);
	jw_key(w, "routes");
	write_strv(w, &s->routes);
	jw_key(w, "rawLine");
	jw_null(w);
}

#undef STR
#undef NUM

/* Finish a writer into the reply's text. */
static int reply_text(struct api_reply *rp, struct json_writer *w)
{
	rp->text = json_writer_finish(w, &rp->text_len);
	return rp->text ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory rendering sessions");
}

/* The short form listed in a MULTIPLE_SESSIONS error. */
static json_t *match_json(const struct session *s)
{
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}", "vpnSessionId", (json_int_t)s->id, "username",
			 api_str(s->username), "ip", api_str(s->vpn_ipv4), "clientIp",
			 api_str(s->client_ip), "device", api_str(s->device), "status",
			 api_str(s->state));
}

static json_t *matches_json(const struct session_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < l->n; i++) {
		json_t *e = match_json(&l->v[i]);
		if (e == NULL || json_array_append_new(a, e) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Put the matches of a MULTIPLE_SESSIONS answer into the error body. */
static int multiple(struct api_reply *rp, const struct session_list *l)
{
	rp->body = json_pack("{s:o}", "matches", matches_json(l));
	return api_fail(rp, ERR_MULTIPLE_SESSIONS,
			"username has %zu active sessions; use vpnSessionId", l->n);
}

/* {"ok": true, [username,] "sessions": [...], "count": n} */
static int reply_list(struct api_reply *rp, const char *username, const struct session_list *l)
{
	struct json_writer w;

	json_writer_init(&w);
	jw_begin_object(&w);
	jw_key(&w, "ok");
	jw_bool(&w, true);
	if (username != NULL) {
		jw_key(&w, "username");
		jw_string(&w, username);
	}
	jw_key(&w, "sessions");
	jw_begin_array(&w);
	for (size_t i = 0; i < l->n; i++)
		write_session(&w, &l->v[i]);
	jw_end_array(&w);
	jw_key(&w, "count");
	jw_int(&w, (int64_t)l->n);
	jw_end_object(&w);
	return reply_text(rp, &w);
}

static int handle_sessions(struct agent *ag, const struct http_request *rq,
			   const struct api_params *params, struct api_reply *rp)
{
	struct session_list *l = NULL;
	int r = sessions_list(ag->oc, &l, &rp->ei);

	if (r < 0)
		return r;
	r = reply_list(rp, NULL, l);
	session_list_free(l);
	return r;
}

static int check_username(const char *u, struct api_reply *rp)
{
	const char *why = validate_username(u);

	return why ? api_fail(rp, ERR_BAD_REQUEST, "%s", why) : 0;
}

/* Selector from the query string: ?vpnSessionId=N or ?username=U. */
static int query_selector(const struct http_request *rq, struct session_selector *sel,
			  struct api_reply *rp)
{
	const char *id = http_request_query(rq, "vpnSessionId");
	const char *user = http_request_query(rq, "username");

	memset(sel, 0, sizeof(*sel));
	if (id != NULL) {
		if (!validate_session_id_text(id, &sel->id))
			return api_fail(rp, ERR_BAD_REQUEST,
					"vpnSessionId must be a positive integer");
		return 0;
	}
	if (user == NULL)
		return api_fail(rp, ERR_BAD_REQUEST, "vpnSessionId or username is required");
	sel->username = user;
	return check_username(user, rp);
}

/* Selector from a JSON body: {"vpnSessionId": N} or {"username": "U"};
 * null counts as absent; any other member is refused, so that a caller
 * never believes an option was honoured. The string stays owned by body. */
static int body_selector(const json_t *body, struct session_selector *sel, bool id_allowed,
			 struct api_reply *rp)
{
	const json_t *id = json_object_get(body, "vpnSessionId");
	const json_t *user = json_object_get(body, "username");
	const char *key;
	json_t *v;

	memset(sel, 0, sizeof(*sel));
	json_object_foreach((json_t *)body, key, v)
	{
		if (strcmp(key, "username") == 0 ||
		    (id_allowed && strcmp(key, "vpnSessionId") == 0))
			continue;
		return api_fail(rp, ERR_BAD_REQUEST, "unknown member in the body (allowed: %s)",
				id_allowed ? "vpnSessionId, username" : "username");
	}
	if (id_allowed && id != NULL && !json_is_null(id)) {
		if (!json_is_integer(id) || !validate_session_id(json_integer_value(id)))
			return api_fail(rp, ERR_BAD_REQUEST,
					"vpnSessionId must be a positive integer");
		sel->id = json_integer_value(id);
		return 0;
	}
	if (user == NULL || json_is_null(user))
		return api_fail(rp, ERR_BAD_REQUEST,
				id_allowed ? "vpnSessionId or username is required"
					   : "username is required");
	if (!json_is_string(user) || strlen(json_string_value(user)) != json_string_length(user))
		return api_fail(rp, ERR_BAD_REQUEST, "username must be a string");
	sel->username = json_string_value(user);
	return check_username(sel->username, rp);
}

static int handle_session(struct agent *ag, const struct http_request *rq,
			  const struct api_params *params, struct api_reply *rp)
{
	struct session_selector sel;
	struct session_list *l = NULL;
	int r = query_selector(rq, &sel, rp);

	if (r < 0)
		return r;
	r = sessions_find(ag->oc, &sel, &l, &rp->ei);
	if (r == ERR_MULTIPLE_SESSIONS) {
		r = multiple(rp, l);
	} else if (r == 0) {
		struct json_writer w;
		json_writer_init(&w);
		jw_begin_object(&w);
		jw_key(&w, "ok");
		jw_bool(&w, true);
		jw_key(&w, "session");
		if (l->n)
			write_session(&w, &l->v[0]);
		else
			jw_null(&w);
		jw_end_object(&w);
		r = reply_text(rp, &w);
	}
	session_list_free(l);
	return r;
}

/* Every state change is an audit line at NOTICE: what was asked, the
 * result, the sessions ended, and extra (op-specific, may be ""). */
static void audit(const struct http_request *rq, const char *op, const struct session_selector *sel,
		  int r, const char *result, const struct session_list *done, const char *extra)
{
	char target[2 * USERNAME_MAX + 32], quoted[2 * USERNAME_MAX + 8], ids[160] = "";
	size_t o = 0;

	if (sel->id > 0)
		snprintf(target, sizeof(target), "vpnSessionId=%lld", (long long)sel->id);
	else
		snprintf(target, sizeof(target), "username=\"%s\"",
			 log_quote(sel->username, quoted, sizeof(quoted)));
	for (size_t i = 0; r == 0 && done != NULL && i < done->n && o + 24 < sizeof(ids); i++)
		o += (size_t)snprintf(ids + o, sizeof(ids) - o, "%s%lld", i ? "," : "",
				      (long long)done->v[i].id);
	log_msg(LOG_NOTICE, rq->id, "audit op=%s %s result=%s disconnected=[%s]%s", op, target,
		r == 0 ? result : err_code(r), ids, extra);
}

static int handle_disconnect(struct agent *ag, const struct http_request *rq,
			     const struct api_params *params, struct api_reply *rp)
{
	struct session_selector sel;
	struct session_list *l = NULL;
	json_t *body = NULL;
	int r = api_body_object(rq, &body, rp);

	if (r == 0)
		r = body_selector(body, &sel, true, rp);
	if (r == 0) {
		r = sessions_disconnect(ag->oc, &sel, &l, &rp->ei);
		audit(rq, "disconnect", &sel, r, r == 0 && l->n ? "disconnected" : "not_found", l,
		      "");
	}
	if (r == ERR_MULTIPLE_SESSIONS)
		r = multiple(rp, l);
	else if (r == 0 && l->n == 0)
		rp->body = json_pack("{s:b,s:b,s:s}", "ok", 1, "disconnected", 0, "reason",
				     "not_found");
	else if (r == 0)
		rp->body =
			json_pack("{s:b,s:b,s:I,s:o}", "ok", 1, "disconnected", 1, "vpnSessionId",
				  (json_int_t)l->v[0].id, "username", api_str(l->v[0].username));
	session_list_free(l);
	json_decref(body);
	return r;
}

static int handle_disconnect_all(struct agent *ag, const struct http_request *rq,
				 const struct api_params *params, struct api_reply *rp)
{
	struct session_selector sel;
	struct session_list *l = NULL;
	json_t *body = NULL, *ids;
	int r = api_body_object(rq, &body, rp);

	if (r == 0)
		r = body_selector(body, &sel, false, rp);
	if (r == 0) {
		r = sessions_disconnect_all(ag->oc, sel.username, &l, &rp->ei);
		audit(rq, "disconnectAll", &sel, r, r == 0 && l->n ? "disconnected" : "not_found",
		      l, "");
	}
	if (r == 0) {
		ids = json_array();
		for (size_t i = 0; ids != NULL && i < l->n; i++)
			json_array_append_new(ids, json_integer(l->v[i].id));
		rp->body = json_pack("{s:b,s:s,s:I,s:o}", "ok", 1, "username", sel.username,
				     "disconnectedCount", (json_int_t)l->n,
				     "disconnectedSessionIds", ids);
	}
	session_list_free(l);
	json_decref(body);
	return r;
}

static int handle_user(struct agent *ag, const struct http_request *rq,
		       const struct api_params *params, struct api_reply *rp)
{
	const char *user = params->v[0];
	struct session_list *l = NULL;
	int r = check_username(user, rp);

	if (r == 0)
		r = sessions_of_user(ag->oc, user, &l, &rp->ei);
	if (r == 0)
		r = reply_list(rp, user, l);
	session_list_free(l);
	return r;
}

static int handle_session_by_id(struct agent *ag, const struct http_request *rq,
				const struct api_params *params, struct api_reply *rp)
{
	struct session_selector sel = {0};
	struct session_list *l = NULL;
	struct json_writer w;
	int r;

	if (!validate_session_id_text(params->v[0], &sel.id))
		return api_fail(rp, ERR_BAD_REQUEST, "vpnSessionId must be a positive integer");
	r = sessions_find(ag->oc, &sel, &l, &rp->ei);
	if (r == 0 && l->n == 0)
		r = api_fail(rp, ERR_NOT_FOUND, "no session with vpnSessionId %lld",
			     (long long)sel.id);
	if (r == 0) {
		json_writer_init(&w);
		jw_begin_object(&w);
		jw_key(&w, "ok");
		jw_bool(&w, true);
		jw_key(&w, "session");
		write_session_detail(&w, &l->v[0]);
		jw_end_object(&w);
		r = reply_text(rp, &w);
	}
	session_list_free(l);
	return r;
}

static int handle_terminate(struct agent *ag, const struct http_request *rq,
			    const struct api_params *params, struct api_reply *rp)
{
	struct terminate_result res = {0};
	struct session_selector sel;
	json_t *body = NULL;
	int r = api_body_object(rq, &body, rp);

	if (r == 0)
		r = body_selector(body, &sel, true, rp);
	if (r == 0) {
		r = terminate_run(&ag->terminate, &sel, &res, &rp->ei);
		if (r == ERR_NOT_SUPPORTED)
			api_fail(rp, r, "%s",
				 res.why[0] ? res.why : "this ocserv cannot terminate sessions");
		else if (r == ERR_NOT_FOUND)
			api_fail(rp, r, "no session or resumable cookie to terminate");
		char extra[64] = "";
		if (r == 0)
			snprintf(extra, sizeof(extra), " cookies=%zu method=%s", res.cookies,
				 res.method);
		audit(rq, "terminate", &sel, r, "terminated", res.sessions, extra);
	}
	if (r == 0) {
		json_t *a = matches_json(res.sessions);
		rp->body = json_pack("{s:b,s:o,s:I,s:I,s:s}", "ok", 1, "terminated", a, "count",
				     (json_int_t)res.sessions->n, "cookiesRevoked",
				     (json_int_t)res.cookies, "method", res.method);
	}
	session_list_free(res.sessions);
	json_decref(body);
	return r;
}

const struct api_route api_route_sessions = {"GET", "/ocserv/sessions", handle_sessions};
const struct api_route api_route_user = {"GET", "/ocserv/users/{}", handle_user};
const struct api_route api_route_session_by_id = {"GET", "/ocserv/sessions/{}",
						  handle_session_by_id};
const struct api_route api_route_terminate = {"POST", "/ocserv/terminate", handle_terminate};
const struct api_route api_route_session = {"GET", "/ocserv/session", handle_session};
const struct api_route api_route_disconnect = {"POST", "/ocserv/disconnect", handle_disconnect};
const struct api_route api_route_disconnect_all = {"POST", "/ocserv/disconnectAll",
						   handle_disconnect_all};
