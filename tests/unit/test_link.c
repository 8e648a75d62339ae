// SPDX-License-Identifier: MIT
/* test_link.c - what the link does to frames from the sandbox: offloads
 * taken or refused, the SYN's MSS clamped or raised. */
#include <string.h>

#include <linux/virtio_net.h>

#include "bytes.h"
#include "frame.h"
#include "link.h"
#include "unit.h"

/* A TCP SYN frame with options @opt (@olen bytes, a multiple of 4);
 * Return: its length */
static size_t syn(uint8_t *f, int v6, const uint8_t *opt, size_t olen)
{
	size_t ip = v6 ? 40 : 20, t = 14 + ip, n = t + 20 + olen;
	uint32_t sum;

	memset(f, 0, n);
	wr16(f + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		f[14] = 0x60;
		wr16(f + 18, (uint16_t)(20 + olen));
		f[20] = 6;
		f[22] = 0xfd;
		f[53] = 1;
	} else {
		f[14] = 0x45;
		wr16(f + 16, (uint16_t)(20 + 20 + olen));
		f[23] = 6;
		f[26] = 10;
		f[30] = 127;
	}
	wr16(f + t, 40000);
	wr16(f + t + 2, 443);
	f[t + 12] = (uint8_t)((20 + olen) / 4) << 4;
	f[t + 13] = 0x02;
	memcpy(f + t + 20, opt, olen);
	/* a whole checksum over the pseudo-header and the segment */
	if (v6)
		sum = csum_add(0, f + 22, 32) + 6 + (uint32_t)(20 + olen);
	else
		sum = csum_add(0, f + 26, 8) + 6 + (uint32_t)(20 + olen);
	sum = csum_add(sum, f + t, 20 + olen);
	wr16(f + t + 16, csum_fold(sum));
	return n;
}

/* The checksum of the frame's segment verifies (sums to all ones). */
static int sum_ok(const uint8_t *f, int v6, size_t n)
{
	size_t t = 14 + (v6 ? 40 : 20);
	uint32_t sum = v6 ? csum_add(0, f + 22, 32) : csum_add(0, f + 26, 8);

	sum += 6 + (uint32_t)(n - t);
	sum = csum_add(sum, f + t, n - t);
	return csum_fold(sum) == 0;
}

static uint16_t mss_of(const uint8_t *f, int v6, size_t at)
{
	return rd16(f + 14 + (v6 ? 40 : 20) + 20 + at);
}

TEST(link_syn_mss_clamps_raises_and_floors)
{
	/* NOP, NOP, MSS, window scale, NOP */
	uint8_t opt[12] = { 1, 1, 2, 4, 0, 0, 3, 3, 7, 1, 0, 0 };
	uint8_t f[128];
	size_t n;
	int v6;

	for (v6 = 0; v6 < 2; v6++) {
		int fit = 1500 - (v6 ? 40 : 20) - 20;

		/* an MSS for MTU 65520 on a 1500 link: clamped */
		wr16(opt + 4, (uint16_t)(65520 - 40));
		n = syn(f, v6, opt, sizeof(opt));
		REQUIRE(sum_ok(f, v6, n));
		link_syn_mss(f, n, 1500, 0);
		CHECK(mss_of(f, v6, 4) == fit && sum_ok(f, v6, n));
		/* what the MTU gives, with offload: raised to the most */
		n = syn(f, v6, opt, sizeof(opt));
		link_syn_mss(f, n, 1500, 0);
		link_syn_mss(f, n, 1500, 1);
		CHECK(mss_of(f, v6, 4) == 65535 - (v6 ? 40 : 20) - 20);
		CHECK(sum_ok(f, v6, n));
		/* clamped on purpose (1200): left, with or without offload */
		wr16(opt + 4, 1200);
		n = syn(f, v6, opt, sizeof(opt));
		link_syn_mss(f, n, 1500, 1);
		CHECK(mss_of(f, v6, 4) == 1200 && sum_ok(f, v6, n));
		/* a tiny MSS is floored at 536 */
		wr16(opt + 4, 1);
		n = syn(f, v6, opt, sizeof(opt));
		link_syn_mss(f, n, 1500, 0);
		CHECK(mss_of(f, v6, 4) == 536 && sum_ok(f, v6, n));
	}
}

TEST(link_syn_mss_leaves_what_it_cannot_read)
{
	uint8_t bad[][8] = {
		{ 2, 4, 0xff, 0xff, 0, 0, 0, 0 },   /* after the end (EOL) */
		{ 8, 0, 2, 4, 0xff, 0xff, 0, 0 },   /* a length of 0 */
		{ 8, 9, 2, 4, 0xff, 0xff, 0, 0 },   /* a length past the end */
		{ 1, 1, 1, 1, 1, 1, 1, 2 },         /* a kind with no length */
	};
	uint8_t f[128], g[128];
	size_t n, i, cut;

	/* the first is an EOL in front: nothing after it is read */
	bad[0][0] = 0;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = syn(f, 0, bad[i], 8);
		memcpy(g, f, n);
		link_syn_mss(f, n, 1500, 1);
		CHECK(!memcmp(f, g, n));
	}
	/* not a SYN (SYN+ACK), a later fragment, a truncated frame */
	{
		uint8_t opt[4] = { 2, 4, 0xff, 0xff };

		n = syn(f, 0, opt, 4);
		f[14 + 20 + 13] = 0x12;
		memcpy(g, f, n);
		link_syn_mss(f, n, 1500, 0);
		CHECK(!memcmp(f, g, n));
		n = syn(f, 0, opt, 4);
		wr16(f + 14 + 6, 0x0001);
		memcpy(g, f, n);
		link_syn_mss(f, n, 1500, 0);
		CHECK(!memcmp(f, g, n));
		n = syn(f, 0, opt, 4);
		memcpy(g, f, n);
		for (cut = 0; cut < n; cut++)
			link_syn_mss(f, cut, 1500, 0);
		CHECK(!memcmp(f, g, n));
	}
}

TEST(link_vnet_input_offloads)
{
	struct virtio_net_hdr vh;
	uint8_t opt[4] = { 2, 4, 5, 0xb4 }, f[128], u[64];
	size_t n = syn(f, 0, opt, 4);

	memset(&vh, 0, sizeof(vh));
	CHECK(link_vnet_input((uint8_t *)&vh, f, n) == 0);
	/* a TCP segmentation offload of the right family: taken */
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.csum_start = 14 + 20;
	vh.csum_offset = 16;
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.gso_size = 1448;
	CHECK(link_vnet_input((uint8_t *)&vh, f, n) == 0);
	/* the wrong family, UDP, ECN, or without the partial checksum */
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK(link_vnet_input((uint8_t *)&vh, f, n) == -1);
	vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	CHECK(link_vnet_input((uint8_t *)&vh, f, n) == -1);
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	CHECK(link_vnet_input((uint8_t *)&vh, f, n) == -1);
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.flags = 0;
	CHECK(link_vnet_input((uint8_t *)&vh, f, n) == -1);
	/* a short UDP frame with its checksum left partial: finished */
	memset(u, 0, sizeof(u));
	wr16(u + 12, 0x0800);
	u[14] = 0x45;
	wr16(u + 16, 29);
	u[23] = 17;
	wr16(u + 14 + 20 + 4, 9);
	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.csum_start = 14 + 20;
	vh.csum_offset = 6;
	CHECK(link_vnet_input((uint8_t *)&vh, u, 14 + 29) == 0);
	CHECK(rd16(u + 14 + 20 + 6) != 0);
}
