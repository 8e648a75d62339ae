// SPDX-License-Identifier: MIT
/*
 * test_ecfast.c - the libcrypto-backed br_ec_impl (src/ecfast.c) against
 * RFC 7748's vectors and, on random inputs, against BearSSL's own code;
 * its refusals; and ECDSA signatures made with one, checked with the other.
 */
#include <stdint.h>
#include <string.h>

#include <bearssl.h>

#include "ecfast.h"
#include "unit.h"

static void unhex(const char *h, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned v = 0;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void fill(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		p[i] = (unsigned char)rng_state;
	}
}

/* a random P-256 scalar: nonzero and below the order */
static void p256_scalar(unsigned char k[32])
{
	fill(k, 32);
	k[0] &= 0x7f;
	k[31] |= 1;
}

static const br_ec_impl *fast(void)
{
	if (ecfast_init() < 0)
		return NULL;
	return ecfast_impl();
}

TEST(ecfast_is_in_use)
{
	REQUIRE(fast() != NULL);
	CHECK(ecfast_active());
	CHECK(fast() != &br_ec_all_m31);
	CHECK(fast()->supported_curves == br_ec_all_m31.supported_curves);
}

TEST(ecfast_x25519_rfc7748_vectors)
{
	const br_ec_impl *f = fast();
	unsigned char k[32], u[32], want[32], pub[32];

	REQUIRE(f);
	/* section 5.2 */
	unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", k, 32);
	unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", u, 32);
	unhex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552", want, 32);
	CHECK(f->mul(u, 32, k, 32, BR_EC_curve25519) == 1);
	CHECK(memcmp(u, want, 32) == 0);
	unhex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", k, 32);
	unhex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", u, 32);
	unhex("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957", want, 32);
	CHECK(f->mul(u, 32, k, 32, BR_EC_curve25519) == 1);
	CHECK(memcmp(u, want, 32) == 0);
	/* section 6.1: Alice's public key, and the secret she shares with Bob */
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", k, 32);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want, 32);
	CHECK(f->mulgen(pub, k, 32, BR_EC_curve25519) == 32);
	CHECK(memcmp(pub, want, 32) == 0);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", u, 32);
	unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
	CHECK(f->mul(u, 32, k, 32, BR_EC_curve25519) == 1);
	CHECK(memcmp(u, want, 32) == 0);
}

TEST(ecfast_x25519_matches_bearssl_on_random_inputs)
{
	const br_ec_impl *f = fast();
	unsigned char k[32], a[32], b[32];
	int i;

	REQUIRE(f);
	for (i = 0; i < 200; i++) {
		size_t klen = i % 4 == 3 ? 31 : 32; /* short scalars too */

		fill(k, klen);
		CHECK(f->mulgen(a, k, klen, BR_EC_curve25519) == 32);
		CHECK(br_ec_all_m31.mulgen(b, k, klen, BR_EC_curve25519) == 32);
		CHECK(memcmp(a, b, 32) == 0);
		fill(a, 32);
		if (i % 2)
			a[31] |= 0x80; /* the top bit is ignored */
		memcpy(b, a, 32);
		CHECK(f->mul(a, 32, k, klen, BR_EC_curve25519) == 1);
		CHECK(br_ec_all_m31.mul(b, 32, k, klen, BR_EC_curve25519) == 1);
		CHECK(memcmp(a, b, 32) == 0);
	}
}

TEST(ecfast_x25519_refuses_small_order_points_and_bad_lengths)
{
	const br_ec_impl *f = fast();
	unsigned char k[33], u[33];

	REQUIRE(f);
	fill(k, 33);
	memset(u, 0, sizeof(u)); /* u = 0: the result is all zeros */
	CHECK(f->mul(u, 32, k, 32, BR_EC_curve25519) == 0);
	memset(u, 0, sizeof(u)); /* u = 1, of order 4 */
	u[0] = 1;
	CHECK(f->mul(u, 32, k, 32, BR_EC_curve25519) == 0);
	memset(u, 0, sizeof(u));
	u[0] = 9;
	CHECK(f->mul(u, 31, k, 32, BR_EC_curve25519) == 0);
	CHECK(f->mul(u, 33, k, 32, BR_EC_curve25519) == 0);
	CHECK(f->mul(u, 32, k, 33, BR_EC_curve25519) == 0); /* scalar too long */
}

TEST(ecfast_p256_matches_bearssl_on_random_inputs)
{
	const br_ec_impl *f = fast();
	unsigned char k[32], k2[32], a[65], b[65], p[65], q[65];
	int i;

	REQUIRE(f);
	for (i = 0; i < 100; i++) {
		size_t klen = i % 5 == 4 ? 20 : 32;

		p256_scalar(k);
		p256_scalar(k2);
		CHECK(f->mulgen(a, k, klen, BR_EC_secp256r1) == 65);
		CHECK(br_ec_all_m31.mulgen(b, k, klen, BR_EC_secp256r1) == 65);
		CHECK(memcmp(a, b, 65) == 0);
		/* a random point, times a random scalar */
		memcpy(p, a, 65);
		CHECK(f->mul(a, 65, k2, 32, BR_EC_secp256r1) == 1);
		CHECK(br_ec_all_m31.mul(b, 65, k2, 32, BR_EC_secp256r1) == 1);
		CHECK(memcmp(a, b, 65) == 0);
		/* k*P + k2*G, and k*P + k2*Q */
		memcpy(a, p, 65);
		memcpy(b, p, 65);
		CHECK(f->muladd(a, NULL, 65, k, 32, k2, klen, BR_EC_secp256r1) == 1);
		CHECK(br_ec_all_m31.muladd(b, NULL, 65, k, 32, k2, klen,
					   BR_EC_secp256r1) == 1);
		CHECK(memcmp(a, b, 65) == 0);
		CHECK(br_ec_all_m31.mulgen(q, k2, 32, BR_EC_secp256r1) == 65);
		p256_scalar(k2);
		memcpy(a, p, 65);
		memcpy(b, p, 65);
		CHECK(f->muladd(a, q, 65, k, 32, k2, 32, BR_EC_secp256r1) == 1);
		CHECK(br_ec_all_m31.muladd(b, q, 65, k, 32, k2, 32,
					   BR_EC_secp256r1) == 1);
		CHECK(memcmp(a, b, 65) == 0);
	}
}

TEST(ecfast_p256_refuses_bad_points_and_scalars)
{
	const br_ec_impl *f = fast();
	unsigned char k[32], g[65], a[65], zero[32] = { 0 };
	const unsigned char *gen;
	size_t glen;

	REQUIRE(f);
	p256_scalar(k);
	gen = f->generator(BR_EC_secp256r1, &glen);
	REQUIRE(glen == 65);
	memcpy(g, gen, 65);
	/* off the curve */
	memcpy(a, g, 65);
	a[64] ^= 1;
	CHECK(f->mul(a, 65, k, 32, BR_EC_secp256r1) == 0);
	/* compressed and hybrid forms, wrong lengths */
	memcpy(a, g, 65);
	a[0] = 0x02;
	CHECK(f->mul(a, 65, k, 32, BR_EC_secp256r1) == 0);
	memcpy(a, g, 65);
	CHECK(f->mul(a, 64, k, 32, BR_EC_secp256r1) == 0);
	CHECK(f->mul(a, 33, k, 32, BR_EC_secp256r1) == 0);
	/* a zero scalar */
	memcpy(a, g, 65);
	CHECK(f->mul(a, 65, zero, 32, BR_EC_secp256r1) == 0);
	/* x*A + y*G at infinity: A = G, x = 1, y = n - 1 */
	{
		const unsigned char *n;
		size_t nlen;
		unsigned char one[1] = { 1 }, nm1[32];

		n = f->order(BR_EC_secp256r1, &nlen);
		REQUIRE(nlen == 32);
		memcpy(nm1, n, 32);
		nm1[31] -= 1; /* n ends in ...51: no borrow */
		memcpy(a, g, 65);
		CHECK(f->muladd(a, NULL, 65, one, 1, nm1, 32, BR_EC_secp256r1) == 0);
	}
}

TEST(ecfast_ecdsa_signatures_verify_across_implementations)
{
	const br_ec_impl *f = fast();
	unsigned char skb[32], pkb[65], hash[32], sig[80];
	br_ec_private_key sk;
	br_ec_public_key pk;
	size_t n;
	int i;

	REQUIRE(f);
	for (i = 0; i < 20; i++) {
		p256_scalar(skb);
		sk.curve = BR_EC_secp256r1;
		sk.x = skb;
		sk.xlen = 32;
		REQUIRE(br_ec_compute_pub(f, &pk, pkb, &sk) == 65);
		fill(hash, 32);
		n = br_ecdsa_i31_sign_asn1(f, &br_sha256_vtable, hash, &sk, sig);
		REQUIRE(n > 0);
		CHECK(br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, 32, &pk, sig, n) == 1);
		CHECK(br_ecdsa_i31_vrfy_asn1(f, hash, 32, &pk, sig, n) == 1);
		hash[0] ^= 1;
		CHECK(br_ecdsa_i31_vrfy_asn1(f, hash, 32, &pk, sig, n) == 0);
		n = br_ecdsa_i31_sign_asn1(&br_ec_all_m31, &br_sha256_vtable, hash,
					   &sk, sig);
		REQUIRE(n > 0);
		CHECK(br_ecdsa_i31_vrfy_asn1(f, hash, 32, &pk, sig, n) == 1);
	}
}
