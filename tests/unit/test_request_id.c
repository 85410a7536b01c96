/* request_id.h: unique, well-formed request ids, also across threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request_id.h"

#define THREADS	   4
#define PER_THREAD 10000

/* "<8 hex>-<12 hex>" */
static void check_format(const char *id)
{
	size_t len = strlen(id);

	if (len != 21)
		fail_msg("'%s' has length %zu", id, len);
	for (size_t i = 0; i < len; i++) {
		if (i == 8) {
			assert_int_equal(id[i], '-');
			continue;
		}
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			fail_msg("'%s': bad character at %zu", id, i);
	}
}

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_format_and_prefix(void **state)
{
	char a[REQUEST_ID_LEN], b[REQUEST_ID_LEN];

	(void)state;
	request_id_new(a);
	request_id_new(b);
	check_format(a);
	check_format(b);
	assert_string_not_equal(a, b);
	/* One process, one random prefix; the counter part differs. */
	assert_memory_equal(a, b, 9);
	assert_true(strcmp(a + 9, b + 9) < 0);
	/* Re-seeding gives another prefix (a 1 in 2^32 chance of a false failure). */
	assert_int_equal(request_id_init(), 0);
	request_id_new(b);
	check_format(b);
	assert_memory_not_equal(a, b, 8);
}

static void test_unique_sequential(void **state)
{
	enum { N = 20000 };
	char(*ids)[REQUEST_ID_LEN] = calloc(N, REQUEST_ID_LEN);

	(void)state;
	assert_non_null(ids);
	for (size_t i = 0; i < N; i++)
		request_id_new(ids[i]);
	qsort(ids, N, REQUEST_ID_LEN, cmp);
	for (size_t i = 1; i < N; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("duplicate id %s", ids[i]);
	free(ids);
}

static char (*thread_ids)[REQUEST_ID_LEN];

static void *worker(void *arg)
{
	size_t base = (size_t)(uintptr_t)arg * PER_THREAD;

	for (size_t i = 0; i < PER_THREAD; i++)
		request_id_new(thread_ids[base + i]);
	return NULL;
}

static void test_unique_threads(void **state)
{
	pthread_t t[THREADS];

	(void)state;
	thread_ids = calloc(THREADS * PER_THREAD, REQUEST_ID_LEN);
	assert_non_null(thread_ids);
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	for (size_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (size_t i = 0; i < THREADS * PER_THREAD; i++)
		check_format(thread_ids[i]);
	qsort(thread_ids, THREADS * PER_THREAD, REQUEST_ID_LEN, cmp);
	for (size_t i = 1; i < THREADS * PER_THREAD; i++)
		if (strcmp(thread_ids[i - 1], thread_ids[i]) == 0)
			fail_msg("duplicate id %s", thread_ids[i]);
	free(thread_ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_prefix),
		cmocka_unit_test(test_unique_sequential),
		cmocka_unit_test(test_unique_threads),
	};

	if (request_id_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
