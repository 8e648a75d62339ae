// SPDX-License-Identifier: MIT
/*
 * rtnl.c - rtnetlink, just what the sandbox's network needs (see rtnl.h):
 * bring a link up, add an address, add a default route.
 *
 * One request at a time, each acknowledged (NLM_F_ACK) before the next is
 * sent; the answer's error is the call's.
 */
#include "rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>      /* before the linux/ headers: struct ifreq */
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct nl_req {
	struct nlmsghdr h;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	} u;
	char attrs[256];
};

int nl_open(struct nl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	nl->seq = 1;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(nl->fd);
		return -e;
	}
	return 0;
}

/**
 * nl_req_init() - Start a request
 * @r:      Request buffer
 * @type:   RTM_*
 * @flags:  NLM_F_* besides NLM_F_REQUEST | NLM_F_ACK
 * @hlen:   Size of the family header following the nlmsghdr
 */
static void nl_req_init(struct nl_req *r, uint16_t type, uint16_t flags,
			size_t hlen)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(hlen);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
}

static void nl_attr(struct nl_req *r, uint16_t type, const void *data,
		    size_t len)
{
	struct rtattr *rta;
	size_t off = NLMSG_ALIGN(r->h.nlmsg_len);

	/* Callers add a handful of fixed-size attributes: cannot overflow. */
	if (off + RTA_SPACE(len) > sizeof(*r))
		abort();
	rta = (struct rtattr *)((char *)r + off);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

/**
 * nl_talk() - Send a request and wait for its acknowledgement
 * @nl:  Socket
 * @r:   Request
 * Return: 0, or -errno from the kernel's answer
 */
static int nl_talk(struct nl *nl, struct nl_req *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n;

	r->h.nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;

	for (;;) {
		struct nlmsghdr *h;
		size_t len;

		n = recv(nl->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		len = (size_t)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			const struct nlmsgerr *e;

			if (h->nlmsg_seq != nl->seq)
				continue;
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EPROTO;
			e = NLMSG_DATA(h);
			return e->error;
		}
	}
}

int nl_link_up(struct nl *nl, int ifindex, int mtu)
{
	struct nl_req r;

	nl_req_init(&r, RTM_NEWLINK, 0, sizeof(r.u.ifi));
	r.u.ifi.ifi_family = AF_UNSPEC;
	r.u.ifi.ifi_index = ifindex;
	r.u.ifi.ifi_flags = IFF_UP;
	r.u.ifi.ifi_change = IFF_UP;
	if (mtu > 0) {
		uint32_t m = (uint32_t)mtu;

		nl_attr(&r, IFLA_MTU, &m, sizeof(m));
	}
	return nl_talk(nl, &r);
}

/**
 * nl_new_for() - Start a request that creates something for an address
 * @r:      Request
 * @type:   RTM_NEWADDR, RTM_NEWROUTE
 * @hdrlen: Size of its family header
 * @family: AF_INET or AF_INET6
 * @addr:   The address, presentation form
 * @a:      Output: its bytes
 * Return: their count (4 or 16), or -EINVAL if @addr is not one
 */
static int nl_new_for(struct nl_req *r, uint16_t type, size_t hdrlen,
		      int family, const char *addr, unsigned char a[16])
{
	if (inet_pton(family, addr, a) != 1)
		return -EINVAL;
	nl_req_init(r, type, NLM_F_CREATE | NLM_F_EXCL, hdrlen);
	return family == AF_INET ? 4 : 16;
}

int nl_addr_add(struct nl *nl, int ifindex, int family,
		       const char *addr, int prefixlen)
{
	unsigned char a[16];
	struct nl_req r;
	int alen = nl_new_for(&r, RTM_NEWADDR, sizeof(r.u.ifa), family, addr,
			      a);

	if (alen < 0)
		return alen;
	r.u.ifa.ifa_family = (unsigned char)family;
	r.u.ifa.ifa_prefixlen = (unsigned char)prefixlen;
	r.u.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	r.u.ifa.ifa_index = (unsigned int)ifindex;
	nl_attr(&r, IFA_LOCAL, a, (size_t)alen);
	nl_attr(&r, IFA_ADDRESS, a, (size_t)alen);
	if (family == AF_INET6) {
		uint32_t fl = IFA_F_NODAD;

		r.u.ifa.ifa_flags = IFA_F_NODAD;
		nl_attr(&r, IFA_FLAGS, &fl, sizeof(fl));
	}
	return nl_talk(nl, &r);
}

int nl_default_route(struct nl *nl, int ifindex, int family,
			    const char *gw)
{
	unsigned char a[16];
	uint32_t oif = (uint32_t)ifindex;
	struct nl_req r;
	int alen = nl_new_for(&r, RTM_NEWROUTE, sizeof(r.u.rt), family, gw, a);

	if (alen < 0)
		return alen;
	r.u.rt.rtm_family = (unsigned char)family;
	r.u.rt.rtm_table = RT_TABLE_MAIN;
	r.u.rt.rtm_protocol = RTPROT_BOOT;
	r.u.rt.rtm_scope = RT_SCOPE_UNIVERSE;
	r.u.rt.rtm_type = RTN_UNICAST;
	nl_attr(&r, RTA_GATEWAY, a, (size_t)alen);
	nl_attr(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(nl, &r);
}
