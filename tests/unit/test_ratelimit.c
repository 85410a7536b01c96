/* ratelimit.h: failed authentications per client address, with an injected
 * clock (every call takes now_ms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

static struct ratelimit_stats stats(struct ratelimit *rl)
{
	struct ratelimit_stats st;

	ratelimit_stats(rl, &st);
	return st;
}

static void test_limit_and_window(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 10000);

	(void)state;
	assert_non_null(rl);
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 1000), 0);
	ratelimit_fail(rl, "10.0.0.1", 1000); /* the window: 1000 .. 11000 */
	ratelimit_fail(rl, "10.0.0.1", 1500);
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 2000), 0);
	ratelimit_fail(rl, "10.0.0.1", 2000);
	/* Refused until the window of the first failure ends, rounded up. */
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 2000), 9);
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 2001), 9);
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 9999), 2);
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 10000), 1);
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 10999), 1);
	assert_int_equal(stats(rl).refused, 5);
	assert_int_equal(stats(rl).failures, 3);
	assert_int_equal(stats(rl).tracked, 1);
	/* Other addresses are not affected. */
	assert_int_equal(ratelimit_check(rl, "10.0.0.2", 5000), 0);
	/* The window is over: allowed again, and forgotten. */
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 11000), 0);
	assert_int_equal(stats(rl).tracked, 0);
	assert_int_equal(stats(rl).refused, 5);
	/* A new window starts with the next failure. */
	ratelimit_fail(rl, "10.0.0.1", 12000);
	ratelimit_fail(rl, "10.0.0.1", 12000);
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 12000), 0);
	ratelimit_fail(rl, "10.0.0.1", 21999);
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 21999), 1);
	ratelimit_free(rl);
}

/* Failures further apart than the window never add up. */
static void test_slow_guesser(void **state)
{
	struct ratelimit *rl = ratelimit_new(2, 1000);

	(void)state;
	for (int64_t t = 0; t < 100000; t += 1000) {
		ratelimit_fail(rl, "192.0.2.7", t);
		assert_int_equal(ratelimit_check(rl, "192.0.2.7", t + 999), 0);
	}
	assert_int_equal(stats(rl).failures, 100);
	assert_int_equal(stats(rl).refused, 0);
	ratelimit_free(rl);
}

/* Which texts are one address. */
static void test_address_keys(void **state)
{
	static const char *const same[][2] = {
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"}, /* one /64 */
		{"2001:DB8:1:2::1", "2001:db8:1:2::"},
		{"::ffff:10.1.2.3", "10.1.2.3"}, /* IPv4 on a dual-stack socket */
		{"fe80::1%eth0", "fe80::2%eth1"},
		{"", "not an address"}, /* unknown: limited together */
		{"10.1.2.3%x", "10.1.2.3"},
	};
	static const char *const differ[][2] = {
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"10.1.2.3", "10.1.2.4"},
		{"::ffff:10.1.2.3", "::ffff:10.1.2.4"}, /* mapped IPv4: not per /64 */
		{"", "::1"},
		{"::", "0.0.0.0"},
		{"", "::"},
		{"", "::ffff:255.255.255.255"},
		{"10.1.2.3", "::a01:203"}, /* IPv4-compatible is IPv6 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		struct ratelimit *rl = ratelimit_new(1, 60000);

		ratelimit_fail(rl, same[i][0], 0);
		if (ratelimit_check(rl, same[i][1], 0) == 0)
			fail_msg("'%s' and '%s' should count as one", same[i][0], same[i][1]);
		assert_int_equal(stats(rl).tracked, 1);
		ratelimit_free(rl);
	}
	for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		struct ratelimit *rl = ratelimit_new(1, 60000);

		ratelimit_fail(rl, differ[i][0], 0);
		if (ratelimit_check(rl, differ[i][1], 0) != 0)
			fail_msg("'%s' and '%s' should count apart", differ[i][0], differ[i][1]);
		assert_int_equal(ratelimit_check(rl, differ[i][0], 0), 60);
		ratelimit_free(rl);
	}
}

static void addr_of(unsigned i, char *buf, size_t len)
{
	if (i % 2)
		snprintf(buf, len, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
	else
		snprintf(buf, len, "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
}

/* A full table drops the entry whose window ends first, and no other. */
static void test_eviction(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1000000);
	char a[64];

	(void)state;
	for (unsigned i = 0; i < RATELIMIT_MAX_ADDRS; i++) {
		addr_of(i, a, sizeof(a));
		ratelimit_fail(rl, a, 1000 + i);
	}
	assert_int_equal(stats(rl).tracked, RATELIMIT_MAX_ADDRS);
	assert_int_equal(stats(rl).evicted, 0);
	ratelimit_fail(rl, "192.0.2.1", 50000);
	ratelimit_fail(rl, "192.0.2.2", 50001);
	assert_int_equal(stats(rl).tracked, RATELIMIT_MAX_ADDRS);
	assert_int_equal(stats(rl).evicted, 2);
	addr_of(0, a, sizeof(a));
	assert_int_equal(ratelimit_check(rl, a, 60000), 0);
	addr_of(1, a, sizeof(a));
	assert_int_equal(ratelimit_check(rl, a, 60000), 0);
	/* Everything else is still found after the moves of the deletions. */
	for (unsigned i = 2; i < RATELIMIT_MAX_ADDRS; i++) {
		addr_of(i, a, sizeof(a));
		if (ratelimit_check(rl, a, 60000) == 0)
			fail_msg("%s was lost", a);
	}
	assert_true(ratelimit_check(rl, "192.0.2.1", 60000) > 0);
	assert_true(ratelimit_check(rl, "192.0.2.2", 60000) > 0);
	/* An address failing again keeps its entry: no eviction. */
	ratelimit_fail(rl, "192.0.2.2", 60000);
	assert_int_equal(stats(rl).evicted, 2);
	ratelimit_free(rl);
}

/* A plain model of the contract (no table, no eviction) against the real
 * thing, over a long random run with many addresses: the hash table's
 * probing and backward-shift deletions must never lose or confuse one. */
struct model {
	unsigned count;
	int64_t start;
	bool used;
};

static unsigned model_check(struct model *m, unsigned limit, int64_t window, int64_t now)
{
	if (m->used && now - m->start >= window)
		m->used = false;
	if (!m->used || m->count < limit)
		return 0;
	return (unsigned)((m->start + window - now + 999) / 1000);
}

static void model_fail(struct model *m, int64_t window, int64_t now)
{
	if (m->used && now - m->start >= window)
		m->used = false;
	if (!m->used) {
		m->used = true;
		m->count = 0;
		m->start = now;
	}
	m->count++;
}

static void test_against_model(void **state)
{
	enum { N = RATELIMIT_MAX_ADDRS };
	const unsigned limit = 3;
	const int64_t window = 20000;
	struct model *m = calloc(N, sizeof(*m));
	struct ratelimit *rl = ratelimit_new(limit, (unsigned)window);
	unsigned seed = 12345;
	int64_t now = 0;
	unsigned refusals = 0;
	char a[64];

	(void)state;
	assert_non_null(m);
	for (int op = 0; op < 400000; op++) {
		unsigned i = (unsigned)rand_r(&seed) % N;

		now += rand_r(&seed) % 3;
		addr_of(i, a, sizeof(a));
		if (rand_r(&seed) % 2) {
			ratelimit_fail(rl, a, now);
			model_fail(&m[i], window, now);
		} else {
			unsigned want = model_check(&m[i], limit, window, now);
			unsigned got = ratelimit_check(rl, a, now);

			if (got != want)
				fail_msg("op %d: %s at %lld: %u, want %u", op, a, (long long)now,
					 got, want);
			refusals += want > 0;
		}
	}
	assert_true(refusals > 1000); /* the run did reach the limit */
	assert_int_equal(stats(rl).evicted, 0);
	free(m);
	ratelimit_free(rl);
}

#define THREADS 4
#define PER	5000

static void *hammer(void *arg)
{
	struct ratelimit *rl = arg;

	for (int i = 0; i < PER; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.9.%d.%d", i % 7, i % 11);
		ratelimit_fail(rl, a, i);
		ratelimit_check(rl, a, i);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct ratelimit *rl = ratelimit_new(1000000, 3600000);
	pthread_t t[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, rl), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(stats(rl).failures, THREADS * PER);
	assert_int_equal(stats(rl).tracked, 7 * 11);
	ratelimit_free(rl);
}

/* limit 0: counted, never refused. NULL is fine to free. */
static void test_limit_zero_and_free(void **state)
{
	struct ratelimit *rl = ratelimit_new(0, 1000);

	(void)state;
	for (int i = 0; i < 10; i++)
		ratelimit_fail(rl, "10.0.0.1", 0);
	assert_int_equal(ratelimit_check(rl, "10.0.0.1", 0), 0);
	assert_int_equal(stats(rl).failures, 10);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_window),    cmocka_unit_test(test_slow_guesser),
		cmocka_unit_test(test_address_keys),	    cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_against_model),	    cmocka_unit_test(test_threads),
		cmocka_unit_test(test_limit_zero_and_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
