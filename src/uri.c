#include "uri.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t uri_pct_decode(char *s)
{
	char *w = s;

	for (const char *r = s; *r != '\0'; w++) {
		int hi, lo;

		if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0) {
			*w = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}
