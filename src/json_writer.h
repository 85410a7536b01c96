/* A minimal streaming JSON writer, for responses whose size grows with the
 * number of VPN sessions: writing text directly costs a fraction of
 * building a jansson tree and dumping it. Small responses use jansson.
 *
 * Commas are placed automatically. Strings must be valid UTF-8 (everything
 * we write comes from validated input); quotes, backslashes and control
 * characters are escaped. Allocation failure is sticky: every call after it
 * is a no-op and json_writer_finish() returns NULL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_WRITER_MAX_DEPTH 32

struct json_writer {
	char *buf;
	size_t len, cap;
	bool failed;
	bool after_key;
	unsigned depth;
	bool has_items[JSON_WRITER_MAX_DEPTH];
};

void json_writer_init(struct json_writer *w);
void jw_begin_object(struct json_writer *w);
void jw_end_object(struct json_writer *w);
void jw_begin_array(struct json_writer *w);
void jw_end_array(struct json_writer *w);
/* A member name; the next value written is its value. */
void jw_key(struct json_writer *w, const char *key);
/* A string, or null when s is NULL. */
void jw_string(struct json_writer *w, const char *s);
void jw_int(struct json_writer *w, int64_t v);
/* An integer, or null when v < 0 (the session model's "absent"). */
void jw_uint_or_null(struct json_writer *w, int64_t v);
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);

/* The text (NUL-terminated, caller frees) and its length, or NULL after an
 * allocation failure or with objects/arrays left open. Resets w. */
char *json_writer_finish(struct json_writer *w, size_t *ret_len);
