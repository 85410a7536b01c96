/* cookie.h: occtl's show sessions all|valid and show session SID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "cookie.h"
#include "err.h"
#include "unit.h"

/* The fixtures' times, read in UTC (main() sets TZ): "2026-11-21 20:12"
 * and "2026-11-21 20:17". */
#define CREATED 1795291920
#define EXPIRES 1795292220

struct row {
	const char *sid, *full;
	int expires; /* printed ("Expires" only while not in use) */
	const char *state, *username, *groupname, *remote_ip;
	int open; /* session_is_open and in_use, equal in every capture */
};

#define R_BOB(sid, full)                                                      \
	{                                                                     \
		sid, full, 0, "authenticated", "bob", "staff", "127.0.0.1", 1 \
	}
#define R_ALICE(sid, full)                                                   \
	{                                                                    \
		sid, full, 0, "authenticated", "alice", NULL, "127.0.0.1", 1 \
	}
#define R_FAIL(sid, full, ip, state)                      \
	{                                                 \
		sid, full, 1, state, "alice", NULL, ip, 0 \
	}

/* `show sessions all` of each version, copied from the fixture text. */
static const struct version {
	const char *version, *ua;
	size_t n;
	struct row all[7];
	const char *alice_sid; /* the SID `show session` was asked for */
} versions[] = {
	{"1.1.6",
	 "Open AnyConnect VPN Agent v9.01-3",
	 7,
	 {R_FAIL("sStQDW", "sStQDWP2w1GEcJLQi4wCRAGcKFQ=", "127.0.0.2", "auth failed"),
	  R_FAIL("DMr4Cp", "DMr4Cp1h9XGPSN3HeZ0AkzOlJQk=", "127.0.0.2", "auth failed"),
	  R_BOB("YQlBT4", "YQlBT4qw8bg78Q7oTdIOjiX34mE="),
	  R_ALICE("LpurJh", "LpurJhpg3WRdTUrMxah0+kAobJc="),
	  R_BOB("9raYjH", "9raYjHb7IfoDsJ0F7GrJdI8n8U8="),
	  R_FAIL("PakcMg", "PakcMggihunT7nTNcM/4knff15M=", "127.0.0.3", "authenticating"),
	  R_FAIL("8IUGyt", "8IUGytsTisegT779+ldwt0Cz6zI=", "127.0.0.2", "authenticating")},
	 "LpurJh"},
	{"1.3.0",
	 "Open AnyConnect VPN Agent v9.12-3+deb13u2",
	 7,
	 {R_BOB("G6+MDf", "G6+MDfCD5nyis3B8hLa+zbvXJf8="),
	  R_ALICE("zyH2sy", "zyH2syl9H8SoW17ZJZ59hCx0Ri0="),
	  R_FAIL("uDPk/F", "uDPk/Fvb4g+zMJbvSi9Gz3NCL8I=", "127.0.0.2", "auth failed"),
	  R_BOB("ayVi7a", "ayVi7aIoM8lgx3wQsaA66Y53UkE="),
	  R_FAIL("pndIBF", "pndIBFHD3F6IPT5RDKvstYTnOYY=", "127.0.0.3", "authenticating"),
	  R_FAIL("blQNDT", "blQNDTu6vMyGMjE3lqYchCMpQ4g=", "127.0.0.2", "auth failed"),
	  R_FAIL("PGwOBf", "PGwOBfSC+R2Jj0XvdJJbOmQ+Fr0=", "127.0.0.2", "authenticating")},
	 "zyH2sy"},
	{"1.5.0",
	 "AnyConnect-compatible OpenConnect VPN Agent v9.21-5",
	 7,
	 {R_BOB("CLcgrH", "CLcgrH0LEYl8i1CcOt3sgFNozYM="),
	  R_FAIL("n0rtP3", "n0rtP3r/DIWKMTyvpoe04aDaU+U=", "127.0.0.2", "auth failed"),
	  R_ALICE("xHWC9s", "xHWC9szOy4jKEN3tZ0cAT1+U2/k="),
	  R_FAIL("1Sf9E+", "1Sf9E+v/930D6R4SltRXuRkEQPg=", "127.0.0.2", "auth failed"),
	  R_FAIL("//YKwi", "//YKwi0WXOnUjcRAbZ1B/+Gc29M=", "127.0.0.2", "authenticating"),
	  R_BOB("914kfJ", "914kfJygigeSRHvr+H+20tc5h1Y="),
	  R_FAIL("/N16w7", "/N16w75kh9titaN+lTlnHKgBx+k=", "127.0.0.3", "authenticating")},
	 "xHWC9s"},
};

static struct cookie_list *parse_len(const char *text, size_t len, int want_r)
{
	struct err_info ei = {{0}};
	struct cookie_list *l = NULL;
	int r = cookie_list_parse_occtl(text, len, &l, &ei);

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

static struct cookie_list *parse(const char *text, int want_r)
{
	return parse_len(text, strlen(text), want_r);
}

static struct cookie_list *parse_fixture(const char *version, const char *name)
{
	char *buf = unit_read_fixture(version, name, NULL);
	struct cookie_list *l;

	assert_non_null(buf);
	l = parse(buf, 0);
	free(buf);
	return l;
}

static void check_cookie(const struct cookie *c, const struct row *w, const char *ua)
{
	assert_string_equal(c->session_id, w->sid);
	assert_string_equal(c->full_session, w->full);
	assert_int_equal(c->created, CREATED);
	assert_int_equal(c->expires, w->expires ? EXPIRES : -1);
	assert_string_equal(c->state, w->state);
	assert_string_equal(c->username, w->username);
	if (w->groupname == NULL)
		assert_null(c->groupname); /* "(none)" */
	else
		assert_string_equal(c->groupname, w->groupname);
	assert_string_equal(c->vhost, "default");
	assert_string_equal(c->user_agent, ua);
	assert_string_equal(c->remote_ip, w->remote_ip);
	assert_int_equal(c->session_is_open, w->open);
	assert_int_equal(c->in_use, w->open);
	assert_int_equal(c->tls_auth_ok, 0);
}

static void test_sessions_all(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		const struct version *e = &versions[v];
		struct cookie_list *l = parse_fixture(e->version, "j-show-sessions-all");
		assert_int_equal(l->n, e->n);
		for (size_t i = 0; i < l->n; i++) {
			check_cookie(&l->v[i], &e->all[i], e->ua);
			/* Open sessions and failed logins: nothing to resume. */
			assert_false(cookie_is_resumable(&l->v[i], EXPIRES - 600));
		}
		cookie_list_free(l);
	}
}

/* `show sessions valid`: the authenticated ones of `all`, in its order. */
static void test_sessions_valid(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		const struct version *e = &versions[v];
		struct cookie_list *l = parse_fixture(e->version, "j-show-sessions-valid");
		size_t k = 0;
		for (size_t i = 0; i < e->n; i++) {
			if (strcmp(e->all[i].state, "authenticated") != 0)
				continue;
			assert_true(k < l->n);
			check_cookie(&l->v[k++], &e->all[i], e->ua);
		}
		assert_int_equal(l->n, 3);
		assert_int_equal(k, 3);
		cookie_list_free(l);
	}
}

static void test_session_sid(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		const struct version *e = &versions[v];
		struct cookie_list *l = parse_fixture(e->version, "j-show-session-SID");
		const struct row *alice = NULL;
		for (size_t i = 0; i < e->n; i++)
			if (strcmp(e->all[i].sid, e->alice_sid) == 0)
				alice = &e->all[i];
		assert_non_null(alice);
		assert_int_equal(l->n, 1);
		check_cookie(&l->v[0], alice, e->ua);
		cookie_list_free(l);
	}
}

static bool keep_resumable(const struct cookie *c, void *arg)
{
	return cookie_is_resumable(c, *(const int64_t *)arg);
}

static void test_resumable(void **state)
{
	struct cookie_list *l;

	(void)state;
	l = parse("[{\"Session\": \"a\", \"State\": \"authenticated\", \"in_use\": 0,"
		  " \"Expires\": \"2026-11-21 20:17\"},"
		  " {\"Session\": \"b\", \"State\": \"authenticated\", \"in_use\": 0},"
		  " {\"Session\": \"c\", \"State\": \"authenticated\", \"in_use\": 1,"
		  " \"Expires\": \"2026-11-21 20:17\"},"
		  " {\"Session\": \"d\", \"State\": \"auth failed\", \"in_use\": 0,"
		  " \"Expires\": \"2026-11-21 20:17\"},"
		  " {\"Session\": \"e\", \"State\": \"authenticated\","
		  " \"Expires\": \"2026-11-21 20:17\"},"
		  " {\"Session\": \"f\", \"in_use\": 0, \"Expires\": \"2026-11-21 20:17\"},"
		  " {\"Session\": \"g\", \"State\": \"authenticated\", \"session_is_open\": 1,"
		  " \"in_use\": 0, \"Expires\": \"2026-11-21 20:17\"}]",
		  0);
	assert_int_equal(l->n, 7);
	assert_true(cookie_is_resumable(&l->v[0], EXPIRES - 1));
	assert_false(cookie_is_resumable(&l->v[0], EXPIRES)); /* expired */
	assert_false(cookie_is_resumable(&l->v[0], EXPIRES + 3600));
	assert_false(cookie_is_resumable(&l->v[1], 0));		   /* no expiry */
	assert_false(cookie_is_resumable(&l->v[2], EXPIRES - 60)); /* in use */
	assert_false(cookie_is_resumable(&l->v[3], EXPIRES - 60)); /* not authenticated */
	assert_false(cookie_is_resumable(&l->v[4], EXPIRES - 60)); /* in use: unknown */
	assert_false(cookie_is_resumable(&l->v[5], EXPIRES - 60)); /* state unknown */
	/* A killed client's cookie: session_is_open stays 1 (1.1.6, 1.5.0). */
	assert_true(cookie_is_resumable(&l->v[6], EXPIRES - 60));
	/* Filtering in place keeps the order and frees the others (ASan). */
	int64_t at = EXPIRES - 60;
	cookie_list_keep(l, keep_resumable, &at);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].session_id, "a");
	assert_string_equal(l->v[1].session_id, "g");
	cookie_list_free(l);
	cookie_list_free(NULL);
}

/* Values occtl could print, or print badly, that are absent or recovered
 * rather than errors. */
static void test_values(void **state)
{
	struct cookie_list *l;
	const struct cookie *c;

	(void)state;
	l = parse(
		"[{\"Session\": \"s1\", \"Created\": \"2026-11-21 20:12:00\","
		" \"Expires\": \"yesterday\", \"session_is_open\": \"1\", \"tls_auth_ok\": true,"
		" \"in_use\": -1, \"Username\": \"J\\u00c3\\u00bcrgen\", \"Groupname\": \"\","
		" \"User-Agent\": \"(invalid)\", \"Remote IP\": [\"x\"], \"vhost\": null,"
		" \"Location\": \"unknown\"},"
		" {\"Session\": \"s2\", \"Created\": 1795291920, \"session_is_open\": \"True\","
		" \"tls_auth_ok\": \"False\", \"in_use\": 2, \"State\": \"a\", \"State\": \"b\"}]",
		0);
	c = &l->v[0];
	assert_string_equal(c->session_id, "s1");
	assert_null(c->full_session);
	assert_int_equal(c->created, -1);
	assert_int_equal(c->expires, -1);
	assert_int_equal(c->session_is_open, 1);
	assert_int_equal(c->tls_auth_ok, -1);
	assert_int_equal(c->in_use, -1);
	assert_string_equal(c->username, "J\xc3\xbcrgen");
	assert_null(c->groupname);
	assert_null(c->user_agent);
	assert_null(c->remote_ip);
	assert_null(c->vhost);
	assert_null(c->state);
	c = &l->v[1];
	assert_int_equal(c->created, -1); /* a number is not occtl's local time */
	assert_int_equal(c->session_is_open, 1);
	assert_int_equal(c->tls_auth_ok, 0);
	assert_int_equal(c->in_use, 2);
	assert_string_equal(c->state, "b"); /* the last one wins */
	cookie_list_free(l);

	/* What `show session` prints for an unknown SID, and missing commas. */
	l = parse("[\n]\n", 0);
	assert_int_equal(l->n, 0);
	assert_null(l->v);
	cookie_list_free(l);
	l = parse("[{\"Session\": \"a\" \"State\": \"authenticated\",}\n{\"Session\": \"b\"},]", 0);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].state, "authenticated");
	assert_string_equal(l->v[1].session_id, "b");
	cookie_list_free(l);
}

static void test_bad(void **state)
{
	static const char *bad[] = {
		"",
		"garbage",
		"{\"Session\": \"a\"}", /* not an array */
		"[\"a\"]",
		"[{}]", /* no session id */
		"[{\"Session\": \"a\"}, {\"State\": \"authenticated\"}]",
		"[{\"Session\": 5}]",
		"[{\"Session\": \"(invalid)\"}]",
		"[{\"Session\": \"a\"}",
		"[{\"Session\": \"a\"}] [",
		"[{\"Session\": \"a\", \"Created\": }]",
		"[{\"Session\": \"a\", \"Created\" \"x\"}]",
		"[{\"Session\": \"a\", \"Username\": \"\\u0000\"}]",
		"error connecting to ocserv socket",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(parse(bad[i], ERR_OCCTL_BAD_JSON));
}

/* Every prefix of a captured listing that stops before its closing ']' is
 * an error, and frees what it had read (the ASan build checks). */
static void test_truncated(void **state)
{
	static const char *names[] = {"j-show-sessions-all", "j-show-sessions-valid",
				      "j-show-session-SID"};

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
			char *buf = unit_read_fixture(unit_versions[v], names[f], NULL);
			const char *end = strrchr(buf, ']');
			assert_non_null(end);
			for (size_t cut = 0; cut < (size_t)(end - buf); cut++)
				assert_null(parse_len(buf, cut, ERR_OCCTL_BAD_JSON));
			free(buf);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions_all), cmocka_unit_test(test_sessions_valid),
		cmocka_unit_test(test_session_sid),  cmocka_unit_test(test_resumable),
		cmocka_unit_test(test_values),	     cmocka_unit_test(test_bad),
		cmocka_unit_test(test_truncated),
	};

	/* The fixtures' local times were printed in UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
