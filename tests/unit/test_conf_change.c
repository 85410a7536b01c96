/* conf_change.c, the whole change of ocserv.conf (validate → check →
 * backup → write → apply → verify → rollback), against a fake ocserv
 * backend (status, reload, version) and fake programs: an "ocserv" that
 * implements `-t -c FILE`, an operator's verify command and a systemctl,
 * each recording its calls into a log file. Every case checks the file's
 * bytes, the backups, the steps reported, the outcome and the calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <time.h>

#include "atomic_file.h"
#include "conf_backup.h"
#include "conf_change.h"
#include "conf_view.h"
#include "err.h"
#include "ocserv.h"
#include "unit.h"

#define SERVER_PID 4242

/* A small but realistic ocserv.conf: comments, blank lines, a repeated
 * key, a [vhost:NAME] section with what ocserv 1.1.6 needs there. */
static const char CONF[] = "# ocserv.conf of the unit tests\n"
			   "auth = \"plain[passwd=/etc/ocserv/passwd]\"\n"
			   "tcp-port = 443\n"
			   "udp-port = 443\n"
			   "socket-file = /run/ocserv-socket\n"
			   "server-cert = /etc/ocserv/server.pem\n"
			   "server-key = /etc/ocserv/server.key\n"
			   "max-clients = 16\n"
			   "\n"
			   "# the agent needs ocserv's control socket\n"
			   "use-occtl = true\n"
			   "device = vpns\n"
			   "ipv4-network = 192.168.1.0\n"
			   "ipv4-netmask = 255.255.255.0\n"
			   "dns = 192.168.1.1\n"
			   "route = 10.0.0.0/8\n"
			   "route = 172.16.0.0/12\n"
			   "banner = Welcome\n"
			   "\n"
			   "[vhost:www.example.com]\n"
			   "auth = \"plain[passwd=/etc/ocserv/passwd-www]\"\n"
			   "server-cert = /etc/ocserv/www.pem\n"
			   "server-key = /etc/ocserv/www.key\n"
			   "ipv4-network = 192.168.2.0/24\n";

/* ---- the fake ocserv backend ---- */

struct fake {
	int status_calls, reload_calls, version_calls;
	bool status_down;    /* status fails: ocserv does not answer */
	bool reload_kills;   /* a reload stops ocserv: status fails after it */
	int reload_failures; /* so many next reloads fail */
	int64_t pid;	     /* ocserv's main pid, as status says */
	int64_t pid_after;   /* not 0: the pid after the next reload */
};

static struct fake fk;

static int f_status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	(void)be;
	(void)timeout_ms;
	fk.status_calls++;
	if (fk.status_down)
		return err_set(ei, ERR_OCCTL_FAILED, "fake: ocserv does not answer");
	*ret = json_pack("{s:s,s:I}", "status", "online", "serverPid", (json_int_t)fk.pid);
	return *ret ? 0 : ERR_NOMEM;
}

static int f_reload(void *be, struct err_info *ei)
{
	(void)be;
	fk.reload_calls++;
	if (fk.reload_failures > 0) {
		fk.reload_failures--;
		return err_set(ei, ERR_OCCTL_FAILED, "fake: reload refused");
	}
	if (fk.reload_kills)
		fk.status_down = true;
	if (fk.pid_after != 0) {
		fk.pid = fk.pid_after;
		fk.pid_after = 0;
	}
	return 0;
}

static int f_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	(void)be;
	(void)ei;
	fk.version_calls++;
	return ocserv_version_parse("1.1.6", ret);
}

static void f_free(void *be)
{
	(void)be;
}

static const struct ocserv_backend_ops fake_ops = {
	.name = "fake",
	.status = f_status,
	.reload = f_reload,
	.version = f_version,
	.free = f_free,
};

/* ---- the test's directory, configuration and fake programs ---- */

struct ctx {
	char dir[64];
	char etc[128], conf[160], lock[170], bin[128], backups[160];
	char ocserv[160], verify[160], systemctl[160];
	char oclog[160], vlog[160], slog[160];
	struct agent_config cfg;
	struct ocserv *oc;
	struct conf_env env;
};

static struct ctx C;
static enum atomic_step inject_at;

static int inject(enum atomic_step step)
{
	return step == inject_at ? EIO : 0;
}

static void write_script(const char *path, const char *text)
{
	assert_int_equal(unit_write_file(path, text, strlen(text), 0755), 0);
}

/* The fake `ocserv -t -c FILE`: refuses a file that says "refuse-me";
 * for a file that says "sneaky" it changes ocserv.conf itself, as another
 * program would while the change is being checked. */
static void write_fake_ocserv(void)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "echo \"$*\" >> '%s'\n"
		 "[ \"$1\" = -t ] && [ \"$2\" = -c ] || exit 2\n"
		 "if grep -q refuse-me \"$3\"; then\n"
		 "  echo 'error: refuse-me is not a banner ocserv likes' >&2\n"
		 "  exit 1\n"
		 "fi\n"
		 "if grep -q sneaky \"$3\"; then\n"
		 "  echo '# changed by another program' >> '%s'\n"
		 "fi\n"
		 "exit 0\n",
		 C.oclog, C.conf);
	write_script(C.ocserv, text);
}

/* The operator's verify command: exits apply_rc in phase "apply",
 * rollback_rc in phase "rollback". */
static void use_verify_command(int apply_rc, int rollback_rc)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "echo \"$1 $2 $#\" >> '%s'\n"
		 "echo \"verify $1 output\"\n"
		 "[ \"$1\" = apply ] && exit %d\n"
		 "[ \"$1\" = rollback ] && exit %d\n"
		 "exit 3\n",
		 C.vlog, apply_rc, rollback_rc);
	write_script(C.verify, text);
	C.cfg.conf_verify_command = C.verify;
}

static void write_conf(const char *text)
{
	assert_int_equal(unit_write_file(C.conf, text, strlen(text), 0644), 0);
}

static int setup(void **state)
{
	char text[512];

	memset(&C, 0, sizeof(C));
	memset(&fk, 0, sizeof(fk));
	fk.pid = SERVER_PID;
	if (unit_mkdtemp(C.dir, sizeof(C.dir), "test-conf-change") == NULL)
		return -1;
	snprintf(C.etc, sizeof(C.etc), "%s/etc", C.dir);
	snprintf(C.bin, sizeof(C.bin), "%s/bin", C.dir);
	snprintf(C.conf, sizeof(C.conf), "%s/ocserv.conf", C.etc);
	snprintf(C.lock, sizeof(C.lock), "%s.tmp", C.conf);
	snprintf(C.backups, sizeof(C.backups), "%s/backups", C.dir);
	snprintf(C.ocserv, sizeof(C.ocserv), "%s/ocserv", C.bin);
	snprintf(C.verify, sizeof(C.verify), "%s/verify", C.bin);
	snprintf(C.systemctl, sizeof(C.systemctl), "%s/systemctl", C.bin);
	snprintf(C.oclog, sizeof(C.oclog), "%s/ocserv.log", C.dir);
	snprintf(C.vlog, sizeof(C.vlog), "%s/verify.log", C.dir);
	snprintf(C.slog, sizeof(C.slog), "%s/systemctl.log", C.dir);
	if (mkdir(C.etc, 0755) < 0 || mkdir(C.bin, 0755) < 0)
		return -1;
	write_conf(CONF);
	write_fake_ocserv();
	snprintf(text, sizeof(text), "#!/bin/sh\necho \"$*\" >> '%s'\nexit 0\n", C.slog);
	write_script(C.systemctl, text);

	C.cfg.ocserv_conf_path = C.conf;
	C.cfg.ocserv_path = C.ocserv;
	C.cfg.occtl_use_sudo = false;
	C.cfg.ocserv_check_timeout_ms = 5000;
	C.cfg.conf_backup_dir = C.backups;
	C.cfg.conf_backup_keep = 20;
	C.cfg.conf_verify_timeout_ms = 300;
	C.cfg.conf_verify_settle_ms = 20;
	C.cfg.conf_verify_command = NULL;
	C.cfg.systemctl_path = C.systemctl;
	C.cfg.ocserv_unit = "ocserv.service";
	C.cfg.systemctl_timeout_ms = 5000;
	if ((C.oc = ocserv_new(&fake_ops, &fk)) == NULL)
		return -1;
	C.env = (struct conf_env){.cfg = &C.cfg, .oc = C.oc};
	*state = &C;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ocserv_free(C.oc);
	rmdir(C.lock);
	unit_rmtree(C.dir);
	return 0;
}

/* ---- helpers ---- */

static bool systemd_runs(void)
{
	struct stat st;

	return stat("/run/systemd/system", &st) == 0;
}

/* text with the first occurrence of from replaced by to; malloc'd. */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	char *s;

	assert_non_null(p);
	s = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
	assert_non_null(s);
	sprintf(s, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
	return s;
}

static void assert_file(const char *path, const char *expect)
{
	size_t len = 0;
	char *text = unit_read_file(path, &len);

	assert_non_null(text);
	assert_string_equal(text, expect);
	assert_int_equal(len, strlen(expect));
	free(text);
}

static void etag_of(const char *text, char etag[CONF_ETAG_LEN])
{
	conf_etag(text, strlen(text), etag);
}

static void etag_of_file(char etag[CONF_ETAG_LEN])
{
	size_t len = 0;
	char *text = unit_read_file(C.conf, &len);

	assert_non_null(text);
	conf_etag(text, len, etag);
	free(text);
}

/* Lines in a fake program's log: how often it ran. */
static int calls(const char *log)
{
	char *text = unit_read_file(log, NULL);
	int n = 0;

	for (const char *p = text; p != NULL && *p != '\0'; p++)
		n += *p == '\n';
	free(text);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The strings of arr (or the member field of its objects), sorted, unique,
 * joined with ','. */
static void assert_names(const json_t *arr, const char *field, const char *expect)
{
	const char *names[64];
	char joined[1024] = "";
	size_t n = 0, i, o = 0;
	json_t *e;

	assert_true(json_is_array(arr));
	json_array_foreach(arr, i, e)
	{
		const json_t *s = field ? json_object_get(e, field) : e;
		assert_true(json_is_string(s));
		assert_true(n < 64);
		names[n++] = json_string_value(s);
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
			o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s", o ? "," : "",
					      names[i]);
	assert_string_equal(joined, expect);
}

/* steps as "name+,name-,…" (+: ok). */
static void assert_steps(const json_t *steps, const char *expect)
{
	char joined[512] = "";
	size_t i, o = 0;
	json_t *s;

	assert_true(json_is_array(steps));
	json_array_foreach(steps, i, s)
	{
		const char *name = json_string_value(json_object_get(s, "step"));
		json_t *ok = json_object_get(s, "ok");
		assert_non_null(name);
		assert_true(json_is_boolean(ok));
		o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s%c", o ? "," : "", name,
				      json_is_true(ok) ? '+' : '-');
	}
	assert_string_equal(joined, expect);
}

static json_t *find_step(const json_t *steps, const char *name)
{
	size_t i;
	json_t *s;

	json_array_foreach(steps, i, s) if (strcmp(json_string_value(json_object_get(s, "step")),
						   name) == 0) return s;
	fail_msg("no step %s", name);
	return NULL;
}

static size_t n_backups(void)
{
	struct conf_backup *b = NULL;
	struct err_info ei = {{0}};
	size_t n = 0;

	assert_int_equal(conf_backup_list(C.backups, &b, &n, &ei), 0);
	free(b);
	return n;
}

static void assert_backup(const char *id, const char *expect)
{
	struct err_info ei = {{0}};
	size_t len = 0;
	char *text = NULL;

	assert_int_equal(conf_backup_read(C.backups, id, CONF_CHANGE_MAX, &text, &len, &ei), 0);
	assert_string_equal(text, expect);
	assert_int_equal(len, strlen(expect));
	free(text);
}

/* The directory of ocserv.conf holds ocserv.conf and nothing else: no
 * temporary file, no candidate of the check, no lock. */
static void assert_dir_clean(void)
{
	DIR *d = opendir(C.etc);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			assert_string_equal(de->d_name, "ocserv.conf");
	closedir(d);
}

/* Nothing written, nothing backed up, ocserv left alone. */
static void assert_untouched(const char *text)
{
	assert_file(C.conf, text);
	assert_int_equal(n_backups(), 0);
	assert_int_equal(fk.reload_calls, 0);
	assert_int_equal(calls(C.slog), 0);
	assert_dir_clean();
}

static int change(const struct conf_request *rq, struct conf_outcome *out)
{
	struct err_info ei = {{0}};

	return conf_change_run(&C.env, rq, out, &ei);
}

static const char *global_of(const json_t *config, const char *key)
{
	return json_string_value(json_object_get(json_object_get(config, "global"), key));
}

/* ---- success ---- */

static void test_reload_success(void **state)
{
	char etag[CONF_ETAG_LEN], new_etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:[s,s],s:s,s:i}", "route", "10.0.0.0/8", "192.168.5.0/24", "dns",
				"8.8.8.8", "max-clients", 32);
	char *a = replaced(CONF, "max-clients = 16\n", "max-clients = 32\n");
	char *b = replaced(a, "dns = 192.168.1.1\n", "dns = 8.8.8.8\n");
	char *expect = replaced(b, "route = 172.16.0.0/12\n", "route = 192.168.5.0/24\n");
	char prefix[256], *log;
	struct stat st;
	(void)state;

	etag_of(CONF, etag);
	struct conf_request rq = {
		.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD, .request_id = "t1"};
	assert_int_equal(change(&rq, &out), 0);

	assert_file(C.conf, expect);
	assert_steps(out.steps, "validate+,check+,backup+,write+,reload+,verify+");
	assert_names(out.changed, NULL, "dns,max-clients,route");
	assert_names(out.restart_keys, NULL, "");
	assert_names(out.problems, "key", "");
	assert_int_equal(out.applied, CONF_APPLY_RELOAD);
	assert_string_equal(out.failed_step, "");
	/* the backup holds the old file, and the step names it */
	assert_int_equal(n_backups(), 1);
	assert_null(conf_backup_check_id(out.backup_id));
	assert_backup(out.backup_id, CONF);
	assert_string_equal(
		json_string_value(json_object_get(find_step(out.steps, "backup"), "backupId")),
		out.backup_id);
	/* it holds the file's secrets: the agent's alone */
	snprintf(prefix, sizeof(prefix), "%s/%s", C.backups, out.backup_id);
	assert_int_equal(stat(prefix, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* ETags: the old file's before, the new file's after */
	etag_of(expect, new_etag);
	assert_string_equal(out.previous_etag, etag);
	assert_string_equal(out.etag, new_etag);
	assert_string_not_equal(out.etag, out.previous_etag);
	/* the new view */
	assert_non_null(out.config);
	assert_string_equal(json_string_value(json_object_get(out.config, "etag")), new_etag);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out.config, "global"),
							    "max-clients")),
			 32);
	assert_int_equal(
		json_array_size(json_object_get(json_object_get(out.config, "global"), "route")),
		2);
	assert_non_null(out.diff);
	assert_non_null(strstr(out.diff, "-max-clients = 16\n+max-clients = 32\n"));
	assert_non_null(strstr(out.diff, "+route = 192.168.5.0/24\n"));
	assert_null(out.check_output);
	assert_int_equal(
		json_integer_value(json_object_get(find_step(out.steps, "verify"), "serverPid")),
		SERVER_PID);
	/* calls: one check on a candidate beside the file; status before the
	 * reload, after it and after the settle time; one reload */
	assert_int_equal(calls(C.oclog), 1);
	log = unit_read_file(C.oclog, NULL);
	snprintf(prefix, sizeof(prefix), "-t -c %s/.ocserv.conf.check.", C.etc);
	assert_memory_equal(log, prefix, strlen(prefix));
	free(log);
	assert_int_equal(fk.reload_calls, 1);
	assert_int_equal(fk.status_calls, 3);
	assert_int_equal(calls(C.slog), 0);
	assert_dir_clean();
	assert_int_equal(stat(C.conf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	conf_outcome_free(&out);
	json_decref(set);
	free(a);
	free(b);
	free(expect);
}

/* Debian's sample file: only the changed line differs. */
static void test_debian_fixture(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	char *orig = unit_read_file(FIXTURES_DIR "/ocserv-conf/debian-1.1.6.conf", NULL), *expect;
	(void)state;

	assert_non_null(orig);
	expect = replaced(orig, "\nmax-clients = 16\n", "\nmax-clients = 32\n");
	write_conf(orig);
	etag_of(orig, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_NONE};
	assert_int_equal(change(&rq, &out), 0);
	assert_file(C.conf, expect);
	assert_steps(out.steps, "validate+,check+,backup+,write+");
	assert_names(out.changed, NULL, "max-clients");
	assert_int_equal(out.applied, CONF_APPLY_NONE);
	assert_backup(out.backup_id, orig);
	assert_int_equal(fk.reload_calls, 0);
	assert_int_equal(fk.status_calls, 0);
	conf_outcome_free(&out);
	json_decref(set);
	free(orig);
	free(expect);
}

/* A key set in a vhost goes into its section. */
static void test_vhost_set(void **state)
{
	char etag[CONF_ETAG_LEN], expect[sizeof(CONF) + 64];
	struct conf_outcome out;
	json_t *set = json_pack("{s:s}", "dns", "10.9.9.9");
	(void)state;

	etag_of(CONF, etag);
	snprintf(expect, sizeof(expect), "%sdns = 10.9.9.9\n", CONF);
	struct conf_request rq = {.set = set,
				  .vhost = "www.example.com",
				  .if_match = etag,
				  .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), 0);
	assert_file(C.conf, expect);
	assert_names(out.changed, NULL, "vhost:www.example.com/dns");
	assert_steps(out.steps, "validate+,check+,backup+,write+,reload+,verify+");
	assert_non_null(out.config);
	assert_string_equal(global_of(out.config, "banner"), "Welcome");
	assert_int_equal(fk.reload_calls, 1);
	conf_outcome_free(&out);
	json_decref(set);
}

/* The values are already so: nothing happens. */
static void test_noop(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i,s:[s,s]}", "max-clients", 16, "route", "10.0.0.0/8",
				"172.16.0.0/12");
	(void)state;

	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), 0);
	assert_steps(out.steps, "validate+");
	assert_names(out.changed, NULL, "");
	assert_int_equal(out.applied, CONF_APPLY_NONE);
	assert_string_equal(out.etag, etag);
	assert_string_equal(out.backup_id, "");
	assert_null(out.config);
	assert_untouched(CONF);
	assert_int_equal(fk.status_calls, 0);
	assert_int_equal(calls(C.oclog), 0);
	conf_outcome_free(&out);
	json_decref(set);
}

static void test_dry_run(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	(void)state;

	etag_of(CONF, etag);
	for (int i = 0; i < 2; i++) {
		struct conf_request rq = {.set = set,
					  .if_match = i == 0 ? etag : NULL,
					  .dry_run = true,
					  .apply = CONF_APPLY_RELOAD};
		assert_int_equal(change(&rq, &out), 0);
		assert_steps(out.steps, "validate+,check+");
		assert_names(out.changed, NULL, "max-clients");
		assert_names(out.problems, "key", "");
		assert_non_null(out.diff);
		assert_non_null(strstr(out.diff, "-max-clients = 16\n+max-clients = 32\n"));
		assert_string_equal(out.etag, etag);
		assert_string_equal(out.backup_id, "");
		assert_int_equal(out.applied, CONF_APPLY_NONE);
		assert_null(out.config);
		conf_outcome_free(&out);
		assert_untouched(CONF);
		assert_int_equal(fk.status_calls, 0);
		assert_int_equal(calls(C.oclog), i + 1);
	}
	json_decref(set);
}

/* A secret value is written to the file but never shown: not in the
 * diff, the new view or a problem. */
static void test_secret_redacted(void **state)
{
	char etag[CONF_ETAG_LEN], *dump;
	struct conf_outcome out;
	json_t *set = json_pack("{s:s}", "key-pin", "98765");
	char *expect = replaced(CONF, "banner = Welcome\n", "banner = Welcome\nkey-pin = 98765\n");
	(void)state;

	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_NONE};
	assert_int_equal(change(&rq, &out), 0);
	assert_file(C.conf, expect);
	assert_names(out.restart_keys, NULL, "key-pin");
	assert_non_null(strstr(out.diff, "+key-pin = <redacted>\n"));
	assert_null(strstr(out.diff, "98765"));
	assert_non_null(out.config);
	dump = json_dumps(out.config, 0);
	assert_null(strstr(dump, "98765"));
	free(dump);
	assert_string_equal(global_of(out.config, "key-pin"), "<redacted>");
	conf_outcome_free(&out);
	json_decref(set);

	/* a bad secret value: the problem does not repeat it */
	set = json_pack("{s:s}", "key-pin", "12345 ");
	etag_of(expect, etag);
	rq.set = set;
	rq.if_match = etag;
	assert_int_equal(change(&rq, &out), ERR_BAD_REQUEST);
	assert_names(out.problems, "key", "key-pin");
	dump = json_dumps(out.problems, 0);
	assert_null(strstr(dump, "12345"));
	free(dump);
	assert_file(C.conf, expect);
	conf_outcome_free(&out);
	json_decref(set);
	free(expect);
}

/* ---- refusals before anything is written ---- */

static void test_preconditions(void **state)
{
	char etag[CONF_ETAG_LEN], now[CONF_ETAG_LEN];
	static const char wrong[] = "\"00000000000000000000000000000000\"";
	static const char newer[] = "# edited by hand\n";
	char text[sizeof(CONF) + sizeof(newer)];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	(void)state;

	/* no If-Match */
	struct conf_request rq = {.set = set, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), ERR_PRECONDITION_REQUIRED);
	assert_steps(out.steps, "");
	assert_true(out.message[0] != '\0');
	conf_outcome_free(&out);

	/* a wrong ETag: 412 with the current one */
	etag_of(CONF, etag);
	rq.if_match = wrong;
	assert_int_equal(change(&rq, &out), ERR_PRECONDITION_FAILED);
	assert_string_equal(out.etag, etag);
	assert_steps(out.steps, "");
	conf_outcome_free(&out);

	/* a stale ETag: the file was edited since it was read */
	snprintf(text, sizeof(text), "%s%s", CONF, newer);
	write_conf(text);
	etag_of_file(now);
	rq.if_match = etag;
	assert_int_equal(change(&rq, &out), ERR_PRECONDITION_FAILED);
	assert_string_equal(out.etag, now);
	conf_outcome_free(&out);

	assert_untouched(text);
	assert_int_equal(calls(C.oclog), 0);
	assert_int_equal(fk.status_calls, 0);
	json_decref(set);
}

/* Another program changes the file while `ocserv -t` runs: the ETag
 * compared under the lock refuses the change. */
static void test_changed_during_check(void **state)
{
	char etag[CONF_ETAG_LEN], now[CONF_ETAG_LEN], expect[sizeof(CONF) + 64];
	struct conf_outcome out;
	json_t *set = json_pack("{s:s}", "banner", "sneaky");
	(void)state;

	etag_of(CONF, etag);
	snprintf(expect, sizeof(expect), "%s# changed by another program\n", CONF);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), ERR_PRECONDITION_FAILED);
	assert_file(C.conf, expect);
	etag_of(expect, now);
	assert_string_equal(out.etag, now);
	assert_steps(out.steps, "validate+,check+");
	assert_untouched(expect);
	assert_int_equal(calls(C.oclog), 1);
	conf_outcome_free(&out);
	json_decref(set);
}

/* One bad request: the error, its problems' keys ("" for none), nothing
 * done. */
static void expect_bad(json_t *set, json_t *unset, const char *vhost, const char *keys,
		       const char *steps)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;

	etag_of(CONF, etag);
	struct conf_request rq = {.set = set,
				  .unset = unset,
				  .vhost = vhost,
				  .if_match = etag,
				  .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), ERR_BAD_REQUEST);
	assert_names(out.problems, "key", keys);
	assert_steps(out.steps, steps);
	assert_true(out.message[0] != '\0');
	assert_string_equal(out.backup_id, "");
	assert_null(out.config);
	conf_outcome_free(&out);
	json_decref(set);
	json_decref(unset);
	assert_untouched(CONF);
	assert_int_equal(calls(C.oclog), 0);
	assert_int_equal(fk.status_calls, 0);
}

static void test_bad_requests(void **state)
{
	(void)state;
	expect_bad(json_pack("{s:s}", "no-such-key", "x"), NULL, NULL, "no-such-key", "validate-");
	expect_bad(json_pack("{s:s}", "max-clients", "many"), NULL, NULL, "max-clients",
		   "validate-");
	expect_bad(json_pack("{s:s}", "route", "10.0.0.0/33"), NULL, NULL, "route", "validate-");
	/* every problem listed, not only the first */
	expect_bad(json_pack("{s:s,s:s,s:s,s:s}", "no-such-key", "x", "max-clients", "many",
			     "route", "300.0.0.0/8", "dns", "not-an-address"),
		   NULL, NULL, "dns,max-clients,no-such-key,route", "validate-");
	/* values that would change the file's structure */
	expect_bad(json_pack("{s:s}", "banner", "two\nlines"), NULL, NULL, "banner", "validate-");
	expect_bad(json_pack("{s:s}", "banner", "hi #there"), NULL, NULL, "banner", "validate-");
	expect_bad(json_pack("{s:s}", "banner", " padded"), NULL, NULL, "banner", "validate-");
	/* the agent needs the control socket */
	expect_bad(json_pack("{s:b}", "use-occtl", 0), NULL, NULL, "use-occtl", "validate-");
	expect_bad(NULL, json_pack("[s]", "use-occtl"), NULL, "use-occtl", "validate-");
	/* a global-only key in a vhost, set or unset */
	expect_bad(json_pack("{s:i}", "tcp-port", 4443), NULL, "www.example.com", "tcp-port",
		   "validate-");
	expect_bad(NULL, json_pack("[s]", "tcp-port"), "www.example.com", "tcp-port", "validate-");
	/* set and unset of the same key */
	expect_bad(json_pack("{s:i}", "max-clients", 32), json_pack("[s]", "max-clients"), NULL,
		   "max-clients", "validate-");
	/* unset must be an array of names */
	expect_bad(NULL, json_string("dns"), NULL, "unset", "validate-");
	expect_bad(NULL, json_pack("[i]", 1), NULL, "unset", "validate-");
	/* a vhost name that could close the section's bracket */
	expect_bad(json_pack("{s:s}", "dns", "10.1.1.1"), NULL, "a]b", "", "validate-");
	/* keys that would make a client of the API root on the host */
	expect_bad(json_pack("{s:s}", "connect-script", "/bin/sh"), NULL, NULL, "connect-script",
		   "validate-");
	expect_bad(json_pack("{s:s}", "route-add-cmd", "touch /tmp/x"), NULL, NULL, "route-add-cmd",
		   "validate-");
	expect_bad(json_pack("{s:s}", "config-per-user", "/etc/cron.d/"), NULL, NULL,
		   "config-per-user", "validate-");
	expect_bad(NULL, json_pack("[s]", "pid-file"), NULL, "pid-file", "validate-");
	/* names no key has: they could read as options */
	expect_bad(NULL, json_pack("[s,s]", "-x", "--help"), NULL, "--help,-x", "validate-");
	/* nothing to change */
	expect_bad(json_object(), NULL, NULL, "", "");
	expect_bad(NULL, json_array(), NULL, "", "");
	expect_bad(NULL, NULL, NULL, "", "");
}

/* tcp-port is read at start only: refused with a reload, written with
 * apply "none". */
static void test_restart_required(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "tcp-port", 4443);
	char *expect = replaced(CONF, "tcp-port = 443\n", "tcp-port = 4443\n");
	(void)state;

	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), ERR_RESTART_REQUIRED);
	assert_names(out.restart_keys, NULL, "tcp-port");
	assert_names(out.changed, NULL, "tcp-port");
	conf_outcome_free(&out);
	assert_untouched(CONF);
	assert_int_equal(calls(C.oclog), 0);

	rq.apply = CONF_APPLY_NONE;
	assert_int_equal(change(&rq, &out), 0);
	assert_file(C.conf, expect);
	assert_int_equal(out.applied, CONF_APPLY_NONE);
	assert_steps(out.steps, "validate+,check+,backup+,write+");
	assert_names(out.restart_keys, NULL, "tcp-port");
	assert_backup(out.backup_id, CONF);
	assert_int_equal(fk.reload_calls, 0);
	assert_int_equal(fk.status_calls, 0);
	assert_int_equal(calls(C.oclog), 1);
	conf_outcome_free(&out);
	json_decref(set);
	free(expect);
}

static void test_config_invalid(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:s}", "banner", "refuse-me"), *s;
	(void)state;

	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), ERR_CONFIG_INVALID);
	assert_steps(out.steps, "validate+,check-");
	assert_string_equal(out.failed_step, "check");
	assert_non_null(out.check_output);
	assert_non_null(strstr(out.check_output, "refuse-me is not a banner"));
	s = find_step(out.steps, "check");
	assert_non_null(strstr(json_string_value(json_object_get(s, "output")), "refuse-me is"));
	assert_true(out.message[0] != '\0');
	assert_untouched(CONF);
	assert_int_equal(calls(C.oclog), 1);
	assert_int_equal(fk.status_calls, 0);
	conf_outcome_free(&out);
	json_decref(set);
}

/* ocserv does not answer before a reload: nothing is written. */
static void test_reload_precheck(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	(void)state;

	fk.status_down = true;
	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), ERR_OCCTL_FAILED);
	assert_steps(out.steps, "validate+,check+");
	assert_true(out.message[0] != '\0');
	assert_untouched(CONF);
	assert_true(fk.status_calls >= 1);
	conf_outcome_free(&out);
	json_decref(set);
}

/* apply "restart" without systemd: refused before anything is written. */
static void test_restart_without_systemd(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "tcp-port", 4443);
	(void)state;

	if (systemd_runs())
		skip();
	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RESTART};
	assert_int_equal(change(&rq, &out), ERR_SYSTEMD_UNAVAILABLE);
	assert_steps(out.steps, "validate+,check+");
	assert_true(out.message[0] != '\0');
	assert_untouched(CONF);
	assert_int_equal(fk.status_calls, 0);
	conf_outcome_free(&out);
	json_decref(set);
}

/* A write that fails at any step leaves the old file, no temporary file
 * and no lock. */
static void test_write_failures(void **state)
{
	static const enum atomic_step steps[] = {ATOMIC_STEP_WRITE, ATOMIC_STEP_FSYNC,
						 ATOMIC_STEP_OWNER, ATOMIC_STEP_RENAME,
						 ATOMIC_STEP_FSYNC_DIR};
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	struct stat st;
	(void)state;

	C.env.inject = inject;
	etag_of(CONF, etag);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
		inject_at = steps[i];
		assert_int_equal(change(&rq, &out), ERR_INTERNAL);
		assert_steps(out.steps, "validate+,check+,backup+,write-");
		assert_string_equal(out.failed_step, "write");
		assert_int_equal(out.applied, CONF_APPLY_NONE);
		assert_null(out.config);
		conf_outcome_free(&out);
		assert_file(C.conf, CONF);
		assert_dir_clean();
		assert_int_equal(stat(C.lock, &st), -1);
		assert_int_equal(fk.reload_calls, 0);
		assert_int_equal(n_backups(), i + 1);
	}
	json_decref(set);
}

/* Another program holds ocserv.conf's lock. */
static void test_locked(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	struct timespec t0, t1;
	struct stat st;
	(void)state;

	assert_int_equal(mkdir(C.lock, 0700), 0);
	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(change(&rq, &out), ERR_LOCKED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >=
		    CONF_CHANGE_LOCK_MS - 100);
	assert_steps(out.steps, "validate+,check+,write-");
	assert_file(C.conf, CONF);
	assert_int_equal(n_backups(), 0);
	assert_int_equal(fk.reload_calls, 0);
	/* the other program's lock is left alone */
	assert_int_equal(stat(C.lock, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(rmdir(C.lock), 0);
	assert_dir_clean();
	conf_outcome_free(&out);
	json_decref(set);
}

struct racer {
	int value, r;
	char etag[CONF_ETAG_LEN];
};

static void *race(void *arg)
{
	struct racer *x = arg;
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", x->value);
	struct conf_request rq = {.set = set, .if_match = x->etag, .apply = CONF_APPLY_NONE};

	x->r = change(&rq, &out);
	conf_outcome_free(&out);
	json_decref(set);
	return NULL;
}

/* Two changes from the same ETag at once: one is written, the other is
 * refused (no lost update). */
static void test_concurrent_changes(void **state)
{
	struct racer x[2] = {{.value = 100}, {.value = 200}};
	pthread_t th[2];
	char *a = replaced(CONF, "max-clients = 16\n", "max-clients = 100\n");
	char *b = replaced(CONF, "max-clients = 16\n", "max-clients = 200\n");
	char *now;
	(void)state;

	for (int i = 0; i < 2; i++) {
		etag_of(CONF, x[i].etag);
		assert_int_equal(pthread_create(&th[i], NULL, race, &x[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_true((x[0].r == 0 && x[1].r == ERR_PRECONDITION_FAILED) ||
		    (x[1].r == 0 && x[0].r == ERR_PRECONDITION_FAILED));
	now = unit_read_file(C.conf, NULL);
	assert_non_null(now);
	assert_string_equal(now, x[0].r == 0 ? a : b);
	assert_int_equal(n_backups(), 1);
	assert_dir_clean();
	free(now);
	free(a);
	free(b);
}

/* ---- verification failures and rollback ---- */

/* Change max-clients with a reload; expect err, the old file back, and
 * these steps. */
static void expect_rollback(int err, const char *steps, const char *failed_step)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);

	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), err);
	assert_steps(out.steps, steps);
	assert_string_equal(out.failed_step, failed_step);
	assert_int_equal(out.applied, CONF_APPLY_RELOAD);
	assert_true(out.message[0] != '\0');
	/* the old file is back, byte for byte; the backup holds it too */
	assert_file(C.conf, CONF);
	assert_string_equal(out.etag, etag);
	assert_int_equal(n_backups(), 1);
	assert_backup(out.backup_id, CONF);
	assert_names(out.changed, NULL, "max-clients");
	assert_null(out.config);
	assert_dir_clean();
	conf_outcome_free(&out);
	json_decref(set);
}

static void test_rollback_reload_fails(void **state)
{
	(void)state;
	fk.reload_failures = 1;
	expect_rollback(ERR_ROLLED_BACK,
			"validate+,check+,backup+,write+,reload-,rollback-write+,rollback-reload+,"
			"rollback-verify+",
			"reload");
	assert_int_equal(fk.reload_calls, 2);
	assert_int_equal(calls(C.slog), 0);
}

/* The reload killed ocserv: a reload cannot bring it back, a restart is
 * tried, and without systemd the rollback fails (the file is restored). */
static void test_rollback_ocserv_died(void **state)
{
	(void)state;
	if (systemd_runs())
		skip();
	fk.reload_kills = true;
	expect_rollback(ERR_ROLLBACK_FAILED,
			"validate+,check+,backup+,write+,reload+,verify-,rollback-write+,"
			"rollback-restart-",
			"verify");
	assert_int_equal(fk.reload_calls, 1);
	assert_int_equal(calls(C.slog), 0);
}

/* ocserv's main process changed across the reload: it restarted. */
static void test_rollback_pid_changed(void **state)
{
	(void)state;
	fk.pid_after = SERVER_PID + 1;
	expect_rollback(ERR_ROLLED_BACK,
			"validate+,check+,backup+,write+,reload+,verify-,rollback-write+,"
			"rollback-reload+,rollback-verify+",
			"verify");
	assert_int_equal(fk.reload_calls, 2);
}

/* The verify command ran in phase first, then in phase second (or not). */
static void expect_verify_log(const char *first, const char *second)
{
	char expect[1024];
	int n = snprintf(expect, sizeof(expect), "%s %s 2\n", first, C.conf);

	if (second != NULL)
		snprintf(expect + n, sizeof(expect) - (size_t)n, "%s %s 2\n", second, C.conf);
	assert_file(C.vlog, expect);
}

static void test_verify_command_ok(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32), *s;
	char *expect = replaced(CONF, "max-clients = 16\n", "max-clients = 32\n");
	(void)state;

	use_verify_command(0, 1);
	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), 0);
	assert_steps(out.steps, "validate+,check+,backup+,write+,reload+,verify+");
	s = find_step(out.steps, "verify");
	assert_non_null(
		strstr(json_string_value(json_object_get(s, "output")), "verify apply output"));
	expect_verify_log("apply", NULL);
	assert_file(C.conf, expect);
	conf_outcome_free(&out);
	json_decref(set);
	free(expect);
}

static void test_rollback_verify_command(void **state)
{
	(void)state;
	use_verify_command(1, 0);
	expect_rollback(ERR_ROLLED_BACK,
			"validate+,check+,backup+,write+,reload+,verify-,rollback-write+,"
			"rollback-reload+,rollback-verify+",
			"verify");
	expect_verify_log("apply", "rollback");
	assert_int_equal(fk.reload_calls, 2);
}

static void test_rollback_verify_command_fails_twice(void **state)
{
	(void)state;
	use_verify_command(1, 1);
	expect_rollback(ERR_ROLLBACK_FAILED,
			"validate+,check+,backup+,write+,reload+,verify-,rollback-write+,"
			"rollback-reload+,rollback-verify-",
			"verify");
	expect_verify_log("apply", "rollback");
	assert_int_equal(fk.reload_calls, 2);
}

/* ---- restore and backups ---- */

static void test_restore(void **state)
{
	char etag[CONF_ETAG_LEN], first[CONF_BACKUP_ID_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	char *changed = replaced(CONF, "max-clients = 16\n", "max-clients = 32\n");
	(void)state;

	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_NONE};
	assert_int_equal(change(&rq, &out), 0);
	assert_file(C.conf, changed);
	memcpy(first, out.backup_id, sizeof(first));
	conf_outcome_free(&out);

	/* an invalid id, an unknown one: nothing done */
	etag_of(changed, etag);
	struct conf_request rs = {
		.restore_id = "../etc/passwd", .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rs, &out), ERR_BAD_REQUEST);
	assert_true(out.message[0] != '\0');
	conf_outcome_free(&out);
	rs.restore_id = "20200101T000000Z-001";
	assert_int_equal(change(&rs, &out), ERR_NOT_FOUND);
	conf_outcome_free(&out);
	assert_file(C.conf, changed);
	assert_int_equal(n_backups(), 1);
	assert_int_equal(fk.reload_calls, 0);

	/* the real one: the file is the backup again, the file before the
	 * restore is backed up */
	rs.restore_id = first;
	assert_int_equal(change(&rs, &out), 0);
	assert_file(C.conf, CONF);
	assert_steps(out.steps, "validate+,check+,backup+,write+,reload+,verify+");
	assert_names(out.changed, NULL, "max-clients");
	assert_names(out.restart_keys, NULL, "");
	assert_string_not_equal(out.backup_id, first);
	assert_backup(out.backup_id, changed);
	assert_backup(first, CONF);
	assert_int_equal(n_backups(), 2);
	etag_of(CONF, etag);
	assert_string_equal(out.etag, etag);
	assert_non_null(out.diff);
	assert_non_null(strstr(out.diff, "-max-clients = 32\n+max-clients = 16\n"));
	assert_int_equal(fk.reload_calls, 1);
	conf_outcome_free(&out);
	json_decref(set);
	free(changed);
}

/* A backup that differs from the file only in a comment: no key changes,
 * but the file is written, and the answer has the new file's ETag. */
static void test_restore_comment_only(void **state)
{
	char etag[CONF_ETAG_LEN], first[CONF_BACKUP_ID_LEN], text[sizeof(CONF) + 64];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	(void)state;

	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_NONE};
	assert_int_equal(change(&rq, &out), 0);
	memcpy(first, out.backup_id, sizeof(first));
	conf_outcome_free(&out);
	snprintf(text, sizeof(text), "%s# a note\n", CONF);
	write_conf(text);

	etag_of(text, etag);
	struct conf_request rs = {.restore_id = first, .if_match = etag, .apply = CONF_APPLY_NONE};
	assert_int_equal(change(&rs, &out), 0);
	assert_file(C.conf, CONF);
	assert_names(out.changed, NULL, "");
	assert_steps(out.steps, "validate+,check+,backup+,write+");
	assert_backup(out.backup_id, text);
	assert_string_equal(out.previous_etag, etag);
	etag_of(CONF, etag);
	assert_string_equal(out.etag, etag);
	assert_non_null(out.config);
	conf_outcome_free(&out);
	json_decref(set);
}

static void test_backups_pruned(void **state)
{
	char etag[CONF_ETAG_LEN], line[32], *texts[4];
	struct conf_backup *b = NULL;
	struct err_info ei = {{0}};
	struct conf_outcome out;
	size_t n = 0;
	(void)state;

	C.cfg.conf_backup_keep = 2;
	texts[0] = strdup(CONF);
	for (int i = 1; i <= 3; i++) {
		json_t *set = json_pack("{s:i}", "max-clients", 16 + i);
		snprintf(line, sizeof(line), "max-clients = %d\n", 16 + i);
		texts[i] = replaced(CONF, "max-clients = 16\n", line);
		etag_of(texts[i - 1], etag);
		struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_NONE};
		assert_int_equal(change(&rq, &out), 0);
		assert_file(C.conf, texts[i]);
		conf_outcome_free(&out);
		json_decref(set);
	}
	/* the two newest backups: the files before the 3rd and the 2nd change */
	assert_int_equal(conf_backup_list(C.backups, &b, &n, &ei), 0);
	assert_int_equal(n, 2);
	assert_true(strcmp(b[0].id, b[1].id) > 0);
	assert_backup(b[0].id, texts[2]);
	assert_backup(b[1].id, texts[1]);
	free(b);
	for (int i = 0; i <= 3; i++)
		free(texts[i]);
}

/* The file keeps its mode (ocserv's workers may read it by group). */
static void test_mode_kept(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	struct stat st;
	(void)state;

	assert_int_equal(chmod(C.conf, 0640), 0);
	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), 0);
	assert_int_equal(stat(C.conf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
	conf_outcome_free(&out);
	json_decref(set);
}

/* ---- the small parts ---- */

static void test_missing_file(void **state)
{
	char etag[CONF_ETAG_LEN];
	struct conf_outcome out;
	json_t *set = json_pack("{s:i}", "max-clients", 32);
	struct stat st;
	(void)state;

	assert_int_equal(unlink(C.conf), 0);
	etag_of(CONF, etag);
	struct conf_request rq = {.set = set, .if_match = etag, .apply = CONF_APPLY_RELOAD};
	assert_int_equal(change(&rq, &out), ERR_CONFLICT);
	assert_int_equal(stat(C.conf, &st), -1);
	assert_int_equal(n_backups(), 0);
	conf_outcome_free(&out);
	json_decref(set);
}

static void test_apply_names(void **state)
{
	(void)state;
	assert_int_equal(conf_apply_parse("none"), CONF_APPLY_NONE);
	assert_int_equal(conf_apply_parse("reload"), CONF_APPLY_RELOAD);
	assert_int_equal(conf_apply_parse("restart"), CONF_APPLY_RESTART);
	assert_int_equal(conf_apply_parse("Reload"), -1);
	assert_int_equal(conf_apply_parse(""), -1);
	assert_string_equal(conf_apply_name(CONF_APPLY_RESTART), "restart");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reload_success),
		T(test_debian_fixture),
		T(test_vhost_set),
		T(test_noop),
		T(test_dry_run),
		T(test_secret_redacted),
		T(test_preconditions),
		T(test_changed_during_check),
		T(test_bad_requests),
		T(test_restart_required),
		T(test_config_invalid),
		T(test_reload_precheck),
		T(test_restart_without_systemd),
		T(test_write_failures),
		T(test_locked),
		T(test_concurrent_changes),
		T(test_rollback_reload_fails),
		T(test_rollback_ocserv_died),
		T(test_rollback_pid_changed),
		T(test_verify_command_ok),
		T(test_rollback_verify_command),
		T(test_rollback_verify_command_fails_twice),
		T(test_restore),
		T(test_restore_comment_only),
		T(test_backups_pruned),
		T(test_mode_kept),
		T(test_missing_file),
		T(test_apply_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
