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
/* Relay: sandbox -> upstream                                          */

/* Put what was decided into uout.  Return: 1 when all of it is there. */
static int fr_flush(struct framer *fr, struct pgbuf *to, int *moved)
{
	size_t n;

	if (!fr->out_len)
		return 1;
	n = pgbuf_put(to, fr->out, fr->out_len);
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

/* Frame and forward the sandbox's messages.  Return: 1 if anything moved. */
int pgp_fe_relay(struct pgproxy *pp)
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
				n = pgbuf_put(&pp->uout, DATA(pp->sin), n);
			if (!n && fr->left)
				return moved;
			pgbuf_drop(&pp->sin, n);
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
			pgbuf_drop(&pp->sin, n);
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
				pgp_sb_error(pp, "FATAL", "08P01",
					 "islo-net: invalid message length from the client");
				pgp_sb_finish(pp, "protocol violation by the sandbox");
				return 1;
			}
			if (pp->fcount >= PGP_FIFO - 1 &&
			    (type == 'Q' || type == 'P' || type == 'E' ||
			     type == 'S' || type == 'F')) {
				/* too many answers outstanding: make the server
				 * send what it holds, wait for it (CopyData and
				 * the like still pass: a COPY in progress must
				 * be able to finish) */
				if (!pp->flush_sent && pgbuf_room(&pp->uout) >= 5) {
					pgbuf_put(&pp->uout, "H\0\0\0\4", 5);
					pp->flush_sent = 1;
					moved = 1;
				}
				return moved;
			}
			pp->flush_sent = 0;
			if (pp->discard_until_sync && type != 'S') {
				pgbuf_drop(&pp->sin, 5);
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
							pgp_sb_error(pp, "FATAL", "53200",
								 "islo-net: out of memory");
							pgp_sb_finish(pp, "out of memory");
							return 1;
						}
						fr->msg.b = nb;
						fr->msg.cap = 5 + (size_t)blen;
					}
					memcpy(fr->msg.b, DATA(pp->sin), 5);
					fr->msg.len = 5;
					pgbuf_drop(&pp->sin, 5);
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
					pgbuf_drop(&pp->sin, 5);
					fr->mode = M_DISCARD;
					fr->left = blen;
					fe_refuse(pp, type, "statement too long for the gateway to check",
						  NULL, 0);
					moved = 1;
					continue;
				}
				if (type == 'Q')
					pgp_fifo_push(pp, IT_SIMPLE, 0, NULL, 0);
			} else if (type == 'F' && pp->cfg->read_only) {
				pgbuf_drop(&pp->sin, 5);
				fr->mode = M_DISCARD;
				fr->left = blen;
				fe_refuse(pp, 'Q', "function calls by OID (FunctionCall) are not allowed",
					  NULL, 0);
				moved = 1;
				continue;
			} else if (type == 'E') {
				pgp_fifo_push(pp, IT_EXEC, 1, pp->last_parse_len ?
					  pp->last_parse : NULL, pp->last_parse_len);
			} else if (type == 'S') {
				pp->discard_until_sync = 0;
				pgp_fifo_push(pp, IT_SYNC, 1, NULL, 0);
			}
			if (pgbuf_room(&pp->uout) < 5)
				return moved;
			pgbuf_put(&pp->uout, DATA(pp->sin), 5);
			pgbuf_drop(&pp->sin, 5);
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

int pgp_be_relay(struct pgproxy *pp)
{
	struct framer *fr = &pp->be;
	int moved = 0;

	while (pp->up == U_RELAY && pp->sb == S_RELAY) {
		size_t n;

		if (!fr_flush(fr, &pp->sout, &moved))
			return moved;
		if (fr->mode == M_STREAM) {
			n = pp->uin.len < fr->left ? pp->uin.len : fr->left;
			n = pgbuf_put(&pp->sout, DATA(pp->uin), n);
			if (!n && fr->left)
				return moved;
			pgbuf_drop(&pp->uin, n);
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
			pgbuf_drop(&pp->uin, n);
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
				pgp_sb_finish(pp, "malformed message from upstream");
				return 1;
			}
			if ((type == 'C' || type == 'E' || type == 'Z' ||
			     type == 'I' || type == 's') &&
			    (size_t)blen + 5 <= fr->msg.cap) {
				memcpy(fr->msg.b, DATA(pp->uin), 5);
				fr->msg.len = 5;
				pgbuf_drop(&pp->uin, 5);
				fr->type = type;
				fr->left = blen;
				fr->mode = blen ? M_BUFFER : M_HDR;
				if (!blen)
					be_decide(pp);
				moved = 1;
				continue;
			}
			if (pgbuf_room(&pp->sout) < 5)
				return moved;
			pgbuf_put(&pp->sout, DATA(pp->uin), 5);
			pgbuf_drop(&pp->uin, 5);
			fr->type = type;
			fr->left = blen;
			fr->mode = blen ? M_STREAM : M_HDR;
			moved = 1;
		}
	}
	return moved;
}

