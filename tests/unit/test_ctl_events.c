/* ctl_events.h: decoding of events updates captured from ocserv 1.1.6
 * (tests/data/ctl_events, see capture.py there), and the subscription
 * thread against a fake ocserv on a temporary unix socket. */
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <cmocka.h>

#include "ctl.h"
#include "ctl_events.h"
#include "events.h"
#include "priv_events.h"
#include "priv_ops.h"
#include "timefmt.h"
#include "unit.h"

static uint8_t *capture(const char *name, size_t *len)
{
	char path[512];
	uint8_t *p;

	snprintf(path, sizeof(path), "%s/ctl_events/%s", FIXTURES_DIR, name);
	p = (uint8_t *)unit_read_file(path, len);
	assert_non_null(p);
	return p;
}

static struct event *decode_capture(const char *name)
{
	struct err_info ei = {""};
	struct event *ev = NULL;
	size_t len;
	uint8_t *p = capture(name, &len);

	assert_int_equal(ctl_events_decode(p, len, &ev, &ei), 0);
	free(p);
	assert_non_null(ev);
	return ev;
}

static void assert_vpn_ip(const char *ip)
{
	assert_non_null(ip);
	assert_memory_equal(ip, "192.168.99.", 11);
}

/* ---- decoding ---- */

static void test_decode_connect(void **state)
{
	struct event *a = decode_capture("01-connect.bin"), *b = decode_capture("02-connect.bin");

	(void)state;
	assert_int_equal(a->type, EVENT_CONNECT);
	assert_true(a->vpn_session_id > 0);
	assert_string_equal(a->username, "alice");
	assert_null(a->groupname);
	assert_string_equal(a->vhost, "default");
	assert_string_equal(a->client_ip, "127.0.0.1");
	assert_vpn_ip(a->ip);
	assert_non_null(a->device);
	assert_memory_equal(a->device, "vpns", 4);
	assert_int_equal(a->reason_code, -1);
	assert_null(a->reason_text);
	assert_int_equal(a->rx_bytes, -1);
	assert_int_equal(a->id, 0);
	assert_int_equal(b->type, EVENT_CONNECT);
	assert_string_equal(b->username, "bob");
	assert_string_equal(b->groupname, "staff");
	assert_true(b->vpn_session_id > 0 && b->vpn_session_id != a->vpn_session_id);
	event_free(a);
	event_free(b);
}

static void test_decode_disconnect(void **state)
{
	struct event *ca = decode_capture("01-connect.bin"), *cb = decode_capture("02-connect.bin");
	struct event *da = decode_capture("03-disconnect.bin");
	struct event *db = decode_capture("04-disconnect.bin");

	(void)state;
	/* alice's client quit */
	assert_int_equal(da->type, EVENT_DISCONNECT);
	assert_string_equal(da->username, "alice");
	assert_int_equal(da->vpn_session_id, ca->vpn_session_id);
	assert_string_equal(da->ip, ca->ip);
	assert_string_equal(da->device, ca->device);
	assert_int_equal(da->reason_code, 2);
	assert_string_equal(da->reason_text, "user disconnected");
	/* `occtl disconnect user bob` */
	assert_string_equal(db->username, "bob");
	assert_int_equal(db->vpn_session_id, cb->vpn_session_id);
	assert_int_equal(db->reason_code, 3);
	assert_string_equal(db->reason_text, "server disconnected");
	event_free(ca);
	event_free(cb);
	event_free(da);
	event_free(db);
}

static void test_decode_utf8_name(void **state)
{
	struct event *c = decode_capture("05-connect.bin"),
		     *d = decode_capture("06-disconnect.bin");
	char *json;
	json_t *j;

	(void)state;
	assert_string_equal(c->username, "j\xc3\xbc"
					 "rgen");
	assert_string_equal(d->username, "j\xc3\xbc"
					 "rgen");
	assert_int_equal(d->type, EVENT_DISCONNECT);
	json = event_to_json(d);
	j = json_loads(json, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "username")), "j\xc3\xbc"
									       "rgen");
	json_decref(j);
	free(json);
	event_free(c);
	event_free(d);
}

static void test_decode_bad(void **state)
{
	static const uint8_t no_flag[] = {0x22, 0x00}; /* user list, empty, no connected */
	static const uint8_t no_user[] = {0x08, 0x01}; /* connected, no user */
	static const uint8_t empty_list[] = {0x08, 0x00, 0x22, 0x00}; /* a list of none */
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	struct err_info ei = {""};
	struct event *ev = NULL;
	size_t len, list_len;
	uint8_t *p = capture("04-disconnect.bin", &len);
	uint8_t *list = capture("user-list-one.bin", &list_len);

	(void)state;
	assert_int_equal(ctl_events_decode(NULL, 0, &ev, &ei), ERR_CTL_PROTOCOL);
	assert_int_equal(ctl_events_decode(no_flag, sizeof(no_flag), &ev, &ei), ERR_CTL_PROTOCOL);
	assert_int_equal(ctl_events_decode(no_user, sizeof(no_user), &ev, &ei), ERR_CTL_PROTOCOL);
	assert_non_null(strstr(ei.detail, "no user"));
	assert_int_equal(ctl_events_decode(empty_list, sizeof(empty_list), &ev, &ei),
			 ERR_CTL_PROTOCOL);
	assert_int_equal(ctl_events_decode(junk, sizeof(junk), &ev, &ei), ERR_CTL_PROTOCOL);
	/* every truncation of a real update */
	for (size_t n = 0; n < len; n++) {
		struct event *t = NULL;
		int r = ctl_events_decode(p, n, &t, &ei);

		assert_true(r == 0 || r == ERR_CTL_PROTOCOL);
		if (r == 0)
			assert_non_null(t);
		event_free(t);
	}
	/* a user list is not an update */
	assert_int_equal(ctl_events_decode(list, list_len, &ev, &ei), ERR_CTL_PROTOCOL);
	assert_null(ev);
	free(p);
	free(list);
}

/* ---- the thread against a fake ocserv ---- */

static char tmpdir[64], sock_path[128];

struct fake {
	int lfd;
	int rounds_done;
	bool bad_request; /* a request other than TOP with no body came */
	pthread_t th;
};

static int setup(void **state)
{
	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "ctlevtest") == NULL)
		return -1;
	unit_join(sock_path, sizeof(sock_path), tmpdir, "occtl.socket");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

static void send_frame(int fd, uint8_t cmd, const uint8_t *p, size_t len)
{
	uint8_t hdr[5];
	uint32_t l = (uint32_t)len;

	hdr[0] = cmd;
	memcpy(hdr + 1, &l, 4);
	assert_int_equal(send(fd, hdr, 5, MSG_NOSIGNAL), 5);
	if (len)
		assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_capture(int fd, uint8_t cmd, const char *name)
{
	size_t len;
	uint8_t *p = capture(name, &len);

	send_frame(fd, cmd, p, len);
	free(p);
}

/* Accept one subscriber and check its request. */
static int accept_sub(struct fake *f)
{
	int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	uint8_t req[5];

	if (fd < 0)
		return -1;
	if (recv(fd, req, 5, MSG_WAITALL) != 5 || req[0] != CTL_CMD_TOP ||
	    memcmp(req + 1, "\0\0\0\0", 4) != 0)
		f->bad_request = true;
	return fd;
}

/* Wait for the client to close its end. */
static void wait_eof(int fd)
{
	char c;

	while (recv(fd, &c, 1, 0) > 0)
		;
}

/* Round 1: the list and six real updates, then ocserv goes away (close).
 * Round 2: a frame that does not decode (the client must hang up).
 * Round 3: one connect, then open until the client hangs up. */
static void *fake_main(void *arg)
{
	static const uint8_t junk[] = {0xff, 0xff};
	static const char *const updates[] = {"01-connect.bin",	   "02-connect.bin",
					      "03-disconnect.bin", "04-disconnect.bin",
					      "05-connect.bin",	   "06-disconnect.bin"};
	struct fake *f = arg;
	int fd;

	if ((fd = accept_sub(f)) < 0)
		return NULL;
	send_capture(fd, CTL_REP_USER_LIST, "user-list-one.bin");
	for (size_t i = 0; i < 6; i++)
		send_capture(fd, CTL_REP_TOP_UPDATE, updates[i]);
	close(fd);
	f->rounds_done = 1;
	if ((fd = accept_sub(f)) < 0)
		return NULL;
	send_frame(fd, CTL_REP_USER_LIST, NULL, 0);
	send_frame(fd, CTL_REP_TOP_UPDATE, junk, sizeof(junk));
	wait_eof(fd);
	close(fd);
	f->rounds_done = 2;
	if ((fd = accept_sub(f)) < 0)
		return NULL;
	send_frame(fd, CTL_REP_USER_LIST, NULL, 0);
	send_capture(fd, CTL_REP_TOP_UPDATE, "01-connect.bin");
	wait_eof(fd);
	close(fd);
	f->rounds_done = 3;
	return NULL;
}

static void fake_start(struct fake *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	strcpy(sa.sun_path, sock_path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static bool wait_published(struct event_hub *h, uint64_t n, int timeout_ms)
{
	struct event_hub_stats st;

	for (int64_t end = timefmt_mono_ms() + timeout_ms; timefmt_mono_ms() < end; sleep_ms(5)) {
		event_hub_stats(h, &st);
		if (st.published >= n)
			return true;
	}
	return false;
}

static bool wait_live(struct event_hub *h, bool live, int timeout_ms)
{
	struct event_hub_stats st;

	for (int64_t end = timefmt_mono_ms() + timeout_ms; timefmt_mono_ms() < end; sleep_ms(5)) {
		event_hub_stats(h, &st);
		if (st.ctl_live == live)
			return true;
	}
	return false;
}

static struct event_hub *hub_make(void)
{
	struct event_hub_options o = {64, 4, 0, 0};
	struct err_info ei = {""};
	struct event_hub *h = event_hub_new(&o, &ei);

	assert_non_null(h);
	return h;
}

static void nop_wake(void *arg)
{
	(void)arg;
}

/* The SSE text of everything in the hub. */
static char *hub_text(struct event_hub *h)
{
	static char buf[65536];
	struct event_filter f = {0, NULL};
	struct event_sub *s;
	ssize_t n;

	assert_int_equal(event_hub_subscribe(h, &f, true, 0, nop_wake, NULL, &s), 0);
	n = event_sub_read(s, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	event_sub_close(s);
	return buf;
}

static const char *nth_event(const char *text, int n)
{
	const char *p = text;

	for (int i = 0; i < n && p; i++)
		if ((p = strstr(p, "\nevent: ")) != NULL)
			p++;
	return p;
}

/* What fake_main's three rounds leave in the hub. */
static void check_reconnects(struct event_hub *h, struct ctl_events *ce, struct fake *f)
{
	const char *text;
	int64_t t0;

	/* 6 updates, a resync after the close, a resync after the junk, 1 connect */
	assert_true(wait_published(h, 9, 10000));
	assert_true(wait_live(h, true, 2000));
	text = hub_text(h);
	assert_non_null(strstr(text, "id: 1\nevent: connect\n")); /* no resync first */
	assert_non_null(strstr(text, "id: 3\nevent: disconnect\n"));
	assert_non_null(strstr(text, "id: 6\nevent: disconnect\n"));
	assert_memory_equal(nth_event(text, 7), "event: resync\n", 14);
	assert_non_null(strstr(nth_event(text, 7), "re-established"));
	assert_memory_equal(nth_event(text, 8), "event: resync\n", 14);
	assert_memory_equal(nth_event(text, 9), "event: connect\n", 15);
	assert_null(nth_event(text, 10));
	/* stop while connected and idle: at once */
	t0 = timefmt_mono_ms();
	ctl_events_stop(ce);
	assert_true(timefmt_mono_ms() - t0 < 500);
	pthread_join(f->th, NULL);
	assert_int_equal(f->rounds_done, 3);
	assert_false(f->bad_request);
	close(f->lfd);
	unlink(sock_path);
	/* the stop ends the subscription's liveness too */
	assert_true(wait_live(h, false, 100));
	event_hub_free(h);
}

static void test_thread_reconnects(void **state)
{
	struct event_hub *h = hub_make();
	struct err_info ei = {""};
	struct ctl_events *ce;
	struct fake f;

	(void)state;
	fake_start(&f);
	ce = ctl_events_start(sock_path, h, &ei);
	assert_non_null(ce);
	check_reconnects(h, ce, &f);
}

/* ---- across the privilege boundary (priv_events.h) ---- */

static int wire_frames;

/* The root sink's frames, through JSON text, to the api side's handler. */
static int wire_send(void *arg, const json_t *payload, struct err_info *ei)
{
	char *text = json_dumps(payload, JSON_COMPACT);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	if (j == NULL)
		return err_set(ei, ERR_INTERNAL, "the payload is not JSON");
	wire_frames++;
	priv_events_deliver(arg, j);
	json_decref(j);
	return 0;
}

static int dead_send(void *arg, const json_t *payload, struct err_info *ei)
{
	(void)arg, (void)payload;
	return err_set(ei, ERR_INTERNAL, "the api side is gone");
}

/* The same rounds with the subscription in the "root process" and the hub
 * behind the EVENT frames: the hub sees the same. */
static void test_thread_through_boundary(void **state)
{
	struct event_hub *h = hub_make();
	struct priv_events_root *pr = priv_events_root_new(wire_send, h);
	struct ctl_events_sink sink;
	struct err_info ei = {""};
	struct ctl_events *ce;
	struct fake f;

	(void)state;
	assert_non_null(pr);
	wire_frames = 0;
	priv_events_root_sink(pr, &sink);
	fake_start(&f);
	ce = ctl_events_start_sink(sock_path, &sink, &ei);
	assert_non_null(ce);
	check_reconnects(h, ce, &f);
	/* 9 events; live, then down and live twice; down at the stop */
	assert_int_equal(wire_frames, 9 + 6);
	priv_events_root_free(pr);
}

/* The api side's payloads: events, the state, and what it drops. */
static void test_deliver(void **state)
{
	static const char *const dropped[] = {
		"{}",
		"{\"ctlLive\":1}",
		"{\"ctlLive\":true,\"x\":1}",
		"{\"source\":\"hook\",\"event\":{\"type\":\"connect\",\"vpn_session_id\":5}}",
		"{\"source\":\"ctl\",\"event\":{\"type\":\"connect\",\"bogus\":5}}",
	};
	struct event_hub *h = hub_make();
	struct event_hub_stats st;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		j = json_loads(dropped[i], 0, NULL);
		assert_non_null(j);
		priv_events_deliver(h, j);
		json_decref(j);
	}
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 0);
	assert_false(st.ctl_live);
	j = json_loads("{\"ctlLive\":true}", 0, NULL);
	priv_events_deliver(h, j);
	json_decref(j);
	event_hub_stats(h, &st);
	assert_true(st.ctl_live);
	j = json_loads("{\"source\":\"ctl\",\"event\":{\"type\":\"connect\",\"vpn_session_id\":"
		       "5,\"username\":\"alice\",\"id\":99}}",
		       0, NULL);
	priv_events_deliver(h, j);
	json_decref(j);
	/* The hub numbers events itself. */
	assert_non_null(strstr(hub_text(h), "id: 1\nevent: connect\ndata: {\"id\":1,"));
	event_hub_free(h);
}

/* A root sink whose frames cannot be sent: the event is dropped (and the
 * subscription renewed), the thread goes on. */
static void test_root_sink_send_fails(void **state)
{
	struct priv_events_root *pr = priv_events_root_new(dead_send, NULL);
	struct ctl_events_sink sink;
	struct event *ev = event_new(EVENT_CONNECT);

	(void)state;
	priv_events_root_sink(pr, &sink);
	assert_int_equal(sink.ingest(sink.arg, ev), ERR_INTERNAL);
	sink.set_live(sink.arg, false);
	priv_events_root_free(pr);
}

/* Round 1 is deaf (another subscriber holds ocserv's one: nothing comes);
 * round 2, after the renewal, sends a connect. */
static void *deaf_main(void *arg)
{
	struct fake *f = arg;
	int fd;

	if ((fd = accept_sub(f)) < 0)
		return NULL;
	send_frame(fd, CTL_REP_USER_LIST, NULL, 0);
	wait_eof(fd);
	close(fd);
	f->rounds_done = 1;
	if ((fd = accept_sub(f)) < 0)
		return NULL;
	send_frame(fd, CTL_REP_USER_LIST, NULL, 0);
	send_capture(fd, CTL_REP_TOP_UPDATE, "01-connect.bin");
	wait_eof(fd);
	close(fd);
	f->rounds_done = 2;
	return NULL;
}

/* The whole renewal loop: the hub (api side) finds the subscription deaf
 * from a hook connect, its on_deaf wakes the renewer, which calls
 * PRIV_EVENTS_RENEW, which the root sink's deaf() reports, so the
 * subscription thread reconnects, and its set_live clears the hub's deaf. */
static void test_deaf_renewed_across(void **state)
{
	struct event_hub *h = hub_make();
	struct priv_root root = {0};
	struct priv *p;
	struct priv_events_renewer *rn;
	struct ctl_events_sink sink;
	struct event_hub_stats st;
	struct err_info ei = {""};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ctl_events *ce;
	struct event *hook_ev = event_new(EVENT_CONNECT);
	struct fake f = {0};

	(void)state;
	root.events = priv_events_root_new(wire_send, h);
	p = priv_local_new(&root);
	rn = priv_events_renewer_start(p, &ei);
	assert_non_null(rn);
	event_hub_on_deaf(h, priv_events_renewer_notify, rn);
	priv_events_root_sink(root.events, &sink);
	strcpy(sa.sun_path, sock_path);
	f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f.lfd, 4), 0);
	assert_int_equal(pthread_create(&f.th, NULL, deaf_main, &f), 0);
	ce = ctl_events_start_sink(sock_path, &sink, &ei);
	assert_non_null(ce);
	assert_true(wait_live(h, true, 2000));
	hook_ev->vpn_session_id = 777;
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, hook_ev), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.ctl_missed, 1);
	/* the hook's connect, the resync after renewal, round 2's connect */
	assert_true(wait_published(h, 3, 5000));
	assert_int_equal(f.rounds_done, 1);
	event_hub_stats(h, &st);
	assert_true(st.ctl_live);
	assert_false(st.ctl_deaf);
	ctl_events_stop(ce);
	pthread_join(f.th, NULL);
	assert_int_equal(f.rounds_done, 2);
	assert_false(f.bad_request);
	close(f.lfd);
	unlink(sock_path);
	event_hub_free(h);
	priv_events_renewer_stop(rn);
	priv_free(p);
	priv_events_root_free(root.events);
}

static void test_thread_no_server(void **state)
{
	struct event_hub *h = hub_make();
	struct err_info ei = {""};
	struct event_hub_stats st;
	struct ctl_events *ce;
	int64_t t0;

	(void)state;
	ce = ctl_events_start(sock_path, h, &ei);
	assert_non_null(ce);
	sleep_ms(400); /* a few retries */
	event_hub_stats(h, &st);
	assert_false(st.ctl_live);
	assert_int_equal(st.published, 0);
	t0 = timefmt_mono_ms();
	ctl_events_stop(ce);
	assert_true(timefmt_mono_ms() - t0 < 500);
	event_hub_free(h);
	ctl_events_stop(NULL);
}

/* A server that accepts and never answers: stop is still prompt. */
static void test_thread_stop_while_subscribing(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct event_hub *h = hub_make();
	struct err_info ei = {""};
	struct ctl_events *ce;
	int lfd, fd;
	int64_t t0;

	(void)state;
	strcpy(sa.sun_path, sock_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	ce = ctl_events_start(sock_path, h, &ei);
	assert_non_null(ce);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	sleep_ms(50);
	t0 = timefmt_mono_ms();
	ctl_events_stop(ce);
	assert_true(timefmt_mono_ms() - t0 < 500);
	close(fd);
	close(lfd);
	unlink(sock_path);
	event_hub_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_connect),
		cmocka_unit_test(test_decode_disconnect),
		cmocka_unit_test(test_decode_utf8_name),
		cmocka_unit_test(test_decode_bad),
		cmocka_unit_test_setup_teardown(test_thread_reconnects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_no_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_stop_while_subscribing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_thread_through_boundary, setup, teardown),
		cmocka_unit_test(test_deliver),
		cmocka_unit_test(test_root_sink_send_fails),
		cmocka_unit_test_setup_teardown(test_deaf_renewed_across, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
