/* Terminate: end a user's VPN sessions AND keep their clients from coming
 * back with their cookies (a plain disconnect leaves the cookie of a client
 * that had already dropped, e.g. killed, valid until cookie-timeout).
 *
 * Two methods (docs/operations.md, "Terminate"):
 * - native, ocserv ≥ 1.4.2: `terminate id|user` and `terminate session SID`
 *   for the cookies of closed sessions;
 * - hook, older ocserv: the session ids are listed in the revocation store
 *   (revoke.h) BEFORE the sessions are disconnected, and the connect hook
 *   refuses any connection that resumes one of them. This needs ocserv's
 *   connect-script to be our hook.
 * With neither, terminate is ERR_NOT_SUPPORTED and nothing is touched. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hook_server.h"
#include "ocserv.h"
#include "priv.h"
#include "revoke.h"
#include "sessions.h"

#define HOOK_LOOKUP_MS 2000 /* within the hook's own HOOK_TIMEOUT_MS (hook.h) */

struct terminate_env {
	struct ocserv *oc;
	struct revoke *revoked;
	bool hook_running; /* the hook server listens */
	/* Asked whether ocserv.conf's connect-script is our hook
	 * (PRIV_OCSERV_HOOK_CONFIGURED, each time: the file is root's); NULL:
	 * the hook method is unavailable. */
	struct priv *priv;
	_Atomic int64_t last_event; /* epoch of the last hook event; 0: none since start */
};

struct terminate_support {
	bool supported;
	const char *method; /* "native", "hook", or NULL when unsupported */
	char version[32];   /* ocserv's, "" when unknown */
	char reason[200];   /* why not, or how */
};

/* What this ocserv supports; never fails (an unknown version is reported in
 * reason). */
void terminate_support(const struct terminate_env *te, struct terminate_support *ret);

struct terminate_result {
	struct session_list *sessions; /* the live sessions ended (caller frees) */
	size_t cookies;		       /* cookies of closed sessions invalidated or revoked */
	const char *method;
	char why[200]; /* with ERR_NOT_SUPPORTED from the support check: for the client */
};

/* Terminate the selected session (by id) or every session and resumable
 * cookie of a user. ERR_NOT_FOUND when there is nothing to terminate,
 * ERR_NOT_SUPPORTED when neither method is available (res->why says why, in
 * words fit for the client; ei only ever holds detail for the log); on
 * success res is filled and the caller frees res->sessions. */
int terminate_run(const struct terminate_env *te, const struct session_selector *sel,
		  struct terminate_result *res, struct err_info *ei);

/* True when path names our hook: its basename is ocserv-agent-hook, or the
 * script (at most 8 KiB) runs `ocserv-agent hook`. */
bool terminate_is_hook_script(const char *path);

/* True when the ocserv.conf at conf_path (read now) sets a connect-script,
 * and it and every virtual host's own connect-script is our hook. The root
 * side's PRIV_OCSERV_HOOK_CONFIGURED. */
bool terminate_conf_runs_hook(const char *conf_path);

/* The connect hook's decision (hook_decide_fn; app is a terminate_env):
 * refuse a connection that resumes a revoked session. Records the time of
 * every event (connect or disconnect) in last_event. */
bool terminate_hook_decide(void *app, const struct hook_event *ev, char *why, size_t len);
