/* SPDX-License-Identifier: MIT */
/*
 * outcome.h - what became of a connection, a datagram, a DNS answer or a
 * request: one enum for the counters (struct gw_stats), the metrics and the
 * audit log.  Code passes these values; the strings exist only where the
 * audit log or the metrics are written (act_name()).
 */
#ifndef ISLO_OUTCOME_H
#define ISLO_OUTCOME_H

enum { ACT_ALLOW, ACT_DENY, ACT_INTERCEPT, ACT_ERROR, ACT_N };

/* act_name() - The audit log's word for @act ("allow", "deny",
 * "intercept", "error"); "?" for a value out of range. */
const char *act_name(int act);

#endif
