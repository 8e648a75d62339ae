/* SPDX-License-Identifier: MIT */
/*
 * secretfetch.h - the secret fetcher: the process that runs `cmd:`
 * secrets' programs again once islo-net serves (`secret_ttl:`, issue 18
 * point 4).
 *
 * The serving process's system-call filter allows neither fork nor execve,
 * so before it isolates itself islo-net forks a small helper that keeps
 * those powers and nothing else: no descriptor but its end of a socketpair,
 * no secret (secret pages are MADV_WIPEONFORK), the environment cut to
 * what the programs may get.  The serving loop asks it, by secret index,
 * to run a program the profile named; the answer (the value, or why not)
 * comes back on the socketpair and is read from the loop (REF_FETCH),
 * never blocking.
 *
 * Refresh rule: a value is asked for again at 80% of its `secret_ttl:`
 * (from the loop's timer, used or not, so a request never waits for a
 * program); the old value is used until it is `secret_ttl:` old; past
 * that, a request that needs it is refused (HTTP 502, PostgreSQL error)
 * with the reason in the audit log (secret_stale()).  At most one run per
 * secret is in flight; a failed run is retried after a back-off (1 s,
 * doubling up to 60 s).
 */
#ifndef ISLO_SECRETFETCH_H
#define ISLO_SECRETFETCH_H

#include <stdint.h>
#include <stddef.h>

struct secrets;

/**
 * secretfetch_start() - Fork the fetcher, if @ss has a secret with a TTL
 * @ss:     Secrets loaded at start-up (kept until exit: the loop refreshes
 *          them in place)
 * @err:    On error: why
 * @errlen: Its size
 *
 * Call it before the sandbox is made and before isolation, in the process
 * that will serve: the fetcher is its child, in the host's namespaces,
 * running as the user; it exits when its socket reaches end of file (the
 * serving process has gone) or by PR_SET_PDEATHSIG.  The supervisor's
 * waitpid(-1) reaps it (supervisor.c: a pid other than CMD's is ignored).
 *
 * Return: 0 (also when no fetcher is needed), or -1
 */
int secretfetch_start(struct secrets *ss, char *err, size_t errlen);

/* secretfetch_fd() - The serving end of the socketpair, or -1 if none. */
int secretfetch_fd(void);

/**
 * secretfetch_readable() - Take the fetcher's answers (the loop calls it)
 *
 * A value goes into its secret in place (secret_replace()); a failure is
 * logged (the program's stderr escaped, cut) and the last value kept;
 * an answer for a secret that was not asked for, of the wrong size or
 * generation, is dropped.  End of file: the fetcher has gone; its secrets
 * expire as they are (no fetcher is started again: after isolation the
 * gateway cannot fork).
 */
void secretfetch_readable(void);

/**
 * secretfetch_tick() - Ask for the runs that are due (the loop calls it)
 * Return: milliseconds until the next run is due, or -1 if none is
 */
int secretfetch_tick(void);

/* secretfetch_pid() - The fetcher's pid, or -1 (for tests and logs). */
int secretfetch_pid(void);

#endif
