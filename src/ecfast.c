// SPDX-License-Identifier: MIT
/*
 * ecfast.c - BearSSL's br_ec_impl over libcrypto's P-256 and X25519.
 *
 * BearSSL calls an EC implementation through five functions (generator,
 * order, xoff, mul, mulgen, muladd). This one answers P-256 (secp256r1)
 * and Curve25519 with libcrypto and hands every other curve, and every
 * lookup, to br_ec_all_m31. Encodings are BearSSL's:
 *
 *  - P-256 points are uncompressed (0x04, X, Y: 65 bytes); scalars are
 *    unsigned big-endian, at most 32 bytes.
 *  - Curve25519 points and scalars are RFC 7748's 32-byte little-endian
 *    strings (whatever bearssl_ec.h says of multipliers in general), the
 *    scalar clamped by both libraries alike. A shorter scalar has its
 *    missing (high) bytes zero, as in BearSSL 0.6.
 *
 * Secret scalars live in a stack buffer and a BIGNUM (BN_FLG_CONSTTIME),
 * both wiped after use; libcrypto's fixed-base and variable-base P-256
 * code and its X25519 are the constant-time code its own ECDSA and ECDH
 * use. If libcrypto fails for any reason but bad input (memory), the
 * BearSSL implementation answers instead: mulgen() must never fail (its
 * callers use the length it returns without checking).
 *
 * Single-threaded: the BN_CTX and the group are the process's.
 */
#include "ecfast.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "log.h"

#define P256_POINT 65
#define X25519_LEN 32

static EC_GROUP *p256;
static BN_CTX *bnctx;
static int active;

static const br_ec_impl *const slow = &br_ec_all_m31;

/* ------------------------------------------------------------------ */
/* P-256                                                               */

/* 1 if the @n bytes are all zero, without branching on them */
static int all_zero(const unsigned char *p, size_t n)
{
	unsigned char acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static BIGNUM *scalar(const unsigned char *x, size_t xlen)
{
	BIGNUM *k = BN_secure_new();

	if (!k)
		return NULL;
	BN_set_flags(k, BN_FLG_CONSTTIME);
	if (!BN_bin2bn(x, (int)xlen, k) || BN_is_zero(k)) {
		BN_clear_free(k);
		return NULL;
	}
	return k;
}

/* Encode @P into @out (65 bytes); 0 if it is the point at infinity */
static int p256_put(const EC_POINT *P, unsigned char *out)
{
	if (EC_POINT_is_at_infinity(p256, P))
		return 0;
	return EC_POINT_point2oct(p256, P, POINT_CONVERSION_UNCOMPRESSED, out,
				  P256_POINT, bnctx) == P256_POINT;
}

/* A point the peer sent: uncompressed, on the curve (cofactor 1) */
static EC_POINT *p256_get(const unsigned char *in, size_t len)
{
	EC_POINT *P;

	if (len != P256_POINT || in[0] != 0x04)
		return NULL;
	P = EC_POINT_new(p256);
	if (P && !EC_POINT_oct2point(p256, P, in, len, bnctx)) {
		EC_POINT_free(P);
		return NULL;
	}
	return P;
}

/* x*P, or x*G when @P is NULL, into @out (65 bytes): 1 done, 0 the point
 * at infinity, -1 libcrypto failed */
static int p256_kmul(const EC_POINT *P, const unsigned char *x, size_t xlen,
		     unsigned char *out)
{
	BIGNUM *k = scalar(x, xlen);
	EC_POINT *R = EC_POINT_new(p256);
	int ret = -1;

	if (k && R &&
	    EC_POINT_mul(p256, R, P ? NULL : k, P, P ? k : NULL, bnctx))
		ret = p256_put(R, out);
	BN_clear_free(k);
	EC_POINT_clear_free(R);
	return ret;
}

/* 1 done, 0 bad input, -1 libcrypto failed (try BearSSL's) */
static int p256_mul(unsigned char *G, size_t Glen, const unsigned char *x,
		    size_t xlen)
{
	EC_POINT *P;
	int ret;

	if (Glen != P256_POINT || G[0] != 0x04 || xlen == 0 || xlen > 32 ||
	    all_zero(x, xlen))
		return 0;
	P = p256_get(G, Glen);
	if (!P) {
		/* a point off the curve, or no memory: BearSSL tells which */
		return -1;
	}
	ret = p256_kmul(P, x, xlen, G);
	EC_POINT_free(P);
	return ret;
}

static size_t p256_mulgen(unsigned char *R, const unsigned char *x,
			  size_t xlen)
{
	if (xlen == 0 || xlen > 32)
		return 0;
	return p256_kmul(NULL, x, xlen, R) == 1 ? P256_POINT : 0;
}

/* x*A + y*B (B = the generator when NULL): public values (verification) */
static int p256_muladd(unsigned char *A, const unsigned char *B, size_t len,
		       const unsigned char *x, size_t xlen,
		       const unsigned char *y, size_t ylen)
{
	EC_POINT *PA = NULL, *PB = NULL, *R = NULL, *T = NULL;
	BIGNUM *bx = NULL, *by = NULL;
	int ret = -1;

	if (len != P256_POINT || xlen == 0 || xlen > 32 || ylen == 0 ||
	    ylen > 32)
		return 0;
	PA = p256_get(A, len);
	if (B)
		PB = p256_get(B, len);
	bx = scalar(x, xlen);
	by = scalar(y, ylen);
	R = EC_POINT_new(p256);
	if (!PA || (B && !PB) || !bx || !by || !R)
		goto out; /* bad points and zero scalars: BearSSL's answer */
	if (!B) {
		if (EC_POINT_mul(p256, R, by, PA, bx, bnctx))
			ret = p256_put(R, A);
	} else {
		T = EC_POINT_new(p256);
		if (T && EC_POINT_mul(p256, R, NULL, PA, bx, bnctx) &&
		    EC_POINT_mul(p256, T, NULL, PB, by, bnctx) &&
		    EC_POINT_add(p256, R, R, T, bnctx))
			ret = p256_put(R, A);
	}
out:
	EC_POINT_free(T);
	EC_POINT_free(R);
	BN_free(bx);
	BN_free(by);
	EC_POINT_free(PB);
	EC_POINT_free(PA);
	return ret;
}

/* ------------------------------------------------------------------ */
/* X25519                                                              */

/* The scalar as 32 bytes, its missing high bytes zero (as BearSSL's) */
static void x25519_key(unsigned char k[X25519_LEN], const unsigned char *x,
		       size_t xlen)
{
	memcpy(k, x, xlen);
	memset(k + xlen, 0, X25519_LEN - xlen);
}

/* 1 done, -1 libcrypto failed or the result is all zeros (@G is then
 * untouched, for BearSSL's code to try) */
static int x25519_mul(unsigned char *G, const unsigned char *x, size_t xlen)
{
	unsigned char k[X25519_LEN], u[X25519_LEN], out[X25519_LEN];
	EVP_PKEY *priv, *peer = NULL;
	EVP_PKEY_CTX *c = NULL;
	size_t n = X25519_LEN;
	int ret = -1;

	x25519_key(k, x, xlen);
	memcpy(u, G, X25519_LEN);
	u[31] &= 0x7F;
	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k,
					    X25519_LEN);
	OPENSSL_cleanse(k, sizeof(k));
	if (priv)
		peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, u,
						   X25519_LEN);
	if (peer)
		c = EVP_PKEY_CTX_new(priv, NULL);
	/* libcrypto refuses an all-zero result (a small-order point) */
	if (c && EVP_PKEY_derive_init(c) > 0 &&
	    EVP_PKEY_derive_set_peer(c, peer) > 0 &&
	    EVP_PKEY_derive(c, out, &n) > 0 && n == X25519_LEN) {
		memcpy(G, out, X25519_LEN);
		ret = 1;
	}
	OPENSSL_cleanse(out, sizeof(out));
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(priv);
	return ret;
}

static size_t x25519_mulgen(unsigned char *R, const unsigned char *x,
			    size_t xlen)
{
	unsigned char k[X25519_LEN];
	EVP_PKEY *priv;
	size_t n = X25519_LEN;
	size_t ret = 0;

	x25519_key(k, x, xlen);
	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k,
					    X25519_LEN);
	OPENSSL_cleanse(k, sizeof(k));
	if (priv && EVP_PKEY_get_raw_public_key(priv, R, &n) > 0 &&
	    n == X25519_LEN)
		ret = X25519_LEN;
	EVP_PKEY_free(priv);
	return ret;
}

/* ------------------------------------------------------------------ */
/* ECDSA signatures (P-256)                                            */

/*
 * libcrypto wants a key object; making one costs more than a signature,
 * so the last few keys used are kept (the CA's leaf key signs every
 * intercepted handshake). The copies of the private keys are wiped when
 * an entry is replaced and at exit.
 */
#define SIGN_KEYS 4

static struct sign_key {
	unsigned char x[32];
	size_t xlen;
	EVP_PKEY *pkey;
	unsigned long used;
} sign_keys[SIGN_KEYS];
static unsigned long sign_clock;

static EVP_PKEY *p256_pkey(const br_ec_private_key *sk)
{
	unsigned char pub[P256_POINT];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *priv = NULL;

	if (p256_mulgen(pub, sk->x, sk->xlen) != P256_POINT)
		return NULL;
	priv = scalar(sk->x, sk->xlen);
	bld = OSSL_PARAM_BLD_new();
	if (!priv || !bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     SN_X9_62_prime256v1, 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
					      sizeof(pub)))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !c || EVP_PKEY_fromdata_init(c) <= 0 ||
	    EVP_PKEY_fromdata(c, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params); /* the secure part (the key) is wiped */
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	return pkey;
}

static EVP_PKEY *sign_key_get(const br_ec_private_key *sk)
{
	struct sign_key *k, *old = &sign_keys[0];
	size_t i;

	for (i = 0; i < SIGN_KEYS; i++) {
		k = &sign_keys[i];
		if (k->pkey && k->xlen == sk->xlen &&
		    CRYPTO_memcmp(k->x, sk->x, sk->xlen) == 0) {
			k->used = ++sign_clock;
			return k->pkey;
		}
		if (k->used < old->used)
			old = k;
	}
	EVP_PKEY_free(old->pkey);
	OPENSSL_cleanse(old->x, sizeof(old->x));
	old->xlen = 0;
	old->used = 0;
	old->pkey = p256_pkey(sk);
	if (!old->pkey)
		return NULL;
	memcpy(old->x, sk->x, sk->xlen);
	old->xlen = sk->xlen;
	old->used = ++sign_clock;
	return old->pkey;
}

static void sign_keys_wipe(void)
{
	size_t i;

	for (i = 0; i < SIGN_KEYS; i++) {
		EVP_PKEY_free(sign_keys[i].pkey);
		OPENSSL_cleanse(&sign_keys[i], sizeof(sign_keys[i]));
	}
}

size_t ecfast_sign_asn1(const br_ec_impl *impl, const br_hash_class *hf,
			const void *hash_value, const br_ec_private_key *sk,
			void *sig)
{
	size_t hlen = (size_t)(hf->desc >> BR_HASHDESC_OUT_OFF) &
		      BR_HASHDESC_OUT_MASK;
	size_t n = 72; /* the longest DER signature on P-256 */
	EVP_PKEY_CTX *c;
	EVP_PKEY *pkey;

	if (!active || sk->curve != BR_EC_secp256r1 || sk->xlen == 0 ||
	    sk->xlen > 32)
		return br_ecdsa_i31_sign_asn1(impl, hf, hash_value, sk, sig);
	pkey = sign_key_get(sk);
	c = pkey ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
	if (!c || EVP_PKEY_sign_init(c) <= 0 ||
	    EVP_PKEY_sign(c, sig, &n, hash_value, hlen) <= 0)
		n = 0;
	EVP_PKEY_CTX_free(c);
	return n ? n : br_ecdsa_i31_sign_asn1(impl, hf, hash_value, sk, sig);
}

/* ------------------------------------------------------------------ */
/* The br_ec_impl                                                      */

static const unsigned char *api_generator(int curve, size_t *len)
{
	return slow->generator(curve, len);
}

static const unsigned char *api_order(int curve, size_t *len)
{
	return slow->order(curve, len);
}

static size_t api_xoff(int curve, size_t *len)
{
	return slow->xoff(curve, len);
}

static uint32_t api_mul(unsigned char *G, size_t Glen, const unsigned char *x,
			size_t xlen, int curve)
{
	int r;

	if (curve == BR_EC_secp256r1) {
		r = p256_mul(G, Glen, x, xlen);
		if (r >= 0)
			return (uint32_t)r;
	} else if (curve == BR_EC_curve25519) {
		if (Glen != X25519_LEN || xlen > X25519_LEN)
			return 0;
		if (x25519_mul(G, x, xlen) == 1)
			return 1;
		/* BearSSL's, and the same refusal of an all-zero result */
		return slow->mul(G, Glen, x, xlen, curve) &&
		       !all_zero(G, X25519_LEN);
	}
	return slow->mul(G, Glen, x, xlen, curve);
}

static size_t api_mulgen(unsigned char *R, const unsigned char *x,
			 size_t xlen, int curve)
{
	size_t n = 0;

	if (curve == BR_EC_secp256r1)
		n = p256_mulgen(R, x, xlen);
	else if (curve == BR_EC_curve25519 && xlen <= X25519_LEN)
		n = x25519_mulgen(R, x, xlen);
	return n ? n : slow->mulgen(R, x, xlen, curve);
}

static uint32_t api_muladd(unsigned char *A, const unsigned char *B,
			   size_t len, const unsigned char *x, size_t xlen,
			   const unsigned char *y, size_t ylen, int curve)
{
	int r;

	if (curve == BR_EC_secp256r1) {
		r = p256_muladd(A, B, len, x, xlen, y, ylen);
		if (r >= 0)
			return (uint32_t)r;
	}
	return slow->muladd(A, B, len, x, xlen, y, ylen, curve);
}

static const br_ec_impl fast = {
	0, /* supported_curves: br_ec_all_m31's, set in ecfast_init() */
	api_generator, api_order, api_xoff, api_mul, api_mulgen, api_muladd,
};

static br_ec_impl fast_impl;

const br_ec_impl *ecfast_impl(void)
{
	return active ? &fast_impl : slow;
}

int ecfast_active(void)
{
	return active;
}

/* ------------------------------------------------------------------ */
/* Set-up and self-test                                                */

/*
 * A known answer for each curve (the generator times a fixed scalar, as
 * BearSSL's own code computes it), so a libcrypto that answers
 * differently is never used. The unit tests compare the two on random
 * inputs and on RFC 7748's vectors.
 */
static const unsigned char kat_p256[P256_POINT] = {
	0x04, 0x85, 0x6f, 0xac, 0x1d, 0x2b, 0xe6, 0x6c, 0xdb, 0x0b, 0x3b, 0x51,
	0x10, 0xc5, 0xda, 0xc3, 0x6f, 0xb5, 0xc9, 0x5c, 0x0a, 0x0a, 0xc4, 0xfb,
	0x33, 0x6c, 0x85, 0x19, 0xfd, 0x44, 0x4c, 0x3d, 0x12, 0x9a, 0xff, 0x1a,
	0x09, 0x37, 0x60, 0x5b, 0x28, 0x93, 0x60, 0x3e, 0x58, 0x3e, 0xef, 0x8a,
	0x7b, 0xd4, 0x7a, 0xf7, 0x57, 0xee, 0x3f, 0xbc, 0x8d, 0xf4, 0xdc, 0x03,
	0x50, 0x79, 0xa3, 0xa0, 0x26,
};
static const unsigned char kat_x25519[X25519_LEN] = {
	0x39, 0x12, 0x3c, 0x51, 0x7a, 0x20, 0xfc, 0xa7, 0x0c, 0xd7, 0xe0, 0x0b,
	0x2c, 0xb2, 0x3f, 0xb7, 0x99, 0xff, 0x4d, 0xd9, 0xf1, 0x8f, 0x40, 0xb0,
	0xed, 0x53, 0x61, 0xf2, 0xef, 0x95, 0xbd, 0x74,
};

static int self_test(void)
{
	unsigned char k[32], r[P256_POINT];
	size_t i;

	for (i = 0; i < sizeof(k); i++)
		k[i] = (unsigned char)(0x3c + 7 * i);
	k[0] &= 0x7f; /* below P-256's order */
	if (p256_mulgen(r, k, sizeof(k)) != P256_POINT ||
	    memcmp(r, kat_p256, P256_POINT) != 0)
		return -1;
	if (x25519_mulgen(r, k, sizeof(k)) != X25519_LEN ||
	    memcmp(r, kat_x25519, X25519_LEN) != 0)
		return -1;
	return 0;
}

/*
 * One signature with a throwaway key, checked with BearSSL: it also seeds
 * libcrypto's random generator (its nonces) now, before isolation.
 */
static int sign_test(void)
{
	unsigned char x[32], hash[32], sig[72], pub[P256_POINT];
	br_ec_private_key sk = { BR_EC_secp256r1, x, sizeof(x) };
	br_ec_public_key pk = { BR_EC_secp256r1, pub, sizeof(pub) };
	size_t n;
	int ok;

	memcpy(x, kat_p256 + 1, 32); /* a key below the order: any will do */
	x[0] &= 0x7f;
	memset(hash, 0x5a, sizeof(hash));
	n = ecfast_sign_asn1(&fast_impl, &br_sha256_vtable, hash, &sk, sig);
	ok = n && p256_mulgen(pub, x, sizeof(x)) == P256_POINT &&
	     br_ecdsa_i31_vrfy_asn1(slow, hash, sizeof(hash), &pk, sig, n);
	sign_keys_wipe();
	OPENSSL_cleanse(x, sizeof(x));
	return ok ? 0 : -1;
}

int ecfast_init(void)
{
	const char *e = getenv("ISLO_EC");

	if (active)
		return 0;
	if (e && strcmp(e, "bearssl") == 0)
		return -1;
	fast_impl = fast;
	fast_impl.supported_curves = slow->supported_curves;
	if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
		goto fail;
	if (!p256)
		p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	if (!bnctx)
		bnctx = BN_CTX_secure_new();
	if (!p256 || !bnctx)
		goto fail;
	active = 1;
	if (self_test() == 0 && sign_test() == 0) {
		atexit(sign_keys_wipe);
		return 0;
	}
	active = 0;
	logmsg(LOG_WARN, "libcrypto's EC code disagrees with BearSSL's; using BearSSL's");
	return -1;
fail:
	logmsg(LOG_WARN, "libcrypto's EC code is not available; using BearSSL's");
	return -1;
}
