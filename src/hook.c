#include "hook.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hook_server.h"
#include "timefmt.h"

#define DEFAULT_SOCKET "/run/ocserv-agent/hook.sock"

/* The request: the forwarded variables that are set and printable on one
 * line, then an empty line. */
static size_t build_request(char *buf, size_t cap)
{
	size_t len = 0;

	for (size_t i = 0; HOOK_KEYS[i] != NULL; i++) {
		const char *v = getenv(HOOK_KEYS[i]);
		int n;

		if (v == NULL || strchr(v, '\n') != NULL)
			continue;
		n = snprintf(buf + len, cap - len, "%s=%s\n", HOOK_KEYS[i], v);
		if (n < 0 || (size_t)n >= cap - len - 1)
			break; /* what fits; the agent ignores what it lacks */
		len += (size_t)n;
	}
	buf[len++] = '\n';
	return len;
}

static bool write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		/* The agent may hang up early: EPIPE, not a SIGPIPE that kills
		 * ocserv's script with a non-zero status. */
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Send the request and read the one-line answer within HOOK_TIMEOUT_MS. */
static bool ask(const char *path, const char *req, size_t len, char *ans, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = timefmt_mono_ms() + HOOK_TIMEOUT_MS;
	struct timeval tv = {HOOK_TIMEOUT_MS / 1000, (HOOK_TIMEOUT_MS % 1000) * 1000};
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct stat st;
	size_t got = 0;
	int fd;

	/* The directory belongs to the agent's user and this runs as root:
	 * talk only to a socket there (not through a link to another root
	 * socket) whose listener is the socket's owner. */
	if (strlen(path) >= sizeof(sa.sun_path) || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != st.st_uid ||
	    !write_all(fd, req, len)) {
		close(fd);
		return false;
	}
	while (got < cap - 1 && memchr(ans, '\n', got) == NULL) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int64_t left = deadline - timefmt_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(fd, ans + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	ans[got] = '\0';
	return memchr(ans, '\n', got) != NULL;
}

int hook_main(int argc, char **argv)
{
	const char *path = getenv("AGENT_HOOK_SOCKET"), *reason = getenv("REASON");
	char req[HOOK_MAX_REQUEST], ans[256];
	size_t len;

	if (argc == 3 && strcmp(argv[1], "--socket") == 0) {
		path = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: ocserv-agent hook [--socket PATH]\n");
		return 0; /* a misconfigured hook must not lock everyone out either */
	}
	if (path == NULL || *path == '\0')
		path = DEFAULT_SOCKET;
	len = build_request(req, sizeof(req));
	if (!ask(path, req, len, ans, sizeof(ans))) {
		fprintf(stderr, "ocserv-agent hook: no answer from %s; allowing\n", path);
		return 0;
	}
	if (reason != NULL && strcmp(reason, "connect") == 0 && strncmp(ans, "deny", 4) == 0) {
		fprintf(stderr, "ocserv-agent hook: %s", ans);
		return 1;
	}
	return 0;
}
