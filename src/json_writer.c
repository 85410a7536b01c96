#include "json_writer.h"

#include <stdlib.h>
#include <string.h>

void json_writer_init(struct json_writer *w)
{
	memset(w, 0, sizeof(*w));
}

/* Make room for n more bytes and the final NUL. False after a failure. */
static bool grow(struct json_writer *w, size_t n)
{
	size_t cap = w->cap ? w->cap : 4096;
	char *p;

	if (w->failed)
		return false;
	while (cap < w->len + n + 1)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (p == NULL) {
		w->failed = true;
		return false;
	}
	w->buf = p;
	w->cap = cap;
	return true;
}

/* The NUL is written by json_writer_finish() only: room for it is kept. */
static inline void put(struct json_writer *w, const char *s, size_t n)
{
	if (w->len + n + 1 > w->cap && !grow(w, n))
		return;
	if (w->failed)
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Before any value or key: the comma that separates it from the previous. */
static void separate(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0 && w->has_items[w->depth - 1])
		put(w, ",", 1);
	if (w->depth > 0)
		w->has_items[w->depth - 1] = true;
}

static void open_(struct json_writer *w, const char *c)
{
	separate(w);
	if (w->depth == JSON_WRITER_MAX_DEPTH) {
		w->failed = true;
		return;
	}
	w->has_items[w->depth++] = false;
	put(w, c, 1);
}

static void close_(struct json_writer *w, const char *c)
{
	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	w->depth--;
	put(w, c, 1);
}

void jw_begin_object(struct json_writer *w)
{
	open_(w, "{");
}
void jw_end_object(struct json_writer *w)
{
	close_(w, "}");
}
void jw_begin_array(struct json_writer *w)
{
	open_(w, "[");
}
void jw_end_array(struct json_writer *w)
{
	close_(w, "]");
}

/* Bytes a JSON string cannot hold as they are. */
static const bool must_escape[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
	[0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
	[0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
	[0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
	[0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

static void quoted(struct json_writer *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	put(w, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!must_escape[c])
			continue;
		put(w, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(w, e, 2);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			put(w, e, 6);
		}
	}
	put(w, run, (size_t)(s - run));
	put(w, "\"", 1);
}

void jw_key(struct json_writer *w, const char *key)
{
	separate(w);
	quoted(w, key);
	put(w, ":", 1);
	w->after_key = true;
}

void jw_string(struct json_writer *w, const char *s)
{
	if (s == NULL) {
		jw_null(w);
		return;
	}
	separate(w);
	quoted(w, s);
}

void jw_int(struct json_writer *w, int64_t v)
{
	char b[24], *p = b + sizeof(b);
	/* the magnitude as unsigned, so that INT64_MIN has one too */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	separate(w);
	put(w, p, (size_t)(b + sizeof(b) - p));
}

void jw_uint_or_null(struct json_writer *w, int64_t v)
{
	if (v < 0)
		jw_null(w);
	else
		jw_int(w, v);
}

void jw_bool(struct json_writer *w, bool v)
{
	separate(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct json_writer *w)
{
	separate(w);
	put(w, "null", 4);
}

char *json_writer_finish(struct json_writer *w, size_t *ret_len)
{
	char *out = w->buf;

	if (w->failed || w->depth != 0 || out == NULL) {
		free(out);
		out = NULL;
	} else {
		out[w->len] = '\0'; /* put() kept room for it */
		*ret_len = w->len;
	}
	json_writer_init(w);
	return out;
}
