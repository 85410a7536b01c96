/* Untrusted requests into the API: the first byte picks a route and method,
 * the second how the rest is used (body, or the value of a query argument).
 * The backend is a fake whose sessions come from a fixed occtl output, so
 * every handler path, validator and renderer runs without ocserv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz.h"
#include "revoke.h"

static const char sessions_json[] =
	"[{\"ID\":11,\"Username\":\"bob\",\"Groupname\":\"staff\",\"State\":\"connected\","
	"\"Remote IP\":\"127.0.0.1\",\"IPv4\":\"192.168.99.2\",\"Device\":\"vpns0\","
	"\"Routes\":[],\"Routes\":\"defaultroute\",\"RX\":\"10\"},"
	"{\"ID\":12,\"Username\":\"bob\",\"State\":\"connected\"},"
	"{\"ID\":13,\"Username\":\"alice\",\"State\":\"connected\",\"DNS\":[\"1.1.1.1\"]}]";

static int sessions(struct session_list **ret, struct err_info *ei)
{
	return session_list_parse_occtl(sessions_json, sizeof(sessions_json) - 1, 1700000000, ret,
					ei);
}

static int f_status(void *be, unsigned t, json_t **ret, struct err_info *ei)
{
	*ret = json_pack("{s:s}", "status", "online");
	return 0;
}

static int f_list(void *be, struct session_list **ret, struct err_info *ei)
{
	return sessions(ret, ei);
}

static int f_user(void *be, const char *u, struct session_list **ret, struct err_info *ei)
{
	int r = sessions(ret, ei);

	for (size_t i = 0; r == 0 && i < (*ret)->n; i++)
		if (strcmp((*ret)->v[i].username, u) != 0)
			(*ret)->v[i].state = (free((*ret)->v[i].state), strdup("pre-auth"));
	if (r == 0)
		session_list_keep_authenticated(*ret);
	return r;
}

static int f_id(void *be, int64_t id, unsigned timeout_ms, struct session_list **ret,
		struct err_info *ei)
{
	return id == 13 ? f_user(be, "alice", ret, ei) : ERR_NOT_FOUND;
}

static int f_disc_id(void *be, int64_t id, struct err_info *ei)
{
	return id == 13 ? 0 : ERR_NOT_FOUND;
}

static int f_disc_user(void *be, const char *u, struct err_info *ei)
{
	return strcmp(u, "bob") == 0 ? 0 : ERR_OCCTL_FAILED;
}

static int f_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	return ocserv_version_parse("1.1.6", ret);
}

static const char cookies_json[] =
	"[{\"Session\":\"LpurJh\",\"Full session\":\"LpurJhpg3WRdTUrMxah0+kAobJc=\","
	"\"Created\":\"2026-11-21 20:12\",\"Expires\":\"2099-11-21 20:17\","
	"\"State\":\"authenticated\",\"Username\":\"alice\",\"session_is_open\":0,"
	"\"tls_auth_ok\":0,\"in_use\":0,}]";

static int f_cookies(void *be, bool valid, struct cookie_list **ret, struct err_info *ei)
{
	return cookie_list_parse_occtl(cookies_json, sizeof(cookies_json) - 1, ret, ei);
}

static int f_cookie(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	return strcmp(sid, "LpurJh") == 0 ? f_cookies(be, false, ret, ei) : ERR_NOT_FOUND;
}

static int f_iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	static const char t[] = "  {\n    \"ID\":  9485,\n    \"Username\":  \"bob\",\n"
				"    \"iRoutes\":\t[\"10.0.0.0/8\"],\n  }\n";

	return iroute_list_parse_occtl(t, sizeof(t) - 1, ret, ei);
}

static int f_bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	static const char t[] = "[{\"IP\":\"10.77.0.2\",\"Since\":\"2099-01-01 00:00\","
				"\"_Since\":\" 4m:59s\",\"Score\":30},]";

	return ban_list_parse_occtl(t, sizeof(t) - 1, 1700000000, ret, ei);
}

static int f_unban(void *be, const char *ip, struct err_info *ei)
{
	return strcmp(ip, "10.77.0.2") == 0 ? 0 : ERR_NOT_FOUND;
}

static int f_ok(void *be, struct err_info *ei)
{
	return 0;
}

static int f_term_id(void *be, int64_t id, struct err_info *ei)
{
	return ERR_NOT_SUPPORTED;
}

static int f_term_name(void *be, const char *s, struct err_info *ei)
{
	return ERR_NOT_SUPPORTED;
}

static void f_free(void *be) {}

static const struct ocserv_backend_ops fake = {
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
	.reload = f_ok,
	.terminate_id = f_term_id,
	.terminate_user = f_term_name,
	.terminate_cookie = f_term_name,
	.free = f_free,
};

/* A path ending in '/' takes the fuzz text as its last segment (as sent:
 * still percent-encoded) when the second byte says so. */
static const struct {
	const char *method, *path;
} routes[] = {
	{"GET", "/ocserv/health"},	  {"GET", "/ocserv/status"},
	{"GET", "/ocserv/sessions"},	  {"GET", "/ocserv/session"},
	{"POST", "/ocserv/disconnect"},	  {"POST", "/ocserv/disconnectAll"},
	{"GET", "/ocserv/radius-config"}, {"DELETE", "/ocserv/session"},
	{"GET", "/ocserv/users/"},	  {"GET", "/ocserv/sessions/"},
	{"GET", "/ocserv/cookies/"},	  {"GET", "/ocserv/cookies"},
	{"DELETE", "/ocserv/bans/"},	  {"GET", "/ocserv/bans"},
	{"GET", "/ocserv/ban-points"},	  {"GET", "/ocserv/iroutes"},
	{"POST", "/ocserv/terminate"},	  {"GET", "/ocserv/capabilities"},
	{"POST", "/ocserv/reload"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* ocserv_path does not exist: reload fails fast, without a process. */
	static struct agent_config cfg = {.token_current = "tok",
					  .radius_conf_path = "/nonexistent/radiusclient.conf",
					  .ocserv_path = "/nonexistent/ocserv",
					  .ocserv_conf_path = "/nonexistent/ocserv.conf",
					  .ocserv_check_timeout_ms = 1000};
	static struct agent ag = {.cfg = &cfg};
	char path[512];
	struct http_request rq = {.authorization = "Bearer tok"};
	struct http_response rs = {0};
	char *text;

	if (size < 2)
		return 0;
	if (ag.oc == NULL) {
		ag.oc = ocserv_new(&fake, NULL);
		ag.terminate.oc = ag.oc;
		ag.terminate.revoked = revoke_new();
		ag.terminate.conf_path = cfg.ocserv_conf_path;
	}
	text = strndup((const char *)data + 2, size - 2);
	rq.method = routes[data[0] % (sizeof(routes) / sizeof(routes[0]))].method;
	rq.path = routes[data[0] % (sizeof(routes) / sizeof(routes[0]))].path;
	rq.body = "";
	switch (data[1] % 4) {
	case 3:
		snprintf(path, sizeof(path), "%s%s", rq.path, text);
		rq.path = path;
		break;
	case 0:
		rq.body = text;
		rq.body_len = size - 2;
		break;
	case 1:
		rq.query[0].key = "vpnSessionId";
		rq.query[0].value = text;
		rq.n_query = 1;
		break;
	default:
		rq.query[0].key = "username";
		rq.query[0].value = text;
		rq.n_query = 1;
	}
	snprintf(rq.id, sizeof(rq.id), "fuzz-1");
	api_handle(&ag, &rq, &rs);
	/* The fake backend never fails: a 500 is a bug in the API layer. */
	if (rs.status == 500 || rs.body == NULL)
		abort();
	free(rs.body);
	free(text);
	return 0;
}
