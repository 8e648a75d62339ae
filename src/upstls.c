// SPDX-License-Identifier: MIT
/*
 * upstls.c - TLS engine set-up shared by every handler: the one upstream
 * client configuration (suites, hashes, chain verification) and the
 * choices every engine shares (TLS 1.2, record ciphers, seeding).
 *
 * The HTTP interception (proxy.c, px*.c) and the PostgreSQL gateway (pg*.c)
 * both reach upstream through upstls_client_init(), so a suite or a
 * verification rule changes in one place.
 */
#include "upstls.h"

#include <string.h>
#include <sys/random.h>

#include "ecfast.h"

/*
 * Cipher implementations, chosen once per process: BearSSL's own choice
 * runs CPUID each time, a VM exit under a hypervisor (tens of microseconds
 * per engine).
 */
const struct tls_impls *tls_impls(void)
{
	static struct tls_impls im;
	static int done;

	if (done)
		return &im;
	/* the hardware implementations when the CPU has them */
	im.aes_ctr = br_aes_x86ni_ctr_get_vtable();
	if (!im.aes_ctr)
		im.aes_ctr = &br_aes_ct64_ctr_vtable;
	im.aes_cbcenc = br_aes_x86ni_cbcenc_get_vtable();
	if (!im.aes_cbcenc)
		im.aes_cbcenc = &br_aes_ct64_cbcenc_vtable;
	im.aes_cbcdec = br_aes_x86ni_cbcdec_get_vtable();
	if (!im.aes_cbcdec)
		im.aes_cbcdec = &br_aes_ct64_cbcdec_vtable;
	im.ghash = br_ghash_pclmul_get();
	if (!im.ghash)
		im.ghash = br_ghash_ctmul64;
	im.chacha = br_chacha20_sse2_get();
	if (!im.chacha)
		im.chacha = br_chacha20_ct_run;
	im.poly = br_poly1305_ctmulq_get();
	if (!im.poly)
		im.poly = br_poly1305_ctmul_run;
	im.rsavrfy = br_rsa_pkcs1_vrfy_get_default();
	im.rsapub = br_rsa_public_get_default();
	done = 1;
	return &im;
}

/*
 * The suites offered upstream: every TLS 1.2 suite with forward secrecy
 * and AES or ChaCha20, then RSA key exchange for servers without ECDHE.
 * Not offered (BearSSL's full list has them): static ECDH, AES-CCM, 3DES.
 */
static const uint16_t client_suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	BR_TLS_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_RSA_WITH_AES_128_CBC_SHA256,
	BR_TLS_RSA_WITH_AES_256_CBC_SHA256,
	BR_TLS_RSA_WITH_AES_128_CBC_SHA,
	BR_TLS_RSA_WITH_AES_256_CBC_SHA,
};

/* Hashes the upstream engine may need (TLS 1.2 PRFs, signatures,
 * certificates) */
static const br_hash_class *const hashes[] = {
	&br_sha1_vtable, &br_sha224_vtable, &br_sha256_vtable,
	&br_sha384_vtable, &br_sha512_vtable,
};

/*
 * The sandbox side's: the PRFs' SHA-256 and SHA-384 (the handshake is
 * hashed with every hash an engine has), SHA-256 for our signature, and
 * SHA-1 for a client that sends no signature_algorithms (TLS 1.2's
 * default).
 */
static const br_hash_class *const server_hashes[] = {
	&br_sha1_vtable, &br_sha256_vtable, &br_sha384_vtable,
};

static void set_hashes(br_ssl_engine_context *e, const br_hash_class *const *h,
		       size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		br_ssl_engine_set_hash(e, (int)((h[i]->desc >> BR_HASHDESC_ID_OFF) &
						BR_HASHDESC_ID_MASK), h[i]);
}

/*
 * Seed an engine's random generator from getrandom(). BearSSL's own
 * seeder asks CPUID for RDRAND for every engine, and under a hypervisor
 * CPUID is a VM exit (about 15 us here, two per intercepted connection).
 * If getrandom() fails, BearSSL seeds itself as before.
 */
static void engine_seed(br_ssl_engine_context *e)
{
	unsigned char seed[32];

	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return;
	br_ssl_engine_inject_entropy(e, seed, sizeof(seed));
	e->rng_os_rand_done = 1;
	explicit_bzero(seed, sizeof(seed));
}

void tls_engine_common(br_ssl_engine_context *e, const uint16_t *suites,
		       size_t nsuites, int server)
{
	const struct tls_impls *sh = tls_impls();

	br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(e, suites, nsuites);
	if (server)
		set_hashes(e, server_hashes,
			   sizeof(server_hashes) / sizeof(server_hashes[0]));
	else
		set_hashes(e, hashes, sizeof(hashes) / sizeof(hashes[0]));
	br_ssl_engine_set_prf_sha256(e, br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(e, br_tls12_sha384_prf);
	br_ssl_engine_set_ec(e, ecfast_impl());
	br_ssl_engine_set_gcm(e, &br_sslrec_in_gcm_vtable,
			      &br_sslrec_out_gcm_vtable);
	br_ssl_engine_set_aes_ctr(e, sh->aes_ctr);
	br_ssl_engine_set_ghash(e, sh->ghash);
	br_ssl_engine_set_cbc(e, &br_sslrec_in_cbc_vtable,
			      &br_sslrec_out_cbc_vtable);
	br_ssl_engine_set_aes_cbc(e, sh->aes_cbcenc, sh->aes_cbcdec);
	br_ssl_engine_set_chapol(e, &br_sslrec_in_chapol_vtable,
				 &br_sslrec_out_chapol_vtable);
	br_ssl_engine_set_chacha20(e, sh->chacha);
	br_ssl_engine_set_poly1305(e, sh->poly);
	br_ssl_engine_add_flags(e, BR_OPT_NO_RENEGOTIATION);
	engine_seed(e);
}

/**
 * upstls_client_init() - The upstream side of a connection we originate
 * @cc: Client context (zeroed here)
 * @xc: Its chain verifier: the trust store, every hash
 * @ta: Trust anchors
 * @n:  How many
 *
 * The caller sets the I/O buffer, ALPN, a session, and resets with the
 * name to verify.
 */
void upstls_client_init(br_ssl_client_context *cc, br_x509_minimal_context *xc,
			const br_x509_trust_anchor *ta, size_t n)
{
	const struct tls_impls *im = tls_impls();
	size_t i;

	br_ssl_client_zero(cc);
	tls_engine_common(&cc->eng, client_suites,
			  sizeof(client_suites) / sizeof(client_suites[0]), 0);
	br_x509_minimal_init(xc, &br_sha256_vtable, ta, n);
	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		br_x509_minimal_set_hash(xc,
					 (int)((hashes[i]->desc >> BR_HASHDESC_ID_OFF) &
					       BR_HASHDESC_ID_MASK), hashes[i]);
	br_x509_minimal_set_rsa(xc, im->rsavrfy);
	br_x509_minimal_set_ecdsa(xc, ecfast_impl(), br_ecdsa_i31_vrfy_asn1);
	br_ssl_engine_set_x509(&cc->eng, &xc->vtable);
	br_ssl_engine_set_rsavrfy(&cc->eng, im->rsavrfy);
	br_ssl_engine_set_ecdsa(&cc->eng, br_ecdsa_i31_vrfy_asn1);
	br_ssl_client_set_rsapub(cc, im->rsapub);
}

const char *upstls_error(int e)
{
	switch (e) {
	case BR_ERR_X509_NOT_TRUSTED:
		return "upstream certificate is not trusted";
	case BR_ERR_X509_BAD_SERVER_NAME:
		return "upstream certificate does not match the host name";
	case BR_ERR_X509_EXPIRED:
		return "upstream certificate has expired or is not yet valid";
	case BR_ERR_BAD_VERSION:
		return "upstream does not speak TLS 1.2";
	case BR_ERR_BAD_CIPHER_SUITE:
	case BR_ERR_UNSUPPORTED_VERSION:
		return "no TLS parameters in common with upstream";
	default:
		return NULL;
	}
}

