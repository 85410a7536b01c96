/* The occtl-exec backend of struct ocserv: runs occtl (optionally through
 * `sudo -n`) with an argv we build, a deadline and an output cap, and
 * normalises its JSON (occtl_json.h, session.h, status.h).
 *
 * Mapping of outcomes: occtl missing → ERR_OCCTL_NOT_FOUND; deadline passed
 * (the process group is killed) → ERR_OCCTL_TIMEOUT; non-zero exit or
 * oversized output → ERR_OCCTL_FAILED; unparsable JSON → ERR_OCCTL_BAD_JSON. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ocserv.h"

#define OCCTL_MAX_OUTPUT    (16u * 1024 * 1024)
#define OCCTL_MAX_ARGV	    16
#define OCCTL_SHORT_SID_LEN 6 /* occtl prints and matches session ids this long */

struct occtl_options {
	const char *path;    /* absolute path of occtl */
	const char *socket;  /* passed as -s when not NULL */
	bool use_sudo;	     /* run `sudo -n path ...` */
	unsigned timeout_ms; /* default deadline of one call */
};

/* A new struct ocserv backed by occtl; strings are copied. NULL on ENOMEM. */
struct ocserv *occtl_backend_new(const struct occtl_options *o);

/* Fill argv (at most max entries including the final NULL) with the command
 * line for occtl args (NULL-terminated). Pointers refer to o and args.
 * Returns the argument count or ERR_INTERNAL when it does not fit. */
int occtl_build_argv(const struct occtl_options *o, const char *const *args, const char **argv,
		     size_t max);
