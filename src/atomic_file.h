/* Replacing a small file so that a crash at any point leaves either the old
 * or the new content, never a mix: a temporary file in the same directory
 * (created with O_EXCL), write, fsync, rename over the target, fsync the
 * directory. The caller serialises writers of the same file. */
#pragma once

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
