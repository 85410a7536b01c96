/* priv_client.h and priv_server.h over a real socketpair in one process:
 * the root side serves a struct priv_root whose ocserv is a fake backend
 * (the ocserv operations' table, priv_ops_ocserv.c); where the root side
 * must misbehave, the test plays it with priv_wire.h directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "priv_client.h"
#include "priv_ops.h"
#include "priv_server.h"
#include "priv_wire.h"
#include "request_id.h"
#include "secmem.h"
#include "unit.h"

#define RID "0a1b2c3d-00000000002a"

/* ---- the fake backend: a gate for version calls, canned answers ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool gate_closed;
	int entered;		  /* version calls that reached the backend */
	char rid[REQUEST_ID_LEN]; /* request_id_current() seen by the last */
	unsigned deep;		  /* status answers this deep when > 0 */
} fk = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void gate(bool closed)
{
	pthread_mutex_lock(&fk.lock);
	fk.gate_closed = closed;
	pthread_cond_broadcast(&fk.cond);
	pthread_mutex_unlock(&fk.lock);
}

static bool wait_entered(int n)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&fk.lock);
	while (fk.entered < n && pthread_cond_timedwait(&fk.cond, &fk.lock, &until) == 0)
		;
	n = fk.entered >= n;
	pthread_mutex_unlock(&fk.lock);
	return n;
}

static int f_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	(void)be, (void)ei;
	pthread_mutex_lock(&fk.lock);
	fk.entered++;
	snprintf(fk.rid, sizeof(fk.rid), "%s", request_id_current());
	pthread_cond_broadcast(&fk.cond);
	while (fk.gate_closed)
		pthread_cond_wait(&fk.cond, &fk.lock);
	pthread_mutex_unlock(&fk.lock);
	return ocserv_version_parse("1.3.0", ret);
}

/* Echoes its timeout, so that each caller can tell its own answer. */
static int f_status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	(void)be, (void)ei;
	if (fk.deep > 0) {
		json_t *j = json_object();

		for (unsigned i = 0; i < fk.deep; i++)
			j = json_pack("{s:o}", "d", j);
		*ret = j;
		return 0;
	}
	*ret = json_pack("{s:i}", "timeout", (int)timeout_ms);
	return *ret != NULL ? 0 : ERR_NOMEM;
}

static int f_disconnect_id(void *be, int64_t id, struct err_info *ei)
{
	(void)be;
	return err_set(ei, ERR_NOT_FOUND, "no session %lld", (long long)id);
}

static void f_free(void *be)
{
	(void)be;
}

static const struct ocserv_backend_ops fake_ops = {
	.name = "fake",
	.status = f_status,
	.version = f_version,
	.disconnect_id = f_disconnect_id,
	.free = f_free,
};

/* ---- the api side's hooks ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int lost;
	char reason[256];
	int events, tls;
	json_t *last_event, *last_tls;
} hk = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void h_event(void *arg, const json_t *ev)
{
	(void)arg;
	pthread_mutex_lock(&hk.lock);
	hk.events++;
	json_decref(hk.last_event);
	hk.last_event = json_deep_copy(ev);
	pthread_cond_broadcast(&hk.cond);
	pthread_mutex_unlock(&hk.lock);
}

static void h_tls(void *arg, const json_t *tls)
{
	(void)arg;
	pthread_mutex_lock(&hk.lock);
	hk.tls++;
	json_decref(hk.last_tls);
	hk.last_tls = json_deep_copy(tls);
	pthread_cond_broadcast(&hk.cond);
	pthread_mutex_unlock(&hk.lock);
}

static void h_lost(void *arg, const char *reason)
{
	(void)arg;
	pthread_mutex_lock(&hk.lock);
	hk.lost++;
	snprintf(hk.reason, sizeof(hk.reason), "%s", reason);
	pthread_cond_broadcast(&hk.cond);
	pthread_mutex_unlock(&hk.lock);
}

static const struct priv_client_hooks hooks = {h_event, h_tls, h_lost, NULL};

/* Wait (up to 10 s) until *counter reaches n. */
static bool hk_wait(const int *counter, int n)
{
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&hk.lock);
	while (*counter < n && pthread_cond_timedwait(&hk.cond, &hk.lock, &until) == 0)
		;
	ok = *counter >= n;
	pthread_mutex_unlock(&hk.lock);
	return ok;
}

/* ---- one session: a client and a real server on a thread ---- */

struct sess {
	int sv[2];
	struct priv_root root;
	struct priv_server *server;
	struct priv *client;
	pthread_t thread;
	int run_result;
	bool run_done;
	struct err_info run_ei;
};

static void *server_main(void *arg)
{
	struct sess *s = arg;
	int r = priv_server_run(s->server, &s->run_ei);

	pthread_mutex_lock(&fk.lock);
	s->run_result = r;
	s->run_done = true;
	pthread_cond_broadcast(&fk.cond);
	pthread_mutex_unlock(&fk.lock);
	return NULL;
}

static void reset(void)
{
	pthread_mutex_lock(&fk.lock);
	fk.gate_closed = false;
	fk.entered = 0;
	fk.rid[0] = '\0';
	fk.deep = 0;
	pthread_mutex_unlock(&fk.lock);
	pthread_mutex_lock(&hk.lock);
	hk.lost = hk.events = hk.tls = 0;
	hk.reason[0] = '\0';
	json_decref(hk.last_event);
	json_decref(hk.last_tls);
	hk.last_event = hk.last_tls = NULL;
	pthread_mutex_unlock(&hk.lock);
}

static int setup(void **state)
{
	struct sess *s = calloc(1, sizeof(*s));
	struct err_info ei;

	reset();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->sv), 0);
	s->root.oc = ocserv_new(&fake_ops, NULL);
	assert_non_null(s->server = priv_server_new(s->sv[1], &s->root));
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	assert_non_null(s->client = priv_client_new(s->sv[0], &hooks, 20000, &ei));
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct sess *s = *state;

	gate(false);	      /* a failed test may leave calls held */
	priv_free(s->client); /* the api side closes: the server ends */
	pthread_join(s->thread, NULL);
	priv_server_free(s->server);
	close(s->sv[1]);
	ocserv_free(s->root.oc);
	reset();
	free(s);
	return 0;
}

static bool run_done_within(struct sess *s, int ms)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fk.lock);
	while (!s->run_done && pthread_cond_timedwait(&fk.cond, &fk.lock, &until) == 0)
		;
	done = s->run_done;
	pthread_mutex_unlock(&fk.lock);
	return done;
}

/* ---- calls through the real server ---- */

static void test_call_result(void **state)
{
	struct sess *s = *state;
	struct priv_error pe;
	json_t *ret;

	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_VERSION, json_object(), &ret, &pe),
			 0);
	assert_string_equal(json_string_value(json_object_get(ret, "text")), "1.3.0");
	assert_int_equal(json_integer_value(json_object_get(ret, "minor")), 3);
	json_decref(ret);
	/* The request id reached the root side's thread. */
	assert_string_equal(fk.rid, RID);
	/* One that may not cross is dropped, not refused. */
	assert_int_equal(
		priv_call(s->client, "a b\n", PRIV_OCSERV_VERSION, json_object(), &ret, &pe), 0);
	assert_string_equal(fk.rid, "");
	json_decref(ret);
	/* NULL: the thread's current request. */
	request_id_set_current("cafe-1");
	assert_int_equal(priv_call(s->client, NULL, PRIV_OCSERV_VERSION, json_object(), &ret, &pe),
			 0);
	assert_string_equal(fk.rid, "cafe-1");
	request_id_set_current(NULL);
	json_decref(ret);
	assert_int_equal(hk.lost, 0);
}

static void test_call_errors(void **state)
{
	struct sess *s = *state;
	struct priv_error pe;
	json_t *ret = (json_t *)1;

	/* The backend's error, with its detail. */
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_DISCONNECT_ID,
				   json_pack("{s:i}", "id", 42), &ret, &pe),
			 ERR_NOT_FOUND);
	assert_null(ret);
	assert_string_equal(pe.ei.detail, "no session 42");
	assert_string_equal(pe.message, "");
	assert_null(pe.extra);
	/* A value refused by the root side's checks names the member; the
	 * session goes on. */
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_DISCONNECT_ID,
				   json_pack("{s:i}", "id", 0), &ret, &pe),
			 ERR_BAD_REQUEST);
	assert_non_null(strstr(pe.message, "id"));
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_USER,
				   json_pack("{s:s}", "username", "-oProxyCommand"), &ret, &pe),
			 ERR_BAD_REQUEST);
	assert_non_null(strstr(pe.message, "username"));
	/* A result too deep to cross becomes an internal error. */
	fk.deep = PRIV_MAX_DEPTH + 5;
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_STATUS, json_object(), &ret, &pe),
			 ERR_INTERNAL);
	assert_true(pe.message[0] != '\0');
	fk.deep = 0;
	/* Arguments that cannot be encoded are refused here; nothing crossed. */
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_USER,
				   json_pack("{s:s%}", "username", "a\0b", (size_t)3), &ret, &pe),
			 ERR_PRIV_PROTOCOL);
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_STATUS, NULL, &ret, &pe), ERR_NOMEM);
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_VERSION, json_object(), &ret, &pe),
			 0);
	json_decref(ret);
	assert_int_equal(hk.lost, 0);
	assert_false(s->run_done);
}

struct caller {
	struct priv *p;
	int timeout;
	int r;
	json_t *ret;
	enum priv_op op;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	struct priv_error pe;
	json_t *args = c->op == PRIV_OCSERV_STATUS ? json_pack("{s:i}", "timeoutMs", c->timeout)
						   : json_object();

	c->r = priv_call(c->p, RID, c->op, args, &c->ret, &pe);
	priv_error_clear(&pe);
	return NULL;
}

static void test_concurrent_calls(void **state)
{
	struct sess *s = *state;
	struct caller c[24];
	pthread_t t[24];

	/* Version calls held at the gate: replies come back in another order
	 * than the calls went, interleaved with status calls. */
	gate(true);
	for (int i = 0; i < 24; i++) {
		c[i] = (struct caller){.p = s->client,
				       .timeout = 1000 + i,
				       .op = i % 2 ? PRIV_OCSERV_VERSION : PRIV_OCSERV_STATUS};
		assert_int_equal(pthread_create(&t[i], NULL, caller_main, &c[i]), 0);
	}
	assert_true(wait_entered(12)); /* all version calls run at once */
	for (int i = 0; i < 24; i += 2) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].r, 0);
		assert_int_equal(json_integer_value(json_object_get(c[i].ret, "timeout")),
				 1000 + i);
		json_decref(c[i].ret);
	}
	gate(false);
	for (int i = 1; i < 24; i += 2) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].r, 0);
		assert_string_equal(json_string_value(json_object_get(c[i].ret, "text")), "1.3.0");
		json_decref(c[i].ret);
	}
	assert_int_equal(hk.lost, 0);
}

static void test_too_many_calls(void **state)
{
	struct sess *s = *state;
	struct caller c[PRIV_SERVER_MAX_CALLS];
	pthread_t t[PRIV_SERVER_MAX_CALLS];
	struct priv_error pe;
	json_t *ret;

	gate(true);
	for (int i = 0; i < PRIV_SERVER_MAX_CALLS; i++) {
		c[i] = (struct caller){.p = s->client, .op = PRIV_OCSERV_VERSION};
		assert_int_equal(pthread_create(&t[i], NULL, caller_main, &c[i]), 0);
	}
	assert_true(wait_entered(PRIV_SERVER_MAX_CALLS));
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_STATUS, json_object(), &ret, &pe),
			 ERR_TOO_MANY);
	gate(false);
	for (int i = 0; i < PRIV_SERVER_MAX_CALLS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].r, 0);
		json_decref(c[i].ret);
	}
	/* Room again. */
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_STATUS, json_object(), &ret, &pe),
			 0);
	json_decref(ret);
	assert_int_equal(hk.lost, 0);
}

static void test_server_events(void **state)
{
	struct sess *s = *state;
	struct err_info ei;
	json_t *ev = json_pack("{s:s,s:{s:s}}", "source", "ctl", "event", "user", "alice");
	json_t *tls = json_pack("{s:s,s:s}", "cert", "-----BEGIN CERTIFICATE-----", "key",
				"-----BEGIN PRIVATE KEY-----");

	assert_int_equal(priv_server_send(s->server, PRIV_KIND_EVENT, ev, &ei), 0);
	assert_int_equal(priv_server_send(s->server, PRIV_KIND_TLS, tls, &ei), 0);
	assert_int_equal(priv_server_send(s->server, PRIV_KIND_EVENT, ev, &ei), 0);
	assert_true(hk_wait(&hk.tls, 1));
	assert_true(hk_wait(&hk.events, 2));
	assert_true(json_equal(hk.last_event, ev));
	assert_true(json_equal(hk.last_tls, tls));
	assert_int_equal(priv_server_send(s->server, PRIV_KIND_REPLY, ev, &ei), ERR_INTERNAL);
	assert_int_equal(priv_server_send(s->server, PRIV_KIND_CALL, ev, &ei), ERR_INTERNAL);
	json_decref(ev);
	json_decref(tls);
	assert_int_equal(hk.lost, 0);
}

/* A shape error is no ordinary refusal: the root side ends the session,
 * the api side reports it lost, once, and every later call fails. */
static void test_shape_error_ends(void **state)
{
	struct sess *s = *state;
	struct priv_error pe;
	json_t *ret;

	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_USER,
				   json_pack("{s:i}", "username", 5), &ret, &pe),
			 ERR_PRIV_PROTOCOL);
	assert_true(run_done_within(s, 10000));
	assert_int_equal(s->run_result, ERR_PRIV_PROTOCOL);
	assert_non_null(strstr(s->run_ei.detail, "username"));
	/* The server does not close fd (the caller kills the api process);
	 * here the test closes it. */
	shutdown(s->sv[1], SHUT_RDWR);
	assert_true(hk_wait(&hk.lost, 1));
	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_VERSION, json_object(), &ret, &pe),
			 ERR_PRIV_PROTOCOL);
	assert_null(ret);
	assert_true(pe.ei.detail[0] != '\0');
	assert_int_equal(hk.lost, 1);
	assert_int_equal(fk.entered, 0);
}

static void test_unknown_member_ends(void **state)
{
	struct sess *s = *state;
	struct priv_error pe;
	json_t *ret;

	assert_int_equal(priv_call(s->client, RID, PRIV_OCSERV_VERSION,
				   json_pack("{s:s}", "path", "/etc/shadow"), &ret, &pe),
			 ERR_PRIV_PROTOCOL);
	assert_true(run_done_within(s, 10000));
	assert_int_equal(s->run_result, ERR_PRIV_PROTOCOL);
	assert_int_equal(fk.entered, 0); /* ocserv never touched */
}

/* Raw frames to the real server: an op out of range, a malformed payload,
 * the wrong kind. Each ends the session. */
static void raw_call_ends(const uint8_t *buf, size_t len, bool then_close)
{
	struct priv_root root = {.oc = ocserv_new(&fake_ops, NULL)};
	struct priv_server *srv;
	struct err_info ei;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	srv = priv_server_new(sv[1], &root);
	assert_int_equal(priv_wire_write(sv[0], buf, len, &ei), 0);
	if (then_close)
		shutdown(sv[0], SHUT_WR);
	/* Else the server stops at the bad frame by itself. */
	assert_int_equal(priv_server_run(srv, &ei), ERR_PRIV_PROTOCOL);
	assert_true(ei.detail[0] != '\0');
	priv_server_free(srv);
	close(sv[0]);
	close(sv[1]);
	ocserv_free(root.oc);
}

static void test_server_refuses_raw(void **state)
{
	struct priv_frame f = {.kind = PRIV_KIND_CALL, .op = PRIV_OCSERV_VERSION, .seq = 1};
	struct err_info ei;
	uint8_t *buf;
	size_t len;

	(void)state;
	f.payload = json_object();
	assert_int_equal(priv_wire_encode(&f, &buf, &len, &ei), 0);
	buf[6] = PRIV_OP_MAX; /* unknown op */
	raw_call_ends(buf, len, false);
	buf[6] = PRIV_OCSERV_VERSION;
	buf[4] = PRIV_KIND_REPLY; /* the api side may only call */
	raw_call_ends(buf, len, false);
	buf[4] = PRIV_KIND_CALL;
	buf[len - 1] = ']'; /* "{]" */
	raw_call_ends(buf, len, false);
	buf[len - 1] = '}';
	raw_call_ends(buf, len - 1, true); /* cut short, then the end */
	free(buf);
	json_decref(f.payload);
	assert_int_equal(fk.entered, 0);
}

/* The api side ending: run returns 0, but only after the calls running. */
static void test_api_side_closes(void **state)
{
	struct sess *s = *state;
	struct priv_frame f = {.kind = PRIV_KIND_CALL, .op = PRIV_OCSERV_VERSION, .seq = 9};
	struct err_info ei;
	uint8_t *buf;
	size_t len;
	int fd = dup(s->sv[0]);

	/* A call the test writes itself on a dup of the client's end. */
	gate(true);
	f.payload = json_object();
	assert_int_equal(priv_wire_encode(&f, &buf, &len, &ei), 0);
	assert_int_equal(priv_wire_write(fd, buf, len, &ei), 0);
	free(buf);
	json_decref(f.payload);
	assert_true(wait_entered(1));
	shutdown(fd, SHUT_WR); /* the api side is done sending */
	close(fd);
	assert_false(run_done_within(s, 300)); /* the call still runs */
	gate(false);
	assert_true(run_done_within(s, 10000));
	assert_int_equal(s->run_result, 0);
	/* The client's reader got a REPLY with seq 9 that no call waits for: a
	 * protocol error on the api side. */
	assert_true(hk_wait(&hk.lost, 1));
	assert_non_null(strstr(hk.reason, "9"));
}

/* ---- the client against a root side played by the test ---- */

struct fake_root {
	int fd; /* the root's end */
	struct priv *client;
};

static void fake_root_open(struct fake_root *fr, unsigned timeout_ms)
{
	struct err_info ei;
	int sv[2];

	reset();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fr->fd = sv[1];
	assert_non_null(fr->client = priv_client_new(sv[0], &hooks, timeout_ms, &ei));
}

static void fake_root_close(struct fake_root *fr)
{
	priv_free(fr->client);
	close(fr->fd);
	reset();
}

static void send_frame(int fd, enum priv_kind kind, enum priv_op op, uint32_t seq, int status,
		       json_t *payload)
{
	struct priv_frame f = {.kind = kind, .op = op, .seq = seq, .status = status};
	struct err_info ei;
	uint8_t *buf;
	size_t len;

	f.payload = payload;
	assert_int_equal(priv_wire_encode(&f, &buf, &len, &ei), 0);
	assert_int_equal(priv_wire_write(fd, buf, len, &ei), 0);
	free(buf);
	json_decref(payload);
}

/* How the test's root side answers the next CALL. */
struct answer {
	int fd;
	int status;
	json_t *payload; /* taken */
	uint32_t seq_delta;
	int op; /* 0: the call's */
	/* After encoding: patch the header at patch_at with patch_len bytes
	 * (1 when 0) of patch_val, little-endian. */
	int patch_at, patch_len;
	uint32_t patch_val;
	bool no_reply;
	bool close_after;
	json_t *event_first; /* an EVENT and a TLS frame before the reply */
};

static void *answer_main(void *arg)
{
	struct answer *a = arg;
	struct priv_frame call = {0}, f = {.kind = PRIV_KIND_REPLY};
	struct err_info ei;
	uint8_t *buf;
	size_t len;

	assert_int_equal(priv_wire_read(a->fd, true, &call, &ei), 0);
	assert_string_equal(call.request_id, RID);
	if (a->event_first != NULL) {
		send_frame(a->fd, PRIV_KIND_EVENT, 0, 0, 0, json_incref(a->event_first));
		send_frame(a->fd, PRIV_KIND_TLS, 0, 0, 0, a->event_first);
	}
	if (!a->no_reply) {
		f.op = a->op ? (enum priv_op)a->op : call.op;
		f.seq = call.seq + a->seq_delta;
		f.status = a->status;
		f.payload = a->payload;
		assert_int_equal(priv_wire_encode(&f, &buf, &len, &ei), 0);
		for (int i = 0; a->patch_at > 0 && i < (a->patch_len ? a->patch_len : 1); i++)
			buf[a->patch_at + i] = (uint8_t)(a->patch_val >> (8 * i));
		assert_int_equal(priv_wire_write(a->fd, buf, len, &ei), 0);
		free(buf);
		json_decref(a->payload);
	}
	if (a->close_after)
		shutdown(a->fd, SHUT_RDWR);
	priv_frame_clear(&call);
	return NULL;
}

/* One version call answered as a says. */
static int call_answered(struct fake_root *fr, struct answer *a, json_t **ret,
			 struct priv_error *pe)
{
	pthread_t t;
	int r;

	a->fd = fr->fd;
	assert_int_equal(pthread_create(&t, NULL, answer_main, a), 0);
	r = priv_call(fr->client, RID, PRIV_OCSERV_VERSION, json_object(), ret, pe);
	pthread_join(t, NULL);
	return r;
}

static void test_client_replies(void **state)
{
	struct fake_root fr;
	struct priv_error pe;
	json_t *ret;
	struct answer ok = {.payload = json_pack("{s:[i,s]}", "result", 1, "x")};
	struct answer fail = {.status = ERR_RATE_LIMITED,
			      .payload =
				      json_pack("{s:s,s:s,s:{s:i},s:i}", "message", "Slow down.",
						"detail", "d", "extra", "n", 3, "retryAfter", 7)};
	struct answer plain = {.status = ERR__MIN,
			       .payload = json_pack("{s:s,s:s}", "message", "", "detail", "")};
	struct answer ev = {.payload = json_pack("{s:{}}", "result"),
			    .event_first = json_pack("{s:s}", "cert", "C")};

	(void)state;
	fake_root_open(&fr, 0);
	assert_int_equal(call_answered(&fr, &ok, &ret, &pe), 0);
	assert_int_equal(json_array_size(ret), 2);
	json_decref(ret);

	assert_int_equal(call_answered(&fr, &fail, &ret, &pe), ERR_RATE_LIMITED);
	assert_null(ret);
	assert_string_equal(pe.message, "Slow down.");
	assert_string_equal(pe.ei.detail, "d");
	assert_int_equal(json_integer_value(json_object_get(pe.extra, "n")), 3);
	assert_int_equal(pe.retry_after, 7);
	priv_error_clear(&pe);
	assert_null(pe.extra);

	assert_int_equal(call_answered(&fr, &plain, &ret, &pe), ERR__MIN);
	assert_string_equal(pe.message, "");
	assert_int_equal(pe.retry_after, 0);
	assert_null(pe.extra);

	assert_int_equal(call_answered(&fr, &ev, &ret, &pe), 0);
	json_decref(ret);
	assert_true(hk_wait(&hk.events, 1));
	assert_true(hk_wait(&hk.tls, 1));
	assert_string_equal(json_string_value(json_object_get(hk.last_event, "cert")), "C");
	assert_string_equal(json_string_value(json_object_get(hk.last_tls, "cert")), "C");

	assert_int_equal(hk.lost, 0);
	fake_root_close(&fr);
	assert_int_equal(hk.lost, 0); /* priv_free is no loss */
}

/* A root side that breaks the protocol: the waiting call fails, lost() is
 * called once, and so does every later call. */
static void expect_lost(struct answer *a, const char *why)
{
	struct fake_root fr;
	struct priv_error pe;
	json_t *ret;

	fake_root_open(&fr, 0);
	assert_int_equal(call_answered(&fr, a, &ret, &pe), ERR_PRIV_PROTOCOL);
	assert_null(ret);
	assert_true(hk_wait(&hk.lost, 1));
	if (why != NULL && strstr(hk.reason, why) == NULL)
		fail_msg("lost reason '%s' lacks '%s'", hk.reason, why);
	assert_int_equal(priv_call(fr.client, RID, PRIV_OCSERV_VERSION, json_object(), &ret, &pe),
			 ERR_PRIV_PROTOCOL);
	assert_true(pe.ei.detail[0] != '\0');
	assert_int_equal(hk.lost, 1);
	fake_root_close(&fr);
}

static void test_client_protocol_errors(void **state)
{
	struct answer a;

	(void)state;
	a = (struct answer){.seq_delta = 1, .payload = json_pack("{s:i}", "result", 1)};
	expect_lost(&a, "no waiting call");
	a = (struct answer){.op = PRIV_OCSERV_LIST, .payload = json_pack("{s:i}", "result", 1)};
	expect_lost(&a, "no waiting call");
	a = (struct answer){.payload = json_pack("{s:i,s:i}", "result", 1, "x", 2)};
	expect_lost(&a, "unexpected member");
	a = (struct answer){.payload = json_object()};
	expect_lost(&a, "no result");
	a = (struct answer){.status = ERR_INTERNAL, .payload = json_pack("{s:s}", "message", "m")};
	expect_lost(&a, "malformed error");
	a = (struct answer){.status = ERR_INTERNAL,
			    .payload = json_pack("{s:s,s:s,s:s}", "message", "m", "detail", "d",
						 "retryAfter", "7")};
	expect_lost(&a, "malformed error");
	a = (struct answer){.status = ERR_INTERNAL,
			    .payload = json_pack("{s:s,s:s,s:i}", "message", "m", "detail", "d",
						 "retryAfter", -1)};
	expect_lost(&a, "malformed error");
	a = (struct answer){
		.status = ERR_INTERNAL,
		.payload = json_pack("{s:s,s:s,s:[]}", "message", "m", "detail", "d", "extra")};
	expect_lost(&a, "malformed error");
	a = (struct answer){
		.status = ERR_INTERNAL,
		.payload = json_pack("{s:s,s:s,s:i}", "message", "m", "detail", "d", "result", 1)};
	expect_lost(&a, "unexpected member");
	/* Header rules on the api side: a status that is no ERR_*, a CALL. */
	a = (struct answer){
		.payload = json_pack("{s:i}", "result", 1), .patch_at = 12, .patch_val = 1};
	expect_lost(&a, "status");
	a = (struct answer){.payload = json_pack("{s:i}", "result", 1),
			    .patch_at = 12,
			    .patch_len = 4,
			    .patch_val = (uint32_t)(ERR__MIN - 1)};
	expect_lost(&a, "status");
	a = (struct answer){.payload = json_pack("{s:i}", "result", 1),
			    .patch_at = 4,
			    .patch_val = PRIV_KIND_CALL};
	expect_lost(&a, "kind");
	/* The root side goes away while a call waits. */
	a = (struct answer){.no_reply = true, .close_after = true};
	expect_lost(&a, "closed");
}

static void test_client_timeout(void **state)
{
	struct fake_root fr;
	struct answer a = {.no_reply = true};
	struct priv_error pe;
	struct priv_frame f = {0};
	struct timespec t0, t1;
	struct err_info ei;
	json_t *ret;
	long ms;

	(void)state;
	fake_root_open(&fr, 200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call_answered(&fr, &a, &ret, &pe), ERR_PRIV_PROTOCOL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 190 && ms < 5000);
	assert_true(hk_wait(&hk.lost, 1));
	assert_non_null(strstr(hk.reason, "within 200 ms"));
	/* The session is over: the root side sees the end. */
	assert_int_equal(priv_wire_read(fr.fd, true, &f, &ei), 1);
	assert_int_equal(priv_call(fr.client, RID, PRIV_OCSERV_VERSION, json_object(), &ret, &pe),
			 ERR_PRIV_PROTOCOL);
	assert_int_equal(hk.lost, 1);
	fake_root_close(&fr);
}

/* Every waiting call fails when the root side goes. */
static void test_client_all_waiters_fail(void **state)
{
	struct fake_root fr;
	struct caller c[3];
	pthread_t t[3];
	struct priv_frame f;
	struct err_info ei;
	uint32_t seqs[3];

	(void)state;
	fake_root_open(&fr, 0);
	for (int i = 0; i < 3; i++) {
		c[i] = (struct caller){.p = fr.client, .op = PRIV_OCSERV_VERSION};
		assert_int_equal(pthread_create(&t[i], NULL, caller_main, &c[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		memset(&f, 0, sizeof(f));
		assert_int_equal(priv_wire_read(fr.fd, true, &f, &ei), 0);
		seqs[i] = f.seq;
		for (int j = 0; j < i; j++)
			assert_true(seqs[j] != seqs[i]); /* one number per call */
		priv_frame_clear(&f);
	}
	close(fr.fd);
	fr.fd = -1;
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].r, ERR_PRIV_PROTOCOL);
		assert_null(c[i].ret);
	}
	assert_true(hk_wait(&hk.lost, 1));
	assert_int_equal(hk.lost, 1);
	fake_root_close(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_call_result, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shape_error_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_member_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_side_closes, setup, teardown),
		cmocka_unit_test(test_server_refuses_raw),
		cmocka_unit_test(test_client_replies),
		cmocka_unit_test(test_client_protocol_errors),
		cmocka_unit_test(test_client_timeout),
		cmocka_unit_test(test_client_all_waiters_fail),
	};

	secmem_init_json();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
