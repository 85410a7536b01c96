/* A change to ocserv.conf made safely (issue 6): a reload with a file
 * ocserv cannot use stops the VPN, so every change goes
 *   validate (conf_schema.h) → check (`ocserv -t` on a candidate file next
 *   to ocserv.conf) → lock → backup (conf_backup.h) → write (atomic, owner
 *   and mode kept, lines edited in place: conf_edit.h) → apply (reload, or
 *   restart through systemd) → verify (ocserv answers on its control socket
 *   and is online, stays up for the settle time, the operator's command
 *   passes) → on failure: rollback (write the old bytes back, apply again,
 *   verify again).
 * Each step is reported in order in the outcome, so a client sees what
 * happened and where it stopped.
 *
 * Concurrency: changes are serialised by a process-wide mutex and, against
 * other programs, by ocserv.conf's lock (PATH.tmp, atomic_file.h). The
 * client's If-Match ETag is compared under the lock with the file as it is
 * then: a lost update is impossible.
 *
 * Nothing is written before every check that can refuse has passed: bad
 * values (400), ETag (428/412), restart-only keys with a reload (409),
 * `ocserv -t` (409), systemd missing for a restart (503), ocserv not
 * answering before a reload (503). A failed write leaves the old file
 * (atomic_file.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "atomic_file.h"
#include "conf_backup.h"
#include "conf_view.h"
#include "config.h"
#include "err.h"
#include "ocserv.h"

#define CONF_CHANGE_MAX	      (1024 * 1024) /* bytes of ocserv.conf handled at most */
#define CONF_CHANGE_LOCK_MS   2000	    /* wait for another writer's lock */
#define CONF_CHANGE_KEY_MAX   64	    /* bytes of a key name */
#define CONF_CHANGE_VHOST_MAX 253	    /* bytes of a vhost name */

enum conf_apply {
	CONF_APPLY_NONE,
	CONF_APPLY_RELOAD,
	CONF_APPLY_RESTART,
};

/* "none", "reload", "restart" ↔ enum; parse returns -1 for anything else. */
int conf_apply_parse(const char *s);
const char *conf_apply_name(enum conf_apply a);

struct conf_env {
	const struct agent_config *cfg; /* paths, timeouts, backups, verify command, systemd */
	struct ocserv *oc;
	/* Tests only (NULL in production): passed to atomic_txn.inject for
	 * the change's write; the rollback's write is never injected. */
	int (*inject)(enum atomic_step step);
};

struct conf_request {
	const json_t *set;	/* {KEY: VALUE|[VALUE…]|null} or NULL */
	const json_t *unset;	/* [KEY…] or NULL */
	const char *vhost;	/* NULL: the global section */
	const char *restore_id; /* restore this backup instead of set/unset */
	const char *if_match;	/* the client's If-Match, or NULL */
	bool dry_run;
	enum conf_apply apply;
	const char *request_id; /* for the log */
};

/* Filled by conf_change_run() in every case (members NULL/"" when the run
 * did not get that far); freed by conf_outcome_free(). */
struct conf_outcome {
	json_t *steps;			   /* [{step, ok, …}] */
	json_t *problems;		   /* [{key, value?, message}] of a 400 */
	json_t *changed;		   /* ["KEY" | "vhost:NAME/KEY"] */
	json_t *restart_keys;		   /* the changed keys ocserv reads at start only */
	json_t *config;			   /* conf_view_json() of the new file (after a change) */
	char *diff;			   /* unified diff old → new, secrets redacted */
	char *check_output;		   /* `ocserv -t`'s output when it refused */
	char etag[CONF_ETAG_LEN];	   /* the file's ETag at the end */
	char previous_etag[CONF_ETAG_LEN]; /* the file's ETag at the start */
	char backup_id[CONF_BACKUP_ID_LEN];
	char failed_step[32];
	enum conf_apply applied;
	char message[256]; /* for the client, with the error */
};

/* Run one change or restore. 0 on success (also "nothing to change" and
 * dry runs); else the error for the client: ERR_BAD_REQUEST (problems or
 * message), ERR_NOT_FOUND (no such backup), ERR_PRECONDITION_REQUIRED,
 * ERR_PRECONDITION_FAILED, ERR_RESTART_REQUIRED, ERR_CONFIG_INVALID,
 * ERR_CHECK_FAILED, ERR_LOCKED, ERR_CONFLICT (no ocserv.conf), ERR_PERMISSION,
 * ERR_SYSTEMD_UNAVAILABLE, ERR_SERVICE_FAILED, ERR_OCCTL_FAILED (ocserv not
 * answering before a reload), ERR_ROLLED_BACK, ERR_ROLLBACK_FAILED,
 * ERR_INTERNAL, ERR_NOMEM; detail for the log in ei. */
int conf_change_run(const struct conf_env *env, const struct conf_request *rq,
		    struct conf_outcome *out, struct err_info *ei);

void conf_outcome_free(struct conf_outcome *o);

/* Read ocserv.conf whole: *text malloc'd, NUL-terminated. ERR_CONFLICT (it
 * does not exist), ERR_PERMISSION, ERR_INTERNAL (unreadable or larger than
 * CONF_CHANGE_MAX), ERR_NOMEM. */
int conf_change_read(const char *path, char **text, size_t *len, struct err_info *ei);
