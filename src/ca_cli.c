// SPDX-License-Identifier: MIT
/*
 * ca_cli.c - `islo-net ca`: where the islo-net CA certificate is, and its
 * PEM, for people who want their own tools (a browser, a VM image) to
 * trust what the gateway mints. The CA is created on first use either way.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

static void ca_usage(FILE *f)
{
	fprintf(f,
		"usage: islo-net ca path [--ca-dir DIR]    print the CA certificate's path\n"
		"       islo-net ca export [--ca-dir DIR]  print the CA certificate (PEM)\n"
		"\n"
		"The CA is created in DIR if it is not there yet. DIR defaults to\n"
		"$XDG_STATE_HOME/islo-net, else ~/.local/state/islo-net.\n");
}

/**
 * ca_cli_main() - `islo-net ca ...`
 * @argc: Arguments, from "ca"
 * @argv: argv[0] is "ca", argv[1] the action
 * Return: exit status: 0, 1 on failure, 2 on a usage error
 */
int ca_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *action;
	char *dir = NULL, err[512];
	struct ca *ca;
	int opt, rc = 1;

	if (argc < 2) {
		ca_usage(stderr);
		return 2;
	}
	action = argv[1];
	if (!strcmp(action, "--help") || !strcmp(action, "-h") ||
	    !strcmp(action, "help")) {
		ca_usage(stdout);
		return 0;
	}
	if (strcmp(action, "path") && strcmp(action, "export")) {
		fprintf(stderr, "islo-net ca: unknown action '%s'\n\n", action);
		ca_usage(stderr);
		return 2;
	}
	optind = 0; /* glibc: full re-initialisation */
	opterr = 1;
	while ((opt = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			free(dir);
			dir = strdup(optarg);
			if (!dir)
				return 1;
			break;
		case 'h':
			free(dir);
			ca_usage(stdout);
			return 0;
		default:
			free(dir);
			ca_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "islo-net ca %s: unexpected argument '%s'\n",
			action, argv[1 + optind]);
		free(dir);
		return 2;
	}
	if (!dir && !(dir = ca_default_dir())) {
		fprintf(stderr, "islo-net ca: no home directory; use --ca-dir\n");
		return 1;
	}
	ca = ca_open(dir, err, sizeof(err));
	free(dir);
	if (!ca) {
		fprintf(stderr, "islo-net: %s\n", err);
		return 1;
	}
	if (!strcmp(action, "path")) {
		printf("%s\n", ca_cert_path(ca));
		rc = 0;
	} else {
		char *pem;
		size_t len;

		if (!ca_cert_pem(ca, &pem, &len)) {
			rc = fwrite(pem, 1, len, stdout) == len ? 0 : 1;
			free(pem);
		}
	}
	if (fflush(stdout))
		rc = 1;
	ca_free(ca);
	return rc;
}
