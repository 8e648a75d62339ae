// SPDX-License-Identifier: MIT
/*
 * pxscrub.c - a secret the gateway injected must not come back to the
 * sandbox: the response to a request that carried one is scrubbed (its
 * head and body, the secret and its usual encodings replaced by the
 * placeholder), holding back at most SCRUB_HOLD bytes.
 */
#include "proxy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "audit.h"
#include "ca.h"
#include "ecfast.h"
#include "log.h"
#include "profile.h"
#include "secret.h"
#include "upstls.h"

/*
 * Add the percent-encoded form of pattern @k (RFC 3986: everything but
 * unreserved characters as %XX, upper-case hex, as URL builders write it)
 * if it differs from the pattern and is short enough to be held back.
 */
static void scrub_add_encoded(struct scrub *sc, int k)
{
	static const char hex[] = "0123456789ABCDEF";
	char *e;
	size_t i, o = 0, n = sc->pat_len[k];
	const uint8_t *p = sc->pat[k];
	int changed = 0;

	if (sc->npat >= SCRUB_PATS || sc->nenc >= SCRUB_ENC)
		return;
	e = sc->enc[sc->nenc];
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (o + 3 >= sizeof(sc->enc[0]))
			return;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			e[o++] = (char)c;
			continue;
		}
		e[o++] = '%';
		e[o++] = hex[c >> 4];
		e[o++] = hex[c & 15];
		changed = 1;
	}
	if (!changed)
		return;
	sc->nenc++;
	sc->pat[sc->npat] = (const uint8_t *)e;
	sc->to[sc->npat] = sc->to[k];
	sc->pat_len[sc->npat++] = o;
}

/**
 * scrub_add() - One more pattern for the current exchange's response
 * @px: Proxy, after scrub_setup()
 * @p:  Bytes (kept until scrub_end(): a secret's value, or scrub storage)
 * @n:  Their count (0: nothing)
 * @to: What replaces them (a placeholder)
 *
 * Its percent-encoded form is added too, when it differs.
 */
void scrub_add(struct proxy *px, const uint8_t *p, size_t n, const char *to)
{
	struct scrub *sc = px->scr;

	if (!sc || !n || sc->npat >= SCRUB_PATS)
		return;
	sc->pat[sc->npat] = p;
	sc->to[sc->npat] = to && to[0] ? to : "islo-net-credential-removed";
	sc->pat_len[sc->npat++] = n;
	scrub_add_encoded(sc, sc->npat - 1);
}

/* Set up the scrubbing of the response to a request that carries @s.
 * Return: 0, or -1 if out of memory */
int scrub_setup(struct proxy *px, const struct pf_auth *a,
		       const struct secret *s, const char *value)
{
	struct scrub *sc = px->scr;
	const char *to = s->placeholder[0] ? s->placeholder :
			 "islo-net-credential-removed";
	int k, nraw;

	if (!sc) {
		sc = px->scr = malloc(sizeof(*sc));
		if (!sc)
			return -1;
	}
	sc->reported = 0;
	sc->nhold = 0;
	sc->npat = 0;
	sc->nenc = 0;
	sc->pat[sc->npat] = (const uint8_t *)s->val;
	sc->to[sc->npat] = to;
	sc->pat_len[sc->npat++] = s->len;
	if (a->mode == PF_AUTH_BASIC && value && strlen(value) > 6) {
		snprintf(sc->basic, sizeof(sc->basic), "%s", value + 6);
		sc->pat[sc->npat] = (const uint8_t *)sc->basic;
		sc->to[sc->npat] = to;
		sc->pat_len[sc->npat++] = strlen(sc->basic);
	}
	nraw = sc->npat;
	for (k = 0; k < nraw; k++)
		scrub_add_encoded(sc, k);
	return 0;
}

/* The exchange is over: wipe and give back the scrubbing state. */
void scrub_end(struct proxy *px)
{
	if (px->scr) {
		explicit_bzero(px->scr, sizeof(*px->scr));
		free(px->scr);
		px->scr = NULL;
	}
	px->scrub_body = 0;
}

/* ------------------------------------------------------------------ */
/* Scrubbing                                                           */

/*
 * DOC: Scrubbing
 *
 * An upstream may reflect what it was sent: CORS reflects Origin, echo
 * services the whole request, error pages the Authorization header.  The
 * response to a request that carried an injected secret is therefore
 * searched for the secret's bytes and for the exact injected value where
 * it does not contain them (basic's base64), and each occurrence is
 * replaced by the placeholder:
 *
 * - in the response head (every head of the exchange, 1xx too), by the
 *   whole placeholder;
 * - in an identity-encoded body, streaming, by the placeholder cut or
 *   padded with '*' to the same length, so Content-Length and chunk sizes
 *   stay true.  The last bytes of each piece that could begin an
 *   occurrence are held back (at most the longest pattern less one) until
 *   the next piece shows whether they do, or the body ends.
 *
 * Not scrubbed: bodies with a Content-Encoding other than identity (the
 * secret is not in their bytes as such; decompressing every response
 * would cost what interception is meant not to), and the bytes of a
 * tunnel after 101.  A security_event says when an exchange was scrubbed.
 */

/* Say once per exchange that the upstream sent the secret back. */
static void scrub_report(struct proxy *px)
{
	if (px->scr->reported)
		return;
	px->scr->reported = 1;
	px_security_event_as(px, ACT_ALLOW,
			  "upstream sent the injected credential back: scrubbed, replaced by the placeholder",
			  px->creds);
}

/**
 * scrub_mask() - Replace every pattern in @p by a same-length mask
 * @px: Proxy with patterns
 * @p:  Bytes, changed in place
 * @n:  Their count
 */
static void scrub_mask(struct proxy *px, uint8_t *p, size_t n)
{
	const struct scrub *sc = px->scr;
	int k;

	for (k = 0; k < sc->npat; k++) {
		size_t pl = sc->pat_len[k], off = 0, i, tl = strlen(sc->to[k]);
		uint8_t *hit;

		if (!pl)
			continue;
		while (off < n && (hit = memmem(p + off, n - off, sc->pat[k], pl))) {
			for (i = 0; i < pl; i++)
				hit[i] = i < tl ? (uint8_t)sc->to[k][i] : '*';
			off = (size_t)(hit - p) + pl;
			scrub_report(px);
		}
	}
}

/* How many of the last bytes of @p[0..n) could begin a pattern. */
static size_t scrub_tail(const struct scrub *sc, const uint8_t *p, size_t n)
{
	size_t keep = 0, i, pl;
	int k;

	for (k = 0; k < sc->npat; k++) {
		pl = sc->pat_len[k];
		if (pl < 2)
			continue;
		for (i = n > pl - 1 ? n - (pl - 1) : 0; i < n; i++)
			if (p[i] == sc->pat[k][0] && !memcmp(p + i, sc->pat[k], n - i))
				break;
		if (n - i > keep)
			keep = n - i;
	}
	return keep;
}

/*
 * scrub_body() when every byte, held or new, is payload (an identity body,
 * or a chunk's data with no framing in between: nearly always): the same
 * as its general path, without gathering the payload into sc->pay and
 * back, two passes over every byte of a download.
 */
static size_t scrub_payload(struct scrub *sc, struct proxy *px, uint8_t *q,
			    size_t m, int end)
{
	size_t keep, cut;

	scrub_mask(px, q, m);
	keep = end ? 0 : scrub_tail(sc, q, m);
	cut = m - keep;
	if (m - cut > SCRUB_HOLD)
		cut = m - SCRUB_HOLD;
	memset(sc->hpay, 1, m - cut);
	memmove(sc->hold, q + cut, m - cut);
	sc->nhold = m - cut;
	return cut;
}

/**
 * scrub_body() - Scrub body bytes on their way to the sandbox
 * @px:      Proxy
 * @q:       Output (the sandbox side's application buffer), with room for
 *           px->scr->nhold + @n bytes
 * @p:       Body bytes: all payload, or all chunked framing
 * @n:       Their count (at most SCRUB_STEP)
 * @payload: Whether they are payload
 * @end:     The body ends with them: hold nothing back
 *
 * The payload is searched as one stream, whatever chunks and reads cut it
 * into: held bytes and new ones are gathered (payload only), masked, and
 * put back in place; what may begin a pattern is held back, framing in
 * between included.
 *
 * Return: bytes of @q to send
 */
size_t scrub_body(struct proxy *px, uint8_t *q, const uint8_t *p,
			 size_t n, int payload, int end)
{
	struct scrub *sc = px->scr;
	size_t m = sc->nhold + n, np = 0, i, j, keep, cut;
	int all = payload;

	memcpy(q, sc->hold, sc->nhold);
	if (n)
		memcpy(q + sc->nhold, p, n);
	for (i = 0; all && i < sc->nhold; i++)
		all = sc->hpay[i];
	if (all)
		return scrub_payload(sc, px, q, m, end);
	for (i = 0; i < m; i++)
		if (i < sc->nhold ? sc->hpay[i] : payload)
			sc->pay[np++] = q[i];
	scrub_mask(px, sc->pay, np);
	for (i = 0, j = 0; i < m; i++)
		if (i < sc->nhold ? sc->hpay[i] : payload)
			q[i] = sc->pay[j++];

	/* hold back from the first payload byte that may begin a pattern */
	keep = end ? 0 : scrub_tail(sc, sc->pay, np);
	cut = m;
	if (keep) {
		for (i = m, j = np; i > 0 && j > np - keep; i--)
			if (i - 1 < sc->nhold ? sc->hpay[i - 1] : payload)
				j--;
		cut = i;
	}
	if (m - cut > SCRUB_HOLD)
		cut = m - SCRUB_HOLD;  /* more framing than any pattern: let go */
	for (i = cut; i < m; i++)
		sc->hpay[i - cut] = i < sc->nhold ? sc->hpay[i] : (uint8_t)payload;
	memmove(sc->hold, q + cut, m - cut);
	sc->nhold = m - cut;
	explicit_bzero(sc->pay, np);
	return cut;
}

/**
 * scrub_head() - Copy a response head into pend_down, scrubbed
 * @px:  Proxy (pend_down empty and taken)
 * @h:   Head bytes
 * @n:   Their count
 * Return: 0, or -1 if the scrubbed head does not fit
 */
int scrub_head(struct proxy *px, const uint8_t *h, size_t n)
{
	const struct scrub *sc = px->scr;
	struct bytequeue *b = &px->pend_down;
	size_t off = 0;

	while (off < n) {
		size_t best = n, bl = 0, tl;
		const char *to = NULL;
		int k;

		for (k = 0; k < sc->npat; k++) {
			const uint8_t *hit;

			if (!sc->pat_len[k])
				continue;
			hit = memmem(h + off, n - off, sc->pat[k], sc->pat_len[k]);
			if (hit && (size_t)(hit - h) < best) {
				best = (size_t)(hit - h);
				bl = sc->pat_len[k];
				to = sc->to[k];
			}
		}
		if (bq_put(b, h + off, best - off) != best - off)
			return -1;
		if (best == n || !to)
			break;
		tl = strlen(to);
		if (bq_put(b, to, tl) != tl)
			return -1;
		scrub_report(px);
		off = best + bl;
	}
	return 0;
}
