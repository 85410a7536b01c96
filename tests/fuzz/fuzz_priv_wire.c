/* The frames of the privilege boundary (priv_wire.h), as both sides read
 * them: the bytes as a stream through priv_wire_read() in each direction,
 * and the header and payload decoders on their own. What decodes must
 * encode back to the same header and an equal payload: the encoder and
 * the decoder agree on every rule. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "priv_wire.h"
#include "secmem.h"

/* A decoded header encodes to the same bytes (but the length). */
static void header_round_trip(const uint8_t *hdr, const struct priv_frame *h)
{
	struct priv_frame f = *h;
	struct err_info ei;
	uint8_t *buf;
	size_t len;

	f.payload = json_object();
	if (priv_wire_encode(&f, &buf, &len, &ei) != 0)
		abort();
	if (memcmp(buf, hdr, 16) != 0 || memcmp(buf + 20, hdr + 20, PRIV_HDR_LEN - 20) != 0)
		abort();
	free(buf);
	json_decref(f.payload);
}

/* A decoded payload encodes, and decodes again to an equal value. */
static void payload_round_trip(const json_t *payload)
{
	struct priv_frame f = {.kind = PRIV_KIND_EVENT}, g = {0};
	struct err_info ei;
	uint8_t *buf;
	size_t len;

	f.payload = (json_t *)payload;
	if (priv_wire_encode(&f, &buf, &len, &ei) != 0)
		abort();
	if (priv_wire_decode_payload(buf + PRIV_HDR_LEN, len - PRIV_HDR_LEN, &g, &ei) != 0 ||
	    !json_equal(g.payload, payload))
		abort();
	priv_frame_clear(&g);
	free(buf);
}

/* Read frames from the bytes as one side would, until the first refusal. */
static void stream(const uint8_t *data, size_t size, bool from_api)
{
	struct priv_frame f = {0}, h;
	struct err_info ei;
	char path[64];
	uint32_t len;
	int fd;

	/* A header that claims more than there is only costs a large read. */
	if (size >= PRIV_HDR_LEN && priv_wire_decode_header(data, from_api, &h, &len, &ei) == 0 &&
	    len > size - PRIV_HDR_LEN)
		return;
	if ((fd = fuzz_memfd(data, size, path)) < 0 || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	while (priv_wire_read(fd, from_api, &f, &ei) == 0) {
		if (f.payload == NULL)
			abort();
		priv_frame_clear(&f);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct priv_frame f = {0};
	struct err_info ei;
	uint32_t len;

	if (!init) {
		secmem_init_json(); /* jansson's allocator, as in the agent */
		init = true;
	}
	stream(data, size, true);
	stream(data, size, false);
	if (size < PRIV_HDR_LEN)
		return 0;
	for (int from_api = 0; from_api < 2; from_api++)
		if (priv_wire_decode_header(data, from_api, &f, &len, &ei) == 0)
			header_round_trip(data, &f);
	memset(&f, 0, sizeof(f));
	if (priv_wire_decode_payload(data + PRIV_HDR_LEN, size - PRIV_HDR_LEN, &f, &ei) == 0) {
		if (!json_is_object(f.payload))
			abort();
		payload_round_trip(f.payload);
		priv_frame_clear(&f);
	}
	return 0;
}
