/* ocserv's control-socket replies → every decoder of the native backend.
 * The input is a reply frame as read from the socket (the seeds are real
 * captures, tests/data/ctl): its 5-byte header is skipped and the payload
 * goes to every decoder, whatever the command byte says, so that a list
 * decoder also meets a status message and the reverse. The header's first
 * byte also picks the version whose formats apply. Nothing may crash, leak
 * or read out of bounds. */
#include <string.h>

#include "ctl.h"
#include "ctl_backend.h"
#include "fuzz.h"

#define NOW 1795306728

static void decode_all(const uint8_t *p, size_t len, const struct ctl_decode_ctx *c)
{
	struct session_list *sl = NULL;
	struct iroute_list *il = NULL;
	struct cookie_list *cl = NULL;
	struct ban_list *bl = NULL;
	json_t *st = NULL;
	bool b;

	if (ctl_backend_decode_sessions(p, len, c, &sl, NULL) == 0)
		session_list_free(sl);
	if (ctl_backend_decode_iroutes(p, len, &il, NULL) == 0)
		iroute_list_free(il);
	for (int valid = 0; valid < 2; valid++)
		if (ctl_backend_decode_cookies(p, len, valid, &cl, NULL) == 0)
			cookie_list_free(cl);
	for (int points = 0; points < 2; points++)
		if (ctl_backend_decode_bans(p, len, points, c->now, &bl, NULL) == 0)
			ban_list_free(bl);
	if (ctl_backend_decode_status(p, len, c, &st, NULL) == 0)
		json_decref(st);
	(void)ctl_backend_decode_bool(p, len, &b, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* counters for the devices the lab's sessions use */
	struct tun_stat devs[] = {{"vpns0", 1234567, 89}, {"vpns1", 0, 5000000000ULL}};
	struct tun_stats tun = {devs, 2};
	struct ctl_decode_ctx c = {.now = NOW, .tun = &tun};
	size_t skip = size >= CTL_HEADER_LEN ? CTL_HEADER_LEN : size;

	if (size > 0 && (data[0] & 1))
		(void)ocserv_version_parse("1.1.6", &c.version);
	decode_all(data + skip, size - skip, &c);
	return 0;
}
