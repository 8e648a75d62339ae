/* SPDX-License-Identifier: MIT */
/*
 * flowaudit.h - a connection's (TCP flow's, UDP flow's) lines in the
 * audit log, and the sandbox's counters that go with them.
 *
 * Every "connection" event names the flow the same way, in the same
 * order: phase, action, then the tuple (flowaudit_tuple()), then what the
 * caller adds.  The outcome is an enum (outcome.h) until it is written.
 */
#ifndef ISLO_FLOWAUDIT_H
#define ISLO_FLOWAUDIT_H

#include <stdint.h>

struct audit_ev;
struct flow;
struct gw;
struct ipaddr;
struct pf_decision;

enum flow_phase { PH_OPEN, PH_CLOSE };

/* A flow as the audit log names it. */
struct flow_audit {
	const char *proto;              /* "tcp", "udp" */
	const struct pf_decision *dec;  /* the decision (its rule's label) */
	const struct ipaddr *src, *dst;
	uint16_t sport, dport;
	const char *host;               /* the name, "" or NULL: none */
	const struct ipaddr *up;        /* the upstream connected to, or a
					 * family 0 address, or NULL */
	uint64_t bytes_up, bytes_down;  /* at close */
	uint64_t t_start;               /* when it opened (now_ms()) */
};

/**
 * flowaudit_tuple() - Write the flow's fields: profile, rule, proto, src,
 * src_port, dst_ip, dst_port and host (if any)
 * @e:  Event being built (audit_begin*() done, phase and action written)
 * @g:  Sandbox (its profile's name)
 * @fa: The flow
 */
void flowaudit_tuple(struct audit_ev *e, const struct gw *g,
		     const struct flow_audit *fa);
/**
 * flowaudit_emit() - Write a "connection" event and emit it: phase,
 * action, the tuple, upstream, reason, and at close the byte counts and
 * the duration
 * @g:      Sandbox
 * @e:      Event begun by the caller (audit_begin_kind(): its budget)
 * @phase:  PH_OPEN or PH_CLOSE
 * @act:    ACT_*
 * @fa:     The flow
 * @reason: Why, or NULL
 */
void flowaudit_emit(struct gw *g, struct audit_ev *e, enum flow_phase phase,
		    int act, const struct flow_audit *fa, const char *reason);
/**
 * flowaudit_tcp() - A TCP flow opened or closed: counted, and logged
 * (refusals within the sandbox's budget)
 * @g:      Sandbox
 * @f:      The flow
 * @phase:  PH_OPEN or PH_CLOSE
 * @act:    ACT_ALLOW or ACT_DENY
 * @reason: Why, or NULL
 */
void flowaudit_tcp(struct gw *g, const struct flow *f, enum flow_phase phase,
		   int act, const char *reason);
/**
 * flowaudit_peek_audited() - A connection to an address whose TLS SNI or
 * Host names a host the profile refuses, let through by audit mode: a
 * "connection" event of phase "peek", "action":"deny","enforced":false
 * @g:      Sandbox
 * @f:      The flow
 * @d:      The decision for the name (d->audit set)
 * @name:   The name the sandbox sent
 * @reason: Why it would have been refused
 */
void flowaudit_peek_audited(struct gw *g, const struct flow *f,
			    const struct pf_decision *d, const char *name,
			    const char *reason);
/* A UDP datagram refused (no flow): counted, and logged within the
 * sandbox's budget. */
void flowaudit_udp_refused(struct gw *g, const struct ipaddr *src,
			   const struct ipaddr *dst, uint16_t dport,
			   const struct pf_decision *d, const char *reason);

#endif
