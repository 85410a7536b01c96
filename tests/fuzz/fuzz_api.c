/* Untrusted requests into the API: the first byte picks a route and method,
 * the second how the rest is used (body, or the value of a query argument).
 * The backend is a fake whose sessions come from a fixed occtl output, so
 * every handler path, validator and renderer runs without ocserv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "priv_backend.h"
#include "priv_ops.h"
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
	const char *method, *path; /* "{}": a path parameter */
	bool files;		   /* reaches files on the root side: may answer 500 */
} routes[] = {
	{"GET", "/ocserv/health", false},
	{"GET", "/ocserv/status", false},
	{"GET", "/ocserv/sessions", false},
	{"GET", "/ocserv/session", false},
	{"POST", "/ocserv/disconnect", false},
	{"POST", "/ocserv/disconnectAll", false},
	{"GET", "/ocserv/radius-config", true},
	{"GET", "/ocserv/users/{}", false},
	{"GET", "/ocserv/sessions/{}", false},
	{"GET", "/ocserv/cookies/{}", false},
	{"GET", "/ocserv/cookies", false},
	{"DELETE", "/ocserv/bans/{}", false},
	{"GET", "/ocserv/bans", false},
	{"GET", "/ocserv/ban-points", false},
	{"GET", "/ocserv/iroutes", false},
	{"POST", "/ocserv/terminate", false},
	{"GET", "/ocserv/capabilities", true},
	{"POST", "/ocserv/reload", true},
	{"GET", "/ocserv/events", false},
	{"GET", "/ocserv/service", true},
	{"POST", "/ocserv/service/{}", true},
	{"GET", "/ocserv/accounts", true},
	{"GET", "/ocserv/accounts/export", true},
	{"POST", "/ocserv/accounts/import", true},
	{"GET", "/ocserv/accounts/{}", true},
	{"PUT", "/ocserv/accounts/{}", true},
	{"PATCH", "/ocserv/accounts/{}", true},
	{"DELETE", "/ocserv/accounts/{}", true},
	{"POST", "/ocserv/accounts/{}/lock", true},
	{"POST", "/ocserv/accounts/{}/unlock", true},
	{"GET", "/ocserv/config/users", true},
	{"GET", "/ocserv/config/users/{}", true},
	{"PUT", "/ocserv/config/users/{}", true},
	{"PATCH", "/ocserv/config/users/{}", true},
	{"DELETE", "/ocserv/config/users/{}", true},
	{"GET", "/ocserv/config/groups", true},
	{"GET", "/ocserv/config/groups/{}", true},
	{"PUT", "/ocserv/config/groups/{}", true},
	{"PATCH", "/ocserv/config/groups/{}", true},
	{"DELETE", "/ocserv/config/groups/{}", true},
	{"GET", "/ocserv/config", true},
	{"PATCH", "/ocserv/config", true},
	{"GET", "/ocserv/config/schema", false},
	{"GET", "/ocserv/config/backups", true},
	{"GET", "/ocserv/config/backups/{}", true},
	{"POST", "/ocserv/config/backups/{}/restore", true},
};

static const char *const query_keys[] = {"vpnSessionId", "username", "group", "locked",
					 "tier",	 "raw",	     "valid", "type",
					 "since",	 "limit",    "offset"};

/* path with each "{}" replaced by param (at most out's size). */
static void fill_path(const char *path, const char *param, char *out, size_t len)
{
	const char *p = strstr(path, "{}");

	if (p == NULL)
		snprintf(out, len, "%s", path);
	else
		snprintf(out, len, "%.*s%s%s", (int)(p - path), path, param, p + 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Paths that do not exist: every file and program on the root side
	 * fails fast, after the checks this target is for. */
	static struct agent_config cfg = {.token_current = "tok",
					  .radius_conf_path = "/nonexistent/radiusclient.conf",
					  .ocserv_path = "/nonexistent/ocserv",
					  .ocserv_conf_path = "/nonexistent/ocserv.conf",
					  .ocpasswd_path = "/nonexistent/ocpasswd",
					  .state_dir = "/nonexistent/state",
					  .conf_backup_dir = "/nonexistent/backups",
					  .systemctl_path = "/nonexistent/systemctl",
					  .openconnect_path = "/nonexistent/openconnect",
					  .ocserv_unit = "ocserv.service",
					  .ocserv_check_timeout_ms = 1000,
					  .systemctl_timeout_ms = 1000,
					  .max_body_bytes = 65536,
					  .max_json_depth = 32};
	static struct priv_root root = {.cfg = &cfg};
	static struct agent ag = {.cfg = &cfg};
	char path[512];
	struct http_request rq = {.authorization = "Bearer tok"};
	struct http_response rs = {0};
	size_t route;
	char *text;

	if (size < 2)
		return 0;
	if (ag.priv == NULL) {
		root.oc = ocserv_new(&fake, NULL);
		root.accounts.path = cfg.ocpasswd_path;
		ag.priv = priv_local_new(&root);
		/* through the boundary's codec, as in the agent */
		ag.oc = priv_backend_new(ag.priv);
		ag.terminate.oc = ag.oc;
		ag.terminate.priv = ag.priv;
		ag.terminate.revoked = revoke_new();
	}
	/* a copy with a NUL after it: the body may hold NULs of its own */
	text = malloc(size - 1);
	memcpy(text, data + 2, size - 2);
	text[size - 2] = '\0';
	route = data[0] % (sizeof(routes) / sizeof(routes[0]));
	rq.method = routes[route].method;
	fill_path(routes[route].path, "alice", path, sizeof(path));
	rq.path = path;
	rq.body = "";
	switch (data[1] % 5) {
	case 0:
		rq.body = text;
		rq.body_len = size - 2;
		break;
	case 1:
		fill_path(routes[route].path, text, path, sizeof(path));
		break;
	case 2:
		rq.if_match = text;
		rq.body = "{\"set\":{\"max-clients\":5}}";
		rq.body_len = strlen(rq.body);
		break;
	default:
		rq.query[0].key = (char *)
			query_keys[(data[1] / 5) % (sizeof(query_keys) / sizeof(query_keys[0]))];
		rq.query[0].value = text;
		rq.n_query = 1;
	}
	snprintf(rq.id, sizeof(rq.id), "fuzz-1");
	api_handle(&ag, &rq, &rs);
	/* The fake backend never fails: a 500 there is a bug in the API layer
	 * or at the boundary. */
	if (rs.body == NULL || (rs.status == 500 && !routes[route].files))
		abort();
	free(rs.body);
	free(text);
	return 0;
}
