// SPDX-License-Identifier: MIT
/*
 * cli_check.c - `islo-net check` (validate a profile, show what each rule
 * does) and `islo-net resolve` (which profile applies); see cli.h.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "policy.h"
#include "profile.h"

/* A profile's string, escaped for the terminal. */
static const char *esc_str(const char *v, char *buf, size_t size)
{
	log_escape(v, strlen(v), buf, size);
	return buf;
}

static void print_list(const char *what, char *const *v, size_t n)
{
	char e[1024];
	size_t i;

	if (!n)
		return;
	printf("      %-12s", what);
	for (i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", esc_str(v[i], e, sizeof(e)));
	printf("\n");
}

/* A rule's credential: its mode, where it goes and the names of its
 * secrets (references), never their values. */
static void print_auth(const struct pf_auth *a)
{
	static const char *const modes[] = { "?", "bearer", "basic", "header",
					     "query", "path", "aws_sigv4" };
	char e[1024];

	printf("      %-12s%s", "credential:",
	       a->mode >= 1 && a->mode < PF_AUTH_NMODES ? modes[a->mode] : "?");
	if (a->mode == PF_AUTH_HEADER && a->header_name)
		printf(" (header %s)", esc_str(a->header_name, e, sizeof(e)));
	if (a->mode == PF_AUTH_QUERY && a->param_name)
		printf(" (parameter %s)", esc_str(a->param_name, e, sizeof(e)));
	if (a->mode == PF_AUTH_BASIC && a->username)
		printf(" (user %s)", esc_str(a->username, e, sizeof(e)));
	if (a->mode == PF_AUTH_SIGV4)
		printf(" (region %s, service %s)",
		       a->region ? esc_str(a->region, e, sizeof(e)) : "from the host name",
		       a->service ? a->service : "from the host name");
	if (a->akid_ref)
		printf(", access key id %s", esc_str(a->akid_ref, e, sizeof(e)));
	printf(", secret %s", esc_str(a->secret_ref, e, sizeof(e)));
	if (a->token_ref)
		printf(", session token %s", esc_str(a->token_ref, e, sizeof(e)));
	if (a->placeholder_env)
		printf(", placeholder in $%s",
		       esc_str(a->placeholder_env, e, sizeof(e)));
	if (a->akid_placeholder_env)
		printf(", access key id placeholder in $%s",
		       esc_str(a->akid_placeholder_env, e, sizeof(e)));
	if (a->token_placeholder_env)
		printf(", session token placeholder in $%s",
		       esc_str(a->token_placeholder_env, e, sizeof(e)));
	printf("\n");
}

/* Every key that changes what a rule does, never a secret's value. */
static void print_rule(const struct pf_rule *r)
{
	static const char *const pgtls[] = { "verify-full", "require", "disable" };
	char e[1024];
	size_t i;

	printf("  %-24s %-5s prio %-6d %s", esc_str(r->name, e, sizeof(e)),
	       r->action == PF_ALLOW ? "allow" : "deny", r->priority,
	       r->protocol == PF_UDP ? "udp" : "tcp");
	if (r->host_pattern)
		printf(" host %s", esc_str(r->host_pattern, e, sizeof(e)));
	if (r->ncidrs)
		printf(" (%zu cidr)", r->ncidrs);
	printf(" ports");
	for (i = 0; i < r->nports; i++) {
		if (r->ports[i].lo == r->ports[i].hi)
			printf(" %u", r->ports[i].lo);
		else
			printf(" %u-%u", r->ports[i].lo, r->ports[i].hi);
	}
	if (r->allow_private)
		printf(" allow_private");
	if (r->enforcement != PF_ENF_INHERIT)
		printf(" enforcement %s",
		       r->enforcement == PF_ENF_AUDIT ? "audit" : "enforce");
	printf("\n");
	if (r->action == PF_ALLOW && r->protocol != PF_UDP && !r->pg)
		printf("      %-12s%s\n", "tls:", pf_rule_intercepts(r) ?
		       (r->tls_mode == PF_TLS_INTERCEPT ? "intercept" :
			"intercept (the rule scopes HTTP or injects a credential)") :
		       r->tls_mode == PF_TLS_PASSTHROUGH ? "passthrough" :
		       "passthrough (no HTTP scoping, no credential)");
	print_list("methods:", r->methods, r->nmethods);
	print_list("paths:", r->path_patterns, r->npath_patterns);
	if (r->rate_limit_rpm)
		printf("      %-12s%d requests/minute\n", "rate:", r->rate_limit_rpm);
	if (r->auth)
		print_auth(r->auth);
	if (r->route_host)
		printf("      %-12s%s:%u\n", "route:",
		       esc_str(r->route_host, e, sizeof(e)), r->route_port);
	if (r->tls_verify_name)
		printf("      %-12s%s\n", "verify as:",
		       esc_str(r->tls_verify_name, e, sizeof(e)));
	if (r->allow_plaintext)
		printf("      %-12s%s\n", "plaintext:", "credential injected into plain HTTP too");
	if (r->pg) {
		const struct pf_postgres *g = r->pg;

		printf("      %-12suser %s, password %s, %s, upstream TLS %s%s\n",
		       "postgres:", esc_str(g->user, e, sizeof(e)),
		       g->password_ref ? g->password_ref : "(none)",
		       g->read_only ? "read-only" : "read-write",
		       g->tls >= 0 && g->tls <= 2 ? pgtls[g->tls] : "?",
		       g->client_tls ? ", TLS to the sandbox" : "");
		if (g->any_database)
			printf("      %-12s*\n", "databases:");
		else
			print_list("databases:", g->databases, g->ndatabases);
	}
}

int cmd_check(int argc, char **argv)
{
	struct cli c = { 0 };
	int first = cli_parse_opts(&c, argc, argv);
	const struct profile *p;
	size_t i;

	if (first != argc - 1) {
		fprintf(stderr, "Usage: islo-net check [--profiles-dir DIR] [-q] PROFILE\n");
		return 2;
	}
	c.flag_profile = argv[first];
	/* reviewing a file before trusting it is what check is for */
	if (cli_load_profile_ex(&c, 0) <= 0) {
		cli_free(&c);
		return 1;
	}
	p = c.o.profile;
	if (log_verbosity == LOG_ERR) {     /* -q: errors only */
		cli_free(&c);
		return 0;
	}
	printf("%s: profile '%s' is valid\n", c.o.profile_path, p->name);
	printf("  default: %s\n", p->default_action == PF_ALLOW && p->internet_enabled ?
	       "allow" : "deny");
	printf("  enforcement: %s\n", p->enforcement == PF_ENF_AUDIT ?
	       "audit (refusals are logged, not enforced; the boundary stays)" :
	       "enforce");
	for (i = 0; i < p->nrules; i++)
		print_rule(&p->rules[i]);
	cli_free(&c);
	return 0;
}

int cmd_resolve(int argc, char **argv)
{
	struct cli c = { 0 };
	int first = cli_parse_opts(&c, argc, argv), r;

	if (first != argc) {
		fprintf(stderr, "Usage: islo-net resolve [--gateway-profile NAME]\n");
		return 2;
	}
	r = cli_load_profile(&c);
	if (r < 0) {
		cli_free(&c);
		return 1;
	}
	if (r == 0)
		printf("no gateway (unrestricted user-mode NAT)\n");
	else
		printf("%s %s\n", c.o.profile_name, c.o.profile_path);
	cli_free(&c);
	return 0;
}
