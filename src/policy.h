/* SPDX-License-Identifier: MIT */
/*
 * policy.h - connection decisions against a profile (docs/PROFILES.md).
 *
 * Pure functions over an immutable struct profile: no I/O, no allocation,
 * so the data path can call them per connection and the fuzzers can too.
 */
#ifndef ISLO_POLICY_H
#define ISLO_POLICY_H

#include <stdint.h>

#include "profile.h"

struct pf_query {
	const char *host;      /* the name the connection is for (lowercase, no trailing dot), or NULL when the sandbox used an IP literal */
	int family;            /* AF_INET / AF_INET6 / 0 when no address known yet */
	const uint8_t *addr;   /* destination IP literal (4 or 16 bytes) or NULL */
	uint16_t port;
	int proto;             /* PF_TCP / PF_UDP */
};

/* How the deciding rule matched (added: lets callers apply allow_private). */
enum pf_match {
	PF_MATCH_DEFAULT = 0,  /* no rule: the profile default */
	PF_MATCH_HOST,         /* host_pattern name matched q->host */
	PF_MATCH_IP,           /* host_pattern IP literal equal to q->addr */
	PF_MATCH_CIDR,         /* one of the rule's cidrs contains q->addr */
};

/**
 * struct pf_decision - what policy_decide() or policy_decide_request() found
 * @action:      PF_ALLOW or PF_DENY
 * @rule:        The deciding rule, NULL for the profile default.  For a
 *               connection that some rule allows only some requests on,
 *               the first allow rule among its candidates (whose route,
 *               TLS name and allow_private the connection takes)
 * @match:       How @rule matched the connection
 * @per_request: policy_decide() only: a rule with `methods` or
 *               `path_pattern` is among the candidates, so each HTTP
 *               request must be decided on its own (the connection is
 *               intercepted)
 * @audit:       The profile refuses this, and the refusal's enforcement
 *               is `audit` (policy_enforcement()): @action is PF_ALLOW,
 *               @rule NULL (no route, credential or interception of a
 *               rule), and the caller logs it as a refusal not enforced.
 *               Also set by a caller that lets through what a rule limits
 *               (a rate) under audit.
 * @refused_by:  With @audit: the rule that refuses (NULL: the default);
 *               policy_rule_label() names it
 * @why:         With @audit: the reason the refusal would have given
 * @audit_private: With @audit: this audited connection may reach a
 *               private address: the refusing rule has `allow_private:
 *               true`, or `islo-net learn --allow-private` said so
 */
struct pf_decision {
	enum pf_action action;
	const struct pf_rule *rule;
	enum pf_match match;
	int per_request;
	int audit;
	const struct pf_rule *refused_by;
	const char *why;
	int audit_private;
};

/**
 * policy_decide() - Admit or refuse a connection
 * @p: Profile (NULL: deny everything)
 * @q: Query (NULL: deny)
 * @d: Decision
 *
 * A rule is a candidate for the connection when its protocol is q->proto,
 * its ports contain q->port, and: its host_pattern (a name) matches
 * q->host; or its host_pattern (an IP literal) is q->addr while q->host is
 * NULL; or one of its cidrs contains q->addr (addresses that embed an IPv4
 * address are matched by it, see policy_embedded_v4()).  A name pattern
 * never matches a query without a host.
 *
 * Candidates are read in (priority, file) order up to the first one
 * without `methods` and `path_pattern`, which would decide every request
 * (after it, the profile default).  The connection is allowed when one of
 * them (or the default) allows: refused outright only when none could
 * allow any request.  If a candidate with `methods` or `path_pattern` was
 * read, @d->per_request is set: each request is then decided by
 * policy_decide_request().
 */
void policy_decide(const struct profile *p, const struct pf_query *q,
		   struct pf_decision *d);

/**
 * policy_decide_request() - Decide one HTTP request of a connection
 * @p:      Profile (NULL: deny)
 * @q:      The connection's query, as given to policy_decide()
 * @method: Request method
 * @path:   Request path (no query string)
 * @d:      Decision: the first candidate rule (as for policy_decide())
 *          whose `methods` contain @method and one of whose
 *          `path_pattern`s matches @path; none: the profile default.
 *          @d->per_request is 0.
 *
 * A path not in normal form (http_path_normal()) matches no allow rule's
 * path_pattern and every deny rule's: what the upstream would make of it
 * is unknown, so it can only be refused by path.
 */
void policy_decide_request(const struct profile *p, const struct pf_query *q,
			   const char *method, const char *path,
			   struct pf_decision *d);

/**
 * policy_embedded_v4() - The IPv4 address an address stands for
 * @family: AF_INET or AF_INET6
 * @addr:   4 or 16 bytes
 * @v4:     Output: the IPv4 address
 *
 * One address, one decision: an IPv6 address that carries an IPv4 address
 * reaches (through the host's or the network's translator) the same
 * machine, so it is decided as that IPv4 address.  The forms:
 * IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96 (but :: and ::1),
 * NAT64 64:ff9b::/96 and 64:ff9b:1::/48 (RFC 6052's layout for /48: the
 * IPv4 address in bytes 6, 7, 9 and 10) and 6to4 2002::/16 (bytes 2-5).
 *
 * Return: 1 if @v4 was set (always for AF_INET), 0 if @addr is a plain
 *         IPv6 address (or NULL, or of an unknown family)
 */
int policy_embedded_v4(int family, const uint8_t *addr, uint8_t v4[4]);

/**
 * policy_host_match() - Match a host name against a host_pattern
 * @pattern: "a.b" (exact) or "*.b" (any name strictly under b)
 * @host:    Name; case-insensitive, a trailing dot is tolerated
 * Return: 1 on match, else 0 (also for NULL or empty arguments)
 */
int policy_host_match(const char *pattern, const char *host);

/**
 * policy_cidr_match() - Whether @addr is inside @c
 * @c:      CIDR (host bits in c->addr are ignored)
 * @family: AF_INET or AF_INET6
 * @addr:   4 or 16 bytes; an IPv6 address carrying an IPv4 address
 *          (policy_embedded_v4()) is also checked against IPv4 CIDRs, and
 *          an IPv4 address against IPv6 CIDRs as ::ffff:a.b.c.d
 * Return: 1 if inside, else 0
 */
int policy_cidr_match(const struct pf_cidr *c, int family, const uint8_t *addr);

/**
 * policy_addr_is_private() - Non-public destinations the default must not reach
 * @family: AF_INET or AF_INET6
 * @addr:   4 or 16 bytes
 * Return: 1 for loopback, private, link-local, CGNAT, benchmarking,
 *         multicast, reserved and unspecified addresses (an address
 *         that carries an IPv4 address, policy_embedded_v4(), is checked
 *         as that address), else 0; 1 for unknown families or NULL
 */
int policy_addr_is_private(int family, const uint8_t *addr);

/**
 * policy_private_blocked() - Should an allow be refused for a private address?
 * @d:      Decision from policy_decide()
 * @family: Address family actually being connected to
 * @addr:   Address actually being connected to (after DNS)
 *
 * Added helper: an allow that came from the profile default or from a
 * host-name rule without `allow_private: true` must not reach a private
 * address (DNS rebinding, cloud metadata, the host's LAN).  A rule that
 * names the address itself (IP literal or cidr) is taken as intended.
 * Return: 1 if the connection must be refused, else 0
 */
int policy_private_blocked(const struct pf_decision *d, int family,
			   const uint8_t *addr);

/**
 * policy_enforcement() - Is a refusal enforced, or only audited?
 * @p:        Profile
 * @deciding: The rule that refuses, or NULL for the profile default
 * @cand:     With @deciding NULL: the first rule the connection matched
 *            that sets `enforcement:` itself (a request outside an allow
 *            rule's path_pattern is that rule's to audit), or NULL
 * Return: PF_ENF_AUDIT or PF_ENF_ENFORCE: the refusing rule's own
 *         `enforcement:`, else @cand's, else the profile's
 */
int policy_enforcement(const struct profile *p, const struct pf_rule *deciding,
		       const struct pf_rule *cand);

/**
 * policy_name_dns() - What the DNS server says of a name (its audit line)
 * @p:       Profile
 * @name:    Name asked for
 * @audited: Set to 1 when a connection to it would be refused but the
 *           refusal is audited only, else 0
 * Return: 1 if a TCP connection to @name could be allowed on some port
 *         (the first rule whose host pattern matches decides: a deny rule
 *         with methods or path_pattern refuses some requests only; else
 *         the default), or is audited; else 0
 */
int policy_name_dns(const struct profile *p, const char *name, int *audited);

/* policy_rule_label() - The deciding rule's name, or "default" (with
 * @d->audit: the rule that would have refused). */
const char *policy_rule_label(const struct pf_decision *d);

#endif
