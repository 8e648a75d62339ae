/* SPDX-License-Identifier: MIT */
/*
 * flow_int.h - the flow core's steps that flowsyn.c (a new connection's
 * SYN) uses.  Only flowsyn.c includes it; the core never calls flowsyn.c.
 */
#ifndef ISLO_FLOW_INT_H
#define ISLO_FLOW_INT_H

#include <stddef.h>
#include <stdint.h>

struct flow;

/* (Re)arm @f's timer for its current state. */
void flow_arm(struct flow *f);
/* Free @f's socket, handler and table places now (it is reaped later). */
void flow_release(struct flow *f);
/* A half-open flow ends before the sandbox's handshake did: one budgeted
 * audit line; the counters are the caller's. */
void flow_audit_handshake(struct flow *f, const char *reason);
/* Refuse a held SYN: audited, an RST to the sandbox, @f released. */
void flow_refuse(struct flow *f, const char *reason);
/* Finish what flow_close_later()/flow_abort_later() asked for, now. */
void flow_close_now(struct flow *f);
/* Give the held SYN (@ip, @len) to lwIP, taking its SYN_RCVD pcb. */
void flow_inject(struct flow *f, const uint8_t *ip, size_t len);
/* Drop an lwIP TIME_WAIT pcb on @f's ports (the sandbox reuses them). */
void drop_time_wait(const struct flow *f);
/* Resolve and connect upstream for an allowed flow; @f may be released
 * (refused) on return. */
void flow_start_upstream(struct flow *f);

#endif
