/* occtl.h: the command line, and the occtl backend against fake occtl
 * scripts that print the captured fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "err.h"
#include "occtl.h"
#include "subprocess.h"
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
		    (const char *[]){SPAWN_SUDO_PATH, "-n", "/usr/bin/occtl", "-s", SOCK, "-j",
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

/* ---- cookies, iroutes, bans, unban, reload ---- */

static void test_cookies(void **state)
{
	static const char *const sids[] = {"LpurJh", "zyH2sy", "xHWC9s"};
	struct fake f;
	struct cookie_list *l = NULL;
	struct err_info ei = {{0}};
	char want[128];

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		fake_fixture(&f, unit_versions[v], "j-show-sessions-all", SOCK);
		assert_int_equal(ocserv_cookies(f.oc, false, &l, &ei), 0);
		assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\nsessions\nall\n");
		assert_int_equal(l->n, 7);
		cookie_list_free(l);
		fake_free(&f);

		fake_fixture(&f, unit_versions[v], "j-show-sessions-valid", SOCK);
		assert_int_equal(ocserv_cookies(f.oc, true, &l, &ei), 0);
		assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\nsessions\nvalid\n");
		assert_int_equal(l->n, 3);
		for (size_t i = 0; i < l->n; i++)
			assert_string_equal(l->v[i].state, "authenticated");
		cookie_list_free(l);
		fake_free(&f);

		fake_fixture(&f, unit_versions[v], "j-show-session-SID", SOCK);
		assert_int_equal(ocserv_cookie(f.oc, sids[v], &l, &ei), 0);
		snprintf(want, sizeof(want), "-s\n" SOCK "\n-j\nshow\nsession\n%s\n", sids[v]);
		assert_argv_file(&f, want);
		assert_int_equal(l->n, 1);
		assert_string_equal(l->v[0].session_id, sids[v]);
		assert_string_equal(l->v[0].username, "alice");
		cookie_list_free(l);
		fake_free(&f);
	}
	/* No such session: occtl prints an empty list. */
	fake_new(&f, "no-session", "printf '[\\n]\\n'", NULL, 5000);
	l = (struct cookie_list *)0x1;
	assert_int_equal(ocserv_cookie(f.oc, "zzzzzz", &l, &ei), ERR_NOT_FOUND);
	assert_argv_file(&f, "-j\nshow\nsession\nzzzzzz\n");
	fake_free(&f);
	/* Only the session asked for, whatever else occtl printed. */
	fake_fixture(&f, "1.5.0", "j-show-session-SID", NULL);
	assert_int_equal(ocserv_cookie(f.oc, "xHWC9S", &l, &ei), ERR_NOT_FOUND);
	assert_argv_file(&f, "-j\nshow\nsession\nxHWC9S\n");
	fake_free(&f);
	/* A full id (longer than occtl's short ones): looked up in the whole
	 * list, matched exactly. */
	fake_fixture(&f, "1.5.0", "j-show-sessions-all", NULL);
	assert_int_equal(ocserv_cookie(f.oc, "1Sf9E+v/930D6R4SltRXuRkEQPg=", &l, &ei), 0);
	assert_argv_file(&f, "-j\nshow\nsessions\nall\n");
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0].session_id, "1Sf9E+");
	assert_string_equal(l->v[0].full_session, "1Sf9E+v/930D6R4SltRXuRkEQPg=");
	assert_string_equal(l->v[0].state, "auth failed");
	cookie_list_free(l);
	l = (struct cookie_list *)0x1;
	assert_int_equal(ocserv_cookie(f.oc, "1Sf9E+v/930D6R4SltRXuRkEQPg", &l, &ei),
			 ERR_NOT_FOUND);
	assert_int_equal(ocserv_cookie(f.oc, "1Sf9E+v/930D6R4SltRXuRkEQPg==", &l, &ei),
			 ERR_NOT_FOUND);
	fake_free(&f);
	/* No sessions at all. */
	fake_new(&f, "no-cookies", "printf '[\\n]\\n'", NULL, 5000);
	assert_int_equal(ocserv_cookies(f.oc, false, &l, &ei), 0);
	assert_int_equal(l->n, 0);
	cookie_list_free(l);
	fake_free(&f);
	assert_no_children();
}

static void test_iroutes(void **state)
{
	static const int64_t alice[] = {9461, 9738, 10022};
	struct fake f;
	struct iroute_list *l = NULL;
	struct err_info ei = {{0}};

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		fake_fixture(&f, unit_versions[v], "j-show-iroutes", SOCK);
		assert_int_equal(ocserv_iroutes(f.oc, &l, &ei), 0);
		assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\niroutes\n");
		assert_int_equal(l->n, 3);
		assert_int_equal(l->v[2].id, alice[v]);
		assert_string_equal(l->v[2].username, "alice");
		assert_int_equal(l->v[2].iroutes.n, 1);
		assert_string_equal(l->v[2].iroutes.v[0], "192.168.200.0/255.255.255.0");
		assert_int_equal(l->v[0].iroutes.n, 0);
		iroute_list_free(l);
		fake_free(&f);
	}
}

static void test_bans(void **state)
{
	static const int64_t left[] = {299, 298, 299}; /* " 4m:59s", " 4m:58s", " 4m:59s" */
	struct fake f;
	struct ban_list *l = NULL;
	struct err_info ei = {{0}};
	int64_t t0, t1;

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		fake_fixture(&f, unit_versions[v], "j-show-ip-bans", SOCK);
		t0 = (int64_t)time(NULL);
		assert_int_equal(ocserv_bans(f.oc, &l, &ei), 0);
		t1 = (int64_t)time(NULL);
		assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\nip\nbans\n");
		assert_int_equal(l->n, 1);
		assert_string_equal(l->v[0].ip, "127.0.0.2");
		assert_int_equal(l->v[0].score, 30);
		assert_true(l->v[0].expires >= t0 + left[v] && l->v[0].expires <= t1 + left[v]);
		ban_list_free(l);
		fake_free(&f);

		fake_fixture(&f, unit_versions[v], "j-show-ip-ban-points", SOCK);
		assert_int_equal(ocserv_ban_points(f.oc, &l, &ei), 0);
		assert_argv_file(&f, "-s\n" SOCK "\n-j\nshow\nip\nban\npoints\n");
		assert_int_equal(l->n, 2);
		assert_string_equal(l->v[0].ip, "127.0.0.2");
		assert_int_equal(l->v[0].score, 30);
		assert_int_equal(l->v[0].expires, -1);
		assert_string_equal(l->v[1].ip, "127.0.0.3");
		assert_int_equal(l->v[1].score, 10);
		ban_list_free(l);
		fake_free(&f);
	}
}

static void test_unban(void **state)
{
	struct fake f;
	struct err_info ei = {{0}};

	(void)state;
	fake_new(&f, "unban-ok", "echo \"IP '1.2.3.4' was unbanned\"", SOCK, 5000);
	assert_int_equal(ocserv_unban(f.oc, "1.2.3.4", &ei), 0);
	assert_argv_file(&f, "-s\n" SOCK "\nunban\nip\n1.2.3.4\n");
	fake_free(&f);
	fake_new(&f, "unban-missing", "echo \"could not unban IP '1.2.3.4'\"\nexit 1", NULL, 5000);
	assert_int_equal(ocserv_unban(f.oc, "fe80::1", &ei), ERR_NOT_FOUND);
	assert_argv_file(&f, "unban\nip\nfe80::1\n");
	fake_free(&f);
	fake_new(&f, "unban-down",
		 "echo \"error connecting to ocserv socket '" SOCK "': No such file\" >&2\nexit 1",
		 NULL, 5000);
	memset(&ei, 0, sizeof(ei));
	assert_int_equal(ocserv_unban(f.oc, "1.2.3.4", &ei), ERR_OCCTL_FAILED);
	assert_non_null(strstr(ei.detail, "No such file"));
	fake_free(&f);
}

static void test_reload(void **state)
{
	struct fake f;
	struct err_info ei = {{0}};

	(void)state;
	for (size_t v = 0; v < UNIT_N_VERSIONS; v++) {
		fake_fixture(&f, unit_versions[v], "reload", SOCK);
		assert_int_equal(ocserv_reload(f.oc, &ei), 0);
		assert_argv_file(&f, "-s\n" SOCK "\nreload\n");
		fake_free(&f);
	}
	fake_new(&f, "reload-fail", "echo 'error connecting' >&2\nexit 1", NULL, 5000);
	assert_int_equal(ocserv_reload(f.oc, &ei), ERR_OCCTL_FAILED);
	assert_argv_file(&f, "reload\n");
	fake_free(&f);
	assert_no_children();
}

/* The new commands fail the way the old ones do. */
static void test_new_failures(void **state)
{
	struct fake f;
	struct err_info ei = {{0}};
	struct cookie_list *cl = NULL;
	struct iroute_list *il = NULL;
	struct ban_list *bl = NULL;

	(void)state;
	fake_new(&f, "down",
		 "echo \"error connecting to ocserv socket '" SOCK "': Connection refused\" >&2\n"
		 "exit 1",
		 SOCK, 5000);
	assert_int_equal(ocserv_cookies(f.oc, false, &cl, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_cookie(f.oc, "xHWC9s", &cl, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_iroutes(f.oc, &il, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_bans(f.oc, &bl, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_ban_points(f.oc, &bl, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_reload(f.oc, &ei), ERR_OCCTL_FAILED);
	fake_free(&f);

	fake_new(&f, "garbage", "echo 'this is not json {'", SOCK, 5000);
	assert_int_equal(ocserv_cookies(f.oc, true, &cl, &ei), ERR_OCCTL_BAD_JSON);
	assert_int_equal(ocserv_cookie(f.oc, "xHWC9s", &cl, &ei), ERR_OCCTL_BAD_JSON);
	assert_int_equal(ocserv_iroutes(f.oc, &il, &ei), ERR_OCCTL_BAD_JSON);
	assert_int_equal(ocserv_bans(f.oc, &bl, &ei), ERR_OCCTL_BAD_JSON);
	assert_int_equal(ocserv_ban_points(f.oc, &bl, &ei), ERR_OCCTL_BAD_JSON);
	fake_free(&f);

	fake_new(&f, "hang", "sleep 5", SOCK, 200);
	assert_int_equal(ocserv_cookies(f.oc, false, &cl, &ei), ERR_OCCTL_TIMEOUT);
	assert_int_equal(ocserv_unban(f.oc, "1.2.3.4", &ei), ERR_OCCTL_TIMEOUT);
	fake_free(&f);

	{
		struct occtl_options o = {"/nonexistent/occtl", SOCK, false, 1000};
		struct ocserv *oc = occtl_backend_new(&o);
		struct ocserv_version ver;
		assert_int_equal(ocserv_iroutes(oc, &il, &ei), ERR_OCCTL_NOT_FOUND);
		assert_int_equal(ocserv_reload(oc, &ei), ERR_OCCTL_NOT_FOUND);
		assert_int_equal(ocserv_version(oc, &ver, &ei), ERR_OCCTL_NOT_FOUND);
		assert_int_equal(ocserv_terminate_id(oc, 5, &ei), ERR_OCCTL_NOT_FOUND);
		ocserv_free(oc);
	}
	assert_no_children();
}

/* ---- version and terminate ---- */

/* A fake occtl that appends each command line to a log and answers -v
 * with version on stderr, as occtl does. */
static void fake_versioned(struct fake *f, const char *name, const char *version, const char *body,
			   bool use_sudo)
{
	char text[2048];
	struct occtl_options o = {f->script, SOCK, use_sudo, 5000};

	unit_join(f->script, sizeof(f->script), tmpdir, name);
	snprintf(f->argv_file, sizeof(f->argv_file), "%s.log", f->script);
	unlink(f->argv_file);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\n"
		 "if [ \"$1\" = -v ]; then\n"
		 "  echo 'OpenConnect server control (occtl) version %s' >&2\n"
		 "  echo 'Copyright (C) 2014-2023 Red Hat and others.' >&2\n"
		 "  exit 0\nfi\n%s\n",
		 f->argv_file, version, body);
	assert_int_equal(unit_write_file(f->script, text, strlen(text), 0755), 0);
	f->oc = occtl_backend_new(&o);
	assert_non_null(f->oc);
}

static void test_version(void **state)
{
	struct fake f;
	struct ocserv_version v;
	struct err_info ei = {{0}};

	(void)state;
	/* -v alone: no socket, and never through sudo (use_sudo is set). */
	fake_versioned(&f, "occtl-116", "1.1.6", "exit 0", true);
	assert_int_equal(ocserv_version(f.oc, &v, &ei), 0);
	assert_argv_file(&f, "-v\n");
	assert_string_equal(v.text, "1.1.6");
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 1);
	assert_int_equal(v.patch, 6);
	/* Asked once, then kept for a while. */
	memset(&v, 0, sizeof(v));
	assert_int_equal(ocserv_version(f.oc, &v, &ei), 0);
	assert_string_equal(v.text, "1.1.6");
	assert_int_equal(v.patch, 6);
	assert_argv_file(&f, "-v\n");
	fake_free(&f);

	/* A version on stdout only, or none, is not occtl's. */
	fake_new(&f, "occtl-stdout", "echo 'OpenConnect server control (occtl) version 1.5.0'",
		 NULL, 5000);
	assert_int_equal(ocserv_version(f.oc, &v, &ei), ERR_OCCTL_FAILED);
	assert_argv_file(&f, "-v\n");
	fake_free(&f);
	fake_new(&f, "occtl-none", "echo 'occtl: unknown option' >&2\nexit 1", NULL, 5000);
	assert_int_equal(ocserv_version(f.oc, &v, &ei), ERR_OCCTL_FAILED);
	fake_free(&f);
	/* A failure is not kept: the next call asks again. */
	fake_versioned(&f, "occtl-flaky", "garbled", "exit 0", false);
	assert_int_equal(ocserv_version(f.oc, &v, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(ocserv_terminate_id(f.oc, 5, &ei), ERR_OCCTL_FAILED);
	assert_argv_file(&f, "-v\n-v\n");
	fake_free(&f);
}

static void test_terminate_old_occtl(void **state)
{
	static const char *const old[] = {"1.1.6", "1.3.0", "1.4.1"};
	struct fake f;
	struct err_info ei = {{0}};

	(void)state;
	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		fake_versioned(&f, "occtl-old", old[i], "echo 'unknown command'\nexit 1", false);
		memset(&ei, 0, sizeof(ei));
		assert_int_equal(ocserv_terminate_id(f.oc, 5, &ei), ERR_NOT_SUPPORTED);
		assert_non_null(strstr(ei.detail, old[i]));
		assert_int_equal(ocserv_terminate_user(f.oc, "bob", &ei), ERR_NOT_SUPPORTED);
		assert_int_equal(ocserv_terminate_cookie(f.oc, "xHWC9szOy4jKEN3tZ0cAT1+U2/k=", &ei),
				 ERR_NOT_SUPPORTED);
		/* Only the version was asked (once: it is kept a while), terminate
		 * never ran. */
		assert_argv_file(&f, "-v\n");
		fake_free(&f);
	}
	assert_no_children();
}

static void test_terminate_new_occtl(void **state)
{
	static const char *const versions[] = {"1.4.2", "1.5.0"};
	struct fake f;
	struct err_info ei = {{0}};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		fake_versioned(&f, "occtl-new", versions[i], "echo done", false);
		assert_int_equal(ocserv_terminate_id(f.oc, 10022, &ei), 0);
		assert_int_equal(ocserv_terminate_user(f.oc, "bob", &ei), 0);
		assert_int_equal(ocserv_terminate_cookie(f.oc, "xHWC9szOy4jKEN3tZ0cAT1+U2/k=", &ei),
				 0);
		assert_argv_file(&f,
				 "-v\n"
				 "-s " SOCK " terminate id 10022\n"
				 "-s " SOCK " terminate user bob\n"
				 "-s " SOCK " terminate session xHWC9szOy4jKEN3tZ0cAT1+U2/k=\n");
		fake_free(&f);
	}
	/* Nothing to terminate; ocserv unreachable. */
	fake_versioned(&f, "occtl-none", "1.5.0",
		       "echo \"could not terminate session '$4'\"\nexit 1", false);
	assert_int_equal(ocserv_terminate_cookie(f.oc, "zzzz", &ei), ERR_NOT_FOUND);
	assert_int_equal(ocserv_terminate_user(f.oc, "nosuchuser", &ei), ERR_NOT_FOUND);
	fake_free(&f);
	fake_versioned(&f, "occtl-down", "1.5.0", "echo 'error connecting' >&2\nexit 1", false);
	assert_int_equal(ocserv_terminate_id(f.oc, 5, &ei), ERR_OCCTL_FAILED);
	fake_free(&f);
	assert_no_children();
}

static void test_version_parse(void **state)
{
	static const struct {
		const char *text, *want;
		unsigned major, minor, patch;
	} good[] = {
		{"1.1.6", "1.1.6", 1, 1, 6},
		{"OpenConnect server control (occtl) version 1.5.0\n", "1.5.0", 1, 5, 0},
		{"OpenConnect server control (occtl) version 1.4.2\nCopyright 2.3.4\n", "1.4.2", 1,
		 4, 2},
		{"version 10.20.30", "10.20.30", 10, 20, 30},
		{"v1.4.2-rc1", "1.4.2", 1, 4, 2},
		{"1.1.6.7", "1.1.6", 1, 1, 6},
		{"a 12.3 b 1.2.3", "1.2.3", 1, 2, 3},
	};
	static const char *bad[] = {"", "1.2", "abc", "version", "\n1.2.3", "x\n1.2.3", "1..2.3"};
	struct ocserv_version v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&v, 0xaa, sizeof(v));
		if (ocserv_version_parse(good[i].text, &v) != 0)
			fail_msg("'%s' not parsed", good[i].text);
		assert_string_equal(v.text, good[i].want);
		assert_int_equal(v.major, good[i].major);
		assert_int_equal(v.minor, good[i].minor);
		assert_int_equal(v.patch, good[i].patch);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ocserv_version_parse(bad[i], &v) != ERR_OCCTL_FAILED)
			fail_msg("'%s' parsed as %s", bad[i], v.text);
		assert_string_equal(v.text, "");
	}
}

static void test_version_at_least(void **state)
{
	struct ocserv_version v;

	(void)state;
	assert_int_equal(ocserv_version_parse("1.4.2", &v), 0);
	assert_true(ocserv_version_at_least(&v, 1, 4, 2));
	assert_true(ocserv_version_at_least(&v, 1, 4, 1));
	assert_true(ocserv_version_at_least(&v, 1, 3, 9));
	assert_true(ocserv_version_at_least(&v, 0, 99, 99));
	assert_false(ocserv_version_at_least(&v, 1, 4, 3));
	assert_false(ocserv_version_at_least(&v, 1, 5, 0));
	assert_false(ocserv_version_at_least(&v, 2, 0, 0));
	assert_int_equal(ocserv_version_parse("1.10.0", &v), 0);
	assert_true(ocserv_version_at_least(&v, 1, 4, 2));
	assert_int_equal(ocserv_version_parse("2.0.0", &v), 0);
	assert_true(ocserv_version_at_least(&v, 1, 4, 2));
	assert_int_equal(ocserv_version_parse("1.4.1", &v), 0);
	assert_false(ocserv_version_at_least(&v, 1, 4, 2));
	assert_int_equal(ocserv_version_parse("0.12.6", &v), 0);
	assert_false(ocserv_version_at_least(&v, 1, 4, 2));
	/* Unknown is never enough, whatever the numbers say. */
	memset(&v, 0, sizeof(v));
	v.major = 9;
	assert_false(ocserv_version_at_least(&v, 0, 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_argv),
		cmocka_unit_test(test_build_argv_too_long),
		cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_version_at_least),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_list),
		T(test_user),
		T(test_id),
		T(test_status),
		T(test_failures),
		T(test_timeout),
		T(test_not_found),
		T(test_disconnect),
		T(test_cookies),
		T(test_iroutes),
		T(test_bans),
		T(test_unban),
		T(test_reload),
		T(test_new_failures),
		T(test_version),
		T(test_terminate_old_occtl),
		T(test_terminate_new_occtl),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
