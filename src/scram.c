// SPDX-License-Identifier: MIT
/*
 * scram.c - SCRAM-SHA-256 client (RFC 5802, RFC 7677) and the md5
 * password answer, for the database gateway's upstream authentication.
 *
 * The exchange, client side, without channel binding ("n,,"):
 *
 *   client-first  n,,n=USER,r=CNONCE
 *   server-first  r=CNONCE+SNONCE,s=SALT,i=ITER
 *   client-final  c=biws,r=CNONCE+SNONCE,p=base64(ClientKey XOR ClientSignature)
 *   server-final  v=base64(ServerSignature)
 *
 * with SaltedPassword = Hi(password, salt, ITER) (PBKDF2-HMAC-SHA-256),
 * ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey),
 * AuthMessage = client-first-bare "," server-first "," client-final-without-proof,
 * ClientSignature = HMAC(StoredKey, AuthMessage),
 * ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage).
 *
 * The server signature is checked in constant time: a server that does
 * not know the password's verifier must not get a session past us.
 */
#include "scram.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <bearssl.h>

#include "base64.h"
#include "secret.h"

static void hmac(const uint8_t *key, size_t klen, const void *d1, size_t l1,
		 const void *d2, size_t l2, uint8_t out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, klen);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, d1, l1);
	if (l2)
		br_hmac_update(&hc, d2, l2);
	br_hmac_out(&hc, out);
	explicit_bzero(&kc, sizeof(kc));
	explicit_bzero(&hc, sizeof(hc));
}

void scram_pbkdf2(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
		  size_t saltlen, uint32_t iter, uint8_t out[32])
{
	static const uint8_t one[4] = { 0, 0, 0, 1 };
	br_hmac_key_context kc;
	br_hmac_context hc;
	uint8_t u[32];
	uint32_t i;
	int k;

	/* the key schedule once; each round starts from it */
	br_hmac_key_init(&kc, &br_sha256_vtable, pw, pwlen);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, salt, saltlen);
	br_hmac_update(&hc, one, 4);
	br_hmac_out(&hc, u);
	memcpy(out, u, 32);
	for (i = 1; i < iter; i++) {
		br_hmac_init(&hc, &kc, 0);
		br_hmac_update(&hc, u, 32);
		br_hmac_out(&hc, u);
		for (k = 0; k < 32; k++)
			out[k] ^= u[k];
	}
	explicit_bzero(u, sizeof(u));
	explicit_bzero(&kc, sizeof(kc));
	explicit_bzero(&hc, sizeof(hc));
}

size_t scram_client_first(struct scram *s, const char *user, const char *nonce,
			  char *out, size_t cap)
{
	char rnd[SCRAM_NONCE_LEN + 1];
	uint8_t raw[SCRAM_NONCE_LEN * 3 / 4];
	size_t o = 0, i;

	memset(s, 0, sizeof(*s));
	if (!nonce) {
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			return 0;
		b64_encode(raw, sizeof(raw), rnd, sizeof(rnd));
		nonce = rnd;
	}
	if (strlen(nonce) > 64 || strchr(nonce, ','))
		return 0;
	s->first_bare[o++] = 'n';
	s->first_bare[o++] = '=';
	for (i = 0; user[i]; i++) {
		const char *e = user[i] == '=' ? "=3D" : user[i] == ',' ? "=2C" : NULL;
		size_t el = e ? 3 : 1;

		if (o + el + 80 >= sizeof(s->first_bare))
			return 0;
		memcpy(s->first_bare + o, e ? e : &user[i], el);
		o += el;
	}
	o += (size_t)snprintf(s->first_bare + o, sizeof(s->first_bare) - o,
			      ",r=");
	s->nonce_off = o;
	o += (size_t)snprintf(s->first_bare + o, sizeof(s->first_bare) - o,
			      "%s", nonce);
	s->first_len = o;
	if (3 + o + 1 > cap)
		return 0;
	/* gs2 header: no channel binding, no authzid */
	out[0] = 'n';
	out[1] = ',';
	out[2] = ',';
	memcpy(out + 3, s->first_bare, o + 1);
	s->state = 1;
	return 3 + o;
}

/* "k=value" attribute at the start of [*p, end): value span, *p moved past. */
static int attr(const char **p, const char *end, char k, const char **v,
		size_t *vl)
{
	const char *c;

	if (end - *p < 2 || (*p)[0] != k || (*p)[1] != '=')
		return -1;
	*v = *p + 2;
	c = memchr(*v, ',', (size_t)(end - *v));
	*vl = (size_t)((c ? c : end) - *v);
	*p = c ? c + 1 : end;
	return 0;
}

/* HMAC(@key, AuthMessage), AuthMessage fed in its three pieces. */
static void auth_hmac(const struct scram *s, const uint8_t key[32],
		      const char *srv, size_t srvlen, const char *nofinal,
		      size_t nl, uint8_t out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, 32);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, s->first_bare, s->first_len);
	br_hmac_update(&hc, ",", 1);
	br_hmac_update(&hc, srv, srvlen);
	br_hmac_update(&hc, ",", 1);
	br_hmac_update(&hc, nofinal, nl);
	br_hmac_out(&hc, out);
	explicit_bzero(&kc, sizeof(kc));
	explicit_bzero(&hc, sizeof(hc));
}

size_t scram_client_final(struct scram *s, const uint8_t *pw, size_t pwlen,
			  const char *srv, size_t srvlen, char *out, size_t cap,
			  const char **err)
{
	const char *p = srv, *end = srv + srvlen, *r, *salt64, *it;
	size_t rl, sl, il, cn = s->first_len - s->nonce_off, o, i;
	uint8_t salt[128], salted[32], ckey[32], skey[32], stored[32], csig[32];
	uint8_t proof[32];
	unsigned long iter = 0;
	long saltlen;
	br_sha256_context h;
	char nofinal[SCRAM_MSG_MAX];
	int nl;

	*err = "malformed SCRAM server-first-message";
	if (s->state != 1 || srvlen > SCRAM_MSG_MAX || memchr(srv, 0, srvlen))
		return 0;
	if (attr(&p, end, 'r', &r, &rl) || attr(&p, end, 's', &salt64, &sl) ||
	    attr(&p, end, 'i', &it, &il))
		return 0;
	if (rl <= cn || memcmp(r, s->first_bare + s->nonce_off, cn)) {
		*err = "SCRAM server nonce does not extend ours";
		return 0;
	}
	for (i = 0; i < rl; i++)
		if (r[i] < 0x21 || r[i] > 0x7e || r[i] == ',')
			return 0;
	if (!il || il > 7)
		return 0;
	for (i = 0; i < il; i++) {
		if (it[i] < '0' || it[i] > '9')
			return 0;
		iter = iter * 10 + (unsigned long)(it[i] - '0');
	}
	if (!iter || iter > SCRAM_MAX_ITER) {
		*err = "SCRAM iteration count out of range";
		return 0;
	}
	saltlen = b64_decode(salt64, sl, salt, sizeof(salt));
	if (saltlen <= 0)
		return 0;
	nl = snprintf(nofinal, sizeof(nofinal), "c=biws,r=%.*s", (int)rl, r);
	if (nl < 0 || (size_t)nl >= sizeof(nofinal))
		return 0;

	scram_pbkdf2(pw, pwlen, salt, (size_t)saltlen, (uint32_t)iter, salted);
	hmac(salted, 32, "Client Key", 10, NULL, 0, ckey);
	hmac(salted, 32, "Server Key", 10, NULL, 0, skey);
	br_sha256_init(&h);
	br_sha256_update(&h, ckey, 32);
	br_sha256_out(&h, stored);
	auth_hmac(s, stored, srv, srvlen, nofinal, (size_t)nl, csig);
	auth_hmac(s, skey, srv, srvlen, nofinal, (size_t)nl, s->server_sig);
	for (i = 0; i < 32; i++)
		proof[i] = ckey[i] ^ csig[i];
	o = (size_t)nl;
	*err = "SCRAM message too long";
	if (o + 3 + 45 > cap) {
		o = 0;
	} else {
		memcpy(out, nofinal, o);
		out[o++] = ',';
		out[o++] = 'p';
		out[o++] = '=';
		o += b64_encode(proof, 32, out + o, cap - o);
		s->state = 2;
		*err = NULL;
	}
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(ckey, sizeof(ckey));
	explicit_bzero(skey, sizeof(skey));
	explicit_bzero(stored, sizeof(stored));
	explicit_bzero(csig, sizeof(csig));
	explicit_bzero(proof, sizeof(proof));
	explicit_bzero(&h, sizeof(h));
	return o;
}

int scram_verify_server(struct scram *s, const char *msg, size_t len,
			const char **err)
{
	const char *p = msg, *v;
	size_t vl;
	uint8_t sig[34];
	long n;

	*err = "malformed SCRAM server-final-message";
	if (s->state != 2)
		return -1;
	if (len >= 2 && msg[0] == 'e' && msg[1] == '=') {
		*err = "the server refused the SCRAM proof";
		return -1;
	}
	if (attr(&p, msg + len, 'v', &v, &vl))
		return -1;
	n = b64_decode(v, vl, sig, sizeof(sig));
	if (n != 32 || !secret_equal(sig, 32, s->server_sig, 32)) {
		*err = "the server's SCRAM signature is wrong: it does not know the password";
		return -1;
	}
	s->state = 3;
	*err = NULL;
	return 0;
}

void scram_wipe(struct scram *s)
{
	explicit_bzero(s, sizeof(*s));
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void pg_md5_answer(const uint8_t *pw, size_t pwlen, const char *user,
		   const uint8_t salt[4], char out[36])
{
	br_md5_context m;
	uint8_t d[16];
	char h1[33];

	/* md5(hex(md5(password || user)) || salt) */
	br_md5_init(&m);
	br_md5_update(&m, pw, pwlen);
	br_md5_update(&m, user, strlen(user));
	br_md5_out(&m, d);
	hex(d, 16, h1);
	br_md5_init(&m);
	br_md5_update(&m, h1, 32);
	br_md5_update(&m, salt, 4);
	br_md5_out(&m, d);
	out[0] = 'm';
	out[1] = 'd';
	out[2] = '5';
	hex(d, 16, out + 3);
	explicit_bzero(&m, sizeof(m));
	explicit_bzero(d, sizeof(d));
	explicit_bzero(h1, sizeof(h1));
}
