/* SPDX-License-Identifier: MIT */
/*
 * refusals.h - what a sandbox was refused, for the person running it: each
 * refusal said as it happens under -v, and a summary on stderr when the
 * gateway exits (unless -q).  The audit log has every one in full; this is
 * so that a refusal never looks like an outage.
 */
#ifndef ISLO_REFUSALS_H
#define ISLO_REFUSALS_H

#include <stdint.h>

struct gw;

/**
 * refusal_note() - The sandbox was refused something
 * @g:      Sandbox
 * @what:   "tcp", "udp" or an HTTP method
 * @host:   The name, or the address as text (sandbox-controlled: escaped
 *          here)
 * @port:   The port
 * @rule:   The deciding rule's name ("default": none)
 * @reason: Why
 */
void refusal_note(struct gw *g, const char *what, const char *host,
		  uint16_t port, const char *rule, const char *reason);
/* The same, for a connection in @family (AF_INET or AF_INET6): its
 * refusal in the other family right after is the same attempt, counted
 * once in the summary. */
void refusal_note_af(struct gw *g, int family, const char *what,
		     const char *host, uint16_t port, const char *rule,
		     const char *reason);

/* refusal_note_audited() - As refusal_note(), for what the profile refuses
 * but lets through (`enforcement: audit`): listed apart in the summary. */
void refusal_note_audited(struct gw *g, const char *what, const char *host,
			  uint16_t port, const char *rule, const char *reason);

/* refusal_summary() - The refusals so far, on stderr (nothing under -q or
 * when there were none). */
void refusal_summary(const struct gw *g);

/* refusals_free() - The sandbox goes. */
void refusals_free(struct gw *g);

#endif
