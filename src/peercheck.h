/* SPDX-License-Identifier: MIT */
/*
 * peercheck.h - refuse unix-socket peers that run inside a sandbox.
 *
 * islo-net's own sockets (the daemon's control socket, a `qemu` stream
 * socket) are mode 0600, but a sandbox of `islo-net run` runs as the same
 * user, so SO_PEERCRED alone cannot tell it from its owner.  Its processes
 * are in user, network and PID namespaces of their own: a peer must share
 * our user and network namespaces (see peercheck.c for how a recycled pid
 * and a peer with capabilities we dropped are handled).
 */
#ifndef ISLO_PEERCHECK_H
#define ISLO_PEERCHECK_H

#include <sys/socket.h>

/* Record our own namespaces; before self-isolation.  Return: 0, -1 */
int peer_check_init(void);
/* NULL if the peer on @fd (whose SO_PEERCRED is @cr) is outside every
 * sandbox, else why it is refused. */
const char *peer_outside_sandboxes(int fd, const struct ucred *cr);
/* Both: the peer is our user (or root) and outside every sandbox. */
const char *peer_check(int fd);

#endif
