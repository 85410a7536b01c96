/* auth.h: constant-time token comparison and the Authorization header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

#define CUR  "c0ffee-current-token"
#define PREV "old-previous-token"

static bool eq(const char *presented, const char *expected)
{
	return auth_token_equal(presented, strlen(presented), expected);
}

static void test_token_equal(void **state)
{
	(void)state;
	assert_true(eq(CUR, CUR));
	assert_false(eq("c0ffee-current-tokeN", CUR));
	assert_false(eq("X0ffee-current-token", CUR));
	assert_false(eq("c0ffee-current-toke", CUR));	/* prefix */
	assert_false(eq("c0ffee-current-token!", CUR)); /* one extra char */
	assert_false(eq("", CUR));
	assert_false(eq(CUR, "")); /* an empty expected token never matches */
	assert_false(eq("", ""));
	/* Only presented_len bytes count: the rest of the buffer is not the token. */
	assert_true(auth_token_equal(CUR "garbage", strlen(CUR), CUR));
	assert_false(auth_token_equal(CUR, strlen(CUR) - 1, CUR));
	/* A NUL inside the presented bytes is a difference, not a terminator. */
	assert_false(auth_token_equal("ab\0", 3, "ab"));
	assert_false(auth_token_equal("a\0c", 3, "abc"));
}

static void test_check_accepts(void **state)
{
	(void)state;
	assert_true(auth_check("Bearer " CUR, CUR, PREV));
	assert_true(auth_check("Bearer " PREV, CUR, PREV));
	assert_true(auth_check("Bearer " CUR, CUR, NULL));
	/* The scheme is case-insensitive. */
	assert_true(auth_check("bearer " CUR, CUR, PREV));
	assert_true(auth_check("BEARER " CUR, CUR, PREV));
	assert_true(auth_check("BeArEr " PREV, CUR, PREV));
	/* Extra spaces around the token are tolerated. */
	assert_true(auth_check("Bearer    " CUR, CUR, PREV));
	assert_true(auth_check("Bearer " CUR "   ", CUR, PREV));
	assert_true(auth_check("Bearer " CUR " \t", CUR, PREV));
}

static void test_check_rejects(void **state)
{
	(void)state;
	assert_false(auth_check(NULL, CUR, PREV));
	assert_false(auth_check("", CUR, PREV));
	assert_false(auth_check("Bearer", CUR, PREV));
	assert_false(auth_check("Bearer ", CUR, PREV));
	assert_false(auth_check("Bearer     ", CUR, PREV));
	assert_false(auth_check("Bearer wrong", CUR, PREV));
	assert_false(auth_check("Bearer c0ffee-current-toke", CUR, PREV));   /* prefix */
	assert_false(auth_check("Bearer c0ffee-current-tokenX", CUR, PREV)); /* extra char */
	assert_false(auth_check("Bearer old-previous-toke", CUR, PREV));
	assert_false(auth_check("Bearer " CUR, "other", NULL));
	assert_false(auth_check("Bearer " PREV, CUR, NULL)); /* no previous configured */
	assert_false(auth_check("Basic " CUR, CUR, PREV));
	assert_false(auth_check("Basic x", CUR, PREV));
	assert_false(auth_check("Token " CUR, CUR, PREV));
	assert_false(auth_check(CUR, CUR, PREV));	     /* no scheme */
	assert_false(auth_check("Bearer" CUR, CUR, PREV));   /* no separator */
	assert_false(auth_check(" Bearer " CUR, CUR, PREV)); /* leading space */
	assert_false(auth_check("Bearer " CUR " " PREV, CUR, PREV));
	assert_false(auth_check("Bearer " CUR "\n", CUR, PREV));
	/* An empty configured token must never authenticate anything. */
	assert_false(auth_check("Bearer x", "", NULL));
	assert_false(auth_check("Bearer x", "y", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_equal),
		cmocka_unit_test(test_check_accepts),
		cmocka_unit_test(test_check_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
