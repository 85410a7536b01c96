/* ocserv's plain-auth password file (ocpasswd), in memory: one
 * "user:groups:hash" line per account (OCSERV-FACTS.md). Every line of the
 * file is kept in order; lines that are not accounts (comments, blank,
 * malformed) and accounts nobody touched serialise back byte for byte.
 * Pure functions on the parsed file, plus hashing; nothing here touches the
 * disk (accounts.h does). Not thread-safe: one owner at a time.
 *
 * "Account" means what ocserv's plain auth would match (src/auth/plain.c):
 * it reads each line with fgets() into a 512-byte buffer (so only the
 * first 510 bytes of a line, cut at a NUL, count), skips lines of 4 bytes
 * or fewer, strips "\n" and then one "\r", and takes the first line whose
 * first ':'-field is the user name and that has a third field (the hash,
 * up to the next ':'). So a '#' line with two ':' is an account too (of a
 * user called "# ..."), and "u:*:" followed by a newline is an account
 * with an EMPTY hash, which logs in without a password ("u::" and a
 * newline is only 4 bytes: skipped). Lines longer than
 * 510 bytes are read by ocserv in pieces; we see only the first piece,
 * never write such lines, and refuse them on import. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "strv.h"

#define OCPASSWD_NAME_MAX     63  /* user and group names, bytes */
#define OCPASSWD_PASSWORD_MAX 256 /* bytes */
#define OCPASSWD_HASH_MAX     127 /* ocserv reads at most this much of a hash */
#define OCPASSWD_LINE_MAX     511 /* ocserv's fgets() size: it reads 510 bytes of a line */

enum ocpasswd_scheme {
	OCPASSWD_SHA512,   /* $6$, the default */
	OCPASSWD_YESCRYPT, /* $y$ */
};

struct ocpasswd_account {
	const char *username;
	/* As ocserv reads the field: split at ',', white space around each
	 * trimmed, one-character entries dropped; so "*" or "" is no group. */
	const struct strv *groups;
	bool locked; /* the hash starts with '!' */
	/* From the hash: "sha512", "yescrypt", "sha256", "md5", "bcrypt",
	 * "des", "unknown", or "none" (empty hash: logs in WITHOUT a password;
	 * reported, never written by us). */
	const char *scheme;
};

struct ocpasswd;

/* Parse len bytes (the whole file; may be empty). Never fails on content:
 * what is not an account line is kept as an opaque line. ERR_NOMEM only;
 * the caller frees *ret with ocpasswd_free(). Duplicate user names: the
 * first line is the account (ocserv uses the first), later ones are kept as
 * opaque lines (but see ocpasswd_delete/lock). A line ends at "\n"; a
 * "\r" before it is part of its terminator (kept when the line is
 * rewritten). After ERR_NOMEM from any function below, f may only be freed. */
int ocpasswd_parse(const char *text, size_t len, struct ocpasswd **ret, struct err_info *ei);

/* The file's text, malloc'd (NUL-terminated, *len without it); NULL on
 * ENOMEM. Untouched lines come out exactly as read, including a missing
 * final newline — unless an account was appended after that last line,
 * which then gets its "\n" (ocpasswd itself glues the new line onto it). */
char *ocpasswd_serialize(const struct ocpasswd *f, size_t *len);

void ocpasswd_free(struct ocpasswd *f);

/* The 1-based number of the first line too long for ocserv to read in one
 * piece (510 bytes or more before its newline), or 0. ocserv reads the rest
 * of such a line as further lines, each of which may be an account this
 * view does not see: editing any line before or in it can shift those
 * pieces and make another user password-less. Writers refuse such files. */
size_t ocpasswd_long_line(const struct ocpasswd *f);

/* Accounts in file order: index 0..ocpasswd_count()-1. The view is valid
 * until the file is changed or freed. */
size_t ocpasswd_count(const struct ocpasswd *f);
bool ocpasswd_at(const struct ocpasswd *f, size_t i, struct ocpasswd_account *ret);
/* The account of username, or false. */
bool ocpasswd_find(const struct ocpasswd *f, const char *username, struct ocpasswd_account *ret);

/* Create or change an account. hash: a crypt(3) hash from ocpasswd_hash()
 * (never empty, never with ':', white space, a leading '!' or more than
 * OCPASSWD_HASH_MAX bytes: ERR_BAD_REQUEST); NULL keeps the current one
 * (ERR_BAD_REQUEST when creating). groups: the new list (may be empty,
 * written "*" as ocpasswd does; each name ocpasswd_check_group()); NULL
 * keeps the current groups field as it is. A locked account changed with a
 * new hash stays locked ('!' before the new hash) unless unlock is true.
 * An existing account's line is rewritten as user:groups:hash with its old
 * terminator (any fourth field goes when the hash is replaced); a new one
 * is appended as "user:groups:hash\n" (before a last line of exactly four
 * bytes that a newline would turn into an account; that line keeps its
 * bytes). Only the first line of the user changes: later duplicates are
 * inert while it exists. *created (may be NULL) tells which it was.
 * ERR_BAD_REQUEST for an invalid name (ocpasswd_check_name), group or hash,
 * or when the line would be longer than ocserv reads (510 bytes with its
 * newline: too many groups); ERR_NOMEM. */
int ocpasswd_set(struct ocpasswd *f, const char *username, const char *hash,
		 const struct strv *groups, bool unlock, bool *created);

/* Remove the account: its line and every later account line of the same
 * user (ocpasswd -d removes them all too), so that no duplicate takes its
 * place.
 * ERR_NOT_FOUND when there is none. */
int ocpasswd_delete(struct ocpasswd *f, const char *username);

/* Lock: a '!' before the hash (locking a locked account changes nothing).
 * Unlock: remove one '!' ("!!h" becomes "!h", still locked). As ocpasswd
 * -l / -u, on every line of the user, duplicates included. *changed (may
 * be NULL) says whether a line changed. ERR_NOT_FOUND when there is no
 * such account; ERR_CONFLICT (nothing changed) when unlocking would leave
 * an empty hash ("!" alone), which would log in without a password —
 * ocpasswd -u writes it — or when a line of the user is so long that its
 * hash starts beyond the 510 bytes ocserv reads (a '!' there would not
 * count). */
int ocpasswd_lock(struct ocpasswd *f, const char *username, bool *changed);
int ocpasswd_unlock(struct ocpasswd *f, const char *username, bool *changed);

/* A user name we write: 1..OCPASSWD_NAME_MAX bytes of valid UTF-8, no
 * ':', ',', white space (ASCII or Unicode), control characters (C0, DEL,
 * C1), no '/' and no leading '.' (ocserv opens config-per-user/NAME: a
 * name must not leave that directory), no leading '-' (an option to occtl)
 * or '#' (a comment to our import), not "?" (occtl's help). NULL when
 * valid, else a short reason for the client. Group names
 * (ocpasswd_check_group) follow the same rules but '#' and '?'. */
const char *ocpasswd_check_name(const char *s);

/* A group name we write: the same rules (but '#' and "?" are fine) and at
 * least 2 bytes, because ocserv ignores one-character groups. */
const char *ocpasswd_check_group(const char *s);

/* A password we hash: 1..OCPASSWD_PASSWORD_MAX bytes, no NUL (it is a C
 * string), no newline. NULL when valid, else a reason (never quoting it). */
const char *ocpasswd_check_password(const char *s);

/* Hash password with scheme: a fresh salt from the kernel's CSPRNG
 * (crypt_gensalt_rn), crypt_r, the result checked to be a hash of that
 * scheme (never libxcrypt's "*0"/"*1" failure tokens). Writes at most
 * OCPASSWD_HASH_MAX + 1 bytes into out (len bytes; fails if they do not
 * fit). The crypt work area (heap, 32 KiB) is wiped; the password is not
 * (the caller's). 0, ERR_NOMEM, or ERR_INTERNAL with detail in ei. */
int ocpasswd_hash(const char *password, enum ocpasswd_scheme scheme, char *out, size_t len,
		  struct err_info *ei);

/* "sha512" → OCPASSWD_SHA512, "yescrypt" → OCPASSWD_YESCRYPT; else ERR_BAD_REQUEST. */
int ocpasswd_scheme_parse(const char *name, enum ocpasswd_scheme *ret);

/* What an import did to one account. */
enum ocpasswd_change {
	OCPASSWD_ADDED,
	OCPASSWD_UPDATED,
	OCPASSWD_DELETED,
	OCPASSWD_UNCHANGED,
};

/* Check a parsed text for ocpasswd_import(): every line must be blank, a
 * '#' comment (both skipped: *skipped counts them; may be NULL) or an
 * account with a valid user name (ocpasswd_check_name), groups "*", "" or
 * valid group names, a non-empty hash that looks like crypt(3) output
 * ("$id$...", or 13 DES characters; '!' before it for locked), no fourth
 * field, not longer than ocserv reads, and a user no earlier line has.
 * ERR_BAD_REQUEST with "line N: reason" in ei (client-safe: no bytes of
 * the line are quoted), or 0. */
int ocpasswd_import_check(const struct ocpasswd *in, size_t *skipped, struct err_info *ei);

/* Apply the accounts of in (checked with ocpasswd_import_check; lines that
 * fail it are ignored) to f: a new user is appended, a user whose groups
 * or hash (lock included) differ has the line rewritten
 * "user:groups:hash" with its old terminator, an equal one is left byte
 * for byte. replace: every account of f that in lacks is deleted (as
 * ocpasswd_delete); f's other lines stay. cb (may be NULL) hears every
 * account, imported ones in the order of in, then deletions in file
 * order; a non-zero return stops the import with that value. 0,
 * ERR_BAD_REQUEST (a line would grow too long: not after the check),
 * ERR_NOMEM. */
int ocpasswd_import(struct ocpasswd *f, const struct ocpasswd *in, bool replace,
		    int (*cb)(void *ctx, const char *username, enum ocpasswd_change change),
		    void *ctx);
