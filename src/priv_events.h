/* ocserv's events across the privilege boundary. The subscription
 * (ctl_events.h) needs ocserv's socket, so it runs in the root process;
 * the hub (events.h) serves the SSE subscribers and hears the hook, so it
 * lives in the api process. In between:
 *
 *   root: ctl_events → root sink → EVENT frame (priv_server_send)
 *   api:  priv_client's event hook → priv_events_deliver() → hub
 *
 * An EVENT payload is either one event (priv_codec_event(): {"source",
 * "event"}) or the subscription's state ({"ctlLive": bool}); frames keep
 * their order, so the hub sees what the subscription saw in order.
 *
 * A deaf subscription (event_hub_ctl_deaf()) is noticed by the hub on the
 * api side: its on_deaf callback wakes a renewer thread that calls
 * PRIV_EVENTS_RENEW; that op raises a flag the root sink's deaf() returns
 * (once), and the subscription is renewed, whose set_live(true) clears the
 * hub's deaf state.
 *
 * In one process the subscription feeds the hub directly (the hub sink)
 * and asks the hub itself whether it is deaf. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "ctl_events.h"
#include "err.h"
#include "events.h"
#include "priv.h"

/* ---- one process ---- */

/* A sink over hub (which must outlive the subscription): ingest as
 * EVENT_FROM_CTL, event_hub_set_ctl_live(), event_hub_ctl_deaf(). */
void priv_events_hub_sink(struct event_hub *hub, struct ctl_events_sink *ret);

/* ---- the root side ---- */

/* How the root sink sends an EVENT frame's payload (borrowed): in the
 * agent, priv_server_send(server, PRIV_KIND_EVENT, payload, ei). Returns 0
 * or an ERR_* (the api side is gone). Called on the subscription's thread. */
typedef int priv_events_send_fn(void *arg, const json_t *payload, struct err_info *ei);

/* The agent's send: priv_server_send(server, PRIV_KIND_EVENT, ...), server
 * a struct priv_server. */
int priv_events_server_send(void *server, const json_t *payload, struct err_info *ei);

struct priv_events_root;

/* A root side for send(arg, ...). NULL on ENOMEM. */
struct priv_events_root *priv_events_root_new(priv_events_send_fn *send, void *arg);

/* The sink to give ctl_events_start(); pr must outlive the subscription. */
void priv_events_root_sink(struct priv_events_root *pr, struct ctl_events_sink *ret);

/* PRIV_EVENTS_RENEW: the next deaf() of the sink says true (then false
 * again until the next renew). Any thread; pr may be NULL (nothing). */
void priv_events_root_renew(struct priv_events_root *pr);

/* After ctl_events_stop(). NULL is fine. */
void priv_events_root_free(struct priv_events_root *pr);

/* ---- the api side ---- */

/* The priv_client `event` hook's work: decode payload and give it to hub
 * (an event as EVENT_FROM_CTL, {"ctlLive"} to event_hub_set_ctl_live()).
 * A payload that does not decode is logged and dropped: the root side's
 * bug, which a missing event cannot make worse (the root side never sends
 * one, so this does not happen in practice). */
void priv_events_deliver(struct event_hub *hub, const json_t *payload);

struct priv_events_renewer;

/* A thread that calls PRIV_EVENTS_RENEW through p once per
 * priv_events_renewer_notify() (notifications while a call runs are
 * merged into one more call). p must outlive it. NULL with ei on failure. */
struct priv_events_renewer *priv_events_renewer_start(struct priv *p, struct err_info *ei);

/* The hub's on_deaf (events.h) with arg the renewer: only signals. */
void priv_events_renewer_notify(void *arg);

/* Stop the thread (after event_hub_free(): no notify may follow) and
 * free. Waits for a call in progress. NULL is fine. */
void priv_events_renewer_stop(struct priv_events_renewer *rn);
