// SPDX-License-Identifier: MIT
/*
 * ra.c - IPv6 router advertisements for the sandbox link (RFC 4861), with
 * RDNSS (RFC 8106); see ra.h.
 *
 * The gateway is the only router the guest sees. An RA is built whole
 * into the caller's buffer (no state, no allocation): Ethernet header,
 * IPv6 header from the link-local router address with hop limit 255 (the
 * guest drops anything else: it proves the RA was not forwarded), the RA
 * and its options in a fixed order. Solicitations come from the guest and
 * are checked against every rule of RFC 4861 6.1.1 before the caller
 * answers one, reading only within @len.
 */

#include <string.h>

#include "bytes.h"
#include "frame.h"
#include "ra.h"

#define IP6_HDR_LEN   40
#define NH_ICMPV6     58
#define ICMP6_RS      133
#define ICMP6_RA      134
#define ND_OPT_SLLA   1
#define ND_OPT_PREFIX 3
#define ND_OPT_MTU    5
#define ND_OPT_RDNSS  25
#define PI_FLAG_L     0x80
#define PI_FLAG_A     0x40

static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
static const uint8_t zero16[16];

/**
 * icmp6_csum() - ICMPv6 checksum over the pseudo-header and the message
 * @src: Source address
 * @dst: Destination address
 * @msg: ICMPv6 message, its checksum field as it is
 * @len: Its length
 * Return: the folded checksum; 0 when verifying a correct message
 */
static uint16_t icmp6_csum(const uint8_t *src, const uint8_t *dst,
			   const uint8_t *msg, size_t len)
{
	uint32_t s = csum_add(0, src, 16);

	s = csum_add(s, dst, 16);
	s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + NH_ICMPV6;
	return csum_fold(csum_add(s, msg, len));
}

/**
 * put_prefix() - Prefix information option (RFC 4861 4.6.2)
 * @o: Where, 32 bytes
 * @c: Router configuration
 */
static void put_prefix(uint8_t *o, const struct ra_cfg *c)
{
	unsigned i;

	o[0] = ND_OPT_PREFIX;
	o[1] = 4;
	o[2] = c->prefix_len;
	o[3] = PI_FLAG_L | PI_FLAG_A;
	wr32(o + 4, RA_VALID_LIFETIME);
	wr32(o + 8, RA_PREFERRED_LIFETIME);
	/* bits past the prefix length must be zero (4.6.2) */
	for (i = 0; i < 16; i++) {
		unsigned bits = c->prefix_len > i * 8 ? c->prefix_len - i * 8 : 0;

		o[16 + i] = bits >= 8 ? c->prefix[i] :
			    (uint8_t)(c->prefix[i] & (0xff00 >> bits));
	}
}

size_t ra_build(const struct ra_cfg *c, const uint8_t *dst_mac,
		const uint8_t *dst_ip, uint8_t *out, size_t outlen)
{
	uint8_t mac[6], *ip, *ra, *o;
	size_t rlen;

	if (!dst_ip || !memcmp(dst_ip, zero16, 16))
		dst_ip = all_nodes;
	if (!dst_mac) {
		if (dst_ip[0] != 0xff)
			return 0;        /* unicast needs the caller's MAC */
		mac[0] = mac[1] = 0x33;  /* RFC 2464 7 */
		memcpy(mac + 2, dst_ip + 12, 4);
		dst_mac = mac;
	}
	if (c->router_ll[0] != 0xfe || (c->router_ll[1] & 0xc0) != 0x80 ||
	    c->prefix_len > 128)
		return 0;
	rlen = 16 + 8 + (c->mtu >= 1280 ? 8 : 0) + 32 +
	       (memcmp(c->dns, zero16, 16) ? 24 : 0);
	if (outlen < ETH_HDR_LEN + IP6_HDR_LEN + rlen)
		return 0;
	memset(out, 0, ETH_HDR_LEN + IP6_HDR_LEN + rlen);

	memcpy(out, dst_mac, 6);
	memcpy(out + 6, c->router_mac, 6);
	wr16(out + 12, 0x86dd);

	ip = out + ETH_HDR_LEN;
	ip[0] = 0x60;
	wr16(ip + 4, (uint16_t)rlen);
	ip[6] = NH_ICMPV6;
	ip[7] = 255;
	memcpy(ip + 8, c->router_ll, 16);
	memcpy(ip + 24, dst_ip, 16);

	ra = ip + IP6_HDR_LEN;
	ra[0] = ICMP6_RA;
	ra[4] = RA_CUR_HOP_LIMIT;
	/* M and O clear: addresses by SLAAC, DNS by RDNSS, no DHCPv6 */
	wr16(ra + 6, c->router_lifetime);
	/* reachable time, retrans timer: 0, unspecified */
	o = ra + 16;
	o[0] = ND_OPT_SLLA;
	o[1] = 1;
	memcpy(o + 2, c->router_mac, 6);
	o += 8;
	if (c->mtu >= 1280) {
		o[0] = ND_OPT_MTU;
		o[1] = 1;
		wr32(o + 4, c->mtu);
		o += 8;
	}
	put_prefix(o, c);
	o += 32;
	if (memcmp(c->dns, zero16, 16)) {
		o[0] = ND_OPT_RDNSS;
		o[1] = 3;
		wr32(o + 4, RA_RDNSS_LIFETIME);
		memcpy(o + 8, c->dns, 16);
	}
	wr16(ra + 2, icmp6_csum(ip + 8, ip + 24, ra, rlen));
	return ETH_HDR_LEN + IP6_HDR_LEN + rlen;
}

int ra_is_solicit(const uint8_t *ip6, size_t len)
{
	const uint8_t *m, *src;
	size_t plen, off;

	if (!ip6 || len < IP6_HDR_LEN || (ip6[0] >> 4) != 6 ||
	    ip6[6] != NH_ICMPV6 || ip6[7] != 255)
		return 0;
	plen = rd16(ip6 + 4);
	if (plen < 8 || plen > len - IP6_HDR_LEN)
		return 0;
	src = ip6 + 8;
	m = ip6 + IP6_HDR_LEN;
	if (m[0] != ICMP6_RS || m[1] != 0 || src[0] == 0xff)
		return 0;
	if (icmp6_csum(src, ip6 + 24, m, plen))
		return 0;
	/* options after the 8-byte RS: lengths in units of 8, never 0 */
	for (off = 8; off < plen;) {
		size_t ol;

		if (plen - off < 2)
			return 0;
		ol = (size_t)m[off + 1] * 8;
		if (!ol || ol > plen - off)
			return 0;
		if (m[off] == ND_OPT_SLLA && !memcmp(src, zero16, 16))
			return 0;
		off += ol;
	}
	return 1;
}
