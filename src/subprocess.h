/* Run a program the safe way: an absolute path and an argv we built, never a
 * shell; an empty environment (PATH and LC_ALL=C only); stdin from /dev/null;
 * no inherited descriptors; its own process group, ended when the deadline
 * passes (SIGTERM, which sudo relays to a command it runs as root, then
 * SIGKILL after 500 ms); stdout capped. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum spawn_outcome {
	SPAWN_EXITED,		/* ran to completion; see exit_status */
	SPAWN_NOT_FOUND,	/* argv[0] missing or not executable */
	SPAWN_TIMED_OUT,	/* killed at the deadline */
	SPAWN_OUTPUT_TOO_LARGE, /* killed when stdout passed the cap */
};

struct spawn_result {
	enum spawn_outcome outcome;
	int exit_status; /* exit code, or 128+signal when killed by a signal */
	char *out;	 /* stdout, NUL-terminated (may contain NULs); caller frees */
	size_t out_len;
	char err[1024]; /* first bytes of stderr, NUL-terminated */
};

/* Run argv (argv[0] absolute) and collect its output. Returns ERR_OK with
 * *ret filled (see ret->outcome), or ERR_INTERNAL/ERR_NOMEM with ei->detail
 * set when the process could not be managed at all. On success the caller
 * frees ret->out with spawn_result_free(). */
int spawn_run(char *const argv[], unsigned timeout_ms, size_t max_out, struct spawn_result *ret,
	      struct err_info *ei);

/* The same with input_len bytes of input on the program's stdin (then end
 * of file), for secrets that must not appear in argv or the environment.
 * At most SPAWN_MAX_INPUT bytes. */
#define SPAWN_MAX_INPUT 4096
int spawn_run_input(char *const argv[], const char *input, size_t input_len, unsigned timeout_ms,
		    size_t max_out, struct spawn_result *ret, struct err_info *ei);

/* Build the argv of a privileged program: `SUDO -n cmd...` when sudo (the
 * path of sudo, normally SPAWN_SUDO_PATH) is not NULL, else cmd itself.
 * argv gets at most max entries including the final NULL; its pointers
 * refer to sudo and cmd. Returns the argument count, or ERR_INTERNAL when it
 * does not fit. */
#define SPAWN_SUDO_PATH "/usr/bin/sudo"
int spawn_build_argv(const char *sudo, const char *const *cmd, const char **argv, size_t max);

void spawn_result_free(struct spawn_result *r);
