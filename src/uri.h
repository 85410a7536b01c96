/* Percent-decoding of URI components. The transport hands the application
 * the path exactly as sent (libmicrohttpd's own decoding would turn an
 * encoded '/' inside a path parameter, as in a base64 cookie id, into a
 * separator), and query arguments decoded here. */
#pragma once

#include <stddef.h>

/* Decode %XX sequences of the NUL-terminated s in place ('+' is left
 * alone; a '%' not followed by two hex digits is kept as is). Returns the
 * decoded length, which is less than strlen(s) afterwards when %00 was
 * decoded. */
size_t uri_pct_decode(char *s);
