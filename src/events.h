/* The event model and the event hub: what happened to VPN sessions, kept in
 * a ring buffer and fanned out to subscribers (the SSE endpoint).
 *
 * Sources: ocserv's events subscription (ctl_events.h) gives connects and
 * disconnects with ocserv's reason; the disconnect-script hook (hook.h)
 * gives the byte counts and duration of a disconnect, and connects and
 * disconnects when the subscription is not available. The hub merges the
 * two so that each disconnect is published once, carrying both the reason
 * and the usage when both sources report it (see event_hub_ingest).
 *
 * Nothing here blocks a source: publishing appends to the ring under a
 * short lock and wakes subscribers; a subscriber that falls a whole ring
 * behind is dropped with a counted, logged reason.
 *
 * Thread-safety: every event_hub_* and event_sub_* function may be called
 * from any thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "hook_server.h"

enum event_type {
	EVENT_CONNECT = 1,
	EVENT_DISCONNECT = 2,
	EVENT_RESYNC = 4, /* the agent may have missed events (ocserv restarted, replay gap) */
};

enum event_source {
	EVENT_FROM_CTL,	 /* ocserv's events subscription */
	EVENT_FROM_HOOK, /* the connect/disconnect-script */
};

/* One event. Integers are -1 and strings NULL when unknown. */
struct event {
	uint64_t id; /* assigned by the hub at publication, from 1, monotonic */
	enum event_type type;
	int64_t time_ms;	/* epoch milliseconds the agent learnt of it */
	int64_t vpn_session_id; /* occtl's ID (the worker pid) */
	char *username, *groupname, *vhost;
	char *client_ip;     /* the client's real address */
	char *ip;	     /* the client's VPN address (IPv4, else IPv6) */
	char *device;	     /* tun device */
	int64_t reason_code; /* disconnects: ocserv's code (OCSERV-FACTS.md) */
	char *reason_text;   /* disconnects: ocserv's text; resync: why */
	int64_t rx_bytes, tx_bytes, duration_seconds; /* disconnects, from the hook */
};

/* A new empty event of type (every field absent, time_ms now). NULL on ENOMEM. */
struct event *event_new(enum event_type type);
void event_free(struct event *ev);

/* An event from the hook's variables (REASON connect|disconnect; ID,
 * USERNAME, GROUPNAME, VHOST, IP_REAL, IP_REMOTE or IPV6_REMOTE, DEVICE,
 * STATS_BYTES_IN → rx_bytes, STATS_BYTES_OUT → tx_bytes, STATS_DURATION).
 * Empty variables are unknown. ERR_BAD_REQUEST for another REASON
 * (host-update) or none, an ID that is not a pid (1..INT32_MAX), or a
 * number that is not plain decimal; ERR_NOMEM. */
int event_from_hook(const struct hook_event *he, struct event **ret);

/* The event as one JSON object on one line (the SSE data line): {id,
 * type, time (ISO-8601 UTC with milliseconds), vpnSessionId, username,
 * groupname, vhost, clientIp, ip, device, reason: {code, text} | null,
 * rxBytes, txBytes, durationSeconds}; unknown values are null (id too, for
 * id 0), reason is null when both are unknown (a resync's text is its
 * reason.text). Strings that are not valid UTF-8 get U+FFFD. malloc'd,
 * NULL on ENOMEM. */
char *event_to_json(const struct event *ev);

struct event_hub_options {
	size_t capacity;	  /* events kept for replay (EVENTS_BUFFER) */
	unsigned max_subscribers; /* EVENTS_MAX_SUBSCRIBERS; more get ERR_TOO_MANY */
	unsigned heartbeat_ms;	  /* EVENTS_HEARTBEAT_MS: comment line to idle subscribers
				   * (each subscriber with nothing else to send gets one
				   * per period); 0: none */
	unsigned usage_wait_ms;	  /* EVENTS_USAGE_WAIT_MS: how long a disconnect waits for
				   * the other source before it is published; 0: never */
};

struct event_hub;

/* A hub with its timer thread (heartbeats, held disconnects). capacity
 * must be at least 1. NULL with ei->detail on failure. */
struct event_hub *event_hub_new(const struct event_hub_options *o, struct err_info *ei);

/* End every subscription (their reads return EVENT_SUB_END and their wake
 * functions are called), stop the timer thread, drop held disconnects and
 * free everything. Subscribers still open keep the hub's memory alive
 * until their event_sub_close() (only event_sub_read/close may be called
 * on them then); the usual order is still: stop the HTTP server, then
 * this. The ctl_events thread must have been stopped before. NULL is fine. */
void event_hub_free(struct event_hub *h);

/* Tell the hub whether ocserv's events subscription is live: while it is,
 * connects from the hook are not published (the subscription already did). */
void event_hub_set_ctl_live(struct event_hub *h, bool live);

/* True when the live subscription is deaf: the hook reported a connect
 * that the subscription did not (ocserv serves one subscriber, and another,
 * such as an administrator's `occtl show events`, held it when the agent
 * subscribed). The hook's connects are then published, and the
 * subscription should be renewed: ocserv serves a new subscriber once the
 * other has gone. Cleared by event_hub_set_ctl_live(). */
bool event_hub_ctl_deaf(struct event_hub *h);

/* Have fn(arg) called each time the live subscription turns deaf, after
 * event_hub_ingest() released the hub's lock, on the thread that ingested
 * (the hook's): it must not block, only signal whoever renews the
 * subscription in another process (priv_events.h). Without it (NULL, the
 * default) the subscription asks event_hub_ctl_deaf() itself. Call before
 * the first event_hub_ingest(). */
void event_hub_on_deaf(struct event_hub *h, void (*fn)(void *arg), void *arg);

/* Take one event from a source (ownership of ev passes to the hub, in
 * every case). Connects are published at once (from the hook only while the
 * subscription is not live). A disconnect is published at once when only
 * one source is active; when both are (the subscription is live and the
 * hook has been heard from), it is held up to usage_wait_ms for the
 * other source's report of the same vpn_session_id and published once,
 * merged: the subscription's fields (reason) first, gaps filled from the
 * hook's (usage), time_ms of the first report. Either order works. A
 * disconnect without vpn_session_id, or with usage_wait_ms 0, is never
 * held. Ids are given at publication, so the ring stays in id order while
 * time_ms may not be.
 *
 * The hook counts as heard from once any event of EVENT_FROM_HOOK was
 * ingested since the hub started, and stays so: a hook that is configured
 * runs on every connect. (If an administrator removes the disconnect-script
 * later, disconnects are merely published usage_wait_ms late.)
 *
 * A report that comes after the same session's event of that type was
 * published already (a disconnect whose wait ran out, or that came right
 * after the agent started, before the hook was heard from) is dropped: a
 * second one would count the session twice. A connect from the hook while
 * the subscription is live is dropped when the subscription reported it,
 * and published otherwise (see event_hub_ctl_deaf).
 *
 * Resync events are published at once. Returns ERR_NOMEM only. */
int event_hub_ingest(struct event_hub *h, enum event_source src, struct event *ev);

struct event_hub_stats {
	uint64_t last_id;	      /* 0 when nothing was published */
	uint64_t oldest_id;	      /* oldest event still in the ring (0: empty) */
	uint64_t published;	      /* events published since start */
	unsigned subscribers;	      /* now */
	uint64_t dropped_lagging;     /* subscribers dropped for falling a ring behind */
	uint64_t refused_subscribers; /* refused at the cap */
	bool ctl_live;
	bool hook_heard;       /* an event came from the hook (see event_hub_ingest) */
	bool ctl_deaf;	       /* see event_hub_ctl_deaf() */
	uint64_t ctl_missed;   /* times the subscription was found deaf */
	int64_t last_event_ms; /* epoch ms of the newest event, -1 when none */
};

void event_hub_stats(struct event_hub *h, struct event_hub_stats *ret);

/* Which events a subscriber wants. */
struct event_filter {
	unsigned types;	      /* EVENT_* bits; 0 means all */
	const char *username; /* only this user's events (resync events always pass); NULL: all */
};

struct event_sub;

/* wake(arg) is called (from any thread, with the hub's lock held: it must
 * only signal, never call back into the hub) when event_sub_read() would
 * return something new after having returned 0. */
typedef void event_wake_fn(void *arg);

/* Subscribe. With replay, the events after since_id still in the ring come
 * first (if some of them are gone already, a synthetic resync event, without
 * id, says so; since_id 0 asks for everything since the start); without
 * replay only new ones. A since_id above the last id given is one of an
 * earlier run of the agent: the resync event, then the whole ring.
 * ERR_TOO_MANY at the cap (counted in refused_subscribers),
 * ERR_SHUTTING_DOWN after event_hub_free() began, ERR_NOMEM. f may be NULL
 * (every event); its strings are copied. */
int event_hub_subscribe(struct event_hub *h, const struct event_filter *f, bool replay,
			uint64_t since_id, event_wake_fn *wake, void *arg, struct event_sub **ret);

#define EVENT_SUB_END ((ssize_t)-1)

/* The smallest max for event_sub_read() (the control lines and the replay
 * resync message must fit in one read). */
#define EVENT_SUB_MIN_READ 1024

/* Fill buf with whole SSE messages (at most max bytes, max at least
 * EVENT_SUB_MIN_READ; an event larger than max is skipped with a log
 * line): events as "id: N\nevent: TYPE\ndata: JSON\n\n", heartbeats as
 * ": heartbeat\n\n" (only when nothing else is sent), and an initial
 * ": ok\n\n" so the client sees the response start at once. Returns the
 * byte count, 0 when there is nothing to send now (wake is called when
 * there is), or EVENT_SUB_END when the subscriber was dropped or the hub is
 * stopping. Never blocks.
 *
 * A subscriber whose next event is overwritten in the ring before it read
 * it is dropped at that moment (logged, counted in dropped_lagging): it
 * would miss events. Events its filter refuses never make it lag. */
ssize_t event_sub_read(struct event_sub *s, char *buf, size_t max);

/* Unsubscribe and free; wake is never called after this returns. */
void event_sub_close(struct event_sub *s);
