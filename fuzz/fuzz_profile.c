// SPDX-License-Identifier: MIT
/*
 * fuzz_profile.c - libFuzzer target: gateway profiles (YAML, strict) and
 * the policy decisions made with whatever parses.
 *
 * Besides "no crash, no leak": a rejected profile must come with an error
 * message that names the file, and an accepted one must be internally
 * consistent (rules sorted by priority, every rule with a name, ports
 * ordered, a decision for a handful of queries that points at one of its
 * own rules or the default).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decide_some(const struct profile *p)
{
	static const char *const hosts[] = { "api.example.com", "a.b.example.com",
					     "example.com", NULL };
	static const uint8_t v4[4] = { 127, 0, 0, 1 };
	static const uint8_t v6[16] = { [15] = 1 };
	static const uint16_t ports[] = { 1, 80, 443, 5432, 65535 };
	size_t h, i;

	for (h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++) {
		for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
			struct pf_query q = { .host = hosts[h], .port = ports[i],
					      .proto = i & 1 ? PF_UDP : PF_TCP };
			struct pf_decision d;

			if (!hosts[h]) {
				q.family = i & 2 ? AF_INET6 : AF_INET;
				q.addr = i & 2 ? v6 : v4;
			}
			policy_decide(p, &q, &d);
			if (d.rule && (d.rule < p->rules ||
				       d.rule >= p->rules + p->nrules))
				abort();
			/* audit mode: an allow with no rule, that names the
			 * rule that refused it (one of its own, or none) */
			if (d.audit && (d.action != PF_ALLOW || d.rule ||
					(d.refused_by &&
					 (d.refused_by < p->rules ||
					  d.refused_by >= p->rules + p->nrules))))
				abort();
			if (!policy_rule_label(&d))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[4096];
	struct profile *p;
	size_t i;

	err[0] = '\0';
	p = profile_parse((const char *)data, size, "fuzz.yaml", err, sizeof(err));
	if (!p) {
		if (!strstr(err, "fuzz.yaml"))
			abort();
		return 0;
	}
	for (i = 0; i < p->nrules; i++) {
		const struct pf_rule *r = &p->rules[i];
		size_t k;

		if (!r->name || !r->nports)
			abort();
		if (i && (r->priority < p->rules[i - 1].priority ||
			  (r->priority == p->rules[i - 1].priority &&
			   r->index < p->rules[i - 1].index)))
			abort();
		for (k = 0; k < r->nports; k++)
			if (r->ports[k].lo > r->ports[k].hi || !r->ports[k].lo)
				abort();
	}
	decide_some(p);
	profile_free(p);
	return 0;
}
