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
#include "gw.h"

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

#define HEAD_MAX   16384
#define PEND_MAX   (HEAD_MAX + 8192)
#define PLAIN_BUF  32768

#define SLAB_KEEP  16                   /* free record buffers kept */

#define SRV_CACHE_BYTES ((size_t)64 * 1024)     /* sandbox-side sessions, ~650 */
#define UPS_MAX    256                  /* upstream sessions kept */
#define UPS_TTL_MS (30ULL * 60 * 1000)  /* never offered when older */

/**
 * struct buf - a byte buffer taken on first use, given back when empty
 * @b:   Storage, NULL while not taken
 * @len: Bytes held
 * @cap: Size of the storage when taken
 * @hwm: Bytes of @b written since it was taken (wiped when given back)
 */
struct buf {
	uint8_t *b;
	size_t len, cap, hwm;
};

/**
 * struct side - one end of the proxy
 * @eng:     TLS engine, or NULL for plain bytes
 * @tb:      TLS: where its record buffers are (tlsbuf.c), .io NULL while
 *	     detached
 * @ready:   TLS: the handshake is done
 * @rx:      Plain: transport -> app
 * @tx:      Plain: app -> transport
 * @eof:     The transport will send no more
 */
struct side {
	br_ssl_engine_context *eng;
	struct tlsbuf tb;
	int ready;
	struct buf rx, tx;
	int eof;
};

/**
 * struct upsess - an upstream TLS session that may be resumed
 * @name: Name its certificate was verified for ("" if the slot is free)
 * @addr: Upstream address
 * @port: Upstream port
 * @born: When its full handshake was made (now_ms())
 * @used: Last store or offer (LRU order)
 * @sp:   BearSSL's session parameters (the master secret: wiped when
 *	  dropped)
 */
struct upsess {
	char name[256];
	struct ipaddr addr;
	uint16_t port;
	uint64_t born, used;
	br_ssl_session_parameters sp;
};

/**
 * struct pxshared - what a gateway's intercepted flows share (g->pxs)
 *
 * Its scope must be the trust store's (g->trust): an upstream session is
 * only as good as the anchors its certificate was verified against, so
 * gateways with different trust stores must not share one.
 * @slab:       Free TLS record buffers (TLSBUF_SIZE each), wiped
 * @nslab:      How many
 * @srv_cache:  Sandbox-side TLS session cache
 * @srv_store:  Its storage
 * @ups:        Upstream sessions (UPS_MAX, allocated on first store)
 * @ups_full:   Upstream handshakes done in full
 * @ups_resumed: ... and resumed
 */
struct pxshared {
	uint8_t *slab[SLAB_KEEP];
	size_t nslab;
	br_ssl_session_cache_lru srv_cache;
	uint8_t *srv_store;
	struct upsess *ups;
	unsigned long ups_full, ups_resumed;
};

/**
 * struct exchange - one HTTP request and its response, while in progress
 */
struct exchange {
	struct http_req req;
	struct http_resp resp;
	struct http_body reqbody, respbody;
};

#define SCRUB_HOLD 8192                 /* body bytes held back, at most */
#define SCRUB_STEP 8192                 /* body bytes scrubbed at a time */

/**
 * struct scrub - what the response of a request with a secret is cleaned
 * of (see DOC: Scrubbing); taken for that exchange only, wiped after
 * @pat:         The secret; basic's injected value (base64); each one
 *               percent-encoded, when that differs (a reflection in a URL)
 * @pat_len:     Their lengths
 * @npat:        How many
 * @to:          What replaces them (the placeholder)
 * @reported:    The security_event is written
 * @basic:       Storage of basic's injected value
 * @enc:         Storage of the percent-encoded forms
 * @hold:        Body bytes held back: they may begin a pattern
 * @hpay:        For each, 1 if payload, 0 if chunked framing
 * @nhold:       How many
 * @pay:         Scratch: the payload bytes of hold and the new bytes
 */
#define SCRUB_PATS 4

struct scrub {
	const uint8_t *pat[SCRUB_PATS];
	size_t pat_len[SCRUB_PATS];
	int npat;
	const char *to;
	int reported;
	char basic[4200];
	char enc[2][SCRUB_HOLD / 2];
	uint8_t hold[SCRUB_HOLD];
	uint8_t hpay[SCRUB_HOLD];
	size_t nhold;
	uint8_t pay[SCRUB_HOLD + SCRUB_STEP];
};

enum rq_state { RQ_HEAD, RQ_BODY, RQ_WAIT, RQ_TUNNEL };
enum rs_state { RS_IDLE, RS_HEAD, RS_BODY, RS_TUNNEL };

struct proxy {
	struct flow *f;
	struct pxshared *sh;
	int tls;
	int oom;                        /* a buffer could not be taken */
	struct side s, u;
	int tls_failed;                 /* its tls_failure event is out */
	br_ssl_server_context sc;
	const br_ssl_server_policy_class *policy; /* prefer_p256 (sc's) */
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	int leaf_pin;                   /* ca_leaf_pin() slot, -1 if none */
	char vname[256];                /* upstream name verified */
	int ups_offered;                /* a session was offered upstream */
	uint8_t ups_id[32];             /* ... with this id */
	size_t ups_id_len;

	enum rq_state rq;
	enum rs_state rs;
	struct buf reqhead, resphead, pend_up, pend_down;
	struct exchange *ex;            /* NULL between exchanges */
	int outstanding;                /* a request awaits its response */
	int closing;                    /* close once pend_down is out */
	int close_sent;
	uint64_t t_req, req_bytes, resp_bytes;
	char creds[128];                /* names of injected credentials */
	char path_log[512];
	const char *deny_reason;
	char up_error[96];              /* why upstream TLS failed, "" if not */
	int status_sent;

	/* the current request's decision (see request_decide()) */
	struct policyset *rps;          /* the set in force when it came (a
					 * reference), NULL before the first */
	struct pf_decision rdec;
	int rdec_set;                   /* rdec is the current request's */
	char requested_host[HTTP_HOST_MAX]; /* a Host that was refused, or "" */

	/* timeouts (proxy_tick()) */
	uint64_t t_open;                /* proxy_start() */
	uint64_t t_head;                /* first byte of the head awaited, 0 if none */
	uint64_t t_active;              /* last byte moved either way */

	/* scrubbing of the current response (see DOC: Scrubbing) */
	struct scrub *scr;              /* the request carried the secret */
	int scrub_body;                 /* ... and the body is identity */
};

static void proxy_free(struct proxy *px);

static const char *alpn[] = { "http/1.1" }; /* BearSSL wants non-const */

/*
 * The suites the sandbox is offered: ECDHE with our ECDSA leaf, AEAD first.
 * BearSSL's full list also has static ECDH and 3DES suites no TLS 1.2
 * client needs; every suite offered costs interpreted-code time in each
 * handshake (the match of two lists).
 */
static const uint16_t server_suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
};

/* ------------------------------------------------------------------ */
/* Shared state: record buffers, session caches                        */

static struct pxshared *pxshared_get(struct gw *g)
{
	struct pxshared *sh = g->pxs;

	if (sh)
		return sh;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return NULL;
	sh->srv_store = malloc(SRV_CACHE_BYTES);
	if (!sh->srv_store) {
		free(sh);
		return NULL;
	}
	br_ssl_session_cache_lru_init(&sh->srv_cache, sh->srv_store,
				      SRV_CACHE_BYTES);
	g->pxs = sh;
	return sh;
}

void proxy_shared_free(struct pxshared *sh)
{
	size_t i;

	if (!sh)
		return;
	for (i = 0; i < sh->nslab; i++)
		free(sh->slab[i]); /* wiped when they were given back */
	explicit_bzero(sh->srv_store, SRV_CACHE_BYTES);
	free(sh->srv_store);
	if (sh->ups) {
		explicit_bzero(sh->ups, UPS_MAX * sizeof(*sh->ups));
		free(sh->ups);
	}
	explicit_bzero(sh, sizeof(*sh));
	free(sh);
}

static uint8_t *slab_get(struct pxshared *sh)
{
	if (sh->nslab)
		return sh->slab[--sh->nslab];
	return malloc(TLSBUF_SIZE);
}

/* @io must already be wiped. */
static void slab_put(struct pxshared *sh, uint8_t *io)
{
	if (sh->nslab < SLAB_KEEP)
		sh->slab[sh->nslab++] = io;
	else
		free(io);
}

static int ups_match(const struct upsess *e, const char *name,
		     const struct ipaddr *a, uint16_t port)
{
	return e->name[0] && e->port == port && e->addr.family == a->family &&
	       !memcmp(e->addr.a, a->a, a->family == AF_INET ? 4 : 16) &&
	       !strcmp(e->name, name);
}

static struct upsess *ups_find(struct pxshared *sh, const char *name,
			       const struct ipaddr *a, uint16_t port)
{
	size_t i;

	for (i = 0; sh->ups && i < UPS_MAX; i++)
		if (ups_match(&sh->ups[i], name, a, port))
			return &sh->ups[i];
	return NULL;
}

static void ups_drop(struct upsess *e)
{
	explicit_bzero(e, sizeof(*e));
}

/* Offer the session kept for this upstream, if any: px->cc gets it. */
static void ups_offer(struct proxy *px)
{
	struct flow *f = px->f;
	struct upsess *e = ups_find(px->sh, px->vname, &f->up_addr, f->up_port);
	uint64_t now = now_ms();

	if (!e)
		return;
	if (now - e->born > UPS_TTL_MS) {
		ups_drop(e);
		return;
	}
	e->used = now;
	br_ssl_engine_set_session_parameters(&px->cc.eng, &e->sp);
	memcpy(px->ups_id, e->sp.session_id, e->sp.session_id_len);
	px->ups_id_len = e->sp.session_id_len;
	px->ups_offered = 1;
}

/* The upstream handshake is done: keep its session for the next flow. */
static void ups_store(struct proxy *px)
{
	struct pxshared *sh = px->sh;
	struct flow *f = px->f;
	br_ssl_session_parameters sp;
	struct upsess *e, *victim = NULL;
	uint64_t now = now_ms();
	size_t i;
	int resumed;

	br_ssl_engine_get_session_parameters(&px->cc.eng, &sp);
	resumed = px->ups_offered && sp.session_id_len == px->ups_id_len &&
		  !memcmp(sp.session_id, px->ups_id, px->ups_id_len);
	if (resumed)
		sh->ups_resumed++;
	else
		sh->ups_full++;
	debug("upstream TLS to %s: %s handshake%s", px->vname,
	      resumed ? "resumed" : "full",
	      px->ups_offered && !resumed ? " (the session offered was refused)" : "");
	if (!sp.session_id_len)
		goto out; /* the server keeps no sessions */
	if (!sh->ups) {
		sh->ups = calloc(UPS_MAX, sizeof(*sh->ups));
		if (!sh->ups)
			goto out;
	}
	e = ups_find(sh, px->vname, &f->up_addr, f->up_port);
	if (e && resumed) {
		e->used = now;
		goto out;
	}
	if (!e) {
		for (i = 0; i < UPS_MAX; i++) {
			e = &sh->ups[i];
			if (!e->name[0] || now - e->born > UPS_TTL_MS) {
				victim = e;
				break;
			}
			if (!victim || e->used < victim->used)
				victim = e;
		}
		e = victim;
	}
	ups_drop(e);
	snprintf(e->name, sizeof(e->name), "%s", px->vname);
	e->addr = f->up_addr;
	e->port = f->up_port;
	e->born = e->used = now;
	e->sp = sp;
out:
	explicit_bzero(&sp, sizeof(sp));
}

/* The upstream handshake failed: never offer that session again. */
static void ups_forget(struct proxy *px)
{
	struct upsess *e;

	if (!px->ups_offered)
		return;
	e = ups_find(px->sh, px->vname, &px->f->up_addr, px->f->up_port);
	if (e && e->sp.session_id_len == px->ups_id_len &&
	    !memcmp(e->sp.session_id, px->ups_id, px->ups_id_len))
		ups_drop(e);
	px->ups_offered = 0;
}

/* ------------------------------------------------------------------ */
/* Buffers and sides                                                   */

/* Set up @b to be taken (cap bytes) on first use. */
static void buf_setup(struct buf *b, size_t cap)
{
	b->b = NULL;
	b->len = b->hwm = 0;
	b->cap = cap;
}

/* Take @b's storage if not yet.  Return: 0, or -1 (px->oom set) */
static int buf_take(struct proxy *px, struct buf *b)
{
	if (b->b)
		return 0;
	b->b = malloc(b->cap);
	b->len = b->hwm = 0;
	if (!b->b) {
		px->oom = 1;
		return -1;
	}
	return 0;
}

/* Give @b's storage back, wiped; whatever it still holds is lost. */
static void buf_free(struct buf *b)
{
	if (b->b) {
		explicit_bzero(b->b, b->hwm);
		free(b->b);
	}
	b->b = NULL;
	b->len = b->hwm = 0;
}

/* Give @b back if it is empty. */
static void buf_release(struct buf *b)
{
	if (b->b && !b->len)
		buf_free(b);
}

static void buf_grew(struct buf *b)
{
	if (b->len > b->hwm)
		b->hwm = b->len;
}

static void buf_drop(struct buf *b, size_t n)
{
	if (!n)
		return;
	memmove(b->b, b->b + n, b->len - n);
	b->len -= n;
}

/* @b must be taken. */
static size_t buf_put(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	if (!n)
		return 0;
	memcpy(b->b + b->len, p, n);
	b->len += n;
	buf_grew(b);
	return n;
}

/**
 * side_attach() - Give a TLS engine record buffers (back)
 * @px: Proxy
 * @sd: Side
 * Return: 0, or -1 if out of memory (px->oom set)
 */
static int side_attach(struct proxy *px, struct side *sd)
{
	uint8_t *io;

	if (!sd->eng || sd->tb.io)
		return 0;
	io = slab_get(px->sh);
	if (!io) {
		px->oom = 1;
		return -1;
	}
	tlsbuf_attach(sd->eng, &sd->tb, io);
	return 0;
}

/* Give a TLS engine's buffers back, wiped, if it holds no byte. */
static void side_release(struct proxy *px, struct side *sd)
{
	if (!sd->eng || !sd->ready || sd->eof || !tlsbuf_idle(sd->eng, &sd->tb))
		return;
	slab_put(px->sh, tlsbuf_detach(sd->eng, &sd->tb));
}

/* Transport bytes may be written here (received records). */
static uint8_t *rec_in(struct proxy *px, struct side *sd, size_t *len)
{
	if (sd->eng)
		return br_ssl_engine_recvrec_buf(sd->eng, len);
	*len = 0;
	if (buf_take(px, &sd->rx) < 0)
		return NULL;
	*len = sd->rx.cap - sd->rx.len;
	return *len ? sd->rx.b + sd->rx.len : NULL;
}

static void rec_in_ack(struct side *sd, size_t n)
{
	if (sd->eng) {
		size_t len;
		uint8_t *p = br_ssl_engine_recvrec_buf(sd->eng, &len);

		tlsbuf_wrote_in(&sd->tb, p, n);
		br_ssl_engine_recvrec_ack(sd->eng, n);
	} else {
		sd->rx.len += n;
		buf_grew(&sd->rx);
	}
}

/* Transport bytes to send. */
static uint8_t *rec_out(struct side *sd, size_t *len)
{
	uint8_t *p;

	if (sd->eng) {
		p = br_ssl_engine_sendrec_buf(sd->eng, len);
		tlsbuf_wrote_out(&sd->tb, p, *len);
		return p;
	}
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
static uint8_t *app_out(struct proxy *px, struct side *sd, size_t *len)
{
	if (sd->eng)
		return br_ssl_engine_sendapp_buf(sd->eng, len);
	*len = 0;
	if (buf_take(px, &sd->tx) < 0)
		return NULL;
	*len = sd->tx.cap - sd->tx.len;
	return *len ? sd->tx.b + sd->tx.len : NULL;
}

static void app_out_ack(struct side *sd, size_t n)
{
	if (sd->eng) {
		size_t len;
		uint8_t *p = br_ssl_engine_sendapp_buf(sd->eng, &len);

		tlsbuf_wrote_out(&sd->tb, p, n);
		br_ssl_engine_sendapp_ack(sd->eng, n);
		br_ssl_engine_flush(sd->eng, 0);
	} else {
		sd->tx.len += n;
		buf_grew(&sd->tx);
	}
}

static int side_closed(const struct side *sd)
{
	return sd->eng && br_ssl_engine_current_state(sd->eng) == BR_SSL_CLOSED;
}

/* Move as much of @b as @sd takes as application data. */
static int pend_flush(struct proxy *px, struct side *sd, struct buf *b)
{
	int moved = 0;

	while (b->len) {
		size_t room, n;
		uint8_t *p = app_out(px, sd, &room);

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

/* The rule that decided the current request, else the connection's. */
static const char *px_rule(const struct proxy *px)
{
	return px->rdec_set ? policy_rule_label(&px->rdec) :
			      policy_rule_label(&px->f->dec);
}

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
 * @status: 400, 403, 408, 429, 431, 502
 * @reason: Why (shown in the JSON body and the audit log)
 *
 * The connection closes once it is sent.  The body never holds a secret.
 */
static void answer(struct proxy *px, int status, const char *reason)
{
	static const char *const texts[] = {
		[0] = "Bad Request", [1] = "Forbidden", [2] = "Too Many Requests",
		[3] = "Request Header Fields Too Large", [4] = "Bad Gateway",
		[5] = "Request Timeout",
	};
	struct flow *f = px->f;
	struct buf body;
	char head[256];
	const char *text = status == 403 ? texts[1] : status == 429 ? texts[2] :
			   status == 431 ? texts[3] : status == 502 ? texts[4] :
			   status == 408 ? texts[5] : texts[0];
	int n;

	buf_setup(&body, 2048);
	px->closing = 1;
	px->status_sent = status;
	px->deny_reason = reason;
	if (buf_take(px, &body) < 0 || buf_take(px, &px->pend_down) < 0) {
		buf_free(&body);
		return;
	}
	buf_put(&body, "{\"error\":", 9);
	json_str(&body, status == 502 ? "islo-net: upstream failed" :
		 "islo-net: blocked by gateway profile");
	buf_put(&body, ",\"profile\":", 11);
	json_str(&body, f->g->profile_name);
	buf_put(&body, ",\"host\":", 8);
	json_str(&body, px->requested_host[0] ? px->requested_host : f->host);
	buf_put(&body, ",\"rule\":", 8);
	json_str(&body, px_rule(px));
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
}

static const char *px_method(const struct proxy *px)
{
	return px->ex ? px->ex->req.method : "";
}

static void audit_request(struct proxy *px, const char *action, int status,
			  const char *reason)
{
	struct flow *f = px->f;
	struct audit_ev e;

	f->g->st.http[!strcmp(action, "allow") ? (status == 502 ? ACT_ERROR :
						   ACT_ALLOW) : ACT_DENY]++;
	audit_begin_kind(f->g->audit, &e, "http_request",
			 strcmp(action, "allow") ? AK_HTTP_REFUSED : AK_NONE);
	audit_str(&e, "action", action);
	audit_str(&e, "profile", f->g->profile_name);
	audit_str(&e, "rule", px_rule(px));
	audit_str(&e, "proto", px->tls ? "https" : "http");
	audit_strn(&e, "method", px_method(px), strlen(px_method(px)));
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

static void security_event_as(struct proxy *px, const char *action,
			      const char *reason, const char *detail)
{
	struct flow *f = px->f;
	struct audit_ev e;
	char src[INET6_ADDRSTRLEN];

	ipaddr_str(&f->src, src, sizeof(src));
	audit_begin_kind(f->g->audit, &e, "security_event", AK_SECURITY);
	audit_str(&e, "action", action);
	audit_str(&e, "profile", f->g->profile_name);
	audit_str(&e, "rule", px_rule(px));
	audit_str(&e, "src", src);
	audit_strn(&e, "host", f->host, strlen(f->host));
	if (px->requested_host[0])
		audit_strn(&e, "requested_host", px->requested_host,
			   strlen(px->requested_host));
	audit_strn(&e, "method", px_method(px), strlen(px_method(px)));
	audit_strn(&e, "path", px->path_log, strlen(px->path_log));
	audit_str(&e, "reason", reason);
	if (detail)
		audit_strn(&e, "detail", detail, strlen(detail));
	audit_emit(f->g->audit, &e);
}

static void security_event(struct proxy *px, const char *reason,
			   const char *detail)
{
	security_event_as(px, "deny", reason, detail);
}

/* ------------------------------------------------------------------ */
/* Request decisions                                                   */

/* A token bucket per rule: rate_limit_rpm requests a minute, bursts of
 * up to that many. */
static int rate_ok(struct policyset *ps, const struct pf_rule *r)
{
	struct gw_rate *rt;
	uint64_t now = now_ms();
	double cap;

	if (!r || !r->rate_limit_rpm || r->index < 0 ||
	    (size_t)r->index >= ps->nrates)
		return 1;
	rt = &ps->rates[r->index];
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

/* The query the flow was admitted on (policy_decide() in flow_syn()). */
static void flow_query(const struct flow *f, struct pf_query *q)
{
	memset(q, 0, sizeof(*q));
	q->host = f->named ? f->host : NULL;
	q->family = f->dst.family;
	q->addr = f->named ? NULL : f->dst.a;
	q->port = f->dport;
	q->proto = PF_TCP;
}

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * Does the rule that decided a request go where this connection goes?
 * The upstream (route, verified TLS name, address) was fixed when the
 * connection was admitted, by the first rule that could allow it; a
 * request another rule allows may use it only if that rule would have
 * chosen the same, else a credential could go somewhere its rule does
 * not send it.
 */
static int same_upstream(const struct flow *f, const struct pf_decision *d)
{
	const struct pf_rule *a = f->dec.rule, *b = d->rule;

	if (a == b)
		return 1;
	if (!str_eq(a ? a->route_host : NULL, b ? b->route_host : NULL) ||
	    (a && b && a->route_host && a->route_port != b->route_port) ||
	    !str_eq(a ? a->tls_verify_name : NULL, b ? b->tls_verify_name : NULL))
		return 0;
	return f->routed ||
	       !policy_private_blocked(d, f->up_addr.family, f->up_addr.a);
}

/* Take a reference on the set in force for the request starting now. */
static void request_set(struct proxy *px, struct policyset *ps)
{
	if (px->rps != ps) {
		policyset_unref(px->rps);
		px->rps = policyset_ref(ps);
	}
}

/**
 * override_check() - Method-override headers on a request
 * @px: Proxy, with the request decided (px->rdec)
 * @q:  The flow's query
 *
 * X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override make many
 * frameworks run another method than the request line's.  Each one's
 * method must be allowed on the same path by the same rule that allowed
 * the request (else a GET allowed with a credential would POST with it).
 *
 * Return: 0, or -1 if refused (an answer is queued)
 */
static int override_check(struct proxy *px, const struct pf_query *q)
{
	static const char *const names[] = {
		"x-http-method-override", "x-http-method", "x-method-override",
	};
	const struct http_req *rq = &px->ex->req;
	const uint8_t *b = px->reqhead.b;
	char m[HTTP_METHOD_MAX + 1];
	struct pf_decision d;
	unsigned i;
	size_t k, j;

	for (i = 0; i < rq->nhdr; i++) {
		const struct http_hdr *h = &rq->hdr[i];

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (h->name_len == strlen(names[k]) &&
			    !strncasecmp((const char *)b + h->name, names[k],
					 h->name_len))
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			continue;
		if (!h->value_len || h->value_len > HTTP_METHOD_MAX) {
			answer(px, 400, "bad method-override header");
			return -1;
		}
		for (j = 0; j < h->value_len; j++) {
			char c = (char)b[h->value + j];

			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			if (!((c >= 'A' && c <= 'Z') || c == '-' || c == '_')) {
				answer(px, 400, "bad method-override header");
				return -1;
			}
			m[j] = c;
		}
		m[j] = '\0';
		policy_decide_request(px->rps->prof, q, m, rq->path, &d);
		if (d.action != PF_ALLOW || d.rule != px->rdec.rule) {
			security_event(px, "method override to a method the rule does not allow",
				       m);
			answer(px, 403, "method-override header names a method the rule does not allow");
			return -1;
		}
	}
	return 0;
}

/*
 * Is @ph anywhere in the request head but in the header(s) named @own
 * (NULL: anywhere at all)?  The request line and every other field's
 * name and value are searched; a placeholder holds no CR or LF, so it
 * cannot straddle two of them.
 */
static int placeholder_outside(const struct http_req *rq, const uint8_t *b,
			       const char *ph, const char *own)
{
	size_t pl = strlen(ph), end;
	unsigned i;

	if (!own)
		return http_find_token(rq, b, ph);
	end = rq->nhdr ? rq->hdr[0].name : rq->head_len;
	if (memmem(b, end, ph, pl))
		return 1;
	for (i = 0; i < rq->nhdr; i++) {
		const struct http_hdr *h = &rq->hdr[i];

		if (h->name_len == strlen(own) &&
		    !strncasecmp((const char *)b + h->name, own, h->name_len))
			continue;
		if (memmem(b + h->name, h->value + h->value_len - h->name, ph, pl))
			return 1;
	}
	return 0;
}

/*
 * Add the percent-encoded form of pattern @k (RFC 3986: everything but
 * unreserved characters as %XX, upper-case hex, as URL builders write it)
 * if it differs from the pattern and is short enough to be held back.
 */
static void scrub_add_encoded(struct scrub *sc, int k)
{
	static const char hex[] = "0123456789ABCDEF";
	char *e = sc->enc[k];	/* k: 0 or 1, a raw pattern */
	size_t i, o = 0, n = sc->pat_len[k];
	const uint8_t *p = sc->pat[k];
	int changed = 0;

	if (sc->npat >= SCRUB_PATS)
		return;
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
	sc->pat[sc->npat] = (const uint8_t *)e;
	sc->pat_len[sc->npat++] = o;
}

/* Set up the scrubbing of the response to a request that carries @s.
 * Return: 0, or -1 if out of memory */
static int scrub_setup(struct proxy *px, const struct pf_auth *a,
		       const struct secret *s, const char *value)
{
	struct scrub *sc = px->scr;
	int k, nraw;

	if (!sc) {
		sc = px->scr = malloc(sizeof(*sc));
		if (!sc)
			return -1;
	}
	sc->reported = 0;
	sc->nhold = 0;
	sc->npat = 0;
	sc->pat[sc->npat] = (const uint8_t *)s->val;
	sc->pat_len[sc->npat++] = s->len;
	if (a->mode == PF_AUTH_BASIC && strlen(value) > 6) {
		snprintf(sc->basic, sizeof(sc->basic), "%s", value + 6);
		sc->pat[sc->npat] = (const uint8_t *)sc->basic;
		sc->pat_len[sc->npat++] = strlen(sc->basic);
	}
	nraw = sc->npat;
	for (k = 0; k < nraw; k++)
		scrub_add_encoded(sc, k);
	sc->to = s->placeholder[0] ? s->placeholder : "islo-net-credential-removed";
	return 0;
}

/* The exchange is over: wipe and give back the scrubbing state. */
static void scrub_end(struct proxy *px)
{
	if (px->scr) {
		explicit_bzero(px->scr, sizeof(*px->scr));
		free(px->scr);
		px->scr = NULL;
	}
	px->scrub_body = 0;
}

/**
 * request_decide() - Decide and rewrite one request head
 * @px: Proxy, with px->req parsed from px->reqhead
 *
 * The request is decided by the set in force now (a reload narrows what
 * an open connection may do from its next request on), by the first rule
 * whose host, port, methods and path match it (policy_decide_request()).
 * That rule's credential replaces its header; its placeholder may appear
 * in that header only, and another rule's placeholder nowhere.
 *
 * Return: 0 if the rewritten head is in px->pend_up, -1 if refused (an
 *         answer is queued)
 */
static int request_decide(struct proxy *px)
{
	struct flow *f = px->f;
	struct policyset *ps = f->g->ps ? f->g->ps : f->ps;
	const struct pf_rule *r;
	const struct secrets *ss;
	const struct http_req *rq = &px->ex->req;
	struct http_field add[2];
	const char *drop[4], *own = NULL;
	struct http_rewrite rw;
	struct pf_query q;
	char value[4200];
	const char *host = rq->absolute_host[0] ? rq->absolute_host : rq->host;
	uint16_t port = rq->absolute_host[0] ? rq->absolute_port : rq->host_port;
	size_t i, n;
	int inject;

	scrub_end(px);
	px->requested_host[0] = '\0';
	http_path_for_log((const char *)px->reqhead.b + rq->target,
			  rq->target_len, px->path_log, sizeof(px->path_log));
	px->creds[0] = '\0';
	request_set(px, ps);
	ss = ps->secrets;
	flow_query(f, &q);
	policy_decide_request(ps->prof, &q, rq->method, rq->path, &px->rdec);
	px->rdec_set = 1;
	r = px->rdec.rule;

	if (!port)
		port = (rq->absolute_host[0] ? rq->absolute_https : px->tls) ? 443 : 80;
	if (strcmp(host, f->host) || port != f->dport) {
		snprintf(px->requested_host, sizeof(px->requested_host), "%s", host);
		security_event(px, strcmp(host, f->host) ?
				   "Host header does not match the name resolved" :
				   "Host header names another port than the connection's",
			       NULL);
		answer(px, 403, "Host does not match the name and port the sandbox connected to");
		return -1;
	}
	if (px->rdec.action != PF_ALLOW) {
		answer(px, 403, http_path_normal(rq->path) < 0 ?
				"path is not in normal form" :
				r ? "request denied by the rule" :
				"no rule allows this method and path");
		return -1;
	}
	if (!same_upstream(f, &px->rdec)) {
		answer(px, 403, "the rule for this request does not reach this connection's upstream");
		return -1;
	}
	if (override_check(px, &q) < 0)
		return -1;

	inject = r && r->auth && ss && r->auth->secret_index >= 0 &&
		 (size_t)r->auth->secret_index < ss->n &&
		 (px->tls || r->allow_plaintext);
	/* placeholders: the rule's own in its credential header only (where
	 * it is replaced), any other nowhere */
	for (i = 0; ss && i < ss->n; i++) {
		const char *ph = ss->s[i].placeholder;
		int mine = r && r->auth && r->auth->secret_index == (int)i;

		if (!ph[0] || !placeholder_outside(rq, px->reqhead.b, ph,
						   mine ? pf_auth_header(r->auth) : NULL))
			continue;
		security_event(px, mine ? "placeholder outside the credential header of its rule"
				       : "placeholder sent to a host outside its rule",
			       ss->s[i].ref);
		answer(px, 403, mine ? "credential placeholder outside the credential header"
				     : "credential placeholder not valid for this host");
		return -1;
	}
	if (!rate_ok(ps, r)) {
		answer(px, 429, "rate limit of the rule exceeded");
		return -1;
	}

	memset(&rw, 0, sizeof(rw));
	n = 0;
	if (rq->upgrade_h2c) {
		drop[n++] = "upgrade";
		drop[n++] = "http2-settings";
	}
	if (inject) {
		const struct secret *s = &ss->s[r->auth->secret_index];

		if (auth_value(r->auth, s, value, sizeof(value)) < 0) {
			explicit_bzero(value, sizeof(value));
			answer(px, 502, "credential does not fit a header");
			return -1;
		}
		own = pf_auth_header(r->auth);
		drop[n++] = own;
		add[0].name = r->auth->mode == PF_AUTH_HEADER ?
				      r->auth->header_name : "Authorization";
		add[0].value = value;
		/* the response is scrubbed of the secret, which a compressed
		 * body would hide: ask for it uncompressed */
		drop[n++] = "accept-encoding";
		add[1].name = "Accept-Encoding";
		add[1].value = "identity";
		rw.add = add;
		rw.nadd = 2;
		snprintf(px->creds, sizeof(px->creds), "%s", s->ref);
		if (scrub_setup(px, r->auth, s, value) < 0) {
			explicit_bzero(value, sizeof(value));
			answer(px, 502, "out of memory");
			return -1;
		}
	}
	rw.drop = drop;
	rw.ndrop = n;
	if (buf_take(px, &px->pend_up) < 0) {
		explicit_bzero(value, sizeof(value));
		scrub_end(px);
		answer(px, 502, "out of memory");
		return -1;
	}
	px->pend_up.len = http_req_write(rq, px->reqhead.b, &rw,
					 px->pend_up.b, px->pend_up.cap);
	buf_grew(&px->pend_up);
	explicit_bzero(value, sizeof(value));
	if (!px->pend_up.len) {
		scrub_end(px);
		answer(px, 431, "request head too large after rewriting");
		return -1;
	}
	return 0;
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
	security_event_as(px, "allow",
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
	size_t tl = strlen(sc->to);
	int k;

	for (k = 0; k < sc->npat; k++) {
		size_t pl = sc->pat_len[k], off = 0, i;
		uint8_t *hit;

		if (!pl)
			continue;
		while (off < n && (hit = memmem(p + off, n - off, sc->pat[k], pl))) {
			for (i = 0; i < pl; i++)
				hit[i] = i < tl ? (uint8_t)sc->to[i] : '*';
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
static size_t scrub_body(struct proxy *px, uint8_t *q, const uint8_t *p,
			 size_t n, int payload, int end)
{
	struct scrub *sc = px->scr;
	size_t m = sc->nhold + n, np = 0, i, j, keep, cut;

	memcpy(q, sc->hold, sc->nhold);
	if (n)
		memcpy(q + sc->nhold, p, n);
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
static int scrub_head(struct proxy *px, const uint8_t *h, size_t n)
{
	const struct scrub *sc = px->scr;
	struct buf *b = &px->pend_down;
	size_t tl = strlen(sc->to), off = 0;

	while (off < n) {
		size_t best = n, bl = 0;
		int k;

		for (k = 0; k < sc->npat; k++) {
			const uint8_t *hit;

			if (!sc->pat_len[k])
				continue;
			hit = memmem(h + off, n - off, sc->pat[k], sc->pat_len[k]);
			if (hit && (size_t)(hit - h) < best) {
				best = (size_t)(hit - h);
				bl = sc->pat_len[k];
			}
		}
		if (buf_put(b, h + off, best - off) != best - off)
			return -1;
		if (best == n)
			break;
		if (buf_put(b, sc->to, tl) != tl)
			return -1;
		scrub_report(px);
		off = best + bl;
	}
	return 0;
}

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
	audit_request(px, "allow", px->ex->resp.status, NULL);
	scrub_end(px);
	px->outstanding = 0;
	px->rs = RS_IDLE;
	if (px->rq == RQ_WAIT)
		px->rq = RQ_HEAD;
	if (!px->ex->resp.keep_alive || !px->ex->req.keep_alive)
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
			moved |= pend_flush(px, &px->u, &px->pend_up);
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
				if (buf_take(px, &px->reqhead) < 0)
					return moved;
				n = buf_put(&px->reqhead, p, len);
				app_in_ack(&px->s, n);
				moved |= n > 0;
			}
			if (!px->reqhead.len || ex_take(px) < 0)
				return moved;
			if (!px->t_head)
				px->t_head = now_ms();
			r = http_req_parse(px->reqhead.b, px->reqhead.len, HEAD_MAX,
					   &px->ex->req);
			if (r != HTTP_NEED_MORE)
				px->t_head = 0;
			if (r == HTTP_NEED_MORE) {
				if (px->reqhead.len >= px->reqhead.cap)
					answer(px, 431, "request head too large");
				else if (!(p && len))
					return moved;
				continue;
			}
			px->t_req = now_ms();
			px->req_bytes = px->resp_bytes = 0;
			px->rdec_set = 0;
			if (r == HTTP_BAD) {
				snprintf(px->path_log, sizeof(px->path_log), "-");
				/* what this engine refuses, another may take:
				 * a request line it cannot read, a second Host,
				 * CONNECT, odd framing */
				security_event(px, "malformed HTTP request",
					       px->ex->req.error);
				audit_request(px, "deny", 400, px->ex->req.error);
				answer(px, 400, px->ex->req.error ? px->ex->req.error :
						"malformed request");
				continue;
			}
			if (px->up_error[0]) {
				http_path_for_log((const char *)px->reqhead.b +
						  px->ex->req.target,
						  px->ex->req.target_len,
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
			http_body_init(&px->ex->reqbody, px->ex->req.content_length,
				       px->ex->req.chunked, 0);
			buf_drop(&px->reqhead, px->ex->req.head_len);
			px->outstanding = 1;
			px->rs = RS_HEAD;
			px->rq = px->ex->req.content_length > 0 || px->ex->req.chunked ?
					 RQ_BODY : RQ_WAIT;
			moved = 1;
			break;
		}
		case RQ_BODY: {
			int done = 0;

			q = app_out(px, &px->u, &room);
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
			n = http_body_feed(&px->ex->reqbody, p, len, &done);
			if (px->ex->reqbody.error) {
				answer(px, 400, px->ex->reqbody.error);
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
			q = app_out(px, &px->u, &room);
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

/* Is the response body's content its bytes as sent (no Content-Encoding
 * but identity)? */
static int identity_body(const struct proxy *px)
{
	const struct http_resp *rs = &px->ex->resp;
	const uint8_t *b = px->resphead.b;
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

/* Upstream -> sandbox.  Return: 1 if anything moved. */
static int http_down(struct proxy *px)
{
	int moved = 0;

	for (;;) {
		size_t len, room, n;
		uint8_t *p, *q;

		if (px->pend_down.len) {
			moved |= pend_flush(px, &px->s, &px->pend_down);
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
				if (buf_take(px, &px->resphead) < 0)
					return moved;
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
					    HEAD_MAX, &px->ex->req, &px->ex->resp);
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
				answer(px, 502, px->ex->resp.error ? px->ex->resp.error :
						"bad response from upstream");
				audit_request(px, "allow", 502, px->ex->resp.error);
				continue;
			}
			if (buf_take(px, &px->pend_down) < 0)
				return moved;
			px->scrub_body = px->scr && identity_body(px);
			if (!px->scr) {
				buf_put(&px->pend_down, px->resphead.b,
					px->ex->resp.head_len);
			} else if (scrub_head(px, px->resphead.b,
					      px->ex->resp.head_len) < 0) {
				px->pend_down.len = 0;
				answer(px, 502, "response head too large after scrubbing");
				audit_request(px, "allow", 502, "response head too large after scrubbing");
				continue;
			}
			buf_drop(&px->resphead, px->ex->resp.head_len);
			moved = 1;
			if (px->ex->resp.informational)
				break;
			if (px->ex->resp.tunnel) {
				audit_request(px, "allow", 101, NULL);
				scrub_end(px);
				px->rs = RS_TUNNEL;
				px->rq = RQ_TUNNEL;
				break;
			}
			http_body_init(&px->ex->respbody, px->ex->resp.content_length,
				       px->ex->resp.chunked, px->ex->resp.until_close);
			if (http_resp_ends_with_head(&px->ex->resp)) {
				/* 1xx, 204, 304, HEAD, Content-Length: 0: the
				 * exchange ends with its head */
				exchange_done(px);
				break;
			}
			px->rs = RS_BODY;
			break;
		}
		case RS_BODY: {
			int done = 0;
			size_t hold;

			q = app_out(px, &px->s, &room);
			if (!q || !room)
				return moved;
			hold = px->scrub_body ? px->scr->nhold : 0;
			if (px->scrub_body && room <= hold)
				return moved;   /* the held bytes first */
			if (px->resphead.len) {
				p = px->resphead.b;
				len = px->resphead.len;
			} else {
				p = app_in(&px->u, &len);
				if (!p || !len) {
					if (px->ex->resp.until_close &&
					    (px->u.eof || side_closed(&px->u))) {
						if (hold)
							app_out_ack(&px->s, scrub_body(px, q, NULL, 0, 1, 1));
						exchange_done(px);
						px->closing = 1;
					}
					return moved;
				}
			}
			if (len > room - hold)
				len = room - hold;
			if (px->scrub_body) {
				int payload;

				if (len > SCRUB_STEP)
					len = SCRUB_STEP;
				n = http_body_next(&px->ex->respbody, p, len, &done,
						   &payload);
				if (!px->ex->respbody.error)
					app_out_ack(&px->s, scrub_body(px, q, p, n,
								       payload, done));
			} else {
				n = http_body_feed(&px->ex->respbody, p, len, &done);
				if (!px->ex->respbody.error) {
					memcpy(q, p, n);
					app_out_ack(&px->s, n);
				}
			}
			if (px->ex->respbody.error) {
				px->closing = 1;
				audit_request(px, "allow", px->ex->resp.status,
					      px->ex->respbody.error);
				return 1;
			}
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
			q = app_out(px, &px->s, &room);
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

/* Sandbox bytes queued by the core (flow_sb_read()) into the S side. */
static int from_sandbox(struct proxy *px)
{
	struct flow *f = px->f;
	int moved = 0;

	while (f->to_host) {
		size_t room, n;
		uint8_t *p = rec_in(px, &px->s, &room);

		if (!p || !room)
			break;
		n = flow_sb_read(f, p, room);
		if (!n)
			break;
		rec_in_ack(&px->s, n);
		moved = 1;
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
		size_t len, n = flow_sb_room(f);
		uint8_t *p = rec_out(&px->s, &len);
		ssize_t w;

		if (!p || !len || !n)
			break;
		w = flow_sb_write(f, p, len < n ? len : n);
		if (w <= 0)
			break;
		rec_out_ack(&px->s, (size_t)w);
		moved = 1;
	}
	if (moved)
		flow_sb_push(f);
	return moved;
}

static int from_upstream(struct proxy *px)
{
	struct flow *f = px->f;
	int moved = 0;

	while (!px->u.eof && f->fd >= 0) {
		size_t room;
		uint8_t *p = rec_in(px, &px->u, &room);
		ssize_t n;

		if (!p || !room)
			break;
		n = flow_up_read(f, p, room);
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
		n = flow_up_write(f, p, len);
		if (n <= 0)
			break;
		rec_out_ack(&px->u, (size_t)n);
		moved = 1;
	}
	return moved;
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

/* Handshakes that just finished: let go of the leaf, keep the session. */
static void handshakes_done(struct proxy *px)
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
		ups_store(px);
	}
}

/* Could the transport give the side more bytes now? */
static int rec_in_room(const struct side *sd)
{
	size_t len;

	if (sd->eng)
		return br_ssl_engine_recvrec_buf(sd->eng, &len) && len;
	return sd->rx.len < sd->rx.cap;
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
		side_release(px, &px->s);
		side_release(px, &px->u);
	}
	buf_release(&px->s.rx);
	buf_release(&px->s.tx);
	buf_release(&px->u.rx);
	buf_release(&px->u.tx);
	buf_release(&px->reqhead);
	buf_release(&px->resphead);
	buf_release(&px->pend_up);
	buf_release(&px->pend_down);
	if (!px->outstanding && px->rq == RQ_HEAD && px->rs == RS_IDLE &&
	    !px->reqhead.len)
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
	int moved, rounds = 0;
	uint32_t ev = 0;
	size_t len;

	if (side_attach(px, &px->s) < 0 || side_attach(px, &px->u) < 0) {
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
		moved |= http_up(px);
		moved |= http_down(px);
		moved |= to_sandbox(px);
		moved |= to_upstream(px);
		handshakes_done(px);
		if (px->u.eng && side_closed(&px->u) && !px->up_error[0]) {
			int e = br_ssl_engine_last_error(px->u.eng);
			const char *why = upstls_error(e);

			if (e)
				ups_forget(px);
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
	if (px->oom) {
		flow_close_later(f, ACT_ALLOW, "out of memory");
		return;
	}
	/* done: our answer is out, or the sandbox is gone, or upstream is
	 * done and nothing of it remains to deliver */
	if (px->closing && !px->pend_down.len) {
		if (px->s.eng && !px->close_sent) {
			br_ssl_engine_close(px->s.eng);
			px->close_sent = 1;
			to_sandbox(px);
		}
		if (!rec_out(&px->s, &len) || !len) {
			flow_close_later(f, ACT_ALLOW, px->deny_reason);
			return;
		}
	}
	if (side_closed(&px->s) || (px->s.eof && !px->outstanding)) {
		if (px->s.eng && !px->s.ready)
			tls_failure_event(px);
		flow_close_later(f, ACT_ALLOW, NULL);
		return;
	}
	if ((px->u.eof || side_closed(&px->u)) && !px->outstanding &&
	    !px->up_error[0] && px->rs != RS_TUNNEL && !px->pend_down.len) {
		flow_close_later(f, ACT_ALLOW, NULL);
		return;
	}
	if (!px->u.eof && rec_in_room(&px->u))
		ev |= EPOLLIN;
	if (rec_out(&px->u, &len) && len)
		ev |= EPOLLOUT;
	flow_want_events(f, ev);
	proxy_idle(px);
}

/*
 * The sandbox side's ECDHE curve: P-256 when the client offers it.
 * BearSSL 0.6 always takes X25519 when both sides have it; with libcrypto's
 * code (ecfast.c) an ECDHE over P-256 costs us 65 us against 145 for
 * X25519 (libcrypto's X25519 comes only through its EVP key objects). A
 * client that offers X25519 alone still gets it. This wraps the single-EC
 * policy: its choose() narrows the client's curves, which BearSSL reads
 * after choose() to pick the curve of ServerKeyExchange.
 */
static const br_ssl_server_policy_class **
inner_policy(const br_ssl_server_policy_class **pctx)
{
	struct proxy *px = (struct proxy *)(void *)((char *)pctx -
						    offsetof(struct proxy, policy));

	return &px->sc.chain_handler.single_ec.vtable;
}

static int prefer_p256_choose(const br_ssl_server_policy_class **pctx,
			      const br_ssl_server_context *cc,
			      br_ssl_server_choices *choices)
{
	const br_ssl_server_policy_class **in = inner_policy(pctx);
	int r = (*in)->choose(in, cc, choices);

	if (r && (cc->curves & (UINT32_C(1) << BR_EC_secp256r1)))
		/* the context is ours (not const); BearSSL passes it const */
		((br_ssl_server_context *)(uintptr_t)cc)->curves &=
			~(UINT32_C(1) << BR_EC_curve25519);
	return r;
}

static uint32_t prefer_p256_keyx(const br_ssl_server_policy_class **pctx,
				 unsigned char *data, size_t *len)
{
	const br_ssl_server_policy_class **in = inner_policy(pctx);

	return (*in)->do_keyx(in, data, len);
}

static size_t prefer_p256_sign(const br_ssl_server_policy_class **pctx,
			       unsigned algo_id, unsigned char *data,
			       size_t hv_len, size_t len)
{
	const br_ssl_server_policy_class **in = inner_policy(pctx);

	return (*in)->do_sign(in, algo_id, data, hv_len, len);
}

static const br_ssl_server_policy_class prefer_p256 = {
	sizeof(const br_ssl_server_policy_class *),
	prefer_p256_choose, prefer_p256_keyx, prefer_p256_sign,
};

/* Set up the TLS engines of a flow about to be intercepted. */
static int tls_setup(struct proxy *px)
{
	struct flow *f = px->f;
	struct gw *g = f->g;
	const struct pf_rule *r = f->dec.rule;
	const br_x509_certificate *chain;
	const br_ec_private_key *key;
	size_t n;

	if (!g->ca || !g->trust.n ||
	    ca_leaf_pin(g->ca, f->host, &chain, &n, &key, &px->leaf_pin) < 0 ||
	    n != 2)
		return -1;
	snprintf(px->vname, sizeof(px->vname), "%s",
		 r && r->tls_verify_name ? r->tls_verify_name : f->host);
	px->s.eng = &px->sc.eng;
	px->u.eng = &px->cc.eng;
	if (side_attach(px, &px->s) < 0 || side_attach(px, &px->u) < 0)
		return -1;

	/* sandbox side: the pinned leaf, the sandbox's sessions resumable */
	br_ssl_server_zero(&px->sc);
	tls_engine_common(&px->sc.eng, server_suites,
			  sizeof(server_suites) / sizeof(server_suites[0]), 1);
	br_ssl_server_set_single_ec(&px->sc, chain, n, key, BR_KEYTYPE_SIGN,
				    BR_KEYTYPE_EC, ecfast_impl(),
				    ecfast_sign_asn1);
	if (ecfast_active()) {
		px->policy = &prefer_p256;
		px->sc.policy_vtable = &px->policy;
	}
	tlsbuf_init(&px->sc.eng, &px->s.tb, px->s.tb.io);
	br_ssl_engine_set_protocol_names(&px->sc.eng, alpn, 1);
	br_ssl_server_set_cache(&px->sc, &px->sh->srv_cache.vtable);
	if (!br_ssl_server_reset(&px->sc))
		return -1;

	/* upstream side: verified against the trust store, or resumed */
	upstls_client_init(&px->cc, &px->xc, g->trust.ta, g->trust.n);
	tlsbuf_init(&px->cc.eng, &px->u.tb, px->u.tb.io);
	br_ssl_engine_set_protocol_names(&px->cc.eng, alpn, 1);
	ups_offer(px);
	if (!br_ssl_client_reset(&px->cc, px->vname, px->ups_offered))
		return -1;
	return 0;
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

	if (!px || px->closing || f->close_pending)
		return 0;
	proxy_timeouts(f, ms);
	due = now + ms[1];
	if (px->s.eng && !px->s.ready)
		d = px->t_open + ms[0];
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
	} else if (px->rq == RQ_HEAD && px->t_head && !px->outstanding) {
		if (now - px->t_head > head_ms) {
			why = "request head timed out";
			kind = 1;
		}
	} else if (px->rq == RQ_HEAD && px->rs == RS_IDLE && !px->outstanding &&
		   !px->reqhead.len && !px->pend_down.len &&
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
	if (kind == 1) {
		snprintf(px->path_log, sizeof(px->path_log), "-");
		px->rdec_set = 0;
		answer(px, 408, why);
		audit_request(px, "deny", 408, why);
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
	buf_setup(&px->reqhead, HEAD_MAX);
	buf_setup(&px->resphead, HEAD_MAX);
	buf_setup(&px->pend_up, PEND_MAX);
	buf_setup(&px->pend_down, PEND_MAX);
	buf_setup(&px->s.rx, PLAIN_BUF);
	buf_setup(&px->s.tx, PLAIN_BUF);
	buf_setup(&px->u.rx, PLAIN_BUF);
	buf_setup(&px->u.tx, PLAIN_BUF);
	px->sh = pxshared_get(f->g);
	if (!px->sh || (tls && tls_setup(px) < 0))
		goto fail;
	px->rq = RQ_HEAD;
	px->rs = RS_IDLE;
	px->t_open = px->t_active = now_ms();
	f->h = px;
	proxy_pump(f);
	return 0;
fail:
	proxy_free(px);
	return -1;
}

/* Wipe and give back a side's buffers. */
static void side_free(struct proxy *px, struct side *sd)
{
	if (sd->eng && sd->tb.io)
		slab_put(px->sh, tlsbuf_detach(sd->eng, &sd->tb));
	buf_free(&sd->rx);
	buf_free(&sd->tx);
}

static void proxy_free(struct proxy *px)
{
	if (!px)
		return;
	buf_free(&px->reqhead);
	buf_free(&px->resphead);
	buf_free(&px->pend_up);
	buf_free(&px->pend_down);
	side_free(px, &px->s);
	side_free(px, &px->u);
	ex_free(px);
	scrub_end(px);
	policyset_unref(px->rps);
	if (px->leaf_pin >= 0 && px->f)
		ca_leaf_unpin(px->f->g->ca, px->leaf_pin);
	explicit_bzero(px, sizeof(*px));
	free(px);
}

static void proxy_free_flow(struct flow *f)
{
	proxy_free(f->h);
	f->h = NULL;
}

static void proxy_event(struct flow *f, uint32_t events)
{
	(void)events;
	proxy_pump(f);
}

const struct flow_ops http_ops = {
	.name = "http",
	.start = proxy_start,
	.sandbox_readable = proxy_pump,
	.sandbox_writable = proxy_pump,
	.upstream_event = proxy_event,
	.due = proxy_due,
	.tick = proxy_tick,
	.free = proxy_free_flow,
};
