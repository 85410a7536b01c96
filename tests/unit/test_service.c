/* service.h: command lines, the run against fake systemctl and sudo
 * scripts, and the parse of `systemctl show`. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "err.h"
#include "service.h"
#include "subprocess.h"
#include "timefmt.h"
#include "unit.h"

#define SHOW_ARG                                                           \
	"--property=LoadState,ActiveState,SubState,UnitFileState,MainPID," \
	"ActiveEnterTimestampMonotonic,ActiveExitTimestampMonotonic,"      \
	"InactiveEnterTimestampMonotonic,InactiveExitTimestampMonotonic"

/* What systemd 252 prints for `show -p <those> ocserv.service`: the
 * service's own properties first, then the unit's, whatever order -p had. */
#define SHOW_RUNNING                               \
	"MainPID=4242\n"                           \
	"LoadState=loaded\n"                       \
	"ActiveState=active\n"                     \
	"SubState=running\n"                       \
	"UnitFileState=enabled\n"                  \
	"InactiveExitTimestampMonotonic=7000000\n" \
	"ActiveEnterTimestampMonotonic=7100000\n"  \
	"ActiveExitTimestampMonotonic=0\n"         \
	"InactiveEnterTimestampMonotonic=0\n"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return unit_mkdtemp(tmpdir, sizeof(tmpdir), "servicetest") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* ---- command lines ---- */

static void assert_argv(const char **argv, int n, const char *const *want)
{
	int i;

	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_int_equal(n, i);
	assert_null(argv[i]);
}

static void test_build_argv(void **state)
{
	const char *args[] = {"restart", "ocserv.service", NULL};
	const char *argv[SERVICE_MAX_ARGV];
	struct service_options o = {.systemctl = "/usr/bin/systemctl", .unit = "ocserv.service"};
	int n;

	(void)state;
	n = service_build_argv(&o, args, true, argv, SERVICE_MAX_ARGV);
	assert_argv(argv, n,
		    (const char *[]){"/usr/bin/systemctl", "restart", "ocserv.service", NULL});

	o.sudo = "/usr/bin/sudo";
	n = service_build_argv(&o, args, true, argv, SERVICE_MAX_ARGV);
	assert_argv(argv, n,
		    (const char *[]){"/usr/bin/sudo", "-n", "/usr/bin/systemctl", "restart",
				     "ocserv.service", NULL});
	/* Reading the state is never privileged. */
	n = service_build_argv(&o, args, false, argv, SERVICE_MAX_ARGV);
	assert_argv(argv, n,
		    (const char *[]){"/usr/bin/systemctl", "restart", "ocserv.service", NULL});

	/* sudo -n systemctl restart unit + NULL = 6 entries. */
	assert_int_equal(service_build_argv(&o, args, true, argv, 6), 5);
	assert_int_equal(service_build_argv(&o, args, true, argv, 5), ERR_INTERNAL);
	assert_int_equal(service_build_argv(&o, args, false, argv, 0), ERR_INTERNAL);
}

static void test_actions(void **state)
{
	static const char *const names[] = {"start", "stop", "restart", "reload"};
	enum service_action a;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(service_action_parse(names[i], &a), 0);
		assert_int_equal(a, (enum service_action)i);
		assert_string_equal(service_action_name(a), names[i]);
	}
	assert_int_equal(SERVICE_START, 0);
	assert_int_equal(SERVICE_RELOAD, 3);
	for (const char *const *bad =
		     (const char *const[]){"", "Start", "restart ", "status", "enable", "kill",
					   "reload-or-restart", "start\n", NULL};
	     *bad != NULL; bad++)
		assert_int_equal(service_action_parse(*bad, &a), ERR_NOT_FOUND);
	assert_true(service_action_reads_config(SERVICE_START));
	assert_true(service_action_reads_config(SERVICE_RESTART));
	assert_true(service_action_reads_config(SERVICE_RELOAD));
	assert_false(service_action_reads_config(SERVICE_STOP));
}

static void test_options_from_config(void **state)
{
	struct agent_config cfg = {
		.systemctl_path = "/bin/systemctl",
		.ocserv_unit = "ocserv@vpn1.service",
		.systemctl_timeout_ms = 1234,
		.occtl_use_sudo = true,
	};
	struct service_options o;

	(void)state;
	service_options_from_config(&cfg, &o);
	assert_string_equal(o.systemctl, "/bin/systemctl");
	assert_string_equal(o.unit, "ocserv@vpn1.service");
	assert_int_equal(o.timeout_ms, 1234);
	assert_string_equal(o.sudo, SPAWN_SUDO_PATH);
	assert_null(o.systemd_dir); /* the real /run/systemd/system */
	cfg.occtl_use_sudo = false;
	service_options_from_config(&cfg, &o);
	assert_null(o.sudo);
}

/* ---- parsing `systemctl show` ---- */

static struct service_state parse_ok(const char *text)
{
	struct service_state st;
	struct err_info ei = {{0}};
	int r = service_parse_show(text, strlen(text), &st, &ei);

	if (r != 0)
		fail_msg("parse of:\n%s\nfailed: %s", text, ei.detail);
	assert_string_equal(st.since, "");
	return st;
}

static void parse_bad(const char *text, size_t len, const char *why)
{
	struct service_state st;
	struct err_info ei = {{0}};

	memset(&st, 0x5a, sizeof(st));
	if (service_parse_show(text, len, &st, &ei) != ERR_SERVICE_FAILED)
		fail_msg("accepted: %s", why);
	assert_true(strlen(ei.detail) > 0);
	assert_int_equal(((unsigned char *)&st)[0], 0x5a); /* untouched */
}

static void test_parse(void **state)
{
	struct service_state st;

	(void)state;
	st = parse_ok(SHOW_RUNNING);
	assert_string_equal(st.load_state, "loaded");
	assert_string_equal(st.active_state, "active");
	assert_string_equal(st.sub_state, "running");
	assert_string_equal(st.unit_file_state, "enabled");
	assert_int_equal(st.main_pid, 4242);
	assert_int_equal(st.since_mono_us, 7100000);

	/* A unit systemd does not know: exit 0, and these. */
	st = parse_ok("MainPID=0\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n"
		      "UnitFileState=\nInactiveExitTimestampMonotonic=0\n"
		      "ActiveEnterTimestampMonotonic=0\nActiveExitTimestampMonotonic=0\n"
		      "InactiveEnterTimestampMonotonic=0\n");
	assert_string_equal(st.load_state, "not-found");
	assert_string_equal(st.unit_file_state, "");
	assert_int_equal(st.main_pid, 0);
	assert_int_equal(st.since_mono_us, 0);

	/* Only the two states: the rest is absent, not guessed. Unknown keys,
	 * empty lines, values with '=' in unknown keys and a missing final
	 * newline are fine. */
	st = parse_ok("Id=ocserv.service\n\nLoadState=loaded\nDescription=a=b c\n"
		      "ActiveState=active");
	assert_string_equal(st.active_state, "active");
	assert_string_equal(st.sub_state, "");
	assert_string_equal(st.unit_file_state, "");
	assert_int_equal(st.main_pid, 0);
	assert_int_equal(st.since_mono_us, 0);
	st = parse_ok("LoadState=loaded\nActiveState=active\nMainPID=\n");
	assert_int_equal(st.main_pid, 0);

	/* A state word of a later systemd is passed on. */
	st = parse_ok("LoadState=loaded\nActiveState=refreshing\nSubState=auto-restart-queued\n");
	assert_string_equal(st.active_state, "refreshing");
	assert_string_equal(st.sub_state, "auto-restart-queued");
	st = parse_ok("LoadState=loaded\nActiveState=active\nMainPID=2147483647\n");
	assert_int_equal(st.main_pid, 2147483647);
}

/* "since" is what `systemctl status` prints after the state. */
static void test_parse_since(void **state)
{
	static const struct {
		const char *active;
		uint64_t want;
	} cases[] = {
		{"active", 2},	   {"reloading", 2},	{"inactive", 4},    {"failed", 4},
		{"activating", 1}, {"deactivating", 3}, {"maintenance", 3},
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "LoadState=loaded\nActiveState=%s\n"
			 "InactiveExitTimestampMonotonic=1\nActiveEnterTimestampMonotonic=2\n"
			 "ActiveExitTimestampMonotonic=3\nInactiveEnterTimestampMonotonic=4\n",
			 cases[i].active);
		struct service_state st = parse_ok(text);
		if (st.since_mono_us != cases[i].want)
			fail_msg("%s: since %llu, want %llu", cases[i].active,
				 (unsigned long long)st.since_mono_us,
				 (unsigned long long)cases[i].want);
	}
}

static void test_parse_refuses(void **state)
{
	char big[SERVICE_STATE_MAX + 40];
	static const char nul[] = "LoadState=loaded\nActiveState=act\0ive\n";

	(void)state;
	parse_bad("", 0, "empty output");
	parse_bad("\n\n", 2, "only empty lines");
	parse_bad("ActiveState=active\n", 19, "no LoadState");
	parse_bad("LoadState=loaded\n", 17, "no ActiveState");
	parse_bad("LoadState=\nActiveState=active\n", 30, "empty LoadState");
#define BAD(s) parse_bad(s, strlen(s), s)
	BAD("LoadState=loaded\nActiveState=active\ngarbage\n");
	BAD("LoadState=loaded\nActiveState=active\n=value\n");
	BAD("LoadState=loaded\nActiveState=active\nActiveState=failed\n");
	BAD("LoadState=loaded\nLoadState=loaded\nActiveState=active\n");
	BAD("LoadState=loaded\nActiveState=active (running)\n");
	BAD("LoadState=loaded\nActiveState=active\r\n");
	BAD("LoadState=loaded\nActiveState=\"active\"\n");
	BAD("LoadState=loaded\nActiveState=active\nSubState=run;ning\n");
	BAD("LoadState=loaded\nActiveState=active\nUnitFileState=en abled\n");
	BAD("LoadState=loaded\nActiveState=active\nMainPID=-1\n");
	BAD("LoadState=loaded\nActiveState=active\nMainPID=12a\n");
	BAD("LoadState=loaded\nActiveState=active\nMainPID= 12\n");
	BAD("LoadState=loaded\nActiveState=active\nMainPID=2147483648\n");
	BAD("LoadState=loaded\nActiveState=active\nActiveEnterTimestampMonotonic=1.5\n");
	BAD("LoadState=loaded\nActiveState=active\n"
	    "ActiveEnterTimestampMonotonic=99999999999999999999999\n");
	BAD("LoadState=loaded\nActiveState=active\n"
	    "ActiveEnterTimestampMonotonic=Tue 2024-05-14 10:11:12 CEST\n");
#undef BAD
	parse_bad(nul, sizeof(nul) - 1, "a NUL byte");

	/* A state word as long as its field, with its NUL, is one byte too long. */
	memset(big, 'a', sizeof(big));
	snprintf(big, sizeof(big), "LoadState=loaded\nActiveState=%.*s\n", SERVICE_STATE_MAX - 1,
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_string_equal(parse_ok(big).active_state + SERVICE_STATE_MAX - 2, "a");
	snprintf(big, sizeof(big), "LoadState=loaded\nActiveState=%.*s\n", SERVICE_STATE_MAX,
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	parse_bad(big, strlen(big), "a state word longer than its field");
}

static void test_mono_to_iso8601(void **state)
{
	struct timespec real = {1700000000, 500000000}, mono = {1000, 0};
	char buf[32];

	(void)state;
	/* 10 s before now on the monotonic clock is 10 s before now. */
	assert_non_null(service_mono_to_iso8601(990000000, &real, &mono, buf, sizeof(buf)));
	assert_string_equal(buf, "2023-11-14T22:13:10.500Z");
	assert_non_null(service_mono_to_iso8601(1000000000, &real, &mono, buf, sizeof(buf)));
	assert_string_equal(buf, "2023-11-14T22:13:20.500Z");
	assert_non_null(service_mono_to_iso8601(1, &real, &mono, buf, sizeof(buf)));
	assert_string_equal(buf, "2023-11-14T21:56:40.500Z");
	/* Never (0), or later than now: unknown. */
	assert_null(service_mono_to_iso8601(0, &real, &mono, buf, sizeof(buf)));
	assert_null(service_mono_to_iso8601(1000000001, &real, &mono, buf, sizeof(buf)));
	/* Before 1970: a broken clock, unknown. */
	real.tv_sec = 5;
	assert_null(service_mono_to_iso8601(1, &real, &mono, buf, sizeof(buf)));
}

/* ---- against fake systemctl and sudo scripts ---- */

struct fake {
	char systemctl[160], sudo[160];
	char argv_file[200], sudo_argv_file[200];
	struct service_options o;
};

/* A systemctl that records its argv (one per line) and runs body, and a
 * sudo that records its own and runs the rest after "-n". systemd "runs"
 * (the test directory stands for /run/systemd/system). */
static void fake_new(struct fake *f, const char *body, unsigned timeout_ms)
{
	char text[4096];

	unit_join(f->systemctl, sizeof(f->systemctl), tmpdir, "systemctl");
	unit_join(f->sudo, sizeof(f->sudo), tmpdir, "sudo");
	snprintf(f->argv_file, sizeof(f->argv_file), "%s.argv", f->systemctl);
	snprintf(f->sudo_argv_file, sizeof(f->sudo_argv_file), "%s.argv", f->sudo);
	unlink(f->argv_file);
	unlink(f->sudo_argv_file);
	snprintf(text, sizeof(text), "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\n%s\n", f->argv_file,
		 body);
	assert_int_equal(unit_write_file(f->systemctl, text, strlen(text), 0755), 0);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\n[ \"$1\" = -n ] || exit 99\nshift\n"
		 "exec \"$@\"\n",
		 f->sudo_argv_file);
	assert_int_equal(unit_write_file(f->sudo, text, strlen(text), 0755), 0);
	f->o = (struct service_options){
		.systemctl = f->systemctl,
		.unit = "ocserv.service",
		.timeout_ms = timeout_ms,
		.systemd_dir = tmpdir,
	};
}

static void assert_file(const char *path, const char *want)
{
	char *got = unit_read_file(path, NULL);

	if (got == NULL)
		fail_msg("%s was not written: the fake did not run", path);
	if (strcmp(got, want) != 0)
		fail_msg("%s was:\n%s\nwant:\n%s", path, got, want);
	free(got);
}

static void assert_not_run(const struct fake *f)
{
	assert_int_equal(access(f->argv_file, F_OK), -1);
	assert_int_equal(access(f->sudo_argv_file, F_OK), -1);
}

static void test_run_actions(void **state)
{
	static const char *const names[] = {"start", "stop", "restart", "reload"};
	struct fake f;
	struct service_error e = {0};
	char want[200];

	(void)state;
	for (int sudo = 0; sudo < 2; sudo++) {
		for (size_t i = 0; i < 4; i++) {
			fake_new(&f, "exit 0", 5000);
			f.o.sudo = sudo ? f.sudo : NULL;
			assert_int_equal(service_run_action(&f.o, (enum service_action)i, &e), 0);
			snprintf(want, sizeof(want), "%s\nocserv.service\n", names[i]);
			assert_file(f.argv_file, want);
			if (sudo) {
				snprintf(want, sizeof(want), "-n\n%s\n%s\nocserv.service\n",
					 f.systemctl, names[i]);
				assert_file(f.sudo_argv_file, want);
			} else {
				assert_int_equal(access(f.sudo_argv_file, F_OK), -1);
			}
		}
	}
	/* The configured unit goes through as one argument. */
	fake_new(&f, "exit 0", 5000);
	f.o.unit = "ocserv@vpn-1.example.service";
	assert_int_equal(service_run_action(&f.o, SERVICE_RESTART, &e), 0);
	assert_file(f.argv_file, "restart\nocserv@vpn-1.example.service\n");
	assert_no_children();
}

static void test_show(void **state)
{
	struct fake f;
	struct service_state st;
	struct service_error e = {0};
	struct timespec now;
	char body[512], out[256], *text;
	int64_t ago_s;

	(void)state;
	/* The unit became active 10 s ago on the monotonic clock. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(out, sizeof(out), "%s/show.out", tmpdir);
	text = NULL;
	assert_true(
		asprintf(&text,
			 "MainPID=4242\nLoadState=loaded\nActiveState=active\nSubState=running\n"
			 "UnitFileState=enabled\nActiveEnterTimestampMonotonic=%llu\n",
			 (unsigned long long)(now.tv_sec - 10) * 1000000ull +
				 (unsigned long long)now.tv_nsec / 1000) > 0);
	assert_int_equal(unit_write_str(out, text), 0);
	free(text);
	snprintf(body, sizeof(body), "cat '%s'", out);
	fake_new(&f, body, 5000);
	f.o.sudo = f.sudo; /* never for show */
	assert_int_equal(service_show(&f.o, &st, &e), 0);
	assert_file(f.argv_file, "show\n" SHOW_ARG "\nocserv.service\n");
	assert_int_equal(access(f.sudo_argv_file, F_OK), -1);
	assert_string_equal(st.active_state, "active");
	assert_string_equal(st.sub_state, "running");
	assert_string_equal(st.unit_file_state, "enabled");
	assert_string_equal(st.load_state, "loaded");
	assert_int_equal(st.main_pid, 4242);

	struct tm tm = {0};
	char *rest = strptime(st.since, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(rest);
	assert_int_equal(strlen(rest), 5); /* ".mmmZ" */
	ago_s = (int64_t)time(NULL) - (int64_t)timegm(&tm);
	if (ago_s < 9 || ago_s > 12)
		fail_msg("since %s is %lld s ago, want 10", st.since, (long long)ago_s);

	/* Never entered: since is unknown. */
	fake_new(&f, "echo LoadState=loaded; echo ActiveState=inactive", 5000);
	assert_int_equal(service_show(&f.o, &st, &e), 0);
	assert_string_equal(st.since, "");
	assert_no_children();
}

static void test_failures(void **state)
{
	struct fake f;
	struct service_state st;
	struct service_error e;

	(void)state;
	/* systemctl's words go to the log, not to the client. */
	fake_new(&f,
		 "echo 'Job for ocserv.service failed because the control process exited with "
		 "error code.' >&2\necho 'See \"systemctl status ocserv.service\"' >&2\nexit 1",
		 5000);
	memset(&e, 0, sizeof(e));
	assert_int_equal(service_run_action(&f.o, SERVICE_START, &e), ERR_SERVICE_FAILED);
	assert_string_equal(e.message, "systemctl start ocserv.service failed (exit status 1); the "
				       "agent's log has systemctl's message");
	assert_string_equal(e.ei.detail, "systemctl start ocserv.service exited 1: Job for "
					 "ocserv.service failed because the control process "
					 "exited with error code.");

	/* sudo refusing is the same kind of failure, and says so in the log. */
	fake_new(&f, "exit 0", 5000);
	unit_write_str(f.sudo, "#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n");
	chmod(f.sudo, 0755);
	f.o.sudo = f.sudo;
	memset(&e, 0, sizeof(e));
	assert_int_equal(service_run_action(&f.o, SERVICE_RELOAD, &e), ERR_SERVICE_FAILED);
	assert_string_equal(e.ei.detail, "sudo -n systemctl reload ocserv.service exited 1: sudo: "
					 "a password is required");
	assert_int_equal(access(f.argv_file, F_OK), -1);

	/* No such unit; killed by a signal. */
	fake_new(&f,
		 "echo 'Failed to start ocserv.service: Unit ocserv.service not found.' >&2\n"
		 "exit 5",
		 5000);
	assert_int_equal(service_run_action(&f.o, SERVICE_START, &e), ERR_SERVICE_FAILED);
	assert_non_null(strstr(e.message, "exit status 5"));
	assert_non_null(strstr(e.ei.detail, "Unit ocserv.service not found."));
	fake_new(&f, "kill -SEGV $$", 5000);
	assert_int_equal(service_run_action(&f.o, SERVICE_STOP, &e), ERR_SERVICE_FAILED);

	/* show: no bus, garbage, a flood. */
	fake_new(&f, "echo 'Failed to connect to bus: No such file or directory' >&2\nexit 1",
		 5000);
	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(service_show(&f.o, &st, &e), ERR_SERVICE_FAILED);
	assert_non_null(strstr(e.ei.detail, "Failed to connect to bus"));
	assert_int_equal(((unsigned char *)&st)[0], 0x5a);
	fake_new(&f, "echo 'ActiveState=active'; echo 'oops'", 5000);
	memset(&e, 0, sizeof(e));
	assert_int_equal(service_show(&f.o, &st, &e), ERR_SERVICE_FAILED);
	assert_string_equal(e.message,
			    "could not read the state of ocserv.service from systemctl show");
	assert_non_null(strstr(e.ei.detail, "line 2"));
	fake_new(&f, "exec /usr/bin/yes LoadState=loaded", 5000);
	assert_int_equal(service_show(&f.o, &st, &e), ERR_SERVICE_FAILED);
	assert_non_null(strstr(e.message, "printed more than"));
	assert_no_children();
}

static bool process_gone(pid_t pid)
{
	char path[64], *stat;
	bool gone;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	/* Reparented to an init that has not reaped it yet: a zombie is dead. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = unit_read_file(path, NULL);
	if (stat == NULL)
		return true;
	char *rp = strrchr(stat, ')');
	gone = rp != NULL && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
	free(stat);
	return gone;
}

/* A systemctl waiting for a job that never ends is killed with everything
 * it started, through sudo too; the caller hears how long it waited. */
static void test_timeout(void **state)
{
	struct fake f;
	struct service_error e;
	char body[256], pidfile[160], *pidtext;
	int64_t t0, dt;
	pid_t child;

	(void)state;
	unit_join(pidfile, sizeof(pidfile), tmpdir, "child.pid");
	snprintf(body, sizeof(body), "sleep 30 &\necho $! > '%s'\nwait", pidfile);
	for (int sudo = 0; sudo < 2; sudo++) {
		unlink(pidfile);
		fake_new(&f, body, 300);
		f.o.sudo = sudo ? f.sudo : NULL;
		memset(&e, 0, sizeof(e));
		t0 = timefmt_mono_ms();
		assert_int_equal(service_run_action(&f.o, SERVICE_RESTART, &e), ERR_SERVICE_FAILED);
		dt = timefmt_mono_ms() - t0;
		if (dt < 280 || dt > 2000)
			fail_msg("timed out after %lld ms, want about 300", (long long)dt);
		assert_string_equal(e.message, "systemctl restart ocserv.service did not finish "
					       "within 300 ms and was stopped; systemd may still "
					       "complete the job");
		assert_no_children();
		pidtext = unit_read_file(pidfile, NULL);
		assert_non_null(pidtext);
		child = (pid_t)atoi(pidtext);
		free(pidtext);
		assert_true(child > 1);
		bool gone = false;
		for (int i = 0; i < 100 && !gone; i++) {
			gone = process_gone(child);
			if (!gone)
				usleep(20000);
		}
		if (!gone)
			fail_msg("the fake's child %d outlived the timeout", (int)child);
	}
	/* show has the same deadline. */
	fake_new(&f, "sleep 5", 200);
	t0 = timefmt_mono_ms();
	struct service_state st;
	assert_int_equal(service_show(&f.o, &st, &e), ERR_SERVICE_FAILED);
	assert_true(timefmt_mono_ms() - t0 < 2000);
	assert_no_children();
}

/* No systemd: nothing runs, whatever was asked. */
static void test_systemd_unavailable(void **state)
{
	static const char *const dirs[] = {"/nonexistent/run/systemd/system", "/dev/null"};
	struct fake f;
	struct service_state st;
	struct service_error e;

	(void)state;
	for (size_t d = 0; d < 2; d++) {
		fake_new(&f, "exit 0", 5000);
		f.o.sudo = f.sudo;
		f.o.systemd_dir = dirs[d];
		memset(&e, 0, sizeof(e));
		assert_int_equal(service_check_systemd(&f.o, &e), ERR_SYSTEMD_UNAVAILABLE);
		assert_non_null(strstr(e.message, "systemd is not running on this host"));
		assert_non_null(strstr(e.message, dirs[d]));
		assert_int_equal(service_show(&f.o, &st, &e), ERR_SYSTEMD_UNAVAILABLE);
		for (int a = SERVICE_START; a <= SERVICE_RELOAD; a++)
			assert_int_equal(service_run_action(&f.o, (enum service_action)a, &e),
					 ERR_SYSTEMD_UNAVAILABLE);
		assert_not_run(&f);
	}
	/* The default is sd_booted()'s directory. */
	memset(&f.o, 0, sizeof(f.o));
	if (access(SERVICE_SYSTEMD_DIR, F_OK) != 0)
		assert_int_equal(service_check_systemd(&f.o, &e), ERR_SYSTEMD_UNAVAILABLE);
	else
		assert_int_equal(service_check_systemd(&f.o, &e), 0);
}

static void test_systemctl_missing(void **state)
{
	struct fake f;
	struct service_state st;
	struct service_error e;

	(void)state;
	fake_new(&f, "exit 0", 5000);
	f.o.systemctl = "/nonexistent/systemctl";
	memset(&e, 0, sizeof(e));
	assert_int_equal(service_run_action(&f.o, SERVICE_START, &e), ERR_SERVICE_FAILED);
	assert_string_equal(e.message,
			    "/nonexistent/systemctl (SYSTEMCTL_PATH) is missing or not executable");
	assert_int_equal(service_show(&f.o, &st, &e), ERR_SERVICE_FAILED);
	/* Present but not executable, with sudo: sudo is not even asked. */
	chmod(f.systemctl, 0644);
	f.o.systemctl = f.systemctl;
	f.o.sudo = f.sudo;
	assert_int_equal(service_run_action(&f.o, SERVICE_START, &e), ERR_SERVICE_FAILED);
	assert_not_run(&f);
	/* sudo itself missing. */
	chmod(f.systemctl, 0755);
	f.o.sudo = "/nonexistent/sudo";
	assert_int_equal(service_run_action(&f.o, SERVICE_START, &e), ERR_SERVICE_FAILED);
	assert_string_equal(e.message, "cannot execute /nonexistent/sudo");
	assert_not_run(&f);
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_argv),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_options_from_config),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_since),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_mono_to_iso8601),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_run_actions),
		T(test_show),
		T(test_failures),
		T(test_timeout),
		T(test_systemd_unavailable),
		T(test_systemctl_missing),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
