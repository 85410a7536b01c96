/* IP addresses given by clients (unban). */
#pragma once

#include <stddef.h>

#define IPADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

/* Parse s as one IPv4 (dotted quad) or IPv6 address, nothing else (no
 * prefix, zone, port or spaces), and write its canonical text (inet_ntop)
 * into out (IPADDR_TEXT_MAX bytes). An IPv4-mapped IPv6 address becomes the
 * IPv4 address: that is how ocserv records a client that came over IPv4.
 * Returns 0, or ERR_BAD_REQUEST. */
int ipaddr_normalize(const char *s, char *out, size_t len);
