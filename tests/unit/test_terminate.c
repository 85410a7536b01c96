/* terminate.h: native terminate (ocserv >= 1.4.2), the revocation hook for
 * older versions, and the connect hook's decision, over a fake backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "err.h"
#include "hook_server.h"
#include "ocserv.h"
#include "priv_ops.h"
#include "revoke.h"
#include "session.h"
#include "terminate.h"
#include "unit.h"

#define ALICE_FULL "xHWC9szOy4jKEN3tZ0cAT1+U2/k=" /* alice's session in j-show-id-ID (1.5.0) */
#define RES1	   "aliceRes1aaaaaaaaaaaaaaaaaa="
#define RES2	   "aliceRes2bbbbbbbbbbbbbbbbbb="

/* Cookies as `show sessions all` prints them. Of alice's, RES1 and RES2
 * (closed sessions) and ALICE_FULL (her live session's, or a killed
 * client's: 1.5.0 keeps session_is_open then) are authenticated and
 * unexpired; the others failed, expired, lack a full id or are another
 * user's. */
static const char cookies_json[] =
	"[\n"
	" {\"Session\": \"aliceR\", \"Full session\": \"" RES1
	"\", \"Created\": \"2026-11-21 20:12\","
	"  \"Expires\": \"2099-01-01 00:00\", \"State\": \"authenticated\", \"Username\": "
	"\"alice\","
	"  \"Groupname\": \"(none)\", \"session_is_open\": 0, \"tls_auth_ok\": 1, \"in_use\": 0},\n"
	" {\"Session\": \"xHWC9s\", \"Full session\": \"" ALICE_FULL
	"\", \"Created\": \"2026-11-21 "
	"20:12\", \"State\": \"authenticated\", \"Username\": \"alice\", \"session_is_open\": 1,"
	"  \"in_use\": 1},\n"
	" {\"Session\": \"failed\", \"Full session\": \"aliceFailedccccccccccccccccc=\","
	"  \"Expires\": \"2099-01-01 00:00\", \"State\": \"auth failed\", \"Username\": \"alice\","
	"  \"session_is_open\": 0, \"in_use\": 0},\n"
	" {\"Session\": \"bobRes\", \"Full session\": \"bobResdddddddddddddddddddddd=\","
	"  \"Expires\": \"2099-01-01 00:00\", \"State\": \"authenticated\", \"Username\": \"bob\","
	"  \"session_is_open\": 0, \"in_use\": 0},\n"
	" {\"Session\": \"oldone\", \"Full session\": \"aliceOldeeeeeeeeeeeeeeeeeeee=\","
	"  \"Expires\": \"2000-01-01 00:00\", \"State\": \"authenticated\", \"Username\": "
	"\"alice\","
	"  \"session_is_open\": 0, \"in_use\": 0},\n"
	" {\"Session\": \"nofull\", \"Expires\": \"2099-01-01 00:00\", \"State\": "
	"\"authenticated\","
	"  \"Username\": \"alice\", \"session_is_open\": 0, \"in_use\": 0},\n"
	" {\"Session\": \"aliceS\", \"Full session\": \"" RES2
	"\", \"Created\": \"2026-11-21 20:12\","
	"  \"Expires\": \"2099-01-01 00:00\", \"State\": \"authenticated\", \"Username\": "
	"\"alice\","
	"  \"session_is_open\": 0, \"in_use\": 0},\n"
	" {\"Session\": \"alicex\", \"Full session\": \"alicexffffffffffffffffffffff=\","
	"  \"Expires\": \"2099-01-01 00:00\", \"State\": \"authenticated\", \"Username\": "
	"\"alicex\","
	"  \"session_is_open\": 0, \"in_use\": 0}\n"
	"]\n";

/* ---- the fake backend ---- */

#define MAX_CALLS 8

static struct fake {
	const char *version; /* NULL: version fails */
	const char *id_json, *user_json, *cookies_json;
	int id_r, user_r, cookies_r, disc_id_r, disc_user_r, term_id_r, term_user_r, term_cookie_r;
	const char *gone_sid;	/* terminate_cookie says ERR_NOT_FOUND for it */
	struct revoke *revoked; /* to see what was revoked when a disconnect ran */
	const char *must_be_revoked[4];
	/* what it was asked */
	int n_version, n_id, n_user, n_cookies, n_disc_id, n_disc_user, n_term_id, n_term_user,
		n_term_cookie, n_other;
	int64_t id_arg, disc_id_arg, term_id_arg;
	bool cookies_valid_arg;
	char user_arg[64], disc_user_arg[64], term_user_arg[64];
	char term_cookie_arg[MAX_CALLS][64];
	bool revoked_before_disconnect; /* every must_be_revoked was, when it ran */
} fk;

static char *alice_150, *bob_150;

static int parse_sessions(const char *text, struct session_list **ret, struct err_info *ei)
{
	return session_list_parse_occtl(text, strlen(text), (int64_t)time(NULL), ret, ei);
}

static int f_status(void *be, unsigned t, json_t **ret, struct err_info *ei)
{
	fk.n_other++;
	return err_set(ei, ERR_INTERNAL, "not expected");
}

static int f_list(void *be, struct session_list **ret, struct err_info *ei)
{
	fk.n_other++;
	return err_set(ei, ERR_INTERNAL, "not expected");
}

static int f_user(void *be, const char *u, struct session_list **ret, struct err_info *ei)
{
	fk.n_user++;
	snprintf(fk.user_arg, sizeof(fk.user_arg), "%s", u);
	return fk.user_r < 0 ? err_set(ei, fk.user_r, "user")
			     : parse_sessions(fk.user_json, ret, ei);
}

static int f_id(void *be, int64_t id, unsigned timeout_ms, struct session_list **ret,
		struct err_info *ei)
{
	fk.n_id++;
	fk.id_arg = id;
	return fk.id_r < 0 ? err_set(ei, fk.id_r, "id") : parse_sessions(fk.id_json, ret, ei);
}

static void note_revoked(void)
{
	fk.revoked_before_disconnect = true;
	for (size_t i = 0; fk.must_be_revoked[i] != NULL; i++)
		if (!revoke_contains(fk.revoked, fk.must_be_revoked[i], (int64_t)time(NULL)))
			fk.revoked_before_disconnect = false;
}

static int f_disc_id(void *be, int64_t id, struct err_info *ei)
{
	fk.n_disc_id++;
	fk.disc_id_arg = id;
	note_revoked();
	return fk.disc_id_r < 0 ? err_set(ei, fk.disc_id_r, "disconnect id") : 0;
}

static int f_disc_user(void *be, const char *u, struct err_info *ei)
{
	fk.n_disc_user++;
	snprintf(fk.disc_user_arg, sizeof(fk.disc_user_arg), "%s", u);
	note_revoked();
	return fk.disc_user_r < 0 ? err_set(ei, fk.disc_user_r, "disconnect user") : 0;
}

static int f_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	fk.n_version++;
	if (fk.version == NULL)
		return err_set(ei, ERR_OCCTL_FAILED, "no version");
	return ocserv_version_parse(fk.version, ret);
}

static int f_cookies(void *be, bool valid, struct cookie_list **ret, struct err_info *ei)
{
	fk.n_cookies++;
	fk.cookies_valid_arg = valid;
	if (fk.cookies_r < 0)
		return err_set(ei, fk.cookies_r, "cookies");
	return cookie_list_parse_occtl(fk.cookies_json, strlen(fk.cookies_json), ret, ei);
}

static int f_cookie(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	fk.n_other++;
	return err_set(ei, ERR_INTERNAL, "not expected");
}

static int f_iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	fk.n_other++;
	return err_set(ei, ERR_INTERNAL, "not expected");
}

static int f_bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	fk.n_other++;
	return err_set(ei, ERR_INTERNAL, "not expected");
}

static int f_unban(void *be, const char *ip, struct err_info *ei)
{
	fk.n_other++;
	return err_set(ei, ERR_INTERNAL, "not expected");
}

static int f_reload(void *be, struct err_info *ei)
{
	fk.n_other++;
	return err_set(ei, ERR_INTERNAL, "not expected");
}

static int f_term_id(void *be, int64_t id, struct err_info *ei)
{
	fk.n_term_id++;
	fk.term_id_arg = id;
	return fk.term_id_r < 0 ? err_set(ei, fk.term_id_r, "terminate id") : 0;
}

static int f_term_user(void *be, const char *u, struct err_info *ei)
{
	fk.n_term_user++;
	snprintf(fk.term_user_arg, sizeof(fk.term_user_arg), "%s", u);
	return fk.term_user_r < 0 ? err_set(ei, fk.term_user_r, "terminate user") : 0;
}

static int f_term_cookie(void *be, const char *sid, struct err_info *ei)
{
	if (fk.n_term_cookie < MAX_CALLS)
		snprintf(fk.term_cookie_arg[fk.n_term_cookie], sizeof(fk.term_cookie_arg[0]), "%s",
			 sid);
	fk.n_term_cookie++;
	if (fk.gone_sid != NULL && strcmp(sid, fk.gone_sid) == 0)
		return err_set(ei, ERR_NOT_FOUND, "terminate cookie: gone");
	return fk.term_cookie_r < 0 ? err_set(ei, fk.term_cookie_r, "terminate cookie") : 0;
}

static void f_free(void *be) {}

static const struct ocserv_backend_ops fake_ops = {
	.name = "fake",
	.status = f_status,
	.list = f_list,
	.user = f_user,
	.id = f_id,
	.disconnect_id = f_disc_id,
	.disconnect_user = f_disc_user,
	.version = f_version,
	.cookies = f_cookies,
	.cookie = f_cookie,
	.iroutes = f_iroutes,
	.bans = f_bans,
	.ban_points = f_bans,
	.unban = f_unban,
	.reload = f_reload,
	.terminate_id = f_term_id,
	.terminate_user = f_term_user,
	.terminate_cookie = f_term_cookie,
	.free = f_free,
};

static int all_calls(void)
{
	return fk.n_id + fk.n_user + fk.n_cookies + fk.n_disc_id + fk.n_disc_user + fk.n_term_id +
	       fk.n_term_user + fk.n_term_cookie + fk.n_other;
}

/* ---- the environment ---- */

static char tmpdir[64], conf[128], hook_named[128], hook_exec[128], other_script[128];
static struct terminate_env te;
/* The root side that reads ocserv.conf (PRIV_OCSERV_HOOK_CONFIGURED). */
static struct agent_config cfg;
static struct priv_root root;

static int group_setup(void **state)
{
	(void)state;
	alice_150 = unit_read_fixture("1.5.0", "j-show-id-ID", NULL);
	bob_150 = unit_read_fixture("1.5.0", "j-show-user-bob", NULL);
	if (alice_150 == NULL || bob_150 == NULL ||
	    unit_mkdtemp(tmpdir, sizeof(tmpdir), "termtest") == NULL)
		return -1;
	unit_join(conf, sizeof(conf), tmpdir, "ocserv.conf");
	/* Found by name alone (it need not exist), or by what it runs. */
	unit_join(hook_named, sizeof(hook_named), tmpdir, "ocserv-agent-hook");
	unit_join(hook_exec, sizeof(hook_exec), tmpdir, "connect.sh");
	unit_join(other_script, sizeof(other_script), tmpdir, "other.sh");
	if (unit_write_str(hook_exec, "#!/bin/sh\nexec /usr/local/bin/ocserv-agent hook\n") < 0 ||
	    unit_write_str(other_script, "#!/bin/sh\nlogger connected\nexit 0\n") < 0)
		return -1;
	te.oc = ocserv_new(&fake_ops, NULL);
	cfg.ocserv_conf_path = conf;
	root.cfg = &cfg;
	root.oc = te.oc;
	te.priv = priv_local_new(&root);
	return te.oc && te.priv ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	priv_free(te.priv);
	ocserv_free(te.oc);
	unit_rmtree(tmpdir);
	free(alice_150);
	free(bob_150);
	return 0;
}

static void write_conf(const char *connect_script)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "auth = \"plain[passwd=/etc/ocpasswd]\"\nconnect-script = %s\n", connect_script);
	assert_int_equal(unit_write_str(conf, text), 0);
}

static int setup(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.version = "1.5.0";
	fk.id_json = alice_150;
	fk.user_json = alice_150;
	fk.cookies_json = cookies_json;
	revoke_free(te.revoked);
	te.revoked = revoke_new();
	fk.revoked = te.revoked;
	te.hook_running = false;
	unlink(conf);
	return te.revoked ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	revoke_free(te.revoked);
	te.revoked = NULL;
	return 0;
}

static int64_t now(void)
{
	return (int64_t)time(NULL);
}

/* ---- terminate_is_hook_script ---- */

static void test_is_hook_script(void **state)
{
	char path[160], big[9000];

	(void)state;
	assert_true(terminate_is_hook_script(hook_named));
	assert_true(terminate_is_hook_script("/usr/libexec/ocserv-agent-hook"));
	assert_true(terminate_is_hook_script("ocserv-agent-hook"));
	assert_true(terminate_is_hook_script(hook_exec));
	assert_false(terminate_is_hook_script(other_script));
	assert_false(terminate_is_hook_script("/nonexistent/connect.sh"));
	assert_false(terminate_is_hook_script("/usr/libexec/ocserv-agent-hook.sh"));
	assert_false(terminate_is_hook_script("/usr/libexec/my-ocserv-agent-hook"));
	assert_false(terminate_is_hook_script(tmpdir)); /* a directory */
	unit_join(path, sizeof(path), tmpdir, "spaced.sh");
	assert_int_equal(unit_write_str(path, "#!/bin/sh\nexec ocserv-agent  hook\n"), 0);
	assert_false(terminate_is_hook_script(path));
	/* Only the first 8 KiB are read. */
	memset(big, '#', sizeof(big));
	memcpy(big + 8200, "\nexec ocserv-agent hook\n", 24);
	unit_join(path, sizeof(path), tmpdir, "late.sh");
	assert_int_equal(unit_write_file(path, big, 8200 + 24, 0755), 0);
	assert_false(terminate_is_hook_script(path));
	memcpy(big + 100, "\nexec ocserv-agent hook\n", 24);
	assert_int_equal(unit_write_file(path, big, 8200 + 24, 0755), 0);
	assert_true(terminate_is_hook_script(path));
}

/* ---- terminate_support ---- */

static void test_support(void **state)
{
	static const struct {
		const char *version;
		bool native;
	} versions[] = {
		{"1.5.0", true},
		{"1.4.2", true},
		{"1.4.10", true},
		{"2.0.0", true},
		{"1.4.1", false},
		{"1.3.0", false},
		{"1.1.6", false},
		{"0.12.6", false},
		{"OpenConnect server control (occtl) version 1.4.2", true},
	};
	struct terminate_support ts;

	(void)state;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		fk.version = versions[i].version;
		terminate_support(&te, &ts);
		if (ts.supported != versions[i].native)
			fail_msg("version %s: supported %d", versions[i].version, ts.supported);
		if (versions[i].native) {
			assert_string_equal(ts.method, "native");
		} else {
			assert_null(ts.method);
			assert_non_null(strstr(ts.reason, versions[i].version));
		}
		assert_true(strlen(ts.reason) > 0);
	}
	fk.version = "1.4.2";
	terminate_support(&te, &ts);
	assert_string_equal(ts.version, "1.4.2");

	/* Older ocserv: the hook needs the server running AND ocserv.conf's
	 * connect-script to be ours. */
	fk.version = "1.1.6";
	write_conf(hook_named);
	terminate_support(&te, &ts);
	assert_false(ts.supported); /* hook server not running */
	assert_string_equal(ts.version, "1.1.6");
	te.hook_running = true;
	terminate_support(&te, &ts);
	assert_true(ts.supported);
	assert_string_equal(ts.method, "hook");
	assert_non_null(strstr(ts.reason, "1.1.6"));
	write_conf(hook_exec);
	terminate_support(&te, &ts);
	assert_string_equal(ts.method, "hook");
	/* Quoted, as ocserv.conf allows. */
	assert_int_equal(
		unit_write_str(conf, "connect-script = \"/usr/libexec/ocserv-agent-hook\"\n"), 0);
	terminate_support(&te, &ts);
	assert_string_equal(ts.method, "hook");
	write_conf(other_script);
	terminate_support(&te, &ts);
	assert_false(ts.supported);
	assert_null(ts.method);
	assert_int_equal(unit_write_str(conf, "auth = \"plain[passwd=/etc/ocpasswd]\"\n"), 0);
	terminate_support(&te, &ts);
	assert_false(ts.supported);
	unlink(conf);
	terminate_support(&te, &ts);
	assert_false(ts.supported);
	/* The hook does not apply to a vhost's connect-script alone. */
	assert_int_equal(unit_write_str(conf, "[vhost:vpn.example.com]\nconnect-script = "
					      "/usr/libexec/ocserv-agent-hook\n"),
			 0);
	terminate_support(&te, &ts);
	assert_false(ts.supported);
	/* A vhost that overrides the global hook with a script of its own:
	 * its users' connects would not reach the agent. */
	assert_int_equal(unit_write_str(conf, "connect-script = /usr/libexec/ocserv-agent-hook\n"
					      "[vhost:vpn.example.com]\n"
					      "connect-script = /usr/local/bin/other\n"),
			 0);
	terminate_support(&te, &ts);
	assert_false(ts.supported);
	assert_int_equal(unit_write_str(conf, "connect-script = /usr/libexec/ocserv-agent-hook\n"
					      "[vhost:vpn.example.com]\n"
					      "connect-script = /usr/libexec/ocserv-agent-hook\n"),
			 0);
	terminate_support(&te, &ts);
	assert_true(ts.supported);

	/* An unknown version: never native, the hook when configured. */
	fk.version = NULL;
	write_conf(hook_named);
	terminate_support(&te, &ts);
	assert_true(ts.supported);
	assert_string_equal(ts.method, "hook");
	assert_string_equal(ts.version, "");
	assert_non_null(strstr(ts.reason, "unknown version"));
	te.hook_running = false;
	terminate_support(&te, &ts);
	assert_false(ts.supported);
	assert_string_equal(ts.version, "");
	assert_int_equal(all_calls(), 0);
}

/* A struct priv whose every call fails, as when the root side is gone. */
static int broken_call(void *impl, const char *request_id, enum priv_op op, json_t *args,
		       json_t **ret, struct priv_error *pe)
{
	(void)impl, (void)request_id, (void)op, (void)ret;
	json_decref(args);
	return err_set(&pe->ei, ERR_PRIV_PROTOCOL, "the root side is gone");
}

static void broken_free(void *impl)
{
	(void)impl;
}

/* ocserv.conf is root's: the hook method is offered only when the root
 * side says the hook is configured. */
static void test_support_asks_root(void **state)
{
	static const struct priv_vtable broken_vt = {broken_call, broken_free};
	struct priv *ours = te.priv, *broken = priv_new(&broken_vt, NULL);
	struct terminate_support ts;

	(void)state;
	assert_non_null(broken);
	fk.version = "1.1.6";
	te.hook_running = true;
	write_conf(hook_named);
	assert_true(terminate_conf_runs_hook(conf));
	terminate_support(&te, &ts);
	assert_string_equal(ts.method, "hook");
	te.priv = NULL;
	terminate_support(&te, &ts);
	assert_false(ts.supported);
	te.priv = broken;
	terminate_support(&te, &ts);
	assert_false(ts.supported);
	assert_non_null(strstr(ts.reason, "not ocserv-agent-hook"));
	te.priv = ours;
	write_conf(other_script);
	assert_false(terminate_conf_runs_hook(conf));
	assert_false(terminate_conf_runs_hook("/nonexistent/ocserv.conf"));
	priv_free(broken);
}

/* ---- terminate_run, native ---- */

static void test_native_by_id(void **state)
{
	struct session_selector sel = {.id = 10022};
	struct terminate_result res;
	struct err_info ei = {{0}};

	(void)state;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_string_equal(res.method, "native");
	assert_int_equal(fk.n_id, 1);
	assert_int_equal(fk.id_arg, 10022);
	assert_int_equal(fk.n_term_id, 1);
	assert_int_equal(fk.term_id_arg, 10022);
	/* By id: one session, no cookie hunting, nothing but terminate. */
	assert_int_equal(fk.n_cookies + fk.n_term_user + fk.n_term_cookie, 0);
	assert_int_equal(fk.n_disc_id + fk.n_disc_user + fk.n_other, 0);
	assert_int_equal(res.sessions->n, 1);
	assert_int_equal(res.sessions->v[0].id, 10022);
	assert_string_equal(res.sessions->v[0].username, "alice");
	assert_int_equal(res.cookies, 0);
	assert_int_equal(revoke_count(te.revoked, now()), 0);
	session_list_free(res.sessions);

	/* No such session, or not authenticated yet: nothing to terminate. */
	setup(NULL);
	fk.id_r = ERR_NOT_FOUND;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_NOT_FOUND);
	assert_null(res.sessions);
	assert_int_equal(fk.n_term_id, 0);
	setup(NULL);
	fk.id_json = "[{\"ID\": 77, \"Username\": \"(none)\", \"State\": \"pre-auth\"}]";
	sel.id = 77;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_NOT_FOUND);
	assert_int_equal(fk.n_term_id, 0);

	/* Backend failures come back as they are. */
	setup(NULL);
	sel.id = 10022;
	fk.id_r = ERR_OCCTL_TIMEOUT;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_OCCTL_TIMEOUT);
	assert_int_equal(fk.n_term_id, 0);
	setup(NULL);
	fk.term_id_r = ERR_OCCTL_FAILED;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_OCCTL_FAILED);
	assert_null(res.sessions);
}

static void test_native_by_user(void **state)
{
	struct session_selector sel = {.username = "alice"};
	struct terminate_result res;
	struct err_info ei = {{0}};

	(void)state;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_string_equal(res.method, "native");
	assert_int_equal(fk.n_user, 1);
	assert_string_equal(fk.user_arg, "alice");
	assert_int_equal(fk.n_cookies, 1);
	assert_false(fk.cookies_valid_arg);
	assert_int_equal(fk.n_term_user, 1);
	assert_string_equal(fk.term_user_arg, "alice");
	/* Exactly alice's unexpired authenticated cookies that no live
	 * session holds, in ocserv's order, after the sessions. */
	assert_int_equal(fk.n_term_cookie, 2);
	assert_string_equal(fk.term_cookie_arg[0], RES1);
	assert_string_equal(fk.term_cookie_arg[1], RES2);
	assert_int_equal(fk.n_term_id + fk.n_disc_id + fk.n_disc_user + fk.n_other, 0);
	assert_int_equal(res.sessions->n, 1);
	assert_int_equal(res.sessions->v[0].id, 10022);
	assert_int_equal(res.cookies, 2);
	session_list_free(res.sessions);

	/* A cookie that `terminate user` already took (1.5.0 invalidates all
	 * of a user's cookies), or that expired meanwhile: nobody can resume
	 * it, so it counts, and it is not an error. */
	setup(NULL);
	fk.term_cookie_r = ERR_NOT_FOUND;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_int_equal(fk.n_term_cookie, 2);
	assert_int_equal(res.cookies, 2);
	session_list_free(res.sessions);

	/* Only cookies left (the client was killed): no terminate user. */
	setup(NULL);
	fk.user_json = "[]";
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_int_equal(fk.n_term_user, 0);
	assert_int_equal(fk.n_term_cookie, 3);
	assert_string_equal(fk.term_cookie_arg[1], ALICE_FULL); /* no live session holds it */
	assert_int_equal(res.sessions->n, 0);
	assert_int_equal(res.cookies, 3);
	session_list_free(res.sessions);
	/* One of them gone meanwhile: not an error, and it cannot be resumed
	 * either, so all three count. */
	setup(NULL);
	fk.user_json = "[]";
	fk.gone_sid = RES2;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_int_equal(fk.n_term_cookie, 3);
	assert_int_equal(res.cookies, 3);
	session_list_free(res.sessions);

	/* The live session ended between the listing and terminate user:
	 * it is out, and the closed sessions' cookies are still taken. */
	setup(NULL);
	fk.term_user_r = ERR_NOT_FOUND;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_int_equal(fk.n_term_user, 1);
	assert_int_equal(fk.n_term_cookie, 2);
	assert_int_equal(res.cookies, 2);
	session_list_free(res.sessions);

	/* Sessions of another name that occtl matched are not alice's. */
	setup(NULL);
	fk.user_json = bob_150;
	fk.cookies_json = "[ ]";
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_NOT_FOUND);
	assert_int_equal(fk.n_term_user + fk.n_term_cookie, 0);

	/* Nothing at all. */
	setup(NULL);
	fk.user_json = "[]";
	fk.cookies_json = "[]";
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_NOT_FOUND);
	assert_int_equal(fk.n_term_user + fk.n_term_cookie + fk.n_disc_user, 0);
	assert_null(res.sessions);
	/* bob has only a resumable cookie in the list. */
	setup(NULL);
	fk.user_json = "[]";
	sel.username = "bob";
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_int_equal(fk.n_term_cookie, 1);
	assert_string_equal(fk.term_cookie_arg[0], "bobResdddddddddddddddddddddd=");
	session_list_free(res.sessions);
	sel.username = "alice";

	/* Failures. */
	setup(NULL);
	fk.user_r = ERR_OCCTL_FAILED;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(fk.n_cookies + fk.n_term_user + fk.n_term_cookie, 0);
	setup(NULL);
	fk.cookies_r = ERR_OCCTL_BAD_JSON;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_OCCTL_BAD_JSON);
	assert_int_equal(fk.n_term_user + fk.n_term_cookie, 0);
	setup(NULL);
	fk.term_user_r = ERR_OCCTL_TIMEOUT;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_OCCTL_TIMEOUT);
	assert_int_equal(fk.n_term_cookie, 0);
	assert_null(res.sessions);
	setup(NULL);
	fk.term_cookie_r = ERR_OCCTL_FAILED;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_OCCTL_FAILED);
	assert_int_equal(fk.n_term_cookie, 1); /* stops at the first failure */
	assert_null(res.sessions);
}

/* ---- terminate_run, hook ---- */

static void test_hook_by_user(void **state)
{
	struct session_selector sel = {.username = "alice"};
	struct terminate_result res;
	struct err_info ei = {{0}};

	(void)state;
	fk.version = "1.3.0";
	te.hook_running = true;
	write_conf(hook_named);
	fk.must_be_revoked[0] = ALICE_FULL;
	fk.must_be_revoked[1] = RES1;
	fk.must_be_revoked[2] = RES2;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_string_equal(res.method, "hook");
	assert_int_equal(fk.n_term_id + fk.n_term_user + fk.n_term_cookie, 0);
	/* By id, the session that was revoked: `disconnect user` would also end
	 * one that logged in meanwhile, unrevoked. */
	assert_int_equal(fk.n_disc_user, 0);
	assert_int_equal(fk.n_disc_id, 1);
	assert_int_equal(fk.disc_id_arg, 10022);
	/* Tagged with the user: the hook looks up alice's connects only. */
	assert_true(revoke_has_user(te.revoked, "alice", now()));
	assert_false(revoke_has_user(te.revoked, "bob", now()));
	/* Revoked first: the live session and both resumable cookies. */
	assert_true(fk.revoked_before_disconnect);
	assert_true(revoke_contains(te.revoked, ALICE_FULL, now()));
	assert_true(revoke_contains(te.revoked, RES1, now()));
	assert_true(revoke_contains(te.revoked, RES2, now()));
	assert_false(revoke_contains(te.revoked, "bobResdddddddddddddddddddddd=", now()));
	assert_false(revoke_contains(te.revoked, "aliceOldeeeeeeeeeeeeeeeeeeee=", now()));
	assert_int_equal(res.sessions->n, 1);
	/* Cookies of closed sessions (terminate.h): the live session's own
	 * cookie is not one of them. */
	assert_int_equal(res.cookies, 2);
	session_list_free(res.sessions);

	/* Gone meanwhile is fine; a failing disconnect is an error, but what
	 * was revoked stays revoked. */
	setup(NULL);
	fk.version = "1.3.0";
	te.hook_running = true;
	write_conf(hook_exec);
	fk.disc_id_r = ERR_NOT_FOUND;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	session_list_free(res.sessions);
	fk.disc_id_r = ERR_OCCTL_FAILED;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_OCCTL_FAILED);
	assert_null(res.sessions);
	assert_true(revoke_contains(te.revoked, ALICE_FULL, now()));

	/* Cookies only: revoked, nothing to disconnect. */
	setup(NULL);
	fk.version = "1.1.6";
	te.hook_running = true;
	write_conf(hook_named);
	fk.user_json = "[]";
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_int_equal(fk.n_disc_user + fk.n_disc_id, 0);
	assert_int_equal(res.cookies, 3);
	assert_int_equal(revoke_count(te.revoked, now()), 3);
	assert_true(revoke_contains(te.revoked, ALICE_FULL, now()));
	session_list_free(res.sessions);
}

static void test_hook_by_id(void **state)
{
	struct session_selector sel = {.id = 10022};
	struct terminate_result res;
	struct err_info ei = {{0}};

	(void)state;
	fk.version = "1.1.6";
	te.hook_running = true;
	write_conf(hook_named);
	fk.must_be_revoked[0] = ALICE_FULL;
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), 0);
	assert_string_equal(res.method, "hook");
	assert_int_equal(fk.n_disc_id, 1);
	assert_int_equal(fk.disc_id_arg, 10022);
	assert_true(fk.revoked_before_disconnect);
	assert_true(revoke_contains(te.revoked, ALICE_FULL, now()));
	assert_int_equal(fk.n_disc_user + fk.n_cookies + fk.n_term_id, 0);
	assert_int_equal(res.cookies, 0);
	session_list_free(res.sessions);
}

/* A session id the store cannot hold (ocserv never prints one): nothing
 * is disconnected, the error is ours. */
static void test_hook_unrevocable_id(void **state)
{
	struct session_selector sel = {.id = 77};
	struct terminate_result res;
	struct err_info ei = {{0}};

	(void)state;
	fk.version = "1.1.6";
	te.hook_running = true;
	write_conf(hook_named);
	fk.id_json = "[{\"ID\": 77, \"Username\": \"carol\", \"State\": \"connected\","
		     " \"Full session\": \"has a space\"}]";
	assert_int_equal(terminate_run(&te, &sel, &res, &ei), ERR_INTERNAL);
	assert_null(res.sessions);
	assert_int_equal(fk.n_disc_id + fk.n_disc_user, 0);
	assert_int_equal(revoke_count(te.revoked, now()), 0);
}

static void test_not_supported(void **state)
{
	struct session_selector by_id = {.id = 10022}, by_user = {.username = "alice"};
	struct terminate_result res;
	struct err_info ei = {{0}};

	(void)state;
	fk.version = "1.4.1";
	assert_int_equal(terminate_run(&te, &by_id, &res, &ei), ERR_NOT_SUPPORTED);
	assert_non_null(strstr(ei.detail, "1.4.1"));
	assert_int_equal(terminate_run(&te, &by_user, &res, &ei), ERR_NOT_SUPPORTED);
	te.hook_running = true;
	write_conf(other_script);
	assert_int_equal(terminate_run(&te, &by_user, &res, &ei), ERR_NOT_SUPPORTED);
	assert_null(res.sessions);
	/* Nothing was looked up, revoked or disconnected. */
	assert_int_equal(all_calls(), 0);
	assert_int_equal(revoke_count(te.revoked, now()), 0);
}

/* ---- terminate_hook_decide ---- */

static bool decide(const char *request, char *why, size_t len)
{
	struct hook_event ev;
	bool allow;

	assert_int_equal(hook_event_parse(request, strlen(request), &ev), 0);
	allow = terminate_hook_decide(&te, &ev, why, len);
	hook_event_free(&ev);
	return allow;
}

static void test_hook_decide(void **state)
{
	char why[128] = "";

	(void)state;
	/* Nothing revoked: allowed without asking ocserv. */
	assert_true(decide("REASON=connect\nID=10022\nUSERNAME=alice\n\n", why, sizeof(why)));
	assert_int_equal(fk.n_id, 0);

	assert_int_equal(revoke_add(te.revoked, ALICE_FULL, now()), 0);
	assert_false(decide("REASON=connect\nID=10022\nUSERNAME=alice\n\n", why, sizeof(why)));
	assert_int_equal(fk.n_id, 1);
	assert_int_equal(fk.id_arg, 10022);
	assert_string_equal(why, "session revoked by terminate");

	/* Another session (bob's first one) is not refused. */
	fk.id_json = bob_150;
	why[0] = '\0';
	assert_true(decide("REASON=connect\nID=10046\nUSERNAME=bob\n\n", why, sizeof(why)));
	assert_string_equal(why, "");
	fk.id_json = alice_150;

	/* Only connects are judged. */
	fk.n_id = 0;
	assert_true(decide("REASON=disconnect\nID=10022\nUSERNAME=alice\n\n", why, sizeof(why)));
	assert_true(decide("REASON=host-update\nID=10022\n\n", why, sizeof(why)));
	assert_true(decide("ID=10022\n\n", why, sizeof(why)));
	assert_int_equal(fk.n_id, 0);

	/* No usable ID: allowed (nothing to look up). */
	assert_true(decide("REASON=connect\nUSERNAME=alice\n\n", why, sizeof(why)));
	assert_true(decide("REASON=connect\nID=abc\n\n", why, sizeof(why)));
	assert_true(decide("REASON=connect\nID=-1\n\n", why, sizeof(why)));
	assert_int_equal(fk.n_id, 0);
	/* A user with a revoked session whose connect ocserv cannot place:
	 * refused, not let through. */
	fk.id_r = ERR_OCCTL_TIMEOUT;
	assert_false(decide("REASON=connect\nID=10022\n\n", why, sizeof(why)));
	assert_string_equal(why, "cannot tell whether this session was terminated");
	fk.id_r = ERR_NOT_FOUND;
	assert_false(decide("REASON=connect\nID=10022\n\n", why, sizeof(why)));
	assert_int_equal(fk.n_id, 2);
	fk.id_r = 0;

	/* Revocations of alice only: bob's connects are not even looked up. */
	revoke_free(te.revoked);
	te.revoked = revoke_new();
	const char *sids[] = {ALICE_FULL};
	assert_int_equal(revoke_add_many(te.revoked, sids, "alice", 1, now()), 0);
	fk.n_id = 0;
	fk.id_r = ERR_OCCTL_TIMEOUT; /* would refuse, were it asked */
	assert_true(decide("REASON=connect\nID=10046\nUSERNAME=bob\n\n", why, sizeof(why)));
	assert_int_equal(fk.n_id, 0);
	assert_false(decide("REASON=connect\nID=10022\nUSERNAME=alice\n\n", why, sizeof(why)));
	assert_int_equal(fk.n_id, 1);
	fk.id_r = 0;

	/* The revocation expires. */
	revoke_free(te.revoked);
	te.revoked = revoke_new();
	assert_int_equal(revoke_add(te.revoked, ALICE_FULL, now() - REVOKE_TTL_SECONDS), 0);
	assert_true(decide("REASON=connect\nID=10022\n\n", why, sizeof(why)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_is_hook_script),	     T(test_support),	    T(test_native_by_id),
		T(test_native_by_user),	     T(test_hook_by_user),  T(test_hook_by_id),
		T(test_hook_unrevocable_id), T(test_not_supported), T(test_hook_decide),
		T(test_support_asks_root),
#undef T
	};

	/* The cookies' local times are read in UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
