/* events.h: the event model (hook variables, JSON) and the hub (ring,
 * replay, filters, lagging subscribers, wakes, heartbeats, merging). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "events.h"
#include "secmem.h"
#include "hook_server.h"
#include "timefmt.h"
#include "unit.h"

/* ---- helpers ---- */

static struct event *ev_make(enum event_type t, int64_t id, const char *user)
{
	struct event *ev = event_new(t);

	assert_non_null(ev);
	ev->vpn_session_id = id;
	if (user)
		ev->username = strdup(user);
	return ev;
}

static struct event_hub *hub_make(size_t cap, unsigned max_subs, unsigned hb_ms, unsigned wait_ms)
{
	struct event_hub_options o = {cap, max_subs, hb_ms, wait_ms};
	struct err_info ei = {""};
	struct event_hub *h = event_hub_new(&o, &ei);

	assert_non_null(h);
	return h;
}

static void publish(struct event_hub *h, enum event_type t, int64_t id, const char *user)
{
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ev_make(t, id, user)), 0);
}

struct waker {
	int count;
};

static void wake_fn(void *arg)
{
	__atomic_add_fetch(&((struct waker *)arg)->count, 1, __ATOMIC_SEQ_CST);
}

static int wakes(struct waker *w)
{
	return __atomic_load_n(&w->count, __ATOMIC_SEQ_CST);
}

static struct event_sub *sub_make(struct event_hub *h, unsigned types, const char *user,
				  bool replay, uint64_t since, struct waker *w)
{
	struct event_filter f = {types, user};
	struct event_sub *s = NULL;

	assert_int_equal(event_hub_subscribe(h, &f, replay, since, wake_fn, w, &s), 0);
	return s;
}

static char rbuf[65536];

/* One read, NUL-terminated in rbuf; returns the count. */
static ssize_t rd(struct event_sub *s, size_t max)
{
	ssize_t n = event_sub_read(s, rbuf, max);

	rbuf[n > 0 ? n : 0] = '\0';
	return n;
}

/* The ids of the "id: N" lines of rbuf, as "1,2,3". */
static const char *ids_of(char *out, size_t len)
{
	const char *p = rbuf;
	size_t n = 0;

	out[0] = '\0';
	while ((p = strstr(p, "id: ")) != NULL) {
		unsigned long id = strtoul(p + 4, NULL, 10);

		n += (size_t)snprintf(out + n, len - n, "%s%lu", n ? "," : "", id);
		p += 4;
	}
	return out;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* The JSON of the first "data: " line of rbuf. */
static json_t *first_data(void)
{
	const char *p = strstr(rbuf, "data: ");
	const char *nl;
	json_error_t je;
	json_t *j;

	assert_non_null(p);
	p += 6;
	nl = strchr(p, '\n');
	assert_non_null(nl);
	j = json_loadb(p, (size_t)(nl - p), 0, &je);
	assert_non_null(j);
	return j;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static bool wait_wakes(struct waker *w, int n, int timeout_ms)
{
	for (int64_t end = timefmt_mono_ms() + timeout_ms; timefmt_mono_ms() < end; sleep_ms(5))
		if (wakes(w) >= n)
			return true;
	return wakes(w) >= n;
}

/* ---- the event model ---- */

static void test_event_new_absent(void **state)
{
	struct event *ev = event_new(EVENT_CONNECT);
	int64_t now = (int64_t)time(NULL) * 1000;

	(void)state;
	assert_int_equal(ev->id, 0);
	assert_int_equal(ev->vpn_session_id, -1);
	assert_int_equal(ev->reason_code, -1);
	assert_int_equal(ev->rx_bytes, -1);
	assert_int_equal(ev->tx_bytes, -1);
	assert_int_equal(ev->duration_seconds, -1);
	assert_null(ev->username);
	assert_true(ev->time_ms >= now - 2000 && ev->time_ms <= now + 2000);
	event_free(ev);
	event_free(NULL);
}

static void test_to_json_full(void **state)
{
	struct event *ev = ev_make(EVENT_DISCONNECT, 4242, "alice");
	json_error_t je;
	json_t *j, *r;
	char *text;

	(void)state;
	ev->id = 17;
	ev->time_ms = INT64_C(1767225600123); /* 2026-01-01T00:00:00.123Z */
	ev->groupname = strdup("staff");
	ev->vhost = strdup("default");
	ev->client_ip = strdup("127.0.0.1");
	ev->ip = strdup("192.168.99.10");
	ev->device = strdup("vpns0");
	ev->reason_code = 3;
	ev->reason_text = strdup("server disconnected");
	ev->rx_bytes = 1000;
	ev->tx_bytes = 2000;
	ev->duration_seconds = 61;
	text = event_to_json(ev);
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	j = json_loads(text, 0, &je);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 17);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "disconnect");
	assert_string_equal(json_string_value(json_object_get(j, "time")),
			    "2026-01-01T00:00:00.123Z");
	assert_int_equal(json_integer_value(json_object_get(j, "vpnSessionId")), 4242);
	assert_string_equal(json_string_value(json_object_get(j, "username")), "alice");
	assert_string_equal(json_string_value(json_object_get(j, "groupname")), "staff");
	assert_string_equal(json_string_value(json_object_get(j, "vhost")), "default");
	assert_string_equal(json_string_value(json_object_get(j, "clientIp")), "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(j, "ip")), "192.168.99.10");
	assert_string_equal(json_string_value(json_object_get(j, "device")), "vpns0");
	r = json_object_get(j, "reason");
	assert_int_equal(json_integer_value(json_object_get(r, "code")), 3);
	assert_string_equal(json_string_value(json_object_get(r, "text")), "server disconnected");
	assert_int_equal(json_integer_value(json_object_get(j, "rxBytes")), 1000);
	assert_int_equal(json_integer_value(json_object_get(j, "txBytes")), 2000);
	assert_int_equal(json_integer_value(json_object_get(j, "durationSeconds")), 61);
	assert_int_equal(json_object_size(j), 14);
	json_decref(j);
	free(text);
	event_free(ev);
}

static void test_to_json_nulls_and_bad_utf8(void **state)
{
	struct event *ev = ev_make(EVENT_CONNECT, -1, "bad\xff\xfe\"name\n");
	json_error_t je;
	json_t *j;
	char *text;

	(void)state;
	text = event_to_json(ev);
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	j = json_loads(text, 0, &je);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "id")));
	assert_true(json_is_null(json_object_get(j, "vpnSessionId")));
	assert_true(json_is_null(json_object_get(j, "reason")));
	assert_true(json_is_null(json_object_get(j, "rxBytes")));
	assert_true(json_is_null(json_object_get(j, "groupname")));
	assert_string_equal(json_string_value(json_object_get(j, "username")),
			    "bad\xef\xbf\xbd\xef\xbf\xbd\"name\n");
	json_decref(j);
	free(text);
	event_free(ev);
}

/* ---- event_from_hook ---- */

static int from_hook(const char *text, struct event **ev)
{
	struct hook_event he;
	int r = hook_event_parse(text, strlen(text), &he);

	assert_int_equal(r, 0);
	r = event_from_hook(&he, ev);
	hook_event_free(&he);
	return r;
}

static void test_from_hook_connect(void **state)
{
	struct event *ev = NULL;

	(void)state;
	assert_int_equal(from_hook("REASON=connect\nID=3201\nUSERNAME=bob\nGROUPNAME=staff\n"
				   "VHOST=default\nDEVICE=vpns1\nIP_REAL=127.0.0.1\n"
				   "IP_LOCAL=192.168.99.1\nIP_REMOTE=192.168.99.55\n\n",
				   &ev),
			 0);
	assert_int_equal(ev->type, EVENT_CONNECT);
	assert_int_equal(ev->vpn_session_id, 3201);
	assert_string_equal(ev->username, "bob");
	assert_string_equal(ev->groupname, "staff");
	assert_string_equal(ev->vhost, "default");
	assert_string_equal(ev->device, "vpns1");
	assert_string_equal(ev->client_ip, "127.0.0.1");
	assert_string_equal(ev->ip, "192.168.99.55");
	assert_int_equal(ev->rx_bytes, -1);
	event_free(ev);
}

static void test_from_hook_disconnect(void **state)
{
	struct event *ev = NULL;

	(void)state;
	assert_int_equal(from_hook("REASON=disconnect\nID=77\nUSERNAME=carol\nGROUPNAME=\n"
				   "IP_REMOTE=\nIPV6_REMOTE=fd00::5\nSTATS_BYTES_IN=12345\n"
				   "STATS_BYTES_OUT=678\nSTATS_DURATION=42\n\n",
				   &ev),
			 0);
	assert_int_equal(ev->type, EVENT_DISCONNECT);
	assert_null(ev->groupname); /* empty: unknown */
	assert_string_equal(ev->ip, "fd00::5");
	assert_int_equal(ev->rx_bytes, 12345);
	assert_int_equal(ev->tx_bytes, 678);
	assert_int_equal(ev->duration_seconds, 42);
	assert_int_equal(ev->reason_code, -1);
	event_free(ev);
}

static void test_from_hook_bad(void **state)
{
	static const char *const bad[] = {
		"REASON=host-update\nID=5\n\n",
		"ID=5\nUSERNAME=x\n\n",
		"REASON=connect\nID=abc\n\n",
		"REASON=connect\nID=-5\n\n",
		"REASON=connect\nID=0\n\n",
		"REASON=connect\nID=99999999999\n\n",
		"REASON=disconnect\nID=5\nSTATS_BYTES_IN=12x\n\n",
		"REASON=disconnect\nID=5\nSTATS_DURATION= 4\n\n",
		"REASON=disconnect\nID=5\nSTATS_BYTES_OUT=99999999999999999999999\n\n",
	};
	struct event *ev = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(from_hook(bad[i], &ev), ERR_BAD_REQUEST);
	assert_null(ev);
}

/* ---- the hub: ring, ids, replay ---- */

static void test_ids_and_ring_wrap(void **state)
{
	struct event_hub *h = hub_make(4, 8, 0, 0);
	struct event_hub_stats st;

	(void)state;
	event_hub_stats(h, &st);
	assert_int_equal(st.last_id, 0);
	assert_int_equal(st.oldest_id, 0);
	assert_int_equal(st.last_event_ms, -1);
	for (int i = 0; i < 10; i++)
		publish(h, EVENT_CONNECT, 100 + i, "alice");
	event_hub_stats(h, &st);
	assert_int_equal(st.last_id, 10);
	assert_int_equal(st.oldest_id, 7);
	assert_int_equal(st.published, 10);
	assert_true(st.last_event_ms > 0);
	event_hub_free(h);
}

static void test_replay(void **state)
{
	struct event_hub *h = hub_make(4, 8, 0, 0);
	struct waker w = {0};
	struct event_sub *s;
	char ids[128];

	(void)state;
	for (int i = 0; i < 3; i++)
		publish(h, EVENT_CONNECT, 100 + i, "alice");
	/* since 0 with nothing lost: everything, no resync */
	s = sub_make(h, 0, NULL, true, 0, &w);
	assert_true(rd(s, 4096) > 0);
	assert_memory_equal(rbuf, ": ok\n\n", 6);
	assert_string_equal(ids_of(ids, sizeof(ids)), "1,2,3");
	assert_null(strstr(rbuf, "resync"));
	event_sub_close(s);
	for (int i = 3; i < 10; i++)
		publish(h, EVENT_CONNECT, 100 + i, "alice");
	/* since 8: 9 and 10 */
	s = sub_make(h, 0, NULL, true, 8, &w);
	rd(s, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "9,10");
	assert_null(strstr(rbuf, "resync"));
	event_sub_close(s);
	/* since 6: 7..10 still there, nothing lost */
	s = sub_make(h, 0, NULL, true, 6, &w);
	rd(s, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "7,8,9,10");
	assert_null(strstr(rbuf, "resync"));
	event_sub_close(s);
	/* since 2: 3..6 are gone: a resync without id first, then 7..10 */
	s = sub_make(h, 0, NULL, true, 2, &w);
	rd(s, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "7,8,9,10");
	assert_memory_equal(rbuf, ": ok\n\nevent: resync\ndata: {", 27);
	assert_true(strstr(rbuf, "event: resync") < strstr(rbuf, "id: 7"));
	event_sub_close(s);
	/* since 500: an earlier agent's id: resync, then the whole ring */
	s = sub_make(h, EVENT_DISCONNECT, NULL, true, 500, &w);
	rd(s, 4096);
	assert_non_null(strstr(rbuf, "event: resync"));
	assert_string_equal(ids_of(ids, sizeof(ids)), ""); /* the filter passes only resync */
	event_sub_close(s);
	/* no replay: only new events */
	s = sub_make(h, 0, NULL, false, 2, &w);
	assert_int_equal(rd(s, 4096), 6);
	assert_int_equal(rd(s, 4096), 0);
	publish(h, EVENT_DISCONNECT, 100, "alice");
	rd(s, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "11");
	assert_non_null(strstr(rbuf, "event: disconnect\ndata: {\"id\":11,"));
	event_sub_close(s);
	event_hub_free(h);
}

static void test_message_format(void **state)
{
	struct event_hub *h = hub_make(8, 8, 0, 0);
	struct waker w = {0};
	struct event_sub *s = sub_make(h, 0, NULL, false, 0, &w);
	json_t *j;

	(void)state;
	assert_int_equal(rd(s, 4096), 6);
	publish(h, EVENT_CONNECT, 321,
		"al\xc3\xaf"
		"ce");
	assert_true(rd(s, 4096) > 0);
	assert_memory_equal(rbuf, "id: 1\nevent: connect\ndata: {", 28);
	assert_memory_equal(rbuf + strlen(rbuf) - 3, "}\n\n", 3);
	j = first_data();
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "vpnSessionId")), 321);
	assert_string_equal(json_string_value(json_object_get(j, "username")), "al\xc3\xaf"
									       "ce");
	json_decref(j);
	event_sub_close(s);
	event_hub_free(h);
}

/* A read never splits a message: what does not fit comes next time; an
 * event larger than any read is skipped. */
static void test_read_bounds(void **state)
{
	struct event_hub *h = hub_make(8, 8, 0, 0);
	struct waker w = {0};
	struct event_sub *s = sub_make(h, 0, NULL, false, 0, &w);
	char big[3000], ids[64];
	ssize_t one;

	(void)state;
	rd(s, 4096);
	publish(h, EVENT_CONNECT, 1, "alice");
	one = rd(s, 4096);
	assert_true(one > 0);
	for (int i = 0; i < 3; i++)
		publish(h, EVENT_CONNECT, 1, "alice");
	assert_int_equal(rd(s, (size_t)one * 2 + 1), one * 2);
	assert_string_equal(ids_of(ids, sizeof(ids)), "2,3");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	publish(h, EVENT_CONNECT, 1, big);
	publish(h, EVENT_CONNECT, 1, "bob");
	rd(s, EVENT_SUB_MIN_READ);
	assert_string_equal(ids_of(ids, sizeof(ids)), "4,6");
	event_sub_close(s);
	event_hub_free(h);
}

/* ---- filters ---- */

static void test_filters(void **state)
{
	struct event_hub *h = hub_make(16, 8, 0, 0);
	struct waker w = {0};
	struct event_sub *by_type, *by_user, *both;
	struct event *rs;
	char ids[128];

	(void)state;
	by_type = sub_make(h, EVENT_DISCONNECT, NULL, false, 0, &w);
	by_user = sub_make(h, 0, "bob", false, 0, &w);
	both = sub_make(h, EVENT_CONNECT, "alice", false, 0, &w);
	publish(h, EVENT_CONNECT, 1, "alice");	  /* 1 */
	publish(h, EVENT_CONNECT, 2, "bob");	  /* 2 */
	publish(h, EVENT_DISCONNECT, 1, "alice"); /* 3 */
	publish(h, EVENT_DISCONNECT, 2, "bob");	  /* 4 */
	publish(h, EVENT_CONNECT, 3, NULL);	  /* 5 */
	publish(h, EVENT_CONNECT, 4, "bobby");	  /* 6 */
	rs = event_new(EVENT_RESYNC);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, rs), 0); /* 7 */
	rd(by_type, 8192);
	assert_string_equal(ids_of(ids, sizeof(ids)), "3,4,7");
	rd(by_user, 8192);
	assert_string_equal(ids_of(ids, sizeof(ids)), "2,4,7");
	rd(both, 8192);
	assert_string_equal(ids_of(ids, sizeof(ids)), "1,7");
	event_sub_close(by_type);
	event_sub_close(by_user);
	event_sub_close(both);
	event_hub_free(h);
}

/* ---- lagging subscribers, the cap ---- */

static void test_lagging_dropped(void **state)
{
	struct event_hub *h = hub_make(4, 8, 0, 0);
	struct waker wa = {0}, wb = {0}, wc = {0};
	struct event_sub *fast = sub_make(h, 0, NULL, false, 0, &wa);
	struct event_sub *slow = sub_make(h, 0, NULL, false, 0, &wb);
	struct event_sub *quiet = sub_make(h, 0, "carol", false, 0, &wc);
	struct event_hub_stats st;
	char ids[128];

	(void)state;
	rd(fast, 4096);
	rd(slow, 4096);
	rd(quiet, 4096);
	assert_int_equal(rd(quiet, 4096), 0);
	for (int i = 1; i <= 4; i++) {
		publish(h, EVENT_CONNECT, i, "alice");
		rd(fast, 4096);
	}
	event_hub_stats(h, &st);
	assert_int_equal(st.dropped_lagging, 0);
	/* 5 overwrites 1, which slow has not read */
	publish(h, EVENT_CONNECT, 5, "alice");
	event_hub_stats(h, &st);
	assert_int_equal(st.dropped_lagging, 1);
	assert_int_equal(rd(slow, 4096), EVENT_SUB_END);
	assert_int_equal(rd(slow, 4096), EVENT_SUB_END);
	rd(fast, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "5");
	/* The filtered subscriber saw nothing for it: never behind, never woken. */
	for (int i = 6; i <= 20; i++) {
		publish(h, EVENT_CONNECT, i, "alice");
		rd(fast, 4096);
	}
	assert_int_equal(wakes(&wc), 0);
	publish(h, EVENT_CONNECT, 21, "carol");
	assert_int_equal(wakes(&wc), 1);
	rd(quiet, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "21");
	event_hub_stats(h, &st);
	assert_int_equal(st.dropped_lagging, 1);
	assert_int_equal(st.subscribers, 3);
	event_sub_close(slow);
	event_hub_stats(h, &st);
	assert_int_equal(st.subscribers, 2);
	event_sub_close(fast);
	event_sub_close(quiet);
	event_hub_free(h);
}

static void test_max_subscribers(void **state)
{
	struct event_hub *h = hub_make(4, 2, 0, 0);
	struct event_filter f = {0, NULL};
	struct waker w = {0};
	struct event_sub *a, *b, *c = NULL;
	struct event_hub_stats st;

	(void)state;
	a = sub_make(h, 0, NULL, false, 0, &w);
	b = sub_make(h, 0, NULL, false, 0, &w);
	assert_int_equal(event_hub_subscribe(h, &f, false, 0, wake_fn, &w, &c), ERR_TOO_MANY);
	assert_null(c);
	event_hub_stats(h, &st);
	assert_int_equal(st.refused_subscribers, 1);
	assert_int_equal(st.subscribers, 2);
	event_sub_close(a);
	c = sub_make(h, 0, NULL, false, 0, &w);
	event_sub_close(b);
	event_sub_close(c);
	event_hub_free(h);
}

/* ---- wakes and heartbeats ---- */

static void test_wake_exactly_when_needed(void **state)
{
	struct event_hub *h = hub_make(8, 8, 0, 0);
	struct waker w = {0};
	struct event_sub *s = sub_make(h, 0, NULL, false, 0, &w);
	char ids[64];

	(void)state;
	publish(h, EVENT_CONNECT, 1, "a"); /* not read 0 yet: no wake */
	assert_int_equal(wakes(&w), 0);
	rd(s, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "1");
	assert_int_equal(wakes(&w), 0);
	assert_int_equal(rd(s, 4096), 0);
	publish(h, EVENT_CONNECT, 2, "a");
	assert_int_equal(wakes(&w), 1);
	publish(h, EVENT_CONNECT, 3, "a"); /* still unread: no second wake */
	assert_int_equal(wakes(&w), 1);
	rd(s, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "2,3");
	publish(h, EVENT_CONNECT, 4, "a"); /* read returned data, not 0: no wake */
	assert_int_equal(wakes(&w), 1);
	rd(s, 4096);
	assert_int_equal(rd(s, 4096), 0);
	event_hub_set_ctl_live(h, true);
	/* The hook's report of a connect the subscription published: dropped,
	 * nothing new. */
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 4, "a")), 0);
	assert_int_equal(wakes(&w), 1);
	event_sub_close(s);
	event_hub_free(h);
}

static void test_heartbeat(void **state)
{
	struct event_hub *h = hub_make(8, 8, 40, 0);
	struct waker w = {0};
	struct event_sub *s = sub_make(h, 0, NULL, false, 0, &w);
	int64_t t0;

	(void)state;
	assert_string_equal((rd(s, 4096), rbuf), ": ok\n\n");
	assert_int_equal(rd(s, 4096), 0);
	t0 = timefmt_mono_ms();
	assert_true(wait_wakes(&w, 1, 2000));
	assert_true(timefmt_mono_ms() - t0 < 1000);
	assert_int_equal(rd(s, 4096), 13);
	assert_string_equal(rbuf, ": heartbeat\n\n");
	assert_int_equal(rd(s, 4096), 0); /* one per period */
	assert_true(wait_wakes(&w, 2, 2000));
	/* An event pending at the tick is sent instead of a heartbeat. */
	publish(h, EVENT_CONNECT, 1, "a");
	sleep_ms(100);
	rd(s, 4096);
	assert_null(strstr(rbuf, "heartbeat"));
	assert_non_null(strstr(rbuf, "id: 1\n"));
	event_sub_close(s);
	event_hub_free(h);
}

static void test_free_ends_subscribers(void **state)
{
	struct event_hub *h = hub_make(8, 8, 0, 0);
	struct waker w1 = {0}, w2 = {0};
	struct event_sub *a = sub_make(h, 0, NULL, false, 0, &w1);
	struct event_sub *b = sub_make(h, 0, NULL, false, 0, &w2);

	(void)state;
	rd(a, 4096);
	assert_int_equal(rd(a, 4096), 0);
	event_hub_free(h);
	assert_int_equal(wakes(&w1), 1);
	assert_int_equal(wakes(&w2), 1);
	assert_int_equal(rd(a, 4096), EVENT_SUB_END);
	assert_int_equal(rd(b, 4096), EVENT_SUB_END);
	event_sub_close(a);
	event_sub_close(b); /* the last reference frees the hub (ASan checks) */
}

/* ---- merging the two sources ---- */

static struct event *hook_disc(int64_t id)
{
	struct event *ev = ev_make(EVENT_DISCONNECT, id, "alice");

	ev->rx_bytes = 111;
	ev->tx_bytes = 222;
	ev->duration_seconds = 33;
	ev->client_ip = strdup("10.0.0.1");
	return ev;
}

static struct event *ctl_disc(int64_t id)
{
	struct event *ev = ev_make(EVENT_DISCONNECT, id, "alice");

	ev->reason_code = 2;
	ev->reason_text = strdup("user disconnected");
	ev->device = strdup("vpns0");
	return ev;
}

/* Both sources active: the subscription live, the hook heard once (its
 * report of a connect the subscription published: event 1, the only one
 * published). */
static struct event_hub *both_active(unsigned wait_ms)
{
	struct event_hub *h = hub_make(16, 8, 0, wait_ms);
	struct event_hub_stats st;

	event_hub_set_ctl_live(h, true);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ev_make(EVENT_CONNECT, 1, "x")), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 1, "x")), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 1);
	assert_true(st.hook_heard);
	assert_false(st.ctl_deaf);
	return h;
}

static void check_merged(void)
{
	json_t *j = first_data(), *r = json_object_get(j, "reason");

	assert_int_equal(json_integer_value(json_object_get(j, "vpnSessionId")), 77);
	assert_int_equal(json_integer_value(json_object_get(r, "code")), 2);
	assert_string_equal(json_string_value(json_object_get(r, "text")), "user disconnected");
	assert_int_equal(json_integer_value(json_object_get(j, "rxBytes")), 111);
	assert_int_equal(json_integer_value(json_object_get(j, "txBytes")), 222);
	assert_int_equal(json_integer_value(json_object_get(j, "durationSeconds")), 33);
	assert_string_equal(json_string_value(json_object_get(j, "device")), "vpns0");
	assert_string_equal(json_string_value(json_object_get(j, "clientIp")), "10.0.0.1");
	assert_int_equal(count_of(rbuf, "event: disconnect"), 1);
	json_decref(j);
}

static void test_merge_ctl_first(void **state)
{
	struct event_hub *h = both_active(5000);
	struct waker w = {0};
	struct event_sub *s = sub_make(h, 0, NULL, false, 0, &w);
	struct event_hub_stats st;
	struct event *c = ctl_disc(77), *k = hook_disc(77);
	char ids[64];

	(void)state;
	rd(s, 4096);
	c->time_ms = 1000;
	k->time_ms = 5000;
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, c), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ctl_disc(78)), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 1); /* held, waiting for the hook */
	assert_int_equal(rd(s, 4096), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, k), 0);
	assert_int_equal(wakes(&w), 1);
	rd(s, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "2");
	check_merged();
	assert_non_null(strstr(rbuf, "\"time\":\"1970-01-01T00:00:01.000Z\""));
	event_sub_close(s);
	event_hub_free(h); /* 78 still held: freed (ASan checks) */
}

static void test_merge_hook_first(void **state)
{
	struct event_hub *h = both_active(5000);
	struct waker w = {0};
	struct event_sub *s = sub_make(h, 0, NULL, false, 0, &w);
	struct event *c = ctl_disc(77), *k = hook_disc(77);
	char ids[64];

	(void)state;
	rd(s, 4096);
	k->time_ms = 2000;
	c->time_ms = 9000;
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, k), 0);
	/* Another session's report does not match. */
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ctl_disc(76)), 0);
	assert_int_equal(rd(s, 4096), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, c), 0);
	rd(s, 4096);
	assert_string_equal(ids_of(ids, sizeof(ids)), "2");
	check_merged();
	assert_non_null(strstr(rbuf, "\"time\":\"1970-01-01T00:00:02.000Z\""));
	event_sub_close(s);
	event_hub_free(h);
}

static void test_merge_timeout(void **state)
{
	struct event_hub *h = both_active(60);
	struct waker w = {0};
	struct event_sub *s = sub_make(h, 0, NULL, false, 0, &w);
	int64_t t0 = timefmt_mono_ms();
	json_t *j;

	(void)state;
	rd(s, 4096);
	assert_int_equal(rd(s, 4096), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ctl_disc(77)), 0);
	assert_true(wait_wakes(&w, 1, 3000));
	assert_true(timefmt_mono_ms() - t0 >= 55);
	rd(s, 4096);
	j = first_data();
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "reason"), "code")),
			 2);
	assert_true(json_is_null(json_object_get(j, "rxBytes")));
	json_decref(j);
	/* The hook's late report is dropped: a second disconnect of the same
	 * session would count it twice. Another session's is published. */
	assert_int_equal(rd(s, 4096), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, hook_disc(77)), 0);
	assert_false(wait_wakes(&w, 2, 200));
	assert_int_equal(rd(s, 4096), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, hook_disc(79)), 0);
	assert_true(wait_wakes(&w, 2, 3000));
	rd(s, 4096);
	j = first_data();
	assert_int_equal(json_integer_value(json_object_get(j, "vpnSessionId")), 79);
	json_decref(j);
	event_sub_close(s);
	event_hub_free(h);
}

/* Right after the agent starts the hook has not been heard from: the
 * subscription's disconnect is published at once, and the hook's report of
 * the same session, arriving next, must not make it a second disconnect. */
static void test_late_hook_report_after_start(void **state)
{
	struct event_hub *h = hub_make(16, 8, 0, 5000);
	struct event_hub_stats st;

	(void)state;
	event_hub_set_ctl_live(h, true);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ctl_disc(77)), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, hook_disc(77)), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 1);
	assert_true(st.hook_heard);
	/* The next session's reports are merged as usual. */
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ctl_disc(78)), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 1);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, hook_disc(78)), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 2);
	event_hub_free(h);
}

/* A live subscription that ocserv sends nothing to (another subscriber
 * holds ocserv's only slot): the hook's connect is published and the
 * subscription flagged for renewal; a late report of it by the
 * subscription is not published twice. */
static void test_deaf_subscription(void **state)
{
	struct event_hub *h = hub_make(16, 8, 0, 5000);
	struct event_hub_stats st;

	(void)state;
	event_hub_set_ctl_live(h, true);
	assert_false(event_hub_ctl_deaf(h));
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 5, "a")), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 1);
	assert_int_equal(st.ctl_missed, 1);
	assert_true(event_hub_ctl_deaf(h));
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ev_make(EVENT_CONNECT, 5, "a")), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 1);
	/* Renewed: no longer deaf; while the subscription is down the hook's
	 * connects are published without counting a miss. */
	event_hub_set_ctl_live(h, false);
	assert_false(event_hub_ctl_deaf(h));
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 6, "a")), 0);
	event_hub_set_ctl_live(h, true);
	assert_false(event_hub_ctl_deaf(h));
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 2);
	assert_int_equal(st.ctl_missed, 1);
	event_hub_free(h);
}

struct deaf_seen {
	struct event_hub *h;
	int calls;
	bool deaf; /* what the hub said inside the callback */
};

/* Calls back into the hub: that would deadlock under the hub's lock. */
static void on_deaf(void *arg)
{
	struct deaf_seen *d = arg;

	d->calls++;
	d->deaf = event_hub_ctl_deaf(d->h);
}

/* The hub tells whoever renews the subscription elsewhere (priv_events.h)
 * once each time the subscription turns deaf, outside its lock. */
static void test_on_deaf(void **state)
{
	struct event_hub *h = hub_make(16, 8, 0, 0);
	struct deaf_seen d = {h, 0, false};

	(void)state;
	event_hub_on_deaf(h, on_deaf, &d);
	/* down: the hook's connects are the only ones, nothing is deaf */
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 5, "a")), 0);
	assert_int_equal(d.calls, 0);
	event_hub_set_ctl_live(h, true);
	/* reported by the subscription first: not deaf */
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ev_make(EVENT_CONNECT, 6, "a")), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 6, "a")), 0);
	assert_int_equal(d.calls, 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 7, "a")), 0);
	assert_int_equal(d.calls, 1);
	assert_true(d.deaf);
	/* still deaf: no second call */
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 8, "a")), 0);
	assert_int_equal(d.calls, 1);
	/* renewed, and deaf again */
	event_hub_set_ctl_live(h, false);
	event_hub_set_ctl_live(h, true);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 9, "a")), 0);
	assert_int_equal(d.calls, 2);
	event_hub_free(h);
}

/* One source only: nothing waits; hook connects only while the
 * subscription is down. */
static void test_single_source(void **state)
{
	struct event_hub *h = hub_make(16, 8, 0, 5000);
	struct event_hub_stats st;

	(void)state;
	/* subscription only (hook never heard) */
	event_hub_set_ctl_live(h, true);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ctl_disc(5)), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 1);
	assert_false(st.hook_heard);
	assert_true(st.ctl_live);
	/* hook only (subscription down) */
	event_hub_set_ctl_live(h, false);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 6, "a")), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, hook_disc(6)), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 3);
	assert_true(st.hook_heard);
	assert_false(st.ctl_live);
	/* subscription back: the hook's connects are dropped, the
	 * subscription's published; a disconnect without id is never held */
	event_hub_set_ctl_live(h, true);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_HOOK, ev_make(EVENT_CONNECT, 7, "a")), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ev_make(EVENT_CONNECT, 7, "a")), 0);
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ctl_disc(-1)), 0);
	event_hub_stats(h, &st);
	assert_int_equal(st.published, 5);
	event_hub_free(h);
}

int main(void)
{
	/* As in the agent: jansson allocates through secmem (a mismatched free
	 * of its memory then fails here too). */
	secmem_init_json();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_new_absent),
		cmocka_unit_test(test_to_json_full),
		cmocka_unit_test(test_to_json_nulls_and_bad_utf8),
		cmocka_unit_test(test_from_hook_connect),
		cmocka_unit_test(test_from_hook_disconnect),
		cmocka_unit_test(test_from_hook_bad),
		cmocka_unit_test(test_ids_and_ring_wrap),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_message_format),
		cmocka_unit_test(test_read_bounds),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_lagging_dropped),
		cmocka_unit_test(test_max_subscribers),
		cmocka_unit_test(test_wake_exactly_when_needed),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_free_ends_subscribers),
		cmocka_unit_test(test_merge_ctl_first),
		cmocka_unit_test(test_merge_hook_first),
		cmocka_unit_test(test_merge_timeout),
		cmocka_unit_test(test_late_hook_report_after_start),
		cmocka_unit_test(test_deaf_subscription),
		cmocka_unit_test(test_on_deaf),
		cmocka_unit_test(test_single_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
