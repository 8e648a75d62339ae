// SPDX-License-Identifier: MIT
/*
 * ca_mint.c - the certificates the islo-net CA makes (see ca.c).
 *
 * The CA's own certificate (once, when the CA is created) and the leaf
 * certificates (on demand, for the names sandboxes connect to), written
 * with our DER writer (der.c) and signed with ECDSA P-256 (ecfast.c), with
 * serials from the CA's HMAC-DRBG.  The profile of both (extensions,
 * validity, back-dating) is described in ca.c's theory of operation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ca_int.h"
#include "der.h"
#include "ecfast.h"

#define CA_VALIDITY     (3652L * 86400) /* ten years */
#define LEAF_VALIDITY   (7L * 86400)
#define BACKDATE        3600L  /* clock skew between host and sandbox */
#define CN_MAX          64     /* X.520 ub-common-name */
#define UNIX_EPOCH_DAYS 719528 /* 1970-01-01 in BearSSL's days since 0 AD */

/* OIDs, contents octets */
static const uint8_t oid_cn[] = { 0x55, 0x04, 0x03 };
static const uint8_t oid_o[] = { 0x55, 0x04, 0x0a };
static const uint8_t oid_ec_pubkey[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t oid_p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_ecdsa_sha256[] = { 0x2a, 0x86, 0x48, 0xce,
					    0x3d, 0x04, 0x03, 0x02 };
static const uint8_t oid_ski[] = { 0x55, 0x1d, 0x0e };
static const uint8_t oid_ku[] = { 0x55, 0x1d, 0x0f };
static const uint8_t oid_san[] = { 0x55, 0x1d, 0x11 };
static const uint8_t oid_bc[] = { 0x55, 0x1d, 0x13 };
static const uint8_t oid_aki[] = { 0x55, 0x1d, 0x23 };
static const uint8_t oid_eku[] = { 0x55, 0x1d, 0x25 };
static const uint8_t oid_server_auth[] = { 0x2b, 0x06, 0x01, 0x05,
					   0x05, 0x07, 0x03, 0x01 };

/* keyUsage named bits */
#define KU_DIGITAL_SIGNATURE (1u << 0)
#define KU_KEY_CERT_SIGN     (1u << 5)
#define KU_CRL_SIGN          (1u << 6)


/* ----------------------------------------------------------------------
 * Randomness and time
 */

int ca_rng_init(struct ca *ca)
{
	uint8_t seed[48];
	size_t n = 0;

	while (n < sizeof(seed)) {
		ssize_t r = getrandom(seed + n, sizeof(seed) - n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		n += (size_t)r;
	}
	br_hmac_drbg_init(&ca->rng, &br_sha256_vtable, seed, sizeof(seed));
	explicit_bzero(seed, sizeof(seed));
	return 0;
}

/* A positive 16-byte serial (RFC 5280: at most 20 octets, positive) */
static void make_serial(struct ca *ca, uint8_t serial[16])
{
	br_hmac_drbg_generate(&ca->rng, serial, 16);
	serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40);
}

time_t ca_bearssl_time(uint32_t days, uint32_t secs)
{
	return ((time_t)days - UNIX_EPOCH_DAYS) * 86400 + (time_t)secs;
}

/* ----------------------------------------------------------------------
 * Certificates
 */

static void put_name_attr(struct der *d, const uint8_t *oid, size_t oidlen,
			  const char *v, size_t vlen)
{
	size_t set = der_begin(d, DER_SET), seq = der_begin(d, DER_SEQUENCE);

	der_oid(d, oid, oidlen);
	der_utf8(d, v, vlen);
	der_end(d, seq);
	der_end(d, set);
}

static void put_spki(struct der *d, const br_ec_public_key *pk)
{
	size_t seq = der_begin(d, DER_SEQUENCE), alg;

	alg = der_begin(d, DER_SEQUENCE);
	der_oid(d, oid_ec_pubkey, sizeof(oid_ec_pubkey));
	der_oid(d, oid_p256, sizeof(oid_p256));
	der_end(d, alg);
	der_bits(d, pk->q, pk->qlen);
	der_end(d, seq);
}

static void put_sigalg(struct der *d)
{
	size_t seq = der_begin(d, DER_SEQUENCE);

	der_oid(d, oid_ecdsa_sha256, sizeof(oid_ecdsa_sha256)); /* no params */
	der_end(d, seq);
}

/**
 * struct ext - marks of an extension being written
 * @seq: Extension SEQUENCE
 * @oct: extnValue OCTET STRING
 */
struct ext {
	size_t seq, oct;
};

static struct ext ext_begin(struct der *d, const uint8_t *oid, size_t oidlen,
			    int critical)
{
	struct ext e;

	e.seq = der_begin(d, DER_SEQUENCE);
	der_oid(d, oid, oidlen);
	if (critical) /* DEFAULT FALSE: DER omits it when false */
		der_bool(d, 1);
	e.oct = der_begin(d, DER_OCTET_STRING);
	return e;
}

static void ext_end(struct der *d, struct ext e)
{
	der_end(d, e.oct);
	der_end(d, e.seq);
}

/**
 * tbs_head() - Write a TBSCertificate's fields up to the subject
 * @d:       Writer, inside the TBSCertificate SEQUENCE
 * @serial:  16-byte serial
 * @issuer:  Issuer DN, DER
 * @ilen:    Its length
 * @nb:      notBefore
 * @na:      notAfter
 */
static void tbs_head(struct der *d, const uint8_t *serial, const uint8_t *issuer,
		     size_t ilen, time_t nb, time_t na)
{
	size_t ver = der_begin(d, DER_CTX_CONS(0)), val;

	der_int(d, 2); /* v3 */
	der_end(d, ver);
	der_int_bytes(d, serial, 16);
	put_sigalg(d);
	der_raw(d, issuer, ilen);
	val = der_begin(d, DER_SEQUENCE);
	der_time(d, nb);
	der_time(d, na);
	der_end(d, val);
}

/**
 * cert_sign() - Close the TBSCertificate, sign it, close the Certificate
 * @d:    Writer
 * @cert: Mark of the Certificate SEQUENCE
 * @tbs:  Mark of the TBSCertificate SEQUENCE
 * @sk:   Signing key
 * Return: 0, or -1 (with the writer's error set, or signing failed)
 */
static int cert_sign(struct der *d, size_t cert, size_t tbs,
		     const br_ec_private_key *sk)
{
	br_sha256_context h;
	uint8_t hash[br_sha256_SIZE], sig[80];
	size_t siglen;

	der_end(d, tbs);
	if (der_error(d))
		return -1;
	/* tbs - 2 is where its tag went; it ends where we are now */
	br_sha256_init(&h);
	br_sha256_update(&h, d->buf + tbs - 2, der_len(d) - (tbs - 2));
	br_sha256_out(&h, hash);
	siglen = ecfast_sign_asn1(ecfast_impl(), &br_sha256_vtable, hash, sk,
				  sig);
	if (!siglen)
		return -1;
	put_sigalg(d);
	der_bits(d, sig, siglen);
	der_end(d, cert);
	return der_error(d) ? -1 : 0;
}

/**
 * ca_mint_root() - Build the self-signed CA certificate
 * @ca:  CA, with @sk and @pk set
 * @out: Buffer
 * @cap: Its size
 * @len: Certificate length on success
 * Return: 0 or -1
 */
int ca_mint_root(struct ca *ca, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t serial[16], ski[br_sha1_SIZE], dn[CA_DN_MAX];
	char host[64], cn[CN_MAX + 1];
	br_sha1_context h;
	struct der d, dd;
	struct ext e;
	size_t cert, tbs, m, i;
	time_t now = time(NULL);

	if (gethostname(host, sizeof(host)))
		strcpy(host, "unknown");
	host[sizeof(host) - 1] = '\0';
	/* The host name is only decoration: keep it printable and short */
	for (i = 0; host[i]; i++) {
		unsigned char c = (unsigned char)host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
			host[i] = '?';
	}
	snprintf(cn, sizeof(cn), "islo-net CA (%.48s)", host);

	der_init(&dd, dn, sizeof(dn));
	m = der_begin(&dd, DER_SEQUENCE);
	put_name_attr(&dd, oid_o, sizeof(oid_o), "islo-net", 8);
	put_name_attr(&dd, oid_cn, sizeof(oid_cn), cn, strlen(cn));
	der_end(&dd, m);
	if (der_error(&dd))
		return -1;

	br_sha1_init(&h);
	br_sha1_update(&h, ca->pk.q, ca->pk.qlen);
	br_sha1_out(&h, ski);
	make_serial(ca, serial);

	der_init(&d, out, cap);
	cert = der_begin(&d, DER_SEQUENCE);
	tbs = der_begin(&d, DER_SEQUENCE);
	tbs_head(&d, serial, dn, der_len(&dd), now - BACKDATE, now + CA_VALIDITY);
	der_raw(&d, dn, der_len(&dd)); /* subject = issuer */
	put_spki(&d, &ca->pk);

	m = der_begin(&d, DER_CTX_CONS(3));
	{
		size_t exts = der_begin(&d, DER_SEQUENCE), s;

		e = ext_begin(&d, oid_bc, sizeof(oid_bc), 1);
		s = der_begin(&d, DER_SEQUENCE);
		der_bool(&d, 1); /* cA */
		der_int(&d, 0);  /* pathLenConstraint: leaves only */
		der_end(&d, s);
		ext_end(&d, e);

		e = ext_begin(&d, oid_ku, sizeof(oid_ku), 1);
		der_named_bits(&d, KU_KEY_CERT_SIGN | KU_CRL_SIGN);
		ext_end(&d, e);

		e = ext_begin(&d, oid_ski, sizeof(oid_ski), 0);
		der_octets(&d, ski, sizeof(ski));
		ext_end(&d, e);
		der_end(&d, exts);
	}
	der_end(&d, m);
	if (cert_sign(&d, cert, tbs, &ca->sk))
		return -1;
	*len = der_len(&d);
	return 0;
}

/**
 * ca_leaf_name_check() - Is @name something we mint a leaf for?
 * @name: Candidate
 * @ip:   IP address bytes if it is an IP literal
 * Return: 0 for a DNS name, 4 or 16 for an IP literal, -1 if invalid
 *
 * Names are what host_normalise() leaves: lowercase labels of 1..63 bytes
 * of [a-z0-9_-], at most 253 bytes, no trailing dot. No wildcards: the
 * sandbox asked for one name and gets a certificate for exactly it.
 */
int ca_leaf_name_check(const char *name, uint8_t ip[16])
{
	size_t n = strnlen(name, LEAF_NAME_MAX + 1), i, lab = 0;

	if (n == 0 || n > LEAF_NAME_MAX)
		return -1;
	if (strchr(name, ':'))
		return inet_pton(AF_INET6, name, ip) == 1 ? 16 : -1;
	if (inet_pton(AF_INET, name, ip) == 1)
		return 4;
	for (i = 0; i <= n; i++) {
		char c = name[i];

		if (c == '.' || c == '\0') {
			if (lab == 0 || lab > 63)
				return -1;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return -1;
		lab++;
	}
	return 0;
}

/**
 * ca_mint_leaf() - Mint a leaf certificate
 * @ca:   CA
 * @name: Host name or IP literal, checked by ca_leaf_name_check()
 * @ipn:  What ca_leaf_name_check() returned
 * @ip:   The address if @ipn is 4 or 16
 * @l:    Slot to mint into (@der, @len, @not_after)
 * Return: 0 or -1
 */
int ca_mint_leaf(struct ca *ca, const char *name, int ipn, const uint8_t *ip,
		 struct leaf *l)
{
	size_t namelen = strlen(name), cert, tbs, m, exts, s;
	int with_cn = namelen <= CN_MAX;
	time_t now = time(NULL), na = now + LEAF_VALIDITY;
	uint8_t serial[16];
	struct ext e;
	struct der d;

	if (na > ca->not_after)
		na = ca->not_after;
	make_serial(ca, serial);

	der_init(&d, l->der, sizeof(l->der));
	cert = der_begin(&d, DER_SEQUENCE);
	tbs = der_begin(&d, DER_SEQUENCE);
	tbs_head(&d, serial, ca->dn, ca->dn_len, now - BACKDATE, na);
	m = der_begin(&d, DER_SEQUENCE);
	if (with_cn)
		put_name_attr(&d, oid_cn, sizeof(oid_cn), name, namelen);
	der_end(&d, m);
	put_spki(&d, &ca->leaf_pk);

	m = der_begin(&d, DER_CTX_CONS(3));
	exts = der_begin(&d, DER_SEQUENCE);

	e = ext_begin(&d, oid_bc, sizeof(oid_bc), 1);
	s = der_begin(&d, DER_SEQUENCE); /* cA DEFAULT FALSE: empty */
	der_end(&d, s);
	ext_end(&d, e);

	e = ext_begin(&d, oid_ku, sizeof(oid_ku), 1);
	der_named_bits(&d, KU_DIGITAL_SIGNATURE);
	ext_end(&d, e);

	e = ext_begin(&d, oid_eku, sizeof(oid_eku), 0);
	s = der_begin(&d, DER_SEQUENCE);
	der_oid(&d, oid_server_auth, sizeof(oid_server_auth));
	der_end(&d, s);
	ext_end(&d, e);

	e = ext_begin(&d, oid_aki, sizeof(oid_aki), 0);
	s = der_begin(&d, DER_SEQUENCE);
	der_tlv(&d, DER_CTX_PRIM(0), ca->ski, sizeof(ca->ski)); /* keyIdentifier */
	der_end(&d, s);
	ext_end(&d, e);

	/* An empty subject makes the SAN critical (RFC 5280 4.2.1.6) */
	e = ext_begin(&d, oid_san, sizeof(oid_san), !with_cn);
	s = der_begin(&d, DER_SEQUENCE);
	if (ipn)
		der_tlv(&d, DER_CTX_PRIM(7), ip, (size_t)ipn); /* iPAddress */
	else
		der_ia5(&d, DER_CTX_PRIM(2), name, namelen); /* dNSName */
	der_end(&d, s);
	ext_end(&d, e);

	der_end(&d, exts);
	der_end(&d, m);
	if (cert_sign(&d, cert, tbs, &ca->sk))
		return -1;
	l->len = der_len(&d);
	l->not_after = na;
	return 0;
}

