// SPDX-License-Identifier: MIT
/*
 * dnssrv.c - the sandbox's DNS server (dnssrv.h): over UDP here, over TCP
 * through flow.c (FLOW_DNS), the same answers.
 *
 * The answer is synthetic whether or not a connection to the name could
 * be allowed, so a refused name fails as "connection refused", never as a
 * lookup the host made; the log says which it would be.
 */
#include "gw.h"

#include <arpa/inet.h>
#include <string.h>

#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

#include "audit.h"
#include "dns.h"
#include "dnspool.h"
#include "profile.h"

#define DNS_TTL 60

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

size_t gw_dns_answer(struct gw *g, const uint8_t *q, size_t len, uint8_t *out,
		     size_t outlen, const char *proto)
{
	struct dns_question dq;
	struct audit_ev e;
	uint8_t addr[16];
	int r = dns_parse_query(q, len, &dq);
	int family = 0, rcode = DNS_RCODE_NOERROR, act = ACT_ALLOW, audited = 0;
	char abuf[INET6_ADDRSTRLEN] = "";

	if (r == DNS_SHORT)
		return 0;
	if (r == DNS_FORMERR)
		return dns_build_response(NULL, q, len, DNS_RCODE_FORMERR, 0,
					  NULL, 0, out, outlen);
	if (r == DNS_NOTIMP)
		return dns_build_response(NULL, q, len, DNS_RCODE_NOTIMP, 0,
					  NULL, 0, out, outlen);
	if (r == DNS_BAD_NAME || r < 0 || !dq.name[0]) {
		rcode = DNS_RCODE_REFUSED;
		act = ACT_DENY;
	} else if (dq.qclass == 1 &&
		   (dq.qtype == DNS_T_A || dq.qtype == DNS_T_AAAA)) {
		family = dq.qtype == DNS_T_A ? AF_INET : AF_INET6;
		if (dns_pool_addr_for(g->pool, dq.name, family, addr) < 0) {
			rcode = DNS_RCODE_SERVFAIL;
			family = 0;
		} else {
			inet_ntop(family, addr, abuf, sizeof(abuf));
		}
	}
	/* whether a connection to the name could be allowed (the first rule
	 * whose pattern matches it, on any port, or the default) */
	if (r == 0 && dq.name[0])
		act = name_may_be_allowed(g->prof, dq.name) ? ACT_ALLOW : ACT_DENY;
	if (act == ACT_DENY && r == 0 && dq.name[0]) /* enforcement: audit? */
		policy_name_dns(g->prof, dq.name, &audited);
	g->st.dns[act == ACT_ALLOW ? 0 : 1]++;
	audit_begin_kind(g->audit, &e, "dns", AK_DNS);
	audit_str(&e, "action", act_name(act));
	audit_str(&e, "profile", g->profile_name);
	audit_str(&e, "proto", proto);
	if (r == 0 || r == DNS_BAD_NAME)
		audit_strn(&e, "host", dq.name, strnlen(dq.name, sizeof(dq.name)));
	if (r == 0)
		audit_int(&e, "qtype", dq.qtype);
	if (abuf[0])
		audit_str(&e, "answer", abuf);
	audit_int(&e, "rcode", rcode);
	if (audited)
		audit_bool(&e, "enforced", 0);
	audit_emit(g->audit, &e);
	return dns_build_response(r == 0 || r == DNS_BAD_NAME ? &dq : NULL, q,
				  len, rcode, family, family ? addr : NULL,
				  DNS_TTL, out, outlen);
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
	rlen = gw_dns_answer(g, q, len, r, 512 > sizeof(r) ? sizeof(r) : 512,
			     "udp");
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
