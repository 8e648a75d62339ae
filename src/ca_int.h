/* SPDX-License-Identifier: MIT */
/*
 * ca_int.h - what ca.c (the CA's files and leaf cache) and ca_mint.c (the
 * certificates) share: the CA's state.  Not an API: callers use ca.h.
 */
#ifndef ISLO_CA_INT_H
#define ISLO_CA_INT_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ca.h"

#define CA_CERT_MAX     2048  /* our CA certificate is ~500 bytes */
#define LEAF_DER_MAX    1280  /* worst case (253-byte name) is ~900 */
#define LEAF_NAME_MAX   253
#define CA_DN_MAX       1024
#define CA_HASH_BUCKETS 2048  /* power of two, twice the slots */

/* The two ends of the LRU list, and the two directions along it. */
enum { LRU_HEAD, LRU_TAIL };

/**
 * struct leaf - one cached leaf certificate
 * @name:      Host name or IP literal it is for ("" if the slot is free)
 * @der:       The certificate
 * @len:       Its length
 * @not_after: Its expiry (Unix time)
 * @lru:       LRU neighbours: [LRU_HEAD] towards the most recent, -1 at the
 *	       head; [LRU_TAIL] towards the least recent, -1 at the tail
 * @hnext:     Next slot in the same hash bucket, -1 at the end
 * @in_lru:    Linked into the LRU list
 * @pins:      Handshakes presenting it now (ca_leaf_pin()): never reused
 *	       while non-zero
 * @chain:     What ca_leaf() hands out: { @der, the CA certificate }
 */
struct leaf {
	char name[LEAF_NAME_MAX + 1];
	uint8_t der[LEAF_DER_MAX];
	size_t len;
	time_t not_after;
	int lru[2], hnext;
	int in_lru;
	int pins;
	br_x509_certificate chain[2];
};

/**
 * struct ca - the CA, its leaf key and the leaf cache
 * @dir:        State directory
 * @cert_path:  DIR/ca.pem
 * @key_path:   DIR/ca-key.pem
 * @cert:       CA certificate, DER
 * @cert_len:   Its length
 * @dn:         Its subject DN (DER, the issuer of every leaf)
 * @dn_len:     Its length
 * @ski:        Its subjectKeyIdentifier (SHA-1 of the public key)
 * @not_after:  Its expiry (Unix time)
 * @sk:         CA private key (@skbuf), secret
 * @pk:         CA public key (@pkbuf)
 * @leaf_sk:    Key shared by every leaf (@leaf_skbuf), secret
 * @leaf_pk:    Its public key (@leaf_pkbuf)
 * @rng:        HMAC-DRBG for keys and serials, secret state
 * @leaves:     CA_CACHE_SIZE cache slots
 * @nused:      Slots ever used (the never-used ones are taken first)
 * @lru_end:    Most ([LRU_HEAD]) and least ([LRU_TAIL]) recently used
 *		slots, -1 if none
 * @bucket:     Hash buckets: first slot, -1 if empty
 */
struct ca {
	char *dir, *cert_path, *key_path;
	uint8_t *cert;
	size_t cert_len;
	uint8_t dn[CA_DN_MAX];
	size_t dn_len;
	uint8_t ski[br_sha1_SIZE];
	time_t not_after;

	br_ec_private_key sk;
	uint8_t skbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
	br_ec_public_key pk;
	uint8_t pkbuf[BR_EC_KBUF_PUB_MAX_SIZE];
	br_ec_private_key leaf_sk;
	uint8_t leaf_skbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
	br_ec_public_key leaf_pk;
	uint8_t leaf_pkbuf[BR_EC_KBUF_PUB_MAX_SIZE];
	br_hmac_drbg_context rng;

	struct leaf *leaves;
	int nused, lru_end[2];
	int bucket[CA_HASH_BUCKETS];
};

/* ca_mint.c */

int ca_rng_init(struct ca *ca);
time_t ca_bearssl_time(uint32_t days, uint32_t secs);
int ca_mint_root(struct ca *ca, uint8_t *out, size_t cap, size_t *len);
int ca_leaf_name_check(const char *name, uint8_t ip[16]);
int ca_mint_leaf(struct ca *ca, const char *name, int ipn, const uint8_t *ip,
		 struct leaf *l);

#endif
