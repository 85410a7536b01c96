#include "json_lex.h"

#include "utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SKIP_MAX_DEPTH 64

void json_lex_init(struct json_lex *lx, const char *buf, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->p = buf;
	lx->end = buf + len;
}

void json_lex_free(struct json_lex *lx)
{
	free(lx->str);
	lx->str = NULL;
	lx->str_cap = lx->str_len = 0;
}

size_t json_lex_offset(const struct json_lex *lx, const char *buf)
{
	return (size_t)(lx->p - buf);
}

static enum json_tok fail(struct json_lex *lx, const char *why)
{
	lx->err = why;
	return JT_ERROR;
}

static bool reserve(struct json_lex *lx, size_t more)
{
	size_t need = lx->str_len + more + 1, cap = lx->str_cap ? lx->str_cap : 64;
	char *p;

	if (need <= lx->str_cap)
		return true;
	while (cap < need)
		cap *= 2;
	p = realloc(lx->str, cap);
	if (p == NULL)
		return false;
	lx->str = p;
	lx->str_cap = cap;
	return true;
}

static int hex4(const char *p, const char *end)
{
	int v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static void put_utf8(struct json_lex *lx, uint32_t cp)
{
	char *o = lx->str + lx->str_len;

	if (cp < 0x80) {
		o[0] = (char)cp;
		lx->str_len += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		lx->str_len += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		lx->str_len += 3;
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		lx->str_len += 4;
	}
}

/* \uXXXX (after the backslash and 'u'), with a following low surrogate. */
static enum json_tok unicode_escape(struct json_lex *lx)
{
	int hi = hex4(lx->p, lx->end), lo;
	uint32_t cp;

	if (hi < 0)
		return fail(lx, "bad \\u escape");
	lx->p += 4;
	cp = (uint32_t)hi;
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (lx->end - lx->p < 6 || lx->p[0] != '\\' || lx->p[1] != 'u' ||
		    (lo = hex4(lx->p + 2, lx->end)) < 0xdc00 || lo > 0xdfff)
			return fail(lx, "unpaired surrogate");
		lx->p += 6;
		cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
	} else if (hi >= 0xdc00 && hi <= 0xdfff) {
		return fail(lx, "unpaired surrogate");
	} else if (hi == 0) {
		return fail(lx, "NUL in string");
	}
	put_utf8(lx, cp);
	return JT_STRING;
}

static enum json_tok string(struct json_lex *lx)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";

	lx->str_len = 0;
	for (;;) {
		const char *start = lx->p, *q = lx->p;
		bool high = false;
		while (q < lx->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
			high |= (unsigned char)*q++ >= 0x80;
		/* A run ends at an ASCII byte, so no UTF-8 sequence straddles two runs. */
		if (high && !utf8_valid((const unsigned char *)start, (size_t)(q - start)))
			return fail(lx, "string is not UTF-8");
		if (!reserve(lx, (size_t)(q - start) + 4))
			return fail(lx, "out of memory");
		memcpy(lx->str + lx->str_len, start, (size_t)(q - start));
		lx->str_len += (size_t)(q - start);
		lx->p = q;
		if (q == lx->end)
			return fail(lx, "unterminated string");
		if (*q == '"') {
			lx->p++;
			lx->str[lx->str_len] = '\0';
			return JT_STRING;
		}
		if (*q != '\\')
			return fail(lx, "control character in string");
		if (++lx->p == lx->end)
			return fail(lx, "unterminated string");
		char e = *lx->p++;
		const char *k = e ? strchr(esc_in, e) : NULL;
		if (k != NULL) {
			lx->str[lx->str_len++] = esc_out[k - esc_in];
		} else if (e != 'u' || unicode_escape(lx) == JT_ERROR) {
			return lx->err ? JT_ERROR : fail(lx, "bad escape");
		}
	}
}

static enum json_tok number(struct json_lex *lx)
{
	const char *s = lx->p, *q = s;
	bool integral = true;
	char buf[32], *endp;

	if (q < lx->end && *q == '-')
		q++;
	if (q == lx->end || *q < '0' || *q > '9')
		return fail(lx, "bad number");
	while (q < lx->end && ((*q >= '0' && *q <= '9') || (*q && strchr(".eE+-", *q)))) {
		integral &= *q >= '0' && *q <= '9';
		q++;
	}
	lx->p = q;
	if (!integral || q - s >= (long)sizeof(buf))
		return JT_NUMBER;
	memcpy(buf, s, (size_t)(q - s));
	buf[q - s] = '\0';
	errno = 0;
	lx->num = strtoll(buf, &endp, 10);
	return errno == 0 && *endp == '\0' ? JT_INTEGER : JT_NUMBER;
}

static enum json_tok literal(struct json_lex *lx, const char *word, enum json_tok tok)
{
	size_t n = strlen(word);

	if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, word, n) != 0)
		return fail(lx, "unexpected character");
	lx->p += n;
	return tok;
}

enum json_tok json_lex_next(struct json_lex *lx)
{
	while (lx->p < lx->end &&
	       (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
		lx->p++;
	if (lx->p == lx->end)
		return JT_EOF;
	switch (*lx->p) {
	case '{':
		lx->p++;
		return JT_BEGIN_OBJECT;
	case '}':
		lx->p++;
		return JT_END_OBJECT;
	case '[':
		lx->p++;
		return JT_BEGIN_ARRAY;
	case ']':
		lx->p++;
		return JT_END_ARRAY;
	case ':':
		lx->p++;
		return JT_COLON;
	case ',':
		lx->p++;
		return JT_COMMA;
	case '"':
		lx->p++;
		return string(lx);
	case 't':
		return literal(lx, "true", JT_TRUE);
	case 'f':
		return literal(lx, "false", JT_FALSE);
	case 'n':
		return literal(lx, "null", JT_NULL);
	default:
		return number(lx);
	}
}

bool json_lex_skip(struct json_lex *lx, enum json_tok tok)
{
	uint64_t is_object = 0; /* one bit per open level: 1 = object, 0 = array */
	int depth = 0;

	for (;;) {
		if (tok == JT_BEGIN_OBJECT || tok == JT_BEGIN_ARRAY) {
			if (depth == SKIP_MAX_DEPTH)
				return false;
			is_object = (is_object << 1) | (tok == JT_BEGIN_OBJECT);
			depth++;
		} else if (tok == JT_END_OBJECT || tok == JT_END_ARRAY) {
			if (depth == 0 || (bool)(is_object & 1) != (tok == JT_END_OBJECT))
				return false;
			is_object >>= 1;
			depth--;
		} else if (tok == JT_ERROR || tok == JT_EOF) {
			return false;
		}
		if (depth == 0)
			return true;
		tok = json_lex_next(lx);
	}
}
