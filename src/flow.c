// SPDX-License-Identifier: MIT
/*
 * flow.c - TCP connections from the sandbox: decide, connect, peek, relay.
 *
 * DOC: Theory of operation
 *
 * A flow starts as a held SYN (gw.c hands it to flow_syn(), flowsyn.c).  The policy
 * decides on what is known at that point: the name behind a synthetic
 * address (or the IP literal), the port.  A refusal is an RST for the held
 * SYN, so the program sees "connection refused".  An allowed flow resolves
 * the name on the host side (hostdns.c), refuses private/loopback/link-local
 * answers unless the rule allows them, and connects upstream; only when
 * upstream has accepted is the SYN re-injected into lwIP, whose catch-all
 * listener then completes the sandbox's handshake.  So an upstream refusal
 * is a refusal in the sandbox too, never "accepted, then dropped".
 *
 * Once open, the first bytes from the sandbox are peeked: a TLS ClientHello
 * must name (SNI) the host the sandbox resolved, an HTTP request must carry
 * it in Host.  Bytes from upstream flow to the sandbox meanwhile, so
 * server-speaks-first protocols work.  For IP-literal flows the peeked name
 * is checked against the profile's host rules (a deny rule still denies).
 *
 * Relay: lwIP's receive window is the sandbox->host buffer (we acknowledge
 * with tcp_recved() only what the host socket took), and lwIP's send
 * buffer bounds host->sandbox (we read from the host socket only as much as
 * tcp_sndbuf() has room for).  No buffer grows without bound.
 *
 * Teardown is deferred: lwIP callbacks only mark a flow FLOW_DEAD, and
 * flow_reap() frees it from the loop, so nothing is used after lwIP freed
 * its pcb.
 *
 * DOC: Half-open flows (a SYN queue)
 *
 * A SYN costs the sandbox nothing and us a flow, perhaps a host socket
 * connecting upstream and an lwIP pcb: a SYN flood (spoofed sources whose
 * SYN-ACK nobody answers, or ports the sandbox resets) must not pin them.
 * Every flow whose handshake with the sandbox is not done yet -- SYN held
 * while resolving or connecting upstream, SYN re-injected and SYN-ACK sent
 * (FLOW_APPROVED), DNS over TCP before its ACK -- is *half-open*, on the
 * sandbox's queue, oldest first, as in a kernel's SYN queue:
 *  - the queue holds at most max_halfopen (FLOW_HALFOPEN_MAX, at most
 *    max_connections) flows; a new SYN when it is full, or when the
 *    connection limit is reached while half-open flows hold places, drops
 *    the oldest half-open flow (its lwIP pcb aborted, its upstream socket
 *    closed).  Established connections are never dropped for a SYN;
 *  - so upstream connects in progress, lwIP's SYN_RCVD pcbs and held SYNs
 *    are bounded per sandbox by the same number;
 *  - each stage expires: resolving 15 s, connecting 10 s per address, the
 *    sandbox's ACK FLOW_HANDSHAKE_MS; a reset from the sandbox ends it at
 *    once (the SYN_RCVD pcb carries our error callback, flow_inject());
 *  - DNS over TCP counts against max_connections like any flow, and an
 *    accepted one idle for FLOW_DNS_IDLE_MS is closed.
 * A flow is audited "open" when the sandbox's handshake completes; one that
 * never completes gets one budgeted "handshake" line (audit.h), so a flood
 * costs the log a few lines a second.
 */
#include "gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lwip/priv/tcp_priv.h"

#include "audit.h"
#include "dnspool.h"
#include "log.h"
#include "nat.h"
#include "peek.h"
#include "profile.h"
#include "secret.h"
#include "bytes.h"
#include "flowtab.h"
#include "flow_int.h"


#define CONNECT_TIMEOUT_MS 10000
#define PEEK_TIMEOUT_MS 10000
#define PEEK_MAX FLOW_PEEK_MAX
/* upstream being resolved or connected: a held SYN, or a flow accepted
 * under SYN flood pressure */
#define UPSTREAM_PENDING(f) \
	((f)->state == FLOW_HELD || (f)->state == FLOW_CONNECTING)

/* When flow_timeout() has something to check for @f, or 0: never (an
 * established, relaying flow has no timer at all). */
static uint64_t flow_due(const struct flow *f)
{
	switch (f->state) {
	case FLOW_HELD:
	case FLOW_CONNECTING:
		return (f->dns_id ? f->up_deadline + 5000 : f->up_deadline) + 1;
	case FLOW_APPROVED:
		return f->hs_deadline + 1;
	case FLOW_DNS:
		if (!f->pcb)
			return f->hs_deadline + 1;
		break;
	case FLOW_OPEN:
		if (f->need_peek)
			return f->peek_deadline + 1;
		break;
	default:
		return 0;
	}
	return f->ops && f->ops->due ? f->ops->due(f, now_ms()) : 0;
}

/* (Re)arm @f's timer for its current state; a deadline moved later is
 * found when the earlier timer fires, and re-armed. */
void flow_arm(struct flow *f)
{
	if (f->state == FLOW_DEAD)
		return;
	tw_add(f->g->d, f, flow_due(f));
}

/* Detach our callbacks so lwIP never calls into a dead flow. */
static void pcb_detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
}

/* The handler's state goes (the flow, or the handler, does). */
static void flow_drop_handler(struct flow *f)
{
	if (f->ops && f->h)
		f->ops->free(f->h);
	f->h = NULL;
	f->ops = NULL;
}

void flow_release(struct flow *f)
{
	struct gw *g = f->g;

	if (f->state == FLOW_DEAD)
		return;
	ho_del(g, f);
	tw_del(g->d, f);
	flow_reap_add(f);
	if (f->hs_pcb) {
		/* lwIP's SYN_RCVD pcb: it must never call into a dead flow */
		pcb_detach(f->hs_pcb);
		tcp_abort(f->hs_pcb);
		f->hs_pcb = NULL;
	}
	g->ndead++;
	flow_drop_handler(f);   /* first: it may keep f->fd (pxpool.c) */
	if (f->fd >= 0) {
		if (f->registered)
			gw_epoll_mod(g, f->fd, &f->ref, 0, EPOLL_CTL_DEL);
		f->registered = 0;
		close(f->fd);
		f->fd = -1;
	}
	if (f->up_state)
		f->up_state_free(f->up_state);
	f->up_state = NULL;
	if (f->dns_id) {
		hostdns_cancel(g->hostdns, f->dns_id);
		f->dns_id = 0;
	}
	if (f->to_host) {
		pbuf_free(f->to_host);
		f->to_host = NULL;
	}
	if (f->host[0] && f->dst.family)
		dns_pool_unref(g->pool, f->dst.family, f->dst.a);
	if (f->early) {
		pbuf_free(f->early);
		f->early = NULL;
	}
	free(f->peek);
	f->peek = NULL;
	free(f->syn);
	f->syn = NULL;
	f->state = FLOW_DEAD;
}

/*
 * A half-open flow ends before the sandbox's handshake did: one budgeted
 * line (AK_HALFOPEN), {"event":"connection","phase":"handshake",
 * "action":"drop"}; the counters are the caller's.
 */
void flow_audit_handshake(struct flow *f, const char *reason)
{
	struct flow_audit fa = {
		.proto = "tcp", .dec = &f->dec, .src = &f->src, .dst = &f->dst,
		.sport = f->sport, .dport = f->dport, .host = f->host,
	};
	struct audit_ev e;

	if (!audit_begin_kind(f->g->audit, &e, "connection", AK_HALFOPEN))
		return;
	audit_str(&e, "phase", "handshake");
	audit_str(&e, "action", "drop");
	flowaudit_tuple(&e, f->g, &fa);
	audit_str(&e, "reason", reason);
	audit_emit(f->g->audit, &e);
}

/* Answer the held SYN with an RST: "connection refused" in the sandbox. */
static void flow_rst_syn(struct flow *f)
{
	ip_addr_t l, r;

	ipaddr_to_lwip(&f->dst, &l);
	ipaddr_to_lwip(&f->src, &r);
	gw_route_via(f->g);
	tcp_rst(NULL, 0, f->syn_seq + 1, &l, &r, f->dport, f->sport);
	gw_route_via(NULL);
}

void flow_refuse(struct flow *f, const char *reason)
{
	flowaudit_tcp(f->g, f, PH_OPEN, ACT_DENY, reason);
	if (f->pcb) {
		/* accepted under pressure (FLOW_CONNECTING): a reset */
		pcb_detach(f->pcb);
		tcp_abort(f->pcb);
		f->pcb = NULL;
	} else {
		flow_rst_syn(f);
	}
	flow_release(f);
}

/**
 * flow_abort() - Tear a flow down with an RST to the sandbox
 * @f:      Flow
 * @act:    ACT_ALLOW or ACT_DENY, for the audit log
 * @reason: For the audit log
 * Return: ERR_ABRT if the pcb was aborted (return it from an lwIP
 *         callback that was called for this pcb), ERR_OK otherwise
 */
static err_t flow_abort(struct flow *f, int act, const char *reason)
{
	err_t r = ERR_OK;

	if (f->state == FLOW_DEAD)
		return ERR_OK;
	if (f->pcb) {
		pcb_detach(f->pcb);
		tcp_abort(f->pcb);
		f->pcb = NULL;
		r = ERR_ABRT;
	}
	if (f->state == FLOW_OPEN)
		flowaudit_tcp(f->g, f, PH_CLOSE, act, reason);
	flow_release(f);
	return r;
}

/* From the loop: finish what flow_close_later()/flow_abort_later() asked
 * for. */
void flow_close_now(struct flow *f)
{
	struct tcp_pcb *pcb = f->pcb;

	if (f->close_abort) {
		flow_abort(f, f->close_act, f->close_reason);
		return;
	}
	if (pcb) {
		pcb_detach(pcb);
		/* acknowledge what we will never read, so the close is a FIN */
		flow_sb_discard(f);
		tcp_output(pcb);
		if (tcp_close(pcb) != ERR_OK)
			tcp_abort(pcb);
		f->pcb = NULL;
	}
	if (f->state == FLOW_OPEN)
		flowaudit_tcp(f->g, f, PH_CLOSE, f->close_act,
			      f->close_reason);
	flow_release(f);
}

/* ------------------------------------------------------------------ */
/* Handing an open flow to its handler                                 */

/* Serve @f with the handler of @kind.  Return: 0, or -1 (its start
 * failed; the flow is as it was, without a handler). */
static int flow_set_handler(struct flow *f, enum flow_kind kind, int arg)
{
	flow_drop_handler(f);
	f->kind = kind;
	f->ops = flow_handler(kind);
	if (f->ops->start(f, arg) < 0) {
		f->ops = NULL;
		return -1;
	}
	return 0;
}

/**
 * peek_done() - The first bytes were allowed: relay them, or intercept
 * @f: Flow; f->peek still holds the bytes, f->to_host the same as pbufs
 */
static void peek_done(struct flow *f)
{
	const struct pf_rule *r = f->dec.rule;
	int tls = f->peek_len && peek_is_tls(f->peek, f->peek_len);
	int http = f->peek_len && !tls && peek_is_http(f->peek, f->peek_len);
	/* an upstream that spoke first is no HTTP server */
	int http_named = f->peek_len && !tls && f->named && !f->bytes_down &&
			 peek_http_start(f->peek, f->peek_len) > 0;

	f->need_peek = 0;
	free(f->peek);
	f->peek = NULL;
	f->peek_len = 0;
	/* an audited flow's per_request is learn's --intercept: HTTP and
	 * TLS only, any other protocol is relayed as it is */
	if ((r && pf_rule_intercepts(r)) || http_named ||
	    (f->dec.per_request && (!f->dec.audit || tls || http))) {
		/* anything but TLS goes to the HTTP parser, which answers
		 * what is not HTTP/1.x with a 400.  per_request: some rule
		 * covers only some requests (methods, path_pattern), so each
		 * one is decided on its own, whatever the admitting rule;
		 * http_named: plain HTTP to a name, each request's Host is
		 * checked (a second, pipelined or odd request could front a
		 * forbidden virtual host on the allowed address) */
		f->g->st.conns[ACT_INTERCEPT]++;
		if (tls)
			f->g->st.tls_handshakes++;
		if (flow_set_handler(f, FK_HTTP, tls) < 0) {
			flow_peek_refuse(f, "cannot intercept this connection",
					 NULL, http);
			return;
		}
		/* the HTTP engine's deadlines from now on (its ->due) */
		if (f->state == FLOW_OPEN)
			flow_arm(f);
		return;
	}
	f->ops->sandbox_readable(f);
}

/* Sandbox bytes (or its EOF) while the first bytes are being checked. */
static void flow_peek_input(struct flow *f, struct pbuf *p)
{
	int r;

	if (!p) {
		f->sandbox_eof = 1;
		if (!f->peek_len) {
			f->need_peek = 0;
			free(f->peek);
			f->peek = NULL;
			f->ops->sandbox_readable(f);
			return;
		}
	} else {
		size_t n = p->tot_len;

		if (f->peek_len + n > PEEK_MAX + 0xffff) {
			pbuf_free(p);
			flow_peek_refuse(f, "request head too large", NULL, 0);
			return;
		}
		if (!f->peek) {
			f->peek = malloc(PEEK_MAX + 0xffff);
			if (!f->peek) {
				pbuf_free(p);
				flow_abort_later(f, ACT_ALLOW, "out of memory");
				return;
			}
		}
		pbuf_copy_partial(p, f->peek + f->peek_len, (u16_t)n, 0);
		f->peek_len += n;
		/* held in f->peek until decided; kept as pbufs for relaying,
		 * not acknowledged yet: the window shrinks */
		flow_sb_queue(f, p);
	}
	r = flow_peek_decide(f);
	if (r > 0)
		peek_done(f);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct flow *f = arg;

	(void)err;
	if (!f || f->state == FLOW_DEAD || f->close_pending) {
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (f->state == FLOW_CONNECTING) {
		/* kept, not acknowledged, until upstream is there; one chain
		 * at most (lwIP holds the next as refused data) */
		if (!p) {
			f->early_eof = 1;
			return ERR_OK;
		}
		if (f->early)
			return ERR_MEM;
		f->early = p;
		return ERR_OK;
	}
	if (f->need_peek) {
		flow_peek_input(f, p);
		return ERR_OK;
	}
	if (p)
		flow_sb_queue(f, p);
	else
		f->sandbox_eof = 1;
	if (f->ops)
		f->ops->sandbox_readable(f);
	if (!p)
		flow_sb_fin_ack_later(f);
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct flow *f = arg;

	(void)pcb;
	(void)len;
	if (f && f->state == FLOW_OPEN && !f->close_pending && f->ops &&
	    f->ops->sandbox_writable)
		f->ops->sandbox_writable(f);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct flow *f = arg;

	if (!f || f->state == FLOW_DEAD)
		return;
	f->pcb = NULL; /* already freed by lwIP */
	/* ERR_CLSD: the sandbox acknowledged our FIN before the loop's
	 * flow_close_now() (in the same turn): a close, as asked */
	if (f->state == FLOW_OPEN && err == ERR_CLSD && f->close_pending)
		flowaudit_tcp(f->g, f, PH_CLOSE, f->close_act, f->close_reason);
	else if (f->state == FLOW_OPEN)
		flowaudit_tcp(f->g, f, PH_CLOSE, ACT_ALLOW,
			      err == ERR_RST ? "sandbox reset" : "sandbox timeout");
	flow_release(f);
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */

/*
 * The half-open end of a flow: the sandbox reset lwIP's SYN_RCVD pcb, or
 * lwIP gave up on it (its pcb is already freed either way).
 */
static void on_hs_err(void *arg, err_t err)
{
	struct flow *f = arg;

	if (!f || f->state == FLOW_DEAD)
		return;
	f->hs_pcb = NULL;
	f->g->st.halfopen_expired++;
	ho_failed(f->g);
	flow_audit_handshake(f, err == ERR_RST ? "sandbox reset the handshake"
					       : "handshake timed out");
	flow_release(f);
}

/**
 * flow_inject() - Give a SYN of @f to lwIP and take its SYN_RCVD pcb
 * @f:   Half-open flow (FLOW_APPROVED or FLOW_DNS)
 * @ip:  The SYN (IP packet)
 * @len: Its length
 *
 * lwIP's listener puts the pcb it makes for a SYN at the head of
 * tcp_active_pcbs (TCP_REG_ACTIVE) before answering it, and calls nobody:
 * we take it there, so that a reset or a timeout of the handshake reaches
 * on_hs_err() and the flow is freed at once, and so that dropping the flow
 * can abort the pcb.  Its callback argument becomes the flow, which lwIP
 * then passes to flow_accept().
 */
void flow_inject(struct flow *f, const uint8_t *ip, size_t len)
{
	struct gw *g = f->g;
	struct tcp_pcb *p;
	ip_addr_t r;

	gw_inject(g, ip, len);
	p = tcp_active_pcbs;
	ipaddr_to_lwip(&f->src, &r);
	if (p && p->state == SYN_RCVD && p->callback_arg == &g->accept_ref &&
	    p->netif_idx == netif_get_index(&g->netif) &&
	    p->remote_port == f->sport && p->local_port == f->dport &&
	    ip_addr_cmp(&p->remote_ip, &r)) {
		f->hs_pcb = p;
		tcp_arg(p, f);
		tcp_err(p, on_hs_err);
	}
}


/* The handler of an open flow, from its rule (the peek may hand a relayed
 * flow over to FK_HTTP). */
static enum flow_kind flow_kind_of(const struct flow *f)
{
	return f->dec.rule && f->dec.rule->pg ? FK_PG : FK_RELAY;
}

/* Both sides are there: relay (after the peek), intercept, or pg. */
static err_t flow_open(struct flow *f)
{
	f->state = FLOW_OPEN;
	if (!f->open_logged) {
		/* the sandbox has its connection: the "open" event */
		f->open_logged = 1;
		flowaudit_tcp(f->g, f, PH_OPEN, ACT_ALLOW, NULL);
	}
	f->peek_deadline = now_ms() + PEEK_TIMEOUT_MS;
	if (flow_kind_of(f) == FK_PG) {
		/* the database gateway reads the start-up itself */
		f->need_peek = 0;
		if (flow_set_handler(f, FK_PG, 0) < 0)
			return flow_abort(f, ACT_ALLOW,
					  "cannot start the database gateway");
		flow_arm(f);
		return ERR_OK;
	}
	/* relayed after the peek, unless the peek hands it over */
	if (flow_set_handler(f, FK_RELAY, 0) < 0)
		return flow_abort(f, ACT_ALLOW, "out of memory");
	flow_arm(f);
	return ERR_OK;
}

/* A FLOW_CONNECTING flow's upstream is there: open it, and hand it what
 * the sandbox sent meanwhile.  From the loop, not an lwIP callback. */
static void flow_open_deferred(struct flow *f)
{
	struct pbuf *p = f->early;
	int eof = f->early_eof;

	f->early = NULL;
	if (flow_open(f) != ERR_OK || f->state != FLOW_OPEN) {
		if (p)
			pbuf_free(p);
		return;
	}
	if (p)
		on_recv(f, f->pcb, p, ERR_OK);
	if (eof && f->state == FLOW_OPEN && f->pcb && !f->close_pending)
		on_recv(f, f->pcb, NULL, ERR_OK);
}

err_t flow_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct epref *ref = arg;
	struct gw *g;
	struct ipaddr src = { 0 }, dst = { 0 };
	struct flow *f = NULL;

	if (err != ERR_OK || !pcb || !ref)
		return ERR_VAL;
	if (ref->type == REF_FLOW) {
		/* a SYN_RCVD pcb flow_inject() took */
		f = (struct flow *)ref;
		g = f->g;
		if (f->hs_pcb != pcb || f->state == FLOW_DEAD) {
			tcp_arg(pcb, NULL);
			tcp_err(pcb, NULL);
			tcp_abort(pcb);
			return ERR_ABRT;
		}
		f->hs_pcb = NULL;
		tcp_err(pcb, NULL);
	} else {
		g = (struct gw *)(void *)((char *)ref -
					  offsetof(struct gw, accept_ref));
	}
	if (f) {
		/* found */
	} else if (IP_IS_V4(&pcb->remote_ip)) {
		src.family = dst.family = AF_INET;
		memcpy(src.a, &ip_2_ip4(&pcb->remote_ip)->addr, 4);
		memcpy(dst.a, &ip_2_ip4(&pcb->local_ip)->addr, 4);
	} else {
		src.family = dst.family = AF_INET6;
		memcpy(src.a, ip_2_ip6(&pcb->remote_ip)->addr, 16);
		memcpy(dst.a, ip_2_ip6(&pcb->local_ip)->addr, 16);
	}
	if (!f)
		f = flow_find(g, &src, pcb->remote_port, &dst, pcb->local_port);
	if (!f || (f->state != FLOW_APPROVED && f->state != FLOW_DNS) ||
	    f->pcb) {
		tcp_arg(pcb, NULL);
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	ho_del(g, f);
	f->pcb = pcb;
	tcp_arg(pcb, f);
	tcp_recv(pcb, on_recv);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
	if (f->state == FLOW_DNS) {
		if (flow_set_handler(f, FK_DNSTCP, 0) < 0) {
			pcb_detach(pcb);
			tcp_abort(pcb);
			f->pcb = NULL;
			flow_release(f);
			return ERR_ABRT;
		}
		flow_arm(f);
		return ERR_OK;
	}
	tcp_sent(pcb, on_sent);
	free(f->syn);
	f->syn = NULL;
	if (f->deferred) {
		/* accepted under pressure: upstream now */
		f->state = FLOW_CONNECTING;
		flow_start_upstream(f);
		return f->state == FLOW_DEAD ? ERR_ABRT : ERR_OK;
	}
	return flow_open(f);
}

static void flow_connect_next(struct flow *f, const char *why);

/*
 * The sandbox may reuse the ports of a connection our side closed first,
 * which lwIP still holds in TIME_WAIT (2 MSL): its SYN would meet that pcb
 * and never be answered.  The sandbox has clearly moved on (RFC 6191 lets
 * a new SYN take over TIME_WAIT), so the old pcb goes.
 */
void drop_time_wait(const struct flow *f)
{
	ip_addr_t l, r;
	struct tcp_pcb *pcb;
	u8_t idx = netif_get_index(&f->g->netif);

	ipaddr_to_lwip(&f->dst, &l);
	ipaddr_to_lwip(&f->src, &r);

	for (pcb = tcp_tw_pcbs; pcb; pcb = pcb->next) {
		/* another sandbox may hold the same four-tuple */
		if (pcb->netif_idx == idx &&
		    pcb->local_port == f->dport && pcb->remote_port == f->sport &&
		    ip_addr_cmp(&pcb->local_ip, &l) &&
		    ip_addr_cmp(&pcb->remote_ip, &r)) {
			tcp_abort(pcb);
			return;
		}
	}
}

/* Upstream is there: let lwIP answer the sandbox's SYN. */
static void flow_handshake(struct flow *f)
{
	f->state = FLOW_APPROVED;
	f->hs_deadline = now_ms() + FLOW_HANDSHAKE_MS;
	drop_time_wait(f);
	flow_inject(f, f->syn, f->syn_len);
	flow_arm(f);
}

static void flow_connected(struct flow *f)
{
	flow_want_events(f, 0);
	if (f->state == FLOW_CONNECTING) {
		flow_open_deferred(f);
		return;
	}
	flow_handshake(f);
}

/*
 * A postgres rule's upstream cannot be reached: accept the sandbox's
 * connection anyway, so the database gateway can say why in a PostgreSQL
 * error (08006) rather than a bare "connection refused".
 * Return: 1 if taken care of, 0 if the caller refuses as usual.
 */
static int open_without_upstream(struct flow *f, const char *reason)
{
	if (!flow_handler(flow_kind_of(f))->opens_without_upstream ||
	    (!f->syn && f->state != FLOW_CONNECTING))
		return 0;
	snprintf(f->up_fail, sizeof(f->up_fail), "%s", reason);
	if (f->fd >= 0) {
		flow_want_events(f, 0);
		close(f->fd);
		f->fd = -1;
	}
	f->up_deadline = now_ms();
	f->open_logged = 1;
	flowaudit_tcp(f->g, f, PH_OPEN, ACT_ALLOW, reason);
	if (f->state == FLOW_CONNECTING)
		flow_open_deferred(f);
	else
		flow_handshake(f);
	return 1;
}

static void flow_connect_next(struct flow *f, const char *why)
{
	while (f->upi < f->nup) {
		const struct ipaddr *a = &f->up[f->upi++];
		struct sockaddr_storage ss;
		socklen_t sl;
		int fd;

		sl = ipaddr_sockaddr(a, f->up_port, &ss);
		if (f->fd >= 0) {
			flow_want_events(f, 0);
			close(f->fd);
			f->fd = -1;
		}
		fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
		if (fd < 0) {
			why = strerror(errno);
			continue;
		}
		f->fd = fd;
		f->up_addr = *a;
		/* the sandbox's own stack already coalesced what it sent (and
		 * lwIP runs without Nagle toward it): our writes upstream go at
		 * once.  With Nagle here, the records of a TLS handshake we
		 * originate wait for delayed ACKs, ~40 ms a connection. */
		{
			int one = 1;

			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
			flow_connected(f);
			return;
		}
		if (errno != EINPROGRESS) {
			why = strerror(errno);
			close(fd);
			f->fd = -1;
			continue;
		}
		/* a loopback or LAN upstream has often answered before
		 * connect() returns: finish now rather than a loop turn (and
		 * two epoll_ctl calls) later */
		{
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT)) {
				f->up_deadline = now_ms() + CONNECT_TIMEOUT_MS;
				flow_sock_event(f, pfd.revents & (POLLERR | POLLHUP)
						   ? EPOLLOUT | EPOLLERR : EPOLLOUT);
				return;
			}
		}
		flow_want_events(f, EPOLLOUT);
		f->up_deadline = now_ms() + CONNECT_TIMEOUT_MS;
		flow_arm(f);
		return;
	}
	{
		char reason[160];

		snprintf(reason, sizeof(reason), "upstream: %s",
			 why ? why : "no address");
		if (!open_without_upstream(f, reason))
			flow_refuse(f, reason);
	}
}

static void flow_resolved(struct gw *g, void *arg, int n,
			  const struct ipaddr *addrs, const char *error)
{
	struct flow *f = arg;
	int i, private_seen = 0;

	(void)g;
	f->dns_id = 0;
	if (!UPSTREAM_PENDING(f))
		return;
	f->nup = 0;
	for (i = 0; i < n && f->nup < HOSTDNS_MAX_ADDRS; i++) {
		if (!f->routed && policy_private_blocked(&f->dec, addrs[i].family,
							 addrs[i].a)) {
			private_seen = 1;
			continue;
		}
		f->up[f->nup++] = addrs[i];
	}
	if (!f->nup) {
		if (private_seen) {
			f->up_addr = addrs[0];
			flow_refuse(f, "resolves to a private, loopback or link-local address");
		} else {
			char reason[160];

			snprintf(reason, sizeof(reason), "cannot resolve: %s",
				 error ? error : "no address");
			if (!open_without_upstream(f, reason))
				flow_refuse(f, reason);
		}
		return;
	}
	f->upi = 0;
	flow_connect_next(f, NULL);
}

/**
 * flow_start_upstream() - Resolve and connect upstream for an allowed flow
 * @f: Flow, FLOW_HELD (its SYN held) or FLOW_CONNECTING (accepted under
 *     SYN flood pressure); may be released (refused) on return
 */
void flow_start_upstream(struct flow *f)
{
	struct gw *g = f->g;
	const char *name = f->host[0] ? f->host : NULL;

	f->up_deadline = now_ms() + CONNECT_TIMEOUT_MS;
	if (flow_handlers_reuse(f)) {
		flow_connected(f);      /* a parked upstream connection */
		return;
	}
	if (f->dec.rule && f->dec.rule->route_host) {
		/* `route:` an explicit endpoint, private or not: the profile's
		 * author named it */
		const struct pf_rule *r = f->dec.rule;

		f->up_port = r->route_port;
		f->routed = 1;
		if (r->route_family) {
			f->up[0].family = r->route_family;
			memcpy(f->up[0].a, r->route_addr, 16);
			f->nup = 1;
			f->upi = 0;
			flow_connect_next(f, NULL);
			return;
		}
		name = r->route_host;
	}
	if (f->nup) {
		/* NAT's own addresses: mapped already (flow_admit()) */
		f->upi = 0;
		flow_connect_next(f, NULL);
		return;
	}
	if (name) {
		f->dns_id = hostdns_resolve(g->hostdns, name, flow_resolved, f);
		if (!f->dns_id)
			flow_refuse(f, "resolver busy");
		else
			flow_arm(f);
		return;
	}
	if (policy_private_blocked(&f->dec, f->dst.family, f->dst.a)) {
		flow_refuse(f, "private, loopback or link-local address");
		return;
	}
	f->up[0] = f->dst;
	f->nup = 1;
	f->upi = 0;
	flow_connect_next(f, NULL);
}

void flow_sock_event(struct flow *f, uint32_t events)
{
	if (f->state == FLOW_DEAD)
		return;
	if (UPSTREAM_PENDING(f)) {
		int e = 0;
		socklen_t el = sizeof(e);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		/* writable, no error nor hang-up: connected (SO_ERROR 0) */
		if ((events & (EPOLLERR | EPOLLHUP)) &&
		    getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e) {
			flow_connect_next(f, strerror(e));
			return;
		}
		flow_connected(f);
		return;
	}
	if (f->state != FLOW_OPEN || f->close_pending || !f->ops)
		return;
	if (f->ops->upstream_event)
		f->ops->upstream_event(f, events);
	else
		f->ops->sandbox_readable(f);
}

/* @f's timer fired: whatever deadline has passed, then its next timer. */
static void flow_timeout(struct flow *f, uint64_t now)
{
	struct gw *g = f->g;

	if (UPSTREAM_PENDING(f) && now > f->up_deadline && !f->dns_id) {
		flow_connect_next(f, "connection timed out");
	} else if (UPSTREAM_PENDING(f) && f->dns_id &&
		   now > f->up_deadline + 5000) {
		hostdns_cancel(g->hostdns, f->dns_id);
		f->dns_id = 0;
		if (!open_without_upstream(f, "name resolution timed out"))
			flow_refuse(f, "name resolution timed out");
	} else if (f->halfopen && f->state != FLOW_HELD &&
		   now > f->hs_deadline) {
		g->st.halfopen_expired++;
		ho_failed(g);
		flow_audit_handshake(f, "sandbox never completed the "
				     "handshake");
		flow_release(f);
	} else if (f->state == FLOW_OPEN && f->need_peek &&
		   f->peek_len && now > f->peek_deadline) {
		flow_peek_refuse(f, "request head timed out", NULL,
				 peek_is_http(f->peek, f->peek_len));
	} else if ((f->state == FLOW_OPEN || f->state == FLOW_DNS) &&
		   !f->need_peek && !f->close_pending && f->ops &&
		   f->ops->tick) {
		f->ops->tick(f, now);
	}
	if (f->state != FLOW_DEAD && !f->tw_at)
		flow_arm(f);
}

/**
 * flow_timers_run() - Fire the timers due, across every sandbox
 * @d:   Loop
 * @now: Milliseconds
 *
 * The slots from the last tick processed to now's are walked; a timer
 * further than a turn of the wheel (16 s) stays in its slot for the next
 * turn.  What fires is first taken out of the slot, so a timer re-armed
 * into the same slot is not seen twice.
 */
void flow_timers_run(struct gwd *d, uint64_t now)
{
	uint64_t cur = now / TW_TICK_MS, t;
	struct flow *due = NULL, *f, *next;

	if (!d->tw)
		return;
	if (!d->tw_tick || cur - d->tw_tick >= TW_SLOTS)
		d->tw_tick = cur >= TW_SLOTS ? cur - TW_SLOTS + 1 : 0;
	for (t = d->tw_tick; t <= cur; t++) {
		for (f = d->tw[t % TW_SLOTS]; f; f = next) {
			next = f->tw_next;
			if (f->tw_at > now)
				continue;
			tw_del(d, f);
			f->tw_next = due;
			due = f;
		}
	}
	d->tw_tick = cur;
	/* each fires once; one may free (release) another's half-open peer,
	 * never free it: flows are freed only by flow_reap() */
	for (f = due; f; f = next) {
		next = f->tw_next;
		f->tw_next = NULL;
		if (f->state != FLOW_DEAD)
			flow_timeout(f, now);
	}
}

void flow_reap(struct gw *g)
{
	struct flow *f;

	while ((f = g->reap)) {
		g->reap = f->reap_next;
		f->on_reap = 0;
		if (f->close_pending && f->state != FLOW_DEAD)
			flow_close_now(f);  /* puts it back: freed next round */
		if (f->state != FLOW_DEAD || f->on_reap)
			continue;
		flow_unlink(g, f);
		fhash_del(g, f);
		g->ndead--;
		policyset_unref(f->ps);
		free(f);
	}
}

void flow_close_all(struct gw *g)
{
	struct flow *f;

	for (f = g->flows; f; f = f->next) {
		if (f->state == FLOW_DEAD)
			continue;
		if (f->pcb) {
			pcb_detach(f->pcb);
			tcp_abort(f->pcb);
			f->pcb = NULL;
		}
		if (f->state == FLOW_OPEN)
			flowaudit_tcp(g, f, PH_CLOSE, ACT_ALLOW, "gateway exiting");
		flow_release(f);
	}
}
