// SPDX-License-Identifier: MIT
/*
 * gw.c - the sandboxes: each one's link, netif, DNS pool, resolver, audit
 * log, rules, limits and counters; added, removed and reloaded; and what
 * a frame from its link becomes.
 *
 * DOC: Theory of operation
 *
 * One thread, one epoll loop (loop.c) for every sandbox.  A sandbox's
 * Ethernet frames arrive on its link (link.c: a TAP fd, or QEMU's stream
 * socket); ARP is answered (net.c), and an IP packet goes through the
 * pre-filter (net_prefilter()), which says what it is: for lwIP, a TCP SYN
 * for the flows, a UDP datagram for the UDP flows, or nothing more to do.
 *
 * A TCP SYN that opens a new connection is *held*: flow.c decides with the
 * profile and, if allowed, resolves and connects upstream first; only then
 * is the SYN re-injected, so lwIP's catch-all listener completes the
 * sandbox's handshake.  A refusal is an RST.  Refused UDP is answered with
 * ICMP port unreachable and logged.
 *
 * lwIP runs NO_SYS=1: its timers are driven from the loop's timerfd, and
 * everything it sends goes out through net.c's netif output to the link.
 * This file registers the handlers of the sandboxes' descriptors with the
 * loop (links, resolvers, flows' and UDP flows' sockets) and runs what a
 * turn leaves to do (gwd_run_once()).
 */
#include "gw.h"
#include "ecfast.h"
#include "isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/timeouts.h"

#include "audit.h"
#include "ca.h"
#include "dnspool.h"
#include "icmpecho.h"
#include "ipfrag.h"
#include "log.h"
#include "profile.h"
#include "refusals.h"

#define ETHTYPE_IP4 0x0800
#define ETHTYPE_ARP_ 0x0806
#define ETHTYPE_IP6 0x86dd
#define FRAMES_PER_WAKE 64
/* A sandbox under SYN flood pressure (flow.c) is read PACED_FRAMES frames
 * at a time, then not for PACED_MS: its flood fills its own TAP queue (the
 * kernel drops there, at its cost), not the loop every sandbox shares. */
#define PACED_FRAMES 16
#define PACED_MS 2
/* after a wake that found one frame and then nothing, the next wakes
 * but the last of these read one frame (tap_input()) */
#define SINGLE_WAKES 8

#define GW_OF(ptr, member) \
	((struct gw *)(void *)((char *)(ptr) - offsetof(struct gw, member)))

/* Does any rule of the profile terminate TLS or HTTP?  (A deny rule with
 * methods or path_pattern too: requests are decided one by one; and the
 * database gateway, when it answers the sandbox's SSLRequest with TLS.) */
int profile_intercepts(const struct profile *p)
{
	size_t i;

	if (p && p->audit_intercept)    /* islo-net learn --intercept */
		return 1;
	for (i = 0; p && i < p->nrules; i++)
		if ((pf_rule_intercepts(&p->rules[i]) &&
		     (p->rules[i].action == PF_ALLOW || p->rules[i].nmethods ||
		      p->rules[i].npath_patterns)) ||
		    pf_rule_client_tls(&p->rules[i]))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Frames in                                                           */

/* One IP packet from the sandbox: what the pre-filter says it is. */
static void gw_ip_input(struct gw *g, const uint8_t *ip, size_t len,
			int family)
{
	struct net_pkt pk = { .ip = ip, .len = len, .family = family };
	const uint8_t *l4;
	int v;

	while ((v = net_prefilter(g, &pk)) == NET_AGAIN)
		;
	l4 = pk.ip + pk.hl;
	switch (v) {
	case NET_SYN:
		if (flow_syn(g, pk.ip, pk.len, pk.family))
			return; /* held or refused */
		break;
	case NET_UDP: {
		struct pf_decision d;
		const char *why;

		if (uflow_input(g, &pk.src, &pk.dst, l4, pk.len - pk.hl, &d,
				&why) == 0)
			return;
		flowaudit_udp_refused(g, &pk.src, &pk.dst,
				      (uint16_t)(l4[2] << 8 | l4[3]), &d, why);
		net_icmp_unreach(g, pk.ip, pk.len, pk.family);
		return;
	}
	case NET_LWIP:
		break;
	default:
		return;
	}
	gw_inject(g, pk.ip, pk.len);
}

void gw_frame_input(struct gw *g, const uint8_t *f, size_t len)
{
	uint16_t type;

	g->st.frames_in++;
	if (len < ETH_HDR_LEN)
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
	type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == ETHTYPE_ARP_)
		net_arp_input(g, f, len);
	else if (type == ETHTYPE_IP4)
		gw_ip_input(g, f + ETH_HDR_LEN, len - ETH_HDR_LEN, AF_INET);
	else if (type == ETHTYPE_IP6)
		gw_ip_input(g, f + ETH_HDR_LEN, len - ETH_HDR_LEN, AF_INET6);
}

/* The guest went away (QEMU exited or reconnects): its connections with
 * it, and wait for the next one (link_down()). */
static void gw_link_down(struct link *l)
{
	struct gw *g = GW_OF(l, link);

	g->guest_mac_known = 0;
	flow_close_all(g);
}

/* Every complete frame in the stream's buffer is handled; a partial one
 * waits for its remaining bytes. */
static void stream_parse(struct gw *g)
{
	size_t off = 0, len;
	int r;

	while ((r = link_stream_next(&g->link, &off, &len)) > 0) {
		link_syn_mss(g->ibuf, len, g->o->mtu, 0);
		gw_frame_input(g, g->ibuf, len);
		if (g->tapfd < 0)
			return; /* the link went down while answering */
	}
	if (r == 0)
		link_stream_consume(&g->link, off);
}

void gw_stream_feed(struct gw *g, const uint8_t *p, size_t n)
{
	while (n && g->stream && g->tapfd >= 0) {
		size_t k = link_stream_put(&g->link, p, n);

		p += k;
		n -= k;
		stream_parse(g);
	}
}

void gw_tap_frame(struct gw *g, uint8_t *buf, size_t n)
{
	if (g->vnet) {
		if (n < g->vnet ||
		    link_vnet_input(buf, buf + g->vnet, n - g->vnet) < 0)
			return;
		link_syn_mss(buf + g->vnet, n - g->vnet, g->o->mtu, g->tso);
		gw_frame_input(g, buf + g->vnet, n - g->vnet);
		return;
	}
	link_syn_mss(buf, n, g->o->mtu, 0);
	gw_frame_input(g, buf, n);
}

static void tap_input(struct gw *g)
{
	int i, max = FRAMES_PER_WAKE;
	uint64_t now = 0;

	if (g->stream) {
		if (link_stream_read(&g->link))
			stream_parse(g);
		return;
	}
	/* paced only when it shares the loop: alone, it has all of it */
	if (g->pressure_until && g->d->nsandboxes > 1) {
		now = now_ms();
		if (now < g->pressure_until)
			max = PACED_FRAMES;
	}
	/*
	 * A request/response or a handshake brings one frame per wake, and
	 * reading on until EAGAIN was one system call more per frame.  After
	 * a wake that found one frame and then nothing, the next wakes read
	 * one frame and go back to the loop, which is level-triggered: it
	 * reports the link again at once if more wait.  Every SINGLE_WAKES-th
	 * wake reads on to find out again (a burst costs at most that many
	 * turns of one frame).
	 */
	if (g->tap_single > 1) {
		g->tap_single--;
		max = 1;
	}
	for (i = 0; i < max; i++) {
		ssize_t n = link_read(&g->link);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				warn("tap read: %s", strerror(errno));
			if (i == 1 && max > 1)
				g->tap_single = SINGLE_WAKES;
			return;
		}
		if (n == 0)
			return;
		gw_tap_frame(g, g->ibuf, (size_t)n);
		if (g->tapfd < 0)
			return;
	}
	if (max == 1)
		return;
	g->tap_single = 0;
	if (max == PACED_FRAMES && g->tapfd >= 0) {
		link_events(&g->link, 0);
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
		link_events(&g->link, EPOLLIN);
	}
	d->paused = left;
}

/* ------------------------------------------------------------------ */
/* The loop's handlers for the sandboxes' descriptors                  */

static void on_tap(struct gwd *d, struct epref *r, uint32_t events)
{
	struct gw *g = GW_OF(r, tap_ref);

	(void)d;
	if (g->stream && (events & EPOLLOUT))
		link_flush(&g->link);
	if (g->tapfd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		tap_input(g);
}

static void on_listen(struct gwd *d, struct epref *r, uint32_t events)
{
	(void)d;
	(void)events;
	link_accept(&GW_OF(r, listen_ref)->link);
}

static void on_hostdns(struct gwd *d, struct epref *r, uint32_t events)
{
	struct gw *g = GW_OF(r, dns_ref);

	(void)d;
	(void)events;
	hostdns_input(g->hostdns);
	gw_busy(g);
}

static void on_flow(struct gwd *d, struct epref *r, uint32_t events)
{
	(void)d;
	flow_sock_event((struct flow *)r, events);
}

static void on_udp(struct gwd *d, struct epref *r, uint32_t events)
{
	(void)d;
	(void)events;
	uflow_sock_event((struct uflow *)r);
}

static void on_icmp(struct gwd *d, struct epref *r, uint32_t events)
{
	(void)d;
	(void)events;
	icmpecho_event((struct iecho *)r);
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */

static void on_usr1(void *opaque)
{
	struct gwd *d = opaque;
	struct gw *g;

	for (g = d->sandboxes; g; g = g->next)
		if (audit_reopen(g->audit) < 0)
			warn("audit log reopen failed: %s", strerror(errno));
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
	loop_fds_init(d);
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
	if (loop_open(d) < 0)
		return -1;
	loop_handle(d, REF_TAP, on_tap);
	loop_handle(d, REF_LISTEN, on_listen);
	loop_handle(d, REF_HOSTDNS, on_hostdns);
	loop_handle(d, REF_FLOW, on_flow);
	loop_handle(d, REF_UDP, on_udp);
	loop_handle(d, REF_ICMP, on_icmp);
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
	loop_close(d);
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

static const char *gw_own(struct gw *g, int slot, const char *s)
{
	if (!s)
		return NULL;
	free(g->own_strs[slot]);
	g->own_strs[slot] = strdup(s);
	return g->own_strs[slot];
}

/* A sandbox's fields from its options, linked into the loop (so that
 * gw_remove() can undo a partial set-up). */
static void gw_init(struct gw *g, struct gwd *d, const char *id,
		    const struct run_opts *o, struct policyset *ps)
{
	static const uint8_t mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

	g->d = d;
	link_init(&g->link, d->epfd);
	g->link.on_down = gw_link_down;
	g->sv = d->sv;
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
	g->dns_ref.type = REF_HOSTDNS;

	g->next = d->sandboxes;
	d->sandboxes = g;
	d->nsandboxes++;
}

/* Its link: the TAP @tapfd (taken over), or the QEMU socket. */
static int gw_link_up(struct gw *g, int tapfd, char *err, size_t errlen)
{
	if (tapfd >= 0) {
		g->tapfd = tapfd;   /* ours now: nothing below can fail */
		fcntl(g->tapfd, F_SETFL, fcntl(g->tapfd, F_GETFL) | O_NONBLOCK);
		gw_epoll_mod(g, g->tapfd, &g->tap_ref, EPOLLIN, EPOLL_CTL_ADD);
		g->link_events = EPOLLIN;
		return 0;
	}
	if (!g->o->qemu_socket) {
		snprintf(err, errlen, "no link: give a TAP or a QEMU socket");
		return -1;
	}
	return link_listen(&g->link, g->o->qemu_socket, err, errlen);
}

struct gw *gw_add(struct gwd *d, const char *id, int tapfd,
		  const struct run_opts *o, struct policyset *ps, char *err,
		  size_t errlen)
{
	struct gw *g = calloc(1, sizeof(*g));

	if (!g) {
		snprintf(err, errlen, "out of memory");
		if (tapfd >= 0)
			close(tapfd);
		policyset_unref(ps);
		return NULL;
	}
	gw_init(g, d, id, o, ps);
	if (gw_fds_reserve(g, err, errlen) < 0)
		goto fail;
	g->max_halfopen = g->max_flows < FLOW_HALFOPEN_MAX ? g->max_flows
							   : FLOW_HALFOPEN_MAX;
	g->max_uflows = GW_UFLOWS(g->max_flows);

	/* a TAP with a virtio_net_hdr: each frame read has one in front,
	 * and TCP may come and go as segmentation offloads of up to 64 KiB
	 * whatever the MTU (link_vnet_input(), link_syn_mss()) */
	g->vnet = tapfd >= 0 ? link_vnet_probe(tapfd) : 0;
	g->tso = g->vnet && !getenv("ISLO_NO_TSO");
	g->bufsize = (size_t)(g->vnet && g->o->mtu < 65535 ? 65535 : g->o->mtu) +
		     ETH_HDR_LEN + 64;
	g->obuf = malloc(g->bufsize);
	g->bufsize += g->vnet;
	g->ibuf = malloc(g->bufsize);
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
	if (net_netif_up(g, flow_accept) < 0 || dnssrv_start(g) < 0) {
		snprintf(err, errlen, "lwIP: cannot add the sandbox's interface "
			 "(at most 250 sandboxes per process)");
		goto fail;
	}
	if (gw_link_up(g, tapfd, err, errlen) < 0)
		goto fail;
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
	icmpecho_tick(g, 1);
	dnssrv_stop(g);
	if (g->listener)
		tcp_close(g->listener);
	net_netif_down(g);
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
	flow_handlers_sandbox_free(g);
	refusals_free(g);
	free(g->obuf);
	ipfrag_free(g->frag);
	free(g->plain);
	link_close(&g->link, g->o->qemu_socket);
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
	struct gw *g;
	uint64_t now;
	int housekeep;

	if (loop_wait(d, timeout_ms) < 0)
		return -1;
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
				net_ra_send(g);
				g->last_ra = now;
			}
			audit_tick(g->audit);
			if (g->frag)
				ipfrag_tick(g->frag, now);
			uflow_tick(g, 0);
			icmpecho_tick(g, 0);
			flow_handlers_tick(g, now);
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
	uint64_t sv_check_at = 0;

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
		/* signals arrive through the loop (on_signal()); this is
		 * only the kill deadline's check for a loop that never
		 * sleeps: a read of the signalfd every turn was one system
		 * call more per packet */
		if (!sv->done && now_ms() >= sv_check_at) {
			supervisor_handle(sv);
			sv_check_at = now_ms() + 100;
		}
	}
	refusal_summary(g);
	gwd_fini(&d);
	return rc;
}
