// SPDX-License-Identifier: MIT
/*
 * tcpwatch.c - the sandbox's TCP connections that are not yet done, read
 * off its link, so that `run` without a profile keeps serving until what
 * CMD sent before it exited has been delivered.
 *
 * DOC: Theory of Operation
 *
 * CMD may write megabytes, close and exit at once; its kernel then goes
 * on sending, and the NAT must be served until the data is through.  A
 * quiet link is not proof: a zero window, a dropped ACK or a
 * retransmission timeout leaves it quiet for longer than any short wait.
 * A connection is done, from the sandbox's side, when the NAT has
 * acknowledged its FIN (all its data came before it) or either side
 * reset it.  So: a SYN from the sandbox opens an entry, counted once the
 * NAT answers it (a SYN the far end never answers is given up by the
 * sandbox in silence, and must not hold the exit up); its FIN records
 * the sequence number that acknowledges it; a frame to the sandbox that
 * acknowledges that far, or an RST either way, ends it.  Only SYN, FIN and
 * RST frames (and, while a FIN waits, ACKs to the sandbox) look at the
 * table, so bulk data costs a flag test per frame.
 *
 * The bytes are the sandbox's: every header is read through a bounds
 * check, and whatever does not parse is ignored (the NAT judges the frame
 * itself).  A connection that does not fit a full table is counted and
 * not watched: for it the caller falls back on its quiet-link timeout.
 */
#include "tcpwatch.h"

#include "bytes.h"

#include <string.h>

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* A TCP segment's header as far as the watch needs it. */
struct seg {
	int v6;
	const uint8_t *src, *dst;   /* 4 or 16 bytes */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	size_t paylen;
};

/* IPv6 extension headers we step over to reach TCP. */
static int v6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60;
}

/* Find the TCP header in an IP packet; 0 if there is none to read. */
static int ip_tcp(uint16_t type, const uint8_t *p, size_t len,
		  struct seg *s, const uint8_t **tcp, size_t *tcplen)
{
	size_t off, end;
	uint8_t proto;

	if (type == 0x0800 && len >= 20 && p[0] >> 4 == 4) {
		off = (size_t)(p[0] & 15) * 4;
		end = rd16(p + 2);
		/* a later fragment has no TCP header */
		if (off < 20 || end < off || end > len || (rd16(p + 6) & 0x1fff))
			return 0;
		proto = p[9];
		s->v6 = 0;
		s->src = p + 12;
		s->dst = p + 16;
	} else if (type == 0x86dd && len >= 40 && p[0] >> 4 == 6) {
		end = 40 + (size_t)rd16(p + 4);
		if (end > len)
			return 0;
		proto = p[6];
		off = 40;
		while (v6_ext(proto)) {
			if (off + 8 > end)
				return 0;
			proto = p[off];
			off += ((size_t)p[off + 1] + 1) * 8;
		}
		s->v6 = 1;
		s->src = p + 8;
		s->dst = p + 24;
	} else {
		return 0;
	}
	if (proto != 6 || off + 20 > end)
		return 0;
	*tcp = p + off;
	*tcplen = end - off;
	return 1;
}

static int parse(const uint8_t *frame, size_t len, struct seg *s)
{
	const uint8_t *t;
	size_t tlen, hl;

	if (len < 14 ||
	    !ip_tcp(rd16(frame + 12), frame + 14, len - 14, s, &t, &tlen))
		return 0;
	hl = (size_t)(t[12] >> 4) * 4;
	if (hl < 20 || hl > tlen)
		return 0;
	s->sport = rd16(t);
	s->dport = rd16(t + 2);
	s->seq = rd32(t + 4);
	s->ack = rd32(t + 8);
	s->flags = t[13];
	s->paylen = tlen - hl;
	return 1;
}

/* The entry of the connection (@g: the sandbox's end), or NULL. */
static struct tcpwatch_conn *find(struct tcpwatch *w, int v6,
				  const uint8_t *gaddr, uint16_t gport,
				  const uint8_t *haddr, uint16_t hport)
{
	size_t n = v6 ? 16 : 4, i;

	for (i = 0; i < TCPWATCH_MAX; i++) {
		struct tcpwatch_conn *c = &w->c[i];

		if (c->used && c->v6 == v6 && c->gport == gport &&
		    c->hport == hport && !memcmp(c->gaddr, gaddr, n) &&
		    !memcmp(c->haddr, haddr, n))
			return c;
	}
	return NULL;
}

static void drop(struct tcpwatch *w, struct tcpwatch_conn *c)
{
	if (c->fin)
		w->fins--;
	if (c->est)
		w->est--;
	w->open--;
	memset(c, 0, sizeof(*c));
}

static void open_conn(struct tcpwatch *w, const struct seg *s)
{
	size_t n = s->v6 ? 16 : 4, i;

	for (i = 0; i < TCPWATCH_MAX; i++) {
		struct tcpwatch_conn *c = &w->c[i];

		if (c->used)
			continue;
		c->used = 1;
		c->v6 = (uint8_t)s->v6;
		c->gport = s->sport;
		c->hport = s->dport;
		memcpy(c->gaddr, s->src, n);
		memcpy(c->haddr, s->dst, n);
		w->open++;
		return;
	}
	w->overflow++;
}

void tcpwatch_from_sandbox(struct tcpwatch *w, const uint8_t *frame,
			   size_t len)
{
	struct tcpwatch_conn *c;
	struct seg s;

	/* the common case (data, ACKs): no lookup */
	if (!parse(frame, len, &s) || !(s.flags & (TH_SYN | TH_FIN | TH_RST)))
		return;
	c = find(w, s.v6, s.src, s.sport, s.dst, s.dport);
	if (s.flags & TH_RST) {
		if (c)
			drop(w, c);
	} else if (s.flags & TH_SYN) {
		if (s.flags & TH_ACK)
			return;         /* accepting: not one it opened */
		if (c && c->fin)
			drop(w, c);     /* the port reused */
		if (!c || !c->used)
			open_conn(w, &s);
	} else if (c && !c->fin) {
		c->fin = 1;
		c->fin_ack = s.seq + (uint32_t)s.paylen + 1;
		w->fins++;
	}
}

void tcpwatch_to_sandbox(struct tcpwatch *w, const uint8_t *frame, size_t len)
{
	struct tcpwatch_conn *c;
	struct seg s;

	if (!w->open || !parse(frame, len, &s))
		return;
	if (!(s.flags & (TH_RST | TH_SYN)) && !(w->fins && (s.flags & TH_ACK)))
		return;
	c = find(w, s.v6, s.dst, s.dport, s.src, s.sport);
	if (!c)
		return;
	if ((s.flags & TH_SYN) && !(s.flags & TH_RST)) {
		if ((s.flags & TH_ACK) && !c->est) {
			c->est = 1;     /* the NAT's end is connected */
			w->est++;
		}
		return;
	}
	if ((s.flags & TH_RST) ||
	    (c->fin && (int32_t)(s.ack - c->fin_ack) >= 0))
		drop(w, c);
}

unsigned tcpwatch_open(const struct tcpwatch *w)
{
	return w->est;
}
