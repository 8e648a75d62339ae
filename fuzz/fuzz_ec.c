// SPDX-License-Identifier: MIT
/*
 * fuzz_ec.c - libFuzzer target: the libcrypto-backed br_ec_impl
 * (src/ecfast.c) against BearSSL's own, on points and scalars of the
 * fuzzer's choosing (a TLS peer chooses the point in every ECDHE).
 *
 * Input: one byte picks the operation (P-256 mul, X25519 mul, P-256
 * muladd with the generator, P-256 muladd with a second point); one byte
 * each gives the lengths of the points; then the points and the scalars.
 * Where BearSSL's result is defined (scalars nonzero and below the order),
 * both must agree exactly; an X25519 result BearSSL computes as all zeros
 * must be refused by ours. Anything else must simply not crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "ecfast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* nonzero and below the curve order (P-256) */
static int scalar_ok(const br_ec_impl *f, const uint8_t *x, size_t xlen)
{
	const unsigned char *n;
	size_t nlen, i;
	unsigned char pad[32];
	int nz = 0;

	if (xlen == 0 || xlen > 32)
		return 0;
	n = f->order(BR_EC_secp256r1, &nlen);
	memset(pad, 0, sizeof(pad));
	memcpy(pad + 32 - xlen, x, xlen);
	for (i = 0; i < 32; i++)
		nz |= pad[i];
	return nz && memcmp(pad, n, nlen) < 0;
}

static const uint8_t *take(const uint8_t **p, size_t *left, size_t n)
{
	const uint8_t *r = *p;

	if (n > *left)
		return NULL;
	*p += n;
	*left -= n;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	const br_ec_impl *f, *s = &br_ec_all_m31;
	unsigned char a[80], b[80];
	const uint8_t *p = data, *pt1, *pt2 = NULL, *x, *y = NULL;
	size_t left = size, l1, l2 = 0, xlen, ylen = 0;
	uint32_t rf, rs;
	int op;

	if (!init) {
		if (ecfast_init() < 0)
			abort(); /* the fuzzer is about our code */
		init = 1;
	}
	f = ecfast_impl();
	if (size < 3)
		return 0;
	op = data[0] & 3;
	l1 = data[1] % 70;
	p += 2;
	left -= 2;
	if (op == 3) {
		l2 = data[2] % 70;
		p++;
		left--;
	}
	pt1 = take(&p, &left, l1);
	if (op == 3)
		pt2 = take(&p, &left, l2);
	if (!pt1 || (op == 3 && !pt2))
		return 0;
	xlen = left > 33 ? 33 : left;
	if (op >= 2)
		xlen = left / 2 > 33 ? 33 : left / 2;
	x = take(&p, &left, xlen);
	if (op >= 2) {
		ylen = left > 33 ? 33 : left;
		y = take(&p, &left, ylen);
	}

	memset(a, 0, sizeof(a));
	memcpy(a, pt1, l1);
	memcpy(b, a, sizeof(b));
	switch (op) {
	case 0: /* P-256: point times scalar (ECDH) */
		rf = f->mul(a, l1, x, xlen, BR_EC_secp256r1);
		if (!scalar_ok(f, x, xlen))
			break;
		rs = s->mul(b, l1, x, xlen, BR_EC_secp256r1);
		if (rf != rs || (rf && memcmp(a, b, 65) != 0))
			abort();
		break;
	case 1: { /* X25519 */
		static const unsigned char zero[32];

		rf = f->mul(a, l1, x, xlen, BR_EC_curve25519);
		rs = s->mul(b, l1, x, xlen, BR_EC_curve25519);
		if (rs && memcmp(b, zero, 32) == 0)
			rs = 0; /* ours refuses a small-order point's result */
		if (rf != rs || (rf && memcmp(a, b, 32) != 0))
			abort();
		break;
	}
	default: { /* P-256: x*A + y*B, B the generator for op 2 */
		unsigned char pb[80];

		memset(pb, 0, sizeof(pb));
		if (pt2)
			memcpy(pb, pt2, l2);
		if (op == 3 && l1 != l2)
			break; /* one common length, by the interface */
		rf = f->muladd(a, op == 3 ? pb : NULL, l1, x, xlen, y, ylen,
			       BR_EC_secp256r1);
		if (!scalar_ok(f, x, xlen) || !scalar_ok(f, y, ylen))
			break;
		rs = s->muladd(b, op == 3 ? pb : NULL, l1, x, xlen, y, ylen,
			       BR_EC_secp256r1);
		if (rf != rs || (rf && memcmp(a, b, 65) != 0))
			abort();
		break;
	}
	}
	return 0;
}
