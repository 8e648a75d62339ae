// SPDX-License-Identifier: MIT
/*
 * run.c - `islo-net run`: the supervisor, the sandbox (ns.c), and the
 * datapath: the lwIP gateway when a profile applies, libslirp NAT when none
 * does.  CMD runs only once the datapath is about to serve the TAP device;
 * frames it sends before the loop's first read queue in the kernel.
 */
#include "islo.h"

#include "log.h"
#include "ns.h"
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit status when islo-net itself fails (as env(1), timeout(1) do). */
#define RUN_EXIT_FAIL 125

static void kill_and_reap(struct supervisor *sv)
{
	int status;

	if (sv->child <= 0 || sv->done)
		return;
	kill(sv->child, SIGKILL);
	while (waitpid(sv->child, &status, 0) < 0 && errno == EINTR)
		;
	sv->done = 1;
}

int run_main(const struct run_opts *o)
{
	struct supervisor sv;
	int tapfd = -1, ctlfd = -1, nsfd = -1, rc;
	pid_t pid;

	if (supervisor_init(&sv) < 0) {
		supervisor_fini(&sv);
		return RUN_EXIT_FAIL;
	}
	if (ns_spawn(o, &tapfd, &pid, &ctlfd, &nsfd) < 0) {
		supervisor_fini(&sv);
		return RUN_EXIT_FAIL;
	}
	sv.child = pid;

	if ((!o->profile || o->nat) && log_verbosity > LOG_ERR)  /* -q */
		fprintf(stderr, "islo-net: no gateway profile: the sandbox's "
			"network is unrestricted (user-mode NAT)\n");
	/* CMD is let go by the datapath once it is set up and has dropped its
	 * privileges (supervisor_ready()), so CMD never runs beside a
	 * privileged gateway */
	sv.go_fd = ctlfd;
	sv.go = ns_go;
	if (o->profile) {
		rc = gw_serve(tapfd, o, &sv);
	} else {
		rc = slirpnat_serve(tapfd, o, &sv);
	}

	close(tapfd);
	close(nsfd);
	if (sv.go_fd >= 0)
		close(sv.go_fd);   /* never released: the child exits */
	if (rc < 0 || !sv.done) {
		kill_and_reap(&sv);
		supervisor_fini(&sv);
		return RUN_EXIT_FAIL;
	}
	supervisor_fini(&sv);
	return sv.exit_code;
}
