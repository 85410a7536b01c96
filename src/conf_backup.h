/* Backups of ocserv.conf taken before each change the agent makes, in a
 * directory of their own (OCSERV_CONF_BACKUP_DIR). One file per backup,
 * named by its id: "YYYYMMDDTHHMMSSZ-NNN" (UTC time of the backup, then a
 * sequence number from 001 that makes ids taken in the same second unique
 * and keeps bytewise order = time order). Files are written atomically
 * (atomic_file.h) with mode 0600: they hold everything ocserv.conf holds,
 * secrets included. After each new backup the oldest are removed so that
 * at most keep remain. Only names that are valid ids are listed or read; an
 * id from a client is checked (conf_backup_check_id) before any use, so no
 * id reaches outside the directory; symbolic links and other non-regular
 * files are never listed, read or removed, nor is anything else in the
 * directory. Callers serialise writers (the agent takes ocserv.conf's lock
 * around a change). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define CONF_BACKUP_ID_LEN 24	/* with the NUL */
#define CONF_BACKUP_MAX	   1000 /* backups listed at most */

struct conf_backup {
	char id[CONF_BACKUP_ID_LEN];
	int64_t created; /* epoch seconds, from the id */
	int64_t size;	 /* bytes */
};

/* NULL when id is a valid backup id, else a short reason: exactly
 * "YYYYMMDDTHHMMSSZ-NNN", a real date from 1970, a time of day 00:00:00 to
 * 23:59:59, NNN from 001. */
const char *conf_backup_check_id(const char *id);

/* Create dir (mode 0700, parents 0755) when missing. 0, or ERR_PERMISSION /
 * ERR_INTERNAL with detail in ei. */
int conf_backup_prepare(const char *dir, struct err_info *ei);

/* Store len bytes of text as a new backup taken at now (epoch seconds);
 * its id into id_out. The file is written under a name that is not an id,
 * then hard-linked to its id (which never replaces an existing file), so
 * no id ever names a partial backup. A new id always sorts after the
 * existing ones: when the newest backup is of the same second (or of a
 * later one: the clock went back), the new id is the one after it (its
 * second with the next number, or the next second after number 999). Then keep only the newest keep backups (keep >= 1; the
 * new one is never removed; a failed removal is logged, not returned).
 * dir must exist (conf_backup_prepare). ERR_PERMISSION, ERR_INTERNAL
 * (full disk, missing directory, ...: nothing half-written is
 * left), ERR_NOMEM. */
int conf_backup_save(const char *dir, const char *text, size_t len, int64_t now, unsigned keep,
		     char id_out[CONF_BACKUP_ID_LEN], struct err_info *ei);

/* The backups, newest first: *ret malloc'd (free(); NULL when there is
 * none), *n entries (at most CONF_BACKUP_MAX). A missing directory is an
 * empty list. ERR_PERMISSION, ERR_INTERNAL, ERR_NOMEM. */
int conf_backup_list(const char *dir, struct conf_backup **ret, size_t *n, struct err_info *ei);

/* Read one backup: *text malloc'd, NUL-terminated, *len bytes (at most
 * max). The file is opened relative to dir without following a link.
 * ERR_BAD_REQUEST (invalid id), ERR_NOT_FOUND (no such backup, no
 * directory, or a symbolic link or non-regular file under that name),
 * ERR_PERMISSION, ERR_INTERNAL (unreadable or larger than max), ERR_NOMEM. */
int conf_backup_read(const char *dir, const char *id, size_t max, char **text, size_t *len,
		     struct err_info *ei);
