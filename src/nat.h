/* SPDX-License-Identifier: MIT */
/*
 * nat.h - `islo-net run` with no gateway profile: the gateway's datapath
 * as an unrestricted NAT, with slirp4netns's addresses.
 */
#ifndef ISLO_NAT_H
#define ISLO_NAT_H

#include <stdint.h>

#include "frame.h"

struct gw;
struct profile;

/* The built-in profile that lets everything through (TCP and UDP to any
 * address and port), or NULL (out of memory).  The caller frees it. */
struct profile *nat_profile(void);

/**
 * nat_own_upstream() - Where a connection to one of the gateway's own
 * addresses goes, in NAT mode (slirp4netns's meaning of them)
 * @g:     Sandbox (g->o->nat set)
 * @dst:   The address the sandbox connected to (one of the gateway's)
 * @dport: Its port
 * @up:    Filled: the host-side address
 * @port:  Filled: the host-side port
 * 10.0.2.2 and fd00::2 are the host's loopback (127.0.0.1, ::1); port 53
 * of 10.0.2.3 and fd00::3 is the host-side resolver (--dns-upstream, or
 * the first nameserver in /etc/resolv.conf).
 * Return: 0, or -1 if nothing is there (refused)
 */
int nat_own_upstream(const struct gw *g, const struct ipaddr *dst,
		     uint16_t dport, struct ipaddr *up, uint16_t *port);

#endif
