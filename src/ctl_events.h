/* ocserv's events subscription (CTL_CMD_TOP on the control socket), fed
 * into the event hub. ocserv allows one subscriber and writes to it with
 * blocking sends from its main loop, so a thread of its own reads it at
 * once, always, and only hands decoded events to the hub (which never
 * blocks).
 *
 * The thread connects, reads the initial user list (ignored: not events),
 * then turns each update into a connect or disconnect event. When ocserv
 * goes away (restart, stop) it reconnects with a backoff from 100 ms to
 * 5 s; after a reconnect it publishes a resync event, because what
 * happened in between is unknown. event_hub_set_ctl_live() follows the
 * connection state. A frame that does not decode is logged and ends the
 * connection (then reconnect), never the agent. So does a subscription the
 * hub found deaf (event_hub_ctl_deaf(): checked every second), which is
 * renewed the same way. */
#pragma once

#include "err.h"
#include "events.h"

struct ctl_events;

/* Start the thread. socket may be NULL (CTL_SOCKET_DEFAULT). The hub must
 * outlive the returned object. NULL with ei->detail on failure. */
struct ctl_events *ctl_events_start(const char *socket, struct event_hub *hub, struct err_info *ei);

/* Stop the thread (it wakes at once, whatever it waits on) and free. NULL
 * is fine. */
void ctl_events_stop(struct ctl_events *ce);

/* Turn one CTL_REP_TOP_UPDATE payload into an event (for the thread and
 * for tests). ERR_CTL_PROTOCOL when it does not decode or names no user;
 * ERR_NOMEM. */
int ctl_events_decode(const uint8_t *payload, size_t len, struct event **ret, struct err_info *ei);
