/* Text the agent reads from local programs and ocserv's scripts: a hook
 * request (hook_server.h) and `systemctl show` output (service.h). The
 * first byte picks the parser. */
#include <string.h>

#include "fuzz.h"
#include "hook_server.h"
#include "service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hook_event ev;
	struct service_state st;
	struct err_info ei;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		hook_event_parse((const char *)data + 1, size - 1, &ev);
		for (size_t i = 0; i < ev.n; i++)
			if (strlen(ev.var[i].key) == 0 || ev.var[i].value == NULL)
				__builtin_trap();
		hook_event_free(&ev);
	} else {
		service_parse_show((const char *)data + 1, size - 1, &st, &ei);
	}
	return 0;
}
