/* ocserv.c's coalescing (single flight + cache) against a fake backend,
 * and the deep copies it hands out (session/cookie/iroute/ban _list_copy). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "ban.h"
#include "cookie.h"
#include "err.h"
#include "iroute.h"
#include "ocserv.h"
#include "session.h"
#include "unit.h"

#define NTHREADS 32

/* ---- the fake backend: counts calls, may hold them at a gate ---- */

struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool gate_closed; /* reads wait here while true */
	int entered;	  /* reads that reached the backend */
	int list_calls, user_calls, id_calls, status_calls, cookies_calls, writes;
	int read_err; /* returned by list (with detail "boom") when < 0 */
};

static struct fake fk = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void fake_reset(void)
{
	pthread_mutex_lock(&fk.lock);
	fk.gate_closed = false;
	fk.entered = fk.list_calls = fk.user_calls = fk.id_calls = 0;
	fk.status_calls = fk.cookies_calls = fk.writes = fk.read_err = 0;
	pthread_mutex_unlock(&fk.lock);
}

/* Count the call in *counter and wait while the gate is closed. */
static void enter(int *counter)
{
	pthread_mutex_lock(&fk.lock);
	(*counter)++;
	fk.entered++;
	pthread_cond_broadcast(&fk.cond);
	while (fk.gate_closed)
		pthread_cond_wait(&fk.cond, &fk.lock);
	pthread_mutex_unlock(&fk.lock);
}

static void gate(bool closed)
{
	pthread_mutex_lock(&fk.lock);
	fk.gate_closed = closed;
	pthread_cond_broadcast(&fk.cond);
	pthread_mutex_unlock(&fk.lock);
}

/* Wait (up to 5 s) until n reads have reached the backend. */
static bool wait_entered(int n)
{
	struct timespec until;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&fk.lock);
	while (ok && fk.entered < n)
		ok = pthread_cond_timedwait(&fk.cond, &fk.lock, &until) == 0;
	ok = fk.entered >= n;
	pthread_mutex_unlock(&fk.lock);
	return ok;
}

static int canned_sessions(const char *user, struct session_list **ret)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "[{\"ID\": 7, \"Username\": \"%s\", \"State\": \"connected\", "
		 "\"Routes\": [\"10.0.0.0/8\", \"10.1.0.0/16\"]}]",
		 user);
	return session_list_parse_occtl(text, strlen(text), 1000, ret, NULL);
}

static int f_status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	enter(&fk.status_calls);
	*ret = json_pack("{s:i, s:[i]}", "timeout", (int)timeout_ms, "list", 1);
	return *ret == NULL ? ERR_NOMEM : 0;
}

static int f_list(void *be, struct session_list **ret, struct err_info *ei)
{
	enter(&fk.list_calls);
	if (fk.read_err < 0)
		return err_set(ei, fk.read_err, "boom");
	return canned_sessions("alice", ret);
}

static int f_user(void *be, const char *username, struct session_list **ret, struct err_info *ei)
{
	enter(&fk.user_calls);
	return canned_sessions(username, ret);
}

static int f_id(void *be, int64_t id, unsigned timeout_ms, struct session_list **ret,
		struct err_info *ei)
{
	enter(&fk.id_calls);
	return canned_sessions("bob", ret);
}

static int f_write(void)
{
	pthread_mutex_lock(&fk.lock);
	fk.writes++;
	pthread_mutex_unlock(&fk.lock);
	return 0;
}

static int f_disc_id(void *be, int64_t id, struct err_info *ei)
{
	return f_write();
}

static int f_name_write(void *be, const char *name, struct err_info *ei)
{
	return f_write();
}

static int f_reload(void *be, struct err_info *ei)
{
	return f_write();
}

static int f_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	return ocserv_version_parse("1.5.0", ret);
}

static int f_cookies(void *be, bool valid_only, struct cookie_list **ret, struct err_info *ei)
{
	static const char text[] = "[{\"Session\": \"abc\", \"Username\": \"alice\"}]";

	enter(&fk.cookies_calls);
	return cookie_list_parse_occtl(text, strlen(text), ret, ei);
}

static int f_cookie(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	return f_cookies(be, false, ret, ei);
}

static int f_iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	return iroute_list_parse_occtl("[]", 2, ret, ei);
}

static int f_bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	return ban_list_parse_occtl("[]", 2, 0, ret, ei);
}

static void f_free(void *be) {}

static const struct ocserv_backend_ops fake_ops = {
	.name = "fake",
	.status = f_status,
	.list = f_list,
	.user = f_user,
	.id = f_id,
	.disconnect_id = f_disc_id,
	.disconnect_user = f_name_write,
	.version = f_version,
	.cookies = f_cookies,
	.cookie = f_cookie,
	.iroutes = f_iroutes,
	.bans = f_bans,
	.ban_points = f_bans,
	.unban = f_name_write,
	.reload = f_reload,
	.terminate_id = f_disc_id,
	.terminate_user = f_name_write,
	.terminate_cookie = f_name_write,
	.free = f_free,
};

static int setup(void **state)
{
	fake_reset();
	*state = ocserv_new(&fake_ops, NULL);
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	ocserv_free(*state);
	return 0;
}

static struct ocserv_coalesce_stats stats(struct ocserv *oc)
{
	struct ocserv_coalesce_stats s;

	ocserv_coalesce_stats(oc, &s);
	return s;
}

/* Wait (up to 5 s) until n callers are waiting on another's call. */
static bool wait_shared(struct ocserv *oc, uint64_t n)
{
	for (int i = 0; i < 5000 && stats(oc).shared < n; i++)
		usleep(1000);
	return stats(oc).shared >= n;
}

/* ---- callers in threads ---- */

struct caller {
	struct ocserv *oc;
	const char *user; /* NULL: ocserv_list */
	int err;
	struct err_info ei;
	size_t n;
	char name[64];
	pthread_t th;
};

/* Read, check, edit and free what it got, as a handler would. */
static void *call(void *arg)
{
	struct caller *c = arg;
	struct session_list *l = NULL;

	c->err = c->user != NULL ? ocserv_user(c->oc, c->user, &l, &c->ei)
				 : ocserv_list(c->oc, &l, &c->ei);
	if (c->err == 0) {
		c->n = l->n;
		snprintf(c->name, sizeof(c->name), "%s", l->n > 0 ? l->v[0].username : "");
		session_list_keep_user(l, "nobody"); /* edits in place */
		session_list_free(l);
	}
	return NULL;
}

static void start(struct caller *c, struct ocserv *oc, const char *user)
{
	memset(c, 0, sizeof(*c));
	c->oc = oc;
	c->user = user;
	assert_int_equal(pthread_create(&c->th, NULL, call, c), 0);
}

/* ---- single flight ---- */

static void same_list_one_backend_call(void **state)
{
	struct ocserv *oc = *state;
	struct caller c[NTHREADS];

	gate(true);
	for (int i = 0; i < NTHREADS; i++)
		start(&c[i], oc, NULL);
	assert_true(wait_entered(1));
	assert_true(wait_shared(oc, NTHREADS - 1));
	gate(false);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(c[i].th, NULL);
		assert_int_equal(c[i].err, 0);
		assert_int_equal(c[i].n, 1);
		assert_string_equal(c[i].name, "alice");
	}
	assert_int_equal(fk.list_calls, 1);
	assert_int_equal(stats(oc).backend_calls, 1);
	assert_int_equal(stats(oc).shared, NTHREADS - 1);
	assert_int_equal(stats(oc).cached, 0);
}

static void different_arguments_not_shared(void **state)
{
	static const char *users[] = {"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"};
	struct ocserv *oc = *state;
	struct caller c[8], all;

	gate(true);
	for (int i = 0; i < 8; i++)
		start(&c[i], oc, users[i]);
	start(&all, oc, NULL); /* list is another key than any user */
	/* Every one reaches the backend while the others are still in it. */
	assert_true(wait_entered(9));
	gate(false);
	for (int i = 0; i < 8; i++) {
		pthread_join(c[i].th, NULL);
		assert_int_equal(c[i].err, 0);
		assert_string_equal(c[i].name, users[i]);
	}
	pthread_join(all.th, NULL);
	assert_string_equal(all.name, "alice");
	assert_int_equal(fk.user_calls, 8);
	assert_int_equal(stats(oc).shared, 0);
}

static void status_timeout_is_part_of_key(void **state)
{
	struct ocserv *oc = *state;
	json_t *a = NULL, *b = NULL;

	ocserv_set_cache(oc, 60000);
	assert_int_equal(ocserv_status(oc, 0, &a, NULL), 0);
	assert_int_equal(ocserv_status(oc, 500, &b, NULL), 0);
	assert_int_equal(fk.status_calls, 2);
	assert_int_equal(json_integer_value(json_object_get(b, "timeout")), 500);
	json_decref(a);
	json_decref(b);
}

static void errors_shared_not_cached(void **state)
{
	struct ocserv *oc = *state;
	struct caller c[8];
	struct session_list *l = NULL;
	struct err_info ei = {{0}};

	ocserv_set_cache(oc, 60000);
	fk.read_err = ERR_OCCTL_TIMEOUT;
	gate(true);
	for (int i = 0; i < 8; i++)
		start(&c[i], oc, NULL);
	assert_true(wait_entered(1));
	assert_true(wait_shared(oc, 7));
	gate(false);
	for (int i = 0; i < 8; i++) {
		pthread_join(c[i].th, NULL);
		assert_int_equal(c[i].err, ERR_OCCTL_TIMEOUT);
		assert_string_equal(c[i].ei.detail, "boom");
	}
	assert_int_equal(fk.list_calls, 1);
	/* Not cached: the next call asks again, and now succeeds. */
	fk.read_err = 0;
	assert_int_equal(ocserv_list(oc, &l, &ei), 0);
	assert_int_equal(fk.list_calls, 2);
	assert_int_equal(l->n, 1);
	session_list_free(l);
}

/* ---- the cache ---- */

static void no_cache_by_default(void **state)
{
	struct ocserv *oc = *state;
	struct session_list *l;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(ocserv_list(oc, &l, NULL), 0);
		session_list_free(l);
	}
	assert_int_equal(fk.list_calls, 3);
	assert_int_equal(stats(oc).cached, 0);
}

static void cache_hits_then_expires(void **state)
{
	struct ocserv *oc = *state;
	struct session_list *l;

	ocserv_set_cache(oc, 150);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ocserv_list(oc, &l, NULL), 0);
		assert_string_equal(l->v[0].username, "alice");
		session_list_free(l);
	}
	assert_int_equal(fk.list_calls, 1);
	assert_int_equal(stats(oc).cached, 2);
	usleep(200 * 1000);
	assert_int_equal(ocserv_list(oc, &l, NULL), 0);
	session_list_free(l);
	assert_int_equal(fk.list_calls, 2);
}

/* Every write empties the cache. */
static void writes_invalidate(void **state)
{
	struct ocserv *oc = *state;
	struct session_list *l;
	int calls = 0;

	ocserv_set_cache(oc, 60000);
	for (int w = 0; w < 8; w++) {
		assert_int_equal(ocserv_list(oc, &l, NULL), 0);
		session_list_free(l);
		assert_int_equal(ocserv_list(oc, &l, NULL), 0); /* cached */
		session_list_free(l);
		assert_int_equal(fk.list_calls, ++calls);
		switch (w) {
		case 0:
			ocserv_disconnect_id(oc, 1, NULL);
			break;
		case 1:
			ocserv_disconnect_user(oc, "bob", NULL);
			break;
		case 2:
			ocserv_unban(oc, "10.0.0.1", NULL);
			break;
		case 3:
			ocserv_reload(oc, NULL);
			break;
		case 4:
			ocserv_terminate_id(oc, 1, NULL);
			break;
		case 5:
			ocserv_terminate_user(oc, "bob", NULL);
			break;
		case 6:
			ocserv_terminate_cookie(oc, "abc", NULL);
			break;
		default:
			break; /* the last round: no write, stays cached */
		}
		assert_int_equal(fk.writes, w < 7 ? w + 1 : 7);
	}
	assert_int_equal(ocserv_list(oc, &l, NULL), 0);
	session_list_free(l);
	assert_int_equal(fk.list_calls, 8);
}

/* A write while a read is in flight: that read's result is not cached, and
 * a read started after the write does not wait for the older one. */
static void write_during_flight_not_cached(void **state)
{
	struct ocserv *oc = *state;
	struct caller before, after;
	struct session_list *l;

	ocserv_set_cache(oc, 60000);
	gate(true);
	start(&before, oc, NULL);
	assert_true(wait_entered(1));
	assert_int_equal(ocserv_disconnect_id(oc, 7, NULL), 0);
	start(&after, oc, NULL);
	assert_true(wait_entered(2)); /* its own backend call, not shared */
	assert_int_equal(stats(oc).shared, 0);
	gate(false);
	pthread_join(before.th, NULL);
	pthread_join(after.th, NULL);
	assert_int_equal(before.err, 0);
	assert_int_equal(after.err, 0);
	assert_int_equal(fk.list_calls, 2);
	/* What the read after the write got is cached; the older one is not. */
	assert_int_equal(ocserv_list(oc, &l, NULL), 0);
	session_list_free(l);
	assert_int_equal(fk.list_calls, 2);
	assert_int_equal(stats(oc).cached, 1);
}

/* The same, with nothing read after the write: the next read asks again. */
static void write_during_lone_flight(void **state)
{
	struct ocserv *oc = *state;
	struct caller before;
	struct session_list *l;

	ocserv_set_cache(oc, 60000);
	gate(true);
	start(&before, oc, NULL);
	assert_true(wait_entered(1));
	assert_int_equal(ocserv_reload(oc, NULL), 0);
	gate(false);
	pthread_join(before.th, NULL);
	assert_int_equal(ocserv_list(oc, &l, NULL), 0);
	session_list_free(l);
	assert_int_equal(fk.list_calls, 2);
	assert_int_equal(stats(oc).cached, 0);
}

static void id_within_neither_shared_nor_cached(void **state)
{
	struct ocserv *oc = *state;
	struct session_list *l;

	ocserv_set_cache(oc, 60000);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ocserv_id_within(oc, 7, 100, &l, NULL), 0);
		session_list_free(l);
	}
	assert_int_equal(fk.id_calls, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ocserv_id(oc, 7, &l, NULL), 0);
		session_list_free(l);
	}
	assert_int_equal(fk.id_calls, 3);
	assert_int_equal(ocserv_id(oc, 8, &l, NULL), 0); /* another key */
	session_list_free(l);
	assert_int_equal(fk.id_calls, 4);
}

/* A client cycling user names cannot grow the table beyond its cap: the
 * oldest answers make room (and are read again). */
static void table_is_bounded(void **state)
{
	struct ocserv *oc = *state;
	struct session_list *l;
	char name[32];

	ocserv_set_cache(oc, 60000);
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(ocserv_user(oc, name, &l, NULL), 0);
		assert_string_equal(l->v[0].username, name);
		session_list_free(l);
	}
	assert_int_equal(fk.user_calls, 300);
	assert_int_equal(ocserv_user(oc, "u299", &l, NULL), 0); /* still cached */
	session_list_free(l);
	assert_int_equal(fk.user_calls, 300);
	assert_int_equal(ocserv_user(oc, "u0", &l, NULL), 0); /* made room */
	session_list_free(l);
	assert_int_equal(fk.user_calls, 301);
}

static void long_argument_not_coalesced(void **state)
{
	struct ocserv *oc = *state;
	struct session_list *l;
	char name[201];

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ocserv_set_cache(oc, 60000);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ocserv_user(oc, name, &l, NULL), 0);
		assert_string_equal(l->v[0].username, name);
		session_list_free(l);
	}
	assert_int_equal(fk.user_calls, 2);
}

/* ---- independent copies ---- */

static void copies_are_independent(void **state)
{
	struct ocserv *oc = *state;
	struct session_list *a, *b, *c;
	json_t *s1, *s2;
	struct cookie_list *k1, *k2;

	ocserv_set_cache(oc, 60000);
	assert_int_equal(ocserv_list(oc, &a, NULL), 0);
	assert_int_equal(ocserv_list(oc, &b, NULL), 0);
	assert_ptr_not_equal(a, b);
	assert_ptr_not_equal(a->v, b->v);
	assert_ptr_not_equal(a->v[0].username, b->v[0].username);
	assert_ptr_not_equal(a->v[0].routes.v, b->v[0].routes.v);
	session_list_free(a);
	assert_string_equal(b->v[0].username, "alice");
	assert_string_equal(b->v[0].routes.v[1], "10.1.0.0/16");
	session_list_keep_user(b, "nobody");
	assert_int_equal(b->n, 0);
	session_list_free(b);
	assert_int_equal(ocserv_list(oc, &c, NULL), 0); /* the cached one is intact */
	assert_int_equal(c->n, 1);
	assert_string_equal(c->v[0].username, "alice");
	session_list_free(c);
	assert_int_equal(fk.list_calls, 1);

	assert_int_equal(ocserv_status(oc, 0, &s1, NULL), 0);
	assert_int_equal(ocserv_status(oc, 0, &s2, NULL), 0);
	assert_ptr_not_equal(s1, s2);
	json_array_append_new(json_object_get(s1, "list"), json_integer(2));
	assert_int_equal(json_array_size(json_object_get(s2, "list")), 1);
	json_decref(s1);
	json_decref(s2);

	assert_int_equal(ocserv_cookies(oc, true, &k1, NULL), 0);
	assert_int_equal(ocserv_cookies(oc, true, &k2, NULL), 0);
	assert_int_equal(fk.cookies_calls, 1);
	assert_ptr_not_equal(k1->v[0].session_id, k2->v[0].session_id);
	cookie_list_free(k1);
	assert_string_equal(k2->v[0].session_id, "abc");
	cookie_list_free(k2);
}

/* ---- the list copies themselves, on real captured output ---- */

static char *fixture(const char *version, const char *name, size_t *len)
{
	char path[512];
	char *text;

	snprintf(path, sizeof(path), "%s/ocserv-%s/%s", FIXTURES_DIR, version, name);
	text = unit_read_file(path, len);
	assert_non_null(text);
	return text;
}

static void assert_str_copy(const char *a, const char *b)
{
	if (a == NULL) {
		assert_null(b);
		return;
	}
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_string_equal(a, b);
}

static void assert_strv_copy(const struct strv *a, const struct strv *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_str_copy(a->v[i], b->v[i]);
}

static void session_copy_matches(void **state)
{
	for (int v = 0; v < UNIT_N_VERSIONS; v++) {
		size_t len;
		char *text = fixture(unit_versions[v], "j-show-users.out", &len);
		struct session_list *a, *b, *c;

		assert_int_equal(session_list_parse_occtl(text, len, 2000000000, &a, NULL), 0);
		assert_int_equal(session_list_parse_occtl(text, len, 2000000000, &b, NULL), 0);
		assert_int_equal(session_list_copy(a, &c), 0);
		session_list_free(a); /* the copy owns nothing of it */
		assert_int_equal(c->n, b->n);
		assert_true(b->n >= 3);
		for (size_t i = 0; i < b->n; i++) {
			const struct session *x = &b->v[i], *y = &c->v[i];
			assert_int_equal(x->id, y->id);
			assert_int_equal(x->tx_bytes, y->tx_bytes);
			assert_int_equal(x->since_seconds, y->since_seconds);
			assert_int_equal(x->restricted_to_routes, y->restricted_to_routes);
			assert_str_copy(x->username, y->username);
			assert_str_copy(x->groupname, y->groupname);
			assert_str_copy(x->user_agent, y->user_agent);
			assert_str_copy(x->full_session, y->full_session);
			assert_str_copy(x->connected_at, y->connected_at);
			assert_strv_copy(&x->routes, &y->routes);
			assert_strv_copy(&x->dns, &y->dns);
			assert_strv_copy(&x->iroutes, &y->iroutes);
		}
		session_list_free(b);
		session_list_free(c);
		free(text);
	}
}

static void cookie_copy_matches(void **state)
{
	for (int v = 0; v < UNIT_N_VERSIONS; v++) {
		size_t len;
		char *text = fixture(unit_versions[v], "j-show-sessions-all.out", &len);
		struct cookie_list *a, *b;

		assert_int_equal(cookie_list_parse_occtl(text, len, &a, NULL), 0);
		assert_int_equal(cookie_list_copy(a, &b), 0);
		assert_int_equal(a->n, b->n);
		assert_true(a->n > 0);
		for (size_t i = 0; i < a->n; i++) {
			assert_str_copy(a->v[i].session_id, b->v[i].session_id);
			assert_str_copy(a->v[i].full_session, b->v[i].full_session);
			assert_str_copy(a->v[i].username, b->v[i].username);
			assert_str_copy(a->v[i].remote_ip, b->v[i].remote_ip);
			assert_int_equal(a->v[i].created, b->v[i].created);
			assert_int_equal(a->v[i].in_use, b->v[i].in_use);
		}
		cookie_list_free(a);
		cookie_list_free(b);
		free(text);
	}
}

static void iroute_copy_matches(void **state)
{
	for (int v = 0; v < UNIT_N_VERSIONS; v++) {
		size_t len;
		char *text = fixture(unit_versions[v], "j-show-iroutes.out", &len);
		struct iroute_list *a, *b;
		size_t routes = 0;

		assert_int_equal(iroute_list_parse_occtl(text, len, &a, NULL), 0);
		assert_int_equal(iroute_list_copy(a, &b), 0);
		assert_int_equal(a->n, b->n);
		for (size_t i = 0; i < a->n; i++) {
			assert_int_equal(a->v[i].id, b->v[i].id);
			assert_str_copy(a->v[i].username, b->v[i].username);
			assert_str_copy(a->v[i].ip, b->v[i].ip);
			assert_strv_copy(&a->v[i].iroutes, &b->v[i].iroutes);
			routes += a->v[i].iroutes.n;
		}
		assert_true(routes > 0);
		iroute_list_free(a);
		iroute_list_free(b);
		free(text);
	}
}

static void ban_copy_matches(void **state)
{
	static const char *names[] = {"j-show-ip-bans.out", "j-show-ip-ban-points.out"};

	for (int v = 0; v < UNIT_N_VERSIONS; v++) {
		for (int k = 0; k < 2; k++) {
			size_t len;
			char *text = fixture(unit_versions[v], names[k], &len);
			struct ban_list *a, *b;

			assert_int_equal(ban_list_parse_occtl(text, len, 2000000000, &a, NULL), 0);
			assert_int_equal(ban_list_copy(a, &b), 0);
			assert_int_equal(a->n, b->n);
			assert_true(a->n > 0);
			for (size_t i = 0; i < a->n; i++) {
				assert_str_copy(a->v[i].ip, b->v[i].ip);
				assert_int_equal(a->v[i].score, b->v[i].score);
				assert_int_equal(a->v[i].expires, b->v[i].expires);
			}
			ban_list_free(a);
			ban_list_free(b);
			free(text);
		}
	}
}

static void empty_lists_copy(void **state)
{
	struct session_list *s, *sc;
	struct ban_list *b, *bc;

	assert_int_equal(session_list_parse_occtl("[ ]", 3, 0, &s, NULL), 0);
	assert_int_equal(session_list_copy(s, &sc), 0);
	assert_int_equal(sc->n, 0);
	assert_int_equal(ban_list_parse_occtl("[ ]", 3, 0, &b, NULL), 0);
	assert_int_equal(ban_list_copy(b, &bc), 0);
	assert_int_equal(bc->n, 0);
	session_list_free(s);
	session_list_free(sc);
	ban_list_free(b);
	ban_list_free(bc);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(same_list_one_backend_call),
		T(different_arguments_not_shared),
		T(status_timeout_is_part_of_key),
		T(errors_shared_not_cached),
		T(no_cache_by_default),
		T(cache_hits_then_expires),
		T(writes_invalidate),
		T(write_during_flight_not_cached),
		T(write_during_lone_flight),
		T(id_within_neither_shared_nor_cached),
		T(table_is_bounded),
		T(long_argument_not_coalesced),
		T(copies_are_independent),
		cmocka_unit_test(session_copy_matches),
		cmocka_unit_test(cookie_copy_matches),
		cmocka_unit_test(iroute_copy_matches),
		cmocka_unit_test(ban_copy_matches),
		cmocka_unit_test(empty_lists_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
