// SPDX-License-Identifier: MIT
/*
 * dnssrv.c - the sandbox's DNS server (dnssrv.h): over UDP here, over TCP
 * through dnstcp.c, the same answers.
 *
 * DOC: Theory of operation
 *
 * An A or AAAA question gets a synthetic address (dnspool.c), so that a
 * connection to it carries the name to the policy.  Which names get one:
 *
 *  - a name no rule could allow (the first rule whose host pattern
 *    matches denies it, or none matches and the default denies): always,
 *    without asking anyone, so a refused name fails as "connection
 *    refused" and is never a lookup the host made;
 *  - a name some rule could allow: only if the host's resolver has an
 *    address for it (hostdns.c), in either family (the gateway connects
 *    upstream in whichever the host has).  The query waits for that
 *    answer (the loop never blocks); NXDOMAIN, or the upstream's error, is
 *    passed on, and a name that exists with no address gets NOERROR with
 *    none (NODATA), so a typo is "could not resolve host";
 *  - a name a `route:` rule sends elsewhere: always (the profile's author
 *    named its endpoint; the name need not exist anywhere).
 *
 * A sandbox may have DNSW_MAX queries waiting and start DNSW_LOOKUPS_PER_SEC
 * host lookups a second for names not in the host resolver's cache; a
 * query beyond either is answered SERVFAIL at once, so a flood of random
 * names under an allowed wildcard costs neither memory nor the host's
 * resolver more than that.
 */
#include "gw.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

#include "audit.h"
#include "dns.h"
#include "dnspool.h"
#include "log.h"
#include "profile.h"

#define DNS_TTL 60
#define DNSW_MAX 64
#define DNSW_LOOKUPS_PER_SEC 50

/* One query waiting for the host resolver.  Its header and question are
 * kept (the answer repeats them); where the answer goes is a UDP peer
 * (done == NULL) or a callback (DNS over TCP).  The first query for a
 * name asks (hid set); the others for it while it waits (a client's A
 * and AAAA, retransmissions) wait for the same lookup. */
struct dnsw_q {
	uint32_t id;                    /* ours, for gw_dns_cancel(); 0: free */
	uint32_t hid;                   /* its hostdns_resolve() id, or 0 */
	int orphan;                     /* its asker went away; others wait
					 * on its lookup */
	int ready;                      /* answered by the lookup now over */
	struct dns_question dq;
	uint8_t msg[DNS_HDR_LEN + DNS_MAX_NAME + 1 + 4];
	size_t mlen, outmax;
	const char *proto;
	dnssrv_done_fn done;
	void *arg;
	ip_addr_t peer, local;
	u16_t port;
};

struct dnswait {
	struct dnsw_q q[DNSW_MAX];
	unsigned n;
	uint32_t next_id;
	struct ratelimit lookups;       /* host lookups started this second */
	struct ratelimit noted;         /* "too many" lines logged */
};

/* Is there a port on which a TCP connection to @name would be allowed?
 * The first rule whose host pattern matches decides (a deny rule with
 * methods or path_pattern refuses some requests only); else the default. */
static int name_may_be_allowed(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		const struct pf_rule *r = &p->rules[i];

		if (r->protocol != PF_TCP || !r->host_pattern ||
		    !policy_host_match(r->host_pattern, name))
			continue;
		if (r->action == PF_DENY && (r->nmethods || r->npath_patterns))
			continue;
		return r->action == PF_ALLOW;
	}
	return p->default_action == PF_ALLOW && p->internet_enabled;
}

/* Does the first rule whose host pattern matches @name send it to an
 * endpoint of its own (`route:`)?  Then the name need not exist. */
static int name_is_routed(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		const struct pf_rule *r = &p->rules[i];

		if (!r->host_pattern || !policy_host_match(r->host_pattern, name))
			continue;
		if (r->route_host)
			return 1;
		if (r->protocol == PF_TCP &&
		    !(r->action == PF_DENY && (r->nmethods || r->npath_patterns)))
			return 0;
	}
	return 0;
}

/* One line in the audit log for an answer (@reason: why it has no
 * address, or NULL). */
static void dns_audit(struct gw *g, int r, const struct dns_question *dq,
		      int act, const char *answer, int rcode, const char *proto,
		      const char *reason, int audited)
{
	struct audit_ev e;

	g->st.dns[act == ACT_ALLOW ? 0 : 1]++;
	audit_begin_kind(g->audit, &e, "dns", AK_DNS);
	audit_str(&e, "action", act_name(act));
	audit_str(&e, "profile", g->profile_name);
	audit_str(&e, "proto", proto);
	if (r == 0 || r == DNS_BAD_NAME)
		audit_strn(&e, "host", dq->name, strnlen(dq->name, sizeof(dq->name)));
	if (r == 0)
		audit_int(&e, "qtype", dq->qtype);
	if (answer && answer[0])
		audit_str(&e, "answer", answer);
	audit_int(&e, "rcode", rcode);
	if (reason)
		audit_str(&e, "reason", reason);
	if (audited)    /* refused, but enforcement: audit lets it through */
		audit_bool(&e, "enforced", 0);
	audit_emit(g->audit, &e);
}

/*
 * The answer to an A or AAAA question for an allowed name, given what the
 * host has for it (@n addresses, @rcode): if the name has an address, in
 * either family, a synthetic one in the asked family (the gateway ends
 * the connection in the sandbox's family and connects upstream in the
 * host's: an IPv6 client reaches an IPv4-only name); if it exists with no
 * address (NOERROR, none in either family), NODATA; else the host's error.
 */
static size_t answer_from_host(struct gw *g, const struct dns_question *dq,
			       const uint8_t *msg, size_t mlen, int n,
			       int rcode, const char *error, uint8_t *out,
			       size_t outlen, const char *proto)
{
	int family = dq->qtype == DNS_T_A ? AF_INET : AF_INET6;
	char abuf[INET6_ADDRSTRLEN] = "", why[80];
	const char *reason = NULL;
	uint8_t addr[16];

	if (n) {
		rcode = DNS_RCODE_NOERROR;
		if (dns_pool_addr_for(g->pool, dq->name, family, addr) < 0) {
			n = 0;
			rcode = DNS_RCODE_SERVFAIL;
		} else {
			inet_ntop(family, addr, abuf, sizeof(abuf));
		}
	}
	if (rcode == DNS_RCODE_NXDOMAIN) {
		reason = "the host resolver has no such name";
	} else if (!n && rcode == DNS_RCODE_NOERROR) {
		reason = "the host resolver has no address for it";
	} else if (!n) {
		snprintf(why, sizeof(why), "host resolver: %s",
			 error ? error : rcode == DNS_RCODE_SERVFAIL ? "SERVFAIL" :
			 rcode == DNS_RCODE_REFUSED ? "REFUSED" : "error");
		reason = why;
	}
	dns_audit(g, 0, dq, ACT_ALLOW, abuf, rcode, proto, reason, 0);
	return dns_build_response(dq, msg, mlen, rcode, n ? family : 0,
				  n ? addr : NULL, DNS_TTL, out, outlen);
}

static struct dnsw_q *dnsw_find(struct gw *g, uint32_t id)
{
	unsigned i;

	for (i = 0; g->dnsw && id && i < DNSW_MAX; i++)
		if (g->dnsw->q[i].id == id)
			return &g->dnsw->q[i];
	return NULL;
}

/* The query asking the host about @name, if one is. */
static struct dnsw_q *dnsw_asking(struct gw *g, const char *name)
{
	unsigned i;

	for (i = 0; g->dnsw && i < DNSW_MAX; i++) {
		struct dnsw_q *w = &g->dnsw->q[i];

		if (w->id && w->hid && !strcmp(w->dq.name, name))
			return w;
	}
	return NULL;
}

static void dnsw_free(struct gw *g, struct dnsw_q *w)
{
	w->id = 0;
	w->hid = 0;
	g->dnsw->n--;
}

/* Send @w's answer (@resp, @len) where it goes, and free its slot. */
static void dnsw_deliver(struct gw *g, struct dnsw_q *w, const uint8_t *resp,
			 size_t len)
{
	dnssrv_done_fn done = w->done;
	void *darg = w->arg;
	int orphan = w->orphan;
	struct pbuf *rp;

	dnsw_free(g, w);
	if (orphan)
		return;
	if (done) {
		done(g, darg, resp, len);
		return;
	}
	rp = len ? pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM) : NULL;
	if (rp) {
		pbuf_take(rp, resp, (u16_t)len);
		udp_sendto_if_src(g->dns_pcb, rp, &w->peer, w->port, &g->netif,
				  &w->local);
		pbuf_free(rp);
	}
}

/* The host resolver answered a lookup (hostdns_cb; @arg: the query that
 * asked): every query waiting on it is answered.  They are marked first:
 * an answer handed over may start a new query (DNS over TCP's next). */
static void dnsw_resolved(struct gw *g, void *arg, int n,
			  const struct ipaddr *addrs, const char *error)
{
	struct dnsw_q *asker = arg;
	int rcode = hostdns_rcode(g->hostdns);
	char name[sizeof(asker->dq.name)];
	unsigned i;

	(void)addrs;
	memcpy(name, asker->dq.name, sizeof(name));
	for (i = 0; i < DNSW_MAX; i++) {
		struct dnsw_q *w = &g->dnsw->q[i];

		w->ready = w->id && (w == asker || (!w->hid &&
						    !strcmp(w->dq.name, name)));
	}
	for (i = 0; i < DNSW_MAX; i++) {
		struct dnsw_q *w = &g->dnsw->q[i];
		uint8_t out[1500];
		size_t len;

		if (!w->ready)
			continue;
		w->ready = 0;
		len = w->orphan ? 0 :
		      answer_from_host(g, &w->dq, w->msg, w->mlen, n, rcode,
				       error, out,
				       w->outmax < sizeof(out) ? w->outmax :
								 sizeof(out),
				       w->proto);
		dnsw_deliver(g, w, out, len);
	}
}

/*
 * Keep the query until the host answers about @dq's name: ask, or wait
 * on the lookup already asking.
 * Return: the waiting slot, or NULL (too many waiting, too many lookups
 * this second, or the host resolver is full): answer SERVFAIL now.
 */
static struct dnsw_q *dnsw_start(struct gw *g, const struct dns_question *dq,
				 const uint8_t *q, size_t outmax,
				 const char *proto)
{
	uint64_t now = now_ms();
	struct dnsw_q *w = NULL;
	unsigned i;

	if (!g->dnsw && !(g->dnsw = calloc(1, sizeof(*g->dnsw))))
		return NULL;
	for (i = 0; i < DNSW_MAX && !w; i++)
		if (!g->dnsw->q[i].id)
			w = &g->dnsw->q[i];
	if (w && dq->qend <= sizeof(w->msg) && dnsw_asking(g, dq->name)) {
		w->hid = 0;             /* waits on that lookup */
	} else if (!w || dq->qend > sizeof(w->msg) ||
		   !ratelimit_ok(&g->dnsw->lookups, now, DNSW_LOOKUPS_PER_SEC) ||
		   !(w->hid = hostdns_resolve(g->hostdns, dq->name,
					      dnsw_resolved, w))) {
		if (ratelimit_ok(&g->dnsw->noted, now, 1))
			info("sandbox DNS: too many names to look up at once; "
			     "answering SERVFAIL");
		return NULL;
	}
	g->dnsw->n++;
	if (!++g->dnsw->next_id)
		g->dnsw->next_id = 1;
	w->id = g->dnsw->next_id;
	w->orphan = w->ready = 0;
	w->dq = *dq;
	memcpy(w->msg, q, dq->qend);
	w->mlen = dq->qend;
	w->outmax = outmax;
	w->proto = proto;
	w->done = NULL;
	w->arg = NULL;
	return w;
}

/*
 * An allowed name's A or AAAA question: from the host resolver's cache
 * now, or wait for it (*@wp set, 0 returned).
 */
static size_t ask_host(struct gw *g, const struct dns_question *dq,
		       const uint8_t *q, size_t len, uint8_t *out,
		       size_t outlen, const char *proto, struct dnsw_q **wp)
{
	struct ipaddr addrs[HOSTDNS_MAX_ADDRS];
	int rcode, n = hostdns_cached(g->hostdns, dq->name, addrs, &rcode);

	if (n >= 0)
		return answer_from_host(g, dq, q, len, n, rcode, NULL, out,
					outlen, proto);
	*wp = dnsw_start(g, dq, q, outlen, proto);
	if (*wp)
		return 0;
	dns_audit(g, 0, dq, ACT_ALLOW, NULL, DNS_RCODE_SERVFAIL, proto,
		  "too many names waiting for the host resolver", 0);
	return dns_build_response(dq, q, len, DNS_RCODE_SERVFAIL, 0, NULL, 0,
				  out, outlen);
}

/* Answer now, or start waiting (*@wp set). */
static size_t dns_query(struct gw *g, const uint8_t *q, size_t len,
			uint8_t *out, size_t outlen, const char *proto,
			struct dnsw_q **wp)
{
	struct dns_question dq;
	uint8_t addr[16];
	int r = dns_parse_query(q, len, &dq);
	int family = 0, rcode = DNS_RCODE_NOERROR, act = ACT_ALLOW, audited = 0;
	char abuf[INET6_ADDRSTRLEN] = "";

	*wp = NULL;
	if (r == DNS_SHORT)
		return 0;
	if (r == DNS_FORMERR)
		return dns_build_response(NULL, q, len, DNS_RCODE_FORMERR, 0,
					  NULL, 0, out, outlen);
	if (r == DNS_NOTIMP)
		return dns_build_response(NULL, q, len, DNS_RCODE_NOTIMP, 0,
					  NULL, 0, out, outlen);
	/* whether a connection to the name could be allowed (the first rule
	 * whose pattern matches it, on any port, or the default) */
	if (r == 0 && dq.name[0])
		act = name_may_be_allowed(g->prof, dq.name) ? ACT_ALLOW : ACT_DENY;
	if (r == DNS_BAD_NAME || r < 0 || !dq.name[0]) {
		rcode = DNS_RCODE_REFUSED;
		act = ACT_DENY;
	} else if (dq.qclass == 1 &&
		   (dq.qtype == DNS_T_A || dq.qtype == DNS_T_AAAA)) {
		if (act == ACT_ALLOW && g->hostdns &&
		    !name_is_routed(g->prof, dq.name))
			return ask_host(g, &dq, q, len, out, outlen, proto, wp);
		family = dq.qtype == DNS_T_A ? AF_INET : AF_INET6;
		if (dns_pool_addr_for(g->pool, dq.name, family, addr) < 0) {
			rcode = DNS_RCODE_SERVFAIL;
			family = 0;
		} else {
			inet_ntop(family, addr, abuf, sizeof(abuf));
		}
	}
	/* a refused name: does enforcement: audit let it through? (it keeps
	 * its synthetic address, looked up only when a connection comes) */
	if (act == ACT_DENY && r == 0 && dq.name[0])
		policy_name_dns(g->prof, dq.name, &audited);
	dns_audit(g, r, &dq, act, abuf, rcode, proto, NULL, audited);
	return dns_build_response(r == 0 || r == DNS_BAD_NAME ? &dq : NULL, q,
				  len, rcode, family, family ? addr : NULL,
				  DNS_TTL, out, outlen);
}

size_t gw_dns_query(struct gw *g, const uint8_t *q, size_t len, uint8_t *out,
		    size_t outlen, const char *proto, dnssrv_done_fn done,
		    void *arg, uint32_t *wait)
{
	struct dnsw_q *w;
	size_t n = dns_query(g, q, len, out, outlen, proto, &w);

	*wait = 0;
	if (w) {
		w->done = done;
		w->arg = arg;
		*wait = w->id;
	}
	return n;
}

void gw_dns_cancel(struct gw *g, uint32_t wait)
{
	struct dnsw_q *w = dnsw_find(g, wait);
	unsigned i;

	if (!w)
		return;
	if (w->hid) {
		/* others may wait on its lookup: then it stays, answering
		 * nobody, until the lookup is over */
		for (i = 0; i < DNSW_MAX; i++) {
			const struct dnsw_q *o = &g->dnsw->q[i];

			if (o->id && !o->hid && !strcmp(o->dq.name, w->dq.name)) {
				w->orphan = 1;
				w->done = NULL;
				return;
			}
		}
		hostdns_cancel(g->hostdns, w->hid);
	}
	dnsw_free(g, w);
}

static void dns_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p,
			 const ip_addr_t *addr, u16_t port)
{
	struct gw *g = arg;
	uint8_t q[1500], r[1500];
	const ip_addr_t *dst = ip_current_dest_addr();
	size_t len, rlen;
	struct pbuf *rp;
	struct ipaddr d = { 0 };
	struct dnsw_q *w;

	if (IP_IS_V4(dst)) {
		d.family = AF_INET;
		memcpy(d.a, &ip_2_ip4(dst)->addr, 4);
	} else {
		d.family = AF_INET6;
		memcpy(d.a, ip_2_ip6(dst)->addr, 16);
	}
	if (!ipaddr_eq(&d, &g->dns4) && !ipaddr_eq(&d, &g->dns6))
		goto out;
	len = pbuf_copy_partial(p, q, sizeof(q), 0);
	rlen = dns_query(g, q, len, r, 512 > sizeof(r) ? sizeof(r) : 512, "udp",
			 &w);
	if (w) {
		/* answered when the host resolver has */
		ip_addr_copy(w->peer, *addr);
		ip_addr_copy(w->local, *dst);
		w->port = port;
		goto out;
	}
	if (!rlen)
		goto out;
	rp = pbuf_alloc(PBUF_TRANSPORT, (u16_t)rlen, PBUF_RAM);
	if (!rp)
		goto out;
	pbuf_take(rp, r, (u16_t)rlen);
	udp_sendto_if_src(pcb, rp, addr, port, &g->netif, dst);
	pbuf_free(rp);
out:
	pbuf_free(p);
}

int dnssrv_start(struct gw *g)
{
	g->dns_pcb = udp_new_ip_type(IPADDR_TYPE_ANY);
	if (!g->dns_pcb)
		return -1;
	udp_bind_netif(g->dns_pcb, &g->netif);
	/* every sandbox's resolver is port 53 on its own netif */
	ip_set_option(g->dns_pcb, SOF_REUSEADDR);
	if (udp_bind(g->dns_pcb, IP_ANY_TYPE, 53) != ERR_OK)
		return -1;
	udp_recv(g->dns_pcb, dns_udp_recv, g);
	return 0;
}

void dnssrv_stop(struct gw *g)
{
	unsigned i;

	for (i = 0; g->dnsw && i < DNSW_MAX; i++)
		if (g->dnsw->q[i].id && g->dnsw->q[i].hid)
			hostdns_cancel(g->hostdns, g->dnsw->q[i].hid);
	free(g->dnsw);
	g->dnsw = NULL;
	if (g->dns_pcb)
		udp_remove(g->dns_pcb);
	g->dns_pcb = NULL;
}
