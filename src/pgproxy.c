// SPDX-License-Identifier: MIT
/*
 * pgproxy.c - the database gateway: a PostgreSQL session between the
 * sandbox and an upstream server, authenticated by us, optionally
 * read-only.
 *
 * DOC: Theory of operation
 *
 * A flow whose rule has `postgres:` becomes a pgproxy as soon as lwIP has
 * accepted it (flow.c); nothing is peeked.  Two sides run at once:
 *
 *   sandbox pcb <-> sin/sout <-> startup / relay engines <-> uin/uout <-> upstream
 *
 * Sandbox side: plain PostgreSQL.  An SSLRequest or GSSENCRequest is
 * answered 'N' (the link to the sandbox never leaves this machine), then the
 * StartupMessage is checked against the rule: the user must be the rule's
 * `user`, the database one of `database:`, and only harmless parameters
 * pass (application_name, client_encoding, ...); `options` and
 * replication are refused, as is any parameter that would set something
 * else.  A refusal is a FATAL ErrorResponse with SQLSTATE 28000 or 42501.
 *
 * Upstream side: flow.c connected the socket before the sandbox's
 * handshake completed (or recorded why it could not: the sandbox then gets
 * 08006 with that reason, not a bare reset).  Unless `tls: disable`, we
 * send an SSLRequest, require 'S' and nothing after it (bytes buffered
 * before the handshake would be injected plaintext), and run a BearSSL
 * client over the socket with the gateway's trust store (the one proxy.c
 * uses), verifying the name for verify-full.  Then our own StartupMessage
 * (the rule's user, the chosen database, default_transaction_read_only=on
 * in `options` when read-only) and authentication with the profile's
 * password: SCRAM-SHA-256 (the server's signature is verified before its
 * AuthenticationOk is believed), md5, or cleartext (never over an
 * unencrypted connection).  The sandbox never sees an authentication
 * request: it gets upstream's AuthenticationOk, ParameterStatus,
 * BackendKeyData and ReadyForQuery as they come.
 *
 * Relay: both directions are framed message by message with pgwire.c.
 * Most bodies stream through without being held.  Query and Parse (up to
 * PGP_QUERY_MAX) are held whole and, in a read-only session, shown to
 * pgguard.c; FunctionCall is refused outright (it names functions by OID).
 * A refused message is replaced by a "poison" statement of the same kind
 * that the server rejects as a syntax error naming a per-session marker;
 * the server thus produces the ErrorResponse, ReadyForQuery and
 * discard-until-Sync behaviour itself, in order with everything before it,
 * and we rewrite that one ErrorResponse into ours (25006, with the
 * reason).  For extended protocol we also drop what the sandbox sends
 * until its Sync, as the server does after an error.  The session stays
 * usable.
 *
 * Audit: a FIFO of requests awaiting answers (simple queries, Executes,
 * Syncs, refusals) pairs each CommandComplete or ErrorResponse with its
 * request, for a db_query event (tag or SQLSTATE, duration, the text only
 * with log_statements, never Bind's parameters); db_session events open
 * and close the session.
 *
 * Buffers are fixed per session (four of PGP_BUF, one held message of at
 * most PGP_QUERY_MAX); backpressure is lwIP's window and the socket's
 * buffer, as elsewhere.  Teardown goes through flow_close_later() only.
 */
#include "gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include <bearssl.h>

#include "audit.h"
#include "ca.h"
#include "ecfast.h"
#include "log.h"
#include "pgguard.h"
#include "pgwire.h"
#include "profile.h"
#include "scram.h"
#include "secret.h"
#include "upstls.h"

#define PGP_BUF          16384
#define PGP_QUERY_MAX    ((size_t)1024 * 1024) /* a held Query/Parse */
#define PGP_BEMSG_MAX    8192       /* a held upstream message (larger ones stream) */
#define PGP_AUTH_MAX     8192       /* an upstream message while authenticating */
#define PGP_FIFO         256
#define PGP_TEXT_MAX     2048       /* statement text kept for the audit log */
#define PGP_STARTUP_MS   15000

/* A byte queue: data at b + off, len bytes; dropping advances off, so a
 * small message taken from a full buffer costs no copy of the rest. */
struct pgbuf {
	uint8_t *b;
	size_t off, len, cap;
	int wipe;               /* zero bytes once consumed (passwords pass here) */
};

#define DATA(bf) ((bf).b + (bf).off)

enum sb_state {
	S_STARTUP,      /* reading the sandbox's start-up packet */
	S_WAIT,         /* accepted; waiting for upstream to authenticate */
	S_RELAY,
	S_CANCEL,       /* a CancelRequest to pass on */
	S_DONE,         /* our last words are queued; close when sent */
};

enum up_state {
	U_SSLWAIT,      /* SSLRequest sent, awaiting 'S' */
	U_TLS,          /* handshake running */
	U_READY,        /* transport ready, start-up not sent yet */
	U_AUTH,         /* start-up sent, authenticating */
	U_RELAY,
	U_CANCELLED,    /* cancel packet sent */
	U_FAILED,
};

enum fr_mode { M_HDR, M_STREAM, M_BUFFER, M_DISCARD };

/* One direction's framing. */
struct framer {
	enum fr_mode mode;
	uint8_t type;
	uint32_t left;          /* body bytes still to come */
	struct pgbuf msg;       /* M_BUFFER: header + body so far */
	const uint8_t *out;     /* decided bytes waiting for room */
	size_t out_len;
	uint8_t small[512];     /* room for a message of our own */
};

enum it_kind { IT_SIMPLE, IT_EXEC, IT_SYNC, IT_REFUSED };

/* A request awaiting its answer, for the audit log and for rewriting. */
struct item {
	uint8_t kind;
	uint8_t refused;        /* IT_SIMPLE or IT_REFUSED replaced by poison */
	uint8_t extended;
	const char *reason;
	char *text;             /* with log_statements, else NULL */
	uint64_t t0;
};

struct pgproxy {
	struct flow *f;
	const struct pf_postgres *cfg;
	const struct secret *pw;
	enum sb_state sb;
	enum up_state up;
	struct pgbuf sin, sout, uin, uout;

	int tls_on;
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	const br_x509_class *xwrap;     /* tls: require: accepts any chain */
	br_x509_minimal_context *xinner;
	uint8_t *iobuf;

	/* sandbox-side TLS (client_tls: true): 'S', then a BearSSL server
	 * with a leaf for the host from the islo-net CA */
	int stls, stls_pending;
	br_ssl_server_context sc;
	uint8_t *sbuf, *leaf;
	br_x509_certificate chain[2];

	struct scram scram;
	int sasl;

	char user[PF_PG_NAME_MAX + 1], database[PF_PG_NAME_MAX + 1];
	uint8_t startup[1024];
	size_t startup_len;
	uint8_t cancel[16];

	struct framer fe, be;
	struct item *fifo;
	size_t fhead, fcount;
	int discard_until_sync;
	int flush_sent;
	char marker[48];
	uint8_t txn;

	char up_error[224];
	uint64_t deadline, t_start, t_last;
	int up_eof, up_shut;
	unsigned long long nqueries, nrefused;
	int session_open;
	const char *close_reason;
	char last_parse[PGP_TEXT_MAX];
	size_t last_parse_len;
};

/* ------------------------------------------------------------------ */
/* Buffers                                                             */

static int buf_init(struct pgbuf *b, size_t cap)
{
	b->b = malloc(cap);
	b->off = b->len = 0;
	b->cap = cap;
	return b->b ? 0 : -1;
}

static void buf_free(struct pgbuf *b)
{
	if (b->b)
		explicit_bzero(b->b, b->cap);
	free(b->b);
	b->b = NULL;
	b->off = b->len = b->cap = 0;
}

static void buf_drop(struct pgbuf *b, size_t n)
{
	if (b->wipe)
		explicit_bzero(b->b + b->off, n);
	b->off += n;
	b->len -= n;
	if (!b->len)
		b->off = 0;
}

static size_t buf_room(const struct pgbuf *b)
{
	return b->cap - b->len;
}

/* The free space after the data, made as large as buf_room(). */
static uint8_t *buf_tail(struct pgbuf *b, size_t *room)
{
	if (b->off && b->off + b->len + 4096 > b->cap) {
		memmove(b->b, b->b + b->off, b->len);
		if (b->wipe)
			explicit_bzero(b->b + b->len, b->off);
		b->off = 0;
	}
	*room = b->cap - b->off - b->len;
	return b->b + b->off + b->len;
}

static size_t buf_put(struct pgbuf *b, const void *p, size_t n)
{
	size_t room;
	uint8_t *t;

	if (n > buf_room(b))
		n = buf_room(b);
	t = buf_tail(b, &room);
	if (n > room) {
		memmove(b->b, b->b + b->off, b->len);
		b->off = 0;
		t = b->b + b->len;
	}
	memcpy(t, p, n);
	b->len += n;
	return n;
}

/* ------------------------------------------------------------------ */
/* Audit                                                               */

static const char *tls_name(int t)
{
	return t == PF_PG_REQUIRE ? "require" : t == PF_PG_DISABLE ? "disable" :
	       "verify-full";
}

static void ev_common(struct pgproxy *pp, struct audit_ev *e)
{
	struct flow *f = pp->f;

	audit_str(e, "profile", f->g->profile_name);
	audit_str(e, "rule", policy_rule_label(&f->dec));
	audit_strn(e, "host", f->host, strlen(f->host));
	if (pp->user[0])
		audit_strn(e, "user", pp->user, strlen(pp->user));
	if (pp->database[0])
		audit_strn(e, "database", pp->database, strlen(pp->database));
}

static void audit_session(struct pgproxy *pp, const char *phase,
			  const char *result, const char *reason)
{
	struct flow *f = pp->f;
	struct audit_ev e;
	char src[INET6_ADDRSTRLEN], up[INET6_ADDRSTRLEN + 8];

	ipaddr_str(&f->src, src, sizeof(src));
	audit_begin(&e, "db_session");
	audit_str(&e, "phase", phase);
	ev_common(pp, &e);
	audit_str(&e, "src", src);
	if (f->up_addr.family) {
		char a[INET6_ADDRSTRLEN];

		ipaddr_str(&f->up_addr, a, sizeof(a));
		snprintf(up, sizeof(up), f->up_addr.family == AF_INET6 ?
			 "[%s]:%u" : "%s:%u", a, f->up_port);
		audit_str(&e, "upstream", up);
	}
	audit_str(&e, "tls", tls_name(pp->cfg->tls));
	audit_bool(&e, "read_only", pp->cfg->read_only);
	audit_str(&e, "result", result);
	if (reason)
		audit_strn(&e, "reason", reason, strlen(reason));
	if (!strcmp(phase, "close")) {
		audit_int(&e, "queries", (long long)pp->nqueries);
		audit_int(&e, "refused", (long long)pp->nrefused);
		audit_int(&e, "bytes_up", (long long)f->bytes_up);
		audit_int(&e, "bytes_down", (long long)f->bytes_down);
		audit_int(&e, "duration_ms", (long long)(now_ms() - pp->t_start));
	}
	audit_emit(f->g->audit, &e);
}

/**
 * audit_query() - A db_query event
 * @pp:     Session
 * @it:     The request it answers
 * @action: "allow" or "deny"
 * @tag:    CommandComplete tag, or NULL
 * @tlen:   Its length
 * @state:  SQLSTATE of an error, or NULL
 */
static void audit_query(struct pgproxy *pp, const struct item *it,
			const char *action, const char *tag, size_t tlen,
			const char *state)
{
	struct audit_ev e;
	uint64_t now = now_ms();
	uint64_t t0 = it->t0 > pp->t_last ? it->t0 : pp->t_last;

	audit_begin(&e, "db_query");
	audit_str(&e, "action", action);
	ev_common(pp, &e);
	audit_str(&e, "protocol", it->extended ? "extended" : "simple");
	if (tag)
		audit_strn(&e, "command", tag, tlen);
	if (state)
		audit_strn(&e, "sqlstate", state, strlen(state));
	audit_int(&e, "duration_ms", (long long)(now - t0));
	if (it->reason)
		audit_str(&e, "reason", it->reason);
	if (it->text)
		audit_strn(&e, "statement", it->text, strlen(it->text));
	audit_emit(pp->f->g->audit, &e);
	pp->t_last = now;
	pp->nqueries++;
}

/* ------------------------------------------------------------------ */
/* Requests awaiting answers                                           */

static struct item *fifo_front(struct pgproxy *pp)
{
	return pp->fcount ? &pp->fifo[pp->fhead] : NULL;
}

static void fifo_pop(struct pgproxy *pp)
{
	struct item *it = fifo_front(pp);

	if (!it)
		return;
	free(it->text);
	it->text = NULL;
	pp->fhead = (pp->fhead + 1) % PGP_FIFO;
	pp->fcount--;
}

static struct item *fifo_push(struct pgproxy *pp, int kind, int extended,
			      const char *text, size_t tlen)
{
	struct item *it;

	if (pp->fcount >= PGP_FIFO)
		return NULL;
	it = &pp->fifo[(pp->fhead + pp->fcount) % PGP_FIFO];
	memset(it, 0, sizeof(*it));
	it->kind = (uint8_t)kind;
	it->extended = (uint8_t)extended;
	it->t0 = now_ms();
	if (text && pp->cfg->log_statements) {
		if (tlen >= PGP_TEXT_MAX)
			tlen = PGP_TEXT_MAX - 1;
		it->text = strndup(text, tlen);
	}
	pp->fcount++;
	return it;
}

/* ------------------------------------------------------------------ */
/* Errors of our own                                                   */

/* Queue an ErrorResponse to the sandbox (ahead of nothing else: only
 * used before the relay starts, or at a message boundary). */
static void sb_error(struct pgproxy *pp, const char *sev, const char *code,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void sb_error(struct pgproxy *pp, const char *sev, const char *code,
		     const char *fmt, ...)
{
	char msg[512];
	uint8_t out[700];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = pgw_put_error(out, sizeof(out), sev, code, msg);
	if (n)
		buf_put(&pp->sout, out, n);
}

/* End the session after what is queued for the sandbox is sent. */
static void sb_finish(struct pgproxy *pp, const char *reason)
{
	pp->sb = S_DONE;
	if (!pp->close_reason)
		pp->close_reason = reason;
}

static void upstream_failed_to_sandbox(struct pgproxy *pp)
{
	audit_session(pp, "open", "upstream_failed", pp->up_error);
	pp->session_open = 0;
	sb_error(pp, "FATAL", "08006",
		 "islo-net: cannot reach the database upstream for %s: %s",
		 pp->f->host, pp->up_error);
	sb_finish(pp, pp->up_error);
}

/* Upstream cannot be used: tell the sandbox now or once it has asked. */
static void up_fail(struct pgproxy *pp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void up_fail(struct pgproxy *pp, const char *fmt, ...)
{
	va_list ap;

	if (pp->up == U_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(pp->up_error, sizeof(pp->up_error), fmt, ap);
	va_end(ap);
	pp->up = U_FAILED;
	if (pp->sb == S_WAIT)
		upstream_failed_to_sandbox(pp);
	else if (pp->sb == S_RELAY || pp->sb == S_CANCEL)
		sb_finish(pp, pp->up_error);
}

/* ------------------------------------------------------------------ */
/* Upstream transport: plain, or BearSSL after 'S'                     */

/* tls: require encrypts without checking the chain: the minimal engine
 * still decodes the server's key, and "not trusted" counts as success. */
static br_x509_class require_vtable;

static unsigned require_end_chain(const br_x509_class **ctx)
{
	unsigned r = br_x509_minimal_vtable.end_chain(ctx);

	return r == BR_ERR_X509_NOT_TRUSTED ? 0 : r;
}

static int tls_start(struct pgproxy *pp)
{
	struct gw *g = pp->f->g;
	const struct pf_rule *r = pp->f->dec.rule;
	const char *name = r && r->tls_verify_name ? r->tls_verify_name :
			   pp->f->host;

	pp->iobuf = malloc(BR_SSL_BUFSIZE_BIDI);
	if (!pp->iobuf)
		return -1;
	/* the upstream configuration the HTTP side has (upstls.c) */
	upstls_client_init(&pp->cc, &pp->xc, g->trust.ta, g->trust.n);
	if (pp->cfg->tls == PF_PG_REQUIRE) {
		require_vtable = br_x509_minimal_vtable;
		require_vtable.end_chain = require_end_chain;
		pp->xc.vtable = &require_vtable;
		name = NULL; /* no name check either */
	}
	br_ssl_engine_set_buffer(&pp->cc.eng, pp->iobuf, BR_SSL_BUFSIZE_BIDI, 1);
	if (!br_ssl_client_reset(&pp->cc, name, 0))
		return -1;
	pp->tls_on = 1;
	return 0;
}

static const char *tls_reason(int e)
{
	const char *why = upstls_error(e);
	static char other[64];

	if (why)
		return why;
	snprintf(other, sizeof(other), "upstream TLS failed (BearSSL error %d)", e);
	return other;
}

static int sock_write(struct pgproxy *pp, const uint8_t *p, size_t len)
{
	ssize_t n = write(pp->f->fd, p, len);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		up_fail(pp, "write: %s", strerror(errno));
		pp->up_eof = 1;
		return 0;
	}
	return n > 0 ? (int)n : 0;
}

static ssize_t sock_read(struct pgproxy *pp, uint8_t *p, size_t room)
{
	ssize_t n = read(pp->f->fd, p, room);

	if (n == 0) {
		pp->up_eof = 1;
	} else if (n < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			pp->up_eof = 1;
			if (pp->up != U_RELAY)
				up_fail(pp, "read: %s", strerror(errno));
		}
		n = 0;
	}
	return n;
}

/* Move bytes between uin/uout and the socket.  Return: 1 if any moved. */
static int up_io(struct pgproxy *pp)
{
	int moved = 0, round;
	size_t len, room;
	uint8_t *p;

	if (pp->f->fd < 0 || pp->up == U_FAILED)
		return 0;
	if (!pp->tls_on) {
		while (pp->uout.len) {
			int n = sock_write(pp, DATA(pp->uout), pp->uout.len);

			if (!n)
				break;
			buf_drop(&pp->uout, (size_t)n);
			moved = 1;
		}
		/* before the SSL answer, read one byte at a time: whatever
		 * follows 'S' must reach the TLS engine, not be taken as
		 * the server's */
		while (!pp->up_eof && buf_room(&pp->uin) &&
		       !(pp->up == U_SSLWAIT && pp->uin.len)) {
			size_t tr;
			uint8_t *t = buf_tail(&pp->uin, &tr);
			ssize_t n = sock_read(pp, t, pp->up == U_SSLWAIT ? 1 : tr);

			if (n <= 0)
				break;
			pp->uin.len += (size_t)n;
			moved = 1;
		}
		return moved;
	}
	for (round = 0; round < 64; round++) {
		br_ssl_engine_context *eng = &pp->cc.eng;
		int m = 0;

		while (pp->uout.len && (p = br_ssl_engine_sendapp_buf(eng, &room)) &&
		       room) {
			size_t n = pp->uout.len < room ? pp->uout.len : room;

			memcpy(p, DATA(pp->uout), n);
			br_ssl_engine_sendapp_ack(eng, n);
			buf_drop(&pp->uout, n);
			br_ssl_engine_flush(eng, 0);
			m = 1;
		}
		while ((p = br_ssl_engine_sendrec_buf(eng, &len)) && len) {
			int n = sock_write(pp, p, len);

			if (!n)
				break;
			br_ssl_engine_sendrec_ack(eng, (size_t)n);
			m = 1;
		}
		while (!pp->up_eof && (p = br_ssl_engine_recvrec_buf(eng, &room)) &&
		       room) {
			ssize_t n = sock_read(pp, p, room);

			if (n <= 0)
				break;
			br_ssl_engine_recvrec_ack(eng, (size_t)n);
			m = 1;
		}
		while (buf_room(&pp->uin) &&
		       (p = br_ssl_engine_recvapp_buf(eng, &len)) && len) {
			size_t n = buf_put(&pp->uin, p, len);

			br_ssl_engine_recvapp_ack(eng, n);
			m = 1;
		}
		if (br_ssl_engine_current_state(eng) == BR_SSL_CLOSED) {
			int e = br_ssl_engine_last_error(eng), was = pp->up_eof;

			pp->up_eof = 1;
			if (e && pp->up != U_RELAY)
				up_fail(pp, "%s", tls_reason(e));
			return moved || m || !was;
		}
		if (!m)
			break;
		moved = 1;
	}
	return moved;
}

/* ------------------------------------------------------------------ */
/* The sandbox's start-up packet                                       */

/* Parameters a client may set at start-up that cannot widen the session:
 * formatting, encoding, labels, timeouts. */
static const char *const pass_params[] = {
	"application_name", "client_encoding", "datestyle", "timezone",
	"intervalstyle", "extra_float_digits", "search_path",
	"statement_timeout", "lock_timeout",
	"idle_in_transaction_session_timeout", "bytea_output",
};

static int param_passes(const char *k)
{
	size_t i;

	for (i = 0; i < sizeof(pass_params) / sizeof(*pass_params); i++)
		if (!strcasecmp(k, pass_params[i]))
			return 1;
	return 0;
}

static int false_word(const char *v)
{
	return !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
	       !strcmp(v, "0") || !strcasecmp(v, "no");
}

/**
 * startup_accept() - Check the sandbox's StartupMessage, build upstream's
 * @pp:  Session
 * @pkt: The packet
 * @s:   Its parse
 * Return: 0 if accepted (pp->startup built), -1 if refused (error queued)
 */
static int startup_accept(struct pgproxy *pp, const uint8_t *pkt,
			  const struct pgw_startup *s)
{
	const struct pf_postgres *c = pp->cfg;
	const char *names[PGW_STARTUP_PARAMS + 4], *vals[PGW_STARTUP_PARAMS + 4];
	const char *unknown_pq[PGW_STARTUP_PARAMS];
	const char *user = NULL, *db = NULL;
	size_t i, n = 0, npq = 0;
	char esc[80];

	for (i = 0; i < s->nparams; i++) {
		const char *k = (const char *)pkt + s->params[i].key;
		const char *v = (const char *)pkt + s->params[i].val;

		if (!strcmp(k, "user")) {
			user = v;
		} else if (!strcmp(k, "database")) {
			db = v;
		} else if (!strncmp(k, "_pq_.", 5)) {
			unknown_pq[npq++] = k;
		} else if (!strcmp(k, "replication")) {
			if (!false_word(v)) {
				sb_error(pp, "FATAL", "42501",
					 "islo-net: replication connections are not allowed through the gateway");
				return -1;
			}
		} else if (!strcmp(k, "options")) {
			if (v[0]) {
				sb_error(pp, "FATAL", "42501",
					 "islo-net: the 'options' start-up parameter is not allowed through the gateway (set parameters with SET after connecting)");
				return -1;
			}
		} else if (!strcasecmp(k, "client_encoding") && c->read_only &&
			   !pgguard_encoding_safe(v)) {
			log_escape(v, strlen(v), esc, sizeof(esc));
			sb_error(pp, "FATAL", "42501",
				 "islo-net: client_encoding \"%s\" is not allowed in a read-only session (use UTF8)",
				 esc);
			return -1;
		} else if (param_passes(k)) {
			names[n] = k;
			vals[n++] = v;
		} else {
			log_escape(k, strlen(k), esc, sizeof(esc));
			sb_error(pp, "FATAL", "42501",
				 "islo-net: start-up parameter \"%s\" is not allowed through the gateway",
				 esc);
			return -1;
		}
	}
	if (!user || !user[0]) {
		sb_error(pp, "FATAL", "28000", "islo-net: no user name in the start-up packet");
		return -1;
	}
	snprintf(pp->user, sizeof(pp->user), "%.*s", PF_PG_NAME_MAX, user);
	if (strcmp(user, c->user)) {
		log_escape(user, strlen(user), esc, sizeof(esc));
		sb_error(pp, "FATAL", "28000",
			 "islo-net: the gateway profile does not allow user \"%s\" for %s (it allows \"%s\")",
			 esc, pp->f->host, c->user);
		return -1;
	}
	if (!db || !db[0])
		db = c->any_database ? c->user : c->databases[0];
	snprintf(pp->database, sizeof(pp->database), "%.*s", PF_PG_NAME_MAX, db);
	if (!c->any_database) {
		for (i = 0; i < c->ndatabases; i++)
			if (!strcmp(db, c->databases[i]))
				break;
		if (i == c->ndatabases || strlen(db) > PF_PG_NAME_MAX) {
			log_escape(db, strlen(db), esc, sizeof(esc));
			sb_error(pp, "FATAL", "28000",
				 "islo-net: the gateway profile does not allow database \"%s\" for %s",
				 esc, pp->f->host);
			return -1;
		}
	} else if (strlen(db) > PF_PG_NAME_MAX) {
		sb_error(pp, "FATAL", "28000", "islo-net: database name too long");
		return -1;
	}
	/* a 3.x client beyond 3.0, or with protocol options: say what we speak */
	if ((s->code & 0xffff) || npq) {
		uint8_t out[PGW_STARTUP_MAX + 32];
		size_t l = pgw_put_negotiate(out, sizeof(out), 0, unknown_pq, npq);

		if (l)
			buf_put(&pp->sout, out, l);
	}
	names[n] = "user";
	vals[n++] = c->user;
	names[n] = "database";
	vals[n++] = db;
	if (c->read_only) {
		names[n] = "options";
		vals[n++] = "-c default_transaction_read_only=on";
	}
	pp->startup_len = pgw_put_startup(pp->startup, sizeof(pp->startup),
					  names, vals, n);
	if (!pp->startup_len) {
		sb_error(pp, "FATAL", "08P01", "islo-net: start-up parameters too long");
		return -1;
	}
	return 0;
}

/* Set up the server engine toward the sandbox.  Return: 0, or -1. */
static int stls_start(struct pgproxy *pp)
{
	struct flow *f = pp->f;
	const br_x509_certificate *chain;
	const br_ec_private_key *key;
	size_t n;

	if (!f->g->ca || ca_leaf(f->g->ca, f->host, &chain, &n, &key) < 0 ||
	    n != 2)
		return -1;
	/* our own copy: the CA's cache may reuse the slot mid-handshake */
	pp->leaf = malloc(chain[0].data_len);
	pp->sbuf = malloc(BR_SSL_BUFSIZE_BIDI);
	if (!pp->leaf || !pp->sbuf)
		return -1;
	memcpy(pp->leaf, chain[0].data, chain[0].data_len);
	pp->chain[0].data = pp->leaf;
	pp->chain[0].data_len = chain[0].data_len;
	pp->chain[1] = chain[1];
	br_ssl_server_init_full_ec(&pp->sc, pp->chain, 2, BR_KEYTYPE_EC, key);
	/* libcrypto's EC code, as the HTTP side's (ecfast.h) */
	br_ssl_engine_set_ec(&pp->sc.eng, ecfast_impl());
	br_ssl_server_set_single_ec(&pp->sc, pp->chain, 2, key,
				    BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN,
				    BR_KEYTYPE_EC, ecfast_impl(), ecfast_sign_asn1);
	br_ssl_engine_set_versions(&pp->sc.eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_buffer(&pp->sc.eng, pp->sbuf, BR_SSL_BUFSIZE_BIDI, 1);
	return br_ssl_server_reset(&pp->sc) ? 0 : -1;
}

/* The sandbox's first packets.  Return: 1 if anything moved. */
static int sb_startup(struct pgproxy *pp)
{
	struct pgw_startup s;
	int r;

	if (pp->sb != S_STARTUP || !pp->sin.len)
		return 0;
	r = pgw_startup_parse(DATA(pp->sin), pp->sin.len, &s);
	if (r == PGW_NEED_MORE)
		return 0;
	if (r == PGW_BAD) {
		sb_error(pp, "FATAL", "08P01", "islo-net: invalid start-up packet: %s",
			 s.error);
		audit_session(pp, "open", "denied", s.error);
		sb_finish(pp, s.error);
		return 1;
	}
	if (s.code == PGW_SSL_REQUEST && pp->cfg->client_tls && !pp->stls) {
		buf_drop(&pp->sin, s.len);
		if (pp->sin.len) {
			/* they would be taken as sent inside TLS */
			sb_error(pp, "FATAL", "08P01",
				 "islo-net: data after the SSL request");
			sb_finish(pp, "data after the SSL request");
			return 1;
		}
		if (stls_start(pp) < 0) {
			buf_put(&pp->sout, "N", 1);
			return 1;
		}
		buf_put(&pp->sout, "S", 1);
		pp->stls_pending = 1; /* 'S' goes out in the clear, then TLS */
		return 1;
	}
	if (s.code == PGW_SSL_REQUEST || s.code == PGW_GSSENC_REQUEST) {
		buf_drop(&pp->sin, s.len);
		buf_put(&pp->sout, "N", 1);
		return 1;
	}
	if (s.code == PGW_CANCEL_REQUEST) {
		memcpy(pp->cancel, DATA(pp->sin), 16);
		buf_drop(&pp->sin, 16);
		pp->sb = S_CANCEL;
		if (pp->up == U_FAILED)
			sb_finish(pp, "cancel: upstream unreachable");
		return 1;
	}
	if (startup_accept(pp, DATA(pp->sin), &s) < 0) {
		audit_session(pp, "open", "denied", "user, database or parameters not allowed by the profile");
		buf_drop(&pp->sin, s.len);
		sb_finish(pp, "start-up refused");
		return 1;
	}
	buf_drop(&pp->sin, s.len);
	pp->sb = S_WAIT;
	if (pp->up == U_FAILED)
		upstream_failed_to_sandbox(pp);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Upstream start-up and authentication                                */

static void up_send(struct pgproxy *pp, const uint8_t *p, size_t n)
{
	if (buf_put(&pp->uout, p, n) != n)
		up_fail(pp, "internal: upstream buffer full");
}

/* One message while authenticating.  Return: 0 to go on, -1 to stop. */
static int auth_msg(struct pgproxy *pp, uint8_t type, const uint8_t *body,
		    size_t blen, const uint8_t *whole, size_t wlen)
{
	const struct secret *pw = pp->pw;
	uint8_t out[SCRAM_MSG_MAX + 64];
	const uint8_t *data;
	size_t dlen, n;
	uint32_t code;

	if (type == 'E') {
		struct pgw_fields fl;
		char why[200];

		/* upstream's own refusal (wrong password, no such database):
		 * the sandbox gets it as upstream said it */
		buf_put(&pp->sout, whole, wlen);
		if (pgw_error_parse(body, blen, &fl) == 0 && fl.message)
			snprintf(why, sizeof(why), "%s: %.*s",
				 fl.code ? fl.code : "?", (int)(fl.message_len > 150 ? 150 : fl.message_len),
				 fl.message);
		else
			snprintf(why, sizeof(why), "upstream refused the session");
		audit_session(pp, "open", "auth_failed", why);
		pp->session_open = 0;
		pp->up = U_FAILED;
		sb_finish(pp, "upstream refused the session");
		return -1;
	}
	if (type == 'N')
		return 0;
	if (type != 'R' || pgw_auth_parse(body, blen, &code, &data, &dlen) < 0) {
		up_fail(pp, "unexpected message '%c' from upstream while authenticating",
			type >= 0x20 && type < 0x7f ? type : '?');
		return -1;
	}
	switch (code) {
	case PGW_AUTH_OK:
		if (pp->sasl && pp->scram.state != 3) {
			up_fail(pp, "upstream ended SCRAM without proving it knows the password");
			return -1;
		}
		scram_wipe(&pp->scram);
		buf_put(&pp->sout, whole, wlen);
		pp->up = U_RELAY;
		pp->sb = S_RELAY;
		pp->session_open = 1;
		audit_session(pp, "open", "ok", NULL);
		return 0;
	case PGW_AUTH_CLEARTEXT:
		if (pp->cfg->tls == PF_PG_DISABLE) {
			up_fail(pp, "upstream asks for the password in clear text over an unencrypted connection (tls: disable); refused");
			return -1;
		}
		{
			uint8_t *m = malloc(pw->len + 6);

			n = m ? pgw_put_password(m, pw->len + 6, pw->val, pw->len) : 0;
			if (n)
				up_send(pp, m, n);
			if (m)
				explicit_bzero(m, pw->len + 6);
			free(m);
			if (!n)
				goto too_long;
		}
		return 0;
	case PGW_AUTH_MD5: {
		char ans[36];

		if (dlen != 4) {
			up_fail(pp, "malformed md5 authentication request from upstream");
			return -1;
		}
		pg_md5_answer(pw->val, pw->len, pp->cfg->user, data, ans);
		n = pgw_put_msg(out, sizeof(out), 'p', ans, 36);
		explicit_bzero(ans, sizeof(ans));
		up_send(pp, out, n);
		explicit_bzero(out, sizeof(out));
		return 0;
	}
	case PGW_AUTH_SASL: {
		char first[256];
		size_t fl;

		if (pgw_sasl_has_mech(data, dlen, "SCRAM-SHA-256") != 1) {
			up_fail(pp, "upstream offers no SASL mechanism the gateway speaks (SCRAM-SHA-256)");
			return -1;
		}
		fl = scram_client_first(&pp->scram, "", NULL, first, sizeof(first));
		if (!fl || !(n = pgw_put_sasl_initial(out, sizeof(out), "SCRAM-SHA-256",
						       first, fl))) {
			up_fail(pp, "cannot start SCRAM");
			return -1;
		}
		pp->sasl = 1;
		up_send(pp, out, n);
		return 0;
	}
	case PGW_AUTH_SASL_CONTINUE: {
		char fin[SCRAM_MSG_MAX];
		const char *err;
		size_t fl;

		if (!pp->sasl) {
			up_fail(pp, "unexpected SASL message from upstream");
			return -1;
		}
		fl = scram_client_final(&pp->scram, pw->val, pw->len,
					(const char *)data, dlen, fin,
					sizeof(fin), &err);
		if (!fl) {
			up_fail(pp, "%s", err);
			return -1;
		}
		n = pgw_put_msg(out, sizeof(out), 'p', fin, fl);
		explicit_bzero(fin, sizeof(fin));
		up_send(pp, out, n);
		explicit_bzero(out, sizeof(out));
		return 0;
	}
	case PGW_AUTH_SASL_FINAL: {
		const char *err;

		if (!pp->sasl ||
		    scram_verify_server(&pp->scram, (const char *)data, dlen, &err) < 0) {
			up_fail(pp, "%s", pp->sasl ? err : "unexpected SASL message from upstream");
			return -1;
		}
		return 0;
	}
	default:
		up_fail(pp, "upstream asks for an authentication method the gateway does not speak (code %u)",
			code);
		return -1;
	}
too_long:
	up_fail(pp, "password too long for a password message");
	return -1;
}

/* Upstream's side of the start-up.  Return: 1 if anything moved. */
static int up_startup(struct pgproxy *pp)
{
	int moved = 0;

	switch (pp->up) {
	case U_SSLWAIT:
		if (!pp->uin.len) {
			if (pp->up_eof)
				up_fail(pp, "upstream closed the connection before answering the SSL request");
			return 0;
		}
		if (DATA(pp->uin)[0] == 'S') {
			buf_drop(&pp->uin, 1);
			if (tls_start(pp) < 0) {
				up_fail(pp, "cannot start TLS (out of memory?)");
				return 1;
			}
			pp->up = U_TLS;
			return 1;
		}
		if (DATA(pp->uin)[0] == 'N')
			up_fail(pp, "upstream does not accept TLS, and the rule asks for tls: %s",
				tls_name(pp->cfg->tls));
		else
			up_fail(pp, "upstream answered the SSL request with something else: not a PostgreSQL server?");
		return 1;
	case U_TLS:
		if (!(br_ssl_engine_current_state(&pp->cc.eng) & BR_SSL_SENDAPP))
			return 0;
		pp->up = U_READY;
		moved = 1;
		/* fall through */
	case U_READY:
		if (pp->sb == S_CANCEL) {
			up_send(pp, pp->cancel, 16);
			pp->up = U_CANCELLED;
			return 1;
		}
		if (pp->sb != S_WAIT)
			return moved;
		up_send(pp, pp->startup, pp->startup_len);
		pp->up = U_AUTH;
		return 1;
	case U_AUTH:
		while (pp->up == U_AUTH && pp->uin.len) {
			uint8_t type;
			uint32_t blen;
			size_t w;

			if (pgw_header(DATA(pp->uin), pp->uin.len, &type, &blen) ==
			    PGW_NEED_MORE)
				break;
			if (pgw_header(DATA(pp->uin), pp->uin.len, &type, &blen) == PGW_BAD ||
			    blen > PGP_AUTH_MAX) {
				up_fail(pp, "malformed message from upstream while authenticating");
				return 1;
			}
			w = 5 + (size_t)blen;
			if (pp->uin.len < w) {
				if (buf_room(&pp->uin) == 0)
					up_fail(pp, "upstream message too large");
				break;
			}
			if (buf_room(&pp->sout) < w + 64)
				break;
			auth_msg(pp, type, DATA(pp->uin) + 5, blen, DATA(pp->uin), w);
			buf_drop(&pp->uin, w);
			moved = 1;
		}
		if (pp->up == U_AUTH && pp->up_eof && !pp->uin.len)
			up_fail(pp, "upstream closed the connection while authenticating");
		return moved;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Relay: sandbox -> upstream                                          */

/* Put what was decided into uout.  Return: 1 when all of it is there. */
static int fr_flush(struct framer *fr, struct pgbuf *to, int *moved)
{
	size_t n;

	if (!fr->out_len)
		return 1;
	n = buf_put(to, fr->out, fr->out_len);
	fr->out += n;
	fr->out_len -= n;
	if (n)
		*moved = 1;
	return fr->out_len == 0;
}

/**
 * fe_refuse() - Replace a held Query/Parse (or a FunctionCall) by poison
 * @pp:       Session
 * @kind:     'Q' (simple: the server answers Error + ReadyForQuery) or 'P'
 *            (extended: Error, then it discards until Sync)
 * @reason:   Why, for the sandbox and the audit log
 * @text:     Statement text for the audit log, or NULL
 * @tlen:     Its length
 */
static void fe_refuse(struct pgproxy *pp, uint8_t kind, const char *reason,
		      const char *text, size_t tlen)
{
	struct framer *fr = &pp->fe;
	struct item *it = fifo_push(pp, kind == 'P' ? IT_REFUSED : IT_SIMPLE,
				    kind == 'P', text, tlen);
	size_t n;

	if (it) {
		it->refused = 1;
		it->reason = reason;
	}
	pp->nrefused++;
	n = kind == 'P' ? pgw_put_parse(fr->small, sizeof(fr->small), pp->marker) :
			  pgw_put_query(fr->small, sizeof(fr->small), pp->marker);
	fr->out = fr->small;
	fr->out_len = n;
	if (kind == 'P')
		pp->discard_until_sync = 1;
}

/* A held Query or Parse is complete: check it, queue it or its poison. */
static void fe_decide(struct pgproxy *pp)
{
	struct framer *fr = &pp->fe;
	const uint8_t *body = fr->msg.b + 5;
	size_t blen = fr->msg.len - 5, tlen = 0;
	const char *text = NULL, *name, *why = NULL;
	int bad;

	if (fr->type == 'Q')
		bad = pgw_query_parse(body, blen, &text, &tlen) < 0;
	else
		bad = pgw_parse_parse(body, blen, &name, &text, &tlen) < 0;
	if (bad)
		why = "malformed message";
	else if (pp->cfg->read_only)
		pgguard_check(text, tlen, &why);
	if (why) {
		fe_refuse(pp, fr->type, why, text, text ? tlen : 0);
		return;
	}
	if (fr->type == 'Q') {
		fifo_push(pp, IT_SIMPLE, 0, text, tlen);
	} else if (pp->cfg->log_statements) {
		pp->last_parse_len = tlen < PGP_TEXT_MAX ? tlen : PGP_TEXT_MAX - 1;
		memcpy(pp->last_parse, text, pp->last_parse_len);
		pp->last_parse[pp->last_parse_len] = '\0';
	}
	fr->out = fr->msg.b;
	fr->out_len = fr->msg.len;
}

/* Frame and forward the sandbox's messages.  Return: 1 if anything moved. */
static int fe_relay(struct pgproxy *pp)
{
	struct framer *fr = &pp->fe;
	int moved = 0;

	while (pp->sb == S_RELAY) {
		size_t n;

		if (!fr_flush(fr, &pp->uout, &moved))
			return moved;
		if (fr->mode == M_STREAM || fr->mode == M_DISCARD) {
			n = pp->sin.len < fr->left ? pp->sin.len : fr->left;
			if (fr->mode == M_STREAM)
				n = buf_put(&pp->uout, DATA(pp->sin), n);
			if (!n && fr->left)
				return moved;
			buf_drop(&pp->sin, n);
			fr->left -= (uint32_t)n;
			moved |= n > 0;
			if (!fr->left)
				fr->mode = M_HDR;
			continue;
		}
		if (fr->mode == M_BUFFER) {
			n = pp->sin.len < fr->left ? pp->sin.len : fr->left;
			if (!n)
				return moved;
			memcpy(fr->msg.b + fr->msg.len, DATA(pp->sin), n);
			fr->msg.len += n;
			buf_drop(&pp->sin, n);
			fr->left -= (uint32_t)n;
			moved = 1;
			if (!fr->left) {
				fr->mode = M_HDR;
				fe_decide(pp);
			}
			continue;
		}
		/* M_HDR */
		{
			uint8_t type;
			uint32_t blen;
			int r = pgw_header(DATA(pp->sin), pp->sin.len, &type, &blen);

			if (r == PGW_NEED_MORE)
				return moved;
			if (r == PGW_BAD) {
				sb_error(pp, "FATAL", "08P01",
					 "islo-net: invalid message length from the client");
				sb_finish(pp, "protocol violation by the sandbox");
				return 1;
			}
			if (pp->fcount >= PGP_FIFO - 1 &&
			    (type == 'Q' || type == 'P' || type == 'E' ||
			     type == 'S' || type == 'F')) {
				/* too many answers outstanding: make the server
				 * send what it holds, wait for it (CopyData and
				 * the like still pass: a COPY in progress must
				 * be able to finish) */
				if (!pp->flush_sent && buf_room(&pp->uout) >= 5) {
					buf_put(&pp->uout, "H\0\0\0\4", 5);
					pp->flush_sent = 1;
					moved = 1;
				}
				return moved;
			}
			pp->flush_sent = 0;
			if (pp->discard_until_sync && type != 'S') {
				buf_drop(&pp->sin, 5);
				fr->mode = M_DISCARD;
				fr->left = blen;
				moved = 1;
				continue;
			}
			if (type == 'Q' || type == 'P') {
				if (blen <= PGP_QUERY_MAX) {
					if (fr->msg.cap < 5 + (size_t)blen) {
						uint8_t *nb = realloc(fr->msg.b, 5 + (size_t)blen);

						if (!nb) {
							sb_error(pp, "FATAL", "53200",
								 "islo-net: out of memory");
							sb_finish(pp, "out of memory");
							return 1;
						}
						fr->msg.b = nb;
						fr->msg.cap = 5 + (size_t)blen;
					}
					memcpy(fr->msg.b, DATA(pp->sin), 5);
					fr->msg.len = 5;
					buf_drop(&pp->sin, 5);
					fr->type = type;
					fr->left = blen;
					fr->mode = M_BUFFER;
					moved = 1;
					if (!blen) {
						fr->mode = M_HDR;
						fe_decide(pp);
					}
					continue;
				}
				if (pp->cfg->read_only) {
					buf_drop(&pp->sin, 5);
					fr->mode = M_DISCARD;
					fr->left = blen;
					fe_refuse(pp, type, "statement too long for the gateway to check",
						  NULL, 0);
					moved = 1;
					continue;
				}
				if (type == 'Q')
					fifo_push(pp, IT_SIMPLE, 0, NULL, 0);
			} else if (type == 'F' && pp->cfg->read_only) {
				buf_drop(&pp->sin, 5);
				fr->mode = M_DISCARD;
				fr->left = blen;
				fe_refuse(pp, 'Q', "function calls by OID (FunctionCall) are not allowed",
					  NULL, 0);
				moved = 1;
				continue;
			} else if (type == 'E') {
				fifo_push(pp, IT_EXEC, 1, pp->last_parse_len ?
					  pp->last_parse : NULL, pp->last_parse_len);
			} else if (type == 'S') {
				pp->discard_until_sync = 0;
				fifo_push(pp, IT_SYNC, 1, NULL, 0);
			}
			if (buf_room(&pp->uout) < 5)
				return moved;
			buf_put(&pp->uout, DATA(pp->sin), 5);
			buf_drop(&pp->sin, 5);
			fr->type = type;
			fr->left = blen;
			fr->mode = blen ? M_STREAM : M_HDR;
			moved = 1;
		}
	}
	return moved;
}

/* ------------------------------------------------------------------ */
/* Relay: upstream -> sandbox                                          */

/* Does this ErrorResponse answer our poison?  (A syntax error naming the
 * session's marker.) */
static int is_poison_error(const struct pgproxy *pp, const uint8_t *body,
			   size_t blen)
{
	struct pgw_fields fl;

	return pgw_error_parse(body, blen, &fl) == 0 && fl.code &&
	       !strcmp(fl.code, "42601") && fl.message &&
	       memmem(fl.message, fl.message_len, pp->marker, strlen(pp->marker));
}

/* A held upstream message ('C', 'E', 'Z', 'I', 's') is complete. */
static void be_decide(struct pgproxy *pp)
{
	struct framer *fr = &pp->be;
	const uint8_t *body = fr->msg.b + 5;
	size_t blen = fr->msg.len - 5;
	struct item *it = fifo_front(pp);

	fr->out = fr->msg.b;
	fr->out_len = fr->msg.len;
	switch (fr->type) {
	case 'C': {
		const char *tag;
		size_t tl;

		if (it && (it->kind == IT_SIMPLE || it->kind == IT_EXEC) &&
		    pgw_tag_parse(body, blen, &tag, &tl) == 0) {
			audit_query(pp, it, "allow", tag, tl, NULL);
			if (it->kind == IT_EXEC)
				fifo_pop(pp);
		}
		break;
	}
	case 'I':
	case 's':
		if (it && it->kind == IT_EXEC)
			fifo_pop(pp);
		break;
	case 'E': {
		struct pgw_fields fl;

		if (it && it->refused && is_poison_error(pp, body, blen)) {
			size_t n;
			char msg[300];

			snprintf(msg, sizeof(msg),
				 "islo-net: read-only session: %s", it->reason);
			n = pgw_put_error(fr->small, sizeof(fr->small), "ERROR",
					  "25006", msg);
			fr->out = fr->small;
			fr->out_len = n;
			audit_query(pp, it, "deny", NULL, 0, "25006");
			it->refused = 0; /* answered */
			if (it->kind == IT_REFUSED)
				fifo_pop(pp);
			break;
		}
		if (it && it->kind != IT_SYNC && !it->refused &&
		    pgw_error_parse(body, blen, &fl) == 0) {
			audit_query(pp, it, "allow", NULL, 0, fl.code);
			if (it->kind == IT_EXEC)
				fifo_pop(pp);
		}
		break;
	}
	case 'Z':
		if (blen == 1)
			pp->txn = body[0];
		/* everything up to this ReadyForQuery is answered; a
		 * refusal skipped by an earlier error is still logged */
		while ((it = fifo_front(pp))) {
			int last = it->kind == IT_SIMPLE || it->kind == IT_SYNC;

			if (it->refused)
				audit_query(pp, it, "deny", NULL, 0, "25006");
			fifo_pop(pp);
			if (last)
				break;
		}
		break;
	}
}

static int be_relay(struct pgproxy *pp)
{
	struct framer *fr = &pp->be;
	int moved = 0;

	while (pp->up == U_RELAY && pp->sb == S_RELAY) {
		size_t n;

		if (!fr_flush(fr, &pp->sout, &moved))
			return moved;
		if (fr->mode == M_STREAM) {
			n = pp->uin.len < fr->left ? pp->uin.len : fr->left;
			n = buf_put(&pp->sout, DATA(pp->uin), n);
			if (!n && fr->left)
				return moved;
			buf_drop(&pp->uin, n);
			fr->left -= (uint32_t)n;
			moved |= n > 0;
			if (!fr->left)
				fr->mode = M_HDR;
			continue;
		}
		if (fr->mode == M_BUFFER) {
			n = pp->uin.len < fr->left ? pp->uin.len : fr->left;
			if (!n)
				return moved;
			memcpy(fr->msg.b + fr->msg.len, DATA(pp->uin), n);
			fr->msg.len += n;
			buf_drop(&pp->uin, n);
			fr->left -= (uint32_t)n;
			moved = 1;
			if (!fr->left) {
				fr->mode = M_HDR;
				be_decide(pp);
			}
			continue;
		}
		{
			uint8_t type;
			uint32_t blen;
			int r = pgw_header(DATA(pp->uin), pp->uin.len, &type, &blen);

			if (r == PGW_NEED_MORE)
				return moved;
			if (r == PGW_BAD) {
				sb_finish(pp, "malformed message from upstream");
				return 1;
			}
			if ((type == 'C' || type == 'E' || type == 'Z' ||
			     type == 'I' || type == 's') &&
			    (size_t)blen + 5 <= fr->msg.cap) {
				memcpy(fr->msg.b, DATA(pp->uin), 5);
				fr->msg.len = 5;
				buf_drop(&pp->uin, 5);
				fr->type = type;
				fr->left = blen;
				fr->mode = blen ? M_BUFFER : M_HDR;
				if (!blen)
					be_decide(pp);
				moved = 1;
				continue;
			}
			if (buf_room(&pp->sout) < 5)
				return moved;
			buf_put(&pp->sout, DATA(pp->uin), 5);
			buf_drop(&pp->uin, 5);
			fr->type = type;
			fr->left = blen;
			fr->mode = blen ? M_STREAM : M_HDR;
			moved = 1;
		}
	}
	return moved;
}

/* ------------------------------------------------------------------ */
/* Sandbox transport                                                   */

/* Take bytes lwIP holds for us into @dst (at most @room).  Return: count. */
static void pgproxy_free(void *h);

static size_t from_pbufs(struct pgproxy *pp, uint8_t *dst, size_t room)
{
	return flow_sb_read(pp->f, dst, room);
}

/* Give lwIP up to @len bytes of @p.  Return: how many it took. */
static size_t to_pcb(struct pgproxy *pp, const uint8_t *p, size_t len)
{
	struct flow *f = pp->f;
	size_t n = flow_sb_room(f);
	ssize_t w;

	if (!n)
		return 0;
	w = flow_sb_write(f, p, len < n ? len : n);
	return w > 0 ? (size_t)w : 0;
}

static int sandbox_in(struct pgproxy *pp)
{
	int moved = 0;
	size_t room, n;
	uint8_t *p;

	if (pp->stls_pending)
		return 0;
	if (!pp->stls) {
		while (buf_room(&pp->sin)) {
			p = buf_tail(&pp->sin, &room);
			n = from_pbufs(pp, p, room);
			if (!n)
				break;
			pp->sin.len += n;
			moved = 1;
		}
		return moved;
	}
	for (;;) {
		br_ssl_engine_context *eng = &pp->sc.eng;
		int m = 0;

		while ((p = br_ssl_engine_recvrec_buf(eng, &room)) && room &&
		       (n = from_pbufs(pp, p, room))) {
			br_ssl_engine_recvrec_ack(eng, n);
			m = 1;
		}
		while (buf_room(&pp->sin) &&
		       (p = br_ssl_engine_recvapp_buf(eng, &n)) && n) {
			n = buf_put(&pp->sin, p, n);
			br_ssl_engine_recvapp_ack(eng, n);
			m = 1;
		}
		if (!m)
			break;
		moved = 1;
	}
	if (!pp->f->to_host && pp->f->sandbox_eof)
		br_ssl_engine_close(&pp->sc.eng);
	return moved;
}

static int sandbox_out(struct pgproxy *pp)
{
	struct flow *f = pp->f;
	int moved = 0;
	size_t n, len;
	uint8_t *p;

	if (!pp->stls) {
		while (pp->sout.len && (n = to_pcb(pp, DATA(pp->sout), pp->sout.len))) {
			buf_drop(&pp->sout, n);
			moved = 1;
		}
		if (pp->stls_pending && !pp->sout.len) {
			/* 'S' is on its way: from here on, TLS */
			pp->stls_pending = 0;
			pp->stls = 1;
			moved = 1;
		}
	} else {
		br_ssl_engine_context *eng = &pp->sc.eng;

		while (pp->sout.len && (p = br_ssl_engine_sendapp_buf(eng, &len)) &&
		       len) {
			n = pp->sout.len < len ? pp->sout.len : len;
			memcpy(p, DATA(pp->sout), n);
			br_ssl_engine_sendapp_ack(eng, n);
			buf_drop(&pp->sout, n);
			br_ssl_engine_flush(eng, 0);
			moved = 1;
		}
		while ((p = br_ssl_engine_sendrec_buf(eng, &len)) && len &&
		       (n = to_pcb(pp, p, len))) {
			br_ssl_engine_sendrec_ack(eng, n);
			moved = 1;
		}
		if (br_ssl_engine_current_state(eng) == BR_SSL_CLOSED &&
		    pp->sb != S_DONE) {
			int e = br_ssl_engine_last_error(eng);

			sb_finish(pp, e ? "TLS with the sandbox failed" : NULL);
		}
	}
	if (moved && f->pcb)
		tcp_output(f->pcb);
	return moved;
}

/* ------------------------------------------------------------------ */
/* The pump                                                            */

static void pgproxy_pump(struct flow *f)
{
	struct pgproxy *pp = f->h;
	int moved, rounds = 0;
	uint32_t ev = 0;
	size_t len;

	if (!pp || f->state != FLOW_OPEN || f->close_pending)
		return;
	do {
		moved = 0;
		moved |= sandbox_in(pp);
		moved |= sb_startup(pp);
		moved |= fe_relay(pp);
		moved |= up_io(pp);
		moved |= up_startup(pp);
		moved |= be_relay(pp);
		moved |= up_io(pp);
		moved |= sandbox_out(pp);
	} while (moved && ++rounds < 64 && !f->close_pending);

	if (f->close_pending)
		return;
	/* a cancel request is passed on, then the connection ends */
	if (pp->up == U_CANCELLED && !pp->uout.len &&
	    (!pp->tls_on || !br_ssl_engine_sendrec_buf(&pp->cc.eng, &len) || !len)) {
		flow_close_later(f, ACT_ALLOW, "cancel request passed on");
		return;
	}
	if (pp->sb == S_DONE) {
		if (!pp->sout.len &&
		    (!pp->stls || !br_ssl_engine_sendrec_buf(&pp->sc.eng, &len) ||
		     !len)) {
			flow_close_later(f, ACT_ALLOW, pp->close_reason);
			return;
		}
	} else if (f->sandbox_eof && !f->to_host && !pp->uout.len) {
		/* the sandbox is gone (Terminate, or just a close) */
		flow_close_later(f, ACT_ALLOW, NULL);
		return;
	} else if (pp->up_eof && pp->up == U_RELAY && !pp->uin.len &&
		   !pp->be.out_len && !pp->sout.len) {
		flow_close_later(f, ACT_ALLOW, "upstream closed the session");
		return;
	} else if (pp->up == U_FAILED && pp->sb == S_CANCEL) {
		flow_close_later(f, ACT_ALLOW, pp->up_error);
		return;
	}
	if (f->fd >= 0 && pp->up != U_FAILED) {
		if (pp->tls_on) {
			if (!pp->up_eof && br_ssl_engine_recvrec_buf(&pp->cc.eng, &len) &&
			    len)
				ev |= EPOLLIN;
			if (br_ssl_engine_sendrec_buf(&pp->cc.eng, &len) && len)
				ev |= EPOLLOUT;
		} else {
			if (!pp->up_eof && buf_room(&pp->uin))
				ev |= EPOLLIN;
			if (pp->uout.len)
				ev |= EPOLLOUT;
		}
	}
	flow_want_events(f, ev);
}

static void pgproxy_tick(struct flow *f, uint64_t now)
{
	struct pgproxy *pp = f->h;

	if (!pp || f->close_pending || pp->sb == S_RELAY || pp->sb == S_DONE)
		return;
	if (now < pp->deadline)
		return;
	if (pp->sb == S_STARTUP || pp->sb == S_CANCEL) {
		flow_close_later(f, ACT_ALLOW, pp->sb == S_STARTUP ?
				 "no start-up packet from the sandbox in time" :
				 "cancel request timed out");
		return;
	}
	up_fail(pp, "upstream did not complete the start-up within %d s",
		PGP_STARTUP_MS / 1000);
	pgproxy_pump(f);
}

static int pgproxy_start(struct flow *f, int arg)
{
	const struct pf_rule *r = f->dec.rule;
	const struct secrets *ss = f->ps->secrets;
	struct pgproxy *pp;
	uint8_t rnd[12];
	size_t i;

	(void)arg;
	if (!r || !r->pg)
		return -1;
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -1;
	pp->f = f;
	pp->cfg = r->pg;
	pp->t_start = now_ms();
	pp->deadline = pp->t_start + PGP_STARTUP_MS;
	pp->txn = 'I';
	if (buf_init(&pp->sin, PGP_BUF) < 0 || buf_init(&pp->sout, PGP_BUF) < 0 ||
	    buf_init(&pp->uin, PGP_BUF) < 0 || buf_init(&pp->uout, PGP_BUF) < 0 ||
	    buf_init(&pp->be.msg, PGP_BEMSG_MAX + 5) < 0)
		goto fail;
	pp->uout.wipe = 1; /* password messages */
	pp->fifo = calloc(PGP_FIFO, sizeof(*pp->fifo));
	if (!pp->fifo)
		goto fail;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		goto fail;
	i = (size_t)snprintf(pp->marker, sizeof(pp->marker), "islo_net_refused_");
	for (; i < 17 + 2 * sizeof(rnd); i++)
		pp->marker[i] = "0123456789abcdef"[(rnd[(i - 17) / 2] >> ((i & 1) ? 0 : 4)) & 15];
	pp->marker[i] = '\0';
	f->h = pp;
	if (!ss || r->pg->secret_index < 0 || (size_t)r->pg->secret_index >= ss->n) {
		/* secrets are loaded before anything starts: cannot happen */
		snprintf(pp->up_error, sizeof(pp->up_error), "no password loaded");
		pp->up = U_FAILED;
	} else {
		pp->pw = &ss->s[r->pg->secret_index];
	}
	if (pp->up != U_FAILED) {
		if (f->fd < 0) {
			snprintf(pp->up_error, sizeof(pp->up_error), "%s",
				 f->up_fail[0] ? f->up_fail : "not connected");
			pp->up = U_FAILED;
		} else if (r->pg->tls == PF_PG_DISABLE) {
			pp->up = U_READY;
		} else {
			uint8_t req[8];

			pgw_put_ssl_request(req, sizeof(req));
			buf_put(&pp->uout, req, 8);
			pp->up = U_SSLWAIT;
		}
	}
	pp->sb = S_STARTUP;
	pgproxy_pump(f);
	return 0;
fail:
	f->h = NULL;
	pgproxy_free(pp);
	return -1;
}

static void pgproxy_free(void *h)
{
	struct pgproxy *pp = h;

	if (!pp)
		return;
	if (pp->session_open)
		audit_session(pp, "close", "ok", pp->close_reason);
	while (pp->fcount)
		fifo_pop(pp);
	free(pp->fifo);
	buf_free(&pp->sin);
	buf_free(&pp->sout);
	buf_free(&pp->uin);
	buf_free(&pp->uout);
	buf_free(&pp->fe.msg);
	buf_free(&pp->be.msg);
	if (pp->iobuf)
		explicit_bzero(pp->iobuf, BR_SSL_BUFSIZE_BIDI);
	free(pp->iobuf);
	free(pp->sbuf);
	free(pp->leaf);
	explicit_bzero(pp, sizeof(*pp));
	free(pp);
}

/* pgproxy_tick() has deadlines of its own: it looks twice a second */
static uint64_t pg_due(const struct flow *f, uint64_t now)
{
	(void)f;
	return now + 500;
}

/* Fields as in struct flow_ops (flow.h): pgproxy_pump() serves every event,
 * and a start-up that cannot reach upstream is answered in PostgreSQL */
const struct flow_ops pg_ops = { "postgres", pgproxy_start, pgproxy_pump,
				 pgproxy_pump, NULL, pg_due, pgproxy_tick,
				 pgproxy_free, 1 };
