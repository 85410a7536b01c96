#include "terminate.h"

#include <stdio.h>
#include <stdlib.h>
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

/* Read now, not at start: the operator may set the hook up later. */
static bool hook_configured(const struct terminate_env *te)
{
	struct ocserv_conf *c = NULL;
	struct err_info ei = {{0}};
	const char *script;
	bool yes;

	if (!te->hook_running || ocserv_conf_load(te->conf_path, &c, &ei) < 0)
		return false;
	script = ocserv_conf_get(c, "connect-script");
	yes = script != NULL && terminate_is_hook_script(script);
	ocserv_conf_free(c);
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
	/* Every unexpired authenticated cookie of this user that no live
	 * session holds, whatever its flags say: 1.5.0 still says
	 * session_is_open after its client was killed. */
	int64_t now = (int64_t)time(NULL);
	size_t k = 0;
	for (size_t i = 0; i < (*cookies)->n; i++) {
		struct cookie *c = &(*cookies)->v[i];
		if (c->username != NULL && strcmp(c->username, sel->username) == 0 &&
		    c->full_session != NULL && c->state != NULL &&
		    strcmp(c->state, "authenticated") == 0 &&
		    (c->expires < 0 || c->expires > now) && !is_live(*live, c->full_session))
			(*cookies)->v[k++] = *c;
		else
			cookie_clear(c);
	}
	(*cookies)->n = k;
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
	int64_t now = (int64_t)time(NULL);
	int r = 0;

	for (size_t i = 0; r == 0 && i < live->n; i++)
		if (live->v[i].full_session != NULL)
			r = revoke_add(te->revoked, live->v[i].full_session, now);
	for (size_t i = 0; r == 0 && cookies && i < cookies->n; i++)
		if ((r = revoke_add(te->revoked, cookies->v[i].full_session, now)) == 0)
			(*done)++;
	if (r < 0) /* ERR_NOMEM, or an id ocserv would never print */
		return err_set(ei, r == ERR_NOMEM ? r : ERR_INTERNAL, "cannot revoke a session id");
	if (live->n == 0)
		return 0;
	r = sel->id > 0 ? ocserv_disconnect_id(te->oc, sel->id, ei)
			: ocserv_disconnect_user(te->oc, sel->username, ei);
	/* Gone between the listing and now: what matters is that it is out. */
	return r == ERR_NOT_FOUND ? 0 : r;
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

bool terminate_hook_decide(void *app, const struct hook_event *ev, char *why, size_t len)
{
	const struct terminate_env *te = app;
	const char *reason = hook_event_get(ev, "REASON"), *id = hook_event_get(ev, "ID");
	struct session_list *l = NULL;
	struct err_info ei = {{0}};
	int64_t now = (int64_t)time(NULL), sid;
	bool allow = true;

	if (reason == NULL || strcmp(reason, "connect") != 0 || revoke_count(te->revoked, now) == 0)
		return true;
	if (id == NULL || !validate_session_id_text(id, &sid)) {
		log_warning("hook: connect without a valid ID; allowed");
		return true;
	}
	if (ocserv_id(te->oc, sid, &l, &ei) < 0) {
		log_warning("hook: cannot look up session %s (%s); allowed", id, ei.detail);
		return true;
	}
	for (size_t i = 0; i < l->n && allow; i++)
		if (l->v[i].full_session != NULL &&
		    revoke_contains(te->revoked, l->v[i].full_session, now))
			allow = false;
	if (!allow) {
		snprintf(why, len, "session revoked by terminate");
		log_notice("audit op=hook-refuse target=%s id=%s result=refused "
			   "reason=\"resumes a terminated session\"",
			   hook_event_get(ev, "USERNAME") ? hook_event_get(ev, "USERNAME") : "?",
			   id);
	}
	session_list_free(l);
	return allow;
}
