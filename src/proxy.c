// SPDX-License-Identifier: MIT
/*
 * proxy.c - intercepted flows: TLS terminated on both sides, HTTP/1.1 in
 * between, where requests are scoped and credentials injected.
 *
 * DOC: Theory of operation
 *
 * A flow whose rules need to see HTTP (path_pattern, methods,
 * rate_limit_rpm, auth_strategy, or `tls: intercept`), and any plain-HTTP
 * flow to a name, becomes a proxy once its first bytes have been peeked
 * (flow.c):
 *
 *   sandbox pcb <-> S side <-> HTTP engine <-> U side <-> upstream socket
 *
 * Each side is a BearSSL engine (S: server, with a leaf certificate for the
 * SNI minted from the islo-net CA; U: client, verifying the upstream against
 * the trust store and the rule's host name) or, for plain HTTP, a pair of
 * byte buffers with the same four-door interface: records in/out on the
 * transport side, application data in/out on the HTTP side.  proxy_pump()
 * moves bytes through all the doors until nothing moves, so every buffer is
 * bounded and backpressure is the transports' own (lwIP's window toward the
 * sandbox, the socket buffer toward upstream).
 *
 * HTTP: one exchange at a time.  A request head is parsed whole (bounded),
 * decided on its own (Host and port must be the flow's; the first rule of
 * the profile in force whose host, port, methods and path match it
 * decides; method overrides, rate; a placeholder outside its rule's
 * credential header is refused), rewritten (the credential header
 * replaced) and sent; its body is streamed with http_body_feed() deciding
 * where it ends.  The response head is parsed for framing and passed on
 * (scrubbed of the secret, with its body, when the request carried it:
 * DOC: Scrubbing); its body streams the same way; a bodyless response
 * ends the exchange with its head; then the next request head may be read
 * (pipelined requests wait in the head buffer).  101 turns the flow into a
 * tunnel.  A refusal is an HTTP answer (403, 429, 400, 502) followed by a
 * close, never the secret, never a silent drop.
 *
 * DOC: Memory and handshake cost
 *
 * Most intercepted connections sit idle most of the time (keep-alive
 * pools, long polls), so a connection holds memory only while bytes are in
 * flight.  Everything big is taken when needed and given back, wiped, at
 * the end of any proxy_pump() that leaves it empty:
 *
 * - the TLS record buffers (about 33 KiB per engine) come from a small
 *   per-gateway free list (struct pxshared); an engine whose handshake is
 *   done and that holds no byte (no partial record in, nothing to send, no
 *   decrypted data unread) is detached from its buffer, and attached to
 *   one again when the next pump starts (tlsbuf.c says why BearSSL allows
 *   it).  Not while an exchange is in progress: a response body leaves
 *   both engines empty between two records;
 * - the HTTP head and pending buffers and the parsed exchange are taken
 *   when a request starts and given back when it is done;
 * - renegotiation is refused on both engines, so nothing but the first
 *   handshake ever needs the leaf certificate or a full buffer unasked.
 *
 * What is wiped: every byte range an engine or buffer may have written
 * since it was taken (a high-water mark), before it goes back: the upstream
 * engine's buffer held the request with the injected credential.
 *
 * The handshakes: the leaf for the SNI is taken from the CA's cache and
 * pinned there (one copy per name, not per connection) until the
 * sandbox's handshake is done.  The sandbox may resume its TLS sessions
 * (a per-gateway BearSSL session cache).  Upstream, the session of the
 * last full handshake with the same (verified name, address, port) is
 * offered for resumption: a resumed handshake costs no signature check
 * and no key exchange, which are most of a new intercepted connection's
 * CPU time (BearSSL's portable P-256 code).  A session is kept at most
 * UPS_TTL_MS and forgotten when a handshake offering it fails; it was
 * made with a certificate verified for that same name against the same
 * trust store, so resuming it skips nothing the name has not passed.
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

#include <bearssl.h>

#include "audit.h"
#include "ca.h"
#include "ecfast.h"
#include "http1.h"
#include "log.h"
#include "profile.h"
#include "secret.h"
#include "tlsbuf.h"
#include "upstls.h"

static void proxy_free(void *h);

/* ------------------------------------------------------------------ */
/* The HTTP engine between the sides                                   */

/*
 * The exchange's parsed heads: taken when a request head arrives.  Not
 * zeroed (12 KiB, twice per request): http_req_parse() and
 * http_resp_parse() set every field they report, and nothing reads a head
 * before its parse.  Nor wiped when given back: they hold the method, path,
 * host and header offsets, never the credential, which only the rewritten
 * head (pend_up) and the upstream engine's buffer ever hold.
 */
static int ex_take(struct proxy *px)
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

static void ex_free(struct proxy *px)
{
	free(px->ex);
	px->ex = NULL;
}

static void exchange_done(struct proxy *px)
{
	px_retry_drop(px);
	px_audit_request(px, ACT_ALLOW, px->ex->resp.status, NULL);
	scrub_end(px);
	px->up_clean = px->ex->resp.up_keep_alive &&
		       (px->ex->req.keep_alive || px->close_stripped);
	px->outstanding = 0;
	px->rs = RS_IDLE;
	if (px->rq == RQ_WAIT)
		px->rq = RQ_HEAD;
	if (!px->ex->resp.keep_alive || !px->ex->req.keep_alive)
		px->closing = 1;
}

/* One step of the HTTP engine: loop again, or return what moved. */
enum { STEP_AGAIN, STEP_STOP };

/* A tunnel (after 101): bytes as they come, what @held has first. */
static int tunnel_step(struct proxy *px, struct side *from, struct side *to,
		       struct bytequeue *held, uint64_t *count, int *moved)
{
	size_t len, room, n;
	uint8_t *p, *q = px_app_out(px, to, &room);

	if (!q || !room)
		return STEP_STOP;
	if (bq_len(held)) {
		n = bq_len(held) < room ? bq_len(held) : room;
		memcpy(q, bq_data(held), n);
		bq_consume(held, n);
	} else {
		p = px_app_in(from, &len);
		if (!p || !len)
			return STEP_STOP;
		n = len < room ? len : room;
		memcpy(q, p, n);
		px_app_in_ack(from, n);
	}
	px_app_out_ack(to, n);
	*count += n;
	*moved = 1;
	return STEP_AGAIN;
}

/* @n body bytes at @p went on: taken from @held (what came with the head)
 * or from @from; counted in @count. */
static void body_took(struct bytequeue *held, struct side *from, const uint8_t *p,
		      size_t n, uint64_t *count)
{
	if (p == bq_data(held))
		bq_consume(held, n);
	else
		px_app_in_ack(from, n);
	*count += n;
}

/*
 * The first request on a reused upstream connection: if it is idempotent
 * and has no body, keep its rewritten head, to send it again on a fresh
 * connection should the reused one turn out closed before answering
 * (px_retry()).  Any other request is answered 502 then: never sent twice.
 */
static void retry_keep(struct proxy *px)
{
	static const char *const idem[] = { "GET", "HEAD", "OPTIONS" };
	const struct http_req *rq = &px->ex->req;
	size_t i;

	px_retry_drop(px);
	if (!px->reused || px->answered || rq->content_length > 0 ||
	    rq->chunked)
		return;
	for (i = 0; i < sizeof(idem) / sizeof(idem[0]); i++)
		if (!strcmp(rq->method, idem[i]))
			break;
	if (i == sizeof(idem) / sizeof(idem[0]) || !bq_len(&px->pend_up))
		return;
	px->retry = malloc(bq_len(&px->pend_up));
	if (!px->retry)
		return;
	px->retry_len = bq_len(&px->pend_up);
	memcpy(px->retry, bq_data(&px->pend_up), px->retry_len);
}

/* A request head is parsed (@r: http_req_parse()'s verdict): refuse it,
 * or decide it and send it on. */
static int req_head_parsed(struct proxy *px, int r, int *moved)
{
	px->t_req = now_ms();
	px->req_bytes = px->resp_bytes = 0;
	px->rdec_set = 0;
	if (r == HTTP_BAD) {
		snprintf(px->path_log, sizeof(px->path_log), "-");
		/* what this engine refuses, another may take: a request line
		 * it cannot read, a second Host, CONNECT, odd framing */
		px_security_event(px, "malformed HTTP request",
				  px->ex->req.error);
		px_audit_request(px, ACT_DENY, 400, px->ex->req.error);
		px_answer(px, 400, px->ex->req.error ? px->ex->req.error :
			  "malformed request");
		return STEP_AGAIN;
	}
	if (px->up_error[0]) {
		http_path_for_log((const char *)bq_data(&px->reqhead) + px->ex->req.target,
				  px->ex->req.target_len, px->path_log,
				  sizeof(px->path_log));
		px_answer(px, 502, px->up_error);
		px_audit_request(px, ACT_ALLOW, 502, px->up_error);
		px->deny_reason = px->up_error;
		return STEP_AGAIN;
	}
	if (px_request_decide(px) < 0) {
		px_audit_request(px, ACT_DENY, px->status_sent, px->deny_reason);
		return STEP_AGAIN;
	}
	http_body_init(&px->ex->reqbody, px->ex->req.content_length,
		       px->ex->req.chunked, 0);
	retry_keep(px);
	px->up_clean = 0;       /* until its exchange ends keep-alive */
	bq_consume(&px->reqhead, px->ex->req.head_len);
	px->outstanding = 1;
	px->rs = RS_HEAD;
	px->rq = px->ex->req.content_length > 0 || px->ex->req.chunked ?
			 RQ_BODY : RQ_WAIT;
	*moved = 1;
	return STEP_AGAIN;
}

/* RQ_HEAD: gather the next request's head. */
static int req_head_step(struct proxy *px, int *moved)
{
	size_t len, n = 0;
	uint8_t *p;
	int r;

	if (px->outstanding)
		return STEP_STOP;
	p = px_app_in(&px->s, &len);
	if (p && len) {
		if (px_buf_take(px, &px->reqhead) < 0)
			return STEP_STOP;
		n = bq_put(&px->reqhead, p, len);
		px_app_in_ack(&px->s, n);
		*moved |= n > 0;
	}
	if (!bq_len(&px->reqhead) || ex_take(px) < 0)
		return STEP_STOP;
	if (!px->t_head)
		px->t_head = now_ms();
	r = http_req_parse(bq_data(&px->reqhead), bq_len(&px->reqhead), HEAD_MAX,
			   &px->ex->req);
	/* a body to sign (aws_sigv4) is read whole before the head goes */
	if (r == HTTP_DONE && px_body_wait(px))
		return p && len && n ? STEP_AGAIN : STEP_STOP;
	if (r != HTTP_NEED_MORE)
		return px->t_head = 0, req_head_parsed(px, r, moved);
	if (!bq_room(&px->reqhead))
		px_answer(px, 431, "request head too large");
	else if (!(p && len))
		return STEP_STOP;
	return STEP_AGAIN;
}

/* RQ_BODY: the request's body, framed as its head said. */
static int req_body_step(struct proxy *px, int *moved)
{
	size_t len, room, n;
	uint8_t *p, *q = px_app_out(px, &px->u, &room);
	int done = 0;

	if (!q || !room)
		return STEP_STOP;
	if (bq_len(&px->reqhead)) {
		p = bq_data(&px->reqhead);
		len = bq_len(&px->reqhead);
	} else {
		p = px_app_in(&px->s, &len);
		if (!p || !len)
			return STEP_STOP;
	}
	if (len > room)
		len = room;
	n = http_body_feed(&px->ex->reqbody, p, len, &done);
	if (px->ex->reqbody.error) {
		px_answer(px, 400, px->ex->reqbody.error);
		return STEP_AGAIN;
	}
	memcpy(q, p, n);
	px_app_out_ack(&px->u, n);
	body_took(&px->reqhead, &px->s, p, n, &px->req_bytes);
	*moved = 1;
	if (done)
		px->rq = RQ_WAIT;
	return STEP_AGAIN;
}

/* What waits toward @sd (@pend: our answers, rewritten heads) goes first;
 * nothing moves once the connection is closing.  Return: 1 to stop. */
static int engine_blocked(struct proxy *px, struct side *sd, struct bytequeue *pend,
			  int *moved)
{
	if (bq_len(pend)) {
		*moved |= px_pend_flush(px, sd, pend);
		if (bq_len(pend))
			return 1;
	}
	return px->closing;
}

/* Is the response body's content its bytes as sent (no Content-Encoding
 * but identity)? */
static int identity_body(const struct proxy *px)
{
	const struct http_resp *rs = &px->ex->resp;
	const uint8_t *b = bq_data(&px->resphead);
	unsigned i;

	for (i = 0; i < rs->nhdr; i++) {
		const struct http_hdr *h = &rs->hdr[i];

		if (h->name_len != 16 ||
		    strncasecmp((const char *)b + h->name, "content-encoding", 16))
			continue;
		if (h->value_len && (h->value_len != 8 ||
				     strncasecmp((const char *)b + h->value,
						 "identity", 8)))
			return 0;
	}
	return 1;
}

/* The exchange ends with a 502 of ours (@why; @logged for the audit). */
static int resp_fail(struct proxy *px, const char *why, const char *logged)
{
	px_answer(px, 502, why);
	px_audit_request(px, ACT_ALLOW, 502, logged);
	return STEP_AGAIN;
}

/* A response head is parsed: pass it on (scrubbed when the request
 * carried a secret), and set up its body, or the tunnel after 101. */
static int resp_head_parsed(struct proxy *px, int *moved)
{
	if (px_buf_take(px, &px->pend_down) < 0)
		return STEP_STOP;
	px->answered = 1;
	px_retry_drop(px);
	px->scrub_body = px->scr && identity_body(px);
	if (!px->scr) {
		bq_put(&px->pend_down, bq_data(&px->resphead), px->ex->resp.head_len);
	} else if (scrub_head(px, bq_data(&px->resphead), px->ex->resp.head_len) < 0) {
		bq_clear(&px->pend_down);
		return resp_fail(px, "response head too large after scrubbing",
				 "response head too large after scrubbing");
	}
	bq_consume(&px->resphead, px->ex->resp.head_len);
	*moved = 1;
	if (px->ex->resp.informational)
		return STEP_AGAIN;
	if (px->ex->resp.tunnel) {
		px_audit_request(px, ACT_ALLOW, 101, NULL);
		scrub_end(px);
		px->rs = RS_TUNNEL;
		px->rq = RQ_TUNNEL;
		return STEP_AGAIN;
	}
	http_body_init(&px->ex->respbody, px->ex->resp.content_length,
		       px->ex->resp.chunked, px->ex->resp.until_close);
	if (http_resp_ends_with_head(&px->ex->resp))
		/* 1xx, 204, 304, HEAD, Content-Length: 0: the exchange ends
		 * with its head */
		exchange_done(px);
	else
		px->rs = RS_BODY;
	return STEP_AGAIN;
}

/* RS_HEAD: gather the response's head. */
static int resp_head_step(struct proxy *px, int *moved)
{
	size_t len, n;
	uint8_t *p = px_app_in(&px->u, &len);
	int r, gone;

	if (p && len) {
		if (px_buf_take(px, &px->resphead) < 0)
			return STEP_STOP;
		n = bq_put(&px->resphead, p, len);
		px_app_in_ack(&px->u, n);
		*moved |= n > 0;
	}
	gone = px->u.eof || px_side_closed(&px->u);
	if (!bq_len(&px->resphead)) {
		if (gone && !px_retry(px))
			resp_fail(px, "upstream closed without answering",
				  "upstream closed");
		return STEP_STOP;
	}
	r = http_resp_parse(bq_data(&px->resphead), bq_len(&px->resphead), HEAD_MAX,
			    &px->ex->req, &px->ex->resp);
	if (r == HTTP_NEED_MORE) {
		if (!bq_room(&px->resphead) || gone)
			return resp_fail(px, "bad response head from upstream",
					 "bad response head");
		return p && len ? STEP_AGAIN : STEP_STOP;
	}
	if (r == HTTP_BAD)
		return resp_fail(px, px->ex->resp.error ? px->ex->resp.error :
				 "bad response from upstream",
				 px->ex->resp.error);
	return resp_head_parsed(px, moved);
}

/* RS_BODY: the response's body to the sandbox, scrubbed if need be,
 * holding back at most what could begin a secret. */
static int resp_body_step(struct proxy *px, int *moved)
{
	size_t len, room, n, hold;
	uint8_t *p, *q = px_app_out(px, &px->s, &room);
	int done = 0, payload = 1;

	if (!q || !room)
		return STEP_STOP;
	hold = px->scrub_body ? px->scr->nhold : 0;
	if (px->scrub_body && room <= hold)
		return STEP_STOP;       /* the held bytes first */
	if (bq_len(&px->resphead)) {
		p = bq_data(&px->resphead);
		len = bq_len(&px->resphead);
	} else {
		p = px_app_in(&px->u, &len);
		if (!p || !len) {
			if (px->ex->resp.until_close &&
			    (px->u.eof || px_side_closed(&px->u))) {
				if (hold)
					px_app_out_ack(&px->s, scrub_body(px, q, NULL,
									  0, 1, 1));
				exchange_done(px);
				px->closing = 1;
			}
			return STEP_STOP;
		}
	}
	if (len > room - hold)
		len = room - hold;
	if (px->scrub_body && len > SCRUB_STEP)
		len = SCRUB_STEP;
	n = px->scrub_body ?
		    http_body_next(&px->ex->respbody, p, len, &done, &payload) :
		    http_body_feed(&px->ex->respbody, p, len, &done);
	if (px->ex->respbody.error) {
		px->closing = 1;
		px_audit_request(px, ACT_ALLOW, px->ex->resp.status,
				 px->ex->respbody.error);
		*moved = 1;
		return STEP_STOP;
	}
	if (px->scrub_body) {
		px_app_out_ack(&px->s, scrub_body(px, q, p, n, payload, done));
	} else {
		memcpy(q, p, n);
		px_app_out_ack(&px->s, n);
	}
	body_took(&px->resphead, &px->u, p, n, &px->resp_bytes);
	*moved = 1;
	if (done)
		exchange_done(px);
	return STEP_AGAIN;
}

/* RS_IDLE: nothing was asked.  An upstream speaking out of turn (a 408,
 * say) ends the connection. */
static int resp_idle_step(struct proxy *px, int *moved)
{
	size_t len;
	uint8_t *p = px_app_in(&px->u, &len);

	(void)moved;
	if (p && len) {
		px_app_in_ack(&px->u, len);
		px->closing = 1;
	}
	return STEP_STOP;
}

/* After a 101, both ways are tunnels. */
static int tunnel_up(struct proxy *px, int *moved)
{
	return tunnel_step(px, &px->s, &px->u, &px->reqhead, &px->req_bytes,
			   moved);
}

static int tunnel_down(struct proxy *px, int *moved)
{
	return tunnel_step(px, &px->u, &px->s, &px->resphead, &px->resp_bytes,
			   moved);
}

/* Each side's state: its step (RQ_WAIT: the response first). */
static int (*const up_step[])(struct proxy *, int *) = {
	[RQ_HEAD] = req_head_step, [RQ_BODY] = req_body_step,
	[RQ_WAIT] = NULL, [RQ_TUNNEL] = tunnel_up,
};
static int (*const down_step[])(struct proxy *, int *) = {
	[RS_IDLE] = resp_idle_step, [RS_HEAD] = resp_head_step,
	[RS_BODY] = resp_body_step, [RS_TUNNEL] = tunnel_down,
};

/* One direction of the engine, @down: upstream -> sandbox (else sandbox
 * -> upstream), step after step.  Return: 1 if anything moved. */
static int http_drive(struct proxy *px, int down)
{
	int (*const *step)(struct proxy *, int *) = down ? down_step : up_step;
	int moved = 0, st;

	for (;;) {
		if (engine_blocked(px, down ? &px->s : &px->u,
				   down ? &px->pend_down : &px->pend_up, &moved))
			break;
		st = down ? (int)px->rs : (int)px->rq;
		if (!step[st] || step[st](px, &moved) == STEP_STOP)
			break;
	}
	return moved;
}

/* ------------------------------------------------------------------ */
/* Transports                                                          */

/* The four ends a side's records come from and go to, each as read(2) or
 * write(2) would answer (-1 with EAGAIN: nothing now). */
static ssize_t sb_in(struct flow *f, void *p, size_t n)
{
	size_t got = flow_sb_read(f, p, n);

	if (got)
		return (ssize_t)got;
	if (f->sandbox_eof && !f->to_host)
		return 0;
	errno = EAGAIN;
	return -1;
}

static ssize_t sb_out(struct flow *f, const void *p, size_t n)
{
	size_t room = flow_sb_room(f);

	return flow_sb_write(f, p, n < room ? n : room);
}

static ssize_t up_in(struct flow *f, void *p, size_t n)
{
	if (f->fd < 0) {
		errno = EAGAIN;         /* no upstream (yet): not its end */
		return -1;
	}
	return flow_up_read(f, p, n);
}

/* Records into @sd from @in until it has none or @sd no room; its end
 * of stream becomes @sd's.  Return: 1 if anything moved. */
static int records_in(struct proxy *px, struct side *sd,
		      ssize_t (*in)(struct flow *, void *, size_t))
{
	int moved = 0;

	while (!sd->eof) {
		size_t room;
		uint8_t *p = px_rec_in(px, sd, &room);
		ssize_t n;

		if (!p || !room)
			break;
		n = in(px->f, p, room);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				sd->eof = 1;
			break;
		}
		moved = 1;
		if (n == 0) {
			sd->eof = 1;
			break;
		}
		px_rec_in_ack(sd, (size_t)n);
	}
	return moved;
}

/* Records out of @sd to @out while it takes them.  Return: 1 if any. */
static int records_out(struct proxy *px, struct side *sd,
		       ssize_t (*out)(struct flow *, const void *, size_t))
{
	int moved = 0;

	for (;;) {
		size_t len;
		uint8_t *p = px_rec_out(sd, &len);
		ssize_t n;

		if (!p || !len || (n = out(px->f, p, len)) <= 0)
			break;
		px_rec_out_ack(sd, (size_t)n);
		moved = 1;
	}
	return moved;
}

static int from_sandbox(struct proxy *px)
{
	struct flow *f = px->f;
	int eof = px->s.eof, moved;

	if (px->alpn_wait)
		return 0;       /* its hello waits for upstream's ALPN */
	moved = records_in(px, &px->s, sb_in);

	if (!px->s.eof && !f->to_host && f->sandbox_eof)
		px->s.eof = moved = 1;  /* even while the side takes no record */
	if (!eof && px->s.eof && px->s.eng)
		br_ssl_engine_close(px->s.eng);
	return moved;
}

static int to_sandbox(struct proxy *px)
{
	int moved = records_out(px, &px->s, sb_out);

	if (moved)
		flow_sb_push(px->f);
	return moved;
}

static int from_upstream(struct proxy *px)
{
	return records_in(px, &px->u, up_in);
}

static int to_upstream(struct proxy *px)
{
	return records_out(px, &px->u, flow_up_write);
}

/*
 * The sandbox's TLS handshake with us failed (its client refused our
 * certificate, it spoke no TLS we accept, it hung up): one `tls_failure`
 * event, budgeted (a sandbox can fail handshakes at will).  The usual
 * cause is a client that does not trust the islo-net CA: the reason says so.
 */
static void tls_failure_event(struct proxy *px)
{
	struct flow *f = px->f;
	int e = px->s.eng ? br_ssl_engine_last_error(px->s.eng) : 0;
	char src[INET6_ADDRSTRLEN], why[160];
	struct audit_ev ev;

	if (px->tls_failed)
		return;
	px->tls_failed = 1;
	if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_RECV_FATAL_ALERT + 256)
		snprintf(why, sizeof(why), "the sandbox's client ended the "
			 "handshake (TLS alert %d%s)", e - BR_ERR_RECV_FATAL_ALERT,
			 e - BR_ERR_RECV_FATAL_ALERT == 48 ||
			 e - BR_ERR_RECV_FATAL_ALERT == 42 ?
			 ": it does not trust the islo-net CA" : "");
	else if (e)
		snprintf(why, sizeof(why), "TLS with the sandbox failed "
			 "(BearSSL error %d)", e);
	else
		snprintf(why, sizeof(why), "the sandbox closed the connection "
			 "during the TLS handshake");
	if (!audit_begin_kind(f->g->audit, &ev, "tls_failure", AK_TLS_FAILURE))
		return;
	ipaddr_str(&f->src, src, sizeof(src));
	audit_str(&ev, "side", "sandbox");
	audit_str(&ev, "profile", f->g->profile_name);
	audit_str(&ev, "src", src);
	audit_int(&ev, "src_port", f->sport);
	if (f->host[0])
		audit_strn(&ev, "host", f->host, strlen(f->host));
	audit_int(&ev, "dst_port", f->dport);
	audit_int(&ev, "tls_error", e);
	audit_str(&ev, "reason", why);
	audit_emit(f->g->audit, &ev);
}

/* Handshakes that just finished: let go of the leaf, keep the session,
 * answer the sandbox's ALPN.  Return: 1 if the sandbox's hello may now be
 * read. */
static int handshakes_done(struct proxy *px)
{
	const unsigned app = BR_SSL_SENDAPP | BR_SSL_RECVAPP;

	if (px->s.eng && !px->s.ready &&
	    (br_ssl_engine_current_state(px->s.eng) & app)) {
		px->s.ready = 1;
		ca_leaf_unpin(px->f->g->ca, px->leaf_pin);
		px->leaf_pin = -1;
	}
	if (px->u.eng && !px->u.ready &&
	    (br_ssl_engine_current_state(px->u.eng) & app)) {
		px->u.ready = 1;
		px_ups_store(px);
	}
	if (px->alpn_wait &&
	    (px->u.ready || px->u.eof || px_side_closed(&px->u))) {
		px_alpn_settle(px);
		return 1;
	}
	return 0;
}

/*
 * Give back what an idle flow does not need (see the theory above).  The
 * record buffers stay while an exchange is in progress: a response body
 * leaves both engines empty between two records, and giving the buffers
 * back there would wipe and re-take them for every record.
 */
static void proxy_idle(struct proxy *px)
{
	if (!px->outstanding || px->rs == RS_TUNNEL) {
		px_side_release(px, &px->s);
		px_side_release(px, &px->u);
	}
	bq_release(&px->s.rx);
	bq_release(&px->s.tx);
	bq_release(&px->u.rx);
	bq_release(&px->u.tx);
	bq_release(&px->reqhead);
	bq_release(&px->resphead);
	bq_release(&px->pend_up);
	bq_release(&px->pend_down);
	if (!px->outstanding && px->rq == RQ_HEAD && px->rs == RS_IDLE &&
	    !bq_len(&px->reqhead))
		ex_free(px);
}

/**
 * proxy_pump() - Move bytes through an intercepted flow until none move
 * @f: Flow with f->h set
 *
 * Called after every event on either transport.  Ends the flow (through
 * flow_close_later()/flow_abort()) when both sides are done.
 */
static void proxy_pump(struct flow *f)
{
	struct proxy *px = f->h;
	int moved, rounds = 0, undelivered;
	uint32_t ev = 0;
	size_t len;

	if (px->tls && !px->u.eng)
		return;         /* its upstream is parked: the flow is closing */
	if (px_side_attach(px, &px->s) < 0 || px_side_attach(px, &px->u) < 0) {
		flow_close_later(f, ACT_ALLOW, "out of memory");
		return;
	}
	do {
		moved = 0;
		moved |= from_sandbox(px);
		if (moved)
			px->t_active = now_ms();
		if (from_upstream(px)) {
			moved = 1;
			px->t_active = now_ms();
		}
		if (px->h2) {
			moved |= h2_drive(px);
		} else if (!px->alpn_wait) {
			/* (while it waits, upstream's first bytes may be an
			 * HTTP/2 server's SETTINGS: not the HTTP/1.1 engine's) */
			moved |= http_drive(px, 0);
			moved |= http_drive(px, 1);
		}
		moved |= to_sandbox(px);
		moved |= to_upstream(px);
		moved |= handshakes_done(px);
		if (px->reused && !px->answered && !px->outstanding &&
		    (px->u.eof || px_side_closed(&px->u)))
			/* closed as it was taken, before any request: a
			 * fresh connection (else the flow closes) */
			moved |= px_reconnect(px) == 0;
		if (px->u.eng && px_side_closed(&px->u) && !px->up_error[0]) {
			int e = br_ssl_engine_last_error(px->u.eng);
			const char *why = upstls_error(e);

			if (e)
				px_ups_forget(px);
			if (why)
				snprintf(px->up_error, sizeof(px->up_error), "%s", why);
			else if (e)
				snprintf(px->up_error, sizeof(px->up_error),
					 "upstream TLS failed (BearSSL error %d)", e);
		}
		if (px->up_error[0] && px->outstanding && !bq_len(&px->resphead) &&
		    px->rs == RS_HEAD && !px->closing && px_retry(px)) {
			moved = 1;
		} else if (px->up_error[0] && px->outstanding &&
			   !bq_len(&px->resphead) && px->rs == RS_HEAD &&
			   !px->closing) {
			px_answer(px, 502, px->up_error);
			px_audit_request(px, ACT_ALLOW, 502, px->up_error);
			px->deny_reason = NULL;
			moved = 1;
		}
	} while (moved && ++rounds < 64 && f->state == FLOW_OPEN);

	if (f->state != FLOW_OPEN)
		return;
	if (px->oom) {
		flow_close_later(f, ACT_ALLOW, "out of memory");
		return;
	}
	/* done: our answer is out, or the sandbox is gone, or upstream is
	 * done and nothing of it remains to deliver */
	if (px->closing && !bq_len(&px->pend_down)) {
		if (px->s.eng && !px->close_sent) {
			br_ssl_engine_close(px->s.eng);
			px->close_sent = 1;
			to_sandbox(px);
		}
		if (!px_rec_out(&px->s, &len) || !len) {
			px_park(px);
			flow_close_later(f, ACT_ALLOW, px->deny_reason);
			return;
		}
	}
	/* what is on its way to the sandbox is delivered before any close
	 * but a failed TLS side's (lwIP takes it as its window opens) */
	undelivered = px_rec_out(&px->s, &len) && len;
	if (px_side_closed(&px->s) ||
	    (px->s.eof && !px->outstanding && !undelivered)) {
		if (px->s.eng && !px->s.ready)
			tls_failure_event(px);
		else
			px_park(px);
		flow_close_later(f, ACT_ALLOW, NULL);
		return;
	}
	if ((px->u.eof || px_side_closed(&px->u)) && !px->outstanding &&
	    !px->up_error[0] && px->rs != RS_TUNNEL && !bq_len(&px->pend_down) &&
	    !undelivered) {
		flow_close_later(f, ACT_ALLOW, NULL);
		return;
	}
	if (!px->u.eof && px_rec_in_room(&px->u))
		ev |= EPOLLIN;
	if (px_rec_out(&px->u, &len) && len)
		ev |= EPOLLOUT;
	flow_want_events(f, ev);
	proxy_idle(px);
}

/* The profile's timeouts, in milliseconds: TLS handshake, head, idle. */
static void proxy_timeouts(const struct flow *f, uint64_t ms[3])
{
	const struct policyset *ps = f->g->ps ? f->g->ps : f->ps;
	const struct profile *p = ps ? ps->prof : NULL;

	ms[0] = (uint64_t)(p ? p->tls_handshake_s : PF_TLS_HANDSHAKE_S) * 1000;
	ms[1] = (uint64_t)(p ? p->request_head_s : PF_REQUEST_HEAD_S) * 1000;
	ms[2] = (uint64_t)(p ? p->idle_s : PF_IDLE_S) * 1000;
}

/**
 * proxy_due() - When proxy_tick() must next look at @f (the timer wheel)
 * @f:   Flow with f->h set
 * @now: now_ms()
 *
 * The earliest deadline in force, and never later than a request head's
 * timeout from now: a head may start at any moment, and its deadline is
 * then at least that far off.  A deadline that moved later (bytes moved)
 * is found when the timer fires, and the timer re-armed.
 * Return: the time (ms), or 0 for no timer
 */
static uint64_t proxy_due(const struct flow *f, uint64_t now)
{
	const struct proxy *px = f->h;
	uint64_t ms[3], due, d = 0;
	const char *why;

	if (!px || px->closing || f->close_pending)
		return 0;
	proxy_timeouts(f, ms);
	due = now + ms[1];
	if (px->s.eng && !px->s.ready)
		d = px->t_open + ms[0];
	else if (px->h2 && px->outstanding)
		/* a response may start waiting on the sandbox's window at any
		 * moment: look again within an idle timeout */
		d = h2_deadline(px, ms[1], ms[2], &why) ?
			    h2_deadline(px, ms[1], ms[2], &why) : now + ms[2];
	else if (px->rq == RQ_HEAD && px->t_head && !px->outstanding)
		d = px->t_head + ms[1];
	else if (px->rq == RQ_HEAD && px->rs == RS_IDLE && !px->outstanding)
		d = px->t_active + ms[2];
	if (d && d < due)
		due = d;
	return due + 1;
}

/**
 * proxy_tick() - Enforce the HTTP engine's timeouts on a flow
 * @f:   Flow with f->h set
 * @now: now_ms()
 *
 * The profile in force (`timeouts:`) sets them: the sandbox's TLS
 * handshake (a ClientHello and then nothing holds a leaf pin, record
 * buffers and an upstream socket), a request head from its first byte to
 * its end (slowloris: answered 408), and a keep-alive connection with no
 * exchange in progress and nothing moving (closed).  Each expiry is
 * counted (g->st.timeouts) and logged once, as sandbox misbehaviour.
 * Not timed: a response the upstream takes its time with, a body in
 * either direction that keeps moving, a tunnel after 101.
 */
static void proxy_tick(struct flow *f, uint64_t now)
{
	struct proxy *px = f->h;
	uint64_t ms[3], tls_ms, head_ms, idle_ms;
	const char *why = NULL;
	char host[300];
	int kind = 0;

	if (!px || px->closing || f->close_pending)
		return;
	proxy_timeouts(f, ms);
	tls_ms = ms[0];
	head_ms = ms[1];
	idle_ms = ms[2];
	if (px->s.eng && !px->s.ready) {
		if (now - px->t_open > tls_ms) {
			why = "TLS handshake with the sandbox timed out";
			kind = 0;
		}
	} else if (px->h2 && px->outstanding) {
		const char *h2why;
		uint64_t d = h2_deadline(px, head_ms, idle_ms, &h2why);

		if (d && now > d) {
			why = h2why;
			kind = strstr(why, "head") ? 1 : 2;
		}
	} else if (px->rq == RQ_HEAD && px->t_head && !px->outstanding) {
		if (now - px->t_head > head_ms) {
			why = "request head timed out";
			kind = 1;
		}
	} else if (px->rq == RQ_HEAD && px->rs == RS_IDLE && !px->outstanding &&
		   !bq_len(&px->reqhead) && !bq_len(&px->pend_down) &&
		   now - px->t_active > idle_ms) {
		why = "idle keep-alive connection timed out";
		kind = 2;
	}
	if (!why)
		return;
	f->g->st.timeouts[kind]++;
	log_escape(f->host, strlen(f->host), host, sizeof(host));
	log_sandbox("%s (%s), %llu so far", why, host,
		    (unsigned long long)f->g->st.timeouts[kind]);
	if (kind == 1 && !px->h2) {
		snprintf(px->path_log, sizeof(px->path_log), "-");
		px->rdec_set = 0;
		px_answer(px, 408, why);
		px_audit_request(px, ACT_DENY, 408, why);
		proxy_pump(f);
		return;
	}
	flow_close_later(f, ACT_ALLOW, why);
}

/**
 * proxy_start() - Turn an open flow into an intercepted one
 * @f:   Flow, its first bytes queued in f->to_host
 * @tls: 1 if they are a TLS ClientHello (f->host is the SNI), 0 for HTTP
 * Return: 0, or -1 (the caller refuses the flow)
 */
static int proxy_start(struct flow *f, int tls)
{
	struct proxy *px = calloc(1, sizeof(*px));

	if (!px)
		return -1;
	px->f = f;
	px->tls = tls;
	px->leaf_pin = -1;
	/* room for a body the gateway signs, on an aws_sigv4 rule's flow */
	bq_init(&px->reqhead, px_reqhead_cap(f), 0);
	bq_init(&px->resphead, HEAD_MAX, 0);
	bq_init(&px->pend_up, PEND_MAX, 0);
	bq_init(&px->pend_down, PEND_MAX, 0);
	bq_init(&px->s.rx, PLAIN_BUF, 0);
	bq_init(&px->s.tx, PLAIN_BUF, 0);
	bq_init(&px->u.rx, PLAIN_BUF, 0);
	bq_init(&px->u.tx, PLAIN_BUF, 0);
	px->sh = pxshared_get(f->g);
	/* a parked upstream is TLS: plain HTTP cannot use it */
	if (!px->sh || (!tls && f->up_state) || (tls && px_tls_setup(px) < 0))
		goto fail;
	px->rq = RQ_HEAD;
	px->rs = RS_IDLE;
	px->up_clean = 1;       /* a new (or parked) upstream connection */
	px->t_open = px->t_active = now_ms();
	f->h = px;
	proxy_pump(f);
	return 0;
fail:
	proxy_free(px);
	return -1;
}

static void proxy_free(void *h)
{
	struct proxy *px = h;

	if (!px)
		return;
	/* the flow is going (the sandbox reset it, a timeout): its upstream
	 * connection may still be clean and worth keeping */
	if (px->f && px->f->h == px)
		px_park(px);
	bq_free(&px->reqhead);
	bq_free(&px->resphead);
	bq_free(&px->pend_up);
	bq_free(&px->pend_down);
	px_side_free(px, &px->s);
	px_side_free(px, &px->u);
	h2_free(px);
	ex_free(px);
	scrub_end(px);
	px_retry_drop(px);
	policyset_unref(px->rps);
	if (px->leaf_pin >= 0 && px->f)
		ca_leaf_unpin(px->f->g->ca, px->leaf_pin);
	explicit_bzero(px, sizeof(*px));
	free(px);
}

/* Fields as in struct flow_ops (flow.h); proxy_pump() serves every event */
const struct flow_ops http_ops = { "http", proxy_start, proxy_pump, proxy_pump,
				   NULL, proxy_due, proxy_tick, proxy_free, 0 };
