/* priv_codec.h's decoders, which read what the root process sends: JSON
 * text to every decoder. What decodes must encode again, and encoding is
 * then stable: decode(encode(v)) encodes to the same JSON (nothing is lost
 * or invented on the second trip). */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fuzz.h"
#include "priv_codec.h"
#include "secmem.h"

/* The JSON of a decoded value must decode again into the same JSON. */
#define STABLE(decode, encode, free_fn, type)                        \
	static void stable_##free_fn(const json_t *j)                \
	{                                                            \
		struct err_info ei;                                  \
		type *a = NULL, *b = NULL;                           \
		json_t *ja, *jb;                                     \
                                                                     \
		if (decode(j, &a, &ei) != 0)                         \
			return;                                      \
		if ((ja = encode(a)) == NULL)                        \
			abort();                                     \
		if (decode(ja, &b, &ei) != 0)                        \
			abort();                                     \
		if ((jb = encode(b)) == NULL || !json_equal(ja, jb)) \
			abort();                                     \
		json_decref(ja);                                     \
		json_decref(jb);                                     \
		free_fn(a);                                          \
		free_fn(b);                                          \
	}

STABLE(priv_decode_sessions, priv_codec_sessions, session_list_free, struct session_list)
STABLE(priv_decode_cookies, priv_codec_cookies, cookie_list_free, struct cookie_list)
STABLE(priv_decode_iroutes, priv_codec_iroutes, iroute_list_free, struct iroute_list)
STABLE(priv_decode_bans, priv_codec_bans, ban_list_free, struct ban_list)

static void stable_version(const json_t *j)
{
	struct ocserv_version a, b;
	struct err_info ei;
	json_t *ja, *jb;

	if (priv_decode_version(j, &a, &ei) != 0)
		return;
	if ((ja = priv_codec_version(&a)) == NULL || priv_decode_version(ja, &b, &ei) != 0)
		abort();
	if ((jb = priv_codec_version(&b)) == NULL || !json_equal(ja, jb))
		abort();
	json_decref(ja);
	json_decref(jb);
}

static void stable_event(const json_t *j)
{
	enum event_source sa, sb;
	struct event *a = NULL, *b = NULL;
	struct err_info ei;
	json_t *ja, *jb;

	if (priv_decode_event(j, &sa, &a, &ei) != 0)
		return;
	if ((ja = priv_codec_event(sa, a)) == NULL || priv_decode_event(ja, &sb, &b, &ei) != 0)
		abort();
	if ((jb = priv_codec_event(sb, b)) == NULL || !json_equal(ja, jb) || sa != sb)
		abort();
	json_decref(ja);
	json_decref(jb);
	event_free(a);
	event_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	json_error_t err;
	json_t *j;

	if (!init) {
		secmem_init_json(); /* jansson's allocator, as in the agent */
		init = true;
	}
	j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &err);
	if (j == NULL)
		return 0;
	stable_session_list_free(j);
	stable_cookie_list_free(j);
	stable_iroute_list_free(j);
	stable_ban_list_free(j);
	stable_version(j);
	stable_event(j);
	json_decref(j);
	return 0;
}
