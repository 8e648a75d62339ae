// SPDX-License-Identifier: MIT
/* test_der.c - the DER writer against known encodings. */
#include <stdint.h>
#include <stdlib.h>

#include "der.h"
#include "unit.h"

#define EXPECT(d, ...)                                                      \
	do {                                                                \
		static const uint8_t exp_[] = { __VA_ARGS__ };              \
		CHECK(!der_error(d));                                       \
		CHECK(der_len(d) == sizeof(exp_));                          \
		CHECK(der_len(d) == sizeof(exp_) &&                         \
		      !memcmp((d)->buf, exp_, sizeof(exp_)));               \
	} while (0)

TEST(der_integer)
{
	uint8_t buf[64];
	struct der d;
	static const uint8_t v80[] = { 0x80 }, v7f[] = { 0x7f },
			     lead0[] = { 0, 0, 0x01, 0x00 }, zero[] = { 0, 0 };

	der_init(&d, buf, sizeof(buf));
	der_int_bytes(&d, v80, 1);
	EXPECT(&d, 0x02, 0x02, 0x00, 0x80);

	der_init(&d, buf, sizeof(buf));
	der_int_bytes(&d, v7f, 1);
	EXPECT(&d, 0x02, 0x01, 0x7f);

	der_init(&d, buf, sizeof(buf));
	der_int_bytes(&d, lead0, sizeof(lead0));
	EXPECT(&d, 0x02, 0x02, 0x01, 0x00);

	der_init(&d, buf, sizeof(buf));
	der_int_bytes(&d, zero, sizeof(zero));
	EXPECT(&d, 0x02, 0x01, 0x00);

	der_init(&d, buf, sizeof(buf));
	der_int_bytes(&d, NULL, 0);
	EXPECT(&d, 0x02, 0x01, 0x00);

	der_init(&d, buf, sizeof(buf));
	der_int(&d, 2);
	der_int(&d, 0);
	der_int(&d, 128);
	der_int(&d, 256);
	EXPECT(&d, 0x02, 0x01, 0x02, 0x02, 0x01, 0x00, 0x02, 0x02, 0x00, 0x80,
	       0x02, 0x02, 0x01, 0x00);
}

/* A SEQUENCE of @n content bytes, each 0xab, inside another SEQUENCE */
static void nested(size_t n, uint8_t *buf, size_t cap, struct der *d)
{
	size_t outer, inner, i;

	der_init(d, buf, cap);
	outer = der_begin(d, DER_SEQUENCE);
	inner = der_begin(d, DER_OCTET_STRING);
	for (i = 0; i < n; i++)
		der_raw(d, "\xab", 1);
	der_end(d, inner);
	der_end(d, outer);
}

TEST(der_lengths)
{
	static uint8_t buf[70000];
	struct der d;

	/* 127: short form on both levels? inner 127 short, outer 129 long */
	nested(127, buf, sizeof(buf), &d);
	REQUIRE(!der_error(&d));
	CHECK(der_len(&d) == 3 + 2 + 127);
	CHECK(buf[0] == 0x30 && buf[1] == 0x81 && buf[2] == 129);
	CHECK(buf[3] == 0x04 && buf[4] == 127 && buf[5] == 0xab);
	CHECK(buf[der_len(&d) - 1] == 0xab);

	nested(128, buf, sizeof(buf), &d);
	REQUIRE(!der_error(&d));
	CHECK(der_len(&d) == 3 + 3 + 128);
	CHECK(buf[1] == 0x81 && buf[2] == 131);
	CHECK(buf[3] == 0x04 && buf[4] == 0x81 && buf[5] == 128);
	CHECK(buf[6] == 0xab && buf[der_len(&d) - 1] == 0xab);

	nested(256, buf, sizeof(buf), &d);
	REQUIRE(!der_error(&d));
	CHECK(der_len(&d) == 4 + 4 + 256);
	CHECK(buf[1] == 0x82 && buf[2] == 0x01 && buf[3] == 0x04);
	CHECK(buf[4] == 0x04 && buf[5] == 0x82 && buf[6] == 0x01 &&
	      buf[7] == 0x00);

	nested(65536, buf, sizeof(buf), &d);
	REQUIRE(!der_error(&d));
	CHECK(buf[4 + 1] == 0x04 && buf[6] == 0x83 && buf[7] == 0x01 &&
	      buf[8] == 0 && buf[9] == 0);

	/* short: 0..127 */
	nested(0, buf, sizeof(buf), &d);
	EXPECT(&d, 0x30, 0x02, 0x04, 0x00);

	/* der_tlv long lengths, directly */
	{
		static uint8_t big[300];

		der_init(&d, buf, sizeof(buf));
		der_octets(&d, big, 200);
		CHECK(!der_error(&d) && buf[1] == 0x81 && buf[2] == 200 &&
		      der_len(&d) == 203);
		der_init(&d, buf, sizeof(buf));
		der_octets(&d, big, 300);
		CHECK(!der_error(&d) && buf[1] == 0x82 && buf[2] == 0x01 &&
		      buf[3] == 0x2c && der_len(&d) == 304);
	}
}

TEST(der_overflow_sticky)
{
	uint8_t buf[8];
	struct der d;
	size_t m;

	der_init(&d, buf, sizeof(buf));
	der_octets(&d, "0123456789", 10);
	CHECK(der_error(&d) == DER_E_SPACE);
	der_int(&d, 1); /* would fit, but the error is sticky */
	CHECK(der_error(&d) == DER_E_SPACE);

	/* overflow found only when der_end() needs room for a long length */
	{
		static uint8_t b2[131];

		der_init(&d, b2, sizeof(b2));
		m = der_begin(&d, DER_SEQUENCE);
		while (der_len(&d) < sizeof(b2))
			der_raw(&d, "x", 1);
		CHECK(!der_error(&d));
		der_end(&d, m);
		CHECK(der_error(&d) == DER_E_SPACE);
	}

	/* bad mark */
	der_init(&d, buf, sizeof(buf));
	der_end(&d, 5);
	CHECK(der_error(&d) == DER_E_VALUE);

	/* a zero-size buffer */
	der_init(&d, NULL, 0);
	der_bool(&d, 1);
	CHECK(der_error(&d) == DER_E_SPACE);
}

TEST(der_types)
{
	uint8_t buf[128];
	struct der d;
	static const uint8_t oid_cn[] = { 0x55, 0x04, 0x03 };
	size_t m;

	der_init(&d, buf, sizeof(buf));
	der_bool(&d, 1);
	der_bool(&d, 0);
	der_null(&d);
	der_oid(&d, oid_cn, sizeof(oid_cn));
	EXPECT(&d, 0x01, 0x01, 0xff, 0x01, 0x01, 0x00, 0x05, 0x00, 0x06, 0x03,
	       0x55, 0x04, 0x03);

	der_init(&d, buf, sizeof(buf));
	der_utf8(&d, "ab", 2);
	der_printable(&d, "A b", 3);
	der_ia5(&d, DER_CTX_PRIM(2), "x.y", 3);
	EXPECT(&d, 0x0c, 0x02, 'a', 'b', 0x13, 0x03, 'A', ' ', 'b', 0x82, 0x03,
	       'x', '.', 'y');

	der_init(&d, buf, sizeof(buf));
	der_printable(&d, "a@b", 3); /* @ is not printable */
	CHECK(der_error(&d) == DER_E_VALUE);
	der_init(&d, buf, sizeof(buf));
	der_ia5(&d, DER_IA5STRING, "\xc3\xa9", 2);
	CHECK(der_error(&d) == DER_E_VALUE);
	der_init(&d, buf, sizeof(buf));
	der_utf8(&d, "a\0b", 3);
	CHECK(der_error(&d) == DER_E_VALUE);
	der_init(&d, buf, sizeof(buf));
	der_oid(&d, (const uint8_t *)"\x86", 1); /* unfinished arc */
	CHECK(der_error(&d) == DER_E_VALUE);

	/* keyUsage: keyCertSign|cRLSign = 03 02 01 06; digitalSignature 03 02 07 80 */
	der_init(&d, buf, sizeof(buf));
	der_named_bits(&d, (1u << 5) | (1u << 6));
	der_named_bits(&d, 1u << 0);
	der_named_bits(&d, 1u << 8); /* decipherOnly: second byte */
	der_named_bits(&d, 0);
	EXPECT(&d, 0x03, 0x02, 0x01, 0x06, 0x03, 0x02, 0x07, 0x80, 0x03, 0x03,
	       0x07, 0x00, 0x80, 0x03, 0x01, 0x00);

	der_init(&d, buf, sizeof(buf));
	der_bits(&d, "\x04\x01", 2);
	der_octets(&d, "\x01", 1);
	EXPECT(&d, 0x03, 0x03, 0x00, 0x04, 0x01, 0x04, 0x01, 0x01);

	/* [0] EXPLICIT INTEGER 2 (the version), [3] wrapping an empty SEQUENCE */
	der_init(&d, buf, sizeof(buf));
	m = der_begin(&d, DER_CTX_CONS(0));
	der_int(&d, 2);
	der_end(&d, m);
	m = der_begin(&d, DER_CTX_CONS(3));
	der_end(&d, der_begin(&d, DER_SEQUENCE));
	der_end(&d, m);
	m = der_begin(&d, DER_SET);
	der_end(&d, m);
	EXPECT(&d, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa3, 0x02, 0x30, 0x00, 0x31,
	       0x00);
}

TEST(der_time)
{
	uint8_t buf[64];
	struct der d;

	der_init(&d, buf, sizeof(buf));
	der_time(&d, 0); /* 1970-01-01 00:00:00 */
	EXPECT(&d, 0x17, 13, '7', '0', '0', '1', '0', '1', '0', '0', '0', '0',
	       '0', '0', 'Z');

	der_init(&d, buf, sizeof(buf));
	der_time(&d, 2524608000); /* 2050-01-01: GeneralizedTime */
	EXPECT(&d, 0x18, 15, '2', '0', '5', '0', '0', '1', '0', '1', '0', '0',
	       '0', '0', '0', '0', 'Z');

	der_init(&d, buf, sizeof(buf));
	der_time(&d, 2524607999); /* 2049-12-31 23:59:59: still UTCTime */
	EXPECT(&d, 0x17, 13, '4', '9', '1', '2', '3', '1', '2', '3', '5', '9',
	       '5', '9', 'Z');

	der_init(&d, buf, sizeof(buf));
	der_time(&d, -631152001); /* 1949-12-31 23:59:59 */
	EXPECT(&d, 0x18, 15, '1', '9', '4', '9', '1', '2', '3', '1', '2', '3',
	       '5', '9', '5', '9', 'Z');
}
