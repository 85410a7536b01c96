/* Failed authentications per client address in an open-addressing hash
 * table (linear probing, backward-shift deletion: no tombstones) of twice
 * RATELIMIT_MAX_ADDRS slots, so probes stay short when it is full. The
 * hash is seeded at random so that a client cannot pick addresses that
 * collide. One mutex: every operation is a few probes. */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define SLOTS (2 * RATELIMIT_MAX_ADDRS) /* a power of two */

struct slot {
	unsigned char key[16]; /* IPv4 as ::ffff:a.b.c.d, IPv6 masked to its /64 */
	bool used;
	unsigned count;	  /* failures counted in the current window */
	int64_t start_ms; /* when the window began (its first failure) */
};

struct ratelimit {
	pthread_mutex_t lock;
	unsigned limit, window_ms;
	uint64_t seed;
	struct slot slot[SLOTS];
	struct ratelimit_stats st;
};

struct ratelimit *ratelimit_new(unsigned limit, unsigned window_ms)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return NULL;
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl);
		return NULL;
	}
	rl->limit = limit;
	rl->window_ms = window_ms;
	/* Without entropy (never in practice) the table still works; only
	 * collisions become predictable. */
	if (getrandom(&rl->seed, sizeof(rl->seed), GRND_NONBLOCK) != sizeof(rl->seed))
		rl->seed = (uint64_t)(uintptr_t)rl ^ (uint64_t)time(NULL);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* The key of addr. IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4
 * peer) is the IPv4 address itself; other IPv6 addresses count per /64 and
 * lose their zone ("%eth0"). Text that is no address at all ("" when the
 * transport does not know) maps to one shared key that no address has
 * (low 64 bits set, which a /64 never has and mapped IPv4 has not in this
 * form): unknown clients are limited together rather than not at all. */
static void addr_key(const char *addr, unsigned char key[16])
{
	char buf[64];
	size_t n = strcspn(addr, "%");

	memset(key, 0, 16);
	if (n >= sizeof(buf)) {
		memset(key + 8, 0xff, 8);
		return;
	}
	memcpy(buf, addr, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, key + 12) == 1) {
		key[10] = key[11] = 0xff;
		return;
	}
	if (inet_pton(AF_INET6, buf, key) != 1) {
		memset(key, 0, 8);
		memset(key + 8, 0xff, 8);
		return;
	}
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(key, mapped, sizeof(mapped)) != 0)
		memset(key + 8, 0, 8);
}

/* FNV-1a, seeded. */
static size_t key_hash(const struct ratelimit *rl, const unsigned char key[16])
{
	uint64_t h = 14695981039346656037ULL ^ rl->seed;

	for (size_t i = 0; i < 16; i++) {
		h ^= key[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29)) & (SLOTS - 1);
}

/* The slot holding key, or the empty slot where it would go. */
static struct slot *slot_find(struct ratelimit *rl, const unsigned char key[16])
{
	size_t i = key_hash(rl, key);

	while (rl->slot[i].used && memcmp(rl->slot[i].key, key, 16) != 0)
		i = (i + 1) & (SLOTS - 1);
	return &rl->slot[i];
}

/* Empty slot s and move later members of its probe run back, so that every
 * entry stays reachable from its home slot without tombstones. */
static void slot_remove(struct ratelimit *rl, struct slot *s)
{
	size_t hole = (size_t)(s - rl->slot), i = hole;

	rl->slot[hole].used = false;
	rl->st.tracked--;
	for (;;) {
		i = (i + 1) & (SLOTS - 1);
		if (!rl->slot[i].used)
			return;
		size_t home = key_hash(rl, rl->slot[i].key);
		/* Movable when its home is not cyclically within (hole, i]. */
		if (((i - home) & (SLOTS - 1)) >= ((i - hole) & (SLOTS - 1))) {
			rl->slot[hole] = rl->slot[i];
			rl->slot[i].used = false;
			hole = i;
		}
	}
}

static bool expired(const struct ratelimit *rl, const struct slot *s, int64_t now_ms)
{
	return now_ms - s->start_ms >= (int64_t)rl->window_ms || now_ms < s->start_ms;
}

/* Make room when the table is full: drop the entry whose window ends first
 * (windows all have the same length: the oldest start). Only reached when
 * RATELIMIT_MAX_ADDRS addresses failed within one window. */
static void evict_one(struct ratelimit *rl)
{
	struct slot *oldest = NULL;

	for (size_t i = 0; i < SLOTS; i++)
		if (rl->slot[i].used && (oldest == NULL || rl->slot[i].start_ms < oldest->start_ms))
			oldest = &rl->slot[i];
	if (oldest != NULL) {
		slot_remove(rl, oldest);
		rl->st.evicted++;
	}
}

unsigned ratelimit_check(struct ratelimit *rl, const char *addr, int64_t now_ms)
{
	unsigned char key[16];
	unsigned wait = 0;

	addr_key(addr, key);
	pthread_mutex_lock(&rl->lock);
	struct slot *s = slot_find(rl, key);
	if (s->used && expired(rl, s, now_ms)) {
		slot_remove(rl, s);
	} else if (s->used && rl->limit > 0 && s->count >= rl->limit) {
		int64_t left = s->start_ms + (int64_t)rl->window_ms - now_ms;
		wait = (unsigned)((left + 999) / 1000);
		rl->st.refused++;
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void ratelimit_fail(struct ratelimit *rl, const char *addr, int64_t now_ms)
{
	unsigned char key[16];

	addr_key(addr, key);
	pthread_mutex_lock(&rl->lock);
	rl->st.failures++;
	struct slot *s = slot_find(rl, key);
	if (s->used && expired(rl, s, now_ms)) {
		slot_remove(rl, s);
		s = slot_find(rl, key);
	}
	if (!s->used) {
		if (rl->st.tracked == RATELIMIT_MAX_ADDRS) {
			evict_one(rl);
			s = slot_find(rl, key); /* the table moved */
		}
		memcpy(s->key, key, 16);
		s->used = true;
		s->count = 0;
		s->start_ms = now_ms;
		rl->st.tracked++;
	}
	if (s->count < UINT_MAX)
		s->count++;
	pthread_mutex_unlock(&rl->lock);
}

void ratelimit_stats(struct ratelimit *rl, struct ratelimit_stats *ret)
{
	pthread_mutex_lock(&rl->lock);
	*ret = rl->st;
	pthread_mutex_unlock(&rl->lock);
}
