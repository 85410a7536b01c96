/* GET /ocserv/bans, GET /ocserv/ban-points, DELETE /ocserv/bans/{ip}. */
#include "api.h"
#include "ipaddr.h"
#include "log.h"
#include "timefmt.h"

static json_t *ban_json(const struct ban *b, bool points)
{
	char iso[40];

	if (points)
		return json_pack("{s:o,s:o}", "ip", api_str(b->ip), "score", api_int(b->score));
	return json_pack("{s:o,s:o,s:o,s:o}", "ip", api_str(b->ip), "score", api_int(b->score),
			 "expires",
			 b->expires >= 0 && timefmt_epoch_iso8601(b->expires, iso, sizeof(iso))
				 ? json_string(iso)
				 : json_null(),
			 "expiresEpoch", api_int(b->expires));
}

static int reply_bans(struct api_reply *rp, struct ban_list *l, bool points)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < l->n; i++)
		if (json_array_append_new(a, ban_json(&l->v[i], points)) < 0)
			break;
	rp->body = json_pack("{s:b,s:o,s:I}", "ok", 1, points ? "banPoints" : "bans", a, "count",
			     (json_int_t)l->n);
	ban_list_free(l);
	return rp->body ? 0 : err_set(&rp->ei, ERR_NOMEM, "out of memory rendering bans");
}

static int handle_bans(struct agent *ag, const struct http_request *rq,
		       const struct api_params *params, struct api_reply *rp)
{
	struct ban_list *l = NULL;
	int r = ocserv_bans(ag->oc, &l, &rp->ei);

	return r < 0 ? r : reply_bans(rp, l, false);
}

static int handle_ban_points(struct agent *ag, const struct http_request *rq,
			     const struct api_params *params, struct api_reply *rp)
{
	struct ban_list *l = NULL;
	int r = ocserv_ban_points(ag->oc, &l, &rp->ei);

	return r < 0 ? r : reply_bans(rp, l, true);
}

static int handle_unban(struct agent *ag, const struct http_request *rq,
			const struct api_params *params, struct api_reply *rp)
{
	char ip[IPADDR_TEXT_MAX];
	int r;

	if (ipaddr_normalize(params->v[0], ip, sizeof(ip)) < 0)
		return api_fail(rp, ERR_BAD_REQUEST, "not an IPv4 or IPv6 address");
	r = ocserv_unban(ag->oc, ip, &rp->ei);
	log_msg(LOG_NOTICE, rq->id, "audit op=unban ip=%s result=%s", ip,
		r == 0 ? "unbanned" : err_code(r));
	if (r == ERR_NOT_FOUND)
		return api_fail(rp, r, "ocserv has no ban entry for %s", ip);
	if (r < 0)
		return r;
	rp->body = json_pack("{s:b,s:b,s:s}", "ok", 1, "deleted", 1, "ip", ip);
	return 0;
}

const struct api_route api_route_bans = {"GET", "/ocserv/bans", handle_bans};
const struct api_route api_route_ban_points = {"GET", "/ocserv/ban-points", handle_ban_points};
const struct api_route api_route_unban = {"DELETE", "/ocserv/bans/{}", handle_unban};
