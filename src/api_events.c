/* GET /ocserv/events: connect and disconnect events as Server-Sent Events.
 *
 * The handler only checks the request and subscribes to the event hub, then
 * returns at once with a stream: the transport sends it from its polling
 * threads, so a subscriber costs no thread. Replay starts after the
 * Last-Event-ID header, else after ?since=; the header wins because a
 * reconnecting EventSource sends it while the URL still holds the since=
 * of the first connection. Resync events (the agent may have missed
 * events) reach every subscriber, whatever its filters. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "events.h"
#include "validate.h"

#define EVENTS_RETRY_AFTER_S 5 /* Retry-After of a refusal at the subscriber cap */

/* One subscriber: the hub's subscription and the transport's handle. */
struct events_stream {
	struct event_sub *sub;
	_Atomic(struct http_stream *) h; /* NULL until attach */
};

/* The hub's wake (under the hub's lock): only signals. Before attach there
 * is nothing to wake, and the first read comes after attach anyway. */
static void es_wake(void *arg)
{
	struct events_stream *es = arg;
	struct http_stream *h = atomic_load(&es->h);

	if (h != NULL)
		http_stream_wake(h);
}

static void es_attach(void *ctx, struct http_stream *h)
{
	struct events_stream *es = ctx;

	atomic_store(&es->h, h);
}

static ssize_t es_read(void *ctx, char *buf, size_t max)
{
	struct events_stream *es = ctx;
	ssize_t n = event_sub_read(es->sub, buf, max);

	return n == EVENT_SUB_END ? HTTP_STREAM_END : n;
}

/* After event_sub_close() the hub never wakes es again: free it. */
static void es_close(void *ctx)
{
	struct events_stream *es = ctx;

	event_sub_close(es->sub);
	free(es);
}

static const struct http_stream_ops events_stream_ops = {
	.content_type = "text/event-stream; charset=utf-8",
	.attach = es_attach,
	.read = es_read,
	.close = es_close,
};

/* An event id as sent: 1 to 20 decimal digits, no sign, no overflow. */
static bool parse_event_id(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 20 || strspn(s, "0123456789") != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret = v;
	return true;
}

/* ?type=connect,disconnect,resync (any non-empty subset). */
static int parse_types(const char *s, unsigned *ret, struct api_reply *rp)
{
	static const struct {
		const char *name;
		unsigned bit;
	} types[] = {{"connect", EVENT_CONNECT},
		     {"disconnect", EVENT_DISCONNECT},
		     {"resync", EVENT_RESYNC}};
	unsigned bits = 0;

	for (const char *p = s;; p++) {
		size_t n = strcspn(p, ","), i;

		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strlen(types[i].name) == n && strncmp(p, types[i].name, n) == 0)
				break;
		if (i == sizeof(types) / sizeof(types[0]))
			return api_fail(rp, ERR_BAD_REQUEST,
					"type must be a comma-separated list of connect, "
					"disconnect and resync");
		bits |= types[i].bit;
		p += n;
		if (*p == '\0')
			break;
	}
	/* A subscriber that may have missed events must learn it. */
	*ret = bits | EVENT_RESYNC;
	return 0;
}

/* Where replay starts: Last-Event-ID wins over ?since=; both are checked. */
static int parse_replay(const struct http_request *rq, bool *replay, uint64_t *since,
			struct api_reply *rp)
{
	const char *s = http_request_query(rq, "since");
	uint64_t from_header = 0, from_query = 0;

	if (rq->last_event_id_invalid ||
	    (rq->last_event_id != NULL && !parse_event_id(rq->last_event_id, &from_header)))
		return api_fail(rp, ERR_BAD_REQUEST,
				"Last-Event-ID must be an event id (decimal digits, at most 20)");
	if (s != NULL && !parse_event_id(s, &from_query))
		return api_fail(rp, ERR_BAD_REQUEST,
				"since must be an event id (decimal digits, at most 20)");
	*replay = rq->last_event_id != NULL || s != NULL;
	*since = rq->last_event_id != NULL ? from_header : from_query;
	return 0;
}

static int parse_filter(const struct http_request *rq, struct event_filter *f, struct api_reply *rp)
{
	const char *type = http_request_query(rq, "type"), *why;
	int r;

	f->types = 0;
	f->username = http_request_query(rq, "username");
	if (type != NULL && (r = parse_types(type, &f->types, rp)) < 0)
		return r;
	if (f->username != NULL && (why = validate_username(f->username)) != NULL)
		return api_fail(rp, ERR_BAD_REQUEST, "username: %s", why);
	return 0;
}

static int subscribe(struct agent *ag, const struct event_filter *f, bool replay, uint64_t since,
		     struct api_reply *rp)
{
	struct events_stream *es = calloc(1, sizeof(*es));
	int r;

	if (es == NULL)
		return err_set(&rp->ei, ERR_NOMEM, "out of memory");
	r = event_hub_subscribe(ag->events, f, replay, since, es_wake, es, &es->sub);
	if (r < 0) {
		free(es);
		if (r == ERR_TOO_MANY) {
			rp->retry_after = EVENTS_RETRY_AFTER_S;
			return api_fail(rp, r,
					"too many event subscribers (at most %u); retry later",
					ag->cfg->events_max_subscribers);
		}
		return err_set(&rp->ei, r, "subscribing to the event hub");
	}
	rp->stream = &events_stream_ops;
	rp->stream_ctx = es;
	return 0;
}

static int handle_events(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	struct event_filter f;
	uint64_t since = 0;
	bool replay = false;
	int r;

	(void)params;
	if ((r = parse_filter(rq, &f, rp)) < 0 || (r = parse_replay(rq, &replay, &since, rp)) < 0)
		return r;
	if (ag->events == NULL)
		return api_fail(rp, ERR_NOT_SUPPORTED,
				"the event stream is not enabled on this agent");
	return subscribe(ag, &f, replay, since, rp);
}

const struct api_route api_route_events = {"GET", "/ocserv/events", handle_events};
