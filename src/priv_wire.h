/* The frames that cross the socketpair between the api process and the
 * root process (priv_client.c, priv_server.c). One frame:
 *
 *   header (PRIV_HDR_LEN bytes, little-endian):
 *     u32 magic   PRIV_MAGIC
 *     u16 kind    enum priv_kind
 *     u16 op      enum priv_op (CALL, REPLY), 0 otherwise
 *     u32 seq     the call's number; its REPLY carries the same; 0 otherwise
 *     i32 status  REPLY: 0 or an ERR_*; 0 otherwise
 *     u32 len     payload bytes that follow
 *     char request_id[REQUEST_ID_LEN]  NUL-terminated, NUL-padded;
 *                 [A-Za-z0-9._-] only ("" allowed)
 *   payload: len bytes of JSON text, one object:
 *     CALL:  the arguments
 *     REPLY: {"result": ...} on success;
 *            {"message": s, "detail": s, "extra": obj?, "retryAfter": n?} on failure
 *     EVENT: an ocserv event (events.h: event_to_json)
 *     TLS:   {"cert": s, "key": s, "clientCa": s?} (PEM; root → api on SIGHUP)
 *
 * Directions: CALL api → root; REPLY, EVENT, TLS root → api. A frame that
 * breaks any rule here (magic, kind, direction, op, sizes, request id, the
 * payload not being one JSON object within the depth limit, with no NUL
 * byte and nothing after it) is malformed: the receiver stops reading and
 * ends the sender. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "priv.h"
#include "request_id.h"

#define PRIV_MAGIC   0x3150414fu /* "OAP1" */
#define PRIV_HDR_LEN (4 + 2 + 2 + 4 + 4 + 4 + REQUEST_ID_LEN)
#define PRIV_MAX_CALL \
	(32u << 20)		   /* api → root payload bytes: a body of
				      AGENT_MAX_BODY_BYTES (4 MiB at most),
				      escaped as JSON (6 bytes a byte at most) */
#define PRIV_MAX_REPLY (64u << 20) /* root → api payload bytes */
#define PRIV_MAX_DEPTH 64	   /* JSON nesting of a payload */

enum priv_kind {
	PRIV_KIND_CALL = 1,
	PRIV_KIND_REPLY = 2,
	PRIV_KIND_EVENT = 3,
	PRIV_KIND_TLS = 4,
};

struct priv_frame {
	enum priv_kind kind;
	enum priv_op op;
	uint32_t seq;
	int32_t status;
	char request_id[REQUEST_ID_LEN];
	json_t *payload; /* owned by the frame */
};

/* Decode a header (exactly PRIV_HDR_LEN bytes). from_api: the frame is
 * read by the root side (only CALL allowed, PRIV_MAX_CALL), else by the api
 * side. On success fills f (payload NULL) and *len. ERR_PRIV_PROTOCOL with
 * the reason in ei otherwise. */
int priv_wire_decode_header(const uint8_t *buf, bool from_api, struct priv_frame *f, uint32_t *len,
			    struct err_info *ei);

/* Parse a payload of len bytes into f->payload (see the rules above).
 * ERR_PRIV_PROTOCOL with the reason in ei, or ERR_NOMEM. */
int priv_wire_decode_payload(const uint8_t *buf, size_t len, struct priv_frame *f,
			     struct err_info *ei);

/* Encode f (payload required) as one malloc'd buffer (*out, *out_len),
 * ready to write. ERR_NOMEM, or ERR_PRIV_PROTOCOL when it would break the
 * rules (the payload too large: the caller then sends an error reply). */
int priv_wire_encode(const struct priv_frame *f, uint8_t **out, size_t *out_len,
		     struct err_info *ei);

/* Read one whole frame from fd (blocking; EINTR retried): header, then
 * payload. 0 on success (f is overwritten: clear it before); 1 at a clean
 * end of stream before a header; ERR_PRIV_PROTOCOL for a malformed frame
 * or a stream cut inside one; ERR_INTERNAL for a read error, ERR_NOMEM. */
int priv_wire_read(int fd, bool from_api, struct priv_frame *f, struct err_info *ei);

/* Write a whole buffer (EINTR retried, MSG_NOSIGNAL). 0 or ERR_INTERNAL. */
int priv_wire_write(int fd, const uint8_t *buf, size_t len, struct err_info *ei);

void priv_frame_clear(struct priv_frame *f);
