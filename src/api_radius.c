/* GET /ocserv/radius-config: the RADIUS client identity, never a secret. */
#include "api.h"
#include "radius.h"

static json_t *port_json(int port)
{
	return port > 0 ? json_integer(port) : json_null();
}

static int handle_radius(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	struct radius_info ri;
	json_t *servers;

	if (radius_read(ag->cfg->radius_conf_path, ag->cfg->radius_servers_path, &ri) < 0)
		return err_set(&rp->ei, ERR_NOMEM, "out of memory reading RADIUS files");
	servers = json_array();
	for (size_t i = 0; servers != NULL && i < ri.n_servers; i++)
		json_array_append_new(servers,
				      json_pack("{s:o,s:b}", "host", api_str(ri.servers[i].host),
						"hasSecret", ri.servers[i].has_secret));
	rp->body = json_pack(
		"{s:b,s:{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}}", "ok", 1, "radius", "nasIdentifier",
		api_str(ri.nas_identifier), "authServer", api_str(ri.auth_server), "authServerPort",
		port_json(ri.auth_port), "acctServer", api_str(ri.acct_server), "acctServerPort",
		port_json(ri.acct_port), "radiusclientConfPath", api_str(ag->cfg->radius_conf_path),
		"serversFile", api_str(ri.servers_file), "servers", servers);
	radius_info_free(&ri);
	return 0;
}

const struct api_route api_route_radius = {"GET", "/ocserv/radius-config", handle_radius};
