/* POST /ocserv/reload: re-read ocserv's configuration, only after
 * `ocserv -t` passes (a reload with a broken file stops the VPN). Both the
 * check and the reload run on the root side of the privilege boundary. */
#include "api.h"
#include "log.h"

/* `ocserv -t` of the live file: 0 when it passed; ERR_CONFIG_INVALID with
 * the checker's output as checkOutput; ERR_CHECK_FAILED when it could not
 * run. */
static int check_config(struct agent *ag, const struct http_request *rq, struct api_reply *rp)
{
	json_t *res = NULL;
	int r = api_priv(ag, rq, PRIV_CONFIG_CHECK, json_object(), &res, rp);

	if (r == 0 && !json_is_true(json_object_get(res, "passed"))) {
		r = api_fail(rp, ERR_CONFIG_INVALID, "%s",
			     json_string_value(json_object_get(res, "summary")));
		rp->body = json_pack("{s:O}", "checkOutput", json_object_get(res, "output"));
	}
	json_decref(res);
	return r;
}

static int handle_reload(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	json_t *body = NULL;
	int r = 0;

	(void)params;
	/* No options yet; refuse what a caller might believe was honoured. */
	if (rq->body_len > 0 && (r = api_body_object(rq, &body, rp)) == 0 &&
	    json_object_size(body) > 0)
		r = api_fail(rp, ERR_BAD_REQUEST, "reload takes no options");
	json_decref(body);
	if (r < 0)
		return r;
	if ((r = check_config(ag, rq, rp)) == 0)
		r = ocserv_reload(ag->oc, &rp->ei);
	log_msg(LOG_NOTICE, rq->id, "audit op=reload conf=%s result=%s", ag->cfg->ocserv_conf_path,
		r == 0 ? "reloaded" : err_code(r));
	if (r == 0)
		rp->body = json_pack("{s:b,s:b}", "ok", 1, "reloaded", 1);
	return r;
}

const struct api_route api_route_reload = {"POST", "/ocserv/reload", handle_reload};
