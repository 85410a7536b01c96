/* Account management on the plain-auth password file (domain layer): every
 * change is a read-modify-write of the file under its lock (atomic_file.h:
 * PATH.tmp with O_EXCL, as ocserv's ocpasswd does, plus flock), serialised
 * among the agent's own threads, written atomically with the file's owner
 * and mode. ocserv re-reads the file on every login: nothing to reload.
 *
 * Passwords are hashed here and wiped from the caller's buffer as soon as
 * they are hashed (accounts_put/patch take a writable buffer for that).
 *
 * Threads: one mutex for the whole process (every file), held for the
 * read-modify-write, never while hashing. Processes: PATH.tmp, the
 * convention ocpasswd follows too. Reads (list/get/export) take neither:
 * writers replace the file by rename(), so a read sees one version whole.
 *
 * Errors, and what ei->detail holds:
 *   ERR_BAD_REQUEST  a reason fit for the client ("username must not
 *                    contain ':'", "line 3: the password hash is empty");
 *                    it never quotes a password or a hash.
 *   ERR_NOT_FOUND    "no such account" (client-safe).
 *   ERR_CONFLICT     accounts_lock() that cannot be done (unlocking an
 *                    account without a password hash; locking a line too
 *                    long for ocserv): a client-safe reason.
 *   ERR_LOCKED, ERR_PERMISSION, ERR_INTERNAL, ERR_NOMEM  paths and errno
 *                    text: for the log only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "atomic_file.h"
#include "err.h"
#include "ocpasswd.h"
#include "strv.h"

#define ACCOUNTS_LOCK_WAIT_MS 2000 /* wait for another program's PATH.tmp, then ERR_LOCKED */
#define ACCOUNTS_FILE_MAX     (64u * 1024 * 1024) /* bytes of the file we read at most */

struct accounts {
	const char *path;	     /* OCPASSWD_PATH */
	enum ocpasswd_scheme scheme; /* for new hashes */
	unsigned lock_wait_ms;
	/* Tests only: passed to atomic_txn.inject. NULL in production. */
	int (*inject)(enum atomic_step step);
};

/* One account as the API shows it: never the hash. */
struct account {
	char *username;
	struct strv groups;
	bool locked;
	char *scheme;
};

struct account_list {
	struct account *v;
	size_t n;
};

void account_list_free(struct account_list *l);

/* Every account, in file order (a missing file is an empty list). ERR_PERMISSION
 * when the agent cannot read the file, ERR_INTERNAL/ERR_NOMEM. */
int accounts_list(const struct accounts *a, struct account_list **ret, struct err_info *ei);

/* One account; ERR_NOT_FOUND when there is none. *ret holds one account. */
int accounts_get(const struct accounts *a, const char *username, struct account_list **ret,
		 struct err_info *ei);

/* Create or replace: new hash of password (a->scheme), groups as given
 * (NULL: none). A locked account stays locked: only accounts_lock()
 * unlocks. The password buffer is wiped, whatever the result. *created
 * (may be NULL) says which. The file is created (mode 0600) when missing.
 * ERR_BAD_REQUEST (name, group or password invalid, or too many groups for
 * ocserv's line; message in ei for the client), ERR_LOCKED, ERR_PERMISSION,
 * ERR_INTERNAL. On success *ret (may be NULL) holds the account as
 * written. */
int accounts_put(const struct accounts *a, const char *username, char *password,
		 const struct strv *groups, bool *created, struct account_list **ret,
		 struct err_info *ei);

/* Change only what is given: password (NULL: keep the hash; wiped
 * otherwise) and groups (NULL: keep the field as it is). Nothing given:
 * nothing written. ERR_NOT_FOUND when there is no such account; otherwise
 * as accounts_put(). */
int accounts_patch(const struct accounts *a, const char *username, char *password,
		   const struct strv *groups, struct account_list **ret, struct err_info *ei);

/* Remove, with any later duplicate lines of the user (ocpasswd_delete);
 * ERR_NOT_FOUND when there is none. */
int accounts_delete(const struct accounts *a, const char *username, struct err_info *ei);

/* Lock / unlock (ocpasswd_lock: as ocpasswd -l / -u); nothing is written
 * when nothing changes. *ret (may be NULL) holds the account as it is now.
 * ERR_NOT_FOUND; ERR_CONFLICT when unlocking would leave an empty hash
 * (or a lock would not count: ocpasswd_lock). */
int accounts_lock(const struct accounts *a, const char *username, bool lock,
		  struct account_list **ret, struct err_info *ei);

/* The file's bytes as they are (with hashes: sensitive). A missing file is
 * "". Caller frees *text. */
int accounts_export(const struct accounts *a, char **text, size_t *len, struct err_info *ei);

/* What an import changes, account by account. */
enum import_action { IMPORT_ADD, IMPORT_UPDATE, IMPORT_DELETE, IMPORT_UNCHANGED };
struct import_change {
	char *username;
	enum import_action action;
};
struct import_report {
	struct import_change *v;
	size_t n;
	size_t skipped; /* blank and '#' comment lines of the imported text */
};
void import_report_free(struct import_report *r);

/* Import an ocpasswd-format text (len bytes). merge: its accounts are added
 * or replace the same names, others stay; replace: the file's accounts
 * become exactly the imported ones (non-account lines of the file are
 * kept). Imported lines are validated (ocpasswd_import_check: names,
 * groups, a hash that is not empty and looks like crypt(3) output, no
 * duplicates; blank and '#' lines skipped): ERR_BAD_REQUEST naming the
 * first bad line ("line N: ..."), nothing written. dry_run: report only.
 * Nothing changed: nothing written. *report (zeroed by us first) lists
 * every account the import adds, updates or leaves unchanged, in the
 * order of the text, then those it deletes; caller frees it with
 * import_report_free(), also after a failure. */
int accounts_import(const struct accounts *a, const char *text, size_t len, bool replace,
		    bool dry_run, struct import_report *report, struct err_info *ei);
