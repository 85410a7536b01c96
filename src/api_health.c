/* GET /ocserv/health: the agent's identity and ocserv's readiness. Never an
 * error because of ocserv: a failed readiness check is reported inside. */
#include <string.h>

#include "api.h"
#include "build_config.h"
#include "log.h"

static unsigned readiness_timeout(const struct agent *ag)
{
	unsigned t = ag->cfg->occtl_timeout_ms;

	return t < AGENT_HEALTH_TIMEOUT_MS ? t : AGENT_HEALTH_TIMEOUT_MS;
}

static json_t *ocserv_readiness(struct agent *ag, const struct http_request *rq)
{
	struct err_info ei = {{0}};
	json_t *st = NULL;
	char msg[161];
	int r = ocserv_status(ag->oc, readiness_timeout(ag), &st, &ei);
	const char *state = r == 0 ? json_string_value(json_object_get(st, "status")) : NULL;

	if (r == 0 && state != NULL && strcmp(state, "online") == 0) {
		json_decref(st);
		return json_pack("{s:b}", "ok", 1);
	}
	if (r == 0) {
		snprintf(msg, sizeof(msg), "ocserv reports status '%.100s'", state ? state : "?");
		r = ERR_OCCTL_FAILED;
	} else {
		snprintf(msg, sizeof(msg), "%s", err_message(r));
	}
	json_decref(st);
	log_msg(LOG_WARNING, rq->id, "health ocserv_ok=0 code=%s detail=\"%s\"", err_code(r),
		ei.detail);
	return json_pack("{s:b,s:s,s:s}", "ok", 0, "errorCode", err_code(r), "errorMessage", msg);
}

static int handle_health(struct agent *ag, const struct http_request *rq, struct api_reply *rp)
{
	rp->body = json_pack("{s:b,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:b},s:o,s:{s:b,s:b,s:b,s:b}}", "ok",
			     1, "agent", "name", AGENT_NAME, "version", AGENT_VERSION, "apiVersion",
			     AGENT_API_VERSION, "instanceId", ag->instance_id, "hostname",
			     ag->hostname, "startedAt", ag->started_at, "persistedInstanceId",
			     ag->instance_persisted, "ocserv", ocserv_readiness(ag, rq),
			     "capabilities", "listSessions", 1, "disconnectSession", 1,
			     "disconnectAllForUser", 1, "refreshSession", 1);
	return 0;
}

const struct api_route api_route_health = {"GET", "/ocserv/health", handle_health};
