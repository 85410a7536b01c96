/* The root side of ocserv's systemd unit, the deeper health checks and the
 * RADIUS client identity (priv_ops.h). systemctl's path, the unit, the
 * files read: all from r->cfg; the only argument that names anything is a
 * service action, checked against the four we know. */
#include <string.h>
#include <time.h>

#include "agent.h"
#include "conf_check.h"
#include "health_checks.h"
#include "log.h"
#include "priv_ops.h"
#include "radius.h"
#include "service.h"
#include "utf8.h"

/* ---- service.show: {} → state; service.systemd: {} → {available, detail?} ---- */

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

static int service_fail(struct priv_error *pe, int err, const struct service_error *e)
{
	pe->ei = e->ei;
	return priv_fail(pe, err, "%s", e->message);
}

static int run_show(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		    struct priv_error *pe)
{
	struct service_options o;
	struct service_state st;
	struct service_error e = {0};
	int s;

	(void)request_id;
	(void)args;
	service_options_from_config(r->cfg, &o);
	if ((s = service_show(&o, &st, &e)) < 0)
		return service_fail(pe, s, &e);
	*ret = state_json(o.unit, &st);
	return 0;
}

static int run_systemd(struct priv_root *r, const char *request_id, const json_t *args,
		       json_t **ret, struct priv_error *pe)
{
	struct service_options o;
	struct service_error e = {0};

	(void)request_id;
	(void)args;
	(void)pe;
	service_options_from_config(r->cfg, &o);
	if (service_check_systemd(&o, &e) == 0)
		*ret = json_pack("{s:b}", "available", 1);
	else
		*ret = json_pack("{s:b,s:s}", "available", 0, "detail", e.message);
	return 0;
}

/* ---- service.action: {action} → state ---- */

/* ocserv exits when a reload (SIGHUP) finds a configuration it cannot
 * parse, and a start or restart with one leaves it down: check first, as
 * POST /ocserv/reload does, and refuse without touching the unit. The
 * checker's output goes to the client because it is what the administrator
 * has to fix. A checker that cannot run refuses too: the point is to never
 * act blind. Done here, not left to the api side, so that no caller can
 * skip it. */
static int check_config(const struct agent_config *cfg, struct priv_error *pe)
{
	struct conf_check_result res = {0};
	char line[100];
	int e = conf_check_run(cfg, &res, &pe->ei);

	if (e == ERR_CONFIG_INVALID) {
		pe->extra = json_pack("{s:o}", "checkOutput", utf8_json_string(res.output));
		priv_fail(pe, e, "ocserv rejected its configuration, the unit was not touched: %s",
			  conf_check_summary(&res, line, sizeof(line)));
	} else if (e < 0) {
		priv_fail(pe, e, "the configuration check could not run; the unit was not touched");
	}
	conf_check_result_free(&res);
	return e;
}

/* Every state change is an audit line at NOTICE, refusals included. */
static void audit(const char *request_id, enum service_action a, const char *unit, int e)
{
	log_msg(LOG_NOTICE, request_id, "audit op=service-%s unit=\"%s\" result=%s",
		service_action_name(a), unit, e == 0 ? "ok" : err_code(e));
}

/* The answer after the action ran (e its outcome): the unit's new state. A
 * failed action still carries the state when it can be read ("failed" after
 * a start that did not come up is what the caller needs to see). */
static int answer(const struct service_options *o, enum service_action a, int e, json_t **ret,
		  struct priv_error *pe)
{
	struct service_state st;
	struct service_error se = {0};
	int s = service_show(o, &st, &se);

	if (e < 0) {
		if (s == 0)
			pe->extra = json_pack("{s:o}", "service", state_json(o->unit, &st));
		return e;
	}
	if (s < 0) {
		pe->ei = se.ei;
		return priv_fail(pe, s, "systemctl %s %s succeeded; then %s",
				 service_action_name(a), o->unit, se.message);
	}
	*ret = state_json(o->unit, &st);
	return 0;
}

static const char *check_action(const char *s)
{
	enum service_action a;

	return service_action_parse(s, &a) < 0 ? "is not start, stop, restart or reload" : NULL;
}

static int run_action(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	struct service_options o;
	struct service_error se = {0};
	enum service_action a;
	int e;

	if (service_action_parse(priv_arg_str(args, "action"), &a) < 0)
		return priv_fail(pe, ERR_BAD_REQUEST, "action: %s", "not a service action");
	service_options_from_config(r->cfg, &o);
	e = service_check_systemd(&o, &se);
	if (e == 0 && service_action_reads_config(a))
		e = check_config(r->cfg, pe);
	else if (e < 0)
		e = service_fail(pe, e, &se);
	if (e == 0 && (e = service_run_action(&o, a, &se)) < 0)
		e = service_fail(pe, e, &se);
	audit(request_id, a, o.unit, e);
	if (e == 0 || e == ERR_SERVICE_FAILED)
		e = answer(&o, a, e, ret, pe);
	return e;
}

/* ---- health: {tier} → {checks} ---- */

/* The tier-2 and tier-3 checks that read files and sockets or log in. The
 * process check needs ocserv's status: asked here again, not taken from the
 * api side, whose pid this process would otherwise probe. agentMemory is
 * this process's: the api side puts its own in its place. */
static int run_health(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	unsigned t = r->cfg->occtl_timeout_ms;
	struct err_info ei = {{0}};
	json_t *status = NULL, *checks;
	/* Believing "timed out" can only make the report worse, never hide a
	 * problem: it saves a second wait for a stuck ocserv. */
	int serr =
		priv_arg_bool(args, "ocservTimedOut", false)
			? ERR_OCCTL_TIMEOUT
			: ocserv_status(r->oc,
					t < AGENT_HEALTH_TIMEOUT_MS ? t : AGENT_HEALTH_TIMEOUT_MS,
					&status, &ei);
	const struct health_input in = {.cfg = r->cfg,
					.proc = "/proc",
					.request_id = request_id,
					.now = time(NULL),
					.status = serr == 0 ? status : NULL,
					.status_err = serr};
	bool all_ok = false;

	checks = health_run(&in, (int)priv_arg_int(args, "tier", 2), &all_ok);
	json_decref(status);
	if (checks == NULL)
		return err_set(&pe->ei, ERR_NOMEM, "building the health checks");
	*ret = json_pack("{s:o}", "checks", checks);
	return 0;
}

/* ---- radius: {} → the identity, without a secret ---- */

static json_t *port_json(int port)
{
	return port > 0 ? json_integer(port) : json_null();
}

static int run_radius(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	struct radius_info ri;
	json_t *servers;

	(void)request_id;
	(void)args;
	if (radius_read(r->cfg->radius_conf_path, r->cfg->radius_servers_path, &ri) < 0)
		return err_set(&pe->ei, ERR_NOMEM, "out of memory reading RADIUS files");
	servers = json_array();
	for (size_t i = 0; servers != NULL && i < ri.n_servers; i++)
		json_array_append_new(servers, json_pack("{s:o,s:b}", "host",
							 utf8_json_string(ri.servers[i].host),
							 "hasSecret", ri.servers[i].has_secret));
	*ret = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "nasIdentifier",
			 utf8_json_string(ri.nas_identifier), "authServer",
			 utf8_json_string(ri.auth_server), "authServerPort",
			 port_json(ri.auth_port), "acctServer", utf8_json_string(ri.acct_server),
			 "acctServerPort", port_json(ri.acct_port), "radiusclientConfPath",
			 utf8_json_string(r->cfg->radius_conf_path), "serversFile",
			 utf8_json_string(ri.servers_file), "servers", servers);
	radius_info_free(&ri);
	return 0;
}

/* ---- the table ---- */

static const struct priv_arg args_none[] = {{.name = NULL}};

static const struct priv_arg args_action[] = {
	{.name = "action",
	 .kind = PRIV_ARG_STRING,
	 .required = true,
	 .max = 16,
	 .check = check_action},
	{.name = NULL},
};

static const struct priv_arg args_health[] = {
	{.name = "tier", .kind = PRIV_ARG_INT, .required = true, .min = 2, .max = 3},
	{.name = "ocservTimedOut", .kind = PRIV_ARG_BOOL},
	{.name = NULL},
};

const struct priv_op_def priv_ops_system[] = {
	{PRIV_SERVICE_SHOW, "service.show", args_none, run_show},
	{PRIV_SERVICE_ACTION, "service.action", args_action, run_action},
	{PRIV_SERVICE_SYSTEMD, "service.systemd", args_none, run_systemd},
	{PRIV_HEALTH, "health", args_health, run_health},
	{PRIV_RADIUS, "radius", args_none, run_radius},
	{.op = PRIV_OP_NONE},
};
