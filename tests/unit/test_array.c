/* array.h: growth by doubling, and nothing changed when it cannot grow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "array.h"
#include "err.h"

static void test_grow(void **state)
{
	int *v = NULL;
	size_t cap = 0, n;

	(void)state;
	for (n = 0; n < 100; n++) {
		assert_int_equal(array_grow(&v, &cap, n, sizeof(*v), 4), 0);
		assert_true(cap > n);
		v[n] = (int)n;
	}
	assert_int_equal(cap, 128); /* 4, 8, ..., 128 */
	for (n = 0; n < 100; n++)
		assert_int_equal(v[n], (int)n);
	/* Room left: nothing changes. */
	int *before = v;
	assert_int_equal(array_grow(&v, &cap, 100, sizeof(*v), 4), 0);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 128);
	free(v);
}

static void test_overflow(void **state)
{
	char *v = NULL;
	size_t cap = SIZE_MAX / 2 + 1;

	(void)state;
	/* Doubling would overflow: refused, the array and cap untouched. */
	assert_int_equal(array_grow(&v, &cap, cap, 1, 4), ERR_NOMEM);
	assert_null(v);
	assert_int_equal(cap, SIZE_MAX / 2 + 1);
	cap = 8;
	assert_int_equal(array_grow(&v, &cap, 8, SIZE_MAX / 8, 4), ERR_NOMEM);
	assert_int_equal(cap, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
