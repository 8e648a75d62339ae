/* SPDX-License-Identifier: MIT */
/*
 * h2_int.h - HTTP/2 interception's insides, shared by h2proxy.c (the two
 * nghttp2 sessions, their callbacks, the limits) and h2req.c (each
 * stream's decision, answers, scrubbing, audit); not an API.
 * h2proxy.c calls h2req.c, never the other way round.
 */
#ifndef ISLO_H2_INT_H
#define ISLO_H2_INT_H

#include "proxy_int.h"

#include <nghttp2/nghttp2.h>

#include "ratelimit.h"

#define H2_MAX_STREAMS  100     /* SETTINGS_MAX_CONCURRENT_STREAMS */
#define H2_WINDOW       65535   /* per stream and per connection, each way */
#define H2_BUF_MAX      ((size_t)H2_WINDOW + SCRUB_HOLD + SCRUB_STEP)
#define H2_HEAD_MAX     HEAD_MAX /* a header block, decoded */
#define H2_CONT_MAX     8       /* CONTINUATION frames after a HEADERS */
#define H2_RST_BURST    100     /* RST_STREAM from the sandbox: burst, */
#define H2_RST_RATE     10      /* ... then so many a second */
#define H2_CTL_PER_SEC  1000    /* SETTINGS, PING, PRIORITY, WINDOW_UPDATE,
				 * RST_STREAM, empty DATA a second */

/**
 * struct h2buf - bytes of one stream, one way: grows as needed up to
 * H2_BUF_MAX (flow control keeps a peer below it), freed wiped when empty
 */
struct h2buf {
	uint8_t *b;
	size_t off, len, cap;
};

/**
 * struct h2stream - one request (a sandbox stream) and its upstream stream
 * @next:      In the connection's list
 * @sid:       The sandbox's stream id
 * @uid:       Upstream's, 0 before the request is sent, -1 once it closed
 * @up_end:    The sandbox ended its request (END_STREAM)
 * @down_end:  The response is complete toward the sandbox (body ends)
 * @answered:  Response headers are submitted to the sandbox
 * @refused:   Answered by the gateway: the request's body is dropped
 * @audited:   Its http_request event is written
 * @decided:   Its head was decided (allowed or refused)
 * @status:    The status answered
 * @bad:       Why its head is refused before the decision, or NULL
 * @method, @scheme, @authority: Its pseudo-headers
 * @path:      Its :path
 * @hdr:       Request: "name: value\r\n" lines; response: "name\0value\0"
 * @trl:       Response trailers, "name\0value\0"
 * @ntrl:      Their count
 * @up, @down: Body bytes toward upstream, toward the sandbox
 * @unconsumed: Bytes received from upstream not yet given back as window
 * The rest is struct proxy's per-request state, kept per stream.
 */
struct h2stream {
	struct h2stream *next;
	int32_t sid, uid;
	int up_end, down_end, answered, refused, audited, decided, status;
	int trailers_in;
	const char *bad;
	char method[HTTP_METHOD_MAX + 1];
	char scheme[8];
	char authority[HTTP_HOST_MAX + 8];
	struct h2buf path, hdr, trl;
	unsigned ntrl;
	struct h2buf up, down;
	size_t unconsumed;

	char path_log[512];
	char creds[128];
	char requested_host[HTTP_HOST_MAX];
	struct pf_decision rdec;
	int rdec_set;
	struct scrub *scr;
	int scrub_body;
	const char *reason;
	uint64_t t_req, req_bytes, resp_bytes;
};

/**
 * struct h2conn - an intercepted connection speaking HTTP/2 both ways
 * @px:        Its proxy
 * @ss:        Toward the sandbox: we are its server
 * @us:        Toward upstream: we are its client
 * @sout, @sout_n: What nghttp2_session_mem_send(ss) gave, not yet taken by
 *             the sandbox side (valid until the next call)
 * @uout, @uout_n: The same toward upstream
 * @streams:   Open streams
 * @nstreams:  How many
 * @ctl:       Control frames from the sandbox this second
 * @cont:      CONTINUATION frames of the header block being read
 * @dead:      Why the sandbox's session ended (nghttp2 refused to go on),
 *             or NULL
 * @calm:      A flood ended it: GOAWAY(ENHANCE_YOUR_CALM) is said
 * @goaway:    Our own GOAWAY frame, when nghttp2 cannot send one
 * @goaway_n:  Its bytes left to send
 * @up_gone:   Upstream's session is over: every stream answered
 * @goaway_said: Our graceful GOAWAY is submitted (h2_goaway())
 * @t_down:    Last time a byte of a response body reached the sandbox,
 *             or a response began (the stalled-window timeout)
 */
struct h2conn {
	struct proxy *px;
	nghttp2_session *ss, *us;
	const uint8_t *sout, *uout;
	size_t sout_n, uout_n;
	struct h2stream *streams;
	unsigned nstreams;
	struct ratelimit ctl;
	unsigned cont;
	const char *dead;
	int calm;
	uint8_t goaway[17];
	size_t goaway_n, goaway_off;
	int up_gone, goaway_said;
	uint64_t t_down;
};

/* --- streams, decisions, answers (h2req.c) --- */
int h2buf_put(struct h2buf *b, const void *p, size_t n);
void h2buf_free(struct h2buf *b);
struct h2stream *h2_stream_new(struct h2conn *h, int32_t sid);
void h2_stream_free(struct h2conn *h, struct h2stream *st);
int h2_req_header(struct h2stream *st, const uint8_t *name, size_t nlen,
		  const uint8_t *value, size_t vlen);
void h2_request(struct h2conn *h, struct h2stream *st);
void h2_goaway(struct h2conn *h);
void h2_answer(struct h2conn *h, struct h2stream *st, int status,
	       const char *reason);
int h2_resp_header(struct h2stream *st, const uint8_t *name, size_t nlen,
		   const uint8_t *value, size_t vlen);
int h2_resp_head_done(struct h2conn *h, struct h2stream *st, int end);
void h2_resp_data(struct h2conn *h, struct h2stream *st, const uint8_t *p,
		  size_t n);
void h2_resp_end(struct h2conn *h, struct h2stream *st);
void h2_audit(struct h2conn *h, struct h2stream *st, int act, int status,
	      const char *reason);
void h2_sec_event(struct h2conn *h, const char *reason, const char *detail);

#endif /* ISLO_H2_INT_H */
