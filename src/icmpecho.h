/* SPDX-License-Identifier: MIT */
/*
 * icmpecho.h - ping from a sandbox without a profile, through the host's
 * ping sockets (icmpecho.c has the theory of operation).
 */
#ifndef ISLO_ICMPECHO_H
#define ISLO_ICMPECHO_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

struct gw;
struct iecho;

/**
 * icmpecho_input() - An ICMP or ICMPv6 message from the sandbox to another
 * host (never the gateway's own addresses), gateway NAT only
 * @g:   The sandbox
 * @src: Its source address
 * @dst: Its destination (same family)
 * @m:   The message, from its type byte on
 * @len: Its length
 *
 * An echo request is sent on through a ping socket; one with a bad
 * checksum is dropped.
 * Return: 0 (carried or dropped), or -1: not carried (not an echo
 * request, the host refuses ping sockets, or the sandbox is over its
 * limits): the caller answers with an ICMP error where one may be sent
 */
int icmpecho_input(struct gw *g, const struct ipaddr *src,
		   const struct ipaddr *dst, const uint8_t *m, size_t len);

/* icmpecho_event() - Its ping socket is readable: replies to the sandbox. */
void icmpecho_event(struct iecho *e);

/* icmpecho_tick() - Close the idle echo flows (@all: every one). */
void icmpecho_tick(struct gw *g, int all);

#endif
