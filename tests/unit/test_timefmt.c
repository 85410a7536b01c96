/* timefmt.h: occtl intervals and ISO-8601 timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

/* Set the process's time zone (a POSIX rule: no tzdata needed). */
static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

#define TZ_BERLIN "CET-1CEST,M3.5.0,M10.5.0/3"

static void test_parse_localtime(void **state)
{
	static const struct {
		const char *tz, *text;
		int64_t epoch;
	} cases[] = {
		/* What occtl prints ("%Y-%m-%d %H:%M" of localtime()). */
		{"UTC", "2026-11-21 20:12", 1795291920},
		{"UTC", "2024-02-29 23:59", 1709251140},
		{"UTC", "1970-01-01 00:00", 0},
		{"UTC", "9999-12-31 23:59", INT64_C(253402300740)},
		{TZ_BERLIN, "2026-11-21 20:12", 1795291920 - 3600}, /* CET */
		{TZ_BERLIN, "2026-07-01 12:00", 1782900000},	    /* CEST */
		{TZ_BERLIN, "1970-01-01 01:00", 0},
		/* Not such a time. */
		{"UTC", "2026-11-21 20:12:00", -1},
		{"UTC", "2026-11-21 20:1", -1},
		{"UTC", "2026-11-21T20:12", -1},
		{"UTC", "2026/11/21 20:12", -1},
		{"UTC", " 2026-11-21 20:12", -1},
		{"UTC", "2026-11-21  20:12", -1},
		{"UTC", "2026-13-01 00:00", -1},
		{"UTC", "2026-00-01 00:00", -1},
		{"UTC", "2026-04-31 00:00", -1}, /* no such day */
		{"UTC", "2026-02-29 00:00", -1},
		{"UTC", "2026-11-00 00:00", -1},
		{"UTC", "2026-11-21 24:00", -1},
		{"UTC", "2026-11-21 23:60", -1},
		{"UTC", "1969-12-31 23:59", -1},
		{TZ_BERLIN, "1970-01-01 00:59", -1}, /* before the epoch */
		{"UTC", "+026-11-21 20:12", -1},
		{"UTC", "2026-1a-21 20:12", -1},
		{"UTC", "", -1},
		{"UTC", "?", -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_tz(cases[i].tz);
		int64_t got = timefmt_parse_localtime(cases[i].text);
		if (got != cases[i].epoch)
			fail_msg("'%s' in %s: got %lld, want %lld", cases[i].text, cases[i].tz,
				 (long long)got, (long long)cases[i].epoch);
	}
	assert_int_equal(timefmt_parse_localtime(NULL), -1);
	set_tz("UTC");
}

/* Daylight saving time: the skipped hour is resolved by mktime() (occtl
 * never prints one), the repeated hour is one of its two instants. */
static void test_parse_localtime_dst(void **state)
{
	int64_t t;

	(void)state;
	set_tz(TZ_BERLIN);
	t = timefmt_parse_localtime("2026-03-29 02:30");
	assert_true(t == 1774744200 + 3600 || t == 1774744200);
	t = timefmt_parse_localtime("2026-10-25 02:30");
	assert_true(t == 1792891800 || t == 1792891800 - 3600);
	set_tz("UTC");
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
		cmocka_unit_test(test_parse_localtime),
		cmocka_unit_test(test_parse_localtime_dst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
