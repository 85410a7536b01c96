/* GET /ocserv/service, POST /ocserv/service/{action}: ocserv's systemd unit. */
#include "api.h"
#include "conf_check.h"
#include "log.h"
#include "service.h"

static json_t *word_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *state_json(const char *unit, const struct service_state *st)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:s}", "unit", unit, "activeState",
			 st->active_state, "subState", word_or_null(st->sub_state), "enabled",
			 word_or_null(st->unit_file_state), "mainPid",
			 st->main_pid > 0 ? json_integer(st->main_pid) : json_null(), "since",
			 word_or_null(st->since), "loadState", st->load_state);
}

static int service_fail(struct api_reply *rp, int err, const struct service_error *e)
{
	rp->ei = e->ei;
	return api_fail(rp, err, "%s", e->message);
}

static int handle_get(struct agent *ag, const struct http_request *rq,
		      const struct api_params *params, struct api_reply *rp)
{
	struct service_options o;
	struct service_state st;
	struct service_error e = {0};
	int r;

	service_options_from_config(ag->cfg, &o);
	r = service_show(&o, &st, &e);
	if (r < 0)
		return service_fail(rp, r, &e);
	rp->body = json_pack("{s:b,s:o}", "ok", 1, "service", state_json(o.unit, &st));
	return 0;
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

/* ocserv exits when a reload (SIGHUP) finds a configuration it cannot
 * parse, and a start or restart with one leaves it down: check first, as
 * POST /ocserv/reload does, and refuse without touching the unit. The
 * checker's output goes to the client because it is what the administrator
 * has to fix. A checker that cannot run refuses too: the point is to never
 * act blind. */
static int check_config(const struct agent_config *cfg, struct api_reply *rp)
{
	struct conf_check_result res = {0};
	char line[100];
	int r = conf_check_run(cfg, &res, &rp->ei);

	if (r == ERR_CONFIG_INVALID) {
		rp->body = json_pack("{s:o}", "checkOutput", api_str(res.output));
		r = api_fail(rp, r,
			     "ocserv rejected its configuration, the unit was not touched: %s",
			     conf_check_summary(&res, line, sizeof(line)));
	} else if (r < 0) {
		r = api_fail(rp, r,
			     "the configuration check could not run; the unit was not touched");
	}
	conf_check_result_free(&res);
	return r;
}

/* Every state change is an audit line at NOTICE, refusals included. */
static void audit(const struct http_request *rq, enum service_action a, const char *unit, int r)
{
	log_msg(LOG_NOTICE, rq->id, "audit op=service-%s unit=\"%s\" result=%s",
		service_action_name(a), unit, r == 0 ? "ok" : err_code(r));
}

/* The answer after the action ran (r its outcome): the unit's new state. A
 * failed action still carries the state when it can be read ("failed" after
 * a start that did not come up is what the caller needs to see). */
static int answer(const struct service_options *o, enum service_action a, int r,
		  struct api_reply *rp)
{
	struct service_state st;
	struct service_error e = {0};
	int s = service_show(o, &st, &e);

	if (r < 0) {
		if (s == 0)
			rp->body = json_pack("{s:o}", "service", state_json(o->unit, &st));
		return r;
	}
	if (s < 0) {
		rp->ei = e.ei;
		return api_fail(rp, s, "systemctl %s %s succeeded; then %s", service_action_name(a),
				o->unit, e.message);
	}
	rp->body = json_pack("{s:b,s:o}", "ok", 1, "service", state_json(o->unit, &st));
	return 0;
}

static int handle_action(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	struct service_options o;
	struct service_error e = {0};
	enum service_action a;
	int r;

	/* An action we do not know is a path that does not exist. */
	if (service_action_parse(params->v[0], &a) < 0)
		return api_fail(rp, ERR_NOT_FOUND,
				"no such service action (allowed: start, stop, restart, reload)");
	r = empty_body(rq, rp);
	if (r < 0)
		return r;
	service_options_from_config(ag->cfg, &o);
	r = service_check_systemd(&o, &e);
	if (r == 0 && service_action_reads_config(a))
		r = check_config(ag->cfg, rp);
	else if (r < 0)
		r = service_fail(rp, r, &e);
	if (r == 0 && (r = service_run_action(&o, a, &e)) < 0)
		r = service_fail(rp, r, &e);
	audit(rq, a, o.unit, r);
	if (r == 0 || r == ERR_SERVICE_FAILED)
		r = answer(&o, a, r, rp);
	return r;
}

const struct api_route api_route_service = {"GET", "/ocserv/service", handle_get};
const struct api_route api_route_service_action = {"POST", "/ocserv/service/{}", handle_action};
