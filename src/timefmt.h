/* Time formatting and occtl duration parsing. Pure functions. */
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

/* Monotonic clock in milliseconds. */
int64_t timefmt_mono_ms(void);
