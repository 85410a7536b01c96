/* Untrusted requests into the API: the first byte picks a route and method,
 * the second how the rest is used (body, or the value of a query argument).
 * The backend is a fake whose sessions come from a fixed occtl output, so
 * every handler path, validator and renderer runs without ocserv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz.h"

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

static int f_id(void *be, int64_t id, struct session_list **ret, struct err_info *ei)
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

static void f_free(void *be) {}

static const struct ocserv_backend_ops fake = {"fake", f_status,  f_list,      f_user,
					       f_id,   f_disc_id, f_disc_user, f_free};

static const struct {
	const char *method, *path;
} routes[] = {
	{"GET", "/ocserv/health"},	  {"GET", "/ocserv/status"},
	{"GET", "/ocserv/sessions"},	  {"GET", "/ocserv/session"},
	{"POST", "/ocserv/disconnect"},	  {"POST", "/ocserv/disconnectAll"},
	{"GET", "/ocserv/radius-config"}, {"DELETE", "/ocserv/session"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agent_config cfg = {.token_current = "tok",
					  .radius_conf_path = "/nonexistent/radiusclient.conf"};
	static struct agent ag = {.cfg = &cfg};
	struct http_request rq = {.authorization = "Bearer tok"};
	struct http_response rs = {0};
	char *text;

	if (size < 2)
		return 0;
	if (ag.oc == NULL)
		ag.oc = ocserv_new(&fake, NULL);
	text = strndup((const char *)data + 2, size - 2);
	rq.method = routes[data[0] % (sizeof(routes) / sizeof(routes[0]))].method;
	rq.path = routes[data[0] % (sizeof(routes) / sizeof(routes[0]))].path;
	rq.body = "";
	switch (data[1] % 3) {
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
