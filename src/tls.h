/* The agent's certificate files: read (by the root process, at start and on
 * SIGHUP) into memory for the HTTP server, which may run as a user that
 * cannot read them.
 *
 * A private key that others may read, or write, is refused: it would be
 * given away to every local user. */
#pragma once

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "http_server.h"

/* The PEM texts of cfg's AGENT_TLS_CERT, AGENT_TLS_KEY and
 * AGENT_TLS_CLIENT_CA; owned (key wiped when freed). */
struct tls_files {
	char *cert, *key, *client_ca; /* client_ca NULL when not configured */
	size_t cert_len, key_len, client_ca_len;
};

/* Read and check the files named in cfg (nothing to do when TLS is off:
 * returns 0 with f zeroed). Checks: each a regular file of at most 1 MiB;
 * the key not accessible by others (mode & 0007) and not writable by its
 * group; the certificate and key parse with GnuTLS and belong together;
 * the client CA parses as one or more certificates. ERR_BAD_REQUEST with a
 * message naming the variable and the file in ei. */
int tls_files_load(const struct agent_config *cfg, struct tls_files *f, struct err_info *ei);

/* A view of f for http_server_start() and http_server_set_tls(). */
void tls_files_material(const struct tls_files *f, struct http_tls_material *m);

/* Wipe and free; f zeroed. NULL is fine. */
void tls_files_free(struct tls_files *f);

/* Whether a verified peer certificate passes AGENT_TLS_CLIENT_ALLOWED: an
 * empty list allows any; else its CN or its pin must be listed. */
bool tls_peer_allowed(const struct agent_config *cfg, const struct http_peer_cert *peer);
