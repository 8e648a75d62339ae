// SPDX-License-Identifier: MIT
/*
 * fuzz_ipfrag.c - libFuzzer target: IPv6 extension header walking and
 * IPv4/IPv6 reassembly (src/ipfrag.c), as a hostile sandbox drives them.
 *
 * Input: packets, each prefixed by a 2-byte big-endian length and a byte
 * of milliseconds to advance the clock by.  A packet whose first nibble is
 * 6 goes through ip6_walk() and, at a Fragment header, ipfrag_input6();
 * anything else is an IPv4 fragment for ipfrag_input4().  One reassembly
 * lives for an input, as a sandbox's does.  Checked: a datagram returned
 * has no fragment bits (IPv4), its length fits 16 bits and matches its
 * header.  (Its next header may be a Fragment header again: the gateway
 * drops a fragment inside a reassembled datagram, ipfrag.c does not.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipfrag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipfrag *r = ipfrag_new();
	uint64_t now = 0;
	size_t off = 0;
	static uint8_t pkt[65536];

	if (!r)
		return 0;
	while (size - off >= 3) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		const uint8_t *out = NULL;
		size_t n = 0;

		now += data[off + 2] * 100u;
		off += 3;
		if (len > size - off)
			len = size - off;
		memcpy(pkt, data + off, len);
		off += len;
		ipfrag_tick(r, now);
		if (len >= 40 && (pkt[0] >> 4) == 6) {
			struct ip6_walk w;
			size_t plen = 40 + ((size_t)pkt[4] << 8 | pkt[5]);

			if (plen > len)
				continue;
			if (ip6_walk(pkt, plen, &w) == IP6W_FRAG)
				n = ipfrag_input6(r, pkt, plen, w.off, now, &out);
			if (n) {
				if (n < 40 || n > 65535 ||
				    40 + ((size_t)out[4] << 8 | out[5]) != n)
					abort();
			}
		} else if (len >= 20 && (pkt[0] & 15) >= 5 &&
			   (size_t)(pkt[0] & 15) * 4 <= len) {
			n = ipfrag_input4(r, pkt, len, now, &out);
			if (n) {
				if (n > 65535 || (out[6] & 0x3f) || out[7] ||
				    ((size_t)out[2] << 8 | out[3]) != n)
					abort();
			}
		}
	}
	ipfrag_free(r);
	return 0;
}
