/* api.h: the v1 REST API over a fake ocserv backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <time.h>

#include "agent.h"
#include "api.h"
#include "json_depth.h"
#include "ocserv.h"
#include "priv_ops.h"
#include "revoke.h"
#include "service.h"
#include "session.h"
#include "timefmt.h"
#include "unit.h"

#define TOKEN	   "tok-current-0123456789"
#define TOKEN_PREV "tok-previous-9876543210"
#define DETAIL	   "INTERNAL-DETAIL-XYZZY" /* must never reach a client */

/* ---- the fake backend ---- */

#define BAN_NOW (INT64_C(1795291959) + 60) /* "now" for the ban lists' countdowns */

static struct fake {
	int status_r, list_r, user_r, id_r, disc_id_r, disc_user_r;
	int version_r, cookies_r, cookie_r, iroutes_r, bans_r, ban_points_r, unban_r, reload_r;
	int term_id_r, term_user_r, term_cookie_r;
	const char *status_json; /* the normalised object status returns */
	const char *list_json, *user_json, *id_json;
	const char *version; /* what `occtl -v` would print */
	const char *cookies_json, *cookie_json, *iroutes_json, *bans_json, *ban_points_json;
	/* what it was asked */
	int n_status, n_list, n_user, n_id, n_disc_id, n_disc_user;
	int n_version, n_cookies, n_cookie, n_iroutes, n_bans, n_ban_points, n_unban, n_reload;
	int n_term_id, n_term_user, n_term_cookie;
	unsigned status_timeout;
	int64_t id_arg, disc_id_arg, term_id_arg;
	bool cookies_valid_arg;
	char user_arg[300], disc_user_arg[128], cookie_arg[300], unban_arg[64];
	char term_user_arg[128], term_cookie_arg[4][64];
} fk;

static char *users_150, *users_116, *bob_150, *alice_150, *alice_116;
static char *cookies_all_150, *cookies_valid_150, *cookies_all_116, *cookie_sid_150;
static char *iroutes_150, *iroutes_116, *bans_150, *bans_116, *ban_points_150;

static int fake_sessions(const char *text, struct session_list **ret, struct err_info *ei)
{
	return session_list_parse_occtl(text, strlen(text), 1795291959 + 60, ret, ei);
}

static int fake_status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	(void)be;
	fk.n_status++;
	fk.status_timeout = timeout_ms;
	if (fk.status_r < 0)
		return err_set(ei, fk.status_r, DETAIL " status");
	*ret = json_loads(fk.status_json, 0, NULL);
	return *ret ? 0 : err_set(ei, ERR_INTERNAL, "bad test status JSON");
}

static int fake_list(void *be, struct session_list **ret, struct err_info *ei)
{
	(void)be;
	fk.n_list++;
	if (fk.list_r < 0)
		return err_set(ei, fk.list_r, DETAIL " list");
	return fake_sessions(fk.list_json, ret, ei);
}

static int fake_user(void *be, const char *username, struct session_list **ret, struct err_info *ei)
{
	(void)be;
	fk.n_user++;
	snprintf(fk.user_arg, sizeof(fk.user_arg), "%s", username);
	if (fk.user_r < 0)
		return err_set(ei, fk.user_r, DETAIL " user");
	return fake_sessions(fk.user_json, ret, ei);
}

static int fake_id(void *be, int64_t id, unsigned timeout_ms, struct session_list **ret,
		   struct err_info *ei)
{
	(void)be;
	fk.n_id++;
	fk.id_arg = id;
	if (fk.id_r < 0)
		return err_set(ei, fk.id_r, DETAIL " id");
	return fake_sessions(fk.id_json, ret, ei);
}

static int fake_disconnect_id(void *be, int64_t id, struct err_info *ei)
{
	(void)be;
	fk.n_disc_id++;
	fk.disc_id_arg = id;
	return fk.disc_id_r < 0 ? err_set(ei, fk.disc_id_r, DETAIL " disconnect id") : 0;
}

static int fake_disconnect_user(void *be, const char *username, struct err_info *ei)
{
	(void)be;
	fk.n_disc_user++;
	snprintf(fk.disc_user_arg, sizeof(fk.disc_user_arg), "%s", username);
	return fk.disc_user_r < 0 ? err_set(ei, fk.disc_user_r, DETAIL " disconnect user") : 0;
}

static int fake_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	(void)be;
	fk.n_version++;
	if (fk.version_r < 0)
		return err_set(ei, fk.version_r, DETAIL " version");
	return ocserv_version_parse(fk.version, ret) < 0
		       ? err_set(ei, ERR_OCCTL_FAILED, DETAIL " no version")
		       : 0;
}

static int fake_cookies(void *be, bool valid_only, struct cookie_list **ret, struct err_info *ei)
{
	(void)be;
	fk.n_cookies++;
	fk.cookies_valid_arg = valid_only;
	if (fk.cookies_r < 0)
		return err_set(ei, fk.cookies_r, DETAIL " cookies");
	return cookie_list_parse_occtl(fk.cookies_json, strlen(fk.cookies_json), ret, ei);
}

static int fake_cookie(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	(void)be;
	fk.n_cookie++;
	snprintf(fk.cookie_arg, sizeof(fk.cookie_arg), "%s", sid);
	if (fk.cookie_r < 0)
		return err_set(ei, fk.cookie_r, DETAIL " cookie");
	return cookie_list_parse_occtl(fk.cookie_json, strlen(fk.cookie_json), ret, ei);
}

static int fake_iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	(void)be;
	fk.n_iroutes++;
	if (fk.iroutes_r < 0)
		return err_set(ei, fk.iroutes_r, DETAIL " iroutes");
	return iroute_list_parse_occtl(fk.iroutes_json, strlen(fk.iroutes_json), ret, ei);
}

static int fake_bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	(void)be;
	fk.n_bans++;
	if (fk.bans_r < 0)
		return err_set(ei, fk.bans_r, DETAIL " bans");
	return ban_list_parse_occtl(fk.bans_json, strlen(fk.bans_json), BAN_NOW, ret, ei);
}

static int fake_ban_points(void *be, struct ban_list **ret, struct err_info *ei)
{
	(void)be;
	fk.n_ban_points++;
	if (fk.ban_points_r < 0)
		return err_set(ei, fk.ban_points_r, DETAIL " ban points");
	return ban_list_parse_occtl(fk.ban_points_json, strlen(fk.ban_points_json), BAN_NOW, ret,
				    ei);
}

static int fake_unban(void *be, const char *ip, struct err_info *ei)
{
	(void)be;
	fk.n_unban++;
	snprintf(fk.unban_arg, sizeof(fk.unban_arg), "%s", ip);
	return fk.unban_r < 0 ? err_set(ei, fk.unban_r, DETAIL " unban") : 0;
}

static int fake_reload(void *be, struct err_info *ei)
{
	(void)be;
	fk.n_reload++;
	return fk.reload_r < 0 ? err_set(ei, fk.reload_r, DETAIL " reload") : 0;
}

static int fake_terminate_id(void *be, int64_t id, struct err_info *ei)
{
	(void)be;
	fk.n_term_id++;
	fk.term_id_arg = id;
	return fk.term_id_r < 0 ? err_set(ei, fk.term_id_r, DETAIL " terminate id") : 0;
}

static int fake_terminate_user(void *be, const char *username, struct err_info *ei)
{
	(void)be;
	fk.n_term_user++;
	snprintf(fk.term_user_arg, sizeof(fk.term_user_arg), "%s", username);
	return fk.term_user_r < 0 ? err_set(ei, fk.term_user_r, DETAIL " terminate user") : 0;
}

static int fake_terminate_cookie(void *be, const char *sid, struct err_info *ei)
{
	(void)be;
	if (fk.n_term_cookie < 4)
		snprintf(fk.term_cookie_arg[fk.n_term_cookie], sizeof(fk.term_cookie_arg[0]), "%s",
			 sid);
	fk.n_term_cookie++;
	return fk.term_cookie_r < 0 ? err_set(ei, fk.term_cookie_r, DETAIL " terminate cookie") : 0;
}

static void fake_free(void *be)
{
	(void)be;
}

static const struct ocserv_backend_ops fake_ops = {
	.name = "fake",
	.status = fake_status,
	.list = fake_list,
	.user = fake_user,
	.id = fake_id,
	.disconnect_id = fake_disconnect_id,
	.disconnect_user = fake_disconnect_user,
	.version = fake_version,
	.cookies = fake_cookies,
	.cookie = fake_cookie,
	.iroutes = fake_iroutes,
	.bans = fake_bans,
	.ban_points = fake_ban_points,
	.unban = fake_unban,
	.reload = fake_reload,
	.terminate_id = fake_terminate_id,
	.terminate_user = fake_terminate_user,
	.terminate_cookie = fake_terminate_cookie,
	.free = fake_free,
};

/* ---- the agent ---- */

static char tmpdir[64], conf_path[128], servers_path[128];
static char ocserv_conf[128], fake_ocserv[128], fake_ocserv_argv[160], hook_script[128];
static struct agent_config cfg;
static struct agent ag;
static struct priv_root root; /* the one-process priv of ag: same fake backend */

static int group_setup(void **state)
{
	(void)state;
	users_150 = unit_read_fixture("1.5.0", "j-show-users", NULL);
	users_116 = unit_read_fixture("1.1.6", "j-show-users", NULL);
	bob_150 = unit_read_fixture("1.5.0", "j-show-user-bob", NULL);
	alice_150 = unit_read_fixture("1.5.0", "j-show-id-ID", NULL);
	alice_116 = unit_read_fixture("1.1.6", "j-show-id-ID", NULL);
	cookies_all_150 = unit_read_fixture("1.5.0", "j-show-sessions-all", NULL);
	cookies_valid_150 = unit_read_fixture("1.5.0", "j-show-sessions-valid", NULL);
	cookies_all_116 = unit_read_fixture("1.1.6", "j-show-sessions-all", NULL);
	cookie_sid_150 = unit_read_fixture("1.5.0", "j-show-session-SID", NULL);
	iroutes_150 = unit_read_fixture("1.5.0", "j-show-iroutes", NULL);
	iroutes_116 = unit_read_fixture("1.1.6", "j-show-iroutes", NULL);
	bans_150 = unit_read_fixture("1.5.0", "j-show-ip-bans", NULL);
	bans_116 = unit_read_fixture("1.1.6", "j-show-ip-bans", NULL);
	ban_points_150 = unit_read_fixture("1.5.0", "j-show-ip-ban-points", NULL);
	if (!users_150 || !users_116 || !bob_150 || !alice_150 || !alice_116 || !cookies_all_150 ||
	    !cookies_valid_150 || !cookies_all_116 || !cookie_sid_150 || !iroutes_150 ||
	    !iroutes_116 || !bans_150 || !bans_116 || !ban_points_150)
		return -1;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "apitest") == NULL)
		return -1;
	unit_join(conf_path, sizeof(conf_path), tmpdir, "radiusclient.conf");
	unit_join(servers_path, sizeof(servers_path), tmpdir, "servers");
	if (unit_write_str(conf_path, "nas-identifier nas-01\n"
				      "authserver 10.0.0.7:1812:Inline-XYZZY\n"
				      "acctserver 10.0.0.8:1813:Inline-XYZZY\n") < 0 ||
	    unit_write_str(servers_path, "10.0.0.7 Servers-XYZZY\n10.0.0.9\n") < 0)
		return -1;
	cfg.host = "127.0.0.1";
	cfg.port = 8088;
	cfg.token_current = TOKEN;
	cfg.token_previous = TOKEN_PREV;
	cfg.occtl_path = "/usr/bin/occtl";
	cfg.occtl_timeout_ms = 5000;
	cfg.radius_conf_path = conf_path;
	cfg.radius_servers_path = servers_path;
	cfg.state_dir = tmpdir;
	unit_join(ocserv_conf, sizeof(ocserv_conf), tmpdir, "ocserv.conf");
	unit_join(fake_ocserv, sizeof(fake_ocserv), tmpdir, "ocserv");
	snprintf(fake_ocserv_argv, sizeof(fake_ocserv_argv), "%s.argv", fake_ocserv);
	unit_join(hook_script, sizeof(hook_script), tmpdir, "ocserv-agent-hook");
	cfg.ocserv_conf_path = ocserv_conf;
	cfg.ocserv_path = fake_ocserv;
	cfg.max_body_bytes = 65536;
	cfg.max_json_depth = 32;
	ag.cfg = &cfg;
	ag.oc = ocserv_new(&fake_ops, &fk);
	root.cfg = &cfg;
	root.oc = ag.oc;
	ag.priv = priv_local_new(&root);
	snprintf(ag.instance_id, sizeof(ag.instance_id), "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
	ag.instance_persisted = true;
	snprintf(ag.started_at, sizeof(ag.started_at), "2026-01-01T00:00:00.000Z");
	snprintf(ag.hostname, sizeof(ag.hostname), "vpn-node-1");
	return ag.oc && ag.priv ? 0 : -1;
}

static int group_teardown(void **state)
{
	char *texts[] = {users_150,	 users_116,	  bob_150,	     alice_150,
			 alice_116,	 cookies_all_150, cookies_valid_150, cookies_all_116,
			 cookie_sid_150, iroutes_150,	  iroutes_116,	     bans_150,
			 bans_116,	 ban_points_150};

	(void)state;
	revoke_free(ag.terminate.revoked);
	priv_free(ag.priv);
	ocserv_free(ag.oc);
	unit_rmtree(tmpdir);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		free(texts[i]);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.status_json = "{\"status\": \"online\", \"serverPid\": 10009, \"activeSessions\": 3}";
	fk.list_json = users_150;
	fk.user_json = alice_150;
	fk.id_json = alice_150;
	fk.version = "OpenConnect server control (occtl) version 1.5.0";
	fk.cookies_json = cookies_all_150;
	fk.cookie_json = cookie_sid_150;
	fk.iroutes_json = iroutes_150;
	fk.bans_json = bans_150;
	fk.ban_points_json = ban_points_150;
	cfg.occtl_timeout_ms = 5000;
	cfg.ocserv_check_timeout_ms = 5000;
	cfg.probe_user = NULL;
	cfg.backend = "auto"; /* OCSERV_BACKEND, as capabilities report it */
	/* Terminate: native unless a test says otherwise; no hook, no ocserv.conf. */
	revoke_free(ag.terminate.revoked);
	ag.terminate.revoked = revoke_new();
	ag.terminate.oc = ag.oc;
	ag.terminate.priv = ag.priv; /* asks whether ocserv.conf runs the hook */
	ag.terminate.hook_running = false;
	unlink(ocserv_conf);
	unlink(fake_ocserv_argv);
	return ag.terminate.revoked ? 0 : -1;
}

/* ---- requests ---- */

static unsigned req_counter;

static void req_init(struct http_request *rq, const char *method, const char *path)
{
	memset(rq, 0, sizeof(*rq));
	snprintf(rq->id, sizeof(rq->id), "testreq-%06u", ++req_counter);
	rq->method = method;
	rq->path = path;
	rq->authorization = "Bearer " TOKEN;
	rq->body = "";
}

static void req_query(struct http_request *rq, const char *key, const char *value)
{
	rq->query[rq->n_query].key = (char *)key;
	rq->query[rq->n_query].value = (char *)value;
	rq->n_query++;
}

static void req_body(struct http_request *rq, const char *body)
{
	rq->body = body;
	rq->body_len = strlen(body);
}

#define ALLOW_LEN sizeof(((struct http_response *)0)->allow)

/* Run the request; checks the envelope every response must have and returns
 * the parsed body (caller decrefs). allow (ALLOW_LEN bytes) gets the Allow
 * value, "" when there is none. */
static json_t *handle(const struct http_request *rq, unsigned want_status, char *allow)
{
	struct http_response rs = {0};
	json_error_t jerr;
	json_t *body, *ok;

	api_handle(&ag, rq, &rs);
	if (rs.status != want_status)
		fail_msg("%s %s: status %u, want %u; body %s", rq->method, rq->path, rs.status,
			 want_status, rs.body ? rs.body : "(null)");
	assert_non_null(rs.body);
	assert_int_equal(rs.body_len, strlen(rs.body));
	if (strstr(rs.body, "XYZZY") != NULL)
		fail_msg("internal detail or secret leaked: %s", rs.body);
	body = json_loads(rs.body, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL)
		fail_msg("response is not JSON (%s): %s", jerr.text, rs.body);
	assert_true(json_is_object(body));
	ok = json_object_get(body, "ok");
	assert_true(json_is_boolean(ok));
	if (want_status == 200) {
		assert_true(json_is_true(ok));
		assert_null(json_object_get(body, "error"));
	} else {
		json_t *err = json_object_get(body, "error");
		assert_true(json_is_false(ok));
		assert_true(json_is_object(err));
		assert_true(json_is_string(json_object_get(err, "code")));
		assert_true(json_is_string(json_object_get(err, "message")));
		assert_true(strlen(json_string_value(json_object_get(err, "message"))) > 0);
		assert_string_equal(json_string_value(json_object_get(err, "requestId")), rq->id);
	}
	assert_non_null(memchr(rs.allow, '\0', sizeof(rs.allow)));
	if (allow)
		snprintf(allow, ALLOW_LEN, "%s", rs.allow);
	free(rs.body);
	return body;
}

static const char *err_code_of(const json_t *body)
{
	return json_string_value(json_object_get(json_object_get(body, "error"), "code"));
}

static void expect_error(const struct http_request *rq, unsigned status, const char *code)
{
	json_t *b = handle(rq, status, NULL);

	assert_string_equal(err_code_of(b), code);
	json_decref(b);
}

static int backend_calls(void)
{
	return fk.n_status + fk.n_list + fk.n_user + fk.n_id + fk.n_disc_id + fk.n_disc_user +
	       fk.n_version + fk.n_cookies + fk.n_cookie + fk.n_iroutes + fk.n_bans +
	       fk.n_ban_points + fk.n_unban + fk.n_reload + fk.n_term_id + fk.n_term_user +
	       fk.n_term_cookie;
}

static const char *sget(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("%s is not a string", key);
	return json_string_value(v);
}

static json_int_t iget(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", key);
	return json_integer_value(v);
}

static void assert_null_member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_null(v))
		fail_msg("%s is absent or not null", key);
}

/* ---- authentication and routing ---- */

static void test_unauthorized(void **state)
{
	static const char *bad[] = {NULL,
				    "",
				    "Bearer",
				    "Bearer ",
				    "Bearer wrong",
				    "Basic " TOKEN,
				    "Bearer tok-current-012345678",
				    "Bearer " TOKEN "0",
				    TOKEN};
	static const char *paths[][2] = {{"GET", "/ocserv/sessions"},
					 {"GET", "/ocserv/health"},
					 {"POST", "/ocserv/disconnect"},
					 {"GET", "/no/such/route"},
					 {"DELETE", "/ocserv/sessions"}};
	struct http_request rq;

	(void)state;
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			req_init(&rq, paths[p][0], paths[p][1]);
			rq.authorization = bad[i];
			req_body(&rq, "{\"vpnSessionId\": 1}");
			expect_error(&rq, 401, "UNAUTHORIZED");
		}
	}
	assert_int_equal(backend_calls(), 0);

	/* Both tokens work, the scheme in any case. */
	req_init(&rq, "GET", "/ocserv/sessions");
	rq.authorization = "bearer " TOKEN_PREV;
	json_decref(handle(&rq, 200, NULL));
	rq.authorization = "BEARER  " TOKEN " ";
	json_decref(handle(&rq, 200, NULL));
	assert_int_equal(fk.n_list, 2);
}

static void test_not_found_and_method(void **state)
{
	static const char *missing[] = {"/",
					"/ocserv",
					"/ocserv/",
					"/ocserv/sessions/",
					"/ocserv/SESSIONS",
					"/ocserv/session/1",
					"/health"};
	static const char *wrong[][3] = {
		{"POST", "/ocserv/sessions", "GET"},	  {"DELETE", "/ocserv/health", "GET"},
		{"PUT", "/ocserv/session", "GET"},	  {"POST", "/ocserv/status", "GET"},
		{"POST", "/ocserv/radius-config", "GET"}, {"GET", "/ocserv/disconnect", "POST"},
		{"GET", "/ocserv/disconnectAll", "POST"}, {"get", "/ocserv/sessions", "GET"}};
	struct http_request rq;
	char allow[ALLOW_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		req_init(&rq, "GET", missing[i]);
		json_decref(handle(&rq, 404, allow));
		assert_string_equal(allow, "");
	}
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		req_init(&rq, wrong[i][0], wrong[i][1]);
		memset(allow, 'x', sizeof(allow));
		json_t *b = handle(&rq, 405, allow);
		assert_string_equal(err_code_of(b), "METHOD_NOT_ALLOWED");
		assert_string_equal(allow, wrong[i][2]);
		json_decref(b);
	}
	assert_int_equal(backend_calls(), 0);
}

static void test_payload_too_large(void **state)
{
	struct http_request rq;

	(void)state;
	req_init(&rq, "POST", "/ocserv/disconnect");
	rq.body_too_large = true;
	expect_error(&rq, 413, "PAYLOAD_TOO_LARGE");
	req_init(&rq, "POST", "/ocserv/disconnectAll");
	req_body(&rq, "{\"username\": \"bob\"}");
	rq.body_too_large = true;
	expect_error(&rq, 413, "PAYLOAD_TOO_LARGE");
	assert_int_equal(backend_calls(), 0);
}

static void test_query_invalid(void **state)
{
	struct http_request rq;

	(void)state;
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "username", "alice");
	rq.query_invalid = true; /* the transport saw a NUL byte or too many arguments */
	expect_error(&rq, 400, "BAD_REQUEST");
	req_init(&rq, "GET", "/ocserv/sessions");
	rq.query_invalid = true;
	expect_error(&rq, 400, "BAD_REQUEST");
	assert_int_equal(backend_calls(), 0);
}

/* ---- GET /ocserv/sessions ---- */

static const char *const session_keys[] = {
	"vpnSessionId", "username",    "groupname",	 "clientIp",	   "ip",
	"device",	"status",      "vhost",		 "remoteIp",	   "localDeviceIp",
	"p2pIpv4",	"ipv6",	       "connectedAt",	 "rawConnectedAt", "sinceSeconds",
	"rxBytes",	"txBytes",     "avgRx",		 "avgTx",	   "userAgent",
	"session",	"fullSession", "tlsCiphersuite", "dtlsCipher",	   "mtu",
	"dns",		"routes",      "rawLine"};
#define N_SESSION_KEYS (sizeof(session_keys) / sizeof(session_keys[0]))

/* The v1 session members (a detail object has more). */
static void check_session_members(const json_t *s)
{
	for (size_t i = 0; i < N_SESSION_KEYS; i++)
		if (json_object_get(s, session_keys[i]) == NULL)
			fail_msg("session member %s missing", session_keys[i]);
	assert_true(json_is_integer(json_object_get(s, "vpnSessionId")));
	assert_true(json_is_array(json_object_get(s, "dns")));
	assert_true(json_is_array(json_object_get(s, "routes")));
	assert_null_member(s, "rawLine");
}

static void check_session_shape(const json_t *s)
{
	check_session_members(s);
	assert_int_equal(json_object_size(s), N_SESSION_KEYS);
}

static void check_alice_150_members(const json_t *s)
{
	check_session_members(s);
	assert_int_equal(iget(s, "vpnSessionId"), 10022);
	assert_string_equal(sget(s, "username"), "alice");
	assert_null_member(s, "groupname");
	assert_string_equal(sget(s, "clientIp"), "127.0.0.1");
	assert_string_equal(sget(s, "remoteIp"), "127.0.0.1");
	assert_string_equal(sget(s, "ip"), "192.168.99.50");
	assert_string_equal(sget(s, "device"), "vpns0");
	assert_string_equal(sget(s, "status"), "connected");
	assert_string_equal(sget(s, "vhost"), "default");
	assert_string_equal(sget(s, "localDeviceIp"), "127.0.0.1");
	assert_string_equal(sget(s, "p2pIpv4"), "192.168.99.1");
	assert_null_member(s, "ipv6");
	assert_string_equal(sget(s, "connectedAt"), "2026-11-21 20:12");
	assert_int_equal(iget(s, "rawConnectedAt"), 1795291959);
	assert_int_equal(iget(s, "sinceSeconds"), 60);
	assert_int_equal(iget(s, "rxBytes"), 0);
	assert_int_equal(iget(s, "txBytes"), 352);
	assert_string_equal(sget(s, "avgRx"), "0 bytes/s");
	assert_string_equal(sget(s, "avgTx"), "352 bytes/s");
	assert_string_equal(sget(s, "userAgent"),
			    "AnyConnect-compatible OpenConnect VPN Agent v9.21-5");
	assert_string_equal(sget(s, "session"), "xHWC9s");
	assert_string_equal(sget(s, "fullSession"), "xHWC9szOy4jKEN3tZ0cAT1+U2/k=");
	assert_int_equal(strlen(sget(s, "tlsCiphersuite")), 63);
	assert_string_equal(sget(s, "dtlsCipher"), "(DTLS1.2)-(PSK)-(AES-256-GCM)");
	assert_int_equal(iget(s, "mtu"), 1434);
	assert_int_equal(json_array_size(json_object_get(s, "dns")), 0);
	assert_int_equal(json_array_size(json_object_get(s, "routes")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(s, "routes"), 0)),
			    "defaultroute");
}

static void check_alice_150(const json_t *s)
{
	check_alice_150_members(s);
	assert_int_equal(json_object_size(s), N_SESSION_KEYS);
}

static void test_sessions(void **state)
{
	struct http_request rq;
	json_t *b, *arr, *bob;

	(void)state;
	req_init(&rq, "GET", "/ocserv/sessions");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_list, 1);
	arr = json_object_get(b, "sessions");
	assert_int_equal(json_array_size(arr), 3);
	assert_int_equal(iget(b, "count"), 3);
	assert_int_equal(iget(json_array_get(arr, 0), "vpnSessionId"), 10046);
	assert_int_equal(iget(json_array_get(arr, 1), "vpnSessionId"), 10035);
	check_alice_150(json_array_get(arr, 2));
	bob = json_array_get(arr, 0);
	check_session_shape(bob);
	assert_string_equal(sget(bob, "groupname"), "staff");
	assert_string_equal(json_string_value(json_array_get(json_object_get(bob, "dns"), 0)),
			    "192.168.50.53");
	assert_string_equal(json_string_value(json_array_get(json_object_get(bob, "routes"), 0)),
			    "192.168.50.0/255.255.255.0");
	json_decref(b);

	/* 1.1.6 has no raw_connected_at: null, not a guess. */
	fk.list_json = users_116;
	b = handle(&rq, 200, NULL);
	json_t *alice = json_array_get(json_object_get(b, "sessions"), 2);
	check_session_shape(alice);
	assert_null_member(alice, "rawConnectedAt");
	assert_int_equal(iget(alice, "sinceSeconds"), 1);
	assert_string_equal(sget(alice, "connectedAt"), "2026-11-21 20:12");
	json_decref(b);

	/* Unauthenticated entries are dropped, order kept. */
	fk.list_json = "[{\"ID\": 1, \"Username\": \"(none)\", \"State\": \"pre-auth\"},"
		       " {\"ID\": 2, \"Username\": \"carol\", \"State\": \"connected\"},"
		       " {\"ID\": 3, \"Username\": \"dave\", \"State\": \"authenticating\"},"
		       " {\"ID\": 4, \"Username\": \"erin\", \"State\": \"connected\"}]";
	b = handle(&rq, 200, NULL);
	arr = json_object_get(b, "sessions");
	assert_int_equal(iget(b, "count"), 2);
	assert_int_equal(iget(json_array_get(arr, 0), "vpnSessionId"), 2);
	assert_int_equal(iget(json_array_get(arr, 1), "vpnSessionId"), 4);
	/* Absent values are null. */
	assert_null_member(json_array_get(arr, 0), "rxBytes");
	assert_null_member(json_array_get(arr, 0), "mtu");
	assert_null_member(json_array_get(arr, 0), "ip");
	json_decref(b);

	fk.list_json = "[]";
	b = handle(&rq, 200, NULL);
	assert_int_equal(iget(b, "count"), 0);
	assert_int_equal(json_array_size(json_object_get(b, "sessions")), 0);
	json_decref(b);
}

static const struct {
	int err;
	unsigned status;
	const char *code;
} backend_errors[] = {
	{ERR_OCCTL_FAILED, 503, "OCCTL_FAILED"},
	{ERR_OCCTL_TIMEOUT, 503, "OCCTL_TIMEOUT"},
	{ERR_OCCTL_NOT_FOUND, 503, "OCCTL_NOT_FOUND"},
	{ERR_OCCTL_BAD_JSON, 502, "OCCTL_BAD_JSON"},
	{ERR_NOMEM, 500, "INTERNAL_ERROR"},
	{ERR_INTERNAL, 500, "INTERNAL_ERROR"},
};
#define N_BACKEND_ERRORS (sizeof(backend_errors) / sizeof(backend_errors[0]))

static void test_backend_errors(void **state)
{
	struct http_request rq;

	(void)state;
	for (size_t i = 0; i < N_BACKEND_ERRORS; i++) {
		setup(NULL);
		fk.list_r = fk.user_r = fk.id_r = fk.status_r = backend_errors[i].err;
		req_init(&rq, "GET", "/ocserv/sessions");
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		req_init(&rq, "GET", "/ocserv/session");
		req_query(&rq, "vpnSessionId", "5");
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		req_init(&rq, "GET", "/ocserv/session");
		req_query(&rq, "username", "bob");
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		req_init(&rq, "GET", "/ocserv/status");
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		req_init(&rq, "POST", "/ocserv/disconnect");
		req_body(&rq, "{\"username\": \"bob\"}");
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		req_init(&rq, "POST", "/ocserv/disconnectAll");
		req_body(&rq, "{\"username\": \"bob\"}");
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		assert_int_equal(fk.n_disc_id + fk.n_disc_user, 0);
	}
}

/* ---- GET /ocserv/session ---- */

static void test_session_by_id(void **state)
{
	struct http_request rq;
	json_t *b;

	(void)state;
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "vpnSessionId", "10022");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_id, 1);
	assert_int_equal(fk.id_arg, 10022);
	assert_int_equal(fk.n_user, 0);
	check_alice_150(json_object_get(b, "session"));
	json_decref(b);

	/* Not there: 200 with session null. */
	fk.id_r = ERR_NOT_FOUND;
	b = handle(&rq, 200, NULL);
	assert_null_member(b, "session");
	json_decref(b);

	/* The id wins over a username. */
	setup(NULL);
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "username", "bob");
	req_query(&rq, "vpnSessionId", "10022");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_id, 1);
	assert_int_equal(fk.n_user, 0);
	assert_int_equal(iget(json_object_get(b, "session"), "vpnSessionId"), 10022);
	json_decref(b);

	/* An empty id is "not given". */
	setup(NULL);
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "vpnSessionId", "");
	req_query(&rq, "username", "alice");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_id, 0);
	assert_int_equal(fk.n_user, 1);
	assert_string_equal(fk.user_arg, "alice");
	json_decref(b);

	/* An id whose only session is not authenticated yet is not found. */
	setup(NULL);
	fk.id_json = "[{\"ID\": 77, \"Username\": \"(none)\", \"State\": \"pre-auth\"}]";
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "vpnSessionId", "77");
	b = handle(&rq, 200, NULL);
	assert_null_member(b, "session");
	json_decref(b);
}

static void test_session_by_username(void **state)
{
	struct http_request rq;
	json_t *b, *matches, *m;

	(void)state;
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "username", "alice");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_user, 1);
	assert_string_equal(fk.user_arg, "alice");
	check_alice_150(json_object_get(b, "session"));
	json_decref(b);

	/* A known user with no session, or an unknown one. */
	fk.user_json = "[]";
	b = handle(&rq, 200, NULL);
	assert_null_member(b, "session");
	json_decref(b);

	/* Two sessions: 409 with the matches. */
	fk.user_json = bob_150;
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "username", "bob");
	b = handle(&rq, 409, NULL);
	assert_string_equal(err_code_of(b), "MULTIPLE_SESSIONS");
	matches = json_object_get(b, "matches");
	assert_int_equal(json_array_size(matches), 2);
	m = json_array_get(matches, 0);
	assert_int_equal(json_object_size(m), 6);
	assert_int_equal(iget(m, "vpnSessionId"), 10046);
	assert_string_equal(sget(m, "username"), "bob");
	assert_string_equal(sget(m, "ip"), "192.168.99.134");
	assert_string_equal(sget(m, "clientIp"), "127.0.0.1");
	assert_string_equal(sget(m, "device"), "vpns2");
	assert_string_equal(sget(m, "status"), "connected");
	assert_int_equal(iget(json_array_get(matches, 1), "vpnSessionId"), 10035);
	assert_null(json_object_get(b, "session"));
	json_decref(b);

	/* One authenticated session beside a pre-auth one is not "multiple". */
	fk.user_json = "[{\"ID\": 5, \"Username\": \"bob\", \"State\": \"pre-auth\"},"
		       " {\"ID\": 6, \"Username\": \"bob\", \"State\": \"connected\"}]";
	b = handle(&rq, 200, NULL);
	assert_int_equal(iget(json_object_get(b, "session"), "vpnSessionId"), 6);
	json_decref(b);

	/* A UTF-8 user name is passed through as is. */
	fk.user_json = "[]";
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "username", "J\xc3\xbcrgen Smith");
	json_decref(handle(&rq, 200, NULL));
	assert_string_equal(fk.user_arg, "J\xc3\xbcrgen Smith");
}

static void test_session_bad_params(void **state)
{
	static const char *bad_ids[] = {"abc",	      "0",  "-1", "+1",	  "1.5",
					"2147483648", " 1", "1 ", "0x10", "99999999999999999999"};
	static const char *bad_names[] = {
		"-rf",	    "a\nb",
		"a\tb",	    "\x7f",
		"\xff\xfe", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
	struct http_request rq;

	(void)state;
	req_init(&rq, "GET", "/ocserv/session");
	expect_error(&rq, 400, "BAD_REQUEST");
	req_query(&rq, "username", "");
	expect_error(&rq, 400, "BAD_REQUEST");
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "other", "1");
	expect_error(&rq, 400, "BAD_REQUEST");
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		req_init(&rq, "GET", "/ocserv/session");
		req_query(&rq, "vpnSessionId", bad_ids[i]);
		req_query(&rq, "username", "alice"); /* a bad id is not ignored */
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		req_init(&rq, "GET", "/ocserv/session");
		req_query(&rq, "username", bad_names[i]);
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	assert_int_equal(backend_calls(), 0);
}

/* ---- POST /ocserv/disconnect ---- */

static void test_disconnect_by_id(void **state)
{
	struct http_request rq;
	json_t *b;

	(void)state;
	req_init(&rq, "POST", "/ocserv/disconnect");
	req_body(&rq, "{\"vpnSessionId\": 10022}");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.id_arg, 10022);
	assert_int_equal(fk.n_disc_id, 1);
	assert_int_equal(fk.disc_id_arg, 10022);
	assert_int_equal(fk.n_disc_user, 0);
	assert_true(json_is_true(json_object_get(b, "disconnected")));
	assert_int_equal(iget(b, "vpnSessionId"), 10022);
	assert_string_equal(sget(b, "username"), "alice");
	json_decref(b);

	/* The id is preferred over a username; null counts as absent. */
	setup(NULL);
	req_body(&rq, "{\"username\": \"bob\", \"vpnSessionId\": 10022}");
	json_decref(handle(&rq, 200, NULL));
	assert_int_equal(fk.n_user, 0);
	assert_int_equal(fk.disc_id_arg, 10022);
	setup(NULL);
	req_body(&rq, "{\"vpnSessionId\": null, \"username\": \"alice\"}");
	json_decref(handle(&rq, 200, NULL));
	assert_int_equal(fk.n_id, 0);
	assert_int_equal(fk.n_user, 1);
	assert_int_equal(fk.disc_id_arg, 10022);
	/* A member we do not know is refused, not ignored: nothing happens. */
	setup(NULL);
	req_body(&rq, "{\"username\": \"alice\", \"force\": true}");
	json_decref(handle(&rq, 400, NULL));
	setup(NULL);
	req_init(&rq, "POST", "/ocserv/disconnectAll");
	req_body(&rq, "{\"username\": \"alice\", \"vpnSessionId\": 10022}");
	json_decref(handle(&rq, 400, NULL));
	assert_int_equal(fk.n_user + fk.n_id + fk.n_disc_id + fk.n_disc_user, 0);
}

static void test_disconnect_not_found(void **state)
{
	struct http_request rq;
	json_t *b;

	(void)state;
	fk.id_r = ERR_NOT_FOUND;
	req_init(&rq, "POST", "/ocserv/disconnect");
	req_body(&rq, "{\"vpnSessionId\": 4242}");
	b = handle(&rq, 200, NULL);
	assert_true(json_is_false(json_object_get(b, "disconnected")));
	assert_string_equal(sget(b, "reason"), "not_found");
	assert_int_equal(fk.n_disc_id + fk.n_disc_user, 0);
	json_decref(b);

	/* A user without sessions. */
	setup(NULL);
	fk.user_json = "[]";
	req_body(&rq, "{\"username\": \"nosuchuser\"}");
	b = handle(&rq, 200, NULL);
	assert_true(json_is_false(json_object_get(b, "disconnected")));
	assert_string_equal(sget(b, "reason"), "not_found");
	assert_int_equal(fk.n_disc_id + fk.n_disc_user, 0);
	json_decref(b);

	/* Gone between the lookup and the disconnect. */
	setup(NULL);
	fk.disc_id_r = ERR_NOT_FOUND;
	req_body(&rq, "{\"vpnSessionId\": 10022}");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_disc_id, 1);
	assert_true(json_is_false(json_object_get(b, "disconnected")));
	assert_string_equal(sget(b, "reason"), "not_found");
	json_decref(b);
}

static void test_disconnect_by_username(void **state)
{
	struct http_request rq;
	json_t *b;

	(void)state;
	req_init(&rq, "POST", "/ocserv/disconnect");
	req_body(&rq, "{\"username\": \"alice\"}");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_user, 1);
	assert_string_equal(fk.user_arg, "alice");
	/* Resolved to one session, disconnected by its id, never by name. */
	assert_int_equal(fk.n_disc_id, 1);
	assert_int_equal(fk.disc_id_arg, 10022);
	assert_int_equal(fk.n_disc_user, 0);
	assert_true(json_is_true(json_object_get(b, "disconnected")));
	assert_int_equal(iget(b, "vpnSessionId"), 10022);
	assert_string_equal(sget(b, "username"), "alice");
	json_decref(b);
}

static void test_disconnect_multiple(void **state)
{
	struct http_request rq;
	json_t *b;

	(void)state;
	fk.user_json = bob_150;
	req_init(&rq, "POST", "/ocserv/disconnect");
	req_body(&rq, "{\"username\": \"bob\"}");
	b = handle(&rq, 409, NULL);
	assert_string_equal(err_code_of(b), "MULTIPLE_SESSIONS");
	assert_int_equal(json_array_size(json_object_get(b, "matches")), 2);
	assert_int_equal(iget(json_array_get(json_object_get(b, "matches"), 1), "vpnSessionId"),
			 10035);
	assert_int_equal(fk.n_disc_id + fk.n_disc_user, 0);
	json_decref(b);

	/* A failing disconnect is the backend's error. */
	setup(NULL);
	fk.disc_id_r = ERR_OCCTL_TIMEOUT;
	req_body(&rq, "{\"vpnSessionId\": 10022}");
	expect_error(&rq, 503, "OCCTL_TIMEOUT");
	fk.disc_id_r = ERR_OCCTL_FAILED;
	expect_error(&rq, 503, "OCCTL_FAILED");
}

static void test_bad_bodies(void **state)
{
	static const char *bad[] = {
		"",
		"{",
		"not json",
		"null",
		"\"alice\"",
		"42",
		"[]",
		"[{\"username\": \"alice\"}]",
		"{}",
		"{\"user\": \"alice\"}",
		"{\"username\": \"a\", \"username\": \"b\"}",
		"{\"vpnSessionId\": 1, \"vpnSessionId\": 2}",
		"{\"vpnSessionId\": \"12\"}",
		"{\"vpnSessionId\": 1.5}",
		"{\"vpnSessionId\": 0}",
		"{\"vpnSessionId\": -3}",
		"{\"vpnSessionId\": true}",
		"{\"vpnSessionId\": 2147483648}",
		"{\"vpnSessionId\": \"12\", \"username\": \"alice\"}",
		"{\"username\": 5}",
		"{\"username\": null}",
		"{\"username\": [\"alice\"]}",
		"{\"username\": \"\"}",
		"{\"username\": \"-rf\"}",
		"{\"username\": \"a\\u0000b\"}",
		"{\"username\": \"a\\nb\"}",
		"{\"username\": \"alice\"} trailing",
	};
	static const char *bad_all[] = {"{}",
					"{\"vpnSessionId\": 10022}",
					"{\"username\": []}",
					"{\"username\": \"-x\"}",
					"[\"bob\"]",
					"",
					"{\"username\": \"bob\", \"username\": \"bob\"}"};
	struct http_request rq;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&rq, "POST", "/ocserv/disconnect");
		req_body(&rq, bad[i]);
		json_t *b = handle(&rq, 400, NULL);
		if (strcmp(err_code_of(b), "BAD_REQUEST") != 0)
			fail_msg("body '%s': code %s", bad[i], err_code_of(b));
		json_decref(b);
	}
	for (size_t i = 0; i < sizeof(bad_all) / sizeof(bad_all[0]); i++) {
		req_init(&rq, "POST", "/ocserv/disconnectAll");
		req_body(&rq, bad_all[i]);
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	assert_int_equal(backend_calls(), 0);
}

/* ---- POST /ocserv/disconnectAll ---- */

/* occtl parses its own command line: whatever it answers for a name, only
 * sessions of exactly that name are shown or acted on. */
static void test_other_users_sessions_are_never_acted_on(void **state)
{
	struct http_request rq;
	json_t *b;

	(void)state;
	fk.user_json = bob_150; /* as if occtl had matched "bob" for "bobby" */
	req_init(&rq, "GET", "/ocserv/session");
	req_query(&rq, "username", "bobby");
	b = handle(&rq, 200, NULL);
	assert_true(json_is_null(json_object_get(b, "session")));
	json_decref(b);

	req_init(&rq, "POST", "/ocserv/disconnect");
	req_body(&rq, "{\"username\": \"bobby\"}");
	b = handle(&rq, 200, NULL);
	assert_false(json_is_true(json_object_get(b, "disconnected")));
	json_decref(b);

	req_init(&rq, "POST", "/ocserv/disconnectAll");
	req_body(&rq, "{\"username\": \"bobby\"}");
	b = handle(&rq, 200, NULL);
	assert_int_equal(iget(b, "disconnectedCount"), 0);
	json_decref(b);
	assert_int_equal(fk.n_disc_id, 0);
	assert_int_equal(fk.n_disc_user, 0);
}

static void test_disconnect_all(void **state)
{
	struct http_request rq;
	json_t *b, *ids;

	(void)state;
	fk.user_json = "[]";
	req_init(&rq, "POST", "/ocserv/disconnectAll");
	req_body(&rq, "{\"username\": \"carol\"}");
	b = handle(&rq, 200, NULL);
	assert_string_equal(fk.user_arg, "carol");
	assert_int_equal(fk.n_disc_user, 0); /* nothing to disconnect: occtl is not asked */
	assert_string_equal(sget(b, "username"), "carol");
	assert_int_equal(iget(b, "disconnectedCount"), 0);
	ids = json_object_get(b, "disconnectedSessionIds");
	assert_true(json_is_array(ids));
	assert_int_equal(json_array_size(ids), 0);
	json_decref(b);

	setup(NULL);
	fk.user_json = bob_150;
	req_body(&rq, "{\"username\": \"bob\"}");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_disc_user, 1);
	assert_string_equal(fk.disc_user_arg, "bob");
	assert_int_equal(fk.n_disc_id, 0);
	assert_string_equal(sget(b, "username"), "bob");
	assert_int_equal(iget(b, "disconnectedCount"), 2);
	ids = json_object_get(b, "disconnectedSessionIds");
	assert_int_equal(json_array_size(ids), 2);
	assert_int_equal(json_integer_value(json_array_get(ids, 0)), 10046);
	assert_int_equal(json_integer_value(json_array_get(ids, 1)), 10035);
	json_decref(b);

	/* Only pre-auth sessions: nothing is disconnected. */
	setup(NULL);
	fk.user_json = "[{\"ID\": 5, \"Username\": \"bob\", \"State\": \"pre-auth\"}]";
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_disc_user, 0);
	assert_int_equal(iget(b, "disconnectedCount"), 0);
	json_decref(b);

	/* Gone meanwhile: occtl's "could not disconnect" is count 0. */
	setup(NULL);
	fk.user_json = bob_150;
	fk.disc_user_r = ERR_NOT_FOUND;
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_disc_user, 1);
	assert_int_equal(iget(b, "disconnectedCount"), 0);
	assert_int_equal(json_array_size(json_object_get(b, "disconnectedSessionIds")), 0);
	json_decref(b);

	setup(NULL);
	fk.user_json = bob_150;
	fk.disc_user_r = ERR_OCCTL_FAILED;
	expect_error(&rq, 503, "OCCTL_FAILED");
}

/* ---- GET /ocserv/health and /ocserv/status ---- */

static void test_health_ok(void **state)
{
	struct http_request rq;
	json_t *b, *agent, *oc, *caps;

	(void)state;
	req_init(&rq, "GET", "/ocserv/health");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_status, 1);
	assert_true(fk.status_timeout > 0 && fk.status_timeout <= 1500);
	agent = json_object_get(b, "agent");
	assert_string_equal(sget(agent, "name"), "ocserv-agent");
	assert_true(strlen(sget(agent, "version")) > 0);
	assert_string_equal(sget(agent, "apiVersion"), "v1");
	assert_string_equal(sget(agent, "instanceId"), "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
	assert_string_equal(sget(agent, "hostname"), "vpn-node-1");
	assert_string_equal(sget(agent, "startedAt"), "2026-01-01T00:00:00.000Z");
	assert_true(json_is_true(json_object_get(agent, "persistedInstanceId")));
	oc = json_object_get(b, "ocserv");
	assert_true(json_is_true(json_object_get(oc, "ok")));
	assert_null(json_object_get(oc, "errorCode"));
	caps = json_object_get(b, "capabilities");
	assert_true(json_is_true(json_object_get(caps, "listSessions")));
	assert_true(json_is_true(json_object_get(caps, "disconnectSession")));
	assert_true(json_is_true(json_object_get(caps, "disconnectAllForUser")));
	assert_true(json_is_true(json_object_get(caps, "refreshSession")));
	json_decref(b);

	/* A shorter configured occtl timeout is kept for the readiness check. */
	cfg.occtl_timeout_ms = 700;
	ag.instance_persisted = false;
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.status_timeout, 700);
	assert_true(
		json_is_false(json_object_get(json_object_get(b, "agent"), "persistedInstanceId")));
	ag.instance_persisted = true;
	json_decref(b);
}

static void test_health_degraded(void **state)
{
	struct http_request rq;
	json_t *b, *oc;

	(void)state;
	for (size_t i = 0; i < N_BACKEND_ERRORS; i++) {
		setup(NULL);
		fk.status_r = backend_errors[i].err;
		req_init(&rq, "GET", "/ocserv/health");
		b = handle(&rq, 200, NULL); /* never an error because of ocserv */
		oc = json_object_get(b, "ocserv");
		assert_true(json_is_false(json_object_get(oc, "ok")));
		assert_string_equal(sget(oc, "errorCode"), backend_errors[i].code);
		assert_true(strlen(sget(oc, "errorMessage")) > 0);
		assert_true(strlen(sget(oc, "errorMessage")) <= 160);
		assert_string_equal(sget(json_object_get(b, "agent"), "name"), "ocserv-agent");
		json_decref(b);
	}
	/* ocserv answers but is not online. */
	setup(NULL);
	fk.status_json = "{\"status\": \"offline\"}";
	b = handle(&rq, 200, NULL);
	oc = json_object_get(b, "ocserv");
	assert_true(json_is_false(json_object_get(oc, "ok")));
	assert_string_equal(sget(oc, "errorCode"), "OCCTL_FAILED");
	assert_true(strlen(sget(oc, "errorMessage")) <= 160);
	json_decref(b);
	/* A status without a status member. */
	fk.status_json = "{\"status\": null}";
	b = handle(&rq, 200, NULL);
	assert_true(json_is_false(json_object_get(json_object_get(b, "ocserv"), "ok")));
	json_decref(b);
	/* A very long status text still gives a short message. */
	fk.status_json =
		"{\"status\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
	b = handle(&rq, 200, NULL);
	assert_true(strlen(sget(json_object_get(b, "ocserv"), "errorMessage")) <= 160);
	json_decref(b);
}

static void test_status(void **state)
{
	struct http_request rq;
	json_t *b, *st;

	(void)state;
	req_init(&rq, "GET", "/ocserv/status");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.status_timeout, 0); /* the backend's default */
	st = json_object_get(b, "status");
	assert_string_equal(sget(st, "status"), "online");
	assert_int_equal(iget(st, "serverPid"), 10009);
	assert_int_equal(iget(st, "activeSessions"), 3);
	json_decref(b);
}

/* ---- GET /ocserv/radius-config ---- */

static void test_radius(void **state)
{
	struct http_request rq;
	json_t *b, *r, *servers;

	(void)state;
	req_init(&rq, "GET", "/ocserv/radius-config");
	b = handle(&rq, 200, NULL); /* handle() also checks no secret is in the body */
	r = json_object_get(b, "radius");
	assert_string_equal(sget(r, "nasIdentifier"), "nas-01");
	assert_string_equal(sget(r, "authServer"), "10.0.0.7");
	assert_int_equal(iget(r, "authServerPort"), 1812);
	assert_string_equal(sget(r, "acctServer"), "10.0.0.8");
	assert_int_equal(iget(r, "acctServerPort"), 1813);
	assert_string_equal(sget(r, "radiusclientConfPath"), conf_path);
	assert_string_equal(sget(r, "serversFile"), servers_path);
	servers = json_object_get(r, "servers");
	assert_int_equal(json_array_size(servers), 2);
	assert_string_equal(sget(json_array_get(servers, 0), "host"), "10.0.0.7");
	assert_true(json_is_true(json_object_get(json_array_get(servers, 0), "hasSecret")));
	assert_string_equal(sget(json_array_get(servers, 1), "host"), "10.0.0.9");
	assert_true(json_is_false(json_object_get(json_array_get(servers, 1), "hasSecret")));
	json_decref(b);

	/* Missing files: still 200 with what could be read. */
	char missing[160];
	unit_join(missing, sizeof(missing), tmpdir, "missing.conf");
	cfg.radius_conf_path = missing;
	cfg.radius_servers_path = NULL;
	b = handle(&rq, 200, NULL);
	r = json_object_get(b, "radius");
	assert_null_member(r, "nasIdentifier");
	assert_null_member(r, "authServer");
	assert_null_member(r, "authServerPort");
	assert_string_equal(sget(r, "serversFile"), "/etc/radcli/servers");
	assert_true(json_is_array(json_object_get(r, "servers")));
	json_decref(b);
	cfg.radius_conf_path = conf_path;
	cfg.radius_servers_path = servers_path;
	assert_int_equal(backend_calls(), 0);
}

/* ---- routing with path parameters ---- */

/* A malformed body is refused without quoting it: jansson's message does
 * ("near '...'"), and the body may hold a password (accounts). handle()
 * fails on XYZZY in a response; the log is checked by the integration
 * tests. */
static void test_malformed_body_not_quoted(void **state)
{
	static const char *bodies[] = {
		"{\"password\": \"XYZZY-secret",
		"{\"password\": \"XYZZY\xe9\"}",
		"{\"password\" \"XYZZY\"}",
	};
	struct http_request rq;

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		req_init(&rq, "PUT", "/ocserv/accounts/alice");
		req_body(&rq, bodies[i]);
		json_t *b = handle(&rq, 400, NULL);
		assert_string_equal(err_code_of(b), "BAD_REQUEST");
		json_decref(b);
	}
}

static void test_route_params(void **state)
{
	static const char *missing[] = {
		"/ocserv/users/",	 "/ocserv/users/a/b",	  "/ocserv/users//alice",
		"/ocserv/users/alice/",	 "/ocserv/%75sers/alice", "/ocserv/bans/",
		"/ocserv/cookies/",	 "/ocserv/sessions/1/x",  "/ocserv/users",
		"/ocserv/bans/1.2.3.4/", "/ocserv/cookies/a/b/c", "/ocserv/reload/now",
	};
	static const char *wrong[][3] = {
		{"DELETE", "/ocserv/users/alice", "GET"},
		{"GET", "/ocserv/bans/1.2.3.4", "DELETE"},
		{"POST", "/ocserv/bans", "GET"},
		{"GET", "/ocserv/terminate", "POST"},
		{"GET", "/ocserv/reload", "POST"},
		{"POST", "/ocserv/capabilities", "GET"},
		{"DELETE", "/ocserv/sessions/10022", "GET"},
		{"PUT", "/ocserv/cookies", "GET"},
		{"DELETE", "/ocserv/cookies/xHWC9s", "GET"},
		{"POST", "/ocserv/iroutes", "GET"},
		{"DELETE", "/ocserv/ban-points", "GET"},
		/* The method is checked before the parameter is judged. */
		{"DELETE", "/ocserv/users/%00", "GET"},
		/* Several methods on one path; a literal path that a {} route
		 * also matches lists each method once. */
		{"POST", "/ocserv/accounts/alice", "GET, PUT, PATCH, DELETE"},
		{"POST", "/ocserv/accounts/export", "GET, PUT, PATCH, DELETE"},
		{"GET", "/ocserv/accounts/alice/lock", "POST"},
	};
	struct http_request rq;
	char allow[ALLOW_LEN], path[600];
	json_t *b;

	(void)state;
	/* Parameters are percent-decoded, literal segments are not. */
	req_init(&rq, "GET", "/ocserv/users/al%69ce");
	b = handle(&rq, 200, allow);
	assert_string_equal(allow, "");
	assert_int_equal(fk.n_user, 1);
	assert_string_equal(fk.user_arg, "alice");
	assert_string_equal(sget(b, "username"), "alice");
	json_decref(b);
	req_init(&rq, "GET", "/ocserv/cookies/abc%2Fdef+%2B");
	json_decref(handle(&rq, 200, NULL));
	assert_int_equal(fk.n_cookie, 1);
	assert_string_equal(fk.cookie_arg, "abc/def++");

	setup(NULL);
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		req_init(&rq, "GET", missing[i]);
		json_decref(handle(&rq, 404, allow));
		assert_string_equal(allow, "");
	}
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		req_init(&rq, wrong[i][0], wrong[i][1]);
		b = handle(&rq, 405, allow);
		assert_string_equal(err_code_of(b), "METHOD_NOT_ALLOWED");
		if (strcmp(allow, wrong[i][2]) != 0)
			fail_msg("%s %s: Allow '%s', want '%s'", wrong[i][0], wrong[i][1], allow,
				 wrong[i][2]);
		json_decref(b);
	}
	/* A parameter that decodes to a NUL byte. */
	static const char *nul[] = {"/ocserv/users/%00x", "/ocserv/users/alice%00",
				    "/ocserv/cookies/%00", "/ocserv/sessions/1%000"};
	for (size_t i = 0; i < sizeof(nul) / sizeof(nul[0]); i++) {
		req_init(&rq, "GET", nul[i]);
		b = handle(&rq, 400, allow);
		assert_string_equal(err_code_of(b), "BAD_REQUEST");
		assert_string_equal(allow, "");
		json_decref(b);
	}
	req_init(&rq, "DELETE", "/ocserv/bans/1.2.3.4%00");
	expect_error(&rq, 400, "BAD_REQUEST");

	/* A parameter is at most API_MAX_PARAM - 1 bytes as sent (encoded):
	 * the handler judges one that long, the router refuses a longer one. */
	char msg[100];
	snprintf(msg, sizeof(msg), "a path parameter holds a NUL byte or is longer than %d bytes",
		 API_MAX_PARAM - 1);
	memcpy(path, "/ocserv/users/", 14);
	memset(path + 14, 'a', API_MAX_PARAM - 1);
	path[14 + API_MAX_PARAM - 1] = '\0';
	req_init(&rq, "GET", path);
	b = handle(&rq, 400, NULL);
	assert_string_not_equal(sget(json_object_get(b, "error"), "message"), msg);
	json_decref(b);
	memset(path + 14, 'a', API_MAX_PARAM);
	path[14 + API_MAX_PARAM] = '\0';
	req_init(&rq, "GET", path);
	b = handle(&rq, 400, NULL);
	assert_string_equal(sget(json_object_get(b, "error"), "message"), msg);
	json_decref(b);
	for (size_t i = 0; i < 86; i++)
		memcpy(path + 14 + 3 * i, "%61", 3); /* 258 bytes encoded, 86 decoded */
	path[14 + 3 * 86] = '\0';
	req_init(&rq, "GET", path);
	b = handle(&rq, 400, NULL);
	assert_string_equal(sget(json_object_get(b, "error"), "message"), msg);
	json_decref(b);
	req_init(&rq, "DELETE", path);
	b = handle(&rq, 405, allow);
	assert_string_equal(allow, "GET");
	json_decref(b);
	/* The NUL message is the same one. */
	req_init(&rq, "GET", "/ocserv/users/%00");
	b = handle(&rq, 400, NULL);
	assert_string_equal(sget(json_object_get(b, "error"), "message"), msg);
	json_decref(b);
	assert_int_equal(backend_calls(), 0);
}

/* ---- GET /ocserv/users/{username} ---- */

static void test_user_sessions(void **state)
{
	static const char *bad[] = {
		"-rf",	    "%2Drf",
		"a%0Ab",    "a%09b",
		"%20alice", "alice%20",
		"a%20%20b", "%FF%FE",
		"%7F",	    "a%0D",
		"",	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
	struct http_request rq;
	char path[200];
	json_t *b, *arr;

	(void)state;
	req_init(&rq, "GET", "/ocserv/users/alice");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_user, 1);
	assert_string_equal(fk.user_arg, "alice");
	assert_int_equal(json_object_size(b), 4);
	assert_string_equal(sget(b, "username"), "alice");
	assert_int_equal(iget(b, "count"), 1);
	arr = json_object_get(b, "sessions");
	assert_int_equal(json_array_size(arr), 1);
	check_alice_150(json_array_get(arr, 0));
	json_decref(b);

	fk.user_json = bob_150;
	req_init(&rq, "GET", "/ocserv/users/bob");
	b = handle(&rq, 200, NULL);
	arr = json_object_get(b, "sessions");
	assert_int_equal(iget(b, "count"), 2);
	assert_int_equal(iget(json_array_get(arr, 0), "vpnSessionId"), 10046);
	assert_int_equal(iget(json_array_get(arr, 1), "vpnSessionId"), 10035);
	check_session_shape(json_array_get(arr, 1));
	json_decref(b);

	/* occtl matched other names for "bobby": none of them is bobby's. */
	req_init(&rq, "GET", "/ocserv/users/bobby");
	b = handle(&rq, 200, NULL);
	assert_string_equal(fk.user_arg, "bobby");
	assert_int_equal(iget(b, "count"), 0);
	assert_int_equal(json_array_size(json_object_get(b, "sessions")), 0);
	json_decref(b);

	/* No session: an empty list, not an error. Pre-auth ones do not count. */
	fk.user_json = "[{\"ID\": 5, \"Username\": \"carol\", \"State\": \"pre-auth\"}]";
	req_init(&rq, "GET", "/ocserv/users/carol");
	b = handle(&rq, 200, NULL);
	assert_int_equal(iget(b, "count"), 0);
	json_decref(b);

	/* UTF-8 and single inner spaces pass through decoded. */
	fk.user_json = "[]";
	req_init(&rq, "GET", "/ocserv/users/J%C3%BCrgen%20Smith");
	b = handle(&rq, 200, NULL);
	assert_string_equal(fk.user_arg, "J\xc3\xbcrgen Smith");
	assert_string_equal(sget(b, "username"), "J\xc3\xbcrgen Smith");
	json_decref(b);

	setup(NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/ocserv/users/%s", bad[i]);
		req_init(&rq, "GET", path);
		json_t *e = handle(&rq, bad[i][0] ? 400 : 404, NULL);
		json_decref(e);
	}
	assert_int_equal(backend_calls(), 0);
}

/* ---- GET /ocserv/sessions/{vpnSessionId} ---- */

static const char *const detail_keys[] = {
	"noRoutes",	     "iroutes",	  "nbns", "splitDnsDomains", "restrictedToRoutes",
	"restrictedToPorts", "keepalive", "dpd",  "hostname",	     "rawSessionStartedAt"};
#define N_DETAIL_KEYS (sizeof(detail_keys) / sizeof(detail_keys[0]))

static void check_strv(const json_t *o, const char *key, const char *const *want, size_t n)
{
	const json_t *a = json_object_get(o, key);

	if (!json_is_array(a))
		fail_msg("%s is not an array", key);
	assert_int_equal(json_array_size(a), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)), want[i]);
}

static void test_session_detail(void **state)
{
	static const char *iroute[] = {"192.168.200.0/255.255.255.0"};
	struct http_request rq;
	json_t *b, *s;

	(void)state;
	req_init(&rq, "GET", "/ocserv/sessions/10022");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_id, 1);
	assert_int_equal(fk.id_arg, 10022);
	assert_int_equal(json_object_size(b), 2);
	s = json_object_get(b, "session");
	check_alice_150_members(s);
	assert_int_equal(json_object_size(s), N_SESSION_KEYS + N_DETAIL_KEYS);
	for (size_t i = 0; i < N_DETAIL_KEYS; i++)
		assert_non_null(json_object_get(s, detail_keys[i]));
	check_strv(s, "noRoutes", NULL, 0);
	check_strv(s, "iroutes", iroute, 1);
	check_strv(s, "nbns", NULL, 0);
	check_strv(s, "splitDnsDomains", NULL, 0);
	assert_true(json_is_false(json_object_get(s, "restrictedToRoutes")));
	check_strv(s, "restrictedToPorts", NULL, 0);
	assert_int_equal(iget(s, "keepalive"), 32400);
	assert_int_equal(iget(s, "dpd"), 90);
	assert_string_equal(sget(s, "hostname"), "vm");
	assert_int_equal(iget(s, "rawSessionStartedAt"), 1795291959);
	json_decref(b);

	/* 1.1.6 has no session start time. */
	fk.id_json = alice_116;
	req_init(&rq, "GET", "/ocserv/sessions/9461");
	b = handle(&rq, 200, NULL);
	s = json_object_get(b, "session");
	assert_int_equal(iget(s, "vpnSessionId"), 9461);
	assert_null_member(s, "rawSessionStartedAt");
	assert_null_member(s, "rawConnectedAt");
	assert_string_equal(sget(s, "hostname"), "vm");
	check_strv(s, "iroutes", iroute, 1);
	json_decref(b);

	/* Restrictions and the other lists, as occtl prints them; absent
	 * values are null. */
	static const char *ports[] = {"tcp(443)", "udp(53)"};
	static const char *noroutes[] = {"10.0.0.0/255.0.0.0"};
	static const char *nbns[] = {"10.0.0.5"};
	static const char *domains[] = {"corp.example", "lab.example"};
	fk.id_json = "[{\"ID\": 77, \"Username\": \"carol\", \"State\": \"connected\","
		     " \"No-routes\":\t[\"10.0.0.0/255.0.0.0\"], \"NBNS\":\t[\"10.0.0.5\"],"
		     " \"Split-DNS-Domains\":\t[\"corp.example\", \"lab.example\"],"
		     " \"Restricted to routes\": \"True\","
		     " \"Restricted to ports\":\t[\"tcp(443)\", \"udp(53)\"]}]";
	req_init(&rq, "GET", "/ocserv/sessions/77");
	b = handle(&rq, 200, NULL);
	s = json_object_get(b, "session");
	check_strv(s, "noRoutes", noroutes, 1);
	check_strv(s, "nbns", nbns, 1);
	check_strv(s, "splitDnsDomains", domains, 2);
	assert_true(json_is_true(json_object_get(s, "restrictedToRoutes")));
	check_strv(s, "restrictedToPorts", ports, 2);
	check_strv(s, "iroutes", NULL, 0);
	assert_null_member(s, "keepalive");
	assert_null_member(s, "dpd");
	assert_null_member(s, "hostname");
	assert_null_member(s, "rawSessionStartedAt");
	json_decref(b);
	fk.id_json = "[{\"ID\": 78, \"Username\": \"carol\", \"State\": \"connected\"}]";
	req_init(&rq, "GET", "/ocserv/sessions/78");
	b = handle(&rq, 200, NULL);
	assert_null_member(json_object_get(b, "session"), "restrictedToRoutes");
	json_decref(b);

	/* Decoded before it is judged. */
	setup(NULL);
	req_init(&rq, "GET", "/ocserv/sessions/%31%30%30%32%32");
	json_decref(handle(&rq, 200, NULL));
	assert_int_equal(fk.id_arg, 10022);

	/* Not there, or not authenticated yet: 404. */
	setup(NULL);
	fk.id_r = ERR_NOT_FOUND;
	req_init(&rq, "GET", "/ocserv/sessions/4242");
	expect_error(&rq, 404, "NOT_FOUND");
	assert_int_equal(fk.id_arg, 4242);
	fk.id_r = 0;
	fk.id_json = "[{\"ID\": 77, \"Username\": \"(none)\", \"State\": \"pre-auth\"}]";
	req_init(&rq, "GET", "/ocserv/sessions/77");
	expect_error(&rq, 404, "NOT_FOUND");
	assert_int_equal(fk.n_disc_id + fk.n_disc_user, 0);
}

static void test_session_detail_bad_ids(void **state)
{
	static const char *bad[] = {"0",
				    "abc",
				    "-1",
				    "%2B1",
				    "1.5",
				    "2147483648",
				    "%201",
				    "1%20",
				    "0x10",
				    "1e3",
				    "99999999999999999999"};
	struct http_request rq;
	char path[100];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/ocserv/sessions/%s", bad[i]);
		req_init(&rq, "GET", path);
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	assert_int_equal(backend_calls(), 0);
	/* The largest id is fine. */
	req_init(&rq, "GET", "/ocserv/sessions/2147483647");
	fk.id_r = ERR_NOT_FOUND;
	expect_error(&rq, 404, "NOT_FOUND");
	assert_int_equal(fk.id_arg, 2147483647);
}

/* ---- POST /ocserv/terminate ---- */

#define RES1 "aliceRes1aaaaaaaaaaaaaaaaaa="

/* alice's live session (xHWC9s, open) and a closed one she could resume;
 * bob's cookie is not hers. */
static const char term_cookies[] =
	"[{\"Session\": \"xHWC9s\", \"Full session\": \"xHWC9szOy4jKEN3tZ0cAT1+U2/k=\","
	"  \"State\": \"authenticated\", \"Username\": \"alice\", \"session_is_open\": 1,"
	"  \"in_use\": 1},"
	" {\"Session\": \"aliceR\", \"Full session\": \"" RES1
	"\", \"Expires\": \"2099-01-01 00:00\","
	"  \"State\": \"authenticated\", \"Username\": \"alice\", \"session_is_open\": 0,"
	"  \"in_use\": 0},"
	" {\"Session\": \"bobRes\", \"Full session\": \"bobResdddddddddddddddddddddd=\","
	"  \"Expires\": \"2099-01-01 00:00\", \"State\": \"authenticated\", \"Username\": \"bob\","
	"  \"session_is_open\": 0, \"in_use\": 0}]";

static void use_hook(const char *connect_script)
{
	char text[300];

	snprintf(text, sizeof(text), "connect-script = %s\n", connect_script);
	assert_int_equal(unit_write_str(ocserv_conf, text), 0);
	ag.terminate.hook_running = true;
}

static void check_alice_match(const json_t *m)
{
	assert_int_equal(json_object_size(m), 6);
	assert_int_equal(iget(m, "vpnSessionId"), 10022);
	assert_string_equal(sget(m, "username"), "alice");
	assert_string_equal(sget(m, "ip"), "192.168.99.50");
	assert_string_equal(sget(m, "clientIp"), "127.0.0.1");
	assert_string_equal(sget(m, "device"), "vpns0");
	assert_string_equal(sget(m, "status"), "connected");
}

static void test_terminate_native(void **state)
{
	struct http_request rq;
	json_t *b, *t;

	(void)state;
	req_init(&rq, "POST", "/ocserv/terminate");
	req_body(&rq, "{\"vpnSessionId\": 10022}");
	b = handle(&rq, 200, NULL);
	assert_int_equal(json_object_size(b), 5);
	t = json_object_get(b, "terminated");
	assert_int_equal(json_array_size(t), 1);
	check_alice_match(json_array_get(t, 0));
	assert_int_equal(iget(b, "count"), 1);
	assert_int_equal(iget(b, "cookiesRevoked"), 0);
	assert_string_equal(sget(b, "method"), "native");
	assert_int_equal(fk.n_id, 1);
	assert_int_equal(fk.id_arg, 10022);
	assert_int_equal(fk.n_term_id, 1);
	assert_int_equal(fk.term_id_arg, 10022);
	assert_int_equal(fk.n_term_user + fk.n_term_cookie + fk.n_cookies, 0);
	assert_int_equal(fk.n_disc_id + fk.n_disc_user, 0);
	json_decref(b);

	/* By name: the sessions, then the cookies she could come back with. */
	setup(NULL);
	fk.cookies_json = term_cookies;
	req_body(&rq, "{\"username\": \"alice\"}");
	b = handle(&rq, 200, NULL);
	assert_string_equal(fk.user_arg, "alice");
	assert_int_equal(fk.n_term_user, 1);
	assert_string_equal(fk.term_user_arg, "alice");
	assert_int_equal(fk.n_cookies, 1);
	assert_false(fk.cookies_valid_arg);
	/* Her closed session's cookie; not her live session's (it ends with
	 * the session), never bob's. */
	assert_int_equal(fk.n_term_cookie, 1);
	assert_string_equal(fk.term_cookie_arg[0], RES1);
	assert_int_equal(iget(b, "count"), 1);
	check_alice_match(json_array_get(json_object_get(b, "terminated"), 0));
	assert_int_equal(iget(b, "cookiesRevoked"), 1);
	assert_string_equal(sget(b, "method"), "native");
	assert_int_equal(fk.n_term_id + fk.n_disc_id + fk.n_disc_user, 0);
	json_decref(b);

	/* ocserv 1.4.2 is the first with terminate. */
	setup(NULL);
	fk.version = "1.4.2";
	req_body(&rq, "{\"vpnSessionId\": 10022}");
	json_decref(handle(&rq, 200, NULL));
	assert_int_equal(fk.n_term_id, 1);
}

static void test_terminate_hook(void **state)
{
	struct http_request rq;
	json_t *b;

	(void)state;
	fk.version = "OpenConnect server control (occtl) version 1.1.6";
	use_hook(hook_script);
	req_init(&rq, "POST", "/ocserv/terminate");
	req_body(&rq, "{\"vpnSessionId\": 10022}");
	b = handle(&rq, 200, NULL);
	assert_string_equal(sget(b, "method"), "hook");
	assert_int_equal(iget(b, "count"), 1);
	assert_int_equal(iget(b, "cookiesRevoked"), 0);
	check_alice_match(json_array_get(json_object_get(b, "terminated"), 0));
	assert_int_equal(fk.n_disc_id, 1);
	assert_int_equal(fk.disc_id_arg, 10022);
	assert_int_equal(fk.n_term_id + fk.n_term_user + fk.n_term_cookie, 0);
	assert_true(revoke_contains(ag.terminate.revoked,
				    "xHWC9szOy4jKEN3tZ0cAT1+U2/k=", (int64_t)time(NULL)));
	json_decref(b);

	/* A script that runs `ocserv-agent hook` counts as the hook too. */
	setup(NULL);
	fk.version = "1.3.0";
	char script[160];
	unit_join(script, sizeof(script), tmpdir, "connect.sh");
	assert_int_equal(unit_write_str(script, "#!/bin/sh\nexec ocserv-agent hook\n"), 0);
	use_hook(script);
	fk.cookies_json = term_cookies;
	req_body(&rq, "{\"username\": \"alice\"}");
	b = handle(&rq, 200, NULL);
	assert_string_equal(sget(b, "method"), "hook");
	assert_int_equal(iget(b, "count"), 1);
	/* Cookies of closed sessions: RES1; her live session's own cookie is
	 * revoked with the session, not one more. */
	assert_int_equal(iget(b, "cookiesRevoked"), 1);
	/* The revoked session by id, never `disconnect user`. */
	assert_int_equal(fk.n_disc_user, 0);
	assert_int_equal(fk.n_disc_id, 1);
	assert_int_equal(fk.disc_id_arg, 10022);
	assert_true(revoke_contains(ag.terminate.revoked, RES1, (int64_t)time(NULL)));
	assert_false(revoke_contains(ag.terminate.revoked,
				     "bobResdddddddddddddddddddddd=", (int64_t)time(NULL)));
	json_decref(b);
}

static void test_terminate_not_supported(void **state)
{
	static const char *bodies[] = {"{\"vpnSessionId\": 10022}", "{\"username\": \"alice\"}"};
	struct http_request rq;
	json_t *b;

	(void)state;
	for (int variant = 0; variant < 5; variant++) {
		for (size_t i = 0; i < 2; i++) {
			setup(NULL);
			fk.version = "1.4.1";
			if (variant == 1) /* the hook is configured but not listening */
				use_hook(hook_script), ag.terminate.hook_running = false;
			if (variant == 2) /* listening, but the connect-script is another */
				use_hook("/usr/local/bin/radius-connect");
			if (variant == 3) /* listening, no connect-script */
				ag.terminate.hook_running = true;
			if (variant == 4) /* the version cannot be read */
				fk.version_r = ERR_OCCTL_FAILED;
			req_init(&rq, "POST", "/ocserv/terminate");
			req_body(&rq, bodies[i]);
			b = handle(&rq, 501, NULL);
			assert_string_equal(err_code_of(b), "NOT_SUPPORTED");
			if (variant != 4)
				assert_non_null(strstr(sget(json_object_get(b, "error"), "message"),
						       "1.4.1"));
			json_decref(b);
			/* Nothing was looked up or touched. */
			assert_int_equal(backend_calls(), fk.n_version);
			assert_int_equal(revoke_count(ag.terminate.revoked, (int64_t)time(NULL)),
					 0);
		}
	}
}

static void test_terminate_errors(void **state)
{
	static const char *bad[] = {
		"",
		"{}",
		"[]",
		"{\"username\": \"-x\"}",
		"{\"username\": \"\"}",
		"{\"vpnSessionId\": 0}",
		"{\"vpnSessionId\": \"10022\"}",
		"{\"username\": \"alice\", \"force\": true}",
		"{\"username\": \"alice\", \"username\": \"bob\"}",
		"{\"username\": \"a\\u0000b\"}",
	};
	struct http_request rq;
	json_t *b;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&rq, "POST", "/ocserv/terminate");
		req_body(&rq, bad[i]);
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	req_init(&rq, "POST", "/ocserv/terminate");
	rq.body_too_large = true;
	expect_error(&rq, 413, "PAYLOAD_TOO_LARGE");
	assert_int_equal(backend_calls(), 0);

	/* Nothing to terminate. */
	fk.user_json = "[]";
	fk.cookies_json = "[]";
	req_init(&rq, "POST", "/ocserv/terminate");
	req_body(&rq, "{\"username\": \"carol\"}");
	b = handle(&rq, 404, NULL);
	assert_string_equal(err_code_of(b), "NOT_FOUND");
	assert_string_equal(sget(json_object_get(b, "error"), "message"),
			    "no session or resumable cookie to terminate");
	json_decref(b);
	assert_int_equal(fk.n_term_user + fk.n_term_cookie, 0);
	fk.id_r = ERR_NOT_FOUND;
	req_body(&rq, "{\"vpnSessionId\": 4242}");
	expect_error(&rq, 404, "NOT_FOUND");
	assert_int_equal(fk.n_term_id, 0);

	/* Backend failures, at each step. */
	for (size_t i = 0; i < N_BACKEND_ERRORS; i++) {
		setup(NULL);
		fk.id_r = backend_errors[i].err;
		req_body(&rq, "{\"vpnSessionId\": 10022}");
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		assert_int_equal(fk.n_term_id, 0);
		setup(NULL);
		fk.term_id_r = backend_errors[i].err;
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		setup(NULL);
		fk.cookies_r = backend_errors[i].err;
		req_body(&rq, "{\"username\": \"alice\"}");
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		assert_int_equal(fk.n_term_user, 0);
		setup(NULL);
		fk.term_user_r = backend_errors[i].err;
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
	}
}

/* A terminate op that says "not supported" although the version said
 * otherwise: 501, and its internal detail stays in the log. */
static void test_terminate_not_supported_by_backend(void **state)
{
	struct http_request rq;

	(void)state;
	fk.term_id_r = ERR_NOT_SUPPORTED;
	req_init(&rq, "POST", "/ocserv/terminate");
	req_body(&rq, "{\"vpnSessionId\": 10022}");
	expect_error(&rq, 501, "NOT_SUPPORTED");
	assert_int_equal(fk.n_term_id, 1);
	setup(NULL);
	fk.term_user_r = ERR_NOT_SUPPORTED;
	req_body(&rq, "{\"username\": \"alice\"}");
	expect_error(&rq, 501, "NOT_SUPPORTED");
	assert_int_equal(fk.n_term_user, 1);
}

/* ---- GET /ocserv/cookies, GET /ocserv/cookies/{sid} ---- */

static const char *const cookie_keys[] = {
	"sessionId",	 "fullSessionId", "created",   "createdEpoch", "expires",   "expiresEpoch",
	"state",	 "username",	  "groupname", "vhost",	       "userAgent", "remoteIp",
	"sessionIsOpen", "tlsAuthOk",	  "inUse",     "resumable"};
#define N_COOKIE_KEYS (sizeof(cookie_keys) / sizeof(cookie_keys[0]))

static void check_cookie_shape(const json_t *c)
{
	assert_int_equal(json_object_size(c), N_COOKIE_KEYS);
	for (size_t i = 0; i < N_COOKIE_KEYS; i++)
		if (json_object_get(c, cookie_keys[i]) == NULL)
			fail_msg("cookie member %s missing", cookie_keys[i]);
}

/* alice's cookie of her live session (1.5.0), open, no expiry. */
static void check_alice_cookie(const json_t *c)
{
	check_cookie_shape(c);
	assert_string_equal(sget(c, "sessionId"), "xHWC9s");
	assert_string_equal(sget(c, "fullSessionId"), "xHWC9szOy4jKEN3tZ0cAT1+U2/k=");
	assert_string_equal(sget(c, "created"), "2026-11-21T20:12:00.000Z");
	assert_int_equal(iget(c, "createdEpoch"), 1795291920);
	assert_null_member(c, "expires");
	assert_null_member(c, "expiresEpoch");
	assert_string_equal(sget(c, "state"), "authenticated");
	assert_string_equal(sget(c, "username"), "alice");
	assert_null_member(c, "groupname");
	assert_string_equal(sget(c, "vhost"), "default");
	assert_string_equal(sget(c, "userAgent"),
			    "AnyConnect-compatible OpenConnect VPN Agent v9.21-5");
	assert_string_equal(sget(c, "remoteIp"), "127.0.0.1");
	assert_true(json_is_true(json_object_get(c, "sessionIsOpen")));
	assert_true(json_is_false(json_object_get(c, "tlsAuthOk")));
	assert_true(json_is_true(json_object_get(c, "inUse")));
	assert_true(json_is_false(json_object_get(c, "resumable")));
}

static void test_cookies(void **state)
{
	struct http_request rq;
	json_t *b, *a, *c;

	(void)state;
	req_init(&rq, "GET", "/ocserv/cookies");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_cookies, 1);
	assert_false(fk.cookies_valid_arg);
	assert_int_equal(json_object_size(b), 3);
	assert_int_equal(iget(b, "count"), 7);
	a = json_object_get(b, "cookies");
	assert_int_equal(json_array_size(a), 7);
	c = json_array_get(a, 0);
	check_cookie_shape(c);
	assert_string_equal(sget(c, "sessionId"), "CLcgrH");
	assert_string_equal(sget(c, "username"), "bob");
	assert_string_equal(sget(c, "groupname"), "staff");
	check_alice_cookie(json_array_get(a, 2));
	/* A failed login's cookie, with its expiry. */
	c = json_array_get(a, 1);
	check_cookie_shape(c);
	assert_string_equal(sget(c, "sessionId"), "n0rtP3");
	assert_string_equal(sget(c, "fullSessionId"), "n0rtP3r/DIWKMTyvpoe04aDaU+U=");
	assert_string_equal(sget(c, "expires"), "2026-11-21T20:17:00.000Z");
	assert_int_equal(iget(c, "expiresEpoch"), 1795292220);
	assert_string_equal(sget(c, "state"), "auth failed");
	assert_string_equal(sget(c, "remoteIp"), "127.0.0.2");
	assert_true(json_is_false(json_object_get(c, "sessionIsOpen")));
	assert_true(json_is_false(json_object_get(c, "inUse")));
	assert_true(json_is_false(json_object_get(c, "resumable")));
	assert_string_equal(sget(json_array_get(a, 6), "sessionId"), "/N16w7");
	json_decref(b);

	/* ?valid=true asks ocserv for the valid ones only. */
	fk.cookies_json = cookies_valid_150;
	req_init(&rq, "GET", "/ocserv/cookies");
	req_query(&rq, "valid", "true");
	b = handle(&rq, 200, NULL);
	assert_true(fk.cookies_valid_arg);
	assert_int_equal(iget(b, "count"), 3);
	json_decref(b);
	req_init(&rq, "GET", "/ocserv/cookies");
	req_query(&rq, "valid", "false");
	json_decref(handle(&rq, 200, NULL));
	assert_false(fk.cookies_valid_arg);
	assert_int_equal(fk.n_cookies, 3);
	/* ?valid= (empty) is as if not given. */
	fk.cookies_valid_arg = true;
	req_init(&rq, "GET", "/ocserv/cookies");
	req_query(&rq, "valid", "");
	json_decref(handle(&rq, 200, NULL));
	assert_false(fk.cookies_valid_arg);
	assert_int_equal(fk.n_cookies, 4);

	/* 1.1.6's invalid JSON, through the real parser. */
	fk.cookies_json = cookies_all_116;
	req_init(&rq, "GET", "/ocserv/cookies");
	b = handle(&rq, 200, NULL);
	assert_int_equal(iget(b, "count"), 7);
	assert_string_equal(sget(json_array_get(json_object_get(b, "cookies"), 3), "sessionId"),
			    "LpurJh");
	json_decref(b);

	/* A cookie a client could still come back with. */
	fk.cookies_json = term_cookies;
	b = handle(&rq, 200, NULL);
	c = json_array_get(json_object_get(b, "cookies"), 1);
	assert_string_equal(sget(c, "sessionId"), "aliceR");
	assert_string_equal(sget(c, "expires"), "2099-01-01T00:00:00.000Z");
	assert_true(json_is_true(json_object_get(c, "resumable")));
	assert_null_member(c, "created");
	assert_null_member(c, "tlsAuthOk");
	json_decref(b);
	fk.cookies_json = "[ ]";
	b = handle(&rq, 200, NULL);
	assert_int_equal(iget(b, "count"), 0);
	assert_int_equal(json_array_size(json_object_get(b, "cookies")), 0);
	json_decref(b);

	/* valid is true or false, nothing else, and nothing is asked then. */
	setup(NULL);
	static const char *bad[] = {"yes", "1", "TRUE", "True", "false ", "on", "true\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&rq, "GET", "/ocserv/cookies");
		req_query(&rq, "valid", bad[i]);
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	assert_int_equal(backend_calls(), 0);
}

static void test_cookie(void **state)
{
	static const char *bad[] = {
		"abc%20def",
		"a%0Ab",
		"a-b",
		"a_b",
		"%2E%2E",
		"a.b",
		"%C3%BC",
		"a%3Db%3F",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", /* 65 */
	};
	struct http_request rq;
	char path[200];
	json_t *b;

	(void)state;
	req_init(&rq, "GET", "/ocserv/cookies/xHWC9s");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_cookie, 1);
	assert_string_equal(fk.cookie_arg, "xHWC9s");
	assert_int_equal(json_object_size(b), 2);
	check_alice_cookie(json_object_get(b, "cookie"));
	json_decref(b);

	/* A full id: '+' and '/' and '=' percent-encoded; a raw '+' is a '+'. */
	req_init(&rq, "GET", "/ocserv/cookies/xHWC9szOy4jKEN3tZ0cAT1%2BU2%2Fk%3D");
	json_decref(handle(&rq, 200, NULL));
	assert_string_equal(fk.cookie_arg, "xHWC9szOy4jKEN3tZ0cAT1+U2/k=");
	req_init(&rq, "GET", "/ocserv/cookies/1Sf9E+");
	json_decref(handle(&rq, 200, NULL));
	assert_string_equal(fk.cookie_arg, "1Sf9E+");
	/* 64 characters is the longest. */
	memset(path, 0, sizeof(path));
	memcpy(path, "/ocserv/cookies/", 16);
	memset(path + 16, 'A', 64);
	req_init(&rq, "GET", path);
	json_decref(handle(&rq, 200, NULL));
	assert_int_equal(strlen(fk.cookie_arg), 64);

	/* Not there: 404 naming the id. */
	fk.cookie_r = ERR_NOT_FOUND;
	req_init(&rq, "GET", "/ocserv/cookies/zzzzzz");
	b = handle(&rq, 404, NULL);
	assert_string_equal(err_code_of(b), "NOT_FOUND");
	assert_string_equal(sget(json_object_get(b, "error"), "message"),
			    "no session cookie zzzzzz");
	json_decref(b);

	setup(NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/ocserv/cookies/%s", bad[i]);
		req_init(&rq, "GET", path);
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	assert_int_equal(backend_calls(), 0);
}

/* ---- GET /ocserv/iroutes ---- */

static void check_iroute(const json_t *r, json_int_t id, const char *user, const char *device,
			 const char *ip, const char *iroute)
{
	const json_t *a = json_object_get(r, "iroutes");

	assert_int_equal(json_object_size(r), 6);
	assert_int_equal(iget(r, "vpnSessionId"), id);
	assert_string_equal(sget(r, "username"), user);
	assert_string_equal(sget(r, "vhost"), "default");
	assert_string_equal(sget(r, "device"), device);
	assert_string_equal(sget(r, "ip"), ip);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), iroute ? 1 : 0);
	if (iroute)
		assert_string_equal(json_string_value(json_array_get(a, 0)), iroute);
}

static void test_iroutes(void **state)
{
	struct http_request rq;
	json_t *b, *a;

	(void)state;
	req_init(&rq, "GET", "/ocserv/iroutes");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_iroutes, 1);
	assert_int_equal(json_object_size(b), 3);
	assert_int_equal(iget(b, "count"), 3);
	a = json_object_get(b, "iroutes");
	assert_int_equal(json_array_size(a), 3);
	check_iroute(json_array_get(a, 0), 10046, "bob", "vpns2", "192.168.99.134", NULL);
	check_iroute(json_array_get(a, 1), 10035, "bob", "vpns1", "192.168.99.106", NULL);
	check_iroute(json_array_get(a, 2), 10022, "alice", "vpns0", "192.168.99.50",
		     "192.168.200.0/255.255.255.0");
	json_decref(b);

	/* 1.1.6 prints one invalid object for all sessions. */
	fk.iroutes_json = iroutes_116;
	b = handle(&rq, 200, NULL);
	a = json_object_get(b, "iroutes");
	assert_int_equal(iget(b, "count"), 3);
	check_iroute(json_array_get(a, 0), 9485, "bob", "vpns2", "192.168.99.134", NULL);
	check_iroute(json_array_get(a, 1), 9474, "bob", "vpns1", "192.168.99.106", NULL);
	check_iroute(json_array_get(a, 2), 9461, "alice", "vpns0", "192.168.99.50",
		     "192.168.200.0/255.255.255.0");
	json_decref(b);

	fk.iroutes_json = "[ ]";
	b = handle(&rq, 200, NULL);
	assert_int_equal(iget(b, "count"), 0);
	assert_int_equal(json_array_size(json_object_get(b, "iroutes")), 0);
	json_decref(b);
}

/* ---- bans ---- */

static void test_bans(void **state)
{
	struct http_request rq;
	json_t *b, *a, *e;
	char iso[40];

	(void)state;
	req_init(&rq, "GET", "/ocserv/bans");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_bans, 1);
	assert_int_equal(json_object_size(b), 3);
	assert_int_equal(iget(b, "count"), 1);
	a = json_object_get(b, "bans");
	assert_int_equal(json_array_size(a), 1);
	e = json_array_get(a, 0);
	assert_int_equal(json_object_size(e), 4);
	assert_string_equal(sget(e, "ip"), "127.0.0.2");
	assert_int_equal(iget(e, "score"), 30);
	/* "_Since": " 4m:59s" counts down from now. */
	assert_int_equal(iget(e, "expiresEpoch"), BAN_NOW + 299);
	assert_non_null(timefmt_epoch_iso8601(BAN_NOW + 299, iso, sizeof(iso)));
	assert_string_equal(iso, "2026-11-21T20:18:38.000Z");
	assert_string_equal(sget(e, "expires"), iso);
	json_decref(b);

	/* 1.1.6's trailing comma; an ended countdown falls back to "Since";
	 * without either, null. */
	fk.bans_json = bans_116;
	b = handle(&rq, 200, NULL);
	e = json_array_get(json_object_get(b, "bans"), 0);
	assert_string_equal(sget(e, "ip"), "127.0.0.2");
	assert_int_equal(iget(e, "expiresEpoch"), BAN_NOW + 299);
	json_decref(b);
	fk.bans_json = "[{\"IP\": \"10.0.0.9\", \"Since\": \"2026-11-21 20:17\", \"_Since\": \"?\","
		       " \"Score\": 20}, {\"IP\": \"2001:db8::1\", \"Score\": 25}]";
	b = handle(&rq, 200, NULL);
	a = json_object_get(b, "bans");
	assert_int_equal(iget(b, "count"), 2);
	assert_int_equal(iget(json_array_get(a, 0), "expiresEpoch"), 1795292220);
	assert_string_equal(sget(json_array_get(a, 0), "expires"), "2026-11-21T20:17:00.000Z");
	e = json_array_get(a, 1);
	assert_string_equal(sget(e, "ip"), "2001:db8::1");
	assert_null_member(e, "expires");
	assert_null_member(e, "expiresEpoch");
	json_decref(b);
	fk.bans_json = "[ ]";
	b = handle(&rq, 200, NULL);
	assert_int_equal(iget(b, "count"), 0);
	assert_int_equal(json_array_size(json_object_get(b, "bans")), 0);
	json_decref(b);
}

static void test_ban_points(void **state)
{
	struct http_request rq;
	json_t *b, *a;

	(void)state;
	req_init(&rq, "GET", "/ocserv/ban-points");
	b = handle(&rq, 200, NULL);
	assert_int_equal(fk.n_ban_points, 1);
	assert_int_equal(fk.n_bans, 0);
	assert_int_equal(json_object_size(b), 3);
	assert_int_equal(iget(b, "count"), 2);
	a = json_object_get(b, "banPoints");
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(json_object_size(json_array_get(a, 0)), 2);
	assert_string_equal(sget(json_array_get(a, 0), "ip"), "127.0.0.2");
	assert_int_equal(iget(json_array_get(a, 0), "score"), 30);
	assert_string_equal(sget(json_array_get(a, 1), "ip"), "127.0.0.3");
	assert_int_equal(iget(json_array_get(a, 1), "score"), 10);
	assert_null(json_object_get(b, "bans"));
	json_decref(b);
}

static void test_unban(void **state)
{
	static const struct {
		const char *param, *ip;
	} good[] = {
		{"1.2.3.4", "1.2.3.4"},
		{"127.0.0.2", "127.0.0.2"},
		{"FE80::1", "fe80::1"},
		{"2001:db8:0:0::1", "2001:db8::1"},
		{"%3A%3Affff%3A10.0.0.1", "10.0.0.1"},
		{"::ffff:10.0.0.1", "10.0.0.1"},
	};
	static const char *bad[] = {"1.2.3",	  "abc",	"1.2.3.4%2F24",
				    "10.0.0.256", "%201.2.3.4", "fe80::1%25eth0",
				    "1.2.3.4%0A", "localhost"};
	struct http_request rq;
	char path[200];
	json_t *b;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(path, sizeof(path), "/ocserv/bans/%s", good[i].param);
		req_init(&rq, "DELETE", path);
		b = handle(&rq, 200, NULL);
		assert_int_equal(fk.n_unban, (int)i + 1);
		assert_string_equal(fk.unban_arg, good[i].ip);
		assert_int_equal(json_object_size(b), 3);
		assert_true(json_is_true(json_object_get(b, "deleted")));
		assert_string_equal(sget(b, "ip"), good[i].ip);
		json_decref(b);
	}

	/* Not banned: 404 naming the address. */
	fk.unban_r = ERR_NOT_FOUND;
	req_init(&rq, "DELETE", "/ocserv/bans/1.2.3.4");
	b = handle(&rq, 404, NULL);
	assert_string_equal(err_code_of(b), "NOT_FOUND");
	assert_string_equal(sget(json_object_get(b, "error"), "message"),
			    "ocserv has no ban entry for 1.2.3.4");
	json_decref(b);
	for (size_t i = 0; i < N_BACKEND_ERRORS; i++) {
		fk.unban_r = backend_errors[i].err;
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
	}

	setup(NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/ocserv/bans/%s", bad[i]);
		req_init(&rq, "DELETE", path);
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	assert_int_equal(backend_calls(), 0);
}

/* Every new read endpoint maps backend errors the same way. */
static void test_new_endpoints_backend_errors(void **state)
{
	static const char *paths[] = {"/ocserv/users/alice", "/ocserv/sessions/10022",
				      "/ocserv/cookies",     "/ocserv/cookies/xHWC9s",
				      "/ocserv/iroutes",     "/ocserv/bans",
				      "/ocserv/ban-points"};
	struct http_request rq;

	(void)state;
	for (size_t i = 0; i < N_BACKEND_ERRORS; i++) {
		setup(NULL);
		fk.user_r = fk.id_r = fk.cookies_r = fk.cookie_r = fk.iroutes_r = fk.bans_r =
			fk.ban_points_r = backend_errors[i].err;
		for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
			req_init(&rq, "GET", paths[p]);
			expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
		}
		assert_int_equal(fk.n_user + fk.n_id + fk.n_cookies + fk.n_cookie + fk.n_iroutes +
					 fk.n_bans + fk.n_ban_points,
				 7);
	}
	/* Output occtl printed that the parser refuses. */
	setup(NULL);
	fk.cookies_json = fk.iroutes_json = fk.bans_json = fk.ban_points_json = "not json {";
	fk.cookie_json = "[{\"State\": \"no session id\"}]";
	for (size_t p = 2; p < sizeof(paths) / sizeof(paths[0]); p++) {
		req_init(&rq, "GET", paths[p]);
		expect_error(&rq, 502, "OCCTL_BAD_JSON");
	}
}

/* ---- POST /ocserv/reload ---- */

/* The fake ocserv for `ocserv -t`: records its argv, then runs body. */
static void write_fake_ocserv(const char *body)
{
	char text[1024];

	snprintf(text, sizeof(text), "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\n%s\n",
		 fake_ocserv_argv, body);
	assert_int_equal(unit_write_file(fake_ocserv, text, strlen(text), 0755), 0);
}

static void test_reload(void **state)
{
	struct http_request rq;
	char want[256], *argv;
	json_t *b;

	(void)state;
	write_fake_ocserv("echo 'auth = plain'\nexit 0");
	req_init(&rq, "POST", "/ocserv/reload");
	b = handle(&rq, 200, NULL);
	assert_int_equal(json_object_size(b), 2);
	assert_true(json_is_true(json_object_get(b, "reloaded")));
	assert_int_equal(fk.n_reload, 1);
	json_decref(b);
	snprintf(want, sizeof(want), "-t\n-c\n%s\n", ocserv_conf);
	argv = unit_read_file(fake_ocserv_argv, NULL);
	assert_non_null(argv);
	assert_string_equal(argv, want);
	free(argv);
	/* An empty object is no options too. */
	req_body(&rq, "{}");
	json_decref(handle(&rq, 200, NULL));
	assert_int_equal(fk.n_reload, 2);

	/* A reload that fails is the backend's error. */
	for (size_t i = 0; i < N_BACKEND_ERRORS; i++) {
		fk.reload_r = backend_errors[i].err;
		expect_error(&rq, backend_errors[i].status, backend_errors[i].code);
	}
}

static void test_reload_refused(void **state)
{
	struct http_request rq;
	json_t *b, *err;

	(void)state;
	/* ocserv -t refuses: 409 with its error line, and NO reload. */
	write_fake_ocserv("echo 'note: reading the file' >&2\n"
			  "echo \"error: unknown option 'frobnicate' in line 3\" >&2\n"
			  "echo 'auth = plain'\nexit 1");
	req_init(&rq, "POST", "/ocserv/reload");
	b = handle(&rq, 409, NULL);
	err = json_object_get(b, "error");
	assert_string_equal(sget(err, "code"), "CONFIG_INVALID");
	assert_string_equal(sget(err, "message"), "error: unknown option 'frobnicate' in line 3");
	assert_string_equal(sget(b, "checkOutput"),
			    "note: reading the file\nerror: unknown option 'frobnicate' in line 3\n"
			    "\nauth = plain\n");
	assert_int_equal(fk.n_reload, 0);
	json_decref(b);

	/* The checker cannot give a verdict: no reload either. */
	write_fake_ocserv("sleep 5");
	cfg.ocserv_check_timeout_ms = 200;
	b = handle(&rq, 503, NULL);
	assert_string_equal(err_code_of(b), "CONFIG_CHECK_FAILED");
	assert_null(json_object_get(b, "checkOutput"));
	json_decref(b);
	cfg.ocserv_check_timeout_ms = 5000;
	unlink(fake_ocserv);
	expect_error(&rq, 503, "CONFIG_CHECK_FAILED");
	assert_int_equal(fk.n_reload, 0);

	/* Options are refused before anything runs. */
	static const char *bad[] = {"{\"force\": true}", "not json", "[]", "null", "{\"a\": 1"};
	write_fake_ocserv("exit 0");
	unlink(fake_ocserv_argv);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&rq, "POST", "/ocserv/reload");
		req_body(&rq, bad[i]);
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	assert_int_equal(access(fake_ocserv_argv, F_OK), -1);
	assert_int_equal(backend_calls(), 0);
}

/* ---- GET /ocserv/capabilities ---- */

static void test_capabilities(void **state)
{
	static const char *always[] = {"listSessions",
				       "disconnectSession",
				       "disconnectAllForUser",
				       "refreshSession",
				       "userSessions",
				       "sessionDetail",
				       "cookies",
				       "iroutes",
				       "bans",
				       "unban",
				       "reload"};
	struct http_request rq;
	json_t *b, *caps, *term, *tiers;
	struct stat st;
	/* Service control needs systemd on this host. */
	bool systemd = stat(SERVICE_SYSTEMD_DIR, &st) == 0 && S_ISDIR(st.st_mode);

	(void)state;
	req_init(&rq, "GET", "/ocserv/capabilities");
	b = handle(&rq, 200, NULL);
	assert_int_equal(json_object_size(b), 3);
	assert_string_equal(sget(json_object_get(b, "ocserv"), "version"), "1.5.0");
	assert_string_equal(sget(json_object_get(b, "ocserv"), "backend"),
			    "auto"); /* OCSERV_BACKEND */
	caps = json_object_get(b, "capabilities");
	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (!json_is_true(json_object_get(caps, always[i])))
			fail_msg("capability %s is not true", always[i]);
	assert_true(json_is_boolean(json_object_get(caps, "serviceControl")));
	assert_int_equal(json_is_true(json_object_get(caps, "serviceControl")), systemd);
	term = json_object_get(caps, "terminate");
	assert_true(json_is_true(json_object_get(term, "supported")));
	assert_string_equal(sget(term, "method"), "native");
	assert_non_null(strstr(sget(term, "reason"), "1.5.0"));
	tiers = json_object_get(caps, "healthTiers");
	assert_int_equal(json_array_size(tiers), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(json_integer_value(json_array_get(tiers, i)), (json_int_t)i + 1);
	assert_true(json_is_false(json_object_get(caps, "loginProbe")));
	json_decref(b);
	/* Only the version was asked. */
	assert_int_equal(fk.n_version, 1);
	assert_int_equal(backend_calls(), 1);

	/* Older ocserv: the hook when it is set up, else not supported. */
	fk.version = "1.1.6";
	b = handle(&rq, 200, NULL);
	term = json_object_get(json_object_get(b, "capabilities"), "terminate");
	assert_true(json_is_false(json_object_get(term, "supported")));
	assert_null_member(term, "method");
	assert_non_null(strstr(sget(term, "reason"), "1.1.6"));
	assert_string_equal(sget(json_object_get(b, "ocserv"), "version"), "1.1.6");
	json_decref(b);
	use_hook(hook_script);
	b = handle(&rq, 200, NULL);
	term = json_object_get(json_object_get(b, "capabilities"), "terminate");
	assert_true(json_is_true(json_object_get(term, "supported")));
	assert_string_equal(sget(term, "method"), "hook");
	json_decref(b);

	/* Version unknown (occtl missing): null, and still 200. */
	setup(NULL);
	fk.version_r = ERR_OCCTL_NOT_FOUND;
	cfg.probe_user = "probe";
	b = handle(&rq, 200, NULL);
	assert_null_member(json_object_get(b, "ocserv"), "version");
	caps = json_object_get(b, "capabilities");
	assert_true(
		json_is_false(json_object_get(json_object_get(caps, "terminate"), "supported")));
	assert_true(json_is_true(json_object_get(caps, "loginProbe")));
	json_decref(b);
	cfg.probe_user = NULL;
}

/* ---- GET /ocserv/events ---- */

static struct event_hub *hub_new(unsigned max_subscribers)
{
	struct event_hub_options o = {.capacity = 16,
				      .max_subscribers = max_subscribers,
				      .heartbeat_ms = 60000,
				      .usage_wait_ms = 100};
	struct err_info ei = {{0}};
	struct event_hub *h = event_hub_new(&o, &ei);

	if (h == NULL)
		fail_msg("event_hub_new: %s", ei.detail);
	return h;
}

static void publish_connect(struct event_hub *h, const char *username)
{
	struct event *ev = event_new(EVENT_CONNECT);

	assert_non_null(ev);
	ev->username = strdup(username);
	ev->vpn_session_id = 4242;
	assert_int_equal(event_hub_ingest(h, EVENT_FROM_CTL, ev), 0);
}

/* Run a request that must start a stream; returns it in rs. */
static void handle_stream(const struct http_request *rq, struct http_response *rs)
{
	memset(rs, 0, sizeof(*rs));
	api_handle(&ag, rq, rs);
	if (rs->status != 200 || rs->stream == NULL)
		fail_msg("%s: status %u, body %s", rq->path, rs->status,
			 rs->body ? rs->body : "(null)");
	assert_null(rs->body);
	assert_int_equal(rs->retry_after, 0);
	assert_non_null(strstr(rs->stream->content_type, "text/event-stream"));
}

/* What the stream has to send now (reads until it has nothing). */
static void stream_drain(struct http_response *rs, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len && (r = rs->stream->read(rs->stream_ctx, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

static void test_events_bad_requests(void **state)
{
	static const char *bad[][2] = {
		{"type", "connects"},
		{"type", "CONNECT"},
		{"type", "connect,"},
		{"type", ",connect"},
		{"type", "connect,,disconnect"},
		{"type", "connect;disconnect"},
		{"since", "abc"},
		{"since", "-1"},
		{"since", "+1"},
		{"since", " 1"},
		{"since", "1.5"},
		{"since", "18446744073709551616"},  /* UINT64_MAX + 1 */
		{"since", "000000000000000000001"}, /* 21 digits */
		{"username", "-alice"},
		{"username", "a  b"},
		{"username", "?"},
	};
	static const char *bad_leid[] = {"", "x", "-3", "99999999999999999999999", "1 "};
	struct http_request rq;
	struct event_hub_stats st;
	json_t *b;

	(void)state;
	ag.events = hub_new(8);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&rq, "GET", "/ocserv/events");
		req_query(&rq, bad[i][0], bad[i][1]);
		b = handle(&rq, 400, NULL);
		assert_string_equal(err_code_of(b), "BAD_REQUEST");
		/* The message names what is wrong. */
		if (strstr(sget(json_object_get(b, "error"), "message"), bad[i][0]) == NULL)
			fail_msg("%s=%s: message '%s'", bad[i][0], bad[i][1],
				 sget(json_object_get(b, "error"), "message"));
		json_decref(b);
	}
	for (size_t i = 0; i < sizeof(bad_leid) / sizeof(bad_leid[0]); i++) {
		req_init(&rq, "GET", "/ocserv/events");
		rq.last_event_id = bad_leid[i];
		expect_error(&rq, 400, "BAD_REQUEST");
	}
	req_init(&rq, "GET", "/ocserv/events");
	rq.last_event_id_invalid = true; /* too long for the transport */
	expect_error(&rq, 400, "BAD_REQUEST");
	/* A bad since is an error even when the header decides. */
	req_init(&rq, "GET", "/ocserv/events");
	rq.last_event_id = "5";
	req_query(&rq, "since", "x");
	expect_error(&rq, 400, "BAD_REQUEST");
	/* Authentication and method come first. */
	req_init(&rq, "GET", "/ocserv/events");
	rq.authorization = "Bearer nope";
	expect_error(&rq, 401, "UNAUTHORIZED");
	req_init(&rq, "POST", "/ocserv/events");
	expect_error(&rq, 405, "METHOD_NOT_ALLOWED");
	event_hub_stats(ag.events, &st);
	assert_int_equal(st.subscribers, 0);
	event_hub_free(ag.events);
	ag.events = NULL;
	assert_int_equal(backend_calls(), 0);
}

static void test_events_disabled(void **state)
{
	struct http_request rq;

	(void)state;
	ag.events = NULL;
	req_init(&rq, "GET", "/ocserv/events");
	expect_error(&rq, 501, "NOT_SUPPORTED");
}

static void test_events_stream(void **state)
{
	struct http_request rq;
	struct http_response rs;
	char buf[8192];

	(void)state;
	ag.events = hub_new(8);
	req_init(&rq, "GET", "/ocserv/events");
	handle_stream(&rq, &rs);
	stream_drain(&rs, buf, sizeof(buf));
	assert_string_equal(buf, ": ok\n\n");
	publish_connect(ag.events, "alice");
	stream_drain(&rs, buf, sizeof(buf));
	assert_non_null(strstr(buf, "id: 1\nevent: connect\ndata: {"));
	assert_non_null(strstr(buf, "\"username\":\"alice\""));
	rs.stream->close(rs.stream_ctx);

	/* Replay after ?since=. */
	publish_connect(ag.events, "bob");
	publish_connect(ag.events, "carol");
	req_init(&rq, "GET", "/ocserv/events");
	req_query(&rq, "since", "1");
	handle_stream(&rq, &rs);
	stream_drain(&rs, buf, sizeof(buf));
	assert_null(strstr(buf, "id: 1\n"));
	assert_non_null(strstr(buf, "id: 2\n"));
	assert_non_null(strstr(buf, "id: 3\n"));
	rs.stream->close(rs.stream_ctx);

	/* Last-Event-ID wins over since. */
	req_init(&rq, "GET", "/ocserv/events");
	req_query(&rq, "since", "0");
	rq.last_event_id = "2";
	handle_stream(&rq, &rs);
	stream_drain(&rs, buf, sizeof(buf));
	assert_null(strstr(buf, "id: 2\n"));
	assert_non_null(strstr(buf, "id: 3\n"));
	rs.stream->close(rs.stream_ctx);

	/* Filters: by user, by type. */
	req_init(&rq, "GET", "/ocserv/events");
	req_query(&rq, "since", "0");
	req_query(&rq, "username", "bob");
	handle_stream(&rq, &rs);
	stream_drain(&rs, buf, sizeof(buf));
	assert_non_null(strstr(buf, "id: 2\n"));
	assert_null(strstr(buf, "id: 1\n"));
	assert_null(strstr(buf, "id: 3\n"));
	rs.stream->close(rs.stream_ctx);
	req_init(&rq, "GET", "/ocserv/events");
	req_query(&rq, "since", "0");
	req_query(&rq, "type", "disconnect,resync");
	handle_stream(&rq, &rs);
	stream_drain(&rs, buf, sizeof(buf));
	assert_null(strstr(buf, "event: connect"));
	rs.stream->close(rs.stream_ctx);
	req_init(&rq, "GET", "/ocserv/events");
	req_query(&rq, "since", "0");
	req_query(&rq, "type", "disconnect,connect");
	handle_stream(&rq, &rs);
	stream_drain(&rs, buf, sizeof(buf));
	assert_non_null(strstr(buf, "id: 3\nevent: connect"));
	rs.stream->close(rs.stream_ctx);

	event_hub_free(ag.events);
	ag.events = NULL;
}

/* At the cap: 429 with Retry-After; a place freed is taken again. */
static void test_events_too_many(void **state)
{
	struct http_request rq;
	struct http_response first, rs = {0};
	struct event_hub_stats st;
	json_t *b;

	(void)state;
	ag.events = hub_new(1);
	req_init(&rq, "GET", "/ocserv/events");
	handle_stream(&rq, &first);
	api_handle(&ag, &rq, &rs);
	assert_int_equal(rs.status, 429);
	assert_null(rs.stream);
	assert_int_equal(rs.retry_after, 5);
	b = json_loads(rs.body, 0, NULL);
	assert_string_equal(err_code_of(b), "TOO_MANY_REQUESTS");
	json_decref(b);
	free(rs.body);
	event_hub_stats(ag.events, &st);
	assert_int_equal(st.subscribers, 1);
	assert_int_equal(st.refused_subscribers, 1);
	first.stream->close(first.stream_ctx);
	handle_stream(&rq, &first);
	first.stream->close(first.stream_ctx);
	event_hub_free(ag.events);
	ag.events = NULL;
}

/* Health's additions: the backend and the event hub, beside what was. */
static void test_health_backend_and_events(void **state)
{
	struct http_request rq;
	struct http_response rs;
	json_t *b, *agent, *ev;

	(void)state;
	cfg.backend = "auto";
	req_init(&rq, "GET", "/ocserv/health");
	b = handle(&rq, 200, NULL);
	agent = json_object_get(b, "agent");
	assert_string_equal(sget(agent, "backend"), "fake");
	assert_string_equal(sget(agent, "backendMode"), "auto");
	assert_string_equal(sget(agent, "name"), "ocserv-agent");
	ev = json_object_get(b, "events");
	assert_true(json_is_false(json_object_get(ev, "enabled")));
	assert_string_equal(sget(ev, "source"), "none");
	assert_int_equal(iget(ev, "subscribers"), 0);
	assert_null_member(ev, "lastEventAt");
	json_decref(b);

	ag.events = hub_new(4);
	publish_connect(ag.events, "alice");
	event_hub_set_ctl_live(ag.events, true);
	req_init(&rq, "GET", "/ocserv/events");
	handle_stream(&rq, &rs);
	req_init(&rq, "GET", "/ocserv/health");
	b = handle(&rq, 200, NULL);
	ev = json_object_get(b, "events");
	assert_true(json_is_true(json_object_get(ev, "enabled")));
	assert_string_equal(sget(ev, "source"), "ctl");
	assert_int_equal(iget(ev, "subscribers"), 1);
	assert_int_equal(iget(ev, "lastEventId"), 1);
	assert_int_equal(iget(ev, "droppedSubscribers"), 0);
	assert_true(strlen(sget(ev, "lastEventAt")) == 24);
	json_decref(b);
	/* capabilities.events follows the hub. */
	req_init(&rq, "GET", "/ocserv/capabilities");
	b = handle(&rq, 200, NULL);
	assert_true(json_is_true(json_object_get(json_object_get(b, "capabilities"), "events")));
	assert_string_equal(sget(json_object_get(b, "ocserv"), "backendInUse"), "fake");
	json_decref(b);
	rs.stream->close(rs.stream_ctx);
	event_hub_free(ag.events);
	ag.events = NULL;
	b = handle(&rq, 200, NULL);
	assert_true(json_is_false(json_object_get(json_object_get(b, "capabilities"), "events")));
	json_decref(b);
}

/* ---- abuse limits ---- */

/* Put back what the tests below change, also when one fails half-way. */
static int limits_teardown(void **state)
{
	(void)state;
	ratelimit_free(ag.auth_fails);
	ag.auth_fails = NULL;
	cfg.auth_mode = AUTH_MODE_TOKEN;
	cfg.tls_client_ca = NULL;
	memset(&cfg.tls_client_allowed, 0, sizeof(cfg.tls_client_allowed));
	cfg.max_body_bytes = 65536;
	cfg.max_json_depth = 32;
	return 0;
}

/* Run rq and return the status; *retry_after gets the Retry-After value
 * and code (when not NULL, 64 bytes) the error code or "". */
static unsigned handle_status(const struct http_request *rq, unsigned *retry_after, char *code)
{
	struct http_response rs = {0};
	json_t *b;

	api_handle(&ag, rq, &rs);
	assert_non_null(rs.body);
	b = json_loads(rs.body, 0, NULL);
	assert_non_null(b);
	if (code != NULL)
		snprintf(code, 64, "%s", err_code_of(b) ? err_code_of(b) : "");
	if (retry_after != NULL)
		*retry_after = rs.retry_after;
	json_decref(b);
	free(rs.body);
	return rs.status;
}

static json_int_t limit_count(const char *key)
{
	json_t *l = api_limits_json(&ag);
	json_int_t v;

	assert_non_null(l);
	v = iget(l, key);
	json_decref(l);
	return v;
}

static void req_from(struct http_request *rq, const char *ip, const char *authorization)
{
	req_init(rq, "GET", "/ocserv/status");
	snprintf(rq->client_ip, sizeof(rq->client_ip), "%s", ip);
	rq->authorization = authorization;
}

static void test_rate_limit(void **state)
{
	struct http_request rq;
	unsigned ra = 0;
	char code[64];

	(void)state;
	ag.auth_fails = ratelimit_new(3, 60000);
	assert_non_null(ag.auth_fails);
	/* Requests that authenticate are never counted. */
	for (int i = 0; i < 10; i++) {
		req_from(&rq, "192.0.2.1", "Bearer " TOKEN);
		assert_int_equal(handle_status(&rq, NULL, NULL), 200);
	}
	for (int i = 0; i < 3; i++) {
		req_from(&rq, "192.0.2.1", i == 1 ? NULL : "Bearer wrong");
		assert_int_equal(handle_status(&rq, &ra, code), 401);
		assert_int_equal(ra, 0);
		assert_string_equal(code, "UNAUTHORIZED");
	}
	/* Over the limit: refused before the token is looked at, right or
	 * wrong, with Retry-After; the refusals do not count as failures. */
	for (int i = 0; i < 5; i++) {
		req_from(&rq, "192.0.2.1", i % 2 ? "Bearer wrong" : "Bearer " TOKEN);
		json_t *b = handle(&rq, 429, NULL);
		assert_string_equal(err_code_of(b), "TOO_MANY_REQUESTS");
		assert_non_null(strstr(sget(json_object_get(b, "error"), "message"), "retry in"));
		json_decref(b);
		assert_int_equal(handle_status(&rq, &ra, NULL), 429);
		assert_true(ra >= 59 && ra <= 60);
	}
	/* Other addresses are not affected; the same /64 is. */
	req_from(&rq, "192.0.2.2", "Bearer " TOKEN);
	assert_int_equal(handle_status(&rq, NULL, NULL), 200);
	for (int i = 0; i < 3; i++) {
		req_from(&rq, "2001:db8:5:6::1", "Bearer wrong");
		assert_int_equal(handle_status(&rq, NULL, NULL), 401);
	}
	req_from(&rq, "2001:db8:5:6::abcd", "Bearer " TOKEN);
	assert_int_equal(handle_status(&rq, &ra, NULL), 429);
	req_from(&rq, "2001:db8:5:7::1", "Bearer " TOKEN);
	assert_int_equal(handle_status(&rq, NULL, NULL), 200);
	assert_int_equal(limit_count("authFailures"), 6);
	assert_int_equal(limit_count("rateLimited"), 11);
	assert_int_equal(limit_count("addressesTracked"), 2);
	/* The backend was reached only by the authenticated requests. */
	assert_int_equal(fk.n_status, 12);
	ratelimit_free(ag.auth_fails);
	ag.auth_fails = NULL;
	assert_int_equal(limit_count("authFailures"), 0); /* no limiter, no counts */
}

/* A verified certificate that is not allowed is a failed authentication
 * too (403). */
static void test_rate_limit_forbidden(void **state)
{
	struct http_request rq;
	char allowed_cn[] = "someone-else";
	char *allowed[] = {allowed_cn};
	char code[64];

	(void)state;
	ag.auth_fails = ratelimit_new(2, 60000);
	cfg.auth_mode = AUTH_MODE_MTLS;
	cfg.tls_client_ca = "/nonexistent/ca.pem";
	cfg.tls_client_allowed.v = allowed;
	cfg.tls_client_allowed.n = 1;
	for (int i = 0; i < 2; i++) {
		req_from(&rq, "198.51.100.4", NULL);
		rq.tls = true;
		rq.peer.present = rq.peer.verified = true;
		snprintf(rq.peer.cn, sizeof(rq.peer.cn), "client-1");
		snprintf(rq.peer.pin, sizeof(rq.peer.pin), "sha256:%064d", 0);
		assert_int_equal(handle_status(&rq, NULL, code), 403);
		assert_string_equal(code, "FORBIDDEN");
	}
	assert_int_equal(handle_status(&rq, NULL, code), 429);
	assert_int_equal(limit_count("authFailures"), 2);
	assert_int_equal(backend_calls(), 0);
	cfg.auth_mode = AUTH_MODE_TOKEN;
	cfg.tls_client_ca = NULL;
	memset(&cfg.tls_client_allowed, 0, sizeof(cfg.tls_client_allowed));
	ratelimit_free(ag.auth_fails);
	ag.auth_fails = NULL;
}

static void test_body_too_large_message(void **state)
{
	struct http_request rq;
	json_int_t before = limit_count("bodiesTooLarge");

	(void)state;
	cfg.max_body_bytes = 2048;
	req_init(&rq, "POST", "/ocserv/disconnect");
	rq.body_too_large = true;
	json_t *b = handle(&rq, 413, NULL);
	assert_string_equal(sget(json_object_get(b, "error"), "message"),
			    "request body larger than 2048 bytes");
	json_decref(b);
	/* Unauthenticated: 401, not counted as a body refused by the API. */
	rq.authorization = "Bearer wrong";
	expect_error(&rq, 401, "UNAUTHORIZED");
	assert_int_equal(limit_count("bodiesTooLarge"), before + 1);
	cfg.max_body_bytes = 65536;
}

static void nest(char *buf, size_t len, unsigned depth, const char *inner)
{
	size_t o = (size_t)snprintf(buf, len, "{\"username\": \"alice\", \"x\": ");

	for (unsigned i = 1; i < depth; i++)
		o += (size_t)snprintf(buf + o, len - o, i % 2 ? "[" : "{\"k\":");
	o += (size_t)snprintf(buf + o, len - o, "%s", inner);
	for (unsigned i = depth - 1; i >= 1; i--)
		o += (size_t)snprintf(buf + o, len - o, i % 2 ? "]" : "}");
	snprintf(buf + o, len - o, "}");
}

static void test_json_too_deep(void **state)
{
	static char body[300000];
	struct http_request rq;
	json_int_t before = limit_count("jsonTooDeep");

	(void)state;
	cfg.max_json_depth = 4;
	/* At the limit: the handler sees it (and dislikes the extra member). */
	nest(body, sizeof(body), 4, "1");
	assert_int_equal(json_depth(body, strlen(body), 100), 4);
	req_init(&rq, "POST", "/ocserv/disconnectAll");
	req_body(&rq, body);
	json_t *b = handle(&rq, 400, NULL);
	assert_null(strstr(sget(json_object_get(b, "error"), "message"), "nested"));
	json_decref(b);
	/* One more: refused before parsing, for every route with a body. */
	nest(body, sizeof(body), 5, "1");
	req_body(&rq, body);
	b = handle(&rq, 400, NULL);
	assert_string_equal(err_code_of(b), "BAD_REQUEST");
	assert_string_equal(sget(json_object_get(b, "error"), "message"),
			    "JSON body nested too deeply (limit 4)");
	json_decref(b);
	/* Deeper than jansson itself would go, and unclosed. */
	memset(body, '[', 100000);
	body[100000] = '\0';
	req_init(&rq, "POST", "/ocserv/disconnect");
	req_body(&rq, body);
	expect_error(&rq, 400, "BAD_REQUEST");
	/* Brackets inside strings are text. */
	cfg.max_json_depth = 2;
	req_init(&rq, "POST", "/ocserv/disconnectAll");
	req_body(&rq, "{\"username\": \"[[[{{{\\\"[[[\"}");
	json_decref(handle(&rq, 200, NULL));
	assert_string_equal(fk.user_arg, "[[[{{{\"[[[");
	/* Authentication and routing come first. */
	req_body(&rq, "[[[[[[[[]]]]]]]]");
	rq.authorization = NULL;
	expect_error(&rq, 401, "UNAUTHORIZED");
	req_init(&rq, "POST", "/no/such/route");
	req_body(&rq, "[[[[[[[[]]]]]]]]");
	expect_error(&rq, 404, "NOT_FOUND");
	assert_int_equal(limit_count("jsonTooDeep"), before + 2);
	assert_int_equal(fk.n_user, 1); /* only the body within the limit got through */
	/* 0: not checked (jansson's own limit remains). */
	cfg.max_json_depth = 0;
	req_init(&rq, "POST", "/ocserv/disconnectAll");
	nest(body, sizeof(body), 40, "1");
	req_body(&rq, body);
	b = handle(&rq, 400, NULL);
	assert_null(strstr(sget(json_object_get(b, "error"), "message"), "nested"));
	json_decref(b);
	cfg.max_json_depth = 32;
}

static void test_json_depth_scanner(void **state)
{
	static const struct {
		const char *text;
		unsigned depth;
	} cases[] = {
		{"", 0},
		{"42", 0},
		{"\"[[[\"", 0},
		{"{}", 1},
		{"[]", 1},
		{"{\"a\":[1]}", 2},
		{"[[],[],[[]]]", 3},
		{"{\"a\":\"]]]]\",\"b\":[[1]]}", 3},
		{"[\"\\\"[[[\"]", 1},	 /* an escaped quote does not end the string */
		{"[\"\\\\\",[[1]]]", 3}, /* an escaped backslash does not escape the quote */
		{"[\"\\u005b[[\"]", 1},	 /* \u escapes are text */
		{"]]]]][[", 2},		 /* stray closers never go below 0 */
		{"[[[", 3},		 /* unclosed */
		{"[\"[[[", 1},		 /* unterminated string: the rest is text */
		{"[\"\\", 1},		 /* a backslash at the very end */
		{"{'a': [[1]]}", 3},	 /* not JSON strings: counted */
		{"[1]\0[[[[", 1},	 /* stops at len (the NUL is byte 3) */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = json_depth(cases[i].text, strlen(cases[i].text), 100);

		if (got != cases[i].depth)
			fail_msg("'%s': depth %u, want %u", cases[i].text, got, cases[i].depth);
	}
	/* NUL bytes inside: the scan goes by length, not by C string. */
	assert_int_equal(json_depth("[\0[[", 4, 100), 3);
	/* Early stop: stop + 1 as soon as it is passed. */
	assert_int_equal(json_depth("[[[[[[", 6, 3), 4);
	assert_int_equal(json_depth("[[[]]]", 6, 3), 3);
	assert_int_equal(json_depth("[[[[]]]]", 8, 0), 1);
	/* Depth is the deepest point, not the total. */
	assert_int_equal(json_depth("[[]][[]][[]]", 12, 100), 2);
}

static void test_limits_json_shape(void **state)
{
	json_t *l = api_limits_json(&ag), *t;
	static const char *top[] = {"authFailures",	"rateLimited",	  "addressesTracked",
				    "addressesEvicted", "bodiesTooLarge", "jsonTooDeep"};
	static const char *transport[] = {"connectionsRefused", "headersTooLarge", "bodiesTooLarge",
					  "tlsHandshakesFailed"};

	(void)state;
	assert_non_null(l);
	assert_int_equal(json_object_size(l), 7);
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		assert_true(iget(l, top[i]) >= 0);
	t = json_object_get(l, "transport");
	assert_true(json_is_object(t));
	assert_int_equal(json_object_size(t), 4);
	for (size_t i = 0; i < sizeof(transport) / sizeof(transport[0]); i++)
		assert_int_equal(iget(t, transport[i]), 0); /* ag.http is NULL here */
	json_decref(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup(fn, setup)
		T(test_unauthorized),
		T(test_not_found_and_method),
		T(test_payload_too_large),
		T(test_query_invalid),
		T(test_sessions),
		T(test_backend_errors),
		T(test_session_by_id),
		T(test_session_by_username),
		T(test_session_bad_params),
		T(test_disconnect_by_id),
		T(test_disconnect_not_found),
		T(test_disconnect_by_username),
		T(test_disconnect_multiple),
		T(test_bad_bodies),
		T(test_disconnect_all),
		T(test_other_users_sessions_are_never_acted_on),
		T(test_health_ok),
		T(test_health_degraded),
		T(test_status),
		T(test_radius),
		T(test_route_params),
		T(test_malformed_body_not_quoted),
		T(test_user_sessions),
		T(test_session_detail),
		T(test_session_detail_bad_ids),
		T(test_terminate_native),
		T(test_terminate_hook),
		T(test_terminate_not_supported),
		T(test_terminate_errors),
		T(test_terminate_not_supported_by_backend),
		T(test_cookies),
		T(test_cookie),
		T(test_iroutes),
		T(test_bans),
		T(test_ban_points),
		T(test_unban),
		T(test_new_endpoints_backend_errors),
		T(test_reload),
		T(test_reload_refused),
		T(test_capabilities),
		T(test_events_bad_requests),
		T(test_events_disabled),
		T(test_events_stream),
		T(test_events_too_many),
		T(test_health_backend_and_events),
#undef T
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, limits_teardown)
		T(test_rate_limit),
		T(test_rate_limit_forbidden),
		T(test_body_too_large_message),
		T(test_json_too_deep),
		T(test_json_depth_scanner),
		T(test_limits_json_shape),
#undef T
	};

	/* occtl's local times (cookies, bans) are read in UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
