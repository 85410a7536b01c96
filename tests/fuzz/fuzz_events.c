/* The events decoders of untrusted bytes: ocserv's events updates
 * (ctl_events_decode) and the hook's KEY=VALUE request (hook_event_parse +
 * event_from_hook), each through event_to_json when it decodes. The same
 * bytes go to both: the formats differ enough that one corpus serves. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_events.h"
#include "events.h"
#include "fuzz.h"
#include "hook_server.h"
#include "secmem.h"

/* The JSON must exist and be one line (it becomes an SSE data field). */
static void render(const struct event *ev)
{
	char *json = event_to_json(ev);

	if (json != NULL && strchr(json, '\n') != NULL)
		abort();
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err_info ei;
	struct hook_event he;
	struct event *ev = NULL;
	static bool init;

	if (!init) {
		secmem_init_json(); /* jansson's allocator, as in the agent */
		init = true;
	}
	if (ctl_events_decode(data, size, &ev, &ei) == 0) {
		render(ev);
		event_free(ev);
	}
	ev = NULL;
	if (hook_event_parse((const char *)data, size, &he) == 0 &&
	    event_from_hook(&he, &ev) == 0) {
		render(ev);
		event_free(ev);
	}
	hook_event_free(&he);
	return 0;
}
