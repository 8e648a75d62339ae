// SPDX-License-Identifier: MIT
/* cli_run.c - `islo-net run`: CMD in a sandbox (see cli.h). */
#include "cli.h"
#include "nat.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"
#include "gw.h"
#include "ns.h"
#include "secretfetch.h"

/**
 * prepare_interception() - Secrets, placeholders and the CA bundle for CMD
 * @c: Command line, profile loaded
 * Return: 0, or -1 (reported) before anything has started
 */
static int prepare_interception(struct cli *c)
{
	extern char **environ;
	char err[1024];
	size_t i;

	if (cli_load_secrets(c) < 0)
		return -1;
	/* cmd: secrets with secret_ttl: their fetcher, forked now, before
	 * the sandbox's namespaces and the CA key exist (secretfetch.h) */
	if (secretfetch_start(&c->secrets, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net: %s\n", err);
		return -1;
	}
	/* secret files: hidden from CMD (confine_run() adds the rest) */
	for (i = 0; i < c->secrets.n; i++) {
		const char *ref = c->secrets.s[i].ref;

		if (!strncmp(ref, "file:", 5) && confine_hide(&c->conf, ref + 5) < 0) {
			fprintf(stderr, "islo-net: too many paths to protect\n");
			return -1;
		}
	}
	c->o.child_env = secrets_child_env(&c->secrets, c->o.profile, environ);
	if (!c->o.child_env) {
		fprintf(stderr, "islo-net: cannot build the sandbox's environment\n");
		return -1;
	}
	if (!profile_intercepts(c->o.profile))
		return 0;
	{
		char *def = c->o.ca_dir ? NULL : ca_default_dir();
		struct ca *ca = ca_open(c->o.ca_dir ? c->o.ca_dir : def, err,
					sizeof(err));
		int r;

		free(def);
		if (!ca) {
			fprintf(stderr, "islo-net: %s\n", err);
			return -1;
		}
		/* the system bundle, the user's own settings and the hashed
		 * directory, each with the islo-net CA (sandboxca.h) */
		r = sandboxca_prepare(&c->sca, ca, &c->o.child_env, err, sizeof(err));
		ca_free(ca);
		if (r < 0) {
			fprintf(stderr, "islo-net: CA bundle: %s\n", err);
			return -1;
		}
	}
	c->o.ca_bundle = c->sca.bundle;
	c->o.ca_certdir = c->sca.certdir[0] ? c->sca.certdir : NULL;
	return 0;
}

/* What CMD must not read or change (confine.h), whatever the profile. */
static int confine_run(struct cli *c)
{
	struct confine_inputs in = {
		.profiles_dir = c->profiles_dir,
		.profile_path = c->o.profile_path,
		.audit_path = c->o.audit_path,
		.ca_dir = c->o.ca_dir,
		.self_exe = ns_self_exe,
		.host_services = c->host_services,
	};
	char err[PATH_MAX + 256];

	if (confine_plan_run(&c->conf, &in, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net: %s\n", err);
		return -1;
	}
	c->o.confine = &c->conf;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct cli c = { 0 };
	int first = cli_parse_opts(&c, argc, argv), rc;

	if (first >= argc) {
		fprintf(stderr, "islo-net run: no command given\n\n");
		cli_usage(stderr, 2);
	}
	c.o.argv = argv + first;
	if (c.tap || c.tap_fd >= 0 || c.netns || c.socket_path) {
		fprintf(stderr, "islo-net run: --tap, --tap-fd, --netns and --socket "
			"belong to `islo-net tap` and `islo-net qemu`\n");
		return 2;
	}
	if (c.learn_output || c.learn_from || c.learn_intercept ||
	    c.learn_allow_private) {
		fprintf(stderr, "islo-net run: --output, --from, --intercept and "
			"--allow-private belong to `islo-net learn`\n");
		return 2;
	}
	if (cli_load_profile(&c) < 0) {
		cli_free(&c);
		return 125;
	}
	rc = cli_run_loaded(&c);
	cli_free(&c);
	return rc;
}

int cli_run_loaded(struct cli *c)
{
	if (c->o.profile && prepare_interception(c) < 0)
		return 125;
	if (!c->o.profile && !c->nat_slirp) {
		/* no profile: the gateway as an unrestricted NAT (nat.c) */
		c->o.profile = nat_profile();
		if (!c->o.profile) {
			fprintf(stderr, "islo-net: out of memory\n");
			return 125;
		}
		c->o.profile_name = "nat";
		c->o.nat = 1;
	}
	if (confine_run(c) < 0)
		return 125;
	return run_main(&c->o);
}
