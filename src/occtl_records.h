/* The one reader of occtl's `-j` lists: an array of flat objects, each read
 * into a C record through a table of keys, streaming over json_lex (no JSON
 * tree: `show users` runs on every poll and scales with the VPN users).
 *
 * What occtl gets wrong is tolerated here, once, for every list: commas
 * missing or trailing, duplicate keys (the last one wins, which is what
 * occtl means by "Routes": [] then "Routes": "defaultroute"), a lone string
 * where a list belongs, bytes ≥ 0x80 printed as \u00XX (undone with
 * occtl_json_recover_utf8()), "(invalid)" for strings too long for occtl's
 * buffer. A value of an unexpected type, or text that is not what its kind
 * expects, makes the field absent; nothing is guessed. Lexical errors,
 * missing colons, non-string keys, a top level that is not such a list, or
 * text after it are errors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum occtl_kind {
	OCCTL_STR,	 /* char *; "(invalid)" is absent (NULL) */
	OCCTL_NAME,	 /* char *; "(none)" and "" are absent too */
	OCCTL_INT,	 /* int64_t; a non-negative integer, as a number or numeric text */
	OCCTL_FLAG,	 /* int; the same up to INT_MAX, or "True"/"False" as 1/0 */
	OCCTL_INTERVAL,	 /* int64_t seconds; occtl's compact interval (" 4m:58s") */
	OCCTL_LOCALTIME, /* int64_t epoch; occtl's local "YYYY-MM-DD HH:MM" */
	OCCTL_STRV,	 /* struct strv; a lone string is a list of one, other elements skipped */
};

/* occtl's key and the record member (at byte offset off) its value goes to.
 * Several keys may share a member (a key renamed between versions). */
struct occtl_field {
	const char *key;
	size_t key_len;
	enum occtl_kind kind;
	size_t off;
};

/* One entry of a field table for a record of type type. */
#define OCCTL_FIELD(k, kd, type, m)                                                      \
	{                                                                                \
		.key = k, .key_len = sizeof(k) - 1, .kind = kd, .off = offsetof(type, m) \
	}

/* A kind of record. A new record is zeroed, then every numeric member in
 * fields is set to -1 (absent); clearing frees every string and list member
 * in fields, so a record must own nothing the table does not name. */
struct occtl_record_type {
	const char *name; /* for error details, e.g. "session" */
	size_t size;	  /* sizeof the record */
	const struct occtl_field *fields;
	size_t n_fields;
	/* Called once a record's keys are read: derive members from one
	 * another (now is the caller's epoch time) and check it is usable.
	 * Returns NULL to keep the record, or a static reason to reject the
	 * whole list as ERR_OCCTL_BAD_JSON. NULL finish keeps every record. */
	const char *(*finish)(void *rec, int64_t now);
	/* When not NULL: this key seen a second time in one object starts the
	 * next record there (occtl ≤1.3.0 prints `show iroutes` as one object
	 * with every session's keys run together). */
	const char *split_key;
	/* Accept one bare object at the top level, instead of an array, holding
	 * zero or more records (with split_key: `show iroutes` ≤1.3.0, whose
	 * empty form is "{ }"). */
	bool bare_object;
};

/* Read len bytes of occtl output as a list of records of type t, in occtl's
 * order; an empty array is an empty list. On success *ret_v is a malloc'd
 * array of *ret_n records (NULL when 0) that the caller frees with
 * occtl_records_free(). On failure ERR_OCCTL_BAD_JSON or ERR_NOMEM, with
 * detail in ei, and *ret_v, *ret_n untouched. */
int occtl_records_parse(const struct occtl_record_type *t, const char *text, size_t len,
			int64_t now, void **ret_v, size_t *ret_n, struct err_info *ei);

/* Free what one record owns (its strings and lists), not the record
 * itself, leaving those members NULL or empty: clearing twice is harmless.
 * For a caller that filters a list in place. */
void occtl_record_clear(const struct occtl_record_type *t, void *rec);

/* Clear n records and free the array v (may be NULL). */
void occtl_records_free(const struct occtl_record_type *t, void *v, size_t n);

/* A deep copy of the n records of type t at v into a new calloc'd array
 * (*ret; NULL when n is 0), owning copies of every string and list the
 * field table names. 0, or ERR_NOMEM with nothing allocated. Free with
 * occtl_records_free(). */
int occtl_records_copy(const struct occtl_record_type *t, const void *v, size_t n, void **ret);
