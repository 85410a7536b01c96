/* A line-preserving editor of files in ocserv.conf's syntax (ocserv.conf,
 * per-user and per-group files; the reading rules are ocserv_conf.h's).
 *
 * A parsed file keeps every line's bytes, its line ending included (the
 * last line may lack one). Edits touch only the lines of the key they
 * change, within one section: comments, blank lines, order, the lines of
 * every other key and of other sections stay byte-identical, so
 * conf_edit_text() of an unedited file is the input itself.
 *
 * Sections: NULL is the global part (the lines before the first [section]
 * header); "vhost:NAME" is the [vhost:NAME] section (NAME compared exactly
 * as written between "vhost:" and "]", after ocserv's strip of blanks).
 * Lines after a header belong to that section until the next header.
 * A UTF-8 byte order mark before the first line is kept aside: it is not
 * part of line 1's text and stays at the start of the file whatever the
 * edits.
 *
 * A value is one line `key = value`; a key that repeats has one line per
 * value; an indented non-blank line continues the previous key with one
 * more value (ocserv_conf.h). Values passed in are written as given, after
 * the caller's validation: they must not contain a newline, and a value
 * whose first or last character is blank or '"', or that has a '#' after
 * a blank, would not read back the same (ocserv strips them, or reads a
 * comment); conf_edit_set() refuses those (ERR_BAD_REQUEST),
 * and likewise a key or a section that would not read back as given.
 *
 * Not thread-safe; a struct conf_edit belongs to one caller. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum conf_line_kind {
	CONF_LINE_BLANK,   /* empty or white space only */
	CONF_LINE_COMMENT, /* first non-blank character '#' or ';' */
	CONF_LINE_KEY,	   /* key = value */
	CONF_LINE_CONT,	   /* indented: one more value of the previous key */
	CONF_LINE_SECTION, /* [...] */
	CONF_LINE_BAD,	   /* none of these: ocserv stops reading the file there */
};

struct conf_line {
	enum conf_line_kind kind;
	const char *text;    /* the line's bytes, without its line ending, NUL-terminated
				(a NUL byte inside the line ends the string here as
				it ends the line's content for ocserv) */
	const char *key;     /* KEY, CONT: the key (a CONT's is its KEY line's); else NULL */
	const char *value;   /* KEY, CONT: the value as ocserv reads it; else NULL */
	const char *section; /* the section the line is in (NULL: global); a SECTION
				line's own section is the one it opens ("vhost:NAME",
				or the bracket's text for another kind) */
	unsigned number;     /* 1-based line number in the text as it is now */
};

struct conf_edit;

/* Parse len bytes (no NUL needed; may be empty). Never fails on content.
 * ERR_INTERNAL when len > max, ERR_NOMEM. *ret is the caller's to free. */
int conf_edit_parse(const char *text, size_t len, size_t max, struct conf_edit **ret,
		    struct err_info *ei);

void conf_edit_free(struct conf_edit *e);

/* The whole text, malloc'd and NUL-terminated (*len without the NUL); NULL
 * on ENOMEM. */
char *conf_edit_text(const struct conf_edit *e, size_t *len);

/* The lines, in order; valid until the next edit. */
size_t conf_edit_count(const struct conf_edit *e);
const struct conf_line *conf_edit_line(const struct conf_edit *e, size_t i);

/* The first CONF_LINE_BAD line's number, or 0. */
unsigned conf_edit_first_bad(const struct conf_edit *e);

/* Whether a [section] header for section exists (NULL: always true). */
bool conf_edit_has_section(const struct conf_edit *e, const char *section);

/* The values of key in section, in file order, as ocserv reads them:
 * pointers into e, valid until the next edit. Returns how many (at most
 * max are stored in out). */
size_t conf_edit_values(const struct conf_edit *e, const char *section, const char *key,
			const char **out, size_t max);

/* Where conf_edit_set() adds a key that its section does not have yet. */
enum conf_edit_place {
	CONF_EDIT_AFTER_KEYS,	  /* default: after the section's last key or
				     continuation line */
	CONF_EDIT_AT_SECTION_END, /* after the section's last line of any kind
				     (comments included): userconf.h's rule */
};

/* Choose where new keys go from now on (a new editor has AFTER_KEYS). */
void conf_edit_set_place(struct conf_edit *e, enum conf_edit_place place);

/* Make key's values in section exactly values[0..n-1] (n >= 1). When they
 * already are (same values, same order), nothing changes. Otherwise the
 * key's first line is rewritten in place as "key = VALUE" followed by one
 * new line per further value, and the key's other lines (repeats and
 * continuation lines) are removed. A key not in the section is added after
 * the section's last key or continuation line (or its last line: see
 * conf_edit_set_place; for the global part: never after a section header;
 * when it has no key yet, after its last line, or first in the file when
 * it has none); a missing section is appended at the end of the file as
 * a header line "[SECTION]" followed by the key's lines.
 *
 * Line endings: new and rewritten lines end as most of the file's lines
 * do ("\r\n" when more lines end so than with "\n"; "\n" on a tie and for
 * an empty file), so a rewritten last line that had no ending gets one,
 * and a last line without its ending gets one before anything is added
 * after it. Every other line keeps its bytes and its ending.
 *
 * *changed says whether the text changed. ERR_BAD_REQUEST (ei->detail
 * says which): n == 0; a value with a newline, one whose first or last
 * character is blank or '"', one that starts with '#' or has a '#' after
 * a blank (a comment to ocserv: ocserv_conf.h); a key that is empty, has
 * '=', ':', a newline or a '#' after a blank, starts or ends with a blank
 * or starts with '#', ';' or '['; a section that has ']', a newline or a
 * '#' after a blank. ERR_CONFLICT: the key would go right
 * before an indented section header, which ocserv would then read as a
 * value of the key (a header is one only when no key precedes it; the
 * caller may remove the indentation first), or see conf_edit_unset().
 * ERR_NOMEM. On failure nothing changes. */
int conf_edit_set(struct conf_edit *e, const char *section, const char *key,
		  const char *const *values, size_t n, bool *changed, struct err_info *ei);

/* Remove every line of key in section (continuation lines included);
 * *changed says whether there was any. ERR_CONFLICT when a line that
 * starts with the bytes of a UTF-8 byte order mark would become the file's
 * first, where ocserv would skip them; ERR_NOMEM. On failure nothing
 * changes. */
int conf_edit_unset(struct conf_edit *e, const char *section, const char *key, bool *changed,
		    struct err_info *ei);
