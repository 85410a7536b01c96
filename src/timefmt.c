#include "timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *timefmt_iso8601(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char base[24];

	/* Years past 9999 (a garbage epoch from occtl) have no ISO-8601 form here. */
	if (gmtime_r(&ts->tv_sec, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year < -1900)
		return NULL;
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts->tv_nsec / 1000000L);
	return buf;
}

char *timefmt_now_iso8601(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return timefmt_iso8601(&ts, buf, len);
}

char *timefmt_epoch_iso8601(int64_t epoch, char *buf, size_t len)
{
	struct timespec ts = {.tv_sec = (time_t)epoch, .tv_nsec = 0};

	return timefmt_iso8601(&ts, buf, len);
}

/* Reads an unsigned decimal number; advances *p. -1 when there is none. */
static int64_t read_number(const char **p)
{
	int64_t v = 0;

	if (!isdigit((unsigned char)**p))
		return -1;
	while (isdigit((unsigned char)**p)) {
		if (v > INT64_MAX / 10 - 10)
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	return v;
}

int64_t timefmt_parse_interval(const char *s)
{
	int64_t a, b, total;
	const char *p = s;

	if (s == NULL)
		return -1;
	while (*p == ' ')
		p++;
	a = read_number(&p);
	if (a < 0)
		return -1;
	if (p[0] == 's' && p[1] == '\0')
		return a;
	if (p[0] == 'd' && p[1] == 'a' && p[2] == 'y' && p[3] == 's' && p[4] == '\0')
		return a <= INT64_MAX / 86400 ? a * 86400 : -1;
	if ((p[0] != 'm' && p[0] != 'h') || p[1] != ':' || a > INT64_MAX / 3600 - 3600)
		return -1;
	total = p[0] == 'm' ? a * 60 : a * 3600;
	char unit = p[0] == 'm' ? 's' : 'm';
	p += 2;
	b = read_number(&p);
	if (b < 0 || b >= 60 || p[0] != unit || p[1] != '\0')
		return -1;
	return total + (unit == 's' ? b : b * 60);
}

/* The n-digit decimal number at s, or -1. */
static int fixed_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int64_t timefmt_parse_localtime(const char *s)
{
	struct tm tm = {.tm_isdst = -1};
	int year, mon, mday;
	time_t t;

	if (s == NULL || strnlen(s, 17) != 16 || s[4] != '-' || s[7] != '-' || s[10] != ' ' ||
	    s[13] != ':')
		return -1;
	year = fixed_digits(s, 4);
	mon = fixed_digits(s + 5, 2);
	mday = fixed_digits(s + 8, 2);
	tm.tm_hour = fixed_digits(s + 11, 2);
	tm.tm_min = fixed_digits(s + 14, 2);
	if (year < 1970 || mon < 1 || mon > 12 || mday < 1 || mday > 31 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	t = mktime(&tm);
	/* mktime() normalises 31 April to 1 May: such a day does not exist.
	 * (A shifted hour is the daylight saving gap, which it resolves.) */
	if (t < 0 || tm.tm_mday != mday || tm.tm_mon != mon - 1)
		return -1;
	return (int64_t)t;
}

int64_t timefmt_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
