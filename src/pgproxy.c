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
 *
 * The code: this file is the handler (start, the pump, deadlines, free);
 * the sandbox side is pgfront.c, the upstream side and authentication
 * pgauth.c, the relay pgrelay.c, audit and errors pgsession.c
 * (pgproxy_int.h says which calls which).
 */
#include "pgproxy_int.h"

#include <stdio.h>
#include <sys/epoll.h>
#include <sys/random.h>

#include "pgwire.h"

/* ------------------------------------------------------------------ */
/* Buffers                                                             */

/* A byte queue of @cap bytes, taken now; @wipe: it carries passwords. */
static int pq_init(struct bytequeue *q, size_t cap, int wipe)
{
	bq_init(q, cap, wipe);
	return bq_take(q);
}

static void msg_free(struct pgmsg *m)
{
	if (m->b)
		explicit_bzero(m->b, m->cap);
	free(m->b);
	m->b = NULL;
	m->len = m->cap = 0;
}

/* ------------------------------------------------------------------ */
/* The pump                                                            */

/* Is @eng (NULL: no TLS) done sending its records? */
static int tls_sent(br_ssl_engine_context *eng)
{
	size_t len;

	return !eng || !br_ssl_engine_sendrec_buf(eng, &len) || !len;
}

/* Does the session end now?  Return: 1 if its close is asked for. */
static int pgproxy_ending(struct flow *f, struct pgproxy *pp)
{
	const char *why;

	/* a cancel request is passed on, then the connection ends */
	if (pp->up == U_CANCELLED && !bq_len(&pp->uout) &&
	    tls_sent(pp->tls_on ? &pp->cc.eng : NULL)) {
		why = "cancel request passed on";
	} else if (pp->sb == S_DONE) {
		if (bq_len(&pp->sout) || !tls_sent(pp->stls ? &pp->sc.eng : NULL))
			return 0;
		why = pp->close_reason;
	} else if (f->sandbox_eof && !f->to_host && !bq_len(&pp->uout)) {
		/* the sandbox is gone (Terminate, or just a close) */
		why = NULL;
	} else if (pp->up_eof && pp->up == U_RELAY && !bq_len(&pp->uin) &&
		   !pp->be.out_len && !bq_len(&pp->sout)) {
		why = "upstream closed the session";
	} else if (pp->up == U_FAILED && pp->sb == S_CANCEL) {
		why = pp->up_error;
	} else {
		return 0;
	}
	flow_close_later(f, ACT_ALLOW, why);
	return 1;
}

/* The upstream socket's epoll interest. */
static uint32_t pgproxy_up_events(const struct flow *f, struct pgproxy *pp)
{
	uint32_t ev = 0;
	size_t len;

	if (f->fd < 0 || pp->up == U_FAILED)
		return 0;
	if (pp->tls_on) {
		if (!pp->up_eof && br_ssl_engine_recvrec_buf(&pp->cc.eng, &len) &&
		    len)
			ev |= EPOLLIN;
		if (br_ssl_engine_sendrec_buf(&pp->cc.eng, &len) && len)
			ev |= EPOLLOUT;
	} else {
		if (!pp->up_eof && bq_room(&pp->uin))
			ev |= EPOLLIN;
		if (bq_len(&pp->uout))
			ev |= EPOLLOUT;
	}
	return ev;
}

static void pgproxy_pump(struct flow *f)
{
	struct pgproxy *pp = f->h;
	int moved, rounds = 0;

	if (!pp || f->state != FLOW_OPEN || f->close_pending)
		return;
	do {
		moved = 0;
		moved |= pgp_sandbox_in(pp);
		moved |= pgp_sb_startup(pp);
		moved |= pgp_fe_relay(pp);
		moved |= pgp_up_io(pp);
		moved |= pgp_up_startup(pp);
		moved |= pgp_be_relay(pp);
		moved |= pgp_up_io(pp);
		moved |= pgp_sandbox_out(pp);
	} while (moved && ++rounds < 64 && !f->close_pending);

	if (f->close_pending || pgproxy_ending(f, pp))
		return;
	flow_want_events(f, pgproxy_up_events(f, pp));
}

/* pgproxy_tick() has deadlines of its own: it looks twice a second */
static uint64_t pg_due(const struct flow *f, uint64_t now)
{
	(void)f;
	return now + 500;
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
	pgp_up_fail(pp, "upstream did not complete the start-up within %d s",
		    PGP_STARTUP_MS / 1000);
	pgproxy_pump(f);
}

/* ------------------------------------------------------------------ */
/* Start and end                                                       */

/* The marker a refused statement's poison names: per session, so that a
 * syntax error of the sandbox's own is never taken for ours.
 * Return: 0, or -1. */
static int make_marker(struct pgproxy *pp)
{
	uint8_t rnd[12];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	i = (size_t)snprintf(pp->marker, sizeof(pp->marker), "islo_net_refused_");
	for (; i < 17 + 2 * sizeof(rnd); i++)
		pp->marker[i] = "0123456789abcdef"[(rnd[(i - 17) / 2] >> ((i & 1) ? 0 : 4)) & 15];
	pp->marker[i] = '\0';
	return 0;
}

/* Upstream's first state: failed already (no password, not connected),
 * ready, or an SSLRequest queued. */
static void up_begin(struct pgproxy *pp, const struct pf_rule *r,
		     const struct secrets *ss)
{
	struct flow *f = pp->f;

	if (!ss || r->pg->secret_index < 0 || (size_t)r->pg->secret_index >= ss->n) {
		/* secrets are loaded before anything starts: cannot happen */
		snprintf(pp->up_error, sizeof(pp->up_error), "no password loaded");
		pp->up = U_FAILED;
		return;
	}
	secrets_refresh_idx(ss, &r->pg->secret_index, 1);
	pp->pw = &ss->s[r->pg->secret_index];
	if (f->fd < 0) {
		snprintf(pp->up_error, sizeof(pp->up_error), "%s",
			 f->up_fail[0] ? f->up_fail : "not connected");
		pp->up = U_FAILED;
	} else if (r->pg->tls == PF_PG_DISABLE) {
		pp->up = U_READY;
	} else {
		uint8_t req[8];

		pgw_put_ssl_request(req, sizeof(req));
		bq_put(&pp->uout, req, 8);
		pp->up = U_SSLWAIT;
	}
}

/* The session goes (the flow is freed, or its start failed). */
static void pgproxy_free(void *h)
{
	struct pgproxy *pp = h;

	if (!pp)
		return;
	if (pp->session_open)
		pgp_audit_session(pp, "close", "ok", pp->close_reason);
	while (pp->fcount)
		pgp_fifo_pop(pp);
	free(pp->fifo);
	bq_free(&pp->sin);
	bq_free(&pp->sout);
	bq_free(&pp->uin);
	bq_free(&pp->uout);
	msg_free(&pp->fe.msg);
	msg_free(&pp->be.msg);
	if (pp->iobuf)
		explicit_bzero(pp->iobuf, BR_SSL_BUFSIZE_BIDI);
	free(pp->iobuf);
	free(pp->sbuf);
	free(pp->leaf);
	explicit_bzero(pp, sizeof(*pp));
	free(pp);
}

static int pgproxy_start(struct flow *f, int arg)
{
	const struct pf_rule *r = f->dec.rule;
	struct pgproxy *pp;

	(void)arg;
	if (!r || !r->pg)
		return -1;
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -1;
	f->h = pp;
	pp->f = f;
	pp->cfg = r->pg;
	pp->t_start = now_ms();
	pp->deadline = pp->t_start + PGP_STARTUP_MS;
	pp->txn = 'I';
	pp->be.msg.cap = PGP_BEMSG_MAX + 5;
	pp->be.msg.b = malloc(pp->be.msg.cap);
	/* uout carries password messages: wiped as they go */
	if (pq_init(&pp->sin, PGP_BUF, 0) < 0 || pq_init(&pp->sout, PGP_BUF, 0) < 0 ||
	    pq_init(&pp->uin, PGP_BUF, 0) < 0 || pq_init(&pp->uout, PGP_BUF, 1) < 0 ||
	    !pp->be.msg.b)
		goto fail;
	pp->fifo = calloc(PGP_FIFO, sizeof(*pp->fifo));
	if (!pp->fifo || make_marker(pp) < 0)
		goto fail;
	up_begin(pp, r, f->ps->secrets);
	pp->sb = S_STARTUP;
	pgproxy_pump(f);
	return 0;
fail:
	f->h = NULL;
	pgproxy_free(pp);
	return -1;
}

/* Fields as in struct flow_ops (flow.h): pgproxy_pump() serves every event,
 * and a start-up that cannot reach upstream is answered in PostgreSQL */
const struct flow_ops pg_ops = { "postgres", pgproxy_start, pgproxy_pump,
				 pgproxy_pump, NULL, pg_due, pgproxy_tick,
				 pgproxy_free, 1 };
