/* The accounts operations of the privilege boundary (priv_ops.h): the file
 * work of /ocserv/accounts on the ocpasswd file of r->accounts (the api
 * side never names a path). The table's checks re-validate every name,
 * group and password with ocpasswd.h's validators; accounts.h checks them
 * again and checks imported hashes (ocpasswd_import_check).
 *
 * Results never carry a password hash, with one exception: accounts.export
 * returns the file as it is, because that is what GET
 * /ocserv/accounts/export is for (an authenticated admin operation). */
#include <stdlib.h>
#include <string.h>

#include "priv_ops.h"
#include "utf8.h"

#define GROUPS_MAX 256 /* more than ocserv's 510-byte line could hold */
/* The largest body AGENT_MAX_BODY_BYTES allows; the configured limit is
 * checked in run_import. */
#define IMPORT_TEXT_MAX (4u << 20)

/* ---- results ---- */

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* {username, groups, locked, hashScheme}, as the API shows an account; NULL
 * when a name is not UTF-8 (as before the boundary existed) or on ENOMEM. */
static json_t *account_json(const struct account *a)
{
	json_t *groups = json_array();

	for (size_t i = 0; groups != NULL && i < a->groups.n; i++)
		json_array_append_new(groups, str_or_null(a->groups.v[i]));
	return json_pack("{s:o,s:o,s:b,s:o}", "username", str_or_null(a->username), "groups",
			 groups, "locked", a->locked, "hashScheme", str_or_null(a->scheme));
}

/* {"account": ...} of l's first account; frees l. */
static int reply_account(struct account_list *l, json_t **ret, struct priv_error *pe)
{
	*ret = json_pack("{s:o}", "account", account_json(&l->v[0]));
	account_list_free(l);
	return *ret ? 0 : err_set(&pe->ei, ERR_NOMEM, "out of memory rendering an account");
}

/* accounts.h's errors: its ERR_BAD_REQUEST and ERR_CONFLICT reasons are
 * client-safe; a missing account is named (user was checked); the rest
 * keep their code's default message, detail in pe->ei for the log. */
static int fail(struct priv_error *pe, int e, const char *user)
{
	if (e == ERR_NOT_FOUND && user != NULL)
		return priv_fail(pe, e, "no account %s", user);
	if (e == ERR_BAD_REQUEST || e == ERR_CONFLICT)
		return priv_fail(pe, e, "%s", pe->ei.detail);
	return e;
}

/* ---- arguments ---- */

/* The groups member (absent: *given false) into g, every item checked. An
 * item that is not a string was not sent by our api code: a shape error. */
static int arg_groups(const json_t *args, struct strv *g, bool *given, struct priv_error *pe)
{
	const json_t *a = json_object_get(args, "groups"), *e;
	size_t i;

	*given = a != NULL;
	json_array_foreach(a, i, e)
	{
		const char *why;

		if (!json_is_string(e))
			return err_set(&pe->ei, ERR_PRIV_PROTOCOL,
				       "groups: item %zu is not a string", i);
		if (strlen(json_string_value(e)) != json_string_length(e))
			why = "contains a NUL byte";
		else
			why = ocpasswd_check_group(json_string_value(e));
		if (why != NULL) {
			err_set(&pe->ei, ERR_BAD_REQUEST, "group %zu: %s", i, why);
			return priv_fail(pe, ERR_BAD_REQUEST, "group %zu: %s", i, why);
		}
		if (strv_add(g, json_string_value(e)) < 0)
			return err_set(&pe->ei, ERR_NOMEM, "out of memory for the groups");
	}
	return 0;
}

/* The checked password member copied into buf (accounts.h wipes it, the
 * caller wipes buf again), or NULL when absent. */
static char *arg_password(const json_t *args, char buf[OCPASSWD_PASSWORD_MAX + 1])
{
	const json_t *p = json_object_get(args, "password");

	if (p == NULL)
		return NULL;
	memcpy(buf, json_string_value(p), json_string_length(p) + 1);
	return buf;
}

/* ---- operations ---- */

static int run_list(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		    struct priv_error *pe)
{
	struct account_list *l = NULL;
	json_t *a;
	int e = accounts_list(&r->accounts, &l, &pe->ei);

	(void)request_id, (void)args;
	if (e < 0)
		return fail(pe, e, NULL);
	a = json_array();
	/* An account whose name is not UTF-8 cannot be shown: left out. */
	for (size_t i = 0; a != NULL && i < l->n; i++)
		json_array_append_new(a, account_json(&l->v[i]));
	account_list_free(l);
	*ret = json_pack("{s:o}", "accounts", a);
	return *ret ? 0 : err_set(&pe->ei, ERR_NOMEM, "out of memory rendering accounts");
}

static int run_get(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		   struct priv_error *pe)
{
	const char *user = priv_arg_str(args, "username");
	struct account_list *l = NULL;
	int e = accounts_get(&r->accounts, user, &l, &pe->ei);

	(void)request_id;
	return e < 0 ? fail(pe, e, user) : reply_account(l, ret, pe);
}

static int run_put(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		   struct priv_error *pe)
{
	const char *user = priv_arg_str(args, "username");
	char pw[OCPASSWD_PASSWORD_MAX + 1];
	struct strv groups = {0};
	struct account_list *l = NULL;
	bool given, created = false;
	int e = arg_groups(args, &groups, &given, pe);

	(void)request_id;
	if (e == 0)
		e = accounts_put(&r->accounts, user, arg_password(args, pw), &groups, &created, &l,
				 &pe->ei);
	explicit_bzero(pw, sizeof(pw));
	strv_free(&groups);
	if (e < 0)
		return fail(pe, e, user);
	if ((e = reply_account(l, ret, pe)) == 0 &&
	    json_object_set_new(*ret, "created", json_boolean(created)) < 0) {
		json_decref(*ret);
		*ret = NULL;
		e = err_set(&pe->ei, ERR_NOMEM, "out of memory rendering an account");
	}
	return e;
}

static int run_patch(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		     struct priv_error *pe)
{
	const char *user = priv_arg_str(args, "username");
	char pw[OCPASSWD_PASSWORD_MAX + 1];
	struct strv groups = {0};
	struct account_list *l = NULL;
	char *password = arg_password(args, pw);
	bool given;
	int e = arg_groups(args, &groups, &given, pe);

	(void)request_id;
	if (e == 0 && password == NULL && !given) {
		err_set(&pe->ei, ERR_BAD_REQUEST, "accounts.patch: nothing to change");
		e = priv_fail(pe, ERR_BAD_REQUEST,
			      "nothing to change: give password and/or groups");
	}
	if (e == 0)
		e = fail(pe,
			 accounts_patch(&r->accounts, user, password, given ? &groups : NULL, &l,
					&pe->ei),
			 user);
	explicit_bzero(pw, sizeof(pw));
	strv_free(&groups);
	return e < 0 ? e : reply_account(l, ret, pe);
}

static int run_delete(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	const char *user = priv_arg_str(args, "username");
	int e = accounts_delete(&r->accounts, user, &pe->ei);

	(void)request_id;
	if (e < 0)
		return fail(pe, e, user);
	*ret = json_object();
	return 0;
}

static int run_lock(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		    struct priv_error *pe)
{
	const char *user = priv_arg_str(args, "username");
	struct account_list *l = NULL;
	int e = accounts_lock(&r->accounts, user, priv_arg_bool(args, "lock", true), &l, &pe->ei);

	(void)request_id;
	return e < 0 ? fail(pe, e, user) : reply_account(l, ret, pe);
}

/* {"content": the file's text}: with its hashes (see the top). */
static int run_export(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	char *text = NULL;
	size_t len = 0;
	int e = accounts_export(&r->accounts, &text, &len, &pe->ei);

	(void)request_id, (void)args;
	if (e < 0)
		return fail(pe, e, NULL);
	if (!utf8_valid((const unsigned char *)text, len)) {
		err_set(&pe->ei, ERR_CONFLICT, "the password file is not UTF-8 text");
		e = priv_fail(pe, ERR_CONFLICT,
			      "the file is not valid UTF-8 text and cannot be exported as JSON");
	} else if ((*ret = json_pack("{s:s%}", "content", text, len)) == NULL) {
		e = err_set(&pe->ei, ERR_NOMEM, "out of memory exporting the password file");
	}
	explicit_bzero(text, len);
	free(text);
	return e;
}

static const char *const action_names[] = {
	[IMPORT_ADD] = "add",
	[IMPORT_UPDATE] = "update",
	[IMPORT_DELETE] = "delete",
	[IMPORT_UNCHANGED] = "unchanged",
};

/* {changes: [{username, action}], added, updated, deleted, unchanged, skipped} */
static json_t *import_json(const struct import_report *rep)
{
	json_int_t counts[4] = {0};
	json_t *changes = json_array();

	for (size_t i = 0; changes != NULL && i < rep->n; i++) {
		counts[rep->v[i].action]++;
		json_array_append_new(changes, json_pack("{s:o,s:s}", "username",
							 str_or_null(rep->v[i].username), "action",
							 action_names[rep->v[i].action]));
	}
	return json_pack("{s:o,s:I,s:I,s:I,s:I,s:I}", "changes", changes, "added",
			 counts[IMPORT_ADD], "updated", counts[IMPORT_UPDATE], "deleted",
			 counts[IMPORT_DELETE], "unchanged", counts[IMPORT_UNCHANGED], "skipped",
			 (json_int_t)rep->skipped);
}

static int run_import(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	const json_t *content = json_object_get(args, "content");
	struct import_report rep = {0};
	int e;

	(void)request_id;
	if (json_string_length(content) > r->cfg->max_body_bytes)
		return priv_fail(pe, ERR_BAD_REQUEST, "content: is too long");
	e = accounts_import(&r->accounts, json_string_value(content), json_string_length(content),
			    priv_arg_bool(args, "replace", false),
			    priv_arg_bool(args, "dryRun", true), &rep, &pe->ei);
	if (e == 0 && (*ret = import_json(&rep)) == NULL)
		e = err_set(&pe->ei, ERR_NOMEM, "out of memory rendering an import");
	import_report_free(&rep);
	return e < 0 ? fail(pe, e, NULL) : 0;
}

/* ---- the table ----
 *
 * accounts.list    {} → {accounts: [account]}
 * accounts.get     {username} → {account}
 * accounts.put     {username, password, groups?} → {account, created}
 * accounts.patch   {username, password?, groups?} (one at least) → {account}
 * accounts.delete  {username} → {}
 * accounts.lock    {username, lock} → {account}
 * accounts.export  {} → {content}: the file, hashes included
 * accounts.import  {content, replace, dryRun} → {changes: [{username,
 *                  action}], added, updated, deleted, unchanged, skipped}
 * account: {username, groups, locked, hashScheme}, as the API shows it. */

#define USERNAME(req)                                                           \
	{                                                                       \
		.name = "username", .kind = PRIV_ARG_STRING, .required = (req), \
		.max = OCPASSWD_NAME_MAX, .check = ocpasswd_check_name          \
	}
#define PASSWORD(req)                                                           \
	{                                                                       \
		.name = "password", .kind = PRIV_ARG_STRING, .required = (req), \
		.max = OCPASSWD_PASSWORD_MAX, .check = ocpasswd_check_password  \
	}
/* Items checked by arg_groups(). */
#define GROUPS                                                              \
	{                                                                   \
		.name = "groups", .kind = PRIV_ARG_ARRAY, .max = GROUPS_MAX \
	}

static const struct priv_arg no_args[] = {{0}};
static const struct priv_arg user_args[] = {USERNAME(true), {0}};
static const struct priv_arg put_args[] = {USERNAME(true), PASSWORD(true), GROUPS, {0}};
static const struct priv_arg patch_args[] = {USERNAME(true), PASSWORD(false), GROUPS, {0}};
static const struct priv_arg lock_args[] = {
	USERNAME(true),
	{.name = "lock", .kind = PRIV_ARG_BOOL, .required = true},
	{0},
};
/* content: checked line by line by accounts_import (ocpasswd_import_check). */
static const struct priv_arg import_args[] = {
	{.name = "content", .kind = PRIV_ARG_STRING, .required = true, .max = IMPORT_TEXT_MAX},
	{.name = "replace", .kind = PRIV_ARG_BOOL, .required = true},
	{.name = "dryRun", .kind = PRIV_ARG_BOOL, .required = true},
	{0},
};

const struct priv_op_def priv_ops_accounts[] = {
	{PRIV_ACCOUNTS_LIST, "accounts.list", no_args, run_list},
	{PRIV_ACCOUNTS_GET, "accounts.get", user_args, run_get},
	{PRIV_ACCOUNTS_PUT, "accounts.put", put_args, run_put},
	{PRIV_ACCOUNTS_PATCH, "accounts.patch", patch_args, run_patch},
	{PRIV_ACCOUNTS_DELETE, "accounts.delete", user_args, run_delete},
	{PRIV_ACCOUNTS_LOCK, "accounts.lock", lock_args, run_lock},
	{PRIV_ACCOUNTS_EXPORT, "accounts.export", no_args, run_export},
	{PRIV_ACCOUNTS_IMPORT, "accounts.import", import_args, run_import},
	{.op = PRIV_OP_NONE},
};
