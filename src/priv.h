/* The privilege boundary. Everything that needs root is a named operation
 * with a JSON object of arguments and a JSON result: ocserv's control
 * socket and occtl, `ocserv -t`, systemctl, writing ocpasswd, ocserv.conf
 * and the per-user/group files, and reading files that hold secrets.
 *
 * The api side (handlers, the sessions proxy of priv_backend.h) calls
 * priv_call(). In privilege-separated mode the call travels over a
 * socketpair to the root process (priv_client.h → priv_server.h);
 * otherwise it is dispatched in this process. Either way the root side
 * (priv_ops.h) re-validates every argument against the operation's table
 * before it does anything: the same code runs in both modes.
 *
 * Results are what the api side needs and no more: secrets are redacted by
 * the root side (ocserv.conf's pins, RADIUS shared secrets, password
 * hashes), so a compromised api process cannot read them through here. */
#pragma once

#include <jansson.h>

#include "err.h"

enum priv_op {
	PRIV_OP_NONE = 0,
	/* ocserv's control (priv_ops_ocserv.c): struct ocserv_backend_ops */
	PRIV_OCSERV_STATUS,	      /* {timeoutMs?} → status object */
	PRIV_OCSERV_LIST,	      /* {} → [session] (priv_codec.h) */
	PRIV_OCSERV_USER,	      /* {username} → [session] */
	PRIV_OCSERV_ID,		      /* {id, timeoutMs?} → [session] */
	PRIV_OCSERV_DISCONNECT_ID,    /* {id} → {} */
	PRIV_OCSERV_DISCONNECT_USER,  /* {username} → {} */
	PRIV_OCSERV_VERSION,	      /* {} → {text, major, minor, patch} */
	PRIV_OCSERV_COOKIES,	      /* {validOnly} → [cookie] */
	PRIV_OCSERV_COOKIE,	      /* {sid} → [cookie] */
	PRIV_OCSERV_IROUTES,	      /* {} → [iroute] */
	PRIV_OCSERV_BANS,	      /* {} → [ban] */
	PRIV_OCSERV_BAN_POINTS,	      /* {} → [ban] */
	PRIV_OCSERV_UNBAN,	      /* {ip} → {} */
	PRIV_OCSERV_RELOAD,	      /* {} → {} */
	PRIV_OCSERV_TERMINATE_ID,     /* {id} → {} */
	PRIV_OCSERV_TERMINATE_USER,   /* {username} → {} */
	PRIV_OCSERV_TERMINATE_COOKIE, /* {sid} → {} */
	PRIV_OCSERV_BACKEND_IN_USE,   /* {} → {name} */
	PRIV_OCSERV_HOOK_CONFIGURED,  /* {} → {configured}: ocserv.conf runs our hook */
	PRIV_EVENTS_RENEW,	      /* {} → {}: the api's hub found the subscription
					 deaf (event_hub_ctl_deaf): renew it */
	/* accounts in ocpasswd (priv_ops_accounts.c) */
	PRIV_ACCOUNTS_LIST,
	PRIV_ACCOUNTS_GET,
	PRIV_ACCOUNTS_PUT,
	PRIV_ACCOUNTS_PATCH,
	PRIV_ACCOUNTS_DELETE,
	PRIV_ACCOUNTS_LOCK,
	PRIV_ACCOUNTS_EXPORT,
	PRIV_ACCOUNTS_IMPORT,
	/* per-user and per-group config files (priv_ops_userconf.c) */
	PRIV_USERCONF_LIST,
	PRIV_USERCONF_GET,
	PRIV_USERCONF_CHANGE, /* PUT and PATCH */
	PRIV_USERCONF_DELETE,
	/* ocserv.conf (priv_ops_config.c) */
	PRIV_CONFIG_GET,
	PRIV_CONFIG_CHANGE, /* PATCH and restore */
	PRIV_CONFIG_BACKUPS,
	PRIV_CONFIG_BACKUP,
	PRIV_CONFIG_CHECK, /* `ocserv -t` of the live file */
	/* the service, health, RADIUS (priv_ops_system.c) */
	PRIV_SERVICE_SHOW,
	PRIV_SERVICE_ACTION,
	PRIV_SERVICE_SYSTEMD, /* {} → {available, detail?} */
	PRIV_HEALTH,
	PRIV_RADIUS,
	PRIV_OP_MAX
};

/* How an operation failed. */
struct priv_error {
	char message[320];    /* for the client; "" = the code's default message */
	struct err_info ei;   /* for the log */
	json_t *extra;	      /* members added to the error body (e.g. a config
			       change's steps), or NULL; the caller owns it */
	unsigned retry_after; /* a Retry-After header, seconds, or 0 */
};

struct priv;

/* Run op with args (a JSON object; consumed, also on failure; NULL is
 * ERR_NOMEM: so a failed json_pack() needs no check of its own). On
 * success returns 0 and *ret holds the result, the caller's to decref. On
 * failure returns the ERR_* (ERR_PRIV_PROTOCOL when the other side is gone
 * or broke the protocol: ERR_INTERNAL for the client), fills pe (zeroed
 * first) and leaves *ret NULL. request_id (NULL or REQUEST_ID_LEN text)
 * goes to the root side's audit and log lines. Thread-safe; calls may run
 * concurrently. */
int priv_call(struct priv *p, const char *request_id, enum priv_op op, json_t *args, json_t **ret,
	      struct priv_error *pe);

/* The name of op ("accounts.put"), or NULL for an unknown value. */
const char *priv_op_name(enum priv_op op);

/* How a struct priv is made: priv_local_new() (priv_ops.h) or
 * priv_client_new() (priv_client.h). Both end with priv_free(). */
struct priv_vtable {
	int (*call)(void *impl, const char *request_id, enum priv_op op, json_t *args, json_t **ret,
		    struct priv_error *pe);
	void (*free)(void *impl);
};

/* Wrap impl; NULL on ENOMEM (impl is then freed with vt->free). */
struct priv *priv_new(const struct priv_vtable *vt, void *impl);
void priv_free(struct priv *p);

/* Free what pe holds (extra); pe stays usable. */
void priv_error_clear(struct priv_error *pe);
