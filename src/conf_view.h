/* What a client may see of ocserv.conf: its ETag, the parsed view (global
 * keys and [vhost:NAME] sections, values typed by conf_schema.h) and the raw
 * text, both with secret values replaced by CONF_SCHEMA_REDACTED.
 *
 * ETag: the first 128 bits of HMAC-SHA256 over the file's bytes, in hex
 * between double quotes, under a key drawn at random once per process. A
 * plain hash of the file would let a client who sees the redacted text try
 * every value of a short secret (a 4-digit key-pin) against the ETag; with
 * the key it cannot. ETags therefore change when the agent restarts (a
 * client then re-reads: 412, never a lost update). Thread-safe. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "ocserv.h"

#define CONF_ETAG_LEN 36 /* '"', 32 hex digits, '"', NUL */

void conf_etag(const char *text, size_t len, char out[CONF_ETAG_LEN]);

/* The text with every value of a secret key (conf_schema_is_secret)
 * replaced: a key line becomes "KEY = <redacted>", a continuation line of
 * such a key its indentation and "<redacted>"; line endings and every other
 * byte kept. malloc'd, NUL-terminated, *out_len bytes; NULL on ENOMEM. */
char *conf_view_redact(const char *text, size_t len, size_t *out_len);

/* The unified diff (diff.h) from a to b, secret values redacted in both
 * first: malloc'd, "" when they are equal; NULL on ENOMEM. */
char *conf_view_diff(const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
		     const char *label_b);

/* The parsed view of len bytes of text read from path, for the running
 * ocserv v: {path, etag, size, ocservVersion, global:{KEY: VALUE},
 * vhosts:{NAME:{KEY: VALUE}}, redacted:[KEY…], issues:[{line, key?,
 * section?, message}]}. Keys the schema knows for v have their type (an
 * array of strings for one that repeats; for a single key given more than
 * once, the last value, as ocserv reads it); other keys are strings, or
 * arrays when repeated, and are listed in issues. New reference; NULL on
 * ENOMEM. */
json_t *conf_view_json(const char *path, const char *text, size_t len,
		       const struct ocserv_version *v);

/* {path, etag, size, text} with conf_view_redact()'s text. */
json_t *conf_view_raw_json(const char *path, const char *text, size_t len);

/* The keys whose values differ between texts a and b, per section, as
 * "KEY" (global) or "vhost:NAME/KEY" strings, sorted, unique: a JSON array
 * (new reference; NULL on ENOMEM). Comments and layout do not count. */
json_t *conf_view_changed_keys(const char *a, size_t alen, const char *b, size_t blen);
