/* GET|PATCH /ocserv/config, GET /ocserv/config/schema and the backups:
 * ocserv's main configuration file, read (redacted) and changed safely
 * (conf_change.h does the whole validate → check → backup → write → apply
 * → verify → rollback sequence on the root side of the privilege boundary,
 * priv_ops_config.c; this file only speaks HTTP). */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "conf_backup.h"
#include "conf_change.h"
#include "conf_schema.h"

/* An ETag the root side computed (its key lives there: conf_view.h). */
static void copy_etag(const json_t *o, struct api_reply *rp)
{
	const char *etag = json_string_value(json_object_get(o, "etag"));

	if (etag != NULL)
		snprintf(rp->etag, sizeof(rp->etag), "%s", etag);
}

/* The view and the raw text come redacted from the root side. */
static int handle_get(struct agent *ag, const struct http_request *rq,
		      const struct api_params *params, struct api_reply *rp)
{
	const char *raw = http_request_query(rq, "raw");
	json_t *res = NULL;
	int r;

	(void)params;
	if (raw != NULL && strcmp(raw, "true") != 0 && strcmp(raw, "false") != 0)
		return api_fail(rp, ERR_BAD_REQUEST, "raw must be true or false");
	r = api_priv(ag, rq, PRIV_CONFIG_GET,
		     json_pack("{s:b}", "raw", raw != NULL && strcmp(raw, "true") == 0), &res, rp);
	if (r < 0)
		return r;
	copy_etag(res, rp);
	rp->body = json_pack("{s:b,s:O}", "ok", 1, "config", json_object_get(res, "config"));
	json_decref(res);
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

/* An ETag is printable ASCII: an If-Match with any other byte cannot match
 * one, and goes across as "", which matches nothing either (412, as
 * before), instead of bytes a JSON string cannot hold. */
static const char *if_match_arg(const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return "";
	return s;
}

/* The request as the root side takes it (priv_ops_config.c), which
 * validates it again and runs conf_change_run(). */
static json_t *change_args(const struct http_request *rq, const struct conf_request *cr)
{
	json_t *a =
		json_pack("{s:b,s:s}", "dryRun", cr->dry_run, "apply", conf_apply_name(cr->apply));

	if (a == NULL)
		return NULL;
	if ((cr->set != NULL && json_object_set(a, "set", (json_t *)cr->set) < 0) ||
	    (cr->unset != NULL && json_object_set(a, "unset", (json_t *)cr->unset) < 0) ||
	    (cr->vhost != NULL && json_object_set_new(a, "vhost", json_string(cr->vhost)) < 0) ||
	    (cr->restore_id != NULL &&
	     json_object_set_new(a, "restoreId", json_string(cr->restore_id)) < 0) ||
	    (rq->if_match != NULL &&
	     json_object_set_new(a, "ifMatch", json_string(if_match_arg(rq->if_match))) < 0)) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* The outcome is the answer; a failed one's members (steps, problems,
 * etag, ...) come back as the error's extra members. */
static int run_change(struct agent *ag, const struct http_request *rq, struct conf_request *cr,
		      struct api_reply *rp)
{
	json_t *res = NULL;
	int r;

	if (rq->if_match_invalid)
		return api_fail(rp, ERR_BAD_REQUEST, "If-Match is longer than %d bytes",
				HTTP_MAX_IF_MATCH);
	r = api_priv(ag, rq, PRIV_CONFIG_CHANGE, change_args(rq, cr), &res, rp);
	if (r == 0)
		rp->body = res;
	copy_etag(rp->body, rp);
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

static int handle_backups(struct agent *ag, const struct http_request *rq,
			  const struct api_params *params, struct api_reply *rp)
{
	json_t *res = NULL;
	int r;

	(void)params;
	if ((r = api_priv(ag, rq, PRIV_CONFIG_BACKUPS, json_object(), &res, rp)) < 0)
		return r;
	rp->body = json_pack("{s:b,s:O,s:O}", "ok", 1, "backups", json_object_get(res, "backups"),
			     "count", json_object_get(res, "count"));
	json_decref(res);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
}

static int check_id(const char *id, struct api_reply *rp)
{
	const char *why = conf_backup_check_id(id);

	return why ? api_fail(rp, ERR_BAD_REQUEST, "invalid backup id: %s", why) : 0;
}

/* The backup and its diff to the current file, redacted by the root side. */
static int handle_backup(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	const char *id = params->v[0];
	json_t *res = NULL;
	int r;

	if ((r = check_id(id, rp)) < 0 ||
	    (r = api_priv(ag, rq, PRIV_CONFIG_BACKUP, json_pack("{s:s}", "id", id), &res, rp)) < 0)
		return r;
	copy_etag(res, rp);
	rp->body = json_pack("{s:b,s:O}", "ok", 1, "backup", json_object_get(res, "backup"));
	json_decref(res);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
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
