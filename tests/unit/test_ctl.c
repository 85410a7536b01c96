/* The control-socket framing (ctl.h): frames read and written over a
 * socketpair, and whole calls against a fake server on a unix socket in a
 * thread, including every way the server can fail to answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "unit.h"

#include "ctl.h"
#include "timefmt.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void put(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void put_header(int fd, uint8_t cmd, uint32_t len)
{
	uint8_t h[CTL_HEADER_LEN];

	h[0] = cmd;
	memcpy(h + 1, &len, 4);
	put(fd, h, sizeof(h));
}

/* ---- ctl_recv / ctl_send --------------------------------------------------------------- */

static void recv_good_frame(void **state)
{
	struct ctl_msg m;
	int sv[2];

	(void)state;
	pair(sv);
	put_header(sv[1], CTL_REP_USER_LIST, 3);
	put(sv[1], "\x08\x01\x10", 3);
	assert_int_equal(ctl_recv(sv[0], 1024, ctl_deadline(1000), &m, NULL), 0);
	assert_int_equal(m.cmd, CTL_REP_USER_LIST);
	assert_int_equal(m.len, 3);
	assert_memory_equal(m.payload, "\x08\x01\x10", 3);
	ctl_msg_free(&m);
	assert_null(m.payload);
	/* an empty message: no payload at all */
	put_header(sv[1], CTL_REP_RELOAD, 0);
	assert_int_equal(ctl_recv(sv[0], 1024, -1, &m, NULL), 0);
	assert_int_equal(m.cmd, CTL_REP_RELOAD);
	assert_int_equal(m.len, 0);
	assert_null(m.payload);
	close(sv[0]);
	close(sv[1]);
}

/* A frame that arrives a byte at a time is still one frame. */
static void *dribble(void *arg)
{
	int fd = *(int *)arg;
	uint8_t frame[] = {CTL_REP_STATUS, 2, 0, 0, 0, 0x08, 0x01};

	for (size_t i = 0; i < sizeof(frame); i++) {
		(void)!write(fd, frame + i, 1);
		poll(NULL, 0, 5);
	}
	return NULL;
}

static void recv_in_pieces(void **state)
{
	struct ctl_msg m;
	pthread_t th;
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(pthread_create(&th, NULL, dribble, &sv[1]), 0);
	assert_int_equal(ctl_recv(sv[0], 1024, ctl_deadline(2000), &m, NULL), 0);
	pthread_join(th, NULL);
	assert_int_equal(m.len, 2);
	ctl_msg_free(&m);
	close(sv[0]);
	close(sv[1]);
}

static void recv_truncated(void **state)
{
	struct err_info ei = {0};
	struct ctl_msg m;
	int sv[2];

	(void)state;
	/* header cut short */
	pair(sv);
	put(sv[1], "\x68\x02", 2);
	close(sv[1]);
	assert_int_equal(ctl_recv(sv[0], 1024, ctl_deadline(1000), &m, &ei), ERR_CTL_PROTOCOL);
	assert_non_null(strstr(ei.detail, "header"));
	close(sv[0]);
	/* payload cut short */
	pair(sv);
	put_header(sv[1], CTL_REP_USER_LIST, 10);
	put(sv[1], "abc", 3);
	close(sv[1]);
	assert_int_equal(ctl_recv(sv[0], 1024, ctl_deadline(1000), &m, &ei), ERR_CTL_PROTOCOL);
	assert_non_null(strstr(ei.detail, "truncated at 3 of 10"));
	close(sv[0]);
}

static void recv_oversized(void **state)
{
	struct err_info ei = {0};
	struct ctl_msg m;
	int sv[2];

	(void)state;
	pair(sv);
	put_header(sv[1], CTL_REP_USER_LIST, 0xfffffff0u);
	assert_int_equal(ctl_recv(sv[0], CTL_MAX_REPLY, ctl_deadline(1000), &m, &ei),
			 ERR_CTL_PROTOCOL);
	assert_non_null(strstr(ei.detail, "exceeds"));
	close(sv[0]);
	close(sv[1]);
	/* the caller's bound, not only the global one */
	pair(sv);
	put_header(sv[1], CTL_REP_USER_LIST, 11);
	assert_int_equal(ctl_recv(sv[0], 10, ctl_deadline(1000), &m, NULL), ERR_CTL_PROTOCOL);
	close(sv[0]);
	close(sv[1]);
}

static void recv_closed_without_reply(void **state)
{
	struct err_info ei = {0};
	struct ctl_msg m;
	int sv[2];

	(void)state;
	pair(sv);
	close(sv[1]);
	assert_int_equal(ctl_recv(sv[0], 1024, ctl_deadline(1000), &m, &ei), ERR_NOT_SUPPORTED);
	assert_non_null(strstr(ei.detail, "closed without reply"));
	close(sv[0]);
}

static void recv_timeout(void **state)
{
	struct ctl_msg m;
	int64_t t0 = timefmt_mono_ms(), dt;
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(ctl_recv(sv[0], 1024, ctl_deadline(150), &m, NULL), ERR_OCCTL_TIMEOUT);
	dt = timefmt_mono_ms() - t0;
	assert_true(dt >= 140 && dt < 1000);
	/* half a frame, then silence: still the deadline */
	put_header(sv[1], CTL_REP_USER_LIST, 10);
	assert_int_equal(ctl_recv(sv[0], 1024, ctl_deadline(100), &m, NULL), ERR_OCCTL_TIMEOUT);
	close(sv[0]);
	close(sv[1]);
}

static void send_frames(void **state)
{
	uint8_t buf[CTL_MAX_REQUEST + 8], big[CTL_MAX_REQUEST];
	uint32_t len;
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(ctl_send(sv[0], CTL_CMD_USER_INFO,
				  (const uint8_t *)"\x0a\x03"
						   "bob",
				  5, ctl_deadline(1000), NULL),
			 0);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 10);
	assert_int_equal(buf[0], CTL_CMD_USER_INFO);
	memcpy(&len, buf + 1, 4);
	assert_int_equal(len, 5); /* host byte order, as ocserv reads it */
	assert_memory_equal(buf + 5,
			    "\x0a\x03"
			    "bob",
			    5);
	assert_int_equal(ctl_send(sv[0], CTL_CMD_STATUS, NULL, 0, ctl_deadline(1000), NULL), 0);
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 5);
	/* ocserv drops requests over 256 bytes: refused before anything is written */
	memset(big, 'x', sizeof(big));
	assert_int_equal(ctl_send(sv[0], CTL_CMD_USER_INFO, big,
				  CTL_MAX_REQUEST - CTL_HEADER_LEN + 1, ctl_deadline(1000), NULL),
			 ERR_BAD_REQUEST);
	assert_int_equal(ctl_send(sv[0], CTL_CMD_USER_INFO, big, CTL_MAX_REQUEST - CTL_HEADER_LEN,
				  ctl_deadline(1000), NULL),
			 0);
	close(sv[0]);
	close(sv[1]);
}

/* ---- connect and whole calls against a fake server ------------------------------------- */

enum fake_mode { FAKE_ANSWER, FAKE_CLOSE, FAKE_WRONG_CODE, FAKE_SILENT };

struct fake {
	char dir[64], path[100];
	int lfd;
	enum fake_mode mode;
	pthread_t th;
	uint8_t last_cmd;
};

static void *fake_main(void *arg)
{
	struct fake *fk = arg;
	uint8_t hdr[CTL_HEADER_LEN], body[CTL_MAX_REQUEST];
	int fd;

	while ((fd = accept(fk->lfd, NULL, NULL)) >= 0) {
		uint32_t len = 0;
		if (read(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr)) {
			memcpy(&len, hdr + 1, 4);
			if (len > 0 && len <= sizeof(body))
				(void)!read(fd, body, len);
			fk->last_cmd = hdr[0];
		}
		if (fk->mode == FAKE_ANSWER || fk->mode == FAKE_WRONG_CODE) {
			uint8_t rep[] = {fk->mode == FAKE_ANSWER ? CTL_REP_STATUS : CTL_REP_RELOAD,
					 2,
					 0,
					 0,
					 0,
					 0x08,
					 0x01};
			(void)!write(fd, rep, sizeof(rep));
		} else if (fk->mode == FAKE_SILENT) {
			poll(NULL, 0, 400);
		}
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *fk, enum fake_mode mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(fk, 0, sizeof(*fk));
	fk->mode = mode;
	assert_non_null(unit_mkdtemp(fk->dir, sizeof(fk->dir), "ctl"));
	unit_join(fk->path, sizeof(fk->path), fk->dir, "occtl.socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fk->path);
	fk->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk->lfd, 8), 0);
	assert_int_equal(pthread_create(&fk->th, NULL, fake_main, fk), 0);
}

static void fake_stop(struct fake *fk)
{
	shutdown(fk->lfd, SHUT_RDWR);
	close(fk->lfd);
	pthread_join(fk->th, NULL);
	unit_rmtree(fk->dir);
}

static void call_answered(void **state)
{
	struct fake fk;
	struct ctl_msg m;

	(void)state;
	fake_start(&fk, FAKE_ANSWER);
	assert_int_equal(ctl_call(fk.path, CTL_CMD_STATUS, NULL, 0, CTL_REP_STATUS, 1000, &m, NULL),
			 0);
	assert_int_equal(m.cmd, CTL_REP_STATUS);
	assert_int_equal(m.len, 2);
	assert_int_equal(fk.last_cmd, CTL_CMD_STATUS);
	ctl_msg_free(&m);
	/* the reply of another command is a protocol error */
	assert_int_equal(ctl_call(fk.path, CTL_CMD_RELOAD, NULL, 0, CTL_REP_RELOAD, 1000, &m, NULL),
			 ERR_CTL_PROTOCOL);
	fake_stop(&fk);
}

static void call_unsupported(void **state)
{
	struct fake fk;
	struct ctl_msg m;

	(void)state;
	fake_start(&fk, FAKE_CLOSE);
	assert_int_equal(ctl_call(fk.path, CTL_CMD_TERMINATE_USER, (const uint8_t *)"\x0a\x01x", 3,
				  CTL_REP_TERMINATE_USER, 1000, &m, NULL),
			 ERR_NOT_SUPPORTED);
	assert_int_equal(fk.last_cmd, CTL_CMD_TERMINATE_USER);
	fake_stop(&fk);
}

static void call_timeout(void **state)
{
	struct fake fk;
	struct ctl_msg m;
	int64_t t0;

	(void)state;
	fake_start(&fk, FAKE_SILENT);
	t0 = timefmt_mono_ms();
	assert_int_equal(ctl_call(fk.path, CTL_CMD_STATUS, NULL, 0, CTL_REP_STATUS, 100, &m, NULL),
			 ERR_OCCTL_TIMEOUT);
	assert_true(timefmt_mono_ms() - t0 < 350);
	fake_stop(&fk);
}

static void connect_no_server(void **state)
{
	struct err_info ei = {0};
	char dir[64], path[100];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ctl_msg m;
	int fd;

	(void)state;
	/* no socket file */
	assert_int_equal(ctl_connect("/nonexistent/dir/occtl.socket", ctl_deadline(500), &ei),
			 ERR_UNREACHABLE);
	assert_non_null(strstr(ei.detail, "No such file"));
	assert_int_equal(ctl_call("/nonexistent/occtl.socket", CTL_CMD_STATUS, NULL, 0,
				  CTL_REP_STATUS, 500, &m, NULL),
			 ERR_UNREACHABLE);
	/* a socket file nobody listens on: ocserv gone, file left behind */
	assert_non_null(unit_mkdtemp(dir, sizeof(dir), "ctl"));
	unit_join(path, sizeof(path), dir, "occtl.socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(ctl_connect(path, ctl_deadline(500), &ei), ERR_UNREACHABLE);
	assert_non_null(strstr(ei.detail, "refused"));
	unit_rmtree(dir);
	/* a path that cannot be a socket address */
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(ctl_connect(longpath, ctl_deadline(500), NULL), ERR_UNREACHABLE);
}

/* A server whose backlog is full (its main loop busy): connect gives up at
 * the deadline instead of hanging. */
static void connect_backlog_full(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[64], path[100];
	int lfd, held[8], nheld = 0, r = 0;
	int64_t t0;

	(void)state;
	assert_non_null(unit_mkdtemp(dir, sizeof(dir), "ctl"));
	unit_join(path, sizeof(path), dir, "occtl.socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	/* fill the backlog: connections nobody accepts */
	while (nheld < 8 && (r = ctl_connect(path, ctl_deadline(50), NULL)) >= 0)
		held[nheld++] = r;
	assert_int_equal(r, ERR_UNREACHABLE);
	t0 = timefmt_mono_ms();
	assert_int_equal(ctl_connect(path, ctl_deadline(200), NULL), ERR_UNREACHABLE);
	assert_true(timefmt_mono_ms() - t0 >= 190);
	while (nheld > 0)
		close(held[--nheld]);
	close(lfd);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recv_good_frame),
		cmocka_unit_test(recv_in_pieces),
		cmocka_unit_test(recv_truncated),
		cmocka_unit_test(recv_oversized),
		cmocka_unit_test(recv_closed_without_reply),
		cmocka_unit_test(recv_timeout),
		cmocka_unit_test(send_frames),
		cmocka_unit_test(call_answered),
		cmocka_unit_test(call_unsupported),
		cmocka_unit_test(call_timeout),
		cmocka_unit_test(connect_no_server),
		cmocka_unit_test(connect_backlog_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
