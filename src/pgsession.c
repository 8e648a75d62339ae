// SPDX-License-Identifier: MIT
/*
 * pgsession.c - the PostgreSQL gateway's bookkeeping: audit events, the
 * requests awaiting answers, errors of our own, the end of a session, and
 * the TLS engines fed from the byte queues (pgproxy.c says how the gateway
 * works)
 */
#include "pgproxy_int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>

#include "audit.h"
#include "pgwire.h"

/* ------------------------------------------------------------------ */
/* Audit                                                               */

const char *pgp_tls_name(int t)
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

void pgp_audit_session(struct pgproxy *pp, const char *phase,
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
	audit_str(&e, "tls", pgp_tls_name(pp->cfg->tls));
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
 * pgp_audit_query() - A db_query event
 * @pp:     Session
 * @it:     The request it answers
 * @action: "allow" or "deny"
 * @tag:    CommandComplete tag, or NULL
 * @tlen:   Its length
 * @state:  SQLSTATE of an error, or NULL
 */
void pgp_audit_query(struct pgproxy *pp, const struct item *it,
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

struct item *pgp_fifo_front(struct pgproxy *pp)
{
	return pp->fcount ? &pp->fifo[pp->fhead] : NULL;
}

void pgp_fifo_pop(struct pgproxy *pp)
{
	struct item *it = pgp_fifo_front(pp);

	if (!it)
		return;
	free(it->text);
	it->text = NULL;
	pp->fhead = (pp->fhead + 1) % PGP_FIFO;
	pp->fcount--;
}

struct item *pgp_fifo_push(struct pgproxy *pp, int kind, int extended,
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
void pgp_sb_error(struct pgproxy *pp, const char *sev, const char *code,
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
		bq_put(&pp->sout, out, n);
}

/* End the session after what is queued for the sandbox is sent. */
void pgp_sb_finish(struct pgproxy *pp, const char *reason)
{
	pp->sb = S_DONE;
	if (!pp->close_reason)
		pp->close_reason = reason;
}

/* The sandbox is waiting for a session upstream cannot give: say why. */
void pgp_up_failed_to_sandbox(struct pgproxy *pp)
{
	pgp_audit_session(pp, "open", "upstream_failed", pp->up_error);
	pp->session_open = 0;
	pgp_sb_error(pp, "FATAL", "08006",
		     "islo-net: cannot reach the database upstream for %s: %s",
		     pp->f->host, pp->up_error);
	pgp_sb_finish(pp, pp->up_error);
}

/* Upstream cannot be used: tell the sandbox now or once it has asked. */
void pgp_up_fail(struct pgproxy *pp, const char *fmt, ...)
{
	va_list ap;

	if (pp->up == U_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(pp->up_error, sizeof(pp->up_error), fmt, ap);
	va_end(ap);
	pp->up = U_FAILED;
	if (pp->sb == S_WAIT)
		pgp_up_failed_to_sandbox(pp);
	else if (pp->sb == S_RELAY || pp->sb == S_CANCEL)
		pgp_sb_finish(pp, pp->up_error);
}

/* ------------------------------------------------------------------ */
/* TLS engines and the byte queues                                     */

/* Hand @eng the application bytes queued in @b, flushed at once.
 * Return: 1 if any moved. */
int pgp_tls_put(br_ssl_engine_context *eng, struct bytequeue *b)
{
	int moved = 0;
	size_t room, n;
	uint8_t *p;

	while (bq_len(b) && (p = br_ssl_engine_sendapp_buf(eng, &room)) && room) {
		n = bq_len(b) < room ? bq_len(b) : room;
		memcpy(p, bq_data(b), n);
		br_ssl_engine_sendapp_ack(eng, n);
		bq_consume(b, n);
		br_ssl_engine_flush(eng, 0);
		moved = 1;
	}
	return moved;
}

/* Queue in @b the application bytes @eng has decrypted, as many as fit.
 * Return: 1 if any moved. */
int pgp_tls_get(br_ssl_engine_context *eng, struct bytequeue *b)
{
	int moved = 0;
	size_t len, n;
	uint8_t *p;

	while (bq_room(b) && (p = br_ssl_engine_recvapp_buf(eng, &len)) &&
	       len) {
		n = bq_put(b, p, len);
		br_ssl_engine_recvapp_ack(eng, n);
		moved = 1;
	}
	return moved;
}
