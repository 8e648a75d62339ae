/* SPDX-License-Identifier: MIT */
/*
 * gw.h - the gateway datapath's shared state: one struct gw per sandbox,
 * one struct flow per TCP connection the sandbox opens.
 *
 * Files, from the top down: gw.c (the sandboxes: add, remove, reload,
 * counters; what a frame from the link becomes), flow.c (TCP flows:
 * decision, upstream connect, peek, relay), proxy.c and pgproxy.c (their
 * handlers), udpflow.c (UDP flows), hostdns.c (the host-side resolver,
 * used only for allowed names), flowaudit.c (a flow's audit lines),
 * dnssrv.c (the DNS server), net.c and ipaddr.c (pre-filter, ARP/NDP,
 * DHCP/RA, lwIP glue), link.c (TAP, QEMU stream), loop.c (epoll, timers,
 * typed handlers), clock.c.  A file calls only the files below it.
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

#include "clock.h"
#include "dnssrv.h"
#include "flowaudit.h"
#include "frame.h"
#include "islo.h"
#include "link.h"
#include "loop.h"
#include "net.h"
#include "outcome.h"
#include "policy.h"
#include "policyset.h"
#include "ratelimit.h"
#include "trust.h"

struct audit;
struct ca;
struct dns_pool;
struct dnswait;
struct proxy;
struct gw;
struct gwd;
struct flow;

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
int hostdns_pending(const struct hostdns *h);
/* The resolver it asks (NAT mode forwards the sandbox's DNS there). */
const struct sockaddr_storage *hostdns_server(const struct hostdns *h);
/* While a hostdns_cb runs: its answer as a DNS rcode (NOERROR with no
 * address is NODATA in both families; SERVFAIL if the upstream did not
 * answer). */
int hostdns_rcode(const struct hostdns *h);
/* @name's answer if the cache holds it (positive or negative): its
 * addresses in @addrs and count returned, *@rcode set; else -1. */
int hostdns_cached(struct hostdns *h, const char *name,
		   struct ipaddr addrs[HOSTDNS_MAX_ADDRS], int *rcode);

#include "flow.h"

/* --- UDP flows (udpflow.c) --- */
struct uflow;
int uflow_input(struct gw *g, const struct ipaddr *src,
		const struct ipaddr *dst, const uint8_t *udp, size_t len,
		struct pf_decision *d, const char **reason);
void uflow_sock_event(struct uflow *u);
void uflow_tick(struct gw *g, int all);

/* Counters per sandbox, for `islo-net ctl stats` and the metrics; by
 * outcome (outcome.h). */
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
	struct refusals *refusals;      /* what it was refused (refusals.c) */
	struct supervisor *sv;
	struct audit *audit;
	struct dns_pool *pool;
	struct hostdns *hostdns;
	struct dnswait *dnsw;           /* queries waiting for the host
					 * resolver (dnssrv.c), or NULL */
	struct ratelimit icmp_err;      /* ICMP errors sent (net.c) */

	struct epref dns_ref;          /* REF_HOSTDNS: its resolver's socket */

	/* the link (link.h): g->tapfd, g->stream... or all of it as g->link;
	 * g->epfd is the loop's (d->epfd) */
	LINK_GROUP(link);
	uint64_t link_paused_until;     /* paced under SYN flood pressure */
	unsigned tap_single;            /* wakes left that read one frame
					 * (tap_input()) */

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
	struct ratelimit ho_fails;      /* handshakes failed this second */
	uint64_t pressure_until;        /* under SYN flood pressure until */
	struct epref accept_ref;        /* REF_ACCEPT: the listener's arg */
	struct uflow *uflows;
	unsigned nuflows;
	struct iecho *iechos;           /* ping flows (icmpecho.c, NAT) */
	unsigned niechos, iecho_refused;
	struct ratelimit iecho_open;    /* ping flows opened this second */

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
	struct ipfrag *frag;            /* its reassembly (ipfrag.c), or NULL */
	uint8_t *plain;                 /* an IPv6 packet without its
					 * extension headers (64 KiB), or NULL */
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
	loop_fn on[REF_N];              /* handlers by epref type (loop.h) */
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

#endif
