/* SPDX-License-Identifier: MIT */
/*
 * ecfast.h - BearSSL's EC interface (br_ec_impl) over libcrypto's P-256
 * and X25519 code.
 *
 * Debian's BearSSL 0.6 has only portable 31-bit EC code: on the test
 * machine a P-256 generator multiplication (one per ECDSA signature) costs
 * 375 us and an X25519 multiplication 145 us, which were most of the CPU of
 * a new intercepted TLS connection. libcrypto's (OpenSSL 3, Debian's
 * libssl3) take 11 us and 55-90 us. Everything else stays BearSSL's: the
 * TLS engines call these functions through the br_ec_impl they are given.
 *
 * The results are the same as BearSSL's, bit for bit (the unit tests and
 * ecfast_init()'s self-test compare them), with one difference: an X25519
 * result of all zeros (a small-order peer point) is an error here, as
 * RFC 7748 section 6.1 allows, where BearSSL would use it.
 */
#ifndef ISLO_ECFAST_H
#define ISLO_ECFAST_H

#include <bearssl.h>

/*
 * Set up libcrypto's side (no configuration file is read) and check it
 * against BearSSL's. Call before isolating: libcrypto allocates its
 * tables here. Returns 0 when the fast code is in use, -1 when it is not
 * (ecfast_impl() is BearSSL's own then).
 */
int ecfast_init(void);

/* The implementation to hand BearSSL: ours once ecfast_init() succeeded,
 * br_ec_all_m31 otherwise (and when ISLO_EC=bearssl is set). */
const br_ec_impl *ecfast_impl(void);

/*
 * An ECDSA signer (br_ecdsa_sign) for BearSSL: P-256 keys are signed by
 * libcrypto (a random nonce from its generator, where BearSSL derives one
 * from the key and hash), other curves and any failure by
 * br_ecdsa_i31_sign_asn1().
 */
size_t ecfast_sign_asn1(const br_ec_impl *impl, const br_hash_class *hf,
			const void *hash_value, const br_ec_private_key *sk,
			void *sig);

/* 1 when ecfast_impl() is libcrypto-backed */
int ecfast_active(void);

#endif
