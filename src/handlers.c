// SPDX-License-Identifier: MIT
/*
 * handlers.c - the one table from a flow's kind to its handler.  The flow
 * core (flow.c) never names a handler; a new protocol is a flow_ops and a
 * line here.
 */
#include "gw.h"

extern const struct flow_ops relay_ops, http_ops, pg_ops, dnstcp_ops;

static const struct flow_ops *const handlers[FK_N] = {
	[FK_RELAY] = &relay_ops,
	[FK_HTTP] = &http_ops,
	[FK_PG] = &pg_ops,
	[FK_DNSTCP] = &dnstcp_ops,
};

const struct flow_ops *flow_handler(enum flow_kind k)
{
	return (unsigned)k < FK_N ? handlers[k] : NULL;
}

void flow_handlers_sandbox_free(struct gw *g)
{
	proxy_shared_free(g->pxs);
	g->pxs = NULL;
}

int flow_handlers_reuse(struct flow *f)
{
	return proxy_upstream_reuse(f);
}

void flow_handlers_room(struct gw *g)
{
	proxy_shared_room(g);
}

void flow_handlers_tick(struct gw *g, uint64_t now)
{
	proxy_shared_tick(g, now);
}
