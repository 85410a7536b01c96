/* Accounts of the plain-auth password file: GET /ocserv/accounts,
 * GET|PUT|PATCH|DELETE /ocserv/accounts/{username}, POST
 * /ocserv/accounts/{username}/lock|unlock, GET /ocserv/accounts/export,
 * POST /ocserv/accounts/import. The requests are checked here; the file
 * work is done across the privilege boundary (priv_ops_accounts.c, which
 * checks every argument again and renders the accounts); ending a locked
 * or deleted user's sessions is terminate.h's (or a disconnect). */
#include <string.h>

#include "api.h"
#include "log.h"
#include "ocpasswd.h"
#include "sessions.h"
#include "strv.h"
#include "terminate.h"

static const char *user_param(const struct api_params *params, struct api_reply *rp, int *r)
{
	const char *why = ocpasswd_check_name(params->v[0]);

	*r = why ? api_fail(rp, ERR_BAD_REQUEST, "username: %s", why) : 0;
	return params->v[0];
}

static void audit(const struct http_request *rq, const char *op, const char *user, int r,
		  const char *extra)
{
	char q[2 * OCPASSWD_NAME_MAX + 8];

	log_msg(LOG_NOTICE, rq->id, "audit op=%s username=\"%s\" result=%s%s", op,
		log_quote(user, q, sizeof(q)), r == 0 ? "ok" : err_code(r), extra);
}

/* ---- reading ---- */

/* Whether an account (as priv_ops_accounts.c renders it) is in group. */
static bool has_group(const json_t *account, const char *group)
{
	const json_t *g;
	size_t i;

	json_array_foreach(json_object_get(account, "groups"), i, g)
	{
		if (json_is_string(g) && strcmp(json_string_value(g), group) == 0)
			return true;
	}
	return false;
}

static int handle_list(struct agent *ag, const struct http_request *rq,
		       const struct api_params *params, struct api_reply *rp)
{
	const char *group = http_request_query(rq, "group");
	const char *locked = http_request_query(rq, "locked");
	bool want_locked = false;
	json_t *res = NULL, *a, *e;
	size_t i;
	int r;

	if (locked != NULL && strcmp(locked, "true") != 0 && strcmp(locked, "false") != 0)
		return api_fail(rp, ERR_BAD_REQUEST, "locked must be true or false");
	want_locked = locked != NULL && strcmp(locked, "true") == 0;
	r = api_priv(ag, rq, PRIV_ACCOUNTS_LIST, json_object(), &res, rp);
	if (r < 0)
		return r;
	a = json_array();
	json_array_foreach(json_object_get(res, "accounts"), i, e)
	{
		if ((group == NULL || has_group(e, group)) &&
		    (locked == NULL || json_is_true(json_object_get(e, "locked")) == want_locked))
			json_array_append(a, e);
	}
	rp->body = json_pack("{s:b,s:o,s:I}", "ok", 1, "accounts", a, "count",
			     (json_int_t)json_array_size(a));
	json_decref(res);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory rendering accounts");
}

/* {"ok": true, "account": ...} from the boundary's result (consumed), then
 * extra's members (consumed; may be NULL). */
static int reply_account(struct api_reply *rp, json_t *res, json_t *extra)
{
	rp->body = json_pack("{s:b,s:O}", "ok", 1, "account", json_object_get(res, "account"));
	if (rp->body != NULL && extra != NULL)
		json_object_update(rp->body, extra);
	json_decref(extra);
	json_decref(res);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory rendering an account");
}

/* {"username": user} */
static json_t *user_args(const char *user)
{
	return json_pack("{s:s}", "username", user);
}

static int handle_get(struct agent *ag, const struct http_request *rq,
		      const struct api_params *params, struct api_reply *rp)
{
	json_t *res = NULL;
	int r;
	const char *user = user_param(params, rp, &r);

	if (r == 0)
		r = api_priv(ag, rq, PRIV_ACCOUNTS_GET, user_args(user), &res, rp);
	return r < 0 ? r : reply_account(rp, res, NULL);
}

/* ---- writing ---- */

/* The members a body may have; anything else is refused, so that a caller
 * never believes an option was honoured. */
static int only_members(const json_t *body, const char *const *allowed, struct api_reply *rp)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok)
			return api_fail(rp, ERR_BAD_REQUEST, "unknown member \"%.60s\" in the body",
					key);
	}
	return 0;
}

/* groups: an array of names (NULL member: *given false). */
static int body_groups(const json_t *body, struct strv *groups, bool *given, struct api_reply *rp)
{
	const json_t *g = json_object_get(body, "groups"), *e;
	size_t i;

	*given = g != NULL && !json_is_null(g);
	if (!*given)
		return 0;
	if (!json_is_array(g))
		return api_fail(rp, ERR_BAD_REQUEST, "groups must be an array of names");
	json_array_foreach(g, i, e)
	{
		const char *why;
		if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
			return api_fail(rp, ERR_BAD_REQUEST, "groups must be an array of names");
		if ((why = ocpasswd_check_group(json_string_value(e))) != NULL)
			return api_fail(rp, ERR_BAD_REQUEST, "group %zu: %s", i, why);
		if (strv_add(groups, json_string_value(e)) < 0)
			return err_set(&rp->ei, ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* The password member, copied into *pw (the caller wipes and frees it);
 * jansson's copy is wiped here. NULL member: *pw stays NULL. */
static int body_password(json_t *body, char **pw, struct api_reply *rp)
{
	json_t *p = json_object_get(body, "password");
	const char *why;
	size_t len;

	*pw = NULL;
	if (p == NULL || json_is_null(p))
		return 0;
	if (!json_is_string(p))
		return api_fail(rp, ERR_BAD_REQUEST, "password must be a string");
	len = json_string_length(p);
	if (strlen(json_string_value(p)) != len)
		why = "password must not contain NUL bytes";
	else
		why = ocpasswd_check_password(json_string_value(p));
	if (why == NULL && (*pw = strndup(json_string_value(p), len)) == NULL)
		why = "out of memory";
	explicit_bzero((char *)json_string_value(p), len);
	return why ? api_fail(rp, ERR_BAD_REQUEST, "%s", why) : 0;
}

static void wipe(char *pw)
{
	if (pw != NULL) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
}

/* What PUT and PATCH take: the path's user and a body of password and
 * groups (each may be absent). The caller releases it with
 * change_free(), which wipes the password. */
struct change {
	const char *user;
	json_t *body;
	char *pw; /* NULL: not given */
	struct strv groups;
	bool groups_given;
};

static int change_parse(const struct http_request *rq, const struct api_params *params,
			bool need_password, struct change *c, struct api_reply *rp)
{
	static const char *const allowed[] = {"password", "groups", NULL};
	int r;

	memset(c, 0, sizeof(*c));
	c->user = user_param(params, rp, &r);
	if (r == 0)
		r = api_body_object(rq, &c->body, rp);
	if (r == 0)
		r = only_members(c->body, allowed, rp);
	if (r == 0)
		r = body_password(c->body, &c->pw, rp);
	if (r == 0 && need_password && c->pw == NULL)
		r = api_fail(rp, ERR_BAD_REQUEST, "password is required");
	if (r == 0)
		r = body_groups(c->body, &c->groups, &c->groups_given, rp);
	return r;
}

static void change_free(struct change *c)
{
	wipe(c->pw);
	strv_free(&c->groups);
	json_decref(c->body);
}

/* The arguments of accounts.put and accounts.patch: {username, password?,
 * groups?}, each member only when given. NULL on ENOMEM. */
static json_t *change_args(const struct change *c)
{
	json_t *args = user_args(c->user), *g;

	if (c->pw != NULL && json_object_set_new(args, "password", json_string(c->pw)) < 0)
		goto fail;
	if (c->groups_given) {
		g = json_array();
		for (size_t i = 0; i < c->groups.n; i++)
			if (json_array_append_new(g, json_string(c->groups.v[i])) < 0)
				break;
		if (json_array_size(g) != c->groups.n) {
			json_decref(g);
			goto fail;
		}
		if (json_object_set_new(args, "groups", g) < 0)
			goto fail;
	}
	return args;
fail:
	json_decref(args);
	return NULL;
}

static int handle_put(struct agent *ag, const struct http_request *rq,
		      const struct api_params *params, struct api_reply *rp)
{
	json_t *res = NULL;
	struct change c;
	bool created = false;
	int r = change_parse(rq, params, true, &c, rp);

	if (r == 0) {
		r = api_priv(ag, rq, PRIV_ACCOUNTS_PUT, change_args(&c), &res, rp);
		created = json_is_true(json_object_get(res, "created"));
		audit(rq, "account-put", c.user, r, created ? " created=true" : "");
	}
	change_free(&c);
	return r < 0 ? r : reply_account(rp, res, json_pack("{s:b}", "created", created));
}

static int handle_patch(struct agent *ag, const struct http_request *rq,
			const struct api_params *params, struct api_reply *rp)
{
	json_t *res = NULL;
	struct change c;
	int r = change_parse(rq, params, false, &c, rp);

	if (r == 0 && c.pw == NULL && !c.groups_given)
		r = api_fail(rp, ERR_BAD_REQUEST, "nothing to change: give password and/or groups");
	if (r == 0) {
		r = api_priv(ag, rq, PRIV_ACCOUNTS_PATCH, change_args(&c), &res, rp);
		audit(rq, "account-patch", c.user, r, "");
	}
	change_free(&c);
	return r < 0 ? r : reply_account(rp, res, NULL);
}

/* {"disconnect": true} in the body (or ?disconnect=true, for clients that
 * send no body with DELETE). */
static int want_disconnect(const struct http_request *rq, bool *ret, struct api_reply *rp)
{
	static const char *const allowed[] = {"disconnect", NULL};
	const char *q = http_request_query(rq, "disconnect");
	json_t *body = NULL, *d;
	int r = 0;

	*ret = false;
	if (q != NULL) {
		if (strcmp(q, "true") != 0 && strcmp(q, "false") != 0)
			return api_fail(rp, ERR_BAD_REQUEST, "disconnect must be true or false");
		*ret = strcmp(q, "true") == 0;
	}
	if (rq->body_len == 0)
		return 0;
	r = api_body_object(rq, &body, rp);
	if (r == 0)
		r = only_members(body, allowed, rp);
	d = r == 0 ? json_object_get(body, "disconnect") : NULL;
	if (d != NULL && json_is_null(d)) /* null counts as absent */
		d = NULL;
	if (d != NULL && !json_is_boolean(d))
		r = api_fail(rp, ERR_BAD_REQUEST, "disconnect must be true or false");
	else if (d != NULL)
		*ret = json_is_true(d);
	json_decref(body);
	return r;
}

/* End the user's sessions: terminate where this ocserv supports it (the
 * cookies too), else a disconnect of every session. The account file has
 * changed already, so a failure here does not undo it: the answer says
 * what happened in disconnectError. Returns the members to add to the
 * answer (NULL only without memory); *code is the audit's word. */
static json_t *end_sessions(struct agent *ag, const char *user, const char **code)
{
	struct session_selector sel = {.username = user};
	struct terminate_result tr = {0};
	struct session_list *l = NULL;
	struct err_info ei = {{0}};
	const char *method = "terminate";
	json_t *ids;
	int r = terminate_run(&ag->terminate, &sel, &tr, &ei);

	if (r == 0) {
		l = tr.sessions;
		method = tr.method;
	} else if (r == ERR_NOT_FOUND) {
		*code = "none";
		return json_pack("{s:[],s:n,s:b}", "disconnected", "disconnectMethod",
				 "cookiesInvalidated", 1);
	} else if (r == ERR_NOT_SUPPORTED) {
		r = sessions_disconnect_all(ag->oc, user, &l, &ei);
		method = "disconnect";
	}
	if (r < 0) {
		*code = err_code(r);
		log_warning("ending the sessions of a changed account: %s", ei.detail);
		return json_pack("{s:[],s:n,s:b,s:s}", "disconnected", "disconnectMethod",
				 "cookiesInvalidated", 0, "disconnectError", err_code(r));
	}
	*code = method;
	ids = json_array();
	for (size_t i = 0; ids != NULL && i < l->n; i++)
		json_array_append_new(ids, json_integer(l->v[i].id));
	session_list_free(l);
	/* A plain disconnect leaves the cookie of a client that had dropped
	 * valid until cookie-timeout: say so rather than let "locked" read as
	 * "out". */
	return json_pack("{s:o,s:s,s:b}", "disconnected", ids, "disconnectMethod", method,
			 "cookiesInvalidated", strcmp(method, "disconnect") != 0);
}

static int handle_lock_common(struct agent *ag, const struct http_request *rq,
			      const struct api_params *params, struct api_reply *rp, bool lock)
{
	const char *code = NULL;
	json_t *extra = NULL, *res = NULL;
	char note[64] = "";
	bool disc = false;
	int r;
	const char *user = user_param(params, rp, &r);

	if (r == 0)
		r = lock ? want_disconnect(rq, &disc, rp)
			 : (rq->body_len ? api_fail(rp, ERR_BAD_REQUEST, "unlock takes no body")
					 : 0);
	if (r < 0)
		return r;
	r = api_priv(ag, rq, PRIV_ACCOUNTS_LOCK,
		     json_pack("{s:s,s:b}", "username", user, "lock", lock), &res, rp);
	/* Locked first, then the sessions: a client cannot log in again meanwhile. */
	if (r == 0 && disc && (extra = end_sessions(ag, user, &code)) == NULL) {
		json_decref(res);
		r = err_set(&rp->ei, ERR_NOMEM, "out of memory");
	}
	if (code != NULL)
		snprintf(note, sizeof(note), " disconnect=%s", code);
	audit(rq, lock ? "account-lock" : "account-unlock", user, r, note);
	return r < 0 ? r : reply_account(rp, res, extra);
}
static int handle_lock(struct agent *ag, const struct http_request *rq,
		       const struct api_params *params, struct api_reply *rp)
{
	return handle_lock_common(ag, rq, params, rp, true);
}

static int handle_unlock(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	return handle_lock_common(ag, rq, params, rp, false);
}

static int handle_delete(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	const char *code = NULL;
	json_t *extra = NULL, *res = NULL;
	char note[64] = "";
	bool disc = false;
	int r;
	const char *user = user_param(params, rp, &r);

	if (r == 0)
		r = want_disconnect(rq, &disc, rp);
	if (r < 0)
		return r;
	r = api_priv(ag, rq, PRIV_ACCOUNTS_DELETE, user_args(user), &res, rp);
	json_decref(res);
	if (r == 0 && disc && (extra = end_sessions(ag, user, &code)) == NULL)
		r = err_set(&rp->ei, ERR_NOMEM, "out of memory");
	if (code != NULL)
		snprintf(note, sizeof(note), " disconnect=%s", code);
	audit(rq, "account-delete", user, r, note);
	if (r < 0)
		return r;
	rp->body = json_pack("{s:b,s:b}", "ok", 1, "deleted", 1);
	if (rp->body != NULL && extra != NULL)
		json_object_update(rp->body, extra);
	json_decref(extra);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
}

/* ---- export and import ---- */

/* The file as it is, hashes included: what an export is for. */
static int handle_export(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	json_t *res = NULL, *content;
	int r = api_priv(ag, rq, PRIV_ACCOUNTS_EXPORT, json_object(), &res, rp);

	if (r < 0)
		return r;
	content = json_object_get(res, "content");
	log_msg(LOG_NOTICE, rq->id, "audit op=account-export bytes=%zu result=ok",
		json_string_length(content));
	rp->body = json_pack("{s:b,s:s,s:O}", "ok", 1, "format", "ocpasswd", "content", content);
	json_decref(res); /* wiped on free (secmem.h) */
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory exporting accounts");
}

/* The import's body: {content, mode?, dryRun?}; *content is the body's. */
static int import_parse(const json_t *body, const json_t **content, const char **mode, bool *dry,
			struct api_reply *rp)
{
	static const char *const allowed[] = {"content", "mode", "dryRun", NULL};
	const json_t *c = json_object_get(body, "content"), *m = json_object_get(body, "mode"),
		     *d = json_object_get(body, "dryRun");
	int r = only_members(body, allowed, rp);

	*content = c;
	if (r == 0 && !json_is_string(c))
		return api_fail(rp, ERR_BAD_REQUEST,
				"content (the ocpasswd file's text) is required");
	if (r == 0 && strlen(json_string_value(c)) != json_string_length(c))
		return api_fail(rp, ERR_BAD_REQUEST, "content must not contain NUL bytes");
	if (r == 0 && m != NULL && !json_is_null(m)) {
		*mode = json_is_string(m) ? json_string_value(m) : "";
		if (strcmp(*mode, "merge") != 0 && strcmp(*mode, "replace") != 0)
			return api_fail(rp, ERR_BAD_REQUEST, "mode must be merge or replace");
	}
	if (r == 0 && d != NULL && !json_is_null(d)) {
		if (!json_is_boolean(d))
			return api_fail(rp, ERR_BAD_REQUEST, "dryRun must be true or false");
		*dry = json_is_true(d);
	}
	return r;
}

/* The body of an import's answer from the boundary's result. */
static json_t *import_body(const json_t *res, bool dry, const char *mode)
{
	return json_pack("{s:b,s:b,s:s,s:O,s:O,s:O,s:O,s:O,s:O}", "ok", 1, "dryRun", dry, "mode",
			 mode, "changes", json_object_get(res, "changes"), "added",
			 json_object_get(res, "added"), "updated", json_object_get(res, "updated"),
			 "deleted", json_object_get(res, "deleted"), "unchanged",
			 json_object_get(res, "unchanged"), "skipped",
			 json_object_get(res, "skipped"));
}

static int handle_import(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	const char *mode = "merge";
	const json_t *c = NULL;
	json_t *body = NULL, *res = NULL;
	bool dry = false;
	int r = api_body_object(rq, &body, rp);

	if (r == 0)
		r = import_parse(body, &c, &mode, &dry, rp);
	if (r == 0) {
		r = api_priv(ag, rq, PRIV_ACCOUNTS_IMPORT,
			     json_pack("{s:s%,s:b,s:b}", "content", json_string_value(c),
				       json_string_length(c), "replace",
				       strcmp(mode, "replace") == 0, "dryRun", dry),
			     &res, rp);
		if (!dry)
			log_msg(LOG_NOTICE, rq->id, "audit op=account-import mode=%s result=%s",
				mode, r == 0 ? "ok" : err_code(r));
	}
	if (r == 0 && (rp->body = import_body(res, dry, mode)) == NULL)
		r = err_set(&rp->ei, ERR_NOMEM, "out of memory");
	json_decref(res);
	if (json_is_string(c))
		explicit_bzero((char *)json_string_value(c), json_string_length(c));
	json_decref(body);
	return r;
}

/* export and import before {username}: the router takes the first match. */
const struct api_route api_route_accounts = {"GET", "/ocserv/accounts", handle_list};
const struct api_route api_route_accounts_export = {"GET", "/ocserv/accounts/export",
						    handle_export};
const struct api_route api_route_accounts_import = {"POST", "/ocserv/accounts/import",
						    handle_import};
const struct api_route api_route_account_get = {"GET", "/ocserv/accounts/{}", handle_get};
const struct api_route api_route_account_put = {"PUT", "/ocserv/accounts/{}", handle_put};
const struct api_route api_route_account_patch = {"PATCH", "/ocserv/accounts/{}", handle_patch};
const struct api_route api_route_account_delete = {"DELETE", "/ocserv/accounts/{}", handle_delete};
const struct api_route api_route_account_lock = {"POST", "/ocserv/accounts/{}/lock", handle_lock};
const struct api_route api_route_account_unlock = {"POST", "/ocserv/accounts/{}/unlock",
						   handle_unlock};
