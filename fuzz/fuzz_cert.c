// SPDX-License-Identifier: MIT
/*
 * fuzz_cert.c - libFuzzer target: leaf certificates minted for arbitrary
 * host names.
 *
 * The input (up to its first NUL) is a host name as a sandbox could send
 * it in an SNI or a Host header. It goes to ca_leaf() raw (which must
 * refuse or mint, never crash) and after host_normalise(); a name that
 * host_normalise() accepts must be minted. Every minted leaf is decoded
 * with br_x509_decoder (subject DN, key, not a CA) and validated by the
 * br_x509_minimal engine against the CA as anchor, with the server name
 * checked for DNS names; the CN and the SAN dNSName it extracts must be
 * the name again (the CN only up to 64 bytes), an IP literal's iPAddress
 * must be in the certificate.
 *
 * The CA is made once, in a temporary directory removed at exit.
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#include "ca.h"
#include "peek.h"
#include "trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME_MAX_IN 300

/* One CA for the whole run: making it is the slow part */
static struct fuzz_state {
	struct ca *ca;
	struct trust anchors;
	char dir[64];
} st;

static void cleanup(void)
{
	char p[128];

	ca_free(st.ca);
	trust_free(&st.anchors);
	snprintf(p, sizeof(p), "%s/ca.pem", st.dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ca-key.pem", st.dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ca.lock", st.dir);
	unlink(p);
	rmdir(st.dir);
}

static void setup(void)
{
	const unsigned char *der;
	char err[256];
	size_t len;

	if (st.ca)
		return;
	snprintf(st.dir, sizeof(st.dir), "/tmp/islo-fuzz-cert.XXXXXX");
	if (!mkdtemp(st.dir))
		abort();
	st.ca = ca_open(st.dir, err, sizeof(err));
	if (!st.ca) {
		fprintf(stderr, "ca_open: %s\n", err);
		abort();
	}
	der = ca_cert_der(st.ca, &len);
	if (trust_add_der(&st.anchors, der, len) != 1)
		abort();
	atexit(cleanup);
}

struct dn {
	uint8_t buf[1024];
	size_t len;
};

static void dn_append(void *ctx, const void *buf, size_t len)
{
	struct dn *d = ctx;

	if (len > sizeof(d->buf) - d->len)
		abort(); /* our leaves' DNs are small */
	memcpy(d->buf + d->len, buf, len);
	d->len += len;
}

static void check_leaf(const char *name, const br_x509_certificate *chain,
		       size_t n, const br_ec_private_key *sk)
{
	static const unsigned char oid_cn[] = { 3, 0x55, 0x04, 0x03 };
	static const unsigned char oid_dns[] = { 0, 2 };
	size_t nl = strlen(name), ql, i;
	br_x509_decoder_context xd;
	br_x509_minimal_context xc;
	const br_x509_class **vt = &xc.vtable;
	const br_x509_pkey *pk;
	unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE], ip[16];
	char cn[300], dns[300];
	br_name_element el[2];
	struct dn dn = { .len = 0 };
	int ipn = 0;
	unsigned usages;
	time_t now = time(NULL);

	if (n != 2 || !chain[0].data_len)
		abort();
	if (strchr(name, ':') && inet_pton(AF_INET6, name, ip) == 1)
		ipn = 16;
	else if (inet_pton(AF_INET, name, ip) == 1)
		ipn = 4;

	/* Decoder: key, CA flag, subject DN */
	ql = br_ec_compute_pub(&br_ec_p256_m31, NULL, q, sk);
	br_x509_decoder_init(&xd, dn_append, &dn);
	br_x509_decoder_push(&xd, chain[0].data, chain[0].data_len);
	pk = br_x509_decoder_get_pkey(&xd);
	if (!pk || pk->key_type != BR_KEYTYPE_EC || pk->key.ec.qlen != ql ||
	    memcmp(pk->key.ec.q, q, ql) || br_x509_decoder_isCA(&xd))
		abort();
	if (nl <= 64) {
		/* 30 L 31 L 30 L 06 03 55 04 03 0c L name */
		if (dn.len != nl + 13 || memcmp(dn.buf + 13, name, nl) ||
		    dn.buf[12] != nl || dn.buf[11] != 0x0c)
			abort();
	} else if (dn.len != 2 || dn.buf[0] != 0x30 || dn.buf[1] != 0) {
		abort();
	}

	/* Minimal engine: chain valid, server name, CN and SAN read back */
	memset(el, 0, sizeof(el));
	el[0].oid = oid_cn;
	el[0].buf = cn;
	el[0].len = sizeof(cn);
	el[1].oid = oid_dns;
	el[1].buf = dns;
	el[1].len = sizeof(dns);
	br_x509_minimal_init_full(&xc, st.anchors.ta, st.anchors.n);
	br_x509_minimal_set_time(&xc, (uint32_t)(now / 86400 + 719528),
				 (uint32_t)(now % 86400));
	br_x509_minimal_set_name_elements(&xc, el, 2);
	(*vt)->start_chain(vt, ipn ? NULL : name);
	for (i = 0; i < n; i++) {
		(*vt)->start_cert(vt, (uint32_t)chain[i].data_len);
		(*vt)->append(vt, chain[i].data, chain[i].data_len);
		(*vt)->end_cert(vt);
	}
	if ((*vt)->end_chain(vt) != 0)
		abort();
	if (!(*vt)->get_pkey(vt, &usages))
		abort();
	if (nl <= 64 ? el[0].status != 1 || strcmp(cn, name) : el[0].status != 0)
		abort();
	if (ipn) {
		const uint8_t *p = chain[0].data;
		size_t len = chain[0].data_len, k;
		int found = 0;

		if (el[1].status != 0)
			abort();
		for (k = 0; k + 2 + (size_t)ipn <= len && !found; k++)
			found = p[k] == 0x87 && p[k + 1] == ipn &&
				!memcmp(p + k + 2, ip, (size_t)ipn);
		if (!found)
			abort();
	} else if (el[1].status != 1 || strcmp(dns, name)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const br_x509_certificate *chain;
	const br_ec_private_key *sk;
	char raw[NAME_MAX_IN + 1], norm[NAME_MAX_IN + 1];
	size_t n;

	setup();
	if (size > NAME_MAX_IN)
		size = NAME_MAX_IN;
	memcpy(raw, data, size);
	raw[size] = '\0';

	/* Raw: refused or minted correctly */
	if (ca_leaf(st.ca, raw, &chain, &n, &sk) == 0)
		check_leaf(raw, chain, n, sk);

	/* Normalised: what the gateway passes; must always mint */
	memcpy(norm, raw, sizeof(norm));
	if (host_normalise(norm) == 0) {
		if (ca_leaf(st.ca, norm, &chain, &n, &sk) != 0) {
			fprintf(stderr, "not minted: '%s'\n", norm);
			abort();
		}
		check_leaf(norm, chain, n, sk);
	}
	return 0;
}
