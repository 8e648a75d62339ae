// SPDX-License-Identifier: MIT
/*
 * sigv4.c - AWS Signature Version 4, from AWS's published description of
 * the algorithm (see sigv4.h).
 *
 * DOC: Theory of operation
 *
 * A signature is an HMAC-SHA256 chain over one string:
 *
 *   canonical request = METHOD \n CANONICAL-URI \n CANONICAL-QUERY \n
 *                       CANONICAL-HEADERS \n SIGNED-HEADERS \n PAYLOAD-HASH
 *   string to sign    = "AWS4-HMAC-SHA256" \n X-AMZ-DATE \n SCOPE \n
 *                       hex(SHA256(canonical request))
 *   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + key, DATE), REGION),
 *                       SERVICE), "aws4_request")
 *   signature         = hex(HMAC(signing key, string to sign))
 *
 * The canonical URI is the path with dot segments and empty segments
 * removed, then every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~)
 * and '/' percent-encoded: the path as sent is already encoded once, so
 * its '%' become %25 (AWS's "encode twice").  S3 is the exception: its
 * path is taken as it is (no dot segments removed, a key may hold them),
 * decoded and encoded once.  The query's parameters are decoded, encoded
 * the same way ('/' too), and sorted by name then value; a name without
 * '=' gets an empty value.  Header names are lower-cased and sorted,
 * values trimmed with inner runs of blanks made one space, repeated
 * fields joined with ','.
 *
 * The canonical request is never kept: it is written to SHA-256 as it is
 * made (sigv4_canonical_request() writes the same bytes to a buffer, for
 * tests).  The only allocation is one scratch area for the sorted query.
 */
#include "sigv4.h"

#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the canonical request goes: a hash, a buffer, or both. */
struct sink {
	br_sha256_context *h;
	char *buf;
	size_t cap, len;
	int err;
};

static void put(struct sink *s, const void *p, size_t n)
{
	if (s->h)
		br_sha256_update(s->h, p, n);
	if (!s->buf || s->err)
		return;
	if (n >= s->cap - s->len) {
		s->err = 1;
		return;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void puts_(struct sink *s, const char *str)
{
	put(s, str, strlen(str));
}

static int unreserved(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One byte as AWS encodes it: itself if unreserved (or '/' if @slash). */
static size_t enc_byte(uint8_t c, int slash, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	if (unreserved(c) || (slash && c == '/')) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '%';
	out[1] = hex[c >> 4];
	out[2] = hex[c & 15];
	return 3;
}

/*
 * @n bytes at @s, with @decode their %XX escapes decoded first (a '%'
 * not followed by two hex digits is a byte like any other), encoded into
 * @out (room for 3 * @n).  Return: bytes written.
 */
static size_t recode(const char *s, size_t n, int decode, int slash, char *out)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		hi = decode && i + 2 < n ? hexval(s[i + 1]) : -1;
		lo = decode && i + 2 < n ? hexval(s[i + 2]) : -1;
		if (c == '%' && hi >= 0 && lo >= 0) {
			c = (uint8_t)(hi * 16 + lo);
			i += 2;
		}
		o += enc_byte(c, slash, out + o);
	}
	return o;
}

/* recode() into the sink, a piece at a time. */
static void put_recoded(struct sink *k, const char *s, size_t n, int decode,
			int slash)
{
	char tmp[3 * 64];
	size_t i = 0, step;

	while (i < n) {
		step = n - i < 64 ? n - i : 64;
		/* never cut an escape in two */
		if (decode && i + step < n) {
			if (s[i + step - 1] == '%')
				step -= 1;
			else if (step >= 2 && s[i + step - 2] == '%')
				step -= 2;
		}
		put(k, tmp, recode(s + i, step, decode, slash, tmp));
		i += step;
	}
}

/* The canonical URI (see DOC). */
static void put_uri(struct sink *k, const struct sigv4_req *rq, int s3)
{
	const char *p = rq->path;
	size_t n = rq->path_len, i = 0, seg, sl, depth = 0;
	size_t stack[256]; /* the kept segments' starts */
	int wrote = 0;

	if (!n) {
		puts_(k, "/");
		return;
	}
	if (s3) {
		put_recoded(k, p, n, 1, 1);
		return;
	}
	/*
	 * Dot segments and empty ones removed: a first pass finds which
	 * segments survive (a '..' cancels the last kept one), the output
	 * pass writes them.  The kept ones are marked in place by their
	 * start offsets; a path deeper than the stack cannot be signed.
	 */
	while (i < n) {
		while (i < n && p[i] == '/')
			i++;
		seg = i;
		while (i < n && p[i] != '/')
			i++;
		sl = i - seg;
		if (!sl || (sl == 1 && p[seg] == '.'))
			continue;
		if (sl == 2 && p[seg] == '.' && p[seg + 1] == '.') {
			if (depth)
				depth--;
			continue;
		}
		if (depth >= sizeof(stack) / sizeof(stack[0])) {
			k->err = 2;
			return;
		}
		stack[depth++] = seg;
	}
	if (p[0] == '/')
		puts_(k, "/");
	for (i = 0; i < depth; i++) {
		seg = stack[i];
		for (sl = 0; seg + sl < n && p[seg + sl] != '/'; sl++)
			;
		if (wrote)
			puts_(k, "/");
		put_recoded(k, p + seg, sl, 0, 0);
		wrote = 1;
	}
	if (depth && p[n - 1] == '/')
		puts_(k, "/");
}

/* A query parameter, encoded, in the scratch area. */
struct qpair {
	size_t k, kl, v, vl;
};

static int qcmp(const void *a, const void *b, void *arg)
{
	const struct qpair *x = a, *y = b;
	const char *base = arg;
	size_t m = x->kl < y->kl ? x->kl : y->kl;
	int c = memcmp(base + x->k, base + y->k, m);

	if (c || x->kl != y->kl)
		return c ? c : (x->kl < y->kl ? -1 : 1);
	m = x->vl < y->vl ? x->vl : y->vl;
	c = memcmp(base + x->v, base + y->v, m);
	if (c || x->vl == y->vl)
		return c;
	return x->vl < y->vl ? -1 : 1;
}

/* The canonical query (see DOC).  Return: 0, or -1 out of memory. */
static int put_query(struct sink *k, const char *q, size_t n)
{
	size_t np = 1, i, o = 0, npairs = 0, a, e;
	struct qpair *pr;
	char *enc;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		np += q[i] == '&';
	pr = malloc(np * sizeof(*pr) + 3 * n + 1);
	if (!pr)
		return -1;
	enc = (char *)(pr + np);
	for (a = 0; a <= n; a = e + 1) {
		const char *eq;
		size_t kl;

		for (e = a; e < n && q[e] != '&'; e++)
			;
		if (e == a)
			continue;
		eq = memchr(q + a, '=', e - a);
		kl = eq ? (size_t)(eq - (q + a)) : e - a;
		pr[npairs].k = o;
		pr[npairs].kl = recode(q + a, kl, 1, 0, enc + o);
		o += pr[npairs].kl;
		pr[npairs].v = o;
		pr[npairs].vl = eq ? recode(eq + 1, e - a - kl - 1, 1, 0, enc + o) : 0;
		o += pr[npairs].vl;
		npairs++;
	}
	qsort_r(pr, npairs, sizeof(*pr), qcmp, enc);
	for (i = 0; i < npairs; i++) {
		if (i)
			puts_(k, "&");
		put(k, enc + pr[i].k, pr[i].kl);
		puts_(k, "=");
		put(k, enc + pr[i].v, pr[i].vl);
	}
	free(pr);
	return 0;
}

static int lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Header names compared as AWS sorts them: lower case, bytewise. */
static int hcmp(const struct sigv4_hdr *a, const struct sigv4_hdr *b)
{
	size_t i, m = a->name_len < b->name_len ? a->name_len : b->name_len;

	for (i = 0; i < m; i++)
		if (lc((uint8_t)a->name[i]) != lc((uint8_t)b->name[i]))
			return lc((uint8_t)a->name[i]) - lc((uint8_t)b->name[i]);
	return a->name_len == b->name_len ? 0 : a->name_len < b->name_len ? -1 : 1;
}

static void put_lower(struct sink *k, const char *s, size_t n)
{
	char c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = (char)lc((uint8_t)s[i]);
		put(k, &c, 1);
	}
}

/* A value trimmed, runs of blanks inside made one space. */
static void put_value(struct sink *k, const char *v, size_t n)
{
	size_t i = 0, e = n, s;

	while (i < e && (v[i] == ' ' || v[i] == '\t'))
		i++;
	while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	while (i < e) {
		for (s = i; i < e && v[i] != ' ' && v[i] != '\t'; i++)
			;
		put(k, v + s, i - s);
		if (i < e)
			puts_(k, " ");
		while (i < e && (v[i] == ' ' || v[i] == '\t'))
			i++;
	}
}

/*
 * The canonical headers, and the signed headers list into @sh (a sink
 * of its own, for the Authorization value).  Return: 0, or -1 if too many.
 */
static int put_headers(struct sink *k, struct sink *sh, const struct sigv4_req *rq)
{
	const struct sigv4_hdr *ord[SIGV4_MAX_HEADERS], *t;
	size_t i, j;

	if (rq->nhdr > SIGV4_MAX_HEADERS)
		return -1;
	for (i = 0; i < rq->nhdr; i++) {
		/* a stable insertion sort: repeated fields keep their order */
		t = &rq->hdr[i];
		for (j = i; j > 0 && hcmp(ord[j - 1], t) > 0; j--)
			ord[j] = ord[j - 1];
		ord[j] = t;
	}
	for (i = 0; i < rq->nhdr; i = j) {
		put_lower(k, ord[i]->name, ord[i]->name_len);
		if (i)
			puts_(sh, ";");
		put_lower(sh, ord[i]->name, ord[i]->name_len);
		puts_(k, ":");
		for (j = i; j < rq->nhdr && !hcmp(ord[i], ord[j]); j++) {
			if (j > i)
				puts_(k, ",");
			put_value(k, ord[j]->value, ord[j]->value_len);
		}
		puts_(k, "\n");
	}
	return 0;
}

/* The whole canonical request into @k; signed headers into @sh. */
static int canonical(const struct sigv4_req *rq, struct sink *k, struct sink *sh)
{
	if (!rq->method || !rq->payload_hash || !rq->service || !rq->path)
		return -1;
	puts_(k, rq->method);
	puts_(k, "\n");
	put_uri(k, rq, !strcmp(rq->service, "s3"));
	puts_(k, "\n");
	if (put_query(k, rq->query ? rq->query : "", rq->query ? rq->query_len : 0))
		return -1;
	puts_(k, "\n");
	if (put_headers(k, sh, rq))
		return -1;
	puts_(k, "\n");
	put(k, sh->buf, sh->len);
	puts_(k, "\n");
	puts_(k, rq->payload_hash);
	return k->err || sh->err ? -1 : 0;
}

size_t sigv4_canonical_request(const struct sigv4_req *rq, char *out, size_t cap)
{
	char shb[2048];
	struct sink k = { NULL, out, cap, 0, 0 };
	struct sink sh = { NULL, shb, sizeof(shb), 0, 0 };

	if (!cap || canonical(rq, &k, &sh))
		return 0;
	out[k.len] = '\0';
	return k.len;
}

static void to_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *p, size_t n, char hex[SIGV4_HEX])
{
	br_sha256_context h;
	uint8_t d[32];

	br_sha256_init(&h);
	br_sha256_update(&h, p, n);
	br_sha256_out(&h, d);
	to_hex(d, sizeof(d), hex);
}

/* @out = HMAC-SHA256(@key, @msg). */
static void hmac(const uint8_t *key, size_t kl, const void *msg, size_t ml,
		 uint8_t out[32])
{
	br_hmac_key_context kc;
	br_hmac_context c;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, kl);
	br_hmac_init(&c, &kc, 0);
	br_hmac_update(&c, msg, ml);
	br_hmac_out(&c, out);
	explicit_bzero(&kc, sizeof(kc));
	explicit_bzero(&c, sizeof(c));
}

/* The derived signing key for the date, region and service. */
static void signing_key(const uint8_t *key, size_t kl, const struct sigv4_req *rq,
			uint8_t out[32])
{
	uint8_t k0[4 + SIGV4_KEY_MAX], t[32];

	k0[0] = 'A';
	k0[1] = 'W';
	k0[2] = 'S';
	k0[3] = '4';
	memcpy(k0 + 4, key, kl);
	hmac(k0, 4 + kl, rq->amz_date, 8, t);
	hmac(t, 32, rq->region, strlen(rq->region), out);
	hmac(out, 32, rq->service, strlen(rq->service), t);
	hmac(t, 32, "aws4_request", 12, out);
	explicit_bzero(k0, sizeof(k0));
	explicit_bzero(t, sizeof(t));
}

static int date_ok(const char *d)
{
	size_t i;

	if (!d || strlen(d) != SIGV4_DATE - 1 || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return 0;
	return 1;
}

int sigv4_authorization(const struct sigv4_req *rq, const uint8_t *akid,
			size_t akid_len, const uint8_t *key, size_t key_len,
			char *out, size_t cap)
{
	br_sha256_context h;
	char shb[2048], sts[256], crh[SIGV4_HEX], sig[SIGV4_HEX];
	struct sink k = { &h, NULL, 0, 0, 0 };
	struct sink sh = { NULL, shb, sizeof(shb), 0, 0 };
	uint8_t d[32], sk[32];
	size_t i;
	int n;

	if (!date_ok(rq->amz_date) || !rq->region || !sigv4_name_ok(rq->region) ||
	    !rq->service || !sigv4_name_ok(rq->service) || !key_len ||
	    key_len > SIGV4_KEY_MAX || !akid_len || akid_len > 128)
		return -1;
	for (i = 0; i < akid_len; i++)
		if (akid[i] <= ' ' || akid[i] >= 0x7f || akid[i] == ',' ||
		    akid[i] == '/')
			return -1;
	br_sha256_init(&h);
	if (canonical(rq, &k, &sh))
		return -1;
	shb[sh.len] = '\0';
	br_sha256_out(&h, d);
	to_hex(d, sizeof(d), crh);
	n = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s",
		     rq->amz_date, rq->amz_date, rq->region, rq->service, crh);
	if (n < 0 || (size_t)n >= sizeof(sts))
		return -1;
	signing_key(key, key_len, rq, sk);
	hmac(sk, sizeof(sk), sts, (size_t)n, d);
	explicit_bzero(sk, sizeof(sk));
	to_hex(d, sizeof(d), sig);
	n = snprintf(out, cap,
		     "AWS4-HMAC-SHA256 Credential=%.*s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
		     (int)akid_len, (const char *)akid, rq->amz_date, rq->region,
		     rq->service, shb, sig);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void sigv4_amz_date(time_t t, char out[SIGV4_DATE])
{
	struct tm tm;
	unsigned v[6], i, w, o = 0;

	gmtime_r(&t, &tm);
	v[0] = (unsigned)(tm.tm_year + 1900) % 10000;
	v[1] = (unsigned)tm.tm_mon + 1;
	v[2] = (unsigned)tm.tm_mday;
	v[3] = (unsigned)tm.tm_hour;
	v[4] = (unsigned)tm.tm_min;
	v[5] = (unsigned)tm.tm_sec % 60;
	for (i = 0; i < 6; i++) {
		if (i == 3)
			out[o++] = 'T';
		for (w = i ? 10 : 1000; w; w /= 10)
			out[o++] = (char)('0' + v[i] / w % 10);
	}
	out[o++] = 'Z';
	out[o] = '\0';
}

int sigv4_name_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (!n || n >= SIGV4_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return 0;
	return 1;
}

/* us-east-1, us-gov-west-1, cn-north-1, ap-southeast-2: two letters, '-',
 * one or more words of letters each followed by '-', then digits. */
static int region_like(const char *s, size_t n)
{
	size_t i = 3, words = 0;

	if (n < 6 || s[0] < 'a' || s[0] > 'z' || s[1] < 'a' || s[1] > 'z' ||
	    s[2] != '-')
		return 0;
	while (i < n && s[i] >= 'a' && s[i] <= 'z') {
		while (i < n && s[i] >= 'a' && s[i] <= 'z')
			i++;
		if (i >= n || s[i] != '-')
			return 0;
		i++;
		words++;
	}
	if (!words || i >= n)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int copy_name(char *out, const char *s, size_t n)
{
	if (!n || n >= SIGV4_NAME_MAX)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return sigv4_name_ok(out) ? 0 : -1;
}

int sigv4_derive(const char *host, char *region, char *service)
{
	static const struct { const char *sfx, *global; } sfx[] = {
		{ ".amazonaws.com", "us-east-1" },
		{ ".amazonaws.com.cn", "cn-north-1" },
	};
	size_t lab[64], ll[64], nl = 0, i, n, hl = host ? strlen(host) : 0;
	const char *global = NULL;
	int r = -1;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		n = strlen(sfx[i].sfx);
		if (hl > n && !strcmp(host + hl - n, sfx[i].sfx)) {
			global = sfx[i].global;
			hl -= n;
		}
	}
	if (!global)
		return -1;
	for (i = 0; i < hl; i = i + ll[nl++] + 1) {
		if (nl == 64)
			return -1;
		lab[nl] = i;
		for (ll[nl] = 0; i + ll[nl] < hl && host[i + ll[nl]] != '.'; ll[nl]++)
			;
		if (!ll[nl])
			return -1;
	}
	if (!nl || host[hl - 1] == '.')
		return -1;
	/* S3: a label s3 (region after it, if any) or s3-REGION */
	for (i = 0; i < nl; i++) {
		const char *l = host + lab[i];

		if (ll[i] == 2 && !memcmp(l, "s3", 2)) {
			snprintf(service, SIGV4_NAME_MAX, "s3");
			if (i + 1 < nl && region_like(host + lab[i + 1], ll[i + 1]))
				return copy_name(region, host + lab[i + 1], ll[i + 1]);
			if (i + 2 < nl && ll[i + 1] == 9 &&
			    !memcmp(host + lab[i + 1], "dualstack", 9) &&
			    region_like(host + lab[i + 2], ll[i + 2]))
				return copy_name(region, host + lab[i + 2], ll[i + 2]);
			snprintf(region, SIGV4_NAME_MAX, "%s", global);
			return 0;
		}
		if (ll[i] > 3 && !memcmp(l, "s3-", 3) && region_like(l + 3, ll[i] - 3)) {
			snprintf(service, SIGV4_NAME_MAX, "s3");
			return copy_name(region, l + 3, ll[i] - 3);
		}
	}
	for (i = nl; i-- > 0;)
		if (region_like(host + lab[i], ll[i]))
			break;
	if (i != (size_t)-1 && i < nl) {
		if (!i || copy_name(region, host + lab[i], ll[i]))
			return -1;
		i--;
		r = 0;
	} else {
		snprintf(region, SIGV4_NAME_MAX, "%s", global);
		i = nl - 1;
		r = 0;
	}
	n = ll[i];
	if (n > 5 && !memcmp(host + lab[i] + n - 5, "-fips", 5))
		n -= 5;
	if (copy_name(service, host + lab[i], n))
		return -1;
	return r;
}
