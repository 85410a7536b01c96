#include "ocserv.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "subprocess.h"
#include "timefmt.h"

/* Coalescing (see ocserv.h). Each distinct read in flight or cached is one
 * flight in a small table keyed by the operation and its argument. The
 * first caller runs the backend call without holding the lock; callers of
 * the same key meanwhile wait on oc->landed and then copy the result. A
 * flight stays in the table after landing only while cache_ms allows and
 * nothing was written: a write unlinks every flight, running or not, so a
 * read in flight across a write is neither cached nor shared with callers
 * that come after the write. An unlinked flight lives on until its last
 * reader is done with it (refs). */

/* Longer arguments (no valid user name or cookie id is near it) are read
 * without coalescing rather than truncated into a wrong key. */
#define KEY_ARG_MAX 128
/* Bounds the table whatever clients ask for (e.g. cycling user names). */
#define FLIGHTS_MAX 256

enum read_op {
	OP_STATUS,
	OP_LIST,
	OP_USER,
	OP_ID,
	OP_COOKIES,
	OP_COOKIE,
	OP_IROUTES,
	OP_BANS,
	OP_BAN_POINTS,
};

/* One coalescable read: num is the timeout (status), the id, or valid_only. */
struct read_req {
	enum read_op op;
	const char *str;
	int64_t num;
};

struct flight {
	struct flight *prev, *next; /* in oc->flights while linked */
	enum read_op op;
	char arg[KEY_ARG_MAX];
	bool linked, running;
	unsigned refs; /* callers still to read it: the runner and its waiters */
	int err;
	struct err_info ei;
	void *result; /* read-only once landed; owned by the flight */
	int64_t landed_ms;
};

struct ocserv {
	const struct ocserv_backend_ops *ops;
	void *be;
	unsigned cache_ms;
	pthread_mutex_t lock;
	pthread_cond_t landed; /* a flight has landed */
	struct flight *flights;
	size_t n_flights;
	struct ocserv_coalesce_stats stats;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Results, by operation: deep copies for every caller but the one that
 * owns the original, since callers edit and free what they get. */
static int copy_json(const void *src, void **ret)
{
	json_t *j = json_deep_copy(src);

	if (j == NULL)
		return ERR_NOMEM;
	*ret = j;
	return 0;
}

static void free_json(void *v)
{
	json_decref(v);
}

#define LIST_KIND(type)                                     \
	static int copy_##type(const void *src, void **ret) \
	{                                                   \
		struct type *l;                             \
		int err = type##_copy(src, &l);             \
		if (err == 0)                               \
			*ret = l;                           \
		return err;                                 \
	}                                                   \
	static void free_##type(void *v)                    \
	{                                                   \
		type##_free(v);                             \
	}
LIST_KIND(session_list)
LIST_KIND(cookie_list)
LIST_KIND(iroute_list)
LIST_KIND(ban_list)
#undef LIST_KIND

struct result_kind {
	int (*copy)(const void *src, void **ret);
	void (*free)(void *v);
};

static const struct result_kind json_kind = {copy_json, free_json};
static const struct result_kind session_kind = {copy_session_list, free_session_list};
static const struct result_kind cookie_kind = {copy_cookie_list, free_cookie_list};
static const struct result_kind iroute_kind = {copy_iroute_list, free_iroute_list};
static const struct result_kind ban_kind = {copy_ban_list, free_ban_list};

static const struct result_kind *const kinds[] = {
	[OP_STATUS] = &json_kind,    [OP_LIST] = &session_kind,	  [OP_USER] = &session_kind,
	[OP_ID] = &session_kind,     [OP_COOKIES] = &cookie_kind, [OP_COOKIE] = &cookie_kind,
	[OP_IROUTES] = &iroute_kind, [OP_BANS] = &ban_kind,	  [OP_BAN_POINTS] = &ban_kind,
};

/* The backend call itself; *ret set on success only. */
static int backend_read(struct ocserv *oc, const struct read_req *rq, void **ret,
			struct err_info *ei)
{
	const struct ocserv_backend_ops *o = oc->ops;
	struct session_list *sl = NULL;
	struct cookie_list *cl = NULL;
	struct ban_list *bl = NULL;
	struct iroute_list *il = NULL;
	json_t *j = NULL;
	int err;

	switch (rq->op) {
	case OP_STATUS:
		err = o->status(oc->be, (unsigned)rq->num, &j, ei);
		*ret = j;
		return err;
	case OP_LIST:
		err = o->list(oc->be, &sl, ei);
		break;
	case OP_USER:
		err = o->user(oc->be, rq->str, &sl, ei);
		break;
	case OP_ID:
		err = o->id(oc->be, rq->num, 0, &sl, ei);
		break;
	case OP_COOKIES:
		err = o->cookies(oc->be, rq->num != 0, &cl, ei);
		*ret = cl;
		return err;
	case OP_COOKIE:
		err = o->cookie(oc->be, rq->str, &cl, ei);
		*ret = cl;
		return err;
	case OP_IROUTES:
		err = o->iroutes(oc->be, &il, ei);
		*ret = il;
		return err;
	case OP_BANS:
		err = o->bans(oc->be, &bl, ei);
		*ret = bl;
		return err;
	default:
		err = o->ban_points(oc->be, &bl, ei);
		*ret = bl;
		return err;
	}
	*ret = sl;
	return err;
}

/* The key's argument into buf; false when it is too long to coalesce. */
static bool key_arg(const struct read_req *rq, char buf[KEY_ARG_MAX])
{
	int n;

	if (rq->str != NULL)
		n = snprintf(buf, KEY_ARG_MAX, "%s", rq->str);
	else
		n = snprintf(buf, KEY_ARG_MAX, "%lld", (long long)rq->num);
	return n >= 0 && n < KEY_ARG_MAX;
}

static void flight_free(struct flight *f, void *result)
{
	if (result != NULL)
		kinds[f->op]->free(result);
	free(f);
}

static void unlink_flight(struct ocserv *oc, struct flight *f)
{
	if (!f->linked)
		return;
	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		oc->flights = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	f->prev = f->next = NULL;
	f->linked = false;
	oc->n_flights--;
	if (f->refs == 0)
		flight_free(f, f->result);
}

/* Drop every landed flight that has expired, and all of them when
 * every_landed (to make room). Running flights stay. */
static void drop_landed(struct ocserv *oc, int64_t now, bool every_landed)
{
	struct flight *f = oc->flights, *next;

	for (; f != NULL; f = next) {
		next = f->next;
		if (!f->running && (every_landed || now - f->landed_ms >= (int64_t)oc->cache_ms))
			unlink_flight(oc, f);
	}
}

static struct flight *find_flight(struct ocserv *oc, enum read_op op, const char *arg)
{
	for (struct flight *f = oc->flights; f != NULL; f = f->next)
		if (f->op == op && strcmp(f->arg, arg) == 0)
			return f;
	return NULL;
}

/* A new running flight for the runner, linked when there is room. NULL on
 * ENOMEM. */
static struct flight *start_flight(struct ocserv *oc, enum read_op op, const char *arg, int64_t now)
{
	struct flight *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->op = op;
	memcpy(f->arg, arg, strlen(arg) + 1);
	f->running = true;
	f->refs = 1;
	if (oc->n_flights >= FLIGHTS_MAX)
		drop_landed(oc, now, true);
	if (oc->n_flights < FLIGHTS_MAX) {
		f->next = oc->flights;
		if (f->next != NULL)
			f->next->prev = f;
		oc->flights = f;
		f->linked = true;
		oc->n_flights++;
	}
	return f;
}

/* Let go of f (lock held); the last reader of an unlinked flight frees it. */
static void release_flight(struct ocserv *oc, struct flight *f)
{
	if (--f->refs == 0 && !f->linked)
		flight_free(f, f->result);
}

/* A landed flight's answer for one more caller: its own copy of the
 * result, or the same error. Takes the lock to let go of f. */
static int answer_from(struct ocserv *oc, struct flight *f, void **ret, struct err_info *ei)
{
	int err = f->err;

	if (err < 0) {
		if (ei != NULL)
			*ei = f->ei;
	} else if ((err = kinds[f->op]->copy(f->result, ret)) < 0) {
		err_set(ei, err, "out of memory copying a shared result");
	}
	pthread_mutex_lock(&oc->lock);
	release_flight(oc, f);
	pthread_mutex_unlock(&oc->lock);
	return err;
}

/* Record what the runner got, wake the waiters; lock held. Returns true
 * when the runner may keep the original (nobody else will read it). */
static bool land(struct ocserv *oc, struct flight *f, int err, void *result,
		 const struct err_info *ei)
{
	f->running = false;
	f->err = err;
	f->ei = *ei;
	f->result = err < 0 ? NULL : result;
	f->landed_ms = now_ms();
	if (err < 0 || oc->cache_ms == 0)
		unlink_flight(oc, f); /* refs > 0: not freed here */
	pthread_cond_broadcast(&oc->landed);
	if (f->refs > 1 || f->linked)
		return false;
	f->result = NULL;
	flight_free(f, NULL);
	return true;
}

/* Run the read as the first caller of its key, or without coalescing
 * when f is NULL. */
static int run_read(struct ocserv *oc, struct flight *f, const struct read_req *rq, void **ret,
		    struct err_info *ei)
{
	struct err_info mine = {{0}};
	void *result = NULL;
	int err = backend_read(oc, rq, &result, &mine);

	/* On failure *ret means nothing (the occtl backend may leave a freed
	 * pointer there): never read it. */
	if (err < 0)
		result = NULL;
	if (ei != NULL)
		*ei = mine;
	if (f == NULL)
		goto own;
	pthread_mutex_lock(&oc->lock);
	if (land(oc, f, err, result, &mine)) {
		pthread_mutex_unlock(&oc->lock);
		goto own;
	}
	pthread_mutex_unlock(&oc->lock);
	return answer_from(oc, f, ret, ei);
own:
	if (err == 0)
		*ret = result;
	return err;
}

static int coalesced_read(struct ocserv *oc, const struct read_req *rq, void **ret,
			  struct err_info *ei)
{
	char arg[KEY_ARG_MAX];
	struct flight *f = NULL;
	bool coalesce = key_arg(rq, arg);
	int64_t now = now_ms();

	pthread_mutex_lock(&oc->lock);
	if (coalesce) {
		drop_landed(oc, now, false);
		f = find_flight(oc, rq->op, arg);
	}
	if (f != NULL) {
		f->refs++;
		if (f->running)
			oc->stats.shared++;
		else
			oc->stats.cached++;
		while (f->running)
			pthread_cond_wait(&oc->landed, &oc->lock);
		pthread_mutex_unlock(&oc->lock);
		return answer_from(oc, f, ret, ei);
	}
	if (coalesce)
		f = start_flight(oc, rq->op, arg, now); /* NULL: read alone */
	oc->stats.backend_calls++;
	pthread_mutex_unlock(&oc->lock);
	return run_read(oc, f, rq, ret, ei);
}

/* Before and after every write: nothing read before the write ends is
 * reused after it (see the top of this file). */
static void invalidate(struct ocserv *oc)
{
	pthread_mutex_lock(&oc->lock);
	while (oc->flights != NULL)
		unlink_flight(oc, oc->flights);
	pthread_mutex_unlock(&oc->lock);
}

static int written(struct ocserv *oc, int err)
{
	invalidate(oc);
	return err;
}

struct ocserv *ocserv_new(const struct ocserv_backend_ops *ops, void *be)
{
	struct ocserv *oc = calloc(1, sizeof(*oc));

	if (oc == NULL) {
		ops->free(be);
		return NULL;
	}
	oc->ops = ops;
	oc->be = be;
	pthread_mutex_init(&oc->lock, NULL);
	pthread_cond_init(&oc->landed, NULL);
	return oc;
}

void ocserv_free(struct ocserv *oc)
{
	if (oc == NULL)
		return;
	invalidate(oc); /* no caller is left: every flight has landed */
	pthread_cond_destroy(&oc->landed);
	pthread_mutex_destroy(&oc->lock);
	oc->ops->free(oc->be);
	free(oc);
}

const char *ocserv_backend_name(const struct ocserv *oc)
{
	return oc->ops->name;
}

const char *ocserv_backend_in_use(const struct ocserv *oc)
{
	const char *name = oc->ops->in_use != NULL ? oc->ops->in_use(oc->be) : NULL;

	return name != NULL ? name : oc->ops->name;
}

void ocserv_set_cache(struct ocserv *oc, unsigned cache_ms)
{
	pthread_mutex_lock(&oc->lock);
	oc->cache_ms = cache_ms;
	pthread_mutex_unlock(&oc->lock);
}

void ocserv_coalesce_stats(struct ocserv *oc, struct ocserv_coalesce_stats *ret)
{
	pthread_mutex_lock(&oc->lock);
	*ret = oc->stats;
	pthread_mutex_unlock(&oc->lock);
}

/* The typed front of coalesced_read(). */
#define READ(type, ...)                                       \
	do {                                                  \
		struct read_req rq_ = {__VA_ARGS__};          \
		void *v_ = NULL;                              \
		int err_ = coalesced_read(oc, &rq_, &v_, ei); \
		if (err_ == 0)                                \
			*ret = (type *)v_;                    \
		return err_;                                  \
	} while (0)

int ocserv_status(struct ocserv *oc, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	/* The timeout is part of the key: a caller never waits beyond its own. */
	READ(json_t, .op = OP_STATUS, .num = timeout_ms);
}

int ocserv_list(struct ocserv *oc, struct session_list **ret, struct err_info *ei)
{
	READ(struct session_list, .op = OP_LIST);
}

int ocserv_user(struct ocserv *oc, const char *username, struct session_list **ret,
		struct err_info *ei)
{
	READ(struct session_list, .op = OP_USER, .str = username);
}

int ocserv_id(struct ocserv *oc, int64_t id, struct session_list **ret, struct err_info *ei)
{
	READ(struct session_list, .op = OP_ID, .num = id);
}

int ocserv_id_within(struct ocserv *oc, int64_t id, unsigned timeout_ms, struct session_list **ret,
		     struct err_info *ei)
{
	pthread_mutex_lock(&oc->lock);
	oc->stats.backend_calls++;
	pthread_mutex_unlock(&oc->lock);
	return oc->ops->id(oc->be, id, timeout_ms, ret, ei);
}

int ocserv_disconnect_id(struct ocserv *oc, int64_t id, struct err_info *ei)
{
	invalidate(oc);
	return written(oc, oc->ops->disconnect_id(oc->be, id, ei));
}

int ocserv_disconnect_user(struct ocserv *oc, const char *username, struct err_info *ei)
{
	invalidate(oc);
	return written(oc, oc->ops->disconnect_user(oc->be, username, ei));
}

int ocserv_version(struct ocserv *oc, struct ocserv_version *ret, struct err_info *ei)
{
	return oc->ops->version(oc->be, ret, ei);
}

void ocserv_version_or_unknown(struct ocserv *oc, struct ocserv_version *ret)
{
	struct err_info ei = {{0}};

	if (ocserv_version(oc, ret, &ei) < 0)
		memset(ret, 0, sizeof(*ret));
}

int ocserv_cookies(struct ocserv *oc, bool valid_only, struct cookie_list **ret,
		   struct err_info *ei)
{
	READ(struct cookie_list, .op = OP_COOKIES, .num = valid_only);
}

int ocserv_cookie(struct ocserv *oc, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	READ(struct cookie_list, .op = OP_COOKIE, .str = sid);
}

int ocserv_iroutes(struct ocserv *oc, struct iroute_list **ret, struct err_info *ei)
{
	READ(struct iroute_list, .op = OP_IROUTES);
}

int ocserv_bans(struct ocserv *oc, struct ban_list **ret, struct err_info *ei)
{
	READ(struct ban_list, .op = OP_BANS);
}

int ocserv_ban_points(struct ocserv *oc, struct ban_list **ret, struct err_info *ei)
{
	READ(struct ban_list, .op = OP_BAN_POINTS);
}

int ocserv_unban(struct ocserv *oc, const char *ip, struct err_info *ei)
{
	invalidate(oc);
	return written(oc, oc->ops->unban(oc->be, ip, ei));
}

int ocserv_reload(struct ocserv *oc, struct err_info *ei)
{
	invalidate(oc);
	return written(oc, oc->ops->reload(oc->be, ei));
}

int ocserv_terminate_id(struct ocserv *oc, int64_t id, struct err_info *ei)
{
	invalidate(oc);
	return written(oc, oc->ops->terminate_id(oc->be, id, ei));
}

int ocserv_terminate_user(struct ocserv *oc, const char *username, struct err_info *ei)
{
	invalidate(oc);
	return written(oc, oc->ops->terminate_user(oc->be, username, ei));
}

int ocserv_terminate_cookie(struct ocserv *oc, const char *sid, struct err_info *ei)
{
	invalidate(oc);
	return written(oc, oc->ops->terminate_cookie(oc->be, sid, ei));
}

void ocserv_version_cache_init(struct ocserv_version_cache *vc)
{
	memset(vc, 0, sizeof(*vc));
	pthread_mutex_init(&vc->lock, NULL);
}

void ocserv_version_cache_destroy(struct ocserv_version_cache *vc)
{
	pthread_mutex_destroy(&vc->lock);
}

int ocserv_version_cache_get(struct ocserv_version_cache *vc, const char *path, bool stdout_too,
			     unsigned timeout_ms, struct ocserv_version *ret, struct err_info *ei)
{
	char *const argv[] = {(char *)path, "-v", NULL};
	struct spawn_result res;
	int64_t now = timefmt_mono_ms();
	int r;

	pthread_mutex_lock(&vc->lock);
	if (vc->at != 0 && now - vc->at < OCSERV_VERSION_TTL_MS) {
		*ret = vc->version;
		pthread_mutex_unlock(&vc->lock);
		return 0;
	}
	pthread_mutex_unlock(&vc->lock);
	r = spawn_run(argv, timeout_ms, 4096, &res, ei);
	if (r < 0)
		return r;
	if (res.outcome == SPAWN_NOT_FOUND)
		r = err_set(ei, ERR_OCCTL_NOT_FOUND, "cannot execute %s", path);
	else if (res.outcome != SPAWN_EXITED ||
		 ((!stdout_too || ocserv_version_parse(res.out, ret) < 0) &&
		  ocserv_version_parse(res.err, ret) < 0))
		r = err_set(ei, ERR_OCCTL_FAILED, "%s -v printed no version", path);
	spawn_result_free(&res);
	if (r == 0) {
		pthread_mutex_lock(&vc->lock);
		vc->version = *ret;
		vc->at = now ? now : 1;
		pthread_mutex_unlock(&vc->lock);
	}
	return r;
}

int ocserv_version_parse(const char *text, struct ocserv_version *ret)
{
	const char *p = text, *best = NULL;
	unsigned a, b, c;
	int n;

	memset(ret, 0, sizeof(*ret));
	/* The first "N.N.N" on the first line: `occtl -v` prints
	 * "OpenConnect server control (occtl) version 1.1.6". */
	for (; *p != '\0' && *p != '\n'; p++) {
		if (!isdigit((unsigned char)*p) || (p > text && isdigit((unsigned char)p[-1])))
			continue;
		if (sscanf(p, "%u.%u.%u%n", &a, &b, &c, &n) == 3) {
			best = p;
			break;
		}
	}
	if (best == NULL)
		return ERR_OCCTL_FAILED;
	ret->major = a;
	ret->minor = b;
	ret->patch = c;
	snprintf(ret->text, sizeof(ret->text), "%u.%u.%u", a, b, c);
	return 0;
}

bool ocserv_version_at_least(const struct ocserv_version *v, unsigned major, unsigned minor,
			     unsigned patch)
{
	if (v->text[0] == '\0')
		return false;
	if (v->major != major)
		return v->major > major;
	if (v->minor != minor)
		return v->minor > minor;
	return v->patch >= patch;
}
