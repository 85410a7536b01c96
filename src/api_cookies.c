/* GET /ocserv/cookies[?valid=true|false], GET /ocserv/cookies/{sid}: the
 * session cookies ocserv remembers (`show sessions`, `show session`). */
#include <string.h>
#include <time.h>

#include "api.h"
#include "timefmt.h"

#define SID_MAX 64

/* An ISO-8601 time for epoch seconds, null when absent. */
static json_t *iso_or_null(int64_t epoch)
{
	char buf[40];

	if (epoch < 0 || timefmt_epoch_iso8601(epoch, buf, sizeof(buf)) == NULL)
		return json_null();
	return json_string(buf);
}

static json_t *flag(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *cookie_json(const struct cookie *c, int64_t now)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}",
			 "sessionId", api_str(c->session_id), "fullSessionId",
			 api_str(c->full_session), "created", iso_or_null(c->created),
			 "createdEpoch", api_int(c->created), "expires", iso_or_null(c->expires),
			 "expiresEpoch", api_int(c->expires), "state", api_str(c->state),
			 "username", api_str(c->username), "groupname", api_str(c->groupname),
			 "vhost", api_str(c->vhost), "userAgent", api_str(c->user_agent),
			 "remoteIp", api_str(c->remote_ip), "sessionIsOpen",
			 flag(c->session_is_open), "tlsAuthOk", flag(c->tls_auth_ok), "inUse",
			 flag(c->in_use), "resumable", cookie_is_resumable(c, now));
}

static int handle_cookies(struct agent *ag, const struct http_request *rq,
			  const struct api_params *params, struct api_reply *rp)
{
	const char *valid = http_request_query(rq, "valid");
	struct cookie_list *l = NULL;
	int64_t now = (int64_t)time(NULL);
	json_t *a;
	int r;

	if (valid != NULL && strcmp(valid, "true") != 0 && strcmp(valid, "false") != 0)
		return api_fail(rp, ERR_BAD_REQUEST, "valid must be true or false");
	r = ocserv_cookies(ag->oc, valid != NULL && strcmp(valid, "true") == 0, &l, &rp->ei);
	if (r < 0)
		return r;
	a = json_array();
	for (size_t i = 0; a != NULL && i < l->n; i++)
		if (json_array_append_new(a, cookie_json(&l->v[i], now)) < 0)
			break;
	rp->body = json_pack("{s:b,s:o,s:I}", "ok", 1, "cookies", a, "count", (json_int_t)l->n);
	cookie_list_free(l);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory rendering cookies");
}

/* Short ("LpurJh") or full ids: base64 text of bounded length. */
static bool valid_sid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= SID_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == n;
}

static int handle_cookie(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	const char *sid = params->v[0];
	struct cookie_list *l = NULL;
	int r;

	if (!valid_sid(sid))
		return api_fail(
			rp, ERR_BAD_REQUEST,
			"a session id is 1-%d characters of base64 (percent-encode / and +)",
			SID_MAX);
	r = ocserv_cookie(ag->oc, sid, &l, &rp->ei);
	if (r == ERR_NOT_FOUND)
		return api_fail(rp, r, "no session cookie %s", sid);
	if (r < 0)
		return r;
	rp->body = json_pack("{s:b,s:o}", "ok", 1, "cookie",
			     cookie_json(&l->v[0], (int64_t)time(NULL)));
	cookie_list_free(l);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory rendering a cookie");
}

const struct api_route api_route_cookies = {"GET", "/ocserv/cookies", handle_cookies};
const struct api_route api_route_cookie = {"GET", "/ocserv/cookies/{}", handle_cookie};
