#include "subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timefmt.h"

#define SPAWN_TERM_GRACE_MS 500

static char *const spawn_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};

struct capture {
	int out_fd, err_fd;
	char *out;
	size_t out_len, out_cap, max_out;
	size_t err_len;
	char *err; /* points into the result's fixed buffer */
	size_t err_cap;
};

static int setup_actions(posix_spawn_file_actions_t *fa, int in_r, int out_w, int err_w)
{
	if (posix_spawn_file_actions_init(fa) != 0)
		return -1;
	if ((in_r >= 0 ? posix_spawn_file_actions_adddup2(fa, in_r, 0)
		       : posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, out_w, 1) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, err_w, 2) != 0 ||
	    posix_spawn_file_actions_addclosefrom_np(fa, 3) != 0) {
		posix_spawn_file_actions_destroy(fa);
		return -1;
	}
	return 0;
}

/* The daemon blocks signals in its threads and ignores SIGPIPE; both would
 * survive exec, so the child gets an empty mask and SIGPIPE's default back.
 * (Caught signals revert by themselves; resetting all 64 costs time.) */
static int setup_attrs(posix_spawnattr_t *at)
{
	sigset_t none, dfl;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	if (posix_spawnattr_init(at) != 0)
		return -1;
	if (posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						 POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(at, 0) != 0 || posix_spawnattr_setsigmask(at, &none) != 0 ||
	    posix_spawnattr_setsigdefault(at, &dfl) != 0) {
		posix_spawnattr_destroy(at);
		return -1;
	}
	return 0;
}

/* Read what is available on fd into the capture. Returns 1 at EOF, 0 when
 * more may come, -1 when stdout passed its cap, ERR_NOMEM on allocation. */
static int drain(struct capture *c, int fd)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (n == 0)
		return 1;
	if (fd == c->err_fd) {
		size_t room = c->err_cap - 1 - c->err_len;
		size_t k = (size_t)n < room ? (size_t)n : room;
		memcpy(c->err + c->err_len, buf, k);
		c->err_len += k;
		c->err[c->err_len] = '\0';
		return 0;
	}
	if (c->out_len + (size_t)n > c->max_out)
		return -1;
	if (c->out_len + (size_t)n + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 16384;
		while (cap < c->out_len + (size_t)n + 1) /* doubling, but never past the cap */
			cap = cap * 2 < c->max_out + 1 ? cap * 2 : c->max_out + 1;
		char *p = realloc(c->out, cap);
		if (p == NULL)
			return ERR_NOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, (size_t)n);
	c->out_len += (size_t)n;
	c->out[c->out_len] = '\0';
	return 0;
}

/* Poll both pipes until EOF on both or the deadline. */
static enum spawn_outcome collect(struct capture *c, int64_t deadline, int *nomem)
{
	bool out_open = true, err_open = true;

	while (out_open || err_open) {
		struct pollfd p[2] = {{.fd = out_open ? c->out_fd : -1, .events = POLLIN},
				      {.fd = err_open ? c->err_fd : -1, .events = POLLIN}};
		int64_t left = deadline - timefmt_mono_ms();
		if (left <= 0)
			return SPAWN_TIMED_OUT;
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			return SPAWN_TIMED_OUT;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int r = drain(c, p[i].fd);
			if (r == ERR_NOMEM) {
				*nomem = 1;
				return SPAWN_OUTPUT_TOO_LARGE;
			}
			if (r < 0)
				return SPAWN_OUTPUT_TOO_LARGE;
			if (r == 1)
				*(i == 0 ? &out_open : &err_open) = false;
		}
	}
	return SPAWN_EXITED;
}

/* Reap pid, waiting until the deadline; returns false if still running.
 * A pidfd wakes us the moment the child exits: a sleep-and-retry loop here
 * cost more than the whole occtl run. */
static bool reap(pid_t pid, int64_t deadline, int *status)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		int64_t left = deadline - timefmt_mono_ms();
		if (r == pid || (r < 0 && errno != EINTR) || left <= 0) {
			if (pidfd >= 0)
				close(pidfd);
			return r == pid || (r < 0 && errno != EINTR);
		}
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};
			poll(&p, 1, (int)left);
		} else { /* kernels before 5.3 */
			struct timespec ts = {0, 200 * 1000};
			nanosleep(&ts, NULL);
		}
	}
}

/* End the child's process group. SIGTERM first: when the child is sudo, the
 * command it runs is root's and out of our reach, but sudo relays SIGTERM
 * to it, while a SIGKILL would only orphan it. SIGKILL after a short grace. */
static void kill_group(pid_t pid, int *status)
{
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	if (reap(pid, timefmt_mono_ms() + SPAWN_TERM_GRACE_MS, status))
		return;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

int spawn_run(char *const argv[], unsigned timeout_ms, size_t max_out, struct spawn_result *ret,
	      struct err_info *ei)
{
	return spawn_run_input(argv, NULL, 0, timeout_ms, max_out, ret, ei);
}

/* Put the whole input into a pipe before the child starts: it fits in the
 * pipe's buffer (SPAWN_MAX_INPUT), so writing never waits for the child. */
static int input_pipe(const char *input, size_t len, int in_p[2], struct err_info *ei)
{
	if (input == NULL)
		return 0;
	if (len > SPAWN_MAX_INPUT)
		return err_set(ei, ERR_INTERNAL, "input of %zu bytes is larger than %d", len,
			       SPAWN_MAX_INPUT);
	if (pipe2(in_p, O_CLOEXEC) < 0)
		return err_set(ei, ERR_INTERNAL, "pipe: %s", strerror(errno));
	if (write(in_p[1], input, len) != (ssize_t)len)
		return err_set(ei, ERR_INTERNAL, "writing input: %s", strerror(errno));
	close(in_p[1]);
	in_p[1] = -1;
	return 0;
}

int spawn_run_input(char *const argv[], const char *input, size_t input_len, unsigned timeout_ms,
		    size_t max_out, struct spawn_result *ret, struct err_info *ei)
{
	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, status = 0, nomem = 0, r;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid;
	int64_t deadline = timefmt_mono_ms() + timeout_ms;

	memset(ret, 0, sizeof(*ret));
	if ((r = input_pipe(input, input_len, in_p, ei)) < 0)
		goto out;
	if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		r = err_set(ei, ERR_INTERNAL, "pipe: %s", strerror(errno));
		goto out;
	}
	if (setup_actions(&fa, in_p[0], out_p[1], err_p[1]) < 0) {
		r = err_set(ei, ERR_INTERNAL, "posix_spawn file actions failed");
		goto out;
	}
	if (setup_attrs(&at) < 0) {
		posix_spawn_file_actions_destroy(&fa);
		r = err_set(ei, ERR_INTERNAL, "posix_spawn attributes failed");
		goto out;
	}
	r = posix_spawn(&pid, argv[0], &fa, &at, argv, spawn_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r == ENOENT || r == EACCES || r == ENOEXEC || r == ENOTDIR) {
		ret->outcome = SPAWN_NOT_FOUND;
		r = ERR_OK;
		goto out;
	}
	if (r != 0) {
		r = err_set(ei, ERR_INTERNAL, "posix_spawn %s: %s", argv[0], strerror(r));
		goto out;
	}
	close(out_p[1]);
	close(err_p[1]);
	out_p[1] = err_p[1] = -1;

	struct capture c = {.out_fd = out_p[0],
			    .err_fd = err_p[0],
			    .max_out = max_out,
			    .err = ret->err,
			    .err_cap = sizeof(ret->err)};
	ret->outcome = collect(&c, deadline, &nomem);
	if (ret->outcome != SPAWN_EXITED || !reap(pid, deadline, &status)) {
		if (ret->outcome == SPAWN_EXITED)
			ret->outcome = SPAWN_TIMED_OUT;
		kill_group(pid, &status);
	}
	ret->out = c.out;
	ret->out_len = c.out_len;
	if (ret->out == NULL && !nomem)
		ret->out = calloc(1, 1);
	if (nomem || ret->out == NULL) {
		spawn_result_free(ret);
		r = err_set(ei, ERR_NOMEM, "out of memory reading %s output", argv[0]);
		goto out;
	}
	ret->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r = ERR_OK;
out:
	for (int i = 0; i < 2; i++) {
		if (in_p[i] >= 0)
			close(in_p[i]);
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	return r;
}

void spawn_result_free(struct spawn_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	r->out = NULL;
	r->out_len = 0;
}

int spawn_build_argv(const char *sudo, const char *const *cmd, const char **argv, size_t max)
{
	size_t n = 0, need = (sudo ? 2 : 0) + 1;

	for (size_t i = 0; cmd[i] != NULL; i++)
		need++;
	if (need > max)
		return ERR_INTERNAL;
	if (sudo) {
		argv[n++] = sudo;
		argv[n++] = "-n";
	}
	for (size_t i = 0; cmd[i] != NULL; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	return (int)n;
}
