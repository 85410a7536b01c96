/* The root side of the socketpair: reads CALL frames from the api process,
 * runs each through priv_dispatch() on a thread of its own (at most
 * PRIV_SERVER_MAX_CALLS at once; more are answered ERR_TOO_MANY at once),
 * and writes the REPLY. Every call is logged with its request id and op.
 *
 * A malformed frame, or a call whose arguments do not have the declared
 * shape (ERR_PRIV_PROTOCOL), ends the session: the server stops reading,
 * and priv_server_run() returns so the caller can kill the api process and
 * exit non-zero. ocserv is never touched on the way. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "err.h"
#include "priv_ops.h"

#define PRIV_SERVER_MAX_CALLS 32

struct priv_server;

/* Serve fd (not closed: the caller's) with r. NULL on ENOMEM. */
struct priv_server *priv_server_new(int fd, struct priv_root *r);

/* Read and serve until the api side closes its end (returns 0) or breaks
 * the protocol (returns ERR_PRIV_PROTOCOL, reason in ei). Waits for the
 * calls still running before it returns. */
int priv_server_run(struct priv_server *s, struct err_info *ei);

/* Send an EVENT or TLS frame (any thread). 0, or ERR_INTERNAL when the api
 * side is gone. */
int priv_server_send(struct priv_server *s, int kind, const json_t *payload, struct err_info *ei);

void priv_server_free(struct priv_server *s);
