/* Time formatting and occtl duration parsing. Pure functions, but for
 * timefmt_parse_localtime(), which reads the process's time zone. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Format ts as ISO-8601 UTC with milliseconds ("2026-01-01T00:00:00.000Z").
 * buf needs at least 25 bytes. Returns buf, or NULL for a time outside the
 * years 0-9999. */
char *timefmt_iso8601(const struct timespec *ts, char *buf, size_t len);

/* The same for the current real time. */
char *timefmt_now_iso8601(char *buf, size_t len);

/* The same for whole epoch seconds (NULL outside the years 0-9999). */
char *timefmt_epoch_iso8601(int64_t epoch, char *buf, size_t len);

/* Parse occtl's compact interval ("   12s", " 4m:58s", " 1h:02m",
 * " 3days") into seconds. Returns -1 when s is not such an interval (occtl
 * prints "   ?   " when the clock went backwards). */
int64_t timefmt_parse_interval(const char *s);

/* Parse occtl's local time, "YYYY-MM-DD HH:MM" exactly (strftime of
 * localtime() in occtl, so in occtl's time zone, which must be ours), into
 * epoch seconds with mktime() and tm_isdst = -1: in the hour repeated when
 * daylight saving time ends, mktime() picks one of the two. Returns -1 when
 * s is not such a time, names a day that does not exist, or lies before
 * 1970. */
int64_t timefmt_parse_localtime(const char *s);

/* Monotonic clock in milliseconds. */
int64_t timefmt_mono_ms(void);
