// SPDX-License-Identifier: MIT
/*
 * trust.c - trust anchors for BearSSL's X.509 "minimal" engine.
 *
 * A PEM bundle is split into objects (trust_pem_each()); each
 * CERTIFICATE is decoded with br_x509_decoder and becomes an anchor: its
 * subject DN and public key are copied (the decoder's buffers live in its
 * context), BR_X509_TA_CA is set when basicConstraints says CA. Certificates
 * BearSSL cannot decode (unsupported key types or curves, odd encodings)
 * are counted in @skipped and otherwise ignored: one such entry in a
 * system bundle must not cost every other anchor.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"
#include "fileutil.h"

const char *const trust_system_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu, Arch, Alpine */
	"/etc/pki/tls/certs/ca-bundle.crt",   /* Fedora, RHEL */
	"/etc/ssl/cert.pem",                  /* Alpine, macOS, BSDs */
	NULL,
};

#define TRUST_FILE_MAX   (64u << 20) /* a bundle is ~200 KiB */
#define TRUST_OBJECT_MAX (1u << 20)  /* one PEM object */

/**
 * trust_read_file() - Read a whole file
 * @path: File
 * @max:  Refuse files larger than this
 * @buf:  malloc'd contents on success (NUL-terminated, not counted)
 * @len:  Their length
 * Return: 0, or -1 with errno set (EFBIG when over @max)
 */
int trust_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	size_t n = 0, cap = 0;
	uint8_t *b = NULL;
	int fd, e;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t r;

		if (cap - n < 2) {
			uint8_t *nb;

			if (cap >= max + 2) {
				e = EFBIG;
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			if (cap > max + 2)
				cap = max + 2;
			nb = realloc(b, cap);
			if (!nb) {
				e = ENOMEM;
				goto fail;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			e = EFBIG;
			goto fail;
		}
	}
	close(fd);
	if (!b && !(b = malloc(1))) {
		errno = ENOMEM;
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	close(fd);
	if (b)
		explicit_bzero(b, cap);
	free(b);
	errno = e;
	return -1;
}

/**
 * struct pem_obj - bytes of the PEM object being decoded
 * @buf: Accumulated bytes
 * @len: Their count
 * @cap: Allocated
 * @err: Allocation failed or the object is too big: drop it
 */
struct pem_obj {
	uint8_t *buf;
	size_t len, cap;
	int err;
};

static void pem_append(void *ctx, const void *data, size_t len)
{
	struct pem_obj *o = ctx;

	if (o->err)
		return;
	if (len > TRUST_OBJECT_MAX - o->len) {
		o->err = 1;
		return;
	}
	if (o->len + len > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		uint8_t *nb;

		while (cap < o->len + len)
			cap *= 2;
		nb = malloc(cap);
		if (!nb) {
			o->err = 1;
			return;
		}
		if (o->len)
			memcpy(nb, o->buf, o->len);
		if (o->buf) /* may have held a private key */
			explicit_bzero(o->buf, o->cap);
		free(o->buf);
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, data, len);
	o->len += len;
}

/*
 * A PEM boundary line: "-----BEGIN NAME-----" (or END), trailing blanks
 * and CR allowed.  Return: NAME (not terminated, *@n bytes), or NULL.
 */
static const char *pem_boundary(const char *line, const char *eol,
				const char *kw, size_t *n)
{
	size_t kl = strlen(kw);

	while (eol > line && (eol[-1] == '\r' || eol[-1] == ' ' || eol[-1] == '\t'))
		eol--;
	if ((size_t)(eol - line) < 10 + kl || memcmp(line, "-----", 5) ||
	    memcmp(line + 5, kw, kl) || memcmp(eol - 5, "-----", 5))
		return NULL;
	*n = (size_t)(eol - 5 - (line + 5 + kl));
	return line + 5 + kl;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/**
 * struct b64 - base64 decoding state of one PEM object
 * @acc:  Bits not yet output (the low @bits of it)
 * @bits: How many
 * @pad:  '=' seen (nothing but more '=' may follow)
 * @out:  Decoded bytes waiting to be appended
 * @n:    How many
 */
struct b64 {
	uint32_t acc;
	unsigned bits, pad;
	uint8_t out[192];
	size_t n;
};

/* Decode one line of an object's body into @o.  Return: 0, -1 if bad */
static int b64_line(struct b64 *d, struct pem_obj *o, const char *p,
		    const char *eol)
{
	for (; p < eol; p++) {
		unsigned char c = (unsigned char)*p;
		int v;

		if (c == ' ' || c == '\t' || c == '\r')
			continue;
		if (c == '=') {
			if (++d->pad > 2)
				return -1;
			continue;
		}
		v = b64val(c);
		if (v < 0 || d->pad)
			return -1;
		d->acc = (d->acc << 6) | (uint32_t)v;
		d->bits += 6;
		if (d->bits >= 8) {
			d->bits -= 8;
			d->out[d->n++] = (uint8_t)(d->acc >> d->bits);
			d->acc &= (1u << d->bits) - 1;
			if (d->n == sizeof(d->out)) {
				pem_append(o, d->out, d->n);
				d->n = 0;
			}
		}
	}
	return 0;
}

/**
 * trust_pem_each() - Call @cb for each object of a PEM text
 * @pem: Text (any bytes; what is not PEM is skipped)
 * @len: Its length
 * @cb:  Callback
 * @ctx: Its context
 *
 * Objects run from a "-----BEGIN NAME-----" line to the next
 * "-----END ...-----" line; their body is base64 (RFC 7468: blanks and
 * line breaks anywhere, '=' padding at the end only).  A malformed object
 * (bad base64, unterminated) is dropped and decoding resumes after it.
 * Object bytes are zeroed after the callback, since they may be a private
 * key.  (Our own line scanner: BearSSL's interpreted PEM decoder cost about
 * 50 ms of every start on a system bundle of 140 certificates.)
 *
 * Return: 0, -1 if some object was malformed or could not be held, or
 *	   the callback's non-zero value if it stopped early
 */
int trust_pem_each(const void *pem, size_t len, trust_pem_cb cb, void *ctx)
{
	const char *p = pem, *end = p + len;
	struct pem_obj o = { 0 };
	struct b64 d;
	char name[128];
	int rc = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end, *nm;
		size_t n;
		int ended = 0, bad = 0;

		if (!eol)
			eol = end;
		nm = pem_boundary(p, eol, "BEGIN ", &n);
		p = next;
		if (!nm)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n < 127 ? n : 127), nm);
		memset(&d, 0, sizeof(d));
		o.len = 0;
		o.err = 0;
		while (p < end) {
			eol = memchr(p, '\n', (size_t)(end - p));
			next = eol ? eol + 1 : end;
			if (!eol)
				eol = end;
			if (pem_boundary(p, eol, "END ", &n)) {
				ended = 1;
				p = next;
				break;
			}
			if (pem_boundary(p, eol, "BEGIN ", &n))
				break; /* unterminated: the next one starts here */
			if (!bad && b64_line(&d, &o, p, eol) < 0)
				bad = 1;
			p = next;
		}
		if (d.n)
			pem_append(&o, d.out, d.n);
		explicit_bzero(&d, sizeof(d));
		if (!ended || bad || o.err) {
			rc = -1;
			continue;
		}
		{
			int r = cb(ctx, name, o.buf, o.len);

			if (o.buf)
				explicit_bzero(o.buf, o.len);
			if (r) {
				rc = r;
				break;
			}
		}
	}
	if (o.buf)
		explicit_bzero(o.buf, o.cap);
	free(o.buf);
	return rc;
}

/**
 * struct dnbuf - subject DN being copied out of the X.509 decoder
 * @buf: Bytes
 * @len: Their count
 * @err: Too long
 */
struct dnbuf {
	uint8_t buf[4096];
	size_t len;
	int err;
};

static void dn_append(void *ctx, const void *data, size_t len)
{
	struct dnbuf *d = ctx;

	if (d->err || len > sizeof(d->buf) - d->len) {
		d->err = 1;
		return;
	}
	memcpy(d->buf + d->len, data, len);
	d->len += len;
}

static void *memdup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);

	if (q && n)
		memcpy(q, p, n);
	return q;
}

static void ta_clear(br_x509_trust_anchor *ta)
{
	free(ta->dn.data);
	if (ta->pkey.key_type == BR_KEYTYPE_RSA) {
		free(ta->pkey.key.rsa.n);
		free(ta->pkey.key.rsa.e);
	} else if (ta->pkey.key_type == BR_KEYTYPE_EC) {
		free(ta->pkey.key.ec.q);
	}
	memset(ta, 0, sizeof(*ta));
}

/**
 * trust_add_der() - Add one DER certificate as a trust anchor
 * @t:   Anchors
 * @der: Certificate
 * @len: Its length
 * Return: 1 if added, 0 if BearSSL cannot decode it (counted in
 *	   @t->skipped), -1 if out of memory
 */
int trust_add_der(struct trust *t, const void *der, size_t len)
{
	br_x509_decoder_context dc;
	br_x509_trust_anchor ta;
	const br_x509_pkey *pk;
	struct dnbuf *dn;

	dn = calloc(1, sizeof(*dn));
	if (!dn)
		return -1;
	br_x509_decoder_init(&dc, dn_append, dn);
	br_x509_decoder_push(&dc, der, len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || dn->err || !dn->len) {
		free(dn);
		t->skipped++;
		return 0;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		br_x509_trust_anchor *n = realloc(t->ta, cap * sizeof(*n));

		if (!n) {
			free(dn);
			return -1;
		}
		t->ta = n;
		t->cap = cap;
	}
	memset(&ta, 0, sizeof(ta));
	ta.flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	ta.dn.data = memdup(dn->buf, dn->len);
	ta.dn.len = dn->len;
	free(dn);
	ta.pkey.key_type = pk->key_type;
	switch (pk->key_type) {
	case BR_KEYTYPE_RSA:
		ta.pkey.key.rsa.n = memdup(pk->key.rsa.n, pk->key.rsa.nlen);
		ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta.pkey.key.rsa.e = memdup(pk->key.rsa.e, pk->key.rsa.elen);
		ta.pkey.key.rsa.elen = pk->key.rsa.elen;
		if (!ta.pkey.key.rsa.n || !ta.pkey.key.rsa.e)
			goto nomem;
		break;
	case BR_KEYTYPE_EC:
		ta.pkey.key.ec.curve = pk->key.ec.curve;
		ta.pkey.key.ec.q = memdup(pk->key.ec.q, pk->key.ec.qlen);
		ta.pkey.key.ec.qlen = pk->key.ec.qlen;
		if (!ta.pkey.key.ec.q)
			goto nomem;
		break;
	default:
		ta_clear(&ta);
		t->skipped++;
		return 0;
	}
	if (!ta.dn.data)
		goto nomem;
	t->ta[t->n++] = ta;
	return 1;
nomem:
	ta_clear(&ta);
	return -1;
}

struct add_ctx {
	struct trust *t;
	size_t added;
	int nomem;
};

static int add_cb(void *ctx, const char *name, const uint8_t *der, size_t len)
{
	struct add_ctx *a = ctx;
	int r;

	if (strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE"))
		return 0;
	r = trust_add_der(a->t, der, len);
	if (r < 0) {
		a->nomem = 1;
		return 1;
	}
	a->added += (size_t)r;
	return 0;
}

/**
 * trust_add_pem_file() - Add every certificate of a PEM bundle
 * @t:      Anchors
 * @path:   Bundle
 * @err:    Message on failure
 * @errlen: Its size
 *
 * Objects other than certificates are ignored; certificates BearSSL cannot
 * decode are counted in @t->skipped; a file with no certificate at all
 * adds nothing and is no error.
 *
 * Return: anchors added (0 or more), or -1 if the file cannot be read
 */
int trust_add_pem_file(struct trust *t, const char *path, char *err,
		       size_t errlen)
{
	struct add_ctx a = { .t = t };
	uint8_t *buf;
	size_t len;

	if (trust_read_file(path, TRUST_FILE_MAX, &buf, &len)) {
		fu_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	trust_pem_each(buf, len, add_cb, &a);
	free(buf);
	if (a.nomem) {
		fu_seterr(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return (int)a.added;
}

/**
 * trust_system_bundle() - The system's CA bundle
 * Return: the first of trust_system_bundles[] that exists, or NULL
 */
const char *trust_system_bundle(void)
{
	int i;

	for (i = 0; trust_system_bundles[i]; i++)
		if (access(trust_system_bundles[i], R_OK) == 0)
			return trust_system_bundles[i];
	return NULL;
}

/**
 * trust_add_system() - Add the system's CA bundle
 * @t:      Anchors
 * @err:    Message on failure
 * @errlen: Its size
 * Return: anchors added, or -1 if there is no readable system bundle
 */
int trust_add_system(struct trust *t, char *err, size_t errlen)
{
	const char *p = trust_system_bundle();

	if (!p) {
		fu_seterr(err, errlen,
			  "no system CA bundle (tried %s, %s, %s)",
			  trust_system_bundles[0], trust_system_bundles[1],
			  trust_system_bundles[2]);
		return -1;
	}
	return trust_add_pem_file(t, p, err, errlen);
}

/**
 * trust_free() - Free every anchor
 * @t: Anchors; left empty and reusable
 */
void trust_free(struct trust *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		ta_clear(&t->ta[i]);
	free(t->ta);
	memset(t, 0, sizeof(*t));
}
