/* Byte counters of network devices, from the kernel over rtnetlink, in the
 * calling thread's network namespace. occtl reads the same counters (the
 * link's rtnl_link_stats64), so a session's RX is what the tun device
 * received from the client and TX what it sent.
 *
 * How: one RTM_GETSTATS dump filtered to IFLA_STATS_LINK_64 (index and
 * counters only: a fraction of the kernel's work for a full link dump),
 * then each index's name by SIOCGIFNAME on a datagram socket of the same
 * namespace. A kernel that refuses RTM_GETSTATS (before 4.7) gets the full
 * RTM_GETLINK dump, names included, and is not asked again. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct tun_stat {
	char name[16]; /* IFNAMSIZ */
	uint64_t rx_bytes, tx_bytes;
};

struct tun_stats {
	struct tun_stat *v;
	size_t n;
};

/* Every device's counters, in one dump. ERR_INTERNAL with detail on a
 * netlink failure, ERR_NOMEM. The caller frees ret with tun_stats_free(). */
int tun_stats_read(struct tun_stats *ret, struct err_info *ei);

/* The same from the RTM_GETLINK dump alone: the fallback for old kernels,
 * exposed for tests. */
int tun_stats_read_links(struct tun_stats *ret, struct err_info *ei);

/* The entry for device name, or NULL. */
const struct tun_stat *tun_stats_find(const struct tun_stats *s, const char *name);

void tun_stats_free(struct tun_stats *s);
