/* Validators for untrusted request fields. Pure functions. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USERNAME_MAX   63 /* ocserv keeps user names in 64-byte buffers */
#define SESSION_ID_MAX INT64_C(2147483647)

/* A user name we pass to ocserv: 1..USERNAME_MAX bytes of valid UTF-8,
 * no control characters, not starting with '-' (it would read as an
 * option), no leading, trailing or doubled spaces (occtl would trim or
 * merge them and act on another name), not "?" (occtl's help). Returns NULL when valid, else a
 * short reason for the client. */
const char *validate_username(const char *s);

/* A session id given as text: decimal digits only, 1..SESSION_ID_MAX.
 * Returns true and sets *ret when valid. */
bool validate_session_id_text(const char *s, int64_t *ret);

/* The same for a JSON integer value. */
bool validate_session_id(int64_t v);
