/* Failed-authentication limit per client address: after `limit` failures
 * within `window_ms`, an address is refused (429 with Retry-After) until
 * the window of its first counted failure has passed. Success does not
 * reset the count (a guesser that also holds one valid token gains
 * nothing).
 *
 * Memory is bounded: at most RATELIMIT_MAX_ADDRS addresses are tracked;
 * when full, the entry whose window ends first is evicted. IPv6 addresses
 * count per /64 (one host usually owns a whole /64). Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_MAX_ADDRS 4096

struct ratelimit;

/* NULL on ENOMEM. */
struct ratelimit *ratelimit_new(unsigned limit, unsigned window_ms);
void ratelimit_free(struct ratelimit *rl);

/* 0 when addr (text, as struct http_request's client_ip) may try to
 * authenticate at now_ms (monotonic), else the seconds to wait (>= 1). */
unsigned ratelimit_check(struct ratelimit *rl, const char *addr, int64_t now_ms);

/* Count one failed authentication of addr at now_ms. */
void ratelimit_fail(struct ratelimit *rl, const char *addr, int64_t now_ms);

struct ratelimit_stats {
	unsigned long long failures; /* failed authentications counted */
	unsigned long long refused;  /* requests answered 429 */
	unsigned long long evicted;  /* addresses dropped because the table was full */
	unsigned tracked;	     /* addresses tracked now */
};
void ratelimit_stats(struct ratelimit *rl, struct ratelimit_stats *ret);
