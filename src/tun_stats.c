#include "tun_stats.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "array.h"

/* Bounds: a dump of more devices than this is cut short (ocserv's own limit
 * on clients is far lower), and the kernel gets this long to answer. */
#define TUN_STATS_MAX_DEVICES 65536
#define TUN_STATS_TIMEOUT_MS  1000
#define RECV_BUF	      32768

/* Set once a kernel has refused RTM_GETSTATS: it will not learn it later. */
static int stats_refused;

/* One dump: what it asks and how each of its messages is read. */
struct dump {
	uint16_t type;	   /* RTM_GETSTATS or RTM_GETLINK */
	uint16_t rep_type; /* the messages it answers with */
	const void *body;  /* the request after the netlink header */
	size_t body_len;
	bool (*parse)(const struct nlmsghdr *nh, struct tun_stat *st);
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

static int send_dump(int fd, const struct dump *d, uint32_t seq, struct err_info *ei)
{
	struct {
		struct nlmsghdr nh;
		uint8_t body[32];
	} req = {.nh = {.nlmsg_len = (uint32_t)NLMSG_LENGTH(d->body_len),
			.nlmsg_type = d->type,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = seq}};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	memcpy(req.body, d->body, d->body_len);
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return err_set(ei, ERR_INTERNAL, "netlink send: %s", strerror(errno));
	return 0;
}

static void set_counters(struct tun_stat *st, const void *p, size_t plen)
{
	struct rtnl_link_stats64 s;

	if (plen < sizeof(s))
		return;
	memcpy(&s, p, sizeof(s));
	st->rx_bytes = s.rx_bytes;
	st->tx_bytes = s.tx_bytes;
}

/* Name and byte counters from one RTM_NEWLINK message: 64-bit counters
 * when the kernel gives them, else the 32-bit ones. False without a name. */
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
			set_counters(st, RTA_DATA(a), plen);
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

/* Index and counters from one RTM_NEWSTATS message; the index is kept in
 * the name's bytes until name_entries() replaces it with the name. False
 * without both. */
static bool parse_stats(const struct nlmsghdr *nh, struct tun_stat *st)
{
	const struct if_stats_msg *ism = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ism));
	const struct rtattr *a = (const void *)((const char *)ism + NLMSG_ALIGN(sizeof(*ism)));
	int index = (int)ism->ifindex;

	memset(st, 0, sizeof(*st));
	if (len < 0 || index <= 0)
		return false;
	memcpy(st->name, &index, sizeof(index));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_STATS_LINK_64 &&
		    RTA_PAYLOAD(a) >= sizeof(struct rtnl_link_stats64)) {
			set_counters(st, RTA_DATA(a), RTA_PAYLOAD(a));
			return true;
		}
	return false;
}

/* Handle one datagram of the dump. 1 when the dump is complete, 0 for more,
 * -ERR_* on failure; *refused when the kernel answered with an error. */
static int handle_chunk(const struct dump *d, const char *buf, size_t n, uint32_t seq,
			struct tun_stats *s, size_t *cap, bool *refused, struct err_info *ei)
{
	int len = (int)n;

	for (const struct nlmsghdr *nh = (const void *)buf; NLMSG_OK(nh, len);
	     nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_seq != seq)
			continue;
		if (nh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nh->nlmsg_type == NLMSG_ERROR) {
			*refused = true;
			return err_set(ei, ERR_INTERNAL, "netlink dump refused");
		}
		if (nh->nlmsg_type != d->rep_type || s->n >= TUN_STATS_MAX_DEVICES)
			continue;
		if (array_grow(&s->v, cap, s->n, sizeof(*s->v), 64) < 0)
			return err_set(ei, ERR_NOMEM, "out of memory");
		if (d->parse(nh, &s->v[s->n]))
			s->n++;
	}
	return 0;
}

/* Run dump d on a new netlink socket into s (entries appended). */
static int run_dump(const struct dump *d, struct tun_stats *s, bool *refused, struct err_info *ei)
{
	static uint32_t seq_counter;
	uint32_t seq = __atomic_add_fetch(&seq_counter, 1, __ATOMIC_RELAXED);
	char buf[RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	size_t cap = 0;
	int fd = open_socket(ei);
	int r = fd < 0 ? fd : send_dump(fd, d, seq, ei);

	while (r == 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = err_set(ei, ERR_INTERNAL, "netlink recv: %s",
				    n < 0 ? strerror(errno) : "end of file");
			break;
		}
		r = handle_chunk(d, buf, (size_t)n, seq, s, &cap, refused, ei);
	}
	if (fd >= 0)
		close(fd);
	return r < 0 ? r : 0;
}

int tun_stats_read_links(struct tun_stats *ret, struct err_info *ei)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	const struct dump d = {RTM_GETLINK, RTM_NEWLINK, &ifi, sizeof(ifi), parse_link};
	struct tun_stats s = {0};
	bool refused = false;
	int r = run_dump(&d, &s, &refused, ei);

	if (r < 0) {
		tun_stats_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

/* A datagram socket of the calling thread's namespace, for SIOCGIFNAME
 * (any family without an ioctl of that number of its own will do). */
static int open_ioctl_socket(struct err_info *ei)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(ei, ERR_INTERNAL, "socket: %s", strerror(errno));
	return fd;
}

/* Name the entries of a stats dump (their index is in name, see
 * parse_stats), dropping those whose device went away meanwhile. */
static int name_entries(struct tun_stats *s, struct err_info *ei)
{
	int fd = open_ioctl_socket(ei);
	size_t kept = 0;

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < s->n; i++) {
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		memcpy(&ifr.ifr_ifindex, s->v[i].name, sizeof(ifr.ifr_ifindex));
		if (ioctl(fd, SIOCGIFNAME, &ifr) < 0 || ifr.ifr_name[0] == '\0')
			continue;
		s->v[kept] = s->v[i];
		memcpy(s->v[kept].name, ifr.ifr_name, sizeof(s->v[kept].name) - 1);
		s->v[kept].name[sizeof(s->v[kept].name) - 1] = '\0';
		kept++;
	}
	close(fd);
	s->n = kept;
	return 0;
}

int tun_stats_read(struct tun_stats *ret, struct err_info *ei)
{
	struct if_stats_msg ism = {.family = AF_UNSPEC,
				   .filter_mask = IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64)};
	const struct dump d = {RTM_GETSTATS, RTM_NEWSTATS, &ism, sizeof(ism), parse_stats};
	struct tun_stats s = {0};
	bool refused = false;
	int r;

	if (__atomic_load_n(&stats_refused, __ATOMIC_RELAXED))
		return tun_stats_read_links(ret, ei);
	r = run_dump(&d, &s, &refused, ei);
	if (r == 0)
		r = name_entries(&s, ei);
	if (r < 0) {
		tun_stats_free(&s);
		if (!refused)
			return r;
		__atomic_store_n(&stats_refused, 1, __ATOMIC_RELAXED);
		return tun_stats_read_links(ret, ei);
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
