#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "secmem.h"
#include "timefmt.h"
#include "utf8.h"

#define SSE_OK	      ": ok\n\n"
#define SSE_HEARTBEAT ": heartbeat\n\n"

/* ---- the event model ------------------------------------------------------------- */

static int64_t now_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct event *event_new(enum event_type type)
{
	struct event *ev = calloc(1, sizeof(*ev));

	if (ev == NULL)
		return NULL;
	ev->type = type;
	ev->time_ms = now_epoch_ms();
	ev->vpn_session_id = -1;
	ev->reason_code = -1;
	ev->rx_bytes = ev->tx_bytes = ev->duration_seconds = -1;
	return ev;
}

void event_free(struct event *ev)
{
	if (ev == NULL)
		return;
	free(ev->username);
	free(ev->groupname);
	free(ev->vhost);
	free(ev->client_ip);
	free(ev->ip);
	free(ev->device);
	free(ev->reason_text);
	free(ev);
}

/* A copy of a hook value; empty means unset (ocserv exports empty
 * variables for what it does not know). */
static int hook_str(const struct hook_event *he, const char *key, char **ret)
{
	const char *v = hook_event_get(he, key);

	if (v == NULL || v[0] == '\0')
		return 0;
	*ret = strdup(v);
	return *ret ? 0 : ERR_NOMEM;
}

/* A non-negative decimal hook value into *ret (left alone when unset). */
static int hook_num(const struct hook_event *he, const char *key, int64_t *ret)
{
	const char *v = hook_event_get(he, key);
	char *end;
	long long n;

	if (v == NULL || v[0] == '\0')
		return 0;
	if (v[0] < '0' || v[0] > '9')
		return ERR_BAD_REQUEST;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return ERR_BAD_REQUEST;
	*ret = n;
	return 0;
}

static int hook_type(const struct hook_event *he, enum event_type *ret)
{
	const char *r = hook_event_get(he, "REASON");

	if (r != NULL && strcmp(r, "connect") == 0)
		*ret = EVENT_CONNECT;
	else if (r != NULL && strcmp(r, "disconnect") == 0)
		*ret = EVENT_DISCONNECT;
	else
		return ERR_BAD_REQUEST;
	return 0;
}

int event_from_hook(const struct hook_event *he, struct event **ret)
{
	enum event_type type;
	struct event *ev;
	int r;

	if ((r = hook_type(he, &type)) < 0)
		return r;
	if ((ev = event_new(type)) == NULL)
		return ERR_NOMEM;
	if ((r = hook_num(he, "ID", &ev->vpn_session_id)) < 0 ||
	    (r = hook_num(he, "STATS_BYTES_IN", &ev->rx_bytes)) < 0 ||
	    (r = hook_num(he, "STATS_BYTES_OUT", &ev->tx_bytes)) < 0 ||
	    (r = hook_num(he, "STATS_DURATION", &ev->duration_seconds)) < 0 ||
	    (r = hook_str(he, "USERNAME", &ev->username)) < 0 ||
	    (r = hook_str(he, "GROUPNAME", &ev->groupname)) < 0 ||
	    (r = hook_str(he, "VHOST", &ev->vhost)) < 0 ||
	    (r = hook_str(he, "IP_REAL", &ev->client_ip)) < 0 ||
	    (r = hook_str(he, "IP_REMOTE", &ev->ip)) < 0 ||
	    (ev->ip == NULL && (r = hook_str(he, "IPV6_REMOTE", &ev->ip)) < 0) ||
	    (r = hook_str(he, "DEVICE", &ev->device)) < 0) {
		event_free(ev);
		return r;
	}
	/* ocserv's IDs are worker pids: 0 or beyond int32 is not one. */
	if (ev->vpn_session_id == 0 || ev->vpn_session_id > INT32_MAX) {
		event_free(ev);
		return ERR_BAD_REQUEST;
	}
	*ret = ev;
	return 0;
}

static const char *type_name(enum event_type t)
{
	switch (t) {
	case EVENT_CONNECT:
		return "connect";
	case EVENT_DISCONNECT:
		return "disconnect";
	case EVENT_RESYNC:
		return "resync";
	}
	return "unknown";
}

/* Set key to a number, or null when it is absent (-1). Returns -1 on ENOMEM. */
static int set_int(json_t *o, const char *key, int64_t v)
{
	return json_object_set_new(o, key, v < 0 ? json_null() : json_integer(v));
}

/* Set key to an untrusted string (any bytes: invalid UTF-8 becomes U+FFFD). */
static int set_str(json_t *o, const char *key, const char *s)
{
	return json_object_set_new(o, key, utf8_json_string(s));
}

static json_t *reason_json(const struct event *ev)
{
	json_t *r;

	if (ev->reason_code < 0 && ev->reason_text == NULL)
		return json_null();
	r = json_object();
	if (r != NULL &&
	    (set_int(r, "code", ev->reason_code) < 0 || set_str(r, "text", ev->reason_text) < 0)) {
		json_decref(r);
		return NULL;
	}
	return r;
}

static json_t *time_json(int64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000};
	char buf[32];

	if (ms < 0 || timefmt_iso8601(&ts, buf, sizeof(buf)) == NULL)
		return json_null();
	return json_string(buf);
}

char *event_to_json(const struct event *ev)
{
	json_t *o = json_object();
	char *text = NULL;

	if (o == NULL)
		return NULL;
	/* The synthetic replay resync has no id (id 0). */
	if (json_object_set_new(o, "id", ev->id ? json_integer((json_int_t)ev->id) : json_null()) ||
	    json_object_set_new(o, "type", json_string(type_name(ev->type))) ||
	    json_object_set_new(o, "time", time_json(ev->time_ms)) ||
	    set_int(o, "vpnSessionId", ev->vpn_session_id) ||
	    set_str(o, "username", ev->username) || set_str(o, "groupname", ev->groupname) ||
	    set_str(o, "vhost", ev->vhost) || set_str(o, "clientIp", ev->client_ip) ||
	    set_str(o, "ip", ev->ip) || set_str(o, "device", ev->device) ||
	    json_object_set_new(o, "reason", reason_json(ev)) ||
	    set_int(o, "rxBytes", ev->rx_bytes) || set_int(o, "txBytes", ev->tx_bytes) ||
	    set_int(o, "durationSeconds", ev->duration_seconds))
		goto out;
	/* Compact: jansson escapes every control character, so the text is
	 * one line, as an SSE data field must be. */
	text = secmem_json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return text;
}

/* The SSE message of ev: "id: N\nevent: TYPE\ndata: JSON\n\n" (no id line
 * when ev->id is 0). malloc'd into *ret, length in *len; ERR_NOMEM. */
static int render_sse(const struct event *ev, char **ret, size_t *len)
{
	char *json = event_to_json(ev), *msg = NULL;
	int n;

	if (json == NULL)
		return ERR_NOMEM;
	if (ev->id)
		n = asprintf(&msg, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", ev->id,
			     type_name(ev->type), json);
	else
		n = asprintf(&msg, "event: %s\ndata: %s\n\n", type_name(ev->type), json);
	free(json);
	if (n < 0)
		return ERR_NOMEM;
	*ret = msg;
	*len = (size_t)n;
	return 0;
}

/* ---- the hub --------------------------------------------------------------------- */

/* One published event: the event (for filters) and its rendered message. */
struct slot {
	struct event *ev;
	char *sse;
	size_t sse_len;
};

/* A disconnect waiting for the other source's report. */
struct held {
	struct event *ev;
	enum event_source src;
	int64_t deadline; /* monotonic ms */
	struct held *next;
};

struct event_sub {
	struct event_hub *h;
	struct event_sub *prev, *next;
	uint64_t cursor; /* the last id sent or skipped */
	unsigned types;
	char *username;
	char *pending; /* the replay resync message, sent after ": ok" */
	size_t pending_len;
	bool sent_ok, heartbeat_due, ended, want_wake;
	event_wake_fn *wake;
	void *arg;
};

struct event_hub {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* the timer thread's: stop, a newly held disconnect */
	pthread_t timer;
	struct event_hub_options o;
	struct slot *ring; /* o.capacity slots; id N is at (N - 1) % capacity */
	size_t count;	   /* slots in use */
	uint64_t last_id;
	struct event_sub *subs;
	struct held *held, **held_tail; /* in deadline order (FIFO: one wait for all) */
	unsigned refs;			/* the hub's own + one per subscriber */
	bool stopping, ctl_live, hook_heard;
	bool ctl_deaf; /* the hook reported a connect the live subscription did not */
	struct event_hub_stats st;
	void (*on_deaf)(void *arg); /* set before use, read without the lock */
	void *on_deaf_arg;
};

static uint64_t oldest_id(const struct event_hub *h)
{
	return h->count ? h->last_id - h->count + 1 : 0;
}

static bool filter_pass(const struct event_sub *s, const struct event *ev)
{
	if (ev->type == EVENT_RESYNC)
		return true;
	if (s->types != 0 && (s->types & (unsigned)ev->type) == 0)
		return false;
	return s->username == NULL || (ev->username && strcmp(ev->username, s->username) == 0);
}

/* Called with the lock held: s has something new to read. */
static void sub_signal(struct event_sub *s)
{
	if (s->want_wake) {
		s->want_wake = false;
		s->wake(s->arg);
	}
}

/* After publication of id: drop the subscribers whose next event was just
 * overwritten, move caught-up subscribers past an event their filter
 * refuses (so an idle filtered subscriber never falls behind), wake the
 * ones it is for. Returns the number dropped (logged by the caller, after
 * the lock). */
static unsigned fan_out(struct event_hub *h, const struct slot *sl)
{
	uint64_t oldest = oldest_id(h), id = sl->ev->id;
	unsigned dropped = 0;

	for (struct event_sub *s = h->subs; s != NULL; s = s->next) {
		if (s->ended)
			continue;
		if (s->cursor + 1 < oldest) {
			s->ended = true;
			dropped++;
			h->st.dropped_lagging++;
			sub_signal(s);
		} else if (s->cursor + 1 == id && !filter_pass(s, sl->ev)) {
			s->cursor = id;
		} else {
			sub_signal(s);
		}
	}
	return dropped;
}

/* Give ev (ownership passes) the next id, render it into the ring and fan
 * it out; with the lock held. ERR_NOMEM leaves the ring untouched (and
 * frees ev). *dropped counts subscribers dropped for lagging. */
static int publish_locked(struct event_hub *h, struct event *ev, unsigned *dropped)
{
	struct slot *sl;
	char *sse;
	size_t len;

	ev->id = h->last_id + 1;
	if (render_sse(ev, &sse, &len) < 0) {
		event_free(ev);
		return ERR_NOMEM;
	}
	h->last_id = ev->id;
	sl = &h->ring[(ev->id - 1) % h->o.capacity];
	event_free(sl->ev);
	free(sl->sse);
	*sl = (struct slot){ev, sse, len};
	if (h->count < h->o.capacity)
		h->count++;
	h->st.published++;
	h->st.last_event_ms = ev->time_ms;
	*dropped += fan_out(h, sl);
	return 0;
}

static void log_dropped(const struct event_hub *h, unsigned n)
{
	if (n > 0)
		log_warning(
			"events: dropped %u subscriber(s) that fell a whole buffer (%zu events) "
			"behind: reading too slowly",
			n, h->o.capacity);
}

/* Take the first held disconnect of vpn_session_id from the other source
 * (NULL when none). Lock held. */
static struct held *take_held(struct event_hub *h, enum event_source src, int64_t id)
{
	for (struct held **p = &h->held; *p != NULL; p = &(*p)->next) {
		struct held *x = *p;

		if (x->src == src || x->ev->vpn_session_id != id)
			continue;
		*p = x->next;
		if (h->held_tail == &x->next)
			h->held_tail = p;
		return x;
	}
	return NULL;
}

#define TAKE_STR(a, b, f)                \
	do {                             \
		if ((a)->f == NULL) {    \
			(a)->f = (b)->f; \
			(b)->f = NULL;   \
		}                        \
	} while (0)
#define TAKE_INT(a, b, f)                \
	do {                             \
		if ((a)->f < 0)          \
			(a)->f = (b)->f; \
	} while (0)

/* One disconnect out of the subscription's (reason) and the hook's
 * (usage) reports: the subscription's fields first, gaps filled from the
 * hook's; the time of the first report. Frees hook. */
static struct event *merge(struct event *ctl, struct event *hook, int64_t time_ms)
{
	TAKE_STR(ctl, hook, username);
	TAKE_STR(ctl, hook, groupname);
	TAKE_STR(ctl, hook, vhost);
	TAKE_STR(ctl, hook, client_ip);
	TAKE_STR(ctl, hook, ip);
	TAKE_STR(ctl, hook, device);
	TAKE_STR(ctl, hook, reason_text);
	TAKE_INT(ctl, hook, reason_code);
	TAKE_INT(ctl, hook, rx_bytes);
	TAKE_INT(ctl, hook, tx_bytes);
	TAKE_INT(ctl, hook, duration_seconds);
	ctl->time_ms = time_ms;
	event_free(hook);
	return ctl;
}

/* A disconnect while both sources are active: merge it with the other
 * source's held report, or hold it. Lock held; ev's ownership passes. */
static int disconnect_locked(struct event_hub *h, enum event_source src, struct event *ev,
			     unsigned *dropped)
{
	struct held *x = take_held(h, src, ev->vpn_session_id);

	if (x != NULL) {
		int64_t t = x->ev->time_ms;
		struct event *m = src == EVENT_FROM_CTL ? merge(ev, x->ev, t) : merge(x->ev, ev, t);

		free(x);
		return publish_locked(h, m, dropped);
	}
	if ((x = malloc(sizeof(*x))) == NULL) {
		event_free(ev);
		return ERR_NOMEM;
	}
	*x = (struct held){ev, src, timefmt_mono_ms() + h->o.usage_wait_ms, NULL};
	*h->held_tail = x;
	h->held_tail = &x->next;
	pthread_cond_signal(&h->cond); /* the timer may sleep past this deadline */
	return 0;
}

/* How far back a second report of a published event is recognised. */
#define RECENT_EVENTS 256

/* Was an event of ev's type and session published among the last
 * RECENT_EVENTS events, less than usage_wait_ms + 60 s before ev? Then ev
 * is the other source's report of it, come too late to be merged (a
 * disconnect whose wait ran out, or that came before the hook was heard
 * from) or to be needed (a connect): publishing it would count the session
 * twice. Lock held. */
static bool published_locked(const struct event_hub *h, const struct event *ev)
{
	size_t n = h->count < RECENT_EVENTS ? h->count : RECENT_EVENTS;
	int64_t since = ev->time_ms - (int64_t)h->o.usage_wait_ms - 60000;

	for (size_t i = 0; i < n; i++) {
		const struct event *p = h->ring[(h->last_id - 1 - i) % h->o.capacity].ev;

		if (p->type == ev->type && p->vpn_session_id == ev->vpn_session_id &&
		    p->time_ms >= since)
			return true;
	}
	return false;
}

/* A connect from the hook while the subscription is live. ocserv sends the
 * subscription's connect before it runs the connect-script, so normally it
 * is published already and the hook's is dropped. When it is not, the
 * subscription is deaf (ocserv keeps one subscriber and another, such as
 * `occtl show events`, held it when the agent subscribed): publish the
 * hook's and flag the subscription for renewal. Lock held. */
static int hook_connect_locked(struct event_hub *h, struct event *ev, unsigned *dropped)
{
	if (ev->vpn_session_id <= 0 || published_locked(h, ev)) {
		event_free(ev);
		return 0;
	}
	if (!h->ctl_deaf)
		h->st.ctl_missed++;
	h->ctl_deaf = true;
	return publish_locked(h, ev, dropped);
}

static int ingest_locked(struct event_hub *h, enum event_source src, struct event *ev,
			 unsigned *dropped)
{
	if (src == EVENT_FROM_HOOK)
		h->hook_heard = true;
	if (h->stopping) {
		event_free(ev);
		return 0;
	}
	if (ev->type == EVENT_CONNECT && src == EVENT_FROM_HOOK && h->ctl_live)
		return hook_connect_locked(h, ev, dropped);
	if (ev->type != EVENT_RESYNC && h->ctl_live && h->hook_heard && ev->vpn_session_id > 0 &&
	    published_locked(h, ev)) {
		event_free(ev); /* the other source's report of a published event */
		return 0;
	}
	if (ev->type == EVENT_DISCONNECT && h->ctl_live && h->hook_heard &&
	    ev->vpn_session_id > 0 && h->o.usage_wait_ms > 0)
		return disconnect_locked(h, src, ev, dropped);
	return publish_locked(h, ev, dropped);
}

int event_hub_ingest(struct event_hub *h, enum event_source src, struct event *ev)
{
	unsigned dropped = 0;
	uint64_t missed;
	int r;

	pthread_mutex_lock(&h->lock);
	missed = h->st.ctl_missed;
	r = ingest_locked(h, src, ev, &dropped);
	missed = h->st.ctl_missed - missed; /* 1 when it turned deaf just now */
	pthread_mutex_unlock(&h->lock);
	log_dropped(h, dropped);
	if (missed > 0 && h->on_deaf != NULL)
		h->on_deaf(h->on_deaf_arg);
	return r;
}

bool event_hub_ctl_deaf(struct event_hub *h)
{
	bool deaf;

	pthread_mutex_lock(&h->lock);
	deaf = h->ctl_live && h->ctl_deaf;
	pthread_mutex_unlock(&h->lock);
	return deaf;
}

void event_hub_on_deaf(struct event_hub *h, void (*fn)(void *arg), void *arg)
{
	h->on_deaf = fn;
	h->on_deaf_arg = arg;
}

void event_hub_set_ctl_live(struct event_hub *h, bool live)
{
	pthread_mutex_lock(&h->lock);
	h->ctl_live = live;
	h->ctl_deaf = false;
	pthread_mutex_unlock(&h->lock);
}

void event_hub_stats(struct event_hub *h, struct event_hub_stats *ret)
{
	pthread_mutex_lock(&h->lock);
	*ret = h->st;
	ret->last_id = h->last_id;
	ret->oldest_id = oldest_id(h);
	ret->ctl_live = h->ctl_live;
	ret->hook_heard = h->hook_heard;
	ret->ctl_deaf = h->ctl_deaf;
	pthread_mutex_unlock(&h->lock);
}

/* ---- the timer thread: heartbeats and held disconnects ---------------------------- */

static void heartbeat_locked(struct event_hub *h)
{
	for (struct event_sub *s = h->subs; s != NULL; s = s->next) {
		s->heartbeat_due = true;
		sub_signal(s);
	}
}

/* Publish the held disconnects whose wait is over. Lock held. */
static unsigned expire_held_locked(struct event_hub *h, int64_t now)
{
	unsigned dropped = 0;

	while (h->held != NULL && h->held->deadline <= now) {
		struct held *x = h->held;

		h->held = x->next;
		if (h->held == NULL)
			h->held_tail = &h->held;
		(void)publish_locked(h, x->ev, &dropped); /* ENOMEM: lost, nothing to tell */
		free(x);
	}
	return dropped;
}

static void cond_wait_until(struct event_hub *h, int64_t mono_ms)
{
	struct timespec ts = {.tv_sec = (time_t)(mono_ms / 1000),
			      .tv_nsec = (long)(mono_ms % 1000) * 1000000};

	pthread_cond_timedwait(&h->cond, &h->lock, &ts);
}

static void *timer_main(void *arg)
{
	struct event_hub *h = arg;
	int64_t next_hb = timefmt_mono_ms() + h->o.heartbeat_ms;

	pthread_mutex_lock(&h->lock);
	while (!h->stopping) {
		int64_t now = timefmt_mono_ms(), wake_at = INT64_MAX;
		unsigned dropped;

		if (h->o.heartbeat_ms > 0 && now >= next_hb) {
			heartbeat_locked(h);
			next_hb = now + h->o.heartbeat_ms;
		}
		dropped = expire_held_locked(h, now);
		if (dropped > 0) {
			pthread_mutex_unlock(&h->lock);
			log_dropped(h, dropped);
			pthread_mutex_lock(&h->lock);
			continue;
		}
		if (h->o.heartbeat_ms > 0)
			wake_at = next_hb;
		if (h->held != NULL && h->held->deadline < wake_at)
			wake_at = h->held->deadline;
		if (wake_at == INT64_MAX)
			pthread_cond_wait(&h->cond, &h->lock);
		else
			cond_wait_until(h, wake_at);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* ---- lifetime -------------------------------------------------------------------- */

static void hub_destroy(struct event_hub *h)
{
	for (size_t i = 0; i < h->o.capacity; i++) {
		event_free(h->ring[i].ev);
		free(h->ring[i].sse);
	}
	while (h->held != NULL) {
		struct held *x = h->held;

		h->held = x->next;
		event_free(x->ev);
		free(x);
	}
	free(h->ring);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int hub_init_sync(struct event_hub *h)
{
	pthread_condattr_t ca;
	int r;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0)
		return -1;
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		pthread_cond_destroy(&h->cond);
		return -1;
	}
	return 0;
}

struct event_hub *event_hub_new(const struct event_hub_options *o, struct err_info *ei)
{
	struct event_hub *h;
	int r;

	if (o->capacity == 0) {
		err_set(ei, ERR_INTERNAL, "events: the buffer needs at least one event");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->ring = calloc(o->capacity, sizeof(*h->ring))) == NULL) {
		if (h != NULL)
			free(h);
		err_set(ei, ERR_NOMEM, "events: out of memory");
		return NULL;
	}
	h->o = *o;
	h->held_tail = &h->held;
	h->refs = 1;
	h->st.last_event_ms = -1;
	if (hub_init_sync(h) < 0) {
		free(h->ring);
		free(h);
		err_set(ei, ERR_INTERNAL, "events: cannot create a lock");
		return NULL;
	}
	if ((r = pthread_create(&h->timer, NULL, timer_main, h)) != 0) {
		err_set(ei, ERR_INTERNAL, "events: cannot start the timer thread: %s", strerror(r));
		hub_destroy(h);
		return NULL;
	}
	return h;
}

/* Drop one reference (lock held on entry, released here); the last frees. */
static void hub_unref_unlock(struct event_hub *h)
{
	bool last = --h->refs == 0;

	pthread_mutex_unlock(&h->lock);
	if (last)
		hub_destroy(h);
}

void event_hub_free(struct event_hub *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	for (struct event_sub *s = h->subs; s != NULL; s = s->next) {
		s->ended = true;
		s->want_wake = true; /* every subscriber hears of the end */
		sub_signal(s);
	}
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->timer, NULL);
	pthread_mutex_lock(&h->lock);
	hub_unref_unlock(h);
}

/* ---- subscribers ----------------------------------------------------------------- */

/* The synthetic resync of a replay that cannot be complete, into s->pending. */
static int replay_gap(struct event_sub *s, const char *why)
{
	struct event *ev = event_new(EVENT_RESYNC);
	int r;

	if (ev == NULL || (ev->reason_text = strdup(why)) == NULL) {
		event_free(ev);
		return ERR_NOMEM;
	}
	r = render_sse(ev, &s->pending, &s->pending_len);
	event_free(ev);
	return r;
}

/* Where a new subscriber starts; lock held. */
static int sub_start(struct event_hub *h, struct event_sub *s, bool replay, uint64_t since_id)
{
	uint64_t oldest = oldest_id(h);

	s->cursor = h->last_id;
	if (!replay)
		return 0;
	if (since_id > h->last_id) {
		/* An id this hub never gave: the agent restarted since. */
		s->cursor = oldest ? oldest - 1 : 0;
		return replay_gap(s,
				  "unknown event id (the agent restarted?): events may be missing");
	}
	s->cursor = since_id;
	if (oldest != 0 && since_id + 1 < oldest) {
		s->cursor = oldest - 1;
		return replay_gap(s, "events after the requested id are no longer buffered");
	}
	return 0;
}

static void sub_free(struct event_sub *s)
{
	free(s->username);
	free(s->pending);
	free(s);
}

int event_hub_subscribe(struct event_hub *h, const struct event_filter *f, bool replay,
			uint64_t since_id, event_wake_fn *wake, void *arg, struct event_sub **ret)
{
	char *user = NULL;
	struct event_sub *s;
	int r = 0;

	if (f && f->username && (user = strdup(f->username)) == NULL)
		return ERR_NOMEM;
	if ((s = malloc(sizeof(*s))) == NULL) {
		free(user);
		return ERR_NOMEM;
	}
	*s = (struct event_sub){
		.h = h, .types = f ? f->types : 0, .username = user, .wake = wake, .arg = arg};
	pthread_mutex_lock(&h->lock);
	if (h->stopping)
		r = ERR_SHUTTING_DOWN;
	else if (h->st.subscribers >= h->o.max_subscribers) {
		h->st.refused_subscribers++;
		r = ERR_TOO_MANY;
	} else if ((r = sub_start(h, s, replay, since_id)) == 0) {
		s->next = h->subs;
		if (h->subs)
			h->subs->prev = s;
		h->subs = s;
		h->st.subscribers++;
		h->refs++;
	}
	pthread_mutex_unlock(&h->lock);
	if (r < 0) {
		sub_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* Append len bytes if they fit. */
static bool put(char *buf, size_t max, size_t *n, const char *p, size_t len)
{
	if (*n + len > max)
		return false;
	memcpy(buf + *n, p, len);
	*n += len;
	return true;
}

/* Copy the events after the cursor that pass the filter, while they fit.
 * Lock held. Counts the events too large for any read in *skipped. */
static void copy_events(struct event_sub *s, char *buf, size_t max, size_t *n, unsigned *skipped)
{
	struct event_hub *h = s->h;

	while (s->cursor < h->last_id) {
		const struct slot *sl = &h->ring[s->cursor % h->o.capacity]; /* id cursor + 1 */

		if (filter_pass(s, sl->ev) && !put(buf, max, n, sl->sse, sl->sse_len)) {
			if (sl->sse_len <= max)
				return; /* the next read */
			(*skipped)++;
		}
		s->cursor++;
	}
}

ssize_t event_sub_read(struct event_sub *s, char *buf, size_t max)
{
	struct event_hub *h = s->h;
	unsigned skipped = 0;
	size_t n = 0;

	pthread_mutex_lock(&h->lock);
	if (s->ended) {
		pthread_mutex_unlock(&h->lock);
		return EVENT_SUB_END;
	}
	if (!s->sent_ok)
		s->sent_ok = put(buf, max, &n, SSE_OK, strlen(SSE_OK));
	if (s->sent_ok && s->pending && put(buf, max, &n, s->pending, s->pending_len)) {
		free(s->pending);
		s->pending = NULL;
	}
	if (s->sent_ok && s->pending == NULL)
		copy_events(s, buf, max, &n, &skipped);
	if (n == 0 && s->heartbeat_due)
		put(buf, max, &n, SSE_HEARTBEAT, strlen(SSE_HEARTBEAT));
	if (n > 0)
		s->heartbeat_due = false;
	else
		s->want_wake = true;
	pthread_mutex_unlock(&h->lock);
	if (skipped > 0)
		log_warning("events: skipped %u event(s) larger than a read of %zu bytes", skipped,
			    max);
	return (ssize_t)n;
}

void event_sub_close(struct event_sub *s)
{
	struct event_hub *h;

	if (s == NULL)
		return;
	h = s->h;
	pthread_mutex_lock(&h->lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->st.subscribers--;
	sub_free(s);
	hub_unref_unlock(h);
}
