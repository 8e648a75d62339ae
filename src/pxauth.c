// SPDX-License-Identifier: MIT
/*
 * pxauth.c - credentials that are not one header: a query parameter
 * (`mode: query`), the placeholder in the path replaced (`mode: path`),
 * and the request signed with AWS Signature Version 4 (`mode: aws_sigv4`).
 *
 * DOC: Credentials beyond one header
 *
 * Each mode turns the request head the sandbox sent into the one that
 * goes upstream, after the request was decided on what the sandbox sent
 * (its path with the placeholder, for path rules):
 *
 * - query: every parameter called `name:` (after '&' or ';', its name
 *   percent-decoded and compared without case: a=1;NAME=x and %6Eame=x are
 *   found) is removed, whatever its value, and one NAME=<secret> appended,
 *   the secret percent-encoded (RFC 3986 unreserved bytes kept).  The
 *   rule's placeholder may be the value of those parameters only;
 * - path: each occurrence of the placeholder in the path is replaced by
 *   the secret, encoded for a path segment (unreserved bytes, sub-delims,
 *   ':' and '@' kept; '/' and '%' encoded, so the secret stays one
 *   segment and never adds a dot segment).  The placeholder anywhere else
 *   (query, headers) is refused;
 * - aws_sigv4: the sandbox's Authorization, X-Amz-Date,
 *   X-Amz-Security-Token and X-Amz-Content-Sha256 are dropped and the
 *   request signed anew (sigv4.c) with the key only the gateway holds.
 *   Signed: Host, Content-Type, Content-MD5 and every X-Amz-* header.  The
 *   payload hash is the sandbox's UNSIGNED-PAYLOAD or
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER when it chose one; otherwise the
 *   body is hashed, so it is read whole (at most CRED_BODY_MAX, with a
 *   Content-Length) before the head goes on: proxy.c waits for it
 *   (px_body_wait()).  Signed streaming payloads (per-chunk signatures
 *   made with the sandbox's placeholder key) and presigned URLs
 *   (X-Amz-Signature in the query) are refused with a 403 that says so.
 */
#include "proxy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "chars.h"
#include "profile.h"
#include "secret.h"

/* ------------------------------------------------------------------ */
/* The request-target                                                  */

/* Where the path and the query are in a request-target. */
struct target {
	const char *t;          /* the target as sent */
	size_t len;
	size_t path;            /* offset of the path (after an absolute
				 * form's scheme and authority) */
	size_t q;               /* offset of '?', or @len */
};

static void target_split(const struct proxy *px, struct target *tg)
{
	const struct http_req *rq = &px->ex->req;
	const char *t = (const char *)bq_data(&px->reqhead) + rq->target;
	size_t i = 0;
	const char *q;

	tg->t = t;
	tg->len = rq->target_len;
	if (tg->len && t[0] != '/') {
		/* absolute form, checked by http_req_parse(): scheme "://" */
		q = memchr(t, ':', tg->len);
		i = q ? (size_t)(q - t) + 3 : tg->len;
		while (i < tg->len && t[i] != '/' && t[i] != '?')
			i++;
	}
	tg->path = i < tg->len ? i : tg->len;
	q = memchr(t + tg->path, '?', tg->len - tg->path);
	tg->q = q ? (size_t)(q - t) : tg->len;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : (uint8_t)c;
}

/* Is the parameter name @s[0..n), percent-decoded, @name (any case)? */
static int param_is(const char *s, size_t n, const char *name)
{
	size_t nl = strlen(name), i, o = 0;
	int hi, lo;
	char c;

	for (i = 0; i < n; i++, o++) {
		c = s[i];
		hi = i + 2 < n ? hexv(s[i + 1]) : -1;
		lo = i + 2 < n ? hexv(s[i + 2]) : -1;
		if (c == '%' && hi >= 0 && lo >= 0) {
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o >= nl || lower(c) != lower(name[o]))
			return 0;
	}
	return o == nl;
}

/* Bytes of @s, percent-encoded into @out: unreserved kept, and with
 * @path the sub-delims, ':' and '@' too.  Return: bytes written. */
static size_t pct_encode(const uint8_t *s, size_t n, int path, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;
	int dots = 1;

	for (i = 0; i < n; i++)
		dots &= s[i] == '.';
	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if ((ch_unreserved(c) && !(dots && path)) ||
		    (path && c && strchr("!$&'()*+,;=:@", c))) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	return o;
}

/* Is @ph in a header field (name or value) of the request? */
static int placeholder_in_headers(const struct proxy *px, const char *ph)
{
	const struct http_req *rq = &px->ex->req;
	const uint8_t *b = bq_data(&px->reqhead);
	size_t pl = strlen(ph);
	unsigned i;

	for (i = 0; i < rq->nhdr; i++) {
		const struct http_hdr *h = &rq->hdr[i];

		if (memmem(b + h->name, h->value + h->value_len - h->name, ph, pl))
			return 1;
	}
	return 0;
}

/* Refuse: the placeholder where the rule does not put the secret. */
static int refuse_elsewhere(struct proxy *px, const struct secret *s,
			    const char *where)
{
	px_security_event(px, where, s->ref);
	px_answer(px, 403, "credential placeholder outside the place its rule puts the secret");
	return -1;
}

static int take_target(struct proxy *px, struct px_cred *c, size_t cap)
{
	c->target = malloc(cap);
	if (!c->target) {
		px_answer(px, 502, "out of memory");
		return -1;
	}
	c->target_cap = cap;
	c->target_len = 0;
	return 0;
}

static void tput(struct px_cred *c, const void *p, size_t n)
{
	memcpy(c->target + c->target_len, p, n);
	c->target_len += n;
}

/* mode: query (see DOC).  Return: 0, or -1 (answered). */
static int cred_query(struct proxy *px, const struct pf_auth *a,
		      const struct secret *s, struct px_cred *c)
{
	struct target tg;
	size_t nl = strlen(a->param_name), i, e, kept = 0;
	const char *ph = s->placeholder;

	target_split(px, &tg);
	if (take_target(px, c, tg.len + nl + 3 + 3 * s->len))
		return -1;
	tput(c, tg.t, tg.q);
	tput(c, "?", 1);
	for (i = tg.q + 1; i <= tg.len; i = e + 1) {
		const char *eq;

		for (e = i; e < tg.len && tg.t[e] != '&' && tg.t[e] != ';'; e++)
			;
		eq = memchr(tg.t + i, '=', e - i);
		if (e > i && param_is(tg.t + i, eq ? (size_t)(eq - tg.t) - i : e - i,
				      a->param_name))
			continue;
		if (e == i)
			continue;
		if (kept++)
			tput(c, &tg.t[i - 1], 1);
		tput(c, tg.t + i, e - i);
	}
	if (ph[0] && (memmem(c->target, c->target_len, ph, strlen(ph)) ||
		      placeholder_in_headers(px, ph)))
		return refuse_elsewhere(px, s, "placeholder outside the query parameter of its rule");
	if (kept)
		tput(c, "&", 1);
	tput(c, a->param_name, nl);
	tput(c, "=", 1);
	c->target_len += pct_encode(s->val, s->len, 0, c->target + c->target_len);
	return 0;
}

/* mode: path (see DOC).  Return: 0, or -1 (answered). */
static int cred_path(struct proxy *px, const struct secret *s,
		     struct px_cred *c)
{
	const char *ph = s->placeholder, *hit;
	size_t pl = strlen(ph), i, n = 0;
	struct target tg;

	target_split(px, &tg);
	if (!pl)
		return 0;
	if (memmem(tg.t + tg.q, tg.len - tg.q, ph, pl) ||
	    placeholder_in_headers(px, ph))
		return refuse_elsewhere(px, s, "placeholder outside the path of its rule");
	for (i = tg.path; (hit = memmem(tg.t + i, tg.q - i, ph, pl)); i = (size_t)(hit - tg.t) + pl)
		n++;
	if (!n)
		return 0;
	if (n > 64 || take_target(px, c, tg.len + n * 3 * s->len + 1)) {
		if (n > 64)
			px_answer(px, 400, "the credential placeholder more than 64 times in the path");
		return -1;
	}
	tput(c, tg.t, tg.path);
	for (i = tg.path; (hit = memmem(tg.t + i, tg.q - i, ph, pl)); i = (size_t)(hit - tg.t) + pl) {
		tput(c, tg.t + i, (size_t)(hit - tg.t) - i);
		c->target_len += pct_encode(s->val, s->len, 1, c->target + c->target_len);
	}
	tput(c, tg.t + i, tg.len - i);
	return 0;
}

/* ------------------------------------------------------------------ */
/* aws_sigv4                                                           */

/* A presigned URL's parameters: the sandbox would sign with its
 * placeholder key, and the gateway signs headers, not URLs. */
static int presigned(const struct target *tg)
{
	static const char *const names[] = {
		"x-amz-signature", "x-amz-credential", "x-amz-algorithm",
	};
	size_t i, e, k;

	for (i = tg->q + 1; i <= tg->len; i = e + 1) {
		const char *eq;

		for (e = i; e < tg->len && tg->t[e] != '&' && tg->t[e] != ';'; e++)
			;
		eq = memchr(tg->t + i, '=', e - i);
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (param_is(tg->t + i, eq ? (size_t)(eq - tg->t) - i : e - i,
				     names[k]))
				return 1;
	}
	return 0;
}

/* The sandbox's X-Amz-Content-Sha256, or NULL (@n its length). */
static const char *sandbox_payload(const struct proxy *px, size_t *n)
{
	const struct http_req *rq = &px->ex->req;
	const uint8_t *b = bq_data(&px->reqhead);
	const struct http_hdr *h = http_hdr_find(rq->hdr, rq->nhdr, b,
						 "x-amz-content-sha256");

	*n = h ? h->value_len : 0;
	return h ? (const char *)b + h->value : NULL;
}

static int is(const char *v, size_t n, const char *s)
{
	return v && n == strlen(s) && !memcmp(v, s, n);
}

/* A payload mode the gateway keeps: the body is not signed. */
static int unsigned_mode(const char *v, size_t n)
{
	return is(v, n, SIGV4_UNSIGNED) ||
	       is(v, n, "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
}

/**
 * px_sigv4_needs_body() - Does rule @r sign a hash of this request's body?
 * @px: Proxy, with px->ex->req parsed
 * @r:  The rule that will decide the request, or NULL
 * Return: 1 if the body must be read whole first (aws_sigv4, injected, a
 *         Content-Length body that fits reqhead, no unsigned payload mode)
 */
int px_sigv4_needs_body(const struct proxy *px, const struct pf_rule *r)
{
	const struct http_req *rq = &px->ex->req;
	const char *v;
	size_t n;

	if (!r || !r->auth || r->auth->mode != PF_AUTH_SIGV4 ||
	    !(px->tls || r->allow_plaintext) || rq->chunked ||
	    rq->content_length <= 0 ||
	    rq->head_len + (unsigned long long)rq->content_length > px->reqhead.cap)
		return 0;
	v = sandbox_payload(px, &n);
	return !unsigned_mode(v, n);
}

/**
 * px_reqhead_cap() - The bound of a flow's request head queue
 * @f: Flow, admitted
 * Return: HEAD_MAX, plus CRED_BODY_MAX when its rule signs (aws_sigv4):
 *         the head of a request to sign waits there with its body
 */
size_t px_reqhead_cap(const struct flow *f)
{
	const struct pf_rule *r = f->dec.rule;

	return r && r->auth && r->auth->mode == PF_AUTH_SIGV4 ?
	       HEAD_MAX + CRED_BODY_MAX : HEAD_MAX;
}

/* The payload hash into c->payload.  Return: 0, or -1 (answered). */
static int sigv4_payload(struct proxy *px, struct px_cred *c, int *send)
{
	const struct http_req *rq = &px->ex->req;
	size_t n;
	const char *v = sandbox_payload(px, &n);

	*send = v != NULL;
	if (unsigned_mode(v, n)) {
		memcpy(c->payload, v, n);
		c->payload[n] = '\0';
		return 0;
	}
	if (v && n > 10 && !memcmp(v, "STREAMING-", 10)) {
		px_answer(px, 403, "signed streaming payloads cannot be signed by the gateway: send X-Amz-Content-Sha256: UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER");
		return -1;
	}
	if (rq->chunked) {
		px_answer(px, 411, "a request the gateway signs needs a Content-Length body (or X-Amz-Content-Sha256: UNSIGNED-PAYLOAD)");
		return -1;
	}
	if (rq->content_length > 0 &&
	    bq_len(&px->reqhead) < rq->head_len + (unsigned long long)rq->content_length) {
		px_answer(px, 413, "body too large for the gateway to sign (at most 256 KiB; S3 takes X-Amz-Content-Sha256: UNSIGNED-PAYLOAD)");
		return -1;
	}
	sigv4_sha256_hex(bq_data(&px->reqhead) + rq->head_len,
			 rq->content_length > 0 ? (size_t)rq->content_length : 0,
			 c->payload);
	return 0;
}

/* Is header @h one the signature covers (besides the gateway's own)? */
static int signed_header(const uint8_t *b, const struct http_hdr *h)
{
	static const char *const own[] = {
		"x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
	};
	const char *n = (const char *)b + h->name;
	size_t i;

	if (h->name_len > 6 && !strncasecmp(n, "x-amz-", 6)) {
		for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
			if (h->name_len == strlen(own[i]) &&
			    !strncasecmp(n, own[i], h->name_len))
				return 0;
		return 1;
	}
	return (h->name_len == 4 && !strncasecmp(n, "host", 4)) ||
	       (h->name_len == 12 && !strncasecmp(n, "content-type", 12)) ||
	       (h->name_len == 11 && !strncasecmp(n, "content-md5", 11));
}

static void hdr_add(struct px_cred *c, struct sigv4_hdr *sh, size_t *nsh,
		    const char *name, const char *value, size_t vlen)
{
	c->add[c->nadd].name = name;
	c->add[c->nadd++].value = value;
	sh[*nsh].name = name;
	sh[*nsh].name_len = strlen(name);
	sh[*nsh].value = value;
	sh[(*nsh)++].value_len = vlen;
}

/* Region and service: the rule's, or read from the Host.  Return: 0, or
 * -1 (answered). */
static int sigv4_scope(struct proxy *px, const struct pf_auth *a,
		       char *region, char *service)
{
	char r[SIGV4_NAME_MAX], s[SIGV4_NAME_MAX];

	if ((!a->region || !a->service) &&
	    sigv4_derive(px->ex->req.host, r, s)) {
		px_answer(px, 403, "the AWS region and service cannot be read from this host name: set region and service in the rule");
		return -1;
	}
	snprintf(region, SIGV4_NAME_MAX, "%s", a->region ? a->region : r);
	snprintf(service, SIGV4_NAME_MAX, "%s", a->service ? a->service : s);
	return 0;
}

/* mode: aws_sigv4 (see DOC).  Return: 0, or -1 (answered). */
static int cred_sigv4(struct proxy *px, const struct secrets *ss,
		      const struct pf_auth *a, struct px_cred *c)
{
	const struct http_req *rq = &px->ex->req;
	const uint8_t *b = bq_data(&px->reqhead);
	const struct secret *key = &ss->s[a->secret_index];
	const struct secret *id = &ss->s[a->akid_index];
	struct sigv4_hdr sh[HTTP_MAX_HEADERS + 3];
	struct sigv4_req sr;
	struct target tg;
	size_t nsh = 0;
	unsigned i;
	int send;

	target_split(px, &tg);
	if (presigned(&tg)) {
		px_answer(px, 403, "presigned URLs (X-Amz-Signature in the query) are not signed by the gateway: it signs the Authorization header");
		return -1;
	}
	if (sigv4_scope(px, a, c->region, c->service) ||
	    sigv4_payload(px, c, &send))
		return -1;
	for (i = 0; i < rq->nhdr; i++)
		if (signed_header(b, &rq->hdr[i])) {
			sh[nsh].name = (const char *)b + rq->hdr[i].name;
			sh[nsh].name_len = rq->hdr[i].name_len;
			sh[nsh].value = (const char *)b + rq->hdr[i].value;
			sh[nsh++].value_len = rq->hdr[i].value_len;
		}
	sigv4_amz_date(time(NULL), c->date);
	hdr_add(c, sh, &nsh, "X-Amz-Date", c->date, SIGV4_DATE - 1);
	if (send || !strcmp(c->service, "s3"))
		hdr_add(c, sh, &nsh, "X-Amz-Content-Sha256", c->payload,
			strlen(c->payload));
	if (a->token_index >= 0 && (size_t)a->token_index < ss->n) {
		const struct secret *t = &ss->s[a->token_index];

		c->token = malloc(t->len + 1);
		if (!c->token) {
			px_answer(px, 502, "out of memory");
			return -1;
		}
		memcpy(c->token, t->val, t->len);
		c->token[t->len] = '\0';
		c->token_len = t->len;
		hdr_add(c, sh, &nsh, "X-Amz-Security-Token", c->token, t->len);
	}
	memset(&sr, 0, sizeof(sr));
	sr.method = rq->method;
	sr.path = tg.t + tg.path;
	sr.path_len = tg.q - tg.path;
	sr.query = tg.q < tg.len ? tg.t + tg.q + 1 : "";
	sr.query_len = tg.q < tg.len ? tg.len - tg.q - 1 : 0;
	sr.hdr = sh;
	sr.nhdr = nsh;
	sr.payload_hash = c->payload;
	sr.amz_date = c->date;
	sr.region = c->region;
	sr.service = c->service;
	if (sigv4_authorization(&sr, id->val, id->len, key->val, key->len,
				c->auth, sizeof(c->auth))) {
		px_answer(px, 502, "the request cannot be signed (a key too long, or too many headers)");
		return -1;
	}
	c->add[c->nadd].name = "Authorization";
	c->add[c->nadd++].value = c->auth;
	c->drop[c->ndrop++] = "authorization";
	c->drop[c->ndrop++] = "x-amz-date";
	c->drop[c->ndrop++] = "x-amz-security-token";
	c->drop[c->ndrop++] = "x-amz-content-sha256";
	return 0;
}

/* ------------------------------------------------------------------ */
/* The entry points                                                    */

/**
 * px_cred_build() - What a query, path or aws_sigv4 credential changes
 * @px: Proxy, with the request admitted by @r
 * @ss: Secrets of the set in force (r->auth's indexes valid in it)
 * @r:  The rule, with auth of one of those modes
 * @c:  Filled: target, headers to drop and add (px_cred_end() after)
 * Return: 0, or -1 if refused (an answer is queued)
 */
int px_cred_build(struct proxy *px, const struct secrets *ss,
		  const struct pf_rule *r, struct px_cred *c)
{
	const struct pf_auth *a = r->auth;
	const struct secret *s = &ss->s[a->secret_index];

	memset(c, 0, sizeof(*c));
	switch (a->mode) {
	case PF_AUTH_QUERY:
		return cred_query(px, a, s, c);
	case PF_AUTH_PATH:
		return cred_path(px, s, c);
	case PF_AUTH_SIGV4:
		if (a->akid_index < 0 || (size_t)a->akid_index >= ss->n) {
			px_answer(px, 502, "credential not loaded");
			return -1;
		}
		return cred_sigv4(px, ss, a, c);
	default:
		return 0;
	}
}

/**
 * px_cred_scrub() - The mode's own patterns for the response's scrubbing
 * @px: Proxy, after scrub_setup() for the rule's secret
 * @ss: Secrets
 * @r:  Rule
 * @c:  What px_cred_build() made (aws_sigv4: the signature)
 *
 * path: the secret as the path carried it; aws_sigv4: the access key id
 * and the session token (each back to its own placeholder) and the
 * signature.
 */
void px_cred_scrub(struct proxy *px, const struct secrets *ss,
		   const struct pf_rule *r, const struct px_cred *c)
{
	const struct pf_auth *a = r->auth;
	const struct secret *s = &ss->s[a->secret_index];
	struct scrub *sc = px->scr;
	const char *sig;
	size_t n;

	if (!sc)
		return;
	if (a->mode == PF_AUTH_PATH && 3 * s->len < sizeof(sc->basic)) {
		n = pct_encode(s->val, s->len, 1, sc->basic);
		scrub_add(px, (const uint8_t *)sc->basic, n, s->placeholder);
	}
	if (a->mode != PF_AUTH_SIGV4)
		return;
	if (a->akid_index >= 0 && (size_t)a->akid_index < ss->n)
		scrub_add(px, ss->s[a->akid_index].val, ss->s[a->akid_index].len,
			  ss->s[a->akid_index].placeholder);
	if (a->token_index >= 0 && (size_t)a->token_index < ss->n)
		scrub_add(px, ss->s[a->token_index].val, ss->s[a->token_index].len,
			  ss->s[a->token_index].placeholder);
	sig = strstr(c->auth, "Signature=");
	if (sig && strlen(sig + 10) < sizeof(sc->sig)) {
		snprintf(sc->sig, sizeof(sc->sig), "%s", sig + 10);
		scrub_add(px, (const uint8_t *)sc->sig, strlen(sc->sig),
			  "islo-net-signature-removed");
	}
}

/* px_cred_end() - Wipe and free what px_cred_build() made. */
void px_cred_end(struct px_cred *c)
{
	if (c->target) {
		explicit_bzero(c->target, c->target_cap);
		free(c->target);
	}
	if (c->token) {
		explicit_bzero(c->token, c->token_len);
		free(c->token);
	}
	explicit_bzero(c, sizeof(*c));
}
