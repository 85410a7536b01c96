#include "ipaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "err.h"

int ipaddr_normalize(const char *s, char *out, size_t len)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strlen(s) >= IPADDR_TEXT_MAX)
		return ERR_BAD_REQUEST;
	if (inet_pton(AF_INET, s, &a4) == 1)
		return inet_ntop(AF_INET, &a4, out, (socklen_t)len) ? 0 : ERR_BAD_REQUEST;
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return ERR_BAD_REQUEST;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], 4);
		return inet_ntop(AF_INET, &a4, out, (socklen_t)len) ? 0 : ERR_BAD_REQUEST;
	}
	return inet_ntop(AF_INET6, &a6, out, (socklen_t)len) ? 0 : ERR_BAD_REQUEST;
}
