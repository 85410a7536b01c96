#include "ocserv.h"

#include <stdlib.h>

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
	return oc->ops->id(oc->be, id, ret, ei);
}

int ocserv_disconnect_id(struct ocserv *oc, int64_t id, struct err_info *ei)
{
	return oc->ops->disconnect_id(oc->be, id, ei);
}

int ocserv_disconnect_user(struct ocserv *oc, const char *username, struct err_info *ei)
{
	return oc->ops->disconnect_user(oc->be, username, ei);
}
