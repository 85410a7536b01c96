/* The ocserv operations of the privilege boundary (priv_ops.h): each runs
 * the matching ocserv_* call on r->oc, the real backend, and returns its
 * result encoded with priv_codec.h. The arguments are checked with the
 * API's own rules: user names with validate_username, ids as pids, session
 * ids as the cookie endpoints accept them, addresses in the normalised form
 * DELETE /ocserv/bans/{ip} produces. Backend errors keep their ERR_* (the
 * api side tells ERR_NOT_FOUND apart) with the detail in pe->ei. */
#include <stdio.h>
#include <string.h>

#include "ipaddr.h"
#include "priv_codec.h"
#include "priv_events.h"
#include "priv_ops.h"
#include "terminate.h"
#include "validate.h"

#define SID_MAX	       64      /* api_cookies.c: short or full, base64 */
#define TIMEOUT_MAX_MS 3600000 /* an hour: far above any real deadline */

/* ---- argument checks ---- */

static const char *check_sid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
		return "is not a session id (base64 text)";
	return NULL;
}

/* The api side normalises (ipaddr_normalize) before it asks: anything else
 * would name another entry in ocserv's ban list. */
static const char *check_ip(const char *s)
{
	char norm[IPADDR_TEXT_MAX];

	if (ipaddr_normalize(s, norm, sizeof(norm)) < 0 || strcmp(norm, s) != 0)
		return "is not a normalised IPv4 or IPv6 address";
	return NULL;
}

#define USERNAME                                                               \
	{                                                                      \
		.name = "username", .kind = PRIV_ARG_STRING, .required = true, \
		.max = USERNAME_MAX, .check = validate_username                \
	}
#define ID                                                                      \
	{                                                                       \
		.name = "id", .kind = PRIV_ARG_INT, .required = true, .min = 1, \
		.max = SESSION_ID_MAX                                           \
	}
#define SID                                                                               \
	{                                                                                 \
		.name = "sid", .kind = PRIV_ARG_STRING, .required = true, .max = SID_MAX, \
		.check = check_sid                                                        \
	}
#define TIMEOUT                                                                            \
	{                                                                                  \
		.name = "timeoutMs", .kind = PRIV_ARG_INT, .min = 1, .max = TIMEOUT_MAX_MS \
	}

static const struct priv_arg no_args[] = {{0}};
static const struct priv_arg status_args[] = {TIMEOUT, {0}};
static const struct priv_arg user_args[] = {USERNAME, {0}};
static const struct priv_arg id_args[] = {ID, {0}};
static const struct priv_arg id_timeout_args[] = {ID, TIMEOUT, {0}};
static const struct priv_arg sid_args[] = {SID, {0}};
static const struct priv_arg cookies_args[] = {
	{.name = "validOnly", .kind = PRIV_ARG_BOOL, .required = true},
	{0},
};
static const struct priv_arg ip_args[] = {
	{.name = "ip",
	 .kind = PRIV_ARG_STRING,
	 .required = true,
	 .max = IPADDR_TEXT_MAX - 1,
	 .check = check_ip},
	{0},
};

/* ---- results ---- */

static int done(int e, json_t **ret, struct priv_error *pe)
{
	if (e < 0)
		return e;
	*ret = json_object();
	return *ret ? 0 : err_set(&pe->ei, ERR_NOMEM, "out of memory");
}

/* The encoded list (or e), then the list freed with its own function. */
#define LIST_RESULT(e, l, encode, list_free)                                                  \
	do {                                                                                  \
		if ((e) == 0 && (*ret = encode(l)) == NULL)                                   \
			(e) = err_set(&pe->ei, ERR_NOMEM, "out of memory encoding a result"); \
		list_free(l);                                                                 \
		return (e);                                                                   \
	} while (0)

/* ---- the operations ---- */

static int run_status(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	(void)rid;
	return ocserv_status(r->oc, (unsigned)priv_arg_int(args, "timeoutMs", 0), ret, &pe->ei);
}

static int run_list(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		    struct priv_error *pe)
{
	struct session_list *l = NULL;
	int e = ocserv_list(r->oc, &l, &pe->ei);

	(void)rid, (void)args;
	LIST_RESULT(e, l, priv_codec_sessions, session_list_free);
}

static int run_user(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		    struct priv_error *pe)
{
	struct session_list *l = NULL;
	int e = ocserv_user(r->oc, priv_arg_str(args, "username"), &l, &pe->ei);

	(void)rid;
	LIST_RESULT(e, l, priv_codec_sessions, session_list_free);
}

static int run_id(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		  struct priv_error *pe)
{
	struct session_list *l = NULL;
	int64_t id = priv_arg_int(args, "id", 0), ms = priv_arg_int(args, "timeoutMs", 0);
	int e = ms > 0 ? ocserv_id_within(r->oc, id, (unsigned)ms, &l, &pe->ei)
		       : ocserv_id(r->oc, id, &l, &pe->ei);

	(void)rid;
	LIST_RESULT(e, l, priv_codec_sessions, session_list_free);
}

static int run_disconnect_id(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
			     struct priv_error *pe)
{
	(void)rid;
	return done(ocserv_disconnect_id(r->oc, priv_arg_int(args, "id", 0), &pe->ei), ret, pe);
}

static int run_disconnect_user(struct priv_root *r, const char *rid, const json_t *args,
			       json_t **ret, struct priv_error *pe)
{
	(void)rid;
	return done(ocserv_disconnect_user(r->oc, priv_arg_str(args, "username"), &pe->ei), ret,
		    pe);
}

static int run_version(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		       struct priv_error *pe)
{
	struct ocserv_version v;
	int e = ocserv_version(r->oc, &v, &pe->ei);

	(void)rid, (void)args;
	if (e == 0 && (*ret = priv_codec_version(&v)) == NULL)
		e = err_set(&pe->ei, ERR_NOMEM, "out of memory encoding a result");
	return e;
}

static int run_cookies(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		       struct priv_error *pe)
{
	struct cookie_list *l = NULL;
	int e = ocserv_cookies(r->oc, priv_arg_bool(args, "validOnly", false), &l, &pe->ei);

	(void)rid;
	LIST_RESULT(e, l, priv_codec_cookies, cookie_list_free);
}

static int run_cookie(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	struct cookie_list *l = NULL;
	int e = ocserv_cookie(r->oc, priv_arg_str(args, "sid"), &l, &pe->ei);

	(void)rid;
	LIST_RESULT(e, l, priv_codec_cookies, cookie_list_free);
}

static int run_iroutes(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		       struct priv_error *pe)
{
	struct iroute_list *l = NULL;
	int e = ocserv_iroutes(r->oc, &l, &pe->ei);

	(void)rid, (void)args;
	LIST_RESULT(e, l, priv_codec_iroutes, iroute_list_free);
}

static int run_bans(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		    struct priv_error *pe)
{
	struct ban_list *l = NULL;
	int e = ocserv_bans(r->oc, &l, &pe->ei);

	(void)rid, (void)args;
	LIST_RESULT(e, l, priv_codec_bans, ban_list_free);
}

static int run_ban_points(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
			  struct priv_error *pe)
{
	struct ban_list *l = NULL;
	int e = ocserv_ban_points(r->oc, &l, &pe->ei);

	(void)rid, (void)args;
	LIST_RESULT(e, l, priv_codec_bans, ban_list_free);
}

static int run_unban(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		     struct priv_error *pe)
{
	(void)rid;
	return done(ocserv_unban(r->oc, priv_arg_str(args, "ip"), &pe->ei), ret, pe);
}

static int run_reload(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	(void)rid, (void)args;
	return done(ocserv_reload(r->oc, &pe->ei), ret, pe);
}

static int run_terminate_id(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
			    struct priv_error *pe)
{
	(void)rid;
	return done(ocserv_terminate_id(r->oc, priv_arg_int(args, "id", 0), &pe->ei), ret, pe);
}

static int run_terminate_user(struct priv_root *r, const char *rid, const json_t *args,
			      json_t **ret, struct priv_error *pe)
{
	(void)rid;
	return done(ocserv_terminate_user(r->oc, priv_arg_str(args, "username"), &pe->ei), ret, pe);
}

static int run_terminate_cookie(struct priv_root *r, const char *rid, const json_t *args,
				json_t **ret, struct priv_error *pe)
{
	(void)rid;
	return done(ocserv_terminate_cookie(r->oc, priv_arg_str(args, "sid"), &pe->ei), ret, pe);
}

static int run_in_use(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
		      struct priv_error *pe)
{
	(void)rid, (void)args, (void)pe;
	*ret = json_pack("{s:s}", "name", ocserv_backend_in_use(r->oc));
	return 0; /* NULL: priv_dispatch reports ERR_NOMEM */
}

static int run_hook_configured(struct priv_root *r, const char *rid, const json_t *args,
			       json_t **ret, struct priv_error *pe)
{
	(void)rid, (void)args, (void)pe;
	*ret = json_pack("{s:b}", "configured", terminate_conf_runs_hook(r->cfg->ocserv_conf_path));
	return 0;
}

static int run_events_renew(struct priv_root *r, const char *rid, const json_t *args, json_t **ret,
			    struct priv_error *pe)
{
	(void)rid, (void)args;
	priv_events_root_renew(r->events);
	return done(0, ret, pe);
}

const struct priv_op_def priv_ops_ocserv[] = {
	{PRIV_OCSERV_STATUS, "ocserv.status", status_args, run_status},
	{PRIV_OCSERV_LIST, "ocserv.list", no_args, run_list},
	{PRIV_OCSERV_USER, "ocserv.user", user_args, run_user},
	{PRIV_OCSERV_ID, "ocserv.id", id_timeout_args, run_id},
	{PRIV_OCSERV_DISCONNECT_ID, "ocserv.disconnect_id", id_args, run_disconnect_id},
	{PRIV_OCSERV_DISCONNECT_USER, "ocserv.disconnect_user", user_args, run_disconnect_user},
	{PRIV_OCSERV_VERSION, "ocserv.version", no_args, run_version},
	{PRIV_OCSERV_COOKIES, "ocserv.cookies", cookies_args, run_cookies},
	{PRIV_OCSERV_COOKIE, "ocserv.cookie", sid_args, run_cookie},
	{PRIV_OCSERV_IROUTES, "ocserv.iroutes", no_args, run_iroutes},
	{PRIV_OCSERV_BANS, "ocserv.bans", no_args, run_bans},
	{PRIV_OCSERV_BAN_POINTS, "ocserv.ban_points", no_args, run_ban_points},
	{PRIV_OCSERV_UNBAN, "ocserv.unban", ip_args, run_unban},
	{PRIV_OCSERV_RELOAD, "ocserv.reload", no_args, run_reload},
	{PRIV_OCSERV_TERMINATE_ID, "ocserv.terminate_id", id_args, run_terminate_id},
	{PRIV_OCSERV_TERMINATE_USER, "ocserv.terminate_user", user_args, run_terminate_user},
	{PRIV_OCSERV_TERMINATE_COOKIE, "ocserv.terminate_cookie", sid_args, run_terminate_cookie},
	{PRIV_OCSERV_BACKEND_IN_USE, "ocserv.backend_in_use", no_args, run_in_use},
	{PRIV_OCSERV_HOOK_CONFIGURED, "ocserv.hook_configured", no_args, run_hook_configured},
	{PRIV_EVENTS_RENEW, "events.renew", no_args, run_events_renew},
	{.op = PRIV_OP_NONE},
};
