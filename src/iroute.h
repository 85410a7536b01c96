/* The routes VPN clients provide to the server (`show iroutes`): one entry
 * per connected session. */
#pragma once

#include <stdint.h>

#include "err.h"
#include "strv.h"

struct iroute {
	int64_t id; /* occtl's session ID */
	char *username;
	char *vhost;
	char *device;
	char *ip; /* the session's VPN address */
	struct strv iroutes;
};

struct iroute_list {
	struct iroute *v;
	size_t n;
};

/* Read `-j show iroutes` output: an array of objects from 1.4.0 on; before
 * that one invalid object holding every entry (a new entry starts at each
 * "ID" key, commas missing, "IP" twice). Same error and ownership rules as
 * cookie_list_parse_occtl(); free with iroute_list_free(). */
int iroute_list_parse_occtl(const char *text, size_t len, struct iroute_list **ret,
			    struct err_info *ei);

/* A deep copy of l (nothing shared with it) into *ret, for the caller to
 * free with iroute_list_free(). ERR_NOMEM (*ret untouched) or 0. */
int iroute_list_copy(const struct iroute_list *l, struct iroute_list **ret);

void iroute_list_free(struct iroute_list *l);
