// SPDX-License-Identifier: MIT
/*
 * chksum.c - the Internet checksum (RFC 1071) for lwIP (LWIP_CHKSUM in
 * lwipopts.h).
 *
 * lwIP's portable version adds 16 bits at a time; it was a fifth of the
 * gateway's CPU time in a bulk download.  This one adds 32-bit words into
 * a 64-bit accumulator, eight bytes per load, and folds once at the end.
 * The one's-complement sum does not depend on byte order (RFC 1071 2.B),
 * so native words give the same bytes lwIP expects: the folded sum of the
 * buffer read as native 16-bit words, an odd last byte padded with zero.
 */
#include <stdint.h>
#include <string.h>

uint16_t islo_chksum(const void *dataptr, int len);
uint16_t islo_chksum_copy(void *dst, const void *src, uint16_t len);
extern int islo_chksum_copy_off;

uint16_t islo_chksum(const void *dataptr, int len)
{
	const uint8_t *p = dataptr;
	uint64_t sum = 0, a = 0, b = 0;
	size_t n = len > 0 ? (size_t)len : 0;

	/* two independent accumulators: the adds do not wait on each other */
	while (n >= 16) {
		uint64_t x, y;

		memcpy(&x, p, 8);
		memcpy(&y, p + 8, 8);
		a += (x & 0xffffffffu) + (x >> 32);
		b += (y & 0xffffffffu) + (y >> 32);
		p += 16;
		n -= 16;
	}
	sum = a + b;   /* each is below 2^62 for any buffer lwIP has */
	while (n >= 4) {
		uint32_t x;

		memcpy(&x, p, 4);
		sum += x;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		uint16_t x;

		memcpy(&x, p, 2);
		sum += x;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint16_t x = 0;

		memcpy(&x, p, 1);
		sum += x;
	}
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * LWIP_CHKSUM_COPY: copy, and sum what was copied, unless the pcb being
 * written to sends through a netif with TCP checksum offload, where the
 * sum would never be used (gw_tcp_write() sets islo_chksum_copy_off
 * around tcp_write() for such pcbs; a pcb never changes netif).
 */
int islo_chksum_copy_off;

uint16_t islo_chksum_copy(void *dst, const void *src, uint16_t len)
{
	memcpy(dst, src, len);
	return islo_chksum_copy_off ? 0 : islo_chksum(dst, len);
}
