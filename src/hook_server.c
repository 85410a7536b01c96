#include "hook_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"

const char *const HOOK_KEYS[] = {
	"REASON",	   "ID",
	"USERNAME",	   "GROUPNAME",
	"VHOST",	   "DEVICE",
	"IP_REAL",	   "IP_REAL_LOCAL",
	"IP_LOCAL",	   "IP_REMOTE",
	"IPV6_LOCAL",	   "IPV6_REMOTE",
	"USER_AGENT",	   "DEVICE_TYPE",
	"DEVICE_PLATFORM", "HOSTNAME",
	"STATS_BYTES_IN",  "STATS_BYTES_OUT",
	"STATS_DURATION",  NULL,
};

struct hook_server {
	int fd, stop_pipe[2];
	char *path;
	pthread_t thread;
	hook_decide_fn *fn;
	void *app;
};

const char *hook_event_get(const struct hook_event *ev, const char *key)
{
	for (size_t i = 0; i < ev->n; i++)
		if (strcmp(ev->var[i].key, key) == 0)
			return ev->var[i].value;
	return NULL;
}

static bool known_key(const char *k, size_t len)
{
	for (size_t i = 0; HOOK_KEYS[i] != NULL; i++)
		if (strlen(HOOK_KEYS[i]) == len && memcmp(HOOK_KEYS[i], k, len) == 0)
			return true;
	return false;
}

static bool has_key(const struct hook_event *ev, const char *k, size_t len)
{
	for (size_t i = 0; i < ev->n; i++)
		if (strlen(ev->var[i].key) == len && memcmp(ev->var[i].key, k, len) == 0)
			return true;
	return false;
}

int hook_event_parse(const char *buf, size_t len, struct hook_event *ev)
{
	const char *p = buf, *end = buf + len;

	memset(ev, 0, sizeof(*ev));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eq;

		if (nl == NULL)
			return ERR_BAD_REQUEST; /* every line ends, the last one empty */
		if (nl == p)
			return 0;
		eq = memchr(p, '=', (size_t)(nl - p));
		if (eq == NULL || memchr(p, '\0', (size_t)(nl - p)) != NULL)
			return ERR_BAD_REQUEST;
		if (known_key(p, (size_t)(eq - p)) && !has_key(ev, p, (size_t)(eq - p))) {
			if (ev->n == HOOK_MAX_VARS)
				return ERR_BAD_REQUEST;
			ev->var[ev->n].key = strndup(p, (size_t)(eq - p));
			ev->var[ev->n].value = strndup(eq + 1, (size_t)(nl - eq - 1));
			ev->n++;
			if (ev->var[ev->n - 1].key == NULL || ev->var[ev->n - 1].value == NULL)
				return ERR_NOMEM;
		}
		p = nl + 1;
	}
	return ERR_BAD_REQUEST; /* no empty line: cut short */
}

void hook_event_free(struct hook_event *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->var[i].key);
		free(ev->var[i].value);
	}
	ev->n = 0;
}

/* Read until the empty line that ends a request, HOOK_MAX_REQUEST bytes,
 * end of file or the deadline. Returns the length or -1. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
	int64_t deadline = timefmt_mono_ms() + HOOK_IO_TIMEOUT_MS;
	size_t len = 0;

	while (len < cap) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int64_t left = deadline - timefmt_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? (ssize_t)len : -1;
		len += (size_t)n;
		if ((len == 1 && buf[0] == '\n') ||
		    (len >= 2 && memcmp(buf + len - 2, "\n\n", 2) == 0))
			return (ssize_t)len;
	}
	return -1;
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t l = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void serve_one(struct hook_server *hs, int fd)
{
	char buf[HOOK_MAX_REQUEST], why[128] = "", reply[160];
	struct hook_event ev;
	ssize_t len;
	bool allow;
	int r;

	if (!peer_allowed(fd)) {
		log_msg(LOG_WARNING, NULL, "hook: refused a connection from another user");
		return;
	}
	len = read_request(fd, buf, sizeof(buf));
	r = len < 0 ? ERR_BAD_REQUEST : hook_event_parse(buf, (size_t)len, &ev);
	if (r < 0) {
		log_msg(LOG_WARNING, NULL, "hook: malformed or incomplete request");
		if (len >= 0)
			hook_event_free(&ev);
		return;
	}
	allow = hs->fn(hs->app, &ev, why, sizeof(why));
	hook_event_free(&ev);
	snprintf(reply, sizeof(reply), "%s%s%s\n", allow ? "allow" : "deny", why[0] ? " " : "",
		 why);
	/* The hook waits at most HOOK_TIMEOUT_MS: a failed write just means it left. */
	(void)!send(fd, reply, strlen(reply), MSG_NOSIGNAL);
}

static void *loop(void *arg)
{
	struct hook_server *hs = arg;

	for (;;) {
		struct pollfd pfd[2] = {{hs->fd, POLLIN, 0}, {hs->stop_pipe[0], POLLIN, 0}};
		int c;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, NULL, "hook: poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[1].revents != 0)
			return NULL;
		c = accept4(hs->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			/* Out of descriptors: the socket stays readable; pause
			 * instead of spinning (and still notice a stop). */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				poll(&pfd[1], 1, 100);
			continue;
		}
		serve_one(hs, c);
		close(c);
	}
}

static int listen_on(const char *path, struct err_info *ei)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)];
	struct stat st;
	char *slash;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(ei, ERR_INTERNAL, "hook socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return err_set(ei, ERR_INTERNAL, "mkdir %s: %s", dir, strerror(errno));
	}
	/* Replace a socket left by a previous run, never any other file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(ei, ERR_INTERNAL, "%s exists and is not a socket", path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(ei, ERR_INTERNAL, "socket: %s", strerror(errno));
	mode_t old = umask(0177);
	int b = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (b < 0 || listen(fd, 64) < 0) {
		err_set(ei, ERR_INTERNAL, "listen on %s: %s", path, strerror(errno));
		close(fd);
		return ERR_INTERNAL;
	}
	return fd;
}

struct hook_server *hook_server_start(const char *path, hook_decide_fn *fn, void *app,
				      struct err_info *ei)
{
	struct hook_server *hs = calloc(1, sizeof(*hs));

	if (hs == NULL) {
		err_set(ei, ERR_NOMEM, "out of memory");
		return NULL;
	}
	hs->fn = fn;
	hs->app = app;
	hs->stop_pipe[0] = hs->stop_pipe[1] = -1;
	hs->fd = listen_on(path, ei);
	if (hs->fd < 0 || (hs->path = strdup(path)) == NULL ||
	    pipe2(hs->stop_pipe, O_CLOEXEC) < 0 ||
	    pthread_create(&hs->thread, NULL, loop, hs) != 0) {
		if (hs->fd >= 0) {
			err_set(ei, ERR_INTERNAL, "cannot start the hook thread");
			close(hs->fd);
			unlink(path);
		}
		for (int i = 0; i < 2; i++)
			if (hs->stop_pipe[i] >= 0)
				close(hs->stop_pipe[i]);
		free(hs->path);
		free(hs);
		return NULL;
	}
	return hs;
}

void hook_server_stop(struct hook_server *hs)
{
	if (hs == NULL)
		return;
	(void)!write(hs->stop_pipe[1], "x", 1);
	pthread_join(hs->thread, NULL);
	close(hs->fd);
	close(hs->stop_pipe[0]);
	close(hs->stop_pipe[1]);
	unlink(hs->path);
	free(hs->path);
	free(hs);
}
