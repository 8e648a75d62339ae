// SPDX-License-Identifier: MIT
/*
 * pgrelay.c - the PostgreSQL gateway's relay, both ways: messages framed,
 * Query and Parse held for the read-only guard, refusals replaced by
 * poison, answers paired with their requests (pgproxy.c says how the
 * gateway works)
 */
#include "pgproxy_int.h"

#include <stdio.h>

#include "pgguard.h"
#include "pgwire.h"

/* ------------------------------------------------------------------ */
/* Framing, either way                                                 */

/* Put what was decided into @to.  Return: 1 when all of it is there. */
static int fr_flush(struct framer *fr, struct bytequeue *to, int *moved)
{
	size_t n;

	if (!fr->out_len)
		return 1;
	n = bq_put(to, fr->out, fr->out_len);
	fr->out += n;
	fr->out_len -= n;
	if (n)
		*moved = 1;
	return fr->out_len == 0;
}

/* Hold the message whose header is at @from (fr->msg has room for it).
 * Return: 1 if it is complete already (no body). */
static int fr_hold(struct framer *fr, struct bytequeue *from, uint8_t type,
		   uint32_t blen)
{
	memcpy(fr->msg.b, bq_data(from), 5);
	fr->msg.len = 5;
	bq_consume(from, 5);
	fr->type = type;
	fr->left = blen;
	fr->mode = blen ? M_BUFFER : M_HDR;
	return !blen;
}

/* Pass the header at @from on to @to; the body streams after it.
 * Return: 1, or 0 if @to has no room for it. */
static int fr_pass(struct framer *fr, struct bytequeue *from, struct bytequeue *to,
		   uint8_t type, uint32_t blen, int *moved)
{
	if (bq_room(to) < 5)
		return 0;
	bq_put(to, bq_data(from), 5);
	bq_consume(from, 5);
	fr->type = type;
	fr->left = blen;
	fr->mode = blen ? M_STREAM : M_HDR;
	*moved = 1;
	return 1;
}

/* Drop the message whose header is at @from, its body as it comes. */
static void fr_skip(struct framer *fr, struct bytequeue *from, uint32_t blen)
{
	bq_consume(from, 5);
	fr->mode = M_DISCARD;
	fr->left = blen;
}

/* A message's length is impossible: the session ends (the sandbox is told
 * when the message was its own). */
static void fr_bad(struct pgproxy *pp, const struct framer *fr)
{
	if (fr == &pp->fe) {
		pgp_sb_error(pp, "FATAL", "08P01",
			     "islo-net: invalid message length from the client");
		pgp_sb_finish(pp, "protocol violation by the sandbox");
	} else {
		pgp_sb_finish(pp, "malformed message from upstream");
	}
}

/**
 * fr_run() - Frame one direction's messages while the relay runs
 * @pp:     Session
 * @fr:     The direction's framer
 * @from:   Bytes from that side
 * @to:     Bytes toward the other side
 * @header: At a message's header (its type, its body's length): hold it,
 *          pass it on, drop or refuse it.  Return: 1 to go on, 0 to stop
 *          (no room yet, or the session ends)
 * @decide: A held message is complete
 * Return: 1 if anything moved
 */
static int fr_run(struct pgproxy *pp, struct framer *fr, struct bytequeue *from,
		  struct bytequeue *to,
		  int (*header)(struct pgproxy *pp, uint8_t type, uint32_t blen,
				int *moved),
		  void (*decide)(struct pgproxy *pp))
{
	int moved = 0;

	while (pp->sb == S_RELAY) {
		uint8_t type;
		uint32_t blen;
		size_t n;
		int r;

		if (!fr_flush(fr, to, &moved))
			return moved;
		if (fr->mode == M_STREAM || fr->mode == M_DISCARD) {
			n = bq_len(from) < fr->left ? bq_len(from) : fr->left;
			if (fr->mode == M_STREAM)
				n = bq_put(to, bq_data(from), n);
			if (!n && fr->left)
				return moved;
			bq_consume(from, n);
			fr->left -= (uint32_t)n;
			moved |= n > 0;
			if (!fr->left)
				fr->mode = M_HDR;
			continue;
		}
		if (fr->mode == M_BUFFER) {
			n = bq_len(from) < fr->left ? bq_len(from) : fr->left;
			if (!n)
				return moved;
			memcpy(fr->msg.b + fr->msg.len, bq_data(from), n);
			fr->msg.len += n;
			bq_consume(from, n);
			fr->left -= (uint32_t)n;
			moved = 1;
			if (!fr->left) {
				fr->mode = M_HDR;
				decide(pp);
			}
			continue;
		}
		r = pgw_header(bq_data(from), bq_len(from), &type, &blen);
		if (r == PGW_NEED_MORE)
			return moved;
		if (r == PGW_BAD) {
			fr_bad(pp, fr);
			return 1;
		}
		if (!header(pp, type, blen, &moved))
			return moved;
	}
	return moved;
}

/* ------------------------------------------------------------------ */
/* Relay: sandbox -> upstream                                          */

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
	struct item *it = pgp_fifo_push(pp, kind == 'P' ? IT_REFUSED : IT_SIMPLE,
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
		pgp_fifo_push(pp, IT_SIMPLE, 0, text, tlen);
	} else if (pp->cfg->log_statements) {
		pp->last_parse_len = tlen < PGP_TEXT_MAX ? tlen : PGP_TEXT_MAX - 1;
		memcpy(pp->last_parse, text, pp->last_parse_len);
		pp->last_parse[pp->last_parse_len] = '\0';
	}
	fr->out = fr->msg.b;
	fr->out_len = fr->msg.len;
}

/* Too many answers outstanding: make the server send what it holds, and
 * wait for it (CopyData and the like still pass: a COPY in progress must
 * be able to finish).  Return: 0 (wait). */
static int fe_throttle(struct pgproxy *pp, int *moved)
{
	if (!pp->flush_sent && bq_room(&pp->uout) >= 5) {
		bq_put(&pp->uout, "H\0\0\0\4", 5);
		pp->flush_sent = 1;
		*moved = 1;
	}
	return 0;
}

/* Hold a Query or Parse (at most PGP_QUERY_MAX) until it is whole, for
 * fe_decide().  Return: 1 to go on, 0 to stop. */
static int fe_hold(struct pgproxy *pp, uint8_t type, uint32_t blen,
		   int *moved)
{
	struct framer *fr = &pp->fe;

	if (fr->msg.cap < 5 + (size_t)blen) {
		uint8_t *nb = realloc(fr->msg.b, 5 + (size_t)blen);

		if (!nb) {
			pgp_sb_error(pp, "FATAL", "53200",
				     "islo-net: out of memory");
			pgp_sb_finish(pp, "out of memory");
			*moved = 1;
			return 0;
		}
		fr->msg.b = nb;
		fr->msg.cap = 5 + (size_t)blen;
	}
	if (fr_hold(fr, &pp->sin, type, blen))
		fe_decide(pp);
	*moved = 1;
	return 1;
}

/* A message passed on unseen: the requests it makes, for the audit log. */
static void fe_note(struct pgproxy *pp, uint8_t type)
{
	if (type == 'Q') {
		pgp_fifo_push(pp, IT_SIMPLE, 0, NULL, 0);
	} else if (type == 'E') {
		pgp_fifo_push(pp, IT_EXEC, 1, pp->last_parse_len ?
			      pp->last_parse : NULL, pp->last_parse_len);
	} else if (type == 'S') {
		pp->discard_until_sync = 0;
		pgp_fifo_push(pp, IT_SYNC, 1, NULL, 0);
	}
}

/* At a message's header from the sandbox (fr_run()'s @header). */
static int fe_header(struct pgproxy *pp, uint8_t type, uint32_t blen,
		     int *moved)
{
	struct framer *fr = &pp->fe;

	if (pp->fcount >= PGP_FIFO - 1 &&
	    (type == 'Q' || type == 'P' || type == 'E' || type == 'S' ||
	     type == 'F'))
		return fe_throttle(pp, moved);
	pp->flush_sent = 0;
	if (pp->discard_until_sync && type != 'S') {
		fr_skip(fr, &pp->sin, blen);
		*moved = 1;
		return 1;
	}
	if ((type == 'Q' || type == 'P') && blen <= PGP_QUERY_MAX)
		return fe_hold(pp, type, blen, moved);
	if (pp->cfg->read_only && (type == 'Q' || type == 'P' || type == 'F')) {
		/* too long to check, or a function named by OID */
		fr_skip(fr, &pp->sin, blen);
		if (type == 'F')
			fe_refuse(pp, 'Q', "function calls by OID (FunctionCall) are not allowed",
				  NULL, 0);
		else
			fe_refuse(pp, type, "statement too long for the gateway to check",
				  NULL, 0);
		*moved = 1;
		return 1;
	}
	/* noted once: with no room, the header is read again next time */
	if (bq_room(&pp->uout) < 5)
		return 0;
	fe_note(pp, type);
	return fr_pass(fr, &pp->sin, &pp->uout, type, blen, moved);
}

/* Frame and forward the sandbox's messages.  Return: 1 if anything moved. */
int pgp_fe_relay(struct pgproxy *pp)
{
	return fr_run(pp, &pp->fe, &pp->sin, &pp->uout, fe_header, fe_decide);
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
	struct item *it = pgp_fifo_front(pp);

	fr->out = fr->msg.b;
	fr->out_len = fr->msg.len;
	switch (fr->type) {
	case 'C': {
		const char *tag;
		size_t tl;

		if (it && (it->kind == IT_SIMPLE || it->kind == IT_EXEC) &&
		    pgw_tag_parse(body, blen, &tag, &tl) == 0) {
			pgp_audit_query(pp, it, "allow", tag, tl, NULL);
			if (it->kind == IT_EXEC)
				pgp_fifo_pop(pp);
		}
		break;
	}
	case 'I':
	case 's':
		if (it && it->kind == IT_EXEC)
			pgp_fifo_pop(pp);
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
			pgp_audit_query(pp, it, "deny", NULL, 0, "25006");
			it->refused = 0; /* answered */
			if (it->kind == IT_REFUSED)
				pgp_fifo_pop(pp);
			break;
		}
		if (it && it->kind != IT_SYNC && !it->refused &&
		    pgw_error_parse(body, blen, &fl) == 0) {
			pgp_audit_query(pp, it, "allow", NULL, 0, fl.code);
			if (it->kind == IT_EXEC)
				pgp_fifo_pop(pp);
		}
		break;
	}
	case 'Z':
		if (blen == 1)
			pp->txn = body[0];
		/* everything up to this ReadyForQuery is answered; a
		 * refusal skipped by an earlier error is still logged */
		while ((it = pgp_fifo_front(pp))) {
			int last = it->kind == IT_SIMPLE || it->kind == IT_SYNC;

			if (it->refused)
				pgp_audit_query(pp, it, "deny", NULL, 0, "25006");
			pgp_fifo_pop(pp);
			if (last)
				break;
		}
		break;
	}
}

/* At a message's header from upstream (fr_run()'s @header): the answers
 * ('C', 'E', 'Z', 'I', 's') are held, the rest streams. */
static int be_header(struct pgproxy *pp, uint8_t type, uint32_t blen,
		     int *moved)
{
	struct framer *fr = &pp->be;

	if ((type == 'C' || type == 'E' || type == 'Z' || type == 'I' ||
	     type == 's') &&
	    (size_t)blen + 5 <= fr->msg.cap) {
		if (fr_hold(fr, &pp->uin, type, blen))
			be_decide(pp);
		*moved = 1;
		return 1;
	}
	return fr_pass(fr, &pp->uin, &pp->sout, type, blen, moved);
}

/* Frame and forward upstream's messages.  Return: 1 if anything moved.
 * (Nothing here changes pp->up: checked once, not every round.) */
int pgp_be_relay(struct pgproxy *pp)
{
	if (pp->up != U_RELAY)
		return 0;
	return fr_run(pp, &pp->be, &pp->uin, &pp->sout, be_header, be_decide);
}
