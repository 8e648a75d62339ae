/* SPDX-License-Identifier: MIT */
/*
 * rtnl.h - the few rtnetlink requests that set up a sandbox's network
 * namespace (ns.c): no library, no dump parsing.
 *
 * Each call returns 0 or -errno (the kernel's answer, or the socket's).
 */
#ifndef ISLO_RTNL_H
#define ISLO_RTNL_H

#include <stdint.h>

/* An rtnetlink socket; the caller closes @fd. */
struct nl {
	int fd;
	uint32_t seq;
};

int nl_open(struct nl *nl);
/* Bring link @ifindex up, with MTU @mtu if it is > 0. */
int nl_link_up(struct nl *nl, int ifindex, int mtu);
/* Add @addr/@prefixlen (AF_INET or AF_INET6, no DAD) to @ifindex. */
int nl_addr_add(struct nl *nl, int ifindex, int family, const char *addr,
		int prefixlen);
/* Add the default route of @family via @gw on @ifindex. */
int nl_default_route(struct nl *nl, int ifindex, int family, const char *gw);

#endif
