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
