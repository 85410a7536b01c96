/* POST /ocserv/reload: re-read ocserv's configuration, only after
 * `ocserv -t` passes (a reload with a broken file stops the VPN). */
#include "api.h"
#include "conf_check.h"
#include "log.h"

static int handle_reload(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	struct conf_check_result res;
	char summary[160];
	json_t *body = NULL;
	int r = 0;

	/* No options yet; refuse what a caller might believe was honoured. */
	if (rq->body_len > 0 && (r = api_body_object(rq, &body, rp)) == 0 &&
	    json_object_size(body) > 0)
		r = api_fail(rp, ERR_BAD_REQUEST, "reload takes no options");
	json_decref(body);
	if (r < 0)
		return r;
	r = conf_check_run(ag->cfg, &res, &rp->ei);
	if (r == ERR_CONFIG_INVALID) {
		api_fail(rp, r, "%s", conf_check_summary(&res, summary, sizeof(summary)));
		rp->body = json_pack("{s:o}", "checkOutput", api_str(res.output));
	} else if (r == 0) {
		r = ocserv_reload(ag->oc, &rp->ei);
	}
	log_msg(LOG_NOTICE, rq->id, "audit op=reload conf=%s result=%s", ag->cfg->ocserv_conf_path,
		r == 0 ? "reloaded" : err_code(r));
	conf_check_result_free(&res);
	if (r == 0)
		rp->body = json_pack("{s:b,s:b}", "ok", 1, "reloaded", 1);
	return r;
}

const struct api_route api_route_reload = {"POST", "/ocserv/reload", handle_reload};
