/* A growable byte buffer for building text (files, diffs). Allocation
 * failure is sticky: every call after it is a no-op and strbuf_done()
 * returns NULL, so builders check once at the end. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *p; /* NUL-terminated once anything was added */
	size_t len, cap;
	bool failed;
};

void strbuf_add(struct strbuf *b, const void *s, size_t len);
void strbuf_str(struct strbuf *b, const char *s);

/* The text (malloc'd, NUL-terminated, the caller frees it; "" when nothing
 * was added) and its length; NULL, with everything freed, after a failure. */
char *strbuf_done(struct strbuf *b, size_t *len);
