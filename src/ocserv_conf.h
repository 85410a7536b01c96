/* ocserv.conf, read the way ocserv 1.1-1.5 reads it (OCSERV-FACTS.md):
 * `key = value` or `key: value` (split at the first `=` or `:`); lines whose
 * first non-blank character is `#` or `;` are comments; a `#` that follows
 * a blank ends the line's content, even between quotes ("x #y" reads "x";
 * measured on 1.1.6, 1.3.0 and 1.5.0), while ";" never does ("x ; y" stays
 * the value) and neither does a `#` right after another character ("x#y");
 * whitespace and `"`
 * are stripped from both ends of a value, never from inside it; a non-blank
 * line that starts with whitespace is one more value of the previous key;
 * `[vhost:NAME]` starts the keys of virtual host NAME. Keys repeat for
 * multi-value options and every occurrence is kept, in file order. Keys are
 * compared exactly (ocserv's are lower case).
 *
 * What ocserv would refuse is kept, not judged: a line with no `=`/`:` is
 * counted in bad_lines; a section other than `[vhost:NAME]` (ocserv skips
 * its keys with a warning) is recorded with the whole bracket text as its
 * section and never matches a vhost look-up. Nothing here validates values.
 *
 * A loaded config is immutable and may be read from several threads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define OCSERV_CONF_MAX (1024 * 1024) /* bytes of ocserv.conf we read at most */

struct ocserv_conf_entry {
	const char *key;
	const char *value;   /* "" for `key =` */
	const char *section; /* NULL: global; "vhost:NAME" or another section's text */
	const char *vhost;   /* NAME of a `[vhost:NAME]` section, else NULL */
	unsigned line;	     /* 1-based line of this value (a continuation's own line) */
};

struct ocserv_conf;

/* Read and parse path (at most OCSERV_CONF_MAX bytes). Returns ERR_OK with
 * *ret owned by the caller (ocserv_conf_free), ERR_NOT_FOUND when the file
 * does not exist, ERR_INTERNAL when it cannot be read or is too large,
 * ERR_NOMEM; detail in *ei. *ret is untouched on failure. */
int ocserv_conf_load(const char *path, struct ocserv_conf **ret, struct err_info *ei);

/* Parse len bytes of text (no NUL needed; a NUL ends its line's content, as
 * in ocserv). Returns ERR_OK with *ret owned by the caller, or ERR_NOMEM /
 * ERR_INTERNAL (more than OCSERV_CONF_MAX bytes). */
int ocserv_conf_parse(const char *text, size_t len, struct ocserv_conf **ret, struct err_info *ei);

void ocserv_conf_free(struct ocserv_conf *c);

/* The first value of a global key, or NULL. Valid while c lives. */
const char *ocserv_conf_get(const struct ocserv_conf *c, const char *key);

/* The first value of key in virtual host vhost (NULL: global), without
 * falling back to the global value. */
const char *ocserv_conf_get_vhost(const struct ocserv_conf *c, const char *vhost, const char *key);

/* Walk entries in file order: the first entry after prev (NULL: from the
 * start) whose key is key (NULL: any key) and that belongs to vhost (NULL:
 * the global section). NULL at the end. */
const struct ocserv_conf_entry *ocserv_conf_next(const struct ocserv_conf *c, const char *vhost,
						 const char *key,
						 const struct ocserv_conf_entry *prev);

/* How many values a global key has. */
size_t ocserv_conf_count(const struct ocserv_conf *c, const char *key);

/* Every entry, all sections, in file order: index 0..ocserv_conf_size()-1. */
size_t ocserv_conf_size(const struct ocserv_conf *c);
const struct ocserv_conf_entry *ocserv_conf_at(const struct ocserv_conf *c, size_t i);

/* Lines ocserv would reject (no `=`/`:`, or `[` without `]`), and the first
 * of them (0 when none). */
size_t ocserv_conf_bad_lines(const struct ocserv_conf *c);
unsigned ocserv_conf_first_bad_line(const struct ocserv_conf *c);

/* The text rules of ocserv's configuration files (ocserv.conf and the
 * per-user/per-group files): strip trailing blanks, skip leading ones, and
 * strip blanks and '"' from both ends (never from the middle). Each
 * modifies s in place and returns where the result starts. */
char *ocserv_conf_rstrip(char *s);
char *ocserv_conf_lskip(char *s);
char *ocserv_conf_unquote(char *s);
/* End s at its first `#` that follows a blank (inih's inline comment). */
char *ocserv_conf_cut_comment(char *s);

/* A boolean value as ocserv reads it: true/yes (any case) are true,
 * anything else false. NULL (absent) gives def. */
bool ocserv_conf_bool(const char *value, bool def);
