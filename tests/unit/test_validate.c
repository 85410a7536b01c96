/* validate.h: user names and session ids from requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

static void ok_name(const char *s)
{
	const char *why = validate_username(s);

	if (why != NULL)
		fail_msg("'%s' refused: %s", s, why);
}

static void bad_name(const char *s)
{
	const char *why = validate_username(s);

	if (why == NULL)
		fail_msg("'%s' accepted", s);
	assert_true(strlen(why) > 0);
}

static void test_username_valid(void **state)
{
	char buf[128];

	(void)state;
	ok_name("alice");
	ok_name("a");
	ok_name("bob.smith@example.org");
	ok_name("John Smith");		     /* spaces are allowed */
	ok_name("a-b_c");		     /* '-' is fine past the first byte */
	ok_name("J\xc3\xbcrgen");	     /* Jürgen */
	ok_name("\xe6\x97\xa5\xe6\x9c\xac"); /* 日本 */
	ok_name("\xf0\x9f\x98\x80");	     /* an emoji */
	ok_name("~!#$%^&*()=+[]{};'\",.<>/?\\|`");
	/* 63 bytes is the limit, counted in bytes. */
	memset(buf, 'x', 63);
	buf[63] = '\0';
	ok_name(buf);
	/* 21 three-byte characters = 63 bytes. */
	buf[0] = '\0';
	for (int i = 0; i < 21; i++)
		strcat(buf, "\xe6\x97\xa5");
	assert_int_equal(strlen(buf), 63);
	ok_name(buf);
}

static void test_username_invalid(void **state)
{
	char buf[128];

	(void)state;
	bad_name("");
	memset(buf, 'x', 64);
	buf[64] = '\0';
	bad_name(buf);
	buf[0] = '\0';
	for (int i = 0; i < 22; i++) /* 66 bytes, 22 characters */
		strcat(buf, "\xe6\x97\xa5");
	bad_name(buf);
	bad_name(" alice");
	bad_name("alice ");
	bad_name("al  ice");
	bad_name(" ");
	bad_name("-alice");
	bad_name("?"); /* occtl's help */
	bad_name("-");
	bad_name("--help");
	bad_name("ali\nce");
	bad_name("alice\n");
	bad_name("\talice");
	bad_name("ali\rce");
	bad_name("a\x01");
	bad_name("a\x1f");
	bad_name("a\x7f");	  /* DEL */
	bad_name("\x1b[31m");	  /* escape sequence */
	bad_name("\xff");	  /* invalid UTF-8 */
	bad_name("J\xfcrgen");	  /* Latin-1 byte */
	bad_name("\xc0\xaf");	  /* overlong */
	bad_name("\xed\xa0\x80"); /* surrogate */
	bad_name("abc\xe6\x97");  /* truncated */
}

static void ok_id(const char *s, int64_t want)
{
	int64_t v = -99;

	if (!validate_session_id_text(s, &v))
		fail_msg("'%s' refused", s);
	assert_int_equal(v, want);
}

static void bad_id(const char *s)
{
	int64_t v = -99;

	if (validate_session_id_text(s, &v))
		fail_msg("'%s' accepted", s);
	assert_int_equal(v, -99); /* untouched */
}

static void test_session_id_text(void **state)
{
	(void)state;
	ok_id("1", 1);
	ok_id("9461", 9461);
	ok_id("2147483647", INT64_C(2147483647));
	ok_id("00012", 12); /* leading zeros: still decimal digits only */
	ok_id("0000000001", 1);
	bad_id("2147483648");
	bad_id("9999999999");
	bad_id("99999999999999999999999");
	bad_id("00000000001"); /* more than 10 digits */
	bad_id("0");
	bad_id("0000");
	bad_id("-1");
	bad_id("+1");
	bad_id("1.5");
	bad_id("1e3");
	bad_id("0x10");
	bad_id("abc");
	bad_id("");
	bad_id(" 1");
	bad_id("1 ");
	bad_id("12a");
}

static void test_session_id_value(void **state)
{
	(void)state;
	assert_true(validate_session_id(1));
	assert_true(validate_session_id(INT64_C(2147483647)));
	assert_false(validate_session_id(INT64_C(2147483648)));
	assert_false(validate_session_id(0));
	assert_false(validate_session_id(-1));
	assert_false(validate_session_id(INT64_MIN));
	assert_false(validate_session_id(INT64_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_username_valid),
		cmocka_unit_test(test_username_invalid),
		cmocka_unit_test(test_session_id_text),
		cmocka_unit_test(test_session_id_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
