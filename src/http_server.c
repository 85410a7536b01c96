#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "uri.h"
#include "timefmt.h"

#define MAX_HEADER_VALUE 8192
#define MAX_LOGGED_PATH	 200
/* Advisory block size of a stream response (MHD reads into its connection
 * buffer; this only sizes a small side buffer): kept small because a
 * thousand subscribers each have one. */
#define STREAM_BLOCK 4096
/* How often a reader re-reads when it is woken while it reads, before it
 * lets MHD call again. */
#define STREAM_REREADS 4
/* At shutdown, how long ended streams get to send their last chunk before
 * the daemon stops and cuts the ones whose client does not read. */
#define STREAM_END_WAIT_MS 1000

enum req_state { RQ_RECEIVING, RQ_QUEUED, RQ_DONE };

/* Per-request context: created on the first access-handler call, freed in
 * the completion callback. Owned by the polling thread except while queued,
 * when the worker owns it until it resumes the connection. */
struct req_ctx {
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct http_request rq;
	char *method, *path, *auth, *body;
	size_t body_cap;
	struct http_response rs;
	char last_event_id[HTTP_MAX_LAST_EVENT_ID + 1];
	char if_match[HTTP_MAX_IF_MATCH + 1];
	bool stream; /* answered with a stream: logged as such */
	_Atomic enum req_state state;
	struct timespec start;
	struct req_ctx *next; /* work queue link */
};

struct http_server {
	struct MHD_Daemon *d;
	http_handler_fn *fn;
	void *app;
	size_t max_body;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;  /* work queued, or workers must stop */
	pthread_cond_t idle;  /* busy dropped to 0 */
	struct req_ctx *head, *tail;
	unsigned busy; /* requests queued or running on a worker */
	bool draining; /* shutdown began: queue nothing more */
	bool stopping; /* workers exit once the queue is empty */
	pthread_t *workers;
	unsigned n_workers;
	/* Every stream from its start until its close() returned. */
	struct http_stream *streams;
	unsigned n_streams;
	pthread_cond_t streams_gone; /* n_streams dropped to 0 */
	_Atomic bool streams_ending; /* readers end, nothing sleeps any more */
};

/* A stream response. Lock order: the server's lock, then this lock, then
 * libmicrohttpd's own (suspend and resume run under this lock, so that a
 * wake never meets a connection that is not, or no longer, suspended). */
struct http_stream {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const struct http_stream_ops *ops;
	void *ctx;
	pthread_mutex_t lock;		 /* guards suspended and woken */
	bool suspended;			 /* the reader suspended conn; nobody resumed it yet */
	bool woken;			 /* http_stream_wake() since the last read() began */
	struct http_stream *prev, *next; /* srv->streams, under srv->lock */
};

const char *http_request_query(const struct http_request *rq, const char *key)
{
	for (size_t i = 0; i < rq->n_query; i++)
		if (strcmp(rq->query[i].key, key) == 0)
			return rq->query[i].value[0] != '\0' ? rq->query[i].value : NULL;
	return NULL;
}

static void ctx_free(struct req_ctx *ctx)
{
	for (size_t i = 0; i < ctx->rq.n_query; i++) {
		free(ctx->rq.query[i].key);
		free(ctx->rq.query[i].value);
	}
	free(ctx->method);
	free(ctx->path);
	if (ctx->auth != NULL) {
		explicit_bzero(ctx->auth, strlen(ctx->auth));
		free(ctx->auth);
	}
	/* Bodies may carry passwords (accounts): wiped before the memory is reused. */
	if (ctx->body != NULL)
		explicit_bzero(ctx->body, ctx->body_cap);
	free(ctx->body);
	free(ctx->rs.body);
	/* A stream the connection never got to send (the client left while
	 * the worker ran): still closed, as the transport owns it. */
	if (ctx->rs.stream != NULL)
		ctx->rs.stream->close(ctx->rs.stream_ctx);
	free(ctx);
}

/* ---- worker pool ---- */

static void *worker_main(void *arg)
{
	struct http_server *s = arg;

	for (;;) {
		struct req_ctx *ctx;

		pthread_mutex_lock(&s->lock);
		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->head == NULL) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		ctx = s->head;
		s->head = ctx->next;
		if (s->head == NULL)
			s->tail = NULL;
		/* Queued before shutdown, not started: answer without the work. */
		ctx->rq.shutting_down = s->draining;
		pthread_mutex_unlock(&s->lock);

		s->fn(s->app, &ctx->rq, &ctx->rs);
		/* After resume the polling thread may free ctx at any time. */
		struct MHD_Connection *conn = ctx->conn;
		atomic_store(&ctx->state, RQ_DONE);
		MHD_resume_connection(conn);

		pthread_mutex_lock(&s->lock);
		if (--s->busy == 0)
			pthread_cond_broadcast(&s->idle);
		pthread_mutex_unlock(&s->lock);
	}
}

/* Suspend the connection and queue the request for a worker. Returns false
 * when the server is draining: the caller answers it at once instead. The
 * suspension happens under the lock so that a worker cannot resume the
 * connection before it is suspended. */
static bool enqueue(struct http_server *s, struct req_ctx *ctx)
{
	pthread_mutex_lock(&s->lock);
	if (s->draining) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	atomic_store(&ctx->state, RQ_QUEUED);
	MHD_suspend_connection(ctx->conn);
	ctx->next = NULL;
	if (s->tail)
		s->tail->next = ctx;
	else
		s->head = ctx;
	s->tail = ctx;
	s->busy++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/* ---- request intake ---- */

static int append_body(struct req_ctx *ctx, const char *data, size_t len)
{
	size_t max = ctx->srv->max_body;

	if (ctx->rq.body_too_large || ctx->rq.body_len + len > max) {
		ctx->rq.body_too_large = true;
		return 0;
	}
	if (ctx->rq.body_len + len + 1 > ctx->body_cap) {
		size_t cap = ctx->body_cap ? ctx->body_cap : 1024;
		while (cap < ctx->rq.body_len + len + 1)
			cap *= 2;
		/* Not realloc: the old buffer is wiped before it is freed. */
		char *p = malloc(cap);
		if (p == NULL)
			return ERR_NOMEM;
		if (ctx->body != NULL) {
			memcpy(p, ctx->body, ctx->rq.body_len);
			explicit_bzero(ctx->body, ctx->body_cap);
			free(ctx->body);
		}
		ctx->body = p;
		ctx->body_cap = cap;
	}
	memcpy(ctx->body + ctx->rq.body_len, data, len);
	ctx->rq.body_len += len;
	ctx->body[ctx->rq.body_len] = '\0';
	return 0;
}

/* Percent-decoding can produce NUL bytes ("%00"), which C strings would
 * silently cut: such a request is flagged, never truncated. */
/* libmicrohttpd decodes the path and the query arguments with this callback
 * (after turning '+' into ' ' in arguments). Decoding the path would make an
 * encoded '/' in a path parameter a separator: keep everything as sent and
 * decode query arguments in copy_query(), path parameters in the router. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static enum MHD_Result copy_query(void *cls, enum MHD_ValueKind kind, const char *key,
				  size_t key_size, const char *value, size_t value_size)
{
	struct http_request *rq = cls;
	char *k, *v;

	if (strlen(key) != key_size || (value != NULL && strlen(value) != value_size)) {
		rq->query_invalid = true;
		return MHD_YES;
	}
	if (rq->n_query == HTTP_MAX_QUERY_ARGS) {
		rq->query_invalid = true;
		return MHD_NO;
	}
	k = strdup(key);
	v = strdup(value ? value : "");
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return MHD_NO;
	}
	/* Decoded here, not by libmicrohttpd: see unescape_none(). */
	if (uri_pct_decode(k) != strlen(k) || uri_pct_decode(v) != strlen(v)) {
		free(k);
		free(v);
		rq->query_invalid = true;
		return MHD_YES;
	}
	if (http_request_query(rq, k) != NULL) {
		free(k);
		free(v);
		return MHD_YES;
	}
	rq->query[rq->n_query].key = k;
	rq->query[rq->n_query].value = v;
	rq->n_query++;
	return MHD_YES;
}

/* Copy what the worker needs out of MHD's connection memory. */
static int capture_request(struct req_ctx *ctx)
{
	const char *auth = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);

	if (auth != NULL && strlen(auth) <= MAX_HEADER_VALUE) {
		ctx->auth = strdup(auth);
		if (ctx->auth == NULL)
			return ERR_NOMEM;
	}
	ctx->rq.authorization = ctx->auth;
	const char *leid = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND, "Last-Event-ID");
	if (leid != NULL && strlen(leid) > HTTP_MAX_LAST_EVENT_ID) {
		ctx->rq.last_event_id_invalid = true;
	} else if (leid != NULL) {
		memcpy(ctx->last_event_id, leid, strlen(leid) + 1);
		ctx->rq.last_event_id = ctx->last_event_id;
	}
	const char *im =
		MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MATCH);
	if (im != NULL && strlen(im) > HTTP_MAX_IF_MATCH) {
		ctx->rq.if_match_invalid = true;
	} else if (im != NULL) {
		memcpy(ctx->if_match, im, strlen(im) + 1);
		ctx->rq.if_match = ctx->if_match;
	}
	MHD_get_connection_values_n(ctx->conn, MHD_GET_ARGUMENT_KIND, copy_query, &ctx->rq);
	if (ctx->body == NULL && (ctx->body = strdup("")) == NULL)
		return ERR_NOMEM;
	ctx->rq.body = ctx->body;
	return 0;
}

static struct req_ctx *ctx_new(struct http_server *s, struct MHD_Connection *c, const char *url,
			       const char *method)
{
	struct req_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->srv = s;
	ctx->conn = c;
	ctx->method = strdup(method);
	ctx->path = strdup(url);
	if (ctx->method == NULL || ctx->path == NULL) {
		ctx_free(ctx);
		return NULL;
	}
	ctx->rq.method = ctx->method;
	ctx->rq.path = ctx->path;
	request_id_new(ctx->rq.id);
	clock_gettime(CLOCK_MONOTONIC, &ctx->start);
	return ctx;
}

static enum MHD_Result send_buffer(struct req_ctx *ctx)
{
	struct MHD_Response *resp;
	enum MHD_Result r;
	char retry[16];

	resp = MHD_create_response_from_buffer(ctx->rs.body_len, ctx->rs.body,
					       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		return MHD_NO;
	ctx->rs.body = NULL; /* now MHD's */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, "X-Request-Id", ctx->rq.id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (ctx->rs.allow[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, ctx->rs.allow);
	if (ctx->rs.retry_after > 0) {
		snprintf(retry, sizeof(retry), "%u", ctx->rs.retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	if (ctx->rs.etag[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, ctx->rs.etag);
	if (ctx->rq.shutting_down)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	r = MHD_queue_response(ctx->conn, ctx->rs.status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* Answer as during shutdown, on this (polling) thread: the application
 * returns at once then. A stream in that answer would break its contract. */
static enum MHD_Result send_shutting_down(struct req_ctx *ctx)
{
	struct http_server *s = ctx->srv;

	free(ctx->rs.body);
	memset(&ctx->rs, 0, sizeof(ctx->rs));
	ctx->rq.shutting_down = true;
	s->fn(s->app, &ctx->rq, &ctx->rs);
	if (ctx->rs.stream != NULL || ctx->rs.body == NULL)
		return MHD_NO; /* ctx_free() closes the stream */
	return send_buffer(ctx);
}

/* ---- streams ---- */

void http_stream_wake(struct http_stream *h)
{
	pthread_mutex_lock(&h->lock);
	h->woken = true;
	if (h->suspended) {
		h->suspended = false;
		MHD_resume_connection(h->conn);
	}
	pthread_mutex_unlock(&h->lock);
}

/* Suspend the connection until the next wake, unless one came in since
 * read() began (its data may have been missed by that read) or streams are
 * ending. Returns true when suspended. libmicrohttpd allows suspending from
 * a content reader, the only place this is called from. */
static bool stream_sleep(struct http_stream *h)
{
	bool slept = false;

	pthread_mutex_lock(&h->lock);
	if (!h->woken && !atomic_load(&h->srv->streams_ending)) {
		MHD_suspend_connection(h->conn);
		h->suspended = slept = true;
	}
	pthread_mutex_unlock(&h->lock);
	return slept;
}

/* libmicrohttpd's content reader (on the connection's polling thread).
 * Returning 0 without suspending would make that thread spin: nothing to
 * send means sleep. */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *h = cls;

	(void)pos;
	for (unsigned i = 0; i < STREAM_REREADS; i++) {
		if (atomic_load(&h->srv->streams_ending))
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&h->lock);
		h->woken = false;
		pthread_mutex_unlock(&h->lock);
		ssize_t n = h->ops->read(h->ctx, buf, max);
		if (n > 0)
			return (size_t)n <= max ? n : MHD_CONTENT_READER_END_WITH_ERROR;
		if (n < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (stream_sleep(h))
			return 0;
	}
	return 0; /* woken again and again: let MHD call back */
}

static void stream_unlink(struct http_server *s, struct http_stream *h)
{
	pthread_mutex_lock(&s->lock);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		s->streams = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	if (--s->n_streams == 0)
		pthread_cond_broadcast(&s->streams_gone);
	pthread_mutex_unlock(&s->lock);
}

/* libmicrohttpd's free callback of the response: the stream is over (sent
 * to its end, client gone, or daemon stopped). No lock is held across
 * close(): a source wakes streams under its own lock. */
static void stream_free(void *cls)
{
	struct http_stream *h = cls;

	h->ops->close(h->ctx);
	stream_unlink(h->srv, h);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Put h on the server's list, unless streams are ending (then false). */
static bool stream_register(struct http_server *s, struct http_stream *h)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = !atomic_load(&s->streams_ending);
	if (ok) {
		h->next = s->streams;
		if (s->streams != NULL)
			s->streams->prev = h;
		s->streams = h;
		s->n_streams++;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void stream_headers(struct MHD_Response *resp, const struct req_ctx *ctx)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctx->rs.stream->content_type);
	MHD_add_response_header(resp, "X-Request-Id", ctx->rq.id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	/* nginx would otherwise buffer the stream. */
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	/* A stream ends with its connection: nothing waits behind it. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* Start the stream the application answered with. From here on it is
 * closed exactly once: by stream_free() once the response exists, by hand
 * before. */
static enum MHD_Result send_stream(struct req_ctx *ctx)
{
	struct http_server *s = ctx->srv;
	const struct http_stream_ops *ops = ctx->rs.stream;
	struct http_stream *h = calloc(1, sizeof(*h));
	struct MHD_Response *resp;
	enum MHD_Result r;

	if (h == NULL)
		return MHD_NO; /* ctx_free() closes it */
	h->srv = s;
	h->conn = ctx->conn;
	h->ops = ops;
	h->ctx = ctx->rs.stream_ctx;
	pthread_mutex_init(&h->lock, NULL);
	if (!stream_register(s, h)) {
		pthread_mutex_destroy(&h->lock);
		free(h);
		ops->close(ctx->rs.stream_ctx);
		ctx->rs.stream = NULL;
		return send_shutting_down(ctx);
	}
	ctx->stream = true;
	ops->attach(h->ctx, h);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader, h,
						 stream_free);
	if (resp == NULL) {
		ctx->rs.stream = NULL;
		stream_free(h);
		return MHD_NO;
	}
	stream_headers(resp, ctx);
	ctx->rs.stream = NULL; /* stream_free() closes it, also if queueing fails */
	r = MHD_queue_response(ctx->conn, 200, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_response(struct req_ctx *ctx)
{
	return ctx->rs.stream != NULL ? send_stream(ctx) : send_buffer(ctx);
}

/* End every stream: readers return END from now on, sleeping ones are
 * woken to see it. */
static void end_streams(struct http_server *s)
{
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->streams_ending, true);
	for (struct http_stream *h = s->streams; h != NULL; h = h->next)
		http_stream_wake(h);
	pthread_mutex_unlock(&s->lock);
}

/* CLOCK_MONOTONIC now + ms, for pthread_cond_timedwait. */
static void deadline_in(unsigned ms, struct timespec *ret)
{
	clock_gettime(CLOCK_MONOTONIC, ret);
	ret->tv_sec += ms / 1000;
	ret->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ret->tv_nsec >= 1000000000L) {
		ret->tv_sec++;
		ret->tv_nsec -= 1000000000L;
	}
}

/* Give ended streams a moment to send their last chunk. */
static void wait_streams(struct http_server *s, unsigned ms)
{
	struct timespec deadline;

	deadline_in(ms, &deadline);
	pthread_mutex_lock(&s->lock);
	while (s->n_streams > 0 &&
	       pthread_cond_timedwait(&s->streams_gone, &s->lock, &deadline) == 0)
		;
	pthread_mutex_unlock(&s->lock);
}

/* libmicrohttpd 0.9.75 closes the connection if a response is queued on the
 * first call for a request, so the first call only sets up the context. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct req_ctx *ctx = *con_cls;

	if (ctx == NULL) {
		*con_cls = ctx = ctx_new(s, c, url, method);
		return ctx ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size != 0) {
		int r = append_body(ctx, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return r < 0 ? MHD_NO : MHD_YES;
	}
	switch (atomic_load(&ctx->state)) {
	case RQ_RECEIVING:
		if (capture_request(ctx) < 0)
			return MHD_NO;
		if (enqueue(s, ctx))
			return MHD_YES;
		ctx->rq.shutting_down = true;
		s->fn(s->app, &ctx->rq, &ctx->rs);
		return send_response(ctx);
	case RQ_DONE:
		return send_response(ctx);
	default:
		return MHD_YES;
	}
}

/* Path as it may appear in a log line: bounded, printable. */
static void loggable(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i] != '\0'; i++)
		dst[i] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *ctx = *con_cls;
	struct timespec now;
	char path[MAX_LOGGED_PATH], method[16];

	if (ctx == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - ctx->start.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - ctx->start.tv_nsec) / 1e6;
	loggable(path, sizeof(path), ctx->path);
	loggable(method, sizeof(method), ctx->method);
	/* A stream's line comes when it ends: its duration is the stream's. */
	log_msg(LOG_INFO, ctx->rq.id, "request method=%s path=%s status=%u duration_ms=%.2f%s%s",
		method, path, ctx->rs.status, ms, ctx->stream ? " stream=1" : "",
		toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
	*con_cls = NULL;
	ctx_free(ctx);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_msg(LOG_WARNING, NULL, "libmicrohttpd: %s", buf);
}

/* ---- lifecycle ---- */

static int bind_address(const char *host, unsigned port, struct sockaddr_storage *ss, bool *ipv6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*ipv6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*ipv6 = true;
		return 0;
	}
	return ERR_BAD_REQUEST;
}

static void stop_workers(struct http_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i], NULL);
	s->n_workers = 0;
}

static void server_free(struct http_server *s)
{
	stop_workers(s);
	free(s->workers);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->streams_gone);
	free(s);
}

static int start_workers(struct http_server *s, unsigned n, struct err_info *ei)
{
	s->workers = calloc(n, sizeof(pthread_t));
	if (s->workers == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	for (; s->n_workers < n; s->n_workers++) {
		int r = pthread_create(&s->workers[s->n_workers], NULL, worker_main, s);
		if (r != 0)
			return err_set(ei, ERR_INTERNAL, "pthread_create: %s", strerror(r));
	}
	return 0;
}

struct http_server *http_server_start(const struct http_server_options *o, http_handler_fn *fn,
				      void *app, struct err_info *ei)
{
	struct http_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	bool ipv6;

	if (s == NULL)
		return NULL;
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_cond_init(&s->idle, &ca);
	pthread_cond_init(&s->streams_gone, &ca);
	pthread_condattr_destroy(&ca);
	s->fn = fn;
	s->app = app;
	s->max_body = o->max_body;
	if (bind_address(o->host, o->port, &ss, &ipv6) < 0) {
		err_set(ei, ERR_BAD_REQUEST, "cannot bind to '%s'", o->host);
		server_free(s);
		return NULL;
	}
	if (start_workers(s, o->workers, ei) < 0) {
		server_free(s);
		return NULL;
	}
	s->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			MHD_USE_ITC | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0),
		(uint16_t)o->port, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE, 2u,
		MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL, MHD_OPTION_END);
	if (s->d == NULL) {
		err_set(ei, ERR_INTERNAL, "cannot listen on %s port %u (address in use?)", o->host,
			o->port);
		server_free(s);
		return NULL;
	}
	return s;
}

void http_server_stop(struct http_server *s, unsigned grace_ms)
{
	struct timespec deadline;
	MHD_socket fd;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->draining = true;
	pthread_mutex_unlock(&s->lock);
	/* The listen socket stays open until MHD_stop_daemon: a polling thread
	 * that sees the quiesce removes it from its epoll set, and MHD aborts
	 * when it is closed already. */
	fd = MHD_quiesce_daemon(s->d);
	/* First, so that subscribers see the end at once, whatever the
	 * workers still do; no stream sleeps (suspended) from here on. */
	end_streams(s);

	deadline_in(grace_ms, &deadline);
	pthread_mutex_lock(&s->lock);
	while (s->busy > 0 && pthread_cond_timedwait(&s->idle, &s->lock, &deadline) == 0)
		;
	pthread_mutex_unlock(&s->lock);
	/* Past the grace a worker may still be in a (bounded) backend call: join
	 * it, because MHD_stop_daemon must not meet a suspended connection. */
	stop_workers(s);
	/* Streams whose client does not read are cut by MHD_stop_daemon, which
	 * calls their close() through stream_free(). */
	wait_streams(s, STREAM_END_WAIT_MS);
	MHD_stop_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	server_free(s);
}

/* Placeholders (issue 7 in progress). */
int http_server_set_tls(struct http_server *s, const struct http_tls_material *m,
			struct err_info *ei)
{
	(void)s;
	(void)m;
	return err_set(ei, ERR_NOT_SUPPORTED, "not implemented yet");
}

void http_server_get_stats(struct http_server *s, struct http_server_stats *ret)
{
	(void)s;
	memset(ret, 0, sizeof(*ret));
}
