/* The api side of the socketpair: a struct priv whose calls are frames to
 * the root process. Many threads may call at once: each call gets a
 * sequence number, writes its frame under a lock, and waits for its REPLY;
 * one reader thread hands replies to their callers, and EVENT and TLS
 * frames to the hooks below. */
#pragma once

#include <jansson.h>

#include "err.h"
#include "priv.h"

struct priv_client_hooks {
	/* An ocserv event from the root side (the payload, borrowed). */
	void (*event)(void *arg, const json_t *event);
	/* New TLS material (the payload, borrowed: {"cert","key","clientCa"?}). */
	void (*tls)(void *arg, const json_t *tls);
	/* The root side is gone, or sent a malformed frame (reason): called
	 * once, on the reader thread; every waiting and later call fails with
	 * ERR_PRIV_PROTOCOL. The agent then exits non-zero: never half alive. */
	void (*lost)(void *arg, const char *reason);
	void *arg;
};

/* Take over fd (closed by priv_free(), or here on failure) and start the
 * reader thread. A call waits at most timeout_ms (0: no limit) for its
 * reply (then ERR_PRIV_PROTOCOL: the root side is stuck, the session ends
 * and lost() reports it). NULL with ei set on failure. */
struct priv *priv_client_new(int fd, const struct priv_client_hooks *h, unsigned timeout_ms,
			     struct err_info *ei);
