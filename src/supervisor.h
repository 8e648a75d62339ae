/* SPDX-License-Identifier: MIT */
/*
 * supervisor.h - signals and CMD's life cycle for `islo-net run`.
 * supervisor_handle() and struct supervisor are declared in islo.h.
 */
#ifndef ISLO_SUPERVISOR_H
#define ISLO_SUPERVISOR_H

#include "islo.h"

/**
 * supervisor_init() - Block the supervised signals and open the signalfd
 * @sv:  Filled in: sigfd open, child = -1, exit_code = 0, done = 0,
 *       on_usr1 = NULL (the caller may set on_usr1/opaque afterwards)
 *
 * Blocks SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGUSR1 (and SIGALRM, used for
 * the kill deadline), ignores SIGPIPE and makes SIGCHLD's disposition
 * SIG_DFL (an inherited SIG_IGN would have CMD reaped behind our back).
 * Call it before forking the child so that no SIGCHLD is lost, then set
 * sv->child.
 *
 * Return: 0, or -1 on failure (already reported)
 */
int supervisor_init(struct supervisor *sv);

/**
 * supervisor_fini() - Close the signalfd and cancel the kill deadline
 * @sv:  As given to supervisor_init()
 *
 * The signals stay blocked: the process is about to exit with CMD's status,
 * and a late SIGUSR1 (log rotation) or SIGALRM must not turn that into
 * death by signal.
 */
void supervisor_fini(struct supervisor *sv);

/**
 * supervisor_child_reset() - In a forked child: undo supervisor_init()'s
 * signal mask and SIGPIPE/SIGCHLD dispositions, so that CMD starts with
 * the ones islo-net was started with.  Async-signal-safe; harmless if
 * supervisor_init() was never called.
 */
void supervisor_child_reset(void);

/**
 * supervisor_timeout_ms() - How long a datapath may sleep without calling
 * supervisor_handle()
 * @sv:  Supervisor
 *
 * The kill deadline is delivered as a SIGALRM through the signalfd, so a
 * loop that polls sv->sigfd needs no timeout for it; this is for loops
 * that cannot.
 *
 * Return: -1 (no deadline pending), or milliseconds until the deadline
 */
int supervisor_timeout_ms(const struct supervisor *sv);

/* Grace period between forwarding SIGINT/SIGTERM/SIGHUP and SIGKILL. */
#define SUPERVISOR_KILL_GRACE_MS 3000

#endif
