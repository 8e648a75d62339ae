/* SPDX-License-Identifier: MIT */
/*
 * isolation.h - what the serving process gives up once it is set up.
 *
 * Stage 1 (the launcher, ns.c/main.c): namespaces, the TAP device, the
 * CA, secrets, sockets: everything that may need privilege or files.
 * Stage 2 (isolate_serving(), called by each datapath once it is set up):
 * no capabilities left in any set, the bounding set emptied where we may,
 * ambient capabilities cleared, and PR_SET_NO_NEW_PRIVS, so nothing this
 * process executes or is tricked into doing gains privilege.
 * Stage 3 (also isolate_serving()): a seccomp filter of the system calls
 * the loops make; anything else kills the process (isolation.c says why,
 * and how ISLO_SECCOMP=log|off help to extend the table or debug).
 */
#ifndef ISLO_ISOLATION_H
#define ISLO_ISOLATION_H

int isolate_serving(void);
/* The same for the daemon: its filter also allows adding sandboxes. */
int isolate_serving_daemon(void);

#endif
