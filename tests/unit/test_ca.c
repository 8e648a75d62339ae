// SPDX-License-Identifier: MIT
/*
 * test_ca.c - the islo-net CA: files and modes, leaves checked by openssl
 * and by BearSSL's own X.509 engine, the cache, trust anchors, the bundle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#include "ca.h"
#include "trust.h"
#include "unit.h"

static char *tmpdir_make(void)
{
	char t[] = "/tmp/islo-ca-test.XXXXXX";
	char *d = mkdtemp(t);

	return d ? strdup(d) : NULL;
}

static void tmpdir_remove(char *d)
{
	char cmd[512];

	if (!d)
		return;
	if (!strncmp(d, "/tmp/islo-ca-test.", 18) && !strchr(d, '\'')) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", d);
	}
	free(d);
}

/* Run a shell command; its output (stdout+stderr) in @out. Return: exit status */
static int run(const char *cmd, char *out, size_t outlen)
{
	char full[2048];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	p = popen(full, "r");
	if (!p)
		return -1;
	if (out && outlen) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	}
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int have_openssl(void)
{
	return run("openssl version", NULL, 0) == 0;
}

static int write_pem(const char *path, const void *der, size_t len)
{
	size_t n = br_pem_encode(NULL, der, len, "CERTIFICATE", BR_PEM_LINE64);
	char *pem = malloc(n + 1);
	FILE *f;
	int rc = -1;

	if (!pem)
		return -1;
	br_pem_encode(pem, der, len, "CERTIFICATE", BR_PEM_LINE64);
	f = fopen(path, "w");
	if (f) {
		rc = fwrite(pem, 1, n, f) == n ? 0 : -1;
		if (fclose(f))
			rc = -1;
	}
	free(pem);
	return rc;
}

static char *file_text(const char *path)
{
	uint8_t *b;
	size_t n;

	if (trust_read_file(path, 1 << 20, &b, &n))
		return NULL;
	return (char *)b;
}

TEST(ca_create_reopen)
{
	char *t = tmpdir_make(), dir[512], kp[600], err[512], out[8192],
	     cmd[1400], *pem1 = NULL, *pem2 = NULL, *onfile;
	struct stat st;
	struct ca *ca;
	size_t l1, l2;

	REQUIRE(t);
	snprintf(dir, sizeof(dir), "%s/state/islo-net", t); /* parents too */
	ca = ca_open(dir, err, sizeof(err));
	if (!ca)
		fprintf(stderr, "ca_open: %s\n", err);
	REQUIRE(ca);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	snprintf(kp, sizeof(kp), "%s/ca-key.pem", dir);
	CHECK(stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(ca_cert_pem(ca, &pem1, &l1) == 0);
	onfile = file_text(ca_cert_path(ca));
	CHECK(onfile && pem1 && !strcmp(onfile, pem1));
	free(onfile);
	ca_free(ca);

	ca = ca_open(dir, err, sizeof(err));
	REQUIRE(ca);
	CHECK(ca_cert_pem(ca, &pem2, &l2) == 0);
	CHECK(pem1 && pem2 && l1 == l2 && !memcmp(pem1, pem2, l1));
	CHECK(!strncmp(pem1, "-----BEGIN CERTIFICATE-----\n", 28));

	if (have_openssl()) {
		snprintf(cmd, sizeof(cmd), "openssl ec -in '%s' -noout -check", kp);
		CHECK(run(cmd, out, sizeof(out)) == 0);
		CHECK(strstr(out, "EC Key valid") != NULL);
		snprintf(cmd, sizeof(cmd),
			 "openssl x509 -in '%s' -noout -text", ca_cert_path(ca));
		CHECK(run(cmd, out, sizeof(out)) == 0);
		CHECK(strstr(out, "Version: 3") != NULL);
		CHECK(strstr(out, "CN = islo-net CA (") != NULL);
		CHECK(strstr(out, "O = islo-net") != NULL);
		CHECK(strstr(out, "ecdsa-with-SHA256") != NULL);
		CHECK(strstr(out, "prime256v1") != NULL);
		CHECK(strstr(out, "X509v3 Basic Constraints: critical") != NULL);
		CHECK(strstr(out, "CA:TRUE, pathlen:0") != NULL);
		CHECK(strstr(out, "X509v3 Key Usage: critical") != NULL);
		CHECK(strstr(out, "Certificate Sign, CRL Sign") != NULL);
		CHECK(strstr(out, "X509v3 Subject Key Identifier") != NULL);
		/* self-signed and valid */
		snprintf(cmd, sizeof(cmd),
			 "openssl verify -x509_strict -CAfile '%s' '%s'",
			 ca_cert_path(ca), ca_cert_path(ca));
		CHECK(run(cmd, out, sizeof(out)) == 0);
		/* the key in the file is the certificate's */
		snprintf(cmd, sizeof(cmd),
			 "test \"$(openssl ec -in '%s' -pubout 2>/dev/null)\" = "
			 "\"$(openssl x509 -in '%s' -noout -pubkey)\"",
			 kp, ca_cert_path(ca));
		CHECK(run(cmd, out, sizeof(out)) == 0);
	}
	free(pem1);
	free(pem2);
	ca_free(ca);
	tmpdir_remove(t);
}

TEST(ca_key_mode_refused)
{
	char *t = tmpdir_make(), kp[600], cp[600], err[512];
	struct ca *ca;

	REQUIRE(t);
	ca = ca_open(t, err, sizeof(err));
	REQUIRE(ca);
	ca_free(ca);
	snprintf(kp, sizeof(kp), "%s/ca-key.pem", t);
	snprintf(cp, sizeof(cp), "%s/ca.pem", t);

	CHECK(chmod(kp, 0640) == 0);
	err[0] = '\0';
	ca = ca_open(t, err, sizeof(err));
	CHECK(ca == NULL);
	CHECK(strstr(err, "group or others") != NULL);
	CHECK(strstr(err, "0640") != NULL);
	ca_free(ca);

	CHECK(chmod(kp, 0604) == 0);
	ca = ca_open(t, err, sizeof(err));
	CHECK(ca == NULL);
	ca_free(ca);

	/* back to 0600: usable again */
	CHECK(chmod(kp, 0600) == 0);
	ca = ca_open(t, err, sizeof(err));
	CHECK(ca != NULL);
	ca_free(ca);

	/* a key without its certificate is an error, not a new CA */
	CHECK(unlink(cp) == 0);
	ca = ca_open(t, err, sizeof(err));
	CHECK(ca == NULL);
	CHECK(strstr(err, "missing") != NULL);
	ca_free(ca);

	/* garbage in the key file */
	{
		FILE *f = fopen(kp, "w");

		REQUIRE(f);
		fputs("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", f);
		fclose(f);
		ca = ca_open(t, err, sizeof(err));
		CHECK(ca == NULL);
		ca_free(ca);
	}

	/* no key: a fresh CA replaces a lone certificate */
	CHECK(unlink(kp) == 0);
	ca = ca_open(t, err, sizeof(err));
	CHECK(ca != NULL);
	ca_free(ca);
	tmpdir_remove(t);
}

/* The BearSSL X.509 minimal engine over @chain, anchors from ca.pem */
static int bearssl_verify(const struct ca *ca, const br_x509_certificate *chain,
			  size_t n, const char *server_name,
			  const br_ec_private_key *sk)
{
	br_x509_minimal_context xc;
	const br_x509_class **vt = &xc.vtable;
	struct trust t = { 0 };
	char err[256];
	unsigned usages;
	const br_x509_pkey *pk;
	time_t now = time(NULL);
	size_t i;
	int rc;

	if (trust_add_pem_file(&t, ca_cert_path(ca), err, sizeof(err)) != 1)
		return -1;
	if (!(t.ta[0].flags & BR_X509_TA_CA)) {
		trust_free(&t);
		return -2;
	}
	br_x509_minimal_init_full(&xc, t.ta, t.n);
	br_x509_minimal_set_time(&xc, (uint32_t)(now / 86400 + 719528),
				 (uint32_t)(now % 86400));
	(*vt)->start_chain(vt, server_name);
	for (i = 0; i < n; i++) {
		(*vt)->start_cert(vt, (uint32_t)chain[i].data_len);
		(*vt)->append(vt, chain[i].data, chain[i].data_len);
		(*vt)->end_cert(vt);
	}
	rc = (int)(*vt)->end_chain(vt);
	if (rc == 0) {
		/* the leaf's key is the one ca_leaf() handed out */
		unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
		size_t ql = br_ec_compute_pub(&br_ec_p256_m31, NULL, q, sk);

		pk = (*vt)->get_pkey(vt, &usages);
		if (!pk || pk->key_type != BR_KEYTYPE_EC ||
		    pk->key.ec.qlen != ql || memcmp(pk->key.ec.q, q, ql) ||
		    !(usages & BR_KEYTYPE_SIGN))
			rc = -3;
	}
	trust_free(&t);
	return rc;
}

static void leaf_openssl(const struct ca *ca, const char *dir, const char *name,
			 const char *san, int ip)
{
	const br_x509_certificate *chain;
	const br_ec_private_key *sk;
	char lp[600], cmd[2048], out[8192];
	size_t n;

	REQUIRE(ca_leaf((struct ca *)ca, name, &chain, &n, &sk) == 0);
	REQUIRE(n == 2);
	snprintf(lp, sizeof(lp), "%s/leaf.pem", dir);
	REQUIRE(write_pem(lp, chain[0].data, chain[0].data_len) == 0);
	snprintf(cmd, sizeof(cmd),
		 "openssl verify -x509_strict -purpose sslserver %s '%s' "
		 "-CAfile '%s' '%s'",
		 ip ? "-verify_ip" : "-verify_hostname", name, ca_cert_path(ca),
		 lp);
	CHECK(run(cmd, out, sizeof(out)) == 0);
	CHECK(strstr(out, ": OK") != NULL);
	if (!strstr(out, ": OK"))
		fprintf(stderr, "%s\n%s\n", cmd, out);
	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s' -noout -text", lp);
	CHECK(run(cmd, out, sizeof(out)) == 0);
	CHECK(strstr(out, san) != NULL);
	CHECK(strstr(out, "X509v3 Subject Alternative Name") != NULL);
	CHECK(strstr(out, "CA:FALSE") != NULL);
	CHECK(strstr(out, "X509v3 Key Usage: critical") != NULL);
	CHECK(strstr(out, "Digital Signature") != NULL);
	CHECK(strstr(out, "TLS Web Server Authentication") != NULL);
	CHECK(strstr(out, "X509v3 Authority Key Identifier") != NULL);
	CHECK(strstr(out, "ecdsa-with-SHA256") != NULL);
	/* the chain's second certificate is the CA itself */
	{
		size_t cl;
		const unsigned char *c = ca_cert_der(ca, &cl);

		CHECK(chain[1].data_len == cl && !memcmp(chain[1].data, c, cl));
	}
	/* AKI = CA's SKI */
	snprintf(cmd, sizeof(cmd),
		 "test \"$(openssl x509 -in '%s' -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')\" = "
		 "\"$(openssl x509 -in '%s' -noout -ext authorityKeyIdentifier | sed -n 2p | tr -d ' ' | sed 's/^keyid://')\"",
		 ca_cert_path(ca), lp);
	CHECK(run(cmd, out, sizeof(out)) == 0);
}

TEST(ca_leaf_verifies)
{
	const br_x509_certificate *chain;
	const br_ec_private_key *sk;
	char *t = tmpdir_make(), err[512];
	struct ca *ca;
	size_t n;

	REQUIRE(t);
	ca = ca_open(t, err, sizeof(err));
	REQUIRE(ca);
	if (have_openssl()) {
		leaf_openssl(ca, t, "api.example.com", "DNS:api.example.com", 0);
		leaf_openssl(ca, t, "127.0.0.1", "IP Address:127.0.0.1", 1);
		leaf_openssl(ca, t, "fd00::1", "IP Address:FD00:0:0:0:0:0:0:1", 1);
		/* over 64 bytes: no CN, critical SAN; still valid */
		leaf_openssl(ca, t,
			     "a-rather-long-label-that-goes-on-and-on.another-long-label-here.example.com",
			     "DNS:a-rather-long-label-that-goes-on-and-on.another-long-label-here.example.com",
			     0);
	}

	REQUIRE(ca_leaf(ca, "api.example.com", &chain, &n, &sk) == 0);
	CHECK(bearssl_verify(ca, chain, n, "api.example.com", sk) == 0);
	CHECK(bearssl_verify(ca, chain, n, "other.example.com", sk) ==
	      BR_ERR_X509_BAD_SERVER_NAME);
	CHECK(bearssl_verify(ca, chain, n, NULL, sk) == 0);
	/* the leaf alone against the CA anchor is enough too */
	CHECK(bearssl_verify(ca, chain, 1, "api.example.com", sk) == 0);
	REQUIRE(ca_leaf(ca, "127.0.0.1", &chain, &n, &sk) == 0);
	CHECK(bearssl_verify(ca, chain, n, NULL, sk) == 0);

	/* another CA does not vouch for these leaves */
	{
		char *t2 = tmpdir_make();
		struct ca *other = t2 ? ca_open(t2, err, sizeof(err)) : NULL;

		REQUIRE(other);
		REQUIRE(ca_leaf(ca, "api.example.com", &chain, &n, &sk) == 0);
		CHECK(bearssl_verify(other, chain, 1, "api.example.com", sk) ==
		      BR_ERR_X509_NOT_TRUSTED);
		ca_free(other);
		tmpdir_remove(t2);
	}
	ca_free(ca);
	tmpdir_remove(t);
}

TEST(ca_leaf_cache)
{
	const br_x509_certificate *c1, *c2, *c3;
	const br_ec_private_key *sk;
	char *t = tmpdir_make(), err[512], name[64];
	uint8_t first[2048];
	size_t n, flen;
	struct ca *ca;
	int i;

	REQUIRE(t);
	ca = ca_open(t, err, sizeof(err));
	REQUIRE(ca);
	REQUIRE(ca_leaf(ca, "api.example.com", &c1, &n, &sk) == 0);
	REQUIRE(c1[0].data_len <= sizeof(first));
	flen = c1[0].data_len;
	memcpy(first, c1[0].data, flen);
	REQUIRE(ca_leaf(ca, "api.example.com", &c2, &n, &sk) == 0);
	CHECK(c2 == c1 && c2[0].data == c1[0].data);
	CHECK(c2[0].data_len == flen && !memcmp(c2[0].data, first, flen));
	REQUIRE(ca_leaf(ca, "www.example.com", &c3, &n, &sk) == 0);
	CHECK(c3[0].data != c1[0].data);
	CHECK(c3[0].data_len != flen || memcmp(c3[0].data, first, flen));

	/* bad names are refused, never minted */
	CHECK(ca_leaf(ca, "", &c3, &n, &sk) == -1);
	CHECK(ca_leaf(ca, "API.example.com", &c3, &n, &sk) == -1);
	CHECK(ca_leaf(ca, "a..b", &c3, &n, &sk) == -1);
	CHECK(ca_leaf(ca, "a.b.", &c3, &n, &sk) == -1);
	CHECK(ca_leaf(ca, ".a.b", &c3, &n, &sk) == -1);
	CHECK(ca_leaf(ca, "*.example.com", &c3, &n, &sk) == -1);
	CHECK(ca_leaf(ca, "a b", &c3, &n, &sk) == -1);
	CHECK(ca_leaf(ca, "1::2::3", &c3, &n, &sk) == -1);
	CHECK(ca_leaf(ca, NULL, &c3, &n, &sk) == -1);
	{
		char longname[300];

		memset(longname, 'a', sizeof(longname));
		longname[64] = '\0'; /* a 64-byte label */
		CHECK(ca_leaf(ca, longname, &c3, &n, &sk) == -1);
		for (i = 0; i < 254; i++)
			longname[i] = (i % 2) ? '.' : 'a';
		longname[253] = '\0'; /* 253 bytes: fine */
		CHECK(ca_leaf(ca, longname, &c3, &n, &sk) == 0);
		longname[253] = 'a';
		longname[254] = '\0';
		CHECK(ca_leaf(ca, longname, &c3, &n, &sk) == -1);
	}

	/*
	 * LRU. Used so far: api, www and the 253-byte name. Fill the cache
	 * exactly, touch api and h0, then mint N + 1 new names: they evict
	 * www, the long name and h1..h(N-1), and nothing else.
	 */
	{
		const int nh = CA_CACHE_SIZE - 3;
		uint8_t h0[2048], h1[2048];
		size_t h0len, h1len = 0;

		for (i = 0; i < nh; i++) {
			snprintf(name, sizeof(name), "h%d.example.com", i);
			REQUIRE(ca_leaf(ca, name, &c3, &n, &sk) == 0);
			if (i == 1) {
				h1len = c3[0].data_len;
				memcpy(h1, c3[0].data, h1len);
			}
		}
		REQUIRE(ca_leaf(ca, "api.example.com", &c2, &n, &sk) == 0);
		CHECK(c2[0].data_len == flen && !memcmp(c2[0].data, first, flen));
		REQUIRE(ca_leaf(ca, "h0.example.com", &c1, &n, &sk) == 0);
		memcpy(h0, c1[0].data, c1[0].data_len);
		h0len = c1[0].data_len;
		for (i = 0; i < nh + 1; i++) {
			snprintf(name, sizeof(name), "g%d.example.com", i);
			REQUIRE(ca_leaf(ca, name, &c3, &n, &sk) == 0);
			/* the previous name's chain is intact after a new name too */
			CHECK(c1[0].data_len == h0len &&
			      !memcmp(c1[0].data, h0, h0len));
		}
		REQUIRE(ca_leaf(ca, "h0.example.com", &c1, &n, &sk) == 0);
		CHECK(c1[0].data_len == h0len && !memcmp(c1[0].data, h0, h0len));
		REQUIRE(ca_leaf(ca, "api.example.com", &c2, &n, &sk) == 0);
		CHECK(c2[0].data_len == flen && !memcmp(c2[0].data, first, flen));
		/* h1 was evicted: minted again, with a new serial */
		REQUIRE(ca_leaf(ca, "h1.example.com", &c3, &n, &sk) == 0);
		CHECK(c3[0].data_len != h1len || memcmp(c3[0].data, h1, h1len));
		/* www too; the slot it gets is a recycled one, still valid */
		REQUIRE(ca_leaf(ca, "www.example.com", &c3, &n, &sk) == 0);
		CHECK(bearssl_verify(ca, c3, n, "www.example.com", sk) == 0);
	}
	ca_free(ca);
	tmpdir_remove(t);
}

TEST(ca_leaf_pin)
{
	const br_x509_certificate *pc, *c;
	const br_ec_private_key *sk;
	char *t = tmpdir_make(), err[512], name[64];
	uint8_t keep[2048];
	size_t n, klen;
	struct ca *ca;
	int pin, pin2, i, *pins;

	REQUIRE(t);
	ca = ca_open(t, err, sizeof(err));
	REQUIRE(ca);
	CHECK(ca_leaf_pin(ca, "p.example.com", &pc, &n, &sk, NULL) == -1);
	REQUIRE(ca_leaf_pin(ca, "p.example.com", &pc, &n, &sk, &pin) == 0);
	REQUIRE(n == 2 && pc[0].data_len <= sizeof(keep));
	klen = pc[0].data_len;
	memcpy(keep, pc[0].data, klen);
	/* the same name again: the same cached leaf, pinned twice */
	REQUIRE(ca_leaf_pin(ca, "p.example.com", &c, &n, &sk, &pin2) == 0);
	CHECK(c == pc && pin2 == pin);
	ca_leaf_unpin(ca, pin2);

	/* more names than the cache holds: the pinned leaf is never the
	 * victim, though it is the least recently used */
	for (i = 0; i < CA_CACHE_SIZE + 8; i++) {
		snprintf(name, sizeof(name), "q%d.example.com", i);
		REQUIRE(ca_leaf(ca, name, &c, &n, &sk) == 0);
	}
	CHECK(pc[0].data_len == klen && !memcmp(pc[0].data, keep, klen));
	REQUIRE(ca_leaf(ca, "p.example.com", &c, &n, &sk) == 0);
	CHECK(c == pc);
	CHECK(bearssl_verify(ca, pc, 2, "p.example.com", sk) == 0);

	/* unpinned, it ages out like any other */
	ca_leaf_unpin(ca, pin);
	ca_leaf_unpin(ca, -1); /* ignored */
	for (i = 0; i < CA_CACHE_SIZE; i++) {
		snprintf(name, sizeof(name), "r%d.example.com", i);
		REQUIRE(ca_leaf(ca, name, &c, &n, &sk) == 0);
	}
	REQUIRE(ca_leaf(ca, "p.example.com", &c, &n, &sk) == 0);
	CHECK(c[0].data_len != klen || memcmp(c[0].data, keep, klen));

	/* every slot pinned: a new name cannot be minted, a cached one can
	 * still be had */
	pins = calloc(CA_CACHE_SIZE, sizeof(*pins));
	REQUIRE(pins);
	for (i = 0; i < CA_CACHE_SIZE; i++) {
		snprintf(name, sizeof(name), "r%d.example.com", i);
		if (i == 0)
			snprintf(name, sizeof(name), "p.example.com");
		REQUIRE(ca_leaf_pin(ca, name, &c, &n, &sk, &pins[i]) == 0);
	}
	CHECK(ca_leaf(ca, "new.example.com", &c, &n, &sk) == -1);
	CHECK(ca_leaf(ca, "r5.example.com", &c, &n, &sk) == 0);
	ca_leaf_unpin(ca, pins[7]);
	CHECK(ca_leaf(ca, "new.example.com", &c, &n, &sk) == 0);
	free(pins);
	ca_free(ca);
	tmpdir_remove(t);
}

struct pem_seen {
	int n;
	char names[4][32];
	size_t lens[4];
	uint8_t first[4];
	int stop_at;
};

static int pem_seen_cb(void *ctx, const char *name, const uint8_t *der,
		       size_t len)
{
	struct pem_seen *s = ctx;

	if (s->n < 4) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		s->lens[s->n] = len;
		s->first[s->n] = len ? der[0] : 0;
	}
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

TEST(trust_pem_each)
{
	/* "hello" = aGVsbG8=, 0x30 0x82 = MII=, 3 bytes "abc" = YWJj */
	static const char text[] =
		"junk before\n"
		"-----BEGIN CERTIFICATE-----\r\n"
		"aGVs\r\n"
		" bG8=\r\n"
		"-----END CERTIFICATE-----\r\n"
		"-----BEGIN BAD-----\n"
		"a*Vs\n"
		"-----END BAD-----\n"
		"-----BEGIN PAD THEN DATA-----\n"
		"YQ==YWJj\n"
		"-----END PAD THEN DATA-----\n"
		"-----BEGIN UNTERMINATED-----\n"
		"YWJj\n"
		"-----BEGIN EC PRIVATE KEY-----  \n"
		"YWJj\n"
		"-----END EC PRIVATE KEY-----";
	struct pem_seen s = { 0 };

	/* the malformed and the unterminated objects are dropped (-1), the
	 * others all arrive, the last one without a final newline */
	CHECK(trust_pem_each(text, sizeof(text) - 1, pem_seen_cb, &s) == -1);
	REQUIRE(s.n == 2);
	CHECK(!strcmp(s.names[0], "CERTIFICATE") && s.lens[0] == 5 &&
	      s.first[0] == 'h');
	CHECK(!strcmp(s.names[1], "EC PRIVATE KEY") && s.lens[1] == 3 &&
	      s.first[1] == 'a');

	/* a callback's non-zero value stops the walk and is returned */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	CHECK(trust_pem_each(text, sizeof(text) - 1, pem_seen_cb, &s) == 7);
	CHECK(s.n == 1);

	/* no PEM at all */
	memset(&s, 0, sizeof(s));
	CHECK(trust_pem_each("-----BEGIN", 10, pem_seen_cb, &s) == 0);
	CHECK(trust_pem_each("", 0, pem_seen_cb, &s) == 0 && s.n == 0);
}

TEST(trust_bundles)
{
	struct trust t = { 0 };
	char err[512], *d = tmpdir_make(), p[600];
	const char *sys = trust_system_bundle();
	FILE *f;
	int n, i;

	REQUIRE(d);
	if (sys) {
		n = trust_add_system(&t, err, sizeof(err));
		CHECK(n > 50);
		CHECK((size_t)n == t.n);
		for (i = 0; i < n && i < (int)t.n; i++)
			CHECK(t.ta[i].dn.len > 0 && t.ta[i].pkey.key_type);
		trust_free(&t);
		CHECK(t.n == 0 && t.ta == NULL);
	}

	/* garbage: binary, then PEM with bad base64, then a non-certificate */
	snprintf(p, sizeof(p), "%s/garbage.pem", d);
	f = fopen(p, "w");
	REQUIRE(f);
	for (i = 0; i < 4096; i++)
		fputc((i * 7919) & 0xff, f);
	fputs("\n-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n"
	      "-----END CERTIFICATE-----\n", f);
	fputs("-----BEGIN CERTIFICATE-----\nAAECAwQF\n"
	      "-----END CERTIFICATE-----\n", f);
	fputs("-----BEGIN CERTIFICATE-----\nAAECAwQF\n", f); /* unterminated */
	fclose(f);
	n = trust_add_pem_file(&t, p, err, sizeof(err));
	CHECK(n == 0);
	CHECK(t.n == 0);
	CHECK(t.skipped >= 1);
	trust_free(&t);

	/* empty file, missing file */
	snprintf(p, sizeof(p), "%s/empty.pem", d);
	f = fopen(p, "w");
	REQUIRE(f);
	fclose(f);
	CHECK(trust_add_pem_file(&t, p, err, sizeof(err)) == 0);
	snprintf(p, sizeof(p), "%s/nope.pem", d);
	CHECK(trust_add_pem_file(&t, p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "nope.pem") != NULL);
	trust_free(&t);
	tmpdir_remove(d);
}

TEST(ca_bundle)
{
	struct trust t = { 0 }, s = { 0 };
	char *d = tmpdir_make(), err[512], out[700], *pem, *txt;
	struct stat st;
	struct ca *ca;
	size_t len;

	REQUIRE(d);
	ca = ca_open(d, err, sizeof(err));
	REQUIRE(ca);
	snprintf(out, sizeof(out), "%s/bundle.crt", d);
	CHECK(ca_write_bundle(ca, out, err, sizeof(err)) == 0);
	CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK(trust_add_pem_file(&t, out, err, sizeof(err)) > 0);
	if (trust_system_bundle())
		trust_add_system(&s, err, sizeof(err));
	CHECK(t.n == s.n + 1);
	/* our CA last */
	txt = file_text(out);
	REQUIRE(ca_cert_pem(ca, &pem, &len) == 0);
	CHECK(txt && strlen(txt) >= len && !strcmp(txt + strlen(txt) - len, pem));
	free(pem);
	free(txt);
	trust_free(&t);
	trust_free(&s);
	ca_free(ca);
	tmpdir_remove(d);
}

TEST(ca_default_dir)
{
	char *old_x = getenv("XDG_STATE_HOME"), *old_h = getenv("HOME"), *p;

	old_x = old_x ? strdup(old_x) : NULL;
	old_h = old_h ? strdup(old_h) : NULL;
	setenv("XDG_STATE_HOME", "/xdg/state", 1);
	p = ca_default_dir();
	CHECK_STR(p, "/xdg/state/islo-net");
	free(p);
	setenv("XDG_STATE_HOME", "relative", 1); /* ignored, per XDG */
	setenv("HOME", "/home/u", 1);
	p = ca_default_dir();
	CHECK_STR(p, "/home/u/.local/state/islo-net");
	free(p);
	unsetenv("XDG_STATE_HOME");
	p = ca_default_dir();
	CHECK_STR(p, "/home/u/.local/state/islo-net");
	free(p);
	if (old_x)
		setenv("XDG_STATE_HOME", old_x, 1);
	if (old_h)
		setenv("HOME", old_h, 1);
	else
		unsetenv("HOME");
	free(old_x);
	free(old_h);
}

/* ca_cli_main() with stdout and stderr sent to /dev/null */
static int cli_quiet(int argc, char **argv)
{
	int o = dup(1), e = dup(2), nul = open("/dev/null", O_WRONLY), rc;

	fflush(stdout);
	fflush(stderr);
	dup2(nul, 1);
	dup2(nul, 2);
	rc = ca_cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(o, 1);
	dup2(e, 2);
	close(o);
	close(e);
	close(nul);
	return rc;
}

TEST(ca_cli)
{
	char *d = tmpdir_make(), *av[5];
	char dirarg[600];
	int rc;

	REQUIRE(d);
	snprintf(dirarg, sizeof(dirarg), "%s/cli", d);
	av[0] = "ca";
	av[1] = "path";
	av[2] = "--ca-dir";
	av[3] = dirarg;
	av[4] = NULL;
	rc = cli_quiet(4, av);
	CHECK(rc == 0);
	strncat(dirarg, "/ca.pem", sizeof(dirarg) - strlen(dirarg) - 1);
	CHECK(access(dirarg, R_OK) == 0);
	dirarg[strlen(dirarg) - 7] = '\0';
	av[1] = "export";
	rc = cli_quiet(4, av);
	CHECK(rc == 0);
	av[1] = "frobnicate";
	CHECK(cli_quiet(4, av) == 2);
	av[1] = "path";
	av[2] = "--bogus";
	CHECK(cli_quiet(3, av) == 2);
	av[2] = "extra";
	CHECK(cli_quiet(3, av) == 2);
	av[1] = "--help";
	CHECK(cli_quiet(2, av) == 0);
	tmpdir_remove(d);
}
