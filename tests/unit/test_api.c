/* api.h: the v1 REST API over a fake ocserv backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent.h"
#include "api.h"
#include "ocserv.h"
#include "session.h"
#include "unit.h"

#define TOKEN	   "tok-current-0123456789"
#define TOKEN_PREV "tok-previous-9876543210"
#define DETAIL	   "INTERNAL-DETAIL-XYZZY" /* must never reach a client */

/* ---- the fake backend ---- */

static struct fake {
	int status_r, list_r, user_r, id_r, disc_id_r, disc_user_r;
	const char *status_json; /* the normalised object status returns */
	const char *list_json, *user_json, *id_json;
	/* what it was asked */
	int n_status, n_list, n_user, n_id, n_disc_id, n_disc_user;
	unsigned status_timeout;
	int64_t id_arg, disc_id_arg;
	char user_arg[128], disc_user_arg[128];
} fk;

static char *users_150, *users_116, *bob_150, *alice_150;

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

static int fake_id(void *be, int64_t id, struct session_list **ret, struct err_info *ei)
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
	.free = fake_free,
};

/* ---- the agent ---- */

static char tmpdir[64], conf_path[128], servers_path[128];
static struct agent_config cfg;
static struct agent ag;

static int group_setup(void **state)
{
	(void)state;
	users_150 = unit_read_fixture("1.5.0", "j-show-users", NULL);
	users_116 = unit_read_fixture("1.1.6", "j-show-users", NULL);
	bob_150 = unit_read_fixture("1.5.0", "j-show-user-bob", NULL);
	alice_150 = unit_read_fixture("1.5.0", "j-show-id-ID", NULL);
	if (!users_150 || !users_116 || !bob_150 || !alice_150)
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
	ag.cfg = &cfg;
	ag.oc = ocserv_new(&fake_ops, &fk);
	snprintf(ag.instance_id, sizeof(ag.instance_id), "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
	ag.instance_persisted = true;
	snprintf(ag.started_at, sizeof(ag.started_at), "2026-01-01T00:00:00.000Z");
	snprintf(ag.hostname, sizeof(ag.hostname), "vpn-node-1");
	return ag.oc ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	ocserv_free(ag.oc);
	unit_rmtree(tmpdir);
	free(users_150);
	free(users_116);
	free(bob_150);
	free(alice_150);
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
	cfg.occtl_timeout_ms = 5000;
	return 0;
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

/* Run the request; checks the envelope every response must have and returns
 * the parsed body (caller decrefs). */
static json_t *handle(const struct http_request *rq, unsigned want_status, const char **allow)
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
	if (allow)
		*allow = rs.allow;
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
	return fk.n_status + fk.n_list + fk.n_user + fk.n_id + fk.n_disc_id + fk.n_disc_user;
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
	const char *allow;

	(void)state;
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		req_init(&rq, "GET", missing[i]);
		expect_error(&rq, 404, "NOT_FOUND");
	}
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		req_init(&rq, wrong[i][0], wrong[i][1]);
		allow = NULL;
		json_t *b = handle(&rq, 405, &allow);
		assert_string_equal(err_code_of(b), "METHOD_NOT_ALLOWED");
		assert_non_null(allow);
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

static void check_session_shape(const json_t *s)
{
	for (size_t i = 0; i < N_SESSION_KEYS; i++)
		if (json_object_get(s, session_keys[i]) == NULL)
			fail_msg("session member %s missing", session_keys[i]);
	assert_int_equal(json_object_size(s), N_SESSION_KEYS);
	assert_true(json_is_integer(json_object_get(s, "vpnSessionId")));
	assert_true(json_is_array(json_object_get(s, "dns")));
	assert_true(json_is_array(json_object_get(s, "routes")));
	assert_null_member(s, "rawLine");
}

static void check_alice_150(const json_t *s)
{
	check_session_shape(s);
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
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
