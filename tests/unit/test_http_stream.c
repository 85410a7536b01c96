/* http_server.h streams: a real server on 127.0.0.1, a fake application
 * whose responses are streams from fake sources, and raw-socket clients
 * that decode the chunked body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_server.h"

/* ---- fake sources ---- */

#define N_SRC	 210
#define SRC_DATA 65536

/* A source of body bytes: the test appends text and wakes the stream. */
struct fsrc {
	pthread_mutex_t lock;
	struct http_stream *h; /* from attach until close */
	char data[SRC_DATA];
	size_t len;
	bool end;      /* return END once data is drained */
	bool infinite; /* always have max bytes ready */
	bool inject;   /* next empty read: data and a wake arrive just after it */
	bool closed;
	atomic_uint attaches, closes, reads;
};

static struct fsrc srcs[N_SRC];

static void src_attach(void *ctx, struct http_stream *h)
{
	struct fsrc *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->h = h;
	pthread_mutex_unlock(&f->lock);
	atomic_fetch_add(&f->attaches, 1);
}

static void src_push(struct fsrc *f, const char *text, bool end);

static ssize_t src_read(void *ctx, char *buf, size_t max)
{
	struct fsrc *f = ctx;
	ssize_t n = 0;
	bool inject = false;

	atomic_fetch_add(&f->reads, 1);
	pthread_mutex_lock(&f->lock);
	if (f->infinite) {
		memset(buf, 'x', max);
		n = (ssize_t)max;
	} else if (f->len > 0) {
		size_t k = f->len < max ? f->len : max;
		memcpy(buf, f->data, k);
		memmove(f->data, f->data + k, f->len - k);
		f->len -= k;
		n = (ssize_t)k;
	} else if (f->end) {
		n = HTTP_STREAM_END;
	} else {
		inject = f->inject;
		f->inject = false;
	}
	pthread_mutex_unlock(&f->lock);
	/* The race of a real source made certain: the event comes after
	 * read() found nothing, before the transport puts the stream to sleep. */
	if (inject)
		src_push(f, "late\n", false);
	return n;
}

static void src_close(void *ctx)
{
	struct fsrc *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->closed = true;
	f->h = NULL;
	pthread_mutex_unlock(&f->lock);
	atomic_fetch_add(&f->closes, 1);
}

static const struct http_stream_ops src_ops = {
	.content_type = "text/event-stream",
	.attach = src_attach,
	.read = src_read,
	.close = src_close,
};

/* Append text (and/or set end) and wake the stream, under the source's
 * lock as the event hub does: never after close. */
static void src_push(struct fsrc *f, const char *text, bool end)
{
	pthread_mutex_lock(&f->lock);
	if (text != NULL) {
		size_t n = strlen(text);
		assert_true(f->len + n <= SRC_DATA);
		memcpy(f->data + f->len, text, n);
		f->len += n;
	}
	f->end = f->end || end;
	if (f->h != NULL)
		http_stream_wake(f->h);
	pthread_mutex_unlock(&f->lock);
}

static void src_reset(void)
{
	for (size_t i = 0; i < N_SRC; i++) {
		pthread_mutex_destroy(&srcs[i].lock);
		memset(&srcs[i], 0, sizeof(srcs[i]));
		pthread_mutex_init(&srcs[i].lock, NULL);
	}
}

/* ---- the fake application ---- */

static atomic_uint slow_ms; /* /slow-stream/N sleeps this long on the worker */

static void set_json(struct http_response *rs, unsigned status, const char *text)
{
	rs->status = status;
	rs->body = strdup(text);
	rs->body_len = strlen(text);
}

static void app(void *a, const struct http_request *rq, struct http_response *rs)
{
	unsigned n;
	char buf[256];

	(void)a;
	if (rq->shutting_down) {
		set_json(rs, 503, "{\"ok\":false,\"shutting\":true}");
	} else if (sscanf(rq->path, "/stream/%u", &n) == 1 && n < N_SRC) {
		rs->status = 200;
		rs->stream = &src_ops;
		rs->stream_ctx = &srcs[n];
	} else if (sscanf(rq->path, "/slow-stream/%u", &n) == 1 && n < N_SRC) {
		usleep(atomic_load(&slow_ms) * 1000);
		rs->status = 200;
		rs->stream = &src_ops;
		rs->stream_ctx = &srcs[n];
	} else if (strcmp(rq->path, "/whoami") == 0) {
		snprintf(buf, sizeof(buf), "{\"ip\":\"%s\",\"tls\":%s,\"big\":%s}", rq->client_ip,
			 rq->tls ? "true" : "false", rq->body_too_large ? "true" : "false");
		set_json(rs, 200, buf);
	} else if (strcmp(rq->path, "/retry") == 0) {
		set_json(rs, 429, "{\"ok\":false}");
		rs->retry_after = 5;
	} else if (strcmp(rq->path, "/leid") == 0) {
		snprintf(buf, sizeof(buf), "{\"leid\":\"%s\",\"invalid\":%s}",
			 rq->last_event_id ? rq->last_event_id : "(none)",
			 rq->last_event_id_invalid ? "true" : "false");
		set_json(rs, 200, buf);
	} else {
		set_json(rs, 200, "{\"ok\":true}");
	}
}

/* ---- server ---- */

static unsigned port;

static struct http_server *server_start(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct err_info ei = {{0}};

	/* A port the kernel just handed out, free again. */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	struct http_server_options o = {
		.host = "127.0.0.1", .port = port, .listen_fd = -1, .workers = 2, .max_body = 4096};
	struct http_server *s = http_server_start(&o, app, NULL, &ei);
	if (s == NULL)
		fail_msg("http_server_start: %s", ei.detail);
	return s;
}

/* ---- a raw HTTP client that decodes a chunked body ---- */

struct client {
	int fd;
	char raw[SRC_DATA * 2];
	size_t rlen;
	bool have_headers;
	char headers[2048];
	char *body;
	size_t blen, bcap;
	bool chunked, finished, eof;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct client *client_open(const char *path, const char *extra_headers, int rcvbuf)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct client *c = calloc(1, sizeof(*c));
	char req[8192];

	assert_non_null(c);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	if (rcvbuf > 0)
		assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
				 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path,
		 extra_headers ? extra_headers : "");
	assert_int_equal(send(c->fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	return c;
}

static void client_close(struct client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->body);
	free(c);
}

static void body_append(struct client *c, const char *p, size_t n)
{
	if (c->blen + n + 1 > c->bcap) {
		c->bcap = (c->blen + n + 1) * 2;
		c->body = realloc(c->body, c->bcap);
		assert_non_null(c->body);
	}
	memcpy(c->body + c->blen, p, n);
	c->blen += n;
	c->body[c->blen] = '\0';
}

/* Move what raw holds into headers and body; false when more is needed. */
static bool client_parse_one(struct client *c)
{
	char *end;

	if (!c->have_headers) {
		c->raw[c->rlen] = '\0';
		end = strstr(c->raw, "\r\n\r\n");
		if (end == NULL)
			return false;
		size_t hl = (size_t)(end - c->raw) + 4;
		assert_true(hl < sizeof(c->headers));
		memcpy(c->headers, c->raw, hl);
		c->headers[hl] = '\0';
		c->have_headers = true;
		c->chunked = strstr(c->headers, "Transfer-Encoding: chunked") != NULL;
		memmove(c->raw, c->raw + hl, c->rlen - hl);
		c->rlen -= hl;
		body_append(c, "", 0);
		return true;
	}
	if (!c->chunked || c->finished) {
		body_append(c, c->raw, c->rlen);
		c->rlen = 0;
		return false;
	}
	c->raw[c->rlen] = '\0';
	end = strstr(c->raw, "\r\n");
	if (end == NULL)
		return false;
	size_t size = strtoul(c->raw, NULL, 16), line = (size_t)(end - c->raw) + 2;
	if (size == 0) {
		c->finished = true;
		c->rlen = 0;
		return false;
	}
	if (c->rlen < line + size + 2)
		return false;
	body_append(c, c->raw + line, size);
	memmove(c->raw, c->raw + line + size + 2, c->rlen - line - size - 2);
	c->rlen -= line + size + 2;
	return true;
}

/* Read what arrives within ms (at least one poll). */
static void client_pump(struct client *c, int ms)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	if (c->eof || poll(&p, 1, ms) <= 0)
		return;
	ssize_t n = recv(c->fd, c->raw + c->rlen, sizeof(c->raw) - c->rlen - 1, MSG_DONTWAIT);
	if (n <= 0) {
		c->eof = true;
		return;
	}
	c->rlen += (size_t)n;
	while (client_parse_one(c))
		;
}

/* Pump until the body holds text (or the stream finished, for NULL). */
static bool client_wait(struct client *c, const char *text, int ms)
{
	int64_t deadline = now_ms() + ms;

	for (;;) {
		if (text != NULL && c->body != NULL && strstr(c->body, text) != NULL)
			return true;
		if (text == NULL && (c->finished || c->eof))
			return true;
		if (c->eof || now_ms() >= deadline)
			return false;
		client_pump(c, 10);
	}
}

static bool wait_count(atomic_uint *v, unsigned want, int ms)
{
	int64_t deadline = now_ms() + ms;

	while (atomic_load(v) < want) {
		if (now_ms() >= deadline)
			return false;
		usleep(2000);
	}
	return true;
}

static int setup(void **state)
{
	(void)state;
	src_reset();
	atomic_store(&slow_ms, 0);
	return 0;
}

/* ---- tests ---- */

static void test_chunks_in_order(void **state)
{
	struct http_server *s = server_start();
	struct client *c;
	char want[8192] = "", line[32];

	(void)state;
	src_push(&srcs[0], ": ok\n\n", false);
	c = client_open("/stream/0", NULL, 0);
	assert_true(client_wait(c, ": ok\n\n", 2000));
	assert_non_null(strstr(c->headers, "HTTP/1.1 200"));
	assert_non_null(strstr(c->headers, "Content-Type: text/event-stream\r\n"));
	assert_non_null(strstr(c->headers, "Cache-Control: no-cache\r\n"));
	assert_non_null(strstr(c->headers, "X-Accel-Buffering: no\r\n"));
	assert_non_null(strstr(c->headers, "Connection: close\r\n"));
	assert_non_null(strstr(c->headers, "X-Request-Id: "));
	assert_true(c->chunked);
	assert_null(strstr(c->headers, "Content-Length"));
	strcat(want, ": ok\n\n");
	for (int i = 1; i <= 300; i++) {
		snprintf(line, sizeof(line), "id: %d\n\n", i);
		strcat(want, line);
		src_push(&srcs[0], line, false);
		if (i % 7 == 0)
			client_pump(c, 1);
	}
	assert_true(client_wait(c, "id: 300\n\n", 3000));
	assert_string_equal(c->body, want);
	/* END finishes the response; close() comes once, with attach before. */
	src_push(&srcs[0], "bye\n", true);
	assert_true(client_wait(c, NULL, 2000));
	assert_true(c->finished);
	assert_true(wait_count(&srcs[0].closes, 1, 2000));
	assert_int_equal(atomic_load(&srcs[0].attaches), 1);
	assert_non_null(strstr(c->body, "id: 300\n\nbye\n"));
	/* Keep-alive is off: the server closes the connection. */
	for (int i = 0; i < 100 && !c->eof; i++)
		client_pump(c, 20);
	assert_true(c->eof);
	client_close(c);
	http_server_stop(s, 1000);
	assert_int_equal(atomic_load(&srcs[0].closes), 1);
}

struct pusher {
	struct fsrc *f;
	int n, delay_us;
};

static void *pusher_main(void *arg)
{
	struct pusher *p = arg;
	char line[32];

	for (int i = 1; i <= p->n; i++) {
		if (p->delay_us > 0)
			usleep((useconds_t)(p->delay_us * (i % 3)));
		snprintf(line, sizeof(line), "m%d\n", i);
		src_push(p->f, line, false);
	}
	return NULL;
}

/* Push n messages from another thread (delay_us between some) and check
 * that the client gets exactly them, in order. */
static void expect_messages(struct client *c, int n, int delay_us)
{
	struct pusher p = {&srcs[1], n, delay_us};
	char *want = malloc((size_t)n * 12 + 1), last[32];
	size_t len = 0;
	pthread_t t;

	assert_non_null(want);
	for (int i = 1; i <= n; i++)
		len += (size_t)sprintf(want + len, "m%d\n", i);
	snprintf(last, sizeof(last), "m%d\n", n);
	c->blen = 0;
	c->body[0] = '\0';
	assert_int_equal(pthread_create(&t, NULL, pusher_main, &p), 0);
	if (!client_wait(c, last, 10000))
		fail_msg("%d messages: the last never came (%zu bytes of %zu)", n, c->blen, len);
	pthread_join(t, NULL);
	assert_string_equal(c->body, want);
	free(want);
}

/* A source with nothing to send sleeps (its connection suspended, the
 * polling thread does not spin on it), and a wake from another thread
 * delivers; many wakes racing the reader lose nothing. */
static void test_wake_from_thread(void **state)
{
	struct http_server *s = server_start();
	struct client *c = client_open("/stream/1", NULL, 0);
	struct pusher p = {&srcs[1], 1, 100000};
	pthread_t t;
	unsigned reads;

	(void)state;
	assert_true(wait_count(&srcs[1].reads, 1, 2000));
	client_pump(c, 100);
	assert_true(c->have_headers);
	reads = atomic_load(&srcs[1].reads);
	usleep(300000);
	/* Asleep: not polled again and again. */
	assert_true(atomic_load(&srcs[1].reads) <= reads + 2);
	assert_int_equal(pthread_create(&t, NULL, pusher_main, &p), 0);
	assert_true(client_wait(c, "m1\n", 2000));
	pthread_join(t, NULL);

	/* Stress: wakes come while read() runs; not one message is lost. */
	expect_messages(c, 5000, 0);
	expect_messages(c, 300, 20);
	client_close(c);
	http_server_stop(s, 1000);
	assert_int_equal(atomic_load(&srcs[1].closes), 1);
}

/* The wake that lands between an empty read() and the sleep is not lost. */
static void test_wake_between_read_and_sleep(void **state)
{
	struct http_server *s = server_start();
	struct client *c;

	(void)state;
	src_push(&srcs[2], "first\n", false);
	c = client_open("/stream/2", NULL, 0);
	assert_true(client_wait(c, "first\n", 2000));
	for (int i = 0; i < 20; i++) {
		c->blen = 0;
		c->body[0] = '\0';
		pthread_mutex_lock(&srcs[2].lock);
		srcs[2].inject = true;
		pthread_mutex_unlock(&srcs[2].lock);
		src_push(&srcs[2], "go\n", false);
		if (!client_wait(c, "go\nlate\n", 2000))
			fail_msg("round %d: the late event was lost (got '%s')", i, c->body);
	}
	client_close(c);
	http_server_stop(s, 1000);
	assert_int_equal(atomic_load(&srcs[2].closes), 1);
}

#define N_MANY 200

static void test_many_streams(void **state)
{
	struct http_server *s = server_start();
	static struct client *cs[N_MANY];
	char line[32];

	(void)state;
	for (int i = 0; i < N_MANY; i++)
		cs[i] = client_open((snprintf(line, sizeof(line), "/stream/%d", i), line), NULL, 0);
	for (int i = 0; i < N_MANY; i++)
		if (!wait_count(&srcs[i].reads, 1, 5000))
			fail_msg("stream %d never read", i);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N_MANY; i++) {
			snprintf(line, sizeof(line), "s%d r%d\n", i, round);
			src_push(&srcs[i], line, false);
		}
		for (int i = 0; i < N_MANY; i++) {
			snprintf(line, sizeof(line), "s%d r%d\n", i, round);
			if (!client_wait(cs[i], line, 5000))
				fail_msg("stream %d did not get round %d", i, round);
		}
	}
	for (int i = 0; i < N_MANY; i++)
		assert_int_equal(atomic_load(&srcs[i].attaches), 1);
	http_server_stop(s, 1000);
	for (int i = 0; i < N_MANY; i++) {
		assert_int_equal(atomic_load(&srcs[i].closes), 1);
		client_close(cs[i]);
	}
}

/* A client that stops reading blocks nobody: the others' events arrive
 * promptly, while its own stream waits for its socket. */
static void test_stalled_client(void **state)
{
	struct http_server *s = server_start();
	struct client *stalled, *live[4];
	char line[32];
	unsigned reads;

	(void)state;
	srcs[10].infinite = true;
	stalled = client_open("/stream/10", NULL, 4096);
	for (int i = 0; i < 4; i++)
		live[i] = client_open((snprintf(line, sizeof(line), "/stream/%d", 11 + i), line),
				      NULL, 0);
	/* Let the stalled one fill every buffer between it and the server. */
	assert_true(wait_count(&srcs[10].reads, 1, 2000));
	do {
		reads = atomic_load(&srcs[10].reads);
		usleep(200000);
	} while (atomic_load(&srcs[10].reads) != reads);
	for (int k = 0; k < 20; k++) {
		int64_t t0 = now_ms();
		for (int i = 0; i < 4; i++) {
			snprintf(line, sizeof(line), "e%d\n", k);
			src_push(&srcs[11 + i], line, false);
		}
		for (int i = 0; i < 4; i++) {
			snprintf(line, sizeof(line), "e%d\n", k);
			assert_true(client_wait(live[i], line, 2000));
		}
		if (now_ms() - t0 > 500)
			fail_msg("event %d took %lld ms", k, (long long)(now_ms() - t0));
	}
	assert_int_equal(atomic_load(&srcs[10].closes), 0);
	/* The stalled client goes away: its stream ends (write error). */
	client_close(stalled);
	assert_true(wait_count(&srcs[10].closes, 1, 5000));
	http_server_stop(s, 1000);
	assert_int_equal(atomic_load(&srcs[10].closes), 1);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(atomic_load(&srcs[11 + i].closes), 1);
		client_close(live[i]);
	}
}

/* A sleeping stream whose client left ends at the next write (a heartbeat
 * in real life), and close() comes exactly once. */
static void test_client_disconnect(void **state)
{
	struct http_server *s = server_start();
	struct client *c = client_open("/stream/20", NULL, 0);

	(void)state;
	src_push(&srcs[20], "hello\n", false);
	assert_true(client_wait(c, "hello\n", 2000));
	client_close(c);
	for (int i = 0; i < 200 && atomic_load(&srcs[20].closes) == 0; i++) {
		src_push(&srcs[20], ": heartbeat\n\n", false);
		usleep(10000);
	}
	assert_int_equal(atomic_load(&srcs[20].closes), 1);
	src_push(&srcs[20], "more\n", false); /* after close: no wake */
	usleep(100000);
	http_server_stop(s, 1000);
	assert_int_equal(atomic_load(&srcs[20].closes), 1);
	assert_int_equal(atomic_load(&srcs[20].attaches), 1);
}

/* Stop with sleeping streams (and one whose client reads nothing): each
 * ends promptly, its client sees the end, close() once for each. */
static void test_stop_ends_streams(void **state)
{
	struct http_server *s = server_start();
	struct client *cs[20], *stalled;
	char line[32];
	int64_t t0;

	(void)state;
	for (int i = 0; i < 20; i++)
		cs[i] = client_open((snprintf(line, sizeof(line), "/stream/%d", 30 + i), line),
				    NULL, 0);
	srcs[50].infinite = true;
	stalled = client_open("/stream/50", NULL, 4096);
	for (int i = 0; i < 21; i++)
		assert_true(wait_count(&srcs[30 + i].reads, 1, 2000));
	for (int i = 0; i < 20; i++) {
		client_pump(cs[i], 50);
		assert_true(cs[i]->have_headers);
	}
	usleep(100000); /* all asleep */
	t0 = now_ms();
	http_server_stop(s, 5000);
	if (now_ms() - t0 > 2500)
		fail_msg("stop took %lld ms", (long long)(now_ms() - t0));
	for (int i = 0; i < 21; i++)
		assert_int_equal(atomic_load(&srcs[30 + i].closes), 1);
	for (int i = 0; i < 20; i++) {
		assert_true(client_wait(cs[i], NULL, 1000));
		assert_true(cs[i]->finished); /* the last chunk came, not just a cut */
		client_close(cs[i]);
	}
	client_close(stalled);
}

/* A stream answered by a worker after shutdown began is not started: it is
 * closed (never attached) and the request answered as shutting down. */
static void test_stream_refused_during_stop(void **state)
{
	struct http_server *s = server_start();
	struct client *c;

	(void)state;
	atomic_store(&slow_ms, 400);
	c = client_open("/slow-stream/60", NULL, 0);
	usleep(150000); /* the worker is in the handler */
	http_server_stop(s, 3000);
	assert_int_equal(atomic_load(&srcs[60].closes), 1);
	assert_int_equal(atomic_load(&srcs[60].attaches), 0);
	client_wait(c, NULL, 1000);
	if (c->have_headers)
		assert_non_null(strstr(c->headers, "HTTP/1.1 503"));
	client_close(c);
}

static void test_retry_after_and_last_event_id(void **state)
{
	struct http_server *s = server_start();
	struct client *c;
	char hdr[200];

	(void)state;
	c = client_open("/retry", NULL, 0);
	assert_true(client_wait(c, "}", 2000));
	assert_non_null(strstr(c->headers, "HTTP/1.1 429"));
	assert_non_null(strstr(c->headers, "Retry-After: 5\r\n"));
	client_close(c);
	c = client_open("/plain", NULL, 0);
	assert_true(client_wait(c, "}", 2000));
	assert_null(strstr(c->headers, "Retry-After"));
	assert_non_null(strstr(c->headers, "Content-Type: application/json"));
	client_close(c);

	c = client_open("/leid", "Last-Event-ID: 42\r\n", 0);
	assert_true(client_wait(c, "}", 2000));
	assert_string_equal(c->body, "{\"leid\":\"42\",\"invalid\":false}");
	client_close(c);
	c = client_open("/leid", NULL, 0);
	assert_true(client_wait(c, "}", 2000));
	assert_string_equal(c->body, "{\"leid\":\"(none)\",\"invalid\":false}");
	client_close(c);
	/* At the limit it passes; one byte more is flagged, never cut. */
	snprintf(hdr, sizeof(hdr), "last-event-id: %0*d\r\n", HTTP_MAX_LAST_EVENT_ID, 7);
	c = client_open("/leid", hdr, 0);
	assert_true(client_wait(c, "}", 2000));
	assert_non_null(strstr(c->body, "\"invalid\":false"));
	assert_non_null(strstr(c->body, "00007\""));
	client_close(c);
	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %0*d\r\n", HTTP_MAX_LAST_EVENT_ID + 1, 7);
	c = client_open("/leid", hdr, 0);
	assert_true(client_wait(c, "}", 2000));
	assert_string_equal(c->body, "{\"leid\":\"(none)\",\"invalid\":true}");
	client_close(c);
	http_server_stop(s, 1000);
}

/* ---- limits: listen_fd, connections, header size, stats ---- */

/* A server on a listening socket made here, with the given limits. */
static struct http_server *limited_start(unsigned max_conn, unsigned per_ip, size_t max_header)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct err_info ei = {{0}};

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	struct http_server_options o = {.host = "127.0.0.1",
					.port = port,
					.listen_fd = fd,
					.workers = 2,
					.max_body = 64,
					.max_connections = max_conn,
					.max_connections_per_ip = per_ip,
					.max_header_bytes = max_header};
	struct http_server *s = http_server_start(&o, app, NULL, &ei);
	if (s == NULL)
		fail_msg("http_server_start: %s", ei.detail);
	return s;
}

static void test_listen_fd_and_client_ip(void **state)
{
	struct http_server *s = limited_start(0, 0, 0);
	struct client *c;

	(void)state;
	c = client_open("/whoami", NULL, 0);
	assert_true(client_wait(c, "}", 5000));
	assert_non_null(strstr(c->body, "\"ip\":\"127.0.0.1\""));
	assert_non_null(strstr(c->body, "\"tls\":false"));
	client_close(c);
	http_server_stop(s, 1000);
}

static void test_headers_too_large(void **state)
{
	struct http_server *s = limited_start(0, 0, 2048);
	char pad[2100];
	struct client *c;
	struct http_server_stats st;

	(void)state;
	/* Just under the limit: answered by the application. */
	memset(pad, 'a', 1900);
	memcpy(pad, "X-Pad: ", 7);
	memcpy(pad + 1900, "\r\n", 3);
	c = client_open("/whoami", pad, 0);
	assert_true(client_wait(c, "}", 5000));
	assert_non_null(strstr(c->headers, "HTTP/1.1 200"));
	client_close(c);
	/* Over it: 431 with the envelope, by the transport. */
	memset(pad, 'a', 2090);
	memcpy(pad, "X-Pad: ", 7);
	memcpy(pad + 2090, "\r\n", 3);
	c = client_open("/whoami", pad, 0);
	assert_true(client_wait(c, "}", 5000));
	assert_non_null(strstr(c->headers, "HTTP/1.1 431"));
	assert_non_null(strstr(c->headers, "application/json"));
	assert_non_null(strstr(c->body, "\"ok\":false"));
	assert_non_null(strstr(c->body, "\"code\":\"HEADERS_TOO_LARGE\""));
	assert_non_null(strstr(c->body, "\"requestId\":\""));
	client_close(c);
	http_server_get_stats(s, &st);
	assert_int_equal(st.headers_too_large, 1);
	assert_int_equal(st.connections_refused, 0);
	http_server_stop(s, 1000);
}

static void test_body_too_large_counted(void **state)
{
	struct http_server *s = limited_start(0, 0, 0);
	struct http_server_stats st;
	char body[200];
	struct client *c;

	(void)state;
	memset(body, 'b', sizeof(body));
	c = client_open("/whoami", "Content-Length: 200\r\n", 0);
	assert_int_equal(send(c->fd, body, sizeof(body), MSG_NOSIGNAL), (ssize_t)sizeof(body));
	assert_true(client_wait(c, "}", 5000));
	assert_non_null(strstr(c->body, "\"big\":true"));
	client_close(c);
	http_server_get_stats(s, &st);
	assert_int_equal(st.bodies_too_large, 1);
	http_server_stop(s, 1000);
}

/* Connections over the per-address limit are closed at once and counted. */
static void test_connection_limits(void **state)
{
	struct http_server *s = limited_start(0, 3, 0);
	struct client *c[5];
	struct http_server_stats st = {0};
	unsigned answered = 0;

	(void)state;
	for (int i = 0; i < 5; i++)
		c[i] = client_open("/whoami", NULL, 0);
	/* every answer first, then close: a connection closed early would let
	 * one still in the listen backlog in under the limit */
	for (int i = 0; i < 5; i++) {
		client_wait(c[i], "}", 2000);
		answered += c[i]->body != NULL && strstr(c[i]->body, "127.0.0.1") != NULL;
	}
	for (int i = 0; i < 5; i++)
		client_close(c[i]);
	assert_int_equal(answered, 3);
	http_server_get_stats(s, &st);
	assert_int_equal(st.connections_refused, 2);
	http_server_stop(s, 1000);

	/* The total limit: libmicrohttpd stops accepting at it, so that
	 * further connections wait in the listen backlog until one closes
	 * (not refused, not counted). The pool splits the limit over its
	 * threads: 2 in all. */
	s = limited_start(2, 0, 0);
	answered = 0;
	for (int i = 0; i < 4; i++)
		c[i] = client_open("/whoami", NULL, 0);
	for (int i = 0; i < 4; i++)
		answered += client_wait(c[i], "}", i < 2 ? 2000 : 300);
	assert_int_equal(answered, 2);
	for (int i = 0; i < 4; i++)
		if (c[i]->body != NULL && strstr(c[i]->body, "}") != NULL) {
			client_close(c[i]);
			c[i] = NULL;
		}
	for (int i = 0; i < 4; i++)
		if (c[i] != NULL) {
			assert_true(client_wait(c[i], "}", 2000));
			client_close(c[i]);
		}
	http_server_stop(s, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup(fn, setup)
		T(test_chunks_in_order),
		T(test_wake_from_thread),
		T(test_wake_between_read_and_sleep),
		T(test_many_streams),
		T(test_stalled_client),
		T(test_client_disconnect),
		T(test_stop_ends_streams),
		T(test_stream_refused_during_stop),
		T(test_retry_after_and_last_event_id),
		T(test_listen_fd_and_client_ip),
		T(test_headers_too_large),
		T(test_body_too_large_counted),
		T(test_connection_limits),
#undef T
	};

	for (size_t i = 0; i < N_SRC; i++)
		pthread_mutex_init(&srcs[i].lock, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
