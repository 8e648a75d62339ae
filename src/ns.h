/* SPDX-License-Identifier: MIT */
/*
 * ns.h - the sandbox for `islo-net run`: a child in new user, network and
 * mount namespaces, with a TAP device (tap0) configured for the virtual
 * network (islo.h), and resolv.conf pointing at the gateway.
 */
#ifndef ISLO_NS_H
#define ISLO_NS_H

#include <sys/types.h>

struct run_opts;

/**
 * ns_spawn() - Fork the sandbox child and wait until its network is set up
 * @o:      Options: o->argv is CMD, o->mtu the TAP device's MTU
 * @tapfd:  On success, the TAP device's fd (O_NONBLOCK, O_CLOEXEC)
 * @pid:    On success, the child's pid (it becomes CMD on ns_go())
 * @ctlfd:  On success, the control socket to pass to ns_go()
 * @netnsfd: On success, an fd of the sandbox's network namespace: while
 *          it is open the namespace outlives CMD (the link can drain)
 *
 * Call it after supervisor_init(): the child resets the signal mask and
 * dispositions the supervisor changed before it execs CMD.  The child is
 * killed (SIGKILL) if this process dies.  On failure the child's message
 * has been printed and the child reaped; nothing is left behind.
 *
 * Return: 0, or -1 on failure (already reported)
 */
int ns_spawn(const struct run_opts *o, int *tapfd, pid_t *pid, int *ctlfd,
	     int *netnsfd);

/**
 * ns_go() - Let the child exec CMD, and close the control socket
 * @ctlfd:  From ns_spawn(); closed by this call whatever the outcome
 *
 * Return: 0, or -1 if the child could not be told (it has gone)
 */
int ns_go(int ctlfd);

/* The sandbox's init (pid 1: `islo-net __sandbox-init CMD...`) and the
 * relay outside its PID namespace (`islo-net __sandbox-relay PID`), each a
 * fresh image exec'd by ns.c; main() dispatches to them. */
int ns_init_main(int argc, char **argv);
/* The islo-net binary to re-execute (main() sets it from argv[0]); NULL:
 * /proc/self/exe. */
extern const char *ns_self_exe;
int ns_relay_main(int argc, char **argv);

#endif
