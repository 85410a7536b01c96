#include "ocserv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ocserv {
	const struct ocserv_backend_ops *ops;
	void *be;
};

struct ocserv *ocserv_new(const struct ocserv_backend_ops *ops, void *be)
{
	struct ocserv *oc = calloc(1, sizeof(*oc));

	if (oc == NULL) {
		ops->free(be);
		return NULL;
	}
	oc->ops = ops;
	oc->be = be;
	return oc;
}

void ocserv_free(struct ocserv *oc)
{
	if (oc == NULL)
		return;
	oc->ops->free(oc->be);
	free(oc);
}

const char *ocserv_backend_name(const struct ocserv *oc)
{
	return oc->ops->name;
}

int ocserv_status(struct ocserv *oc, unsigned timeout_ms, json_t **ret, struct err_info *ei)
{
	return oc->ops->status(oc->be, timeout_ms, ret, ei);
}

int ocserv_list(struct ocserv *oc, struct session_list **ret, struct err_info *ei)
{
	return oc->ops->list(oc->be, ret, ei);
}

int ocserv_user(struct ocserv *oc, const char *username, struct session_list **ret,
		struct err_info *ei)
{
	return oc->ops->user(oc->be, username, ret, ei);
}

int ocserv_id(struct ocserv *oc, int64_t id, struct session_list **ret, struct err_info *ei)
{
	return oc->ops->id(oc->be, id, 0, ret, ei);
}

int ocserv_id_within(struct ocserv *oc, int64_t id, unsigned timeout_ms, struct session_list **ret,
		     struct err_info *ei)
{
	return oc->ops->id(oc->be, id, timeout_ms, ret, ei);
}

int ocserv_disconnect_id(struct ocserv *oc, int64_t id, struct err_info *ei)
{
	return oc->ops->disconnect_id(oc->be, id, ei);
}

int ocserv_disconnect_user(struct ocserv *oc, const char *username, struct err_info *ei)
{
	return oc->ops->disconnect_user(oc->be, username, ei);
}

int ocserv_version(struct ocserv *oc, struct ocserv_version *ret, struct err_info *ei)
{
	return oc->ops->version(oc->be, ret, ei);
}

int ocserv_cookies(struct ocserv *oc, bool valid_only, struct cookie_list **ret,
		   struct err_info *ei)
{
	return oc->ops->cookies(oc->be, valid_only, ret, ei);
}

int ocserv_cookie(struct ocserv *oc, const char *sid, struct cookie_list **ret, struct err_info *ei)
{
	return oc->ops->cookie(oc->be, sid, ret, ei);
}

int ocserv_iroutes(struct ocserv *oc, struct iroute_list **ret, struct err_info *ei)
{
	return oc->ops->iroutes(oc->be, ret, ei);
}

int ocserv_bans(struct ocserv *oc, struct ban_list **ret, struct err_info *ei)
{
	return oc->ops->bans(oc->be, ret, ei);
}

int ocserv_ban_points(struct ocserv *oc, struct ban_list **ret, struct err_info *ei)
{
	return oc->ops->ban_points(oc->be, ret, ei);
}

int ocserv_unban(struct ocserv *oc, const char *ip, struct err_info *ei)
{
	return oc->ops->unban(oc->be, ip, ei);
}

int ocserv_reload(struct ocserv *oc, struct err_info *ei)
{
	return oc->ops->reload(oc->be, ei);
}

int ocserv_terminate_id(struct ocserv *oc, int64_t id, struct err_info *ei)
{
	return oc->ops->terminate_id(oc->be, id, ei);
}

int ocserv_terminate_user(struct ocserv *oc, const char *username, struct err_info *ei)
{
	return oc->ops->terminate_user(oc->be, username, ei);
}

int ocserv_terminate_cookie(struct ocserv *oc, const char *sid, struct err_info *ei)
{
	return oc->ops->terminate_cookie(oc->be, sid, ei);
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
