#include "occtl_json.h"

#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy buf to a new string without commas that directly precede '}' or ']'
 * (ignoring whitespace), leaving string contents alone. */
static char *strip_trailing_commas(const char *buf, size_t len, size_t *ret_len)
{
	char *out = malloc(len + 1);
	bool in_str = false, esc = false;
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == ',') {
			size_t j = i + 1;
			while (j < len && strchr(" \t\r\n", buf[j]) != NULL && buf[j] != '\0')
				j++;
			if (j < len && (buf[j] == '}' || buf[j] == ']'))
				continue;
		}
		out[o++] = ch;
	}
	out[o] = '\0';
	*ret_len = o;
	return out;
}

json_t *occtl_json_load(const char *buf, size_t len, char *errbuf, size_t errlen)
{
	json_error_t jerr;
	size_t clean_len;
	char *clean = strip_trailing_commas(buf, len, &clean_len);
	json_t *j;

	if (clean == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	j = json_loadb(clean, clean_len, JSON_DECODE_ANY, &jerr);
	free(clean);
	if (j == NULL)
		snprintf(errbuf, errlen, "line %d column %d: %s", jerr.line, jerr.column,
			 jerr.text);
	return j;
}

char *occtl_json_recover_utf8(const char *s)
{
	size_t len = strlen(s), o = 0;
	unsigned char *bytes = malloc(len + 1);
	bool high = false;
	unsigned cp;

	if (bytes == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
		if (n == 0 || cp > 0xff)
			goto keep;
		high |= cp >= 0x80;
		bytes[o++] = (unsigned char)cp;
		i += n;
	}
	bytes[o] = '\0';
	if (high && utf8_valid(bytes, o))
		return (char *)bytes;
keep:
	free(bytes);
	return strdup(s);
}

int64_t occtl_json_uint_text(const char *s)
{
	char *end;
	long long n;

	while (*s == ' ')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	while (*end == ' ')
		end++;
	return errno == 0 && *end == '\0' ? n : -1;
}
