#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t utf8_decode(const unsigned char *s, size_t len, unsigned *cp)
{
	size_t n;
	unsigned c, min;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, c = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

int utf8_valid(const unsigned char *s, size_t len)
{
	unsigned cp;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

char *utf8_sanitize(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), o = 0;
	char *out = malloc(len * 3 + 1); /* each bad byte may become 3 */
	unsigned cp;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	return out;
}

json_t *utf8_json_string(const char *s)
{
	json_t *j;
	char *clean;

	if (s == NULL)
		return json_null();
	if (utf8_valid((const unsigned char *)s, strlen(s)))
		return json_string(s);
	clean = utf8_sanitize(s);
	j = clean ? json_string(clean) : NULL;
	free(clean);
	return j;
}
