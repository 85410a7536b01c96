/* A read-only snapshot of the RADIUS client identity (radcli's
 * radiusclient.conf and servers file) for correlation and debugging.
 * Secrets are never copied out of the files: only whether one is set. */
#pragma once

#include <stdbool.h>

#include "err.h"

#define RADIUS_DEFAULT_SERVERS "/etc/radcli/servers"

struct radius_server {
	char *host;
	bool has_secret;
};

struct radius_info {
	char *nas_identifier; /* NULL when not configured */
	char *auth_server;    /* host of the first authserver, without port */
	int auth_port;	      /* 0 when not given */
	char *acct_server;
	int acct_port;
	char *servers_file; /* the servers file that was read (or would be) */
	struct radius_server *servers;
	size_t n_servers;
};

/* Read conf_path and the servers file: servers_path when not NULL, else the
 * conf's `servers` line, else RADIUS_DEFAULT_SERVERS. Missing or unreadable
 * files leave their fields empty: only ERR_NOMEM is an error. The caller
 * frees *ret with radius_info_free(). */
int radius_read(const char *conf_path, const char *servers_path, struct radius_info *ret);

void radius_info_free(struct radius_info *ri);

/* Split one radcli server entry ("host", "host:port", "host:port:secret",
 * "[v6addr]:port:secret"; only the first of a comma-separated list) into
 * host (copied, caller frees) and port (0 when absent or not numeric).
 * Returns 0, ERR_BAD_REQUEST when there is no host, or ERR_NOMEM. */
int radius_split_server(const char *entry, char **ret_host, int *ret_port);
