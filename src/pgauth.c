// SPDX-License-Identifier: MIT
/*
 * pgauth.c - the PostgreSQL gateway's upstream side: its transport (plain,
 * or BearSSL after 'S'), the SSL request, our start-up packet and
 * authentication with the profile's password (SCRAM-SHA-256, md5,
 * cleartext) (pgproxy.c says how the gateway works)
 */
#include "pgproxy_int.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "pgwire.h"
#include "upstls.h"

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
		pgp_up_fail(pp, "write: %s", strerror(errno));
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
				pgp_up_fail(pp, "read: %s", strerror(errno));
		}
		n = 0;
	}
	return n;
}

/* Plain: uout to the socket, the socket to uin.  Return: 1 if any moved. */
static int up_io_plain(struct pgproxy *pp)
{
	int moved = 0;

	while (bq_len(&pp->uout)) {
		int n = sock_write(pp, bq_data(&pp->uout), bq_len(&pp->uout));

		if (!n)
			break;
		bq_consume(&pp->uout, (size_t)n);
		moved = 1;
	}
	/* before the SSL answer, read one byte at a time: whatever follows
	 * 'S' must reach the TLS engine, not be taken as the server's */
	while (!pp->up_eof && bq_room(&pp->uin) &&
	       !(pp->up == U_SSLWAIT && bq_len(&pp->uin))) {
		size_t tr;
		uint8_t *t = bq_tail(&pp->uin, &tr);
		ssize_t n = sock_read(pp, t, pp->up == U_SSLWAIT ? 1 : tr);

		if (n <= 0)
			break;
		bq_wrote(&pp->uin, (size_t)n);
		moved = 1;
	}
	return moved;
}

/* TLS: uout through the engine to the socket, the socket through the
 * engine to uin.  Return: 1 if any moved. */
static int up_io_tls(struct pgproxy *pp)
{
	br_ssl_engine_context *eng = &pp->cc.eng;
	int moved = 0, round;
	size_t len, room;
	uint8_t *p;

	for (round = 0; round < 64; round++) {
		int m = pgp_tls_put(eng, &pp->uout);

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
		m |= pgp_tls_get(eng, &pp->uin);
		if (br_ssl_engine_current_state(eng) == BR_SSL_CLOSED) {
			int e = br_ssl_engine_last_error(eng), was = pp->up_eof;

			pp->up_eof = 1;
			if (e && pp->up != U_RELAY)
				pgp_up_fail(pp, "%s", tls_reason(e));
			return moved || m || !was;
		}
		if (!m)
			break;
		moved = 1;
	}
	return moved;
}

/* Move bytes between uin/uout and the socket.  Return: 1 if any moved. */
int pgp_up_io(struct pgproxy *pp)
{
	if (pp->f->fd < 0 || pp->up == U_FAILED)
		return 0;
	return pp->tls_on ? up_io_tls(pp) : up_io_plain(pp);
}

/* ------------------------------------------------------------------ */
/* Upstream start-up and authentication                                */

static void up_send(struct pgproxy *pp, const uint8_t *p, size_t n)
{
	if (bq_put(&pp->uout, p, n) != n)
		pgp_up_fail(pp, "internal: upstream buffer full");
}

/* Upstream's own refusal (wrong password, no such database): the sandbox
 * gets it as upstream said it.  Return: -1 (the session is over). */
static int auth_refused(struct pgproxy *pp, const uint8_t *body, size_t blen,
			const uint8_t *whole, size_t wlen)
{
	struct pgw_fields fl;
	char why[200];

	bq_put(&pp->sout, whole, wlen);
	if (pgw_error_parse(body, blen, &fl) == 0 && fl.message)
		snprintf(why, sizeof(why), "%s: %.*s",
			 fl.code ? fl.code : "?", (int)(fl.message_len > 150 ? 150 : fl.message_len),
			 fl.message);
	else
		snprintf(why, sizeof(why), "upstream refused the session");
	pgp_audit_session(pp, "open", "auth_failed", why);
	pp->session_open = 0;
	pp->up = U_FAILED;
	pgp_sb_finish(pp, "upstream refused the session");
	return -1;
}

/* AuthenticationOk (@whole): believed only after SCRAM's server proof; the
 * sandbox gets it, and the relay starts.  Return: 0, or -1. */
static int auth_ok(struct pgproxy *pp, const uint8_t *whole, size_t wlen)
{
	if (pp->sasl && pp->scram.state != 3) {
		pgp_up_fail(pp, "upstream ended SCRAM without proving it knows the password");
		return -1;
	}
	scram_wipe(&pp->scram);
	bq_put(&pp->sout, whole, wlen);
	pp->up = U_RELAY;
	pp->sb = S_RELAY;
	pp->session_open = 1;
	pgp_audit_session(pp, "open", "ok", NULL);
	return 0;
}

/* A cmd: password older than its secret_ttl is not used (secretfetch.h).
 * Return: 0, or -1 (the session refused with the reason). */
static int pw_fresh(struct pgproxy *pp)
{
	const char *why = secret_stale(pp->pw, secret_now_ms());

	if (!why)
		return 0;
	pgp_up_fail(pp, "%s", why);
	return -1;
}

/* The password in clear text: only inside TLS.  Return: 0, or -1. */
static int auth_cleartext(struct pgproxy *pp)
{
	const struct secret *pw = pp->pw;
	uint8_t *m;
	size_t n;

	if (pw_fresh(pp) < 0)
		return -1;
	if (pp->cfg->tls == PF_PG_DISABLE) {
		pgp_up_fail(pp, "upstream asks for the password in clear text over an unencrypted connection (tls: disable); refused");
		return -1;
	}
	m = malloc(pw->len + 6);
	n = m ? pgw_put_password(m, pw->len + 6, pw->val, pw->len) : 0;
	if (n)
		up_send(pp, m, n);
	if (m)
		explicit_bzero(m, pw->len + 6);
	free(m);
	if (!n) {
		pgp_up_fail(pp, "password too long for a password message");
		return -1;
	}
	return 0;
}

/* md5 with the 4-byte salt in @data.  Return: 0, or -1. */
static int auth_md5(struct pgproxy *pp, const uint8_t *data, size_t dlen)
{
	const struct secret *pw = pp->pw;
	uint8_t out[SCRAM_MSG_MAX + 64];
	char ans[36];
	size_t n;

	if (pw_fresh(pp) < 0)
		return -1;
	if (dlen != 4) {
		pgp_up_fail(pp, "malformed md5 authentication request from upstream");
		return -1;
	}
	pg_md5_answer(pw->val, pw->len, pp->cfg->user, data, ans);
	n = pgw_put_msg(out, sizeof(out), 'p', ans, 36);
	explicit_bzero(ans, sizeof(ans));
	up_send(pp, out, n);
	explicit_bzero(out, sizeof(out));
	return 0;
}

/* AuthenticationSASL: the mechanisms in @data; our client-first message.
 * Return: 0, or -1. */
static int auth_sasl(struct pgproxy *pp, const uint8_t *data, size_t dlen)
{
	uint8_t out[SCRAM_MSG_MAX + 64];
	char first[256];
	size_t fl, n;

	if (pgw_sasl_has_mech(data, dlen, "SCRAM-SHA-256") != 1) {
		pgp_up_fail(pp, "upstream offers no SASL mechanism the gateway speaks (SCRAM-SHA-256)");
		return -1;
	}
	fl = scram_client_first(&pp->scram, "", NULL, first, sizeof(first));
	if (!fl || !(n = pgw_put_sasl_initial(out, sizeof(out), "SCRAM-SHA-256",
					       first, fl))) {
		pgp_up_fail(pp, "cannot start SCRAM");
		return -1;
	}
	pp->sasl = 1;
	up_send(pp, out, n);
	return 0;
}

/* AuthenticationSASLContinue: the server-first message in @data; our
 * client-final message with the proof.  Return: 0, or -1. */
static int auth_sasl_continue(struct pgproxy *pp, const uint8_t *data,
			      size_t dlen)
{
	const struct secret *pw = pp->pw;
	uint8_t out[SCRAM_MSG_MAX + 64];
	char fin[SCRAM_MSG_MAX];
	const char *err;
	size_t fl, n;

	if (pw_fresh(pp) < 0)
		return -1;
	if (!pp->sasl) {
		pgp_up_fail(pp, "unexpected SASL message from upstream");
		return -1;
	}
	fl = scram_client_final(&pp->scram, pw->val, pw->len,
				(const char *)data, dlen, fin,
				sizeof(fin), &err);
	if (!fl) {
		pgp_up_fail(pp, "%s", err);
		return -1;
	}
	n = pgw_put_msg(out, sizeof(out), 'p', fin, fl);
	explicit_bzero(fin, sizeof(fin));
	up_send(pp, out, n);
	explicit_bzero(out, sizeof(out));
	return 0;
}

/* AuthenticationSASLFinal: the server's signature, checked.  Return: 0,
 * or -1. */
static int auth_sasl_final(struct pgproxy *pp, const uint8_t *data,
			   size_t dlen)
{
	const char *err;

	if (!pp->sasl ||
	    scram_verify_server(&pp->scram, (const char *)data, dlen, &err) < 0) {
		pgp_up_fail(pp, "%s", pp->sasl ? err : "unexpected SASL message from upstream");
		return -1;
	}
	return 0;
}

/**
 * auth_msg() - One upstream message while authenticating
 * @pp:    Session
 * @type:  Its type
 * @body:  Its body
 * @blen:  The body's length
 * @whole: The whole message (header and body), passed on as it is
 * @wlen:  Its length
 * Return: 0 to go on, -1 to stop
 */
static int auth_msg(struct pgproxy *pp, uint8_t type, const uint8_t *body,
		    size_t blen, const uint8_t *whole, size_t wlen)
{
	const uint8_t *data;
	size_t dlen;
	uint32_t code;

	if (type == 'E')
		return auth_refused(pp, body, blen, whole, wlen);
	if (type == 'N')
		return 0;
	if (type != 'R' || pgw_auth_parse(body, blen, &code, &data, &dlen) < 0) {
		pgp_up_fail(pp, "unexpected message '%c' from upstream while authenticating",
			    type >= 0x20 && type < 0x7f ? type : '?');
		return -1;
	}
	switch (code) {
	case PGW_AUTH_OK:
		return auth_ok(pp, whole, wlen);
	case PGW_AUTH_CLEARTEXT:
		return auth_cleartext(pp);
	case PGW_AUTH_MD5:
		return auth_md5(pp, data, dlen);
	case PGW_AUTH_SASL:
		return auth_sasl(pp, data, dlen);
	case PGW_AUTH_SASL_CONTINUE:
		return auth_sasl_continue(pp, data, dlen);
	case PGW_AUTH_SASL_FINAL:
		return auth_sasl_final(pp, data, dlen);
	default:
		pgp_up_fail(pp, "upstream asks for an authentication method the gateway does not speak (code %u)",
			    code);
		return -1;
	}
}

/* U_SSLWAIT: upstream's answer to our SSLRequest.  Return: 1 if anything
 * moved. */
static int up_ssl_answer(struct pgproxy *pp)
{
	if (!bq_len(&pp->uin)) {
		if (pp->up_eof)
			pgp_up_fail(pp, "upstream closed the connection before answering the SSL request");
		return 0;
	}
	if (bq_data(&pp->uin)[0] == 'S') {
		bq_consume(&pp->uin, 1);
		if (tls_start(pp) < 0) {
			pgp_up_fail(pp, "cannot start TLS (out of memory?)");
			return 1;
		}
		pp->up = U_TLS;
		return 1;
	}
	if (bq_data(&pp->uin)[0] == 'N')
		pgp_up_fail(pp, "upstream does not accept TLS, and the rule asks for tls: %s",
			    pgp_tls_name(pp->cfg->tls));
	else
		pgp_up_fail(pp, "upstream answered the SSL request with something else: not a PostgreSQL server?");
	return 1;
}

/* U_AUTH: upstream's messages, each whole, until the session is open or
 * refused.  Return: 1 if anything moved. */
static int up_auth(struct pgproxy *pp)
{
	int moved = 0;

	while (pp->up == U_AUTH && bq_len(&pp->uin)) {
		uint8_t type;
		uint32_t blen;
		size_t w;
		int r = pgw_header(bq_data(&pp->uin), bq_len(&pp->uin), &type, &blen);

		if (r == PGW_NEED_MORE)
			break;
		if (r == PGW_BAD || blen > PGP_AUTH_MAX) {
			pgp_up_fail(pp, "malformed message from upstream while authenticating");
			return 1;
		}
		w = 5 + (size_t)blen;
		if (bq_len(&pp->uin) < w) {
			if (bq_room(&pp->uin) == 0)
				pgp_up_fail(pp, "upstream message too large");
			break;
		}
		if (bq_room(&pp->sout) < w + 64)
			break;
		auth_msg(pp, type, bq_data(&pp->uin) + 5, blen, bq_data(&pp->uin), w);
		bq_consume(&pp->uin, w);
		moved = 1;
	}
	if (pp->up == U_AUTH && pp->up_eof && !bq_len(&pp->uin))
		pgp_up_fail(pp, "upstream closed the connection while authenticating");
	return moved;
}

/* Upstream's side of the start-up.  Return: 1 if anything moved. */
int pgp_up_startup(struct pgproxy *pp)
{
	int moved = 0;

	switch (pp->up) {
	case U_SSLWAIT:
		return up_ssl_answer(pp);
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
		return up_auth(pp);
	default:
		return 0;
	}
}
