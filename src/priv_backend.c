#include "priv_backend.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "priv_codec.h"
#include "timefmt.h"

/* /ocserv/status and health name the backend in use: asked at most this
 * often (auto switches between ctl and occtl only after failures). */
#define IN_USE_TTL_MS 1000

struct pb {
	struct priv *p;
	pthread_mutex_t lock; /* in_use, in_use_at */
	const char *in_use;   /* static: one of known_names, or NULL */
	int64_t in_use_at;    /* monotonic ms; 0: never asked */
};

/* priv_call() under the thread's request id, its error detail into ei. */
static int call(struct pb *b, enum priv_op op, json_t *args, json_t **ret, struct err_info *ei)
{
	struct priv_error pe;
	int r = priv_call(b->p, NULL, op, args, ret, &pe);

	if (r < 0 && ei != NULL)
		*ei = pe.ei;
	priv_error_clear(&pe);
	return r;
}

static int status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	json_t *args = timeout_ms > 0 ? json_pack("{s:I}", "timeoutMs", (json_int_t)timeout_ms)
				      : json_object();
	json_t *res = NULL;
	int r = call(be, PRIV_OCSERV_STATUS, args, &res, ei);

	if (r == 0 && !json_is_object(res)) {
		json_decref(res);
		return err_set(ei, ERR_PRIV_PROTOCOL, "ocserv.status: the result is not an object");
	}
	if (r == 0)
		*ret = res;
	return r;
}

/* Call op and decode its session list. */
static int sessions(void *be, enum priv_op op, json_t *args, struct session_list **ret,
		    struct err_info *ei)
{
	json_t *res = NULL;
	int r = call(be, op, args, &res, ei);

	if (r == 0)
		r = priv_decode_sessions(res, ret, ei);
	json_decref(res);
	return r;
}

static int list(void *be, struct session_list **ret, struct err_info *ei)
{
	return sessions(be, PRIV_OCSERV_LIST, json_object(), ret, ei);
}

static int user(void *be, const char *username, struct session_list **ret, struct err_info *ei)
{
	return sessions(be, PRIV_OCSERV_USER, json_pack("{s:s}", "username", username), ret, ei);
}

static int id(void *be, int64_t sid, unsigned timeout_ms, struct session_list **ret,
	      struct err_info *ei)
{
	json_t *args = timeout_ms > 0 ? json_pack("{s:I,s:I}", "id", (json_int_t)sid, "timeoutMs",
						  (json_int_t)timeout_ms)
				      : json_pack("{s:I}", "id", (json_int_t)sid);

	return sessions(be, PRIV_OCSERV_ID, args, ret, ei);
}

/* Call a write op: its result is {}. */
static int write_op(void *be, enum priv_op op, json_t *args, struct err_info *ei)
{
	json_t *res = NULL;
	int r = call(be, op, args, &res, ei);

	json_decref(res);
	return r;
}

static int disconnect_id(void *be, int64_t sid, struct err_info *ei)
{
	return write_op(be, PRIV_OCSERV_DISCONNECT_ID, json_pack("{s:I}", "id", (json_int_t)sid),
			ei);
}

static int disconnect_user(void *be, const char *username, struct err_info *ei)
{
	return write_op(be, PRIV_OCSERV_DISCONNECT_USER, json_pack("{s:s}", "username", username),
			ei);
}

static int version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	json_t *res = NULL;
	int r = call(be, PRIV_OCSERV_VERSION, json_object(), &res, ei);

	if (r == 0)
		r = priv_decode_version(res, ret, ei);
	json_decref(res);
	return r;
}

static int cookie_op(void *be, enum priv_op op, json_t *args, struct cookie_list **ret,
		     struct err_info *ei)
{
	json_t *res = NULL;
	int r = call(be, op, args, &res, ei);

	if (r == 0)
		r = priv_decode_cookies(res, ret, ei);
	json_decref(res);
	return r;
}

static int cookies(void *be, bool valid_only, struct cookie_list **ret, struct err_info *ei)
{
	return cookie_op(be, PRIV_OCSERV_COOKIES, json_pack("{s:b}", "validOnly", valid_only), ret,
			 ei);
}

static int cookie(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	return cookie_op(be, PRIV_OCSERV_COOKIE, json_pack("{s:s}", "sid", sid), ret, ei);
}

static int iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	json_t *res = NULL;
	int r = call(be, PRIV_OCSERV_IROUTES, json_object(), &res, ei);

	if (r == 0)
		r = priv_decode_iroutes(res, ret, ei);
	json_decref(res);
	return r;
}

static int ban_op(void *be, enum priv_op op, struct ban_list **ret, struct err_info *ei)
{
	json_t *res = NULL;
	int r = call(be, op, json_object(), &res, ei);

	if (r == 0)
		r = priv_decode_bans(res, ret, ei);
	json_decref(res);
	return r;
}

static int bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	return ban_op(be, PRIV_OCSERV_BANS, ret, ei);
}

static int ban_points(void *be, struct ban_list **ret, struct err_info *ei)
{
	return ban_op(be, PRIV_OCSERV_BAN_POINTS, ret, ei);
}

static int unban(void *be, const char *ip, struct err_info *ei)
{
	return write_op(be, PRIV_OCSERV_UNBAN, json_pack("{s:s}", "ip", ip), ei);
}

static int reload(void *be, struct err_info *ei)
{
	return write_op(be, PRIV_OCSERV_RELOAD, json_object(), ei);
}

static int terminate_id(void *be, int64_t sid, struct err_info *ei)
{
	return write_op(be, PRIV_OCSERV_TERMINATE_ID, json_pack("{s:I}", "id", (json_int_t)sid),
			ei);
}

static int terminate_user(void *be, const char *username, struct err_info *ei)
{
	return write_op(be, PRIV_OCSERV_TERMINATE_USER, json_pack("{s:s}", "username", username),
			ei);
}

static int terminate_cookie(void *be, const char *sid, struct err_info *ei)
{
	return write_op(be, PRIV_OCSERV_TERMINATE_COOKIE, json_pack("{s:s}", "sid", sid), ei);
}

/* The root side's answer as one of our own strings (the pointer outlives
 * any reply), or NULL for a name we do not know. */
static const char *known_name(const char *s)
{
	static const char *const known_names[] = {"ctl", "occtl", "auto"};

	for (size_t i = 0; s != NULL && i < sizeof(known_names) / sizeof(known_names[0]); i++)
		if (strcmp(known_names[i], s) == 0)
			return known_names[i];
	return NULL;
}

/* The cached answer while fresh, else ask; a failed question keeps the
 * last answer (NULL before any: ocserv.h then says "priv"). */
static const char *in_use(void *be)
{
	struct pb *b = be;
	int64_t now = timefmt_mono_ms();
	const char *name;
	json_t *res = NULL;

	pthread_mutex_lock(&b->lock);
	name = b->in_use;
	if (b->in_use_at != 0 && now - b->in_use_at < IN_USE_TTL_MS) {
		pthread_mutex_unlock(&b->lock);
		return name;
	}
	pthread_mutex_unlock(&b->lock);
	if (call(b, PRIV_OCSERV_BACKEND_IN_USE, json_object(), &res, NULL) == 0) {
		name = known_name(json_string_value(json_object_get(res, "name")));
		pthread_mutex_lock(&b->lock);
		b->in_use = name;
		b->in_use_at = now;
		pthread_mutex_unlock(&b->lock);
	}
	json_decref(res);
	return name;
}

static void pb_free(void *be)
{
	struct pb *b = be;

	pthread_mutex_destroy(&b->lock);
	free(b);
}

static const struct ocserv_backend_ops priv_backend_ops = {
	.name = "priv",
	.status = status,
	.list = list,
	.user = user,
	.id = id,
	.disconnect_id = disconnect_id,
	.disconnect_user = disconnect_user,
	.version = version,
	.cookies = cookies,
	.cookie = cookie,
	.iroutes = iroutes,
	.bans = bans,
	.ban_points = ban_points,
	.unban = unban,
	.reload = reload,
	.terminate_id = terminate_id,
	.terminate_user = terminate_user,
	.terminate_cookie = terminate_cookie,
	.in_use = in_use,
	.free = pb_free,
};

struct ocserv *priv_backend_new(struct priv *p)
{
	struct pb *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->p = p;
	if (pthread_mutex_init(&b->lock, NULL) != 0) {
		free(b);
		return NULL;
	}
	return ocserv_new(&priv_backend_ops, b);
}
