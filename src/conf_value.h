/* The syntaxes of values in ocserv's configuration files (ocserv.conf and
 * the per-user and per-group files), checked as strictly as the agent
 * writes them: stricter than ocserv where ocserv would misread a value or
 * refuse logins over it (a route without a prefix, a /0 network, host bits
 * set beyond the prefix). Pure functions on NUL-terminated text.
 *
 * The conf_value_* checks return NULL when s is valid, else a short reason
 * for the client (a static string). */
#pragma once

#include <stdbool.h>

/* Decimal digits only (no sign, no blanks), at most max. */
bool conf_value_uint(const char *s, unsigned long long max, unsigned long long *ret);

/* "0x" and one or two hexadecimal digits: a TOS byte (net-priority). */
bool conf_value_is_tos(const char *s);

const char *conf_value_ipv4(const char *s);
const char *conf_value_ipv6(const char *s);
const char *conf_value_ip(const char *s); /* either */

/* ADDR/LEN (IPv4 or IPv6), or A.B.C.D/NETMASK when mask; with_prefix: the
 * prefix is required. /0 and host bits beyond the prefix are refused. */
const char *conf_value_net(const char *s, bool with_prefix, bool mask);
const char *conf_value_route(const char *s);  /* "default" or a network with its prefix */
const char *conf_value_subnet(const char *s); /* a network with its prefix (no-route, iroute) */
const char *conf_value_ipv4_network(const char *s); /* prefix optional */
const char *conf_value_ipv6_network(const char *s); /* prefix optional */
const char *conf_value_netmask(const char *s);	    /* contiguous, e.g. 255.255.255.0 */
const char *conf_value_domain(const char *s);	    /* RFC 1123 host name */

/* ocserv's port lists: "tcp(443), udp(53)" or "!(tcp(25), udp(25))". */
const char *conf_value_ports(const char *s);

/* An absolute path without control characters. */
const char *conf_value_abs_path(const char *s);

/* "CONTROLLER[,CONTROLLER]:PATH", never leaving /sys/fs/cgroup. */
const char *conf_value_cgroup(const char *s);

/* A host name (RFC 1123) or an IPv4 or IPv6 address (listen-host). */
const char *conf_value_host(const char *s);

/* The prefix length of a contiguous IPv4 netmask ("255.255.255.0": 24), or
 * -1 when s is not one. */
int conf_value_netmask_len(const char *s);
