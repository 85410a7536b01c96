/* GET /ocserv/capabilities: what this agent can do with the ocserv it runs
 * beside, version-dependent features reported as they are right now.
 * ocserv.backend is the configured backend (auto, ctl, occtl), backendInUse
 * the one serving calls now; capabilities.events says whether GET
 * /ocserv/events is served. */
#include <stdatomic.h>

#include "api.h"
#include "log.h"
#include "terminate.h"
#include "timefmt.h"

/* When ocserv last ran the hook (connect or disconnect) since the agent
 * started: proof that the connect-script is live, not only configured. */
static json_t *last_event(const struct terminate_env *te)
{
	int64_t t = atomic_load(&te->last_event);
	char iso[40];

	if (t <= 0 || timefmt_epoch_iso8601(t, iso, sizeof(iso)) == NULL)
		return json_null();
	return json_string(iso);
}

/* Whether systemd runs here (for serviceControl): asked of the root side,
 * which runs systemctl. A failed call is "no". */
static bool systemd_available(struct agent *ag, const struct http_request *rq)
{
	struct api_reply scratch = {0};
	json_t *res = NULL;
	int r = api_priv(ag, rq, PRIV_SERVICE_SYSTEMD, json_object(), &res, &scratch);
	bool yes = r == 0 && json_is_true(json_object_get(res, "available"));

	if (r < 0)
		log_msg(LOG_WARNING, rq->id, "capabilities: systemd check failed: %s",
			scratch.ei.detail);
	json_decref(res);
	json_decref(scratch.body);
	return yes;
}

static int handle_capabilities(struct agent *ag, const struct http_request *rq,
			       const struct api_params *params, struct api_reply *rp)
{
	struct terminate_support ts;

	(void)params;
	terminate_support(&ag->terminate, &ts);
	rp->body = json_pack(
		"{s:b,s:{s:o,s:s,s:s?},s:{s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,"
		"s:{s:b,s:o,s:s,s:o},s:[iii],s:b,s:b}}",
		"ok", 1, "ocserv", "version", ts.version[0] ? json_string(ts.version) : json_null(),
		"backend", ag->cfg->backend, "backendInUse", ocserv_backend_in_use(ag->oc),
		"capabilities", "listSessions", 1, "disconnectSession", 1, "disconnectAllForUser",
		1, "refreshSession", 1, "userSessions", 1, "sessionDetail", 1, "cookies", 1,
		"iroutes", 1, "bans", 1, "unban", 1, "reload", 1, "serviceControl",
		systemd_available(ag, rq), "terminate", "supported", ts.supported, "method",
		ts.method ? json_string(ts.method) : json_null(), "reason", ts.reason,
		"lastHookEventAt", last_event(&ag->terminate), "healthTiers", 1, 2, 3, "loginProbe",
		ag->cfg->probe_user != NULL, "events", ag->events != NULL);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
}

const struct api_route api_route_capabilities = {"GET", "/ocserv/capabilities",
						 handle_capabilities};
