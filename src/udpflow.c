// SPDX-License-Identifier: MIT
/*
 * udpflow.c - UDP from the sandbox that a `protocol: udp` rule allows.
 *
 * DOC: Theory of operation
 *
 * UDP other than DNS to the gateway is refused unless a rule with
 * `protocol: udp` allows it (gw.c answers the refusal with ICMP port
 * unreachable).  An allowed datagram opens a *UDP flow*, keyed by the
 * sandbox's (src, sport, dst, dport): a connected host socket toward the
 * upstream (the name behind a synthetic address is resolved first, with
 * the same private-range check as TCP; datagrams that arrive meanwhile are
 * queued, a few at most).  Replies from that upstream, and only from it,
 * are written back to the sandbox as UDP from (dst, dport).  A flow idle for
 * UFLOW_IDLE_MS is closed and its byte counts logged.  lwIP is not involved.
 */
#include "gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "dnspool.h"
#include "log.h"
#include "nat.h"
#include "profile.h"

#define UFLOW_IDLE_MS 60000
#define UFLOW_QUEUE 8

struct uflow {
	struct epref ref;               /* REF_UDP */
	struct gw *g;
	struct uflow *next;
	struct uflow *hnext;            /* hash chain (gwd.uhash) */
	struct ipaddr src, dst, up;
	uint16_t sport, dport, up_port;
	char host[256];
	struct pf_decision dec;
	struct policyset *ps;           /* the rules that admitted it */
	int fd;
	int dead;
	uint32_t dns_id;
	uint8_t *q[UFLOW_QUEUE];
	size_t qlen[UFLOW_QUEUE];
	int nq;
	uint64_t t_start, last;
	uint64_t bytes_up, bytes_down;
};

static void uflow_audit(struct uflow *u, enum flow_phase phase, int act,
			const char *reason)
{
	struct audit_ev e;

	if (phase == PH_OPEN)
		u->g->st.udp[act == ACT_ALLOW ? ACT_ALLOW : ACT_DENY]++;
	/* refusals within the budget (an event over it stays empty) */
	audit_begin_kind(u->g->audit, &e, "connection",
			 act != ACT_ALLOW ? AK_UDP_REFUSED : AK_NONE);
	flowaudit_emit(u->g, &e, phase, act, &(struct flow_audit){
		.proto = "udp", .dec = &u->dec, .src = &u->src, .dst = &u->dst,
		.sport = u->sport, .dport = u->dport, .host = u->host,
		.up = &u->up, .bytes_up = u->bytes_up,
		.bytes_down = u->bytes_down, .t_start = u->t_start }, reason);
}

static void uflow_release(struct uflow *u)
{
	int i;

	if (u->fd >= 0) {
		gw_epoll_mod(u->g, u->fd, &u->ref, 0, EPOLL_CTL_DEL);
		close(u->fd);
		u->fd = -1;
	}
	if (u->dns_id)
		hostdns_cancel(u->g->hostdns, u->dns_id);
	u->dns_id = 0;
	for (i = 0; i < u->nq; i++)
		free(u->q[i]);
	u->nq = 0;
	if (u->host[0])
		dns_pool_unref(u->g->pool, u->dst.family, u->dst.a);
	u->host[0] = '\0';
	u->dead = 1;
}

static void uflow_send_up(struct uflow *u, const uint8_t *data, size_t len)
{
	if (send(u->fd, data, len, 0) >= 0)
		u->bytes_up += len;
	u->last = now_ms();
}

static void uflow_open(struct uflow *u, const struct ipaddr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = ipaddr_sockaddr(a, u->up_port, &ss);
	int i;

	u->up = *a;
	u->fd = socket(a->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0 || connect(u->fd, (struct sockaddr *)&ss, sl) < 0) {
		char why[128];

		snprintf(why, sizeof(why), "upstream: %s", strerror(errno));
		uflow_audit(u, PH_OPEN, ACT_DENY, why);
		uflow_release(u);
		return;
	}
	gw_epoll_mod(u->g, u->fd, &u->ref, EPOLLIN, EPOLL_CTL_ADD);
	uflow_audit(u, PH_OPEN, ACT_ALLOW, NULL);
	for (i = 0; i < u->nq; i++) {
		uflow_send_up(u, u->q[i], u->qlen[i]);
		free(u->q[i]);
	}
	u->nq = 0;
}

static void uflow_resolved(struct gw *g, void *arg, int n,
			   const struct ipaddr *addrs, const char *error)
{
	struct uflow *u = arg;
	int i;

	(void)g;
	u->dns_id = 0;
	if (u->dead)
		return;
	for (i = 0; i < n; i++) {
		if (policy_private_blocked(&u->dec, addrs[i].family,
					   addrs[i].a))
			continue;
		uflow_open(u, &addrs[i]);
		return;
	}
	if (n)
		u->up = addrs[0];
	uflow_audit(u, PH_OPEN, ACT_DENY,
		    n ? "resolves to a private, loopback or link-local address"
		      : (error ? error : "cannot resolve"));
	uflow_release(u);
}

static struct uflow *uflow_find(struct gw *g, const struct ipaddr *src,
				uint16_t sport, const struct ipaddr *dst,
				uint16_t dport)
{
	uint32_t h = gw_flow_hash(g, src, sport, dst, dport);
	struct uflow *u;

	for (u = g->d->uhash[h]; u; u = u->hnext)
		if (u->g == g && !u->dead && u->sport == sport &&
		    u->dport == dport && ipaddr_pair_eq(src, dst, &u->src, &u->dst))
			return u;
	return NULL;
}

/**
 * uflow_input() - A UDP datagram from the sandbox (not DNS to the gateway)
 * @g:      Sandbox
 * @src:    Its source address
 * @dst:    Its destination address
 * @udp:    The UDP header and payload (length checked: at least 8 bytes)
 * @len:    Their length
 * @d:      Filled with the decision when refused
 * @reason: Filled with why, when refused
 * Return: 0 if relayed or queued, -1 if refused (the caller answers ICMP)
 */
int uflow_input(struct gw *g, const struct ipaddr *src, const struct ipaddr *dst,
		const uint8_t *udp, size_t len, struct pf_decision *d,
		const char **reason)
{
	uint16_t sport = (uint16_t)(udp[0] << 8 | udp[1]);
	uint16_t dport = (uint16_t)(udp[2] << 8 | udp[3]);
	uint16_t ulen = (uint16_t)(udp[4] << 8 | udp[5]);
	const uint8_t *data = udp + 8;
	size_t dlen;
	struct uflow *u;
	const char *name = NULL;
	struct ipaddr up;
	uint16_t up_port = dport;

	if (ulen < 8 || ulen > len)
		return 0; /* malformed: dropped */
	dlen = ulen - 8u;
	u = uflow_find(g, src, sport, dst, dport);
	if (u) {
		if (u->fd >= 0) {
			uflow_send_up(u, data, dlen);
		} else if (u->nq < UFLOW_QUEUE) {
			u->q[u->nq] = malloc(dlen ? dlen : 1);
			if (u->q[u->nq]) {
				memcpy(u->q[u->nq], data, dlen);
				u->qlen[u->nq++] = dlen;
			}
		}
		return 0;
	}
	memset(d, 0, sizeof(*d));
	*reason = "the gateway's own address";
	up = *dst;
	if (gw_is_own_addr(g, dst) &&
	    (!g->o->nat || nat_own_upstream(g, dst, dport, &up, &up_port) < 0))
		return -1;
	*reason = "synthetic address not handed out";
	if (!g->o->nat && dns_pool_in_range(dst->family, dst->a)) {
		name = dns_pool_name_for(g->pool, dst->family, dst->a);
		if (!name)
			return -1;
	}
	{
		struct pf_query q = { .host = name, .family = dst->family,
				      .addr = name ? NULL : dst->a,
				      .port = dport, .proto = PF_UDP };

		policy_decide(g->prof, &q, d);
	}
	*reason = d->rule ? "denied by rule" : "no rule allows it";
	if (d->action != PF_ALLOW)
		return -1;
	*reason = "too many UDP flows";
	if (g->nuflows >= g->max_uflows)
		return -1;
	*reason = "private, loopback or link-local address";
	if (!name && policy_private_blocked(d, dst->family, dst->a))
		return -1;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -1;
	u->ref.type = REF_UDP;
	u->g = g;
	u->ps = policyset_ref(g->ps);
	u->fd = -1;
	u->src = *src;
	u->dst = *dst;
	u->sport = sport;
	u->dport = dport;
	u->up_port = up_port;
	u->dec = *d;
	u->t_start = u->last = now_ms();
	u->next = g->uflows;
	g->uflows = u;
	g->nuflows++;
	{
		uint32_t h = gw_flow_hash(g, src, sport, dst, dport);

		u->hnext = g->d->uhash[h];
		g->d->uhash[h] = u;
	}
	u->q[0] = malloc(dlen ? dlen : 1);
	if (u->q[0]) {
		memcpy(u->q[0], data, dlen);
		u->qlen[0] = dlen;
		u->nq = 1;
	}
	if (name) {
		snprintf(u->host, sizeof(u->host), "%s", name);
		dns_pool_ref(g->pool, dst->family, dst->a);
		u->dns_id = hostdns_resolve(g->hostdns, name, uflow_resolved, u);
		if (!u->dns_id) {
			uflow_audit(u, PH_OPEN, ACT_DENY, "resolver busy");
			uflow_release(u);
		}
		return 0;
	}
	uflow_open(u, &up);
	return 0;
}

void uflow_sock_event(struct uflow *u)
{
	uint8_t buf[65536];
	int k;

	for (k = 0; k < 64 && !u->dead; k++) {
		ssize_t n = recv(u->fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				/* ICMP from upstream (ECONNREFUSED...): the
				 * flow stays; the next datagram may work */
				debug("udp upstream: %s", strerror(errno));
				continue;
			}
			return;
		}
		u->bytes_down += (size_t)n;
		u->last = now_ms();
		gw_send_udp(u->g, &u->dst, u->dport, &u->src, u->sport, buf,
			    (size_t)n);
	}
}

void uflow_tick(struct gw *g, int all)
{
	struct uflow **pp = &g->uflows, *u;
	uint64_t now = now_ms();

	while ((u = *pp)) {
		if (!u->dead && (all || now - u->last > UFLOW_IDLE_MS)) {
			if (u->fd >= 0)
				uflow_audit(u, PH_CLOSE, ACT_ALLOW,
					    all ? "gateway exiting" : "idle");
			uflow_release(u);
		}
		if (u->dead) {
			struct uflow **hp = &g->d->uhash[gw_flow_hash(
				g, &u->src, u->sport, &u->dst, u->dport)];

			for (; *hp; hp = &(*hp)->hnext)
				if (*hp == u) {
					*hp = u->hnext;
					break;
				}
			*pp = u->next;
			g->nuflows--;
			policyset_unref(u->ps);
			free(u);
			continue;
		}
		pp = &u->next;
	}
}
