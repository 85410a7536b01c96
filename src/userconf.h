/* ocserv's per-user and per-group settings files: the directories named by
 * config-per-user and config-per-group in ocserv.conf hold one file per user
 * (group), named exactly after it, in ocserv.conf's syntax (ocserv_conf.h).
 * ocserv (sec-mod, as root) reads the group's file, then the user's, on
 * every new session: a change needs no reload and never touches sessions
 * that already run (OCSERV-FACTS.md). Nothing here is HTTP.
 *
 * Three parts:
 *  - the key table: the keys ocserv reads in these files, by version (1.1.6
 *    to 1.5.0, checked against real servers), each with the type and the
 *    bounds of its value. Values are JSON: booleans, integers, strings, and
 *    arrays of strings for the keys that repeat. The checks are stricter
 *    than ocserv where ocserv would misread a value or refuse the user's
 *    logins over it (a route without a prefix), so that nothing the agent
 *    writes breaks a login;
 *  - a parsed file (struct userconf) that keeps every line's bytes: a change
 *    rewrites the lines of the keys it sets, deletes those of the keys it
 *    removes and appends new keys; comments and every other line survive
 *    byte for byte;
 *  - the directory: list, read, change, delete. Changes are atomic (a
 *    crash leaves the old file or the new one) and take the file's lock
 *    (PATH.tmp, atomic_file.h), so they never interleave with one another,
 *    with another agent thread or with a tool that follows the convention.
 *
 * File names are user and group names (userconf_check_name): one path
 * component, never "." or "..", so no name reaches outside the directory;
 * files are opened relative to the directory without following a symbolic
 * link. The agent manages regular files only: a name that is a symbolic
 * link (or anything else) is not listed and is refused (ERR_CONFLICT).
 *
 * Versions: struct ocserv_version of the running ocserv; an unknown version
 * (text "") accepts every key any supported version reads (tunnel-all-dns
 * and tunnel_all_dns, cgroup), which the running ocserv may then ignore.
 *
 * Errors: ERR_BAD_REQUEST, ERR_NOT_FOUND and ERR_CONFLICT carry a message
 * for the client in ei->detail (it may name the directory); other errors'
 * detail is for the log. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "atomic_file.h"
#include "err.h"
#include "ocserv.h"
#include "strv.h"

#define USERCONF_NAME_MAX     63	   /* bytes; ocserv keeps names in 64-byte buffers */
#define USERCONF_FILE_MAX     (256 * 1024) /* bytes of one file we read at most */
#define USERCONF_VALUES_MAX   256	   /* values of one repeated key */
#define USERCONF_VALUE_MAX    1024	   /* bytes of one value */
#define USERCONF_LOCK_WAIT_MS 2000	   /* for another writer's PATH.tmp, then ERR_LOCKED */
#define USERCONF_MODE	      0640	   /* of a new file; an existing one keeps its own */

enum userconf_kind {
	USERCONF_USER,
	USERCONF_GROUP,
};

/* "user" or "group". */
const char *userconf_kind_name(enum userconf_kind kind);

/* A user or group name as a file name: 1..USERCONF_NAME_MAX bytes of valid
 * UTF-8; no '/', ':', ',', white space or control characters; not starting
 * with '-' or '.' (so never "." or ".."); not ending in ".tmp" (the lock
 * file of another name's changes). NULL when valid, else a short reason. */
const char *userconf_check_name(const char *name);

/* ---- keys and values ---- */

/* Whether this ocserv reads key in these files. false with a reason for
 * the client in why (an unknown key, a key of other versions: "ocserv
 * 1.5.0 spells it tunnel-all-dns"). */
bool userconf_key_allowed(const char *key, const struct ocserv_version *v, char *why,
			  size_t why_len);

/* Check a settings object (PUT and PATCH bodies): every key allowed for v,
 * every value of the key's type and within its bounds; null stands for
 * "not set". ERR_BAD_REQUEST with the key and the reason in why, or 0. */
int userconf_check_settings(const json_t *settings, const struct ocserv_version *v, char *why,
			    size_t why_len);

/* ---- one file, in memory ---- */

struct userconf;

/* Parse len bytes (a whole file; may be empty). Never fails on content:
 * every line is kept, whatever it holds. ERR_NOMEM, or ERR_INTERNAL for
 * more than USERCONF_FILE_MAX bytes. The caller frees *ret. */
int userconf_parse(const char *text, size_t len, struct userconf **ret, struct err_info *ei);

/* The file's text, malloc'd and NUL-terminated (*len without the NUL);
 * NULL on ENOMEM. */
char *userconf_serialize(const struct userconf *f, size_t *len);

void userconf_free(struct userconf *f);

/* Apply settings, checked first as userconf_check_settings() does (nothing
 * changes when that fails). replace (PUT): the file ends up with exactly
 * these settings: every other key's lines are removed, including keys
 * ocserv does not read. Otherwise (PATCH) only the keys given change; a key
 * set to null is removed. A key whose value is already the given one keeps
 * its lines as they are; a changed key's first line is rewritten in place
 * as "key = value" (one line per value of a repeated key) and its other
 * lines (repeats, continuation lines) removed; a new key is appended after
 * the last global line (never inside a [section]). Comments, blank lines,
 * lines ocserv cannot parse and [section]s are never touched. *changed says
 * whether the text changed. ERR_BAD_REQUEST (why), ERR_CONFLICT (why: the
 * file has a line ocserv cannot parse, where it stops reading, so nothing
 * is changed until it is fixed) or ERR_NOMEM. */
int userconf_apply(struct userconf *f, const json_t *settings, bool replace,
		   const struct ocserv_version *v, bool *changed, char *why, size_t why_len);

/* What ocserv makes of the file, for v: *settings {key: value} with the
 * key's JSON type (booleans and integers read as ocserv reads them; for a
 * key given more than once, the last value, as ocserv; arrays for repeated
 * keys, every value in file order), and *issues [{line, key, message}]:
 * keys ocserv ignores, values the agent would refuse, lines ocserv cannot
 * parse, keys in a [section], single keys set more than once. New
 * references; ERR_NOMEM. */
int userconf_to_json(const struct userconf *f, const struct ocserv_version *v, json_t **settings,
		     json_t **issues);

/* ---- the directory ---- */

struct userconf_dir {
	enum userconf_kind kind;
	char path[4096]; /* absolute, without a trailing '/' */
	unsigned lock_wait_ms;
	/* Tests only: passed to atomic_txn.inject. */
	int (*inject)(enum atomic_step step);
};

/* Read ocserv.conf (conf_path) now and fill ret for kind from its global
 * config-per-user / config-per-group. ERR_CONFLICT when ocserv.conf does
 * not exist, the key is not set, not an absolute path, or not an existing
 * directory; ERR_PERMISSION when the directory cannot be looked at;
 * ERR_INTERNAL when ocserv.conf cannot be read. */
int userconf_dir_find(const char *conf_path, enum userconf_kind kind, struct userconf_dir *ret,
		      struct err_info *ei);

/* The names of the regular files of the directory that are valid names
 * (userconf_check_name), sorted bytewise. ERR_CONFLICT (the directory is
 * gone), ERR_PERMISSION, ERR_INTERNAL, ERR_NOMEM; *ret is the caller's to
 * strv_free(). */
int userconf_list(const struct userconf_dir *d, struct strv *ret, struct err_info *ei);

/* Read and parse one file. ERR_BAD_REQUEST (invalid name), ERR_NOT_FOUND,
 * ERR_CONFLICT (a symbolic link or not a regular file), ERR_PERMISSION,
 * ERR_INTERNAL (unreadable, too large), ERR_NOMEM. */
int userconf_read(const struct userconf_dir *d, const char *name, struct userconf **ret,
		  struct err_info *ei);

/* Read-modify-write of one file under its lock: userconf_apply() on the
 * current file (an empty one when there is none: *created), written only
 * when the text changed or the file is new (*changed), atomically, with
 * the old file's owner and mode (USERCONF_MODE when new; the owner is then
 * the agent's user). *ret is the file as it is now, the caller's to free.
 * ERR_BAD_REQUEST (name or settings; nothing written), ERR_CONFLICT (not a
 * regular file), ERR_LOCKED, ERR_PERMISSION, ERR_INTERNAL, ERR_NOMEM. */
int userconf_change(const struct userconf_dir *d, const char *name, const json_t *settings,
		    bool replace, const struct ocserv_version *v, struct userconf **ret,
		    bool *created, bool *changed, struct err_info *ei);

/* Remove one file, under its lock. ERR_BAD_REQUEST, ERR_NOT_FOUND,
 * ERR_CONFLICT (not a regular file), ERR_LOCKED, ERR_PERMISSION,
 * ERR_INTERNAL. */
int userconf_delete(const struct userconf_dir *d, const char *name, struct err_info *ei);
