// SPDX-License-Identifier: MIT
/*
 * net.c - the net layer under the sandboxes (net.h).
 *
 * DOC: Theory of operation
 *
 * We parse the link layer ourselves (lwIP is built without Ethernet/ARP):
 * ARP requests and IPv6 neighbour solicitations for any address but the
 * sandbox's own are answered with our MAC, so every destination, on-link
 * or not, reaches us.  What is left is an IP packet, and the pre-filter
 * (net_prefilter()) says what it is:
 *
 *  - ICMP echo to the gateway's own addresses is for lwIP; other ICMP is
 *    dropped.
 *  - UDP to the resolver address port 53 is for lwIP (our DNS server,
 *    dnssrv.c); DHCP is answered here; other UDP is the UDP flows'.
 *  - A TCP SYN that opens a new connection is the flows': it is held until
 *    the policy decides.  Every other TCP segment goes straight to lwIP.
 *
 * A fragment is held until its datagram is whole, and an IPv6 packet with
 * extension headers loses them: the pre-filter only ever decides on a
 * plain packet (ipfrag.h).
 *
 * lwIP runs NO_SYS=1; everything it sends comes back through
 * gw_output4()/gw_output6(), which add the Ethernet header and write the
 * frame to the link (link.c).
 */
#include "gw.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/ip6.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"

#include "dhcp.h"
#include "icmpecho.h"
#include "ipfrag.h"
#include "ra.h"

#define ETH_HLEN_ ETH_HDR_LEN
#define ETHTYPE_IP4 0x0800
#define ETHTYPE_ARP_ 0x0806
#define ETHTYPE_IP6 0x86dd

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int gw_is_own_addr(const struct gw *g, const struct ipaddr *a)
{
	return ipaddr_eq(a, &g->gw4) || ipaddr_eq(a, &g->dns4) ||
	       ipaddr_eq(a, &g->gw6) || ipaddr_eq(a, &g->dns6);
}

uint32_t gw_flow_hash(const struct gw *g, const struct ipaddr *src,
		      uint16_t sport, const struct ipaddr *dst, uint16_t dport)
{
	uint64_t h = g->d->hseed ^ ((uint64_t)(uintptr_t)g * 0x9e3779b97f4a7c15ull);
	size_t al = src->family == AF_INET ? 4 : 16, i;
	uint64_t w;

	h ^= ((uint64_t)sport << 16 | dport) + ((uint64_t)src->family << 32);
	h *= 0xff51afd7ed558ccdull;
	for (i = 0; i < al; i += 4) {
		memcpy(&w, src->a + i, 4);
		w = (w & 0xffffffffu) | (uint64_t)(dst->a[i] | dst->a[i + 1] << 8 |
						   dst->a[i + 2] << 16) << 32 |
		    (uint64_t)dst->a[i + 3] << 56;
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 33;
	}
	h ^= h >> 29;
	return (uint32_t)h & (GWD_HASH_SIZE - 1);
}

err_t gw_tcp_write(struct tcp_pcb *pcb, const void *data, u16_t len,
		   u8_t flags)
{
	struct netif *nif = netif_get_by_index(pcb->netif_idx);
	err_t e;

	islo_chksum_copy_off =
		nif && !(nif->chksum_flags & NETIF_CHECKSUM_GEN_TCP);
	e = tcp_write(pcb, data, len, flags);
	islo_chksum_copy_off = 0;
	return e;
}

/* ------------------------------------------------------------------ */
/* lwIP's output: frames to the sandbox                                */

/* A TCP segment longer than the MTU allows (lwIP sends up to 64 KiB on a
 * link with segmentation offload: link_syn_mss()) is cut by the kernel
 * into segments that fit the MTU, each with the headers of this one. */
static void vnet_gso(struct gw *g, const uint8_t *ip, size_t ihl,
		     size_t tcplen, uint16_t type)
{
	size_t thl = (size_t)(ip[ihl + 12] >> 4) * 4, mss;

	if (thl < 20 || thl > tcplen || (size_t)g->o->mtu <= ihl + thl + 8)
		return;
	mss = (size_t)g->o->mtu - ihl - thl;
	if (tcplen - thl <= mss)
		return;
	g->vh_out.gso_type = type == ETHTYPE_IP4 ? VIRTIO_NET_HDR_GSO_TCPV4 :
						   VIRTIO_NET_HDR_GSO_TCPV6;
	g->vh_out.gso_size = (uint16_t)mss;
	g->vh_out.hdr_len = (uint16_t)(ETH_HLEN_ + ihl + thl);
}

/* A TCP segment leaves with its checksum partial (lwIP does not compute it
 * on this netif): the pseudo-header sum in the field, the kernel (or
 * nobody: a local socket trusts it) finishes it. */
static void vnet_partial(struct gw *g, struct pbuf *p, uint16_t type)
{
	uint8_t *ip = p->payload;
	size_t len = p->tot_len, ihl = 0;

	memset(&g->vh_out, 0, sizeof(g->vh_out));
	if (type == ETHTYPE_IP4 && p->len >= 20 && ip[9] == 6)
		ihl = (size_t)(ip[0] & 15) * 4;
	else if (type == ETHTYPE_IP6 && p->len >= 40 && ip[6] == 6)
		ihl = 40;
	if (ihl && p->len >= ihl + 18) {
		uint8_t ph[40];
		size_t tcplen = len - ihl, phl;
		uint16_t sum;

		if (type == ETHTYPE_IP4) {
			memcpy(ph, ip + 12, 8);
			ph[8] = 0;
			ph[9] = 6;
			wr16(ph + 10, (uint16_t)tcplen);
			phl = 12;
		} else {
			memcpy(ph, ip + 8, 32);
			memset(ph + 32, 0, 8);
			wr16(ph + 34, (uint16_t)tcplen);
			ph[39] = 6;
			phl = 40;
		}
		sum = islo_chksum(ph, (int)phl);
		memcpy(ip + ihl + 16, &sum, 2);
		g->vh_out.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		g->vh_out.csum_start = (uint16_t)(ETH_HLEN_ + ihl);
		g->vh_out.csum_offset = 16;
		if (g->tso)
			vnet_gso(g, ip, ihl, tcplen, type);
	}
}

static err_t gw_output(struct gw *g, struct pbuf *p, uint16_t type)
{
	size_t len = p->tot_len;
	uint8_t eth[ETH_HLEN_];
	struct iovec iov[16];
	struct pbuf *q;
	int n = 1;

	if (len + ETH_HLEN_ > g->bufsize || !g->guest_mac_known)
		return ERR_OK; /* dropped: TCP retransmits, nothing else cares */
	memcpy(eth, g->guest_mac, 6);
	memcpy(eth + 6, g->mac, 6);
	wr16(eth + 12, type);
	iov[0].iov_base = eth;
	iov[0].iov_len = ETH_HLEN_;
	if (g->vnet) {
		vnet_partial(g, p, type);
		memmove(iov + 1, iov, sizeof(*iov));
		iov[0].iov_base = &g->vh_out;
		iov[0].iov_len = g->vnet;
		n = 2;
	}
	for (q = p; q && n < 16; q = q->next) {
		if (!q->len)
			continue;
		iov[n].iov_base = q->payload;
		iov[n].iov_len = q->len;
		n++;
	}
	if (q) {
		/* an unusually long chain: flatten it */
		memcpy(g->obuf, eth, ETH_HLEN_);
		if (pbuf_copy_partial(p, g->obuf + ETH_HLEN_, (u16_t)len, 0) != len)
			return ERR_BUF;
		if (g->vnet) {
			iov[1].iov_base = g->obuf;
			iov[1].iov_len = len + ETH_HLEN_;
			link_writev_raw(&g->link, iov, 2);
			return ERR_OK;
		}
		link_write(&g->link, g->obuf, len + ETH_HLEN_);
		return ERR_OK;
	}
	if (g->vnet)
		link_writev_raw(&g->link, iov, n);
	else
		link_writev(&g->link, iov, n, len + ETH_HLEN_);
	return ERR_OK;
}

static err_t gw_output4(struct netif *netif, struct pbuf *p,
			const ip4_addr_t *dst)
{
	(void)dst;
	return gw_output(netif->state, p, ETHTYPE_IP4);
}

static err_t gw_output6(struct netif *netif, struct pbuf *p,
			const ip6_addr_t *dst)
{
	(void)dst;
	return gw_output(netif->state, p, ETHTYPE_IP6);
}

static err_t gw_netif_init(struct netif *netif)
{
	struct gw *g = netif->state;

	netif->name[0] = 's';
	netif->name[1] = 'b';
	netif->output = gw_output4;
	netif->output_ip6 = gw_output6;
	netif->mtu = (u16_t)(g->o->mtu > 65535 ? 65535 : g->o->mtu);
	netif->flags = NETIF_FLAG_BROADCAST;
	/* with checksum offload on the TAP, TCP checksums are the kernel's */
	NETIF_SET_CHECKSUM_CTRL(netif, g->vnet ? NETIF_CHECKSUM_ENABLE_ALL &
				~(NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_CHECK_TCP) :
				NETIF_CHECKSUM_ENABLE_ALL);
	return ERR_OK;
}

/* The catch-all listener: SYNs for every port (patch 0001) on this netif
 * only. */
static int net_listen(struct gw *g, tcp_accept_fn accept)
{
	struct tcp_pcb *l;
	u16_t port = 1;

	g->listener = tcp_new_ip_type(IPADDR_TYPE_ANY);
	if (!g->listener)
		return -1;
	tcp_bind_netif(g->listener, &g->netif);
	/* its own port only has to be one nobody holds: lwIP refuses a
	 * second listener on a port, even on another netif */
	while (tcp_bind(g->listener, IP_ANY_TYPE, port) != ERR_OK)
		if (++port == 0)
			return -1;
	l = tcp_listen_with_backlog(g->listener, 255);
	if (!l)
		return -1;
	g->listener = l;
	/* the pcbs it makes inherit this argument until flow_inject() gives
	 * them their flow's */
	g->accept_ref.type = REF_ACCEPT;
	tcp_arg(g->listener, &g->accept_ref);
	tcp_accept(g->listener, accept);
	return 0;
}

int net_netif_up(struct gw *g, tcp_accept_fn accept)
{
	ip4_addr_t a4, m4, gw4;
	ip6_addr_t a6;

	IP4_ADDR(&a4, 10, 0, 2, 2);
	IP4_ADDR(&m4, 255, 255, 255, 0);
	IP4_ADDR(&gw4, 0, 0, 0, 0);
	if (!netif_add(&g->netif, &a4, &m4, &gw4, g, gw_netif_init, ip_input))
		return -1;
	memcpy(a6.addr, g->gw6.a, 16);
	ip6_addr_clear_zone(&a6);
	netif_ip6_addr_set(&g->netif, 0, &a6);
	netif_ip6_addr_set_state(&g->netif, 0, IP6_ADDR_VALID);
	memcpy(a6.addr, g->dns6.a, 16);
	netif_ip6_addr_set(&g->netif, 1, &a6);
	netif_ip6_addr_set_state(&g->netif, 1, IP6_ADDR_VALID);
	if (!netif_default)
		netif_set_default(&g->netif);
	netif_set_link_up(&g->netif);
	netif_set_up(&g->netif);
	return net_listen(g, accept);
}

/*
 * Take the sandbox's netif out of lwIP without touching anyone else's
 * connections: every pcb bound to it goes first, and its addresses are
 * cleared by hand, because netif_remove() would otherwise abort every pcb
 * in the process whose local address equals one of them (and every
 * sandbox has the same gateway addresses).
 */
void net_netif_down(struct gw *g)
{
	u8_t idx = netif_get_index(&g->netif);
	struct tcp_pcb *pcb, *next;
	int i;

	if (!idx || !g->netif.input)
		return;
	for (pcb = tcp_active_pcbs; pcb; pcb = next) {
		next = pcb->next;
		if (pcb->netif_idx == idx)
			tcp_abort(pcb);
	}
	for (pcb = tcp_tw_pcbs; pcb; pcb = next) {
		next = pcb->next;
		if (pcb->netif_idx == idx)
			tcp_abort(pcb);
	}
	ip_addr_set_zero_ip4(&g->netif.ip_addr);
	for (i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
		g->netif.ip6_addr_state[i] = IP6_ADDR_INVALID;
	netif_remove(&g->netif);
	if (!netif_default && netif_list)
		netif_set_default(netif_list);
	g->netif.input = NULL;
}

/*
 * lwIP routing hook (lwipopts.h): while lwIP handles a packet from one
 * sandbox, whatever it sends without a pcb (an RST for a stray segment,
 * an ICMP error) goes back out of that same sandbox's netif; so does the
 * RST flow.c sends for a refused SYN, which it brackets with
 * gw_route_via().  Every pcb we accept is bound to its netif, so nothing
 * else needs routing.
 */
static struct netif *route_via;

struct netif *islo_input_netif(void)
{
	return route_via ? route_via : ip_current_input_netif();
}

void gw_route_via(struct gw *g)
{
	route_via = g ? &g->netif : NULL;
}

void gw_inject(struct gw *g, const uint8_t *ip, size_t len)
{
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);

	if (!p)
		return;
	pbuf_take(p, ip, (u16_t)len);
	if (g->netif.input(p, &g->netif) != ERR_OK)
		pbuf_free(p);
}

/* ------------------------------------------------------------------ */
/* ARP and IPv6 neighbour discovery, answered for every address       */

void net_arp_input(struct gw *g, const uint8_t *f, size_t len)
{
	uint8_t r[42];

	/* Ethernet/IPv4 ARP request only: htype 1, ptype 0x800, 6, 4, op 1 */
	if (len < ETH_HLEN_ + 28)
		return;
	f += ETH_HLEN_;
	if (rd16(f) != 1 || rd16(f + 2) != ETHTYPE_IP4 || f[4] != 6 ||
	    f[5] != 4 || rd16(f + 6) != 1)
		return;
	/* never answer for the sandbox's own address (its DAD probes) or a
	 * gratuitous announcement */
	if (!memcmp(f + 24, g->guest4.a, 4) || !memcmp(f + 14, f + 24, 4))
		return;
	memcpy(r, f + 8, 6);            /* to the asker */
	memcpy(r + 6, g->mac, 6);
	wr16(r + 12, ETHTYPE_ARP_);
	wr16(r + 14, 1);
	wr16(r + 16, ETHTYPE_IP4);
	r[18] = 6;
	r[19] = 4;
	wr16(r + 20, 2);                /* reply */
	memcpy(r + 22, g->mac, 6);      /* sender: us, for the asked address */
	memcpy(r + 28, f + 24, 4);
	memcpy(r + 32, f + 8, 6);       /* target: the asker */
	memcpy(r + 38, f + 14, 4);
	link_write(&g->link, r, sizeof(r));
}

/* Our link-local address (EUI-64 from our MAC), the source of our RAs. */
static void router_ll(const struct gw *g, uint8_t ll[16])
{
	memset(ll, 0, 16);
	ll[0] = 0xfe;
	ll[1] = 0x80;
	ll[8] = g->mac[0] ^ 0x02;
	ll[9] = g->mac[1];
	ll[10] = g->mac[2];
	ll[11] = 0xff;
	ll[12] = 0xfe;
	ll[13] = g->mac[3];
	ll[14] = g->mac[4];
	ll[15] = g->mac[5];
}

/* Answer a neighbour solicitation (RFC 4861 4.3) for any target but the
 * sandbox's own addresses.  @ip: the IPv6 packet, @len its length. */
static void ndp_input(struct gw *g, const uint8_t *ip, size_t len)
{
	uint8_t r[ETH_HLEN_ + 40 + 32];
	uint8_t *ip6 = r + ETH_HLEN_, *icmp = ip6 + 40;
	const uint8_t *ns = ip + 40;
	uint8_t ll[16];
	uint32_t s;

	if (len < 40 + 24 || ip[6] != 58 || ns[0] != 135 || ip[7] != 255)
		return;
	router_ll(g, ll);
	/* its own address, or a link-local one (its own, by DAD) other than
	 * ours */
	if (!memcmp(ns + 8, g->guest6.a, 16) ||
	    (ns[8] == 0xfe && memcmp(ns + 8, ll, 16)))
		return;
	memcpy(r, g->guest_mac, 6);
	memcpy(r + 6, g->mac, 6);
	wr16(r + 12, ETHTYPE_IP6);
	memset(ip6, 0, 40);
	ip6[0] = 0x60;
	wr16(ip6 + 4, 32);
	ip6[6] = 58;
	ip6[7] = 255;
	memcpy(ip6 + 8, ns + 8, 16);    /* from the solicited address */
	memcpy(ip6 + 24, ip + 8, 16);   /* to the solicitor */
	memset(icmp, 0, 32);
	icmp[0] = 136;                  /* neighbour advertisement */
	icmp[4] = 0x60;                 /* solicited, override */
	memcpy(icmp + 8, ns + 8, 16);
	icmp[24] = 2;                   /* target link-layer address option */
	icmp[25] = 1;
	memcpy(icmp + 26, g->mac, 6);
	s = csum_add(0, ip6 + 8, 32);
	s += 32 + 58;
	s = csum_add(s, icmp, 32);
	wr16(icmp + 2, csum_fold(s));
	if (!memcmp(ip + 8, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16))
		return; /* DAD from an unspecified source: not for us */
	link_write(&g->link, r, sizeof(r));
}

/*
 * May an ICMP error answer this packet (RFC 1812 4.3.2.7, RFC 4443 2.4 (e))?
 * Never an ICMP error or any ICMP but an echo request, never a packet to a
 * multicast or broadcast address, never a non-first fragment, never a
 * source nobody can be answered at; and at most ICMP_ERR_PER_SEC a second
 * a sandbox, so a flood of refused packets is not echoed back in full.
 */
static int icmp_error_ok(struct gw *g, const uint8_t *ip, size_t len,
			 int family)
{
	if (family == AF_INET) {
		size_t hl = (size_t)(ip[0] & 15) * 4;

		if (len < 20 || hl < 20 || len < hl || (rd16(ip + 6) & 0x1fff))
			return 0;
		if (ip[16] >= 224 || !memcmp(ip + 12, "\0\0\0\0", 4) ||
		    ip[12] >= 224 || ip[12] == 127)
			return 0;
		/* the sandbox's subnet broadcast (a /24) */
		if (!memcmp(ip + 16, g->guest4.a, 3) && ip[19] == 255)
			return 0;
		if (ip[9] == 1 && (len < hl + 1 || ip[hl] != 8))
			return 0;
	} else {
		static const uint8_t any6[16];

		if (len < 40 || ip[24] == 0xff || ip[8] == 0xff ||
		    !memcmp(ip + 8, any6, 16))
			return 0;
		if (ip[6] == 44)
			return 0; /* a fragment that could not be made whole */
		if (ip[6] == 58 && (len < 41 || ip[40] != 128))
			return 0;
	}
	return ratelimit_ok(&g->icmp_err, now_ms(), ICMP_ERR_PER_SEC);
}

/*
 * The error comes from the refused destination's address, so the
 * sandbox's socket sees it as the destination's answer (ECONNREFUSED for
 * "port unreachable", as for a TCP RST).
 */
void net_icmp_error(struct gw *g, const uint8_t *ip, size_t len, int family,
		    uint8_t type, uint8_t code)
{
	uint8_t *f = g->obuf, *h = f + ETH_HLEN_;
	size_t quote, hl = family == AF_INET ? 20 : 40, tot;
	uint8_t *icmp = h + hl;
	uint32_t sum;

	quote = family == AF_INET ? 576 - 20 - 8 : 1280 - 40 - 8;
	if (quote > len)
		quote = len;
	tot = hl + 8 + quote;
	if (!g->guest_mac_known || ETH_HLEN_ + tot > g->bufsize ||
	    !icmp_error_ok(g, ip, len, family))
		return;
	memcpy(f, g->guest_mac, 6);
	memcpy(f + 6, g->mac, 6);
	wr16(f + 12, family == AF_INET ? ETHTYPE_IP4 : ETHTYPE_IP6);
	memset(h, 0, hl + 8);
	memcpy(icmp + 8, ip, quote);
	icmp[0] = type;
	icmp[1] = code;
	if (family == AF_INET) {
		h[0] = 0x45;
		wr16(h + 2, (uint16_t)tot);
		h[8] = 64;
		h[9] = 1;
		memcpy(h + 12, ip + 16, 4);
		memcpy(h + 16, ip + 12, 4);
		wr16(h + 10, csum_fold(csum_add(0, h, 20)));
		wr16(icmp + 2, csum_fold(csum_add(0, icmp, 8 + quote)));
	} else {
		h[0] = 0x60;
		wr16(h + 4, (uint16_t)(8 + quote));
		h[6] = 58;
		h[7] = 64;
		memcpy(h + 8, ip + 24, 16);
		memcpy(h + 24, ip + 8, 16);
		sum = csum_add(0, h + 8, 32);
		sum += (uint32_t)(8 + quote) + 58;
		sum = csum_add(sum, icmp, 8 + quote);
		wr16(icmp + 2, csum_fold(sum));
	}
	link_write(&g->link, f, ETH_HLEN_ + tot);
}

void net_icmp_unreach(struct gw *g, const uint8_t *ip, size_t len, int family)
{
	if (family == AF_INET)
		net_icmp_error(g, ip, len, family, 3, 3);  /* port unreachable */
	else
		net_icmp_error(g, ip, len, family, 1, 4);
}

/* A packet the gateway does not carry (ICMP to a destination other than
 * itself, a transport other than TCP and UDP): "communication
 * administratively prohibited", so that ping and its kind fail at once. */
static void icmp_prohibited(struct gw *g, const struct net_pkt *pk)
{
	if (pk->family == AF_INET)
		net_icmp_error(g, pk->ip, pk->len, AF_INET, 3, 13);
	else
		net_icmp_error(g, pk->ip, pk->len, AF_INET6, 1, 1);
}

void gw_send_udp(struct gw *g, const struct ipaddr *src, uint16_t sport,
		 const struct ipaddr *dst, uint16_t dport, const uint8_t *data,
		 size_t len)
{
	size_t n;

	/* no fragmentation toward the sandbox: a datagram larger than the
	 * link's MTU is dropped, as a router with DF set would */
	if (!g->guest_mac_known ||
	    len + (src->family == AF_INET ? 28 : 48) > (size_t)g->o->mtu)
		return;
	n = frame_udp(g->obuf, g->bufsize, g->guest_mac, g->mac, src, sport,
		      dst, dport, data, len);
	if (n)
		link_write(&g->link, g->obuf, n);
}

/* A DHCPv4 request (UDP to port 67): the guest configures itself. */
static void dhcp_input(struct gw *g, const uint8_t *udp, size_t len)
{
	static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct dhcp_cfg c = { .lease_secs = 86400 };
	struct ipaddr src = { .family = AF_INET }, dst = { .family = AF_INET };
	uint8_t out[1500], dst_ip[4];
	size_t ulen = (size_t)rd16(udp + 4), n, f;

	if (ulen < 8 || ulen > len || !g->guest_mac_known)
		return;
	memcpy(c.server_mac, g->mac, 6);
	memcpy(c.server_ip, g->gw4.a, 4);
	memcpy(c.dns_ip, g->dns4.a, 4);
	memcpy(c.guest_ip, g->guest4.a, 4);
	c.netmask[0] = c.netmask[1] = c.netmask[2] = 255;
	c.mtu = (uint16_t)(g->o->mtu > 65535 ? 65535 : g->o->mtu);
	n = dhcp_reply(&c, udp + 8, ulen - 8, out, sizeof(out), dst_ip);
	if (!n)
		return;
	memcpy(src.a, g->gw4.a, 4);
	memcpy(dst.a, dst_ip, 4);
	f = frame_udp(g->obuf, g->bufsize,
		      dst_ip[0] == 255 ? bcast_mac : g->guest_mac, g->mac,
		      &src, 67, &dst, 68, out, n);
	if (f)
		link_write(&g->link, g->obuf, f);
}

void net_ra_send(struct gw *g)
{
	struct ra_cfg c = { .prefix_len = ISLO_PREFIX6, .router_lifetime = 1800 };
	uint8_t out[RA_FRAME_MAX];
	size_t n;

	memcpy(c.router_mac, g->mac, 6);
	router_ll(g, c.router_ll);
	memcpy(c.prefix, g->gw6.a, 8);
	memcpy(c.dns, g->dns6.a, 16);
	c.mtu = (uint16_t)(g->o->mtu > 65535 ? 65535 : g->o->mtu);
	n = ra_build(&c, NULL, NULL, out, sizeof(out));
	if (n)
		link_write(&g->link, out, n);
	g->last_ra = now_ms();
}

/* ------------------------------------------------------------------ */
/* The pre-filter                                                      */

/*
 * A fragment is held until its datagram is whole, which is then filtered
 * as if it had come so; a Fragment header inside a reassembled datagram
 * (depth > 0) is dropped.
 */
static int ip_fragment(struct gw *g, struct net_pkt *pk, size_t foff)
{
	const uint8_t *whole;
	size_t n;

	g->st.fragments++;
	if (pk->depth)
		return NET_DONE;
	if (!g->frag && !(g->frag = ipfrag_new()))
		return NET_DONE;
	n = pk->family == AF_INET ?
		ipfrag_input4(g->frag, pk->ip, pk->len, now_ms(), &whole) :
		ipfrag_input6(g->frag, pk->ip, pk->len, foff, now_ms(), &whole);
	if (!n)
		return NET_DONE;
	pk->ip = whole;
	pk->len = n;
	pk->depth++;
	return NET_AGAIN;
}

/* An IPv6 packet with extension headers: filtered again without them. */
static int ip6_plain(struct gw *g, struct net_pkt *pk, const struct ip6_walk *w)
{
	size_t n = pk->len - w->off;

	if (pk->depth > 1 || n > 65535 - 40)
		return NET_DONE;
	if (!g->plain && !(g->plain = malloc(65536)))
		return NET_DONE;
	memcpy(g->plain, pk->ip, 40);
	g->plain[6] = w->proto;
	wr16(g->plain + 4, (uint16_t)n);
	memcpy(g->plain + 40, pk->ip + w->off, n);
	pk->ip = g->plain;
	pk->len = 40 + n;
	pk->depth++;
	return NET_AGAIN;
}

/* IPv4's header: checked, the packet trimmed to its length.
 * Return: its protocol, or -1 to drop it */
static int ip4_header(struct net_pkt *pk)
{
	const uint8_t *ip = pk->ip;
	size_t plen;

	if (pk->len < 20 || (ip[0] >> 4) != 4)
		return -1;
	pk->hl = (size_t)(ip[0] & 15) * 4;
	plen = rd16(ip + 2);
	if (pk->hl < 20 || plen < pk->hl || plen > pk->len)
		return -1;
	pk->len = plen; /* drop Ethernet padding */
	memcpy(pk->src.a, ip + 12, 4);
	memcpy(pk->dst.a, ip + 16, 4);
	return ip[9];
}

/* IPv6: the header checked, extension headers walked, neighbour
 * discovery answered.  Return: its protocol, or -1 with *@v the verdict */
static int ip6_header(struct gw *g, struct net_pkt *pk, int *v)
{
	const uint8_t *ip = pk->ip;
	size_t plen, len;
	uint8_t proto;

	*v = NET_DONE;
	if (pk->len < 40 || (ip[0] >> 4) != 6)
		return -1;
	plen = 40 + (size_t)rd16(ip + 4);
	if (plen > pk->len)
		return -1;
	pk->len = len = plen;
	pk->hl = 40;
	proto = ip[6];
	memcpy(pk->src.a, ip + 8, 16);
	memcpy(pk->dst.a, ip + 24, 16);
	/* extension headers: walked, and the packet made plain */
	if (proto == 0 || proto == 43 || proto == 44 || proto == 60) {
		struct ip6_walk w;

		switch (ip6_walk(ip, len, &w)) {
		case IP6W_FRAG:
			*v = ip_fragment(g, pk, w.off);
			return -1;
		case IP6W_OK:
			*v = ip6_plain(g, pk, &w);
			return -1;
		default:
			return -1;
		}
	}
	if (proto == 58) {
		if (len >= 41 && (ip[40] == 135)) {
			ndp_input(g, ip, len);
			return -1;
		}
		if (len >= 41 && ip[40] == 133) {
			if (ra_is_solicit(ip, len))
				net_ra_send(g);
			return -1;
		}
		if (len >= 41 && ip[40] >= 128 && ip[40] <= 137 &&
		    ip[40] != 128 && ip[40] != 129)
			return -1; /* other ND/MLD: nothing to do */
	}
	return proto;
}

/* Martians: nothing answers a loopback or multicast source, and the
 * unspecified address may only ask for DHCP (v4) or do ND (v6). */
static int martian(const struct net_pkt *pk, int proto)
{
	const uint8_t *s = pk->src.a, *l4 = pk->ip + pk->hl;

	if (pk->family == AF_INET) {
		if (s[0] == 127 || s[0] >= 224)
			return 1;
		return !memcmp(s, "\0\0\0\0", 4) &&
		       !(proto == 17 && pk->len >= pk->hl + 8 && rd16(l4 + 2) == 67);
	} else {
		static const uint8_t any6[16], lo6[16] = { [15] = 1 };

		if (s[0] == 0xff || !memcmp(s, lo6, 16))
			return 1;
		return !memcmp(s, any6, 16) && proto != 58;
	}
}

int net_prefilter(struct gw *g, struct net_pkt *pk)
{
	const uint8_t *l4;
	int proto, v = NET_DONE;

	pk->src.family = pk->dst.family = pk->family;
	if (pk->family == AF_INET) {
		proto = ip4_header(pk);
		/* more fragments, or an offset: reassembled first */
		if (proto >= 0 && (rd16(pk->ip + 6) & 0x3fff))
			return ip_fragment(g, pk, 0);
	} else {
		proto = ip6_header(g, pk, &v);
	}
	if (proto < 0 || martian(pk, proto))
		return v;
	l4 = pk->ip + pk->hl;
	switch (proto) {
	case 1:   /* ICMP */
	case 58:  /* ICMPv6 */
		/* echo to the gateway is answered; elsewhere carried by the
		 * NAT where the host allows ping, else refused */
		if (gw_is_own_addr(g, &pk->dst))
			return NET_LWIP;
		if (!g->o->nat || icmpecho_input(g, &pk->src, &pk->dst, l4,
						 pk->len - pk->hl) < 0)
			icmp_prohibited(g, pk);
		return NET_DONE;
	case 17:
		if (pk->len < pk->hl + 8)
			return NET_DONE;
		/* DNS to the gateway is answered (NAT: forwarded, udpflow.c) */
		if (rd16(l4 + 2) == 53 && !g->o->nat &&
		    (ipaddr_eq(&pk->dst, &g->dns4) ||
		     ipaddr_eq(&pk->dst, &g->dns6)))
			return NET_LWIP;
		if (pk->family == AF_INET && rd16(l4 + 2) == 67) {
			dhcp_input(g, l4, pk->len - pk->hl);
			return NET_DONE;
		}
		return NET_UDP;
	case 6:
		if (pk->len < pk->hl + 20)
			return NET_DONE;
		/* SYN without ACK: a new connection, held for the policy */
		return (l4[13] & 0x12) == 0x02 ? NET_SYN : NET_LWIP;
	default:
		icmp_prohibited(g, pk);
		return NET_DONE;
	}
}
