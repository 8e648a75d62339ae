// SPDX-License-Identifier: MIT
/* test_ipfrag.c - reassembly and IPv6 extension headers (src/ipfrag.c). */
#include "unit.h"
#include "ipfrag.h"

#include <stdint.h>
#include <string.h>

static size_t frag4(uint8_t *out, uint16_t id, size_t off, int more,
		    const uint8_t *data, size_t n)
{
	memset(out, 0, 20);
	out[0] = 0x45;
	out[2] = (uint8_t)((20 + n) >> 8);
	out[3] = (uint8_t)(20 + n);
	out[4] = (uint8_t)(id >> 8);
	out[5] = (uint8_t)id;
	out[6] = (uint8_t)(((off / 8) >> 8) | (more ? 0x20 : 0));
	out[7] = (uint8_t)(off / 8);
	out[8] = 64;
	out[9] = 17;
	out[12] = 10, out[15] = 100;
	out[16] = 10, out[19] = 3;
	memcpy(out + 20, data, n);
	return 20 + n;
}

TEST(ipfrag4_orders_overlaps_and_holes)
{
	struct ipfrag *r = ipfrag_new();
	uint8_t data[64], p[128];
	const uint8_t *out;
	size_t i, n;

	REQUIRE(r);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	/* last fragment first, then the first: whole, plain, same bytes */
	n = frag4(p, 1, 32, 0, data + 32, 32);
	CHECK(ipfrag_input4(r, p, n, 0, &out) == 0);
	n = frag4(p, 1, 0, 1, data, 32);
	n = ipfrag_input4(r, p, n, 0, &out);
	REQUIRE(n == 84);
	CHECK(out[2] == 0 && out[3] == 84 && out[6] == 0 && out[7] == 0);
	CHECK(!memcmp(out + 20, data, 64));
	/* an overlap drops the datagram: the rest never completes it */
	n = frag4(p, 2, 0, 1, data, 32);
	CHECK(ipfrag_input4(r, p, n, 0, &out) == 0);
	n = frag4(p, 2, 24, 1, data + 24, 16);
	CHECK(ipfrag_input4(r, p, n, 0, &out) == 0);
	n = frag4(p, 2, 32, 0, data + 32, 32);
	CHECK(ipfrag_input4(r, p, n, 0, &out) == 0);
	CHECK(ipfrag_held(r) == 1);  /* only the last one, waiting */
	/* data past the end the last fragment sets: dropped, no hole left */
	n = frag4(p, 3, 48, 1, data + 48, 8);
	CHECK(ipfrag_input4(r, p, n, 0, &out) == 0);
	n = frag4(p, 3, 32, 0, data + 32, 8);
	CHECK(ipfrag_input4(r, p, n, 0, &out) == 0);
	n = frag4(p, 3, 0, 1, data, 32);
	CHECK(ipfrag_input4(r, p, n, 0, &out) == 0);
	/* a non-last fragment not a multiple of 8 */
	n = frag4(p, 4, 0, 1, data, 12);
	CHECK(ipfrag_input4(r, p, n, 0, &out) == 0);
	/* time is up: nothing held */
	ipfrag_tick(r, IPFRAG_TIMEOUT_MS + 1);
	CHECK(ipfrag_held(r) == 0);
	/* more datagrams than slots: the oldest goes */
	for (i = 0; i < IPFRAG_SLOTS + 1; i++) {
		n = frag4(p, (uint16_t)(10 + i), 0, 1, data, 32);
		CHECK(ipfrag_input4(r, p, n, IPFRAG_TIMEOUT_MS + 2 + i, &out) == 0);
	}
	CHECK(ipfrag_held(r) == IPFRAG_SLOTS);
	n = frag4(p, 10, 32, 0, data + 32, 32);   /* the oldest: gone */
	CHECK(ipfrag_input4(r, p, n, IPFRAG_TIMEOUT_MS + 10, &out) == 0);
	ipfrag_free(r);
}

TEST(ip6_walk_and_atomic_fragment)
{
	uint8_t p[128];
	struct ip6_walk w;
	struct ipfrag *r = ipfrag_new();
	const uint8_t *out;
	size_t n;

	REQUIRE(r);
	memset(p, 0, sizeof(p));
	p[0] = 0x60;
	/* HBH (PadN) -> DestOpts (unknown, skippable) -> TCP */
	p[6] = 0;
	p[40] = 60, p[42] = 1, p[43] = 4;
	p[48] = 6, p[50] = 0x1e, p[51] = 4;
	CHECK(ip6_walk(p, 76, &w) == IP6W_OK && w.proto == 6 && w.off == 56);
	/* unknown "discard" option */
	p[50] = 0x80;
	CHECK(ip6_walk(p, 76, &w) == IP6W_DROP);
	p[50] = 0x1e;
	/* truncated */
	CHECK(ip6_walk(p, 52, &w) == IP6W_DROP);
	/* HBH not first */
	p[6] = 60;
	p[40] = 0;
	CHECK(ip6_walk(p, 76, &w) == IP6W_DROP);
	/* routing with segments left */
	p[6] = 43;
	p[40] = 6, p[41] = 0, p[43] = 1;
	CHECK(ip6_walk(p, 76, &w) == IP6W_DROP);
	/* a Fragment header: atomic, given back without it */
	p[6] = 44;
	memset(p + 40, 0, 8);
	p[40] = 17;
	memset(p + 48, 0xab, 20);
	n = 68;
	p[4] = 0, p[5] = 28;
	CHECK(ip6_walk(p, n, &w) == IP6W_FRAG && w.off == 40);
	n = ipfrag_input6(r, p, n, w.off, 0, &out);
	REQUIRE(n == 60);
	CHECK(out[6] == 17 && out[4] == 0 && out[5] == 20 && out[40] == 0xab);
	ipfrag_free(r);
}
