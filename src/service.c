#include "service.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subprocess.h"
#include "timefmt.h"

static const char *const action_names[] = {
	[SERVICE_START] = "start",
	[SERVICE_STOP] = "stop",
	[SERVICE_RESTART] = "restart",
	[SERVICE_RELOAD] = "reload",
};
#define N_ACTIONS (sizeof(action_names) / sizeof(action_names[0]))

/* The four ...Monotonic timestamps are what `systemctl status` picks its
 * "since" from; the formatted ones are local time without a fixed format. */
static const char show_arg[] = "--property=LoadState,ActiveState,SubState,UnitFileState,MainPID,"
			       "ActiveEnterTimestampMonotonic,ActiveExitTimestampMonotonic,"
			       "InactiveEnterTimestampMonotonic,InactiveExitTimestampMonotonic";

enum prop {
	P_LOAD,
	P_ACTIVE,
	P_SUB,
	P_FILE,
	P_PID,
	P_ACTIVE_ENTER,
	P_ACTIVE_EXIT,
	P_INACTIVE_ENTER,
	P_INACTIVE_EXIT,
	P__N,
};

static const char *const prop_names[P__N] = {
	[P_LOAD] = "LoadState",
	[P_ACTIVE] = "ActiveState",
	[P_SUB] = "SubState",
	[P_FILE] = "UnitFileState",
	[P_PID] = "MainPID",
	[P_ACTIVE_ENTER] = "ActiveEnterTimestampMonotonic",
	[P_ACTIVE_EXIT] = "ActiveExitTimestampMonotonic",
	[P_INACTIVE_ENTER] = "InactiveEnterTimestampMonotonic",
	[P_INACTIVE_EXIT] = "InactiveExitTimestampMonotonic",
};

void service_options_from_config(const struct agent_config *cfg, struct service_options *o)
{
	*o = (struct service_options){
		.systemctl = cfg->systemctl_path,
		.unit = cfg->ocserv_unit,
		.sudo = cfg->occtl_use_sudo ? SPAWN_SUDO_PATH : NULL,
		.timeout_ms = cfg->systemctl_timeout_ms,
	};
}

int service_action_parse(const char *name, enum service_action *ret)
{
	for (size_t i = 0; i < N_ACTIONS; i++) {
		if (strcmp(name, action_names[i]) == 0) {
			*ret = (enum service_action)i;
			return 0;
		}
	}
	return ERR_NOT_FOUND;
}

const char *service_action_name(enum service_action a)
{
	return (size_t)a < N_ACTIONS ? action_names[a] : "unknown";
}

bool service_action_reads_config(enum service_action a)
{
	return a != SERVICE_STOP;
}

static int fail(struct service_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set the client message, and the same text as the log detail (callers add
 * systemctl's words to the detail afterwards). */
static int fail(struct service_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return err_set(&e->ei, err, "%s", e->message);
}

int service_check_systemd(const struct service_options *o, struct service_error *e)
{
	const char *dir = o->systemd_dir ? o->systemd_dir : SERVICE_SYSTEMD_DIR;
	struct stat st;

	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return fail(e, ERR_SYSTEMD_UNAVAILABLE,
		    "systemd is not running on this host (no %s): the ocserv unit cannot be "
		    "controlled",
		    dir);
}

int service_build_argv(const struct service_options *o, const char *const *args, bool privileged,
		       const char **argv, size_t max)
{
	const char *cmd[SERVICE_MAX_ARGV];
	size_t n = 0;

	cmd[n++] = o->systemctl;
	for (size_t i = 0; args[i] != NULL; i++) {
		if (n == SERVICE_MAX_ARGV - 1)
			return ERR_INTERNAL;
		cmd[n++] = args[i];
	}
	cmd[n] = NULL;
	return spawn_build_argv(privileged ? o->sudo : NULL, cmd, argv, max);
}

/* "systemctl restart ocserv.service": the words a person would type. The
 * show arguments are long and always the same: "systemctl show UNIT". */
static const char *describe(const char *const *args, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "systemctl");

	for (size_t i = 0; args[i] != NULL && o < len; i++)
		if (args[i][0] != '-')
			o += (size_t)snprintf(buf + o, len - o, " %s", args[i]);
	return buf;
}

/* First line of s, for log detail. */
static void first_line(char *dst, size_t len, const char *s)
{
	size_t n = strcspn(s, "\n");

	snprintf(dst, len, "%.*s", (int)(n < len ? n : len - 1), s);
}

/* Map a finished run to an error; ERR_OK when systemctl exited 0. */
static int outcome(const struct service_options *o, const struct spawn_result *res, const char *cmd,
		   const char *argv0, bool sudo, struct service_error *e)
{
	char line[160];
	int r;

	switch (res->outcome) {
	case SPAWN_EXITED:
		if (res->exit_status == 0)
			return 0;
		r = fail(e, ERR_SERVICE_FAILED,
			 "%s failed (exit status %d); the agent's log has "
			 "systemctl's message",
			 cmd, res->exit_status);
		first_line(line, sizeof(line), res->err[0] ? res->err : res->out);
		return err_set(&e->ei, r, "%s%s exited %d: %s", sudo ? "sudo -n " : "", cmd,
			       res->exit_status, line);
	case SPAWN_NOT_FOUND:
		r = fail(e, ERR_SERVICE_FAILED, "cannot execute %s", argv0);
		break;
	case SPAWN_TIMED_OUT:
		/* systemctl only waits for a job; killing it does not cancel the job. */
		r = fail(e, ERR_SERVICE_FAILED,
			 "%s did not finish within %u ms and was stopped; systemd may still "
			 "complete the job",
			 cmd, o->timeout_ms);
		break;
	case SPAWN_OUTPUT_TOO_LARGE:
	default:
		r = fail(e, ERR_SERVICE_FAILED, "%s printed more than %u bytes", cmd,
			 SERVICE_MAX_OUTPUT);
		break;
	}
	return r;
}

/* Run systemctl with args. On ERR_OK it exited 0 and the caller frees *res;
 * on failure nothing is left to free. */
static int run(const struct service_options *o, const char *const *args, bool privileged,
	       struct spawn_result *res, struct service_error *e)
{
	const char *argv[SERVICE_MAX_ARGV];
	char cmd[128];
	int r = service_check_systemd(o, e);

	if (r < 0)
		return r;
	describe(args, cmd, sizeof(cmd));
	if (access(o->systemctl, X_OK) != 0)
		return fail(e, ERR_SERVICE_FAILED,
			    "%s (SYSTEMCTL_PATH) is missing or not executable", o->systemctl);
	if (service_build_argv(o, args, privileged, argv, SERVICE_MAX_ARGV) < 0)
		return fail(e, ERR_INTERNAL, "%s: command line too long", cmd);
	r = spawn_run((char *const *)argv, o->timeout_ms, SERVICE_MAX_OUTPUT, res, &e->ei);
	if (r < 0) {
		snprintf(e->message, sizeof(e->message), "could not run %s", cmd);
		return r;
	}
	r = outcome(o, res, cmd, argv[0], privileged && o->sudo != NULL, e);
	if (r < 0)
		spawn_result_free(res);
	return r;
}

int service_run_action(const struct service_options *o, enum service_action a,
		       struct service_error *e)
{
	const char *args[] = {service_action_name(a), o->unit, NULL};
	struct spawn_result res;
	int r;

	if ((size_t)a >= N_ACTIONS)
		return fail(e, ERR_INTERNAL, "unknown service action %d", (int)a);
	r = run(o, args, true, &res, e);
	if (r == 0)
		spawn_result_free(&res);
	return r;
}

int service_show(const struct service_options *o, struct service_state *ret,
		 struct service_error *e)
{
	const char *args[] = {"show", show_arg, o->unit, NULL};
	struct service_state st;
	struct spawn_result res;
	struct timespec real_now, mono_now;
	int r = run(o, args, false, &res, e);

	if (r < 0)
		return r;
	r = service_parse_show(res.out, res.out_len, &st, &e->ei);
	spawn_result_free(&res);
	if (r < 0) {
		snprintf(e->message, sizeof(e->message),
			 "could not read the state of %s from systemctl show", o->unit);
		return r;
	}
	clock_gettime(CLOCK_REALTIME, &real_now);
	clock_gettime(CLOCK_MONOTONIC, &mono_now);
	if (service_mono_to_iso8601(st.since_mono_us, &real_now, &mono_now, st.since,
				    sizeof(st.since)) == NULL)
		st.since[0] = '\0';
	*ret = st;
	return 0;
}

/* ---- parsing `systemctl show` ---- */

static int prop_index(const char *k, size_t n)
{
	for (int i = 0; i < P__N; i++)
		if (strlen(prop_names[i]) == n && memcmp(prop_names[i], k, n) == 0)
			return i;
	return -1;
}

static char *word_field(struct service_state *st, int p)
{
	switch (p) {
	case P_LOAD:
		return st->load_state;
	case P_ACTIVE:
		return st->active_state;
	case P_SUB:
		return st->sub_state;
	case P_FILE:
		return st->unit_file_state;
	default:
		return NULL;
	}
}

/* systemd's state words are lower-case ASCII with '-'; allow a little more
 * so that a new word in a later systemd is still shown, not refused. */
static bool plain_word(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

/* Decimal digits only, at most max; empty means 0 (systemd prints nothing
 * for a property it does not have). */
static bool parse_number(const char *v, size_t n, uint64_t max, uint64_t *ret)
{
	uint64_t x = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (max - (uint64_t)(v[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*ret = x;
	return true;
}

static int parse_line(const char *s, size_t n, size_t lineno, struct service_state *st,
		      uint64_t *num, bool *seen, struct err_info *ei)
{
	const char *eq = memchr(s, '=', n), *v;
	size_t vn;
	char *word;
	int p;

	if (n == 0)
		return 0;
	if (eq == NULL || eq == s)
		return err_set(ei, ERR_SERVICE_FAILED, "systemctl show: line %zu is not KEY=VALUE",
			       lineno);
	p = prop_index(s, (size_t)(eq - s));
	if (p < 0)
		return 0;
	if (seen[p])
		return err_set(ei, ERR_SERVICE_FAILED, "systemctl show: %s given twice",
			       prop_names[p]);
	seen[p] = true;
	v = eq + 1;
	vn = (size_t)(s + n - v);
	word = word_field(st, p);
	if (word != NULL && vn < SERVICE_STATE_MAX && plain_word(v, vn)) {
		memcpy(word, v, vn);
		word[vn] = '\0';
		return 0;
	}
	if (word == NULL && parse_number(v, vn, p == P_PID ? INT32_MAX : INT64_MAX, &num[p]))
		return 0;
	return err_set(ei, ERR_SERVICE_FAILED, "systemctl show: unexpected value of %s on line %zu",
		       prop_names[p], lineno);
}

/* The timestamp `systemctl status` shows after "since" for this state. */
static uint64_t since_of(const char *active, const uint64_t *num)
{
	if (strcmp(active, "active") == 0 || strcmp(active, "reloading") == 0)
		return num[P_ACTIVE_ENTER];
	if (strcmp(active, "inactive") == 0 || strcmp(active, "failed") == 0)
		return num[P_INACTIVE_ENTER];
	if (strcmp(active, "activating") == 0)
		return num[P_INACTIVE_EXIT];
	return num[P_ACTIVE_EXIT];
}

int service_parse_show(const char *text, size_t len, struct service_state *ret, struct err_info *ei)
{
	struct service_state st = {0};
	uint64_t num[P__N] = {0};
	bool seen[P__N] = {false};
	const char *p = text, *end = text + len;
	size_t lineno = 0;

	if (memchr(text, '\0', len) != NULL)
		return err_set(ei, ERR_SERVICE_FAILED, "systemctl show printed a NUL byte");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		int r = parse_line(p, (size_t)(eol - p), ++lineno, &st, num, seen, ei);
		if (r < 0)
			return r;
		p = nl ? nl + 1 : end;
	}
	if (st.load_state[0] == '\0' || st.active_state[0] == '\0')
		return err_set(ei, ERR_SERVICE_FAILED, "systemctl show printed no %s",
			       st.load_state[0] == '\0' ? "LoadState" : "ActiveState");
	st.main_pid = (int64_t)num[P_PID];
	st.since_mono_us = since_of(st.active_state, num);
	*ret = st;
	return 0;
}

char *service_mono_to_iso8601(uint64_t mono_us, const struct timespec *real_now,
			      const struct timespec *mono_now, char *buf, size_t len)
{
	int64_t now_mono = (int64_t)mono_now->tv_sec * 1000000 + mono_now->tv_nsec / 1000;
	int64_t now_real = (int64_t)real_now->tv_sec * 1000000 + real_now->tv_nsec / 1000;
	int64_t at;
	struct timespec ts;

	if (mono_us == 0 || mono_us > (uint64_t)now_mono)
		return NULL;
	at = now_real - (now_mono - (int64_t)mono_us);
	if (at < 0)
		return NULL;
	ts.tv_sec = (time_t)(at / 1000000);
	ts.tv_nsec = (long)(at % 1000000) * 1000;
	return timefmt_iso8601(&ts, buf, len);
}
