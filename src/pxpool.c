// SPDX-License-Identifier: MIT
/*
 * pxpool.c - upstream connection reuse for intercepted HTTP/1.1.
 *
 * DOC: Theory of operation
 *
 * Most of a new intercepted connection's CPU time is its two TLS
 * handshakes.  The sandbox's cannot be skipped (it is the sandbox's new
 * connection), but upstream's can: when an intercepted HTTP/1.1 flow ends
 * because the sandbox closed while its upstream connection is idle and
 * clean (the last response whole, keep-alive, no byte pending either way,
 * no tunnel, no HTTP/2, no TLS error), that connection (socket and
 * BearSSL client, its record buffers already given back) is parked here
 * instead of closed.  The next flow of the same sandbox to the same place
 * takes it at its SYN: no upstream TCP connect, no upstream handshake.
 *
 * "The same place" is the key (struct pxparked): the policy set (held by
 * reference, so a reload never reuses across rule versions and the
 * pointer cannot be reused by another set while parked), the admitting
 * rule (so the route, the verified TLS name, the trust store and the
 * private-address decision are those the connection was made under), the
 * host name the sandbox resolved, and its port.  The pool is per sandbox
 * (g->pxs): never shared between sandboxes.
 *
 * Credentials.  A request's credential is its own rule's (per request).
 * A connection is parked only when every rule that can allow a request to
 * that host and port has the same credential (the same auth_strategy, or
 * none for all): then whatever request the next flow sends on it carries
 * the credential the earlier ones carried, or none where a refusal is
 * only audited, as within one sandbox connection today.  A host whose
 * rules carry different credentials is never pooled (an upstream that ties
 * authentication to a connection, as NTLM does, must not see one rule's
 * requests after another's).
 *
 * A parked connection is closed when it has been idle PXPOOL_IDLE_MS, when
 * upstream closed it or sent anything (a poll at every sweep, 250 ms, and
 * again when it is taken), when the rules in force changed, and at the
 * sandbox's removal.  At most PXPOOL_PER_HOST per key and PXPOOL_MAX per
 * sandbox.  A connection that fails anyway before its first answer
 * (closed as it was reused) is retried once on a fresh connection for an
 * idempotent request without a body; any other request is answered 502
 * (proxy.c): never sent twice.
 */
#include "gw.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flowtab.h"
#include "log.h"
#include "profile.h"
#include "pxpool.h"

/**
 * struct pxparked - one parked upstream connection
 * @next:    List
 * @ps:      Policy set it was made under (a reference)
 * @rule:    The rule that admitted its flows
 * @host:    Name the sandbox resolved
 * @port:    The sandbox's destination port
 * @addr:    Upstream address
 * @up_port: Upstream port
 * @fd:      Socket, -1 once handed to a flow
 * @uc:      TLS client (handshake done, no buffer attached)
 * @since:   Parked at (now_ms())
 */
struct pxparked {
	struct pxparked *next;
	struct policyset *ps;
	const struct pf_rule *rule;
	char host[256];
	uint16_t port;
	struct ipaddr addr;
	uint16_t up_port;
	int fd;
	struct pxupc *uc;
	uint64_t since;
};

int pxpool_enabled(void)
{
	static int on = -1;

	if (on < 0)
		on = !getenv("ISLO_NO_REUSE");
	return on;
}

void pxupc_free(struct pxupc *uc)
{
	if (!uc)
		return;
	explicit_bzero(uc, sizeof(*uc));        /* the session's keys */
	free(uc);
}

static void parked_free(void *arg)
{
	struct pxparked *e = arg;

	if (e->fd >= 0)
		close(e->fd);
	pxupc_free(e->uc);
	policyset_unref(e->ps);
	explicit_bzero(e, sizeof(*e));
	free(e);
}

/* Every rule that can allow a request to @host:@port carries the same
 * credential (or none does). */
static int cred_uniform(const struct profile *p, const char *host,
			uint16_t port)
{
	const struct pf_auth *a = NULL;
	int seen = 0;
	size_t i, k;

	for (i = 0; p && i < p->nrules; i++) {
		const struct pf_rule *r = &p->rules[i];
		int in = 0;

		if (r->action != PF_ALLOW || r->protocol != PF_TCP ||
		    !r->host_pattern || r->host_family ||
		    !policy_host_match(r->host_pattern, host))
			continue;
		for (k = 0; k < r->nports; k++)
			in |= port >= r->ports[k].lo && port <= r->ports[k].hi;
		if (!in)
			continue;
		if (seen && r->auth != a)
			return 0;
		a = r->auth;
		seen = 1;
	}
	return 1;
}

/* May @f's upstream be pooled at all (its flows are always intercepted:
 * the peek never hands them to the relay)? */
static int poolable(const struct flow *f)
{
	const struct pf_rule *r = f->dec.rule;

	return pxpool_enabled() && f->named && f->ps && !f->dec.audit &&
	       ((r && pf_rule_intercepts(r)) || f->dec.per_request) &&
	       cred_uniform(f->ps->prof, f->host, f->dport);
}

/* Has upstream closed @fd or sent anything on it (or is it broken)? */
static int stale(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&pfd, 1, 0) != 0;
}

static int same_key(const struct pxparked *e, const struct flow *f)
{
	return e->ps == f->ps && e->rule == f->dec.rule && e->port == f->dport &&
	       !strcmp(e->host, f->host);
}

static void unlink_free(struct pxpool *pl, struct pxparked **pp)
{
	struct pxparked *e = *pp;

	*pp = e->next;
	pl->n--;
	pl->closed++;
	parked_free(e);
}

int pxpool_park(struct pxpool *pl, struct flow *f, struct pxupc *uc)
{
	struct pxparked *e, **pp, **oldest = NULL;
	unsigned same = 0;

	/* parked descriptors count against the sandbox's connection limit
	 * (its share of the descriptors): @f's goes from it to the pool */
	if (f->fd < 0 || f->ps != f->g->ps || !poolable(f) ||
	    flows_live(f->g) + pl->n > f->g->max_flows)
		return 0;
	for (pp = &pl->head; *pp; pp = &(*pp)->next)
		if (same_key(*pp, f) && ++same >= PXPOOL_PER_HOST)
			return 0;
	if (pl->n >= PXPOOL_MAX) {
		for (pp = &pl->head; *pp; pp = &(*pp)->next)
			oldest = pp;    /* most recent first: the last */
		if (oldest)
			unlink_free(pl, oldest);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return 0;
	flow_want_events(f, 0);
	e->ps = policyset_ref(f->ps);
	e->rule = f->dec.rule;
	snprintf(e->host, sizeof(e->host), "%s", f->host);
	e->port = f->dport;
	e->addr = f->up_addr;
	e->up_port = f->up_port;
	e->fd = f->fd;
	f->fd = -1;             /* the pool's now: the flow's close leaves it */
	e->uc = uc;
	e->since = now_ms();
	e->next = pl->head;
	pl->head = e;
	pl->n++;
	pl->parked++;
	return 1;
}

int pxpool_take(struct pxpool *pl, struct flow *f)
{
	struct pxparked *e, **pp = &pl->head;

	if (!pl->head || !poolable(f))
		return 0;
	while ((e = *pp)) {
		if (!same_key(e, f)) {
			pp = &e->next;
			continue;
		}
		if (stale(e->fd)) {
			unlink_free(pl, pp);
			continue;
		}
		*pp = e->next;
		pl->n--;
		pl->reused++;
		f->fd = e->fd;
		e->fd = -1;
		f->up_addr = e->addr;
		f->up_port = e->up_port;
		f->routed = e->rule && e->rule->route_host;
		f->up_state = e;
		f->up_state_free = parked_free;
		return 1;
	}
	return 0;
}

struct pxupc *pxpool_adopt(struct flow *f)
{
	struct pxparked *e = f->up_state;
	struct pxupc *uc;

	if (!e || f->up_state_free != parked_free)
		return NULL;
	uc = e->uc;
	e->uc = NULL;
	f->up_state = NULL;
	f->up_state_free = NULL;
	parked_free(e);
	return uc;
}

void pxpool_sweep(struct pxpool *pl, const struct policyset *cur,
		  uint64_t now)
{
	struct pxparked **pp = &pl->head, *e;

	while ((e = *pp)) {
		if (e->ps != cur || now - e->since > PXPOOL_IDLE_MS ||
		    stale(e->fd))
			unlink_free(pl, pp);
		else
			pp = &e->next;
	}
}

void pxpool_trim(struct pxpool *pl, const struct gw *g, unsigned more)
{
	while (pl->head && flows_live(g) + more + pl->n > g->max_flows) {
		struct pxparked **pp = &pl->head;

		while ((*pp)->next)
			pp = &(*pp)->next;      /* the oldest */
		unlink_free(pl, pp);
	}
}

void pxpool_free(struct pxpool *pl)
{
	while (pl->head)
		unlink_free(pl, &pl->head);
}

int pxpool_connect(const struct ipaddr *a, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl = ipaddr_sockaddr(a, port, &ss);
	int one = 1;
	int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}
