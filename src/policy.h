/* SPDX-License-Identifier: MIT */
/*
 * policy.h - connection decisions against a loaded profile (DESIGN.md 4).
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

struct pf_decision {
	enum pf_action action;
	const struct pf_rule *rule;  /* NULL = profile default */
	enum pf_match match;         /* added */
};

/**
 * policy_decide() - First matching rule in (priority, file) order, or default
 * @p: Profile (NULL: deny everything)
 * @q: Query (NULL: deny)
 * @d: Decision
 *
 * A rule matches when its protocol is q->proto, its ports contain q->port,
 * and: its host_pattern (a name) matches q->host; or its host_pattern (an IP
 * literal) equals q->addr while q->host is NULL; or one of its cidrs contains
 * q->addr.  A name pattern never matches a query without a host.  No match:
 * allow iff default_action is allow and internet_enabled.
 */
void policy_decide(const struct profile *p, const struct pf_query *q,
		   struct pf_decision *d);

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
 * @addr:   4 or 16 bytes; an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 *          is also checked against IPv4 CIDRs
 * Return: 1 if inside, else 0
 */
int policy_cidr_match(const struct pf_cidr *c, int family, const uint8_t *addr);

/**
 * policy_addr_is_private() - Non-public destinations the default must not reach
 * @family: AF_INET or AF_INET6
 * @addr:   4 or 16 bytes
 * Return: 1 for loopback, private, link-local, CGNAT, benchmarking,
 *         multicast, reserved and unspecified addresses (v4-mapped,
 *         NAT64 64:ff9b::/96 and 6to4 2002::/16 are checked as their
 *         embedded IPv4 address), else 0; 1 for unknown families or NULL
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

/* policy_rule_label() - The deciding rule's name, or "default". */
const char *policy_rule_label(const struct pf_decision *d);

#endif
