/* The domain interface to one ocserv: everything the API may ask of the VPN
 * server goes through here. A backend (occtl exec today; the native control
 * socket and a privilege-separated proxy later) provides the operations;
 * handlers and domain code only ever see struct ocserv.
 *
 * Every operation is thread-safe, bounded in time by the backend's timeout,
 * returns ERR_OK or an ERR_* value with internal detail in *ei. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "session.h"

struct ocserv_backend_ops {
	const char *name;
	/* Normalised `show status` (see status.h), within timeout_ms (0: the
	 * backend's default). */
	int (*status)(void *be, unsigned timeout_ms, json_t **ret, struct err_info *ei);
	/* Every session ocserv lists, in its order, including unauthenticated ones. */
	int (*list)(void *be, struct session_list **ret, struct err_info *ei);
	/* The sessions of one user; an empty list when there are none. */
	int (*user)(void *be, const char *username, struct session_list **ret, struct err_info *ei);
	/* The session with this id; ERR_NOT_FOUND when there is none. */
	int (*id)(void *be, int64_t id, struct session_list **ret, struct err_info *ei);
	/* Disconnect one session / every session of a user. A session that is
	 * not there is ERR_NOT_FOUND when the backend can tell, else an error. */
	int (*disconnect_id)(void *be, int64_t id, struct err_info *ei);
	int (*disconnect_user)(void *be, const char *username, struct err_info *ei);
	void (*free)(void *be);
};

struct ocserv;

/* Wrap a backend; takes ownership of be (freed by ops->free). NULL on ENOMEM. */
struct ocserv *ocserv_new(const struct ocserv_backend_ops *ops, void *be);
void ocserv_free(struct ocserv *oc);
const char *ocserv_backend_name(const struct ocserv *oc);

int ocserv_status(struct ocserv *oc, unsigned timeout_ms, json_t **ret, struct err_info *ei);
int ocserv_list(struct ocserv *oc, struct session_list **ret, struct err_info *ei);
int ocserv_user(struct ocserv *oc, const char *username, struct session_list **ret,
		struct err_info *ei);
int ocserv_id(struct ocserv *oc, int64_t id, struct session_list **ret, struct err_info *ei);
int ocserv_disconnect_id(struct ocserv *oc, int64_t id, struct err_info *ei);
int ocserv_disconnect_user(struct ocserv *oc, const char *username, struct err_info *ei);
