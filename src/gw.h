/* SPDX-License-Identifier: MIT */
/*
 * gw.h - the gateway datapath's shared state: one struct gw per sandbox,
 * one struct flow per TCP connection the sandbox opens.
 *
 * Files: gw.c (loop, link, frames, ARP/NDP, lwIP glue, DNS server),
 * flow.c (TCP flows: decision, upstream connect, peek, relay),
 * hostdns.c (the host-side resolver, used only for allowed names).
 */
#ifndef ISLO_GW_H
#define ISLO_GW_H

#include <stdint.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/virtio_net.h>

#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "frame.h"
#include "islo.h"
#include "policy.h"
#include "policyset.h"
#include "trust.h"

struct audit;
struct ca;
struct dns_pool;
struct proxy;
struct gw;
struct gwd;
struct flow;

/* Typed epoll references: every registered fd's data.ptr points at one. */
enum ref_type { REF_TAP = 1, REF_TIMER, REF_SIG, REF_FLOW, REF_HOSTDNS, REF_UDP,
		REF_LISTEN, REF_CTL_LISTEN, REF_CTL_CONN, REF_METRICS_LISTEN,
		REF_METRICS_CONN,
		REF_ACCEPT /* lwIP's listener argument (never in epoll) */ };
struct epref {
	enum ref_type type;
};


/* --- host-side resolver (hostdns.c) --- */
#define HOSTDNS_MAX_ADDRS 8
typedef void (*hostdns_cb)(struct gw *g, void *arg, int n,
			   const struct ipaddr *addrs, const char *error);

struct hostdns;
struct hostdns *hostdns_new(struct gw *g, const char *upstream, char *err,
			    size_t errlen);
void hostdns_free(struct hostdns *h);
int hostdns_fd(struct hostdns *h);
void hostdns_input(struct hostdns *h);
void hostdns_tick(struct hostdns *h);
/* Resolve @name (A and AAAA); @cb runs later from the loop (never from
 * inside this call).  The returned id cancels it with hostdns_cancel(). */
uint32_t hostdns_resolve(struct hostdns *h, const char *name, hostdns_cb cb,
			 void *arg);
void hostdns_cancel(struct hostdns *h, uint32_t id);

/* --- flows (flow.c) --- */
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
	uint64_t deadline;              /* half-open: when it is given up;
					 * DNS over TCP: idle until */
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
	int need_peek;                  /* first client bytes must be checked */
	uint32_t dns_id;

	/* upstream */
	int fd;
	uint16_t up_port;               /* dport, or the rule's route port */
	int routed;                     /* connecting to the rule's route */
	struct ipaddr up[HOSTDNS_MAX_ADDRS];
	int nup, upi;
	struct ipaddr up_addr;          /* the one we connected to */
	int epoll_events;

	/* sandbox side */
	struct tcp_pcb *pcb;

	/* relay state */
	struct pbuf *to_host;           /* sandbox bytes not yet written upstream */
	size_t to_host_off;
	uint8_t *peek;                  /* first client bytes while peeking */
	size_t peek_len;
	uint64_t peek_deadline;
	uint8_t *down;                  /* host bytes lwIP could not take yet */
	size_t down_len, down_off;
	int sandbox_eof, host_eof, host_shut, sandbox_shut;
	int close_pending;              /* closed from the loop, not a callback */
	const char *close_action, *close_reason;
	int registered;                 /* fd is in the epoll set */

	uint64_t bytes_up, bytes_down;
	uint64_t t_start;

	struct proxy *px;               /* intercepted (proxy.c), or NULL */
	struct policyset *ps;           /* the rules that admitted it */
	struct pgproxy *pg;             /* database gateway (pgproxy.c), or NULL */
	int open_logged;                /* its "open" event is written */
	char up_fail[160];              /* postgres rules: why upstream could not
					 * be reached (told to the sandbox as a
					 * PostgreSQL error), "" if it was */
};

int flow_syn(struct gw *g, const uint8_t *ip, size_t len, int family);
/* The loop's timer wheel: run the flows whose time has come. */
void flow_timers_run(struct gwd *d, uint64_t now);
void flow_sock_event(struct flow *f, uint32_t events);
void flow_reap(struct gw *g);
void flow_close_all(struct gw *g);
err_t flow_accept(void *arg, struct tcp_pcb *pcb, err_t err);
void flow_close_later(struct flow *f, const char *action, const char *reason);
void flow_want_events(struct flow *f, uint32_t ev);

/* --- intercepted flows (proxy.c) --- */
int proxy_start(struct flow *f, int tls);
void proxy_pump(struct flow *f);
void proxy_tick(struct flow *f, uint64_t now);
uint64_t proxy_due(const struct flow *f, uint64_t now);
void proxy_free(struct proxy *px);
struct pxshared;
void proxy_shared_free(struct pxshared *sh);
/* proxy_tls_error() - A BearSSL error as a sentence, or NULL if not a
 * common one. */
const char *proxy_tls_error(int e);

/* --- database gateway flows (pgproxy.c) --- */
struct pgproxy;
int pgproxy_start(struct flow *f);
void pgproxy_pump(struct flow *f);
void pgproxy_tick(struct flow *f);
void pgproxy_free(struct pgproxy *pp);

/* --- UDP flows (udpflow.c) --- */
struct uflow;
int uflow_input(struct gw *g, const struct ipaddr *src,
		const struct ipaddr *dst, const uint8_t *udp, size_t len,
		struct pf_decision *d, const char **reason);
void uflow_sock_event(struct uflow *u);
void uflow_tick(struct gw *g, int all);

/* Counters per sandbox, for `islo-net ctl stats` and the metrics. */
enum { ACT_ALLOW, ACT_DENY, ACT_INTERCEPT, ACT_ERROR, ACT_N };
struct gw_stats {
	uint64_t conns[ACT_N];          /* TCP connections opened, by action */
	uint64_t udp[ACT_N];            /* UDP flows, by action */
	uint64_t dns[2];                /* DNS answers: allowed names, refused */
	uint64_t http[ACT_N];           /* intercepted requests, by action */
	uint64_t tls_handshakes, tls_failures;
	uint64_t bytes_up, bytes_down;  /* of closed connections */
	uint64_t frames_in, frames_out, frames_dropped;
	uint64_t fragments;             /* IP fragments from the sandbox */
	uint64_t syn_refused_limit;     /* SYNs beyond max_connections */
	uint64_t halfopen_dropped;      /* half-open flows dropped for newer
					 * SYNs (the queue was full) */
	uint64_t halfopen_expired;      /* half-open flows that timed out or
					 * were reset by the sandbox */
	uint64_t syn_deferred;          /* SYNs answered before connecting
					 * upstream (SYN flood pressure) */
	uint64_t reloads, reload_errors;
	uint64_t timeouts[3];           /* the HTTP engine's: TLS handshake,
					 * request head, idle (proxy.c) */
};

/* Descriptors a sandbox holds besides one per connection and per UDP
 * flow: its link (TAP or QEMU listener and stream), the host resolver's
 * socket, its audit log, and a little room (a trust store being read). */
#define GW_FDS_FIXED 8
/* Descriptors the loop keeps for itself besides those open when it
 * started: the control and metrics sockets' clients, the CA's and the
 * trust store's files; an eighth of a small limit. */
#define GWD_FDS_RESERVE(limit) ((limit) / 8 < 64 ? (limit) / 8 : 64)
/* The UDP flows a sandbox may have: a quarter of its connection limit,
 * at least 4, at most 1024. */
#define GW_UFLOWS(max_flows) \
	((max_flows) / 4 < 4 ? 4 : (max_flows) / 4 > 1024 ? 1024 : (max_flows) / 4)

#define GWD_HASH_BITS 16
#define GWD_HASH_SIZE (1u << GWD_HASH_BITS)
#define TW_SLOTS 4096
#define TW_TICK_MS 4
uint32_t gw_flow_hash(const struct gw *g, const struct ipaddr *src,
		      uint16_t sport, const struct ipaddr *dst, uint16_t dport);

/* --- the sandbox (gw.c) --- */
struct gwd;
struct gw {
	struct gwd *d;                  /* the loop (and daemon) it runs in */
	struct gw *next;
	char id[64];                    /* sandbox id ("" for run/tap/qemu) */
	struct run_opts own_o;          /* its options; o points here */
	char *own_strs[4];              /* strings own_o points at, ours */
	const struct run_opts *o;
	struct policyset *ps;           /* the rules in force */
	const struct profile *prof;     /* = ps->prof */
	const char *profile_name;       /* = ps->name */
	uint64_t t_added;
	int removing;                   /* removed at the end of this turn */
	struct gw_stats st;
	struct supervisor *sv;
	struct audit *audit;
	struct dns_pool *pool;
	struct hostdns *hostdns;

	int epfd, tapfd;                /* epfd: the loop's (d->epfd) */
	struct epref tap_ref, dns_ref, listen_ref;

	/* the link: a TAP fd (one frame per read/write), or a QEMU stream
	 * socket (frames with a 4-byte big-endian length, the framing passt
	 * and QEMU's -netdev stream use) accepted on listen_fd */
	int stream, listen_fd;
	uint8_t *srx, *stx;
	size_t srx_len, stx_len, stx_cap, srx_cap;
	uint32_t link_events;
	uint64_t link_paused_until;     /* paced under SYN flood pressure */

	struct netif netif;
	uint8_t mac[6], guest_mac[6];
	int guest_mac_known;
	struct ipaddr gw4, dns4, guest4, gw6, dns6, guest6;

	struct tcp_pcb *listener;
	struct udp_pcb *dns_pcb;

	struct flow *flows;
	unsigned nflows, max_flows;
	unsigned max_uflows;            /* UDP flows it may have */
	unsigned long fds;              /* descriptors reserved for it */
	struct flow *ho_head, *ho_tail; /* half-open flows, oldest first */
	struct flow *reap;              /* released or closing: freed by
					 * flow_reap() at the end of the turn */
	struct gw *busy_next;           /* on the loop's busy list */
	int on_busy;
	unsigned nhalfopen, max_halfopen;
	unsigned ndead;                 /* flows released, not yet reaped */
	uint64_t ho_fail_sec;           /* the second ho_fails counts in */
	unsigned ho_fails;              /* handshakes failed in that second */
	uint64_t pressure_until;        /* under SYN flood pressure until */
	struct epref accept_ref;        /* REF_ACCEPT: the listener's arg */
	struct uflow *uflows;
	unsigned nuflows;

	/* interception: the CA minting leaves, the upstream trust store
	 * (loaded when a profile first needs them) */
	struct ca *ca;                  /* = d->ca */
	struct trust trust;
	int trust_loaded;
	struct pxshared *pxs;           /* proxy.c's (upstream TLS sessions,
					 * verified against this trust store:
					 * the same scope), made on first use */

	uint64_t last_ra;               /* when we last sent a router advert */
	uint8_t *obuf;                  /* one frame being written to the TAP */
	uint8_t *ibuf;                  /* one frame being read from the TAP */
	size_t bufsize;
	uint64_t drops_tx;
	struct ipfrag *frag;            /* its reassembly (ipfrag.c), or NULL */
	uint8_t *plain;                 /* an IPv6 packet without its
					 * extension headers (64 KiB), or NULL */
	size_t vnet;                    /* virtio_net_hdr size on the TAP, 0 */
	struct virtio_net_hdr vh_out;   /* the header of the frame going out */
};

/*
 * The loop: one epoll set for every sandbox's link and sockets, the lwIP
 * timers, signals and, in `islo-net serve`, the control and metrics
 * sockets (daemon.c).  lwIP is one stack for the process; each sandbox is
 * one netif in it, and every pcb is bound to its sandbox's netif, so
 * sandboxes with identical addresses never see each other's connections.
 */
struct daemon;
struct gwd {
	int epfd, timerfd;
	struct epref timer_ref, sig_ref;
	struct supervisor *sv;
	struct gw *sandboxes;
	unsigned nsandboxes;
	struct daemon *dm;              /* serve mode, or NULL */
	struct ca *ca;                  /* the islo-net CA, opened on first use;
					 * every sandbox shares it (and its
					 * leaf cache) */
	int reload_requested;           /* SIGHUP seen */
	uint64_t timer_at;              /* when the timerfd fires, 0: unset */
	int paused;                     /* a sandbox's link is paced */
	/* flows and UDP flows found by hash (key: sandbox, addresses, ports;
	 * seeded at start, so a sandbox cannot choose colliding tuples) */
	struct flow **fhash;
	struct uflow **uhash;
	uint64_t hseed;
	/* flows' deadlines: a timer wheel of TW_SLOTS slots of TW_TICK_MS
	 * (16 s around), so a wake-up costs the timers due, not the flows
	 * open (flow.c) */
	struct flow **tw;
	uint64_t tw_tick;               /* the tick processed last */
	uint64_t housekeep_at;          /* sandbox housekeeping, every 250 ms */
	struct gw *busy;                /* sandboxes with work at the end of
					 * this turn (flows to reap, host
					 * resolver answers to hand over) */
	/* descriptors (gw_add()): the soft RLIMIT_NOFILE (raised to the
	 * hard one), those open when the loop started, and the sum of what
	 * the sandboxes have reserved */
	unsigned long fd_limit, fd_base, fd_reserved;
};

int gwd_init(struct gwd *d, struct supervisor *sv);
/* Open (or make) the CA now, e.g. before the daemon drops privileges. */
int gwd_open_ca(struct gwd *d, const char *ca_dir, char *err, size_t errlen);
void gwd_fini(struct gwd *d);
int gwd_run_once(struct gwd *d, int timeout_ms);
/**
 * gw_add() - Start serving one sandbox
 * @d:     Loop
 * @id:    Sandbox id (copied; "" for the single sandbox of run/tap/qemu)
 * @tapfd: Its link (a TAP fd, taken over), or -1 with o->qemu_socket
 * @o:     Options (copied; the strings must outlive the sandbox unless
 *         gw_own_str() took them)
 * @ps:    Rules (the sandbox takes this reference)
 * @err:   Why not, on failure
 * Return: the sandbox, or NULL (then @tapfd is closed and @ps released)
 */
struct gw *gw_add(struct gwd *d, const char *id, int tapfd,
		  const struct run_opts *o, struct policyset *ps, char *err,
		  size_t errlen);
void gw_remove(struct gw *g);
struct gw *gw_find(struct gwd *d, const char *id);
/**
 * gw_reload() - Re-read the sandbox's profile; on error the old one stays
 * Return: 0 (reloaded), 1 (nothing to reload), or -1 with @err set
 */
int gw_reload(struct gw *g, char *err, size_t errlen);
/* gw_reload(), reported on stderr and as a profile_reload audit event. */
int gw_reload_logged(struct gw *g, char *err, size_t errlen);
void gwd_reload_all(struct gwd *d);

/* Send what lwIP sends without a pcb (tcp_rst) out of @g's link; NULL
 * to undo. */
void gw_route_via(struct gw *g);
/* gw_busy() - @g has work for the end of this turn (gwd_run_once()). */
void gw_busy(struct gw *g);
int hostdns_pending(const struct hostdns *h);

/* daemon.c: events on its sockets */
void daemon_event(struct gwd *d, struct epref *r, uint32_t events);

uint64_t now_ms(void);
int profile_intercepts(const struct profile *p);
/* The loop's parts, for gw_serve() and for tests/fuzzing without a TAP. */
int gw_run_once(struct gw *g, int timeout_ms);
void gw_frame_input(struct gw *g, const uint8_t *f, size_t len);
struct gw *gw_test_new(int tapfd, const struct run_opts *o,
		       struct supervisor *sv);
/* One read from a TAP fd (with its virtio_net_hdr when g->vnet): the
 * loop's, and the fuzzers'.  @buf is writable: a partial checksum is
 * finished in place. */
void gw_tap_frame(struct gw *g, uint8_t *buf, size_t n);
/* For the stream-framing fuzzer: bytes as if read from the QEMU socket. */
void gw_stream_feed(struct gw *g, const uint8_t *p, size_t n);
int gw_is_own_addr(const struct gw *g, const struct ipaddr *a);
void ipaddr_str(const struct ipaddr *a, char *buf, size_t len);
void ipaddr_to_lwip(const struct ipaddr *a, ip_addr_t *out);
void gw_send_udp(struct gw *g, const struct ipaddr *src, uint16_t sport,
		 const struct ipaddr *dst, uint16_t dport, const uint8_t *data,
		 size_t len);
/* tcp_write(), with lwIP's copy-and-sum skipping the sum on a netif with
 * TCP checksum offload (third_party/lwip/port/chksum.c) */
err_t gw_tcp_write(struct tcp_pcb *pcb, const void *data, u16_t len,
		   u8_t flags);
void gw_epoll_mod(struct gw *g, int fd, struct epref *ref, uint32_t events,
		  int op);

/* Audit helpers shared by gw.c and flow.c. */
void gw_audit_flow(struct gw *g, const struct flow *f, const char *phase,
		   const char *action, const char *reason);

#endif
