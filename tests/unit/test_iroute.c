/* iroute.h: occtl's show iroutes, an invalid object ≤1.3.0, an array after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "iroute.h"
#include "unit.h"

#define IROUTE_ALICE "192.168.200.0/255.255.255.0"

/* Session IDs of each capture, in occtl's order: bob (vpns2), bob (vpns1),
 * alice (vpns0). */
static const int64_t ids[UNIT_N_VERSIONS][3] = {
	{9485, 9474, 9461},
	{9762, 9751, 9738},
	{10046, 10035, 10022},
};

static struct iroute_list *parse_len(const char *text, size_t len, int want_r)
{
	struct err_info ei = {{0}};
	struct iroute_list *l = NULL;
	int r = iroute_list_parse_occtl(text, len, &l, &ei);

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

static struct iroute_list *parse(const char *text, int want_r)
{
	return parse_len(text, strlen(text), want_r);
}

static void check(const struct iroute *r, int64_t id, const char *user, const char *dev,
		  const char *ip, const char *iroute)
{
	assert_int_equal(r->id, id);
	assert_string_equal(r->username, user);
	assert_string_equal(r->vhost, "default");
	assert_string_equal(r->device, dev);
	assert_string_equal(r->ip, ip);
	assert_int_equal(r->iroutes.n, iroute ? 1 : 0);
	if (iroute)
		assert_string_equal(r->iroutes.v[0], iroute);
}

static void test_fixtures(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		char *buf = unit_read_fixture(unit_versions[v], "j-show-iroutes", NULL);
		struct iroute_list *l = parse(buf, 0);
		assert_int_equal(l->n, 3);
		check(&l->v[0], ids[v][0], "bob", "vpns2", "192.168.99.134", NULL);
		check(&l->v[1], ids[v][1], "bob", "vpns1", "192.168.99.106", NULL);
		check(&l->v[2], ids[v][2], "alice", "vpns0", "192.168.99.50", IROUTE_ALICE);
		iroute_list_free(l);
		free(buf);
	}
}

/* Nobody connected: "{ }" up to 1.3.0, "[ ]" after. */
static void test_empty(void **state)
{
	static const char *empty[] = {"  {\n  }\n", "[\n]\n", "{}", "[]"};

	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		struct iroute_list *l = parse(empty[i], 0);
		assert_int_equal(l->n, 0);
		assert_null(l->v);
		iroute_list_free(l);
	}
	iroute_list_free(NULL);
}

/* The ≤1.3.0 object: a new entry at each further "ID", whatever else
 * repeats or is missing between them. */
static void test_run_together(void **state)
{
	struct iroute_list *l;

	(void)state;
	l = parse(
		"  {\n    \"ID\":  1,\n    \"Username\":  \"(none)\",\n    \"IP\":  \"10.0.0.1\",\n"
		"    \"iRoutes\":\t[\"10.1.0.0/16\", \"10.2.0.0/16\"],\n"
		"    \"IP\":  \"10.0.0.1\"\n    \"ID\":  2\n    \"ID\":  3,\n"
		"    \"Username\":  \"J\\u00c3\\u00bcrgen\",\n    \"iRoutes\":\t\"10.3.0.0/16\"\n  "
		"}\n",
		0);
	assert_int_equal(l->n, 3);
	assert_int_equal(l->v[0].id, 1);
	assert_null(l->v[0].username); /* "(none)" */
	assert_string_equal(l->v[0].ip, "10.0.0.1");
	assert_int_equal(l->v[0].iroutes.n, 2);
	assert_string_equal(l->v[0].iroutes.v[1], "10.2.0.0/16");
	assert_int_equal(l->v[1].id, 2);
	assert_null(l->v[1].ip);
	assert_int_equal(l->v[1].iroutes.n, 0);
	assert_int_equal(l->v[2].id, 3);
	assert_string_equal(l->v[2].username, "J\xc3\xbcrgen");
	assert_int_equal(l->v[2].iroutes.n, 1);
	iroute_list_free(l);

	/* Keys before the first "ID" belong to the first entry. */
	l = parse("{\"Username\": \"a\", \"ID\": 4, \"ID\": 5, \"Username\": \"b\"}", 0);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[0].username, "a");
	assert_int_equal(l->v[0].id, 4);
	assert_string_equal(l->v[1].username, "b");
	iroute_list_free(l);

	/* In the array form too (which 1.4.0 on never needs). */
	l = parse("[{\"ID\": 6, \"ID\": 7}, {\"ID\": \"8\", \"Device\": \"vpns8\",}\n,]", 0);
	assert_int_equal(l->n, 3);
	assert_int_equal(l->v[1].id, 7);
	assert_int_equal(l->v[2].id, 8);
	assert_string_equal(l->v[2].device, "vpns8");
	iroute_list_free(l);
}

static void test_bad(void **state)
{
	static const char *bad[] = {
		"",
		"   ",
		"junk",
		"{\"Username\": \"a\"}",  /* no ID */
		"{\"ID\": 1, \"ID\": 0}", /* second entry without a usable ID */
		"{\"ID\": 1, \"ID\": \"x\"}",
		"[{}]", /* an empty entry in an array */
		"[{\"ID\": 1}, {\"Username\": \"a\"}]",
		"{\"ID\": 1} {\"ID\": 2}", /* two objects */
		"[{\"ID\": 1}] {}",
		"{\"ID\": 1,",
		"{\"ID\": 1, \"iRoutes\": [\"a\"",
		"{\"ID\": 1, \"IP\" \"a\"}",
		"{[\"ID\", 1]}",
		"\"ID\"",
		"[[]]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(parse(bad[i], ERR_OCCTL_BAD_JSON));
}

/* Every prefix of a capture that stops before its last '}' or ']' is an
 * error, and frees what it had read (the ASan build checks). */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		char *buf = unit_read_fixture(unit_versions[v], "j-show-iroutes", NULL);
		const char *end = strrchr(buf, buf[strspn(buf, " \n")] == '[' ? ']' : '}');
		assert_non_null(end);
		for (size_t cut = 0; cut < (size_t)(end - buf); cut++)
			assert_null(parse_len(buf, cut, ERR_OCCTL_BAD_JSON));
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),     cmocka_unit_test(test_empty),
		cmocka_unit_test(test_run_together), cmocka_unit_test(test_bad),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
