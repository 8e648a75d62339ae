/* SPDX-License-Identifier: MIT */
/*
 * islo.h - types shared by the launcher (run.c), the two datapaths
 * (gw.c: lwIP gateway, slirpnat.c: libslirp NAT) and main.c.
 */
#ifndef ISLO_H
#define ISLO_H

#include <stdint.h>
#include <sys/types.h>

struct learn;
struct profile;
struct secrets;

/* The sandbox's virtual network: slirp4netns's defaults (README, "Using it"). */
#define ISLO_NET4        "10.0.2.0"
#define ISLO_PREFIX4     24
#define ISLO_GW4         "10.0.2.2"
#define ISLO_DNS4        "10.0.2.3"
#define ISLO_GUEST4      "10.0.2.100"
#define ISLO_NET6        "fd00::"
#define ISLO_PREFIX6     64
#define ISLO_GW6         "fd00::2"
#define ISLO_DNS6        "fd00::3"
#define ISLO_GUEST6      "fd00::100"
#define ISLO_TAP_NAME    "tap0"
#define ISLO_MTU_DEFAULT 65520
#define ISLO_MTU_MIN     1280
#define ISLO_MTU_MAX     65520

/* What `islo-net run` was asked to do, after option parsing. */
struct run_opts {
	const char *profile_name;      /* NULL: no gateway (libslirp NAT) */
	const char *profile_path;      /* file it was loaded from */
	const char *profile_trust;     /* the profile is a project file: the
					* trust record a reload checks it
					* against (projtrust.h), else NULL */
	struct profile *profile;       /* loaded and validated, or NULL */
	int nat;                       /* no profile: @profile is nat.c's
					* built-in one, the gateway a NAT */
	const char *audit_path;        /* NULL: no audit log */
	const char *dns_upstream;      /* "ADDR[:PORT]", NULL: host resolver */
	int mtu;
	int max_connections;           /* open TCP flows per sandbox, 0 = 4096 */
	char **argv;                   /* CMD and its arguments */
	/* credential injection (issue 3) */
	const struct secrets *secrets; /* loaded at start-up, or NULL */
	char **child_env;              /* CMD's environment, or NULL: ours */
	const char *ca_dir;            /* islo-net CA state directory */
	const char *upstream_ca;       /* extra trust anchors (PEM), or NULL */
	const char *ca_bundle;         /* bundle CMD must trust, or NULL */
	const char *ca_certdir;        /* laid over /etc/ssl/certs, or NULL */
	const struct confine *confine; /* run: what CMD must not read or change */
	/* VM backends (issue 4) */
	const char *qemu_socket;       /* serve QEMU -netdev stream here */
	/* `islo-net learn` (issue 18): what audit mode lets through is
	 * noted here (learn.h), or NULL */
	struct learn *learn;
};

/*
 * The supervisor: a signalfd for SIGCHLD, SIGINT, SIGTERM, SIGHUP and
 * SIGUSR1 that each datapath loop watches.  supervisor_handle() reads it,
 * forwards SIGINT/SIGTERM/SIGHUP to CMD, reaps CMD, calls on_usr1 (audit
 * log reopen), and returns 1 once CMD has exited and the loop should stop.
 */
struct supervisor {
	int sigfd;
	pid_t child;
	int exit_code;          /* CMD's exit status (128+N when killed) */
	int done;
	int reload;             /* SIGHUP with no CMD: re-read the profiles */
	int go_fd;              /* CMD waits on it until the datapath is up,
				 * or -1 */
	int (*go)(int go_fd);   /* lets CMD go (ns_go()); set with go_fd */
	void (*on_usr1)(void *opaque);
	void *opaque;
	/* supervisor_linger()'s state */
	uint64_t linger_frames, linger_seen_ms, linger_done_ms;
};

int supervisor_handle(struct supervisor *sv);
/*
 * supervisor_linger() - Keep serving after CMD exited?
 * @frames: Frames read from the sandbox's link so far
 * @busy:   Connections the datapath still has open (0 if it cannot tell)
 * Called on each turn of a datapath loop.  CMD may have written data and
 * exited while its kernel is still sending it (a close() returns at once;
 * the kernel closes what CMD left open, after its data): the link is
 * served on while connections are open or frames keep coming (quiet for
 * SUPERVISOR_QUIET_MS, counted from the last frame, so a command that was
 * not sending exits at once), for at most SUPERVISOR_LINGER_MS.  The
 * network namespace outlives CMD because `run` holds it (ns.c).
 * Return: 1 to go on serving (always while CMD runs), else 0
 */
int supervisor_linger(struct supervisor *sv, uint64_t frames, unsigned busy);
#define SUPERVISOR_QUIET_MS  150
#define SUPERVISOR_LINGER_MS 5000
/* The datapath is set up and isolated: let CMD run (ns_go() on go_fd, if
 * one is set).  Return: 0, or -1 (reported). */
int supervisor_ready(struct supervisor *sv);

/* Datapaths: serve the sandbox's TAP fd until sv->done; 0, or -1 on a
 * fatal error (already reported). */
int gw_serve(int tapfd, const struct run_opts *o, struct supervisor *sv);
int slirpnat_serve(int tapfd, const struct run_opts *o, struct supervisor *sv);

/* `islo-net run`: namespaces, TAP, datapath; returns CMD's exit status. */
int run_main(const struct run_opts *o);

#endif
