// SPDX-License-Identifier: MIT
/*
 * test_dns.c - DNS wire format: queries from the sandbox, synthetic
 * answers, upstream responses with CNAME chains and compression pointers
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "unit.h"

/* A query laid out as `dig API.Example.com A` sends it (BIND 9.18: AD
 * bit, EDNS0 OPT with a client cookie), id 0x8a5d. Hand-built: no dig
 * on the build host. */
static const uint8_t q_dig[] = {
	0x8a, 0x5d, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x03, 'A', 'P', 'I', 0x07, 'E', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'c', 'o', 'm', 0x00, 0x00, 0x01, 0x00, 0x01,
	/* OPT: root, type 41, udp 1232, ext rcode/flags 0, rdlen 12 */
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
	0x00, 0x0a, 0x00, 0x08, 0x5f, 0x2e, 0x11, 0xc3, 0x9e, 0x01, 0x77, 0x42,
};

/* A tiny message builder for the tests */
struct mb {
	uint8_t d[1024];
	size_t n;
};

static void put8(struct mb *m, unsigned v)
{
	m->d[m->n++] = (uint8_t)v;
}

static void put16(struct mb *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v);
}

static void put32(struct mb *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

/* Labels of a dotted name; with @term, the root label too */
static void putname(struct mb *m, const char *name, int term)
{
	while (*name) {
		size_t l = strcspn(name, ".");

		put8(m, (unsigned)l);
		memcpy(m->d + m->n, name, l);
		m->n += l;
		name += l;
		if (*name)
			name++;
	}
	if (term)
		put8(m, 0);
}

static void hdr(struct mb *m, unsigned id, unsigned flags, unsigned qd,
		unsigned an)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

static void question(struct mb *m, const char *name, unsigned type)
{
	putname(m, name, 1);
	put16(m, type);
	put16(m, DNS_C_IN);
}

static void rrhead(struct mb *m, unsigned type, uint32_t ttl, unsigned rdlen)
{
	put16(m, type);
	put16(m, DNS_C_IN);
	put32(m, ttl);
	put16(m, rdlen);
}

static int parse(const struct mb *m, const char *name, unsigned qtype,
		 uint8_t (*addrs)[16], int max, uint32_t *ttl, int *rcode)
{
	/* Exact-size heap copy so ASan sees any over-read */
	uint8_t *c = malloc(m->n ? m->n : 1);
	int r;

	memcpy(c, m->d, m->n);
	r = dns_parse_response(c, m->n, 0x4242, name, (uint16_t)qtype, addrs,
			       max, ttl, rcode);
	free(c);
	return r;
}

TEST(dns_query_dig)
{
	struct dns_question q;
	size_t n;

	REQUIRE(dns_parse_query(q_dig, sizeof(q_dig), &q) == DNS_OK);
	CHECK(q.id == 0x8a5d);
	CHECK(q.rd == 1);
	CHECK_STR(q.name, "api.example.com");
	CHECK(q.qtype == DNS_T_A);
	CHECK(q.qclass == DNS_C_IN);
	CHECK(q.qend == 33);

	/* Every truncation: short or malformed, never more */
	for (n = 0; n < 33; n++) {
		uint8_t *c = malloc(n ? n : 1);
		int r;

		memcpy(c, q_dig, n);
		r = dns_parse_query(c, n, &q);
		CHECK(r == (n < 12 ? DNS_SHORT : DNS_FORMERR));
		if (n >= 12)
			CHECK(q.id == 0x8a5d && q.rd == 1 && q.qend == 0);
		free(c);
	}
	/* The OPT record is not looked at */
	CHECK(dns_parse_query(q_dig, 33, &q) == DNS_OK);
	CHECK(dns_parse_query(NULL, 0, &q) == DNS_SHORT);
}

TEST(dns_query_errors)
{
	struct dns_question q;
	struct mb m;
	int i;

	hdr(&m, 1, 0x8100, 1, 0); /* QR set */
	question(&m, "a.b", DNS_T_A);
	CHECK(dns_parse_query(m.d, m.n, &q) == DNS_FORMERR);
	CHECK(q.id == 1 && q.rd == 1);

	hdr(&m, 2, 0x1000, 1, 0); /* opcode 2 (STATUS) */
	question(&m, "a.b", DNS_T_A);
	CHECK(dns_parse_query(m.d, m.n, &q) == DNS_NOTIMP);
	CHECK(q.id == 2 && q.rd == 0);

	hdr(&m, 3, 0x0100, 2, 0);
	question(&m, "a.b", DNS_T_A);
	question(&m, "c.d", DNS_T_A);
	CHECK(dns_parse_query(m.d, m.n, &q) == DNS_NOTIMP);
	hdr(&m, 3, 0x0100, 0, 0);
	CHECK(dns_parse_query(m.d, m.n, &q) == DNS_NOTIMP);

	/* Compression pointer in the question */
	hdr(&m, 4, 0x0100, 1, 0);
	putname(&m, "a", 0);
	put16(&m, 0xc00c);
	put16(&m, 1);
	put16(&m, 1);
	CHECK(dns_parse_query(m.d, m.n, &q) == DNS_FORMERR);

	/* 64-byte label: the length byte has bit 0x40 set */
	hdr(&m, 5, 0x0100, 1, 0);
	put8(&m, 64);
	memset(m.d + m.n, 'a', 64);
	m.n += 64;
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	CHECK(dns_parse_query(m.d, m.n, &q) == DNS_FORMERR);

	/* Name of 4 * 64 = 256 wire bytes + root */
	hdr(&m, 6, 0x0100, 1, 0);
	for (i = 0; i < 4; i++) {
		put8(&m, 63);
		memset(m.d + m.n, 'a', 63);
		m.n += 63;
	}
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	CHECK(dns_parse_query(m.d, m.n, &q) == DNS_FORMERR);
	/* 255 exactly is fine: 3 * 64 + 62 + root */
	hdr(&m, 6, 0x0100, 1, 0);
	for (i = 0; i < 3; i++) {
		put8(&m, 63);
		memset(m.d + m.n, 'a', 63);
		m.n += 63;
	}
	put8(&m, 61);
	memset(m.d + m.n, 'b', 61);
	m.n += 61;
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	CHECK(dns_parse_query(m.d, m.n, &q) == DNS_OK);
	CHECK(strlen(q.name) == 253);

	/* Bytes outside [a-z0-9_-]: '.' inside a label, NUL, space */
	{
		static const char *const bad[] = { "a.b", "a\0b", "a b", "a*" };

		for (i = 0; i < 4; i++) {
			size_t qend;

			hdr(&m, 7, 0x0100, 1, 0);
			put8(&m, 3);
			memcpy(m.d + m.n, bad[i], 3);
			m.n += i == 3 ? 2 : 3;
			m.d[12] = i == 3 ? 2 : 3;
			putname(&m, "example", 1);
			put16(&m, DNS_T_AAAA);
			put16(&m, 1);
			qend = m.n;
			put8(&m, 0xee); /* trailing junk: ignored */
			CHECK(dns_parse_query(m.d, m.n, &q) == DNS_BAD_NAME);
			CHECK(q.qend == qend && q.qtype == DNS_T_AAAA);
			CHECK_STR(q.name, "");
		}
	}

	/* The root */
	hdr(&m, 8, 0, 1, 0);
	question(&m, "", 2);
	CHECK(dns_parse_query(m.d, m.n, &q) == DNS_OK);
	CHECK_STR(q.name, "");
	CHECK(q.qtype == 2);
}

TEST(dns_response_roundtrip)
{
	static const uint8_t v4[4] = { 198, 18, 0, 7 };
	uint8_t v6[16], out[512], addrs[4][16];
	struct dns_question q;
	uint32_t ttl;
	size_t n, i;
	int rcode;

	inet_pton(AF_INET6, "64:ff9b:1:fffe::7", v6);

	REQUIRE(dns_parse_query(q_dig, sizeof(q_dig), &q) == DNS_OK);
	n = dns_build_response(&q, q_dig, sizeof(q_dig), DNS_RCODE_NOERROR,
			       AF_INET, v4, 5, out, sizeof(out));
	REQUIRE(n == 33 + 16);
	CHECK(out[0] == 0x8a && out[1] == 0x5d);
	CHECK(out[2] == 0x81 && out[3] == 0x80);  /* QR RD, RA */
	CHECK(out[5] == 1 && out[7] == 1 && out[9] == 0 && out[11] == 0);
	CHECK(!memcmp(out + 12, q_dig + 12, 21)); /* question as asked */
	CHECK(out[33] == 0xc0 && out[34] == 0x0c);
	CHECK(dns_parse_response(out, n, 0x8a5d, "api.example.com", DNS_T_A,
				 addrs, 4, &ttl, &rcode) == 1);
	CHECK(!memcmp(addrs[0], v4, 4) && ttl == 5 && rcode == 0);

	/* Every shorter output buffer fails cleanly */
	for (i = 0; i < n; i++)
		CHECK(dns_build_response(&q, q_dig, sizeof(q_dig), 0, AF_INET,
					 v4, 5, out, i) == 0);

	n = dns_build_query(0x1111, "Host.Example.", DNS_T_AAAA, out,
			    sizeof(out));
	REQUIRE(n == 12 + 14 + 4);
	REQUIRE(dns_parse_query(out, n, &q) == DNS_OK);
	CHECK_STR(q.name, "host.example");
	CHECK(q.qtype == DNS_T_AAAA);
	{
		uint8_t qb[64];

		memcpy(qb, out, n);
		n = dns_build_response(&q, qb, n, 0, AF_INET6, v6, 300, out,
				       sizeof(out));
		REQUIRE(n == 30 + 28);
		CHECK(dns_parse_response(out, n, 0x1111, "host.example",
					 DNS_T_AAAA, addrs, 4, &ttl,
					 &rcode) == 1);
		CHECK(!memcmp(addrs[0], v6, 16) && ttl == 300);
		/* NXDOMAIN, no answer */
		n = dns_build_response(&q, qb, 30, DNS_RCODE_NXDOMAIN, 0, NULL,
				       0, out, sizeof(out));
		REQUIRE(n == 30);
		CHECK(dns_parse_response(out, n, 0x1111, "host.example",
					 DNS_T_AAAA, addrs, 4, &ttl,
					 &rcode) == 0);
		CHECK(rcode == DNS_RCODE_NXDOMAIN);
		/* Bad family */
		CHECK(dns_build_response(&q, qb, 30, 0, AF_UNIX, v6, 1, out,
					 sizeof(out)) == 0);
	}

	/* Unparseable query: header only */
	n = dns_build_response(NULL, q_dig, 5, DNS_RCODE_FORMERR, 0, NULL, 0,
			       out, sizeof(out));
	REQUIRE(n == 12);
	CHECK(out[0] == 0x8a && out[1] == 0x5d && (out[3] & 0xf) == 1);
	CHECK(out[5] == 0 && out[7] == 0);
	/* NOTIMP after a parse that stopped at the header */
	{
		struct mb m;

		hdr(&m, 9, 0x2900, 1, 0); /* opcode 5 (UPDATE), RD */
		CHECK(dns_parse_query(m.d, m.n, &q) == DNS_NOTIMP);
		n = dns_build_response(&q, m.d, m.n, DNS_RCODE_NOTIMP, AF_INET,
				       v4, 1, out, sizeof(out));
		REQUIRE(n == 12);
		CHECK(out[0] == 0 && out[1] == 9 && out[2] == 0x81 &&
		      out[3] == 0x84 && out[7] == 0);
	}
}

TEST(dns_build_query_names)
{
	uint8_t out[512];
	char name[300];

	CHECK(dns_build_query(1, "a..b", 1, out, sizeof(out)) == 0);
	CHECK(dns_build_query(1, ".a", 1, out, sizeof(out)) == 0);
	CHECK(dns_build_query(1, ".", 1, out, sizeof(out)) == 17);
	CHECK(dns_build_query(1, "", 1, out, sizeof(out)) == 17);
	CHECK(dns_build_query(1, "a.b", 1, out, 20) == 0);
	CHECK(dns_build_query(1, NULL, 1, out, sizeof(out)) == 0);
	memset(name, 'a', 64);
	name[64] = '\0';
	CHECK(dns_build_query(1, name, 1, out, sizeof(out)) == 0);
	name[63] = '\0';
	CHECK(dns_build_query(1, name, 1, out, sizeof(out)) == 12 + 65 + 4);
}

/* www.example.com -> cdn.example.com -> edge.net -> 2 A records, with
 * compression pointers into the question and into earlier rdata */
static void chain(struct mb *m)
{
	size_t cdn, edge;

	hdr(m, 0x4242, 0x8180, 1, 5);
	question(m, "www.example.com", DNS_T_A);
	/* Something unrelated first */
	put16(m, 0xc010);                   /* example.com */
	rrhead(m, DNS_T_A, 1, 4);
	put32(m, 0x7f000001);
	/* www.example.com CNAME cdn.<ptr example.com> */
	put16(m, 0xc00c);
	rrhead(m, DNS_T_CNAME, 300, 6);
	cdn = m->n;
	putname(m, "cdn", 0);
	put16(m, 0xc010);
	/* An address before the CNAME that leads to it, name in full */
	putname(m, "EDGE.net", 1);
	rrhead(m, DNS_T_A, 60, 4);
	put32(m, 0x01020304);
	/* cdn.example.com CNAME edge.net */
	put16(m, 0xc000 | (unsigned)cdn);
	rrhead(m, DNS_T_CNAME, 120, 10);
	edge = m->n;
	putname(m, "edge.net", 1);
	put16(m, 0xc000 | (unsigned)edge);
	rrhead(m, DNS_T_A, 30, 4);
	put32(m, 0x05060708);
}

TEST(dns_response_cname_chain)
{
	uint8_t addrs[4][16];
	struct mb m;
	uint32_t ttl;
	int rcode;
	size_t n;

	chain(&m);
	CHECK(parse(&m, "WWW.example.com.", DNS_T_A, addrs, 4, &ttl,
		    &rcode) == 2);
	CHECK(ttl == 30 && rcode == 0);
	CHECK(addrs[0][0] == 1 && addrs[0][3] == 4);
	CHECK(addrs[1][0] == 5 && addrs[1][3] == 8);
	CHECK(addrs[0][4] == 0 && addrs[0][15] == 0);
	/* Room for one */
	CHECK(parse(&m, "www.example.com", DNS_T_A, addrs, 1, &ttl, &rcode) ==
	      1);
	CHECK(addrs[0][0] == 1 && ttl == 60);
	/* Not our question */
	CHECK(parse(&m, "ww.example.com", DNS_T_A, addrs, 4, &ttl, &rcode) ==
	      -1);
	CHECK(parse(&m, "www.example.com", DNS_T_AAAA, addrs, 4, &ttl,
		    &rcode) == -1);
	m.d[0] = 0x43;
	CHECK(parse(&m, "www.example.com", DNS_T_A, addrs, 4, &ttl, &rcode) ==
	      -1);
	m.d[0] = 0x42;
	m.d[2] &= 0x7f; /* QR clear */
	CHECK(parse(&m, "www.example.com", DNS_T_A, addrs, 4, &ttl, &rcode) ==
	      -1);
	m.d[2] |= 0x80;

	/* Every truncation is malformed, none crashes */
	{
		struct mb t = m;

		for (n = 0; n < m.n; n++) {
			t.n = n;
			CHECK(parse(&t, "www.example.com", DNS_T_A, addrs, 4,
				    &ttl, &rcode) == -1);
		}
	}
}

TEST(dns_response_bad_pointers)
{
	uint8_t addrs[4][16];
	struct mb m;
	uint32_t ttl;
	int rcode;
	size_t at;

	/* Owner name pointing at itself */
	hdr(&m, 0x4242, 0x8180, 1, 1);
	question(&m, "a.example", DNS_T_A);
	at = m.n;
	put16(&m, 0xc000 | (unsigned)at);
	rrhead(&m, DNS_T_A, 1, 4);
	put32(&m, 1);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == -1);

	/* Two pointers pointing at each other: a label then a pointer back,
	 * and a pointer to that label */
	hdr(&m, 0x4242, 0x8180, 1, 2);
	question(&m, "a.example", DNS_T_A);
	at = m.n;
	put16(&m, 0xc00c);
	rrhead(&m, DNS_T_CNAME, 1, 4);
	putname(&m, "x", 0);
	put16(&m, 0xc000 | (unsigned)(at + 12)); /* x + pointer to itself */
	put16(&m, 0xc000 | (unsigned)(at + 12));
	rrhead(&m, DNS_T_A, 1, 4);
	put32(&m, 1);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == -1);

	/* Pointer past the end, pointer in the middle of the header */
	hdr(&m, 0x4242, 0x8180, 1, 1);
	question(&m, "a.example", DNS_T_A);
	put16(&m, 0xc3ff);
	rrhead(&m, DNS_T_A, 1, 4);
	put32(&m, 1);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == -1);
	m.d[m.n - 14] = 0x00;
	m.d[m.n - 13] = 0x05; /* -> "\x01\x00..." in the header: junk */
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) <= 0);

	/* Extended label type 0x40 */
	hdr(&m, 0x4242, 0x8180, 1, 1);
	question(&m, "a.example", DNS_T_A);
	put8(&m, 0x41);
	put8(&m, 0);
	rrhead(&m, DNS_T_A, 1, 4);
	put32(&m, 1);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == -1);

	/* Wrong rdlength for an A record on the chain */
	hdr(&m, 0x4242, 0x8180, 1, 1);
	question(&m, "a.example", DNS_T_A);
	put16(&m, 0xc00c);
	rrhead(&m, DNS_T_A, 1, 5);
	put32(&m, 1);
	put8(&m, 1);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == -1);

	/* CNAME target not filling its rdata */
	hdr(&m, 0x4242, 0x8180, 1, 1);
	question(&m, "a.example", DNS_T_A);
	put16(&m, 0xc00c);
	rrhead(&m, DNS_T_CNAME, 1, 4);
	put16(&m, 0xc00c);
	put16(&m, 0);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == -1);
}

TEST(dns_response_cname_limits)
{
	uint8_t addrs[4][16];
	struct mb m;
	uint32_t ttl;
	int rcode, hops;
	char a[8], b[8];

	/* CNAME loop a -> b -> a */
	hdr(&m, 0x4242, 0x8180, 1, 2);
	question(&m, "a.example", DNS_T_A);
	putname(&m, "a.example", 1);
	rrhead(&m, DNS_T_CNAME, 1, 11);
	putname(&m, "b.example", 1);
	putname(&m, "b.example", 1);
	rrhead(&m, DNS_T_CNAME, 1, 11);
	putname(&m, "a.example", 1);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == -1);

	/* Chains of 8 CNAMEs are followed, 9 are not */
	for (hops = 8; hops <= 9; hops++) {
		int i;

		hdr(&m, 0x4242, 0x8180, 1, (unsigned)hops + 1);
		question(&m, "h0", DNS_T_A);
		for (i = 0; i < hops; i++) {
			snprintf(a, sizeof(a), "h%d", i);
			snprintf(b, sizeof(b), "h%d", i + 1);
			putname(&m, a, 1);
			rrhead(&m, DNS_T_CNAME, 100, 4);
			putname(&m, b, 1);
		}
		putname(&m, b, 1);
		rrhead(&m, DNS_T_A, 100, 4);
		put32(&m, 0x0a000001);
		CHECK(parse(&m, "h0", DNS_T_A, addrs, 4, &ttl, &rcode) ==
		      (hops == 8 ? 1 : -1));
	}

	/* Chain ending without addresses: NODATA */
	hdr(&m, 0x4242, 0x8180, 1, 1);
	question(&m, "a.example", DNS_T_AAAA);
	put16(&m, 0xc00c);
	rrhead(&m, DNS_T_CNAME, 1, 11);
	putname(&m, "b.example", 1);
	CHECK(parse(&m, "a.example", DNS_T_AAAA, addrs, 4, &ttl, &rcode) == 0);
	CHECK(ttl == 0);

	/* SERVFAIL without a question */
	hdr(&m, 0x4242, 0x8182, 0, 0);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == 0);
	CHECK(rcode == DNS_RCODE_SERVFAIL);
	/* NOERROR without a question */
	hdr(&m, 0x4242, 0x8180, 0, 0);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == -1);
	/* TTL with the top bit set counts as 0 */
	hdr(&m, 0x4242, 0x8180, 1, 1);
	question(&m, "a.example", DNS_T_A);
	put16(&m, 0xc00c);
	rrhead(&m, DNS_T_A, 0x80000000u, 4);
	put32(&m, 1);
	CHECK(parse(&m, "a.example", DNS_T_A, addrs, 4, &ttl, &rcode) == 1);
	CHECK(ttl == 0);
	/* Unsupported qtype */
	CHECK(parse(&m, "a.example", DNS_T_CNAME, addrs, 4, &ttl, &rcode) ==
	      -1);
}
