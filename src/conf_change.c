#include "conf_change.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf_check.h"
#include "conf_edit.h"
#include "conf_schema.h"
#include "log.h"
#include "readall.h"
#include "service.h"
#include "subprocess.h"

#define VERIFY_POLL_MS	  100
#define VERIFY_OUTPUT_MAX (64u * 1024)

/* One change at a time in this process; other programs are kept out by
 * the file's lock. */
static pthread_mutex_t change_mutex = PTHREAD_MUTEX_INITIALIZER;

static const char *const apply_names[] = {"none", "reload", "restart"};

int conf_apply_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, apply_names[i]) == 0)
			return i;
	return -1;
}

const char *conf_apply_name(enum conf_apply a)
{
	return apply_names[a];
}

int conf_change_read(const char *path, char **text, size_t *len, struct err_info *ei)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(ei, ERR_CONFLICT, "%s does not exist", path);
		return err_set(ei, err_from_errno(errno), "open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(ei, ERR_CONFLICT, "%s is not a regular file", path);
	}
	if (read_all(fd, CONF_CHANGE_MAX, (size_t)st.st_size, text, len) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOMEM)
			return err_set(ei, ERR_NOMEM, "out of memory");
		return err_set(ei, ERR_INTERNAL, "read %s: %s", path,
			       e == EFBIG ? "larger than 1 MiB" : strerror(e));
	}
	close(fd);
	return 0;
}

void conf_outcome_free(struct conf_outcome *o)
{
	json_decref(o->steps);
	json_decref(o->problems);
	json_decref(o->changed);
	json_decref(o->restart_keys);
	json_decref(o->config);
	free(o->diff);
	free(o->check_output);
	memset(o, 0, sizeof(*o));
}

/* ---- steps ---- */

/* Append {step, ok[, message]} and return it (borrowed; NULL on ENOMEM). */
static json_t *step(struct conf_outcome *out, const char *name, bool ok, const char *message)
{
	json_t *s = json_pack("{s:s,s:b}", "step", name, "ok", ok);

	if (s != NULL && message != NULL && message[0] != '\0')
		json_object_set_new(s, "message", json_string(message));
	if (s == NULL || json_array_append_new(out->steps, s) < 0)
		return NULL;
	if (!ok && out->failed_step[0] == '\0')
		snprintf(out->failed_step, sizeof(out->failed_step), "%s", name);
	return s;
}

static int fail(struct conf_outcome *out, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct conf_outcome *out, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
	return err;
}

/* ---- the candidate ---- */

static bool valid_key_name(const char *k)
{
	size_t n = strlen(k);

	/* every ocserv key starts with a letter: "-x" is no key, and no option */
	return n > 0 && n <= CONF_CHANGE_KEY_MAX && k[0] >= 'a' && k[0] <= 'z' &&
	       strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* A vhost name as ocserv matches it: a host name (letters, digits, '-',
 * '.'), never anything that could close the [vhost:...] bracket. */
static bool valid_vhost(const char *v)
{
	size_t n = strlen(v);

	return n > 0 && n <= CONF_CHANGE_VHOST_MAX &&
	       strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.") == n;
}

static int problem(json_t *problems, const char *key, const char *message)
{
	return json_array_append_new(problems,
				     json_pack("{s:s,s:s}", "key", key, "message", message));
}

/* "KEY" or "vhost:NAME/KEY", as changed keys are named. */
static json_t *change_name(const char *section, const char *key)
{
	return section ? json_sprintf("%s/%s", section, key) : json_string(key);
}

static int note_change(struct conf_outcome *out, const char *section,
		       const struct conf_schema_key *k, const char *key)
{
	if (json_array_append_new(out->changed, change_name(section, key)) < 0)
		return ERR_NOMEM;
	if (k != NULL && k->restart &&
	    json_array_append_new(out->restart_keys, change_name(section, key)) < 0)
		return ERR_NOMEM;
	return 0;
}

/* set KEY to value (JSON; null removes it) in section. */
static int apply_set(struct conf_edit *e, const char *section, const char *vhost, const char *key,
		     const json_t *value, const struct ocserv_version *v, struct conf_outcome *out)
{
	char why[256], *values[CONF_SCHEMA_VALUES_MAX];
	const struct conf_schema_key *k;
	struct err_info ei = {{0}};
	bool changed = false;
	size_t n = 0;
	int r;

	if (!valid_key_name(key))
		return problem(out->problems, key,
			       "not a key name (a letter, then a-z, 0-9, '-', '_')") < 0
			       ? ERR_NOMEM
			       : 0;
	if (conf_schema_host_only(key))
		return problem(out->problems, key,
			       "can only be changed on the host: ocserv runs or writes what it "
			       "names as root") < 0
			       ? ERR_NOMEM
			       : 0;
	k = conf_schema_find(key, v, why, sizeof(why));
	/* any key may be removed: also one this ocserv does not read */
	if (k == NULL && !json_is_null(value))
		return problem(out->problems, key, why) < 0 ? ERR_NOMEM : 0;
	if (json_is_null(value)) {
		if (k != NULL && k->global_only && vhost != NULL)
			return problem(out->problems, key, "may not be set in a virtual host") < 0
				       ? ERR_NOMEM
				       : 0;
		r = conf_edit_unset(e, section, key, &changed, &ei);
	} else {
		r = conf_schema_render(k, vhost, value, values, &n, out->problems);
		if (r == 0)
			r = conf_edit_set(e, section, key, (const char *const *)values, n, &changed,
					  &ei);
		for (size_t i = 0; i < n; i++)
			free(values[i]);
		if (r == 1)
			return 0;
	}
	/* the editor refuses what would not read back as written */
	if (r == ERR_BAD_REQUEST || r == ERR_CONFLICT)
		return problem(out->problems, key, ei.detail) < 0 ? ERR_NOMEM : 0;
	if (r < 0)
		return r;
	return changed ? note_change(out, section, k, key) : 0;
}

static int apply_unset(struct conf_edit *e, const char *section, const char *vhost,
		       const json_t *unset, const struct ocserv_version *v,
		       struct conf_outcome *out)
{
	size_t i;
	json_t *k;

	if (!json_is_array(unset))
		return problem(out->problems, "unset", "must be an array of key names") < 0
			       ? ERR_NOMEM
			       : 0;
	json_array_foreach(unset, i, k)
	{
		int r;
		if (!json_is_string(k)) {
			if (problem(out->problems, "unset", "must be an array of key names") < 0)
				return ERR_NOMEM;
			continue;
		}
		r = apply_set(e, section, vhost, json_string_value(k), json_null(), v, out);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Edit text per rq->set/unset/vhost into *cand. Problems go to out. */
static int build_edit(const struct conf_request *rq, const char *text, size_t len,
		      const struct ocserv_version *v, char **cand, size_t *cand_len,
		      struct conf_outcome *out, struct err_info *ei)
{
	char section[CONF_CHANGE_VHOST_MAX + 8];
	const char *sec = NULL, *key;
	struct conf_edit *e = NULL;
	json_t *value;
	int r;

	if (rq->vhost != NULL) {
		if (!valid_vhost(rq->vhost))
			return fail(out, ERR_BAD_REQUEST,
				    "vhost must be a host name (letters, digits, '-', '.')");
		snprintf(section, sizeof(section), "vhost:%s", rq->vhost);
		sec = section;
	}
	if ((r = conf_edit_parse(text, len, CONF_CHANGE_MAX, &e, ei)) < 0)
		return r;
	if (conf_edit_first_bad(e) != 0) {
		snprintf(out->message, sizeof(out->message),
			 "ocserv.conf line %u cannot be read by ocserv; fix it first",
			 conf_edit_first_bad(e));
		conf_edit_free(e);
		return ERR_CONFLICT;
	}
	r = 0;
	json_object_foreach((json_t *)rq->set, key, value)
	{
		if (rq->unset != NULL && json_is_array(rq->unset)) {
			size_t i;
			json_t *u;
			json_array_foreach(rq->unset, i,
					   u) if (json_is_string(u) &&
						  strcmp(json_string_value(u), key) == 0) r =
				problem(out->problems, key, "both set and unset");
		}
		if (r >= 0)
			r = apply_set(e, sec, rq->vhost, key, value, v, out);
		if (r < 0)
			break;
	}
	if (r >= 0 && rq->unset != NULL)
		r = apply_unset(e, sec, rq->vhost, rq->unset, v, out);
	if (r >= 0 && (*cand = conf_edit_text(e, cand_len)) == NULL)
		r = ERR_NOMEM;
	conf_edit_free(e);
	return r < 0 ? err_set(ei, r, "editing ocserv.conf failed") : 0;
}

/* Whole-file checks of the candidate, through conf_schema_check_whole(). */
struct whole_ctx {
	struct conf_edit *e;
};

static const char *whole_get(void *ctx, const char *section, const char *key)
{
	const char *v[1];

	return conf_edit_values(((struct whole_ctx *)ctx)->e, section, key, v, 1) ? v[0] : NULL;
}

static int check_whole(const char *cand, size_t len, const struct ocserv_version *v,
		       json_t *problems, struct err_info *ei)
{
	struct whole_ctx ctx = {0};
	const char *vhosts[64];
	size_t n = 0;
	int r;

	if ((r = conf_edit_parse(cand, len, CONF_CHANGE_MAX, &ctx.e, ei)) < 0)
		return r;
	for (size_t i = 0; i < conf_edit_count(ctx.e) && n < 64; i++) {
		const struct conf_line *l = conf_edit_line(ctx.e, i);
		if (l->kind == CONF_LINE_SECTION && l->section &&
		    strncmp(l->section, "vhost:", 6) == 0)
			vhosts[n++] = l->section;
	}
	r = conf_schema_check_whole(whole_get, &ctx, vhosts, n, v, problems);
	conf_edit_free(ctx.e);
	return r < 0 ? err_set(ei, r, "out of memory") : 0;
}

/* The changed keys of a restore, with the restart-only ones. */
static int restore_changes(const char *old, size_t old_len, const char *cand, size_t cand_len,
			   const struct ocserv_version *v, struct conf_outcome *out)
{
	json_t *keys = conf_view_changed_keys(old, old_len, cand, cand_len), *k;
	size_t i;

	if (keys == NULL)
		return ERR_NOMEM;
	json_array_foreach(keys, i, k)
	{
		const char *name = json_string_value(k), *slash = strrchr(name, '/');
		const struct conf_schema_key *sk =
			conf_schema_find(slash ? slash + 1 : name, v, NULL, 0);
		if (json_array_append(out->changed, k) < 0 ||
		    (sk && sk->restart && json_array_append(out->restart_keys, k) < 0)) {
			json_decref(keys);
			return ERR_NOMEM;
		}
	}
	json_decref(keys);
	return 0;
}

/* ---- ocserv -t on a candidate beside the file ---- */

static int check_candidate(const struct conf_env *env, const char *cand, size_t len,
			   struct conf_outcome *out, struct err_info *ei)
{
	const char *path = env->cfg->ocserv_conf_path, *slash = strrchr(path, '/');
	char tmp[4200];
	struct conf_check_result res;
	json_t *s;
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%.*s/.%s.check.XXXXXX", (int)(slash - path), path, slash + 1);
	/* mode 0600: it holds ocserv.conf's secrets; ocserv -t runs as root */
	if ((fd = mkstemp(tmp)) < 0)
		return err_set(ei, err_from_errno(errno), "create %s: %s", tmp, strerror(errno));
	r = write(fd, cand, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	if (r < 0) {
		unlink(tmp);
		return err_set(ei, ERR_INTERNAL, "write %s: %s", tmp, strerror(errno));
	}
	r = conf_check_file(env->cfg, tmp, &res, ei);
	unlink(tmp);
	if (r == ERR_NOMEM)
		return r;
	s = step(out, "check", r == 0, r == ERR_CHECK_FAILED ? ei->detail : NULL);
	if (r == ERR_CONFIG_INVALID && res.output != NULL) {
		if (s != NULL)
			json_object_set_new(s, "output", json_string(res.output));
		out->check_output = res.output;
		res.output = NULL;
	}
	conf_check_result_free(&res);
	return r;
}

/* ---- apply and verify ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait until ocserv answers STATUS and is online; its main pid in *pid. */
static int wait_online(struct ocserv *oc, unsigned timeout_ms, int64_t *pid)
{
	uint64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct err_info ei = {{0}};
		uint64_t left = deadline > now_ms() ? deadline - now_ms() : 0;
		json_t *st = NULL;
		int r = ocserv_status(oc, left < 2000 ? (unsigned)left + 1 : 2000, &st, &ei);
		const char *status = st ? json_string_value(json_object_get(st, "status")) : NULL;
		bool online = r == 0 && status != NULL && strcmp(status, "online") == 0;

		if (online)
			*pid = json_integer_value(json_object_get(st, "serverPid"));
		json_decref(st);
		if (online)
			return 0;
		if (now_ms() >= deadline)
			return -1;
		sleep_ms(VERIFY_POLL_MS);
	}
}

static int apply_action(const struct conf_env *env, enum conf_apply a, char *msg, size_t len)
{
	struct err_info ei = {{0}};
	int r;

	if (a == CONF_APPLY_RELOAD) {
		r = ocserv_reload(env->oc, &ei);
		if (r < 0)
			snprintf(msg, len, "reload failed: %s", ei.detail);
		return r;
	}
	struct service_options o;
	struct service_error e = {{0}, {{0}}};
	service_options_from_config(env->cfg, &o);
	r = service_run_action(&o, SERVICE_RESTART, &e);
	if (r < 0)
		snprintf(msg, len, "%s", e.message);
	return r;
}

/* The operator's check (OCSERV_CONF_VERIFY_COMMAND PHASE CONF). */
static int run_verify_command(const struct conf_env *env, const char *phase, json_t *s, char *msg,
			      size_t len)
{
	const char *argv[] = {env->cfg->conf_verify_command, phase, env->cfg->ocserv_conf_path,
			      NULL};
	struct spawn_result sr;
	struct err_info ei = {{0}};
	int r;

	if (spawn_run((char *const *)argv, env->cfg->conf_verify_timeout_ms, VERIFY_OUTPUT_MAX, &sr,
		      &ei) < 0) {
		snprintf(msg, len, "cannot run the verify command: %s", ei.detail);
		return -1;
	}
	if (s != NULL)
		json_object_set_new(s, "output",
				    json_sprintf("%s%s", sr.err, sr.out ? sr.out : ""));
	r = sr.outcome == SPAWN_EXITED && sr.exit_status == 0 ? 0 : -1;
	if (r < 0)
		snprintf(msg, len, "the verify command %s",
			 sr.outcome == SPAWN_EXITED	 ? "failed"
			 : sr.outcome == SPAWN_TIMED_OUT ? "timed out"
							 : "could not run");
	spawn_result_free(&sr);
	return r;
}

/* After a reload (pid_before: ocserv's main pid before it; 0 unknown) or
 * a restart: online within the timeout, still the same process after the
 * settle time, then the operator's command. */
static int verify(const struct conf_env *env, enum conf_apply a, int64_t pid_before,
		  const char *phase, const char *name, struct conf_outcome *out)
{
	const struct agent_config *cfg = env->cfg;
	char msg[256] = "";
	int64_t pid = 0, pid2 = 0;
	json_t *s;
	int r = -1;

	if (wait_online(env->oc, cfg->conf_verify_timeout_ms, &pid) < 0)
		snprintf(msg, sizeof(msg), "ocserv did not answer as online within %u ms",
			 cfg->conf_verify_timeout_ms);
	else if (a == CONF_APPLY_RELOAD && pid_before > 0 && pid != pid_before)
		snprintf(msg, sizeof(msg), "ocserv's main process changed (%lld to %lld)",
			 (long long)pid_before, (long long)pid);
	else if (sleep_ms(cfg->conf_verify_settle_ms),
		 wait_online(env->oc, cfg->conf_verify_timeout_ms, &pid2) < 0 || pid2 != pid)
		snprintf(msg, sizeof(msg), "ocserv did not stay up for %u ms",
			 cfg->conf_verify_settle_ms);
	else
		r = 0;
	s = step(out, name, r == 0, msg);
	if (s != NULL && pid2 > 0)
		json_object_set_new(s, "serverPid", json_integer(pid2));
	if (r == 0 && cfg->conf_verify_command != NULL) {
		r = run_verify_command(env, phase, s, msg, sizeof(msg));
		if (r < 0 && s != NULL) {
			json_object_set_new(s, "ok", json_false());
			json_object_set_new(s, "message", json_string(msg));
		}
		/* the first step that failed stays the failed one */
		if (r < 0 && out->failed_step[0] == '\0')
			snprintf(out->failed_step, sizeof(out->failed_step), "%s", name);
	}
	if (r < 0)
		snprintf(out->message, sizeof(out->message), "%s", msg);
	return r;
}

/* ---- writing ---- */

static int write_file(const struct conf_env *env, const char *text, size_t len, struct err_info *ei)
{
	struct atomic_txn t = {0};
	int r = atomic_begin(&t, env->cfg->ocserv_conf_path, 0640, CONF_CHANGE_LOCK_MS, ei);

	return r < 0 ? r : atomic_commit(&t, text, len, ei);
}

/* Write the old bytes back, apply again, verify again. */
static int rollback(const struct conf_env *env, const char *old, size_t old_len, enum conf_apply a,
		    struct conf_outcome *out)
{
	char what[sizeof(out->message)], msg[256] = "";
	struct err_info ei = {{0}};
	int64_t pid = 0;
	int r;

	memcpy(what, out->message, sizeof(what));
	r = write_file(env, old, old_len, &ei);
	step(out, "rollback-write", r == 0, r < 0 ? ei.detail : NULL);
	if (r == 0 && a == CONF_APPLY_RELOAD) {
		/* a reload that killed ocserv cannot be undone by a reload */
		if (wait_online(env->oc, 500, &pid) < 0)
			a = CONF_APPLY_RESTART;
	}
	if (r == 0) {
		r = apply_action(env, a, msg, sizeof(msg));
		step(out, a == CONF_APPLY_RELOAD ? "rollback-reload" : "rollback-restart", r == 0,
		     msg);
	}
	if (r == 0)
		r = verify(env, a, pid, "rollback", "rollback-verify", out);
	snprintf(out->message, sizeof(out->message), "%s; %s", what,
		 r == 0 ? "the previous ocserv.conf was restored and ocserv runs it"
			: "restoring the previous ocserv.conf failed too: check ocserv now");
	return r == 0 ? ERR_ROLLED_BACK : ERR_ROLLBACK_FAILED;
}

/* ---- the run ---- */

/* Before anything is written: what the apply step will need. */
static int precheck_apply(const struct conf_env *env, enum conf_apply a, int64_t *pid,
			  struct conf_outcome *out, struct err_info *ei)
{
	if (a == CONF_APPLY_RELOAD) {
		if (wait_online(env->oc, 2000, pid) < 0) {
			snprintf(out->message, sizeof(out->message),
				 "ocserv is not answering on its control socket; nothing was "
				 "written (use apply \"restart\" or \"none\")");
			return err_set(ei, ERR_OCCTL_FAILED, "ocserv not online before reload");
		}
	} else if (a == CONF_APPLY_RESTART) {
		struct service_options o;
		struct service_error e = {{0}, {{0}}};
		int r;
		service_options_from_config(env->cfg, &o);
		if ((r = service_check_systemd(&o, &e)) < 0) {
			snprintf(out->message, sizeof(out->message), "%s", e.message);
			*ei = e.ei;
			return r;
		}
	}
	return 0;
}

static int new_outcome(struct conf_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->steps = json_array();
	out->problems = json_array();
	out->changed = json_array();
	out->restart_keys = json_array();
	return out->steps && out->problems && out->changed && out->restart_keys ? 0 : ERR_NOMEM;
}

/* The candidate text of the request, validated. */
static int candidate(const struct conf_env *env, const struct conf_request *rq, const char *old,
		     size_t old_len, const struct ocserv_version *v, char **cand, size_t *cand_len,
		     struct conf_outcome *out, struct err_info *ei)
{
	int r;

	if (rq->restore_id != NULL) {
		r = conf_backup_read(env->cfg->conf_backup_dir, rq->restore_id, CONF_CHANGE_MAX,
				     cand, cand_len, ei);
		if (r == ERR_BAD_REQUEST || r == ERR_NOT_FOUND)
			return fail(out, r, "%s", ei->detail);
		if (r == 0)
			r = restore_changes(old, old_len, *cand, *cand_len, v, out);
	} else {
		if (json_object_size(rq->set) == 0 && json_array_size(rq->unset) == 0 &&
		    !(rq->unset != NULL && !json_is_array(rq->unset)))
			return fail(out, ERR_BAD_REQUEST, "nothing to change: give set or unset");
		r = build_edit(rq, old, old_len, v, cand, cand_len, out, ei);
	}
	if (r == 0 && json_array_size(out->problems) == 0)
		r = check_whole(*cand, *cand_len, v, out->problems, ei);
	if (r == 0 && json_array_size(out->problems) > 0)
		r = fail(out, ERR_BAD_REQUEST, "%s", "the change is invalid: see problems");
	if (r == 0 || r == ERR_BAD_REQUEST)
		step(out, "validate", r == 0, NULL);
	return r;
}

/* A commit that failed after its rename (the directory's fsync) left the
 * new file in place: put the old bytes back, so that a failed write is an
 * unchanged file, as the client is told. */
static void undo_renamed(const struct conf_env *env, const char *cand, size_t cand_len,
			 const char *old, size_t old_len)
{
	struct err_info ei = {{0}};
	size_t len = 0;
	char *now = NULL;

	if (conf_change_read(env->cfg->ocserv_conf_path, &now, &len, &ei) == 0 && len == cand_len &&
	    memcmp(now, cand, len) == 0 && write_file(env, old, old_len, &ei) < 0)
		log_error("putting the old ocserv.conf back failed: %s", ei.detail);
	free(now);
}

/* Under the lock: compare ETags, back up, write. */
static int write_locked(const struct conf_env *env, const char *cand, size_t cand_len, char **old,
			size_t *old_len, struct conf_outcome *out, struct err_info *ei)
{
	const struct agent_config *cfg = env->cfg;
	struct atomic_txn t = {.inject = env->inject};
	char etag[CONF_ETAG_LEN];
	int r;

	if ((r = atomic_begin(&t, cfg->ocserv_conf_path, 0640, CONF_CHANGE_LOCK_MS, ei)) < 0) {
		step(out, "write", false,
		     r == ERR_LOCKED ? "another program holds the lock" : NULL);
		return r;
	}
	/* the file as it is now: another program may have changed it since */
	if ((r = conf_change_read(cfg->ocserv_conf_path, old, old_len, ei)) < 0) {
		atomic_abort(&t);
		return r;
	}
	conf_etag(*old, *old_len, etag);
	if (strcmp(etag, out->previous_etag) != 0) {
		atomic_abort(&t);
		memcpy(out->etag, etag, sizeof(etag));
		return fail(out, ERR_PRECONDITION_FAILED, "%s",
			    "ocserv.conf changed while the change was checked");
	}
	r = conf_backup_prepare(cfg->conf_backup_dir, ei);
	if (r == 0)
		r = conf_backup_save(cfg->conf_backup_dir, *old, *old_len, (int64_t)time(NULL),
				     cfg->conf_backup_keep, out->backup_id, ei);
	json_t *s = step(out, "backup", r == 0, r < 0 ? "the backup could not be written" : NULL);
	if (r < 0) {
		atomic_abort(&t);
		return r;
	}
	if (s != NULL)
		json_object_set_new(s, "backupId", json_string(out->backup_id));
	r = atomic_commit(&t, cand, cand_len, ei);
	if (r < 0)
		undo_renamed(env, cand, cand_len, *old, *old_len);
	step(out, "write", r == 0,
	     r < 0 ? "ocserv.conf could not be written; it is unchanged" : NULL);
	return r;
}

/* Under the mutex: write, apply, verify, roll back. */
static int commit(const struct conf_env *env, const struct conf_request *rq, const char *cand,
		  size_t cand_len, int64_t pid, struct conf_outcome *out, struct err_info *ei)
{
	char *old = NULL, msg[256] = "";
	size_t old_len = 0;
	int r = write_locked(env, cand, cand_len, &old, &old_len, out, ei);

	if (r < 0 || rq->apply == CONF_APPLY_NONE) {
		free(old);
		return r;
	}
	out->applied = rq->apply;
	r = apply_action(env, rq->apply, msg, sizeof(msg));
	step(out, conf_apply_name(rq->apply), r == 0, msg);
	if (r < 0)
		snprintf(out->message, sizeof(out->message), "%s", msg);
	else
		r = verify(env, rq->apply, pid, "apply", "verify", out);
	if (r < 0)
		r = rollback(env, old, old_len, rq->apply, out);
	free(old);
	return r;
}

static void audit(const struct conf_request *rq, const struct conf_outcome *out, int r)
{
	char keys[512] = "";
	size_t i, o = 0;
	json_t *k;

	json_array_foreach(out->changed, i, k)
	{
		const char *s = json_string_value(k);
		if (o + strlen(s) + 2 >= sizeof(keys))
			break;
		o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%s%s", o ? "," : "", s);
	}
	log_msg(LOG_NOTICE, rq->request_id,
		"audit op=%s keys=\"%s\" vhost=%s apply=%s dryRun=%s result=%s backup=%s",
		rq->restore_id ? "config-restore" : "config-change", keys,
		rq->vhost && valid_vhost(rq->vhost) ? rq->vhost : "-", conf_apply_name(rq->apply),
		rq->dry_run ? "true" : "false", r == 0 ? "OK" : err_code(r),
		out->backup_id[0] ? out->backup_id : "-");
}

static int run(const struct conf_env *env, const struct conf_request *rq, struct conf_outcome *out,
	       struct err_info *ei)
{
	const char *path = env->cfg->ocserv_conf_path;
	struct ocserv_version v;
	char *old = NULL, *cand = NULL;
	size_t old_len, cand_len = 0;
	int64_t pid = 0;
	int r;

	if (rq->if_match == NULL && !rq->dry_run)
		return fail(out, ERR_PRECONDITION_REQUIRED, "%s",
			    "send If-Match with the ETag of GET /ocserv/config");
	if ((r = conf_change_read(path, &old, &old_len, ei)) < 0)
		return r;
	conf_etag(old, old_len, out->previous_etag);
	memcpy(out->etag, out->previous_etag, sizeof(out->etag));
	if (rq->if_match != NULL && strcmp(rq->if_match, out->previous_etag) != 0) {
		free(old);
		return fail(out, ERR_PRECONDITION_FAILED, "%s",
			    "ocserv.conf changed since that ETag was read");
	}
	ocserv_version_or_unknown(env->oc, &v);
	r = candidate(env, rq, old, old_len, &v, &cand, &cand_len, out, ei);
	if (r == 0 &&
	    (out->diff = conf_view_diff(old, old_len, cand, cand_len, path, path)) == NULL)
		r = ERR_NOMEM;
	if (r == 0 && json_array_size(out->changed) == 0 && cand_len == old_len &&
	    memcmp(cand, old, old_len) == 0)
		goto out; /* nothing to do */
	if (r == 0 && rq->apply == CONF_APPLY_RELOAD && json_array_size(out->restart_keys) > 0)
		r = fail(out, ERR_RESTART_REQUIRED, "%s",
			 "ocserv reads these keys at start only: send apply \"restart\" "
			 "(or \"none\" to write the file only)");
	if (r == 0)
		r = check_candidate(env, cand, cand_len, out, ei);
	if (r == ERR_CONFIG_INVALID)
		snprintf(out->message, sizeof(out->message),
			 "ocserv -t refused the changed configuration; nothing was written");
	if (r == 0 && !rq->dry_run)
		r = precheck_apply(env, rq->apply, &pid, out, ei);
	if (r == 0 && !rq->dry_run) {
		pthread_mutex_lock(&change_mutex);
		r = commit(env, rq, cand, cand_len, pid, out, ei);
		pthread_mutex_unlock(&change_mutex);
	}
out:
	if (r == 0 && !rq->dry_run && out->backup_id[0] != '\0') { /* written */
		free(old);
		old = NULL;
		if (conf_change_read(path, &old, &old_len, ei) == 0) {
			conf_etag(old, old_len, out->etag);
			out->config = conf_view_json(path, old, old_len, &v);
		}
	}
	free(old);
	free(cand);
	return r;
}

int conf_change_run(const struct conf_env *env, const struct conf_request *rq,
		    struct conf_outcome *out, struct err_info *ei)
{
	int r = new_outcome(out);

	if (r == 0)
		r = run(env, rq, out, ei);
	audit(rq, out, r);
	return r;
}
