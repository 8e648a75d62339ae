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
 * log).
 *
 * The summary counts attempts: a client given a name's IPv4 and IPv6
 * addresses tries both, and both are refused at once, so a refusal in the
 * other family of the same (what, host, port, rule, reason) within
 * REFUSAL_PAIR_MS of a counted one is the same attempt and is not counted
 * again (the audit log still has both connections).  What `enforcement:
 * audit` let through is counted the same way, in a table of its own, and
 * summarised under its own heading.
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
#define REFUSAL_PAIR_MS 2000

struct refusal {
	char what[16], host[128], rule[64], reason[96];
	uint16_t port;
	unsigned long n;
	int family;             /* of the last one counted (0: not known) */
	int paired;             /* its other family was seen */
	uint64_t at;            /* when it was counted */
};

struct refusal_set {
	struct refusal r[REFUSALS_KEPT];
	struct refusal past;    /* the last one the table had no room for */
	unsigned nr;
	unsigned long total;
};

struct refusals {
	struct refusal_set enforced, audited;
	struct ratelimit said;
};

static int same_key(const struct refusal *e, const struct refusal *k)
{
	return e->port == k->port && !strcmp(e->host, k->host) &&
	       !strcmp(e->what, k->what) && !strcmp(e->rule, k->rule) &&
	       !strcmp(e->reason, k->reason);
}

/* @k's entry in the table, a new one, or (the table full) the scratch
 * entry for the latest one beyond it, never listed. */
static struct refusal *refusal_slot(struct refusal_set *rs,
				    const struct refusal *k)
{
	unsigned i;

	for (i = 0; i < rs->nr; i++)
		if (same_key(&rs->r[i], k))
			return &rs->r[i];
	if (rs->nr == REFUSALS_KEPT) {
		if (!same_key(&rs->past, k)) {
			rs->past = *k;
			rs->past.family = 0;
		}
		return &rs->past;
	}
	rs->r[rs->nr] = *k;
	rs->r[rs->nr].n = 0;
	return &rs->r[rs->nr++];
}

/* Is this refusal (of @family, at @now) the other family of the attempt
 * @e counted last?  Then it is marked and not counted again. */
static int same_attempt(struct refusal *e, int family, uint64_t now)
{
	if (!e || !family || !e->family || family == e->family || e->paired ||
	    now - e->at >= REFUSAL_PAIR_MS)
		return 0;
	e->paired = 1;
	return 1;
}

static void note(struct gw *g, int family, const char *what,
		 const char *host, uint16_t port, const char *rule,
		 const char *reason, int audited)
{
	struct refusal k = { .port = port };
	struct refusal_set *rs;
	struct refusal *e;
	uint64_t now = now_ms();

	if (!g->refusals && !(g->refusals = calloc(1, sizeof(*g->refusals))))
		return;
	log_escape(what, strlen(what), k.what, sizeof(k.what));
	log_escape(host, strlen(host), k.host, sizeof(k.host));
	log_escape(rule, strlen(rule), k.rule, sizeof(k.rule));
	log_escape(reason ? reason : "refused", strlen(reason ? reason : "refused"),
		   k.reason, sizeof(k.reason));
	rs = audited ? &g->refusals->audited : &g->refusals->enforced;
	e = refusal_slot(rs, &k);
	if (!same_attempt(e, family, now)) {
		rs->total++;
		if (e) {
			e->n++;
			e->family = family;
			e->paired = 0;
			e->at = now;
		}
	}
	if (log_verbosity >= LOG_INFO &&
	    ratelimit_ok(&g->refusals->said, now, REFUSALS_PER_SEC))
		info("%s: %s %s:%u: %s (rule %s)",
		     audited ? "would refuse (audit, let through)" : "refused",
		     k.what, k.host, port, k.reason, k.rule);
}

void refusal_note(struct gw *g, const char *what, const char *host,
		  uint16_t port, const char *rule, const char *reason)
{
	note(g, 0, what, host, port, rule, reason, 0);
}

void refusal_note_af(struct gw *g, int family, const char *what,
		     const char *host, uint16_t port, const char *rule,
		     const char *reason)
{
	note(g, family, what, host, port, rule, reason, 0);
}

void refusal_note_audited(struct gw *g, const char *what, const char *host,
			  uint16_t port, const char *rule, const char *reason)
{
	note(g, 0, what, host, port, rule, reason, 1);
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
