// SPDX-License-Identifier: MIT
/*
 * flowsyn.c - a new connection's SYN: room in the flow table, the flow,
 * what its destination is, the decision (flow.c's theory of operation
 * tells the rest: held SYN, upstream connect, re-injection).
 *
 * It calls the flow core (flow_int.h) and the flow table (flowtab.h); the
 * core never calls it: gw.c hands a SYN here.
 */
#include "gw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dnspool.h"
#include "flow_int.h"
#include "flowtab.h"
#include "nat.h"
#include "profile.h"

static void flow_make_room(struct gw *g);
static void flow_admit(struct flow *f, const uint8_t *ip, size_t len);

/**
 * flow_syn() - A SYN for a new connection arrived from the sandbox
 * @g:      Sandbox
 * @ip:     The IP packet (length-checked by the caller up to the TCP header)
 * @len:    Its length
 * @family: AF_INET or AF_INET6
 * Return: 1 if the SYN was consumed (held or refused), 0 to give it to lwIP
 */
int flow_syn(struct gw *g, const uint8_t *ip, size_t len, int family)
{
	struct ipaddr src = { .family = family }, dst = { .family = family };
	size_t hl = family == AF_INET ? (size_t)(ip[0] & 15) * 4 : 40;
	const uint8_t *th = ip + hl;
	uint16_t sport, dport;
	struct flow *f;

	if (family == AF_INET) {
		memcpy(src.a, ip + 12, 4);
		memcpy(dst.a, ip + 16, 4);
	} else {
		memcpy(src.a, ip + 8, 16);
		memcpy(dst.a, ip + 24, 16);
	}
	sport = rd16(th);
	dport = rd16(th + 2);
	f = flow_find(g, &src, sport, &dst, dport);
	if (f && f->close_pending) {
		/*
		 * The sandbox reuses the ports of a flow that ended in this
		 * same batch of frames (its FIN and this SYN in one read):
		 * finish that flow now, as flow_reap() would after the batch
		 * (we are not in an lwIP callback), and take the SYN as a new
		 * connection.  Given to lwIP, it met the old pcb: refused.
		 */
		flow_close_now(f);
		f = NULL;
	}
	if (f) {
		/* a retransmission: held, or lwIP has (or had) its pcb */
		if (f->state == FLOW_HELD)
			return 1;
		if (f->halfopen && !f->hs_pcb &&
		    (f->state == FLOW_APPROVED || f->state == FLOW_DNS)) {
			flow_inject(f, ip, len);
			return 1;
		}
		return 0;
	}

	flow_make_room(g);
	f = calloc(1, sizeof(*f));
	if (!f)
		return 1;
	f->ref.type = REF_FLOW;
	f->g = g;
	f->ps = policyset_ref(g->ps);
	f->fd = -1;
	f->src = src;
	f->dst = dst;
	f->sport = sport;
	f->dport = dport;
	f->up_port = dport;
	f->syn_seq = rd32(th + 4);
	f->t_start = now_ms();
	f->state = FLOW_HELD;
	f->next = g->flows;
	if (g->flows)
		g->flows->prev = f;
	g->flows = f;
	g->nflows++;
	fhash_add(g, f);
	flow_admit(f, ip, len);
	return 1;
}

/*
 * Room for a new flow: the oldest half-open flow goes when the queue is
 * full, or when the connection limit is reached while half-open flows hold
 * places (a SYN flood never keeps the next real connection out).
 */
static void flow_make_room(struct gw *g)
{
	flow_handlers_room(g);  /* parked upstream connections first */
	while (g->ho_head && (g->nhalfopen >= g->max_halfopen ||
			      flows_live(g) >= g->max_flows)) {
		struct flow *old = g->ho_head;

		g->st.halfopen_dropped++;
		ho_failed(g);
		flow_audit_handshake(old, "half-open queue full");
		flow_release(old);
	}
}

/* A new flow's SYN (@ip, @len): limits, its destination, the decision. */
static void flow_admit(struct flow *f, const uint8_t *ip, size_t len)
{
	struct gw *g = f->g;
	int family = f->dst.family;
	const char *name = NULL;

	if (flows_live(g) > g->max_flows) {
		g->st.syn_refused_limit++;
		/* a flood must not become a flood of log lines: the audit
		 * budget (AK_CONN_REFUSED) writes a summary past it */
		flow_refuse(f, "too many connections");
		return;
	}
	if (gw_is_own_addr(g, &f->dst) && g->o->nat) {
		/* NAT: 10.0.2.2 is the host's loopback, 10.0.2.3:53 its
		 * resolver (nat.c); flow_start_upstream() connects there */
		if (nat_own_upstream(g, &f->dst, f->dport, &f->up[0],
				     &f->up_port) < 0) {
			flow_refuse(f, "the gateway's own address");
			return;
		}
		f->nup = 1;
	} else if (gw_is_own_addr(g, &f->dst)) {
		if (f->dport == 53 && (!memcmp(&f->dst, &g->dns4, sizeof(f->dst)) ||
				    !memcmp(&f->dst, &g->dns6, sizeof(f->dst)))) {
			/* DNS over TCP: answered here, a flow like any other */
			f->state = FLOW_DNS;
			f->hs_deadline = f->t_start + FLOW_HANDSHAKE_MS;
			ho_add(g, f);
			flow_inject(f, ip, len);
			flow_arm(f);
			return;
		}
		flow_refuse(f, "the gateway's own address");
		return;
	}
	if (!g->o->nat && dns_pool_in_range(family, f->dst.a)) {
		name = dns_pool_name_for(g->pool, family, f->dst.a);
		if (!name) {
			flow_refuse(f, "synthetic address not handed out");
			return;
		}
		snprintf(f->host, sizeof(f->host), "%s", name);
		f->named = 1;
		dns_pool_ref(g->pool, family, f->dst.a);
	}
	{
		struct pf_query q = {
			.host = name, .family = family,
			.addr = name ? NULL : f->dst.a, .port = f->dport,
			.proto = PF_TCP,
		};

		policy_decide(f->ps->prof, &q, &f->dec);
	}
	if (f->dec.action != PF_ALLOW) {
		flow_refuse(f, f->dec.rule ? "denied by rule" : "no rule allows it");
		return;
	}
	ho_add(g, f);
	f->need_peek = !g->o->nat;  /* NAT: nothing to check, relayed as is */
	if (g->pressure_until && now_ms() < g->pressure_until) {
		/* under SYN flood pressure: the handshake first, as SYN
		 * cookies do; upstream only for a sandbox that completes it */
		g->st.syn_deferred++;
		f->deferred = 1;
		f->state = FLOW_APPROVED;
		f->hs_deadline = now_ms() + FLOW_HANDSHAKE_MS;
		drop_time_wait(f);
		flow_inject(f, ip, len);
		flow_arm(f);
		return;
	}
	f->syn = malloc(len);
	if (!f->syn) {
		flow_refuse(f, "out of memory");
		return;
	}
	memcpy(f->syn, ip, len);
	f->syn_len = len;
	flow_start_upstream(f);
}
