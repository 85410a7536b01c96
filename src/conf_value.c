#include "conf_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

bool conf_value_uint(const char *s, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;

	if (*s == '\0' || strlen(s) > 20)
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > max)
			return false;
	}
	*ret = v;
	return true;
}

static bool is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static bool is_ipv6(const char *s)
{
	struct in6_addr a;

	return inet_pton(AF_INET6, s, &a) == 1;
}

const char *conf_value_ipv4(const char *s)
{
	return is_ipv4(s) ? NULL : "not an IPv4 address";
}

const char *conf_value_ipv6(const char *s)
{
	return is_ipv6(s) ? NULL : "not an IPv6 address";
}

const char *conf_value_ip(const char *s)
{
	return is_ipv4(s) || is_ipv6(s) ? NULL : "not an IPv4 or IPv6 address";
}

/* The prefix length of a contiguous IPv4 netmask, or -1. */
static int mask_len(const char *s)
{
	struct in_addr a;
	uint32_t m;
	int n = 0;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	m = ntohl(a.s_addr);
	while (m & 0x80000000u) {
		m <<= 1;
		n++;
	}
	return m == 0 ? n : -1;
}

/* Whether the bits of addr (len bytes) after the first plen are all zero. */
static bool host_bits_clear(const unsigned char *addr, size_t len, unsigned plen)
{
	for (size_t i = 0; i < len; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * i : 0;
		if ((addr[i] & (0xffu >> keep)) != 0)
			return false;
	}
	return true;
}

/* ADDR/LEN (IPv4 or IPv6), or A.B.C.D/NETMASK when mask is allowed (routes:
 * ocserv turns /LEN into that form; a network's prefix is only ever /LEN).
 * with_prefix: the prefix is required (routes), else optional (networks).
 * /0 is refused: 1.1.6 cannot read an IPv4 /0 route and refuses the user's
 * logins. Host bits must be clear: a client's `ip route add 10.1.2.3/16`
 * fails. */
const char *conf_value_net(const char *s, bool with_prefix, bool mask)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	unsigned char bytes[16];
	unsigned long long plen;
	bool v6 = strchr(s, ':') != NULL;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	if (alen >= sizeof(addr))
		return v6 ? "not an IPv6 address" : "not an IPv4 address";
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bytes) != 1)
		return v6 ? "not an IPv6 address" : "not an IPv4 address";
	if (slash == NULL)
		return with_prefix ? "missing the /prefix (ADDRESS/LENGTH or, for IPv4, "
				     "ADDRESS/NETMASK): ocserv refuses the logins of such a file"
				   : NULL;
	if (!v6 && mask && strchr(slash + 1, '.') != NULL) {
		int n = mask_len(slash + 1);
		if (n < 0)
			return "the netmask is not a contiguous IPv4 netmask";
		plen = (unsigned long long)n;
	} else if (!conf_value_uint(slash + 1, v6 ? 128 : 32, &plen)) {
		return v6 ? "the prefix length must be 1 to 128"
			  : "the prefix length must be 1 to 32";
	}
	if (plen == 0)
		return "a /0 network covers every address (for a route use \"default\")";
	if (!host_bits_clear(bytes, v6 ? 16 : 4, (unsigned)plen))
		return "the address has bits set beyond the prefix length";
	return NULL;
}

const char *conf_value_route(const char *s)
{
	return strcmp(s, "default") == 0 ? NULL : conf_value_net(s, true, true);
}

const char *conf_value_subnet(const char *s)
{
	return conf_value_net(s, true, true);
}

const char *conf_value_ipv4_network(const char *s)
{
	return strchr(s, ':') ? "not an IPv4 network" : conf_value_net(s, false, false);
}

const char *conf_value_ipv6_network(const char *s)
{
	return strchr(s, ':') ? conf_value_net(s, false, false) : "not an IPv6 network";
}

const char *conf_value_netmask(const char *s)
{
	return mask_len(s) > 0 ? NULL : "not a contiguous IPv4 netmask such as 255.255.255.0";
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-'. */
const char *conf_value_domain(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return "a domain name is 1 to 253 characters";
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63)
				return "each dot-separated label must be 1 to 63 characters";
			if (s[i - 1] == '-')
				return "a label must not end with '-'";
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '-') {
			if (label == 0 && c == '-')
				return "a label must not start with '-'";
			label++;
		} else {
			return "only letters, digits, '-' and '.' may appear in a domain name";
		}
	}
	return NULL;
}

/* ocserv's syntax: "tcp(443), udp(53)" allows, "!(tcp(25), udp(25))" denies
 * (ocserv's cfg_parse_ports), checked strictly. */
const char *conf_value_ports(const char *s)
{
	static const char *const protos[] = {"icmpv6", "icmp", "tcp", "udp", "sctp", "esp"};
	bool negate = false;

	if (*s == '!') {
		negate = true;
		s++;
		while (*s == ' ')
			s++;
		if (*s++ != '(')
			return "'!' must be followed by '(' and a list";
	}
	for (;;) {
		unsigned long long port;
		size_t i, n = 0;

		while (*s == ' ')
			s++;
		for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
			n = strlen(protos[i]);
			if (strncasecmp(s, protos[i], n) == 0 && s[n] == '(')
				break;
		}
		if (i == sizeof(protos) / sizeof(protos[0]))
			return "each entry is PROTOCOL(PORT) with PROTOCOL one of tcp, udp, sctp, "
			       "icmp, icmpv6, esp";
		s += n + 1;
		n = strspn(s, "0123456789");
		if (n == 0 || n > 5 || s[n] != ')')
			return "a port is 0 to 65535, in parentheses";
		char num[6];
		memcpy(num, s, n);
		num[n] = '\0';
		if (!conf_value_uint(num, 65535, &port))
			return "a port is 0 to 65535, in parentheses";
		s += n + 1;
		while (*s == ' ')
			s++;
		if (*s == ',') {
			s++;
			continue;
		}
		if (negate && *s == ')') {
			s++;
			negate = false;
			while (*s == ' ')
				s++;
		}
		if (*s != '\0' || negate)
			return negate ? "the list after '!(' must end with ')'"
				      : "entries are separated by ','";
		return NULL;
	}
}

/* An absolute path of printable characters (the AnyConnect profile). */
const char *conf_value_abs_path(const char *s)
{
	if (s[0] != '/')
		return "must be an absolute path";
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return "must not contain control characters";
	return NULL;
}

/* "CONTROLLER[,CONTROLLER]:PATH" under /sys/fs/cgroup, never leaving it. */
const char *conf_value_cgroup(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;

	if (n == 0 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_,") != n)
		return "must be CONTROLLER[,CONTROLLER]:PATH, e.g. cpuset,cpu:vpn";
	if (colon[1] == '\0' ||
	    strspn(colon + 1,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-") !=
		    strlen(colon + 1) ||
	    strstr(colon + 1, "..") != NULL)
		return "the path after ':' must be letters, digits, '.', '_', '-' and '/', without "
		       "\"..\"";
	return NULL;
}

/* "0x" and one or two hex digits: a TOS byte for net-priority. */
bool conf_value_is_tos(const char *s)
{
	size_t n = strlen(s + 2);

	return n >= 1 && n <= 2 && strspn(s + 2, "0123456789abcdefABCDEF") == n;
}

/* A name whose last label is all digits ("999.1.1.1") is a mistyped IPv4
 * address, not a host name. */
const char *conf_value_host(const char *s)
{
	const char *last = strrchr(s, '.');

	if (is_ipv4(s) || is_ipv6(s))
		return NULL;
	last = last ? last + 1 : s;
	if (*last != '\0' && strspn(last, "0123456789") == strlen(last))
		return "not a valid IPv4 address";
	return conf_value_domain(s) == NULL ? NULL : "not a host name or an IP address";
}

int conf_value_netmask_len(const char *s)
{
	return mask_len(s);
}
