/* The framing of ocserv's control socket (the one occtl speaks; see
 * OCSERV-FACTS.md): one request per connection, each message a command
 * byte, a 4-byte length in host byte order and a protobuf payload
 * (ctl.proto). The server answers and closes, except for the events
 * subscription (CTL_CMD_TOP), which stays open.
 *
 * Only framing and socket I/O live here; message meaning is in
 * ctl_backend.c and ctl_events.c. Every read is bounded in size
 * (CTL_MAX_REPLY) and every call in time. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum ctl_cmd {
	CTL_CMD_STATUS = 1,
	CTL_CMD_RELOAD = 2,
	CTL_CMD_STOP = 3,
	CTL_CMD_LIST = 4,
	CTL_CMD_USER_INFO = 5,
	CTL_CMD_ID_INFO = 6,
	CTL_CMD_DISCONNECT_NAME = 7,
	CTL_CMD_DISCONNECT_ID = 8,
	CTL_CMD_LIST_BANNED = 9,
	CTL_CMD_UNBAN_IP = 10,
	CTL_CMD_TOP = 11,
	CTL_CMD_LIST_COOKIES = 12,
	CTL_CMD_TERMINATE_USER = 13,	/* 1.4.2+ */
	CTL_CMD_TERMINATE_ID = 14,	/* 1.4.2+ */
	CTL_CMD_TERMINATE_SESSION = 15, /* 1.4.2+ */
};

enum ctl_rep {
	CTL_REP_STATUS = 101,
	CTL_REP_RELOAD = 102,
	CTL_REP_STOP = 103,
	CTL_REP_USER_LIST = 104,
	CTL_REP_DISCONNECT_NAME = 105,
	CTL_REP_DISCONNECT_ID = 106,
	CTL_REP_UNBAN_IP = 107,
	CTL_REP_BAN_LIST = 108,
	CTL_REP_TOP_UPDATE = 109,
	CTL_REP_COOKIE_LIST = 110,
	CTL_REP_TERMINATE_USER = 111,
	CTL_REP_TERMINATE_ID = 112,
	CTL_REP_TERMINATE_SESSION = 113,
};

#define CTL_HEADER_LEN	5
#define CTL_MAX_REQUEST 256		    /* ocserv drops larger requests */
#define CTL_MAX_REPLY	(16u * 1024 * 1024) /* like OCCTL_MAX_OUTPUT */

/* One framed message as read from the socket; payload is malloc'd (NULL
 * when len is 0) and owned by whoever holds the struct (ctl_msg_free). */
struct ctl_msg {
	uint8_t cmd;
	uint32_t len;
	uint8_t *payload;
};

void ctl_msg_free(struct ctl_msg *m);

/* Connect to the control socket at path, with the deadline deadline_ms
 * (CLOCK_MONOTONIC milliseconds, see ctl_deadline()). Returns the fd, or
 * ERR_UNREACHABLE when there is no server (ENOENT, ECONNREFUSED), the agent
 * may not connect (EACCES: only root may) or the deadline passed. The fd
 * is non-blocking and close-on-exec; the caller closes it. */
int ctl_connect(const char *path, int64_t deadline_ms, struct err_info *ei);

/* CLOCK_MONOTONIC now + timeout_ms, in milliseconds. */
int64_t ctl_deadline(unsigned timeout_ms);

/* Write one request (payload may be NULL when len is 0). len must be at
 * most CTL_MAX_REQUEST - CTL_HEADER_LEN (ERR_BAD_REQUEST otherwise). */
int ctl_send(int fd, uint8_t cmd, const uint8_t *payload, size_t len, int64_t deadline_ms,
	     struct err_info *ei);

/* Read one framed message (fd blocking or not: every wait is a poll()).
 * ERR_NOT_SUPPORTED when the server closed the connection before sending any byte (ocserv's answer to a command it does
 * not know); ERR_CTL_PROTOCOL for a truncated frame or a length over max;
 * ERR_OCCTL_TIMEOUT when the deadline passes; ERR_OCCTL_FAILED on other
 * socket errors. deadline_ms < 0 waits without a deadline. */
int ctl_recv(int fd, size_t max, int64_t deadline_ms, struct ctl_msg *ret, struct err_info *ei);

/* A whole exchange: connect, send, read one reply, close. A reply whose
 * command is not expect_rep is ERR_CTL_PROTOCOL. */
int ctl_call(const char *path, uint8_t cmd, const uint8_t *payload, size_t len, uint8_t expect_rep,
	     unsigned timeout_ms, struct ctl_msg *ret, struct err_info *ei);
