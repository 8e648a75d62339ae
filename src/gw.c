// SPDX-License-Identifier: MIT
/*
 * gw.c - the gateway datapath: one sandbox's link, its lwIP stack, its DNS.
 *
 * DOC: Theory of operation
 *
 * One thread, one epoll loop.  The sandbox's Ethernet frames arrive on its
 * TAP fd.  We parse the link layer ourselves (lwIP is built without
 * Ethernet/ARP): ARP requests and IPv6 neighbour solicitations for any
 * address but the sandbox's own are answered with our MAC, so every
 * destination, on-link or not, reaches us.  What is left is an IP packet,
 * and the pre-filter (gw_ip_input()) decides what lwIP may see:
 *
 *  - ICMP echo to the gateway's own addresses is answered by lwIP; other
 *    ICMP is dropped.
 *  - UDP to the resolver address port 53 goes to our DNS server, which
 *    answers A/AAAA with synthetic addresses (dnspool.c) and nothing else
 *    ever leaves the process.  Other UDP is refused (lwIP answers ICMP port
 *    unreachable) and logged.
 *  - A TCP SYN that opens a new connection is *held*: flow.c decides with
 *    the profile and, if allowed, resolves and connects upstream first; only
 *    then is the SYN re-injected, so lwIP's catch-all listener completes the
 *    sandbox's handshake.  A refusal is an RST.  Every other TCP segment
 *    goes straight to lwIP.
 *
 * lwIP runs NO_SYS=1: its timers are driven from a timerfd armed for the
 * next lwIP deadline, and everything it sends comes back through
 * gw_output4()/gw_output6(), which add the Ethernet header and write the
 * frame to the TAP fd.
 */
#include "gw.h"
#include "ecfast.h"
#include "isolation.h"
#include "peercheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/ip6.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"

#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include "audit.h"
#include "ca.h"
#include "dhcp.h"
#include "dns.h"
#include "dnspool.h"
#include "ipfrag.h"
#include "ra.h"
#include "log.h"
#include "profile.h"

#define ETH_HLEN_ 14
#define ETHTYPE_IP4 0x0800
#define ETHTYPE_ARP_ 0x0806
#define ETHTYPE_IP6 0x86dd
#define FRAMES_PER_WAKE 64
/* A sandbox under SYN flood pressure (flow.c) is read PACED_FRAMES frames
 * at a time, then not for PACED_MS: its flood fills its own TAP queue (the
 * kernel drops there, at its cost), not the loop every sandbox shares. */
#define PACED_FRAMES 16
#define PACED_MS 2
#define DNS_TTL 60

/* lwIP NO_SYS: our clock. */
u32_t sys_now(void)
{
	return (u32_t)now_ms();
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

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

static void ipaddr_parse(struct ipaddr *a, int family, const char *s)
{
	a->family = family;
	memset(a->a, 0, sizeof(a->a));
	if (inet_pton(family, s, a->a) != 1)
		die("bad built-in address %s", s);
}

static int ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family &&
	       !memcmp(a->a, b->a, a->family == AF_INET ? 4 : 16);
}

int gw_is_own_addr(const struct gw *g, const struct ipaddr *a)
{
	return ipaddr_eq(a, &g->gw4) || ipaddr_eq(a, &g->dns4) ||
	       ipaddr_eq(a, &g->gw6) || ipaddr_eq(a, &g->dns6);
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

void gw_epoll_mod(struct gw *g, int fd, struct epref *ref, uint32_t events,
		  int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = ref };

	if (epoll_ctl(g->epfd, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL)
		warn("epoll_ctl(%d): %s", op, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Audit                                                               */

void gw_audit_flow(struct gw *g, const struct flow *f, const char *phase,
		   const char *action, const char *reason)
{
	struct audit_ev e;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char up[INET6_ADDRSTRLEN];

	if (!strcmp(phase, "open")) {
		if (!strcmp(action, "allow"))
			g->st.conns[ACT_ALLOW]++;
		else if (f->dec.action == PF_ALLOW)
			g->st.conns[ACT_ERROR]++; /* allowed, upstream failed */
		else
			g->st.conns[ACT_DENY]++;
	} else if (!strcmp(phase, "close")) {
		g->st.bytes_up += f->bytes_up;
		g->st.bytes_down += f->bytes_down;
		if (!strcmp(action, "deny"))
			g->st.conns[ACT_DENY]++; /* refused after the peek */
	}
	/* refusals are the sandbox's to trigger at will: budgeted */
	if (!audit_begin_kind(g->audit, &e, "connection",
			      strcmp(action, "allow") ?
			      (!strcmp(phase, "open") ? AK_CONN_REFUSED
						      : AK_SECURITY) : AK_NONE))
		return;
	ipaddr_str(&f->src, src, sizeof(src));
	ipaddr_str(&f->dst, dst, sizeof(dst));
	audit_str(&e, "phase", phase);
	audit_str(&e, "action", action);
	audit_str(&e, "profile", g->profile_name);
	audit_str(&e, "rule", policy_rule_label(&f->dec));
	audit_str(&e, "proto", "tcp");
	audit_str(&e, "src", src);
	audit_int(&e, "src_port", f->sport);
	audit_str(&e, "dst_ip", dst);
	audit_int(&e, "dst_port", f->dport);
	if (f->host[0])
		audit_strn(&e, "host", f->host, strlen(f->host));
	if (f->up_addr.family) {
		ipaddr_str(&f->up_addr, up, sizeof(up));
		audit_str(&e, "upstream", up);
	}
	if (reason)
		audit_str(&e, "reason", reason);
	if (!strcmp(phase, "close")) {
		audit_int(&e, "bytes_up", (long long)f->bytes_up);
		audit_int(&e, "bytes_down", (long long)f->bytes_down);
		audit_int(&e, "duration_ms", (long long)(now_ms() - f->t_start));
	}
	audit_emit(g->audit, &e);
}

/* ------------------------------------------------------------------ */
/* Link layer: frames out                                              */

static void link_down(struct gw *g);

static void link_events(struct gw *g, uint32_t ev)
{
	if (g->tapfd < 0 || g->link_events == ev)
		return;
	gw_epoll_mod(g, g->tapfd, &g->tap_ref, ev, EPOLL_CTL_MOD);
	g->link_events = ev;
}

/* Append to the stream link's output: whole frames only, or nothing. */
static int stream_queue(struct gw *g, const uint8_t *p, size_t len)
{
	if (g->stx_cap - g->stx_len < len)
		return -1;
	memcpy(g->stx + g->stx_len, p, len);
	g->stx_len += len;
	return 0;
}

static void stream_flush(struct gw *g)
{
	while (g->stx_len && g->tapfd >= 0) {
		ssize_t n = write(g->tapfd, g->stx, g->stx_len);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			link_down(g);
			return;
		}
		memmove(g->stx, g->stx + n, g->stx_len - (size_t)n);
		g->stx_len -= (size_t)n;
	}
	link_events(g, g->stx_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static int tap_writev_raw(struct gw *g, struct iovec *iov, int niov)
{
	if (writev(g->tapfd, iov, niov) < 0) {
		g->drops_tx++;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			debug("tap write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Write one frame given as pieces (the Ethernet header, then lwIP's pbuf
 * chain): no copy into a frame buffer on the way out.  A TAP fd takes one
 * frame per writev(); the QEMU stream gets the 4-byte length first, and
 * whatever part of the frame the socket did not take is queued whole, so
 * the framing is never lost.
 */
static int tap_writev(struct gw *g, struct iovec *iov, int niov, size_t len)
{
	ssize_t n;
	int i;

	if (g->tapfd < 0)
		return -1;
	if (g->vnet) {
		/* a frame with every checksum done: a zero virtio header
		 * (gw_output() writes TCP's partial ones itself) */
		static const uint8_t zero[16];
		struct iovec all[17];

		if (niov > 16)
			return -1;
		all[0].iov_base = (void *)zero;
		all[0].iov_len = g->vnet;
		memcpy(all + 1, iov, (size_t)niov * sizeof(*iov));
		return tap_writev_raw(g, all, niov + 1);
	}
	if (g->stream) {
		uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
				   (uint8_t)(len >> 8), (uint8_t)len };
		struct iovec all[18];
		size_t done;

		if (niov > 16)
			return -1;
		all[0].iov_base = hdr;
		all[0].iov_len = 4;
		memcpy(all + 1, iov, (size_t)niov * sizeof(*iov));
		if (g->stx_len) {
			n = 0;
		} else {
			n = writev(g->tapfd, all, niov + 1);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR) {
					link_down(g);
					return -1;
				}
				n = 0;
			}
		}
		if ((size_t)n == 4 + len)
			return 0;
		if (n == 0 && g->stx_cap - g->stx_len < 4 + len) {
			g->drops_tx++;   /* nothing of it went: drop it whole */
			return -1;
		}
		/* a partial frame must be finished, or the stream is lost:
		 * queue the rest (stx_cap holds several frames) */
		done = (size_t)n;
		for (i = 0; i < niov + 1; i++) {
			size_t l = all[i].iov_len;

			if (done >= l) {
				done -= l;
				continue;
			}
			stream_queue(g, (const uint8_t *)all[i].iov_base + done,
				     l - done);
			done = 0;
		}
		link_events(g, EPOLLIN | EPOLLOUT);
		return 0;
	}
	return tap_writev_raw(g, iov, niov);
}

static int tap_write(struct gw *g, const uint8_t *frame, size_t len)
{
	struct iovec iov = { (void *)frame, len };

	return tap_writev(g, &iov, 1, len);
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
		/* a TCP segment leaves with its checksum partial (lwIP does
		 * not compute it on this netif): the pseudo-header sum in the
		 * field, the kernel (or nobody: a local socket trusts it)
		 * finishes it */
		uint8_t *ip = p->payload;
		size_t ihl = 0;

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
		}
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
			tap_writev_raw(g, iov, 2);
			return ERR_OK;
		}
		tap_write(g, g->obuf, len + ETH_HLEN_);
		return ERR_OK;
	}
	if (g->vnet)
		tap_writev_raw(g, iov, n);
	else
		tap_writev(g, iov, n, len + ETH_HLEN_);
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

/* ------------------------------------------------------------------ */
/* ARP and IPv6 neighbour discovery, answered for every address       */

static void arp_input(struct gw *g, const uint8_t *f, size_t len)
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
	tap_write(g, r, sizeof(r));
}

/* Answer a neighbour solicitation (RFC 4861 4.3) for any target but the
 * sandbox's own addresses.  @ip: the IPv6 packet, @len its length. */
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

static void ndp_input(struct gw *g, const uint8_t *ip, size_t len)
{
	uint8_t r[ETH_HLEN_ + 40 + 32];
	uint8_t *ip6 = r + ETH_HLEN_, *icmp = ip6 + 40;
	const uint8_t *ns = ip + 40;
	uint32_t s;

	if (len < 40 + 24 || ip[6] != 58 || ns[0] != 135 || ip[7] != 255)
		return;
	{
		uint8_t ll[16];

		router_ll(g, ll);
		/* its own address, or a link-local one (its own, by DAD) other
		 * than ours */
		if (!memcmp(ns + 8, g->guest6.a, 16) ||
		    (ns[8] == 0xfe && memcmp(ns + 8, ll, 16)))
			return;
	}
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
	tap_write(g, r, sizeof(r));
}

/**
 * icmp_unreach() - Refuse a datagram with "port unreachable"
 * @g:      Sandbox
 * @ip:     The refused IP packet, as the sandbox sent it
 * @len:    Its length
 * @family: AF_INET or AF_INET6
 *
 * The error comes from the refused destination's address, so the
 * sandbox's socket sees ECONNREFUSED, as for a TCP RST.
 */
static void icmp_unreach(struct gw *g, const uint8_t *ip, size_t len,
			 int family)
{
	uint8_t *f = g->obuf, *h = f + ETH_HLEN_;
	size_t quote, hl = family == AF_INET ? 20 : 40, tot;
	uint8_t *icmp = h + hl;
	uint32_t sum;

	quote = family == AF_INET ? 576 - 20 - 8 : 1280 - 40 - 8;
	if (quote > len)
		quote = len;
	tot = hl + 8 + quote;
	if (!g->guest_mac_known || ETH_HLEN_ + tot > g->bufsize)
		return;
	memcpy(f, g->guest_mac, 6);
	memcpy(f + 6, g->mac, 6);
	wr16(f + 12, family == AF_INET ? ETHTYPE_IP4 : ETHTYPE_IP6);
	memset(h, 0, hl + 8);
	memcpy(icmp + 8, ip, quote);
	if (family == AF_INET) {
		h[0] = 0x45;
		wr16(h + 2, (uint16_t)tot);
		h[8] = 64;
		h[9] = 1;
		memcpy(h + 12, ip + 16, 4);
		memcpy(h + 16, ip + 12, 4);
		wr16(h + 10, csum_fold(csum_add(0, h, 20)));
		icmp[0] = 3;    /* destination unreachable */
		icmp[1] = 3;    /* port unreachable */
		wr16(icmp + 2, csum_fold(csum_add(0, icmp, 8 + quote)));
	} else {
		h[0] = 0x60;
		wr16(h + 4, (uint16_t)(8 + quote));
		h[6] = 58;
		h[7] = 64;
		memcpy(h + 8, ip + 24, 16);
		memcpy(h + 24, ip + 8, 16);
		icmp[0] = 1;    /* destination unreachable */
		icmp[1] = 4;    /* port unreachable */
		sum = csum_add(0, h + 8, 32);
		sum += (uint32_t)(8 + quote) + 58;
		sum = csum_add(sum, icmp, 8 + quote);
		wr16(icmp + 2, csum_fold(sum));
	}
	tap_write(g, f, ETH_HLEN_ + tot);
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
		tap_write(g, g->obuf, n);
}

/* ------------------------------------------------------------------ */
/* DNS server (UDP, on the resolver address)                           */

/* Does any rule of the profile terminate TLS or HTTP?  (A deny rule with
 * methods or path_pattern too: requests are decided one by one; and the
 * database gateway, when it answers the sandbox's SSLRequest with TLS.) */
int profile_intercepts(const struct profile *p)
{
	size_t i;

	for (i = 0; p && i < p->nrules; i++)
		if ((pf_rule_intercepts(&p->rules[i]) &&
		     (p->rules[i].action == PF_ALLOW || p->rules[i].nmethods ||
		      p->rules[i].npath_patterns)) ||
		    pf_rule_client_tls(&p->rules[i]))
			return 1;
	return 0;
}

/* Is there a port on which a TCP connection to @name would be allowed?
 * The first rule whose host pattern matches decides (a deny rule with
 * methods or path_pattern refuses some requests only); else the default. */
static int name_may_be_allowed(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		const struct pf_rule *r = &p->rules[i];

		if (r->protocol != PF_TCP || !r->host_pattern ||
		    !policy_host_match(r->host_pattern, name))
			continue;
		if (r->action == PF_DENY && (r->nmethods || r->npath_patterns))
			continue;
		return r->action == PF_ALLOW;
	}
	return p->default_action == PF_ALLOW && p->internet_enabled;
}

/**
 * gw_dns_answer() - Answer one query from the sandbox
 * @g:    Sandbox
 * @q:    Query bytes
 * @len:  Their length
 * @out:  Response buffer
 * @outlen: Its size
 * @proto: "udp" or "tcp", for the audit log
 * Return: response length, 0 to send nothing
 */
size_t gw_dns_answer(struct gw *g, const uint8_t *q, size_t len, uint8_t *out,
		     size_t outlen, const char *proto);
size_t gw_dns_answer(struct gw *g, const uint8_t *q, size_t len, uint8_t *out,
		     size_t outlen, const char *proto)
{
	struct dns_question dq;
	struct audit_ev e;
	uint8_t addr[16];
	int r = dns_parse_query(q, len, &dq);
	int family = 0, rcode = DNS_RCODE_NOERROR;
	const char *action = "allow";
	char abuf[INET6_ADDRSTRLEN] = "";

	if (r == DNS_SHORT)
		return 0;
	if (r == DNS_FORMERR)
		return dns_build_response(NULL, q, len, DNS_RCODE_FORMERR, 0,
					  NULL, 0, out, outlen);
	if (r == DNS_NOTIMP)
		return dns_build_response(NULL, q, len, DNS_RCODE_NOTIMP, 0,
					  NULL, 0, out, outlen);
	if (r == DNS_BAD_NAME || r < 0 || !dq.name[0]) {
		rcode = DNS_RCODE_REFUSED;
		action = "deny";
	} else if (dq.qclass == 1 &&
		   (dq.qtype == DNS_T_A || dq.qtype == DNS_T_AAAA)) {
		family = dq.qtype == DNS_T_A ? AF_INET : AF_INET6;
		if (dns_pool_addr_for(g->pool, dq.name, family, addr) < 0) {
			rcode = DNS_RCODE_SERVFAIL;
			family = 0;
		} else {
			inet_ntop(family, addr, abuf, sizeof(abuf));
		}
	}
	/* the log says whether a connection to the name could be allowed
	 * (the first rule whose pattern matches it, on any port, or the
	 * default); the answer is synthetic either way, so a refused name
	 * fails as "connection refused", never as a lookup the host made */
	if (r == 0 && dq.name[0])
		action = name_may_be_allowed(g->prof, dq.name) ? "allow" : "deny";
	g->st.dns[!strcmp(action, "allow") ? 0 : 1]++;
	audit_begin_kind(g->audit, &e, "dns", AK_DNS);
	audit_str(&e, "action", action);
	audit_str(&e, "profile", g->profile_name);
	audit_str(&e, "proto", proto);
	if (r == 0 || r == DNS_BAD_NAME)
		audit_strn(&e, "host", dq.name, strnlen(dq.name, sizeof(dq.name)));
	if (r == 0)
		audit_int(&e, "qtype", dq.qtype);
	if (abuf[0])
		audit_str(&e, "answer", abuf);
	audit_int(&e, "rcode", rcode);
	audit_emit(g->audit, &e);
	return dns_build_response(r == 0 || r == DNS_BAD_NAME ? &dq : NULL, q,
				  len, rcode, family, family ? addr : NULL,
				  DNS_TTL, out, outlen);
}

static void dns_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p,
			 const ip_addr_t *addr, u16_t port)
{
	struct gw *g = arg;
	uint8_t q[1500], r[1500];
	const ip_addr_t *dst = ip_current_dest_addr();
	size_t len, rlen;
	struct pbuf *rp;
	struct ipaddr d = { 0 };

	if (IP_IS_V4(dst)) {
		d.family = AF_INET;
		memcpy(d.a, &ip_2_ip4(dst)->addr, 4);
	} else {
		d.family = AF_INET6;
		memcpy(d.a, ip_2_ip6(dst)->addr, 16);
	}
	if (!ipaddr_eq(&d, &g->dns4) && !ipaddr_eq(&d, &g->dns6))
		goto out;
	len = pbuf_copy_partial(p, q, sizeof(q), 0);
	rlen = gw_dns_answer(g, q, len, r, 512 > sizeof(r) ? sizeof(r) : 512,
			     "udp");
	if (!rlen)
		goto out;
	rp = pbuf_alloc(PBUF_TRANSPORT, (u16_t)rlen, PBUF_RAM);
	if (!rp)
		goto out;
	pbuf_take(rp, r, (u16_t)rlen);
	udp_sendto_if_src(pcb, rp, addr, port, &g->netif, dst);
	pbuf_free(rp);
out:
	pbuf_free(p);
}

/* ------------------------------------------------------------------ */
/* Frames in: the pre-filter                                           */

static void udp_refused(struct gw *g, const struct ipaddr *src,
			const struct ipaddr *dst, uint16_t dport,
			const struct pf_decision *d, const char *reason)
{
	struct audit_ev e;
	char s[INET6_ADDRSTRLEN], dstr[INET6_ADDRSTRLEN];

	g->st.udp[ACT_DENY]++;
	/* one line per datagram would let the sandbox fill the disk: the
	 * writer's budget (per sandbox: one cannot silence another's log) */
	if (!audit_begin_kind(g->audit, &e, "connection", AK_UDP_REFUSED))
		return;
	ipaddr_str(src, s, sizeof(s));
	ipaddr_str(dst, dstr, sizeof(dstr));
	audit_str(&e, "action", "deny");
	audit_str(&e, "profile", g->profile_name);
	audit_str(&e, "rule", policy_rule_label(d));
	audit_str(&e, "proto", "udp");
	audit_str(&e, "src", s);
	audit_str(&e, "dst_ip", dstr);
	audit_int(&e, "dst_port", dport);
	audit_str(&e, "reason", reason);
	audit_emit(g->audit, &e);
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
		tap_write(g, g->obuf, f);
}

/* A router solicitation: answer with our RA (prefix, MTU, RDNSS). */
static void ra_send(struct gw *g, const uint8_t *to_ip)
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
	(void)to_ip;
	if (n)
		tap_write(g, out, n);
	g->last_ra = now_ms();
}

static void gw_ip_input(struct gw *g, const uint8_t *ip, size_t len,
			int family, int depth);

/*
 * Fragments and IPv6 extension headers: the pre-filter only ever decides
 * on a plain packet (ipfrag.h).  A fragment is held until its datagram is
 * whole, which then goes through gw_ip_input() as if it had come so; an
 * IPv6 packet with extension headers goes through without them.  @depth
 * says how many times a packet was made plain: a Fragment header inside a
 * reassembled datagram is dropped.
 */
static void ip_fragment(struct gw *g, const uint8_t *ip, size_t len,
			int family, size_t foff, int depth)
{
	const uint8_t *whole;
	size_t n;

	g->st.fragments++;
	if (depth)
		return;
	if (!g->frag && !(g->frag = ipfrag_new()))
		return;
	n = family == AF_INET ? ipfrag_input4(g->frag, ip, len, now_ms(), &whole)
			      : ipfrag_input6(g->frag, ip, len, foff, now_ms(),
					      &whole);
	if (n)
		gw_ip_input(g, whole, n, family, depth + 1);
}

static void ip6_plain(struct gw *g, const uint8_t *ip, size_t len,
		      const struct ip6_walk *w, int depth)
{
	size_t n = len - w->off;

	if (depth > 1 || n > 65535 - 40)
		return;
	if (!g->plain && !(g->plain = malloc(65536)))
		return;
	memcpy(g->plain, ip, 40);
	g->plain[6] = w->proto;
	wr16(g->plain + 4, (uint16_t)n);
	memcpy(g->plain + 40, ip + w->off, n);
	gw_ip_input(g, g->plain, 40 + n, AF_INET6, depth + 1);
}

/**
 * gw_ip_input() - Decide what one IP packet from the sandbox becomes
 * @g:      Sandbox
 * @ip:     The packet (after the Ethernet header)
 * @len:    Its length as received
 * @family: AF_INET or AF_INET6 (from the EtherType)
 * @depth:  0, or how many times it was made plain (reassembled, extension
 *          headers taken out)
 */
static void gw_ip_input(struct gw *g, const uint8_t *ip, size_t len,
			int family, int depth)
{
	struct ipaddr src = { .family = family }, dst = { .family = family };
	size_t hl, plen;
	uint8_t proto;
	const uint8_t *l4;
	struct pbuf *p;

	if (family == AF_INET) {
		if (len < 20 || (ip[0] >> 4) != 4)
			return;
		hl = (size_t)(ip[0] & 15) * 4;
		plen = rd16(ip + 2);
		if (hl < 20 || plen < hl || plen > len)
			return;
		len = plen; /* drop Ethernet padding */
		proto = ip[9];
		memcpy(src.a, ip + 12, 4);
		memcpy(dst.a, ip + 16, 4);
		/* more fragments, or an offset: reassembled first */
		if (rd16(ip + 6) & 0x3fff) {
			ip_fragment(g, ip, len, AF_INET, 0, depth);
			return;
		}
	} else {
		if (len < 40 || (ip[0] >> 4) != 6)
			return;
		plen = 40 + (size_t)rd16(ip + 4);
		if (plen > len)
			return;
		len = plen;
		hl = 40;
		proto = ip[6];
		memcpy(src.a, ip + 8, 16);
		memcpy(dst.a, ip + 24, 16);
		/* extension headers: walked, and the packet made plain */
		if (proto == 0 || proto == 43 || proto == 44 || proto == 60) {
			struct ip6_walk w;

			switch (ip6_walk(ip, len, &w)) {
			case IP6W_FRAG:
				ip_fragment(g, ip, len, AF_INET6, w.off, depth);
				return;
			case IP6W_OK:
				ip6_plain(g, ip, len, &w, depth);
				return;
			default:
				return;
			}
		}
		if (proto == 58) {
			if (len >= 41 && (ip[40] == 135)) {
				ndp_input(g, ip, len);
				return;
			}
			if (len >= 41 && ip[40] == 133) {
				if (ra_is_solicit(ip, len))
					ra_send(g, ip + 8);
				return;
			}
			if (len >= 41 && ip[40] >= 128 && ip[40] <= 137 &&
			    ip[40] != 128 && ip[40] != 129)
				return; /* other ND/MLD: nothing to do */
		} else if (proto != 6 && proto != 17) {
			return;
		}
	}
	l4 = ip + hl;
	/* martians: nothing answers a loopback or multicast source, and the
	 * unspecified address may only ask for DHCP (v4) or do ND (v6) */
	if (family == AF_INET) {
		if (src.a[0] == 127 || src.a[0] >= 224)
			return;
		if (!memcmp(src.a, "\0\0\0\0", 4) &&
		    !(proto == 17 && len >= hl + 8 && rd16(l4 + 2) == 67))
			return;
	} else {
		static const uint8_t any6[16], lo6[16] = { [15] = 1 };

		if (src.a[0] == 0xff || !memcmp(src.a, lo6, 16))
			return;
		if (!memcmp(src.a, any6, 16) && proto != 58)
			return;
	}
	switch (proto) {
	case 1:   /* ICMP */
	case 58:  /* ICMPv6 */
		/* echo to the gateway is answered; elsewhere denied */
		if (!gw_is_own_addr(g, &dst))
			return;
		break;
	case 17:
		if (len < hl + 8)
			return;
		if (rd16(l4 + 2) == 53 && (ipaddr_eq(&dst, &g->dns4) ||
					   ipaddr_eq(&dst, &g->dns6)))
			break;
		if (family == AF_INET && rd16(l4 + 2) == 67) {
			dhcp_input(g, l4, len - hl);
			return;
		}
		{
			struct pf_decision d;
			const char *why;

			if (uflow_input(g, &src, &dst, l4, len - hl, &d, &why) == 0)
				return;
			udp_refused(g, &src, &dst, rd16(l4 + 2), &d, why);
			icmp_unreach(g, ip, len, family);
		}
		return;
	case 6:
		if (len < hl + 20)
			return;
		/* SYN without ACK: a new connection, held for the policy */
		if ((l4[13] & 0x12) == 0x02) {
			if (flow_syn(g, ip, len, family))
				return; /* held or refused */
		}
		break;
	default:
		return;
	}
	p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
	if (!p)
		return;
	pbuf_take(p, ip, (u16_t)len);
	if (g->netif.input(p, &g->netif) != ERR_OK)
		pbuf_free(p);
}

/* Re-inject a held SYN once its flow is approved (flow.c). */
void gw_inject(struct gw *g, const uint8_t *ip, size_t len);
void gw_inject(struct gw *g, const uint8_t *ip, size_t len)
{
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);

	if (!p)
		return;
	pbuf_take(p, ip, (u16_t)len);
	if (g->netif.input(p, &g->netif) != ERR_OK)
		pbuf_free(p);
}

void gw_frame_input(struct gw *g, const uint8_t *f, size_t len)
{
	uint16_t type;

	g->st.frames_in++;
	if (len < ETH_HLEN_)
		return;
	/* frames for us, or broadcast/multicast (ARP, NDP) */
	if (!(f[0] & 1) && memcmp(f, g->mac, 6))
		return;
	if (f[6] & 1)
		return; /* a multicast source address is never valid */
	if (!g->guest_mac_known || memcmp(g->guest_mac, f + 6, 6)) {
		memcpy(g->guest_mac, f + 6, 6);
		g->guest_mac_known = 1;
		g->last_ra = 0; /* a new guest: advertise at once */
	}
	type = rd16(f + 12);
	if (type == ETHTYPE_ARP_)
		arp_input(g, f, len);
	else if (type == ETHTYPE_IP4)
		gw_ip_input(g, f + ETH_HLEN_, len - ETH_HLEN_, AF_INET, 0);
	else if (type == ETHTYPE_IP6)
		gw_ip_input(g, f + ETH_HLEN_, len - ETH_HLEN_, AF_INET6, 0);
}

/* The guest went away (QEMU exited or reconnects): its connections with
 * it, and wait for the next one. */
static void link_down(struct gw *g)
{
	if (!g->stream || g->tapfd < 0)
		return;
	info("QEMU disconnected; waiting for it on the socket again");
	gw_epoll_mod(g, g->tapfd, &g->tap_ref, 0, EPOLL_CTL_DEL);
	close(g->tapfd);
	g->tapfd = -1;
	g->srx_len = g->stx_len = 0;
	g->guest_mac_known = 0;
	flow_close_all(g);
}

static void stream_accept(struct gw *g)
{
	/*
	 * One descriptor in reserve, per process as the limit is: out of
	 * descriptors, a client waiting in the backlog keeps the listening
	 * socket readable and the loop would spin on an accept that fails;
	 * the reserve lets us take that client and close it (refused).
	 */
	static int spare = -1;
	int fd;

	if (spare < 0)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = accept4(g->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && spare >= 0) {
		close(spare);
		fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		warn("out of file descriptors: a client of the socket was refused");
		return;
	}
	if (fd < 0)
		return;
	if (g->tapfd >= 0) {
		/* one guest per socket: a second connection is refused */
		close(fd);
		return;
	}
	{
		const char *why = peer_check(fd);

		if (why) {
			warn("QEMU socket: refused a peer: %s", why);
			close(fd);
			return;
		}
	}
	g->tapfd = fd;
	g->link_events = EPOLLIN;
	gw_epoll_mod(g, fd, &g->tap_ref, EPOLLIN, EPOLL_CTL_ADD);
	info("QEMU connected");
}

/*
 * QEMU's stream framing: a 4-byte big-endian length, then that many bytes
 * of Ethernet frame.  A length outside [14, MTU + 14 + 64] cannot be a
 * frame and means the stream is lost (or hostile): the guest is dropped,
 * and may connect again.  Every complete frame in srx is handled; a partial
 * one waits for its remaining bytes.
 */
static void stream_parse(struct gw *g)
{
	size_t off = 0;

	while (g->srx_len - off >= 4) {
		const uint8_t *p = g->srx + off;
		size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
			     (size_t)p[2] << 8 | p[3];

		if (len < ETH_HLEN_ || len > g->bufsize) {
			log_sandbox("QEMU stream: a frame of %zu bytes; "
				    "dropping the connection", len);
			link_down(g);
			return;
		}
		if (g->srx_len - off < 4 + len)
			break;
		memcpy(g->ibuf, p + 4, len);
		off += 4 + len;
		gw_frame_input(g, g->ibuf, len);
		if (g->tapfd < 0)
			return; /* the link went down while answering */
	}
	memmove(g->srx, g->srx + off, g->srx_len - off);
	g->srx_len -= off;
}

static void stream_input(struct gw *g)
{
	ssize_t n = read(g->tapfd, g->srx + g->srx_len, g->srx_cap - g->srx_len);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		link_down(g);
		return;
	}
	if (n < 0)
		return;
	g->srx_len += (size_t)n;
	stream_parse(g);
}

void gw_stream_feed(struct gw *g, const uint8_t *p, size_t n)
{
	while (n && g->stream && g->tapfd >= 0) {
		size_t k = g->srx_cap - g->srx_len;

		if (k > n)
			k = n;
		memcpy(g->srx + g->srx_len, p, k);
		g->srx_len += k;
		p += k;
		n -= k;
		stream_parse(g);
	}
}

/*
 * TAP checksum offload (IFF_VNET_HDR; `islo-net run` asks for it, and a
 * TAP handed over with it is used as it is).  Each frame carries a
 * virtio_net_hdr.  The sandbox's kernel may leave a checksum for us to
 * finish (VIRTIO_NET_HDR_F_NEEDS_CSUM, with the pseudo-header sum in
 * place): TCP's is not needed, lwIP does not check TCP checksums on such a
 * netif (what the sandbox could corrupt is its own stream); anything else
 * is finished here, as the parsers behind us expect whole packets.  Toward
 * the sandbox, TCP segments go out partial (gw_output()), so neither lwIP
 * nor the sandbox's kernel sums their payload.
 */
static int vnet_input(struct gw *g, const uint8_t *h, uint8_t *f, size_t len)
{
	struct virtio_net_hdr vh;
	size_t start, off;
	uint16_t sum;

	(void)g;
	memcpy(&vh, h, sizeof(vh));
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return -1;   /* not offered (no TUN_F_TSO*): not ours */
	if (!(vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	start = vh.csum_start;
	off = start + vh.csum_offset;
	if (start < ETH_HLEN_ + 20 || start > len || off + 2 > len)
		return -1;
	/* TCP over IPv4 or IPv6 (no extension headers): leave it partial */
	if (vh.csum_offset == 16 &&
	    ((rd16(f + 12) == ETHTYPE_IP4 && f[ETH_HLEN_ + 9] == 6) ||
	     (rd16(f + 12) == ETHTYPE_IP6 && f[ETH_HLEN_ + 6] == 6)))
		return 0;
	sum = (uint16_t)~islo_chksum(f + start, (int)(len - start));
	memcpy(f + off, &sum, 2);
	return 0;
}

static void tap_input(struct gw *g)
{
	int i;

	if (g->stream) {
		stream_input(g);
		return;
	}
	int max = FRAMES_PER_WAKE;
	uint64_t now = 0;

	/* paced only when it shares the loop: alone, it has all of it */
	if (g->pressure_until && g->d->nsandboxes > 1) {
		now = now_ms();
		if (now < g->pressure_until)
			max = PACED_FRAMES;
	}
	for (i = 0; i < max; i++) {
		ssize_t n = read(g->tapfd, g->ibuf, g->bufsize);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				warn("tap read: %s", strerror(errno));
			return;
		}
		if (n == 0)
			return;
		gw_tap_frame(g, g->ibuf, (size_t)n);
		if (g->tapfd < 0)
			return;
	}
	if (max == PACED_FRAMES && g->tapfd >= 0) {
		link_events(g, 0);
		g->link_paused_until = now + PACED_MS;
		g->d->paused = 1;
	}
}

/* Take the paced links back into the loop when their pause is over. */
static void links_resume(struct gwd *d)
{
	uint64_t now = now_ms();
	struct gw *g;
	int left = 0;

	for (g = d->sandboxes; g; g = g->next) {
		if (!g->link_paused_until)
			continue;
		if (now < g->link_paused_until) {
			left = 1;
			continue;
		}
		g->link_paused_until = 0;
		link_events(g, EPOLLIN);
	}
	d->paused = left;
}

void gw_tap_frame(struct gw *g, uint8_t *buf, size_t n)
{
	if (g->vnet) {
		if (n < g->vnet ||
		    vnet_input(g, buf, buf + g->vnet, n - g->vnet) < 0)
			return;
		gw_frame_input(g, buf + g->vnet, n - g->vnet);
		return;
	}
	gw_frame_input(g, buf, n);
}

static int stream_listen(struct gw *g, const char *path, char *err,
			 size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--socket: path too long");
		return -1;
	}
	strcpy(sa.sun_path, path); /* NOLINT: length checked above */
	/* a stale socket from an earlier run is replaced; anything else
	 * at that path is not ours to remove */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "--socket: %s exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	g->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->listen_fd < 0 ||
	    bind(g->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(g->listen_fd, 4) < 0) {
		snprintf(err, errlen, "--socket %s: %s", path, strerror(errno));
		return -1;
	}
	/* a peer must not be a sandbox (peercheck.h) */
	if (peer_check_init() < 0) {
		snprintf(err, errlen, "cannot read our own namespaces");
		return -1;
	}
	g->srx_cap = 2 * (g->bufsize + 4);
	g->stx_cap = 4 * (g->bufsize + 4);
	g->srx = malloc(g->srx_cap);
	g->stx = malloc(g->stx_cap);
	if (!g->srx || !g->stx) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	g->stream = 1;
	g->listen_ref.type = REF_LISTEN;
	gw_epoll_mod(g, g->listen_fd, &g->listen_ref, EPOLLIN, EPOLL_CTL_ADD);
	info("waiting for QEMU on %s", path);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Set-up and loop                                                     */

#define GW_OF(ptr, member) \
	((struct gw *)(void *)((char *)(ptr) - offsetof(struct gw, member)))

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

void gw_busy(struct gw *g)
{
	if (g->on_busy)
		return;
	g->on_busy = 1;
	g->busy_next = g->d->busy;
	g->d->busy = g;
}

void gw_route_via(struct gw *g)
{
	route_via = g ? &g->netif : NULL;
}

static void on_usr1(void *opaque)
{
	struct gwd *d = opaque;
	struct gw *g;

	for (g = d->sandboxes; g; g = g->next)
		if (audit_reopen(g->audit) < 0)
			warn("audit log reopen failed: %s", strerror(errno));
}

static void arm_timer(struct gwd *d)
{
	struct itimerspec its = { 0 };
	u32_t ms = sys_timeouts_sleeptime();

	if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE || ms > 1000)
		ms = 1000; /* the flows' timer wheel, housekeeping */
	if (d->paused && ms > 1)
		ms = 1;    /* a paced link to take back */
	if (ms == 0)
		ms = 1;
	/* one syscall less per turn: a timer already set for the same
	 * moment (to the millisecond) is left alone */
	if (d->timer_at && d->timer_at == now_ms() + ms)
		return;
	d->timer_at = now_ms() + ms;
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	timerfd_settime(d->timerfd, 0, &its, NULL);
}

/*
 * Descriptors.  One process serves every sandbox, so they share one
 * descriptor table: a sandbox at its connection limit must never take
 * another's descriptors.  At start the soft RLIMIT_NOFILE is raised to the
 * hard limit (the sandbox's own processes were forked before: they keep
 * the usual limit, as systemd does for its services' children); each
 * sandbox then reserves what its limits can use (gw_add()).
 */
static void fds_init(struct gwd *d)
{
	struct rlimit rl;
	DIR *dir;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rlim_t want = rl.rlim_max;

			/* "unlimited" is not a descriptor count the kernel
			 * takes: the sysctl fs.nr_open default */
			if (want == RLIM_INFINITY || want > 1048576)
				want = 1048576;
			if (want > rl.rlim_cur) {
				rl.rlim_cur = want;
				if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
					getrlimit(RLIMIT_NOFILE, &rl);
			}
		}
		d->fd_limit = rl.rlim_cur == RLIM_INFINITY ? 1048576
							    : (unsigned long)rl.rlim_cur;
	} else {
		d->fd_limit = 1024;
	}
	d->fd_base = 0;
	dir = opendir("/proc/self/fd");
	if (dir) {
		while (readdir(dir))
			d->fd_base++;
		closedir(dir);
		d->fd_base = d->fd_base > 3 ? d->fd_base - 3 : 0; /* . .. dir */
	} else {
		d->fd_base = 16;
	}
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

/* Descriptors one sandbox with these limits may hold. */
static unsigned long gw_fds_needed(unsigned max_flows)
{
	return (unsigned long)max_flows + GW_UFLOWS(max_flows) + GW_FDS_FIXED;
}

/**
 * gw_fds_reserve() - Reserve the sandbox's descriptors, or say why not
 * @g:      Sandbox, with g->max_flows from its options
 * @err:    Why not
 * @errlen: Its size
 *
 * `run`, `tap` and `qemu` (one sandbox, id "") lower the connection limit
 * to what fits, and say so (-v); the daemon refuses a sandbox that does
 * not fit rather than let it take the others' descriptors.
 * Return: 0, or -1 with @err set
 */
static int gw_fds_reserve(struct gw *g, char *err, size_t errlen)
{
	struct gwd *d = g->d;
	unsigned long reserve = GWD_FDS_RESERVE(d->fd_limit);
	unsigned long budget = d->fd_limit > d->fd_base + reserve ?
		d->fd_limit - d->fd_base - reserve : 0;
	unsigned long avail = budget > d->fd_reserved ? budget - d->fd_reserved : 0;
	unsigned long need = gw_fds_needed(g->max_flows);

	if (need > avail && !g->id[0]) {
		unsigned m = g->max_flows;

		while (m > 1 && gw_fds_needed(m) > avail)
			m = gw_fds_needed(m) - avail >= m ? m / 2 : m - 1;
		if (gw_fds_needed(m) <= avail) {
			info("--max-connections %u lowered to %u: that is what "
			     "fits in the descriptor limit (ulimit -n) of %lu",
			     g->max_flows, m, d->fd_limit);
			g->max_flows = m;
			need = gw_fds_needed(m);
		}
	}
	if (need > avail) {
		snprintf(err, errlen, "not enough file descriptors: "
			 "max_connections %u needs %lu, and %lu of the limit of "
			 "%lu (ulimit -n) are left (%lu reserved by %u other "
			 "sandboxes); lower max_connections or raise the limit",
			 g->max_flows, need, avail, d->fd_limit, d->fd_reserved,
			 d->nsandboxes ? d->nsandboxes - 1 : 0);
		return -1;
	}
	g->fds = need;
	d->fd_reserved += need;
	return 0;
}

/**
 * gwd_init() - Start the loop (and lwIP, once per process)
 * @d:  Loop
 * @sv: Supervisor whose signalfd the loop watches
 * Return: 0, or -1 (reported)
 */
int gwd_init(struct gwd *d, struct supervisor *sv)
{
	static int lwip_up;

	memset(d, 0, sizeof(*d));
	d->sv = sv;
	fds_init(d);
	/* arrays of list heads (pointers) */
	d->fhash = calloc(GWD_HASH_SIZE, sizeof(void *));
	d->uhash = calloc(GWD_HASH_SIZE, sizeof(void *));
	d->tw = calloc(TW_SLOTS, sizeof(void *));
	if (!d->fhash || !d->uhash || !d->tw) {
		err("out of memory");
		return -1;
	}
	if (getrandom(&d->hseed, sizeof(d->hseed), 0) != sizeof(d->hseed))
		d->hseed = now_ms() ^ (uint64_t)getpid() << 32;
	/* libcrypto's EC code for BearSSL, set up before isolation */
	ecfast_init();
	if (!lwip_up) {
		lwip_init();
		lwip_up = 1;
	}
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->epfd < 0 || d->timerfd < 0) {
		err("epoll/timerfd: %s", strerror(errno));
		return -1;
	}
	d->timer_ref.type = REF_TIMER;
	d->sig_ref.type = REF_SIG;
	{
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = &d->timer_ref };

		epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->timerfd, &ev);
		if (sv && sv->sigfd >= 0) {
			ev.data.ptr = &d->sig_ref;
			epoll_ctl(d->epfd, EPOLL_CTL_ADD, sv->sigfd, &ev);
		}
	}
	if (sv) {
		sv->on_usr1 = on_usr1;
		sv->opaque = d;
	}
	return 0;
}

void gwd_fini(struct gwd *d)
{
	while (d->sandboxes)
		gw_remove(d->sandboxes);
	if (d->ca)
		ca_free(d->ca);
	d->ca = NULL;
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	d->epfd = d->timerfd = -1;
	free(d->fhash);
	free(d->uhash);
	free(d->tw);
	d->fhash = NULL;
	d->uhash = NULL;
	d->tw = NULL;
	if (d->sv) {
		d->sv->on_usr1 = NULL;
		d->sv->opaque = NULL;
	}
}

int gwd_open_ca(struct gwd *d, const char *ca_dir, char *err, size_t errlen)
{
	char *def;

	if (d->ca)
		return 0;
	def = ca_dir ? NULL : ca_default_dir();
	d->ca = ca_open(ca_dir ? ca_dir : def, err, errlen);
	free(def);
	return d->ca ? 0 : -1;
}

/* The CA and trust store, the first time a profile intercepts. */
static int gw_prepare_interception(struct gw *g, char *err, size_t errlen)
{
	const struct run_opts *o = g->o;

	/* the CA: intercepted rules, and the database gateway's client_tls;
	 * the trust store: those, and the database gateway's upstream TLS */
	if (!profile_intercepts(g->prof) && !pf_profile_has_postgres(g->prof))
		return 0;
	if (!g->ca && profile_intercepts(g->prof)) {
		if (gwd_open_ca(g->d, o->ca_dir, err, errlen) < 0)
			return -1;
		g->ca = g->d->ca;
	}
	if (g->trust_loaded)
		return 0;
	trust_free(&g->trust);
	if (trust_add_system(&g->trust, err, errlen) < 0)
		warn("%s", err);
	if (o->upstream_ca &&
	    trust_add_pem_file(&g->trust, o->upstream_ca, err, errlen) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "--upstream-ca: %s", err);
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (!g->trust.n) {
		snprintf(err, errlen, "no trust anchors for upstream TLS: install "
			 "ca-certificates or give --upstream-ca FILE");
		return -1;
	}
	g->trust_loaded = 1;
	return 0;
}

static int gw_netif_up(struct gw *g)
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

	/* the catch-all listener and the DNS server see this netif only */
	g->listener = tcp_new_ip_type(IPADDR_TYPE_ANY);
	if (!g->listener)
		return -1;
	tcp_bind_netif(g->listener, &g->netif);
	/* the catch-all listener takes SYNs for every port (patch 0001), so
	 * its own port only has to be one nobody holds: lwIP refuses a
	 * second listener on a port, even on another netif */
	{
		u16_t port = 1;

		while (tcp_bind(g->listener, IP_ANY_TYPE, port) != ERR_OK)
			if (++port == 0)
				return -1;
	}
	{
		struct tcp_pcb *l = tcp_listen_with_backlog(g->listener, 255);

		if (!l)
			return -1;
		g->listener = l;
	}
	/* the pcbs it makes inherit this argument until flow_inject() gives
	 * them their flow's */
	g->accept_ref.type = REF_ACCEPT;
	tcp_arg(g->listener, &g->accept_ref);
	tcp_accept(g->listener, flow_accept);

	g->dns_pcb = udp_new_ip_type(IPADDR_TYPE_ANY);
	if (!g->dns_pcb)
		return -1;
	udp_bind_netif(g->dns_pcb, &g->netif);
	/* every sandbox's resolver is port 53 on its own netif */
	ip_set_option(g->dns_pcb, SOF_REUSEADDR);
	if (udp_bind(g->dns_pcb, IP_ANY_TYPE, 53) != ERR_OK)
		return -1;
	udp_recv(g->dns_pcb, dns_udp_recv, g);
	return 0;
}

/*
 * Take the sandbox's netif out of lwIP without touching anyone else's
 * connections: every pcb bound to it goes first, and its addresses are
 * cleared by hand, because netif_remove() would otherwise abort every pcb
 * in the process whose local address equals one of them (and every
 * sandbox has the same gateway addresses).
 */
static void gw_netif_down(struct gw *g)
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

static const char *gw_own(struct gw *g, int slot, const char *s)
{
	if (!s)
		return NULL;
	free(g->own_strs[slot]);
	g->own_strs[slot] = strdup(s);
	return g->own_strs[slot];
}

struct gw *gw_add(struct gwd *d, const char *id, int tapfd,
		  const struct run_opts *o, struct policyset *ps, char *err,
		  size_t errlen)
{
	static const uint8_t mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
	struct gw *g = calloc(1, sizeof(*g));

	if (!g) {
		snprintf(err, errlen, "out of memory");
		if (tapfd >= 0)
			close(tapfd);
		policyset_unref(ps);
		return NULL;
	}
	g->d = d;
	g->epfd = d->epfd;
	g->sv = d->sv;
	g->listen_fd = -1;
	g->tapfd = -1;
	snprintf(g->id, sizeof(g->id), "%s", id ? id : "");
	g->own_o = *o;
	g->own_o.audit_path = gw_own(g, 0, o->audit_path);
	g->own_o.qemu_socket = gw_own(g, 1, o->qemu_socket);
	g->o = &g->own_o;
	g->ps = ps;
	g->prof = ps->prof;
	g->profile_name = ps->name;
	g->t_added = now_ms();
	g->max_flows = o->max_connections > 0 ? (unsigned)o->max_connections : 4096;
	g->max_halfopen = g->max_flows < FLOW_HALFOPEN_MAX ? g->max_flows
							   : FLOW_HALFOPEN_MAX;
	g->max_uflows = GW_UFLOWS(g->max_flows);
	memcpy(g->mac, mac, 6);
	ipaddr_parse(&g->gw4, AF_INET, ISLO_GW4);
	ipaddr_parse(&g->dns4, AF_INET, ISLO_DNS4);
	ipaddr_parse(&g->guest4, AF_INET, ISLO_GUEST4);
	ipaddr_parse(&g->gw6, AF_INET6, ISLO_GW6);
	ipaddr_parse(&g->dns6, AF_INET6, ISLO_DNS6);
	ipaddr_parse(&g->guest6, AF_INET6, ISLO_GUEST6);
	g->tap_ref.type = REF_TAP;
	g->dns_ref.type = REF_HOSTDNS;
	g->listen_ref.type = REF_LISTEN;

	/* linked first, so that gw_remove() can undo a partial set-up */
	g->next = d->sandboxes;
	d->sandboxes = g;
	d->nsandboxes++;

	if (gw_fds_reserve(g, err, errlen) < 0)
		goto fail;
	g->max_halfopen = g->max_flows < FLOW_HALFOPEN_MAX ? g->max_flows
							   : FLOW_HALFOPEN_MAX;
	g->max_uflows = GW_UFLOWS(g->max_flows);

	g->bufsize = (size_t)g->o->mtu + ETH_HLEN_ + 64;
	g->ibuf = malloc(g->bufsize);
	g->obuf = malloc(g->bufsize);
	if (!g->ibuf || !g->obuf) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	g->audit = audit_open(g->o->audit_path, err, errlen);
	if (!g->audit)
		goto fail;
	if (g->id[0] && audit_set_sandbox(g->audit, g->id) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (gw_prepare_interception(g, err, errlen) < 0)
		goto fail;
	g->pool = dns_pool_new(65536);
	if (!g->pool) {
		snprintf(err, errlen, "cannot allocate the DNS pool");
		goto fail;
	}
	g->hostdns = hostdns_new(g, g->o->dns_upstream, err, errlen);
	if (!g->hostdns)
		goto fail;
	if (tapfd >= 0) {
		struct ifreq ifr;
		int sz = 0;

		memset(&ifr, 0, sizeof(ifr));
		if (ioctl(tapfd, TUNGETIFF, &ifr) == 0 &&
		    (ifr.ifr_flags & IFF_VNET_HDR) &&
		    ioctl(tapfd, TUNGETVNETHDRSZ, &sz) == 0 &&
		    sz >= (int)sizeof(struct virtio_net_hdr) && sz <= 16) {
			g->vnet = (size_t)sz;
			g->bufsize += (size_t)sz;
			free(g->ibuf);
			g->ibuf = malloc(g->bufsize);
			if (!g->ibuf) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
		}
	}
	if (gw_netif_up(g) < 0) {
		snprintf(err, errlen, "lwIP: cannot add the sandbox's interface "
			 "(at most 250 sandboxes per process)");
		goto fail;
	}
	if (tapfd >= 0) {
		g->tapfd = tapfd;   /* ours now: nothing below can fail */
		fcntl(g->tapfd, F_SETFL, fcntl(g->tapfd, F_GETFL) | O_NONBLOCK);
		gw_epoll_mod(g, g->tapfd, &g->tap_ref, EPOLLIN, EPOLL_CTL_ADD);
		g->link_events = EPOLLIN;
	} else if (!g->o->qemu_socket ||
		   stream_listen(g, g->o->qemu_socket, err, errlen) < 0) {
		if (!g->o->qemu_socket)
			snprintf(err, errlen, "no link: give a TAP or a QEMU socket");
		goto fail;
	}
	gw_epoll_mod(g, hostdns_fd(g->hostdns), &g->dns_ref, EPOLLIN,
		     EPOLL_CTL_ADD);
	return g;
fail:
	if (tapfd >= 0)
		close(tapfd);
	gw_remove(g);
	return NULL;
}

void gw_remove(struct gw *g)
{
	struct gwd *d = g->d;
	struct gw **pp;
	int i;

	for (pp = &d->sandboxes; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			d->nsandboxes--;
			break;
		}
	}
	d->fd_reserved -= g->fds;
	g->fds = 0;
	flow_close_all(g);
	flow_reap(g);
	uflow_tick(g, 1);
	if (g->dns_pcb)
		udp_remove(g->dns_pcb);
	if (g->listener)
		tcp_close(g->listener);
	gw_netif_down(g);
	if (g->hostdns) {
		gw_epoll_mod(g, hostdns_fd(g->hostdns), &g->dns_ref, 0,
			     EPOLL_CTL_DEL);
		hostdns_free(g->hostdns);
	}
	if (g->pool)
		dns_pool_free(g->pool);
	if (g->audit)
		audit_close(g->audit);
	g->ca = NULL;               /* the loop's, shared */
	trust_free(&g->trust);
	proxy_shared_free(g->pxs);
	g->pxs = NULL;
	free(g->ibuf);
	free(g->obuf);
	ipfrag_free(g->frag);
	free(g->plain);
	if (g->listen_fd >= 0) {
		close(g->listen_fd);
		if (g->o->qemu_socket)
			unlink(g->o->qemu_socket);
	}
	if (g->tapfd >= 0)
		close(g->tapfd);
	free(g->srx);
	free(g->stx);
	if (g->on_busy) {
		struct gw **bp;

		for (bp = &d->busy; *bp; bp = &(*bp)->busy_next)
			if (*bp == g) {
				*bp = g->busy_next;
				break;
			}
	}
	policyset_unref(g->ps);
	for (i = 0; i < 4; i++)
		free(g->own_strs[i]);
	free(g);
}

struct gw *gw_find(struct gwd *d, const char *id)
{
	struct gw *g;

	for (g = d->sandboxes; g; g = g->next)
		if (!strcmp(g->id, id))
			return g;
	return NULL;
}

int gw_reload(struct gw *g, char *err, size_t errlen)
{
	struct policyset *ps, *old = g->ps;
	const struct profile *oldp = g->prof;

	if (!old || !old->path) {
		snprintf(err, errlen, "no profile file to re-read");
		return 1;
	}
	/* a project file is re-read only as trusted, as at start-up */
	ps = policyset_load_ex(old->path, NULL, g->o ? g->o->profile_trust : NULL,
			       err, errlen);
	if (!ps) {
		g->st.reload_errors++;
		return -1;
	}
	ps->generation = old->generation + 1;
	g->prof = ps->prof;
	if (gw_prepare_interception(g, err, errlen) < 0) {
		g->prof = oldp;
		policyset_unref(ps);
		g->st.reload_errors++;
		return -1;
	}
	/* flows hold their own references: established connections keep the
	 * rules (and secrets) they were admitted under */
	g->ps = ps;
	g->profile_name = ps->name;
	policyset_unref(old);
	g->st.reloads++;
	return 0;
}

int gw_reload_logged(struct gw *g, char *err, size_t errlen)
{
	int r = gw_reload(g, err, errlen);
	struct audit_ev e;

	if (r == 1)
		return r;
	if (r < 0)
		err("%s%s%sprofile reload failed, the old one stays in "
		    "force: %s", g->id[0] ? "sandbox " : "", g->id,
		    g->id[0] ? ": " : "", err);
	else
		info("%s%s%sprofile '%s' reloaded", g->id[0] ? "sandbox " : "",
		     g->id, g->id[0] ? ": " : "", g->profile_name);
	audit_begin(&e, "profile_reload");
	audit_str(&e, "profile", g->profile_name);
	audit_str(&e, "result", r < 0 ? "error" : "ok");
	if (r < 0)
		audit_str(&e, "reason", err);
	audit_int(&e, "generation", (long long)g->ps->generation);
	audit_emit(g->audit, &e);
	return r;
}

void gwd_reload_all(struct gwd *d)
{
	struct gw *g;
	char err[4096];

	for (g = d->sandboxes; g; g = g->next)
		gw_reload_logged(g, err, sizeof(err));
}

/**
 * gwd_run_once() - One turn of the loop: wait, dispatch, run timers
 * @d:          Loop
 * @timeout_ms: How long epoll may wait
 * Return: 0, or -1 if epoll failed
 */
int gwd_run_once(struct gwd *d, int timeout_ms)
{
	struct epoll_event ev[64];
	struct gw *g;
	uint64_t now;
	int i, n, housekeep;

	arm_timer(d);
	n = epoll_wait(d->epfd, ev, 64, timeout_ms);
	if (n < 0 && errno != EINTR) {
		err("epoll_wait: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct epref *r = ev[i].data.ptr;

		switch (r->type) {
		case REF_TAP:
			g = GW_OF(r, tap_ref);
			if (g->stream && (ev[i].events & EPOLLOUT))
				stream_flush(g);
			if (g->tapfd >= 0 && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				tap_input(g);
			break;
		case REF_LISTEN:
			stream_accept(GW_OF(r, listen_ref));
			break;
		case REF_TIMER: {
			uint64_t x;

			if (read(d->timerfd, &x, sizeof(x)) < 0)
				(void)0;
			d->timer_at = 0;
			break;
		}
		case REF_SIG:
			if (d->sv)
				supervisor_handle(d->sv);
			break;
		case REF_HOSTDNS:
			g = GW_OF(r, dns_ref);
			hostdns_input(g->hostdns);
			gw_busy(g);
			break;
		case REF_FLOW:
			flow_sock_event((struct flow *)r, ev[i].events);
			break;
		case REF_UDP:
			uflow_sock_event((struct uflow *)r);
			break;
		case REF_ACCEPT:
			break;
		case REF_CTL_LISTEN:
		case REF_CTL_CONN:
		case REF_METRICS_LISTEN:
		case REF_METRICS_CONN:
			daemon_event(d, r, ev[i].events);
			break;
		}
	}
	sys_check_timeouts();
	if (d->paused)
		links_resume(d);
	if (d->sv && d->sv->reload) {
		d->sv->reload = 0;
		gwd_reload_all(d);
	}
	/*
	 * What a turn costs must not grow with the connections open: flows'
	 * deadlines come from the timer wheel, freed flows from each
	 * sandbox's reap list; what walks a sandbox's tables (idle UDP flows,
	 * reassembly, audit summaries, router adverts) runs every 250 ms.
	 */
	now = now_ms();
	flow_timers_run(d, now);
	housekeep = now >= d->housekeep_at;
	if (housekeep)
		d->housekeep_at = now + 250;
	if (housekeep) {
		for (g = d->sandboxes; g; g = g->next) {
			if (hostdns_pending(g->hostdns))
				gw_busy(g);     /* retries, timeouts */
			/* unsolicited RAs: RDNSS lifetimes are 3 x 600 s */
			if (g->guest_mac_known && g->tapfd >= 0 &&
			    now - g->last_ra > 300000) {
				ra_send(g, NULL);
				g->last_ra = now;
			}
			audit_tick(g->audit);
			if (g->frag)
				ipfrag_tick(g->frag, now);
			uflow_tick(g, 0);
		}
	}
	/* only the sandboxes that have work: idle ones cost a turn nothing */
	while ((g = d->busy)) {
		d->busy = g->busy_next;
		g->on_busy = 0;
		hostdns_tick(g->hostdns);
		if (g->reap)
			flow_reap(g);
	}
	return 0;
}

int gw_run_once(struct gw *g, int timeout_ms)
{
	return gwd_run_once(g->d, timeout_ms);
}

/* For the unit tests and fuzzers: one sandbox in a loop of its own. */
struct gw *gw_test_new(int tapfd, const struct run_opts *o,
		       struct supervisor *sv)
{
	static struct gwd d;
	struct policyset *ps;
	char err[512];
	struct gw *g;

	if (!d.epfd && gwd_init(&d, sv) < 0)
		return NULL;
	ps = policyset_borrow(o->profile, o->secrets, o->profile_name,
			      o->profile_path);
	if (!ps)
		return NULL;
	g = gw_add(&d, "", tapfd, o, ps, err, sizeof(err));
	if (!g)
		err("%s", err);
	return g;
}

/**
 * gw_serve() - `islo-net run`, `tap` and `qemu`: the loop with one sandbox
 * @tapfd: The link (not closed here), or -1 with o->qemu_socket
 * @o:     Options, with the profile loaded
 * @sv:    Supervisor (CMD, signals)
 * Return: 0, or -1 on a fatal error (reported)
 */
int gw_serve(int tapfd, const struct run_opts *o, struct supervisor *sv)
{
	struct gwd d;
	struct policyset *ps;
	struct gw *g;
	char err[1024];
	int rc = 0, fd = -1;

	if (gwd_init(&d, sv) < 0) {
		gwd_fini(&d);
		return -1;
	}
	ps = policyset_borrow(o->profile, o->secrets, o->profile_name,
			      o->profile_path);
	if (tapfd >= 0) {
		fd = dup(tapfd);
		if (fd < 0)
			err("dup: %s", strerror(errno));
	}
	g = ps && (tapfd < 0 || fd >= 0) ?
		gw_add(&d, "", fd, o, ps, err, sizeof(err)) : NULL;
	if (!g) {
		if (!ps)
			snprintf(err, sizeof(err), "out of memory");
		else if (tapfd >= 0 && fd < 0)
			policyset_unref(ps);
		err("gateway set-up failed: %s", err);
		gwd_fini(&d);
		return -1;
	}
	/* non-dumpable now, while prctl() is allowed: a reload may bring
	 * secrets later (secrets_no_core() is then a no-op) */
	secrets_no_core();
	if (isolate_serving() < 0 || supervisor_ready(sv) < 0) {
		gwd_fini(&d);
		return -1;
	}
	info("gateway profile '%s' in force", o->profile_name);
	/* until CMD has exited and its link has gone quiet (what its kernel
	 * still had to send is served, not dropped: supervisor_linger()) */
	while (supervisor_linger(sv, g->st.frames_in, g->nflows)) {
		if (gwd_run_once(&d, sv->done ? 20 : 100) < 0) {
			rc = -1;
			break;
		}
		if (!sv->done)
			supervisor_handle(sv);
	}
	gwd_fini(&d);
	return rc;
}
