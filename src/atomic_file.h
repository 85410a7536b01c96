/* Replacing a small file so that a crash at any point leaves either the old
 * or the new content, never a mix: a temporary file in the same directory
 * (created with O_EXCL), write, fsync, rename over the target, fsync the
 * directory. The caller serialises writers of the same file. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Replace name (relative to the directory dirfd) with len bytes of data,
 * mode applied to a new file. On failure the old file is intact, the
 * temporary one removed, and ERR_INTERNAL returned with detail in ei. */
int atomic_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    struct err_info *ei);

/* mkdir -p: parents 0755, path itself with mode. 0, or -1 with errno set. */
int mkdir_parents(const char *path, mode_t mode);

/* A read-modify-write of path held against other writers. The lock is
 * PATH.tmp, the name ocserv's own ocpasswd tool checks ("locked" while it
 * exists), taken as a directory with mkdir: exclusive, seen by ocpasswd's
 * check, and an ocpasswd that passed its check just before gets EISDIR
 * from its fopen("w") instead of writing into our file. While another
 * program holds PATH.tmp, atomic_begin() waits up to wait_ms, then fails with
 * ERR_LOCKED. Between begin and commit the caller reads path (it cannot
 * change under us: every writer that follows the convention is locked out)
 * and builds the new content; commit writes it to a private temporary file
 * beside path (.NAME.XXXXXX) with the original file's owner and mode
 * (mode_new when there was no file), fsyncs, renames over path, fsyncs the
 * directory, and removes the lock. On any failure the old file is intact
 * and the temporary file and the lock are removed. The existing file is
 * also flock()ed for the whole transaction, for tools that use flock. A
 * crash of the agent in between leaves PATH.tmp, which then blocks every
 * writer (as ocpasswd's own leftover does) until removed by hand. Not
 * thread-safe per path: callers serialise their own threads (e.g. a mutex
 * per file). */
enum atomic_step {
	ATOMIC_STEP_WRITE,
	ATOMIC_STEP_FSYNC,
	ATOMIC_STEP_OWNER, /* fchown/fchmod to the original's */
	ATOMIC_STEP_RENAME,
	ATOMIC_STEP_FSYNC_DIR,
};

struct atomic_txn {
	char path[4096], lock[4100], tmp[4120];
	int fd, dirfd, lockfd; /* lockfd: path itself, flock()ed, or -1 when new */
	bool locked;	       /* lock (PATH.tmp) is our directory */
	mode_t mode_new;
	/* Tests only: called before each step; a non-zero return fails the
	 * step with that errno, as if the system call had. NULL in production. */
	int (*inject)(enum atomic_step step);
};

/* Take the lock (mkdir PATH.tmp), waiting up to wait_ms for another
 * holder, and create the temporary file. 0, ERR_LOCKED, or
 * ERR_INTERNAL/ERR_PERMISSION with detail in ei. */
int atomic_begin(struct atomic_txn *t, const char *path, mode_t mode_new, unsigned wait_ms,
		 struct err_info *ei);

/* Write len bytes as the new content of path and release the lock (on
 * success and on failure). 0 or ERR_INTERNAL with detail in ei. A failure
 * before the rename leaves the old file; only the last step, the
 * directory's fsync, fails after it: the new content is then in place but
 * may not survive a crash (callers that promise the old file put it back). */
int atomic_commit(struct atomic_txn *t, const void *data, size_t len, struct err_info *ei);

/* Release the lock without writing. */
void atomic_abort(struct atomic_txn *t);
