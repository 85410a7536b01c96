/* GET /ocserv/health: the agent's identity and ocserv's readiness. Never an
 * error because of ocserv: a failed readiness check is reported inside.
 *
 * ?tier=2 adds the local checks of health_checks.h and ?tier=3 the
 * end-to-end login; both add `tier`, `healthy` and `checks` to the tier-1
 * body, which stays exactly what it was without the parameter (or with
 * tier=1) so existing clients see no change. The checks run on the root
 * side of the privilege boundary (priv_ops_system.c), but for this
 * process's own memory. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "build_config.h"
#include "health_checks.h"
#include "log.h"
#include "timefmt.h"

static unsigned readiness_timeout(const struct agent *ag)
{
	unsigned t = ag->cfg->occtl_timeout_ms;

	return t < AGENT_HEALTH_TIMEOUT_MS ? t : AGENT_HEALTH_TIMEOUT_MS;
}

/* The tier-1 readiness object; *err gets why ocserv is not ready (0: it is). */
static json_t *ocserv_readiness(struct agent *ag, const struct http_request *rq, int *err)
{
	struct err_info ei = {{0}};
	json_t *st = NULL;
	char msg[161];
	int r = ocserv_status(ag->oc, readiness_timeout(ag), &st, &ei);
	const char *state = r == 0 ? json_string_value(json_object_get(st, "status")) : NULL;
	bool online = r == 0 && state != NULL && strcmp(state, "online") == 0;

	if (r == 0 && !online) {
		snprintf(msg, sizeof(msg), "ocserv reports status '%.100s'", state ? state : "?");
		r = ERR_OCCTL_FAILED;
	} else if (r < 0) {
		snprintf(msg, sizeof(msg), "%s", err_message(r));
	}
	json_decref(st);
	*err = online ? 0 : r;
	if (online)
		return json_pack("{s:b}", "ok", 1);
	log_msg(LOG_WARNING, rq->id, "health ocserv_ok=0 code=%s detail=\"%s\"", err_code(r),
		ei.detail);
	return json_pack("{s:b,s:s,s:s}", "ok", 0, "errorCode", err_code(r), "errorMessage", msg);
}

/* tier: absent is 1; only the exact texts 1, 2 and 3 are accepted. */
static int parse_tier(const struct http_request *rq, int *tier, struct api_reply *rp)
{
	const char *t = http_request_query(rq, "tier");

	if (t == NULL) {
		*tier = 1;
		return 0;
	}
	if (strlen(t) != 1 || t[0] < '1' || t[0] > '3')
		return api_fail(rp, ERR_BAD_REQUEST, "tier must be 1, 2 or 3");
	*tier = t[0] - '0';
	return 0;
}

/* The root side (priv_ops_system.c) runs the checks that read files and
 * sockets or log in; agentMemory is about this process, so its own check
 * replaces the root side's. *all_ok: whether every check is ok. */
static int own_memory(json_t *checks, bool *all_ok)
{
	const struct health_input in = {.proc = "/proc"};
	size_t i;
	json_t *c;

	*all_ok = true;
	json_array_foreach(checks, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));

		if (name != NULL && strcmp(name, "agentMemory") == 0) {
			if ((c = health_check_memory(&in)) == NULL ||
			    json_array_set_new(checks, i, c) < 0)
				return ERR_NOMEM;
		}
		*all_ok = *all_ok && json_is_true(json_object_get(c, "ok"));
	}
	return 0;
}

/* Add tier, healthy and checks to the tier-1 body. */
static int add_checks(struct agent *ag, const struct http_request *rq, int tier, int ready_err,
		      json_t *body, struct api_reply *rp)
{
	json_t *res = NULL, *checks;
	bool all_ok = false;
	bool ready = ready_err == 0;
	/* ocserv did not answer in time just now: the root side need not wait
	 * for it a second time (it asks itself otherwise). */
	int r = api_priv(ag, rq, PRIV_HEALTH,
			 json_pack("{s:i,s:b}", "tier", tier, "ocservTimedOut",
				   ready_err == ERR_OCCTL_TIMEOUT),
			 &res, rp);

	if (r < 0)
		return r;
	checks = json_incref(json_object_get(res, "checks"));
	json_decref(res);
	if (!json_is_array(checks) || (r = own_memory(checks, &all_ok)) < 0) {
		json_decref(checks);
		return err_set(&rp->ei, r < 0 ? r : ERR_INTERNAL, "building the health checks");
	}
	if (json_object_set_new(body, "tier", json_integer(tier)) < 0 ||
	    json_object_set_new(body, "healthy", json_boolean(ready && all_ok)) < 0 ||
	    json_object_set_new(body, "checks", checks) < 0)
		return err_set(&rp->ei, ERR_NOMEM, "building the health body");
	if (!(ready && all_ok))
		log_msg(LOG_WARNING, rq->id, "health tier=%d healthy=0", tier);
	return 0;
}

/* Where events come from now: ocserv's subscription when it is live, else
 * the hook once ocserv has run it, else nowhere (yet). */
static const char *events_source(const struct agent *ag, const struct event_hub_stats *st)
{
	if (st->ctl_live && !st->ctl_deaf)
		return "ctl";
	if (atomic_load(&ag->terminate.last_event) > 0) /* set by every hook event */
		return "hook";
	return "none";
}

static json_t *json_u64(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Epoch milliseconds as ISO-8601, or null when unknown (negative). */
static json_t *json_time_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	char iso[40];

	if (ms < 0 || timefmt_iso8601(&ts, iso, sizeof(iso)) == NULL)
		return json_null();
	return json_string(iso);
}

/* The event hub's state (GET /ocserv/events). */
static json_t *events_object(struct agent *ag)
{
	struct event_hub_stats st = {0};

	st.last_event_ms = -1;
	if (ag->events != NULL)
		event_hub_stats(ag->events, &st);
	return json_pack("{s:b,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "enabled", ag->events != NULL,
			 "source", events_source(ag, &st), "subscribers",
			 (json_int_t)st.subscribers, "lastEventId", json_u64(st.last_id),
			 "oldestEventId", json_u64(st.oldest_id), "published",
			 json_u64(st.published), "droppedSubscribers", json_u64(st.dropped_lagging),
			 "refusedSubscribers", json_u64(st.refused_subscribers),
			 "subscriptionMissed", json_u64(st.ctl_missed), "lastEventAt",
			 json_time_ms(st.last_event_ms));
}

static int handle_health(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	int tier = 1, ready_err = 0, r = parse_tier(rq, &tier, rp);
	json_t *body;

	(void)params;
	if (r < 0)
		return r;
	body = json_pack(
		"{s:b,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s?,s:s?},s:o,s:{s:b,s:b,s:b,s:b},s:o,s:o}",
		"ok", 1, "agent", "name", AGENT_NAME, "version", AGENT_VERSION, "apiVersion",
		AGENT_API_VERSION, "instanceId", ag->instance_id, "hostname", ag->hostname,
		"startedAt", ag->started_at, "persistedInstanceId", ag->instance_persisted,
		"backend", ocserv_backend_in_use(ag->oc), "backendMode", ag->cfg->backend, "ocserv",
		ocserv_readiness(ag, rq, &ready_err), "capabilities", "listSessions", 1,
		"disconnectSession", 1, "disconnectAllForUser", 1, "refreshSession", 1, "events",
		events_object(ag), "limits", api_limits_json(ag));
	if (body == NULL)
		return err_set(&rp->ei, ERR_NOMEM, "building the health body");
	if (tier > 1 && (r = add_checks(ag, rq, tier, ready_err, body, rp)) < 0) {
		json_decref(body); /* the error envelope must not carry it */
		return r;
	}
	rp->body = body;
	return 0;
}

const struct api_route api_route_health = {"GET", "/ocserv/health", handle_health};
