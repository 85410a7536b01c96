/* priv_codec.h: every member of every value survives the trip through JSON
 * text (as on the socketpair), absent values stay absent, strings carry any
 * bytes but NUL, and the decoders refuse what the encoders never produce.
 * Then the ocserv operations end to end in one process: priv_backend over
 * priv_local over a fake backend (priv_ops_ocserv.c), with their argument
 * checks, the hook question and the events renewal. */
#include <assert.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "priv_backend.h"
#include "priv_client.h"
#include "priv_codec.h"
#include "priv_events.h"
#include "priv_ops.h"
#include "priv_server.h"
#include "timefmt.h"
#include "unit.h"

/* A new member makes these fail: add it to priv_codec.c's tables and to
 * the fill and compare functions below. (x86-64 sizes.) */
#if defined(__x86_64__)
static_assert(sizeof(struct session) == 344, "struct session changed");
static_assert(sizeof(struct cookie) == 96, "struct cookie changed");
static_assert(sizeof(struct iroute) == 56, "struct iroute changed");
static_assert(sizeof(struct ban) == 24, "struct ban changed");
static_assert(sizeof(struct event) == 120, "struct event changed");
static_assert(sizeof(struct ocserv_version) == 44, "struct ocserv_version changed");
#endif

/* Not UTF-8: a lone continuation byte, a truncated sequence, a surrogate. */
#define BAD1 "caf\xe9"
#define BAD2 "x\xc3"
#define BAD3 "\xed\xa0\x80"

static char *sdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static void strv_set(struct strv *sv, const char *a, const char *b)
{
	assert_int_equal(strv_add(sv, a), 0);
	if (b != NULL)
		assert_int_equal(strv_add(sv, b), 0);
}

static void eq_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void eq_strv(const struct strv *a, const struct strv *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

/* Through JSON text and back, as the wire carries it. */
static json_t *via_text(json_t *j)
{
	char *text;
	json_t *back;
	json_error_t err;

	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	back = json_loads(text, 0, &err);
	if (back == NULL)
		fail_msg("%s: %s", text, err.text);
	free(text);
	json_decref(j);
	return back;
}

/* ---- sessions ---- */

static void fill_session(struct session *s)
{
	s->id = 4242;
	s->username = sdup("j\xc3\xbcrgen");
	s->groupname = sdup("staff");
	s->state = sdup("connected");
	s->vhost = sdup("default");
	s->device = sdup("vpns0");
	s->client_ip = sdup("198.51.100.7");
	s->vpn_ipv4 = sdup("192.168.99.2");
	s->vpn_ipv6 = sdup("fd00::2");
	s->local_device_ip = sdup("10.0.0.1");
	s->p2p_ipv4 = sdup("192.168.99.1");
	s->user_agent = sdup(BAD1);
	s->connected_at = sdup("2024-05-01 10:11");
	s->raw_connected_at = 1714558260;
	s->since_seconds = 0; /* present, though 0 */
	s->rx_bytes = 1234567890123;
	s->tx_bytes = 7;
	s->avg_rx = sdup("276 bytes/sec");
	s->avg_tx = sdup("");
	s->session_id = sdup("LpurJh");
	s->full_session = sdup("xHWC9szOy4jKEN3tZ0cAT1+U2/k=");
	s->tls_cipher = sdup("(TLS1.3)-(ECDHE-SECP256R1)");
	s->dtls_cipher = sdup("(DTLS1.2)-(ECDHE-RSA)");
	s->mtu = 1434;
	strv_set(&s->dns, "192.168.99.1", "fd00::1");
	strv_set(&s->routes, "10.0.0.0/255.0.0.0", NULL);
	strv_set(&s->no_routes, "10.1.0.0/16", BAD2);
	strv_set(&s->iroutes, "172.16.0.0/12", NULL);
	strv_set(&s->nbns, "192.168.99.3", NULL);
	strv_set(&s->split_dns_domains, "example.com", "example.org");
	strv_set(&s->restricted_to_ports, "tcp(443)", "udp(53)");
	s->restricted_to_routes = 1;
	s->keepalive = 32400;
	s->dpd = 90;
	s->hostname = sdup(BAD3);
	s->raw_session_started_at = 1714558200;
}

static void absent_session(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->id = s->raw_connected_at = s->since_seconds = s->rx_bytes = s->tx_bytes = -1;
	s->mtu = s->keepalive = s->dpd = s->raw_session_started_at = -1;
	s->restricted_to_routes = -1;
}

static void eq_session(const struct session *a, const struct session *b)
{
	assert_int_equal(a->id, b->id);
	eq_str(a->username, b->username);
	eq_str(a->groupname, b->groupname);
	eq_str(a->state, b->state);
	eq_str(a->vhost, b->vhost);
	eq_str(a->device, b->device);
	eq_str(a->client_ip, b->client_ip);
	eq_str(a->vpn_ipv4, b->vpn_ipv4);
	eq_str(a->vpn_ipv6, b->vpn_ipv6);
	eq_str(a->local_device_ip, b->local_device_ip);
	eq_str(a->p2p_ipv4, b->p2p_ipv4);
	eq_str(a->user_agent, b->user_agent);
	eq_str(a->connected_at, b->connected_at);
	assert_int_equal(a->raw_connected_at, b->raw_connected_at);
	assert_int_equal(a->since_seconds, b->since_seconds);
	assert_int_equal(a->rx_bytes, b->rx_bytes);
	assert_int_equal(a->tx_bytes, b->tx_bytes);
	eq_str(a->avg_rx, b->avg_rx);
	eq_str(a->avg_tx, b->avg_tx);
	eq_str(a->session_id, b->session_id);
	eq_str(a->full_session, b->full_session);
	eq_str(a->tls_cipher, b->tls_cipher);
	eq_str(a->dtls_cipher, b->dtls_cipher);
	assert_int_equal(a->mtu, b->mtu);
	eq_strv(&a->dns, &b->dns);
	eq_strv(&a->routes, &b->routes);
	eq_strv(&a->no_routes, &b->no_routes);
	eq_strv(&a->iroutes, &b->iroutes);
	eq_strv(&a->nbns, &b->nbns);
	eq_strv(&a->split_dns_domains, &b->split_dns_domains);
	eq_strv(&a->restricted_to_ports, &b->restricted_to_ports);
	assert_int_equal(a->restricted_to_routes, b->restricted_to_routes);
	assert_int_equal(a->keepalive, b->keepalive);
	assert_int_equal(a->dpd, b->dpd);
	eq_str(a->hostname, b->hostname);
	assert_int_equal(a->raw_session_started_at, b->raw_session_started_at);
}

/* [full, absent] */
static struct session_list *session_sample(void)
{
	struct session_list *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	l->v = calloc(2, sizeof(*l->v));
	assert_non_null(l->v);
	l->n = 2;
	absent_session(&l->v[0]);
	fill_session(&l->v[0]);
	absent_session(&l->v[1]);
	return l;
}

static void test_sessions(void **state)
{
	struct session_list *l = session_sample(), *d = NULL;
	struct err_info ei = {{0}};
	json_t *j = priv_codec_sessions(l);
	json_t *absent;

	(void)state;
	/* Absent values are left out, not null. */
	absent = json_array_get(j, 1);
	assert_int_equal(json_object_size(absent), 0);
	assert_true(json_is_object(json_object_get(json_array_get(j, 0), "user_agent")));
	j = via_text(j);
	assert_int_equal(priv_decode_sessions(j, &d, &ei), 0);
	assert_int_equal(d->n, 2);
	eq_session(&l->v[0], &d->v[0]);
	eq_session(&l->v[1], &d->v[1]);
	session_list_free(d);
	json_decref(j);
	/* An empty list. */
	l->n = 0;
	j = via_text(priv_codec_sessions(l));
	assert_int_equal(priv_decode_sessions(j, &d, &ei), 0);
	assert_int_equal(d->n, 0);
	session_list_free(d);
	json_decref(j);
	l->n = 2;
	session_list_free(l);
}

/* ---- cookies, iroutes, bans, version ---- */

static void test_cookies(void **state)
{
	struct cookie_list l = {calloc(2, sizeof(struct cookie)), 2}, *d = NULL;
	struct cookie *c = &l.v[0], *e = &l.v[1];
	struct err_info ei = {{0}};
	json_t *j;

	(void)state;
	assert_non_null(l.v);
	*c = (struct cookie){sdup("LpurJh"),
			     sdup("xHWC9szOy4jKEN3tZ0cAT1+U2/k="),
			     1714558200,
			     1714558800,
			     sdup("authenticated"),
			     sdup("alice"),
			     sdup(BAD1),
			     sdup("default"),
			     sdup("OpenConnect"),
			     sdup("198.51.100.7"),
			     1,
			     0,
			     1};
	*e = (struct cookie){.created = -1,
			     .expires = -1,
			     .session_is_open = -1,
			     .tls_auth_ok = -1,
			     .in_use = -1};
	j = via_text(priv_codec_cookies(&l));
	assert_int_equal(priv_decode_cookies(j, &d, &ei), 0);
	assert_int_equal(d->n, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct cookie *a = &l.v[i], *b = &d->v[i];

		eq_str(a->session_id, b->session_id);
		eq_str(a->full_session, b->full_session);
		assert_int_equal(a->created, b->created);
		assert_int_equal(a->expires, b->expires);
		eq_str(a->state, b->state);
		eq_str(a->username, b->username);
		eq_str(a->groupname, b->groupname);
		eq_str(a->vhost, b->vhost);
		eq_str(a->user_agent, b->user_agent);
		eq_str(a->remote_ip, b->remote_ip);
		assert_int_equal(a->session_is_open, b->session_is_open);
		assert_int_equal(a->tls_auth_ok, b->tls_auth_ok);
		assert_int_equal(a->in_use, b->in_use);
	}
	cookie_list_free(d);
	json_decref(j);
	free(c->session_id), free(c->full_session), free(c->state), free(c->username);
	free(c->groupname), free(c->vhost), free(c->user_agent), free(c->remote_ip);
	free(l.v);
}

static void test_iroutes_bans(void **state)
{
	struct iroute ir[2] = {{.id = 17,
				.username = sdup("bob"),
				.vhost = sdup("default"),
				.device = sdup("vpns1"),
				.ip = sdup("192.168.99.5")},
			       {.id = -1}};
	struct iroute_list il = {ir, 2}, *di = NULL;
	struct ban b[2] = {{sdup("203.0.113.9"), 20, 1714558800}, {sdup(BAD2), -1, -1}};
	struct ban_list bl = {b, 2}, *db = NULL;
	struct err_info ei = {{0}};
	json_t *j;

	(void)state;
	strv_set(&ir[0].iroutes, "10.10.0.0/16", BAD3);
	j = via_text(priv_codec_iroutes(&il));
	assert_int_equal(priv_decode_iroutes(j, &di, &ei), 0);
	json_decref(j);
	assert_int_equal(di->n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(ir[i].id, di->v[i].id);
		eq_str(ir[i].username, di->v[i].username);
		eq_str(ir[i].vhost, di->v[i].vhost);
		eq_str(ir[i].device, di->v[i].device);
		eq_str(ir[i].ip, di->v[i].ip);
		eq_strv(&ir[i].iroutes, &di->v[i].iroutes);
	}
	iroute_list_free(di);
	j = via_text(priv_codec_bans(&bl));
	assert_int_equal(priv_decode_bans(j, &db, &ei), 0);
	json_decref(j);
	assert_int_equal(db->n, 2);
	for (size_t i = 0; i < 2; i++) {
		eq_str(b[i].ip, db->v[i].ip);
		assert_int_equal(b[i].score, db->v[i].score);
		assert_int_equal(b[i].expires, db->v[i].expires);
	}
	ban_list_free(db);
	free(ir[0].username), free(ir[0].vhost), free(ir[0].device), free(ir[0].ip);
	strv_free(&ir[0].iroutes);
	free(b[0].ip), free(b[1].ip);
}

static void test_version(void **state)
{
	struct ocserv_version v = {"1.3.0", 1, 3, 0}, d, unknown = {"", 0, 0, 0};
	struct err_info ei = {{0}};
	json_t *j = via_text(priv_codec_version(&v));

	(void)state;
	memset(&d, 0xff, sizeof(d));
	assert_int_equal(priv_decode_version(j, &d, &ei), 0);
	assert_string_equal(d.text, "1.3.0");
	assert_int_equal(d.major, 1);
	assert_int_equal(d.minor, 3);
	assert_int_equal(d.patch, 0);
	json_decref(j);
	j = via_text(priv_codec_version(&unknown));
	assert_int_equal(priv_decode_version(j, &d, &ei), 0);
	assert_string_equal(d.text, "");
	json_decref(j);
}

/* ---- events ---- */

static void eq_event(const struct event *a, const struct event *b)
{
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->time_ms, b->time_ms);
	assert_int_equal(a->vpn_session_id, b->vpn_session_id);
	eq_str(a->username, b->username);
	eq_str(a->groupname, b->groupname);
	eq_str(a->vhost, b->vhost);
	eq_str(a->client_ip, b->client_ip);
	eq_str(a->ip, b->ip);
	eq_str(a->device, b->device);
	assert_int_equal(a->reason_code, b->reason_code);
	eq_str(a->reason_text, b->reason_text);
	assert_int_equal(a->rx_bytes, b->rx_bytes);
	assert_int_equal(a->tx_bytes, b->tx_bytes);
	assert_int_equal(a->duration_seconds, b->duration_seconds);
}

static void event_trip(enum event_source src, const struct event *ev)
{
	struct err_info ei = {{0}};
	enum event_source s2 = src == EVENT_FROM_CTL ? EVENT_FROM_HOOK : EVENT_FROM_CTL;
	struct event *d = NULL;
	json_t *j = via_text(priv_codec_event(src, ev));

	assert_int_equal(priv_decode_event(j, &s2, &d, &ei), 0);
	assert_int_equal(s2, src);
	eq_event(ev, d);
	event_free(d);
	json_decref(j);
}

static void test_event(void **state)
{
	struct event *ev = event_new(EVENT_DISCONNECT), *bare = event_new(EVENT_CONNECT);
	struct event *rs = event_new(EVENT_RESYNC);

	(void)state;
	assert_non_null(ev), assert_non_null(bare), assert_non_null(rs);
	ev->id = 77;
	ev->vpn_session_id = 4242;
	ev->username = sdup("alice");
	ev->groupname = sdup(BAD1);
	ev->vhost = sdup("default");
	ev->client_ip = sdup("198.51.100.7");
	ev->ip = sdup("192.168.99.2");
	ev->device = sdup("vpns0");
	ev->reason_code = 3;
	ev->reason_text = sdup("server disconnected");
	ev->rx_bytes = 100, ev->tx_bytes = 200, ev->duration_seconds = 30;
	event_trip(EVENT_FROM_CTL, ev);
	event_trip(EVENT_FROM_HOOK, ev);
	bare->time_ms = -1; /* every member absent, id 0 */
	event_trip(EVENT_FROM_CTL, bare);
	rs->reason_text = sdup("re-established");
	event_trip(EVENT_FROM_CTL, rs);
	event_free(ev), event_free(bare), event_free(rs);
}

/* ---- strings ---- */

static void test_string_bytes(void **state)
{
	struct ban b = {sdup(BAD1), -1, -1};
	struct ban_list bl = {&b, 1}, *d = NULL;
	struct err_info ei = {{0}};
	json_t *j = priv_codec_bans(&bl);
	const json_t *ip = json_object_get(json_array_get(j, 0), "ip");

	(void)state;
	/* Not UTF-8: hex of the bytes. */
	assert_string_equal(json_string_value(json_object_get(ip, "hex")), "636166e9");
	json_decref(j);
	/* Hex is accepted for UTF-8 text too; either form decodes. */
	j = json_loads("[{\"ip\":{\"hex\":\"312e322e332e34\"}}]", 0, NULL);
	assert_int_equal(priv_decode_bans(j, &d, &ei), 0);
	assert_string_equal(d->v[0].ip, "1.2.3.4");
	ban_list_free(d);
	json_decref(j);
	free(b.ip);
}

/* ---- what occtl really prints, from every captured version ---- */

static void fixture_trip(const char *version, const char *name)
{
	struct err_info ei = {{0}};
	size_t len = 0;
	char *text = unit_read_fixture(version, name, &len);
	json_t *a = NULL, *b = NULL;
	int r;

	assert_non_null(text);
	if (strstr(name, "show-id") || strstr(name, "show-user")) {
		struct session_list *l = NULL, *d = NULL;

		assert_int_equal(session_list_parse_occtl(text, len, 1714558800, &l, &ei), 0);
		a = via_text(priv_codec_sessions(l));
		assert_int_equal(priv_decode_sessions(a, &d, &ei), 0);
		assert_int_equal(d->n, l->n);
		for (size_t i = 0; i < l->n; i++)
			eq_session(&l->v[i], &d->v[i]);
		b = priv_codec_sessions(d);
		session_list_free(l), session_list_free(d);
	} else if (strstr(name, "session")) {
		struct cookie_list *l = NULL, *d = NULL;

		assert_int_equal(cookie_list_parse_occtl(text, len, &l, &ei), 0);
		a = via_text(priv_codec_cookies(l));
		r = priv_decode_cookies(a, &d, &ei);
		assert_int_equal(r, 0);
		b = priv_codec_cookies(d);
		cookie_list_free(l), cookie_list_free(d);
	} else if (strstr(name, "iroutes")) {
		struct iroute_list *l = NULL, *d = NULL;

		assert_int_equal(iroute_list_parse_occtl(text, len, &l, &ei), 0);
		a = via_text(priv_codec_iroutes(l));
		assert_int_equal(priv_decode_iroutes(a, &d, &ei), 0);
		b = priv_codec_iroutes(d);
		iroute_list_free(l), iroute_list_free(d);
	} else {
		struct ban_list *l = NULL, *d = NULL;

		assert_int_equal(ban_list_parse_occtl(text, len, 1714558800, &l, &ei), 0);
		a = via_text(priv_codec_bans(l));
		assert_int_equal(priv_decode_bans(a, &d, &ei), 0);
		b = priv_codec_bans(d);
		ban_list_free(l), ban_list_free(d);
	}
	if (!json_equal(a, b))
		fail_msg("%s %s: the decoded value encodes differently", version, name);
	json_decref(a);
	json_decref(b);
	free(text);
}

static void test_fixtures(void **state)
{
	static const char *const names[] = {
		"j-show-users",	       "j-show-id-ID",		"j-show-user-bob",
		"j-show-sessions-all", "j-show-sessions-valid", "j-show-session-SID",
		"j-show-iroutes",      "j-show-ip-bans",	"j-show-ip-ban-points",
	};
	size_t trips = 0;

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++)
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char path[512];

			unit_fixture_path(path, sizeof(path), unit_versions[v], names[i]);
			if (access(path, R_OK) == 0) {
				fixture_trip(unit_versions[v], names[i]);
				trips++;
			}
		}
	assert_true(trips >= 20);
}

/* ---- strictness ---- */

typedef int decode_fn(const json_t *j, struct err_info *ei);

static int dec_sessions(const json_t *j, struct err_info *ei)
{
	struct session_list *l = NULL;
	int r = priv_decode_sessions(j, &l, ei);

	session_list_free(l);
	return r;
}

static int dec_cookies(const json_t *j, struct err_info *ei)
{
	struct cookie_list *l = NULL;
	int r = priv_decode_cookies(j, &l, ei);

	cookie_list_free(l);
	return r;
}

static int dec_iroutes(const json_t *j, struct err_info *ei)
{
	struct iroute_list *l = NULL;
	int r = priv_decode_iroutes(j, &l, ei);

	iroute_list_free(l);
	return r;
}

static int dec_bans(const json_t *j, struct err_info *ei)
{
	struct ban_list *l = NULL;
	int r = priv_decode_bans(j, &l, ei);

	ban_list_free(l);
	return r;
}

static int dec_version(const json_t *j, struct err_info *ei)
{
	struct ocserv_version v;

	return priv_decode_version(j, &v, ei);
}

static int dec_event(const json_t *j, struct err_info *ei)
{
	enum event_source s;
	struct event *ev = NULL;
	int r = priv_decode_event(j, &s, &ev, ei);

	event_free(ev);
	return r;
}

static void refuse(decode_fn *fn, const char *text)
{
	struct err_info ei = {{0}};
	json_error_t err;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &err);

	if (j == NULL)
		fail_msg("test input %s: %s", text, err.text);
	if (fn(j, &ei) != ERR_PRIV_PROTOCOL)
		fail_msg("accepted: %s", text);
	assert_true(ei.detail[0] != '\0');
	json_decref(j);
}

static void accept_text(decode_fn *fn, const char *text)
{
	struct err_info ei = {{0}};
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);

	assert_non_null(j);
	if (fn(j, &ei) != 0)
		fail_msg("refused %s: %s", text, ei.detail);
	json_decref(j);
}

static void test_strict(void **state)
{
	static const char *const bad_sessions[] = {
		"{}",
		"null",
		"[1]",
		"[{\"nope\":1}]",
		"[{\"id\":\"1\"}]",
		"[{\"id\":1.5}]",
		"[{\"id\":null}]",
		"[{\"username\":1}]",
		"[{\"username\":null}]",
		"[{\"dns\":\"1.1.1.1\"}]",
		"[{\"dns\":[1]}]",
		"[{\"dns\":[null]}]",
		"[{\"restricted_to_routes\":-1}]",
		"[{\"restricted_to_routes\":true}]",
		"[{\"restricted_to_routes\":2147483648}]",
		"[{\"username\":{\"hex\":\"6\"}}]",
		"[{\"username\":{\"hex\":\"6G\"}}]",
		"[{\"username\":{\"hex\":\"4A\"}}]",
		"[{\"username\":{\"hex\":\"6100\"}}]",
		"[{\"username\":{\"hex\":1}}]",
		"[{\"username\":{\"hex\":\"61\",\"x\":1}}]",
		"[{\"username\":{}}]",
		"[{\"id\":1},{\"id\":2,\"bogus\":true}]",
	};
	static const char *const bad_versions[] = {
		"[]",
		"{\"text\":\"1\",\"major\":1,\"minor\":0}",
		"{\"text\":\"1\",\"major\":1,\"minor\":0,\"patch\":0,\"x\":0}",
		"{\"text\":\"1\",\"major\":-1,\"minor\":0,\"patch\":0}",
		"{\"text\":\"1\",\"major\":4294967296,\"minor\":0,\"patch\":0}",
		"{\"text\":1,\"major\":1,\"minor\":0,\"patch\":0}",
		"{\"txt\":\"1\",\"major\":1,\"minor\":0,\"patch\":0}",
		"{\"text\":\"0123456789012345678901234567890123\",\"major\":1,\"minor\":0,"
		"\"patch\":0}",
	};
	static const char *const bad_events[] = {
		"[]",
		"{\"source\":\"ctl\"}",
		"{\"source\":\"ctl\",\"event\":{\"type\":\"connect\"},\"x\":1}",
		"{\"source\":\"occtl\",\"event\":{\"type\":\"connect\"}}",
		"{\"source\":\"ctl\",\"event\":{}}",
		"{\"source\":\"ctl\",\"event\":{\"type\":\"reconnect\"}}",
		"{\"source\":\"ctl\",\"event\":{\"type\":1}}",
		"{\"source\":\"ctl\",\"event\":{\"type\":\"connect\",\"id\":-1}}",
		"{\"source\":\"ctl\",\"event\":{\"type\":\"connect\",\"id\":\"1\"}}",
		"{\"source\":\"ctl\",\"event\":{\"type\":\"connect\",\"rxBytes\":1}}",
		"{\"source\":\"ctl\",\"event\":{\"type\":\"connect\",\"username\":[]}}",
		"{\"source\":\"ctl\",\"event\":[]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_sessions) / sizeof(bad_sessions[0]); i++)
		refuse(dec_sessions, bad_sessions[i]);
	for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++)
		refuse(dec_version, bad_versions[i]);
	for (size_t i = 0; i < sizeof(bad_events) / sizeof(bad_events[0]); i++)
		refuse(dec_event, bad_events[i]);
	refuse(dec_cookies, "[{\"id\":1}]");
	refuse(dec_cookies, "[{\"in_use\":\"yes\"}]");
	refuse(dec_iroutes, "[{\"iroutes\":\"10.0.0.0/8\"}]");
	refuse(dec_iroutes, "{}");
	refuse(dec_bans, "[{\"ip\":\"1.2.3.4\",\"score\":\"20\"}]");
	refuse(dec_bans, "[[]]");
	/* The acceptable edges. */
	accept_text(dec_sessions, "[]");
	accept_text(dec_sessions, "[{},{\"restricted_to_routes\":0,\"dns\":[]}]");
	accept_text(dec_sessions, "[{\"username\":{\"hex\":\"\"},\"id\":-5}]");
	accept_text(dec_cookies, "[{\"in_use\":0,\"tls_auth_ok\":1}]");
	accept_text(dec_version, "{\"text\":\"\",\"major\":0,\"minor\":0,\"patch\":0}");
	accept_text(dec_event, "{\"source\":\"hook\",\"event\":{\"type\":\"resync\"}}");
}

/* A NUL cannot come from JSON text jansson parses by default, but from a
 * json_t built otherwise it must still be refused. */
static void test_nul(void **state)
{
	struct err_info ei = {{0}};
	json_t *j = json_pack("[{s:s%}]", "ip", "1.2\0.3", (size_t)6);

	(void)state;
	assert_non_null(j);
	assert_int_equal(dec_bans(j, &ei), ERR_PRIV_PROTOCOL);
	assert_non_null(strstr(ei.detail, "NUL"));
	json_decref(j);
	j = json_pack("[{s:[s%]}]", "dns", "a\0", (size_t)2);
	assert_int_equal(dec_sessions(j, &ei), ERR_PRIV_PROTOCOL);
	json_decref(j);
}

/* ---- the operations, end to end in one process ---- */

static struct fake {
	int err;	     /* returned by every call when set */
	char arg[128];	     /* the last string argument */
	int64_t id;	     /* the last id */
	unsigned timeout_ms; /* the last timeout */
	int valid_only;	     /* the last cookies flag */
	char last_op[32];    /* the last operation */
	const char *in_use;  /* in_use's answer */
	int calls;
} fk;

static int fake_begin(const char *op, const char *arg, struct err_info *ei)
{
	fk.calls++;
	snprintf(fk.last_op, sizeof(fk.last_op), "%s", op);
	snprintf(fk.arg, sizeof(fk.arg), "%s", arg ? arg : "");
	return fk.err ? err_set(ei, fk.err, "fake %s failed", op) : 0;
}

static int fake_status(void *be, unsigned ms, json_t **ret, struct err_info *ei)
{
	int r = fake_begin("status", NULL, ei);

	(void)be;
	fk.timeout_ms = ms;
	if (r == 0)
		*ret = json_pack("{s:s,s:i}", "status", "online", "activeSessions", 2);
	return r;
}

static int fake_sessions(const char *op, const char *arg, struct session_list **ret,
			 struct err_info *ei)
{
	struct session_list *l;
	int r = fake_begin(op, arg, ei);

	if (r < 0)
		return r;
	l = session_sample();
	*ret = l;
	return 0;
}

static int fake_list(void *be, struct session_list **ret, struct err_info *ei)
{
	(void)be;
	return fake_sessions("list", NULL, ret, ei);
}

static int fake_user(void *be, const char *u, struct session_list **ret, struct err_info *ei)
{
	(void)be;
	return fake_sessions("user", u, ret, ei);
}

static int fake_id(void *be, int64_t id, unsigned ms, struct session_list **ret,
		   struct err_info *ei)
{
	(void)be;
	fk.id = id;
	fk.timeout_ms = ms;
	return fake_sessions("id", NULL, ret, ei);
}

static int fake_disconnect_id(void *be, int64_t id, struct err_info *ei)
{
	(void)be;
	fk.id = id;
	return fake_begin("disconnect_id", NULL, ei);
}

static int fake_disconnect_user(void *be, const char *u, struct err_info *ei)
{
	(void)be;
	return fake_begin("disconnect_user", u, ei);
}

static int fake_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	int r = fake_begin("version", NULL, ei);

	(void)be;
	if (r == 0)
		*ret = (struct ocserv_version){"1.4.2", 1, 4, 2};
	return r;
}

static int fake_cookies(void *be, bool valid, struct cookie_list **ret, struct err_info *ei)
{
	int r = fake_begin("cookies", NULL, ei);

	(void)be;
	fk.valid_only = valid;
	if (r == 0) {
		*ret = calloc(1, sizeof(**ret));
		(*ret)->v = calloc(1, sizeof(struct cookie));
		(*ret)->n = 1;
		(*ret)->v[0] = (struct cookie){.session_id = sdup("LpurJh"),
					       .created = 5,
					       .expires = -1,
					       .session_is_open = 1,
					       .tls_auth_ok = -1,
					       .in_use = 0};
	}
	return r;
}

static int fake_cookie(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	int r = fake_cookies(be, false, ret, ei);

	snprintf(fk.arg, sizeof(fk.arg), "%s", sid);
	snprintf(fk.last_op, sizeof(fk.last_op), "cookie");
	return r;
}

static int fake_iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	int r = fake_begin("iroutes", NULL, ei);

	(void)be;
	if (r == 0) {
		*ret = calloc(1, sizeof(**ret));
		(*ret)->v = calloc(1, sizeof(struct iroute));
		(*ret)->n = 1;
		(*ret)->v[0] = (struct iroute){.id = 9, .username = sdup("bob")};
		strv_set(&(*ret)->v[0].iroutes, "10.9.0.0/16", NULL);
	}
	return r;
}

static int fake_ban_list(const char *op, int64_t expires, struct ban_list **ret,
			 struct err_info *ei)
{
	int r = fake_begin(op, NULL, ei);

	if (r == 0) {
		*ret = calloc(1, sizeof(**ret));
		(*ret)->v = calloc(1, sizeof(struct ban));
		(*ret)->n = 1;
		(*ret)->v[0] = (struct ban){sdup("203.0.113.9"), 10, expires};
	}
	return r;
}

static int fake_bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	(void)be;
	return fake_ban_list("bans", 1700000000, ret, ei);
}

static int fake_ban_points(void *be, struct ban_list **ret, struct err_info *ei)
{
	(void)be;
	return fake_ban_list("ban_points", -1, ret, ei);
}

static int fake_unban(void *be, const char *ip, struct err_info *ei)
{
	(void)be;
	return fake_begin("unban", ip, ei);
}

static int fake_reload(void *be, struct err_info *ei)
{
	(void)be;
	return fake_begin("reload", NULL, ei);
}

static int fake_terminate_id(void *be, int64_t id, struct err_info *ei)
{
	(void)be;
	fk.id = id;
	return fake_begin("terminate_id", NULL, ei);
}

static int fake_terminate_user(void *be, const char *u, struct err_info *ei)
{
	(void)be;
	return fake_begin("terminate_user", u, ei);
}

static int fake_terminate_cookie(void *be, const char *sid, struct err_info *ei)
{
	(void)be;
	return fake_begin("terminate_cookie", sid, ei);
}

static const char *fake_in_use(void *be)
{
	(void)be;
	return fk.in_use;
}

static void fake_free(void *be)
{
	(void)be;
}

static const struct ocserv_backend_ops fake_ops = {
	.name = "fake",
	.status = fake_status,
	.list = fake_list,
	.user = fake_user,
	.id = fake_id,
	.disconnect_id = fake_disconnect_id,
	.disconnect_user = fake_disconnect_user,
	.version = fake_version,
	.cookies = fake_cookies,
	.cookie = fake_cookie,
	.iroutes = fake_iroutes,
	.bans = fake_bans,
	.ban_points = fake_ban_points,
	.unban = fake_unban,
	.reload = fake_reload,
	.terminate_id = fake_terminate_id,
	.terminate_user = fake_terminate_user,
	.terminate_cookie = fake_terminate_cookie,
	.in_use = fake_in_use,
	.free = fake_free,
};

static struct env {
	char dir[64], conf[128];
	struct agent_config cfg;
	struct priv_root root;
	struct priv *priv;
	struct ocserv *api; /* the api side's: priv_backend */
} env;

static int sent_renewals;

static int count_send(void *arg, const json_t *payload, struct err_info *ei)
{
	(void)arg, (void)payload, (void)ei;
	sent_renewals++;
	return 0;
}

static int ops_setup(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	if (unit_mkdtemp(env.dir, sizeof(env.dir), "privcodec") == NULL)
		return -1;
	unit_join(env.conf, sizeof(env.conf), env.dir, "ocserv.conf");
	env.cfg.ocserv_conf_path = env.conf;
	env.root.cfg = &env.cfg;
	env.root.oc = ocserv_new(&fake_ops, NULL);
	env.root.events = priv_events_root_new(count_send, NULL);
	env.priv = priv_local_new(&env.root);
	env.api = env.priv ? priv_backend_new(env.priv) : NULL;
	return env.root.oc && env.root.events && env.api ? 0 : -1;
}

static int ops_teardown(void **state)
{
	(void)state;
	ocserv_free(env.api);
	priv_free(env.priv);
	priv_events_root_free(env.root.events);
	ocserv_free(env.root.oc);
	unit_rmtree(env.dir);
	return 0;
}

static void test_backend_reads(void **state)
{
	struct session_list *l = NULL, *want = session_sample();
	struct cookie_list *c = NULL;
	struct iroute_list *ir = NULL;
	struct ban_list *b = NULL;
	struct ocserv_version v;
	struct err_info ei = {{0}};
	json_t *st = NULL;

	(void)state;
	assert_string_equal(ocserv_backend_name(env.api), "priv");
	assert_int_equal(ocserv_status(env.api, 0, &st, &ei), 0);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "online");
	assert_int_equal(fk.timeout_ms, 0);
	json_decref(st);
	assert_int_equal(ocserv_status(env.api, 1500, &st, &ei), 0);
	assert_int_equal(fk.timeout_ms, 1500);
	json_decref(st);
	assert_int_equal(ocserv_list(env.api, &l, &ei), 0);
	assert_int_equal(l->n, 2);
	eq_session(&want->v[0], &l->v[0]);
	eq_session(&want->v[1], &l->v[1]);
	session_list_free(l);
	assert_int_equal(ocserv_user(env.api, "j\xc3\xbcrgen", &l, &ei), 0);
	assert_string_equal(fk.arg, "j\xc3\xbcrgen");
	session_list_free(l);
	assert_int_equal(ocserv_id(env.api, 4242, &l, &ei), 0);
	assert_int_equal(fk.id, 4242);
	assert_int_equal(fk.timeout_ms, 0);
	session_list_free(l);
	assert_int_equal(ocserv_id_within(env.api, 77, 2000, &l, &ei), 0);
	assert_int_equal(fk.id, 77);
	assert_int_equal(fk.timeout_ms, 2000);
	session_list_free(l);
	assert_int_equal(ocserv_version(env.api, &v, &ei), 0);
	assert_string_equal(v.text, "1.4.2");
	assert_int_equal(v.minor, 4);
	assert_int_equal(ocserv_cookies(env.api, true, &c, &ei), 0);
	assert_int_equal(fk.valid_only, 1);
	assert_string_equal(c->v[0].session_id, "LpurJh");
	assert_int_equal(c->v[0].created, 5);
	assert_int_equal(c->v[0].session_is_open, 1);
	assert_int_equal(c->v[0].tls_auth_ok, -1);
	cookie_list_free(c);
	assert_int_equal(ocserv_cookie(env.api, "xHWC9szOy4jKEN3tZ0cAT1+U2/k=", &c, &ei), 0);
	assert_string_equal(fk.arg, "xHWC9szOy4jKEN3tZ0cAT1+U2/k=");
	cookie_list_free(c);
	assert_int_equal(ocserv_iroutes(env.api, &ir, &ei), 0);
	assert_int_equal(ir->v[0].id, 9);
	assert_string_equal(ir->v[0].iroutes.v[0], "10.9.0.0/16");
	iroute_list_free(ir);
	assert_int_equal(ocserv_bans(env.api, &b, &ei), 0);
	assert_int_equal(b->v[0].expires, 1700000000);
	ban_list_free(b);
	assert_int_equal(ocserv_ban_points(env.api, &b, &ei), 0);
	assert_int_equal(b->v[0].expires, -1);
	assert_string_equal(fk.last_op, "ban_points");
	ban_list_free(b);
	session_list_free(want);
}

static void test_backend_writes(void **state)
{
	struct err_info ei = {{0}};

	(void)state;
	assert_int_equal(ocserv_disconnect_id(env.api, 31337, &ei), 0);
	assert_string_equal(fk.last_op, "disconnect_id");
	assert_int_equal(fk.id, 31337);
	assert_int_equal(ocserv_disconnect_user(env.api, "alice", &ei), 0);
	assert_string_equal(fk.last_op, "disconnect_user");
	assert_string_equal(fk.arg, "alice");
	assert_int_equal(ocserv_unban(env.api, "2001:db8::1", &ei), 0);
	assert_string_equal(fk.arg, "2001:db8::1");
	assert_int_equal(ocserv_reload(env.api, &ei), 0);
	assert_string_equal(fk.last_op, "reload");
	assert_int_equal(ocserv_terminate_id(env.api, 12, &ei), 0);
	assert_string_equal(fk.last_op, "terminate_id");
	assert_int_equal(fk.id, 12);
	assert_int_equal(ocserv_terminate_user(env.api, "bob", &ei), 0);
	assert_string_equal(fk.last_op, "terminate_user");
	assert_string_equal(fk.arg, "bob");
	assert_int_equal(ocserv_terminate_cookie(env.api, "LpurJh", &ei), 0);
	assert_string_equal(fk.last_op, "terminate_cookie");
	assert_string_equal(fk.arg, "LpurJh");
	/* The backend's error crosses with its code and detail. */
	fk.err = ERR_NOT_FOUND;
	assert_int_equal(ocserv_unban(env.api, "192.0.2.1", &ei), ERR_NOT_FOUND);
	assert_string_equal(ei.detail, "fake unban failed");
	fk.err = ERR_OCCTL_TIMEOUT;
	struct session_list *l = NULL;
	assert_int_equal(ocserv_list(env.api, &l, &ei), ERR_OCCTL_TIMEOUT);
	assert_null(l);
}

static void test_backend_in_use(void **state)
{
	(void)state;
	fk.in_use = "occtl";
	assert_string_equal(ocserv_backend_in_use(env.api), "occtl");
	fk.in_use = "ctl";
	/* Cached for a second. */
	assert_string_equal(ocserv_backend_in_use(env.api), "occtl");
	usleep(1100 * 1000);
	assert_string_equal(ocserv_backend_in_use(env.api), "ctl");
}

/* Run op with args (JSON text) through the dispatcher. */
static int call_text(enum priv_op op, const char *args, struct priv_error *pe)
{
	json_t *ret = NULL;
	int r = priv_call(env.priv, NULL, op, json_loads(args, 0, NULL), &ret, pe);

	json_decref(ret);
	return r;
}

static void test_arg_checks(void **state)
{
	static const struct {
		enum priv_op op;
		const char *args;
		int want;
	} cases[] = {
		{PRIV_OCSERV_USER, "{\"username\":\"alice\"}", 0},
		{PRIV_OCSERV_USER, "{\"username\":\"-alice\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_USER, "{\"username\":\"\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_USER, "{\"username\":\"a  b\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_USER, "{\"username\":\"a\\nb\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_USER,
		 "{\"username\":"
		 "\"0123456789012345678901234567890123456789012345678901234567890123\"}",
		 ERR_BAD_REQUEST},
		{PRIV_OCSERV_USER, "{\"username\":1}", ERR_PRIV_PROTOCOL},
		{PRIV_OCSERV_USER, "{}", ERR_PRIV_PROTOCOL},
		{PRIV_OCSERV_DISCONNECT_USER, "{\"username\":\"?\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_TERMINATE_USER, "{\"username\":\" bob\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_ID, "{\"id\":1}", 0},
		{PRIV_OCSERV_ID, "{\"id\":2147483647,\"timeoutMs\":3600000}", 0},
		{PRIV_OCSERV_ID, "{\"id\":0}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_ID, "{\"id\":2147483648}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_ID, "{\"id\":1,\"timeoutMs\":0}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_ID, "{\"id\":1,\"timeoutMs\":3600001}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_ID, "{\"id\":\"1\"}", ERR_PRIV_PROTOCOL},
		{PRIV_OCSERV_DISCONNECT_ID, "{\"id\":-4}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_TERMINATE_ID, "{\"id\":1,\"timeoutMs\":5}", ERR_PRIV_PROTOCOL},
		{PRIV_OCSERV_STATUS, "{\"timeoutMs\":-1}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_STATUS, "{\"timeout\":1}", ERR_PRIV_PROTOCOL},
		{PRIV_OCSERV_COOKIE, "{\"sid\":\"xHWC9szOy4jKEN3tZ0cAT1+U2/k=\"}", 0},
		{PRIV_OCSERV_COOKIE, "{\"sid\":\"\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_COOKIE, "{\"sid\":\"abc def\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_TERMINATE_COOKIE, "{\"sid\":\"../etc\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_TERMINATE_COOKIE,
		 "{\"sid\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
		 ERR_BAD_REQUEST},
		{PRIV_OCSERV_COOKIES, "{}", ERR_PRIV_PROTOCOL},
		{PRIV_OCSERV_COOKIES, "{\"validOnly\":1}", ERR_PRIV_PROTOCOL},
		{PRIV_OCSERV_UNBAN, "{\"ip\":\"192.0.2.1\"}", 0},
		{PRIV_OCSERV_UNBAN, "{\"ip\":\"::ffff:192.0.2.1\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_UNBAN, "{\"ip\":\"2001:DB8::1\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_UNBAN, "{\"ip\":\"192.0.2.1/32\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_UNBAN, "{\"ip\":\"localhost\"}", ERR_BAD_REQUEST},
		{PRIV_OCSERV_LIST, "{\"x\":1}", ERR_PRIV_PROTOCOL},
		{PRIV_OCSERV_RELOAD, "{}", 0},
		{PRIV_EVENTS_RENEW, "{\"now\":true}", ERR_PRIV_PROTOCOL},
	};
	struct priv_error pe;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = fk.calls, r = call_text(cases[i].op, cases[i].args, &pe);

		if (r != cases[i].want)
			fail_msg("%s %s: %d, want %d (%s)", priv_op_name(cases[i].op),
				 cases[i].args, r, cases[i].want, pe.ei.detail);
		/* A refusal never reaches ocserv. */
		if (r < 0 && fk.calls != before)
			fail_msg("%s %s reached the backend", priv_op_name(cases[i].op),
				 cases[i].args);
		if (r == ERR_BAD_REQUEST)
			assert_true(pe.message[0] != '\0');
		priv_error_clear(&pe);
	}
}

static void test_table(void **state)
{
	(void)state;
	for (enum priv_op op = PRIV_OCSERV_STATUS; op <= PRIV_EVENTS_RENEW; op++) {
		const char *name = priv_op_name(op);

		if (name == NULL)
			fail_msg("op %d has no definition", (int)op);
		assert_true(strncmp(name, "ocserv.", 7) == 0 || strcmp(name, "events.renew") == 0);
	}
	assert_string_equal(priv_op_name(PRIV_OCSERV_DISCONNECT_ID), "ocserv.disconnect_id");
}

static bool hook_configured(void)
{
	struct priv_error pe;
	json_t *ret = NULL;
	bool yes;

	assert_int_equal(
		priv_call(env.priv, NULL, PRIV_OCSERV_HOOK_CONFIGURED, json_object(), &ret, &pe),
		0);
	assert_true(json_is_boolean(json_object_get(ret, "configured")));
	yes = json_is_true(json_object_get(ret, "configured"));
	json_decref(ret);
	return yes;
}

static void test_hook_configured(void **state)
{
	(void)state;
	assert_false(hook_configured()); /* no file */
	assert_int_equal(unit_write_str(env.conf, "connect-script = /usr/bin/other\n"), 0);
	assert_false(hook_configured());
	assert_int_equal(
		unit_write_str(env.conf, "connect-script = /usr/libexec/ocserv-agent-hook\n"), 0);
	assert_true(hook_configured());
}

static void test_events_renew(void **state)
{
	struct ctl_events_sink sink;
	struct priv_error pe;
	struct priv_root none = env.root;
	struct priv *p;

	(void)state;
	priv_events_root_sink(env.root.events, &sink);
	assert_false(sink.deaf(sink.arg));
	assert_int_equal(call_text(PRIV_EVENTS_RENEW, "{}", &pe), 0);
	assert_true(sink.deaf(sink.arg));
	assert_false(sink.deaf(sink.arg)); /* once */
	/* A new subscription forgets a renewal asked for before it. */
	assert_int_equal(call_text(PRIV_EVENTS_RENEW, "{}", &pe), 0);
	sink.set_live(sink.arg, true);
	assert_int_equal(sent_renewals, 1); /* {"ctlLive": true} */
	assert_false(sink.deaf(sink.arg));
	/* Without a subscription the op does nothing, successfully. */
	none.events = NULL;
	p = priv_local_new(&none);
	json_t *ret = NULL;
	assert_int_equal(priv_call(p, NULL, PRIV_EVENTS_RENEW, json_object(), &ret, &pe), 0);
	json_decref(ret);
	priv_free(p);
}

/* ---- the same over the socketpair: priv_client → priv_server ---- */

struct server_thread {
	struct priv_server *s;
	pthread_t th;
	int rc;
};

static void *server_main(void *arg)
{
	struct server_thread *st = arg;
	struct err_info ei = {{0}};

	st->rc = priv_server_run(st->s, &ei);
	return NULL;
}

/* The api side's priv_client hook (main.c's, in privilege-separated mode). */
static void on_event(void *arg, const json_t *payload)
{
	priv_events_deliver(arg, payload);
}

static bool hub_until(struct event_hub *h, bool live, uint64_t published)
{
	struct event_hub_stats st;

	for (int64_t end = timefmt_mono_ms() + 5000; timefmt_mono_ms() < end; usleep(2000)) {
		event_hub_stats(h, &st);
		if (st.ctl_live == live && st.published >= published)
			return true;
	}
	return false;
}

static char *hub_text(struct event_hub *h)
{
	static char buf[8192];
	struct event_sub *sub;
	ssize_t n;

	assert_int_equal(event_hub_subscribe(h, NULL, true, 0, fake_free, NULL, &sub), 0);
	n = event_sub_read(sub, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	event_sub_close(sub);
	return buf;
}

static void test_over_socketpair(void **state)
{
	struct event_hub_options eo = {16, 4, 0, 0};
	struct server_thread st = {0};
	struct event_hub *hub;
	struct priv_client_hooks hooks = {0};
	struct ctl_events_sink sink;
	struct session_list *l = NULL, *want = session_sample();
	struct event *ev = event_new(EVENT_CONNECT);
	struct err_info ei = {{0}};
	struct priv *p;
	struct ocserv *api;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	/* the root side */
	st.s = priv_server_new(sv[0], &env.root);
	assert_non_null(st.s);
	priv_events_root_free(env.root.events);
	env.root.events = priv_events_root_new(priv_events_server_send, st.s);
	assert_int_equal(pthread_create(&st.th, NULL, server_main, &st), 0);
	/* the api side */
	hub = event_hub_new(&eo, &ei);
	assert_non_null(hub);
	hooks.event = on_event;
	hooks.arg = hub;
	p = priv_client_new(sv[1], &hooks, 5000, &ei);
	assert_non_null(p);
	api = priv_backend_new(p);
	assert_non_null(api);

	assert_int_equal(ocserv_list(api, &l, &ei), 0);
	assert_int_equal(l->n, 2);
	eq_session(&want->v[0], &l->v[0]);
	eq_session(&want->v[1], &l->v[1]);
	session_list_free(l);
	fk.err = ERR_NOT_FOUND;
	assert_int_equal(ocserv_terminate_cookie(api, "LpurJh", &ei), ERR_NOT_FOUND);
	fk.err = 0;
	fk.in_use = "ctl";
	assert_string_equal(ocserv_backend_in_use(api), "ctl");

	/* events: root sink → EVENT frames → the hub */
	priv_events_root_sink(env.root.events, &sink);
	sink.set_live(sink.arg, true);
	ev->vpn_session_id = 4242;
	ev->username = sdup(BAD1);
	assert_int_equal(sink.ingest(sink.arg, ev), 0);
	assert_true(hub_until(hub, true, 1));
	assert_non_null(
		strstr(hub_text(hub), "\"vpnSessionId\":4242,\"username\":\"caf\xef\xbf\xbd\""));
	/* renewal asked from the api side */
	struct priv_error pe;
	json_t *ret = NULL;
	assert_int_equal(priv_call(p, NULL, PRIV_EVENTS_RENEW, json_object(), &ret, &pe), 0);
	json_decref(ret);
	assert_true(sink.deaf(sink.arg));
	sink.set_live(sink.arg, false);
	assert_true(hub_until(hub, false, 1));

	/* the api side goes: the server ends cleanly */
	ocserv_free(api);
	priv_free(p);
	pthread_join(st.th, NULL);
	assert_int_equal(st.rc, 0);
	priv_server_free(st.s);
	close(sv[0]);
	event_hub_free(hub);
	session_list_free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_iroutes_bans),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_string_bytes),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_nul),
		cmocka_unit_test_setup_teardown(test_backend_reads, ops_setup, ops_teardown),
		cmocka_unit_test_setup_teardown(test_backend_writes, ops_setup, ops_teardown),
		cmocka_unit_test_setup_teardown(test_backend_in_use, ops_setup, ops_teardown),
		cmocka_unit_test_setup_teardown(test_arg_checks, ops_setup, ops_teardown),
		cmocka_unit_test(test_table),
		cmocka_unit_test_setup_teardown(test_hook_configured, ops_setup, ops_teardown),
		cmocka_unit_test_setup_teardown(test_events_renew, ops_setup, ops_teardown),
		cmocka_unit_test_setup_teardown(test_over_socketpair, ops_setup, ops_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
