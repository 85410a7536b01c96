/* GET /ocserv/iroutes: the routes clients provide, one entry per session. */
#include "api.h"

static json_t *strv_json(const struct strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < sv->n; i++)
		json_array_append_new(a, api_str(sv->v[i]));
	return a;
}

static int handle_iroutes(struct agent *ag, const struct http_request *rq,
			  const struct api_params *params, struct api_reply *rp)
{
	struct iroute_list *l = NULL;
	json_t *a;
	int r = ocserv_iroutes(ag->oc, &l, &rp->ei);

	if (r < 0)
		return r;
	a = json_array();
	for (size_t i = 0; a != NULL && i < l->n; i++) {
		const struct iroute *e = &l->v[i];
		json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "vpnSessionId",
						   api_int(e->id), "username", api_str(e->username),
						   "vhost", api_str(e->vhost), "device",
						   api_str(e->device), "ip", api_str(e->ip),
						   "iroutes", strv_json(&e->iroutes)));
	}
	rp->body = json_pack("{s:b,s:o,s:I}", "ok", 1, "iroutes", a, "count", (json_int_t)l->n);
	iroute_list_free(l);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory rendering iroutes");
}

const struct api_route api_route_iroutes = {"GET", "/ocserv/iroutes", handle_iroutes};
