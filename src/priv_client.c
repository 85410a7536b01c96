#include "priv_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "priv_wire.h"

/* One call waiting for its REPLY; lives on the caller's stack. */
struct waiter {
	uint32_t seq;
	enum priv_op op;
	bool done;
	int32_t status;
	json_t *payload; /* the REPLY's, checked by the reader */
	pthread_cond_t cond;
	struct waiter *next;
};

struct client {
	int fd;
	struct priv_client_hooks h;
	unsigned timeout_ms;
	pthread_t reader;
	pthread_mutex_t write_lock; /* one frame at a time on fd */
	pthread_mutex_t lock;	    /* what follows */
	struct waiter *waiters;
	uint32_t next_seq;
	bool lost;    /* the session is over: every call fails */
	bool closing; /* priv_free(): the end is ours, not lost() */
	char reason[sizeof(((struct err_info *)0)->detail)];
};

/* ---- the reader ---- */

static struct waiter *find_waiter(struct client *c, uint32_t seq)
{
	struct waiter *w = c->waiters;

	while (w != NULL && w->seq != seq)
		w = w->next;
	return w;
}

static bool key_is(const char *key, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(key, *allowed) == 0)
			return true;
	return false;
}

/* A REPLY payload has the shape priv_wire.h gives. */
static int check_reply(const struct priv_frame *f, struct err_info *ei)
{
	static const char *const ok_keys[] = {"result", NULL};
	static const char *const err_keys[] = {"message", "detail", "extra", "retryAfter", NULL};
	const json_t *p = f->payload, *ra = json_object_get(p, "retryAfter"), *v;
	const char *key;

	json_object_foreach((json_t *)p, key, v)
	{
		if (!key_is(key, f->status == 0 ? ok_keys : err_keys))
			return err_set(ei, ERR_PRIV_PROTOCOL, "reply %u: unexpected member",
				       f->seq);
	}
	if (f->status == 0)
		return json_object_get(p, "result") != NULL
			       ? 0
			       : err_set(ei, ERR_PRIV_PROTOCOL, "reply %u: no result", f->seq);
	if (!json_is_string(json_object_get(p, "message")) ||
	    !json_is_string(json_object_get(p, "detail")) ||
	    (json_object_get(p, "extra") != NULL && !json_is_object(json_object_get(p, "extra"))) ||
	    (ra != NULL && (!json_is_integer(ra) || json_integer_value(ra) < 0 ||
			    json_integer_value(ra) > 86400 * 365)))
		return err_set(ei, ERR_PRIV_PROTOCOL, "reply %u: malformed error", f->seq);
	return 0;
}

/* Hand a REPLY to its caller (f's payload taken on success). */
static int deliver(struct client *c, struct priv_frame *f, struct err_info *ei)
{
	struct waiter *w;
	int r;

	if ((r = check_reply(f, ei)) < 0)
		return r;
	pthread_mutex_lock(&c->lock);
	w = find_waiter(c, f->seq);
	if (w == NULL || w->done || w->op != f->op) {
		pthread_mutex_unlock(&c->lock);
		return err_set(ei, ERR_PRIV_PROTOCOL, "reply %u (op %d) to no waiting call", f->seq,
			       (int)f->op);
	}
	w->done = true;
	w->status = f->status;
	w->payload = f->payload;
	f->payload = NULL;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int handle(struct client *c, struct priv_frame *f, struct err_info *ei)
{
	switch (f->kind) {
	case PRIV_KIND_REPLY:
		return deliver(c, f, ei);
	case PRIV_KIND_EVENT:
		if (c->h.event != NULL)
			c->h.event(c->h.arg, f->payload);
		return 0;
	case PRIV_KIND_TLS:
		if (c->h.tls != NULL)
			c->h.tls(c->h.arg, f->payload);
		return 0;
	default:
		return err_set(ei, ERR_PRIV_PROTOCOL, "kind %d from the root side", (int)f->kind);
	}
}

/* The session is over: fail every waiter and every later call. Returns
 * whether lost() is to be called. */
static bool end_session(struct client *c, const char *reason)
{
	bool report;

	pthread_mutex_lock(&c->lock);
	c->lost = true;
	if (c->reason[0] == '\0')
		snprintf(c->reason, sizeof(c->reason), "%s", reason);
	for (struct waiter *w = c->waiters; w != NULL; w = w->next)
		pthread_cond_signal(&w->cond);
	report = !c->closing;
	pthread_mutex_unlock(&c->lock);
	return report;
}

static void *reader_main(void *arg)
{
	struct client *c = arg;
	struct priv_frame f = {0};
	struct err_info ei = {""};
	int r;

	while ((r = priv_wire_read(c->fd, false, &f, &ei)) == 0) {
		r = handle(c, &f, &ei);
		priv_frame_clear(&f);
		if (r < 0)
			break;
	}
	if (r == 1)
		snprintf(ei.detail, sizeof(ei.detail), "the root process closed the connection");
	if (end_session(c, ei.detail) && c->h.lost != NULL)
		c->h.lost(c->h.arg, c->reason);
	return NULL;
}

/* ---- calls ---- */

/* The request id as it may cross: our own ids always do; anything else is
 * dropped rather than failing the call. */
static void copy_request_id(char *dst, const char *rid)
{
	size_t n = rid != NULL ? strnlen(rid, REQUEST_ID_LEN) : 0;

	memset(dst, 0, REQUEST_ID_LEN);
	if (n == REQUEST_ID_LEN ||
	    strspn(rid != NULL ? rid : "", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789._-") != n)
		return;
	memcpy(dst, rid, n);
}

static void deadline_after(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* End the session from a calling thread (c->lock held): every waiter
 * fails now, and the reader, seeing the end of the stream, reports lost()
 * with this reason. */
static void break_session(struct client *c, const char *reason)
{
	if (c->reason[0] == '\0')
		snprintf(c->reason, sizeof(c->reason), "%s", reason);
	c->lost = true;
	for (struct waiter *w = c->waiters; w != NULL; w = w->next)
		pthread_cond_signal(&w->cond);
	shutdown(c->fd, SHUT_RDWR);
}

static const char *op_name(enum priv_op op)
{
	return priv_op_name(op) != NULL ? priv_op_name(op) : "?";
}

static void unlink_waiter(struct client *c, struct waiter *w)
{
	struct waiter **pp;

	for (pp = &c->waiters; *pp != w; pp = &(*pp)->next)
		;
	*pp = w->next;
}

/* Wait for w's reply (c->lock held); unlinks w. */
static void wait_reply(struct client *c, struct waiter *w)
{
	struct timespec until;
	char why[128];

	deadline_after(&until, c->timeout_ms);
	while (!w->done && !c->lost) {
		if (c->timeout_ms == 0) {
			pthread_cond_wait(&w->cond, &c->lock);
		} else if (pthread_cond_timedwait(&w->cond, &c->lock, &until) == ETIMEDOUT &&
			   !w->done) {
			snprintf(why, sizeof(why), "no reply to call %u (%s) within %u ms", w->seq,
				 op_name(w->op), c->timeout_ms);
			break_session(c, why);
		}
	}
	unlink_waiter(c, w);
}

/* Register w under a new sequence number; false when the session is over. */
static bool add_waiter(struct client *c, struct waiter *w)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&c->lock);
	if (c->lost) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	if (++c->next_seq == 0) /* 0 is for frames that answer no call */
		c->next_seq = 1;
	w->seq = c->next_seq;
	w->next = c->waiters;
	c->waiters = w;
	pthread_mutex_unlock(&c->lock);
	return true;
}

/* The CALL frame of w (args consumed). */
static int encode_call(const struct waiter *w, const char *request_id, json_t *args, uint8_t **buf,
		       size_t *len, struct err_info *ei)
{
	struct priv_frame f = {.kind = PRIV_KIND_CALL, .op = w->op, .seq = w->seq, .payload = args};
	int r;

	copy_request_id(f.request_id, request_id);
	r = priv_wire_encode(&f, buf, len, ei);
	json_decref(args);
	return r;
}

static int send_frame(struct client *c, uint8_t *buf, size_t len, struct err_info *ei)
{
	int r;

	pthread_mutex_lock(&c->write_lock);
	r = priv_wire_write(c->fd, buf, len, ei);
	pthread_mutex_unlock(&c->write_lock);
	explicit_bzero(buf, len); /* passwords, keys */
	free(buf);
	return r;
}

/* Turn a reply into the call's result. */
static int take_reply(struct waiter *w, json_t **ret, struct priv_error *pe)
{
	const json_t *p = w->payload;
	json_t *extra;

	if (w->status == 0) {
		*ret = json_incref(json_object_get(p, "result"));
		return 0;
	}
	snprintf(pe->message, sizeof(pe->message), "%s",
		 json_string_value(json_object_get(p, "message")));
	snprintf(pe->ei.detail, sizeof(pe->ei.detail), "%s",
		 json_string_value(json_object_get(p, "detail")));
	if ((extra = json_object_get(p, "extra")) != NULL)
		pe->extra = json_incref(extra);
	pe->retry_after = (unsigned)json_integer_value(json_object_get(p, "retryAfter"));
	return w->status;
}

static int client_call(void *impl, const char *request_id, enum priv_op op, json_t *args,
		       json_t **ret, struct priv_error *pe)
{
	struct client *c = impl;
	struct waiter w = {.op = op};
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (!add_waiter(c, &w)) {
		json_decref(args);
		r = ERR_PRIV_PROTOCOL;
		goto out;
	}
	if ((r = encode_call(&w, request_id, args, &buf, &len, &pe->ei)) < 0) {
		/* nothing was sent: the session goes on */
		pthread_mutex_lock(&c->lock);
		unlink_waiter(c, &w);
		pthread_mutex_unlock(&c->lock);
		pthread_cond_destroy(&w.cond);
		return r;
	}
	r = send_frame(c, buf, len, &pe->ei);
	pthread_mutex_lock(&c->lock);
	if (r < 0 && !w.done)
		break_session(c, pe->ei.detail); /* the stream may be cut mid-frame */
	wait_reply(c, &w);
	pthread_mutex_unlock(&c->lock);
	r = w.done ? take_reply(&w, ret, pe) : ERR_PRIV_PROTOCOL;
out:
	if (r == ERR_PRIV_PROTOCOL && !w.done) {
		pthread_mutex_lock(&c->lock);
		err_set(&pe->ei, ERR_PRIV_PROTOCOL, "%s: %s", op_name(op),
			c->reason[0] ? c->reason : "the root process is gone");
		pthread_mutex_unlock(&c->lock);
	}
	json_decref(w.payload);
	pthread_cond_destroy(&w.cond);
	return r;
}

static void client_free(void *impl)
{
	struct client *c = impl;

	pthread_mutex_lock(&c->lock);
	c->closing = true;
	pthread_mutex_unlock(&c->lock);
	shutdown(c->fd, SHUT_RDWR);
	pthread_join(c->reader, NULL);
	close(c->fd);
	pthread_mutex_destroy(&c->write_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct priv_vtable client_vt = {client_call, client_free};

struct priv *priv_client_new(int fd, const struct priv_client_hooks *h, unsigned timeout_ms,
			     struct err_info *ei)
{
	struct client *c = calloc(1, sizeof(*c));
	struct priv *p;
	int e;

	if (c == NULL) {
		close(fd);
		err_set(ei, ERR_NOMEM, "no memory for the client");
		return NULL;
	}
	c->fd = fd;
	c->h = *h;
	c->timeout_ms = timeout_ms;
	pthread_mutex_init(&c->write_lock, NULL);
	pthread_mutex_init(&c->lock, NULL);
	if ((e = pthread_create(&c->reader, NULL, reader_main, c)) != 0) {
		err_set(ei, ERR_INTERNAL, "reader thread: %s", strerror(e));
		pthread_mutex_destroy(&c->write_lock);
		pthread_mutex_destroy(&c->lock);
		free(c);
		close(fd);
		return NULL;
	}
	if ((p = priv_new(&client_vt, c)) == NULL) /* c freed, fd closed */
		err_set(ei, ERR_NOMEM, "no memory for the client");
	return p;
}
