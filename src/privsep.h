/* Privilege separation: how one ocserv-agent becomes two processes
 * (ARCHITECTURE.md). The root process keeps root and does only what
 * priv_ops.h allows; the api process serves HTTP(S) as AGENT_USER with no
 * capabilities, no way to gain any (no_new_privs), and a syscall filter
 * (sandbox.h). They share a socketpair; each notices the other's death:
 * the root process through SIGCHLD and the socket's end, the api process
 * through the socket's end and PR_SET_PDEATHSIG. Either way the survivor
 * exits non-zero, so systemd restarts the whole service. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/* The api process's name in ps (comm, at most 15 bytes). */
#define PRIVSEP_API_COMM "ocserv-agent-a"

struct privsep_user {
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Look up AGENT_USER. It must exist and not be root (uid 0 or gid 0).
 * ERR_BAD_REQUEST with the reason in ei. */
int privsep_lookup(const char *name, struct privsep_user *ret, struct err_info *ei);

/* Fork the api process with a socketpair between the two. In the parent
 * returns the child's pid (> 0) and its end in *fd; in the child returns 0
 * and the child's end in *fd. Negative ERR_* on failure (ei). */
pid_t privsep_fork(int *fd, struct err_info *ei);

/* In the api process, after it bound its sockets: drop to u for good
 * (supplementary groups, gid, uid; then check root cannot be regained),
 * empty every capability set including the bounding and ambient sets,
 * set no_new_privs, make the process undumpable, and ask for SIGKILL when
 * the root process dies (checking it did not die already). ERR_INTERNAL
 * with the failed step in ei: the caller must exit then. */
int privsep_drop(const struct privsep_user *u, pid_t root_pid, struct err_info *ei);

/* A listening TCP socket on host (an IPv4 or IPv6 literal) and port, made
 * while still root so that a port below 1024 works; non-blocking,
 * close-on-exec, SO_REUSEADDR, IPv6 only for an IPv6 host. The fd, or a
 * negative ERR_* with ei. */
int privsep_listen(const char *host, unsigned port, struct err_info *ei);

/* The api process's own writable directory, state_dir/api: created 0700
 * and owned by u (never through a symlink); the revoked-sessions file of
 * an agent that ran in one process is moved into it. Its path goes to out.
 * The root process never writes into it after the api process started. */
int privsep_state_dir(const char *state_dir, const struct privsep_user *u, char *out, size_t len,
		      struct err_info *ei);
