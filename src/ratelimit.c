/* Placeholder (issue 7 in progress). */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

struct ratelimit {
	int unused;
};

struct ratelimit *ratelimit_new(unsigned limit, unsigned window_ms)
{
	(void)limit;
	(void)window_ms;
	return calloc(1, sizeof(struct ratelimit));
}

void ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

unsigned ratelimit_check(struct ratelimit *rl, const char *addr, int64_t now_ms)
{
	(void)rl;
	(void)addr;
	(void)now_ms;
	return 0;
}

void ratelimit_fail(struct ratelimit *rl, const char *addr, int64_t now_ms)
{
	(void)rl;
	(void)addr;
	(void)now_ms;
}

void ratelimit_stats(struct ratelimit *rl, struct ratelimit_stats *ret)
{
	(void)rl;
	memset(ret, 0, sizeof(*ret));
}
