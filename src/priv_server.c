#include "priv_server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "priv_wire.h"
#include "request_id.h"

/* Calls run on worker threads that stay for the next call a while:
 * starting a thread for each call cost milliseconds on a busy host. */
#define WORKER_IDLE_SECONDS 30

/* One CALL, queued or running. */
struct call {
	struct priv_frame f;
	struct call *next;
};

/* A worker thread waiting for a call: the call is handed to it directly,
 * so a burst of calls wakes as many workers as there are calls. */
struct worker {
	pthread_cond_t wake;
	struct call *call; /* set by whoever wakes it */
	struct worker *next;
};

/* What a new worker thread starts with. */
struct start {
	struct priv_server *s;
	struct call *c;
};

struct priv_server {
	int fd;
	struct priv_root *r;
	pthread_mutex_t write_lock; /* one frame at a time on fd */
	pthread_mutex_t lock;	    /* what follows */
	pthread_cond_t idle;	    /* running reached 0 */
	pthread_cond_t gone;	    /* workers reached 0 */
	unsigned running;	    /* calls queued or running */
	unsigned workers;	    /* worker threads */
	struct worker *waiting;	    /* workers without a call (a stack) */
	struct call *head, *tail;   /* calls no worker could take yet */
	bool stopping;		    /* workers leave */
	bool broken;		    /* a call's arguments broke the protocol */
	struct err_info why;	    /* ... how */
};

static const char *rid_or_null(const char *rid)
{
	return rid[0] != '\0' ? rid : NULL;
}

static const char *op_name(enum priv_op op)
{
	return priv_op_name(op) != NULL ? priv_op_name(op) : "?";
}

static int write_frame(struct priv_server *s, const struct priv_frame *f, struct err_info *ei)
{
	uint8_t *buf;
	size_t len;
	int r;

	if ((r = priv_wire_encode(f, &buf, &len, ei)) < 0)
		return r;
	pthread_mutex_lock(&s->write_lock);
	r = priv_wire_write(s->fd, buf, len, ei);
	pthread_mutex_unlock(&s->write_lock);
	explicit_bzero(buf, len); /* results may hold secrets */
	free(buf);
	return r;
}

/* The REPLY payload of a failure (pe->extra taken). */
static json_t *error_payload(struct priv_error *pe)
{
	json_t *p = json_pack("{s:s, s:s}", "message", pe->message, "detail", pe->ei.detail);

	if (p != NULL && json_is_object(pe->extra))
		json_object_set(p, "extra", pe->extra);
	if (p != NULL && pe->retry_after > 0)
		json_object_set_new(p, "retryAfter", json_integer(pe->retry_after));
	priv_error_clear(pe);
	return p;
}

/* Write f with payload p (taken). */
static int write_payload(struct priv_server *s, struct priv_frame *f, json_t *p,
			 struct err_info *ei)
{
	int r;

	f->payload = p;
	r = p != NULL ? write_frame(s, f, ei) : err_set(ei, ERR_NOMEM, "no memory for the reply");
	priv_frame_clear(f);
	return r;
}

/* Stop reading: the session cannot go on (ei). */
static void break_session(struct priv_server *s, const struct err_info *ei)
{
	pthread_mutex_lock(&s->lock);
	if (!s->broken) {
		s->broken = true;
		s->why = *ei;
	}
	pthread_mutex_unlock(&s->lock);
	shutdown(s->fd, SHUT_RD); /* the reader wakes; replies still go out */
}

/* Write the REPLY to call (seq, op, request id) with result (taken) or
 * the failure err. A result that cannot cross becomes ERR_INTERNAL; when
 * not even that can be sent, the caller would wait for ever: the session
 * ends instead. */
static void reply(struct priv_server *s, const struct priv_frame *call, int err, json_t *result,
		  struct priv_error *pe)
{
	struct priv_frame f = {.kind = PRIV_KIND_REPLY, .op = call->op, .seq = call->seq};
	struct err_info ei = {""};
	int r;

	memcpy(f.request_id, call->request_id, REQUEST_ID_LEN);
	f.status = err;
	if (err != 0)
		json_decref(result);
	r = write_payload(s, &f,
			  err == 0 ? json_pack("{s:o}", "result", result) : error_payload(pe), &ei);
	if (r == ERR_PRIV_PROTOCOL || r == ERR_NOMEM) {
		log_msg(LOG_ERR, rid_or_null(call->request_id), "priv reply op=%s seq=%u: %s",
			op_name(call->op), call->seq, ei.detail);
		f.status = r == ERR_NOMEM ? ERR_NOMEM : ERR_INTERNAL;
		r = write_payload(s, &f,
				  json_pack("{s:s, s:s}", "message",
					    r == ERR_NOMEM ? "" : "The result cannot be returned.",
					    "detail", ei.detail),
				  &ei);
		if (r == ERR_PRIV_PROTOCOL || r == ERR_NOMEM)
			break_session(s, &ei);
	}
	if (r < 0)
		log_msg(LOG_DEBUG, rid_or_null(call->request_id), "priv reply not sent: %s",
			ei.detail);
}

static void log_result(const struct priv_frame *f, int r, const struct priv_error *pe)
{
	char q[sizeof(pe->ei.detail) + 64];
	bool refused = r == ERR_PRIV_PROTOCOL || r == ERR_BAD_REQUEST || r == ERR_TOO_MANY;

	/* What changed something is logged by this process too: a record that
	 * a compromised api process cannot leave out. Reads that went well are
	 * not logged (the api process logs each request). */
	if (r == 0) {
		if (priv_op_audited(f->op))
			log_msg(LOG_NOTICE, rid_or_null(f->request_id), "priv done op=%s seq=%u",
				op_name(f->op), f->seq);
		return;
	}
	log_msg(refused ? LOG_WARNING : LOG_INFO, rid_or_null(f->request_id),
		"priv %s op=%s seq=%u code=%s detail=\"%s\"", refused ? "refused" : "failed",
		op_name(f->op), f->seq, r == ERR_PRIV_PROTOCOL ? "PRIV_PROTOCOL" : err_code(r),
		log_quote(pe->ei.detail, q, sizeof(q)));
}

static void run_call(struct priv_server *s, struct call *c)
{
	struct priv_error pe = {0};
	json_t *result = NULL;
	int r;

	request_id_set_current(c->f.request_id);
	r = priv_dispatch(s->r, rid_or_null(c->f.request_id), c->f.op, c->f.payload, &result, &pe);
	log_result(&c->f, r, &pe);
	if (r == ERR_PRIV_PROTOCOL)
		break_session(s, &pe.ei);
	reply(s, &c->f, r, result, &pe);
	priv_error_clear(&pe);
	priv_frame_clear(&c->f);
	free(c);
}

static void unlink_waiting(struct priv_server *s, struct worker *w)
{
	for (struct worker **p = &s->waiting; *p != NULL; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

/* The next call for worker w: a queued one, else one handed to it within
 * WORKER_IDLE_SECONDS; NULL: w leaves (idle too long, or stopping).
 * Called locked. */
static struct call *next_call(struct priv_server *s, struct worker *w)
{
	struct timespec until;
	struct call *c = s->head;

	if (c != NULL) {
		if ((s->head = c->next) == NULL)
			s->tail = NULL;
		return c;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WORKER_IDLE_SECONDS;
	w->call = NULL;
	w->next = s->waiting;
	s->waiting = w;
	while (w->call == NULL && !s->stopping)
		if (pthread_cond_timedwait(&w->wake, &s->lock, &until) != 0 && w->call == NULL)
			break;
	if (w->call == NULL)
		unlink_waiting(s, w);
	return w->call;
}

static void *worker_main(void *arg)
{
	struct start *st = arg;
	struct priv_server *s = st->s;
	struct call *c = st->c;
	struct worker w = {.call = NULL};

	free(st);
	pthread_cond_init(&w.wake, NULL);
	pthread_mutex_lock(&s->lock);
	do {
		pthread_mutex_unlock(&s->lock);
		run_call(s, c);
		pthread_mutex_lock(&s->lock);
		if (--s->running == 0)
			pthread_cond_broadcast(&s->idle);
	} while ((c = next_call(s, &w)) != NULL);
	if (--s->workers == 0)
		pthread_cond_broadcast(&s->gone);
	pthread_mutex_unlock(&s->lock);
	pthread_cond_destroy(&w.wake);
	return NULL;
}

/* Give c to a waiting worker, else to a new one. Called locked. */
static bool hand_over(struct priv_server *s, struct call *c)
{
	struct worker *w = s->waiting;
	pthread_attr_t attr;
	struct start *st;
	pthread_t t;
	bool ok;

	if (w != NULL) {
		s->waiting = w->next;
		w->call = c;
		pthread_cond_signal(&w->wake);
		return true;
	}
	if ((st = malloc(sizeof(*st))) == NULL)
		return false;
	*st = (struct start){s, c};
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ok = pthread_create(&t, &attr, worker_main, st) == 0;
	pthread_attr_destroy(&attr);
	if (ok)
		s->workers++;
	else
		free(st);
	return ok;
}

/* Refuse a call at once (too many running, no thread). */
static void refuse(struct priv_server *s, const struct priv_frame *f, int err, const char *why)
{
	struct priv_error pe = {0};

	snprintf(pe.ei.detail, sizeof(pe.ei.detail), "%s", why);
	log_result(f, err, &pe);
	reply(s, f, err, NULL, &pe);
}

/* Start c on a worker; NULL, or why it cannot run. Called locked. */
static const char *enqueue(struct priv_server *s, struct call *c)
{
	if (s->running >= PRIV_SERVER_MAX_CALLS)
		return "too many calls at once";
	if (hand_over(s, c)) {
		s->running++;
		return NULL;
	}
	if (s->workers == 0)
		return "no thread for the call";
	/* no new thread: a busy worker takes it when its call is done */
	*(s->tail ? &s->tail->next : &s->head) = c;
	s->tail = c;
	s->running++;
	return NULL;
}

/* Queue f (taken) for a worker. */
static void start_call(struct priv_server *s, struct priv_frame *f)
{
	struct call *c = calloc(1, sizeof(*c));
	const char *why = "no memory for the call";

	if (c != NULL) {
		c->f = *f;
		pthread_mutex_lock(&s->lock);
		why = enqueue(s, c);
		pthread_mutex_unlock(&s->lock);
		if (why == NULL)
			return;
		free(c);
	}
	refuse(s, f, ERR_TOO_MANY, why);
	priv_frame_clear(f);
}

struct priv_server *priv_server_new(int fd, struct priv_root *r)
{
	struct priv_server *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->fd = fd;
	s->r = r;
	pthread_mutex_init(&s->write_lock, NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	pthread_cond_init(&s->gone, NULL);
	return s;
}

int priv_server_run(struct priv_server *s, struct err_info *ei)
{
	struct priv_frame f = {0};
	struct err_info rei = {""};
	int r;

	while ((r = priv_wire_read(s->fd, true, &f, &rei)) == 0) {
		bool broken;

		pthread_mutex_lock(&s->lock);
		broken = s->broken;
		pthread_mutex_unlock(&s->lock);
		if (broken) { /* a call already broke it: no more */
			priv_frame_clear(&f);
			break;
		}
		start_call(s, &f);
	}
	pthread_mutex_lock(&s->lock);
	while (s->running > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	s->stopping = true;
	for (struct worker *w = s->waiting; w != NULL; w = w->next)
		pthread_cond_signal(&w->wake);
	while (s->workers > 0)
		pthread_cond_wait(&s->gone, &s->lock);
	if (s->broken) {
		rei = s->why;
		r = ERR_PRIV_PROTOCOL;
	} else if (r < 0) {
		log_msg(LOG_WARNING, NULL, "priv session ends: %s", rei.detail);
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0 && ei != NULL)
		*ei = rei;
	return r;
}

int priv_server_send(struct priv_server *s, int kind, const json_t *payload, struct err_info *ei)
{
	struct priv_frame f = {.kind = (enum priv_kind)kind, .payload = (json_t *)payload};
	int r;

	if (kind != PRIV_KIND_EVENT && kind != PRIV_KIND_TLS)
		return err_set(ei, ERR_INTERNAL, "kind %d is not sent this way", kind);
	r = write_frame(s, &f, ei);
	return r < 0 ? ERR_INTERNAL : 0;
}

void priv_server_free(struct priv_server *s)
{
	if (s == NULL)
		return;
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->gone);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->write_lock);
	free(s);
}
