#include "sessions.h"

#include <stdlib.h>

static int empty_list(struct session_list **ret, struct err_info *ei)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : err_set(ei, ERR_NOMEM, "out of memory");
}

/* The result of a disconnect of the sessions in *ret: ocserv saying they
 * are gone already is "none disconnected", not an error. */
static int disconnected(int r, struct session_list **ret, struct err_info *ei)
{
	if (r == 0)
		return 0;
	session_list_free(*ret);
	*ret = NULL;
	return r == ERR_NOT_FOUND ? empty_list(ret, ei) : r;
}

int sessions_list(struct ocserv *oc, struct session_list **ret, struct err_info *ei)
{
	int r = ocserv_list(oc, ret, ei);

	if (r == 0)
		session_list_keep_authenticated(*ret);
	return r;
}

int sessions_of_user(struct ocserv *oc, const char *username, struct session_list **ret,
		     struct err_info *ei)
{
	int r = ocserv_user(oc, username, ret, ei);

	if (r == 0)
		session_list_keep_user(*ret, username);
	return r;
}

int sessions_find(struct ocserv *oc, const struct session_selector *sel, struct session_list **ret,
		  struct err_info *ei)
{
	int r;

	if (sel->id > 0) {
		r = ocserv_id(oc, sel->id, ret, ei);
		if (r == ERR_NOT_FOUND)
			return empty_list(ret, ei);
	} else {
		r = ocserv_user(oc, sel->username, ret, ei);
	}
	if (r < 0)
		return r;
	if (sel->id > 0)
		session_list_keep_authenticated(*ret);
	else
		session_list_keep_user(*ret, sel->username);
	return (*ret)->n > 1 ? ERR_MULTIPLE_SESSIONS : 0;
}

int sessions_disconnect(struct ocserv *oc, const struct session_selector *sel,
			struct session_list **ret, struct err_info *ei)
{
	int r = sessions_find(oc, sel, ret, ei);

	if (r < 0 || (*ret)->n == 0)
		return r;
	/* By id even when asked by name: a session that appears meanwhile
	 * must not be disconnected with it. */
	r = ocserv_disconnect_id(oc, (*ret)->v[0].id, ei);
	return disconnected(r, ret, ei);
}

int sessions_disconnect_all(struct ocserv *oc, const char *username, struct session_list **ret,
			    struct err_info *ei)
{
	int r = sessions_of_user(oc, username, ret, ei);

	if (r < 0)
		return r;
	if ((*ret)->n == 0)
		return 0;
	r = ocserv_disconnect_user(oc, username, ei);
	return disconnected(r, ret, ei);
}
