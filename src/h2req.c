// SPDX-License-Identifier: MIT
/*
 * h2req.c - each HTTP/2 request of an intercepted connection decided as
 * an HTTP/1.1 one is, its answer and its response passed on scrubbed.
 *
 * DOC: One decision for both versions
 *
 * A stream's header block is turned into the HTTP/1.1 head it stands for
 * ("METHOD :path HTTP/1.1", Host from :authority, each field a line) and
 * decided by px_request_decide(), the same code an HTTP/1.1 request goes
 * through: Host against the connection's name and port, the rule for the
 * method and path, method overrides, placeholders, the rate limit, the
 * credential.  nghttp2 has already refused what HTTP/2 forbids (CR, LF or
 * NUL in a field, upper-case names, connection-specific fields, a
 * pseudo-header out of place), so no field can turn into two lines.  The
 * rewritten head is read back into the fields sent upstream, the
 * credential's never indexed by HPACK (NGHTTP2_NV_FLAG_NO_INDEX).
 *
 * The per-request state struct proxy keeps for its one exchange (the
 * decision, the scrubbing of the secret, what the audit line says) is
 * kept per stream here, and lent to struct proxy while a stream is being
 * worked on (st_enter(), st_leave()).
 */
#include "h2_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "profile.h"

/* ------------------------------------------------------------------ */
/* Stream buffers                                                      */

/* Room for @n more bytes.  Return: where they go (then b->len += n), or
 * NULL (over H2_BUF_MAX, or no memory). */
static uint8_t *h2buf_reserve(struct h2buf *b, size_t n)
{
	size_t need = b->len + n, cap;
	uint8_t *nb;

	if (need > H2_BUF_MAX)
		return NULL;
	if (b->off && b->off + need > b->cap) {
		memmove(b->b, b->b + b->off, b->len);
		explicit_bzero(b->b + b->len, b->off);
		b->off = 0;
	}
	if (b->off + need > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < need)
			cap *= 2;
		nb = malloc(cap);
		if (!nb)
			return NULL;
		if (b->b) {
			memcpy(nb, b->b + b->off, b->len);
			explicit_bzero(b->b, b->cap);
			free(b->b);
		}
		b->b = nb;
		b->cap = cap;
		b->off = 0;
	}
	return b->b + b->off + b->len;
}

/* Append @n bytes.  Return: 0, or -1 (over H2_BUF_MAX, or no memory). */
int h2buf_put(struct h2buf *b, const void *p, size_t n)
{
	uint8_t *q = h2buf_reserve(b, n);

	if (!q)
		return -1;
	if (n)
		memcpy(q, p, n);
	b->len += n;
	return 0;
}

/* The first @n bytes are taken: given back wiped once all are. */
static void h2buf_consume(struct h2buf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (!b->len)
		h2buf_free(b);
}

void h2buf_free(struct h2buf *b)
{
	if (b->b) {
		explicit_bzero(b->b, b->cap);
		free(b->b);
	}
	memset(b, 0, sizeof(*b));
}

struct h2stream *h2_stream_new(struct h2conn *h, int32_t sid)
{
	struct h2stream *st;

	if (h->nstreams >= H2_MAX_STREAMS)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->sid = sid;
	st->t_req = now_ms();
	snprintf(st->path_log, sizeof(st->path_log), "-");
	st->next = h->streams;
	h->streams = st;
	h->nstreams++;
	return st;
}

void h2_stream_free(struct h2conn *h, struct h2stream *st)
{
	struct h2stream **pp;

	for (pp = &h->streams; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			h->nstreams--;
			break;
		}
	h2buf_free(&st->path);
	h2buf_free(&st->hdr);
	h2buf_free(&st->trl);
	h2buf_free(&st->up);
	h2buf_free(&st->down);
	if (st->scr) {
		explicit_bzero(st->scr, sizeof(*st->scr));
		free(st->scr);
	}
	explicit_bzero(st, sizeof(*st));
	free(st);
}

/* ------------------------------------------------------------------ */
/* The proxy's per-request state, lent to a stream                     */

static int ex_ready(struct proxy *px)
{
	if (px->ex)
		return 0;
	px->ex = malloc(sizeof(*px->ex));
	if (!px->ex) {
		px->oom = 1;
		return -1;
	}
	px->ex->req.method[0] = '\0';
	return 0;
}

static void st_enter(struct proxy *px, struct h2stream *st)
{
	scrub_end(px);
	px->scr = st->scr;
	st->scr = NULL;
	px->rdec = st->rdec;
	px->rdec_set = st->rdec_set;
	px->t_req = st->t_req;
	px->req_bytes = st->req_bytes;
	px->resp_bytes = st->resp_bytes;
	memcpy(px->path_log, st->path_log, sizeof(px->path_log));
	memcpy(px->creds, st->creds, sizeof(px->creds));
	memcpy(px->requested_host, st->requested_host, sizeof(px->requested_host));
	if (px->ex)
		memcpy(px->ex->req.method, st->method, sizeof(st->method));
}

static void st_leave(struct proxy *px, struct h2stream *st)
{
	st->scr = px->scr;
	px->scr = NULL;
	st->rdec = px->rdec;
	st->rdec_set = px->rdec_set;
	memcpy(st->path_log, px->path_log, sizeof(st->path_log));
	memcpy(st->creds, px->creds, sizeof(st->creds));
	memcpy(st->requested_host, px->requested_host, sizeof(st->requested_host));
	px->rdec_set = 0;
}

void h2_audit(struct h2conn *h, struct h2stream *st, int act, int status,
	      const char *reason)
{
	struct proxy *px = h->px;

	if (st->audited || ex_ready(px) < 0)
		return;
	st->audited = 1;
	st_enter(px, st);
	px_audit_request(px, act, status, reason);
	st_leave(px, st);
}

/* A security_event about the connection, not a stream. */
void h2_sec_event(struct h2conn *h, const char *reason, const char *detail)
{
	struct proxy *px = h->px;

	if (ex_ready(px) < 0)
		return;
	px->ex->req.method[0] = '\0';
	snprintf(px->path_log, sizeof(px->path_log), "-");
	px->rdec_set = 0;
	px->requested_host[0] = '\0';
	px_security_event(px, reason, detail);
}

/* ------------------------------------------------------------------ */
/* Bodies: the data providers of both sessions                         */

/* The request's body, upstream (source: nothing; the stream is looked
 * up, so a stream gone is never read). */
static ssize_t up_read(nghttp2_session *us, int32_t uid, uint8_t *buf,
		       size_t length, uint32_t *flags, nghttp2_data_source *src,
		       void *user)
{
	struct h2conn *h = user;
	struct h2stream *st = nghttp2_session_get_stream_user_data(us, uid);
	size_t n;

	(void)src;
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	n = st->up.len < length ? st->up.len : length;
	if (n) {
		memcpy(buf, st->up.b + st->up.off, n);
		h2buf_consume(&st->up, n);
		nghttp2_session_consume(h->ss, st->sid, n);
		st->req_bytes += n;
	}
	if (!st->up.len && st->up_end)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	else if (!n)
		return NGHTTP2_ERR_DEFERRED;
	return (ssize_t)n;
}

/* Fields packed "name\0value\0" into nghttp2's form; @scrub: values
 * scrubbed of the secret (the stream's state is entered).  Return: how
 * many, or -1 (no memory); *nva to free. */
static int nv_build(struct h2conn *h, const struct h2buf *b, int scrub,
		    nghttp2_nv **nva, struct h2buf *store)
{
	struct proxy *px = h->px;
	size_t off = 0, cnt = 0, i;
	const uint8_t *p = b->b ? b->b + b->off : NULL;
	nghttp2_nv *v;

	*nva = NULL;
	for (i = 0; p && i < b->len; i++)
		cnt += !p[i];
	v = calloc(cnt / 2 + 1, sizeof(*v));
	if (!v)
		return -1;
	/* the values, scrubbed, are gathered in @store first (it may move) */
	for (i = 0; p && off < b->len && i < cnt / 2; i++) {
		const char *name = (const char *)p + off;
		size_t nl = strlen(name), vl;
		const uint8_t *val = p + off + nl + 1;

		vl = strlen((const char *)val);
		v[i].name = (uint8_t *)(uintptr_t)name;
		v[i].namelen = nl;
		v[i].value = (uint8_t *)(uintptr_t)val;
		v[i].valuelen = vl;
		if (scrub && px->scr && vl) {
			bq_clear(&px->pend_down);
			if (px_buf_take(px, &px->pend_down) < 0 ||
			    scrub_head(px, val, vl) < 0)
				return free(v), -1;
			v[i].value = (uint8_t *)(uintptr_t)store->len;
			v[i].valuelen = bq_len(&px->pend_down);
			if (h2buf_put(store, bq_data(&px->pend_down),
				      bq_len(&px->pend_down)) < 0)
				return free(v), -1;
			v[i].flags = 1; /* in @store */
		}
		off += nl + 1 + vl + 1;
	}
	bq_clear(&px->pend_down);
	cnt = i;
	*nva = v;
	for (i = 0; i < cnt; i++)
		if (v[i].flags) {
			v[i].value = store->b + store->off + (uintptr_t)v[i].value;
			v[i].flags = NGHTTP2_NV_FLAG_NONE;
		}
	return (int)cnt;
}

/* Submit the trailers upstream sent, scrubbed. */
static void trailers_submit(struct h2conn *h, struct h2stream *st)
{
	struct proxy *px = h->px;
	struct h2buf store = { 0 };
	nghttp2_nv *nva = NULL;
	int n;

	st_enter(px, st);
	n = nv_build(h, &st->trl, 1, &nva, &store);
	st_leave(px, st);
	if (n >= 0)
		nghttp2_submit_trailer(h->ss, st->sid, nva, (size_t)n);
	else
		nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, st->sid,
					  NGHTTP2_INTERNAL_ERROR);
	free(nva);
	h2buf_free(&store);
	h2buf_free(&st->trl);
	st->ntrl = 0;
}

/* The response's body, to the sandbox; upstream's window reopens as it
 * goes. */
static ssize_t down_read(nghttp2_session *ss, int32_t sid, uint8_t *buf,
			 size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *user)
{
	struct h2conn *h = user;
	struct h2stream *st = nghttp2_session_get_stream_user_data(ss, sid);
	size_t n, c;

	(void)src;
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	n = st->down.len < length ? st->down.len : length;
	if (n) {
		memcpy(buf, st->down.b + st->down.off, n);
		h2buf_consume(&st->down, n);
		c = n < st->unconsumed ? n : st->unconsumed;
		if (c && st->uid > 0)
			nghttp2_session_consume(h->us, st->uid, c);
		st->unconsumed -= c;
		st->resp_bytes += n;
		h->t_down = now_ms();
	}
	if (!st->down.len && st->down_end) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (st->ntrl) {
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			trailers_submit(h, st);
		}
	} else if (!n) {
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

static int is_name(const uint8_t *n, size_t nl, const char *s)
{
	return nl == strlen(s) && !memcmp(n, s, nl);
}

/* Copy a pseudo-header's value into @out (@cap with its NUL).  Return:
 * 0, or -1 if too long. */
static int pseudo(char *out, size_t cap, const uint8_t *v, size_t vl)
{
	if (vl >= cap)
		return -1;
	memcpy(out, v, vl);
	out[vl] = '\0';
	return 0;
}

/**
 * h2_req_header() - One field of a request's header block
 * @st: Stream
 * @name, @nlen, @value, @vlen: The field, as nghttp2 validated it
 *
 * What cannot be decided is noted (st->bad) and answered once the block
 * is whole; the rest of the block is not kept.
 * Return: 0
 */
int h2_req_header(struct h2stream *st, const uint8_t *name, size_t nlen,
		  const uint8_t *value, size_t vlen)
{
	int r = 0;

	if (st->bad)
		return 0;
	if (st->hdr.len + st->path.len + nlen + vlen + 4 > H2_HEAD_MAX) {
		st->bad = "request head too large";
		return 0;
	}
	if (is_name(name, nlen, ":method"))
		r = pseudo(st->method, sizeof(st->method), value, vlen);
	else if (is_name(name, nlen, ":scheme"))
		r = pseudo(st->scheme, sizeof(st->scheme), value, vlen);
	else if (is_name(name, nlen, ":authority"))
		r = pseudo(st->authority, sizeof(st->authority), value, vlen);
	else if (is_name(name, nlen, ":path"))
		r = st->path.len ? -1 : h2buf_put(&st->path, value, vlen);
	else if ((nlen && name[0] == ':') || /* :protocol: not offered */
		 h2buf_put(&st->hdr, name, nlen) < 0 ||
		 h2buf_put(&st->hdr, ": ", 2) < 0 ||
		 h2buf_put(&st->hdr, value, vlen) < 0 ||
		 h2buf_put(&st->hdr, "\r\n", 2) < 0)
		r = -1;
	if (r < 0)
		st->bad = "malformed request head";
	return 0;
}

/* The HTTP/1.1 head the request stands for, into px->reqhead, parsed.
 * Return: 0, or -1 (st->bad says why). */
static int head_build(struct proxy *px, struct h2stream *st)
{
	struct bytequeue *b = &px->reqhead;
	size_t need = strlen(st->method) + st->path.len + strlen(st->authority) +
		      st->hdr.len + 32;
	int r;

	if (px_buf_take(px, b) < 0 || ex_ready(px) < 0) {
		st->bad = "out of memory";
		return -1;
	}
	bq_clear(b);
	if (need > bq_room(b)) {
		st->bad = "request head too large";
		return -1;
	}
	bq_put(b, st->method, strlen(st->method));
	bq_put(b, " ", 1);
	bq_put(b, st->path.b + st->path.off, st->path.len);
	bq_put(b, " HTTP/1.1\r\n", 11);
	if (st->authority[0]) {
		bq_put(b, "host: ", 6);
		bq_put(b, st->authority, strlen(st->authority));
		bq_put(b, "\r\n", 2);
	}
	if (st->hdr.len)
		bq_put(b, st->hdr.b + st->hdr.off, st->hdr.len);
	bq_put(b, "\r\n", 2);
	h2buf_free(&st->hdr);
	r = http_req_parse(bq_data(b), bq_len(b), HEAD_MAX, &px->ex->req);
	if (r != HTTP_DONE) {
		st->bad = px->ex->req.error ? px->ex->req.error :
			  "malformed request head";
		return -1;
	}
	return 0;
}

/* Is the field named @n the credential's (never indexed)? */
static int sensitive(const struct proxy *px, const char *n)
{
	const struct pf_rule *r = px->rdec.rule;
	/* query and path credentials have no header (NULL) */
	const char *own = r && r->auth ? pf_auth_header(r->auth) : NULL;

	return !strcasecmp(n, "authorization") ||
	       !strcasecmp(n, "proxy-authorization") || !strcasecmp(n, "cookie") ||
	       !strcasecmp(n, "x-amz-security-token") ||
	       (own && !strcasecmp(n, own));
}

/* The rewritten head (px->pend_up) as the fields sent upstream; names
 * lower-cased in place.  Return: how many, or -1. */
static int req_fields(struct proxy *px, struct h2stream *st, nghttp2_nv *v,
		      size_t cap)
{
	struct http_req *rq = &px->ex->req;
	uint8_t *b;
	size_t n = 0, i, k;

	bq_clear(&px->reqhead);
	if (bq_put(&px->reqhead, bq_data(&px->pend_up), bq_len(&px->pend_up)) !=
		    bq_len(&px->pend_up) ||
	    http_req_parse(bq_data(&px->reqhead), bq_len(&px->reqhead), HEAD_MAX,
			   rq) != HTTP_DONE || cap < rq->nhdr + 4)
		return -1;
	b = bq_data(&px->reqhead);
#define NV(nm, nl, vl, vlen, fl)                                              \
	(v[n].name = (uint8_t *)(nm), v[n].namelen = (nl),                     \
	 v[n].value = (uint8_t *)(vl), v[n].valuelen = (vlen), v[n++].flags = (fl))
	NV(":method", 7, rq->method, strlen(rq->method), 0);
	NV(":scheme", 7, "https", 5, 0);
	if (st->authority[0])   /* else the request's host field says it */
		NV(":authority", 10, st->authority, strlen(st->authority), 0);
	NV(":path", 5, b + rq->target, rq->target_len, 0);
	for (i = 0; i < rq->nhdr; i++) {
		const struct http_hdr *f = &rq->hdr[i];
		char nm[64];

		for (k = 0; k < f->name_len; k++)
			b[f->name + k] = (uint8_t)tolower(b[f->name + k]);
		if (st->authority[0] && f->name_len == 4 &&
		    !memcmp(b + f->name, "host", 4))
			continue;       /* ours, from :authority */
		snprintf(nm, sizeof(nm), "%.*s", (int)f->name_len,
			 (const char *)b + f->name);
		NV(b + f->name, f->name_len, b + f->value, f->value_len,
		   sensitive(px, nm) ? NGHTTP2_NV_FLAG_NO_INDEX : 0);
	}
#undef NV
	return (int)n;
}

/* Send the decided request upstream.  Return: 0, or -1 (answered 502). */
static int req_send(struct h2conn *h, struct h2stream *st)
{
	struct proxy *px = h->px;
	nghttp2_data_provider prd = { .read_callback = up_read };
	nghttp2_nv *nva = calloc(HTTP_MAX_HEADERS + 8, sizeof(*nva));
	int n = nva ? req_fields(px, st, nva, HTTP_MAX_HEADERS + 8) : -1;
	int32_t uid = -1;

	if (n >= 0)
		uid = nghttp2_submit_request(h->us, NULL, nva, (size_t)n,
					     st->up_end ? NULL : &prd, st);
	free(nva);
	bq_clear(&px->reqhead);
	bq_clear(&px->pend_up);
	if (uid <= 0)
		return -1;
	st->uid = uid;
	return 0;
}

/* No new stream is taken: GOAWAY (graceful), once. */
void h2_goaway(struct h2conn *h)
{
	if (h->goaway_said)
		return;
	h->goaway_said = 1;
	nghttp2_submit_goaway(h->ss, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(h->ss),
			      NGHTTP2_NO_ERROR, NULL, 0);
}

/**
 * h2_request() - A request's header block is whole: decide, answer or
 * send it upstream
 * @h:  Connection
 * @st: Stream
 */
void h2_request(struct h2conn *h, struct h2stream *st)
{
	struct proxy *px = h->px;
	const char *deny, *why;
	int r, closing;

	st->decided = 1;
	st->t_req = now_ms();
	if (st->path.len)
		http_path_for_log((const char *)st->path.b + st->path.off,
				  st->path.len, st->path_log, sizeof(st->path_log));
	if (!st->bad && strcmp(st->scheme, "https"))
		st->bad = "only https requests are taken over TLS";
	if (!st->bad && h->up_gone) {
		why = px->up_error[0] ? px->up_error :
		      "upstream closed the connection";
		h2_answer(h, st, 502, why);
		h2_audit(h, st, ACT_ALLOW, 502, why);
		return;
	}
	if (st->bad || head_build(px, st) < 0) {
		h2_sec_event(h, "malformed HTTP/2 request", st->bad);
		r = !strcmp(st->bad, "request head too large") ? 431 : 400;
		h2_answer(h, st, r, st->bad);
		h2_audit(h, st, ACT_DENY, r, st->bad);
		return;
	}
	h2buf_free(&st->path);
	st_enter(px, st);
	px->rdec_set = 0;
	closing = px->closing;
	deny = px->deny_reason;
	r = px_request_decide(px);
	st_leave(px, st);
	if (r < 0) {
		/* its px_answer() closes an HTTP/1.1 connection: not this one */
		why = px->deny_reason;
		px->closing = closing;
		px->deny_reason = deny;
		h2_answer(h, st, px->status_sent, why);
		h2_audit(h, st, ACT_DENY, st->status, why);
		return;
	}
	if (req_send(h, st) < 0) {
		h2_answer(h, st, 502, "upstream refused a new stream");
		h2_audit(h, st, ACT_ALLOW, 502, "upstream refused a new stream");
	}
}

/**
 * h2_answer() - Answer a stream with the gateway's own response
 * @h:      Connection
 * @st:     Stream, not answered yet
 * @status: As px_answer()'s
 * @reason: Why (the JSON body's)
 *
 * The body is px_answer()'s; the connection stays open, the other
 * streams go on.
 */
void h2_answer(struct h2conn *h, struct h2stream *st, int status,
	       const char *reason)
{
	struct proxy *px = h->px;
	nghttp2_data_provider prd = { .read_callback = down_read };
	int closing = px->closing;
	const char *deny = px->deny_reason;
	const uint8_t *p, *body;
	char st_s[8], len_s[24];
	nghttp2_nv nva[4];
	size_t n = 3, blen;

	if (st->answered)
		return;
	st->answered = st->refused = 1;
	st->status = status;
	st->reason = reason;
	st_enter(px, st);
	px_answer(px, status, reason);
	st_leave(px, st);
	px->closing = closing;
	px->deny_reason = deny;
	p = bq_data(&px->pend_down);
	body = p ? memmem(p, bq_len(&px->pend_down), "\r\n\r\n", 4) : NULL;
	blen = body ? bq_len(&px->pend_down) - (size_t)(body + 4 - p) : 0;
	h2buf_free(&st->down);
	if (body)
		h2buf_put(&st->down, body + 4, blen); /* else: no body */
	bq_clear(&px->pend_down);
	st->down_end = 1;
	snprintf(st_s, sizeof(st_s), "%d", status);
	snprintf(len_s, sizeof(len_s), "%zu", st->down.len);
	nva[0] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)st_s, 7,
			       strlen(st_s), 0 };
	nva[1] = (nghttp2_nv){ (uint8_t *)"content-type",
			       (uint8_t *)"application/json", 12, 16, 0 };
	nva[2] = (nghttp2_nv){ (uint8_t *)"content-length", (uint8_t *)len_s, 14,
			       strlen(len_s), 0 };
	if (status == 429)
		nva[n++] = (nghttp2_nv){ (uint8_t *)"retry-after",
					 (uint8_t *)"60", 11, 2, 0 };
	if (nghttp2_submit_response(h->ss, st->sid, nva, n, &prd) != 0)
		nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, st->sid,
					  NGHTTP2_INTERNAL_ERROR);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */

/**
 * h2_resp_header() - One field of a header block from upstream
 * @st: Stream
 * Return: 0, or -1 if the block is too large (the stream is reset)
 */
int h2_resp_header(struct h2stream *st, const uint8_t *name, size_t nlen,
		   const uint8_t *value, size_t vlen)
{
	struct h2buf *b = st->answered ? &st->trl : &st->hdr;

	if (b->len + nlen + vlen + 2 > H2_HEAD_MAX ||
	    memchr(name, 0, nlen) || memchr(value, 0, vlen) ||
	    h2buf_put(b, name, nlen) < 0 || h2buf_put(b, "", 1) < 0 ||
	    h2buf_put(b, value, vlen) < 0 || h2buf_put(b, "", 1) < 0)
		return -1;
	if (st->answered)
		st->ntrl++;
	return 0;
}

/* The value of field @name in a packed block, or NULL. */
static const char *field(const struct h2buf *b, const char *name)
{
	size_t off = 0;
	const char *p = b->b ? (const char *)b->b + b->off : NULL;

	while (p && off < b->len) {
		const char *n = p + off, *v = n + strlen(n) + 1;

		if (!strcmp(n, name))
			return v;
		off = (size_t)(v + strlen(v) + 1 - p);
	}
	return NULL;
}

/**
 * h2_resp_head_done() - A header block from upstream is whole
 * @h:   Connection
 * @st:  Stream
 * @end: It ends the stream
 *
 * A 1xx head is dropped (the final one follows); the final one goes to
 * the sandbox, scrubbed; one after it is the trailers, sent when the
 * body is out.
 * Return: 1 if the final head was sent and ended the stream, else 0
 */
int h2_resp_head_done(struct h2conn *h, struct h2stream *st, int end)
{
	struct proxy *px = h->px;
	nghttp2_data_provider prd = { .read_callback = down_read };
	struct h2buf store = { 0 };
	const char *status, *ce;
	nghttp2_nv *nva = NULL;
	int n;

	if (st->answered)
		return 0;       /* trailers: with the end of the body */
	status = field(&st->hdr, ":status");
	if (!status || status[0] == '1') {
		h2buf_free(&st->hdr);
		return 0;
	}
	st->status = atoi(status);
	ce = field(&st->hdr, "content-encoding");
	st_enter(px, st);
	n = nv_build(h, &st->hdr, 1, &nva, &store);
	st->scrub_body = px->scr && (!ce || !*ce || !strcasecmp(ce, "identity"));
	st_leave(px, st);
	st->answered = 1;
	h->t_down = now_ms();
	if (n < 0 || nghttp2_submit_response(h->ss, st->sid, nva, (size_t)n,
					     end ? NULL : &prd) != 0)
		nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, st->sid,
					  NGHTTP2_INTERNAL_ERROR);
	free(nva);
	h2buf_free(&store);
	h2buf_free(&st->hdr);
	return end;
}

/* Scrub @n payload bytes (or the held ones, @end) into st->down. */
static int down_scrub(struct proxy *px, struct h2stream *st, const uint8_t *p,
		      size_t n, int end)
{
	uint8_t *q = h2buf_reserve(&st->down, px->scr->nhold + n);

	if (!q)
		return -1;
	st->down.len += scrub_body(px, q, p, n, 1, end);
	return 0;
}

/**
 * h2_resp_data() - Body bytes from upstream, toward the sandbox
 * @h:  Connection
 * @st: Stream
 * @p:  Bytes
 * @n:  Their count
 */
void h2_resp_data(struct h2conn *h, struct h2stream *st, const uint8_t *p,
		  size_t n)
{
	struct proxy *px = h->px;
	int r = 0;

	if (!st->answered || st->refused) {
		nghttp2_session_consume(h->us, st->uid, n);
		return;
	}
	st->unconsumed += n;
	if (!st->scrub_body) {
		r = h2buf_put(&st->down, p, n);
	} else {
		st_enter(px, st);
		while (!r && n) {
			size_t k = n < SCRUB_STEP ? n : SCRUB_STEP;

			r = down_scrub(px, st, p, k, 0);
			p += k;
			n -= k;
		}
		st_leave(px, st);
	}
	if (r < 0) {
		nghttp2_submit_rst_stream(h->us, NGHTTP2_FLAG_NONE, st->uid,
					  NGHTTP2_INTERNAL_ERROR);
		nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, st->sid,
					  NGHTTP2_INTERNAL_ERROR);
		return;
	}
	nghttp2_session_resume_data(h->ss, st->sid);
}

/* Upstream ended the stream: what is held back goes out, then the end. */
void h2_resp_end(struct h2conn *h, struct h2stream *st)
{
	struct proxy *px = h->px;

	if (!st->answered || st->down_end)
		return;
	if (st->scrub_body) {
		st_enter(px, st);
		if (px->scr->nhold)
			down_scrub(px, st, NULL, 0, 1);
		st_leave(px, st);
	}
	st->down_end = 1;
	nghttp2_session_resume_data(h->ss, st->sid);
}
