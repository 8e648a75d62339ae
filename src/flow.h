/* SPDX-License-Identifier: MIT */
/*
 * flow.h - one TCP connection the sandbox opens: the flow core, the
 * handler interface and the transport handlers move bytes through.
 *
 * DOC: Layers
 *
 *   flow.c      the core: SYN, decision, upstream connect, handshake with
 *               the sandbox, the peek (flowpeek.c), timers, teardown; it
 *               calls a handler only through f->ops
 *   handlers.c  the one table from a flow's kind to its handler
 *   relay.c     passthrough (bytes both ways)      FK_RELAY
 *   proxy.c     HTTP interception (px*.c)            FK_HTTP
 *   pgproxy.c   the PostgreSQL gateway (pg*.c)      FK_PG
 *   dnstcp.c    DNS over TCP to the gateway          FK_DNSTCP
 *   flowio.c    the transport: sandbox side (lwIP) and upstream side
 *               (a host socket); handlers move bytes only through it
 *
 * Handlers call flowio.c and the layers below (policy, audit, TLS), never
 * flow.c: a handler ends its flow with flow_close_later() or
 * flow_abort_later(), which the core finishes from the loop.
 *
 * Included by gw.h (it uses the sandbox's types); files include gw.h.
 *
 * Ownership: the core writes the common fields; a handler owns f->h (its
 * state, freed by its ->free) and reads the common fields.
 */
#ifndef ISLO_FLOW_H
#define ISLO_FLOW_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The half-open queue's length per sandbox (at most max_connections):
 * the kernel's old tcp_max_syn_backlog default.  lwIP's own listen
 * backlog (255) is larger, so ours is the one that decides. */
#define FLOW_HALFOPEN_MAX 128
#define FLOW_HANDSHAKE_MS 10000         /* SYN-ACK sent, no ACK: given up */
#define FLOW_DNS_IDLE_MS 30000          /* DNS over TCP: idle, closed */
/* SYN flood pressure: this many handshakes failing (dropped, expired,
 * reset) within a second put the sandbox under pressure for a second
 * (flow.c: handshake first; gw.c: its link paced). */
#define FLOW_PRESSURE_FAILS 64
enum flow_state {
	FLOW_HELD,        /* SYN held while we resolve/connect upstream */
	FLOW_APPROVED,    /* upstream connected; SYN re-injected into lwIP */
	FLOW_OPEN,        /* lwIP accepted; relaying (after peek, if any) */
	FLOW_DNS,         /* DNS over TCP to the gateway's resolver address */
	FLOW_CONNECTING,  /* accepted under SYN flood pressure (deferred);
			   * upstream being resolved/connected */
	FLOW_DEAD,        /* to be freed by flow_reap() */
};

/* What serves an open flow (handlers.c maps each to its flow_ops). */
enum flow_kind {
	FK_RELAY,       /* passthrough: bytes both ways */
	FK_HTTP,        /* interception (proxy.c) */
	FK_PG,          /* PostgreSQL gateway (pgproxy.c, pg*.c) */
	FK_DNSTCP,      /* DNS over TCP to the gateway's own address */
	FK_N
};

struct flow;

/**
 * struct flow_ops - A handler: what serves an open flow
 * @name:             For logs
 * @start:            The flow is open (or handed over after the peek):
 *                    set up f->h.  @arg: FK_HTTP: 1 if the sandbox speaks
 *                    TLS.  Return: 0, or -1 (the core refuses the flow)
 * @sandbox_readable: Bytes from the sandbox are queued (flow_sb_read()),
 *                    or its EOF came (f->sandbox_eof)
 * @sandbox_writable: lwIP sent some: there is room toward the sandbox
 * @upstream_event:   The upstream socket's epoll events (NULL: a handler
 *                    that pumps both ways at once: @sandbox_readable)
 * @due:              When @tick should run next, 0: never (optional)
 * @tick:             Its timer fired (optional)
 * @free:             Free the handler's state (f->h; the flow is going)
 * @opens_without_upstream: accept the sandbox even when upstream cannot
 *                    be reached; f->up_fail says why (the handler tells
 *                    the sandbox in its own protocol)
 */
struct flow_ops {
	const char *name;
	int (*start)(struct flow *f, int arg);
	void (*sandbox_readable)(struct flow *f);
	void (*sandbox_writable)(struct flow *f);
	void (*upstream_event)(struct flow *f, uint32_t events);
	uint64_t (*due)(const struct flow *f, uint64_t now);
	void (*tick)(struct flow *f, uint64_t now);
	void (*free)(void *h);
	int opens_without_upstream;
};

/* handlers.c: the handler of a kind. */
const struct flow_ops *flow_handler(enum flow_kind k);
/* handlers.c: a sandbox goes: what its handlers share for it. */
void flow_handlers_sandbox_free(struct gw *g);
/* The HTTP handler's per-sandbox state (record buffers, session caches) */
struct pxshared;
void proxy_shared_free(struct pxshared *sh);
/* handlers.c: a parked upstream connection for @f at its SYN (pxpool.c):
 * 1 if f->fd is one now (no connect, no upstream handshake) */
int flow_handlers_reuse(struct flow *f);
int proxy_upstream_reuse(struct flow *f);
/* handlers.c: the sandbox's housekeeping (every 250 ms) */
void flow_handlers_tick(struct gw *g, uint64_t now);
void proxy_shared_tick(struct gw *g, uint64_t now);
/* handlers.c: a new flow is coming: what handlers keep gives way at the
 * connection limit */
void flow_handlers_room(struct gw *g);
void proxy_shared_room(struct gw *g);

struct flow {
	struct epref ref;               /* REF_FLOW, for the host socket */
	struct gw *g;
	struct flow *next, *prev;
	enum flow_state state;
	struct flow *hnext;             /* hash chain (gwd.fhash) */
	struct flow *reap_next;         /* the sandbox's reap list */
	int on_reap;
	struct flow *tw_next, *tw_prev; /* timer wheel slot (gwd.tw) */
	uint64_t tw_at;                 /* when its timer fires, 0: none */

	/* half-open: the sandbox's handshake is not done yet (SYN held,
	 * resolving, connecting upstream, SYN-ACK sent by lwIP).  Such flows
	 * are in the sandbox's half-open queue, oldest first (flow.c) */
	struct flow *ho_next, *ho_prev;
	int halfopen;
	struct tcp_pcb *hs_pcb;         /* lwIP's SYN_RCVD pcb, until accept */
	uint64_t hs_deadline;           /* half-open: when it is given up */
	int deferred;                   /* admitted under SYN flood pressure:
					 * upstream after the handshake */
	struct pbuf *early;             /* FLOW_CONNECTING: sandbox bytes */
	int early_eof;

	/* identity, from the SYN */
	struct ipaddr src, dst;
	uint16_t sport, dport;
	uint32_t syn_seq;
	uint8_t *syn;                   /* the held SYN (IP packet) */
	size_t syn_len;
	char host[256];                 /* name, "" for an IP literal */
	int named;                      /* connected to a name (f->host), not
					 * to an IP literal (f->host may be set
					 * later from the peek) */

	/* decision */
	struct pf_decision dec;
	struct policyset *ps;           /* the rules that admitted it */
	uint32_t dns_id;                /* host-side resolution in flight */

	/* upstream */
	int fd;
	uint16_t up_port;               /* dport, or the rule's route port */
	int routed;                     /* connecting to the rule's route */
	struct ipaddr up[HOSTDNS_MAX_ADDRS];
	int nup, upi;
	struct ipaddr up_addr;          /* the one we connected to */
	uint64_t up_deadline;           /* resolving or connecting: until */
	char up_fail[160];              /* why upstream could not be reached,
					 * for a handler that opens without it
					 * (ops->opens_without_upstream) */
	int epoll_events;
	int registered;                 /* fd is in the epoll set */
	void *up_state;                 /* fd is a parked upstream connection
					 * (pxpool.c): its state until the
					 * handler adopts it, else freed by
					 * up_state_free at the release */
	void (*up_state_free)(void *);

	/* sandbox side */
	struct tcp_pcb *pcb;
	struct pbuf *to_host;           /* sandbox bytes not yet taken */
	size_t to_host_off;
	int sandbox_eof, host_eof, host_shut, sandbox_shut;

	/* the peek: first client bytes, checked before anything is relayed */
	int need_peek;
	uint8_t *peek;
	size_t peek_len;
	uint64_t peek_deadline;
	unsigned alpn;                  /* its ClientHello's ALPN offer
					 * (PEEK_ALPN_* bits, peek.h) */

	/* the handler */
	enum flow_kind kind;
	const struct flow_ops *ops;
	void *h;                        /* its state */

	/* teardown, asked by flow_close_later()/flow_abort_later() */
	int close_pending;              /* closed from the loop, not a callback */
	int close_abort;                /* with an RST */
	int close_act;                  /* ACT_ALLOW or ACT_DENY */
	const char *close_reason;

	uint64_t bytes_up, bytes_down;
	uint64_t t_start;
	int open_logged;                /* its "open" event is written */
};

/* --- the core (flow.c), called by the sandbox (gw.c) --- */
int flow_syn(struct gw *g, const uint8_t *ip, size_t len, int family);
/* The loop's timer wheel: run the flows whose time has come. */
void flow_timers_run(struct gwd *d, uint64_t now);
void flow_sock_event(struct flow *f, uint32_t events);
void flow_reap(struct gw *g);
void flow_close_all(struct gw *g);
err_t flow_accept(void *arg, struct tcp_pcb *pcb, err_t err);

/* --- the peek (flowpeek.c), part of the core --- */
#define FLOW_PEEK_MAX 16384             /* a request head, at most */
/* Return: 0 to keep waiting, 1 allowed, -1 refused (its close asked for) */
int flow_peek_decide(struct flow *f);
void flow_peek_refuse(struct flow *f, const char *reason, const char *seen,
		      int http);

/* --- the transport (flowio.c), for handlers and the core --- */

/* Ask the loop to close the sandbox side (a FIN after what is queued):
 * never tcp_close() from inside an lwIP callback, where a close that
 * turns into an RST frees the pcb under tcp_input()'s feet. */
void flow_close_later(struct flow *f, int act, const char *reason);
/* The same with an RST to the sandbox. */
void flow_abort_later(struct flow *f, int act, const char *reason);
/* The upstream socket's epoll interest (0: out of the set). */
void flow_want_events(struct flow *f, uint32_t ev);
/* Put @f on its sandbox's reap list (flow_reap() runs from the loop). */
void flow_reap_add(struct flow *f);

/* Sandbox -> us.  Bytes lwIP received are queued (f->to_host) and not
 * acknowledged until taken: lwIP's receive window is the buffer. */
void flow_sb_queue(struct flow *f, struct pbuf *p);
/* Copy up to @room queued bytes into @dst and take them.  Return: count */
size_t flow_sb_read(struct flow *f, uint8_t *dst, size_t room);
/* Point @iov (at most @max) at the queued bytes.  Return: entries used;
 * *@total: their bytes. */
int flow_sb_iov(const struct flow *f, struct iovec *iov, int max,
		size_t *total);
/* Take @n queued bytes (after writing them elsewhere). */
void flow_sb_consume(struct flow *f, size_t n);
/* Take everything queued, unread (acknowledged: the close is a FIN). */
void flow_sb_discard(struct flow *f);

/* Us -> sandbox.  How many bytes lwIP takes now: 0 when its send queue is
 * near full (back-pressure), else its send buffer's room. */
size_t flow_sb_room(const struct flow *f);
/* Hand lwIP up to @n bytes of @p (copied), no more than its send buffer
 * takes.  Counted in bytes_down.  Return: how many, or -1 on an lwIP
 * error other than "full". */
ssize_t flow_sb_write(struct flow *f, const void *p, size_t n);
/* Hand lwIP all of @p or nothing (an answer of our own; not counted).
 * Return: 0, or -1. */
int flow_sb_send(struct flow *f, const void *p, size_t n);
/* Send what was written now. */
void flow_sb_push(struct flow *f);
/* The sandbox's FIN has just been seen: its ACK waits for our FIN, data or
 * lwIP's delayed ACKs (at most 250 ms) instead of a frame of its own. */
void flow_sb_fin_ack_later(struct flow *f);

/* Us <-> upstream (f->fd, non-blocking).  Return: as read(2)/write(2). */
ssize_t flow_up_read(struct flow *f, void *p, size_t n);
ssize_t flow_up_write(struct flow *f, const void *p, size_t n);

#endif /* ISLO_FLOW_H */
