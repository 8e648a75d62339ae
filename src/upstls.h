/* SPDX-License-Identifier: MIT */
/*
 * upstls.h - TLS engine set-up shared by the handlers (upstls.c).
 */
#ifndef ISLO_UPSTLS_H
#define ISLO_UPSTLS_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

/* BearSSL implementations chosen once per process (hardware when the CPU
 * has it). */
struct tls_impls {
	const br_block_ctr_class *aes_ctr;
	const br_block_cbcenc_class *aes_cbcenc;
	const br_block_cbcdec_class *aes_cbcdec;
	br_ghash ghash;
	br_chacha20_run chacha;
	br_poly1305_run poly;
	br_rsa_pkcs1_vrfy rsavrfy;
	br_rsa_public rsapub;
};
const struct tls_impls *tls_impls(void);

/* TLS 1.2 only, @suites, the hashes, PRFs, EC and record ciphers, no
 * renegotiation, and a seed from getrandom().  @server: the sandbox side
 * (only the hashes a server needs). */
void tls_engine_common(br_ssl_engine_context *e, const uint16_t *suites,
		       size_t nsuites, int server);

/* The upstream client: suites, chain verification against @ta. */
void upstls_client_init(br_ssl_client_context *cc, br_x509_minimal_context *xc,
			const br_x509_trust_anchor *ta, size_t n);

/* A BearSSL error as a sentence, or NULL if not a common one. */
const char *upstls_error(int e);

#endif /* ISLO_UPSTLS_H */
