#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "timefmt.h"

/* A full listen backlog makes a non-blocking connect on a unix socket fail
 * with EAGAIN at once (there is no EINPROGRESS for AF_UNIX): retry this
 * often until the deadline. */
#define CONNECT_RETRY_MS 5

void ctl_msg_free(struct ctl_msg *m)
{
	if (m == NULL)
		return;
	free(m->payload);
	m->payload = NULL;
	m->len = 0;
}

int64_t ctl_deadline(unsigned timeout_ms)
{
	return timefmt_mono_ms() + (int64_t)timeout_ms;
}

/* Milliseconds left before deadline for poll(): -1 (forever) for a negative
 * deadline, 0 once it has passed. */
static int remaining_ms(int64_t deadline_ms)
{
	int64_t left;

	if (deadline_ms < 0)
		return -1;
	left = deadline_ms - timefmt_mono_ms();
	if (left <= 0)
		return 0;
	return left > 60 * 60 * 1000 ? 60 * 60 * 1000 : (int)left;
}

/* Wait until fd is ready for events. 0, ERR_OCCTL_TIMEOUT, ERR_OCCTL_FAILED. */
static int wait_fd(int fd, short events, int64_t deadline_ms, struct err_info *ei)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int ms = remaining_ms(deadline_ms);
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return err_set(ei, ERR_OCCTL_TIMEOUT, "control socket: no answer in time");
		if (errno != EINTR)
			return err_set(ei, ERR_OCCTL_FAILED, "control socket: poll: %s",
				       strerror(errno));
	}
}

static bool no_server(int e)
{
	return e == ENOENT || e == ECONNREFUSED || e == EACCES || e == EPERM || e == ENOTDIR ||
	       e == ENOTSOCK || e == EPROTOTYPE;
}

int ctl_connect(const char *path, int64_t deadline_ms, struct err_info *ei)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(ei, ERR_UNREACHABLE, "control socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(ei, ERR_OCCTL_FAILED, "socket: %s", strerror(errno));
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		int e = errno;
		if (e == EINTR)
			continue;
		if ((e == EAGAIN || e == EINPROGRESS) && remaining_ms(deadline_ms) != 0) {
			/* Backlog full: ocserv's main loop is busy. */
			poll(NULL, 0, CONNECT_RETRY_MS);
			continue;
		}
		close(fd);
		if (e == EAGAIN || e == EINPROGRESS)
			return err_set(ei, ERR_UNREACHABLE, "%s: not accepting connections in time",
				       path);
		return err_set(ei, no_server(e) ? ERR_UNREACHABLE : ERR_OCCTL_FAILED, "%s: %s",
			       path, strerror(e));
	}
}

int ctl_send(int fd, uint8_t cmd, const uint8_t *payload, size_t len, int64_t deadline_ms,
	     struct err_info *ei)
{
	uint8_t buf[CTL_MAX_REQUEST];
	uint32_t len32 = (uint32_t)len;
	size_t total = CTL_HEADER_LEN + len, off = 0;

	if (len > CTL_MAX_REQUEST - CTL_HEADER_LEN)
		return err_set(ei, ERR_BAD_REQUEST, "control request of %zu bytes is too large",
			       len);
	/* One buffer, one write: ocserv reads header and body in one go. */
	buf[0] = cmd;
	memcpy(buf + 1, &len32, sizeof(len32)); /* host byte order, as ocserv */
	if (len > 0)
		memcpy(buf + CTL_HEADER_LEN, payload, len);
	while (off < total) {
		ssize_t n = send(fd, buf + off, total - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(fd, POLLOUT, deadline_ms, ei);
			if (r < 0)
				return r;
			continue;
		}
		return err_set(ei, ERR_OCCTL_FAILED, "control socket: send: %s",
			       n < 0 ? strerror(errno) : "nothing written");
	}
	return 0;
}

/* Read exactly len bytes into buf. *got says how many arrived (for telling
 * "closed before anything" from "closed midway"). 0 on success; 1 when the
 * peer closed first; else an error. */
static int read_full(int fd, uint8_t *buf, size_t len, size_t *got, int64_t deadline_ms,
		     struct err_info *ei)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = recv(fd, buf + *got, len - *got, MSG_DONTWAIT);
		if (n > 0) {
			*got += (size_t)n;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = wait_fd(fd, POLLIN, deadline_ms, ei);
			if (r < 0)
				return r;
			continue;
		}
		/* A unix socket closed with our request unread reports a reset
		 * instead of an end of file: the same "closed" to us. */
		if (errno == ECONNRESET)
			return 1;
		return err_set(ei, ERR_OCCTL_FAILED, "control socket: recv: %s", strerror(errno));
	}
	return 0;
}

int ctl_recv(int fd, size_t max, int64_t deadline_ms, struct ctl_msg *ret, struct err_info *ei)
{
	uint8_t hdr[CTL_HEADER_LEN];
	struct ctl_msg m = {0};
	size_t got;
	int r = read_full(fd, hdr, sizeof(hdr), &got, deadline_ms, ei);

	if (r == 1 && got == 0)
		return err_set(ei, ERR_NOT_SUPPORTED,
			       "control socket closed without reply (command not supported)");
	if (r == 1)
		return err_set(ei, ERR_CTL_PROTOCOL, "control reply header truncated at %zu bytes",
			       got);
	if (r < 0)
		return r;
	m.cmd = hdr[0];
	memcpy(&m.len, hdr + 1, sizeof(m.len));
	if (m.len > max)
		return err_set(ei, ERR_CTL_PROTOCOL, "control reply of %u bytes exceeds %zu", m.len,
			       max);
	if (m.len > 0) {
		m.payload = malloc(m.len);
		if (m.payload == NULL)
			return err_set(ei, ERR_NOMEM, "out of memory");
		r = read_full(fd, m.payload, m.len, &got, deadline_ms, ei);
		if (r != 0) {
			free(m.payload);
			return r == 1 ? err_set(ei, ERR_CTL_PROTOCOL,
						"control reply truncated at %zu of %u bytes", got,
						m.len)
				      : r;
		}
	}
	*ret = m;
	return 0;
}

int ctl_call(const char *path, uint8_t cmd, const uint8_t *payload, size_t len, uint8_t expect_rep,
	     unsigned timeout_ms, struct ctl_msg *ret, struct err_info *ei)
{
	int64_t deadline = ctl_deadline(timeout_ms);
	struct ctl_msg m;
	int fd = ctl_connect(path, deadline, ei);
	int r;

	if (fd < 0)
		return fd;
	r = ctl_send(fd, cmd, payload, len, deadline, ei);
	if (r == 0)
		r = ctl_recv(fd, CTL_MAX_REPLY, deadline, &m, ei);
	close(fd);
	if (r < 0)
		return r;
	if (m.cmd != expect_rep) {
		ctl_msg_free(&m);
		return err_set(ei, ERR_CTL_PROTOCOL, "control reply %u to command %u, expected %u",
			       m.cmd, cmd, expect_rep);
	}
	*ret = m;
	return 0;
}
