// SPDX-License-Identifier: MIT
/*
 * flowaudit.c - connections in the audit log (flowaudit.h).
 */
#include "gw.h"

#include <arpa/inet.h>
#include <string.h>

#include "audit.h"
#include "learn.h"
#include "refusals.h"

/*
 * audited_open() - A flow the profile refuses, let through by audit mode:
 * in the summary at exit, and noted for `islo-net learn` (the name the
 * sandbox resolved, never the synthetic address; else the address).
 */
static void audited_open(struct gw *g, const struct flow_audit *fa)
{
	const struct pf_decision *d = fa->dec;
	char dst[INET6_ADDRSTRLEN];
	const char *host;
	int priv;

	ipaddr_str(fa->dst, dst, sizeof(dst));
	host = fa->host && fa->host[0] ? fa->host : dst;
	refusal_note_audited(g, fa->proto, host, fa->dport,
			     policy_rule_label(d), d->why);
	if (!g->o || !g->o->learn)
		return;
	priv = fa->up && fa->up->family ?
		       policy_addr_is_private(fa->up->family, fa->up->a) :
		       policy_addr_is_private(fa->dst->family, fa->dst->a);
	learn_conn(g->o->learn, !strcmp(fa->proto, "udp") ? PF_UDP : PF_TCP,
		   host, fa->dport, priv,
		   d->refused_by ? d->refused_by->priority : -1);
}

void flowaudit_tuple(struct audit_ev *e, const struct gw *g,
		     const struct flow_audit *fa)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	ipaddr_str(fa->src, src, sizeof(src));
	ipaddr_str(fa->dst, dst, sizeof(dst));
	audit_str(e, "profile", g->profile_name);
	audit_str(e, "rule", policy_rule_label(fa->dec));
	audit_str(e, "proto", fa->proto);
	audit_str(e, "src", src);
	audit_int(e, "src_port", fa->sport);
	audit_str(e, "dst_ip", dst);
	audit_int(e, "dst_port", fa->dport);
	if (fa->host && fa->host[0])
		audit_strn(e, "host", fa->host, strlen(fa->host));
}

void flowaudit_emit(struct gw *g, struct audit_ev *e, enum flow_phase phase,
		    int act, const struct flow_audit *fa, const char *reason)
{
	char up[INET6_ADDRSTRLEN];
	/* audit mode: what the profile refuses and let through is "deny",
	 * not enforced; a refusal of such a flow (a private address, the
	 * upstream) is enforced, and says so */
	int audited = fa->dec && fa->dec->audit;

	if (audited && phase == PH_OPEN && act == ACT_ALLOW)
		audited_open(g, fa);
	audit_str(e, "phase", phase == PH_OPEN ? "open" : "close");
	audit_str(e, "action", act_name(audited && act == ACT_ALLOW ? ACT_DENY : act));
	flowaudit_tuple(e, g, fa);
	if (fa->up && fa->up->family) {
		ipaddr_str(fa->up, up, sizeof(up));
		audit_str(e, "upstream", up);
	}
	if (audited && act == ACT_ALLOW && !reason)
		reason = fa->dec->why;
	if (reason)
		audit_str(e, "reason", reason);
	if (audited)
		audit_bool(e, "enforced", act != ACT_ALLOW);
	if (phase == PH_CLOSE) {
		audit_int(e, "bytes_up", (long long)fa->bytes_up);
		audit_int(e, "bytes_down", (long long)fa->bytes_down);
		audit_int(e, "duration_ms", (long long)(now_ms() - fa->t_start));
	}
	audit_emit(g->audit, e);
}

void flowaudit_tcp(struct gw *g, const struct flow *f, enum flow_phase phase,
		   int act, const char *reason)
{
	struct flow_audit fa = {
		.proto = "tcp", .dec = &f->dec, .src = &f->src, .dst = &f->dst,
		.sport = f->sport, .dport = f->dport, .host = f->host,
		.up = &f->up_addr, .bytes_up = f->bytes_up,
		.bytes_down = f->bytes_down, .t_start = f->t_start,
	};
	struct audit_ev e;

	if (phase == PH_OPEN) {
		if (act == ACT_ALLOW)
			g->st.conns[ACT_ALLOW]++;
		else if (f->dec.action == PF_ALLOW)
			g->st.conns[ACT_ERROR]++; /* allowed, upstream failed */
		else
			g->st.conns[ACT_DENY]++;
	} else {
		g->st.bytes_up += f->bytes_up;
		g->st.bytes_down += f->bytes_down;
		if (act == ACT_DENY)
			g->st.conns[ACT_DENY]++; /* refused after the peek */
	}
	if (act == ACT_DENY) {
		char dst[INET6_ADDRSTRLEN];

		ipaddr_str(&f->dst, dst, sizeof(dst));
		refusal_note_af(g, f->dst.family, "tcp",
				f->host[0] ? f->host : dst, f->dport,
				policy_rule_label(&f->dec), reason);
	}
	/* refusals are the sandbox's to trigger at will: budgeted */
	if (!audit_begin_kind(g->audit, &e, "connection",
			      act != ACT_ALLOW ? (phase == PH_OPEN ? AK_CONN_REFUSED
								   : AK_SECURITY)
					       : AK_NONE))
		return;
	flowaudit_emit(g, &e, phase, act, &fa, reason);
}

void flowaudit_peek_audited(struct gw *g, const struct flow *f,
			    const struct pf_decision *d, const char *name,
			    const char *reason)
{
	struct flow_audit fa = {
		.proto = "tcp", .dec = d, .src = &f->src, .dst = &f->dst,
		.sport = f->sport, .dport = f->dport, .host = name,
		.up = &f->up_addr, .t_start = f->t_start,
	};
	struct audit_ev e;

	audited_open(g, &fa);
	audit_begin_kind(g->audit, &e, "connection", AK_NONE);
	audit_str(&e, "phase", "peek");
	audit_str(&e, "action", act_name(ACT_DENY));
	flowaudit_tuple(&e, g, &fa);
	audit_str(&e, "reason", reason);
	audit_bool(&e, "enforced", 0);
	audit_emit(g->audit, &e);
}

void flowaudit_udp_refused(struct gw *g, const struct ipaddr *src,
			   const struct ipaddr *dst, uint16_t dport,
			   const struct pf_decision *d, const char *reason)
{
	struct audit_ev e;
	char s[INET6_ADDRSTRLEN], dstr[INET6_ADDRSTRLEN];

	g->st.udp[ACT_DENY]++;
	ipaddr_str(dst, dstr, sizeof(dstr));
	refusal_note(g, "udp", dstr, dport, policy_rule_label(d), reason);
	/* one line per datagram would let the sandbox fill the disk: the
	 * writer's budget (per sandbox: one cannot silence another's log) */
	if (!audit_begin_kind(g->audit, &e, "connection", AK_UDP_REFUSED))
		return;
	ipaddr_str(src, s, sizeof(s));
	audit_str(&e, "action", act_name(ACT_DENY));
	audit_str(&e, "profile", g->profile_name);
	audit_str(&e, "rule", policy_rule_label(d));
	audit_str(&e, "proto", "udp");
	audit_str(&e, "src", s);
	audit_str(&e, "dst_ip", dstr);
	audit_int(&e, "dst_port", dport);
	audit_str(&e, "reason", reason);
	audit_emit(g->audit, &e);
}
