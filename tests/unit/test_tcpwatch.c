// SPDX-License-Identifier: MIT
/* test_tcpwatch.c - the sandbox's TCP connections read off its link. */
#include <string.h>

#include "bytes.h"
#include "tcpwatch.h"
#include "unit.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define ACK 0x10

static const uint8_t G4[4] = { 10, 0, 2, 100 }, H4[4] = { 127, 0, 0, 1 };
static const uint8_t G6[16] = { 0xfd, [15] = 0x64 }, H6[16] = { 0xfd, [15] = 2 };

/* An Ethernet frame with a TCP segment (@ext: an IPv6 hop-by-hop header
 * in front), @pay bytes of payload; Return: its length */
static size_t seg(uint8_t *f, int v6, int ext, const uint8_t *src,
		  uint16_t sport, const uint8_t *dst, uint16_t dport,
		  uint32_t seq, uint32_t ack, uint8_t flags, size_t pay)
{
	size_t ip = v6 ? 40 + (ext ? 8 : 0) : 20, tcp = 20;
	uint8_t *t = f + 14 + ip;

	memset(f, 0, 14 + ip + tcp + pay);
	wr16(f + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		f[14] = 0x60;
		wr16(f + 18, (uint16_t)(ip - 40 + tcp + pay));
		f[20] = ext ? 0 : 6;
		memcpy(f + 22, src, 16);
		memcpy(f + 38, dst, 16);
		if (ext)
			f[54] = 6;  /* hop-by-hop: next TCP, length 0 (8 bytes) */
	} else {
		f[14] = 0x45;
		wr16(f + 16, (uint16_t)(ip + tcp + pay));
		f[23] = 6;
		memcpy(f + 26, src, 4);
		memcpy(f + 30, dst, 4);
	}
	wr16(t, sport);
	wr16(t + 2, dport);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	return 14 + ip + tcp + pay;
}

static struct tcpwatch w;

/* The NAT's SYN-ACK for the sandbox's SYN (as built by seg()). */
static void answer(const uint8_t *syn, size_t len)
{
	uint8_t f[128];
	int v6 = syn[14] >> 4 == 6;
	const uint8_t *t = syn + len - 20, *ip = syn + 14;
	size_t n = seg(f, v6, 0, v6 ? ip + 24 : ip + 16, rd16(t + 2),
		       v6 ? ip + 8 : ip + 12, rd16(t), 0, rd32(t + 4) + 1,
		       SYN | ACK, 0);

	tcpwatch_to_sandbox(&w, f, n);
}

TEST(tcpwatch_open_until_fin_acked)
{
	uint8_t f[2048];
	size_t n;

	memset(&w, 0, sizeof(w));
	n = seg(f, 0, 0, G4, 40000, H4, 80, 1000, 0, SYN, 0);
	tcpwatch_from_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 0 && w.open == 1);  /* not answered */
	tcpwatch_from_sandbox(&w, f, n);              /* retransmitted SYN */
	n = seg(f, 0, 0, H4, 80, G4, 40000, 0, 1001, SYN | ACK, 0);
	tcpwatch_to_sandbox(&w, f, n);
	tcpwatch_to_sandbox(&w, f, n);                /* twice */
	CHECK(tcpwatch_open(&w) == 1 && w.open == 1);
	/* data, then FIN with 100 bytes: done at ACK 1001 + 100 + 1 */
	n = seg(f, 0, 0, G4, 40000, H4, 80, 1001, 1, ACK, 500);
	tcpwatch_from_sandbox(&w, f, n);
	n = seg(f, 0, 0, G4, 40000, H4, 80, 1501, 1, FIN | ACK, 100);
	tcpwatch_from_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 1 && w.fins == 1);
	/* an ACK short of the FIN, one for another port, another family */
	n = seg(f, 0, 0, H4, 80, G4, 40000, 1, 1601, ACK, 0);
	tcpwatch_to_sandbox(&w, f, n);
	n = seg(f, 0, 0, H4, 81, G4, 40000, 1, 1602, ACK, 0);
	tcpwatch_to_sandbox(&w, f, n);
	n = seg(f, 1, 0, H6, 80, G6, 40000, 1, 1602, ACK, 0);
	tcpwatch_to_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 1);
	n = seg(f, 0, 0, H4, 80, G4, 40000, 1, 1602, ACK, 0);
	tcpwatch_to_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 0 && w.fins == 0);
}

TEST(tcpwatch_v6_ext_rst_wrap_and_reuse)
{
	uint8_t f[2048];
	size_t n;

	memset(&w, 0, sizeof(w));
	n = seg(f, 1, 1, G6, 5000, H6, 443, 7, 0, SYN, 0);
	tcpwatch_from_sandbox(&w, f, n);
	n = seg(f, 1, 0, G6, 5000, H6, 443, 7, 0, SYN, 0);
	answer(f, n);
	n = seg(f, 1, 0, G6, 5001, H6, 443, 7, 0, SYN, 0);
	tcpwatch_from_sandbox(&w, f, n);
	answer(f, n);
	CHECK(tcpwatch_open(&w) == 2);
	/* the host resets the first; the sandbox resets the second */
	n = seg(f, 1, 0, H6, 443, G6, 5000, 0, 0, RST, 0);
	tcpwatch_to_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 1);
	n = seg(f, 1, 1, G6, 5001, H6, 443, 8, 0, RST, 0);
	tcpwatch_from_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 0);
	/* a FIN at the top of the sequence space: its ACK wraps */
	n = seg(f, 0, 0, G4, 6000, H4, 22, 0xfffffff0u, 0, SYN, 0);
	tcpwatch_from_sandbox(&w, f, n);
	answer(f, n);
	n = seg(f, 0, 0, G4, 6000, H4, 22, 0xfffffff1u, 1, FIN | ACK, 20);
	tcpwatch_from_sandbox(&w, f, n);
	n = seg(f, 0, 0, H4, 22, G4, 6000, 1, 0xfffffff0u, ACK, 0);
	tcpwatch_to_sandbox(&w, f, n);               /* older: not yet */
	CHECK(tcpwatch_open(&w) == 1);
	/* the port reused after a FIN (a new SYN): a new connection */
	n = seg(f, 0, 0, G4, 6000, H4, 22, 99, 0, SYN, 0);
	tcpwatch_from_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 0 && w.open == 1 && w.fins == 0);
	answer(f, n);
	CHECK(tcpwatch_open(&w) == 1);
	n = seg(f, 0, 0, G4, 6000, H4, 22, 100, 1, FIN | ACK, 0);
	tcpwatch_from_sandbox(&w, f, n);
	n = seg(f, 0, 0, H4, 22, G4, 6000, 1, 101, ACK, 0);
	tcpwatch_to_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 0);
	/* a SYN-ACK from the sandbox (accepting) is not one it opened */
	n = seg(f, 0, 0, G4, 22, H4, 6000, 5, 100, SYN | ACK, 0);
	tcpwatch_from_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 0);
	/* a SYN never answered (a black hole): open, but not counted */
	n = seg(f, 0, 0, G4, 7000, H4, 9, 1, 0, SYN, 0);
	tcpwatch_from_sandbox(&w, f, n);
	CHECK(tcpwatch_open(&w) == 0 && w.open == 1);
}

TEST(tcpwatch_hostile_frames)
{
	uint8_t f[2048];
	size_t n, i, cut;

	memset(&w, 0, sizeof(w));
	/* every truncation of a SYN is ignored or read whole, never past */
	n = seg(f, 1, 1, G6, 5000, H6, 443, 7, 0, SYN, 0);
	for (cut = 0; cut < n; cut++)
		tcpwatch_from_sandbox(&w, f, cut);
	CHECK(w.open == 0);
	/* lengths that lie: IPv4 total length beyond the frame, a header
	 * length under 20, a later fragment, a TCP data offset past the end */
	n = seg(f, 0, 0, G4, 1, H4, 2, 0, 0, SYN, 0);
	wr16(f + 16, 200);
	tcpwatch_from_sandbox(&w, f, n);
	n = seg(f, 0, 0, G4, 1, H4, 2, 0, 0, SYN, 0);
	f[14] = 0x44;
	tcpwatch_from_sandbox(&w, f, n);
	n = seg(f, 0, 0, G4, 1, H4, 2, 0, 0, SYN, 0);
	wr16(f + 20, 1);
	tcpwatch_from_sandbox(&w, f, n);
	n = seg(f, 0, 0, G4, 1, H4, 2, 0, 0, SYN, 0);
	f[14 + 20 + 12] = 15 << 4;
	tcpwatch_from_sandbox(&w, f, n);
	/* an IPv6 extension header whose length runs past the packet */
	n = seg(f, 1, 1, G6, 1, H6, 2, 0, 0, SYN, 0);
	f[55] = 200;
	tcpwatch_from_sandbox(&w, f, n);
	CHECK(w.open == 0);
	/* a SYN flood fills the table; the rest is counted, not watched */
	for (i = 0; i < TCPWATCH_MAX + 10; i++) {
		n = seg(f, 0, 0, G4, (uint16_t)(1000 + i), H4, 80, 0, 0, SYN, 0);
		tcpwatch_from_sandbox(&w, f, n);
	}
	CHECK(w.open == TCPWATCH_MAX && w.overflow == 10);
	CHECK(tcpwatch_open(&w) == 0);          /* none answered */
}
