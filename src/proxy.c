// SPDX-License-Identifier: MIT
/*
 * proxy.c - intercepted flows: TLS terminated on both sides, HTTP/1.1 in
 * between, where requests are scoped and credentials injected.
 *
 * DOC: Theory of operation
 *
 * A flow whose rule needs to see HTTP (path_pattern, methods,
 * rate_limit_rpm, auth_strategy, or `tls: intercept`) becomes a proxy once
 * its first bytes have been peeked (flow.c):
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
 * decided (Host must be the flow's name; methods, paths, rate; a
 * placeholder for another rule's secret is refused), rewritten (the
 * credential header replaced, placeholders swapped for the secret) and
 * sent; its body is streamed with http_body_feed() deciding where it ends.
 * The response head is parsed for framing only and passed on unchanged;
 * its body streams the same way; then the next request head may be read
 * (pipelined requests wait in the head buffer).  101 turns the flow into a
 * tunnel.  A refusal is an HTTP answer (403, 429, 400, 502) followed by a
 * close, never the secret, never a silent drop.
 */
#include "gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <bearssl.h>

#include "audit.h"
#include "ca.h"
#include "http1.h"
#include "log.h"
#include "profile.h"
#include "secret.h"

#define HEAD_MAX   16384
#define PEND_MAX   (HEAD_MAX + 8192)
#define PLAIN_BUF  32768

struct buf {
	uint8_t *b;
	size_t len, cap;
};

struct side {
	br_ssl_engine_context *eng;     /* TLS, or NULL for plain bytes */
	struct buf rx, tx;              /* plain: transport<->app */
	int eof;                        /* the transport will send no more */
};

enum rq_state { RQ_HEAD, RQ_BODY, RQ_WAIT, RQ_TUNNEL };
enum rs_state { RS_IDLE, RS_HEAD, RS_BODY, RS_TUNNEL };

struct proxy {
	struct flow *f;
	int tls;
	struct side s, u;
	br_ssl_server_context sc;
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	uint8_t *sbuf, *cbuf;
	/* our own copy of the leaf: the CA's cache may reuse its slot while
	 * this handshake is still running */
	br_x509_certificate chain[2];
	uint8_t *leaf;

	enum rq_state rq;
	enum rs_state rs;
	struct buf reqhead, resphead, pend_up, pend_down;
	struct http_req req;
	struct http_resp resp;
	struct http_body reqbody, respbody;
	int outstanding;                /* a request awaits its response */
	int closing;                    /* close once pend_down is out */
	int close_sent;
	uint64_t t_req, req_bytes, resp_bytes;
	char creds[128];                /* names of injected credentials */
	char path_log[512];
	const char *deny_reason;
	char up_error[96];              /* why upstream TLS failed, "" if not */
	int status_sent;
};

static const char *alpn[] = { "http/1.1" }; /* BearSSL wants non-const */

/* ------------------------------------------------------------------ */
/* Buffers and sides                                                   */

static int buf_init(struct buf *b, size_t cap)
{
	b->b = malloc(cap);
	b->len = 0;
	b->cap = cap;
	return b->b ? 0 : -1;
}

static void buf_free(struct buf *b)
{
	free(b->b);
	b->b = NULL;
	b->len = b->cap = 0;
}

static void buf_drop(struct buf *b, size_t n)
{
	memmove(b->b, b->b + n, b->len - n);
	b->len -= n;
}

static size_t buf_put(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	memcpy(b->b + b->len, p, n);
	b->len += n;
	return n;
}

/* Transport bytes may be written here (received records). */
static uint8_t *rec_in(struct side *sd, size_t *len)
{
	if (sd->eng)
		return br_ssl_engine_recvrec_buf(sd->eng, len);
	*len = sd->rx.cap - sd->rx.len;
	return *len ? sd->rx.b + sd->rx.len : NULL;
}

static void rec_in_ack(struct side *sd, size_t n)
{
	if (sd->eng)
		br_ssl_engine_recvrec_ack(sd->eng, n);
	else
		sd->rx.len += n;
}

/* Transport bytes to send. */
static uint8_t *rec_out(struct side *sd, size_t *len)
{
	if (sd->eng)
		return br_ssl_engine_sendrec_buf(sd->eng, len);
	*len = sd->tx.len;
	return *len ? sd->tx.b : NULL;
}

static void rec_out_ack(struct side *sd, size_t n)
{
	if (sd->eng)
		br_ssl_engine_sendrec_ack(sd->eng, n);
	else
		buf_drop(&sd->tx, n);
}

/* Application bytes received. */
static uint8_t *app_in(struct side *sd, size_t *len)
{
	if (sd->eng)
		return br_ssl_engine_recvapp_buf(sd->eng, len);
	*len = sd->rx.len;
	return *len ? sd->rx.b : NULL;
}

static void app_in_ack(struct side *sd, size_t n)
{
	if (sd->eng)
		br_ssl_engine_recvapp_ack(sd->eng, n);
	else
		buf_drop(&sd->rx, n);
}

/* Room for application bytes to send. */
static uint8_t *app_out(struct side *sd, size_t *len)
{
	if (sd->eng)
		return br_ssl_engine_sendapp_buf(sd->eng, len);
	*len = sd->tx.cap - sd->tx.len;
	return *len ? sd->tx.b + sd->tx.len : NULL;
}

static void app_out_ack(struct side *sd, size_t n)
{
	if (sd->eng) {
		br_ssl_engine_sendapp_ack(sd->eng, n);
		br_ssl_engine_flush(sd->eng, 0);
	} else {
		sd->tx.len += n;
	}
}

static int side_closed(const struct side *sd)
{
	return sd->eng && br_ssl_engine_current_state(sd->eng) == BR_SSL_CLOSED;
}

/* Move as much of @b as @sd takes as application data. */
static int pend_flush(struct side *sd, struct buf *b)
{
	int moved = 0;

	while (b->len) {
		size_t room, n;
		uint8_t *p = app_out(sd, &room);

		if (!p || !room)
			break;
		n = b->len < room ? b->len : room;
		memcpy(p, b->b, n);
		app_out_ack(sd, n);
		buf_drop(b, n);
		moved = 1;
	}
	return moved;
}

/* ------------------------------------------------------------------ */
/* Answers of our own                                                  */

static void json_str(struct buf *b, const char *s)
{
	char tmp[8];

	buf_put(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			buf_put(b, tmp, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			buf_put(b, tmp, 6);
		} else {
			buf_put(b, &c, 1);
		}
	}
	buf_put(b, "\"", 1);
}

/**
 * answer() - Queue an HTTP answer of the gateway's own to the sandbox
 * @px:     Proxy
 * @status: 400, 403, 429, 431, 502
 * @reason: Why (shown in the JSON body and the audit log)
 *
 * The connection closes once it is sent.  The body never holds a secret.
 */
static void answer(struct proxy *px, int status, const char *reason)
{
	static const char *const texts[] = {
		[0] = "Bad Request", [1] = "Forbidden", [2] = "Too Many Requests",
		[3] = "Request Header Fields Too Large", [4] = "Bad Gateway",
	};
	struct flow *f = px->f;
	struct buf body;
	char head[256];
	const char *text = status == 403 ? texts[1] : status == 429 ? texts[2] :
			   status == 431 ? texts[3] : status == 502 ? texts[4] :
			   texts[0];
	int n;

	if (buf_init(&body, 2048) < 0)
		return;
	buf_put(&body, "{\"error\":", 9);
	json_str(&body, status == 502 ? "islo-net: upstream failed" :
		 "islo-net: blocked by gateway profile");
	buf_put(&body, ",\"profile\":", 11);
	json_str(&body, f->g->profile_name);
	buf_put(&body, ",\"host\":", 8);
	json_str(&body, f->host);
	buf_put(&body, ",\"rule\":", 8);
	json_str(&body, policy_rule_label(&f->dec));
	buf_put(&body, ",\"reason\":", 10);
	json_str(&body, reason);
	buf_put(&body, "}\n", 2);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
		     status, text, body.len,
		     status == 429 ? "Retry-After: 60\r\n" : "");
	px->pend_down.len = 0;
	buf_put(&px->pend_down, head, (size_t)n);
	buf_put(&px->pend_down, body.b, body.len);
	buf_free(&body);
	px->closing = 1;
	px->status_sent = status;
	px->deny_reason = reason;
}

static void audit_request(struct proxy *px, const char *action, int status,
			  const char *reason)
{
	struct flow *f = px->f;
	struct audit_ev e;

	audit_begin(&e, "http_request");
	audit_str(&e, "action", action);
	audit_str(&e, "profile", f->g->profile_name);
	audit_str(&e, "rule", policy_rule_label(&f->dec));
	audit_str(&e, "proto", px->tls ? "https" : "http");
	audit_strn(&e, "method", px->req.method, strlen(px->req.method));
	audit_strn(&e, "host", f->host, strlen(f->host));
	audit_strn(&e, "path", px->path_log, strlen(px->path_log));
	if (status)
		audit_int(&e, "status", status);
	audit_int(&e, "bytes_up", (long long)px->req_bytes);
	audit_int(&e, "bytes_down", (long long)px->resp_bytes);
	audit_int(&e, "duration_ms", (long long)(now_ms() - px->t_req));
	if (px->creds[0])
		audit_str(&e, "credentials", px->creds);
	if (reason)
		audit_str(&e, "reason", reason);
	audit_emit(f->g->audit, &e);
}

static void security_event(struct proxy *px, const char *reason,
			   const char *detail)
{
	struct flow *f = px->f;
	struct audit_ev e;
	char src[INET6_ADDRSTRLEN];

	ipaddr_str(&f->src, src, sizeof(src));
	audit_begin(&e, "security_event");
	audit_str(&e, "action", "deny");
	audit_str(&e, "profile", f->g->profile_name);
	audit_str(&e, "rule", policy_rule_label(&f->dec));
	audit_str(&e, "src", src);
	audit_strn(&e, "host", f->host, strlen(f->host));
	audit_strn(&e, "method", px->req.method, strlen(px->req.method));
	audit_strn(&e, "path", px->path_log, strlen(px->path_log));
	audit_str(&e, "reason", reason);
	if (detail)
		audit_strn(&e, "detail", detail, strlen(detail));
	audit_emit(f->g->audit, &e);
}

/* ------------------------------------------------------------------ */
/* Request decisions                                                   */

static int method_allowed(const struct pf_rule *r, const char *m)
{
	size_t i;

	if (!r || !r->nmethods)
		return 1;
	for (i = 0; i < r->nmethods; i++)
		if (!strcmp(r->methods[i], m))
			return 1;
	return 0;
}

static int path_allowed(const struct pf_rule *r, const char *path)
{
	size_t i;

	if (!r || !r->npath_patterns)
		return 1;
	if (http_path_normal(path) < 0)
		return 0;
	for (i = 0; i < r->npath_patterns; i++)
		if (http_path_match(r->path_patterns[i], path))
			return 1;
	return 0;
}

/* A token bucket per rule: rate_limit_rpm requests a minute, bursts of
 * up to that many. */
static int rate_ok(struct gw *g, const struct pf_rule *r)
{
	struct gw_rate *rt;
	uint64_t now = now_ms();
	double cap;

	if (!r || !r->rate_limit_rpm || r->index < 0 ||
	    (size_t)r->index >= g->nrates)
		return 1;
	rt = &g->rates[r->index];
	cap = r->rate_limit_rpm;
	if (!rt->last) {
		rt->tokens = cap;
	} else {
		rt->tokens += (double)(now - rt->last) * cap / 60000.0;
		if (rt->tokens > cap)
			rt->tokens = cap;
	}
	rt->last = now;
	if (rt->tokens < 1.0)
		return 0;
	rt->tokens -= 1.0;
	return 1;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t base64(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (o + 5 > cap)
			return 0;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* The credential's header value, into @out (a secret: zeroed by caller). */
static int auth_value(const struct pf_auth *a, const struct secret *s,
		      char *out, size_t cap)
{
	const char *fmt, *at;
	size_t pre, post;

	if (a->mode == PF_AUTH_BASIC) {
		size_t ul = strlen(a->username), n;
		char *tmp;

		if (ul + 1 + s->len > 4096 || cap < 7)
			return -1;
		tmp = malloc(ul + 1 + s->len);
		if (!tmp)
			return -1;
		memcpy(tmp, a->username, ul);
		tmp[ul] = ':';
		memcpy(tmp + ul + 1, s->val, s->len);
		out[0] = 'B'; out[1] = 'a'; out[2] = 's'; out[3] = 'i';
		out[4] = 'c'; out[5] = ' ';
		n = base64((uint8_t *)tmp, ul + 1 + s->len, out + 6, cap - 6);
		explicit_bzero(tmp, ul + 1 + s->len);
		free(tmp);
		return n ? 0 : -1;
	}
	fmt = a->format ? a->format : "{secret}";
	at = strstr(fmt, "{secret}");
	if (!at)
		return -1;
	pre = (size_t)(at - fmt);
	post = strlen(at + 8);
	if (pre + s->len + post + 1 > cap)
		return -1;
	memcpy(out, fmt, pre);
	memcpy(out + pre, s->val, s->len);
	memcpy(out + pre + s->len, at + 8, post + 1);
	return 0;
}

/**
 * request_decide() - Decide and rewrite one request head
 * @px: Proxy, with px->req parsed from px->reqhead
 * Return: 0 if the rewritten head is in px->pend_up, -1 if refused (an
 *         answer is queued)
 */
static int request_decide(struct proxy *px)
{
	struct flow *f = px->f;
	struct gw *g = f->g;
	const struct pf_rule *r = f->dec.rule;
	const struct secrets *ss = g->o->secrets;
	struct http_subst subst[1];
	struct http_field add[1];
	const char *drop[3];
	struct http_rewrite rw;
	char value[4200];
	const char *host = px->req.absolute_host[0] ? px->req.absolute_host :
			   px->req.host;
	size_t i, n;
	int inject;

	http_path_for_log((const char *)px->reqhead.b + px->req.target,
			  px->req.target_len, px->path_log,
			  sizeof(px->path_log));
	px->creds[0] = '\0';
	if (strcmp(host, f->host)) {
		security_event(px, "Host header does not match the connection's name",
			       host);
		answer(px, 403, "Host does not match the name the sandbox connected to");
		return -1;
	}
	if (px->req.upgrade_h2c) {
		/* handled below by dropping Upgrade/HTTP2-Settings */
	}
	if (!method_allowed(r, px->req.method)) {
		answer(px, 403, "method not allowed by the rule");
		return -1;
	}
	if (!path_allowed(r, px->req.path)) {
		answer(px, 403, http_path_normal(px->req.path) < 0 ?
				"path is not in normal form" :
				"path not allowed by the rule");
		return -1;
	}
	/* a placeholder for a secret of another rule must not leave */
	for (i = 0; ss && i < ss->n; i++) {
		if (r && r->auth && r->auth->secret_index == (int)i)
			continue;
		if (ss->s[i].placeholder[0] &&
		    http_find_token(&px->req, px->reqhead.b, ss->s[i].placeholder)) {
			security_event(px, "placeholder sent to a host outside its rule",
				       ss->s[i].ref);
			answer(px, 403, "credential placeholder not valid for this host");
			return -1;
		}
	}
	if (!rate_ok(g, r)) {
		answer(px, 429, "rate limit of the rule exceeded");
		return -1;
	}

	memset(&rw, 0, sizeof(rw));
	n = 0;
	if (px->req.upgrade_h2c) {
		drop[n++] = "upgrade";
		drop[n++] = "http2-settings";
	}
	inject = r && r->auth && ss && r->auth->secret_index >= 0 &&
		 (size_t)r->auth->secret_index < ss->n &&
		 (px->tls || r->allow_plaintext);
	if (inject) {
		const struct secret *s = &ss->s[r->auth->secret_index];

		if (auth_value(r->auth, s, value, sizeof(value)) < 0) {
			explicit_bzero(value, sizeof(value));
			answer(px, 502, "credential does not fit a header");
			return -1;
		}
		drop[n++] = r->auth->mode == PF_AUTH_HEADER ?
				    r->auth->header_name : "authorization";
		add[0].name = r->auth->mode == PF_AUTH_HEADER ?
				      r->auth->header_name : "Authorization";
		add[0].value = value;
		rw.add = add;
		rw.nadd = 1;
		if (s->placeholder[0]) {
			subst[0].from = s->placeholder;
			subst[0].to = (const char *)s->val;
			rw.subst = subst;
			rw.nsubst = 1;
		}
		snprintf(px->creds, sizeof(px->creds), "%s", s->ref);
	}
	rw.drop = drop;
	rw.ndrop = n;
	px->pend_up.len = http_req_write(&px->req, px->reqhead.b, &rw,
					 px->pend_up.b, px->pend_up.cap);
	explicit_bzero(value, sizeof(value));
	if (!px->pend_up.len) {
		answer(px, 431, "request head too large after rewriting");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The HTTP engine between the sides                                   */

static void exchange_done(struct proxy *px)
{
	audit_request(px, "allow", px->resp.status, NULL);
	px->outstanding = 0;
	px->rs = RS_IDLE;
	if (px->rq == RQ_WAIT)
		px->rq = RQ_HEAD;
	if (!px->resp.keep_alive || !px->req.keep_alive)
		px->closing = 1;
}

/* Sandbox -> upstream.  Return: 1 if anything moved. */
static int http_up(struct proxy *px)
{
	int moved = 0;

	for (;;) {
		size_t len, room, n;
		uint8_t *p, *q;

		if (px->pend_up.len) {
			moved |= pend_flush(&px->u, &px->pend_up);
			if (px->pend_up.len)
				return moved;
		}
		if (px->closing)
			return moved;
		switch (px->rq) {
		case RQ_HEAD: {
			int r;

			if (px->outstanding)
				return moved;
			p = app_in(&px->s, &len);
			if (p && len) {
				n = buf_put(&px->reqhead, p, len);
				app_in_ack(&px->s, n);
				moved |= n > 0;
			}
			if (!px->reqhead.len)
				return moved;
			r = http_req_parse(px->reqhead.b, px->reqhead.len, HEAD_MAX,
					   &px->req);
			if (r == HTTP_NEED_MORE) {
				if (px->reqhead.len >= px->reqhead.cap)
					answer(px, 431, "request head too large");
				else if (!(p && len))
					return moved;
				continue;
			}
			px->t_req = now_ms();
			px->req_bytes = px->resp_bytes = 0;
			if (r == HTTP_BAD) {
				snprintf(px->path_log, sizeof(px->path_log), "-");
				audit_request(px, "deny", 400, px->req.error);
				answer(px, 400, px->req.error ? px->req.error :
						"malformed request");
				continue;
			}
			if (px->up_error[0]) {
				http_path_for_log((const char *)px->reqhead.b +
						  px->req.target,
						  px->req.target_len,
						  px->path_log,
						  sizeof(px->path_log));
				answer(px, 502, px->up_error);
				audit_request(px, "allow", 502, px->up_error);
				px->deny_reason = px->up_error;
				continue;
			}
			if (request_decide(px) < 0) {
				audit_request(px, "deny", px->status_sent,
					      px->deny_reason);
				continue;
			}
			http_body_init(&px->reqbody, px->req.content_length,
				       px->req.chunked, 0);
			buf_drop(&px->reqhead, px->req.head_len);
			px->outstanding = 1;
			px->rs = RS_HEAD;
			px->rq = px->req.content_length > 0 || px->req.chunked ?
					 RQ_BODY : RQ_WAIT;
			moved = 1;
			break;
		}
		case RQ_BODY: {
			int done = 0;

			q = app_out(&px->u, &room);
			if (!q || !room)
				return moved;
			if (px->reqhead.len) {
				p = px->reqhead.b;
				len = px->reqhead.len;
			} else {
				p = app_in(&px->s, &len);
				if (!p || !len)
					return moved;
			}
			if (len > room)
				len = room;
			n = http_body_feed(&px->reqbody, p, len, &done);
			if (px->reqbody.error) {
				answer(px, 400, px->reqbody.error);
				continue;
			}
			memcpy(q, p, n);
			app_out_ack(&px->u, n);
			if (p == px->reqhead.b)
				buf_drop(&px->reqhead, n);
			else
				app_in_ack(&px->s, n);
			px->req_bytes += n;
			moved = 1;
			if (done)
				px->rq = RQ_WAIT;
			break;
		}
		case RQ_WAIT:
			return moved;
		case RQ_TUNNEL:
			q = app_out(&px->u, &room);
			if (!q || !room)
				return moved;
			if (px->reqhead.len) {
				n = px->reqhead.len < room ? px->reqhead.len : room;
				memcpy(q, px->reqhead.b, n);
				buf_drop(&px->reqhead, n);
			} else {
				p = app_in(&px->s, &len);
				if (!p || !len)
					return moved;
				n = len < room ? len : room;
				memcpy(q, p, n);
				app_in_ack(&px->s, n);
			}
			app_out_ack(&px->u, n);
			px->req_bytes += n;
			moved = 1;
			break;
		}
	}
}

/* Upstream -> sandbox.  Return: 1 if anything moved. */
static int http_down(struct proxy *px)
{
	int moved = 0;

	for (;;) {
		size_t len, room, n;
		uint8_t *p, *q;

		if (px->pend_down.len) {
			moved |= pend_flush(&px->s, &px->pend_down);
			if (px->pend_down.len)
				return moved;
		}
		if (px->closing)
			return moved;
		switch (px->rs) {
		case RS_IDLE:
			p = app_in(&px->u, &len);
			if (p && len) {
				/* nothing was asked: an upstream speaking out of
				 * turn (a 408, say) ends the connection */
				app_in_ack(&px->u, len);
				px->closing = 1;
			}
			return moved;
		case RS_HEAD: {
			int r;

			p = app_in(&px->u, &len);
			if (p && len) {
				n = buf_put(&px->resphead, p, len);
				app_in_ack(&px->u, n);
				moved |= n > 0;
			}
			if (!px->resphead.len) {
				if (px->u.eof || side_closed(&px->u)) {
					answer(px, 502, "upstream closed without answering");
					audit_request(px, "allow", 502, "upstream closed");
				}
				return moved;
			}
			r = http_resp_parse(px->resphead.b, px->resphead.len,
					    HEAD_MAX, &px->req, &px->resp);
			if (r == HTTP_NEED_MORE) {
				if (px->resphead.len >= px->resphead.cap ||
				    px->u.eof || side_closed(&px->u)) {
					answer(px, 502, "bad response head from upstream");
					audit_request(px, "allow", 502, "bad response head");
				} else if (!(p && len)) {
					return moved;
				}
				continue;
			}
			if (r == HTTP_BAD) {
				answer(px, 502, px->resp.error ? px->resp.error :
						"bad response from upstream");
				audit_request(px, "allow", 502, px->resp.error);
				continue;
			}
			buf_put(&px->pend_down, px->resphead.b, px->resp.head_len);
			buf_drop(&px->resphead, px->resp.head_len);
			moved = 1;
			if (px->resp.informational)
				break;
			if (px->resp.tunnel) {
				audit_request(px, "allow", 101, NULL);
				px->rs = RS_TUNNEL;
				px->rq = RQ_TUNNEL;
				break;
			}
			if (px->resp.no_body) {
				exchange_done(px);
				break;
			}
			http_body_init(&px->respbody, px->resp.content_length,
				       px->resp.chunked, px->resp.until_close);
			px->rs = RS_BODY;
			break;
		}
		case RS_BODY: {
			int done = 0;

			q = app_out(&px->s, &room);
			if (!q || !room)
				return moved;
			if (px->resphead.len) {
				p = px->resphead.b;
				len = px->resphead.len;
			} else {
				p = app_in(&px->u, &len);
				if (!p || !len) {
					if (px->resp.until_close &&
					    (px->u.eof || side_closed(&px->u))) {
						exchange_done(px);
						px->closing = 1;
					}
					return moved;
				}
			}
			if (len > room)
				len = room;
			n = http_body_feed(&px->respbody, p, len, &done);
			if (px->respbody.error) {
				px->closing = 1;
				audit_request(px, "allow", px->resp.status,
					      px->respbody.error);
				return 1;
			}
			memcpy(q, p, n);
			app_out_ack(&px->s, n);
			if (p == px->resphead.b)
				buf_drop(&px->resphead, n);
			else
				app_in_ack(&px->u, n);
			px->resp_bytes += n;
			moved = 1;
			if (done)
				exchange_done(px);
			break;
		}
		case RS_TUNNEL:
			q = app_out(&px->s, &room);
			if (!q || !room)
				return moved;
			if (px->resphead.len) {
				n = px->resphead.len < room ? px->resphead.len : room;
				memcpy(q, px->resphead.b, n);
				buf_drop(&px->resphead, n);
			} else {
				p = app_in(&px->u, &len);
				if (!p || !len)
					return moved;
				n = len < room ? len : room;
				memcpy(q, p, n);
				app_in_ack(&px->u, n);
			}
			app_out_ack(&px->s, n);
			px->resp_bytes += n;
			moved = 1;
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Transports                                                          */

/* Sandbox bytes queued by flow.c (f->to_host) into the S side. */
static int from_sandbox(struct proxy *px)
{
	struct flow *f = px->f;
	int moved = 0;

	while (f->to_host) {
		size_t room, n;
		uint8_t *p = rec_in(&px->s, &room);
		struct pbuf *head = f->to_host;

		if (!p || !room)
			break;
		n = pbuf_copy_partial(head, p,
				      (u16_t)(room > 0xffff ? 0xffff : room),
				      (u16_t)f->to_host_off);
		if (!n)
			break;
		rec_in_ack(&px->s, n);
		moved = 1;
		if (f->pcb)
			tcp_recved(f->pcb, (u16_t)n);
		f->bytes_up += n;
		f->to_host_off += n;
		while (f->to_host && f->to_host_off >= f->to_host->len) {
			struct pbuf *h = f->to_host;

			f->to_host_off -= h->len;
			f->to_host = h->next;
			h->next = NULL;
			h->tot_len = h->len;
			pbuf_free(h);
		}
	}
	if (!f->to_host && f->sandbox_eof && !px->s.eof) {
		px->s.eof = 1;
		if (px->s.eng)
			br_ssl_engine_close(px->s.eng);
		moved = 1;
	}
	return moved;
}

static int to_sandbox(struct proxy *px)
{
	struct flow *f = px->f;
	int moved = 0;

	while (f->pcb) {
		size_t len, n;
		uint8_t *p = rec_out(&px->s, &len);

		if (!p || !len)
			break;
		n = tcp_sndbuf(f->pcb);
		if (n > len)
			n = len;
		if (n > 0xffff)
			n = 0xffff;
		if (!n || tcp_sndqueuelen(f->pcb) >= TCP_SND_QUEUELEN - 8 ||
		    tcp_write(f->pcb, p, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		rec_out_ack(&px->s, n);
		f->bytes_down += n;
		moved = 1;
	}
	if (moved && f->pcb)
		tcp_output(f->pcb);
	return moved;
}

static int from_upstream(struct proxy *px)
{
	struct flow *f = px->f;
	int moved = 0;

	while (!px->u.eof && f->fd >= 0) {
		size_t room;
		uint8_t *p = rec_in(&px->u, &room);
		ssize_t n;

		if (!p || !room)
			break;
		n = read(f->fd, p, room);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				px->u.eof = 1;
			break;
		}
		if (n == 0) {
			px->u.eof = 1;
			moved = 1;
			break;
		}
		rec_in_ack(&px->u, (size_t)n);
		moved = 1;
	}
	return moved;
}

static int to_upstream(struct proxy *px)
{
	struct flow *f = px->f;
	int moved = 0;

	while (f->fd >= 0) {
		size_t len;
		uint8_t *p = rec_out(&px->u, &len);
		ssize_t n;

		if (!p || !len)
			break;
		n = write(f->fd, p, len);
		if (n <= 0)
			break;
		rec_out_ack(&px->u, (size_t)n);
		moved = 1;
	}
	return moved;
}

const char *proxy_tls_error(int e)
{
	switch (e) {
	case BR_ERR_X509_NOT_TRUSTED:
		return "upstream certificate is not trusted";
	case BR_ERR_X509_BAD_SERVER_NAME:
		return "upstream certificate does not match the host name";
	case BR_ERR_X509_EXPIRED:
		return "upstream certificate has expired or is not yet valid";
	case BR_ERR_BAD_VERSION:
		return "upstream does not speak TLS 1.2";
	case BR_ERR_BAD_CIPHER_SUITE:
	case BR_ERR_UNSUPPORTED_VERSION:
		return "no TLS parameters in common with upstream";
	default:
		return NULL;
	}
}

/**
 * proxy_pump() - Move bytes through an intercepted flow until none move
 * @f: Flow with f->px set
 *
 * Called after every event on either transport.  Ends the flow (through
 * flow_close_later()/flow_abort()) when both sides are done.
 */
void proxy_pump(struct flow *f)
{
	struct proxy *px = f->px;
	int moved, rounds = 0;
	uint32_t ev = 0;
	size_t len;

	do {
		moved = 0;
		moved |= from_sandbox(px);
		moved |= from_upstream(px);
		moved |= http_up(px);
		moved |= http_down(px);
		moved |= to_sandbox(px);
		moved |= to_upstream(px);
		if (px->u.eng && side_closed(&px->u) && !px->up_error[0]) {
			int e = br_ssl_engine_last_error(px->u.eng);
			const char *why = proxy_tls_error(e);

			if (why)
				snprintf(px->up_error, sizeof(px->up_error), "%s", why);
			else if (e)
				snprintf(px->up_error, sizeof(px->up_error),
					 "upstream TLS failed (BearSSL error %d)", e);
		}
		if (px->up_error[0] && px->outstanding && !px->resphead.len &&
		    px->rs == RS_HEAD && !px->closing) {
			answer(px, 502, px->up_error);
			audit_request(px, "allow", 502, px->up_error);
			px->deny_reason = NULL;
			moved = 1;
		}
	} while (moved && ++rounds < 64 && f->state == FLOW_OPEN);

	if (f->state != FLOW_OPEN)
		return;
	/* done: our answer is out, or the sandbox is gone, or upstream is
	 * done and nothing of it remains to deliver */
	if (px->closing && !px->pend_down.len) {
		if (px->s.eng && !px->close_sent) {
			br_ssl_engine_close(px->s.eng);
			px->close_sent = 1;
			to_sandbox(px);
		}
		if (!rec_out(&px->s, &len) || !len) {
			flow_close_later(f, "allow", px->deny_reason);
			return;
		}
	}
	if (side_closed(&px->s) || (px->s.eof && !px->outstanding)) {
		flow_close_later(f, "allow", NULL);
		return;
	}
	if ((px->u.eof || side_closed(&px->u)) && !px->outstanding &&
	    !px->up_error[0] && px->rs != RS_TUNNEL && !px->pend_down.len) {
		flow_close_later(f, "allow", NULL);
		return;
	}
	if (!px->u.eof && rec_in(&px->u, &len) && len)
		ev |= EPOLLIN;
	if (rec_out(&px->u, &len) && len)
		ev |= EPOLLOUT;
	flow_want_events(f, ev);
}

/**
 * proxy_start() - Turn an open flow into an intercepted one
 * @f:   Flow, its first bytes queued in f->to_host
 * @tls: 1 if they are a TLS ClientHello (f->host is the SNI), 0 for HTTP
 * Return: 0, or -1 (the caller refuses the flow)
 */
int proxy_start(struct flow *f, int tls)
{
	struct gw *g = f->g;
	struct proxy *px = calloc(1, sizeof(*px));
	const struct pf_rule *r = f->dec.rule;

	if (!px)
		return -1;
	px->f = f;
	px->tls = tls;
	if (buf_init(&px->reqhead, HEAD_MAX) < 0 ||
	    buf_init(&px->resphead, HEAD_MAX) < 0 ||
	    buf_init(&px->pend_up, PEND_MAX) < 0 ||
	    buf_init(&px->pend_down, PEND_MAX) < 0)
		goto fail;
	if (tls) {
		const br_x509_certificate *chain;
		const br_ec_private_key *key;
		size_t n;
		const char *vname = r && r->tls_verify_name ? r->tls_verify_name :
				    f->host;

		if (!g->ca || !g->trust.n ||
		    ca_leaf(g->ca, f->host, &chain, &n, &key) < 0 || n != 2)
			goto fail;
		px->leaf = malloc(chain[0].data_len);
		if (!px->leaf)
			goto fail;
		memcpy(px->leaf, chain[0].data, chain[0].data_len);
		px->chain[0].data = px->leaf;
		px->chain[0].data_len = chain[0].data_len;
		px->chain[1] = chain[1];
		chain = px->chain;
		px->sbuf = malloc(BR_SSL_BUFSIZE_BIDI);
		px->cbuf = malloc(BR_SSL_BUFSIZE_BIDI);
		if (!px->sbuf || !px->cbuf)
			goto fail;
		br_ssl_server_init_full_ec(&px->sc, chain, n, BR_KEYTYPE_EC, key);
		br_ssl_engine_set_versions(&px->sc.eng, BR_TLS12, BR_TLS12);
		br_ssl_engine_set_buffer(&px->sc.eng, px->sbuf,
					 BR_SSL_BUFSIZE_BIDI, 1);
		br_ssl_engine_set_protocol_names(&px->sc.eng, alpn, 1);
		if (!br_ssl_server_reset(&px->sc))
			goto fail;
		px->s.eng = &px->sc.eng;

		br_ssl_client_init_full(&px->cc, &px->xc, g->trust.ta, g->trust.n);
		br_ssl_engine_set_versions(&px->cc.eng, BR_TLS12, BR_TLS12);
		br_ssl_engine_set_buffer(&px->cc.eng, px->cbuf,
					 BR_SSL_BUFSIZE_BIDI, 1);
		br_ssl_engine_set_protocol_names(&px->cc.eng, alpn, 1);
		if (!br_ssl_client_reset(&px->cc, vname, 0))
			goto fail;
		px->u.eng = &px->cc.eng;
	} else {
		if (buf_init(&px->s.rx, PLAIN_BUF) < 0 ||
		    buf_init(&px->s.tx, PLAIN_BUF) < 0 ||
		    buf_init(&px->u.rx, PLAIN_BUF) < 0 ||
		    buf_init(&px->u.tx, PLAIN_BUF) < 0)
			goto fail;
	}
	px->rq = RQ_HEAD;
	px->rs = RS_IDLE;
	f->px = px;
	proxy_pump(f);
	return 0;
fail:
	proxy_free(px);
	return -1;
}

void proxy_free(struct proxy *px)
{
	if (!px)
		return;
	buf_free(&px->reqhead);
	buf_free(&px->resphead);
	if (px->pend_up.b)
		explicit_bzero(px->pend_up.b, px->pend_up.cap);
	buf_free(&px->pend_up);
	buf_free(&px->pend_down);
	buf_free(&px->s.rx);
	buf_free(&px->s.tx);
	if (px->u.tx.b)
		explicit_bzero(px->u.tx.b, px->u.tx.cap);
	buf_free(&px->u.rx);
	buf_free(&px->u.tx);
	if (px->cbuf)
		explicit_bzero(px->cbuf, BR_SSL_BUFSIZE_BIDI);
	free(px->sbuf);
	free(px->cbuf);
	free(px->leaf);
	explicit_bzero(px, sizeof(*px));
	free(px);
}
