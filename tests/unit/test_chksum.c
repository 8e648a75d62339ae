// SPDX-License-Identifier: MIT
/*
 * test_chksum.c - our Internet checksum (third_party/lwip/port/chksum.c)
 * against the RFC 1071 definition, at every length and alignment, and
 * inside lwIP.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/inet_chksum.h"
#include "unit.h"

uint16_t islo_chksum(const void *dataptr, int len);

/* RFC 1071: big-endian 16-bit words, end-around carry; returned in the
 * same native layout lwIP's routines use. */
static uint16_t ref(const uint8_t *p, int len)
{
	uint32_t sum = 0;
	int i;
	uint16_t be, out;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	be = (uint16_t)sum;
	/* the bytes of the big-endian sum, read as a native u16 */
	{
		uint8_t b[2] = { (uint8_t)(be >> 8), (uint8_t)be };

		memcpy(&out, b, 2);
	}
	return out;
}

TEST(chksum_matches_rfc1071_at_every_length_and_alignment)
{
	static uint8_t buf[70000];
	int len, off, bad = 0;
	unsigned seed = 12345;
	size_t i;

	for (i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (off = 0; off < 8; off++)
		for (len = 0; len < 600; len++)
			bad += islo_chksum(buf + off, len) != ref(buf + off, len);
	CHECK(bad == 0);
	/* large: a full 64 KiB segment, and all-ones data (carries) */
	CHECK(islo_chksum(buf + 3, 65535) == ref(buf + 3, 65535));
	memset(buf, 0xff, sizeof(buf));
	CHECK(islo_chksum(buf, 65536) == ref(buf, 65536));
	CHECK(islo_chksum(buf, 65535) == ref(buf, 65535));
	/* lwIP's inet_chksum() is the complement of the sum */
	buf[0] = 0x45;
	CHECK((unsigned)inet_chksum(buf, 20) == (0xffffu & ~(unsigned)ref(buf, 20)));
}
