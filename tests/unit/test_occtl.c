/* occtl.h: the command line, and the occtl backend against fake occtl
 * scripts that print the captured fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "err.h"
#include "occtl.h"
#include "ocserv.h"
#include "timefmt.h"
#include "unit.h"

#define SOCK "/run/ocserv/occtl.socket"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return unit_mkdtemp(tmpdir, sizeof(tmpdir), "occtltest") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

/* ---- occtl_build_argv ---- */

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
	const char *args[] = {"-j", "show", "user", "bob", NULL};
	const char *argv[OCCTL_MAX_ARGV];
	struct occtl_options o = {"/usr/bin/occtl", NULL, false, 1000};
	int n;

	(void)state;
	n = occtl_build_argv(&o, args, argv, OCCTL_MAX_ARGV);
	assert_argv(argv, n, (const char *[]){"/usr/bin/occtl", "-j", "show", "user", "bob", NULL});

	o.socket = SOCK;
	n = occtl_build_argv(&o, args, argv, OCCTL_MAX_ARGV);
	assert_argv(
		argv, n,
		(const char *[]){"/usr/bin/occtl", "-s", SOCK, "-j", "show", "user", "bob", NULL});

	o.use_sudo = true;
	n = occtl_build_argv(&o, args, argv, OCCTL_MAX_ARGV);
	assert_argv(argv, n,
		    (const char *[]){OCCTL_SUDO_PATH, "-n", "/usr/bin/occtl", "-s", SOCK, "-j",
				     "show", "user", "bob", NULL});

	o.socket = NULL;
	n = occtl_build_argv(&o, args, argv, OCCTL_MAX_ARGV);
	assert_argv(argv, n,
		    (const char *[]){"/usr/bin/sudo", "-n", "/usr/bin/occtl", "-j", "show", "user",
				     "bob", NULL});

	/* An argument is one argv entry whatever it contains: no shell. */
	const char *odd[] = {"disconnect", "user", "a b; rm -rf / $(x)", NULL};
	o.use_sudo = false;
	n = occtl_build_argv(&o, odd, argv, OCCTL_MAX_ARGV);
	assert_argv(argv, n,
		    (const char *[]){"/usr/bin/occtl", "disconnect", "user", "a b; rm -rf / $(x)",
				     NULL});
}

static void test_build_argv_too_long(void **state)
{
	const char *args[] = {"-j", "show", "users", NULL};
	const char *argv[OCCTL_MAX_ARGV];
	struct occtl_options o = {"/usr/bin/occtl", SOCK, true, 1000};
	const char *many[OCCTL_MAX_ARGV + 1];

	(void)state;
	/* sudo -n occtl -s SOCK -j show users + NULL = 9 entries. */
	assert_int_equal(occtl_build_argv(&o, args, argv, 9), 8);
	assert_int_equal(occtl_build_argv(&o, args, argv, 8), ERR_INTERNAL);
	assert_int_equal(occtl_build_argv(&o, args, argv, 0), ERR_INTERNAL);
	for (size_t i = 0; i < OCCTL_MAX_ARGV; i++)
		many[i] = "x";
	many[OCCTL_MAX_ARGV] = NULL;
	o.use_sudo = false;
	o.socket = NULL;
	assert_int_equal(occtl_build_argv(&o, many, argv, OCCTL_MAX_ARGV), ERR_INTERNAL);
	many[OCCTL_MAX_ARGV - 2] = NULL; /* occtl + 14 args + NULL = 16 */
	assert_int_equal(occtl_build_argv(&o, many, argv, OCCTL_MAX_ARGV), OCCTL_MAX_ARGV - 1);
}

/* ---- the backend against fake occtl scripts ---- */

struct fake {
	char script[160];
	char argv_file[200];
	struct ocserv *oc;
};

/* Write an executable script that records its argv (one per line), then
 * runs body. Returns the backend using it. */
static void fake_new(struct fake *f, const char *name, const char *body, const char *socket,
		     unsigned timeout_ms)
{
	char text[2048];
	struct occtl_options o = {f->script, socket, false, timeout_ms};

	unit_join(f->script, sizeof(f->script), tmpdir, name);
	snprintf(f->argv_file, sizeof(f->argv_file), "%s.argv", f->script);
	unlink(f->argv_file);
	snprintf(text, sizeof(text), "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\n%s\n", f->argv_file,
		 body);
	assert_int_equal(unit_write_file(f->script, text, strlen(text), 0755), 0);
	f->oc = occtl_backend_new(&o);
	assert_non_null(f->oc);
	assert_string_equal(ocserv_backend_name(f->oc), "occtl");
}

/* A script that prints a captured fixture and exits with its captured rc. */
static void fake_fixture(struct fake *f, const char *version, const char *name, const char *socket)
{
	char body[1024], out[512], rcpath[512], *rc;

	unit_fixture_path(out, sizeof(out), version, name);
	snprintf(rcpath, sizeof(rcpath), "%.*s.rc", (int)(strlen(out) - 4), out);
	rc = unit_read_file(rcpath, NULL);
	assert_non_null(rc);
	snprintf(body, sizeof(body), "cat '%s'\nexit %d", out, atoi(rc));
	free(rc);
	fake_new(f, name, body, socket, 5000);
}

static void fake_free(struct fake *f)
{
	ocserv_free(f->oc);
}

static void assert_argv_file(const struct fake *f, const char *want)
{
	char *got = unit_read_file(f->argv_file, NULL);

	if (got == NULL)
		fail_msg("the fake occtl did not run");
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

static void test_list(void **state)
{
	struct fake f;
	struct session_list *l = NULL;
	struct err_info ei = {{0}};

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		fake_fixture(&f, unit_versions[v], "j-show-users", SOCK);
		assert_int_equal(ocserv_list(f.oc, &l, &ei), 0);
		assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\nusers\n");
		assert_int_equal(l->n, 3);
		assert_string_equal(l->v[0].username, "bob");
		assert_string_equal(l->v[2].username, "alice");
		assert_null(l->v[2].groupname);
		assert_string_equal(l->v[2].routes.v[0], "defaultroute");
		assert_true(l->v[2].since_seconds >= 0);
		session_list_free(l);
		fake_free(&f);
	}
	/* Without a socket, no -s. */
	fake_fixture(&f, "1.5.0", "j-show-users", NULL);
	assert_int_equal(ocserv_list(f.oc, &l, &ei), 0);
	assert_argv_file(&f, "-j\nshow\nusers\n");
	session_list_free(l);
	fake_free(&f);
	assert_no_children();
}

static void test_user(void **state)
{
	struct fake f;
	struct session_list *l = NULL;
	struct err_info ei = {{0}};

	(void)state;
	fake_fixture(&f, "1.3.0", "j-show-user-bob", SOCK);
	assert_int_equal(ocserv_user(f.oc, "bob", &l, &ei), 0);
	assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\nuser\nbob\n");
	assert_int_equal(l->n, 2);
	assert_int_equal(l->v[0].id, 9762);
	assert_int_equal(l->v[1].id, 9751);
	session_list_free(l);
	fake_free(&f);

	/* occtl prints [ ] and exits 2 for an unknown user: an empty answer. */
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		fake_fixture(&f, unit_versions[v], "j-show-user-nosuchuser", SOCK);
		l = NULL;
		assert_int_equal(ocserv_user(f.oc, "nosuchuser", &l, &ei), 0);
		assert_non_null(l);
		assert_int_equal(l->n, 0);
		assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\nuser\nnosuchuser\n");
		session_list_free(l);
		fake_free(&f);
	}

	/* A user name with spaces and shell characters arrives as one argument. */
	fake_fixture(&f, "1.5.0", "j-show-user-nosuchuser", NULL);
	assert_int_equal(ocserv_user(f.oc, "a b;$(id)'", &l, &ei), 0);
	assert_argv_file(&f, "-j\nshow\nuser\na b;$(id)'\n");
	session_list_free(l);
	fake_free(&f);
}

static void test_id(void **state)
{
	static const int64_t alice[] = {9461, 9738, 10022};
	struct fake f;
	struct session_list *l = NULL;
	struct err_info ei = {{0}};
	char want[128];

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		fake_fixture(&f, unit_versions[v], "j-show-id-ID", SOCK);
		assert_int_equal(ocserv_id(f.oc, alice[v], &l, &ei), 0);
		snprintf(want, sizeof(want), "-s\n" SOCK "\n-j\nshow\nid\n%lld\n",
			 (long long)alice[v]);
		assert_argv_file(&f, want);
		assert_int_equal(l->n, 1);
		assert_int_equal(l->v[0].id, alice[v]);
		session_list_free(l);
		fake_free(&f);

		fake_fixture(&f, unit_versions[v], "j-show-id-999999", SOCK);
		l = (struct session_list *)0x1;
		assert_int_equal(ocserv_id(f.oc, 999999, &l, &ei), ERR_NOT_FOUND);
		assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\nid\n999999\n");
		fake_free(&f);
	}
}

static void test_status(void **state)
{
	struct fake f;
	json_t *st = NULL;
	struct err_info ei = {{0}};

	(void)state;
	fake_fixture(&f, "1.5.0", "j-show-status", SOCK);
	assert_int_equal(ocserv_status(f.oc, 0, &st, &ei), 0);
	assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\nstatus\n");
	assert_string_equal(json_string_value(json_object_get(st, "status")), "online");
	assert_int_equal(json_integer_value(json_object_get(st, "serverPid")), 10009);
	assert_int_equal(json_integer_value(json_object_get(st, "activeSessions")), 3);
	assert_string_equal(json_string_value(json_object_get(st, "upSince")),
			    "2026-11-21T20:12:38.000Z");
	json_decref(st);
	fake_free(&f);

	/* show status printing an array is not occtl's shape. */
	fake_new(&f, "status-array", "echo '[]'", SOCK, 5000);
	assert_int_equal(ocserv_status(f.oc, 0, &st, &ei), ERR_OCCTL_BAD_JSON);
	fake_free(&f);
}

static void test_failures(void **state)
{
	struct fake f;
	struct session_list *l = NULL;
	struct err_info ei;
	json_t *st = NULL;

	(void)state;
	/* ocserv down: a message on stderr, exit 1. */
	fake_new(&f, "down",
		 "echo \"error connecting to ocserv socket '" SOCK "': Connection refused\" >&2\n"
		 "exit 1",
		 SOCK, 5000);
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(ocserv_list(f.oc, &l, &ei), ERR_OCCTL_FAILED);
	assert_non_null(strstr(ei.detail, "Connection refused"));
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(ocserv_status(f.oc, 0, &st, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_id(f.oc, 5, &l, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_user(f.oc, "bob", &l, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_disconnect_user(f.oc, "bob", &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_disconnect_id(f.oc, 5, &ei), ERR_OCCTL_FAILED);
	fake_free(&f);

	/* Exit 0 with garbage. */
	fake_new(&f, "garbage", "echo 'this is not json {'", SOCK, 5000);
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(ocserv_list(f.oc, &l, &ei), ERR_OCCTL_BAD_JSON);
	assert_true(strlen(ei.detail) > 0);
	assert_int_equal(ocserv_status(f.oc, 0, &st, &ei), ERR_OCCTL_BAD_JSON);
	fake_free(&f);

	/* Exit 0 with valid JSON of the wrong shape. */
	fake_new(&f, "object", "echo '{\"ID\": 1}'", SOCK, 5000);
	assert_int_equal(ocserv_list(f.oc, &l, &ei), ERR_OCCTL_BAD_JSON);
	fake_free(&f);

	/* Exit 2 is only "no match" with an empty array. */
	fake_new(&f, "rc2-garbage", "echo 'usage: occtl ...'\nexit 2", SOCK, 5000);
	assert_int_equal(ocserv_user(f.oc, "bob", &l, &ei), ERR_OCCTL_FAILED);
	fake_free(&f);
	fake_new(&f, "rc2-nonempty", "echo '[{\"ID\": 5}]'\nexit 2", SOCK, 5000);
	assert_int_equal(ocserv_user(f.oc, "bob", &l, &ei), ERR_OCCTL_FAILED);
	fake_free(&f);

	/* Killed by a signal. */
	fake_new(&f, "crash", "kill -SEGV $$", SOCK, 5000);
	assert_int_equal(ocserv_list(f.oc, &l, &ei), ERR_OCCTL_FAILED);
	fake_free(&f);

	/* More output than OCCTL_MAX_OUTPUT. */
	fake_new(&f, "flood", "exec /usr/bin/yes '[1,'", SOCK, 20000);
	assert_int_equal(ocserv_list(f.oc, &l, &ei), ERR_OCCTL_FAILED);
	fake_free(&f);
	assert_no_children();
}

static void test_timeout(void **state)
{
	struct fake f;
	struct session_list *l = NULL;
	struct err_info ei = {{0}};
	json_t *st = NULL;
	int64_t t0, dt;

	(void)state;
	fake_new(&f, "hang", "sleep 5", SOCK, 300);
	t0 = timefmt_mono_ms();
	assert_int_equal(ocserv_list(f.oc, &l, &ei), ERR_OCCTL_TIMEOUT);
	dt = timefmt_mono_ms() - t0;
	if (dt < 280 || dt > 2000)
		fail_msg("timed out after %lld ms, want about 300", (long long)dt);
	assert_true(strlen(ei.detail) > 0);
	t0 = timefmt_mono_ms();
	assert_int_equal(ocserv_disconnect_id(f.oc, 1, &ei), ERR_OCCTL_TIMEOUT);
	assert_true(timefmt_mono_ms() - t0 < 2000);
	fake_free(&f);
	assert_no_children();

	/* A per-call timeout (health's short one) overrides the default. */
	fake_new(&f, "hang2", "sleep 5", SOCK, 10000);
	t0 = timefmt_mono_ms();
	assert_int_equal(ocserv_status(f.oc, 200, &st, &ei), ERR_OCCTL_TIMEOUT);
	dt = timefmt_mono_ms() - t0;
	if (dt > 2000)
		fail_msg("status took %lld ms with a 200 ms timeout", (long long)dt);
	fake_free(&f);
	assert_no_children();
}

static void test_not_found(void **state)
{
	struct occtl_options o = {"/nonexistent/occtl", SOCK, false, 1000};
	struct ocserv *oc = occtl_backend_new(&o);
	struct session_list *l = NULL;
	struct err_info ei = {{0}};
	json_t *st = NULL;
	char path[160];

	(void)state;
	assert_non_null(oc);
	assert_int_equal(ocserv_list(oc, &l, &ei), ERR_OCCTL_NOT_FOUND);
	assert_non_null(strstr(ei.detail, "/nonexistent/occtl"));
	assert_int_equal(ocserv_status(oc, 0, &st, &ei), ERR_OCCTL_NOT_FOUND);
	assert_int_equal(ocserv_disconnect_user(oc, "bob", &ei), ERR_OCCTL_NOT_FOUND);
	ocserv_free(oc);

	/* Present but not executable. */
	unit_join(path, sizeof(path), tmpdir, "occtl-noexec");
	assert_int_equal(unit_write_file(path, "#!/bin/sh\n", 10, 0644), 0);
	o.path = path;
	oc = occtl_backend_new(&o);
	assert_int_equal(ocserv_list(oc, &l, &ei), ERR_OCCTL_NOT_FOUND);
	ocserv_free(oc);
}

static void test_disconnect(void **state)
{
	struct fake f;
	struct err_info ei = {{0}};

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		fake_fixture(&f, unit_versions[v], "disconnect-user-nosuchuser", SOCK);
		assert_int_equal(ocserv_disconnect_user(f.oc, "nosuchuser", &ei), ERR_NOT_FOUND);
		assert_argv_file(&f, "-s\n" SOCK "\ndisconnect\nuser\nnosuchuser\n");
		fake_free(&f);

		fake_fixture(&f, unit_versions[v], "disconnect-id-ID", SOCK);
		assert_int_equal(ocserv_disconnect_id(f.oc, 9474, &ei), 0);
		assert_argv_file(&f, "-s\n" SOCK "\ndisconnect\nid\n9474\n");
		fake_free(&f);
	}
	/* "could not disconnect" for an id, too. */
	fake_new(&f, "disc-id-missing", "echo \"could not disconnect ID '77'\"\nexit 1", NULL,
		 5000);
	assert_int_equal(ocserv_disconnect_id(f.oc, 77, &ei), ERR_NOT_FOUND);
	assert_argv_file(&f, "disconnect\nid\n77\n");
	fake_free(&f);
	fake_new(&f, "disc-user-ok", "echo \"user 'bob' was disconnected\"", NULL, 5000);
	assert_int_equal(ocserv_disconnect_user(f.oc, "bob", &ei), 0);
	assert_argv_file(&f, "disconnect\nuser\nbob\n");
	fake_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_argv),
		cmocka_unit_test(test_build_argv_too_long),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_list),
		T(test_user),
		T(test_id),
		T(test_status),
		T(test_failures),
		T(test_timeout),
		T(test_not_found),
		T(test_disconnect),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
