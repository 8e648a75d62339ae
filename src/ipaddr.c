// SPDX-License-Identifier: MIT
/*
 * ipaddr.c - struct ipaddr (islo.h): printed, parsed, compared, and made
 * into lwIP's and the socket API's addresses (net.h).
 */
#include "net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

void ipaddr_str(const struct ipaddr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void ipaddr_to_lwip(const struct ipaddr *a, ip_addr_t *out)
{
	memset(out, 0, sizeof(*out));
	if (a->family == AF_INET) {
		IP_SET_TYPE(out, IPADDR_TYPE_V4);
		memcpy(&ip_2_ip4(out)->addr, a->a, 4);
	} else {
		IP_SET_TYPE(out, IPADDR_TYPE_V6);
		memcpy(ip_2_ip6(out)->addr, a->a, 16);
	}
}

void ipaddr_parse(struct ipaddr *a, int family, const char *s)
{
	a->family = family;
	memset(a->a, 0, sizeof(a->a));
	if (inet_pton(family, s, a->a) != 1)
		die("bad built-in address %s", s);
}

int ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family &&
	       !memcmp(a->a, b->a, a->family == AF_INET ? 4 : 16);
}

socklen_t ipaddr_sockaddr(const struct ipaddr *a, uint16_t port,
			  struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->a, 4);
		return sizeof(*s4);
	}
	{
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->a, 16);
		return sizeof(*s6);
	}
}
