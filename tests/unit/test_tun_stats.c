/* tun_stats: the RTM_GETSTATS read and the RTM_GETLINK fallback see the same
 * devices with the same counters (read in this order, counters only grow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tun_stats.h"

static void test_lo_found(void **state)
{
	struct tun_stats s = {0};
	struct err_info ei = {0};

	(void)state;
	assert_int_equal(tun_stats_read(&s, &ei), 0);
	assert_true(s.n >= 1);
	assert_non_null(tun_stats_find(&s, "lo"));
	assert_null(tun_stats_find(&s, "no-such-dev0"));
	assert_null(tun_stats_find(&s, ""));
	assert_null(tun_stats_find(&s, NULL));
	tun_stats_free(&s);
	assert_null(s.v);
	assert_int_equal(s.n, 0);
}

static void test_same_as_links(void **state)
{
	struct tun_stats st = {0}, li = {0};
	struct err_info ei = {0};

	(void)state;
	assert_int_equal(tun_stats_read(&st, &ei), 0);
	assert_int_equal(tun_stats_read_links(&li, &ei), 0);
	assert_int_equal(st.n, li.n);
	for (size_t i = 0; i < st.n; i++) {
		const struct tun_stat *l = tun_stats_find(&li, st.v[i].name);
		assert_non_null(l);
		assert_true(l->rx_bytes >= st.v[i].rx_bytes);
		assert_true(l->tx_bytes >= st.v[i].tx_bytes);
	}
	tun_stats_free(&st);
	tun_stats_free(&li);
}

/* Tests and fuzzers build tables by hand: lookups are by name. */
static void test_find_by_name(void **state)
{
	struct tun_stat devs[] = {{"vpns0", 1, 2}, {"vpns1", 3, 4}};
	struct tun_stats s = {devs, 2};

	(void)state;
	assert_ptr_equal(tun_stats_find(&s, "vpns1"), &devs[1]);
	assert_ptr_equal(tun_stats_find(&s, "vpns0"), &devs[0]);
	assert_null(tun_stats_find(&s, "vpns"));
	assert_null(tun_stats_find(NULL, "vpns0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lo_found),
		cmocka_unit_test(test_same_as_links),
		cmocka_unit_test(test_find_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
