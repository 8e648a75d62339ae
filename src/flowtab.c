// SPDX-License-Identifier: MIT
/*
 * flowtab.c - the flow table's bookkeeping, for the core (flow.c): the
 * half-open queue, the hash of four-tuples and the timer wheel.  Costs that
 * do not grow with the connections open: every operation here is O(1)
 * but flow_find()'s walk of one hash chain.
 */
#include "flowtab.h"

#include "ratelimit.h"

#include <string.h>

/* Half-open queue: append at the tail (newest). */
void ho_add(struct gw *g, struct flow *f)
{
	if (f->halfopen)
		return;
	f->halfopen = 1;
	f->ho_next = NULL;
	f->ho_prev = g->ho_tail;
	if (g->ho_tail)
		g->ho_tail->ho_next = f;
	else
		g->ho_head = f;
	g->ho_tail = f;
	g->nhalfopen++;
}

void flow_unlink(struct gw *g, struct flow *f)
{
	struct flow *no_tail;

	FLOW_UNLINK(f, next, prev, g->flows, no_tail);
	(void)no_tail;
	g->nflows--;
}

void ho_del(struct gw *g, struct flow *f)
{
	if (!f->halfopen)
		return;
	FLOW_UNLINK(f, ho_next, ho_prev, g->ho_head, g->ho_tail);
	f->halfopen = 0;
	g->nhalfopen--;
}

/* A handshake failed: count it toward SYN flood pressure. */
void ho_failed(struct gw *g)
{
	uint64_t now = now_ms();

	if (ratelimit_count(&g->ho_fails, now) >= FLOW_PRESSURE_FAILS)
		g->pressure_until = now + 1000;
}

/* Flows that hold a place: not released yet. */
unsigned flows_live(const struct gw *g)
{
	return g->nflows - g->ndead;
}

/* ------------------------------------------------------------------ */
/* Finding flows, timers, reaping: costs that do not grow with the     */
/* connections open                                                    */

void fhash_add(struct gw *g, struct flow *f)
{
	uint32_t h = gw_flow_hash(g, &f->src, f->sport, &f->dst, f->dport);

	f->hnext = g->d->fhash[h];
	g->d->fhash[h] = f;
}

void fhash_del(struct gw *g, struct flow *f)
{
	struct flow **pp = &g->d->fhash[gw_flow_hash(g, &f->src, f->sport,
						     &f->dst, f->dport)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == f) {
			*pp = f->hnext;
			f->hnext = NULL;
			return;
		}
	}
}

void tw_del(struct gwd *d, struct flow *f)
{
	struct flow *no_tail;

	if (!f->tw_at)
		return;
	FLOW_UNLINK(f, tw_next, tw_prev, d->tw[(f->tw_at / TW_TICK_MS) % TW_SLOTS],
		    no_tail);
	(void)no_tail;
	f->tw_at = 0;
}

void tw_add(struct gwd *d, struct flow *f, uint64_t at)
{
	struct flow **slot;

	tw_del(d, f);
	if (!at)
		return;
	slot = &d->tw[(at / TW_TICK_MS) % TW_SLOTS];
	f->tw_at = at;
	f->tw_prev = NULL;
	f->tw_next = *slot;
	if (*slot)
		(*slot)->tw_prev = f;
	*slot = f;
}

struct flow *flow_find(struct gw *g, const struct ipaddr *src,
			      uint16_t sport, const struct ipaddr *dst,
			      uint16_t dport)
{
	struct flow *f;

	for (f = g->d->fhash[gw_flow_hash(g, src, sport, dst, dport)]; f;
	     f = f->hnext)
		if (f->g == g && f->state != FLOW_DEAD && f->sport == sport &&
		    f->dport == dport && ipaddr_pair_eq(src, dst, &f->src, &f->dst))
			return f;
	return NULL;
}

