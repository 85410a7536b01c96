/* UTF-8 checks for text that crosses a trust boundary. Pure functions. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* True if the len bytes at s are valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
int utf8_valid(const unsigned char *s, size_t len);

/* A copy of the NUL-terminated s with every invalid sequence replaced by
 * U+FFFD, so it can go into JSON. Caller frees; NULL on allocation failure. */
char *utf8_sanitize(const char *s);

/* A JSON string of s (json_null() for NULL) that never fails on bytes:
 * invalid UTF-8 becomes U+FFFD. New reference, NULL on allocation failure. */
json_t *utf8_json_string(const char *s);

/* Length of the valid UTF-8 sequence at s (at most len bytes) and its code
 * point in *cp; 0 when the bytes there are not valid UTF-8. */
size_t utf8_decode(const unsigned char *s, size_t len, unsigned *cp);
