/* occtl_json.h: tolerant parsing of occtl -j output, UTF-8 recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "occtl_json.h"
#include "unit.h"

static json_t *load_fixture(const char *version, const char *name, char *err, size_t errlen)
{
	size_t len;
	char *buf = unit_read_fixture(version, name, &len);
	json_t *j;

	if (buf == NULL)
		fail_msg("cannot read fixture %s/%s", version, name);
	err[0] = '\0';
	j = occtl_json_load(buf, len, err, errlen);
	free(buf);
	return j;
}

static json_t *load_str(const char *s, char *err, size_t errlen)
{
	err[0] = '\0';
	return occtl_json_load(s, strlen(s), err, errlen);
}

/* Every JSON fixture that occtl can print parses, whichever version printed it. */
static void test_all_fixtures_parse(void **state)
{
	static const struct {
		const char *name;
		json_type type;
		size_t size; /* array size; 0 for objects */
	} files[] = {
		{"j-show-users", JSON_ARRAY, 3},	   {"j-show-user-bob", JSON_ARRAY, 2},
		{"j-show-user-nosuchuser", JSON_ARRAY, 0}, {"j-show-id-ID", JSON_ARRAY, 1},
		{"j-show-id-999999", JSON_ARRAY, 0},	   {"j-show-status", JSON_OBJECT, 0},
		{"j-show-sessions-all", JSON_ARRAY, 7},	  /* invalid for json.loads ≤1.3.0 */
		{"j-show-sessions-valid", JSON_ARRAY, 3}, /* idem */
		{"j-show-session-SID", JSON_ARRAY, 1},	  /* idem */
		{"j-show-ip-bans", JSON_ARRAY, 1},	  /* idem */
		{"j-show-ip-ban-points", JSON_ARRAY, 2},
	};
	char err[256];

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			json_t *j = load_fixture(unit_versions[v], files[i].name, err, sizeof(err));
			if (j == NULL)
				fail_msg("%s/%s: %s", unit_versions[v], files[i].name, err);
			assert_int_equal(json_typeof(j), files[i].type);
			if (files[i].type == JSON_ARRAY)
				assert_int_equal(json_array_size(j), files[i].size);
			json_decref(j);
		}
	}
}

/* The trailing-comma files keep every member after the commas are dropped. */
static void test_trailing_comma_fixtures_content(void **state)
{
	static const char *sid[] = {"LpurJh", "zyH2sy", "xHWC9s"};
	char err[256];

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		json_t *j = load_fixture(unit_versions[v], "j-show-session-SID", err, sizeof(err));
		json_t *o = json_array_get(j, 0);
		assert_string_equal(json_string_value(json_object_get(o, "Session")), sid[v]);
		assert_string_equal(json_string_value(json_object_get(o, "Username")), "alice");
		assert_int_equal(json_integer_value(json_object_get(o, "in_use")), 1);
		json_decref(j);

		j = load_fixture(unit_versions[v], "j-show-ip-bans", err, sizeof(err));
		o = json_array_get(j, 0);
		assert_string_equal(json_string_value(json_object_get(o, "IP")), "127.0.0.2");
		assert_int_equal(json_integer_value(json_object_get(o, "Score")), 30);
		json_decref(j);

		j = load_fixture(unit_versions[v], "j-show-sessions-all", err, sizeof(err));
		size_t failed = 0, authenticated = 0;
		for (size_t i = 0; i < json_array_size(j); i++) {
			const char *st =
				json_string_value(json_object_get(json_array_get(j, i), "State"));
			assert_non_null(st);
			failed += strcmp(st, "auth failed") == 0;
			authenticated += strcmp(st, "authenticated") == 0;
			/* The last member before the dropped comma survived. */
			assert_non_null(json_object_get(json_array_get(j, i), "in_use"));
		}
		assert_int_equal(authenticated, 3);
		assert_true(failed >= 1);
		json_decref(j);
	}
}

/* show iroutes: 1.1.6 and 1.3.0 print one object around all users with no
 * separator between them ("IP": "..." directly followed by "ID": ...): that
 * is not JSON even with trailing commas removed, so the parser must refuse it
 * with a reason rather than guess. 1.5.0 prints a proper array. */
static void test_iroutes(void **state)
{
	char err[256];
	json_t *j;

	(void)state;
	for (size_t v = 0; v < 2; v++) {
		j = load_fixture(unit_versions[v], "j-show-iroutes", err, sizeof(err));
		assert_null(j);
		assert_non_null(strstr(err, "line"));
	}
	j = load_fixture("1.5.0", "j-show-iroutes", err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 3);
	json_t *alice = json_array_get(j, 2);
	assert_string_equal(json_string_value(json_object_get(alice, "Username")), "alice");
	assert_string_equal(json_string_value(json_array_get(json_object_get(alice, "iRoutes"), 0)),
			    "192.168.200.0/255.255.255.0");
	json_decref(j);
}

static void test_duplicate_key_last_wins(void **state)
{
	char err[256];
	json_t *j;

	(void)state;
	j = load_str("{\"Routes\": [], \"Routes\": \"defaultroute\"}", err, sizeof(err));
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "Routes")), "defaultroute");
	json_decref(j);

	/* The same in alice's real entry, every version. */
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		j = load_fixture(unit_versions[v], "j-show-id-ID", err, sizeof(err));
		json_t *r = json_object_get(json_array_get(j, 0), "Routes");
		assert_true(json_is_string(r));
		assert_string_equal(json_string_value(r), "defaultroute");
		json_decref(j);
	}
}

static void test_commas_in_strings(void **state)
{
	char err[256];
	json_t *j;

	(void)state;
	j = load_str("{\"a\": \"x,}\", \"b\": [\",]\", \", ]\" ,], \"c\": \"q\\\",}\",}", err,
		     sizeof(err));
	if (j == NULL)
		fail_msg("%s", err);
	assert_string_equal(json_string_value(json_object_get(j, "a")), "x,}");
	assert_int_equal(json_array_size(json_object_get(j, "b")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "b"), 0)), ",]");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "b"), 1)), ", ]");
	assert_string_equal(json_string_value(json_object_get(j, "c")), "q\",}");
	json_decref(j);

	/* A backslash at the end of a string does not hide its closing quote. */
	j = load_str("[\"a\\\\\", \"b,\" ,\n\t]", err, sizeof(err));
	assert_non_null(j);
	assert_string_equal(json_string_value(json_array_get(j, 0)), "a\\");
	assert_string_equal(json_string_value(json_array_get(j, 1)), "b,");
	json_decref(j);

	/* Trailing commas with any whitespace, CRLF included. */
	j = load_str("[{\"x\": 1,\r\n  },\r\n\r\n]", err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "x")), 1);
	json_decref(j);

	/* Only the buffer's len bytes are read. */
	const char *buf = "[1,2]garbage";
	j = occtl_json_load(buf, 5, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 2);
	json_decref(j);
}

static void test_garbage(void **state)
{
	static const char *bad[] = {"",
				    "not json",
				    "[1, 2",
				    "{\"a\": }",
				    "[1,,]",
				    "error connecting to ocserv socket",
				    "{\"a\": 1} {\"b\": 2}",
				    "[\"unterminated]"};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = load_str(bad[i], err, sizeof(err));
		if (j != NULL)
			fail_msg("'%s' parsed", bad[i]);
		assert_true(strlen(err) > 0);
		assert_non_null(strstr(err, "line"));
	}
}

/* occtl prints each byte >= 0x80 as \u00XX; jansson turns that into
 * U+0080..U+00FF code points. */
static void test_recover_utf8(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"\xc3\x83\xc2\xa9", "\xc3\xa9"},	    /* "Ã©" -> "é" */
		{"J\xc3\x83\xc2\xbcrgen", "J\xc3\xbcrgen"}, /* Jürgen */
		{"\xc3\xa6\xc2\x97\xc2\xa5\xc3\xa6\xc2\x9c\xc2\xac", "\xe6\x97\xa5\xe6\x9c\xac"},
		{"\xc3\xb0\xc2\x9f\xc2\x98\xc2\x80", "\xf0\x9f\x98\x80"}, /* U+1F600 */
		{"alice", "alice"},
		{"", ""},
		{"\xc3\xa9", "\xc3\xa9"},				  /* a genuine é stays */
		{"\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"}, /* 日本 stays */
		{"caf\xc3\xa9 \xe6\x97\xa5", "caf\xc3\xa9 \xe6\x97\xa5"},
		/* Latin-1 text whose bytes are not UTF-8 ("été" as E9 74 E9) stays. */
		{"\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
		/* Mixed: a recoverable pair next to a code point > U+00FF stays as is. */
		{"\xc3\x83\xc2\xa9\xe6\x97\xa5", "\xc3\x83\xc2\xa9\xe6\x97\xa5"},
		/* Not valid UTF-8 to begin with: returned unchanged. */
		{"\xff\xfe", "\xff\xfe"},
		/* Bytes that would decode to an overlong or a surrogate are refused. */
		{"\xc3\x80\xc2\xaf", "\xc3\x80\xc2\xaf"},		  /* C0 AF */
		{"\xc3\xad\xc2\xa0\xc2\x80", "\xc3\xad\xc2\xa0\xc2\x80"}, /* ED A0 80 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = occtl_json_recover_utf8(cases[i].in);
		assert_non_null(r);
		if (strcmp(r, cases[i].out) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, r, cases[i].out);
		assert_ptr_not_equal(r, cases[i].in);
		free(r);
	}
}

/* End to end: occtl's escaped bytes, through the parser, back to UTF-8. */
static void test_recover_after_parse(void **state)
{
	char err[256];
	json_t *j = load_str("[\"\\u00c3\\u00a9\", \"\\u00e6\\u0097\\u00a5\\u00e6\\u009c\\u00ac\"]",
			     err, sizeof(err));
	char *a, *b;

	(void)state;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_array_get(j, 0)), "\xc3\x83\xc2\xa9");
	a = occtl_json_recover_utf8(json_string_value(json_array_get(j, 0)));
	b = occtl_json_recover_utf8(json_string_value(json_array_get(j, 1)));
	assert_string_equal(a, "\xc3\xa9");
	assert_string_equal(b, "\xe6\x97\xa5\xe6\x9c\xac");
	free(a);
	free(b);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_fixtures_parse),
		cmocka_unit_test(test_trailing_comma_fixtures_content),
		cmocka_unit_test(test_iroutes),
		cmocka_unit_test(test_duplicate_key_last_wins),
		cmocka_unit_test(test_commas_in_strings),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_recover_utf8),
		cmocka_unit_test(test_recover_after_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
