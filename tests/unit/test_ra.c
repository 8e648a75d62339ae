// SPDX-License-Identifier: MIT
/*
 * test_ra.c - router advertisements: every field of the frame, the ICMPv6
 * checksum recomputed here (not with frame.c's helpers), and router
 * solicitation checks: good, bad hop limit, bad checksum, truncated,
 * malformed options.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ra.h"
#include "unit.h"

static const struct ra_cfg rcfg = {
	.router_mac = { 0x02, 0x15, 0x10, 0x00, 0x00, 0x02 },
	.router_ll = { 0xfe, 0x80, [8] = 0x00, [9] = 0x15, [10] = 0x10,
		       [11] = 0xff, [12] = 0xfe, [13] = 0, [14] = 0, [15] = 2 },
	.prefix = { 0xfd, 0x00 },
	.prefix_len = 64,
	.dns = { 0xfd, 0x00, [15] = 3 },
	.mtu = 1500,
	.router_lifetime = 1800,
};

static const uint8_t ff02_1[16] = { 0xff, 0x02, [15] = 1 };
static const uint8_t ff02_2[16] = { 0xff, 0x02, [15] = 2 };
static const uint8_t guest_ll[16] = { 0xfe, 0x80, [8] = 0x50, [9] = 0x54,
				      [10] = 0x00, [11] = 0xff, [12] = 0xfe,
				      [13] = 0x12, [14] = 0x34, [15] = 0x56 };
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static unsigned g16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)g16(p) << 16 | g16(p + 2);
}

/* RFC 1071 over the IPv6 pseudo-header and the ICMPv6 message, done the
 * slow way: 0 when the checksum in the message is right */
static unsigned ref_csum(const uint8_t *ip6, const uint8_t *msg, size_t len)
{
	uint64_t s = 0;
	size_t i;

	for (i = 8; i < 40; i += 2)
		s += g16(ip6 + i);
	s += len + 58;
	for (i = 0; i < len; i++)
		s += i & 1 ? msg[i] : (unsigned)msg[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (unsigned)(~s & 0xffff);
}

TEST(ra_frame_fields)
{
	uint8_t f[RA_FRAME_MAX + 10], *ip = f + 14, *ra = ip + 40, *o;
	size_t n = ra_build(&rcfg, NULL, NULL, f, sizeof(f));

	REQUIRE(n == RA_FRAME_MAX);
	CHECK(!memcmp(f, "\x33\x33\x00\x00\x00\x01", 6));
	CHECK(!memcmp(f + 6, rcfg.router_mac, 6));
	CHECK(g16(f + 12) == 0x86dd);
	CHECK(ip[0] == 0x60 && ip[1] == 0 && ip[2] == 0 && ip[3] == 0);
	CHECK(g16(ip + 4) == n - 54);
	CHECK(ip[6] == 58 && ip[7] == 255);
	CHECK(!memcmp(ip + 8, rcfg.router_ll, 16));
	CHECK(!memcmp(ip + 24, ff02_1, 16));
	CHECK(ra[0] == 134 && ra[1] == 0);
	CHECK(ref_csum(ip, ra, n - 54) == 0);
	CHECK(ra[4] == 64 && ra[5] == 0);       /* hop limit; M, O clear */
	CHECK(g16(ra + 6) == 1800);
	CHECK(g32(ra + 8) == 0 && g32(ra + 12) == 0);
	o = ra + 16;                             /* source link-layer */
	CHECK(o[0] == 1 && o[1] == 1 && !memcmp(o + 2, rcfg.router_mac, 6));
	o += 8;                                  /* MTU */
	CHECK(o[0] == 5 && o[1] == 1 && g16(o + 2) == 0 && g32(o + 4) == 1500);
	o += 8;                                  /* prefix information */
	CHECK(o[0] == 3 && o[1] == 4 && o[2] == 64 && o[3] == 0xc0);
	CHECK(g32(o + 4) == RA_VALID_LIFETIME);
	CHECK(g32(o + 8) == RA_PREFERRED_LIFETIME);
	CHECK(g32(o + 4) >= g32(o + 8));
	CHECK(g32(o + 12) == 0);
	CHECK(!memcmp(o + 16, rcfg.prefix, 16));
	o += 32;                                 /* RDNSS */
	CHECK(o[0] == 25 && o[1] == 3 && g16(o + 2) == 0);
	CHECK(g32(o + 4) == RA_RDNSS_LIFETIME);
	CHECK(!memcmp(o + 8, rcfg.dns, 16));
	CHECK(o + 24 == f + n);
}

TEST(ra_destinations)
{
	static const uint8_t zero[16];
	static const uint8_t solnode[16] = { 0xff, 0x02, [11] = 1,
					     [12] = 0xff, [13] = 0x12,
					     [14] = 0x34, [15] = 0x56 };
	uint8_t f[RA_FRAME_MAX];
	size_t n;

	/* unicast to the soliciting host */
	n = ra_build(&rcfg, guest_mac, guest_ll, f, sizeof(f));
	REQUIRE(n == RA_FRAME_MAX);
	CHECK(!memcmp(f, guest_mac, 6));
	CHECK(!memcmp(f + 14 + 24, guest_ll, 16));
	CHECK(ref_csum(f + 14, f + 54, n - 54) == 0);
	/* a solicitation from :: is answered to all nodes */
	n = ra_build(&rcfg, NULL, zero, f, sizeof(f));
	REQUIRE(n);
	CHECK(!memcmp(f, "\x33\x33\x00\x00\x00\x01", 6));
	CHECK(!memcmp(f + 14 + 24, ff02_1, 16));
	/* other multicast: MAC from its low 32 bits (RFC 2464 7) */
	n = ra_build(&rcfg, NULL, solnode, f, sizeof(f));
	REQUIRE(n);
	CHECK(!memcmp(f, "\x33\x33\xff\x12\x34\x56", 6));
	CHECK(ref_csum(f + 14, f + 54, n - 54) == 0);
	/* unicast without a MAC cannot be sent */
	CHECK(ra_build(&rcfg, NULL, guest_ll, f, sizeof(f)) == 0);
}

TEST(ra_config_variants)
{
	struct ra_cfg c = rcfg;
	uint8_t f[RA_FRAME_MAX], *o;
	size_t n, i;

	/* every buffer too small fails cleanly */
	for (i = 0; i < RA_FRAME_MAX; i++)
		CHECK(ra_build(&c, NULL, NULL, f, i) == 0);
	/* source must be link-local */
	c.router_ll[0] = 0xfd;
	CHECK(ra_build(&c, NULL, NULL, f, sizeof(f)) == 0);
	c = rcfg;
	c.prefix_len = 129;
	CHECK(ra_build(&c, NULL, NULL, f, sizeof(f)) == 0);
	/* no MTU option below 1280, no RDNSS for ::, bits past the prefix
	 * length cleared */
	c = rcfg;
	c.mtu = 1000;
	memset(c.dns, 0, 16);
	memset(c.prefix + 5, 0xff, 11);
	c.prefix_len = 44;
	n = ra_build(&c, NULL, NULL, f, sizeof(f));
	REQUIRE(n == RA_FRAME_MAX - 8 - 24);
	CHECK(ref_csum(f + 14, f + 54, n - 54) == 0);
	o = f + 54 + 16 + 8;
	CHECK(o[0] == 3 && o[2] == 44);
	CHECK(!memcmp(o + 16, "\xfd\x00\x00\x00\x00\xf0\x00\x00", 8));
	CHECK(o + 32 == f + n);
	/* router lifetime 0: not a default router, still the prefix */
	c = rcfg;
	c.router_lifetime = 0;
	n = ra_build(&c, NULL, NULL, f, sizeof(f));
	REQUIRE(n);
	CHECK(g16(f + 54 + 6) == 0);
}

/* A router solicitation as Linux sends it: from the link-local address
 * to ff02::2 with the source link-layer option */
static size_t mk_rs(uint8_t *p, const uint8_t *src, int slla)
{
	size_t plen = slla ? 16 : 8;
	unsigned c;

	memset(p, 0, 40 + plen);
	p[0] = 0x60;
	p[4] = 0;
	p[5] = (uint8_t)plen;
	p[6] = 58;
	p[7] = 255;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, ff02_2, 16);
	p[40] = 133;
	if (slla) {
		p[48] = 1;
		p[49] = 1;
		memcpy(p + 50, guest_mac, 6);
	}
	c = ref_csum(p, p + 40, plen);
	p[42] = (uint8_t)(c >> 8);
	p[43] = (uint8_t)c;
	return 40 + plen;
}

/* Recompute the checksum after a change, so that only the change counts */
static void refix(uint8_t *p)
{
	unsigned c;

	p[42] = p[43] = 0;
	c = ref_csum(p, p + 40, g16(p + 4));
	p[42] = (uint8_t)(c >> 8);
	p[43] = (uint8_t)c;
}

TEST(ra_solicit_detection)
{
	static const uint8_t zero[16];
	uint8_t p[RA_FRAME_MAX];
	size_t n, cut;

	n = mk_rs(p, guest_ll, 1);
	CHECK(ra_is_solicit(p, n));
	CHECK(ra_is_solicit(p, n + 2));         /* link-layer padding */
	n = mk_rs(p, guest_ll, 0);
	CHECK(ra_is_solicit(p, n));
	/* from ::, without the source link-layer option: fine */
	n = mk_rs(p, zero, 0);
	CHECK(ra_is_solicit(p, n));
	/* from :: with it: RFC 4861 6.1.1 says drop */
	n = mk_rs(p, zero, 1);
	CHECK(!ra_is_solicit(p, n));
	/* hop limit other than 255 (forwarded) */
	n = mk_rs(p, guest_ll, 1);
	p[7] = 64;
	CHECK(!ra_is_solicit(p, n));
	/* checksum off by one */
	n = mk_rs(p, guest_ll, 1);
	p[43] ^= 1;
	CHECK(!ra_is_solicit(p, n));
	/* every truncation */
	n = mk_rs(p, guest_ll, 1);
	for (cut = 0; cut < n; cut++) {
		uint8_t *q = malloc(cut ? cut : 1);

		REQUIRE(q);
		memcpy(q, p, cut);
		CHECK(!ra_is_solicit(q, cut));
		free(q);
	}
	CHECK(!ra_is_solicit(NULL, 0));
	/* type, code, next header, version, multicast source */
	n = mk_rs(p, guest_ll, 1);
	p[40] = 134;
	refix(p);
	CHECK(!ra_is_solicit(p, n));
	n = mk_rs(p, guest_ll, 1);
	p[41] = 1;
	refix(p);
	CHECK(!ra_is_solicit(p, n));
	n = mk_rs(p, guest_ll, 1);
	p[6] = 0;                                /* hop-by-hop first */
	CHECK(!ra_is_solicit(p, n));
	n = mk_rs(p, guest_ll, 1);
	p[0] = 0x40;
	CHECK(!ra_is_solicit(p, n));
	n = mk_rs(p, ff02_1, 0);
	CHECK(!ra_is_solicit(p, n));
	/* option of length 0, option running past the payload */
	n = mk_rs(p, guest_ll, 1);
	p[49] = 0;
	refix(p);
	CHECK(!ra_is_solicit(p, n));
	n = mk_rs(p, guest_ll, 1);
	p[49] = 2;
	refix(p);
	CHECK(!ra_is_solicit(p, n + 8));
	/* a lone byte of option */
	n = mk_rs(p, guest_ll, 0);
	p[5] = 9;
	p[48] = 1;
	refix(p);
	CHECK(!ra_is_solicit(p, n + 1));
	/* ICMPv6 shorter than 8 bytes, payload length past the buffer */
	n = mk_rs(p, guest_ll, 0);
	p[5] = 4;
	refix(p);
	CHECK(!ra_is_solicit(p, n));
	n = mk_rs(p, guest_ll, 1);
	CHECK(!ra_is_solicit(p, n - 1));
	/* our own RA is not a solicitation */
	n = ra_build(&rcfg, NULL, NULL, p, sizeof(p));
	REQUIRE(n);
	CHECK(!ra_is_solicit(p + 14, n - 14));
}
