/* The root side of the privilege boundary: one table entry per operation
 * of priv.h, with the arguments it accepts, and the dispatcher that checks
 * them before running it.
 *
 * Checking happens in two stages, and both run before the operation:
 * - shape (priv_dispatch): args is an object; every member is declared,
 *   of its declared JSON type; every required member is there. A message
 *   that fails here was not produced by our api code: ERR_PRIV_PROTOCOL,
 *   and the server ends the sender (priv_server.h).
 * - values (priv_arg.check, and the operation's own checks with the same
 *   validators the API uses: ocpasswd_check_name, userconf_check_name,
 *   conf_schema, ...): strings sized and checked, integers in range.
 *   Such a refusal is an ordinary ERR_BAD_REQUEST naming the member.
 * Nothing is trusted because it came from the api process. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "accounts.h"
#include "config.h"
#include "ocserv.h"
#include "priv.h"

struct priv_events_root;

/* What the root side works with; read-only after start. */
struct priv_root {
	const struct agent_config *cfg;
	struct ocserv *oc;	  /* the real backend (ctl, occtl or auto), no cache */
	struct accounts accounts; /* ocpasswd, from cfg */
	/* ocserv's events subscription's sink (priv_events.h), renewed by
	 * PRIV_EVENTS_RENEW; NULL: nothing to renew (one-process mode) */
	struct priv_events_root *events;
};

enum priv_arg_kind {
	PRIV_ARG_STRING, /* JSON string without NUL, at most max bytes (UTF-8 not required) */
	PRIV_ARG_INT,	 /* JSON integer in [min, max] */
	PRIV_ARG_BOOL,	 /* JSON true/false */
	PRIV_ARG_OBJECT, /* JSON object: the operation checks its content */
	PRIV_ARG_ARRAY,	 /* JSON array of at most max items: likewise */
	PRIV_ARG_NULLABLE_STRING, /* a string as above, or null */
};

struct priv_arg {
	const char *name;
	enum priv_arg_kind kind;
	bool required;
	int64_t min, max; /* INT: bounds; STRING, ARRAY: max bytes / items (min unused) */
	/* STRING: NULL, or a static reason to refuse the value (ERR_BAD_REQUEST
	 * "NAME: REASON"). */
	const char *(*check)(const char *s);
};

struct priv_op_def {
	enum priv_op op;
	const char *name;	     /* "accounts.put": priv_op_name(), logs */
	const struct priv_arg *args; /* ended by an entry with name NULL */
	/* Runs with args checked as above. Returns 0 and sets *ret, or an
	 * ERR_* with pe filled (message for the client, detail in ei). */
	int (*run)(struct priv_root *r, const char *request_id, const json_t *args, json_t **ret,
		   struct priv_error *pe);
};

/* The tables, each ended by an entry with op PRIV_OP_NONE; priv_ops.c
 * indexes them by op. */
extern const struct priv_op_def priv_ops_ocserv[], priv_ops_accounts[], priv_ops_userconf[],
	priv_ops_config[], priv_ops_system[];

/* Whether op changes something (a file, a session, ocserv's state) or
 * hands out secrets (the password hashes of an export): the root side logs
 * each one it ran. */
bool priv_op_audited(enum priv_op op);

/* The definition of op, or NULL. */
const struct priv_op_def *priv_op_def(enum priv_op op);

/* Check args against op's table and run it. ERR_PRIV_PROTOCOL for an
 * unknown op or a shape error (see above), with the reason in pe->ei. */
int priv_dispatch(struct priv_root *r, const char *request_id, enum priv_op op, const json_t *args,
		  json_t **ret, struct priv_error *pe);

/* Both stages of the checks of op's args, without running it (the fuzz
 * target; priv_dispatch uses it). 0, ERR_PRIV_PROTOCOL (unknown op, shape)
 * or ERR_BAD_REQUEST (a value, named in pe->message). */
int priv_check_args(enum priv_op op, const json_t *args, struct priv_error *pe);

/* A struct priv that dispatches in this process (one-process mode, tests).
 * r must outlive it. NULL on ENOMEM. */
struct priv *priv_local_new(struct priv_root *r);

/* Helpers for operations: a member of checked args (NULL/0/false when an
 * optional member is absent or null). */
const char *priv_arg_str(const json_t *args, const char *name);
int64_t priv_arg_int(const json_t *args, const char *name, int64_t absent);
bool priv_arg_bool(const json_t *args, const char *name, bool absent);

/* Fill pe and return err (printf-style client message). */
int priv_fail(struct priv_error *pe, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
