/* The root side of ocserv.conf (priv_ops.h): reading it (redacted), its
 * backups (diffs redacted), `ocserv -t`, and changes through
 * conf_change_run(). Every path comes from r->cfg; the arguments name
 * nothing but a backup id, which conf_backup_check_id() confines to the
 * backup directory. The ETag is computed here only: its key lives in this
 * process (conf_view.h), so the If-Match of a change is compared with the
 * same key that made the ETag the client read. */
#include <stdlib.h>
#include <string.h>

#include "conf_backup.h"
#include "conf_change.h"
#include "conf_check.h"
#include "conf_view.h"
#include "http_server.h"
#include "priv_ops.h"
#include "timefmt.h"
#include "utf8.h"

/* Bounds no client body (64 KiB) reaches: within them, conf_change_run()
 * refuses what is not a host name or a key with its own messages, which
 * clients already know. */
#define VHOST_ARG_MAX (64 * 1024)
#define SET_ITEMS_MAX (64 * 1024) /* keys in set, items in unset or in one value */

static int read_conf(struct priv_root *r, char **text, size_t *len, struct priv_error *pe)
{
	int e = conf_change_read(r->cfg->ocserv_conf_path, text, len, &pe->ei);

	if (e == ERR_CONFLICT)
		return priv_fail(pe, e, "ocserv.conf (%s) does not exist or is not a regular file",
				 r->cfg->ocserv_conf_path);
	return e;
}

/* ---- config.get: {raw?} → {config, etag} ---- */

static int run_get(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		   struct priv_error *pe)
{
	struct ocserv_version v;
	char etag[CONF_ETAG_LEN], *text = NULL;
	size_t len;
	json_t *conf;
	int e;

	(void)request_id;
	if ((e = read_conf(r, &text, &len, pe)) < 0)
		return e;
	ocserv_version_or_unknown(r->oc, &v);
	conf = priv_arg_bool(args, "raw", false)
		       ? conf_view_raw_json(r->cfg->ocserv_conf_path, text, len)
		       : conf_view_json(r->cfg->ocserv_conf_path, text, len, &v);
	conf_etag(text, len, etag);
	free(text);
	if (conf == NULL)
		return err_set(&pe->ei, ERR_NOMEM, "out of memory rendering ocserv.conf");
	*ret = json_pack("{s:o,s:s}", "config", conf, "etag", etag);
	return 0;
}

/* ---- config.backups: {} → {backups, count}; config.backup: {id} → {backup, etag} ---- */

static json_t *backup_json(const struct conf_backup *b)
{
	char when[32];

	timefmt_epoch_iso8601(b->created, when, sizeof(when));
	return json_pack("{s:s,s:s,s:I,s:I}", "id", b->id, "created", when, "createdEpoch",
			 (json_int_t)b->created, "size", (json_int_t)b->size);
}

static int run_backups(struct priv_root *r, const char *request_id, const json_t *args,
		       json_t **ret, struct priv_error *pe)
{
	struct conf_backup *list = NULL;
	size_t n = 0;
	json_t *a;
	int e;

	(void)request_id;
	(void)args;
	if ((e = conf_backup_list(r->cfg->conf_backup_dir, &list, &n, &pe->ei)) < 0)
		return e;
	a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, backup_json(&list[i]));
	free(list);
	*ret = json_pack("{s:o,s:I}", "backups", a, "count", (json_int_t)n);
	return 0;
}

/* The backup's metadata from the list (its creation time and size). */
static int find_backup(struct priv_root *r, const char *id, struct conf_backup *ret,
		       struct priv_error *pe)
{
	struct conf_backup *list = NULL;
	size_t n = 0;
	int e = conf_backup_list(r->cfg->conf_backup_dir, &list, &n, &pe->ei);

	for (size_t i = 0; e == 0 && i < n; i++)
		if (strcmp(list[i].id, id) == 0) {
			*ret = list[i];
			free(list);
			return 0;
		}
	free(list);
	return e < 0 ? e : priv_fail(pe, ERR_NOT_FOUND, "no backup %s", id);
}

/* The backup against the current file: its metadata, whether they are
 * identical and the redacted diff. */
static json_t *backup_detail(const struct conf_backup *b, const char *old, size_t old_len,
			     const char *cur, size_t cur_len, const char *path)
{
	char label[CONF_BACKUP_ID_LEN + 16], *d;
	json_t *o;

	snprintf(label, sizeof(label), "backup/%.23s", b->id);
	if ((d = conf_view_diff(old, old_len, cur, cur_len, label, path)) == NULL)
		return NULL;
	o = backup_json(b);
	json_object_set_new(o, "identical",
			    json_boolean(old_len == cur_len && memcmp(old, cur, old_len) == 0));
	json_object_set_new(o, "diff", json_string(d));
	free(d);
	return o;
}

static int run_backup(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	const char *id = priv_arg_str(args, "id");
	char etag[CONF_ETAG_LEN], *old = NULL, *cur = NULL;
	size_t old_len = 0, cur_len = 0;
	struct conf_backup b;
	json_t *o = NULL;
	int e;

	(void)request_id;
	if ((e = find_backup(r, id, &b, pe)) < 0)
		return e;
	e = conf_backup_read(r->cfg->conf_backup_dir, id, CONF_CHANGE_MAX, &old, &old_len, &pe->ei);
	if (e == ERR_NOT_FOUND)
		e = priv_fail(pe, e, "no backup %s", id);
	if (e == 0)
		e = read_conf(r, &cur, &cur_len, pe);
	if (e == 0 &&
	    (o = backup_detail(&b, old, old_len, cur, cur_len, r->cfg->ocserv_conf_path)) == NULL)
		e = err_set(&pe->ei, ERR_NOMEM, "out of memory");
	if (e == 0) {
		conf_etag(cur, cur_len, etag);
		*ret = json_pack("{s:o,s:s}", "backup", o, "etag", etag);
	}
	free(old);
	free(cur);
	return e;
}

/* ---- config.check: {} → {passed, summary, output (null when none)} ---- */

/* A verdict (passed or refused) is a result; only a checker that could not
 * give one (ERR_CHECK_FAILED) is an error: each caller words the refusal
 * for its own endpoint. */
static int run_check(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		     struct priv_error *pe)
{
	struct conf_check_result res = {0};
	char summary[160];
	int e = conf_check_run(r->cfg, &res, &pe->ei);

	(void)request_id;
	(void)args;
	if (e == 0 || e == ERR_CONFIG_INVALID) {
		*ret = json_pack(
			"{s:b,s:o,s:o}", "passed", e == 0, "summary",
			utf8_json_string(conf_check_summary(&res, summary, sizeof(summary))),
			"output", utf8_json_string(res.output));
		e = 0;
	}
	conf_check_result_free(&res);
	return e;
}

/* ---- config.change ---- */

static bool nul_free(const json_t *s)
{
	return json_is_string(s) && strlen(json_string_value(s)) == json_string_length(s);
}

/* conf_change_run() reads keys and values as C strings: a NUL inside would
 * cut them where the schema did not look. Our api code cannot produce one
 * (its JSON parser refuses \u0000); refuse it here whoever sent it. Other
 * types and bad names are conf_change_run()'s to report as problems. */
static const char *check_strings(const json_t *a, const char *what)
{
	json_t *item;
	size_t i;

	if (json_array_size(a) > SET_ITEMS_MAX)
		return "has too many items";
	json_array_foreach(a, i, item)
	{
		if (json_is_string(item) && !nul_free(item))
			return what;
	}
	return NULL;
}

static const char *check_set(const json_t *set)
{
	const char *key, *why;
	size_t key_len;
	json_t *v;

	if (json_object_size(set) > SET_ITEMS_MAX)
		return "has too many keys";
	json_object_keylen_foreach((json_t *)set, key, key_len, v)
	{
		if (strlen(key) != key_len)
			return "a key contains a NUL byte";
		if (json_is_string(v) && !nul_free(v))
			return "a value contains a NUL byte";
		if ((why = check_strings(v, "a value contains a NUL byte")) != NULL)
			return why;
	}
	return NULL;
}

static const char *check_apply(const char *s)
{
	return conf_apply_parse(s) < 0 ? "must be \"none\", \"reload\" or \"restart\"" : NULL;
}

/* An If-Match is compared with an ETag, never parsed: printable ASCII, as
 * every ETag is (the api side sends "" for anything else). */
static const char *check_if_match(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return "is not printable ASCII";
	return NULL;
}

static int set_opt(json_t *o, const char *key, json_t *v)
{
	return v == NULL ? 0 : json_object_set(o, key, v);
}

/* The members of the answer (success) or of the error envelope, as the
 * API sends them. */
static json_t *outcome_json(const struct conf_outcome *out, const struct conf_request *cr, int e)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (json_array_size(out->steps) > 0)
		json_object_set(o, "steps", out->steps);
	if (e == ERR_BAD_REQUEST && json_array_size(out->problems) > 0)
		json_object_set(o, "problems", out->problems);
	if (out->check_output != NULL)
		json_object_set_new(o, "checkOutput", json_string(out->check_output));
	if (e == ERR_RESTART_REQUIRED || e == 0)
		json_object_set(o, "restartRequired", out->restart_keys);
	if (out->failed_step[0] != '\0')
		json_object_set_new(o, "failedStep", json_string(out->failed_step));
	if (out->backup_id[0] != '\0')
		json_object_set_new(o, "backupId", json_string(out->backup_id));
	if (out->etag[0] != '\0')
		json_object_set_new(o, "etag", json_string(out->etag));
	if (e != 0)
		return o;
	json_object_set_new(o, "ok", json_true());
	json_object_set(o, "changed", out->changed);
	json_object_set_new(o, "dryRun", json_boolean(cr->dry_run));
	json_object_set_new(o, "applied", json_string(conf_apply_name(out->applied)));
	if (!cr->dry_run)
		json_object_set_new(o, "previousEtag", json_string(out->previous_etag));
	if (out->diff != NULL)
		json_object_set_new(o, "diff", json_string(out->diff));
	if (cr->dry_run)
		json_object_set_new(o, "problems", json_array());
	set_opt(o, "config", out->config);
	return o;
}

/* {set?, unset?, vhost?, restoreId?, ifMatch?, dryRun?, apply} → the
 * outcome ({ok:true, changed, ...}); on failure the same members go into
 * pe->extra with the outcome's message. */
static int run_change(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	const json_t *set = json_object_get(args, "set"), *unset = json_object_get(args, "unset");
	struct conf_env env = {.cfg = r->cfg, .oc = r->oc};
	struct conf_request cr = {
		.set = set,
		.unset = unset,
		.vhost = priv_arg_str(args, "vhost"),
		.restore_id = priv_arg_str(args, "restoreId"),
		.if_match = priv_arg_str(args, "ifMatch"),
		.dry_run = priv_arg_bool(args, "dryRun", false),
		.apply = (enum conf_apply)conf_apply_parse(priv_arg_str(args, "apply")),
		.request_id = request_id,
	};
	const char *why = NULL;
	struct conf_outcome out;
	json_t *o;
	int e;

	if (set != NULL && (why = check_set(set)) != NULL)
		return priv_fail(pe, ERR_BAD_REQUEST, "set: %s", why);
	if (unset != NULL && (why = check_strings(unset, "a key contains a NUL byte")) != NULL)
		return priv_fail(pe, ERR_BAD_REQUEST, "unset: %s", why);
	if (cr.restore_id != NULL && (set != NULL || unset != NULL || cr.vhost != NULL))
		return priv_fail(pe, ERR_BAD_REQUEST, "a restore takes apply and dryRun only");
	e = conf_change_run(&env, &cr, &out, &pe->ei);
	o = outcome_json(&out, &cr, e);
	if (e < 0 && out.message[0] != '\0')
		priv_fail(pe, e, "%s", out.message);
	conf_outcome_free(&out);
	if (e == 0)
		*ret = o;
	else
		pe->extra = o;
	return e;
}

/* ---- the table ---- */

static const char *check_backup_id(const char *s)
{
	return conf_backup_check_id(s);
}

static const struct priv_arg args_none[] = {{.name = NULL}};

static const struct priv_arg args_get[] = {
	{.name = "raw", .kind = PRIV_ARG_BOOL},
	{.name = NULL},
};

static const struct priv_arg args_backup[] = {
	{.name = "id",
	 .kind = PRIV_ARG_STRING,
	 .required = true,
	 .max = CONF_BACKUP_ID_LEN - 1,
	 .check = check_backup_id},
	{.name = NULL},
};

static const struct priv_arg args_change[] = {
	{.name = "set", .kind = PRIV_ARG_OBJECT},
	{.name = "unset", .kind = PRIV_ARG_ARRAY, .max = SET_ITEMS_MAX},
	{.name = "vhost", .kind = PRIV_ARG_STRING, .max = VHOST_ARG_MAX},
	{.name = "restoreId",
	 .kind = PRIV_ARG_STRING,
	 .max = CONF_BACKUP_ID_LEN - 1,
	 .check = check_backup_id},
	{.name = "ifMatch",
	 .kind = PRIV_ARG_STRING,
	 .max = HTTP_MAX_IF_MATCH,
	 .check = check_if_match},
	{.name = "dryRun", .kind = PRIV_ARG_BOOL},
	{.name = "apply",
	 .kind = PRIV_ARG_STRING,
	 .required = true,
	 .max = 16,
	 .check = check_apply},
	{.name = NULL},
};

const struct priv_op_def priv_ops_config[] = {
	{PRIV_CONFIG_GET, "config.get", args_get, run_get},
	{PRIV_CONFIG_CHANGE, "config.change", args_change, run_change},
	{PRIV_CONFIG_BACKUPS, "config.backups", args_none, run_backups},
	{PRIV_CONFIG_BACKUP, "config.backup", args_backup, run_backup},
	{PRIV_CONFIG_CHECK, "config.check", args_none, run_check},
	{.op = PRIV_OP_NONE},
};
