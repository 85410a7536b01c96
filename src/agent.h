/* The application context shared (read-only after start) by every request. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "ctl_events.h"
#include "events.h"
#include "instance.h"
#include "hook_server.h"
#include "ocserv.h"
#include "priv.h"
#include "priv_events.h"
#include "ratelimit.h"
#include "terminate.h"

#define AGENT_NAME		"ocserv-agent"
#define AGENT_API_VERSION	"v1"
#define AGENT_HEALTH_TIMEOUT_MS 1500u

struct agent {
	const struct agent_config *cfg;
	/* Everything that needs root goes through priv (priv.h): to the root
	 * process in privilege-separated mode, else dispatched here. */
	struct priv *priv;
	struct ocserv *oc;	      /* sessions etc.: a priv_backend over priv, or the real
			      backend in one-process mode */
	struct ratelimit *auth_fails; /* failed authentications per client address */
	struct http_server *http;     /* for its stats; NULL until it runs */
	char instance_id[INSTANCE_ID_LEN];
	bool instance_persisted;
	char started_at[32]; /* ISO-8601 UTC */
	char hostname[256];
	struct terminate_env terminate; /* oc, the revocation store and how to reach ocserv.conf */
	struct hook_server *hooks;	/* NULL when the hook socket could not be opened */
	struct event_hub *events;	/* connect/disconnect events (GET /ocserv/events) */
	struct priv_events_renewer *renewer; /* api process: renews the root side's
						 subscription when the hub finds it deaf */
};
