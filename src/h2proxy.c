// SPDX-License-Identifier: MIT
/*
 * h2proxy.c - intercepted connections that speak HTTP/2 on both sides:
 * an nghttp2 server session toward the sandbox, a client session toward
 * upstream, one upstream stream per sandbox stream.
 *
 * DOC: Theory of operation
 *
 * When ALPN chose h2 upstream, the sandbox is answered h2 too (pxtls.c)
 * and proxy_pump() drives this engine instead of the HTTP/1.1 one.  The
 * two sessions are sans-I/O: h2_drive() feeds each the application bytes
 * its TLS side decrypted (nghttp2_session_mem_recv()) and moves what each
 * wants to send into its TLS side (nghttp2_session_mem_send()), as far as
 * the side takes them.  Each request is decided when its header block is
 * whole (h2req.c); a refusal is answered on its stream only.
 *
 * Memory stays bounded per connection: no automatic WINDOW_UPDATE on
 * either session.  A body byte received from one side is given back as
 * window (nghttp2_session_consume()) only once the other side's session
 * has taken it, so each direction holds at most the window we advertise
 * (H2_WINDOW a stream, H2_WINDOW for the connection), whatever the peers
 * do.  Streams are capped (SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS).
 *
 * The known attacks on an HTTP/2 server, from the sandbox:
 * - rapid reset (CVE-2023-44487): RST_STREAM is rate-limited (nghttp2's
 *   token bucket, H2_RST_BURST, H2_RST_RATE) and counted with the other
 *   control frames below; beyond, GOAWAY and the connection ends;
 * - CONTINUATION flood: at most H2_CONT_MAX CONTINUATION frames after a
 *   HEADERS, and a header block is decoded into at most H2_HEAD_MAX bytes
 *   (more is a 431 on that stream; HPACK decoding goes on at the cost of
 *   the bytes sent, nothing kept);
 * - HPACK bomb: the decoder's table is SETTINGS_HEADER_TABLE_SIZE's
 *   default 4096 bytes, and the decoded size is capped as above;
 * - SETTINGS, PING, PRIORITY, WINDOW_UPDATE, empty DATA floods: at most
 *   H2_CTL_PER_SEC such frames a second, then GOAWAY(ENHANCE_YOUR_CALM);
 *   nghttp2 also caps the acknowledgements it queues;
 * - a window that never opens: a response waiting on the sandbox's window
 *   with nothing delivered for the profile's idle timeout ends the
 *   connection (proxy_tick()).
 *
 * What nghttp2 frees is wiped first (h2_mem): the upstream session's
 * buffers held a request with the injected credential.
 */
#include "h2_int.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ------------------------------------------------------------------ */
/* Memory: wiped when nghttp2 lets it go                               */

static void *h2m_malloc(size_t n, void *u)
{
	(void)u;
	return malloc(n);
}

static void h2m_free(void *p, void *u)
{
	(void)u;
	if (p) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void *h2m_calloc(size_t n, size_t sz, void *u)
{
	(void)u;
	return calloc(n, sz);
}

static void *h2m_realloc(void *p, size_t n, void *u)
{
	size_t old;
	void *q;

	if (!p)
		return malloc(n);
	if (!n) {
		h2m_free(p, u);
		return NULL;
	}
	old = malloc_usable_size(p);
	q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	h2m_free(p, u);
	return q;
}

static nghttp2_mem h2_mem = { NULL, h2m_malloc, h2m_free, h2m_calloc,
			      h2m_realloc };

/* ------------------------------------------------------------------ */
/* The sandbox's session (server)                                      */

/* A flood: the session ends with GOAWAY(ENHANCE_YOUR_CALM). */
static int calm_down(struct h2conn *h, const char *why)
{
	if (!h->dead) {
		h->dead = why;
		h->calm = 1;
	}
	return NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int s_begin_frame(nghttp2_session *ss, const nghttp2_frame_hd *hd,
			 void *user)
{
	struct h2conn *h = user;

	(void)ss;
	switch (hd->type) {
	case NGHTTP2_HEADERS:
		h->cont = 0;
		return 0;
	case NGHTTP2_CONTINUATION:
		if (++h->cont > H2_CONT_MAX)
			return calm_down(h, "HTTP/2 CONTINUATION flood");
		return 0;
	case NGHTTP2_DATA:
		if (hd->length || (hd->flags & NGHTTP2_FLAG_END_STREAM))
			return 0;
		break;
	default:
		break;
	}
	if (!ratelimit_ok(&h->ctl, now_ms(), H2_CTL_PER_SEC))
		return calm_down(h, hd->type == NGHTTP2_RST_STREAM ?
				 "HTTP/2 rapid reset (RST_STREAM flood)" :
				 "HTTP/2 control frame flood");
	return 0;
}

static int s_begin_headers(nghttp2_session *ss, const nghttp2_frame *fr,
			   void *user)
{
	struct h2conn *h = user;
	struct h2stream *st;

	if (fr->hd.type != NGHTTP2_HEADERS ||
	    fr->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = h2_stream_new(h, fr->hd.stream_id);
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* reset */
	nghttp2_session_set_stream_user_data(ss, fr->hd.stream_id, st);
	return 0;
}

static int s_header(nghttp2_session *ss, const nghttp2_frame *fr,
		    const uint8_t *name, size_t nlen, const uint8_t *value,
		    size_t vlen, uint8_t flags, void *user)
{
	struct h2stream *st = nghttp2_session_get_stream_user_data(ss,
								   fr->hd.stream_id);

	(void)flags;
	(void)user;
	if (!st || fr->hd.type != NGHTTP2_HEADERS ||
	    fr->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;       /* request trailers are not passed on */
	return h2_req_header(st, name, nlen, value, vlen);
}

static int s_frame_recv(nghttp2_session *ss, const nghttp2_frame *fr,
			void *user)
{
	struct h2conn *h = user;
	struct h2stream *st;

	if (fr->hd.type != NGHTTP2_HEADERS && fr->hd.type != NGHTTP2_DATA)
		return 0;
	st = nghttp2_session_get_stream_user_data(ss, fr->hd.stream_id);
	if (!st)
		return 0;
	if (fr->hd.flags & NGHTTP2_FLAG_END_STREAM)
		st->up_end = 1;
	if (fr->hd.type == NGHTTP2_HEADERS &&
	    fr->headers.cat == NGHTTP2_HCAT_REQUEST)
		h2_request(h, st);
	else if (st->uid > 0 && (fr->hd.flags & NGHTTP2_FLAG_END_STREAM))
		nghttp2_session_resume_data(h->us, st->uid);
	return 0;
}

static int s_data(nghttp2_session *ss, uint8_t flags, int32_t sid,
		  const uint8_t *data, size_t len, void *user)
{
	struct h2conn *h = user;
	struct h2stream *st = nghttp2_session_get_stream_user_data(ss, sid);

	(void)flags;
	if (!st || st->refused || st->uid <= 0) {
		nghttp2_session_consume(ss, sid, len);
		return 0;
	}
	if (h2buf_put(&st->up, data, len) < 0) {
		nghttp2_session_consume(ss, sid, len);
		nghttp2_submit_rst_stream(ss, NGHTTP2_FLAG_NONE, sid,
					  NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	nghttp2_session_resume_data(h->us, st->uid);
	return 0;
}

static int s_stream_close(nghttp2_session *ss, int32_t sid, uint32_t err,
			  void *user)
{
	struct h2conn *h = user;
	struct h2stream *st = nghttp2_session_get_stream_user_data(ss, sid);

	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(ss, sid, NULL);
	if (st->up.len)
		nghttp2_session_consume_connection(ss, st->up.len);
	if (st->uid > 0) {
		nghttp2_session_set_stream_user_data(h->us, st->uid, NULL);
		if (st->unconsumed)
			nghttp2_session_consume(h->us, st->uid, st->unconsumed);
		/* still open upstream: the answer is no longer wanted, or
		 * the request's end never came */
		nghttp2_submit_rst_stream(h->us, NGHTTP2_FLAG_NONE, st->uid,
					  NGHTTP2_CANCEL);
	}
	h2_audit(h, st, ACT_ALLOW, st->status,
		 err ? "the stream was reset" : NULL);
	h2_stream_free(h, st);
	return 0;
}

/* After a refusal is sent whole, the request's body is not waited for. */
static int s_frame_send(nghttp2_session *ss, const nghttp2_frame *fr,
			void *user)
{
	struct h2stream *st;
	char detail[64];

	if (fr->hd.type == NGHTTP2_GOAWAY && fr->goaway.error_code) {
		snprintf(detail, sizeof(detail), "GOAWAY error %u",
			 fr->goaway.error_code);
		h2_sec_event(user, "HTTP/2 protocol error from the sandbox",
			     detail);
		return 0;
	}
	if (!(fr->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
	    (fr->hd.type != NGHTTP2_DATA && fr->hd.type != NGHTTP2_HEADERS))
		return 0;
	st = nghttp2_session_get_stream_user_data(ss, fr->hd.stream_id);
	if (st && st->refused && !st->up_end)
		nghttp2_submit_rst_stream(ss, NGHTTP2_FLAG_NONE, st->sid,
					  NGHTTP2_NO_ERROR);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Upstream's session (client)                                         */

static int u_header(nghttp2_session *us, const nghttp2_frame *fr,
		    const uint8_t *name, size_t nlen, const uint8_t *value,
		    size_t vlen, uint8_t flags, void *user)
{
	struct h2stream *st = nghttp2_session_get_stream_user_data(us,
								   fr->hd.stream_id);

	(void)flags;
	(void)user;
	if (!st || fr->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (h2_resp_header(st, name, nlen, value, vlen) < 0) {
		st->reason = "response head from upstream too large";
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static int u_frame_recv(nghttp2_session *us, const nghttp2_frame *fr,
			void *user)
{
	struct h2conn *h = user;
	struct h2stream *st;
	int end = !!(fr->hd.flags & NGHTTP2_FLAG_END_STREAM);

	if (fr->hd.type != NGHTTP2_HEADERS && fr->hd.type != NGHTTP2_DATA)
		return 0;
	st = nghttp2_session_get_stream_user_data(us, fr->hd.stream_id);
	if (!st)
		return 0;
	if (fr->hd.type == NGHTTP2_HEADERS && h2_resp_head_done(h, st, end)) {
		st->down_end = 1;       /* no body: the head ended the stream */
		return 0;
	}
	if (end)
		h2_resp_end(h, st);
	return 0;
}

static int u_data(nghttp2_session *us, uint8_t flags, int32_t uid,
		  const uint8_t *data, size_t len, void *user)
{
	struct h2stream *st = nghttp2_session_get_stream_user_data(us, uid);

	(void)flags;
	if (!st) {
		nghttp2_session_consume(us, uid, len);
		return 0;
	}
	h2_resp_data(user, st, data, len);
	return 0;
}

static int u_stream_close(nghttp2_session *us, int32_t uid, uint32_t err,
			  void *user)
{
	struct h2conn *h = user;
	struct h2stream *st = nghttp2_session_get_stream_user_data(us, uid);
	const char *why;

	if (!st)
		return 0;
	nghttp2_session_set_stream_user_data(us, uid, NULL);
	if (st->unconsumed)
		nghttp2_session_consume_connection(us, st->unconsumed);
	st->unconsumed = 0;
	st->uid = -1;
	if (!st->answered) {
		why = st->reason ? st->reason :
		      err == NGHTTP2_REFUSED_STREAM ? "upstream refused the stream" :
		      "upstream reset the stream";
		h2_answer(h, st, 502, why);
		h2_audit(h, st, ACT_ALLOW, 502, why);
	} else if (!st->down_end) {
		nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, st->sid,
					  NGHTTP2_INTERNAL_ERROR);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Set-up and teardown                                                 */

static nghttp2_session *session_new(struct h2conn *h, int server)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_session *s = NULL;
	int r;

	if (nghttp2_session_callbacks_new(&cb))
		return NULL;
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cb);
		return NULL;
	}
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_continuations(opt, H2_CONT_MAX);
	nghttp2_option_set_max_settings(opt, 16);
	nghttp2_option_set_max_outbound_ack(opt, 100);
	nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
	if (server) {
		nghttp2_option_set_stream_reset_rate_limit(opt, H2_RST_BURST,
							   H2_RST_RATE);
		nghttp2_session_callbacks_set_on_begin_frame_callback(cb, s_begin_frame);
		nghttp2_session_callbacks_set_on_begin_headers_callback(cb, s_begin_headers);
		nghttp2_session_callbacks_set_on_header_callback(cb, s_header);
		nghttp2_session_callbacks_set_on_frame_recv_callback(cb, s_frame_recv);
		nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, s_data);
		nghttp2_session_callbacks_set_on_stream_close_callback(cb, s_stream_close);
		nghttp2_session_callbacks_set_on_frame_send_callback(cb, s_frame_send);
		r = nghttp2_session_server_new3(&s, cb, h, opt, &h2_mem);
	} else {
		nghttp2_option_set_max_reserved_remote_streams(opt, 0);
		nghttp2_session_callbacks_set_on_header_callback(cb, u_header);
		nghttp2_session_callbacks_set_on_frame_recv_callback(cb, u_frame_recv);
		nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, u_data);
		nghttp2_session_callbacks_set_on_stream_close_callback(cb, u_stream_close);
		r = nghttp2_session_client_new3(&s, cb, h, opt, &h2_mem);
	}
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	return r ? NULL : s;
}

static int h2_start(struct proxy *px)
{
	static const nghttp2_settings_entry sset[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_HEAD_MAX },
	};
	static const nghttp2_settings_entry uset[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_HEAD_MAX },
	};
	struct h2conn *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	h->px = px;
	px->h2c = h;
	h->ss = session_new(h, 1);
	h->us = session_new(h, 0);
	if (!h->ss || !h->us ||
	    nghttp2_submit_settings(h->ss, NGHTTP2_FLAG_NONE, sset, 3) ||
	    nghttp2_submit_settings(h->us, NGHTTP2_FLAG_NONE, uset, 3))
		return -1;
	h->t_down = now_ms();
	return 0;
}

/**
 * h2_free() - End a connection's HTTP/2 engine
 * @px: Proxy
 */
void h2_free(struct proxy *px)
{
	struct h2conn *h = px->h2c;

	if (!h)
		return;
	/* nghttp2_session_del() calls no callback */
	if (h->ss)
		nghttp2_session_del(h->ss);
	if (h->us)
		nghttp2_session_del(h->us);
	while (h->streams)
		h2_stream_free(h, h->streams);
	explicit_bzero(h, sizeof(*h));
	free(h);
	px->h2c = NULL;
}

/* ------------------------------------------------------------------ */
/* The pump                                                            */

/* Our own GOAWAY, after nghttp2 gave up on the sandbox's session. */
static void goaway_build(struct h2conn *h)
{
	int32_t last = nghttp2_session_get_last_proc_stream_id(h->ss);
	uint32_t code = h->calm ? NGHTTP2_ENHANCE_YOUR_CALM :
			NGHTTP2_PROTOCOL_ERROR;
	uint8_t *g = h->goaway;
	char detail[200], host[300];

	memset(g, 0, sizeof(h->goaway));
	g[2] = 8;
	g[3] = NGHTTP2_GOAWAY;
	g[9] = (uint8_t)((uint32_t)last >> 24 & 0x7f);
	g[10] = (uint8_t)(last >> 16);
	g[11] = (uint8_t)(last >> 8);
	g[12] = (uint8_t)last;
	g[16] = (uint8_t)code;
	h->goaway_n = sizeof(h->goaway);
	snprintf(detail, sizeof(detail), "%s", h->dead);
	log_escape(h->px->f->host, strlen(h->px->f->host), host, sizeof(host));
	log_sandbox("%s (%s): connection ended", h->dead, host);
	h2_sec_event(h, h->calm ? "HTTP/2 flood from the sandbox: GOAWAY" :
		     "HTTP/2 session with the sandbox failed", detail);
}

/* Application bytes from @sd into @sess.  Return: 1 if any. */
static int feed(struct h2conn *h, struct side *sd, nghttp2_session *sess)
{
	size_t len;
	uint8_t *p = px_app_in(sd, &len);
	ssize_t r;

	if (!p || !len)
		return 0;
	if (sess == h->ss && h->dead) {
		px_app_in_ack(sd, len);         /* nothing more is read */
		return 1;
	}
	r = nghttp2_session_mem_recv(sess, p, len);
	px_app_in_ack(sd, len);
	if (r < 0 && sess == h->ss) {
		if (r == NGHTTP2_ERR_FLOODED)
			calm_down(h, "HTTP/2 flood (acknowledgements piling up)");
		else if (r == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
			calm_down(h, "HTTP/2 CONTINUATION flood");
		else if (!h->dead)
			h->dead = nghttp2_strerror((int)r);
		goaway_build(h);
	} else if (r < 0) {
		snprintf(h->px->up_error, sizeof(h->px->up_error),
			 "upstream's HTTP/2 failed: %s", nghttp2_strerror((int)r));
	}
	return 1;
}

/* Bytes @sess wants sent into @sd, as far as it takes them.  Return: 1
 * if any moved. */
static int emit(struct proxy *px, nghttp2_session *sess, struct side *sd,
		const uint8_t **out, size_t *n)
{
	int moved = 0;

	for (;;) {
		size_t room, c;
		uint8_t *q;

		if (!*n) {
			ssize_t k = sess ? nghttp2_session_mem_send(sess, out) : 0;

			if (k <= 0)
				break;
			*n = (size_t)k;
		}
		q = px_app_out(px, sd, &room);
		if (!q || !room)
			break;
		c = *n < room ? *n : room;
		memcpy(q, *out, c);
		px_app_out_ack(sd, c);
		*out += c;
		*n -= c;
		moved = 1;
	}
	return moved;
}

/* Our GOAWAY, once what nghttp2 had started is out. */
static int goaway_out(struct h2conn *h)
{
	struct proxy *px = h->px;
	size_t room, c;
	uint8_t *q;

	if (h->sout_n || h->goaway_off >= h->goaway_n)
		return 0;
	q = px_app_out(px, &px->s, &room);
	if (!q || !room)
		return 0;
	c = h->goaway_n - h->goaway_off;
	if (c > room)
		c = room;
	memcpy(q, h->goaway + h->goaway_off, c);
	px_app_out_ack(&px->s, c);
	h->goaway_off += c;
	return 1;
}

/* Upstream is gone: every stream waiting on it is answered 502 (or
 * reset, when its response had begun), and the sandbox told GOAWAY. */
static void upstream_gone(struct h2conn *h)
{
	struct proxy *px = h->px;
	const char *why = px->up_error[0] ? px->up_error :
			  "upstream closed the connection";
	struct h2stream *st;

	h->up_gone = 1;
	for (st = h->streams; st; st = st->next) {
		if (st->uid <= 0)
			continue;
		nghttp2_session_set_stream_user_data(h->us, st->uid, NULL);
		st->uid = -1;
		st->unconsumed = 0;
		if (!st->answered) {
			h2_answer(h, st, 502, why);
			h2_audit(h, st, ACT_ALLOW, 502, why);
		} else if (!st->down_end) {
			nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, st->sid,
						  NGHTTP2_INTERNAL_ERROR);
		}
	}
	/* GOAWAY once every stream is answered (h2_drive()): a client that
	 * had not asked yet gets its first requests answered 502, with why */
}

/**
 * h2_drive() - Move an HTTP/2 connection's bytes through both sessions
 * @px: Proxy with px->h2 set
 *
 * Sets px->outstanding while a stream is open or bytes wait, and
 * px->closing once the sandbox's session is over.
 * Return: 1 if anything moved
 */
int h2_drive(struct proxy *px)
{
	struct h2conn *h = px->h2c;
	int moved = 0;

	if (!h && h2_start(px) < 0) {
		px->oom = 1;
		return 0;
	}
	h = px->h2c;
	moved |= feed(h, &px->s, h->ss);
	if (!h->up_gone)
		moved |= feed(h, &px->u, h->us);
	if (!h->up_gone && !px->up_error[0])
		moved |= emit(px, h->us, &px->u, &h->uout, &h->uout_n);
	if (!h->up_gone &&
	    (px->up_error[0] || px->u.eof || px_side_closed(&px->u) ||
	     (!nghttp2_session_want_read(h->us) &&
	      !nghttp2_session_want_write(h->us)))) {
		upstream_gone(h);
		moved = 1;
	}
	if (!h->dead || h->sout_n)
		moved |= emit(px, h->dead ? NULL : h->ss, &px->s, &h->sout,
			      &h->sout_n);
	if (h->dead)
		moved |= goaway_out(h);
	if (h->up_gone && !h->dead && !h->nstreams &&
	    nghttp2_session_get_last_proc_stream_id(h->ss) > 0) {
		h2_goaway(h);
		moved |= emit(px, h->ss, &px->s, &h->sout, &h->sout_n);
	}
	/* once the sandbox's session is dead its streams never close: what
	 * was started and the GOAWAY go out, then the connection ends */
	px->outstanding = (h->nstreams > 0 && !h->dead) || h->sout_n ||
			  h->goaway_off < h->goaway_n;
	if (!px->outstanding &&
	    (h->dead || (!nghttp2_session_want_read(h->ss) &&
			 !nghttp2_session_want_write(h->ss)))) {
		px->closing = 1;
	}
	return moved;
}

/**
 * h2_deadline() - When an HTTP/2 connection must end, unless things move
 * @px:      Proxy
 * @head_ms: The profile's request head timeout
 * @idle_ms: The profile's idle timeout
 * @why:     Output: what it would be for
 *
 * A stream whose header block is not whole within the request head
 * timeout (a slowloris of HEADERS without END_HEADERS), and a response
 * that waited on the sandbox's flow-control window for the idle timeout.
 * A stream waiting on upstream is not timed (long polls, gRPC streams).
 * Return: the earliest such time (ms), or 0 if none
 */
uint64_t h2_deadline(const struct proxy *px, uint64_t head_ms,
		     uint64_t idle_ms, const char **why)
{
	const struct h2conn *h = px->h2c;
	const struct h2stream *st;
	uint64_t d = 0, t;
	int waits = h && h->sout_n;

	*why = NULL;
	for (st = h ? h->streams : NULL; st; st = st->next) {
		waits |= st->down.len > 0;
		t = st->t_req + head_ms;
		if (!st->decided && (!d || t < d)) {
			d = t;
			*why = "HTTP/2: a request head timed out";
		}
	}
	t = h ? h->t_down + idle_ms : 0;
	if (waits && (!d || t < d)) {
		d = t;
		*why = "HTTP/2: a response waited on the sandbox's flow-control window too long";
	}
	return d;
}
