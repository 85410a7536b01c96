/* IP addresses ocserv has banned or holds ban points for (`show ip bans`,
 * `show ip ban points`). */
#pragma once

#include <stdint.h>

#include "err.h"

struct ban {
	char *ip;	 /* as ocserv prints it */
	int64_t score;	 /* -1 when absent */
	int64_t expires; /* epoch seconds the ban ends; -1 for points-only entries
			  * (`show ip ban points`) or when occtl gave no time */
};

struct ban_list {
	struct ban *v;
	size_t n;
};

/* Read `-j show ip bans` or `-j show ip ban points` output (len bytes).
 * A ban's end is computed from occtl's remaining time ("_Since", e.g.
 * " 4m:59s") and now when occtl gives it, else (it prints "?" once the end
 * has passed but the score still holds the ban) from its minute-precision
 * local time ("Since", misnamed: it is the end). Every entry must have an
 * "IP"; "[ ]" is an empty list. Tolerates trailing commas (≤1.4.0). Same
 * error and ownership rules as cookie_list_parse_occtl(); free with
 * ban_list_free(). */
int ban_list_parse_occtl(const char *text, size_t len, int64_t now, struct ban_list **ret,
			 struct err_info *ei);

/* A deep copy of l (nothing shared with it) into *ret, for the caller to
 * free with ban_list_free(). ERR_NOMEM (*ret untouched) or 0. */
int ban_list_copy(const struct ban_list *l, struct ban_list **ret);

void ban_list_free(struct ban_list *l);
