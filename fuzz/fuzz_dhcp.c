// SPDX-License-Identifier: MIT
/*
 * fuzz_dhcp.c - libFuzzer target: the DHCPv4 server (dhcp_reply()) and
 * router solicitation checks (ra_is_solicit()) over guest bytes.
 *
 * The input is a BOOTP message to port 67, and the same bytes an IPv6
 * packet. Any DHCP reply must itself be a well-formed BOOTREPLY: cookie,
 * options to END inside the message, one message type of OFFER/ACK/NAK,
 * xid and chaddr of the request, a destination the link allows. The reply
 * is written into a buffer of exactly the size passed, so that ASan sees
 * any write past it. A solicitation accepted is answered with an RA, which
 * must not itself look like a solicitation. A second copy of the input
 * gets its ICMPv6 checksum fixed first, so that the fuzzer reaches the
 * option checks behind it.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"
#include "frame.h"
#include "ra.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct dhcp_cfg cfg = {
	.server_mac = { 0x02, 0x15, 0x10, 0x00, 0x00, 0x02 },
	.server_ip = { 10, 0, 2, 2 },
	.dns_ip = { 10, 0, 2, 3 },
	.guest_ip = { 10, 0, 2, 100 },
	.netmask = { 255, 255, 255, 0 },
	.mtu = 65520,
	.lease_secs = 86400,
	.domain = "sandbox.internal",
};

static const struct ra_cfg rcfg = {
	.router_mac = { 0x02, 0x15, 0x10, 0x00, 0x00, 0x02 },
	.router_ll = { 0xfe, 0x80, [15] = 2 },
	.prefix = { 0xfd, 0x00 },
	.prefix_len = 64,
	.dns = { 0xfd, 0x00, [15] = 3 },
	.mtu = 65520,
	.router_lifetime = 1800,
};

/**
 * check_reply() - Abort unless @o is a well-formed reply to @req
 * @req: Request
 * @o:   Reply
 * @n:   Its length
 * @dst: Its destination
 */
static void check_reply(const uint8_t *req, const uint8_t *o, size_t n,
			const uint8_t *dst)
{
	static const uint8_t bcast[4] = { 255, 255, 255, 255 };
	size_t i = DHCP_OPTS_OFF;
	int type = 0;

	if (n < DHCP_REPLY_MIN || n > DHCP_REPLY_MAX || o[0] != 2 ||
	    o[1] != 1 || o[2] != 6 || memcmp(o + 4, req + 4, 4) ||
	    memcmp(o + 28, req + 28, 16) ||
	    memcmp(o + 236, "\x63\x82\x53\x63", 4))
		abort();
	for (;;) {
		uint8_t c, l;

		if (i >= n)
			abort();         /* no END */
		c = o[i++];
		if (c == 0)
			continue;
		if (c == 255)
			break;
		if (i >= n)
			abort();
		l = o[i++];
		if (l > n - i)
			abort();
		if (c == 53) {
			if (l != 1 || type)
				abort();
			type = o[i];
		}
		i += l;
	}
	if (type != DHCP_OFFER && type != DHCP_ACK && type != DHCP_NAK)
		abort();
	if (memcmp(dst, bcast, 4) && memcmp(dst, cfg.guest_ip, 4) &&
	    memcmp(dst, req + 12, 4))
		abort();
	if (type == DHCP_NAK && memcmp(dst, bcast, 4))
		abort();
}

/**
 * try_solicit() - Answer @p if it is a solicitation; check the answer
 * @p:   IPv6 packet
 * @len: Its length
 */
static void try_solicit(const uint8_t *p, size_t len)
{
	static const uint8_t eth[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	uint8_t frame[RA_FRAME_MAX];
	size_t n;

	if (!ra_is_solicit(p, len))
		return;
	n = ra_build(&rcfg, eth, p + 8, frame, sizeof(frame));
	if (!n || ra_is_solicit(frame + 14, n - 14))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DHCP_REPLY_MAX + 64], copy[2048];
	uint8_t dst[4];
	size_t n, outlen;
	uint8_t *exact;

	n = dhcp_reply(&cfg, data, size, out, sizeof(out), dst);
	if (n)
		check_reply(data, out, n, dst);

	/* Again into a buffer of an input-chosen, exact size */
	outlen = size ? DHCP_REPLY_MIN + data[size - 1] : DHCP_REPLY_MIN;
	exact = malloc(outlen);
	if (exact) {
		size_t m = dhcp_reply(&cfg, data, size, exact, outlen, dst);

		if (m > outlen || (m && !n))
			abort();
		if (m)
			check_reply(data, exact, m, dst);
		free(exact);
	}

	try_solicit(data, size);
	if (size >= 48 && size <= sizeof(copy)) {
		size_t plen;
		uint32_t sum;

		memcpy(copy, data, size);
		plen = (size_t)(copy[4] << 8 | copy[5]);
		if (plen >= 4 && plen <= size - 40) {
			copy[42] = copy[43] = 0;
			sum = csum_add(0, copy + 8, 32);
			sum += (uint32_t)plen + 58;
			sum = csum_fold(csum_add(sum, copy + 40, plen));
			copy[42] = (uint8_t)(sum >> 8);
			copy[43] = (uint8_t)sum;
		}
		try_solicit(copy, size);
	}
	return 0;
}
