/* The api process's seccomp filter (libseccomp): an allow-list of the
 * system calls an HTTP(S) server with threads needs, with argument checks
 * where they matter (socket() only AF_UNIX for the journal, clone() only
 * for threads, no exec, no ptrace, no mount, no new privileges of any
 * kind). Anything else fails with EPERM (clone3 with ENOSYS, so glibc
 * falls back to clone): a missed call is an error the code handles, not a
 * dead api process. Applies to every thread of the process (TSYNC). */
#pragma once

#include "err.h"

/* Install the filter. ERR_INTERNAL with the reason in ei. */
int sandbox_apply(struct err_info *ei);

/* Landlock: from now on this process may create, write, rename or remove
 * files only beneath the directory dir_fd (an O_PATH or O_RDONLY
 * descriptor, opened while the process could still reach it; -1:
 * nowhere), and execute nothing; reading is not restricted. Files open
 * already (stdout, the journal's stream) stay usable. Needs no_new_privs
 * (privsep_drop sets it). ERR_NOT_SUPPORTED when the kernel has no Landlock
 * (the caller goes on: seccomp and the user's file permissions still
 * hold), ERR_INTERNAL with ei otherwise. */
int sandbox_restrict_writes(int dir_fd, struct err_info *ei);
