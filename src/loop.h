/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the loop: one epoll set, the timerfd that drives lwIP's timers,
 * the supervisor's signalfd, and typed handlers.
 *
 * Every registered descriptor's epoll data points at a struct epref; its
 * type picks the handler the loop calls (one table, filled at start by
 * whoever owns that kind of descriptor: gw.c the sandboxes' links, flows
 * and resolvers, daemon.c its control and metrics sockets).  The loop knows
 * no sandbox, flow or daemon by name.
 */
#ifndef ISLO_LOOP_H
#define ISLO_LOOP_H

#include <stdint.h>

struct gw;
struct gwd;
struct supervisor;

/* Typed epoll references: every registered fd's data.ptr points at one. */
enum ref_type { REF_TAP = 1, REF_TIMER, REF_SIG, REF_FLOW, REF_HOSTDNS, REF_UDP,
		REF_LISTEN, REF_CTL_LISTEN, REF_CTL_CONN, REF_METRICS_LISTEN,
		REF_METRICS_CONN, REF_ICMP,
		REF_FETCH /* the secret fetcher's socket (secretfetch.h) */,
		REF_ACCEPT /* lwIP's listener argument (never in epoll) */,
		REF_N };
struct epref {
	enum ref_type type;
};

/* What the loop calls for an event on a descriptor of one type. */
typedef void (*loop_fn)(struct gwd *d, struct epref *r, uint32_t events);

/* Count the descriptors open now and raise RLIMIT_NOFILE (d->fd_*). */
void loop_fds_init(struct gwd *d);
/* Make the epoll set and the timerfd; watch @sv's signalfd (d->sv).
 * Return: 0, or -1 (reported) */
int loop_open(struct gwd *d);
void loop_close(struct gwd *d);
/* loop_handle() - Events on descriptors whose epref has @type go to @fn. */
void loop_handle(struct gwd *d, enum ref_type type, loop_fn fn);
/* epoll_ctl() with @ref as the data; failures but EPOLL_CTL_DEL's warned */
void loop_ctl(int epfd, int fd, struct epref *ref, uint32_t events, int op);
/**
 * loop_wait() - Wait for events, dispatch them, run lwIP's timers
 * @d:          Loop
 * @timeout_ms: How long epoll may wait
 * Return: 0, or -1 if epoll failed (reported)
 */
int loop_wait(struct gwd *d, int timeout_ms);

/* loop_ctl() on the loop of sandbox @g */
void gw_epoll_mod(struct gw *g, int fd, struct epref *ref, uint32_t events,
		  int op);
/* gw_busy() - @g has work for the end of this turn (gwd_run_once()). */
void gw_busy(struct gw *g);

#endif
