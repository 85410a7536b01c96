#include "terminate.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ocserv_conf.h"
#include "validate.h"

#define HOOK_SCRIPT_MAX 8192

bool terminate_is_hook_script(const char *path)
{
	const char *base = strrchr(path, '/');
	char buf[HOOK_SCRIPT_MAX + 1];
	size_t n;
	FILE *f;

	if (strcmp(base ? base + 1 : path, "ocserv-agent-hook") == 0)
		return true;
	if ((f = fopen(path, "re")) == NULL)
		return false;
	n = fread(buf, 1, HOOK_SCRIPT_MAX, f);
	fclose(f);
	buf[n] = '\0';
	return memmem(buf, n, "ocserv-agent hook", 17) != NULL;
}

bool terminate_conf_runs_hook(const char *conf_path)
{
	struct ocserv_conf *c = NULL;
	struct err_info ei = {{0}};
	const char *script;
	bool yes;

	if (ocserv_conf_load(conf_path, &c, &ei) < 0)
		return false;
	script = ocserv_conf_get(c, "connect-script");
	yes = script != NULL && terminate_is_hook_script(script);
	/* A virtual host may set a connect-script of its own. */
	for (size_t i = 0; yes && i < ocserv_conf_size(c); i++) {
		const struct ocserv_conf_entry *e = ocserv_conf_at(c, i);
		if (e->section != NULL && strcmp(e->key, "connect-script") == 0)
			yes = terminate_is_hook_script(e->value);
	}
	ocserv_conf_free(c);
	return yes;
}

/* Asked now, not at start: the operator may set the hook up later. This is
 * the file, not what the running ocserv loaded (a reload applies it):
 * capabilities report the last hook event seen, as proof it runs. A failed
 * question is a no (logged): the hook method is then not offered. */
static bool hook_configured(const struct terminate_env *te)
{
	struct priv_error pe;
	json_t *ret = NULL;
	bool yes;

	if (!te->hook_running)
		return false;
	if (te->priv == NULL)
		return false;
	if (priv_call(te->priv, NULL, PRIV_OCSERV_HOOK_CONFIGURED, json_object(), &ret, &pe) < 0) {
		log_warning("terminate: cannot tell whether ocserv runs the hook: %s",
			    pe.ei.detail);
		priv_error_clear(&pe);
		return false;
	}
	yes = json_is_true(json_object_get(ret, "configured"));
	json_decref(ret);
	return yes;
}

void terminate_support(const struct terminate_env *te, struct terminate_support *ret)
{
	struct ocserv_version v;
	struct err_info ei = {{0}};

	memset(ret, 0, sizeof(*ret));
	if (ocserv_version(te->oc, &v, &ei) == 0)
		snprintf(ret->version, sizeof(ret->version), "%s", v.text);
	if (ret->version[0] != '\0' && ocserv_version_at_least(&v, 1, 4, 2)) {
		ret->supported = true;
		ret->method = "native";
		snprintf(ret->reason, sizeof(ret->reason),
			 "ocserv %s invalidates cookies itself (terminate)", v.text);
	} else if (hook_configured(te)) {
		ret->supported = true;
		ret->method = "hook";
		snprintf(ret->reason, sizeof(ret->reason),
			 "ocserv %s cannot invalidate a closed session's cookie; the connect "
			 "hook refuses it",
			 ret->version[0] ? ret->version : "(unknown version)");
	} else {
		snprintf(ret->reason, sizeof(ret->reason),
			 "ocserv %s cannot invalidate a closed session's cookie and its "
			 "connect-script is not ocserv-agent-hook",
			 ret->version[0] ? ret->version : "(unknown version)");
	}
}

static bool is_live(const struct session_list *live, const char *full_sid)
{
	for (size_t i = 0; i < live->n; i++)
		if (live->v[i].full_session && strcmp(live->v[i].full_session, full_sid) == 0)
			return true;
	return false;
}

struct closed_of {
	const char *user;
	const struct session_list *live;
	int64_t now;
};

/* Every unexpired authenticated cookie of this user that no live session
 * holds, whatever its flags say (a killed client's cookie still says
 * session_is_open); occtl prints the expiry cut to the minute, so one
 * "expired" less than 60 s ago may still be good. */
static bool closed_of_user(const struct cookie *c, void *arg)
{
	const struct closed_of *w = arg;

	return c->username != NULL && strcmp(c->username, w->user) == 0 &&
	       c->full_session != NULL && c->state != NULL &&
	       strcmp(c->state, "authenticated") == 0 &&
	       (c->expires < 0 || c->expires + 60 > w->now) && !is_live(w->live, c->full_session);
}

/* The live sessions, and the cookies of the user's closed sessions that a
 * client could still resume (those of live sessions end with them). */
static int gather(const struct terminate_env *te, const struct session_selector *sel,
		  struct session_list **live, struct cookie_list **cookies, struct err_info *ei)
{
	int r;

	*cookies = NULL;
	if (sel->id > 0) {
		r = ocserv_id(te->oc, sel->id, live, ei);
		if (r == 0)
			session_list_keep_authenticated(*live);
		return r;
	}
	r = sessions_of_user(te->oc, sel->username, live, ei);
	if (r < 0)
		return r;
	r = ocserv_cookies(te->oc, false, cookies, ei);
	if (r < 0) {
		session_list_free(*live);
		*live = NULL;
		return r;
	}
	struct closed_of c = {sel->username, *live, (int64_t)time(NULL)};
	cookie_list_keep(*cookies, closed_of_user, &c);
	return 0;
}

static int run_native(const struct terminate_env *te, const struct session_selector *sel,
		      const struct session_list *live, const struct cookie_list *cookies,
		      size_t *done, struct err_info *ei)
{
	int r = 0;

	if (live->n > 0)
		r = sel->id > 0 ? ocserv_terminate_id(te->oc, sel->id, ei)
				: ocserv_terminate_user(te->oc, sel->username, ei);
	if (r == ERR_NOT_FOUND) /* gone meanwhile: it is out; its cookies come next */
		r = 0;
	for (size_t i = 0; r == 0 && cookies && i < cookies->n; i++) {
		r = ocserv_terminate_cookie(te->oc, cookies->v[i].full_session, ei);
		/* Not found: `terminate user` took it already (1.5.0 invalidates
		 * all of a user's cookies), or it expired meanwhile. Either way
		 * nobody can resume it. */
		if (r == ERR_NOT_FOUND)
			r = 0;
		if (r == 0)
			(*done)++;
	}
	return r;
}

/* Revoke first, then disconnect: a client that reconnects in between is
 * refused already. */
static int run_hook(const struct terminate_env *te, const struct session_selector *sel,
		    const struct session_list *live, const struct cookie_list *cookies,
		    size_t *done, struct err_info *ei)
{
	size_t n = 0, max = live->n + (cookies ? cookies->n : 0);
	const char **sids = calloc(max ? max : 1, sizeof(*sids));
	const char *user = sel->username ? sel->username : (live->n ? live->v[0].username : NULL);
	int r;

	if (sids == NULL)
		return err_set(ei, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < live->n; i++)
		if (live->v[i].full_session != NULL)
			sids[n++] = live->v[i].full_session;
	for (size_t i = 0; cookies && i < cookies->n; i++)
		sids[n++] = cookies->v[i].full_session;
	/* Tagged with the user, so the hook looks up only that user's connects. */
	r = revoke_add_many(te->revoked, sids, user && !validate_username(user) ? user : NULL, n,
			    (int64_t)time(NULL));
	free(sids);
	if (r < 0) /* ERR_NOMEM, or an id ocserv would never print */
		return err_set(ei, r == ERR_NOMEM ? r : ERR_INTERNAL, "cannot revoke a session id");
	*done = cookies ? cookies->n : 0;
	/* By id, each session that was revoked: `disconnect user` would also
	 * end a session that logged in meanwhile, whose id is not revoked. */
	for (size_t i = 0; i < live->n; i++) {
		r = ocserv_disconnect_id(te->oc, live->v[i].id, ei);
		/* Gone between the listing and now: what matters is that it is out. */
		if (r < 0 && r != ERR_NOT_FOUND)
			return r;
	}
	return 0;
}

int terminate_run(const struct terminate_env *te, const struct session_selector *sel,
		  struct terminate_result *res, struct err_info *ei)
{
	struct terminate_support ts;
	struct session_list *live = NULL;
	struct cookie_list *cookies = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	terminate_support(te, &ts);
	if (!ts.supported) {
		snprintf(res->why, sizeof(res->why), "%s", ts.reason);
		return err_set(ei, ERR_NOT_SUPPORTED, "%s", ts.reason);
	}
	r = gather(te, sel, &live, &cookies, ei);
	if (r < 0)
		return r;
	if (live->n == 0 && (cookies == NULL || cookies->n == 0)) {
		r = err_set(ei, ERR_NOT_FOUND, "no session or resumable cookie to terminate");
	} else {
		res->method = ts.method;
		r = strcmp(ts.method, "native") == 0
			    ? run_native(te, sel, live, cookies, &res->cookies, ei)
			    : run_hook(te, sel, live, cookies, &res->cookies, ei);
	}
	cookie_list_free(cookies);
	if (r < 0) {
		session_list_free(live);
		return r;
	}
	res->sessions = live;
	return 0;
}

/* Refuse a connect when its session is revoked. Only connects of users
 * with revoked sessions are looked up, within HOOK_LOOKUP_MS so that the
 * answer comes before the hook gives up; when that lookup fails the connect
 * is refused (the user has a revoked session and ocserv cannot say this is
 * not it), every other failure allows. */
bool terminate_hook_decide(void *app, const struct hook_event *ev, char *why, size_t len)
{
	struct terminate_env *te = app;
	const char *reason = hook_event_get(ev, "REASON"), *id = hook_event_get(ev, "ID");
	const char *user = hook_event_get(ev, "USERNAME");
	struct session_list *l = NULL;
	struct err_info ei = {{0}};
	int64_t now = (int64_t)time(NULL), sid;
	char quser[2 * USERNAME_MAX + 8];
	bool allow = true;

	atomic_store(&te->last_event, now);
	if (reason == NULL || strcmp(reason, "connect") != 0 ||
	    !revoke_has_user(te->revoked, user, now))
		return true;
	log_quote(user ? user : "", quser, sizeof(quser));
	if (id == NULL || !validate_session_id_text(id, &sid)) {
		log_warning("hook: connect of \"%s\" without a valid ID; allowed", quser);
		return true;
	}
	if (ocserv_id_within(te->oc, sid, HOOK_LOOKUP_MS, &l, &ei) < 0) {
		snprintf(why, len, "cannot tell whether this session was terminated");
		log_notice("audit op=hook-refuse username=\"%s\" id=%s result=refused "
			   "reason=\"lookup failed: %s\"",
			   quser, id, ei.detail);
		return false;
	}
	for (size_t i = 0; i < l->n && allow; i++)
		if (l->v[i].full_session != NULL &&
		    revoke_contains(te->revoked, l->v[i].full_session, now))
			allow = false;
	if (!allow) {
		snprintf(why, len, "session revoked by terminate");
		log_notice("audit op=hook-refuse username=\"%s\" id=%s result=refused "
			   "reason=\"resumes a terminated session\"",
			   quser, id);
	}
	session_list_free(l);
	return allow;
}
