// SPDX-License-Identifier: MIT
/*
 * refusals.c - what a sandbox was refused, told to the person running it.
 *
 * Each distinct refusal (what, host, port, rule, reason) is counted in a
 * small table taken on the first one, REFUSALS_KEPT entries at most; past
 * that only the total grows, and the summary says how many more there
 * were.  So a sandbox refusing itself in a loop costs a fixed few KiB.
 * Under -v each refusal is also a line as it happens, at most
 * REFUSALS_PER_SEC a second (the rest are in the summary and the audit
 * log).  What `enforcement: audit` let through is counted the same way,
 * in a table of its own, and summarised under its own heading.
 */
#include "gw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ratelimit.h"
#include "refusals.h"

#define REFUSALS_KEPT 32
#define REFUSALS_SHOWN 8
#define REFUSALS_PER_SEC 20

struct refusal {
	char what[16], host[128], rule[64], reason[96];
	uint16_t port;
	unsigned long n;
};

struct refusal_set {
	struct refusal r[REFUSALS_KEPT];
	unsigned nr;
	unsigned long total;
};

struct refusals {
	struct refusal_set enforced, audited;
	struct ratelimit said;
};

static struct refusal *refusal_slot(struct refusal_set *rs, const struct refusal *k)
{
	unsigned i;

	for (i = 0; i < rs->nr; i++) {
		const struct refusal *e = &rs->r[i];

		if (e->port == k->port && !strcmp(e->host, k->host) &&
		    !strcmp(e->what, k->what) && !strcmp(e->rule, k->rule) &&
		    !strcmp(e->reason, k->reason))
			return &rs->r[i];
	}
	if (rs->nr == REFUSALS_KEPT)
		return NULL;
	rs->r[rs->nr] = *k;
	rs->r[rs->nr].n = 0;
	return &rs->r[rs->nr++];
}

static void note(struct gw *g, const char *what, const char *host,
		 uint16_t port, const char *rule, const char *reason,
		 int audited)
{
	struct refusal k = { .port = port };
	struct refusal_set *rs;
	struct refusal *e;

	if (!g->refusals && !(g->refusals = calloc(1, sizeof(*g->refusals))))
		return;
	log_escape(what, strlen(what), k.what, sizeof(k.what));
	log_escape(host, strlen(host), k.host, sizeof(k.host));
	log_escape(rule, strlen(rule), k.rule, sizeof(k.rule));
	log_escape(reason ? reason : "refused", strlen(reason ? reason : "refused"),
		   k.reason, sizeof(k.reason));
	rs = audited ? &g->refusals->audited : &g->refusals->enforced;
	rs->total++;
	e = refusal_slot(rs, &k);
	if (e)
		e->n++;
	if (log_verbosity >= LOG_INFO &&
	    ratelimit_ok(&g->refusals->said, now_ms(), REFUSALS_PER_SEC))
		info("%s: %s %s:%u: %s (rule %s)",
		     audited ? "would refuse (audit, let through)" : "refused",
		     k.what, k.host, port, k.reason, k.rule);
}

void refusal_note(struct gw *g, const char *what, const char *host,
		  uint16_t port, const char *rule, const char *reason)
{
	note(g, what, host, port, rule, reason, 0);
}

void refusal_note_audited(struct gw *g, const char *what, const char *host,
			  uint16_t port, const char *rule, const char *reason)
{
	note(g, what, host, port, rule, reason, 1);
}

static void summary(const struct gw *g, const struct refusal_set *rs,
		    int audited)
{
	unsigned long shown = 0;
	unsigned i;

	if (!rs->total)
		return;
	if (audited)
		fprintf(stderr, "islo-net: profile '%s' would have refused %lu %s "
			"(enforcement: audit, let through):\n",
			g->profile_name ? g->profile_name : "", rs->total,
			rs->total == 1 ? "connection or request" :
					 "connections or requests");
	else
		fprintf(stderr, "islo-net: profile '%s' refused %lu %s:\n",
			g->profile_name ? g->profile_name : "", rs->total,
			rs->total == 1 ? "connection or request" :
					 "connections or requests");
	for (i = 0; i < rs->nr && i < REFUSALS_SHOWN; i++) {
		const struct refusal *e = &rs->r[i];

		fprintf(stderr, "  %s %s:%u  %s (rule %s)%s", e->what, e->host,
			e->port, e->reason, e->rule, e->n > 1 ? "" : "\n");
		if (e->n > 1)
			fprintf(stderr, "  x%lu\n", e->n);
		shown += e->n;
	}
	if (rs->total > shown)
		fprintf(stderr, "  and %lu more (the audit log has each one; "
			"-v says each as it happens)\n", rs->total - shown);
}

void refusal_summary(const struct gw *g)
{
	const struct refusals *rs = g->refusals;

	if (!rs || log_verbosity < LOG_WARN)
		return;
	summary(g, &rs->enforced, 0);
	summary(g, &rs->audited, 1);
}

void refusals_free(struct gw *g)
{
	free(g->refusals);
	g->refusals = NULL;
}
