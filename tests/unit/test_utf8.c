/* utf8.h: validation and sanitising of text that crosses a trust boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static int valid(const char *s)
{
	return utf8_valid((const unsigned char *)s, strlen(s));
}

static void test_utf8_valid(void **state)
{
	static const char *good[] = {
		"",
		"ascii",
		"\xc3\xa9",
		"\xe6\x97\xa5\xe6\x9c\xac",
		"\xf0\x9f\x98\x80",
		"\xc2\x80",	    /* U+0080, smallest 2-byte */
		"\xdf\xbf",	    /* U+07FF */
		"\xe0\xa0\x80",	    /* U+0800, smallest 3-byte */
		"\xed\x9f\xbf",	    /* U+D7FF, just below the surrogates */
		"\xee\x80\x80",	    /* U+E000, just above */
		"\xef\xbf\xbf",	    /* U+FFFF */
		"\xf0\x90\x80\x80", /* U+10000 */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF */
	};
	static const char *bad[] = {
		"\x80", /* lone continuation */
		"\xbf",
		"\xc0\xaf",	    /* overlong '/' */
		"\xc1\xbf",	    /* overlong */
		"\xe0\x80\xaf",	    /* overlong 3-byte */
		"\xe0\x9f\xbf",	    /* overlong U+07FF */
		"\xf0\x80\x80\xaf", /* overlong 4-byte */
		"\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
		"\xed\xa0\x80",	    /* U+D800 surrogate */
		"\xed\xbf\xbf",	    /* U+DFFF surrogate */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf5\x80\x80\x80",
		"\xf8\x88\x80\x80\x80", /* 5-byte form */
		"\xfe",
		"\xff",
		"\xc3",		/* truncated */
		"\xe6\x97",	/* truncated */
		"\xf0\x9f\x98", /* truncated */
		"a\xc3",	/* truncated at the end */
		"\xc3\x28",	/* bad continuation */
		"\xe6\x28\xa5",
		"\xc3\xa9\x80", /* valid then a stray continuation */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!valid(good[i]))
			fail_msg("good[%zu] rejected", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (valid(bad[i]))
			fail_msg("bad[%zu] accepted", i);
	/* len is honoured: a NUL is valid UTF-8, and bytes past len are not read. */
	assert_true(utf8_valid((const unsigned char *)"a\0b", 3));
	assert_true(utf8_valid((const unsigned char *)"ab\xff", 2));
	assert_false(utf8_valid((const unsigned char *)"\xe6\x97\xa5", 2));
}

static void test_sanitize(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"", ""},
		{"plain", "plain"},
		{"caf\xc3\xa9", "caf\xc3\xa9"},		  /* valid stays */
		{"caf\xe9", "caf\xef\xbf\xbd"},		  /* Latin-1 byte */
		{"\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd"}, /* one U+FFFD per bad byte */
		{"a\xc3", "a\xef\xbf\xbd"},		  /* truncated */
		{"\xed\xa0\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"}, /* surrogate */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *o = utf8_sanitize(cases[i].in);
		assert_non_null(o);
		assert_string_equal(o, cases[i].out);
		assert_true(valid(o));
		free(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_sanitize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
