// SPDX-License-Identifier: MIT
/*
 * pxtls.c - the sides of an intercepted flow: record buffers taken from a
 * per-sandbox slab when needed and given back wiped, the TLS engines
 * toward the sandbox (our leaf) and upstream (verified, resumed when a
 * session is kept), and the per-sandbox state they share.
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
#include "peek.h"
#include "profile.h"
#include "secret.h"
#include "upstls.h"

/*
 * ALPN, both ways.  Upstream is offered HTTP/2 when the sandbox offered it
 * and the gateway speaks it (PX_SPEAKS_H2), and HTTP/1.1 always (the
 * engine speaks it to any upstream).  The sandbox is answered with what
 * upstream chose: its hello is held (px->alpn_wait) until the upstream
 * handshake is done, since BearSSL's server picks its protocol as it
 * reads the ClientHello.  Only when the sandbox could be offered h2 is
 * its handshake held: an HTTP/1.1 client's runs alongside upstream's, as
 * before.  Anything but h2 chosen upstream (http/1.1, no ALPN, a failed
 * handshake) answers the sandbox http/1.1, or no ALPN if it did not
 * offer it.
 */
static const char *alpn_h1[] = { "http/1.1" }; /* BearSSL wants non-const */
static const char *alpn_h2[] = { "h2" };
static const char *alpn_both[] = { "h2", "http/1.1" };

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

struct pxshared *pxshared_get(struct gw *g)
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
	pxpool_free(&sh->pool);
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

/* Offer the session kept for this upstream, if any: px->uc gets it. */
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
	br_ssl_engine_set_session_parameters(&px->uc->cc.eng, &e->sp);
	memcpy(px->ups_id, e->sp.session_id, e->sp.session_id_len);
	px->ups_id_len = e->sp.session_id_len;
	px->ups_offered = 1;
}

/* The upstream handshake is done: keep its session for the next flow. */
void px_ups_store(struct proxy *px)
{
	struct pxshared *sh = px->sh;
	struct flow *f = px->f;
	br_ssl_session_parameters sp;
	struct upsess *e, *victim = NULL;
	uint64_t now = now_ms();
	size_t i;
	int resumed;

	br_ssl_engine_get_session_parameters(&px->uc->cc.eng, &sp);
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
void px_ups_forget(struct proxy *px)
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

/* Take @b's storage if not yet (bytequeue.h).  Return: 0, or -1 (px->oom
 * set) */
int px_buf_take(struct proxy *px, struct bytequeue *b)
{
	if (bq_take(b) < 0) {
		px->oom = 1;
		return -1;
	}
	return 0;
}

/**
 * px_side_attach() - Give a TLS engine record buffers (back)
 * @px: Proxy
 * @sd: Side
 * Return: 0, or -1 if out of memory (px->oom set)
 */
int px_side_attach(struct proxy *px, struct side *sd)
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
void px_side_release(struct proxy *px, struct side *sd)
{
	if (!sd->eng || !sd->ready || sd->eof || !tlsbuf_idle(sd->eng, &sd->tb))
		return;
	slab_put(px->sh, tlsbuf_detach(sd->eng, &sd->tb));
}

/* Room at the end of @b (its storage taken if not yet), or NULL. */
static uint8_t *buf_space(struct proxy *px, struct bytequeue *b, size_t *len)
{
	uint8_t *p;

	*len = 0;
	if (px_buf_take(px, b) < 0)
		return NULL;
	p = bq_tail(b, len);
	return *len ? p : NULL;
}

/* What @b holds, or NULL. */
static uint8_t *buf_data(struct bytequeue *b, size_t *len)
{
	*len = bq_len(b);
	return *len ? bq_data(b) : NULL;
}

/* Transport bytes may be written here (received records). */
uint8_t *px_rec_in(struct proxy *px, struct side *sd, size_t *len)
{
	if (sd->eng)
		return br_ssl_engine_recvrec_buf(sd->eng, len);
	return buf_space(px, &sd->rx, len);
}

/* @n bytes were written where px_rec_in() (@app_out 0) or px_app_out()
 * (1) pointed: into the engine, or the plain side's buffer. */
static void side_wrote(struct side *sd, int app_out, size_t n)
{
	struct bytequeue *b = app_out ? &sd->tx : &sd->rx;
	size_t len;

	if (!sd->eng) {
		bq_wrote(b, n);
	} else if (app_out) {
		tlsbuf_wrote_out(&sd->tb, br_ssl_engine_sendapp_buf(sd->eng, &len), n);
		br_ssl_engine_sendapp_ack(sd->eng, n);
		br_ssl_engine_flush(sd->eng, 0);
	} else {
		tlsbuf_wrote_in(&sd->tb, br_ssl_engine_recvrec_buf(sd->eng, &len), n);
		br_ssl_engine_recvrec_ack(sd->eng, n);
	}
}

void px_rec_in_ack(struct side *sd, size_t n)
{
	side_wrote(sd, 0, n);
}

/* Transport bytes to send. */
uint8_t *px_rec_out(struct side *sd, size_t *len)
{
	uint8_t *p;

	if (sd->eng) {
		p = br_ssl_engine_sendrec_buf(sd->eng, len);
		tlsbuf_wrote_out(&sd->tb, p, *len);
		return p;
	}
	return buf_data(&sd->tx, len);
}

/* @n bytes were taken where px_rec_out() (@rec_out 1) or px_app_in() (0)
 * pointed. */
static void side_took(struct side *sd, int rec_out, size_t n)
{
	if (!sd->eng)
		bq_consume(rec_out ? &sd->tx : &sd->rx, n);
	else if (rec_out)
		br_ssl_engine_sendrec_ack(sd->eng, n);
	else
		br_ssl_engine_recvapp_ack(sd->eng, n);
}

void px_rec_out_ack(struct side *sd, size_t n)
{
	side_took(sd, 1, n);
}

/* Application bytes received. */
uint8_t *px_app_in(struct side *sd, size_t *len)
{
	if (sd->eng)
		return br_ssl_engine_recvapp_buf(sd->eng, len);
	return buf_data(&sd->rx, len);
}

void px_app_in_ack(struct side *sd, size_t n)
{
	side_took(sd, 0, n);
}

/* Room for application bytes to send. */
uint8_t *px_app_out(struct proxy *px, struct side *sd, size_t *len)
{
	if (sd->eng)
		return br_ssl_engine_sendapp_buf(sd->eng, len);
	return buf_space(px, &sd->tx, len);
}

void px_app_out_ack(struct side *sd, size_t n)
{
	side_wrote(sd, 1, n);
}

int px_side_closed(const struct side *sd)
{
	return sd->eng && br_ssl_engine_current_state(sd->eng) == BR_SSL_CLOSED;
}

/* Move as much of @b as @sd takes as application data. */
int px_pend_flush(struct proxy *px, struct side *sd, struct bytequeue *b)
{
	int moved = 0;

	while (bq_len(b)) {
		size_t room, n;
		uint8_t *p = px_app_out(px, sd, &room);

		if (!p || !room)
			break;
		n = bq_len(b) < room ? bq_len(b) : room;
		memcpy(p, bq_data(b), n);
		px_app_out_ack(sd, n);
		bq_consume(b, n);
		moved = 1;
	}
	return moved;
}

/* Could the transport give the side more bytes now? */
int px_rec_in_room(const struct side *sd)
{
	size_t len;

	if (sd->eng)
		return br_ssl_engine_recvrec_buf(sd->eng, &len) && len;
	return bq_room(&sd->rx) > 0;
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

/**
 * px_up_setup() - The upstream TLS client of a flow: the one it took
 * parked at its SYN (handshake done), or a new one (verified against the
 * trust store, its session resumed if one is kept)
 * @px: Proxy, px->vname set
 * Return: 0, or -1
 */
int px_up_setup(struct proxy *px)
{
	struct gw *g = px->f->g;
	struct pxupc *uc = pxpool_adopt(px->f);

	if (uc) {
		px->uc = uc;
		px->u.eng = &uc->cc.eng;
		memset(&px->u.tb, 0, sizeof(px->u.tb));
		px->u.ready = 1;
		px->reused = 1;
		return 0;
	}
	px->uc = malloc(sizeof(*px->uc));
	if (!px->uc)
		return -1;
	px->u.eng = &px->uc->cc.eng;
	if (px_side_attach(px, &px->u) < 0) {
		pxupc_free(px->uc);
		px->uc = NULL;
		px->u.eng = NULL;
		return -1;
	}
	upstls_client_init(&px->uc->cc, &px->uc->xc, g->trust.ta, g->trust.n);
	tlsbuf_init(&px->uc->cc.eng, &px->u.tb, px->u.tb.io);
	if (px->alpn_wait)
		br_ssl_engine_set_protocol_names(&px->uc->cc.eng, alpn_both, 2);
	else
		br_ssl_engine_set_protocol_names(&px->uc->cc.eng, alpn_h1, 1);
	ups_offer(px);
	if (!br_ssl_client_reset(&px->uc->cc, px->vname, px->ups_offered))
		return -1;
	return 0;
}

/* Set up the TLS engines of a flow about to be intercepted. */
int px_tls_setup(struct proxy *px)
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
	if (px_side_attach(px, &px->s) < 0)
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
	px->alpn_wait = PX_SPEAKS_H2 && (f->alpn & PEEK_ALPN_H2);
	if (!px->alpn_wait)
		br_ssl_engine_set_protocol_names(&px->sc.eng, alpn_h1, 1);
	br_ssl_server_set_cache(&px->sc, &px->sh->srv_cache.vtable);
	if (!br_ssl_server_reset(&px->sc))
		return -1;
	return px_up_setup(px);
}

/**
 * px_alpn_settle() - Answer the sandbox's ALPN with upstream's choice
 * @px: Proxy whose sandbox handshake is held (px->alpn_wait)
 *
 * Called once the upstream handshake is done, or failed, or upstream is
 * gone; the sandbox's hello is read from then on.  When upstream chose
 * h2, the connection is HTTP/2's (px->h2) from now on: the HTTP/1.1
 * engine must not read upstream's SETTINGS.  So it is when the sandbox
 * offered only h2: its requests are then answered 502 (px->up_error).
 */
void px_alpn_settle(struct proxy *px)
{
	const char *up = px->u.ready ?
		br_ssl_engine_get_selected_protocol(&px->uc->cc.eng) : NULL;
	int up_h2 = up && !strcmp(up, "h2");
	int sb_h2_only = !(px->f->alpn & PEEK_ALPN_HTTP11);

	/*
	 * The sandbox offered h2: it is what BearSSL's server picks.  A
	 * client that offered only h2 (gRPC's) gets it even when upstream
	 * did not choose it, so that each of its requests is answered 502
	 * with the reason rather than a handshake it cannot make sense of.
	 */
	px->h2 = up_h2 || sb_h2_only;
	if (sb_h2_only && !up_h2 && px->u.ready && !px->up_error[0])
		snprintf(px->up_error, sizeof(px->up_error), "%s",
			 "upstream speaks only HTTP/1.1 and the client offered only HTTP/2");
	br_ssl_engine_set_protocol_names(&px->sc.eng, px->h2 ? alpn_h2 : alpn_h1,
					 1);
	px->alpn_wait = 0;
}

/*
 * The sandbox closed an intercepted HTTP/1.1 flow: park its upstream
 * connection if it is idle and clean (pxpool.c), so the next flow to the
 * same place skips the connect and the handshake.  Clean: the upstream
 * handshake done, no TLS error, not HTTP/2, no exchange in progress and
 * nothing held (the last response whole and keep-alive), no tunnel, and
 * the engine holds no byte (its buffers given back).
 */
void px_park(struct proxy *px)
{
	/* it can send, and nothing it received waits unread */
	const unsigned app = BR_SSL_SENDAPP | BR_SSL_RECVAPP;
	struct flow *f = px->f;
	size_t len;

	if (!px->tls || !px->uc || !px->u.ready || px->h2 || px->up_error[0] ||
	    !px->up_clean || px->outstanding || px->rs != RS_IDLE ||
	    px->rq != RQ_HEAD || px->u.eof || px_side_closed(&px->u) ||
	    bq_len(&px->reqhead) || bq_len(&px->pend_up) ||
	    bq_len(&px->resphead) || (px_app_in(&px->u, &len) && len) ||
	    (br_ssl_engine_current_state(px->u.eng) & app) != BR_SSL_SENDAPP)
		return;
	px_side_release(px, &px->u);
	if (px->u.tb.io || !pxpool_park(&px->sh->pool, f, px->uc))
		return;
	px->uc = NULL;          /* the pool's now, and f->fd with it */
	px->u.eng = NULL;
	px->u.ready = 0;
}

/* Wipe and give back a side's buffers. */
void px_side_free(struct proxy *px, struct side *sd)
{
	if (sd->eng && sd->tb.io)
		slab_put(px->sh, tlsbuf_detach(sd->eng, &sd->tb));
	bq_free(&sd->rx);
	bq_free(&sd->tx);
	if (sd == &px->u) {
		pxupc_free(px->uc);
		px->uc = NULL;
		sd->eng = NULL;
	}
}

void px_retry_drop(struct proxy *px)
{
	if (!px->retry)
		return;
	explicit_bzero(px->retry, px->retry_len);  /* it has the credential */
	free(px->retry);
	px->retry = NULL;
	px->retry_len = 0;
}

/**
 * px_reconnect() - Replace a reused upstream connection that upstream
 * closed before answering anything on it with a fresh one
 * @px: Proxy whose upstream was parked (px->reused)
 *
 * A parked connection may be closed by the server just as it is reused
 * (its idle timeout).  The same address and port (the rule's, decided for
 * this flow), a new TLS client: verified, or its session resumed.
 * Return: 0, or -1 (nothing changed, or, out of memory, the flow is
 *         closing: px->oom)
 */
int px_reconnect(struct proxy *px)
{
	struct flow *f = px->f;
	int fd = pxpool_connect(&f->up_addr, f->up_port);

	px->reused = 0;         /* once */
	if (fd < 0)
		return -1;
	flow_want_events(f, 0);
	close(f->fd);
	f->fd = fd;
	if (px->u.tb.io)
		slab_put(px->sh, tlsbuf_detach(px->u.eng, &px->u.tb));
	pxupc_free(px->uc);
	px->uc = NULL;
	px->u.eng = NULL;
	px->u.ready = px->u.eof = 0;
	px->reused = 0;
	px->up_error[0] = '\0';
	px->ups_offered = 0;
	px->sh->pool.retried++;
	if (px_up_setup(px) < 0) {
		/* no engine upstream: nothing may move, the flow closes */
		px->oom = px->closing = 1;
		return -1;
	}
	debug("a reused upstream connection was closed: a fresh one made");
	return 0;
}

/**
 * px_retry() - The reused upstream connection failed before answering
 * the first request sent on it: send that request again on a fresh one
 * @px: Proxy (px->retry kept only for an idempotent request without a
 *      body, as browsers and proxies retry)
 * Return: 1 if sent again (or the flow is closing), 0 if not (the caller
 *         answers 502)
 */
int px_retry(struct proxy *px)
{
	if (!px->retry || bq_len(&px->resphead) || px->resp_bytes)
		return 0;
	if (px_reconnect(px) < 0 || px_buf_take(px, &px->pend_up) < 0) {
		px_retry_drop(px);
		return px->oom;
	}
	bq_clear(&px->pend_up);
	bq_put(&px->pend_up, px->retry, px->retry_len);
	px_retry_drop(px);
	return 1;
}

/* The HTTP handler's part of a parked connection taken at a SYN. */
int proxy_upstream_reuse(struct flow *f)
{
	struct pxshared *sh = f->g->pxs;

	return sh && pxpool_take(&sh->pool, f);
}

/* The sandbox's housekeeping: parked connections expire. */
void proxy_shared_tick(struct gw *g, uint64_t now)
{
	if (g->pxs && g->pxs->pool.head) {
		pxpool_sweep(&g->pxs->pool, g->ps, now);
		pxpool_trim(&g->pxs->pool, g, 0);
	}
}

/* A new flow is coming: parked connections give way at the limit. */
void proxy_shared_room(struct gw *g)
{
	if (g->pxs && g->pxs->pool.head)
		pxpool_trim(&g->pxs->pool, g, 1);
}
