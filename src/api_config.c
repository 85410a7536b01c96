/* GET|PATCH /ocserv/config, GET /ocserv/config/schema and the backups:
 * ocserv's main configuration file, read (redacted) and changed safely
 * (conf_change.h does the whole validate → check → backup → write → apply
 * → verify → rollback sequence; this file only speaks HTTP). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "conf_backup.h"
#include "conf_change.h"
#include "conf_schema.h"
#include "conf_view.h"
#include "timefmt.h"

static int read_conf(struct agent *ag, char **text, size_t *len, struct api_reply *rp)
{
	int r = conf_change_read(ag->cfg->ocserv_conf_path, text, len, &rp->ei);

	if (r == ERR_CONFLICT)
		return api_fail(rp, r, "ocserv.conf (%s) does not exist or is not a regular file",
				ag->cfg->ocserv_conf_path);
	return r;
}

static int handle_get(struct agent *ag, const struct http_request *rq,
		      const struct api_params *params, struct api_reply *rp)
{
	const char *raw = http_request_query(rq, "raw");
	struct ocserv_version v;
	char *text = NULL;
	size_t len;
	json_t *conf;
	int r;

	(void)params;
	if (raw != NULL && strcmp(raw, "true") != 0 && strcmp(raw, "false") != 0)
		return api_fail(rp, ERR_BAD_REQUEST, "raw must be true or false");
	if ((r = read_conf(ag, &text, &len, rp)) < 0)
		return r;
	ocserv_version_or_unknown(ag->oc, &v);
	conf = raw && strcmp(raw, "true") == 0
		       ? conf_view_raw_json(ag->cfg->ocserv_conf_path, text, len)
		       : conf_view_json(ag->cfg->ocserv_conf_path, text, len, &v);
	conf_etag(text, len, rp->etag);
	free(text);
	if (conf == NULL)
		return err_set(&rp->ei, ERR_NOMEM, "out of memory rendering ocserv.conf");
	rp->body = json_pack("{s:b,s:o}", "ok", 1, "config", conf);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
}

static int handle_schema(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	struct ocserv_version v;
	json_t *schema;

	(void)rq;
	(void)params;
	ocserv_version_or_unknown(ag->oc, &v);
	if ((schema = conf_schema_json(&v)) == NULL)
		return err_set(&rp->ei, ERR_NOMEM, "out of memory rendering the schema");
	rp->body = json_pack("{s:b,s:I,s:o}", "ok", 1, "count",
			     (json_int_t)json_array_size(json_object_get(schema, "keys")), "schema",
			     schema);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
}

/* ---- changes ---- */

/* The body's members: only those named in allowed, each of its type. */
static int parse_change(const json_t *body, bool restore, struct conf_request *cr,
			struct api_reply *rp)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)body, key, val)
	{
		if (!restore && strcmp(key, "set") == 0 && json_is_object(val))
			cr->set = val;
		else if (!restore && strcmp(key, "unset") == 0 && json_is_array(val))
			cr->unset = val;
		else if (!restore && strcmp(key, "vhost") == 0 && json_is_string(val))
			cr->vhost = json_string_value(val);
		else if (strcmp(key, "dryRun") == 0 && json_is_boolean(val))
			cr->dry_run = json_is_true(val);
		else if (strcmp(key, "apply") == 0 && json_is_string(val) &&
			 conf_apply_parse(json_string_value(val)) >= 0)
			cr->apply = (enum conf_apply)conf_apply_parse(json_string_value(val));
		else if (strcmp(key, "set") == 0 || strcmp(key, "unset") == 0 ||
			 strcmp(key, "vhost") == 0 || strcmp(key, "dryRun") == 0 ||
			 strcmp(key, "apply") == 0)
			return api_fail(
				rp, ERR_BAD_REQUEST, "%s has the wrong type or value%s", key,
				strcmp(key, "apply") == 0 ? ": \"none\", \"reload\" or \"restart\""
							  : "");
		else
			return api_fail(rp, ERR_BAD_REQUEST, "unknown member \"%.64s\"%s", key,
					restore ? ": a restore takes apply and dryRun only"
						: ": use set, unset, vhost, dryRun, apply");
	}
	return 0;
}

static int set_opt(json_t *o, const char *key, json_t *v)
{
	return v == NULL ? 0 : json_object_set(o, key, v);
}

/* The members of the answer (success) or of the error envelope. */
static json_t *outcome_json(const struct conf_outcome *out, const struct conf_request *cr, int r)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (json_array_size(out->steps) > 0)
		json_object_set(o, "steps", out->steps);
	if (r == ERR_BAD_REQUEST && json_array_size(out->problems) > 0)
		json_object_set(o, "problems", out->problems);
	if (out->check_output != NULL)
		json_object_set_new(o, "checkOutput", json_string(out->check_output));
	if (r == ERR_RESTART_REQUIRED || r == 0)
		json_object_set(o, "restartRequired", out->restart_keys);
	if (out->failed_step[0] != '\0')
		json_object_set_new(o, "failedStep", json_string(out->failed_step));
	if (out->backup_id[0] != '\0')
		json_object_set_new(o, "backupId", json_string(out->backup_id));
	if (out->etag[0] != '\0')
		json_object_set_new(o, "etag", json_string(out->etag));
	if (r != 0)
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

static int run_change(struct agent *ag, const struct http_request *rq, struct conf_request *cr,
		      struct api_reply *rp)
{
	struct conf_env env = {.cfg = ag->cfg, .oc = ag->oc};
	struct conf_outcome out;
	int r;

	if (rq->if_match_invalid)
		return api_fail(rp, ERR_BAD_REQUEST, "If-Match is longer than %d bytes",
				HTTP_MAX_IF_MATCH);
	cr->if_match = rq->if_match;
	cr->request_id = rq->id;
	r = conf_change_run(&env, cr, &out, &rp->ei);
	rp->body = outcome_json(&out, cr, r);
	if (out.etag[0] != '\0')
		memcpy(rp->etag, out.etag, sizeof(out.etag));
	if (r < 0 && out.message[0] != '\0')
		api_fail(rp, r, "%s", out.message);
	conf_outcome_free(&out);
	if (r == 0 && rp->body == NULL)
		return err_set(&rp->ei, ERR_NOMEM, "out of memory rendering the outcome");
	return r;
}

static int handle_patch(struct agent *ag, const struct http_request *rq,
			const struct api_params *params, struct api_reply *rp)
{
	struct conf_request cr = {.apply = CONF_APPLY_RELOAD};
	json_t *body = NULL;
	int r;

	(void)params;
	if ((r = api_body_object(rq, &body, rp)) < 0)
		return r;
	if ((r = parse_change(body, false, &cr, rp)) == 0)
		r = run_change(ag, rq, &cr, rp);
	json_decref(body);
	return r;
}

/* ---- backups ---- */

static json_t *backup_json(const struct conf_backup *b)
{
	char when[32];

	timefmt_epoch_iso8601(b->created, when, sizeof(when));
	return json_pack("{s:s,s:s,s:I,s:I}", "id", b->id, "created", when, "createdEpoch",
			 (json_int_t)b->created, "size", (json_int_t)b->size);
}

static int handle_backups(struct agent *ag, const struct http_request *rq,
			  const struct api_params *params, struct api_reply *rp)
{
	struct conf_backup *list = NULL;
	size_t n = 0;
	json_t *a;
	int r;

	(void)rq;
	(void)params;
	if ((r = conf_backup_list(ag->cfg->conf_backup_dir, &list, &n, &rp->ei)) < 0)
		return r;
	a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, backup_json(&list[i]));
	free(list);
	rp->body = json_pack("{s:b,s:o,s:I}", "ok", 1, "backups", a, "count", (json_int_t)n);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
}

static int check_id(const char *id, struct api_reply *rp)
{
	const char *why = conf_backup_check_id(id);

	return why ? api_fail(rp, ERR_BAD_REQUEST, "invalid backup id: %s", why) : 0;
}

/* The backup's metadata from the list (its creation time and size). */
static int find_backup(struct agent *ag, const char *id, struct conf_backup *ret,
		       struct api_reply *rp)
{
	struct conf_backup *list = NULL;
	size_t n = 0;
	int r = conf_backup_list(ag->cfg->conf_backup_dir, &list, &n, &rp->ei);

	for (size_t i = 0; r == 0 && i < n; i++)
		if (strcmp(list[i].id, id) == 0) {
			*ret = list[i];
			free(list);
			return 0;
		}
	free(list);
	return r < 0 ? r : api_fail(rp, ERR_NOT_FOUND, "no backup %s", id);
}

static int handle_backup(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	const char *id = params->v[0];
	struct conf_backup b;
	char *old = NULL, *cur = NULL, *d = NULL, label[CONF_BACKUP_ID_LEN + 16];
	size_t old_len, cur_len;
	json_t *o;
	int r;

	(void)rq;
	if ((r = check_id(id, rp)) < 0 || (r = find_backup(ag, id, &b, rp)) < 0)
		return r;
	r = conf_backup_read(ag->cfg->conf_backup_dir, id, CONF_CHANGE_MAX, &old, &old_len,
			     &rp->ei);
	if (r == ERR_NOT_FOUND)
		return api_fail(rp, r, "no backup %s", id);
	if (r == 0)
		r = read_conf(ag, &cur, &cur_len, rp);
	snprintf(label, sizeof(label), "backup/%.23s", id);
	if (r == 0 && (d = conf_view_diff(old, old_len, cur, cur_len, label,
					  ag->cfg->ocserv_conf_path)) == NULL)
		r = err_set(&rp->ei, ERR_NOMEM, "out of memory");
	if (r == 0) {
		o = backup_json(&b);
		json_object_set_new(
			o, "identical",
			json_boolean(old_len == cur_len && memcmp(old, cur, old_len) == 0));
		json_object_set_new(o, "diff", json_string(d));
		rp->body = json_pack("{s:b,s:o}", "ok", 1, "backup", o);
		conf_etag(cur, cur_len, rp->etag);
	}
	free(old);
	free(cur);
	free(d);
	if (r == 0 && rp->body == NULL)
		r = err_set(&rp->ei, ERR_NOMEM, "out of memory");
	return r;
}

static int handle_restore(struct agent *ag, const struct http_request *rq,
			  const struct api_params *params, struct api_reply *rp)
{
	struct conf_request cr = {.apply = CONF_APPLY_RELOAD, .restore_id = params->v[0]};
	json_t *body = NULL;
	int r;

	if ((r = check_id(params->v[0], rp)) < 0)
		return r;
	if (rq->body_len > 0) {
		if ((r = api_body_object(rq, &body, rp)) < 0)
			return r;
		r = parse_change(body, true, &cr, rp);
	}
	if (r == 0)
		r = run_change(ag, rq, &cr, rp);
	json_decref(body);
	return r;
}

const struct api_route api_route_config_get = {"GET", "/ocserv/config", handle_get};
const struct api_route api_route_config_patch = {"PATCH", "/ocserv/config", handle_patch};
const struct api_route api_route_config_schema = {"GET", "/ocserv/config/schema", handle_schema};
const struct api_route api_route_config_backups = {"GET", "/ocserv/config/backups", handle_backups};
const struct api_route api_route_config_backup = {"GET", "/ocserv/config/backups/{}",
						  handle_backup};
const struct api_route api_route_config_restore = {"POST", "/ocserv/config/backups/{}/restore",
						   handle_restore};
