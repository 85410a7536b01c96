/* Tolerant reading of occtl's JSON output (see OCSERV-FACTS.md):
 * trailing commas before '}' or ']' (show sessions/session ≤1.3.0, show ip
 * bans ≤1.4.0), duplicate keys (last wins: what occtl means by
 * "Routes": [] then "Routes": "defaultroute"), and bytes ≥ 0x80 printed as
 * \u00XX, which mangles UTF-8 user names. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Parse len bytes of occtl output. Returns a new reference, or NULL with a
 * reason (line/column) in errbuf. */
json_t *occtl_json_load(const char *buf, size_t len, char *errbuf, size_t errlen);

/* occtl prints many numbers as text ("MTU": "1434", "RX": "0"): the value
 * of such a string, spaces around it allowed, or -1 when it is not a
 * non-negative decimal integer that fits int64. */
int64_t occtl_json_uint_text(const char *s);

/* occtl prints each byte ≥ 0x80 of a string as \u00XX. When every code point
 * of the UTF-8 string s is below U+0100 and, taken as bytes, they form valid
 * UTF-8, return those bytes; otherwise a copy of s. Caller frees; NULL only
 * on allocation failure. */
char *occtl_json_recover_utf8(const char *s);
