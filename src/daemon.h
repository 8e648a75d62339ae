/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - `islo-net serve`: many sandboxes in one process, managed at
 * run time over a unix control socket (`islo-net ctl`), with Prometheus
 * metrics.  The protocol is in docs/DAEMON.md.
 */
#ifndef ISLO_DAEMON_H
#define ISLO_DAEMON_H

#include "islo.h"

/**
 * daemon_serve() - Run the daemon until SIGINT/SIGTERM
 * @defaults:       Options every sandbox starts from (MTU, resolver, CA,
 *                  limits, the shared audit log)
 * @control:        Control socket path (created mode 0600)
 * @metrics_listen: "ADDR:PORT" for the HTTP metrics endpoint, or NULL
 * @sv:             Supervisor (signals; no CMD)
 * Return: 0, or -1 on a fatal error (reported)
 */
int daemon_serve(const struct run_opts *defaults, const char *control,
		 const char *metrics_listen, struct supervisor *sv);

/**
 * ctl_call() - Send one request to a daemon and read its answer
 * @control: Control socket path
 * @req:     One JSON object (no newline)
 * @fd:      A file descriptor to pass along (SCM_RIGHTS), or -1
 * @answer:  The answer line, malloc'd, on success
 * Return: 0, or -1 (reported on stderr)
 */
int ctl_call(const char *control, const char *req, int fd, char **answer);

#endif
