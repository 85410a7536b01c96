/* ocserv's events subscription (CTL_CMD_TOP on the control socket), fed
 * into the event hub through a sink. ocserv allows one subscriber and
 * writes to it with blocking sends from its main loop, so a thread of its
 * own reads it at once, always, and only hands decoded events to the sink
 * (which never blocks).
 *
 * The thread connects, reads the initial user list (ignored: not events),
 * then turns each update into a connect or disconnect event. When ocserv
 * goes away (restart, stop) it reconnects with a backoff from 100 ms to
 * 5 s; after a reconnect it publishes a resync event, because what
 * happened in between is unknown. The sink's set_live() follows the
 * connection state. A frame that does not decode is logged and ends the
 * connection (then reconnect), never the agent. So does a subscription the
 * hub found deaf (the sink's deaf(): asked every second), which is
 * renewed the same way.
 *
 * The thread runs where ocserv's socket can be reached (the root process
 * in privilege-separated mode) and the hub lives with the SSE subscribers
 * (the api process), so it talks to a sink, not to the hub: priv_events.h
 * has one over a hub in this process and one that forwards to the api
 * process. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "events.h"

/* Where the subscription's news go; each function is called on the
 * subscription's thread and must not block for long (ocserv blocks on a
 * subscriber that does not read). */
struct ctl_events_sink {
	/* Take an event of EVENT_FROM_CTL (ownership passes, in every case).
	 * A failure (ERR_*) ends the connection: it is renewed, then a resync
	 * event says that something may be missing. */
	int (*ingest)(void *arg, struct event *ev);
	/* The subscription is live (connected and subscribed), or not. */
	void (*set_live)(void *arg, bool live);
	/* True when the subscription should be renewed (see
	 * event_hub_ctl_deaf()). */
	bool (*deaf)(void *arg);
	void *arg;
};

struct ctl_events;

/* Start the thread. socket may be NULL (CTL_SOCKET_DEFAULT). The sink is
 * copied; what its arg points to must outlive the returned object. NULL
 * with ei->detail on failure. */
struct ctl_events *ctl_events_start_sink(const char *socket, const struct ctl_events_sink *sink,
					 struct err_info *ei);

/* The same with priv_events_hub_sink(hub): one-process mode. */
struct ctl_events *ctl_events_start(const char *socket, struct event_hub *hub, struct err_info *ei);

/* Stop the thread (it wakes at once, whatever it waits on) and free. NULL
 * is fine. */
void ctl_events_stop(struct ctl_events *ce);

/* Turn one CTL_REP_TOP_UPDATE payload into an event (for the thread and
 * for tests). ERR_CTL_PROTOCOL when it does not decode or names no user;
 * ERR_NOMEM. */
int ctl_events_decode(const uint8_t *payload, size_t len, struct event **ret, struct err_info *ei);
