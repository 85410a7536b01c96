/* ban.h: occtl's show ip bans and show ip ban points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "ban.h"
#include "err.h"
#include "unit.h"

#define NOW   1795291990
#define SINCE 1795292220 /* "2026-11-21 20:17" in UTC (main() sets TZ) */

static struct ban_list *parse_len(const char *text, size_t len, int64_t now, int want_r)
{
	struct err_info ei = {{0}};
	struct ban_list *l = NULL;
	int r = ban_list_parse_occtl(text, len, now, &l, &ei);

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

static struct ban_list *parse(const char *text, int want_r)
{
	return parse_len(text, strlen(text), NOW, want_r);
}

static struct ban_list *parse_fixture(const char *version, const char *name)
{
	char *buf = unit_read_fixture(version, name, NULL);
	struct ban_list *l;

	assert_non_null(buf);
	l = parse(buf, 0);
	free(buf);
	return l;
}

static void test_bans(void **state)
{
	/* "_Since" of each capture: " 4m:59s", " 4m:58s", " 4m:59s". */
	static const int64_t remaining[] = {299, 298, 299};

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		struct ban_list *l = parse_fixture(unit_versions[v], "j-show-ip-bans");
		assert_int_equal(l->n, 1);
		assert_string_equal(l->v[0].ip, "127.0.0.2");
		assert_int_equal(l->v[0].score, 30);
		assert_int_equal(l->v[0].expires, NOW + remaining[v]);
		ban_list_free(l);
	}
}

static void test_ban_points(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		struct ban_list *l = parse_fixture(unit_versions[v], "j-show-ip-ban-points");
		assert_int_equal(l->n, 2);
		assert_string_equal(l->v[0].ip, "127.0.0.2");
		assert_int_equal(l->v[0].score, 30);
		assert_int_equal(l->v[0].expires, -1);
		assert_string_equal(l->v[1].ip, "127.0.0.3");
		assert_int_equal(l->v[1].score, 10);
		assert_int_equal(l->v[1].expires, -1);
		ban_list_free(l);
	}
}

/* The end: the countdown when occtl has one, else "Since", else unknown. */
static void test_expiry(void **state)
{
	struct ban_list *l;

	(void)state;
	l = parse(
		"[{\"IP\": \"10.0.0.1\", \"Since\": \"2026-11-21 20:17\", \"_Since\": \"?\","
		" \"Score\": 30},"
		" {\"IP\": \"10.0.0.2\", \"Since\": \"2026-11-21 20:17\", \"Score\": 40},"
		" {\"IP\": \"10.0.0.3\", \"_Since\": \" 1h:02m\"},"
		" {\"IP\": \"10.0.0.4\", \"_Since\": \"   ?   \", \"Since\": \"(invalid)\"},"
		" {\"_Since\": \"   12s\", \"IP\": \"::1\", \"Since\": \"2026-11-21 20:17\"},"
		" {\"IP\": \"10.0.0.6\", \"Since\": \"2026-11-21 20:17\", \"_Since\": \"    0s\"}]",
		0);
	assert_int_equal(l->n, 6);
	assert_int_equal(l->v[0].expires, SINCE); /* "?": the end has passed */
	assert_int_equal(l->v[1].expires, SINCE);
	assert_int_equal(l->v[1].score, 40);
	assert_int_equal(l->v[2].expires, NOW + 3720);
	assert_int_equal(l->v[2].score, -1);
	assert_int_equal(l->v[3].expires, -1);
	assert_int_equal(l->v[4].expires, NOW + 12); /* whatever the key order */
	assert_string_equal(l->v[4].ip, "::1");
	assert_int_equal(l->v[5].expires, NOW);
	ban_list_free(l);
	ban_list_free(NULL);
}

static void test_tolerated(void **state)
{
	struct ban_list *l;

	(void)state;
	/* What occtl prints with nothing banned. */
	l = parse("[\n]\n", 0);
	assert_int_equal(l->n, 0);
	assert_null(l->v);
	ban_list_free(l);
	/* Trailing and missing commas, a duplicate key, numbers as text. */
	l = parse("[\n  {\n    \"IP\":  \"a\"\n    \"Score\":  \"7\",\n    \"IP\":  \"b\",\n  "
		  "},\n]\n",
		  0);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0].ip, "b");
	assert_int_equal(l->v[0].score, 7);
	ban_list_free(l);
	/* Wrong types are absent. */
	l = parse("[{\"IP\": \"c\", \"Score\": -30, \"Since\": 5, \"_Since\": [\"4s\"]},"
		  " {\"IP\": \"d\", \"Score\": 1.5, \"Extra\": {\"x\": [null]}}]",
		  0);
	assert_int_equal(l->v[0].score, -1);
	assert_int_equal(l->v[0].expires, -1);
	assert_int_equal(l->v[1].score, -1);
	ban_list_free(l);
}

static void test_bad(void **state)
{
	static const char *bad[] = {
		"",
		"\n",
		"nope",
		"{\"IP\": \"a\"}",
		"[{\"Score\": 30}]", /* no IP */
		"[{\"IP\": 127}]",
		"[{\"IP\": \"(invalid)\"}]",
		"[{\"IP\": \"a\"}, 5]",
		"[{\"IP\": \"a\"},",
		"[{\"IP\": \"a\" ]",
		"[{\"IP\": \"a\"}]]",
		"[{\"IP\": \"a\", \"Score\": 3x}]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(parse(bad[i], ERR_OCCTL_BAD_JSON));
}

/* Every prefix of a captured listing that stops before its closing ']' is
 * an error, and frees what it had read (the ASan build checks). */
static void test_truncated(void **state)
{
	static const char *names[] = {"j-show-ip-bans", "j-show-ip-ban-points"};

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
			char *buf = unit_read_fixture(unit_versions[v], names[f], NULL);
			const char *end = strrchr(buf, ']');
			assert_non_null(end);
			for (size_t cut = 0; cut < (size_t)(end - buf); cut++)
				assert_null(parse_len(buf, cut, NOW, ERR_OCCTL_BAD_JSON));
			free(buf);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bans),   cmocka_unit_test(test_ban_points),
		cmocka_unit_test(test_expiry), cmocka_unit_test(test_tolerated),
		cmocka_unit_test(test_bad),    cmocka_unit_test(test_truncated),
	};

	/* The fixtures' local times were printed in UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
