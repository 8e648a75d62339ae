/* SPDX-License-Identifier: MIT */
/*
 * net.h - the net layer under the sandboxes: addresses (ipaddr.c), and
 * net.c's pre-filter (martians, fragments, extension headers), ARP and
 * NDP, DHCP and router adverts, and the lwIP glue (the sandbox's netif,
 * its output, the routing hook, tcp_write()).
 *
 * Nothing here calls up into the sandbox or the flows: the pre-filter
 * says what a packet is (net_prefilter()) and the sandbox (gw.c) hands
 * it on.
 */
#ifndef ISLO_NET_H
#define ISLO_NET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "lwip/ip_addr.h"
#include "lwip/tcp.h"

#include "frame.h"

struct gw;

/* --- addresses (ipaddr.c) --- */
void ipaddr_str(const struct ipaddr *a, char *buf, size_t len);
void ipaddr_to_lwip(const struct ipaddr *a, ip_addr_t *out);
/* A built-in address (dies if it does not parse: start-up only). */
void ipaddr_parse(struct ipaddr *a, int family, const char *s);
int ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b);
/* ipaddr_pair_eq() - Are (@s1, @d1) and (@s2, @d2) the same addresses?
 * (@s1's family decides; as a flow's key compares them) */
static inline int ipaddr_pair_eq(const struct ipaddr *s1,
				 const struct ipaddr *d1,
				 const struct ipaddr *s2,
				 const struct ipaddr *d2)
{
	size_t al = s1->family == AF_INET ? 4 : 16;

	return s1->family == s2->family && !memcmp(s1->a, s2->a, al) &&
	       !memcmp(d1->a, d2->a, al);
}
/* ipaddr_sockaddr() - @a and @port as a socket address.
 * Return: its length */
socklen_t ipaddr_sockaddr(const struct ipaddr *a, uint16_t port,
			  struct sockaddr_storage *ss);

/* --- the sandbox's addresses, its netif (net.c) --- */
int gw_is_own_addr(const struct gw *g, const struct ipaddr *a);
uint32_t gw_flow_hash(const struct gw *g, const struct ipaddr *src,
		      uint16_t sport, const struct ipaddr *dst, uint16_t dport);
/* Add the sandbox's netif to lwIP, with its catch-all TCP listener whose
 * connections go to @accept.  Return: 0, or -1 */
int net_netif_up(struct gw *g, tcp_accept_fn accept);
/* Take it out again, with every pcb bound to it. */
void net_netif_down(struct gw *g);
/* tcp_write(), with lwIP's copy-and-sum skipping the sum on a netif with
 * TCP checksum offload (third_party/lwip/port/chksum.c) */
err_t gw_tcp_write(struct tcp_pcb *pcb, const void *data, u16_t len,
		   u8_t flags);
/* Send what lwIP sends without a pcb (tcp_rst) out of @g's link; NULL
 * to undo. */
void gw_route_via(struct gw *g);
/* An IP packet into lwIP, on @g's netif (a held SYN once its flow is
 * approved; what the pre-filter lets through). */
void gw_inject(struct gw *g, const uint8_t *ip, size_t len);
void gw_send_udp(struct gw *g, const struct ipaddr *src, uint16_t sport,
		 const struct ipaddr *dst, uint16_t dport, const uint8_t *data,
		 size_t len);

/* --- frames and packets from the sandbox (net.c) --- */
void net_arp_input(struct gw *g, const uint8_t *f, size_t len);
/* Our router advert (prefix, MTU, RDNSS) to the sandbox. */
void net_ra_send(struct gw *g);
/* ICMP errors a sandbox may be sent a second (net_icmp_error()) */
#define ICMP_ERR_PER_SEC 50
/**
 * net_icmp_error() - Answer the IP packet @ip with an ICMP error
 * @g:      Sandbox
 * @ip:     The packet (its IP header checked by the pre-filter)
 * @len:    Its length
 * @family: AF_INET or AF_INET6
 * @type:   ICMP or ICMPv6 type
 * @code:   Code
 *
 * Sent from the packet's destination address, quoting the packet; never
 * for an ICMP error, a multicast or broadcast destination or a non-first
 * fragment, and at most ICMP_ERR_PER_SEC a second (RFC 4443 2.4).
 */
void net_icmp_error(struct gw *g, const uint8_t *ip, size_t len, int family,
		    uint8_t type, uint8_t code);
/* Refuse a datagram (the IP packet @ip) with "port unreachable", from the
 * refused destination's address. */
void net_icmp_unreach(struct gw *g, const uint8_t *ip, size_t len,
		      int family);

/* What net_prefilter() made of a packet. */
enum net_verdict {
	NET_DONE,       /* dropped, or answered here (ARP/NDP/DHCP/RA) */
	NET_AGAIN,      /* made plain (reassembled, extension headers out):
			 * the packet in pk is a new one, filter it again */
	NET_LWIP,       /* for lwIP (gw_inject()) */
	NET_SYN,        /* a TCP SYN opening a connection: the flows' */
	NET_UDP,        /* UDP that is not DNS or DHCP: the UDP flows' */
};
struct net_pkt {
	const uint8_t *ip;      /* the packet (after the Ethernet header) */
	size_t len;             /* its length (trimmed to the IP length) */
	int family;             /* AF_INET or AF_INET6 */
	int depth;              /* how many times it was made plain */
	struct ipaddr src, dst;
	size_t hl;              /* IP header length: the L4 header at ip + hl */
};
/**
 * net_prefilter() - Decide what one IP packet from the sandbox is
 * @g:  Sandbox
 * @pk: The packet: ip, len, family (from the EtherType), depth 0; filled
 *      with its addresses and header length
 * Return: an enum net_verdict
 */
int net_prefilter(struct gw *g, struct net_pkt *pk);

#endif
