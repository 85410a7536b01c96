#include "occtl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "occtl_json.h"
#include "subprocess.h"
#include "status.h"
#include "timefmt.h"

struct occtl {
	char *path, *socket;
	bool use_sudo;
	unsigned timeout_ms;
	/* occtl's version decides whether terminate exists */
	struct ocserv_version_cache version;
};

int occtl_build_argv(const struct occtl_options *o, const char *const *args, const char **argv,
		     size_t max)
{
	const char *cmd[OCCTL_MAX_ARGV];
	size_t n = 0;

	cmd[n++] = o->path;
	if (o->socket != NULL) {
		cmd[n++] = "-s";
		cmd[n++] = o->socket;
	}
	for (size_t i = 0; args[i] != NULL; i++) {
		if (n == OCCTL_MAX_ARGV - 1)
			return ERR_INTERNAL;
		cmd[n++] = args[i];
	}
	cmd[n] = NULL;
	return spawn_build_argv(o->use_sudo ? SPAWN_SUDO_PATH : NULL, cmd, argv, max);
}

/* "show user bob": the command words of args, for log detail. */
static const char *describe(const char *const *args, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; args[i] != NULL && o < len; i++) {
		if (strcmp(args[i], "-j") == 0)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", args[i]);
	}
	return buf;
}

/* First line of s, for log detail. */
static void first_line(char *dst, size_t len, const char *s)
{
	size_t n = strcspn(s, "\n");

	snprintf(dst, len, "%.*s", (int)(n < len ? n : len - 1), s);
}

/* Run occtl with args. On ERR_OK the caller owns *res and checks its exit
 * status; every other outcome is already mapped to an error. */
static int run(struct occtl *oc, const char *const *args, unsigned timeout_ms,
	       struct spawn_result *res, struct err_info *ei)
{
	struct occtl_options o = {oc->path, oc->socket, oc->use_sudo, oc->timeout_ms};
	const char *argv[OCCTL_MAX_ARGV];
	char cmd[128];
	int r;

	if (access(oc->path, X_OK) != 0)
		return err_set(ei, ERR_OCCTL_NOT_FOUND, "%s is missing or not executable",
			       oc->path);
	if (occtl_build_argv(&o, args, argv, OCCTL_MAX_ARGV) < 0)
		return err_set(ei, ERR_INTERNAL, "occtl command line too long");
	r = spawn_run((char *const *)argv, timeout_ms ? timeout_ms : oc->timeout_ms,
		      OCCTL_MAX_OUTPUT, res, ei);
	if (r < 0)
		return r;
	switch (res->outcome) {
	case SPAWN_EXITED:
		return 0;
	case SPAWN_NOT_FOUND:
		r = err_set(ei, ERR_OCCTL_NOT_FOUND, "cannot execute %s", argv[0]);
		break;
	case SPAWN_TIMED_OUT:
		r = err_set(ei, ERR_OCCTL_TIMEOUT, "occtl %s: no answer within %u ms",
			    describe(args, cmd, sizeof(cmd)),
			    timeout_ms ? timeout_ms : oc->timeout_ms);
		break;
	case SPAWN_OUTPUT_TOO_LARGE:
		r = err_set(ei, ERR_OCCTL_FAILED, "occtl output larger than %u bytes",
			    OCCTL_MAX_OUTPUT);
		break;
	}
	spawn_result_free(res);
	return r;
}

static int exit_error(const struct spawn_result *res, const char *const *args, struct err_info *ei)
{
	char line[160], cmd[128];

	first_line(line, sizeof(line), res->err[0] ? res->err : res->out);
	return err_set(ei, ERR_OCCTL_FAILED, "occtl %s exited %d: %s",
		       describe(args, cmd, sizeof(cmd)), res->exit_status, line);
}

/* Run a command that prints one JSON value (show status). */
static int run_json(struct occtl *oc, const char *const *args, unsigned timeout_ms, json_t **ret,
		    struct err_info *ei)
{
	struct spawn_result res;
	char jerr[160], cmd[128];
	json_t *j;
	int r = run(oc, args, timeout_ms, &res, ei);

	if (r < 0)
		return r;
	j = res.exit_status == 0 ? occtl_json_load(res.out, res.out_len, jerr, sizeof(jerr)) : NULL;
	if (res.exit_status != 0) {
		r = exit_error(&res, args, ei);
	} else if (j == NULL) {
		r = err_set(ei, ERR_OCCTL_BAD_JSON, "occtl %s: %s",
			    describe(args, cmd, sizeof(cmd)), jerr);
	} else {
		*ret = j;
	}
	spawn_result_free(&res);
	return r;
}

/* show users|user|id. occtl exits 2 with an empty list when show user/id
 * matched nothing: that is an answer, not a failure. */
static int sessions_cmd(struct occtl *oc, const char *const *args, unsigned timeout_ms,
			struct session_list **ret, struct err_info *ei)
{
	struct spawn_result res;
	int r = run(oc, args, timeout_ms, &res, ei);

	if (r < 0)
		return r;
	if (res.exit_status == 0 || res.exit_status == 2) {
		r = session_list_parse_occtl(res.out, res.out_len, (int64_t)time(NULL), ret, ei);
		if (r == 0 && res.exit_status == 2 && (*ret)->n > 0) {
			session_list_free(*ret);
			r = exit_error(&res, args, ei);
		} else if (r < 0 && res.exit_status == 2) {
			r = exit_error(&res, args, ei);
		}
	} else {
		r = exit_error(&res, args, ei);
	}
	spawn_result_free(&res);
	return r;
}

static int be_status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	const char *args[] = {"-j", "show", "status", NULL};
	json_t *j;
	int r = run_json(be, args, timeout_ms, &j, ei);

	if (r < 0)
		return r;
	r = status_from_occtl(j, ret, ei);
	json_decref(j);
	return r;
}

static int be_list(void *be, struct session_list **ret, struct err_info *ei)
{
	const char *args[] = {"-j", "show", "users", NULL};

	return sessions_cmd(be, args, 0, ret, ei);
}

static int be_user(void *be, const char *username, struct session_list **ret, struct err_info *ei)
{
	const char *args[] = {"-j", "show", "user", username, NULL};

	return sessions_cmd(be, args, 0, ret, ei);
}

static int be_id(void *be, int64_t id, unsigned timeout_ms, struct session_list **ret,
		 struct err_info *ei)
{
	char idbuf[24];
	const char *args[] = {"-j", "show", "id", idbuf, NULL};
	int r;

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	r = sessions_cmd(be, args, timeout_ms, ret, ei);
	if (r == 0 && (*ret)->n == 0) {
		session_list_free(*ret);
		*ret = NULL;
		return ERR_NOT_FOUND;
	}
	return r;
}

/* occtl disconnect|unban|terminate exit 1 both when the target is not there
 * (with "could not ..." or, terminate session, "no session matching ..." on
 * stdout) and when ocserv is unreachable. */
static int act(struct occtl *oc, const char *const *args, struct err_info *ei)
{
	struct spawn_result res;
	char cmd[128];
	int r = run(oc, args, 0, &res, ei);

	if (r < 0)
		return r;
	if (res.exit_status != 0)
		r = strstr(res.out, "could not ") != NULL ||
				    strstr(res.out, "no session matching") != NULL
			    ? err_set(ei, ERR_NOT_FOUND, "occtl %s: no such target",
				      describe(args, cmd, sizeof(cmd)))
			    : exit_error(&res, args, ei);
	spawn_result_free(&res);
	return r;
}

static int be_disconnect_id(void *be, int64_t id, struct err_info *ei)
{
	char idbuf[24];
	const char *args[] = {"disconnect", "id", idbuf, NULL};

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	return act(be, args, ei);
}

static int be_disconnect_user(void *be, const char *username, struct err_info *ei)
{
	const char *args[] = {"disconnect", "user", username, NULL};

	return act(be, args, ei);
}

/* Run a command whose only answer is its exit status; output ignored. */
static int run_ok(struct occtl *oc, const char *const *args, struct spawn_result *res,
		  struct err_info *ei)
{
	int r = run(oc, args, 0, res, ei);

	if (r < 0)
		return r;
	if (res->exit_status != 0) {
		r = exit_error(res, args, ei);
		spawn_result_free(res);
	}
	return r;
}

static int be_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	struct occtl *oc = be;

	return ocserv_version_cache_get(&oc->version, oc->path, false, oc->timeout_ms, ret, ei);
}

static int be_cookies(void *be, bool valid_only, struct cookie_list **ret, struct err_info *ei)
{
	const char *args[] = {"-j", "show", "sessions", valid_only ? "valid" : "all", NULL};
	struct spawn_result res;
	int r = run_ok(be, args, &res, ei);

	if (r < 0)
		return r;
	r = cookie_list_parse_occtl(res.out, res.out_len, ret, ei);
	spawn_result_free(&res);
	return r;
}

struct sid_match {
	const char *sid;
	bool full;
};

static bool sid_matches(const struct cookie *c, void *arg)
{
	const struct sid_match *m = arg;
	const char *id = m->full ? c->full_session : c->session_id;

	return id != NULL && strcmp(id, m->sid) == 0;
}

/* `show session` matches the short id only ("LpurJh"); a full id is looked
 * up in the whole list, exactly. */
static int be_cookie(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	const char *args[] = {"-j", "show", "session", sid, NULL};
	bool full = strlen(sid) > OCCTL_SHORT_SID_LEN;
	struct spawn_result res;
	int r = full ? be_cookies(be, false, ret, ei) : run_ok(be, args, &res, ei);

	if (r < 0)
		return r;
	if (!full) {
		r = cookie_list_parse_occtl(res.out, res.out_len, ret, ei);
		spawn_result_free(&res);
		if (r < 0)
			return r;
	}
	struct sid_match m = {sid, full};
	cookie_list_keep(*ret, sid_matches, &m);
	if ((*ret)->n == 0) {
		cookie_list_free(*ret);
		*ret = NULL;
		return err_set(ei, ERR_NOT_FOUND, "no session cookie %s", sid);
	}
	return 0;
}

static int be_iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	const char *args[] = {"-j", "show", "iroutes", NULL};
	struct spawn_result res;
	int r = run_ok(be, args, &res, ei);

	if (r < 0)
		return r;
	r = iroute_list_parse_occtl(res.out, res.out_len, ret, ei);
	spawn_result_free(&res);
	return r;
}

static int ban_cmd(void *be, const char *const *args, struct ban_list **ret, struct err_info *ei)
{
	struct spawn_result res;
	int r = run_ok(be, args, &res, ei);

	if (r < 0)
		return r;
	r = ban_list_parse_occtl(res.out, res.out_len, (int64_t)time(NULL), ret, ei);
	spawn_result_free(&res);
	return r;
}

static int be_bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	const char *args[] = {"-j", "show", "ip", "bans", NULL};

	return ban_cmd(be, args, ret, ei);
}

static int be_ban_points(void *be, struct ban_list **ret, struct err_info *ei)
{
	const char *args[] = {"-j", "show", "ip", "ban", "points", NULL};

	return ban_cmd(be, args, ret, ei);
}

static int be_unban(void *be, const char *ip, struct err_info *ei)
{
	const char *args[] = {"unban", "ip", ip, NULL};

	return act(be, args, ei);
}

static int be_reload(void *be, struct err_info *ei)
{
	const char *args[] = {"reload", NULL};
	struct spawn_result res;
	int r = run_ok(be, args, &res, ei);

	if (r == 0)
		spawn_result_free(&res);
	return r;
}

/* terminate exists from ocserv 1.4.2; older occtl says "unknown command". */
static int need_terminate(struct occtl *oc, struct err_info *ei)
{
	struct ocserv_version v;
	int r = be_version(oc, &v, ei);

	if (r < 0)
		return r;
	if (!ocserv_version_at_least(&v, 1, 4, 2))
		return err_set(ei, ERR_NOT_SUPPORTED, "occtl %s has no terminate command", v.text);
	return 0;
}

static int be_terminate_id(void *be, int64_t id, struct err_info *ei)
{
	char idbuf[24];
	const char *args[] = {"terminate", "id", idbuf, NULL};
	int r = need_terminate(be, ei);

	if (r < 0)
		return r;
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	return act(be, args, ei);
}

static int be_terminate_user(void *be, const char *username, struct err_info *ei)
{
	const char *args[] = {"terminate", "user", username, NULL};
	int r = need_terminate(be, ei);

	return r < 0 ? r : act(be, args, ei);
}

static int be_terminate_cookie(void *be, const char *sid, struct err_info *ei)
{
	const char *args[] = {"terminate", "session", sid, NULL};
	int r = need_terminate(be, ei);

	return r < 0 ? r : act(be, args, ei);
}

static void be_free(void *be)
{
	struct occtl *oc = be;

	if (oc == NULL)
		return;
	free(oc->path);
	free(oc->socket);
	ocserv_version_cache_destroy(&oc->version);
	free(oc);
}

static const struct ocserv_backend_ops occtl_ops = {
	.name = "occtl",
	.status = be_status,
	.list = be_list,
	.user = be_user,
	.id = be_id,
	.disconnect_id = be_disconnect_id,
	.disconnect_user = be_disconnect_user,
	.version = be_version,
	.cookies = be_cookies,
	.cookie = be_cookie,
	.iroutes = be_iroutes,
	.bans = be_bans,
	.ban_points = be_ban_points,
	.unban = be_unban,
	.reload = be_reload,
	.terminate_id = be_terminate_id,
	.terminate_user = be_terminate_user,
	.terminate_cookie = be_terminate_cookie,
	.free = be_free,
};

struct ocserv *occtl_backend_new(const struct occtl_options *o)
{
	struct occtl *oc = calloc(1, sizeof(*oc));

	if (oc == NULL)
		return NULL;
	oc->path = strdup(o->path);
	oc->socket = o->socket ? strdup(o->socket) : NULL;
	oc->use_sudo = o->use_sudo;
	oc->timeout_ms = o->timeout_ms;
	ocserv_version_cache_init(&oc->version);
	if (oc->path == NULL || (o->socket && oc->socket == NULL)) {
		be_free(oc);
		return NULL;
	}
	return ocserv_new(&occtl_ops, oc);
}
