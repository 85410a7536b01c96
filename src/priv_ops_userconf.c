/* The per-user and per-group settings operations of the privilege boundary
 * (priv_ops.h): the file work of /ocserv/config/users and /groups. The
 * directory comes from the root side's own ocserv.conf (config-per-user,
 * config-per-group), read on every call; the api side only says which
 * kind ("user" or "group") and which name (userconf_check_name: one plain
 * path component), and the settings are checked against the running
 * ocserv's version here, whatever the api side checked. */
#include <stdio.h>
#include <string.h>

#include "priv_ops.h"
#include "userconf.h"

static const char *check_kind(const char *s)
{
	return strcmp(s, "user") == 0 || strcmp(s, "group") == 0 ? NULL : "must be user or group";
}

/* The checked kind member. */
static enum userconf_kind arg_kind(const json_t *args)
{
	return strcmp(priv_arg_str(args, "kind"), "user") == 0 ? USERCONF_USER : USERCONF_GROUP;
}

/* userconf.h's client-facing messages go to the client; the others keep
 * their code's default message (their detail is for the log). */
static int fail(struct priv_error *pe, int e)
{
	if (e == ERR_BAD_REQUEST || e == ERR_NOT_FOUND || e == ERR_CONFLICT)
		return priv_fail(pe, e, "%s", pe->ei.detail);
	return e;
}

/* The directory of the kind the args name, from our ocserv.conf. */
static int find_dir(struct priv_root *r, const json_t *args, struct userconf_dir *d,
		    struct priv_error *pe)
{
	int e = userconf_dir_find(r->cfg->ocserv_conf_path, arg_kind(args), d, &pe->ei);

	return e < 0 ? fail(pe, e) : 0;
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* {kind, name, path, settings, issues} */
static json_t *config_json(const struct userconf_dir *d, const char *name, const struct userconf *f,
			   const struct ocserv_version *v)
{
	char path[sizeof(d->path) + USERCONF_NAME_MAX + 2];
	json_t *settings = NULL, *issues = NULL;

	if (userconf_to_json(f, v, &settings, &issues) < 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", strcmp(d->path, "/") == 0 ? "" : d->path, name);
	return json_pack("{s:s,s:s,s:o,s:o,s:o}", "kind", userconf_kind_name(d->kind), "name", name,
			 "path", str_or_null(path), "settings", settings, "issues", issues);
}

/* {names: [...]} */
static int run_list(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		    struct priv_error *pe)
{
	struct userconf_dir d;
	struct strv names = {0};
	json_t *a;
	int e = find_dir(r, args, &d, pe);

	(void)request_id;
	if (e == 0 && (e = userconf_list(&d, &names, &pe->ei)) < 0)
		return fail(pe, e);
	if (e < 0)
		return e;
	a = json_array();
	for (size_t i = 0; a != NULL && i < names.n; i++)
		json_array_append_new(a, str_or_null(names.v[i]));
	strv_free(&names);
	*ret = json_pack("{s:o}", "names", a);
	return *ret ? 0 : err_set(&pe->ei, ERR_NOMEM, "out of memory rendering names");
}

/* {config} */
static int run_get(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		   struct priv_error *pe)
{
	const char *name = priv_arg_str(args, "name");
	struct userconf_dir d;
	struct userconf *f = NULL;
	struct ocserv_version v;
	int e = find_dir(r, args, &d, pe);

	(void)request_id;
	if (e == 0 && (e = userconf_read(&d, name, &f, &pe->ei)) < 0)
		return fail(pe, e);
	if (e < 0)
		return e;
	ocserv_version_or_unknown(r->oc, &v);
	*ret = json_pack("{s:o}", "config", config_json(&d, name, f, &v));
	userconf_free(f);
	return *ret ? 0 : err_set(&pe->ei, ERR_NOMEM, "out of memory rendering settings");
}

/* {config, created, changed}: PUT (replace) and PATCH. */
static int run_change(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	const char *name = priv_arg_str(args, "name");
	const json_t *settings = json_object_get(args, "settings");
	struct userconf *f = NULL;
	struct userconf_dir d;
	struct ocserv_version v;
	bool created = false, changed = false;
	int e;

	(void)request_id;
	ocserv_version_or_unknown(r->oc, &v);
	e = userconf_check_settings(settings, &v, pe->ei.detail, sizeof(pe->ei.detail));
	if (e < 0)
		return fail(pe, e);
	if ((e = find_dir(r, args, &d, pe)) < 0)
		return e;
	e = userconf_change(&d, name, settings, priv_arg_bool(args, "replace", false), &v, &f,
			    &created, &changed, &pe->ei);
	if (e < 0)
		return fail(pe, e);
	*ret = json_pack("{s:o,s:b,s:b}", "config", config_json(&d, name, f, &v), "created",
			 created, "changed", changed);
	userconf_free(f);
	return *ret ? 0 : err_set(&pe->ei, ERR_NOMEM, "out of memory rendering settings");
}

/* {} */
static int run_delete(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	struct userconf_dir d;
	int e = find_dir(r, args, &d, pe);

	(void)request_id;
	if (e == 0 && (e = userconf_delete(&d, priv_arg_str(args, "name"), &pe->ei)) < 0)
		return fail(pe, e);
	if (e == 0)
		*ret = json_object();
	return e;
}

/* userconf.list    {kind} → {names}
 * userconf.get     {kind, name} → {config: {kind, name, path, settings, issues}}
 * userconf.change  {kind, name, settings, replace} → {config, created, changed}
 * userconf.delete  {kind, name} → {}
 * kind: "user" or "group". */
#define KIND                                                                         \
	{                                                                            \
		.name = "kind", .kind = PRIV_ARG_STRING, .required = true, .max = 5, \
		.check = check_kind                                                  \
	}
#define NAME                                                               \
	{                                                                  \
		.name = "name", .kind = PRIV_ARG_STRING, .required = true, \
		.max = USERCONF_NAME_MAX, .check = userconf_check_name     \
	}

static const struct priv_arg list_args[] = {KIND, {0}};
static const struct priv_arg name_args[] = {KIND, NAME, {0}};
/* settings: checked by userconf_check_settings() in run_change(). */
static const struct priv_arg change_args[] = {
	KIND,
	NAME,
	{.name = "settings", .kind = PRIV_ARG_OBJECT, .required = true},
	{.name = "replace", .kind = PRIV_ARG_BOOL, .required = true},
	{0},
};

const struct priv_op_def priv_ops_userconf[] = {
	{PRIV_USERCONF_LIST, "userconf.list", list_args, run_list},
	{PRIV_USERCONF_GET, "userconf.get", name_args, run_get},
	{PRIV_USERCONF_CHANGE, "userconf.change", change_args, run_change},
	{PRIV_USERCONF_DELETE, "userconf.delete", name_args, run_delete},
	{.op = PRIV_OP_NONE},
};
