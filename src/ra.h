/* SPDX-License-Identifier: MIT */
/*
 * ra.h - IPv6 router advertisements (RFC 4861) carrying the sandbox prefix
 * for SLAAC, the link MTU and the DNS server (RDNSS, RFC 8106), and
 * recognising the guest's router solicitations.
 */
#ifndef ISLO_RA_H
#define ISLO_RA_H

#include <stddef.h>
#include <stdint.h>

/* Lifetimes we advertise: RFC 4861 6.2.1 defaults for the prefix; for
 * RDNSS 3 x MaxRtrAdvInterval (RFC 8106 5.1), so unsolicited RAs should
 * go out at least every RA_MAX_INTERVAL seconds */
#define RA_VALID_LIFETIME     2592000u
#define RA_PREFERRED_LIFETIME 604800u
#define RA_MAX_INTERVAL       600u
#define RA_RDNSS_LIFETIME     (3 * RA_MAX_INTERVAL)
#define RA_CUR_HOP_LIMIT      64

/* Ethernet + IPv6 + RA + source link-layer, MTU, prefix, RDNSS options */
#define RA_FRAME_MAX (14 + 40 + 16 + 8 + 8 + 32 + 24)

struct ra_cfg {
	uint8_t router_mac[6];
	uint8_t router_ll[16];    /* fe80::/10 source, RFC 4861 6.1.2 */
	uint8_t prefix[16];       /* e.g. fd00:: */
	uint8_t prefix_len;       /* 64 for SLAAC on Ethernet */
	uint8_t dns[16];          /* fd00::3; :: leaves RDNSS out */
	uint16_t mtu;             /* below 1280 the MTU option is left out */
	uint16_t router_lifetime; /* seconds; 0: not a default router */
};

/**
 * ra_build() - Build a router advertisement frame
 * @c:       Router configuration
 * @dst_mac: Destination MAC; NULL: derived from @dst_ip, which must then be
 *           multicast (33:33:00:00:00:01 for ff02::1)
 * @dst_ip:  Destination address; NULL or :: (a solicitation from a host
 *           without an address): ff02::1, all nodes
 * @out:     Output Ethernet frame
 * @outlen:  Its size; RA_FRAME_MAX is always enough
 *
 * The RA is sent from router_ll with hop limit 255; it has the source
 * link-layer address, MTU, prefix information (on-link and autonomous)
 * and RDNSS options, and the ICMPv6 checksum over the pseudo-header.
 *
 * Return: frame length, 0 if @outlen is too small, router_ll is not
 * link-local, prefix_len is over 128, or no destination MAC can be found
 */
size_t ra_build(const struct ra_cfg *c, const uint8_t *dst_mac,
		const uint8_t *dst_ip, uint8_t *out, size_t outlen);

/**
 * ra_is_solicit() - Is this a valid router solicitation?
 * @ip6: IPv6 packet, from its header
 * @len: Bytes available (may include link-layer padding past the payload)
 *
 * RFC 4861 6.1.1: next header ICMPv6 with no extension header, hop limit
 * 255, type 133 code 0, ICMPv6 length of 8 or more, checksum right, all
 * options with a non-zero length inside the packet, and no source
 * link-layer option when the source is ::. The source must not be
 * multicast.
 *
 * Return: 1 if it is, 0 if not
 */
int ra_is_solicit(const uint8_t *ip6, size_t len);

#endif
