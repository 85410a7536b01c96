/* revoke.h: the store of revoked session ids the connect hook consults. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "revoke.h"
#include "unit.h"

#define T0   INT64_C(1795291959)
#define SID1 "xHWC9szOy4jKEN3tZ0cAT1+U2/k="
#define SID2 "CLcgrH0LEYl8i1CcOt3sgFNozYM="
#define SID3 "914kfJygigeSRHvr+H+20tc5h1Y="

static void test_add_contains_count(void **state)
{
	struct revoke *rv = revoke_new();

	(void)state;
	assert_non_null(rv);
	assert_int_equal(revoke_count(rv, T0), 0);
	assert_false(revoke_contains(rv, SID1, T0));
	assert_int_equal(revoke_add(rv, SID1, T0), 0);
	assert_int_equal(revoke_count(rv, T0), 1);
	assert_true(revoke_contains(rv, SID1, T0));
	assert_false(revoke_contains(rv, SID2, T0));
	/* Exact match only: no prefix, no case folding. */
	assert_false(revoke_contains(rv, "xHWC9s", T0));
	assert_false(revoke_contains(rv, "XHWC9SZOY4JKEN3TZ0CAT1+U2/K=", T0));
	assert_false(revoke_contains(rv, SID1 "x", T0));
	assert_false(revoke_contains(rv, "", T0));
	assert_int_equal(revoke_add(rv, SID2, T0 + 1), 0);
	assert_int_equal(revoke_count(rv, T0 + 1), 2);
	assert_true(revoke_contains(rv, SID1, T0 + 1));
	assert_true(revoke_contains(rv, SID2, T0 + 1));
	/* The store keeps its own copy. */
	char sid[32];
	snprintf(sid, sizeof(sid), "%s", SID3);
	assert_int_equal(revoke_add(rv, sid, T0 + 2), 0);
	memset(sid, 'Z', sizeof(sid) - 1);
	assert_true(revoke_contains(rv, SID3, T0 + 2));
	revoke_free(rv);
	revoke_free(NULL);
}

/* An id is 1..REVOKE_SID_MAX bytes without white space (it is one word of
 * a line in the store's file). */
static void test_refused_ids(void **state)
{
	struct revoke *rv = revoke_new();
	char id[REVOKE_SID_MAX + 2];

	(void)state;
	assert_int_equal(revoke_add(rv, "", T0), ERR_BAD_REQUEST);
	assert_int_equal(revoke_add(rv, "a b", T0), ERR_BAD_REQUEST);
	assert_int_equal(revoke_add(rv, "a\tb", T0), ERR_BAD_REQUEST);
	assert_int_equal(revoke_add(rv, "ab\n", T0), ERR_BAD_REQUEST);
	assert_int_equal(revoke_add(rv, "\rab", T0), ERR_BAD_REQUEST);
	memset(id, 'x', REVOKE_SID_MAX + 1);
	id[REVOKE_SID_MAX + 1] = '\0';
	assert_int_equal(revoke_add(rv, id, T0), ERR_BAD_REQUEST);
	assert_int_equal(revoke_count(rv, T0), 0);
	id[REVOKE_SID_MAX] = '\0';
	assert_int_equal(revoke_add(rv, id, T0), 0);
	assert_true(revoke_contains(rv, id, T0));
	assert_int_equal(revoke_add(rv, "x", T0), 0);
	assert_int_equal(revoke_count(rv, T0), 2);
	revoke_free(rv);
}

static void test_expiry(void **state)
{
	struct revoke *rv = revoke_new();

	(void)state;
	assert_int_equal(revoke_add(rv, SID1, T0), 0);
	assert_int_equal(revoke_add(rv, SID2, T0 + 100), 0);
	assert_true(revoke_contains(rv, SID1, T0 + REVOKE_TTL_SECONDS - 1));
	assert_int_equal(revoke_count(rv, T0 + REVOKE_TTL_SECONDS - 1), 2);
	/* At T0 + TTL the first entry is over; the second holds 100 s more. */
	assert_false(revoke_contains(rv, SID1, T0 + REVOKE_TTL_SECONDS));
	assert_int_equal(revoke_count(rv, T0 + REVOKE_TTL_SECONDS), 1);
	assert_true(revoke_contains(rv, SID2, T0 + REVOKE_TTL_SECONDS));
	assert_true(revoke_contains(rv, SID2, T0 + 100 + REVOKE_TTL_SECONDS - 1));
	assert_false(revoke_contains(rv, SID2, T0 + 100 + REVOKE_TTL_SECONDS));
	assert_int_equal(revoke_count(rv, T0 + 100 + REVOKE_TTL_SECONDS), 0);
	/* Dropped for good, also when asked with an earlier time afterwards. */
	assert_false(revoke_contains(rv, SID1, T0));
	assert_int_equal(revoke_count(rv, T0), 0);
	revoke_free(rv);
}

/* Revoking again renews: the later entry keeps the id listed. */
static void test_re_add_renews(void **state)
{
	struct revoke *rv = revoke_new();

	(void)state;
	assert_int_equal(revoke_add(rv, SID1, T0), 0);
	assert_int_equal(revoke_add(rv, SID1, T0 + 5000), 0);
	assert_true(revoke_contains(rv, SID1, T0 + REVOKE_TTL_SECONDS));
	assert_true(revoke_contains(rv, SID1, T0 + 5000 + REVOKE_TTL_SECONDS - 1));
	assert_false(revoke_contains(rv, SID1, T0 + 5000 + REVOKE_TTL_SECONDS));
	revoke_free(rv);
}

/* The wall clock may step back between two revocations (callers pass
 * time(NULL)): an entry's expiry must still hold on its own. */
static void test_expiry_with_clock_step_back(void **state)
{
	struct revoke *rv = revoke_new();

	(void)state;
	assert_int_equal(revoke_add(rv, SID1, T0 + 1000), 0);
	assert_int_equal(revoke_add(rv, SID2, T0), 0); /* the clock went back 1000 s */
	assert_true(revoke_contains(rv, SID2, T0 + REVOKE_TTL_SECONDS - 1));
	/* SID2 was listed at T0: it is over at T0 + TTL although SID1 is not. */
	assert_false(revoke_contains(rv, SID2, T0 + REVOKE_TTL_SECONDS));
	assert_true(revoke_contains(rv, SID1, T0 + REVOKE_TTL_SECONDS));
	assert_int_equal(revoke_count(rv, T0 + REVOKE_TTL_SECONDS), 1);
	revoke_free(rv);
}

static void test_cap_drops_oldest(void **state)
{
	struct revoke *rv = revoke_new();
	char sid[32];

	(void)state;
	for (int i = 0; i < REVOKE_MAX; i++) {
		snprintf(sid, sizeof(sid), "sid-%07d", i);
		assert_int_equal(revoke_add(rv, sid, T0), 0);
	}
	assert_int_equal(revoke_count(rv, T0), REVOKE_MAX);
	assert_true(revoke_contains(rv, "sid-0000000", T0));
	assert_int_equal(revoke_add(rv, "one-more", T0 + 1), 0);
	assert_int_equal(revoke_count(rv, T0 + 1), REVOKE_MAX);
	assert_false(revoke_contains(rv, "sid-0000000", T0 + 1));
	assert_true(revoke_contains(rv, "sid-0000001", T0 + 1));
	snprintf(sid, sizeof(sid), "sid-%07d", REVOKE_MAX - 1);
	assert_true(revoke_contains(rv, sid, T0 + 1));
	assert_true(revoke_contains(rv, "one-more", T0 + 1));
	revoke_free(rv);
}

#define PER_THREAD 5000

struct worker {
	struct revoke *rv;
	int base, failures;
};

static void *adder(void *arg)
{
	struct worker *w = arg;
	char sid[32];

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(sid, sizeof(sid), "t%d-%d", w->base, i);
		if (revoke_add(w->rv, sid, T0 + i) != 0 || !revoke_contains(w->rv, sid, T0 + i))
			w->failures++;
		(void)revoke_count(w->rv, T0 + i);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct revoke *rv = revoke_new();
	struct worker w[2] = {{rv, 1, 0}, {rv, 2, 0}};
	pthread_t t[2];
	char sid[32];

	(void)state;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, adder, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(w[0].failures, 0);
	assert_int_equal(w[1].failures, 0);
	assert_int_equal(revoke_count(rv, T0 + PER_THREAD), 2 * PER_THREAD);
	for (int b = 1; b <= 2; b++) {
		for (int i = 0; i < PER_THREAD; i += 97) {
			snprintf(sid, sizeof(sid), "t%d-%d", b, i);
			assert_true(revoke_contains(rv, sid, T0 + PER_THREAD));
		}
	}
	revoke_free(rv);
}

/* ---- persistence ---- */

static char tmpdir[64], file[128];

static int setup(void **state)
{
	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "revoketest") == NULL)
		return -1;
	unit_join(file, sizeof(file), tmpdir, REVOKE_FILE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

static struct revoke *persisted(int64_t now)
{
	struct revoke *rv = revoke_new();
	struct err_info ei = {{0}};

	assert_non_null(rv);
	if (revoke_persist(rv, tmpdir, now, &ei) != 0)
		fail_msg("revoke_persist: %s", ei.detail);
	return rv;
}

static void assert_file(const char *want)
{
	char *got = unit_read_file(file, NULL);

	if (got == NULL)
		fail_msg("%s was not written", file);
	if (strcmp(got, want) != 0)
		fail_msg("%s is:\n%s\nwant:\n%s", file, got, want);
	free(got);
}

static void test_persist_round_trip(void **state)
{
	struct revoke *rv = persisted(T0);
	struct stat st;
	char want[256];

	(void)state;
	/* No file yet: an empty store, and nothing written until an add. */
	assert_int_equal(revoke_count(rv, T0), 0);
	assert_int_equal(access(file, F_OK), -1);
	assert_int_equal(revoke_add(rv, SID1, T0), 0);
	assert_int_equal(revoke_add(rv, SID2, T0 + 10), 0);
	snprintf(want, sizeof(want), "%lld %s\n%lld %s\n", (long long)(T0 + REVOKE_TTL_SECONDS),
		 SID1, (long long)(T0 + 10 + REVOKE_TTL_SECONDS), SID2);
	assert_file(want);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	revoke_free(rv);

	/* A restart: what is in force comes back. */
	rv = persisted(T0 + 20);
	assert_int_equal(revoke_count(rv, T0 + 20), 2);
	assert_true(revoke_contains(rv, SID1, T0 + 20));
	assert_true(revoke_contains(rv, SID2, T0 + 20));
	assert_false(revoke_contains(rv, SID3, T0 + 20));
	revoke_free(rv);
	/* A restart after SID1 ran out: only SID2. */
	rv = persisted(T0 + REVOKE_TTL_SECONDS);
	assert_int_equal(revoke_count(rv, T0 + REVOKE_TTL_SECONDS), 1);
	assert_false(revoke_contains(rv, SID1, T0 + REVOKE_TTL_SECONDS));
	assert_true(revoke_contains(rv, SID2, T0 + REVOKE_TTL_SECONDS));
	/* The next add rewrites the file without what expired. */
	assert_int_equal(revoke_add(rv, SID3, T0 + REVOKE_TTL_SECONDS), 0);
	snprintf(want, sizeof(want), "%lld %s\n%lld %s\n",
		 (long long)(T0 + 10 + REVOKE_TTL_SECONDS), SID2,
		 (long long)(T0 + 2 * REVOKE_TTL_SECONDS), SID3);
	assert_file(want);
	revoke_free(rv);
}

static void test_persist_bad_lines(void **state)
{
	struct revoke *rv;
	char text[512];
	long long until = T0 + 100;

	(void)state;
	snprintf(text, sizeof(text),
		 "garbage\n"
		 "\n"
		 "%lld\n"
		 "abc %s\n"
		 "%lld %s\n"
		 "%lld expired-one\n"
		 "-5 negative\n"
		 "%lld %s\n",
		 until, SID3, until, SID1, (long long)T0 - 1, until, SID2);
	assert_int_equal(unit_write_str(file, text), 0);
	rv = persisted(T0);
	assert_int_equal(revoke_count(rv, T0), 2);
	assert_true(revoke_contains(rv, SID1, T0));
	assert_true(revoke_contains(rv, SID2, T0));
	assert_false(revoke_contains(rv, SID3, T0));
	assert_false(revoke_contains(rv, "expired-one", T0));
	/* The file's own expiry is kept, not renewed by the restart. */
	assert_false(revoke_contains(rv, SID1, T0 + 100));
	revoke_free(rv);
}

static void test_persist_unusable_dir(void **state)
{
	struct revoke *rv = revoke_new();
	struct err_info ei = {{0}};
	char missing[160];

	(void)state;
	unit_join(missing, sizeof(missing), tmpdir, "missing");
	assert_int_equal(revoke_persist(rv, missing, T0, &ei), ERR_INTERNAL);
	assert_non_null(strstr(ei.detail, missing));
	/* Memory only, and working. */
	assert_int_equal(revoke_add(rv, SID1, T0), 0);
	assert_true(revoke_contains(rv, SID1, T0));
	assert_int_equal(access(missing, F_OK), -1);
	revoke_free(rv);
	/* A file where the directory should be. */
	assert_int_equal(unit_write_str(missing, "x"), 0);
	rv = revoke_new();
	assert_int_equal(revoke_persist(rv, missing, T0, &ei), ERR_INTERNAL);
	revoke_free(rv);
}

/* Whatever revoke_add accepts survives a restart, long ids included (ocserv's
 * are 28 characters, but nothing here limits them). */
static void test_persist_long_ids(void **state)
{
	static const size_t lens[] = {28, 64, 65, 100, 300};
	char sids[5][301];
	struct revoke *rv = persisted(T0);
	bool accepted[5];

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		memset(sids[i], 'A' + (int)i, lens[i]);
		sids[i][lens[i]] = '\0';
		accepted[i] = revoke_add(rv, sids[i], T0) == 0;
	}
	assert_true(accepted[0]);
	assert_true(accepted[1]);
	assert_false(accepted[2]);
	assert_false(accepted[3]);
	assert_false(accepted[4]);
	revoke_free(rv);
	rv = persisted(T0 + 1);
	for (size_t i = 0; i < 5; i++)
		if (accepted[i] && !revoke_contains(rv, sids[i], T0 + 1))
			fail_msg("a revoked id of %zu characters was lost across a restart",
				 lens[i]);
	revoke_free(rv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_contains_count),
		cmocka_unit_test(test_refused_ids),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_re_add_renews),
		cmocka_unit_test(test_expiry_with_clock_step_back),
		cmocka_unit_test(test_cap_drops_oldest),
		cmocka_unit_test(test_threads),
		cmocka_unit_test_setup_teardown(test_persist_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist_unusable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist_long_ids, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
