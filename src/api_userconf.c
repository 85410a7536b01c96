/* GET /ocserv/config/users, GET|PUT|PATCH|DELETE /ocserv/config/users/{name}
 * and the same under /ocserv/config/groups: ocserv's per-user and per-group
 * settings files. Requests are checked here; the file work (userconf.h) is
 * done across the privilege boundary (priv_ops_userconf.c), which checks
 * the kind, the name and the settings again and reads the directories from
 * its own ocserv.conf on every request; the running ocserv's version
 * decides which keys are accepted. ocserv reads these files on every new
 * session: nothing to reload, and sessions already running keep their
 * settings. */
#include <string.h>

#include "api.h"
#include "log.h"
#include "userconf.h"

static int check_name(enum userconf_kind kind, const char *name, struct api_reply *rp)
{
	const char *why = userconf_check_name(name);

	return why ? api_fail(rp, ERR_BAD_REQUEST, "invalid %s name: %s", userconf_kind_name(kind),
			      why)
		   : 0;
}

/* {kind, name} for the boundary (name NULL: kind only). */
static json_t *name_args(enum userconf_kind kind, const char *name)
{
	return name != NULL ? json_pack("{s:s,s:s}", "kind", userconf_kind_name(kind), "name", name)
			    : json_pack("{s:s}", "kind", userconf_kind_name(kind));
}

/* An audit line for every change asked with a valid name, whatever its
 * outcome; with_keys: list the keys of the body's settings (may be NULL).
 * A key is a client's text: any byte but [A-Za-z0-9._-] prints as '?', so
 * that none can forge a field of the line. */
static void audit(const struct http_request *rq, const char *op, enum userconf_kind kind,
		  const char *name, bool with_keys, const json_t *settings, const char *result)
{
	static const char safe[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
	char q[2 * USERCONF_NAME_MAX + 8], keys[512] = "";
	const char *key;
	json_t *val;
	size_t o = 0;

	json_object_foreach((json_t *)settings, key, val)
	{
		if (o + strlen(key) + 2 >= sizeof(keys))
			break;
		if (o > 0)
			keys[o++] = ',';
		for (const char *c = key; *c; c++)
			keys[o++] = strchr(safe, *c) ? *c : '?';
		keys[o] = '\0';
	}
	log_msg(LOG_NOTICE, rq->id, "audit op=userconf-%s kind=%s name=\"%s\"%s%s%s result=%s", op,
		userconf_kind_name(kind), log_quote(name, q, sizeof(q)), with_keys ? " keys=[" : "",
		keys, with_keys ? "]" : "", result);
}

static int do_list(struct agent *ag, const struct http_request *rq, enum userconf_kind kind,
		   struct api_reply *rp)
{
	json_t *res = NULL, *names;
	int r = api_priv(ag, rq, PRIV_USERCONF_LIST, name_args(kind, NULL), &res, rp);

	if (r < 0)
		return r;
	names = json_object_get(res, "names");
	rp->body = json_pack("{s:b,s:O,s:I}", "ok", 1, kind == USERCONF_USER ? "users" : "groups",
			     names, "count", (json_int_t)json_array_size(names));
	json_decref(res);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory rendering names");
}

static int do_get(struct agent *ag, const struct http_request *rq, enum userconf_kind kind,
		  const char *name, struct api_reply *rp)
{
	json_t *res = NULL;
	int r = check_name(kind, name, rp);

	if (r == 0)
		r = api_priv(ag, rq, PRIV_USERCONF_GET, name_args(kind, name), &res, rp);
	if (r < 0)
		return r;
	rp->body = json_pack("{s:b,s:O}", "ok", 1, "config", json_object_get(res, "config"));
	json_decref(res);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory rendering settings");
}

/* The body's settings object: {"settings": {...}} and nothing else. */
static int body_settings(const struct http_request *rq, json_t **body, json_t **settings,
			 struct api_reply *rp)
{
	const char *key;
	json_t *val;
	int r = api_body_object(rq, body, rp);

	if (r < 0)
		return r;
	json_object_foreach(*body, key, val)
	{
		if (strcmp(key, "settings") != 0) {
			char q[80];
			return api_fail(rp, ERR_BAD_REQUEST,
					"unknown member \"%s\" (the body is {\"settings\": {...}})",
					log_quote(key, q, sizeof(q)));
		}
	}
	*settings = json_object_get(*body, "settings");
	if (!json_is_object(*settings))
		return api_fail(
			rp, ERR_BAD_REQUEST,
			"settings is required: an object of key: value (null removes a key)");
	return 0;
}

static int do_change(struct agent *ag, const struct http_request *rq, enum userconf_kind kind,
		     const char *name, bool replace, struct api_reply *rp)
{
	const char *op = replace ? "put" : "patch";
	json_t *body = NULL, *settings = NULL, *res = NULL, *args;
	struct ocserv_version v;
	bool created = false, changed = false;
	int r = check_name(kind, name, rp);

	if (r < 0)
		return r;
	ocserv_version_or_unknown(ag->oc, &v);
	r = body_settings(rq, &body, &settings, rp);
	if (r == 0 &&
	    (r = userconf_check_settings(settings, &v, rp->ei.detail, sizeof(rp->ei.detail))) < 0)
		r = api_fail(rp, r, "%s", rp->ei.detail);
	if (r == 0) {
		args = name_args(kind, name);
		if (json_object_set(args, "settings", settings) < 0 ||
		    json_object_set_new(args, "replace", json_boolean(replace)) < 0) {
			json_decref(args);
			args = NULL;
		}
		r = api_priv(ag, rq, PRIV_USERCONF_CHANGE, args, &res, rp);
	}
	created = json_is_true(json_object_get(res, "created"));
	changed = json_is_true(json_object_get(res, "changed"));
	audit(rq, op, kind, name, true, settings,
	      r < 0	? err_code(r)
	      : created ? "created"
	      : changed ? "updated"
			: "unchanged");
	if (r == 0) {
		rp->body = json_pack("{s:b,s:O,s:b,s:b,s:b}", "ok", 1, "config",
				     json_object_get(res, "config"), "created", created, "changed",
				     changed, "reloadNeeded", 0);
		if (rp->body == NULL)
			r = err_set(&rp->ei, ERR_NOMEM, "out of memory rendering settings");
	}
	json_decref(res);
	json_decref(body);
	return r;
}

static int do_delete(struct agent *ag, const struct http_request *rq, enum userconf_kind kind,
		     const char *name, struct api_reply *rp)
{
	json_t *res = NULL;
	int r = check_name(kind, name, rp);

	if (r < 0)
		return r;
	r = api_priv(ag, rq, PRIV_USERCONF_DELETE, name_args(kind, name), &res, rp);
	json_decref(res);
	audit(rq, "delete", kind, name, false, NULL, r < 0 ? err_code(r) : "deleted");
	if (r < 0)
		return r;
	rp->body = json_pack("{s:b,s:b,s:s,s:s,s:b}", "ok", 1, "deleted", 1, "kind",
			     userconf_kind_name(kind), "name", name, "reloadNeeded", 0);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
}

/* One handler per route: the kind is in the path. */

static int users(struct agent *ag, const struct http_request *rq, const struct api_params *p,
		 struct api_reply *rp)
{
	return do_list(ag, rq, USERCONF_USER, rp);
}

static int groups(struct agent *ag, const struct http_request *rq, const struct api_params *p,
		  struct api_reply *rp)
{
	return do_list(ag, rq, USERCONF_GROUP, rp);
}

static int user_get(struct agent *ag, const struct http_request *rq, const struct api_params *p,
		    struct api_reply *rp)
{
	return do_get(ag, rq, USERCONF_USER, p->v[0], rp);
}

static int group_get(struct agent *ag, const struct http_request *rq, const struct api_params *p,
		     struct api_reply *rp)
{
	return do_get(ag, rq, USERCONF_GROUP, p->v[0], rp);
}

static int user_put(struct agent *ag, const struct http_request *rq, const struct api_params *p,
		    struct api_reply *rp)
{
	return do_change(ag, rq, USERCONF_USER, p->v[0], true, rp);
}

static int group_put(struct agent *ag, const struct http_request *rq, const struct api_params *p,
		     struct api_reply *rp)
{
	return do_change(ag, rq, USERCONF_GROUP, p->v[0], true, rp);
}

static int user_patch(struct agent *ag, const struct http_request *rq, const struct api_params *p,
		      struct api_reply *rp)
{
	return do_change(ag, rq, USERCONF_USER, p->v[0], false, rp);
}

static int group_patch(struct agent *ag, const struct http_request *rq, const struct api_params *p,
		       struct api_reply *rp)
{
	return do_change(ag, rq, USERCONF_GROUP, p->v[0], false, rp);
}

static int user_delete(struct agent *ag, const struct http_request *rq, const struct api_params *p,
		       struct api_reply *rp)
{
	return do_delete(ag, rq, USERCONF_USER, p->v[0], rp);
}

static int group_delete(struct agent *ag, const struct http_request *rq, const struct api_params *p,
			struct api_reply *rp)
{
	return do_delete(ag, rq, USERCONF_GROUP, p->v[0], rp);
}

const struct api_route api_route_userconf_users = {"GET", "/ocserv/config/users", users};
const struct api_route api_route_userconf_user_get = {"GET", "/ocserv/config/users/{}", user_get};
const struct api_route api_route_userconf_user_put = {"PUT", "/ocserv/config/users/{}", user_put};
const struct api_route api_route_userconf_user_patch = {"PATCH", "/ocserv/config/users/{}",
							user_patch};
const struct api_route api_route_userconf_user_delete = {"DELETE", "/ocserv/config/users/{}",
							 user_delete};
const struct api_route api_route_userconf_groups = {"GET", "/ocserv/config/groups", groups};
const struct api_route api_route_userconf_group_get = {"GET", "/ocserv/config/groups/{}",
						       group_get};
const struct api_route api_route_userconf_group_put = {"PUT", "/ocserv/config/groups/{}",
						       group_put};
const struct api_route api_route_userconf_group_patch = {"PATCH", "/ocserv/config/groups/{}",
							 group_patch};
const struct api_route api_route_userconf_group_delete = {"DELETE", "/ocserv/config/groups/{}",
							  group_delete};
