/* SPDX-License-Identifier: MIT */
/*
 * proxy_int.h - the HTTP interception handler's insides, shared by its
 * files (not an API):
 *   proxy.c     the engine between the two sides, the pump, flow_ops
 *   h2proxy.c   HTTP/2 both ways: the two nghttp2 sessions (h2_int.h)
 *   h2req.c     ... each stream's decision, answer and response
 *   pxreq.c     each request's decision and credential
 *   pxauth.c    credentials beyond one header: query, path, aws_sigv4
 *   pxscrub.c   the scrubbing of secrets from responses
 *   pxanswer.c  answers of our own and audit events
 *   pxtls.c     the sides: record buffers, TLS engines, session caches
 *   pxpool.c    idle upstream connections parked for reuse (pxpool.h)
 * Each file calls only those below it in this list.
 */
#ifndef ISLO_PROXY_INT_H
#define ISLO_PROXY_INT_H

#include "gw.h"

#include <bearssl.h>

#include "bytequeue.h"
#include "http1.h"
#include "policy.h"
#include "pxpool.h"
#include "sigv4.h"
#include "tlsbuf.h"

#define HEAD_MAX   16384
#define PEND_MAX   (HEAD_MAX + 8192)
#define PLAIN_BUF  32768

/* HTTP/2 is offered to upstream and answered to the sandbox (h2*.c) */
#ifndef PX_SPEAKS_H2
#define PX_SPEAKS_H2 1
#endif

#define SLAB_KEEP  16                   /* free record buffers kept */

#define SRV_CACHE_BYTES ((size_t)64 * 1024)     /* sandbox-side sessions, ~650 */
#define UPS_MAX    256                  /* upstream sessions kept */
#define UPS_TTL_MS (30ULL * 60 * 1000)  /* never offered when older */

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
	struct bytequeue rx, tx;
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
 * @pool:       Idle upstream connections parked for reuse (pxpool.c)
 */
struct pxshared {
	uint8_t *slab[SLAB_KEEP];
	size_t nslab;
	br_ssl_session_cache_lru srv_cache;
	uint8_t *srv_store;
	struct upsess *ups;
	unsigned long ups_full, ups_resumed;
	struct pxpool pool;
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
 * @pat:         The secret; basic's injected value (base64); aws_sigv4's
 *               access key id, session token and signature; each one
 *               percent-encoded, when that differs (a reflection in a URL)
 * @pat_len:     Their lengths
 * @to:          What replaces each (its placeholder)
 * @npat:        How many
 * @nenc:        Encoded forms stored in @enc
 * @reported:    The security_event is written
 * @basic:       Storage of basic's injected value
 * @sig:         Storage of aws_sigv4's signature
 * @enc:         Storage of the percent-encoded forms
 * @hold:        Body bytes held back: they may begin a pattern
 * @hpay:        For each, 1 if payload, 0 if chunked framing
 * @nhold:       How many
 * @pay:         Scratch: the payload bytes of hold and the new bytes
 */
#define SCRUB_PATS 8
#define SCRUB_ENC  4

struct scrub {
	const uint8_t *pat[SCRUB_PATS];
	size_t pat_len[SCRUB_PATS];
	const char *to[SCRUB_PATS];
	int npat, nenc;
	int reported;
	char basic[4200];
	char sig[72];
	char enc[SCRUB_ENC][SCRUB_HOLD / 2];
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
	struct pxupc *uc;               /* upstream TLS client (pxpool.h) */
	int reused;                     /* uc and f->fd were parked: taken
					 * at the SYN, no upstream handshake */
	uint8_t *retry;                 /* the first request's rewritten
					 * head on a reused connection, kept
					 * to send again on a fresh one if
					 * that fails unanswered (idempotent,
					 * no body); wiped when dropped */
	size_t retry_len;
	int answered;                   /* a response head came upstream */
	int up_clean;                   /* upstream may carry another exchange:
					 * the last one sent ended keep-alive
					 * (px_park()) */
	int close_stripped;             /* the request's Connection: close
					 * was not sent upstream (hop-by-hop:
					 * the sandbox's connection closes,
					 * upstream's may be reused) */
	int leaf_pin;                   /* ca_leaf_pin() slot, -1 if none */
	char vname[256];                /* upstream name verified */
	int alpn_wait;                  /* the sandbox's hello waits for
					 * upstream's ALPN (px_alpn_settle()) */
	int h2;                         /* both sides chose HTTP/2 */
	struct h2conn *h2c;             /* its engine (h2proxy.c) */
	int ups_offered;                /* a session was offered upstream */
	uint8_t ups_id[32];             /* ... with this id */
	size_t ups_id_len;

	enum rq_state rq;
	enum rs_state rs;
	struct bytequeue reqhead, resphead, pend_up, pend_down;
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

	/* the current request's decision (see px_request_decide()) */
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

/* --- HTTP/2 (h2proxy.c, h2req.c: h2_int.h) --- */
struct h2conn;
int h2_drive(struct proxy *px);
void h2_free(struct proxy *px);
uint64_t h2_deadline(const struct proxy *px, uint64_t head_ms,
		     uint64_t idle_ms, const char **why);

/* --- the sides (pxtls.c) --- */
struct pxshared *pxshared_get(struct gw *g);
void px_ups_store(struct proxy *px);
void px_ups_forget(struct proxy *px);
int px_buf_take(struct proxy *px, struct bytequeue *b);
int px_side_attach(struct proxy *px, struct side *sd);
void px_side_release(struct proxy *px, struct side *sd);
uint8_t *px_rec_in(struct proxy *px, struct side *sd, size_t *len);
void px_rec_in_ack(struct side *sd, size_t n);
uint8_t *px_rec_out(struct side *sd, size_t *len);
void px_rec_out_ack(struct side *sd, size_t n);
uint8_t *px_app_in(struct side *sd, size_t *len);
void px_app_in_ack(struct side *sd, size_t n);
uint8_t *px_app_out(struct proxy *px, struct side *sd, size_t *len);
void px_app_out_ack(struct side *sd, size_t n);
int px_side_closed(const struct side *sd);
int px_pend_flush(struct proxy *px, struct side *sd, struct bytequeue *b);
int px_rec_in_room(const struct side *sd);
int px_tls_setup(struct proxy *px);
void px_side_free(struct proxy *px, struct side *sd);
void px_alpn_settle(struct proxy *px);
int px_up_setup(struct proxy *px);
void px_park(struct proxy *px);
int px_retry(struct proxy *px);
int px_reconnect(struct proxy *px);
void px_retry_drop(struct proxy *px);

/* --- answers of our own (pxanswer.c) --- */
void px_answer(struct proxy *px, int status, const char *reason);
void px_audit_request(struct proxy *px, int act, int status,
			  const char *reason);
void px_security_event_as(struct proxy *px, int act,
			      const char *reason, const char *detail);
void px_security_event(struct proxy *px, const char *reason,
			   const char *detail);

/* --- scrubbing (pxscrub.c) --- */
int scrub_setup(struct proxy *px, const struct pf_auth *a,
		       const struct secret *s, const char *value);
void scrub_add(struct proxy *px, const uint8_t *p, size_t n, const char *to);
void scrub_end(struct proxy *px);
size_t scrub_body(struct proxy *px, uint8_t *q, const uint8_t *p,
			 size_t n, int payload, int end);
int scrub_head(struct proxy *px, const uint8_t *h, size_t n);

/* --- credentials beyond one header (pxauth.c) --- */
#define CRED_BODY_MAX ((size_t)256 * 1024) /* a body the gateway signs */

/**
 * struct px_cred - what a query, path or aws_sigv4 credential changes in
 * the request head (px_cred_build()); wiped by px_cred_end()
 * @target:     The request-target to send instead (malloc'd), or NULL
 * @target_len: Its length
 * @target_cap: Its allocation
 * @add:        Headers to add
 * @nadd:       How many
 * @drop:       Headers to drop
 * @ndrop:      How many
 * @auth:       aws_sigv4: the Authorization value
 * @date:       aws_sigv4: X-Amz-Date
 * @payload:    aws_sigv4: the payload hash (X-Amz-Content-Sha256)
 * @region:     aws_sigv4: the scope's region
 * @service:    aws_sigv4: the scope's service
 * @token:      aws_sigv4: the session token (malloc'd), or NULL
 * @token_len:  Its length
 */
struct px_cred {
	char *target;
	size_t target_len, target_cap;
	struct http_field add[4];
	size_t nadd;
	const char *drop[4];
	size_t ndrop;
	char auth[SIGV4_AUTH_MAX];
	char date[SIGV4_DATE];
	char payload[64 + 40];
	char region[SIGV4_NAME_MAX], service[SIGV4_NAME_MAX];
	char *token;
	size_t token_len;
};

size_t px_reqhead_cap(const struct flow *f);
int px_sigv4_needs_body(const struct proxy *px, const struct pf_rule *r);
int px_cred_build(struct proxy *px, const struct secrets *ss,
		  const struct pf_rule *r, struct px_cred *c);
void px_cred_scrub(struct proxy *px, const struct secrets *ss,
		   const struct pf_rule *r, const struct px_cred *c);
void px_cred_end(struct px_cred *c);

/* --- request decisions (pxreq.c) --- */
int px_request_decide(struct proxy *px);
int px_body_wait(struct proxy *px);

#endif /* ISLO_PROXY_INT_H */
