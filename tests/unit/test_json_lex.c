/* json_lex.h: the pull lexer behind the occtl session reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_lex.h"

/* Lex text completely; returns the token kinds (one char each) and the last
 * string seen. */
static void lex_all(const char *text, char *kinds, size_t n, char *last, size_t lastn)
{
	static const char code[] = "E{}[]:,sinTFN";
	struct json_lex lx;
	enum json_tok t;
	size_t i = 0;

	json_lex_init(&lx, text, strlen(text));
	do {
		t = json_lex_next(&lx);
		kinds[i++] = t == JT_ERROR ? '!' : t == JT_EOF ? '.' : code[t];
		if (t == JT_STRING)
			snprintf(last, lastn, "%s", lx.str);
	} while (t != JT_EOF && t != JT_ERROR && i + 1 < n);
	kinds[i] = '\0';
	json_lex_free(&lx);
}

static void test_tokens(void **state)
{
	char k[64], s[64] = "";

	(void)state;
	lex_all(" [ {\"a\" : 1, \"b\":-2.5e3 ,\"c\":true,\"d\":false,\"e\":null} ] ", k, sizeof(k),
		s, sizeof(s));
	assert_string_equal(k, "[{s:i,s:n,s:T,s:F,s:N}].");
}

static void test_integer_values(void **state)
{
	struct json_lex lx;

	(void)state;
	json_lex_init(&lx, "9223372036854775807 9223372036854775808 -7 1.0", 46);
	assert_int_equal(json_lex_next(&lx), JT_INTEGER);
	assert_true(lx.num == INT64_MAX);
	assert_int_equal(json_lex_next(&lx), JT_NUMBER); /* out of range */
	assert_int_equal(json_lex_next(&lx), JT_INTEGER);
	assert_int_equal(lx.num, -7);
	assert_int_equal(json_lex_next(&lx), JT_NUMBER);
	assert_int_equal(json_lex_next(&lx), JT_EOF);
	json_lex_free(&lx);
}

static void test_string_escapes(void **state)
{
	char k[16], s[64];

	(void)state;
	lex_all("\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\"", k, sizeof(k), s, sizeof(s));
	assert_string_equal(k, "s.");
	assert_string_equal(s, "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80");
	/* Raw UTF-8 passes through. */
	lex_all("\"J\xc3\xbcrgen\"", k, sizeof(k), s, sizeof(s));
	assert_string_equal(s, "J\xc3\xbcrgen");
}

static void test_bad_input(void **state)
{
	static const char *bad[] = {
		"\"unterminated",
		"\"bad \\x escape\"",
		"\"\\u12\"",
		"\"\\ud800\"",
		"\"\\udc00x\"",
		"\"\\u0000\"",
		"\"tab\there\"",
		"\"\xff\xfe\"",
		"\"\xc0\xaf\"",
		"tru",
		"nul",
		"-",
		"@",
		"\"\\",
	};
	char k[16], s[16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lex_all(bad[i], k, sizeof(k), s, sizeof(s));
		if (strchr(k, '!') == NULL)
			fail_msg("accepted: %s (%s)", bad[i], k);
	}
}

static void test_nul_byte_in_input(void **state)
{
	static const char text[] = {'1', '\0', '2'};
	struct json_lex lx;

	(void)state;
	json_lex_init(&lx, text, sizeof(text));
	assert_int_equal(json_lex_next(&lx), JT_INTEGER);
	assert_int_equal(lx.num, 1);
	assert_int_equal(json_lex_next(&lx), JT_ERROR);
	json_lex_free(&lx);
}

static void test_skip(void **state)
{
	static const char text[] = "{\"a\":[1,{\"b\":[[]]},\"x\"]} 5";
	struct json_lex lx;

	(void)state;
	json_lex_init(&lx, text, strlen(text));
	assert_true(json_lex_skip(&lx, json_lex_next(&lx)));
	assert_int_equal(json_lex_next(&lx), JT_INTEGER);
	assert_int_equal(lx.num, 5);
	json_lex_free(&lx);

	json_lex_init(&lx, "[[[1]]", 6); /* unbalanced */
	assert_false(json_lex_skip(&lx, json_lex_next(&lx)));
	json_lex_free(&lx);
}

static void test_skip_depth_limit(void **state)
{
	char deep[200];
	struct json_lex lx;

	(void)state;
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	json_lex_init(&lx, deep, sizeof(deep));
	assert_false(json_lex_skip(&lx, json_lex_next(&lx)));
	json_lex_free(&lx);
}

/* 64 levels are fine, 65 are refused (SKIP_MAX_DEPTH). */
static void test_skip_depth_boundary(void **state)
{
	char deep[2 * 65];
	struct json_lex lx;

	(void)state;
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	json_lex_init(&lx, deep, 128);
	assert_true(json_lex_skip(&lx, json_lex_next(&lx)));
	assert_int_equal(json_lex_next(&lx), JT_EOF);
	json_lex_free(&lx);
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	json_lex_init(&lx, deep, 130);
	assert_false(json_lex_skip(&lx, json_lex_next(&lx)));
	json_lex_free(&lx);
}

/* "Returns false on ... bad nesting": a bracket closed by the other kind is
 * bad nesting, not a complete value. */
static void test_skip_mismatched_brackets(void **state)
{
	static const char *bad[] = {"[}", "{]", "{\"a\": [1}]", "[{]}", "{\"a\": {\"b\": [}}]}"};
	struct json_lex lx;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_lex_init(&lx, bad[i], strlen(bad[i]));
		bool skipped = json_lex_skip(&lx, json_lex_next(&lx));
		json_lex_free(&lx);
		if (skipped)
			fail_msg("'%s' skipped as a complete value", bad[i]);
	}
}

/* Strings longer than the initial buffer, and many escapes in a row. */
static void test_long_strings(void **state)
{
	enum { N = 3000 };
	char *text = malloc(6 * N + 3), *p = text;
	struct json_lex lx;

	(void)state;
	assert_non_null(text);
	*p++ = '"';
	for (int i = 0; i < N; i++, p += 6)
		memcpy(p, i % 2 ? "\\u65e5" : "xxxxxx", 6);
	*p++ = '"';
	json_lex_init(&lx, text, (size_t)(p - text));
	assert_int_equal(json_lex_next(&lx), JT_STRING);
	assert_int_equal(lx.str_len, (N / 2) * 6 + (N / 2) * 3);
	assert_int_equal(strlen(lx.str), lx.str_len);
	assert_memory_equal(lx.str, "xxxxxx\xe6\x97\xa5", 9);
	assert_int_equal(json_lex_next(&lx), JT_EOF);
	json_lex_free(&lx);
	free(text);
}

static void test_offset_and_bounds(void **state)
{
	const char *text = "[  \"ab\" , 12]]]";
	struct json_lex lx;

	(void)state;
	json_lex_init(&lx, text, 13); /* only len bytes are read */
	assert_int_equal(json_lex_offset(&lx, text), 0);
	assert_int_equal(json_lex_next(&lx), JT_BEGIN_ARRAY);
	assert_int_equal(json_lex_offset(&lx, text), 1);
	assert_int_equal(json_lex_next(&lx), JT_STRING);
	assert_int_equal(json_lex_offset(&lx, text), 7);
	assert_int_equal(json_lex_next(&lx), JT_COMMA);
	assert_int_equal(json_lex_next(&lx), JT_INTEGER);
	assert_int_equal(json_lex_next(&lx), JT_END_ARRAY);
	assert_int_equal(json_lex_offset(&lx, text), 13);
	assert_int_equal(json_lex_next(&lx), JT_EOF);
	assert_int_equal(json_lex_next(&lx), JT_EOF);
	json_lex_free(&lx);
	json_lex_free(&lx); /* twice is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_integer_values),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_nul_byte_in_input),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_skip_depth_limit),
		cmocka_unit_test(test_skip_depth_boundary),
		cmocka_unit_test(test_skip_mismatched_brackets),
		cmocka_unit_test(test_long_strings),
		cmocka_unit_test(test_offset_and_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
