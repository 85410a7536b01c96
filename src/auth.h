/* Bearer-token authentication. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "http_server.h"

/* Compare presented with expected in time that depends only on the length
 * of expected. */
bool auth_token_equal(const char *presented, size_t presented_len, const char *expected);

/* Check an Authorization header value ("Bearer <token>", scheme in any case)
 * against the current and, when not NULL, the previous token. Both are
 * always compared, so timing does not tell which one matched. header may be
 * NULL. */
bool auth_check(const char *header, const char *current, const char *previous);

/* Whether rq may proceed under cfg->auth_mode, from its bearer token
 * (auth_check with the current and previous tokens) and its client
 * certificate (rq->peer: verified by the transport; then tls_peer_allowed):
 *   token:  a valid token.
 *   mtls:   a verified, allowed certificate.
 *   both:   both.
 *   either: one of them.
 * 0 when it may. ERR_FORBIDDEN when the only thing missing is that a
 * verified certificate is not in AGENT_TLS_CLIENT_ALLOWED; else
 * ERR_UNAUTHORIZED. Both count as failed authentication (ratelimit.h). The
 * reason goes to ei, for the log (never which token matched). */
int auth_request(const struct agent_config *cfg, const struct http_request *rq,
		 struct err_info *ei);
