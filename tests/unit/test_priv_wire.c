/* priv_wire.h: the header's fields and every refusal rule, in both
 * directions, and whole frames through a real socketpair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/socket.h>

#include "priv_wire.h"
#include "secmem.h"
#include "unit.h"

#define RID "0a1b2c3d-000000000001"

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* A valid header of kind with payload length len. */
static void make_header(uint8_t *h, enum priv_kind kind, uint32_t len)
{
	bool with_op = kind == PRIV_KIND_CALL || kind == PRIV_KIND_REPLY;

	memset(h, 0, PRIV_HDR_LEN);
	wr32(h, PRIV_MAGIC);
	wr16(h + 4, (uint16_t)kind);
	wr16(h + 6, with_op ? PRIV_OCSERV_VERSION : 0);
	wr32(h + 8, with_op ? 7 : 0);
	wr32(h + 16, len);
	memcpy(h + 20, RID, strlen(RID));
}

static int dec(const uint8_t *h, bool from_api)
{
	struct priv_frame f;
	struct err_info ei = {""};
	uint32_t len = 12345;
	int r = priv_wire_decode_header(h, from_api, &f, &len, &ei);

	if (r < 0) {
		assert_int_equal(r, ERR_PRIV_PROTOCOL);
		assert_true(ei.detail[0] != '\0'); /* the reason */
		assert_int_equal(len, 12345);	   /* untouched on failure */
	}
	return r;
}

static void test_header_fields(void **state)
{
	struct priv_frame f = {.kind = PRIV_KIND_REPLY,
			       .op = PRIV_ACCOUNTS_PUT,
			       .seq = 0x01020304,
			       .status = ERR_NOT_FOUND};
	struct err_info ei;
	uint8_t *buf;
	size_t len;
	uint32_t plen;
	struct priv_frame d;

	(void)state;
	strcpy(f.request_id, RID);
	f.payload = json_pack("{s:s,s:s}", "message", "", "detail", "x");
	assert_int_equal(priv_wire_encode(&f, &buf, &len, &ei), 0);
	assert_int_equal(len, PRIV_HDR_LEN + strlen("{\"message\":\"\",\"detail\":\"x\"}"));
	assert_int_equal(PRIV_HDR_LEN, 52);
	assert_memory_equal(buf, "OAP1", 4); /* little-endian magic */
	assert_int_equal(buf[4] | buf[5] << 8, PRIV_KIND_REPLY);
	assert_int_equal(buf[6] | buf[7] << 8, PRIV_ACCOUNTS_PUT);
	assert_int_equal(rd32(buf + 8), 0x01020304);
	assert_int_equal((int32_t)rd32(buf + 12), ERR_NOT_FOUND);
	assert_int_equal(rd32(buf + 16), len - PRIV_HDR_LEN);
	assert_string_equal((char *)buf + 20, RID);
	for (size_t i = 20 + strlen(RID); i < PRIV_HDR_LEN; i++)
		assert_int_equal(buf[i], 0);
	assert_memory_equal(buf + PRIV_HDR_LEN, "{\"message\":\"\",\"detail\":\"x\"}",
			    len - PRIV_HDR_LEN);

	assert_int_equal(priv_wire_decode_header(buf, false, &d, &plen, &ei), 0);
	assert_int_equal(d.kind, PRIV_KIND_REPLY);
	assert_int_equal(d.op, PRIV_ACCOUNTS_PUT);
	assert_int_equal(d.seq, 0x01020304);
	assert_int_equal(d.status, ERR_NOT_FOUND);
	assert_int_equal(plen, len - PRIV_HDR_LEN);
	assert_string_equal(d.request_id, RID);
	assert_null(d.payload);
	assert_int_equal(priv_wire_decode_payload(buf + PRIV_HDR_LEN, plen, &d, &ei), 0);
	assert_true(json_equal(d.payload, f.payload));
	priv_frame_clear(&d);
	assert_null(d.payload);
	/* A REPLY is not accepted by the root side. */
	assert_int_equal(dec(buf, true), ERR_PRIV_PROTOCOL);
	free(buf);
	json_decref(f.payload);
}

static void test_header_magic(void **state)
{
	uint8_t h[PRIV_HDR_LEN];

	(void)state;
	make_header(h, PRIV_KIND_CALL, 2);
	assert_int_equal(dec(h, true), 0);
	h[0] ^= 1;
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	make_header(h, PRIV_KIND_CALL, 2);
	memcpy(h, "1PAO", 4); /* big-endian */
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
}

static void test_header_kind_by_direction(void **state)
{
	uint8_t h[PRIV_HDR_LEN];

	(void)state;
	make_header(h, PRIV_KIND_CALL, 2);
	assert_int_equal(dec(h, true), 0);
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL); /* CALL from root */
	for (int k = PRIV_KIND_REPLY; k <= PRIV_KIND_TLS; k++) {
		make_header(h, (enum priv_kind)k, 2);
		assert_int_equal(dec(h, false), 0);
		assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL); /* root's kinds from api */
	}
	for (int k = 0; k < 3; k++) {
		static const uint16_t bad[] = {0, 5, 0xffff};

		make_header(h, PRIV_KIND_CALL, 2);
		wr16(h + 4, bad[k]);
		assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
		assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
	}
}

static void test_header_op(void **state)
{
	uint8_t h[PRIV_HDR_LEN];

	(void)state;
	make_header(h, PRIV_KIND_CALL, 2);
	wr16(h + 6, PRIV_OP_NONE);
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	wr16(h + 6, PRIV_OP_MAX);
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	wr16(h + 6, 0xffff);
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	wr16(h + 6, PRIV_OP_MAX - 1);
	assert_int_equal(dec(h, true), 0);
	wr16(h + 6, PRIV_OP_NONE + 1);
	assert_int_equal(dec(h, true), 0);
	make_header(h, PRIV_KIND_REPLY, 2);
	wr16(h + 6, PRIV_OP_MAX);
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
	/* EVENT and TLS answer no call: no op, no sequence. */
	make_header(h, PRIV_KIND_EVENT, 2);
	wr16(h + 6, PRIV_OCSERV_LIST);
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
	make_header(h, PRIV_KIND_TLS, 2);
	wr32(h + 8, 1);
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
}

static void test_header_status(void **state)
{
	uint8_t h[PRIV_HDR_LEN];

	(void)state;
	make_header(h, PRIV_KIND_CALL, 2);
	wr32(h + 12, (uint32_t)ERR_INTERNAL);
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL); /* a CALL has no status */
	make_header(h, PRIV_KIND_EVENT, 2);
	wr32(h + 12, (uint32_t)ERR_INTERNAL);
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
	make_header(h, PRIV_KIND_REPLY, 2);
	wr32(h + 12, (uint32_t)ERR__MIN);
	assert_int_equal(dec(h, false), 0);
	wr32(h + 12, (uint32_t)ERR_BAD_REQUEST);
	assert_int_equal(dec(h, false), 0);
	wr32(h + 12, (uint32_t)(ERR__MIN - 1));
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
	wr32(h + 12, 1);
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
	wr32(h + 12, 0x80000000u);
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
}

static void test_header_len(void **state)
{
	uint8_t h[PRIV_HDR_LEN];

	(void)state;
	make_header(h, PRIV_KIND_CALL, 0);
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	make_header(h, PRIV_KIND_CALL, 1);
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	make_header(h, PRIV_KIND_CALL, PRIV_MAX_CALL);
	assert_int_equal(dec(h, true), 0);
	make_header(h, PRIV_KIND_CALL, PRIV_MAX_CALL + 1);
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	make_header(h, PRIV_KIND_REPLY, PRIV_MAX_CALL + 1); /* replies may be larger */
	assert_int_equal(dec(h, false), 0);
	make_header(h, PRIV_KIND_REPLY, PRIV_MAX_REPLY);
	assert_int_equal(dec(h, false), 0);
	make_header(h, PRIV_KIND_EVENT, PRIV_MAX_REPLY + 1);
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
	make_header(h, PRIV_KIND_REPLY, 0xffffffffu);
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
}

static void test_header_request_id(void **state)
{
	uint8_t h[PRIV_HDR_LEN];

	(void)state;
	make_header(h, PRIV_KIND_CALL, 2);
	memset(h + 20, 0, REQUEST_ID_LEN); /* "" */
	assert_int_equal(dec(h, true), 0);
	memcpy(h + 20, "aZ09._-", 7);
	assert_int_equal(dec(h, true), 0);
	memset(h + 20, 'a', REQUEST_ID_LEN - 1); /* longest */
	assert_int_equal(dec(h, true), 0);
	memset(h + 20, 'a', REQUEST_ID_LEN); /* not terminated */
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	static const char bad[] = {' ', '/', '"', '\n', '=', '%', (char)0x80, (char)0xff};
	for (size_t i = 0; i < sizeof(bad); i++) {
		make_header(h, PRIV_KIND_CALL, 2);
		h[20 + 3] = (uint8_t)bad[i];
		assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	}
	make_header(h, PRIV_KIND_CALL, 2);
	h[PRIV_HDR_LEN - 1] = 'x'; /* after the terminating NUL */
	assert_int_equal(dec(h, true), ERR_PRIV_PROTOCOL);
	make_header(h, PRIV_KIND_REPLY, 2);
	h[20 + strlen(RID) + 1] = 'x';
	assert_int_equal(dec(h, false), ERR_PRIV_PROTOCOL);
}

/* ---- payloads ---- */

static int payload(const char *text, size_t len)
{
	struct priv_frame f = {0};
	struct err_info ei = {""};
	int r = priv_wire_decode_payload((const uint8_t *)text, len, &f, &ei);

	if (r == 0) {
		assert_true(json_is_object(f.payload));
		priv_frame_clear(&f);
	} else {
		assert_int_equal(r, ERR_PRIV_PROTOCOL);
		assert_null(f.payload);
		assert_true(ei.detail[0] != '\0');
	}
	return r;
}

static int payload_s(const char *text)
{
	return payload(text, strlen(text));
}

static void test_payload_object(void **state)
{
	(void)state;
	assert_int_equal(payload_s("{}"), 0);
	assert_int_equal(payload_s("{\"a\":[1,{\"b\":null}],\"c\":\"d\"}"), 0);
	assert_int_equal(payload_s(""), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("[]"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("[{}]"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("\"{}\""), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("12"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("null"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{a:1}"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{\"a\":1,}"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s(" {}"), ERR_PRIV_PROTOCOL); /* our encoder never pads */
}

static void test_payload_duplicates(void **state)
{
	(void)state;
	assert_int_equal(payload_s("{\"a\":1,\"a\":1}"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{\"a\":1,\"A\":1}"), 0);
}

static void test_payload_nul(void **state)
{
	(void)state;
	assert_int_equal(payload("{\"a\":\"x\0y\"}", 11), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload("{}\0", 3), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{\"a\":\"x\\u0000y\"}"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{\"a\\u0000\":1}"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{\"a\":\"x\\u0001y\"}"), 0);
}

static void test_payload_trailing(void **state)
{
	(void)state;
	assert_int_equal(payload_s("{} "), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{}\n"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{}{}"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{}x"), ERR_PRIV_PROTOCOL);
	assert_int_equal(payload_s("{\"a\":1}}"), ERR_PRIV_PROTOCOL);
	/* The length counts: a valid prefix is not enough. */
	assert_int_equal(payload("{}{}", 2), 0);
}

/* An object nested depth deep: objects, or an object around arrays. */
static char *nested(unsigned depth, bool arrays)
{
	size_t n = 0;
	char *s = malloc((size_t)depth * 6 + 2);

	if (s == NULL)
		abort();
	for (unsigned i = 0; i < depth; i++) {
		const char *open = i == 0 || !arrays ? "{\"a\":" : "[";

		memcpy(s + n, open, strlen(open));
		n += strlen(open);
	}
	s[n++] = '1';
	for (unsigned i = depth; i-- > 0;)
		s[n++] = i == 0 || !arrays ? '}' : ']';
	s[n] = '\0';
	return s;
}

static void test_payload_depth(void **state)
{
	char *s;

	(void)state;
	s = nested(PRIV_MAX_DEPTH, false);
	assert_int_equal(payload_s(s), 0);
	free(s);
	s = nested(PRIV_MAX_DEPTH + 1, false);
	assert_int_equal(payload_s(s), ERR_PRIV_PROTOCOL);
	free(s);
	s = nested(PRIV_MAX_DEPTH, true);
	assert_int_equal(payload_s(s), 0);
	free(s);
	s = nested(PRIV_MAX_DEPTH + 1, true);
	assert_int_equal(payload_s(s), ERR_PRIV_PROTOCOL);
	free(s);
	s = nested(100000, true); /* refused before the (recursive) parser */
	assert_int_equal(payload_s(s), ERR_PRIV_PROTOCOL);
	free(s);
	/* Brackets inside strings, escaped quotes, are not nesting. */
	char text[1024];
	char brackets[600];

	memset(brackets, '[', sizeof(brackets) - 1);
	brackets[sizeof(brackets) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"a\\\"[[\":\"\\\\\",\"b\":\"\\\"%s\"}", brackets);
	assert_int_equal(payload_s(text), 0);
	/* Closing brackets cannot buy room for more depth. */
	s = nested(PRIV_MAX_DEPTH + 1, false);
	snprintf(text, sizeof(text), "{\"x\":\"]]]]]]]]]]\",\"y\":%s}", s);
	assert_int_equal(payload_s(text), ERR_PRIV_PROTOCOL);
	free(s);
}

/* ---- encoding ---- */

static int enc(struct priv_frame *f)
{
	struct err_info ei = {""};
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = priv_wire_encode(f, &buf, &len, &ei);

	if (r == 0) {
		assert_non_null(buf);
		assert_true(len > PRIV_HDR_LEN);
		free(buf);
	} else {
		assert_null(buf);
		assert_true(ei.detail[0] != '\0');
	}
	return r;
}

static void test_encode_refusals(void **state)
{
	struct priv_frame f = {.kind = PRIV_KIND_CALL, .op = PRIV_OCSERV_LIST, .seq = 1};
	char *big;
	json_t *deep;

	(void)state;
	f.payload = json_object();
	assert_int_equal(enc(&f), 0);
	f.op = PRIV_OP_MAX;
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	f.op = PRIV_OCSERV_LIST;
	f.status = ERR_INTERNAL; /* a CALL has no status */
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	f.status = 0;
	strcpy(f.request_id, "a b");
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	f.request_id[0] = '\0'; /* " b" after the NUL */
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	memset(f.request_id, 0, sizeof(f.request_id));
	f.kind = 9;
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	f.kind = PRIV_KIND_EVENT; /* with an op */
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	f.kind = PRIV_KIND_CALL;

	/* What the receiver would refuse is not sent. */
	json_object_set_new(f.payload, "s", json_stringn("a\0b", 3));
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	json_object_clear(f.payload);
	json_object_setn_new(f.payload, "k\0y", 3, json_true());
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	json_object_clear(f.payload);
	deep = json_integer(1);
	for (int i = 0; i < PRIV_MAX_DEPTH - 1; i++)
		deep = json_pack("[o]", deep);
	json_object_set_new(f.payload, "d", deep); /* depth 64 */
	assert_int_equal(enc(&f), 0);
	json_object_set_new(f.payload, "d", json_pack("[O]", deep));
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	json_object_clear(f.payload);

	/* Sizes by direction. */
	big = malloc(PRIV_MAX_CALL + 1);
	memset(big, 'x', PRIV_MAX_CALL);
	big[PRIV_MAX_CALL - 8] = '\0'; /* {"b":"..."} is 8 bytes more */
	json_object_set_new(f.payload, "b", json_string(big));
	assert_int_equal(enc(&f), 0);
	big[PRIV_MAX_CALL - 8] = 'x';
	big[PRIV_MAX_CALL - 7] = '\0';
	json_object_set_new(f.payload, "b", json_string(big));
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	f.kind = PRIV_KIND_REPLY;
	assert_int_equal(enc(&f), 0);
	free(big);
	f.payload = (json_decref(f.payload), json_array());
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
	json_decref(f.payload);
	f.payload = NULL;
	assert_int_equal(enc(&f), ERR_PRIV_PROTOCOL);
}

/* ---- whole frames over a socketpair ---- */

struct writer {
	int fd;
	uint8_t *buf;
	size_t len;
};

static void *write_main(void *arg)
{
	struct writer *w = arg;
	struct err_info ei;

	/* Fails when the reader stops early: its test checks the reader. */
	priv_wire_write(w->fd, w->buf, w->len, &ei);
	close(w->fd);
	return NULL;
}

/* Send f's encoding (first cut bytes of it when cut > 0) from one end and
 * read it at the other. */
static int through(const struct priv_frame *f, size_t cut, bool from_api, struct priv_frame *out)
{
	struct writer w = {0};
	struct err_info ei = {""};
	pthread_t t;
	int sv[2], r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(priv_wire_encode(f, &w.buf, &w.len, &ei), 0);
	if (cut > 0)
		w.len = cut;
	w.fd = sv[0];
	pthread_create(&t, NULL, write_main, &w);
	r = priv_wire_read(sv[1], from_api, out, &ei);
	close(sv[1]); /* a writer still writing fails */
	pthread_join(t, NULL);
	if (r < 0)
		assert_true(ei.detail[0] != '\0');
	free(w.buf);
	return r;
}

static void test_round_trips(void **state)
{
	static const enum priv_kind kinds[] = {PRIV_KIND_CALL, PRIV_KIND_REPLY, PRIV_KIND_EVENT,
					       PRIV_KIND_TLS};
	char *big = malloc(3u << 20);

	(void)state;
	memset(big, 'k', (3u << 20) - 1);
	big[(3u << 20) - 1] = '\0';
	for (size_t i = 0; i < 4; i++) {
		bool with_op = kinds[i] == PRIV_KIND_CALL || kinds[i] == PRIV_KIND_REPLY;
		struct priv_frame f = {.kind = kinds[i],
				       .op = with_op ? PRIV_CONFIG_CHANGE : 0,
				       .seq = with_op ? 0xfffffffeu : 0,
				       .status = kinds[i] == PRIV_KIND_REPLY ? ERR__MIN : 0};
		struct priv_frame g = {0};

		strcpy(f.request_id, RID);
		/* Bigger than a socket buffer: many reads. */
		f.payload = json_pack("{s:s, s:[i,f,b,n], s:{s:s}, s:s}", "key", "-----BEGIN", "l",
				      -5, 2.5, 1, "o", "u", "ü", "big", big);
		assert_int_equal(through(&f, 0, kinds[i] == PRIV_KIND_CALL, &g), 0);
		assert_int_equal(g.kind, f.kind);
		assert_int_equal(g.op, f.op);
		assert_int_equal(g.seq, f.seq);
		assert_int_equal(g.status, f.status);
		assert_string_equal(g.request_id, RID);
		assert_true(json_equal(g.payload, f.payload));
		priv_frame_clear(&g);
		/* The wrong direction is refused after the header. */
		assert_int_equal(through(&f, 0, kinds[i] != PRIV_KIND_CALL, &g), ERR_PRIV_PROTOCOL);
		assert_null(g.payload);
		json_decref(f.payload);
	}
	free(big);
}

static void test_read_ends(void **state)
{
	struct priv_frame f = {.kind = PRIV_KIND_CALL, .op = PRIV_OCSERV_LIST, .seq = 3};
	struct priv_frame g = {0};
	struct err_info ei;
	int sv[2];

	(void)state;
	f.payload = json_pack("{s:s}", "a", "b");
	/* A clean end before a header. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[0]);
	assert_int_equal(priv_wire_read(sv[1], true, &g, &ei), 1);
	close(sv[1]);
	/* Cut inside the header, right after it, inside the payload. */
	assert_int_equal(through(&f, 1, true, &g), ERR_PRIV_PROTOCOL);
	assert_int_equal(through(&f, PRIV_HDR_LEN - 1, true, &g), ERR_PRIV_PROTOCOL);
	assert_int_equal(through(&f, PRIV_HDR_LEN, true, &g), ERR_PRIV_PROTOCOL);
	assert_int_equal(through(&f, PRIV_HDR_LEN + 3, true, &g), ERR_PRIV_PROTOCOL);
	assert_null(g.payload);
	/* Two frames back to back are two reads. */
	{
		uint8_t *b1, *b2;
		size_t l1, l2;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		assert_int_equal(priv_wire_encode(&f, &b1, &l1, &ei), 0);
		f.seq = 4;
		assert_int_equal(priv_wire_encode(&f, &b2, &l2, &ei), 0);
		assert_int_equal(priv_wire_write(sv[0], b1, l1, &ei), 0);
		assert_int_equal(priv_wire_write(sv[0], b2, l2, &ei), 0);
		close(sv[0]);
		assert_int_equal(priv_wire_read(sv[1], true, &g, &ei), 0);
		assert_int_equal(g.seq, 3);
		priv_frame_clear(&g);
		assert_int_equal(priv_wire_read(sv[1], true, &g, &ei), 0);
		assert_int_equal(g.seq, 4);
		priv_frame_clear(&g);
		assert_int_equal(priv_wire_read(sv[1], true, &g, &ei), 1);
		close(sv[1]);
		free(b1);
		free(b2);
	}
	/* A read error is not a protocol error. */
	assert_int_equal(priv_wire_read(-1, true, &g, &ei), ERR_INTERNAL);
	assert_int_equal(priv_wire_write(-1, (const uint8_t *)"x", 1, &ei), ERR_INTERNAL);
	/* A peer that is gone: an error, not SIGPIPE. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(priv_wire_write(sv[0], (const uint8_t *)"x", 1, &ei), ERR_INTERNAL);
	close(sv[0]);
	json_decref(f.payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_header_magic),
		cmocka_unit_test(test_header_kind_by_direction),
		cmocka_unit_test(test_header_op),
		cmocka_unit_test(test_header_status),
		cmocka_unit_test(test_header_len),
		cmocka_unit_test(test_header_request_id),
		cmocka_unit_test(test_payload_object),
		cmocka_unit_test(test_payload_duplicates),
		cmocka_unit_test(test_payload_nul),
		cmocka_unit_test(test_payload_trailing),
		cmocka_unit_test(test_payload_depth),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_read_ends),
	};

	secmem_init_json(); /* as in the agent: jansson's memory is wiped */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
