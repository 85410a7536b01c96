#include "tun_stats.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "array.h"

/* Bounds: a dump of more devices than this is cut short (ocserv's own limit
 * on clients is far lower), and the kernel gets this long to answer. */
#define TUN_STATS_MAX_DEVICES 65536
#define TUN_STATS_TIMEOUT_MS  1000
#define RECV_BUF	      32768

struct dump_req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
};

static int open_socket(struct err_info *ei)
{
	struct timeval tv = {TUN_STATS_TIMEOUT_MS / 1000, (TUN_STATS_TIMEOUT_MS % 1000) * 1000};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return err_set(ei, ERR_INTERNAL, "netlink socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return err_set(ei, ERR_INTERNAL, "netlink socket setup: %s", strerror(e));
	}
	return fd;
}

static int send_dump(int fd, uint32_t seq, struct err_info *ei)
{
	struct dump_req req = {
		.nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = seq},
		.ifi = {.ifi_family = AF_UNSPEC},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return err_set(ei, ERR_INTERNAL, "netlink send: %s", strerror(errno));
	return 0;
}

/* Read name and byte counters from one RTM_NEWLINK message. 64-bit counters
 * when the kernel gives them, else the 32-bit ones. Returns false when the
 * message has no name. */
static bool parse_link(const struct nlmsghdr *nh, struct tun_stat *st)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	bool named = false, have64 = false;

	memset(st, 0, sizeof(*st));
	if (len < 0)
		return false;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t plen = RTA_PAYLOAD(a);
		if (a->rta_type == IFLA_IFNAME && plen > 0) {
			size_t n = strnlen(RTA_DATA(a), plen);
			if (n >= sizeof(st->name))
				n = sizeof(st->name) - 1;
			memcpy(st->name, RTA_DATA(a), n);
			st->name[n] = '\0';
			named = n > 0;
		} else if (a->rta_type == IFLA_STATS64 &&
			   plen >= sizeof(struct rtnl_link_stats64)) {
			struct rtnl_link_stats64 s;
			memcpy(&s, RTA_DATA(a), sizeof(s));
			st->rx_bytes = s.rx_bytes;
			st->tx_bytes = s.tx_bytes;
			have64 = true;
		} else if (a->rta_type == IFLA_STATS && !have64 &&
			   plen >= sizeof(struct rtnl_link_stats)) {
			struct rtnl_link_stats s;
			memcpy(&s, RTA_DATA(a), sizeof(s));
			st->rx_bytes = s.rx_bytes;
			st->tx_bytes = s.tx_bytes;
		}
	}
	return named;
}

/* Handle one datagram of the dump. 1 when the dump is complete, 0 for more,
 * or an error. */
static int handle_chunk(const char *buf, size_t n, uint32_t seq, struct tun_stats *s, size_t *cap,
			struct err_info *ei)
{
	int len = (int)n;

	for (const struct nlmsghdr *nh = (const void *)buf; NLMSG_OK(nh, len);
	     nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_seq != seq)
			continue;
		if (nh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nh->nlmsg_type == NLMSG_ERROR)
			return err_set(ei, ERR_INTERNAL, "netlink dump refused");
		if (nh->nlmsg_type != RTM_NEWLINK || s->n >= TUN_STATS_MAX_DEVICES)
			continue;
		if (array_grow(&s->v, cap, s->n, sizeof(*s->v), 16) < 0)
			return err_set(ei, ERR_NOMEM, "out of memory");
		if (parse_link(nh, &s->v[s->n]))
			s->n++;
	}
	return 0;
}

int tun_stats_read(struct tun_stats *ret, struct err_info *ei)
{
	static uint32_t seq_counter;
	uint32_t seq = __atomic_add_fetch(&seq_counter, 1, __ATOMIC_RELAXED);
	struct tun_stats s = {0};
	size_t cap = 0;
	char *buf = malloc(RECV_BUF);
	int fd = buf ? open_socket(ei) : err_set(ei, ERR_NOMEM, "out of memory");
	int r = fd < 0 ? fd : send_dump(fd, seq, ei);

	while (r == 0) {
		ssize_t n = recv(fd, buf, RECV_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = err_set(ei, ERR_INTERNAL, "netlink recv: %s",
				    n < 0 ? strerror(errno) : "end of file");
			break;
		}
		r = handle_chunk(buf, (size_t)n, seq, &s, &cap, ei);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	if (r < 0) {
		tun_stats_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

const struct tun_stat *tun_stats_find(const struct tun_stats *s, const char *name)
{
	for (size_t i = 0; s != NULL && name != NULL && i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

void tun_stats_free(struct tun_stats *s)
{
	if (s == NULL)
		return;
	free(s->v);
	s->v = NULL;
	s->n = 0;
}
