/* session.h: occtl's show users/user/id normalised into struct session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "session.h"
#include "unit.h"

#define ROUTE_STAFF  "192.168.50.0/255.255.255.0"
#define DNS_STAFF    "192.168.50.53"
#define IROUTE_ALICE "192.168.200.0/255.255.255.0"
#define NOW_OFFSET   100 /* "now" used in the tests: raw_connected_at + this */

/* What the manifest and the captured files say about each version. */
static const struct expect {
	const char *version;
	int64_t ids[3]; /* show users order: bob (vpns2), bob (vpns1), alice (vpns0) */
	int64_t tx[3];
	int64_t raw_connected; /* -1 when this version does not print it */
	int64_t since_text;    /* "_Connected at" interval in seconds */
	const char *avg_suffix;
	const char *session[3];
	const char *ua;
	int64_t raw_session_started; /* -1 before 1.4.1 */
} expects[] = {
	{"1.1.6",
	 {9485, 9474, 9461},
	 {276, 352, 352},
	 -1,
	 1,
	 "bytes/sec",
	 {"YQlBT4", "9raYjH", "LpurJh"},
	 "Open AnyConnect VPN Agent v9.01-3",
	 -1},
	{"1.3.0",
	 {9762, 9751, 9738},
	 {276, 352, 200},
	 1795291954,
	 2,
	 "bytes/s",
	 {"ayVi7a", "G6+MDf", "zyH2sy"},
	 "Open AnyConnect VPN Agent v9.12-3+deb13u2",
	 -1},
	{"1.5.0",
	 {10046, 10035, 10022},
	 {352, 276, 352},
	 1795291959,
	 1,
	 "bytes/s",
	 {"CLcgrH", "914kfJ", "xHWC9s"},
	 "AnyConnect-compatible OpenConnect VPN Agent v9.21-5",
	 1795291959},
};

static int64_t now_for(const struct expect *e)
{
	return e->raw_connected > 0 ? e->raw_connected + NOW_OFFSET : 1795291959 + NOW_OFFSET;
}

static struct session_list *list_from_text(const char *text, int64_t now, int want_r)
{
	struct err_info ei = {{0}};
	struct session_list *l = NULL;
	int r = session_list_parse_occtl(text, strlen(text), now, &l, &ei);

	if (r != want_r)
		fail_msg("parse returned %d, want %d (%s) for: %.200s", r, want_r, ei.detail, text);
	if (r < 0) {
		assert_null(l);
		assert_true(strlen(ei.detail) > 0);
	} else {
		assert_non_null(l);
	}
	return l;
}

static struct session_list *list_from_fixture(const char *version, const char *name, int64_t now)
{
	char *buf = unit_read_fixture(version, name, NULL);
	struct session_list *l;

	assert_non_null(buf);
	l = list_from_text(buf, now, 0);
	free(buf);
	assert_non_null(l);
	return l;
}

static void assert_strv(const struct strv *sv, size_t n, const char *first)
{
	assert_int_equal(sv->n, n);
	if (n > 0)
		assert_string_equal(sv->v[0], first);
}

/* The fields every captured session shares. */
static void check_common(const struct session *s, const struct expect *e)
{
	assert_string_equal(s->state, "connected");
	assert_string_equal(s->vhost, "default");
	assert_string_equal(s->client_ip, "127.0.0.1");
	assert_string_equal(s->local_device_ip, "127.0.0.1");
	assert_string_equal(s->p2p_ipv4, "192.168.99.1");
	assert_null(s->vpn_ipv6);
	assert_int_equal(s->mtu, 1434);
	assert_int_equal(s->rx_bytes, 0);
	assert_string_equal(s->user_agent, e->ua);
	assert_string_equal(s->connected_at, "2026-11-21 20:12");
	assert_int_equal(s->raw_connected_at, e->raw_connected);
	if (e->raw_connected > 0)
		assert_int_equal(s->since_seconds, NOW_OFFSET);
	else
		assert_int_equal(s->since_seconds, e->since_text);
	assert_non_null(strstr(s->avg_rx, e->avg_suffix));
	assert_true(strlen(s->tls_cipher) == 63); /* occtl cuts it at 63 characters */
	assert_string_equal(s->dtls_cipher, "(DTLS1.2)-(PSK)-(AES-256-GCM)");
	assert_non_null(s->full_session);
	assert_int_equal(strncmp(s->full_session, s->session_id, 6), 0);
	/* What every listing prints of the session's configuration. */
	assert_int_equal(s->dpd, 90);
	assert_int_equal(s->keepalive, 32400);
	assert_string_equal(s->hostname, "vm");
	assert_int_equal(s->raw_session_started_at, e->raw_session_started);
	assert_strv(&s->nbns, 0, NULL);
	assert_strv(&s->split_dns_domains, 0, NULL);
	assert_strv(&s->no_routes, 0, NULL);
	assert_int_equal(s->restricted_to_routes, 0); /* "False" */
	assert_strv(&s->restricted_to_ports, 0, NULL);
}

static void check_bob(const struct session *s, const struct expect *e, size_t i)
{
	static const char *dev[] = {"vpns2", "vpns1"}, *ip[] = {"192.168.99.134", "192.168.99.106"};

	assert_int_equal(s->id, e->ids[i]);
	assert_string_equal(s->username, "bob");
	assert_string_equal(s->groupname, "staff");
	assert_string_equal(s->device, dev[i]);
	assert_string_equal(s->vpn_ipv4, ip[i]);
	assert_int_equal(s->tx_bytes, e->tx[i]);
	assert_string_equal(s->session_id, e->session[i]);
	assert_strv(&s->routes, 1, ROUTE_STAFF);
	assert_strv(&s->dns, 1, DNS_STAFF);
	assert_strv(&s->iroutes, 0, NULL);
	check_common(s, e);
}

static void check_alice(const struct session *s, const struct expect *e)
{
	assert_int_equal(s->id, e->ids[2]);
	assert_string_equal(s->username, "alice");
	assert_null(s->groupname); /* "(none)" */
	assert_string_equal(s->device, "vpns0");
	assert_string_equal(s->vpn_ipv4, "192.168.99.50");
	assert_int_equal(s->tx_bytes, e->tx[2]);
	assert_string_equal(s->session_id, e->session[2]);
	/* "Routes": [] then "Routes": "defaultroute": the last one wins. */
	assert_strv(&s->routes, 1, "defaultroute");
	assert_strv(&s->dns, 0, NULL);
	assert_strv(&s->iroutes, 1, IROUTE_ALICE); /* her per-user file */
	check_common(s, e);
}

static void test_show_users(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		const struct expect *e = &expects[v];
		struct session_list *l = list_from_fixture(e->version, "j-show-users", now_for(e));
		assert_int_equal(l->n, 3);
		check_bob(&l->v[0], e, 0);
		check_bob(&l->v[1], e, 1);
		check_alice(&l->v[2], e);
		for (size_t i = 0; i < l->n; i++)
			assert_true(session_is_authenticated(&l->v[i]));
		session_list_keep_authenticated(l);
		assert_int_equal(l->n, 3);
		session_list_free(l);
	}
}

static void test_show_user_bob(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		const struct expect *e = &expects[v];
		struct session_list *l =
			list_from_fixture(e->version, "j-show-user-bob", now_for(e));
		assert_int_equal(l->n, 2);
		check_bob(&l->v[0], e, 0);
		check_bob(&l->v[1], e, 1);
		session_list_free(l);
	}
}

static void test_show_id(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		const struct expect *e = &expects[v];
		struct session_list *l = list_from_fixture(e->version, "j-show-id-ID", now_for(e));
		assert_int_equal(l->n, 1);
		check_alice(&l->v[0], e);
		session_list_free(l);
	}
}

static void test_no_match_is_empty(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		struct session_list *l =
			list_from_fixture(unit_versions[v], "j-show-user-nosuchuser", 0);
		assert_int_equal(l->n, 0);
		session_list_free(l);
		l = list_from_fixture(unit_versions[v], "j-show-id-999999", 0);
		assert_int_equal(l->n, 0);
		session_list_free(l);
	}
}

static void test_since_seconds(void **state)
{
	struct session_list *l;

	(void)state;
	/* raw_connected_at beats the rounded interval; never negative. */
	l = list_from_text("[{\"ID\": 1, \"Username\": \"u\", \"_Connected at\": \" 4m:58s\","
			   " \"raw_connected_at\": 1000}]",
			   1500, 0);
	assert_int_equal(l->v[0].since_seconds, 500);
	session_list_free(l);
	l = list_from_text("[{\"ID\": 1, \"raw_connected_at\": 1000}]", 900, 0);
	assert_int_equal(l->v[0].since_seconds, 0);
	session_list_free(l);
	/* Without raw_connected_at: the interval text (1.1.6). */
	l = list_from_text("[{\"ID\": 1, \"_Connected at\": \" 4m:58s\"},"
			   " {\"ID\": 2, \"_Last connected at\": \" 1h:02m\"},"
			   " {\"ID\": 3, \"_Connected at\": \"   ?   \"},"
			   " {\"ID\": 4}]",
			   5000, 0);
	assert_int_equal(l->n, 4);
	assert_int_equal(l->v[0].since_seconds, 298);
	assert_int_equal(l->v[1].since_seconds, 3720);
	assert_int_equal(l->v[2].since_seconds, SESSION_ABSENT);
	assert_int_equal(l->v[3].since_seconds, SESSION_ABSENT);
	assert_int_equal(l->v[3].raw_connected_at, SESSION_ABSENT);
	session_list_free(l);
}

/* Absent values stay absent: nothing is guessed. */
static void test_absent_values(void **state)
{
	struct session_list *l;
	const struct session *s;

	(void)state;
	l = list_from_text("[{\"ID\": 7, \"Username\": \"u\", \"User-Agent\": \"(invalid)\","
			   " \"RX\": \"abc\", \"MTU\": \"\", \"Groupname\": \"\","
			   " \"TX\": -5, \"Device\": 3}]",
			   0, 0);
	s = &l->v[0];
	assert_int_equal(s->id, 7);
	assert_null(s->user_agent);
	assert_null(s->groupname);
	assert_null(s->device);
	assert_null(s->state);
	assert_null(s->vpn_ipv4);
	assert_null(s->connected_at);
	assert_int_equal(s->rx_bytes, SESSION_ABSENT);
	assert_int_equal(s->tx_bytes, SESSION_ABSENT);
	assert_int_equal(s->mtu, SESSION_ABSENT);
	assert_int_equal(s->dns.n, 0);
	assert_int_equal(s->routes.n, 0);
	session_list_free(l);

	/* Numbers may come as numbers or numeric strings. */
	l = list_from_text("[{\"ID\": \"42\", \"MTU\": 1400, \"RX\": \"123456789012\","
			   " \"TX\": \" 77\"}]",
			   0, 0);
	assert_int_equal(l->v[0].id, 42);
	assert_int_equal(l->v[0].mtu, 1400);
	assert_int_equal(l->v[0].rx_bytes, INT64_C(123456789012));
	assert_int_equal(l->v[0].tx_bytes, 77);
	session_list_free(l);

	/* Lists: a lone string is a one-element list; non-strings are skipped. */
	l = list_from_text("[{\"ID\": 1, \"DNS\": \"10.0.0.1\", \"Routes\": [\"a\", 5, \"b\"]}]", 0,
			   0);
	assert_strv(&l->v[0].dns, 1, "10.0.0.1");
	assert_int_equal(l->v[0].routes.n, 2);
	assert_string_equal(l->v[0].routes.v[0], "a");
	assert_string_equal(l->v[0].routes.v[1], "b");
	session_list_free(l);
}

/* "A value of an unexpected type makes the field absent": an array or an
 * object where a string belongs is skipped whole, and the keys after it are
 * still read. */
static void test_wrong_type_values_are_absent(void **state)
{
	struct session_list *l;
	const struct session *s;

	(void)state;
	l = list_from_text("[{\"ID\": 7, \"Device\": [\"vpns0\", \"x\"], \"Username\": \"u\","
			   " \"Groupname\": {\"Username\": \"evil\", \"ID\": 99},"
			   " \"State\": \"connected\", \"User-Agent\": [], \"IPv4\": {},"
			   " \"MTU\": [1434], \"RX\": {\"a\": 1}, \"_Connected at\": [\"1s\"],"
			   " \"Remote IP\": \"10.0.0.1\"},"
			   " {\"ID\": 8, \"Username\": [\"v\"]}]",
			   0, 0);
	assert_int_equal(l->n, 2);
	s = &l->v[0];
	assert_int_equal(s->id, 7);
	assert_null(s->device);
	assert_string_equal(s->username, "u");
	assert_null(s->groupname);
	assert_string_equal(s->state, "connected");
	assert_null(s->user_agent);
	assert_null(s->vpn_ipv4);
	assert_int_equal(s->mtu, SESSION_ABSENT);
	assert_int_equal(s->rx_bytes, SESSION_ABSENT);
	assert_int_equal(s->since_seconds, SESSION_ABSENT);
	assert_string_equal(s->client_ip, "10.0.0.1");
	assert_int_equal(l->v[1].id, 8);
	assert_null(l->v[1].username);
	session_list_free(l);
}

/* What occtl gets wrong is tolerated: trailing commas (≤1.3.0), members
 * with no comma between them, unknown keys of any shape. */
static void test_tolerated_syntax(void **state)
{
	struct session_list *l;

	(void)state;
	l = list_from_text("[\n  {\n    \"ID\":  1,\n    \"Username\":  \"a\",\n  },\n\n]\n", 0, 0);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0].username, "a");
	session_list_free(l);
	l = list_from_text("[{\"ID\": 1 \"Username\": \"a\"}, {\"ID\": 2,"
			   " \"Unknown\": {\"x\": [1, {\"y\": null}], \"z\": true},"
			   " \"Restricted to ports\": [], \"Float\": -1.5e3, \"F\": false}]",
			   0, 0);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].username, "a");
	assert_int_equal(l->v[1].id, 2);
	session_list_free(l);
	/* A key longer than any known one is just unknown. */
	l = list_from_text("[{\"ID\": 3, "
			   "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxx\": \"v\"}]",
			   0, 0);
	assert_int_equal(l->v[0].id, 3);
	session_list_free(l);
	/* Escapes in values are decoded. */
	l = list_from_text("[{\"ID\": 4, \"Username\": \"a\\\"b\\\\c\\/d\\u0041\"}]", 0, 0);
	assert_string_equal(l->v[0].username, "a\"b\\c/dA");
	session_list_free(l);
}

static void test_keep_authenticated(void **state)
{
	struct session_list *l;
	static const int64_t want[] = {2, 7, 8};

	(void)state;
	l = list_from_text("[{\"ID\": 1, \"Username\": \"(none)\", \"State\": \"pre-auth\"},"
			   " {\"ID\": 2, \"Username\": \"carol\", \"State\": \"connected\"},"
			   " {\"ID\": 3, \"Username\": \"dave\", \"State\": \"pre-auth\"},"
			   " {\"ID\": 4, \"Username\": \"\", \"State\": \"connected\"},"
			   " {\"ID\": 5, \"Username\": \"erin\", \"State\": \"authenticating\"},"
			   " {\"ID\": 6, \"Username\": \"frank\", \"State\": \"auth failed\"},"
			   " {\"ID\": 7, \"Username\": \"gina\"},"
			   " {\"ID\": 8, \"Username\": \"hank\", \"State\": \"connected\"},"
			   " {\"ID\": 9, \"State\": \"connected\"},"
			   " {\"ID\": 10, \"Username\": \"(none)\", \"State\": \"connected\"}]",
			   0, 0);
	assert_int_equal(l->n, 10);
	assert_false(session_is_authenticated(&l->v[0]));
	assert_true(session_is_authenticated(&l->v[1]));
	assert_false(session_is_authenticated(&l->v[2]));
	assert_false(session_is_authenticated(&l->v[9]));
	session_list_keep_authenticated(l);
	assert_int_equal(l->n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(l->v[i].id, want[i]);
	assert_string_equal(l->v[0].username, "carol");
	assert_string_equal(l->v[2].username, "hank");
	session_list_keep_authenticated(l); /* idempotent */
	assert_int_equal(l->n, 3);
	session_list_free(l);

	l = list_from_text("[{\"ID\": 1, \"Username\": \"(none)\", \"State\": \"pre-auth\"}]", 0,
			   0);
	session_list_keep_authenticated(l);
	assert_int_equal(l->n, 0);
	session_list_free(l);
	session_list_free(NULL);
}

static void test_bad_shapes(void **state)
{
	static const char *bad[] = {
		"{\"ID\": 1, \"Username\": \"alice\"}", /* not an array */
		"\"users\"",
		"null",
		"[1, 2]",				  /* entries not objects */
		"[{\"Username\": \"alice\"}]",		  /* no ID */
		"[{\"ID\": 1}, {\"Username\": \"bob\"}]", /* second entry without ID */
		"[{\"ID\": 0}]",
		"[{\"ID\": -4}]",
		"[{\"ID\": \"abc\"}]",
		"[{\"ID\": null}]",
		"[{\"ID\": 1.5}]",
		"",
		"   ",
		"[",
		"[{\"ID\": 1}",
		"[{\"ID\": 1",
		"[{\"ID\": 1}] []",
		"[{\"ID\": 1}] x",
		"[{\"ID\": 1, \"Username\": \"a\\u0000b\"}]", /* NUL escape */
		"[{\"ID\": 1, \"Username\": \"unterminated}]",
		"[{\"ID\": 1, \"Username\" \"x\"}]", /* no colon */
		"[{\"ID\": 1, 5: \"x\"}]",	     /* non-string key */
		"[{\"ID\": 1, \"Routes\": [\"a\", }]",
		"[{\"ID\": 1, \"Other\": {\"a\": [}}]",
		"error connecting to ocserv socket",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(list_from_text(bad[i], 0, ERR_OCCTL_BAD_JSON));
}

static void test_mangled_utf8(void **state)
{
	struct session_list *l;

	(void)state;
	/* As occtl prints "Jürgen" in group "Müller" with a route comment. */
	l = list_from_text("[{\"ID\": 11, \"Username\": \"J\\u00c3\\u00bcrgen\","
			   " \"Groupname\": \"M\\u00c3\\u00bcller\","
			   " \"Routes\": [\"\\u00e6\\u0097\\u00a5\"],"
			   " \"User-Agent\": \"caf\\u00e9\"}]",
			   0, 0);
	assert_string_equal(l->v[0].username, "J\xc3\xbcrgen");
	assert_string_equal(l->v[0].groupname, "M\xc3\xbcller");
	assert_string_equal(l->v[0].routes.v[0], "\xe6\x97\xa5");
	/* Latin-1 that is not UTF-8 as bytes stays as jansson decoded it. */
	assert_string_equal(l->v[0].user_agent, "caf\xc3\xa9");
	session_list_free(l);
}

/* A lexical error inside a value (a raw control character) is an error,
 * not something to skip over. */
static void test_lexical_error_in_value(void **state)
{
	static const char *bad[] = {"[{\"ID\": 7, \"Username\": \"a\x01b\"}]",
				    "[{\"ID\": 7, \"MTU\": \"14\x01\"}]",
				    "[{\"ID\": 7, \"_Connected at\": \"1\x02s\"}]",
				    "[{\"ID\": 7, \"Username\": \"u\", \"Device\": tru}]"};
	struct session_list *l = NULL;
	struct err_info ei = {{0}};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(session_list_parse_occtl(bad[i], strlen(bad[i]), 0, &l, &ei),
				 ERR_OCCTL_BAD_JSON);
}

/* The session configuration `show id` (and every listing) prints. */
static void test_session_config(void **state)
{
	struct session_list *l;
	const struct session *s;

	(void)state;
	l = list_from_text(
		"[{\"ID\": 5, \"DNS\":\t[\"10.0.0.53\", \"10.0.1.53\"],"
		" \"NBNS\":\t[\"10.0.0.137\"], \"Split-DNS-Domains\":\t[\"corp.test\"],"
		" \"Routes\":\t[\"10.1.0.0/255.255.0.0\"], \"No-routes\":\t[\"10.1.2.0/24\"],"
		" \"iRoutes\":\t[\"10.9.0.0/255.255.0.0\"],"
		" \"Restricted to routes\":  \"True\","
		" \"Restricted to ports\":\t[\"tcp(443)\", \"!udp()\", \"icmp()\"],"
		" \"DPD\":  \"60\", \"KeepAlive\":  \"300\", \"Hostname\":  \"laptop\","
		" \"raw_session_started_at\":  1795291000, \"Session started at\": \"x\"}]",
		0, 0);
	s = &l->v[0];
	assert_strv(&s->dns, 2, "10.0.0.53");
	assert_string_equal(s->dns.v[1], "10.0.1.53");
	assert_strv(&s->nbns, 1, "10.0.0.137");
	assert_strv(&s->split_dns_domains, 1, "corp.test");
	assert_strv(&s->routes, 1, "10.1.0.0/255.255.0.0");
	assert_strv(&s->no_routes, 1, "10.1.2.0/24");
	assert_strv(&s->iroutes, 1, "10.9.0.0/255.255.0.0");
	assert_int_equal(s->restricted_to_routes, 1);
	assert_strv(&s->restricted_to_ports, 3, "tcp(443)");
	assert_string_equal(s->restricted_to_ports.v[1], "!udp()");
	assert_string_equal(s->restricted_to_ports.v[2], "icmp()");
	assert_int_equal(s->dpd, 60);
	assert_int_equal(s->keepalive, 300);
	assert_string_equal(s->hostname, "laptop");
	assert_int_equal(s->raw_session_started_at, 1795291000);
	session_list_free(l);

	/* Absent, or not what occtl prints: absent. */
	l = list_from_text("[{\"ID\": 6}, {\"ID\": 7, \"Restricted to routes\": \"maybe\","
			   " \"DPD\": \"x\", \"KeepAlive\": -3, \"Hostname\": \"(invalid)\","
			   " \"Restricted to ports\": {\"tcp\": 443}, \"NBNS\": 5,"
			   " \"raw_session_started_at\": \"soon\"}]",
			   0, 0);
	for (size_t i = 0; i < 2; i++) {
		s = &l->v[i];
		assert_int_equal(s->restricted_to_routes, -1);
		assert_int_equal(s->dpd, SESSION_ABSENT);
		assert_int_equal(s->keepalive, SESSION_ABSENT);
		assert_int_equal(s->raw_session_started_at, SESSION_ABSENT);
		assert_null(s->hostname);
		assert_int_equal(s->restricted_to_ports.n, 0);
		assert_int_equal(s->nbns.n, 0);
		assert_int_equal(s->no_routes.n, 0);
	}
	session_list_free(l);

	/* "False", and a lone string where a list belongs; the last key wins. */
	l = list_from_text("[{\"ID\": 8, \"Restricted to routes\": \"True\","
			   " \"Restricted to routes\": \"False\", \"No-routes\": \"10.0.0.0/8\","
			   " \"iRoutes\": [\"a\"], \"iRoutes\": []}]",
			   0, 0);
	assert_int_equal(l->v[0].restricted_to_routes, 0);
	assert_strv(&l->v[0].no_routes, 1, "10.0.0.0/8");
	assert_int_equal(l->v[0].iroutes.n, 0);
	session_list_free(l);
}

/* Every prefix of a captured listing that stops before its closing ']' is
 * an error, and frees what it had read (the ASan build checks). */
static void test_truncated_fixtures(void **state)
{
	static const char *names[] = {"j-show-users", "j-show-user-bob", "j-show-id-ID"};

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
			size_t len;
			char *buf = unit_read_fixture(unit_versions[v], names[f], &len);
			const char *end = strrchr(buf, ']');
			assert_non_null(end);
			for (size_t cut = 0; cut < (size_t)(end - buf); cut++) {
				struct err_info ei = {{0}};
				struct session_list *l = NULL;
				assert_int_equal(session_list_parse_occtl(buf, cut, 0, &l, &ei),
						 ERR_OCCTL_BAD_JSON);
				assert_null(l);
			}
			free(buf);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_show_users),
		cmocka_unit_test(test_show_user_bob),
		cmocka_unit_test(test_show_id),
		cmocka_unit_test(test_no_match_is_empty),
		cmocka_unit_test(test_since_seconds),
		cmocka_unit_test(test_absent_values),
		cmocka_unit_test(test_wrong_type_values_are_absent),
		cmocka_unit_test(test_lexical_error_in_value),
		cmocka_unit_test(test_tolerated_syntax),
		cmocka_unit_test(test_keep_authenticated),
		cmocka_unit_test(test_bad_shapes),
		cmocka_unit_test(test_mangled_utf8),
		cmocka_unit_test(test_session_config),
		cmocka_unit_test(test_truncated_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
