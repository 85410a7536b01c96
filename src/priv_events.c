#include "priv_events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "priv_codec.h"
#include "priv_server.h"
#include "priv_wire.h"

/* ---- one process ---- */

static int hub_ingest(void *arg, struct event *ev)
{
	return event_hub_ingest(arg, EVENT_FROM_CTL, ev);
}

static void hub_set_live(void *arg, bool live)
{
	event_hub_set_ctl_live(arg, live);
}

static bool hub_deaf(void *arg)
{
	return event_hub_ctl_deaf(arg);
}

void priv_events_hub_sink(struct event_hub *hub, struct ctl_events_sink *ret)
{
	*ret = (struct ctl_events_sink){hub_ingest, hub_set_live, hub_deaf, hub};
}

/* ---- the root side ---- */

struct priv_events_root {
	priv_events_send_fn *send;
	void *arg;
	atomic_bool renew; /* PRIV_EVENTS_RENEW came since the subscription went live */
};

int priv_events_server_send(void *server, const json_t *payload, struct err_info *ei)
{
	return priv_server_send(server, PRIV_KIND_EVENT, payload, ei);
}

struct priv_events_root *priv_events_root_new(priv_events_send_fn *send, void *arg)
{
	struct priv_events_root *pr = calloc(1, sizeof(*pr));

	if (pr == NULL)
		return NULL;
	pr->send = send;
	pr->arg = arg;
	atomic_init(&pr->renew, false);
	return pr;
}

void priv_events_root_free(struct priv_events_root *pr)
{
	free(pr);
}

/* Send payload (consumed; NULL is ERR_NOMEM). */
static int root_send(struct priv_events_root *pr, json_t *payload, const char *what)
{
	struct err_info ei = {{0}};
	int r;

	if (payload == NULL) {
		log_error("events: out of memory forwarding %s", what);
		return ERR_NOMEM;
	}
	r = pr->send(pr->arg, payload, &ei);
	json_decref(payload);
	if (r < 0)
		log_warning("events: cannot forward %s to the api process: %s", what, ei.detail);
	return r;
}

static int root_ingest(void *arg, struct event *ev)
{
	json_t *payload = priv_codec_event(EVENT_FROM_CTL, ev);

	event_free(ev);
	return root_send(arg, payload, "an event");
}

static void root_set_live(void *arg, bool live)
{
	struct priv_events_root *pr = arg;

	/* A new subscription is not the deaf one a renew was asked for. */
	if (live)
		atomic_store(&pr->renew, false);
	root_send(pr, json_pack("{s:b}", "ctlLive", live), "the subscription's state");
}

static bool root_deaf(void *arg)
{
	struct priv_events_root *pr = arg;

	return atomic_exchange(&pr->renew, false);
}

void priv_events_root_sink(struct priv_events_root *pr, struct ctl_events_sink *ret)
{
	*ret = (struct ctl_events_sink){root_ingest, root_set_live, root_deaf, pr};
}

void priv_events_root_renew(struct priv_events_root *pr)
{
	if (pr != NULL)
		atomic_store(&pr->renew, true);
}

/* ---- the api side ---- */

void priv_events_deliver(struct event_hub *hub, const json_t *payload)
{
	const json_t *live = json_object_get(payload, "ctlLive");
	struct err_info ei = {{0}};
	enum event_source src;
	struct event *ev;

	if (json_is_boolean(live) && json_object_size(payload) == 1) {
		event_hub_set_ctl_live(hub, json_is_true(live));
		return;
	}
	if (priv_decode_event(payload, &src, &ev, &ei) < 0) {
		log_error("events: dropped a malformed event from the root process: %s", ei.detail);
		return;
	}
	if (src != EVENT_FROM_CTL) { /* the hook is heard here, not there */
		log_error("events: dropped an event the root process says came from the hook");
		event_free(ev);
		return;
	}
	if (event_hub_ingest(hub, EVENT_FROM_CTL, ev) < 0)
		log_error("events: out of memory for an event");
}

struct priv_events_renewer {
	struct priv *p;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pending, stop;
	pthread_t thread;
};

static void renew(struct priv *p)
{
	struct priv_error pe;
	json_t *ret = NULL;
	int r = priv_call(p, NULL, PRIV_EVENTS_RENEW, json_object(), &ret, &pe);

	if (r < 0)
		log_warning("events: cannot ask the root process to renew the subscription: %s",
			    pe.ei.detail);
	else
		log_info("events: the subscription is deaf; asked for a new one");
	json_decref(ret);
	priv_error_clear(&pe);
}

static void *renewer_main(void *arg)
{
	struct priv_events_renewer *rn = arg;

	pthread_mutex_lock(&rn->lock);
	for (;;) {
		while (!rn->pending && !rn->stop)
			pthread_cond_wait(&rn->cond, &rn->lock);
		if (rn->stop)
			break;
		rn->pending = false;
		pthread_mutex_unlock(&rn->lock);
		renew(rn->p);
		pthread_mutex_lock(&rn->lock);
	}
	pthread_mutex_unlock(&rn->lock);
	return NULL;
}

struct priv_events_renewer *priv_events_renewer_start(struct priv *p, struct err_info *ei)
{
	struct priv_events_renewer *rn = calloc(1, sizeof(*rn));

	if (rn == NULL) {
		err_set(ei, ERR_NOMEM, "out of memory");
		return NULL;
	}
	rn->p = p;
	if (pthread_mutex_init(&rn->lock, NULL) != 0) {
		free(rn);
		err_set(ei, ERR_INTERNAL, "cannot create a lock");
		return NULL;
	}
	if (pthread_cond_init(&rn->cond, NULL) != 0 ||
	    pthread_create(&rn->thread, NULL, renewer_main, rn) != 0) {
		err_set(ei, ERR_INTERNAL, "cannot start the events renewer thread");
		pthread_mutex_destroy(&rn->lock);
		free(rn); /* a cond that initialised holds nothing on Linux */
		return NULL;
	}
	return rn;
}

void priv_events_renewer_notify(void *arg)
{
	struct priv_events_renewer *rn = arg;

	pthread_mutex_lock(&rn->lock);
	rn->pending = true;
	pthread_cond_signal(&rn->cond);
	pthread_mutex_unlock(&rn->lock);
}

void priv_events_renewer_stop(struct priv_events_renewer *rn)
{
	if (rn == NULL)
		return;
	pthread_mutex_lock(&rn->lock);
	rn->stop = true;
	pthread_cond_signal(&rn->cond);
	pthread_mutex_unlock(&rn->lock);
	pthread_join(rn->thread, NULL);
	pthread_cond_destroy(&rn->cond);
	pthread_mutex_destroy(&rn->lock);
	free(rn);
}
