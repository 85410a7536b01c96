/* GET /ocserv/status */
#include "api.h"

static int handle_status(struct agent *ag, const struct http_request *rq,
			 const struct api_params *params, struct api_reply *rp)
{
	json_t *st;
	int r = ocserv_status(ag->oc, 0, &st, &rp->ei);

	if (r < 0)
		return r;
	rp->body = json_pack("{s:b,s:o}", "ok", 1, "status", st);
	return 0;
}

const struct api_route api_route_status = {"GET", "/ocserv/status", handle_status};
