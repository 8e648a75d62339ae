/* SPDX-License-Identifier: MIT */
/*
 * flowtab.h - the flow table's bookkeeping (flowtab.c), for flow.c only.
 */
#ifndef ISLO_FLOWTAB_H
#define ISLO_FLOWTAB_H

#include "gw.h"

/*
 * Unlink @f from a list threaded through its @next and @prev fields whose
 * head is @head (and tail @tail, for a list that keeps one: else pass a
 * dummy).
 */
#define FLOW_UNLINK(f, next, prev, head, tail)          \
	do {                                            \
		if ((f)->prev)                          \
			(f)->prev->next = (f)->next;    \
		else                                    \
			(head) = (f)->next;             \
		if ((f)->next)                          \
			(f)->next->prev = (f)->prev;    \
		else                                    \
			(tail) = (f)->prev;             \
		(f)->next = (f)->prev = NULL;           \
	} while (0)

/* The list of a sandbox's flows. */
void flow_unlink(struct gw *g, struct flow *f);

/* The half-open queue: oldest first. */
void ho_add(struct gw *g, struct flow *f);
void ho_del(struct gw *g, struct flow *f);
/* A handshake failed: count it toward SYN flood pressure. */
void ho_failed(struct gw *g);
/* Flows that hold a place: not released yet. */
unsigned flows_live(const struct gw *g);

/* The hash of four-tuples (gwd.fhash, shared by every sandbox). */
void fhash_add(struct gw *g, struct flow *f);
void fhash_del(struct gw *g, struct flow *f);
struct flow *flow_find(struct gw *g, const struct ipaddr *src, uint16_t sport,
		       const struct ipaddr *dst, uint16_t dport);

/* The timer wheel (gwd.tw): @f fires at @at (0: never). */
void tw_add(struct gwd *d, struct flow *f, uint64_t at);
void tw_del(struct gwd *d, struct flow *f);

#endif /* ISLO_FLOWTAB_H */
