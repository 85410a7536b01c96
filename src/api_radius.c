/* GET /ocserv/radius-config: the RADIUS client identity, never a secret.
 * radcli's files (the servers file holds the shared secrets) are read on
 * the root side (priv_ops_system.c), which returns only whether a server
 * has a secret. */
#include "api.h"

static int handle_radius(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	json_t *radius = NULL;
	int r;

	(void)params;
	if ((r = api_priv(ag, rq, PRIV_RADIUS, json_object(), &radius, rp)) < 0)
		return r;
	rp->body = json_pack("{s:b,s:o}", "ok", 1, "radius", radius);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory");
}

const struct api_route api_route_radius = {"GET", "/ocserv/radius-config", handle_radius};
