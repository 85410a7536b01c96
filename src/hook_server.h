/* The agent's end of ocserv's connect/disconnect scripts. ocserv runs
 * dist/ocserv-agent-hook (which runs `ocserv-agent hook`, see hook.h) as
 * root on every connect and disconnect; it sends the script's environment
 * here over a unix stream socket and, for a connect, waits for the verdict:
 * a non-zero exit of the connect-script makes ocserv refuse the session.
 *
 * Wire format, one exchange per connection: KEY=VALUE lines (the variables
 * of HOOK_KEYS that are set), then an empty line; the answer is one line,
 * "allow" or "deny REASON". Requests are bounded (HOOK_MAX_REQUEST bytes,
 * HOOK_IO_TIMEOUT_MS per read) and served one at a time by one thread; only
 * root and the agent's own user may connect (SO_PEERCRED). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HOOK_MAX_REQUEST   4096
#define HOOK_IO_TIMEOUT_MS 1000
#define HOOK_MAX_VARS	   32

/* The variables the hook forwards (OCSERV-FACTS.md, connect/disconnect scripts). */
extern const char *const HOOK_KEYS[];

struct hook_event {
	size_t n;
	struct {
		char *key, *value;
	} var[HOOK_MAX_VARS];
};

/* The value of key in ev, or NULL. */
const char *hook_event_get(const struct hook_event *ev, const char *key);

/* Decide on one event: return true to allow; on false write a short reason
 * into why. Called on the hook thread. */
typedef bool hook_decide_fn(void *app, const struct hook_event *ev, char *why, size_t len);

struct hook_server;

/* Listen on path (a stale socket there is replaced; the parent directory is
 * created 0700 when missing; the socket is 0600) and serve on a thread.
 * NULL with ei->detail on failure. */
struct hook_server *hook_server_start(const char *path, hook_decide_fn *fn, void *app,
				      struct err_info *ei);

/* Stop the thread, close and unlink the socket. NULL is fine. */
void hook_server_stop(struct hook_server *hs);

/* Parse a request (len bytes, "KEY=VALUE\n..." up to an empty line) into
 * ev, keeping only HOOK_KEYS. Returns 0, ERR_BAD_REQUEST or ERR_NOMEM; free
 * ev with hook_event_free() in every case. */
int hook_event_parse(const char *buf, size_t len, struct hook_event *ev);
void hook_event_free(struct hook_event *ev);
