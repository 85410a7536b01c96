/* timefmt.h: occtl intervals and ISO-8601 timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "timefmt.h"

static void test_parse_interval(void **state)
{
	static const struct {
		const char *text;
		int64_t secs;
	} cases[] = {
		/* What occtl's print_time_ival7 prints. */
		{"    1s", 1},
		{"   59s", 59},
		{"    0s", 0},
		{" 1m:01s", 61},
		{" 4m:58s", 298},
		{"59m:59s", 3599},
		{" 1h:02m", 3720},
		{"47h:59m", 47 * 3600 + 59 * 60},
		{" 2days", 2 * 86400},
		{" 3days", 3 * 86400},
		{"365days", 365 * 86400},
		{"1s", 1},
		/* Not intervals. */
		{"   ?   ", -1},
		{"?", -1},
		{"", -1},
		{"   ", -1},
		{"garbage", -1},
		{"5", -1},
		{"5x", -1},
		{"5s ", -1},
		{"5 s", -1},
		{"-5s", -1},
		{"5m:60s", -1},
		{"5h:60m", -1},
		{"5m:5", -1},
		{"5m:5m", -1},
		{"5h:05s", -1},
		{"5m", -1},
		{"5m:", -1},
		{"5d", -1},
		{"5day", -1},
		{"5daysx", -1},
		{"1m:02s:03s", -1},
		{"\t5s", -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = timefmt_parse_interval(cases[i].text);
		if (got != cases[i].secs)
			fail_msg("'%s': got %lld, want %lld", cases[i].text, (long long)got,
				 (long long)cases[i].secs);
	}
	assert_int_equal(timefmt_parse_interval(NULL), -1);
}

/* Numbers too large for the result must not overflow (signed overflow is
 * undefined behaviour; UBSan reports it): they are not intervals. */
static void test_parse_interval_overflow(void **state)
{
	(void)state;
	assert_int_equal(timefmt_parse_interval("99999999999999999999s"), -1);
	assert_int_equal(timefmt_parse_interval("999999999999999999days"), -1);
	assert_int_equal(timefmt_parse_interval("9999999999999999h:00m"), -1);
	assert_int_equal(timefmt_parse_interval("999999999999999999m:00s"), -1);
	/* Large but representable values are still exact. */
	assert_int_equal(timefmt_parse_interval("100000days"), INT64_C(8640000000));
}

static void test_epoch_iso8601(void **state)
{
	static const struct {
		int64_t epoch;
		const char *iso;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000Z"},
		{1795291949, "2026-11-21T20:12:29.000Z"},
		{951782400, "2000-02-29T00:00:00.000Z"},
		{INT64_C(2147483648), "2038-01-19T03:14:08.000Z"},
		{1767225599, "2025-12-31T23:59:59.000Z"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'X', sizeof(buf));
		assert_ptr_equal(timefmt_epoch_iso8601(cases[i].epoch, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].iso);
	}
	/* 25 bytes is enough, exactly. */
	char small[25];
	timefmt_epoch_iso8601(1795291949, small, sizeof(small));
	assert_string_equal(small, "2026-11-21T20:12:29.000Z");
}

static void test_iso8601_millis(void **state)
{
	static const struct {
		long nsec;
		const char *iso;
	} cases[] = {
		{0, "2026-11-21T20:12:29.000Z"},
		{999999, "2026-11-21T20:12:29.000Z"}, /* truncated, not rounded */
		{1000000, "2026-11-21T20:12:29.001Z"},
		{123456789, "2026-11-21T20:12:29.123Z"},
		{999999999, "2026-11-21T20:12:29.999Z"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct timespec ts = {.tv_sec = 1795291949, .tv_nsec = cases[i].nsec};
		timefmt_iso8601(&ts, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].iso);
	}
}

static void check_iso_shape(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	assert_int_equal(strlen(s), 24);
	for (size_t i = 0; i < 24; i++) {
		if (shape[i] == 'd')
			assert_true(s[i] >= '0' && s[i] <= '9');
		else
			assert_int_equal(s[i], shape[i]);
	}
}

static void test_now(void **state)
{
	char a[32], b[32];
	int64_t m1, m2;

	(void)state;
	timefmt_now_iso8601(a, sizeof(a));
	check_iso_shape(a);
	assert_true(strncmp(a, "2024", 4) >= 0); /* a plausible clock */
	m1 = timefmt_mono_ms();
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	m2 = timefmt_mono_ms();
	assert_true(m2 - m1 >= 19);
	assert_true(m2 - m1 < 2000);
	timefmt_now_iso8601(b, sizeof(b));
	assert_true(strcmp(b, a) >= 0);
}

static void test_epoch_out_of_range(void **state)
{
	char buf[32];

	(void)state;
	assert_null(timefmt_epoch_iso8601(INT64_C(999999999999999), buf, sizeof(buf)));
	assert_null(
		timefmt_epoch_iso8601(INT64_C(253402300800), buf, sizeof(buf))); /* 10000-01-01 */
	assert_non_null(timefmt_epoch_iso8601(INT64_C(253402300799), buf, sizeof(buf)));
	assert_string_equal(buf, "9999-12-31T23:59:59.000Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_interval),
		cmocka_unit_test(test_parse_interval_overflow),
		cmocka_unit_test(test_epoch_out_of_range),
		cmocka_unit_test(test_epoch_iso8601),
		cmocka_unit_test(test_iso8601_millis),
		cmocka_unit_test(test_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
