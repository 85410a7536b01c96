#include "priv_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Offsets in the header (priv_wire.h). */
#define OFF_MAGIC  0
#define OFF_KIND   4
#define OFF_OP	   6
#define OFF_SEQ	   8
#define OFF_STATUS 12
#define OFF_LEN	   16
#define OFF_RID	   20

/* The smallest payload: "{}". */
#define MIN_PAYLOAD 2

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool rid_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* NUL-terminated inside the field, allowed characters, NUL-padded. */
static const char *rid_problem(const char *rid)
{
	size_t n = 0;

	while (n < REQUEST_ID_LEN && rid[n] != '\0') {
		if (!rid_char_ok(rid[n]))
			return "a request id character is not allowed";
		n++;
	}
	if (n == REQUEST_ID_LEN)
		return "the request id is not terminated";
	for (; n < REQUEST_ID_LEN; n++)
		if (rid[n] != '\0')
			return "the request id is not NUL-padded";
	return NULL;
}

static bool op_known(int op)
{
	return op > PRIV_OP_NONE && op < PRIV_OP_MAX;
}

static uint32_t max_len(enum priv_kind kind)
{
	return kind == PRIV_KIND_CALL ? PRIV_MAX_CALL : PRIV_MAX_REPLY;
}

/* Everything about a frame but its payload, for both directions of
 * decoding and for encoding. */
static int check_fields(const struct priv_frame *f, uint32_t len, struct err_info *ei)
{
	bool with_op = f->kind == PRIV_KIND_CALL || f->kind == PRIV_KIND_REPLY;
	const char *why;

	if (with_op && !op_known((int)f->op))
		return err_set(ei, ERR_PRIV_PROTOCOL, "unknown operation %d", (int)f->op);
	if (!with_op && (f->op != PRIV_OP_NONE || f->seq != 0))
		return err_set(ei, ERR_PRIV_PROTOCOL, "kind %d with an operation or a sequence",
			       (int)f->kind);
	if (f->kind == PRIV_KIND_REPLY ? f->status > 0 || f->status < ERR__MIN : f->status != 0)
		return err_set(ei, ERR_PRIV_PROTOCOL, "status %d not allowed in kind %d",
			       (int)f->status, (int)f->kind);
	if (len < MIN_PAYLOAD || len > max_len(f->kind))
		return err_set(ei, ERR_PRIV_PROTOCOL, "payload length %u out of bounds", len);
	if ((why = rid_problem(f->request_id)) != NULL)
		return err_set(ei, ERR_PRIV_PROTOCOL, "%s", why);
	return 0;
}

int priv_wire_decode_header(const uint8_t *buf, bool from_api, struct priv_frame *f, uint32_t *len,
			    struct err_info *ei)
{
	uint16_t kind = get16(buf + OFF_KIND);
	struct priv_frame h = {0};
	int r;

	if (get32(buf + OFF_MAGIC) != PRIV_MAGIC)
		return err_set(ei, ERR_PRIV_PROTOCOL, "bad magic 0x%08x", get32(buf + OFF_MAGIC));
	if (from_api ? kind != PRIV_KIND_CALL
		     : kind != PRIV_KIND_REPLY && kind != PRIV_KIND_EVENT && kind != PRIV_KIND_TLS)
		return err_set(ei, ERR_PRIV_PROTOCOL, "kind %u not allowed from the %s side", kind,
			       from_api ? "api" : "root");
	h.kind = (enum priv_kind)kind;
	h.op = (enum priv_op)get16(buf + OFF_OP);
	h.seq = get32(buf + OFF_SEQ);
	h.status = (int32_t)get32(buf + OFF_STATUS);
	memcpy(h.request_id, buf + OFF_RID, REQUEST_ID_LEN);
	if ((r = check_fields(&h, get32(buf + OFF_LEN), ei)) < 0)
		return r;
	*f = h;
	*len = get32(buf + OFF_LEN);
	return 0;
}

/* The nesting depth of JSON text, by a linear scan that knows strings, so
 * that the parser (recursive) never sees a deep document; also refuses any
 * NUL byte. For text the parser accepts, the count is exact. */
static int scan_depth(const uint8_t *buf, size_t len, struct err_info *ei)
{
	bool in_string = false, escaped = false;
	unsigned depth = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];

		if (c == 0)
			return err_set(ei, ERR_PRIV_PROTOCOL, "NUL byte at %zu", i);
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > PRIV_MAX_DEPTH)
				return err_set(ei, ERR_PRIV_PROTOCOL, "nested deeper than %d",
					       PRIV_MAX_DEPTH);
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

int priv_wire_decode_payload(const uint8_t *buf, size_t len, struct priv_frame *f,
			     struct err_info *ei)
{
	json_error_t jerr;
	json_t *j;
	int r;

	if (len < MIN_PAYLOAD || buf[0] != '{')
		return err_set(ei, ERR_PRIV_PROTOCOL, "the payload is not an object");
	if ((r = scan_depth(buf, len, ei)) < 0)
		return r;
	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK,
		       &jerr);
	if (j == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return err_set(ei, ERR_NOMEM, "no memory for a payload of %zu bytes", len);
		return err_set(ei, ERR_PRIV_PROTOCOL, "payload: %.200s at %d", jerr.text,
			       jerr.position);
	}
	if (!json_is_object(j) || jerr.position < 0 || (size_t)jerr.position != len) {
		json_decref(j);
		return err_set(ei, ERR_PRIV_PROTOCOL, "bytes after the payload's object");
	}
	json_decref(f->payload);
	f->payload = j;
	return 0;
}

/* What the receiver would refuse in a value: nesting, NUL in strings or
 * keys. depth is the value's own level (1 for the payload). */
static const char *value_problem(const json_t *v, unsigned depth)
{
	const char *why = NULL;

	if (json_is_string(v))
		return strlen(json_string_value(v)) != json_string_length(v) ? "a NUL in a string"
									     : NULL;
	if (!json_is_object(v) && !json_is_array(v))
		return NULL;
	if (depth > PRIV_MAX_DEPTH)
		return "nested too deep";
	for (size_t i = 0; json_is_array(v) && why == NULL && i < json_array_size(v); i++)
		why = value_problem(json_array_get(v, i), depth + 1);
	for (void *it = json_object_iter((json_t *)v); it != NULL && why == NULL;
	     it = json_object_iter_next((json_t *)v, it)) {
		if (strlen(json_object_iter_key(it)) != json_object_iter_key_len(it))
			why = "a NUL in a key";
		else
			why = value_problem(json_object_iter_value(it), depth + 1);
	}
	return why;
}

/* Encode the header of f into out (PRIV_HDR_LEN bytes). */
static void put_header(uint8_t *out, const struct priv_frame *f, uint32_t len)
{
	put32(out + OFF_MAGIC, PRIV_MAGIC);
	put16(out + OFF_KIND, (uint16_t)f->kind);
	put16(out + OFF_OP, (uint16_t)f->op);
	put32(out + OFF_SEQ, f->seq);
	put32(out + OFF_STATUS, (uint32_t)f->status);
	put32(out + OFF_LEN, len);
	memcpy(out + OFF_RID, f->request_id, REQUEST_ID_LEN);
}

int priv_wire_encode(const struct priv_frame *f, uint8_t **out, size_t *out_len,
		     struct err_info *ei)
{
	const char *why;
	uint8_t *buf;
	size_t n;
	int r;

	if (f->kind < PRIV_KIND_CALL || f->kind > PRIV_KIND_TLS || !json_is_object(f->payload))
		return err_set(ei, ERR_PRIV_PROTOCOL, "not a frame: kind %d", (int)f->kind);
	if ((why = value_problem(f->payload, 1)) != NULL)
		return err_set(ei, ERR_PRIV_PROTOCOL, "the payload has %s", why);
	n = json_dumpb(f->payload, NULL, 0, JSON_COMPACT);
	if (n == 0)
		return err_set(ei, ERR_NOMEM, "the payload cannot be encoded");
	if (n > max_len(f->kind))
		return err_set(ei, ERR_PRIV_PROTOCOL, "a payload of %zu bytes is too large", n);
	if ((r = check_fields(f, (uint32_t)n, ei)) < 0)
		return r;
	if ((buf = malloc(PRIV_HDR_LEN + n)) == NULL)
		return err_set(ei, ERR_NOMEM, "no memory for a frame of %zu bytes", n);
	if (json_dumpb(f->payload, (char *)buf + PRIV_HDR_LEN, n, JSON_COMPACT) != n) {
		explicit_bzero(buf, PRIV_HDR_LEN + n);
		free(buf);
		return err_set(ei, ERR_NOMEM, "the payload cannot be encoded");
	}
	put_header(buf, f, (uint32_t)n);
	*out = buf;
	*out_len = PRIV_HDR_LEN + n;
	return 0;
}

/* Read exactly len bytes. 0, 1 at EOF before the first byte, ERR_PRIV_PROTOCOL
 * at EOF after it, ERR_INTERNAL on an error. */
static int read_full(int fd, uint8_t *buf, size_t len, struct err_info *ei)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(ei, ERR_INTERNAL, "read: %s", strerror(errno));
		if (n == 0)
			return got == 0 ? 1
					: err_set(ei, ERR_PRIV_PROTOCOL,
						  "the stream ends inside a frame");
		got += (size_t)n;
	}
	return 0;
}

int priv_wire_read(int fd, bool from_api, struct priv_frame *f, struct err_info *ei)
{
	uint8_t hdr[PRIV_HDR_LEN], *buf;
	struct priv_frame h = {0};
	uint32_t len;
	int r;

	if ((r = read_full(fd, hdr, sizeof(hdr), ei)) != 0)
		return r;
	if ((r = priv_wire_decode_header(hdr, from_api, &h, &len, ei)) < 0)
		return r;
	if ((buf = malloc(len)) == NULL)
		return err_set(ei, ERR_NOMEM, "no memory for a payload of %u bytes", len);
	r = read_full(fd, buf, len, ei);
	if (r == 1)
		r = err_set(ei, ERR_PRIV_PROTOCOL, "the stream ends after a header");
	if (r == 0)
		r = priv_wire_decode_payload(buf, len, &h, ei);
	explicit_bzero(buf, len); /* passwords, keys */
	free(buf);
	if (r < 0)
		return r;
	*f = h;
	return 0;
}

int priv_wire_write(int fd, const uint8_t *buf, size_t len, struct err_info *ei)
{
	bool sock = true;

	while (len > 0) {
		ssize_t n = sock ? send(fd, buf, len, MSG_NOSIGNAL) : write(fd, buf, len);

		if (n < 0 && errno == ENOTSOCK && sock) {
			sock = false;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(ei, ERR_INTERNAL, "write: %s",
				       n < 0 ? strerror(errno) : "nothing written");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void priv_frame_clear(struct priv_frame *f)
{
	json_decref(f->payload);
	f->payload = NULL;
}
