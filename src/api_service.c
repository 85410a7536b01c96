/* GET /ocserv/service, POST /ocserv/service/{action}: ocserv's systemd unit.
 * systemctl and `ocserv -t` run on the root side of the privilege boundary
 * (priv_ops_system.c), which also checks the configuration before an
 * action that reads it and writes the audit line. */
#include "api.h"
#include "service.h"

/* The unit's state, as the root side read it, under "service". */
static int state_answer(json_t *state, struct api_reply *rp)
{
	rp->body = json_pack("{s:b,s:o}", "ok", 1, "service", state);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
}

static int handle_get(struct agent *ag, const struct http_request *rq,
		      const struct api_params *params, struct api_reply *rp)
{
	json_t *state = NULL;
	int r;

	(void)params;
	if ((r = api_priv(ag, rq, PRIV_SERVICE_SHOW, json_object(), &state, rp)) < 0)
		return r;
	return state_answer(state, rp);
}

/* The actions take no parameters: no body, or an empty JSON object. */
static int empty_body(const struct http_request *rq, struct api_reply *rp)
{
	json_t *body = NULL;
	int r;

	if (rq->body_len == 0)
		return 0;
	r = api_body_object(rq, &body, rp);
	if (r == 0 && json_object_size(body) > 0)
		r = api_fail(rp, ERR_BAD_REQUEST, "this endpoint takes no body members");
	json_decref(body);
	return r;
}

/* A failed action carries the unit's state when it could be read, and a
 * refused configuration the checker's output: both come as extra members. */
static int handle_action(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	enum service_action a;
	json_t *state = NULL;
	int r;

	/* An action we do not know is a path that does not exist. */
	if (service_action_parse(params->v[0], &a) < 0)
		return api_fail(rp, ERR_NOT_FOUND,
				"no such service action (allowed: start, stop, restart, reload)");
	if ((r = empty_body(rq, rp)) < 0)
		return r;
	r = api_priv(ag, rq, PRIV_SERVICE_ACTION,
		     json_pack("{s:s}", "action", service_action_name(a)), &state, rp);
	if (r < 0)
		return r;
	return state_answer(state, rp);
}

const struct api_route api_route_service = {"GET", "/ocserv/service", handle_get};
const struct api_route api_route_service_action = {"POST", "/ocserv/service/{}", handle_action};
