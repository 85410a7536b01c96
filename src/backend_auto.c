#include "backend_auto.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

enum which { AUTO_UNKNOWN, AUTO_CTL, AUTO_OCCTL };

struct auto_be {
	struct ocserv *ctl, *occtl;
	auto_probe_fn *probe;
	void *probe_arg;
	unsigned reprobe_ms;
	pthread_mutex_t lock;
	enum which which;      /* what calls use now */
	int64_t next_probe_ms; /* while on occtl: when ctl may be probed again */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *which_name(enum which w)
{
	return w == AUTO_CTL ? "ctl" : "occtl";
}

/* Move to w (lock held), logging only a change. */
static void switch_to(struct auto_be *a, enum which w, const char *why)
{
	if (w == AUTO_OCCTL)
		a->next_probe_ms = now_ms() + a->reprobe_ms;
	if (a->which == w)
		return;
	a->which = w;
	if (w == AUTO_CTL) {
		log_notice("msg=\"backend auto: using the control socket\" backend=ctl");
	} else {
		char q[160];
		log_warning("msg=\"backend auto: using occtl\" backend=occtl reason=\"%s\"",
			    log_quote(why != NULL ? why : "", q, sizeof(q)));
	}
}

/* The backend for the next call: probes at the first call and, while on
 * occtl, at most every reprobe_ms. */
static enum which choose(struct auto_be *a)
{
	struct err_info ei = {{0}};
	enum which w;

	pthread_mutex_lock(&a->lock);
	if (a->which == AUTO_UNKNOWN || (a->which == AUTO_OCCTL && now_ms() >= a->next_probe_ms)) {
		if (a->probe(a->probe_arg, &ei))
			switch_to(a, AUTO_CTL, NULL);
		else
			switch_to(a, AUTO_OCCTL, ei.detail);
	}
	w = a->which;
	pthread_mutex_unlock(&a->lock);
	return w;
}

/* ctl could not be reached during a call: the call goes to occtl. */
static void ctl_unreachable(struct auto_be *a, const struct err_info *ei)
{
	pthread_mutex_lock(&a->lock);
	switch_to(a, AUTO_OCCTL, ei != NULL ? ei->detail : "control socket unreachable");
	pthread_mutex_unlock(&a->lock);
}

/* Run CALL (an expression using oc_) on the chosen backend, and once more
 * on occtl when ctl was unreachable (nothing was sent: safe for writes). */
#define DELEGATE(be, ei, CALL)                       \
	do {                                         \
		struct auto_be *a_ = (be);           \
		struct ocserv *oc_ = a_->occtl;      \
		int err_;                            \
		if (choose(a_) == AUTO_CTL) {        \
			oc_ = a_->ctl;               \
			err_ = (CALL);               \
			if (err_ != ERR_UNREACHABLE) \
				return err_;         \
			ctl_unreachable(a_, (ei));   \
			oc_ = a_->occtl;             \
		}                                    \
		return (CALL);                       \
	} while (0)

static int auto_status(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_status(oc_, timeout_ms, ret, ei));
}

static int auto_list(void *be, struct session_list **ret, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_list(oc_, ret, ei));
}

static int auto_user(void *be, const char *username, struct session_list **ret, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_user(oc_, username, ret, ei));
}

static int auto_id(void *be, int64_t id, unsigned timeout_ms, struct session_list **ret,
		   struct err_info *ei)
{
	DELEGATE(be, ei,
		 timeout_ms > 0 ? ocserv_id_within(oc_, id, timeout_ms, ret, ei)
				: ocserv_id(oc_, id, ret, ei));
}

static int auto_disconnect_id(void *be, int64_t id, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_disconnect_id(oc_, id, ei));
}

static int auto_disconnect_user(void *be, const char *username, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_disconnect_user(oc_, username, ei));
}

static int auto_version(void *be, struct ocserv_version *ret, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_version(oc_, ret, ei));
}

static int auto_cookies(void *be, bool valid_only, struct cookie_list **ret, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_cookies(oc_, valid_only, ret, ei));
}

static int auto_cookie(void *be, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_cookie(oc_, sid, ret, ei));
}

static int auto_iroutes(void *be, struct iroute_list **ret, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_iroutes(oc_, ret, ei));
}

static int auto_bans(void *be, struct ban_list **ret, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_bans(oc_, ret, ei));
}

static int auto_ban_points(void *be, struct ban_list **ret, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_ban_points(oc_, ret, ei));
}

static int auto_unban(void *be, const char *ip, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_unban(oc_, ip, ei));
}

static int auto_reload(void *be, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_reload(oc_, ei));
}

static int auto_terminate_id(void *be, int64_t id, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_terminate_id(oc_, id, ei));
}

static int auto_terminate_user(void *be, const char *username, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_terminate_user(oc_, username, ei));
}

static int auto_terminate_cookie(void *be, const char *sid, struct err_info *ei)
{
	DELEGATE(be, ei, ocserv_terminate_cookie(oc_, sid, ei));
}

static const char *auto_in_use(void *be)
{
	return which_name(choose(be));
}

static void auto_free(void *be)
{
	struct auto_be *a = be;

	ocserv_free(a->ctl);
	ocserv_free(a->occtl);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static const struct ocserv_backend_ops auto_ops = {
	.name = "auto",
	.status = auto_status,
	.list = auto_list,
	.user = auto_user,
	.id = auto_id,
	.disconnect_id = auto_disconnect_id,
	.disconnect_user = auto_disconnect_user,
	.version = auto_version,
	.cookies = auto_cookies,
	.cookie = auto_cookie,
	.iroutes = auto_iroutes,
	.bans = auto_bans,
	.ban_points = auto_ban_points,
	.unban = auto_unban,
	.reload = auto_reload,
	.terminate_id = auto_terminate_id,
	.terminate_user = auto_terminate_user,
	.terminate_cookie = auto_terminate_cookie,
	.in_use = auto_in_use,
	.free = auto_free,
};

struct ocserv *backend_auto_new_reprobe(struct ocserv *ctl, struct ocserv *occtl,
					auto_probe_fn *probe, void *probe_arg, unsigned reprobe_ms)
{
	struct auto_be *a = ctl != NULL && occtl != NULL ? calloc(1, sizeof(*a)) : NULL;

	if (a == NULL) {
		ocserv_free(ctl);
		ocserv_free(occtl);
		return NULL;
	}
	a->ctl = ctl;
	a->occtl = occtl;
	a->probe = probe;
	a->probe_arg = probe_arg;
	a->reprobe_ms = reprobe_ms;
	pthread_mutex_init(&a->lock, NULL);
	return ocserv_new(&auto_ops, a); /* frees a on ENOMEM */
}

struct ocserv *backend_auto_new(struct ocserv *ctl, struct ocserv *occtl, auto_probe_fn *probe,
				void *probe_arg)
{
	return backend_auto_new_reprobe(ctl, occtl, probe, probe_arg, AUTO_REPROBE_MS);
}
