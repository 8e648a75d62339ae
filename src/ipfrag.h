/* SPDX-License-Identifier: MIT */
/*
 * ipfrag.h - IPv6 extension headers and IP reassembly, before the
 * pre-filter: no I/O, no allocation per packet (a sandbox's slots are
 * allocated once, on its first fragment).
 *
 * The pre-filter decides on the upper-layer header (TCP SYN, UDP port,
 * ICMP echo).  A packet that hides it behind extension headers or splits
 * it across fragments must get exactly the decision of the plain packet,
 * so the gateway first makes it plain: extension headers are walked and
 * removed (ip6_walk()), fragments are reassembled (ipfrag_input()), and
 * only the whole datagram, without a Fragment header, is filtered and
 * given to lwIP.  lwIP never sees a fragment.
 */
#ifndef ISLO_IPFRAG_H
#define ISLO_IPFRAG_H

#include <stddef.h>
#include <stdint.h>

/* ip6_walk() results */
enum { IP6W_OK, IP6W_FRAG, IP6W_DROP };

struct ip6_walk {
	uint8_t proto;          /* the upper-layer protocol (IP6W_OK), or the
				 * Fragment header's next header (IP6W_FRAG) */
	size_t off;             /* where it starts (IP6W_OK), or the Fragment
				 * header's offset (IP6W_FRAG) */
};

/**
 * ip6_walk() - Walk an IPv6 packet's extension headers
 * @ip:  The packet (at least 40 bytes: the fixed header)
 * @len: Its length (the payload length field's, already checked)
 * @w:   Result
 *
 * Hop-by-Hop (first only), Destination Options and a Routing header with
 * no segments left are skipped; an option whose type says "discard" when
 * not recognised (RFC 8200 4.2: its two high bits not 00) drops the packet,
 * as do a Routing header with segments left (we are no router), truncated
 * headers, and more than 8 headers.
 * Return: IP6W_OK, IP6W_FRAG (a Fragment header at w->off), or IP6W_DROP
 */
int ip6_walk(const uint8_t *ip, size_t len, struct ip6_walk *w);

/* Datagrams reassembled at once per sandbox, and for how long each may
 * wait for its missing fragments. */
#define IPFRAG_SLOTS 4
#define IPFRAG_TIMEOUT_MS 10000

struct ipfrag;

struct ipfrag *ipfrag_new(void);
void ipfrag_free(struct ipfrag *r);

/**
 * ipfrag_input4() - Take one IPv4 fragment
 * @r:   The sandbox's reassembly
 * @ip:  The fragment (header checked by the caller: version, IHL, length)
 * @len: Its length
 * @now: Milliseconds, monotonic
 * @out: The whole datagram, when this fragment completed it: valid until
 *       the next call on @r
 *
 * Fragments are matched on source, destination, protocol and ID (the
 * sandbox being the netif: @r is its own).  A fragment that overlaps one
 * already held, or would make the datagram longer than 65535 bytes, drops
 * the whole datagram (RFC 5722 for IPv6; Linux does the same for IPv4);
 * so does a non-last fragment whose length is not a multiple of 8.  With
 * every slot busy, the oldest datagram is dropped for the new one.
 * Return: the length of *@out, or 0 (held, or dropped)
 */
size_t ipfrag_input4(struct ipfrag *r, const uint8_t *ip, size_t len,
		     uint64_t now, const uint8_t **out);

/**
 * ipfrag_input6() - Take one IPv6 fragment
 * @r:    The sandbox's reassembly
 * @ip:   The packet (its fixed header is used; extension headers before the
 *        Fragment header were walked and are left out of the result)
 * @len:  Its length
 * @foff: Where its Fragment header is (ip6_walk())
 * @now:  Milliseconds, monotonic
 * @out:  As for ipfrag_input4(): a plain IPv6 packet, the Fragment
 *        header's next header in the fixed header's
 *
 * Matched on source, destination and identification.  An atomic fragment
 * (offset 0, no more fragments; RFC 6946) is returned at once, as it is.
 * Return: the length of *@out, or 0
 */
size_t ipfrag_input6(struct ipfrag *r, const uint8_t *ip, size_t len,
		     size_t foff, uint64_t now, const uint8_t **out);

/* ipfrag_tick() - Drop datagrams whose time is up. */
void ipfrag_tick(struct ipfrag *r, uint64_t now);

/* ipfrag_held() - Datagrams being reassembled (tests, stats). */
unsigned ipfrag_held(const struct ipfrag *r);

#endif
