/* conf_check.h: `ocserv -t -c FILE` before anything reloads ocserv, against
 * fake ocserv scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "conf_check.h"
#include "err.h"
#include "subprocess.h"
#include "timefmt.h"
#include "unit.h"

static char tmpdir[64], script[128], argv_file[160], conf[128];
static struct agent_config cfg;

static int setup(void **state)
{
	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "confcheck") == NULL)
		return -1;
	unit_join(script, sizeof(script), tmpdir, "ocserv");
	snprintf(argv_file, sizeof(argv_file), "%s.argv", script);
	unit_join(conf, sizeof(conf), tmpdir, "ocserv.conf");
	memset(&cfg, 0, sizeof(cfg));
	cfg.ocserv_path = script;
	cfg.ocserv_conf_path = conf;
	cfg.ocserv_check_timeout_ms = 5000;
	return unit_write_str(conf, "auth = \"plain[passwd=/etc/ocpasswd]\"\n");
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

/* The fake ocserv: records its argv (one per line), then runs body. */
static void fake_ocserv(const char *body)
{
	char text[1024];

	snprintf(text, sizeof(text), "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\n%s\n", argv_file,
		 body);
	assert_int_equal(unit_write_file(script, text, strlen(text), 0755), 0);
	unlink(argv_file);
}

static void assert_argv_file(const char *want)
{
	char *got = unit_read_file(argv_file, NULL);

	if (got == NULL)
		fail_msg("the fake ocserv did not run");
	if (strcmp(got, want) != 0)
		fail_msg("argv was:\n%s\nwant:\n%s", got, want);
	free(got);
}

static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_pass(void **state)
{
	struct conf_check_result res;
	struct err_info ei = {{0}};
	char want[256], buf[160];

	(void)state;
	fake_ocserv("echo 'auth = plain'\necho 'tcp-port = 443'\nexit 0");
	assert_int_equal(conf_check_run(&cfg, &res, &ei), 0);
	snprintf(want, sizeof(want), "-t\n-c\n%s\n", conf);
	assert_argv_file(want);
	assert_int_equal(res.exit_status, 0);
	assert_string_equal(res.output, "auth = plain\ntcp-port = 443\n");
	assert_string_equal(conf_check_summary(&res, buf, sizeof(buf)), "tcp-port = 443");
	conf_check_result_free(&res);
	assert_null(res.output);
	conf_check_result_free(&res); /* twice is fine */

	/* conf_check_file checks the file it is given, not the configured one. */
	fake_ocserv("exit 0");
	assert_int_equal(conf_check_file(&cfg, "/etc/ocserv/candidate.conf", &res, &ei), 0);
	assert_argv_file("-t\n-c\n/etc/ocserv/candidate.conf\n");
	assert_string_equal(res.output, "");
	assert_string_equal(conf_check_summary(&res, buf, sizeof(buf)), "");
	conf_check_result_free(&res);
	assert_no_children();
}

static void test_fail(void **state)
{
	struct conf_check_result res;
	struct err_info ei = {{0}};
	char buf[160];

	(void)state;
	fake_ocserv("echo 'note: skipping unknown option' >&2\n"
		    "echo \"error: unknown option 'frobnicate' in line 3\" >&2\n"
		    "echo 'error: second error' >&2\n"
		    "echo 'auth = plain'\n"
		    "exit 1");
	assert_int_equal(conf_check_run(&cfg, &res, &ei), ERR_CONFIG_INVALID);
	assert_int_equal(res.exit_status, 1);
	/* stderr first (ocserv's verdict), then stdout. */
	assert_string_equal(res.output, "note: skipping unknown option\n"
					"error: unknown option 'frobnicate' in line 3\n"
					"error: second error\n"
					"\n"
					"auth = plain\n");
	assert_string_equal(conf_check_summary(&res, buf, sizeof(buf)),
			    "error: unknown option 'frobnicate' in line 3");
	assert_non_null(strstr(ei.detail, "exited 1"));
	/* A short buffer gets the start of that line. */
	assert_string_equal(conf_check_summary(&res, buf, 9), "error: u");
	conf_check_result_free(&res);

	/* Any exit status but 0 is a refusal, with or without output. */
	fake_ocserv("exit 3");
	assert_int_equal(conf_check_run(&cfg, &res, &ei), ERR_CONFIG_INVALID);
	assert_int_equal(res.exit_status, 3);
	assert_string_equal(res.output, "");
	assert_string_equal(conf_check_summary(&res, buf, sizeof(buf)), "");
	conf_check_result_free(&res);

	/* Killed by a signal: 128 + signal, a refusal too. */
	fake_ocserv("kill -SEGV $$");
	assert_int_equal(conf_check_run(&cfg, &res, &ei), ERR_CONFIG_INVALID);
	assert_int_equal(res.exit_status, 128 + 11);
	conf_check_result_free(&res);
	assert_no_children();
}

static void test_summary(void **state)
{
	static const struct {
		const char *output, *want;
	} cases[] = {
		{"", ""},
		{"\n\n\n", ""},
		{"only line", "only line"},
		{"first\nlast\n\n", "last"},
		{"Error: capitalised\nlast\n", "Error: capitalised"},
		{"ERROR: upper case\nlast\n", "ERROR: upper case"},
		{"a\nocserv[12]: error loading file\nz\n", "ocserv[12]: error loading file"},
		{"a\n\nerror: x\n\nerror: y\n", "error: x"},
		{"warning: w\nnote: n\n", "note: n"},
	};
	struct conf_check_result res = {0};
	char buf[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		res.output = (char *)cases[i].output;
		if (strcmp(conf_check_summary(&res, buf, sizeof(buf)), cases[i].want) != 0)
			fail_msg("output '%s': summary '%s', want '%s'", cases[i].output, buf,
				 cases[i].want);
	}
	res.output = NULL;
	assert_string_equal(conf_check_summary(&res, buf, sizeof(buf)), "");
}

/* A checker that cannot run is not a verdict on the configuration. */
static void test_missing_binary(void **state)
{
	struct conf_check_result res;
	struct err_info ei = {{0}};
	char path[160], buf[160];

	(void)state;
	unit_join(path, sizeof(path), tmpdir, "no-such-ocserv");
	cfg.ocserv_path = path;
	assert_int_equal(conf_check_run(&cfg, &res, &ei), ERR_CHECK_FAILED);
	assert_non_null(strstr(ei.detail, path));
	/* Nothing ran, so nothing was printed, and nothing passed. */
	assert_non_null(res.output);
	assert_string_equal(res.output, "");
	assert_string_equal(conf_check_summary(&res, buf, sizeof(buf)), "");
	conf_check_result_free(&res);
}

/* exit_status is 0 only when the configuration passed (conf_check.h). */
static void test_missing_binary_status(void **state)
{
	struct conf_check_result res;
	struct err_info ei = {{0}};
	char path[160];

	(void)state;
	unit_join(path, sizeof(path), tmpdir, "no-such-ocserv");
	cfg.ocserv_path = path;
	assert_int_equal(conf_check_run(&cfg, &res, &ei), ERR_CHECK_FAILED);
	assert_true(res.exit_status != 0);
	conf_check_result_free(&res);

	/* Present but not executable. */
	assert_int_equal(unit_write_file(path, "#!/bin/sh\nexit 0\n", 17, 0644), 0);
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(conf_check_run(&cfg, &res, &ei), ERR_CHECK_FAILED);
	assert_true(res.exit_status != 0);
	conf_check_result_free(&res);
}

static void test_timeout(void **state)
{
	struct conf_check_result res;
	struct err_info ei = {{0}};
	int64_t t0, dt;

	(void)state;
	fake_ocserv("echo 'checking...'\nsleep 5\nexit 0");
	cfg.ocserv_check_timeout_ms = 300;
	t0 = timefmt_mono_ms();
	assert_int_equal(conf_check_run(&cfg, &res, &ei), ERR_CHECK_FAILED);
	dt = timefmt_mono_ms() - t0;
	if (dt < 280 || dt > 2000)
		fail_msg("gave up after %lld ms, want about 300", (long long)dt);
	assert_non_null(strstr(ei.detail, "300 ms"));
	assert_true(res.exit_status != 0);
	conf_check_result_free(&res);
	assert_no_children();
}

static void test_output_too_large(void **state)
{
	struct conf_check_result res;
	struct err_info ei = {{0}};

	(void)state;
	fake_ocserv("exec yes 'auth = plain'");
	assert_int_equal(conf_check_run(&cfg, &res, &ei), ERR_CHECK_FAILED);
	assert_non_null(strstr(ei.detail, "larger"));
	conf_check_result_free(&res);
	assert_no_children();
}

/* With occtl_use_sudo the checker runs as `sudo -n OCSERV -t -c PATH` (it
 * reads root-only keys): the argv conf_check_file builds with the same
 * spawn_build_argv() and cmd. */
static void test_argv(void **state)
{
	const char *cmd[] = {"/usr/sbin/ocserv", "-t", "-c", "/etc/ocserv/ocserv.conf", NULL};
	const char *argv[8];

	(void)state;
	assert_int_equal(spawn_build_argv(NULL, cmd, argv, 8), 4);
	assert_string_equal(argv[0], "/usr/sbin/ocserv");
	assert_string_equal(argv[1], "-t");
	assert_string_equal(argv[2], "-c");
	assert_string_equal(argv[3], "/etc/ocserv/ocserv.conf");
	assert_null(argv[4]);
	assert_int_equal(spawn_build_argv(SPAWN_SUDO_PATH, cmd, argv, 8), 6);
	assert_string_equal(argv[0], SPAWN_SUDO_PATH);
	assert_string_equal(argv[0], "/usr/bin/sudo");
	assert_string_equal(argv[1], "-n");
	assert_string_equal(argv[2], "/usr/sbin/ocserv");
	assert_string_equal(argv[3], "-t");
	assert_string_equal(argv[4], "-c");
	assert_string_equal(argv[5], "/etc/ocserv/ocserv.conf");
	assert_null(argv[6]);
	/* Exactly enough room, and one entry short. */
	assert_int_equal(spawn_build_argv(SPAWN_SUDO_PATH, cmd, argv, 7), 6);
	assert_int_equal(spawn_build_argv(SPAWN_SUDO_PATH, cmd, argv, 6), ERR_INTERNAL);
	assert_int_equal(spawn_build_argv(NULL, cmd, argv, 4), ERR_INTERNAL);
	/* A path with spaces or shell characters stays one argument. */
	fake_ocserv("exit 0");
	{
		struct conf_check_result res;
		struct err_info ei = {{0}};
		char odd[200], want[256];
		unit_join(odd, sizeof(odd), tmpdir, "a b;$(id)'.conf");
		assert_int_equal(conf_check_file(&cfg, odd, &res, &ei), 0);
		snprintf(want, sizeof(want), "-t\n-c\n%s\n", odd);
		assert_argv_file(want);
		conf_check_result_free(&res);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_pass),
		T(test_fail),
		T(test_missing_binary),
		T(test_missing_binary_status),
		T(test_timeout),
		T(test_output_too_large),
		T(test_argv),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
