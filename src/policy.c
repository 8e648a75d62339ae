// SPDX-License-Identifier: MIT
/*
 * policy.c - decide allow/deny for a connection against a profile.
 *
 * The profile's rules are already sorted by (priority, file position)
 * (profile.c).  A connection is admitted on its candidates (policy_decide():
 * read up to the first rule that covers every request), each HTTP request
 * on it decided by the first rule that matches it all (host, port,
 * methods, path: policy_decide_request()).  Linear scans, no allocation.
 * Profiles are small; if they stop being small, an index by port and host
 * suffix goes here without changing the API.
 */
#include "policy.h"

#include "http1.h"

#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static const uint8_t nat64_prefix[12] = {
	0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0,
};

int policy_embedded_v4(int family, const uint8_t *a, uint8_t v4[4])
{
	static const uint8_t zero[12];

	if (!a)
		return 0;
	if (family == AF_INET) {
		memcpy(v4, a, 4);
		return 1;
	}
	if (family != AF_INET6)
		return 0;
	if (!memcmp(a, v4mapped_prefix, 12) || !memcmp(a, nat64_prefix, 12)) {
		memcpy(v4, a + 12, 4);
		return 1;
	}
	if (!memcmp(a, zero, 12)) {
		/* IPv4-compatible, but :: and ::1 are IPv6's own */
		if (!a[12] && !a[13] && !a[14] && a[15] <= 1)
			return 0;
		memcpy(v4, a + 12, 4);
		return 1;
	}
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b &&
	    a[4] == 0x00 && a[5] == 0x01) {
		/* 64:ff9b:1::/48, RFC 6052 2.2: bits 64-71 (byte 8) are zero */
		v4[0] = a[6];
		v4[1] = a[7];
		v4[2] = a[9];
		v4[3] = a[10];
		return 1;
	}
	if (a[0] == 0x20 && a[1] == 0x02) {             /* 2002::/16 6to4 */
		memcpy(v4, a + 2, 4);
		return 1;
	}
	return 0;
}

int policy_host_match(const char *pattern, const char *host)
{
	size_t plen, hlen;

	if (!pattern || !host)
		return 0;
	plen = strlen(pattern);
	hlen = strlen(host);
	if (plen && pattern[plen - 1] == '.')
		plen--;
	if (hlen && host[hlen - 1] == '.')
		hlen--;
	if (!plen || !hlen)
		return 0;
	if (pattern[0] == '*') {
		/* "*.b": suffix ".b", with at least one byte before it. */
		if (plen < 3 || pattern[1] != '.')
			return 0;
		if (hlen <= plen - 1)
			return 0;
		return !strncasecmp(host + hlen - (plen - 1), pattern + 1, plen - 1);
	}
	return hlen == plen && !strncasecmp(host, pattern, plen);
}

/* Compare the first @bits bits of @a and @b. */
static int prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int bytes = bits / 8, rem = bits % 8;
	uint8_t mask;

	if (bytes && memcmp(a, b, (size_t)bytes))
		return 0;
	if (!rem)
		return 1;
	mask = (uint8_t)(0xff << (8 - rem));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

int policy_cidr_match(const struct pf_cidr *c, int family, const uint8_t *addr)
{
	uint8_t v4[4], mapped[16];

	if (!c || !addr)
		return 0;
	if (c->family == AF_INET) {
		if (c->prefix < 0 || c->prefix > 32)
			return 0;
		return policy_embedded_v4(family, addr, v4) &&
		       prefix_eq(c->addr, v4, c->prefix);
	}
	if (c->family != AF_INET6 || c->prefix < 0 || c->prefix > 128)
		return 0;
	if (family == AF_INET6)
		return prefix_eq(c->addr, addr, c->prefix);
	if (family != AF_INET)
		return 0;
	memcpy(mapped, v4mapped_prefix, 12);
	memcpy(mapped + 12, addr, 4);
	return prefix_eq(c->addr, mapped, c->prefix);
}

static int v4_is_private(const uint8_t *a)
{
	return a[0] == 0 ||                                     /* 0/8 */
	       a[0] == 10 ||                                    /* 10/8 */
	       (a[0] == 100 && (a[1] & 0xc0) == 64) ||          /* 100.64/10 */
	       a[0] == 127 ||                                   /* 127/8 */
	       (a[0] == 169 && a[1] == 254) ||                  /* 169.254/16 */
	       (a[0] == 172 && (a[1] & 0xf0) == 16) ||          /* 172.16/12 */
	       (a[0] == 192 && a[1] == 0 && a[2] == 0) ||       /* 192.0.0/24 */
	       (a[0] == 192 && a[1] == 168) ||                  /* 192.168/16 */
	       (a[0] == 198 && (a[1] & 0xfe) == 18) ||          /* 198.18/15 */
	       a[0] >= 224;                        /* multicast, reserved, broadcast */
}

int policy_addr_is_private(int family, const uint8_t *a)
{
	static const uint8_t zero[12];
	uint8_t v4[4];

	if (!a)
		return 1;
	if (policy_embedded_v4(family, a, v4))
		return v4_is_private(v4);
	if (family != AF_INET6)
		return 1;
	return !memcmp(a, zero, 12) ||     /* :: and ::1 */
	       (a[0] & 0xfe) == 0xfc ||                  /* fc00::/7 ULA */
	       (a[0] == 0xfe && (a[1] & 0x80)) ||        /* fe80::/10, fec0::/10 */
	       a[0] == 0xff;                             /* ff00::/8 */
}

/* Whether @r's host_pattern IP literal is the query's address (an
 * address carrying an IPv4 address is that address, on either side). */
static int ip_literal_match(const struct pf_rule *r, const struct pf_query *q)
{
	uint8_t a[4], b[4];
	int ea = policy_embedded_v4(r->host_family, r->host_addr, a);
	int eb = policy_embedded_v4(q->family, q->addr, b);

	if (ea || eb)
		return ea && eb && !memcmp(a, b, 4);
	return r->host_family == q->family &&
	       !memcmp(r->host_addr, q->addr, q->family == AF_INET ? 4 : 16);
}

static int ports_contain(const struct pf_rule *r, uint16_t port)
{
	size_t i;

	for (i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return 1;
	return 0;
}

/**
 * rule_match() - Whether one rule applies to a query
 * @r: Rule
 * @q: Query
 * Return: how it matched, PF_MATCH_DEFAULT (0) if it does not
 */
static enum pf_match rule_match(const struct pf_rule *r, const struct pf_query *q)
{
	int have_addr = q->addr &&
			(q->family == AF_INET || q->family == AF_INET6);
	size_t i;

	if (r->protocol != q->proto || !ports_contain(r, q->port))
		return PF_MATCH_DEFAULT;
	if (r->host_pattern) {
		if (r->host_family) {
			if (!q->host && have_addr && ip_literal_match(r, q))
				return PF_MATCH_IP;
		} else if (q->host && policy_host_match(r->host_pattern, q->host)) {
			return PF_MATCH_HOST;
		}
	}
	if (have_addr)
		for (i = 0; i < r->ncidrs; i++)
			if (policy_cidr_match(&r->cidrs[i], q->family, q->addr))
				return PF_MATCH_CIDR;
	return PF_MATCH_DEFAULT;
}

/* Does the rule cover only some HTTP requests? */
static int conditional(const struct pf_rule *r)
{
	return r->nmethods || r->npath_patterns;
}

/* decide_begin() - Start a decision at "deny, no rule"; 0: nothing to decide */
static int decide_begin(const struct profile *p, const struct pf_query *q,
			struct pf_decision *d)
{
	if (!d)
		return 0;
	d->action = PF_DENY;
	d->rule = NULL;
	d->match = PF_MATCH_DEFAULT;
	d->per_request = 0;
	d->audit = 0;
	d->refused_by = NULL;
	d->why = NULL;
	d->audit_private = 0;
	return p && q;
}

int policy_enforcement(const struct profile *p, const struct pf_rule *deciding,
		       const struct pf_rule *cand)
{
	const struct pf_rule *r = deciding ? deciding : cand;

	if (r && r->enforcement != PF_ENF_INHERIT)
		return r->enforcement;
	return p && p->enforcement == PF_ENF_AUDIT ? PF_ENF_AUDIT : PF_ENF_ENFORCE;
}

/*
 * audit_refusal() - A refusal the profile only audits becomes an allow
 * that knows it is one: no rule (so no route, credential or
 * interception of the refusing rule), the caller logs it.
 */
static void audit_refusal(const struct profile *p, struct pf_decision *d,
			  const struct pf_rule *cand)
{
	if (d->action != PF_DENY ||
	    policy_enforcement(p, d->rule, cand) != PF_ENF_AUDIT)
		return;
	d->audit = 1;
	d->refused_by = d->rule;
	d->why = d->rule ? "denied by rule" : "no rule allows it";
	/* the boundary stays: a private address only for learn's
	 * --allow-private, or when the refusing rule itself says so */
	d->audit_private = p->audit_private ||
			   (d->rule && d->rule->allow_private);
	d->action = PF_ALLOW;
	d->rule = NULL;
	d->match = PF_MATCH_DEFAULT;
	/* what the refusing rule would have read of each request goes
	 * with it; learn's --intercept reads them all */
	d->per_request = p->audit_intercept;
}

static void decide_set(struct pf_decision *d, enum pf_action action,
		       const struct pf_rule *r, enum pf_match m)
{
	d->action = action;
	d->rule = r;
	d->match = m;
}

/* The next rule from @*i on that @q matches, and how; NULL after the last. */
static const struct pf_rule *next_match(const struct profile *p,
					const struct pf_query *q, size_t *i,
					enum pf_match *m)
{
	while (*i < p->nrules) {
		const struct pf_rule *r = &p->rules[(*i)++];

		*m = rule_match(r, q);
		if (*m != PF_MATCH_DEFAULT)
			return r;
	}
	return NULL;
}

static int default_allows(const struct profile *p)
{
	return p->default_action == PF_ALLOW && p->internet_enabled;
}

void policy_decide(const struct profile *p, const struct pf_query *q,
		   struct pf_decision *d)
{
	const struct pf_rule *r, *allow = NULL, *cand = NULL;
	enum pf_match m, allow_m = PF_MATCH_DEFAULT;
	size_t i = 0;

	if (!decide_begin(p, q, d))
		return;
	while ((r = next_match(p, q, &i, &m))) {
		if (!cand && r->enforcement != PF_ENF_INHERIT)
			cand = r;
		if (r->action == PF_ALLOW && !allow) {
			allow = r;
			allow_m = m;
		}
		if (conditional(r)) {
			/* decides some requests only: read on */
			d->per_request = 1;
			continue;
		}
		if (allow)
			decide_set(d, PF_ALLOW, allow, allow_m);
		else    /* the deny rule that refuses everything */
			decide_set(d, PF_DENY, r, m);
		audit_refusal(p, d, cand);
		return;
	}
	if (allow || default_allows(p))
		decide_set(d, PF_ALLOW, allow, allow_m);
	audit_refusal(p, d, cand);
}

static int method_in(const struct pf_rule *r, const char *m)
{
	size_t i;

	if (!r->nmethods)
		return 1;
	for (i = 0; m && i < r->nmethods; i++)
		if (!strcmp(r->methods[i], m))
			return 1;
	return 0;
}

static int path_in(const struct pf_rule *r, const char *path, int normal)
{
	size_t i;

	if (!r->npath_patterns)
		return 1;
	if (!normal)
		return r->action == PF_DENY;    /* fail closed, both ways */
	for (i = 0; i < r->npath_patterns; i++)
		if (http_path_match(r->path_patterns[i], path))
			return 1;
	return 0;
}

/*
 * request_audit() - audit_refusal() for a request; but a path not in
 * normal form stays refused: what the upstream makes of it is unknown
 * (malformed input is never audited through).
 */
static void request_audit(const struct profile *p, struct pf_decision *d,
			  const struct pf_rule *cand, int normal)
{
	audit_refusal(p, d, cand);
	d->per_request = 0;     /* a request's decision has none */
	if (!d->audit || normal)
		return;
	d->audit = 0;
	d->action = PF_DENY;
	d->rule = d->refused_by;
	d->refused_by = NULL;
	d->why = NULL;
}

void policy_decide_request(const struct profile *p, const struct pf_query *q,
			   const char *method, const char *path,
			   struct pf_decision *d)
{
	int normal = path && http_path_normal(path) == 0;
	const struct pf_rule *r, *cand = NULL;
	enum pf_match m;
	size_t i = 0;

	if (!decide_begin(p, q, d))
		return;
	while ((r = next_match(p, q, &i, &m))) {
		if (!cand && r->enforcement != PF_ENF_INHERIT)
			cand = r;
		if (!method_in(r, method) || !path_in(r, path, normal))
			continue;
		decide_set(d, r->action, r, m);
		request_audit(p, d, cand, normal);
		return;
	}
	if (default_allows(p))
		d->action = PF_ALLOW;
	request_audit(p, d, cand, normal);
}

int policy_name_dns(const struct profile *p, const char *name, int *audited)
{
	const struct pf_rule *cand = NULL;
	size_t i;

	*audited = 0;
	if (!p)
		return 0;
	for (i = 0; i < p->nrules; i++) {
		const struct pf_rule *r = &p->rules[i];

		if (r->protocol != PF_TCP || !r->host_pattern ||
		    !policy_host_match(r->host_pattern, name))
			continue;
		if (!cand && r->enforcement != PF_ENF_INHERIT)
			cand = r;
		if (r->action == PF_DENY && (r->nmethods || r->npath_patterns))
			continue;
		if (r->action == PF_ALLOW)
			return 1;
		*audited = policy_enforcement(p, r, NULL) == PF_ENF_AUDIT;
		return *audited;
	}
	if (default_allows(p))
		return 1;
	*audited = policy_enforcement(p, NULL, cand) == PF_ENF_AUDIT;
	return *audited;
}

int policy_private_blocked(const struct pf_decision *d, int family,
			   const uint8_t *addr)
{
	if (!d || d->action != PF_ALLOW)
		return 0;
	if (!policy_addr_is_private(family, addr))
		return 0;
	if (d->audit)   /* the boundary stays, unless learn was told */
		return !d->audit_private;
	if (d->rule && (d->rule->allow_private || d->match == PF_MATCH_IP ||
			d->match == PF_MATCH_CIDR))
		return 0;
	return 1;
}

const char *policy_rule_label(const struct pf_decision *d)
{
	if (d && d->audit)
		return d->refused_by && d->refused_by->name ?
			       d->refused_by->name : "default";
	if (d && d->rule && d->rule->name)
		return d->rule->name;
	return "default";
}
