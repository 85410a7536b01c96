/* uri.h: percent-decoding of path parameters and query arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "uri.h"

/* Decode a copy of in; check the result text and the returned length. */
static void check(const char *in, const char *want, size_t want_len)
{
	char buf[256];
	size_t n;

	assert_true(strlen(in) < sizeof(buf));
	strcpy(buf, in);
	n = uri_pct_decode(buf);
	if (n != want_len || memcmp(buf, want, want_len) != 0 || buf[n] != '\0')
		fail_msg("'%s': got '%.*s' (%zu), want '%s' (%zu)", in, (int)n, buf, n, want,
			 want_len);
}

#define CHECK(in, want) check(in, want, strlen(want))

static void test_plain(void **state)
{
	(void)state;
	CHECK("", "");
	CHECK("alice", "alice");
	CHECK("a.b-c_d~e", "a.b-c_d~e");
	/* '+' is a space only in forms, never in a path. */
	CHECK("a+b", "a+b");
	CHECK("+", "+");
}

static void test_escapes(void **state)
{
	(void)state;
	CHECK("%2F", "/");
	CHECK("%2B", "+");
	CHECK("%2f", "/");
	CHECK("%2b", "+");
	CHECK("%3a%3A", "::");
	CHECK("al%69ce", "alice");
	CHECK("abc%2Fdef+%2B", "abc/def++");
	CHECK("%41%42%43", "ABC");
	CHECK("%25", "%");
	CHECK("%2541", "%41"); /* decoded once, not twice */
	CHECK("%C3%BC", "\xc3\xbc");
	CHECK("%ff%FE", "\xff\xfe");
	CHECK("%20x%20", " x ");
	CHECK("%0A", "\n");
}

static void test_bad_sequences_kept(void **state)
{
	(void)state;
	CHECK("%G1", "%G1");
	CHECK("%1G", "%1G");
	CHECK("%4", "%4");
	CHECK("a%4", "a%4");
	CHECK("%", "%");
	CHECK("abc%", "abc%");
	CHECK("%%", "%%");
	CHECK("%%41", "%A");
	CHECK("%-1", "%-1");
	CHECK("% 1", "% 1");
	CHECK("%x", "%x");
	/* A bad sequence does not stop the decoding of what follows. */
	CHECK("%zz%2F", "%zz/");
}

static void test_nul(void **state)
{
	char buf[16];

	(void)state;
	/* %00 decodes to a NUL: the returned length tells, strlen() is shorter. */
	strcpy(buf, "%00x");
	assert_int_equal(uri_pct_decode(buf), 2);
	assert_int_equal(strlen(buf), 0);
	assert_int_equal(buf[1], 'x');
	assert_int_equal(buf[2], '\0');

	strcpy(buf, "a%00b");
	assert_int_equal(uri_pct_decode(buf), 3);
	assert_int_equal(strlen(buf), 1);
	assert_memory_equal(buf, "a\0b", 4);

	strcpy(buf, "ab%00");
	assert_int_equal(uri_pct_decode(buf), 3);
	assert_int_equal(strlen(buf), 2);
}

static void test_long(void **state)
{
	char buf[3 * 200 + 1], want[201];

	(void)state;
	for (size_t i = 0; i < 200; i++) {
		memcpy(buf + 3 * i, "%7A", 3);
		want[i] = 'z';
	}
	buf[600] = '\0';
	want[200] = '\0';
	assert_int_equal(uri_pct_decode(buf), 200);
	assert_string_equal(buf, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_bad_sequences_kept),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
