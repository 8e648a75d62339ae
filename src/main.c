// SPDX-License-Identifier: MIT
/*
 * main.c - the islo-net command line.
 *
 *   islo-net run [OPTIONS] -- CMD [ARGS...]   run CMD in a sandbox
 *   islo-net learn [OPTIONS] -- CMD [ARGS...]  a profile from what CMD used
 *   islo-net check PROFILE                     validate a gateway profile
 *   islo-net resolve                           show which profile applies
 *
 * It only dispatches: each command is a cmd_*() in a cli_*.c file, their
 * options and the profile that applies are cli.c's (cli.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca.h"
#include "cli.h"
#include "log.h"
#include "ns.h"

#define ISLO_VERSION "0.1.0"

/*
 * LeakSanitizer builds: the sandbox's init and relay (tiny, short of
 * nothing but a few bytes of argv) cannot run the leak check where they
 * live (pid 1 of a PID namespace, or its parent in a user namespace: its
 * ptrace-based stop-the-world fails there), and a failed check would
 * become CMD's exit status.  The gateway itself is checked as before.
 */
static int sandbox_helper;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return sandbox_helper;
}

int main(int argc, char **argv)
{
	log_verbosity = LOG_WARN;
	if (argc < 2)
		cli_usage(stderr, 2);
	/* the binary ns.c re-executes for the sandbox's init and relay: the
	 * path we were started by (absolute, or found on PATH) */
	if (strchr(argv[0], '/')) {
		ns_self_exe = realpath(argv[0], NULL);
	} else {
		const char *path = getenv("PATH");
		char buf[PATH_MAX];

		while (path && *path && !ns_self_exe) {
			size_t n = strcspn(path, ":");

			if (n && n + strlen(argv[0]) + 2 <= sizeof(buf)) {
				memcpy(buf, path, n);
				buf[n] = '/';
				strcpy(buf + n + 1, argv[0]); /* NOLINT: fits */
				if (access(buf, X_OK) == 0)
					ns_self_exe = realpath(buf, NULL);
			}
			path += n + (path[n] == ':');
		}
	}
	/* the sandbox's own processes (ns.c), before anything else */
	if (!strcmp(argv[1], "__sandbox-init")) {
		sandbox_helper = 1;
		return ns_init_main(argc, argv);
	}
	if (!strcmp(argv[1], "__sandbox-relay")) {
		sandbox_helper = 1;
		return ns_relay_main(argc, argv);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help"))
		cli_usage(stdout, 0);
	if (!strcmp(argv[1], "--version")) {
		printf("islo-net %s\n", ISLO_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "learn"))
		return cmd_learn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "trust"))
		return cmd_trust(argc, argv);
	if (!strcmp(argv[1], "resolve"))
		return cmd_resolve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ca"))
		return ca_cli_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "tap"))
		return cmd_vm(argc - 1, argv + 1, 0);
	if (!strcmp(argv[1], "qemu"))
		return cmd_vm(argc - 1, argv + 1, 1);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return cmd_ctl(argc - 1, argv + 1);
	fprintf(stderr, "islo-net: unknown command '%s'\n\n", argv[1]);
	cli_usage(stderr, 2);
	return 2;
}
