// SPDX-License-Identifier: MIT
/*
 * dns.c - DNS wire format (RFC 1035, RFC 3596)
 *
 * DOC: Theory of Operation
 *
 * Two users, two directions:
 *
 * - the gateway's resolver (10.0.2.3 / fd00::3) parses the sandbox's query
 *   with dns_parse_query() and answers with dns_build_response(): a header,
 *   the question copied byte for byte, and at most one synthetic A/AAAA
 *   record whose owner is a compression pointer to the question (0xc00c);
 *
 * - the host side, once a connection to a name is allowed, sends
 *   dns_build_query() upstream and reads the answer with
 *   dns_parse_response(), which follows the CNAME chain inside the message.
 *
 * Both inputs are hostile (the sandbox, or anything that can spoof an
 * upstream UDP reply), so every read goes through a struct cursor
 * (cursor.h), whose sticky error makes a read past the end return zeroes
 * and fail the parse at the next check instead of touching memory it must
 * not.
 *
 * Names from upstream are decoded into uncompressed, lowercased wire form
 * (length-prefixed labels) and compared as bytes: no presentation-form
 * ambiguity ("a.b" as one label vs two). Compression pointers must go
 * strictly backwards, each one before the previous target, so decoding
 * always ends; the decoded name is also capped at
 * 255 bytes.
 */

#include <string.h>
#include <sys/socket.h>

#include "bytes.h"
#include "cursor.h"
#include "dns.h"

#define DNS_F_QR     0x8000
#define DNS_F_OPCODE 0x7800
#define DNS_F_RD     0x0100
#define DNS_F_RA     0x0080
#define DNS_F_RCODE  0x000f

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 'a' - 'A') : c;
}

/* The label bytes we accept from the sandbox, after lowercasing */
static int label_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/**
 * dns_parse_query() - Parse a query from the sandbox
 * @msg:  The UDP payload
 * @len:  Its length
 * @q:    Question, filled as far as it could be read (id and rd as soon as
 *        the header is complete; qend, qtype and qclass also on
 *        DNS_BAD_NAME so that the question can be echoed)
 *
 * Accepts QR=0, opcode QUERY, exactly one question whose name is made of
 * uncompressed labels of [a-z0-9_-] (case-insensitive). Records in the
 * other sections (EDNS OPT) and trailing bytes are ignored.
 *
 * Return: DNS_OK, DNS_FORMERR, DNS_NOTIMP (opcode or qdcount), DNS_BAD_NAME
 * (well formed, but the name has other bytes; @q->name is then "") or
 * DNS_SHORT (not even a header)
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *q)
{
	struct cursor r;
	size_t nlen = 0, wire = 1;
	uint16_t flags, qdcount;
	int bad = 0;

	memset(q, 0, sizeof(*q));
	cur_init(&r, msg, len);
	if (r.len < DNS_HDR_LEN)
		return DNS_SHORT;

	q->id = cur_be16(&r);
	flags = cur_be16(&r);
	qdcount = cur_be16(&r);
	cur_skip(&r, 6); /* ancount, nscount, arcount: ignored */
	q->rd = !!(flags & DNS_F_RD);

	if (flags & DNS_F_QR)
		return DNS_FORMERR;
	if ((flags & DNS_F_OPCODE) || qdcount != 1)
		return DNS_NOTIMP;

	for (;;) {
		uint8_t l = cur_u8(&r);
		const uint8_t *b;
		size_t i;

		if (r.err)
			return DNS_FORMERR;
		if (!l)
			break;
		if (l & 0xc0) /* pointers or extended labels: not here */
			return DNS_FORMERR;
		wire += 1 + l;
		if (wire > DNS_MAX_NAME)
			return DNS_FORMERR;
		b = cur_bytes(&r, l);
		if (!b)
			return DNS_FORMERR;
		if (nlen)
			q->name[nlen++] = '.';
		for (i = 0; i < l; i++) {
			uint8_t c = lower(b[i]);

			if (!label_char_ok(c))
				bad = 1;
			q->name[nlen++] = (char)c;
		}
	}
	q->name[nlen] = '\0'; /* nlen <= 254: wire <= 255 */

	q->qtype = cur_be16(&r);
	q->qclass = cur_be16(&r);
	if (r.err) {
		q->name[0] = '\0';
		return DNS_FORMERR;
	}
	q->qend = r.off;

	if (bad) {
		q->name[0] = '\0';
		return DNS_BAD_NAME;
	}
	return DNS_OK;
}

/**
 * dns_build_response() - Answer a query
 * @q:      Parsed question, or NULL if the query could not be parsed
 * @msg:    The original query (the question is copied from it)
 * @len:    Its length
 * @rcode:  Response code, DNS_RCODE_*
 * @family: AF_INET (A record) or AF_INET6 (AAAA), if @addr is given
 * @addr:   Address for the one answer record, or NULL for none
 * @ttl:    Its TTL
 * @out:    Output buffer
 * @outlen: Its size
 *
 * Without a readable question (@q NULL, or @q->qend 0 after a FORMERR or
 * NOTIMP), the response is a bare header with the query's id and @rcode,
 * and no answer is added.
 *
 * Return: length of the response in @out, 0 if it does not fit or @family
 * is neither AF_INET nor AF_INET6 with @addr set
 */
size_t dns_build_response(const struct dns_question *q, const uint8_t *msg,
			  size_t len, int rcode, int family,
			  const uint8_t *addr, uint32_t ttl, uint8_t *out,
			  size_t outlen)
{
	struct wcursor w;
	uint16_t id = 0, flags = DNS_F_QR | DNS_F_RA;
	size_t qend = 0;
	int answer;

	if (q) {
		id = q->id;
		if (q->rd)
			flags |= DNS_F_RD;
		if (msg && q->qend > DNS_HDR_LEN && q->qend <= len)
			qend = q->qend;
	} else if (msg && len >= 2) {
		id = rd16(msg);
		if (len >= 3 && (msg[2] & (DNS_F_RD >> 8)))
			flags |= DNS_F_RD;
	}
	flags |= (uint16_t)(rcode & DNS_F_RCODE);

	answer = addr && qend;
	if (answer && family != AF_INET && family != AF_INET6)
		return 0;
	wcur_init(&w, out, outlen);
	wcur_be16(&w, id);
	wcur_be16(&w, flags);
	wcur_be16(&w, qend ? 1 : 0);     /* qdcount */
	wcur_be16(&w, answer ? 1 : 0);   /* ancount */
	wcur_be16(&w, 0);                /* nscount */
	wcur_be16(&w, 0);                /* arcount */
	if (qend)
		wcur_bytes(&w, msg + DNS_HDR_LEN, qend - DNS_HDR_LEN);
	if (answer) {
		int a = family == AF_INET;

		wcur_be16(&w, 0xc000 | DNS_HDR_LEN); /* the question's name */
		wcur_be16(&w, a ? DNS_T_A : DNS_T_AAAA);
		wcur_be16(&w, DNS_C_IN);
		wcur_be32(&w, ttl);
		wcur_be16(&w, a ? 4 : 16);
		wcur_bytes(&w, addr, a ? 4 : 16);
	}
	return w.err ? 0 : w.off;
}

/**
 * name_to_wire() - Encode a presentation-form name, lowercased
 * @name: Dotted name, trailing dot optional; "" or "." is the root
 * @wire: Output, DNS_MAX_NAME bytes
 * Return: length of the encoding, 0 on empty or over-long labels or names
 */
static size_t name_to_wire(const char *name, uint8_t *wire)
{
	size_t off = 0;
	const char *s = name;

	if (!strcmp(s, "."))
		s++;
	while (*s) {
		size_t l = strcspn(s, "."), i;

		if (l == 0 || l > 63 || off + 1 + l + 1 > DNS_MAX_NAME)
			return 0;
		wire[off++] = (uint8_t)l;
		for (i = 0; i < l; i++)
			wire[off++] = lower((uint8_t)s[i]);
		s += l;
		if (*s == '.')
			s++;
	}
	wire[off++] = 0;
	return off;
}

/**
 * dns_build_query() - Build a recursive query for the host-side resolver
 * @id:     Query id (the caller picks it at random)
 * @name:   Name, presentation form
 * @qtype:  DNS_T_A or DNS_T_AAAA (any type is encoded)
 * @out:    Output buffer
 * @outlen: Its size
 * Return: length of the query, 0 if @name is invalid or @out too small
 */
size_t dns_build_query(uint16_t id, const char *name, uint16_t qtype,
		       uint8_t *out, size_t outlen)
{
	struct wcursor w;
	uint8_t wire[DNS_MAX_NAME];
	size_t wl;

	if (!name || !(wl = name_to_wire(name, wire)))
		return 0;

	wcur_init(&w, out, outlen);
	wcur_be16(&w, id);
	wcur_be16(&w, DNS_F_RD);
	wcur_be16(&w, 1);
	wcur_be16(&w, 0);
	wcur_be16(&w, 0);
	wcur_be16(&w, 0);
	wcur_bytes(&w, wire, wl);
	wcur_be16(&w, qtype);
	wcur_be16(&w, DNS_C_IN);
	return w.err ? 0 : w.off;
}

/**
 * name_read() - Decode a possibly compressed name at the reader's offset
 * @r:    Reader over the whole message; advanced past the name as it
 *        appears in place (up to its first pointer)
 * @wire: Output: uncompressed, lowercased wire form, DNS_MAX_NAME bytes
 *
 * A pointer must point before the previous pointer's target (before the
 * start of the name for the first one), so targets strictly decrease and
 * loops are impossible. Real compressors only point at names written
 * earlier, which always satisfies this.
 *
 * Return: length of @wire, 0 on a malformed name (and @r->err set)
 */
static size_t name_read(struct cursor *r, uint8_t *wire)
{
	size_t pos = r->off, wl = 0;
	size_t limit = pos; /* a pointer must point before this */
	int jumped = 0;

	if (r->err)
		return 0;

	for (;;) {
		uint8_t c;

		if (pos >= r->len)
			goto bad;
		c = r->p[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t t;

			if (pos + 1 >= r->len)
				goto bad;
			t = (size_t)(c & 0x3f) << 8 | r->p[pos + 1];
			if (t >= limit)
				goto bad;
			if (!jumped)
				r->off = pos + 2;
			jumped = 1;
			limit = t;
			pos = t;
		} else if (c & 0xc0) {
			goto bad;
		} else if (!c) {
			wire[wl++] = 0;
			if (!jumped)
				r->off = pos + 1;
			return wl;
		} else {
			size_t i;

			if (c > r->len - pos - 1 || wl + 1 + c + 1 > DNS_MAX_NAME)
				goto bad;
			wire[wl++] = c;
			for (i = 1; i <= c; i++)
				wire[wl++] = lower(r->p[pos + i]);
			pos += 1 + c;
		}
	}
bad:
	r->err = 1;
	return 0;
}

/* One resource record, as found by rr_read() */
struct rr {
	uint8_t owner[DNS_MAX_NAME];
	size_t olen;
	uint16_t type, cls, rdlen;
	uint32_t ttl;
	size_t rdoff;
};

/**
 * rr_read() - Read one resource record and skip its data
 * @r:  Reader positioned at the record
 * @rr: Record
 * Return: 0, or -1 if it is truncated or its owner name malformed
 */
static int rr_read(struct cursor *r, struct rr *rr)
{
	rr->olen = name_read(r, rr->owner);
	rr->type = cur_be16(r);
	rr->cls = cur_be16(r);
	rr->ttl = cur_be32(r);
	rr->rdlen = cur_be16(r);
	rr->rdoff = r->off;
	cur_bytes(r, rr->rdlen);
	if (rr->ttl > 0x7fffffff) /* RFC 2181 8 */
		rr->ttl = 0;
	return r->err ? -1 : 0;
}

static int name_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return al == bl && !memcmp(a, b, al);
}

/**
 * dns_parse_response() - Parse an upstream response to dns_build_query()
 * @msg:   The UDP payload
 * @len:   Its length
 * @id:    Id of our query
 * @name:  Name we asked about (case-insensitive match)
 * @qtype: DNS_T_A or DNS_T_AAAA
 * @addrs: Output: addresses in 16-byte slots (4 or 16 bytes used)
 * @max:   Number of slots
 * @ttl:   Output: smallest TTL over the addresses and the CNAMEs followed
 *         (0 when no address is returned)
 * @rcode: Output: the response code, when the header could be read
 *
 * Follows at most DNS_MAX_CNAME_HOPS CNAME records from @name inside the
 * answer section. Authority and additional sections are not looked at (no
 * glue is trusted). A response with the TC bit is parsed like any other:
 * what it holds is still a valid, if partial, answer.
 *
 * Return: number of addresses stored (0: NODATA or an error rcode), or -1
 * if the message is malformed or does not answer our question
 */
int dns_parse_response(const uint8_t *msg, size_t len, uint16_t id,
		       const char *name, uint16_t qtype, uint8_t (*addrs)[16],
		       int max, uint32_t *ttl, int *rcode)
{
	struct cursor r;
	uint8_t qwire[DNS_MAX_NAME], cur[DNS_MAX_NAME], next[DNS_MAX_NAME];
	size_t qwl, curl, nextl, ansoff, alen;
	uint16_t rid, flags, qd, an, i;
	uint32_t minttl = UINT32_MAX;
	struct rr rr;
	int hops, n = 0;

	*ttl = 0;
	*rcode = 0;
	if (qtype == DNS_T_A)
		alen = 4;
	else if (qtype == DNS_T_AAAA)
		alen = 16;
	else
		return -1;
	if (!name || !(qwl = name_to_wire(name, qwire)))
		return -1;

	cur_init(&r, msg, len);
	rid = cur_be16(&r);
	flags = cur_be16(&r);
	qd = cur_be16(&r);
	an = cur_be16(&r);
	cur_skip(&r, 4);
	if (r.err)
		return -1;
	if (rid != id || !(flags & DNS_F_QR) || (flags & DNS_F_OPCODE))
		return -1;
	*rcode = flags & DNS_F_RCODE;

	/* Some servers drop the question from error responses */
	if (qd == 0 && *rcode != DNS_RCODE_NOERROR)
		return 0;
	if (qd != 1)
		return -1;
	curl = name_read(&r, cur);
	if (cur_be16(&r) != qtype || cur_be16(&r) != DNS_C_IN || r.err)
		return -1;
	if (!name_eq(cur, curl, qwire, qwl))
		return -1;

	/* Whole answer section well formed, whatever we use of it */
	ansoff = r.off;
	for (i = 0; i < an; i++)
		if (rr_read(&r, &rr))
			return -1;

	for (hops = 0;; hops++) {
		int found = 0, cname = 0;

		/* Re-reading records the first pass accepted: rr_read() cannot fail */
		r.off = ansoff;
		for (i = 0; i < an; i++) {
			if (rr_read(&r, &rr))
				return -1;
			if (rr.type != qtype || rr.cls != DNS_C_IN ||
			    !name_eq(rr.owner, rr.olen, cur, curl))
				continue;
			if (rr.rdlen != alen)
				return -1;
			found++;
			if (n < max) {
				memcpy(addrs[n], msg + rr.rdoff, alen);
				if (alen < 16)
					memset(addrs[n] + alen, 0, 16 - alen);
				n++;
				if (rr.ttl < minttl)
					minttl = rr.ttl;
			}
		}
		if (found)
			break;

		/* rr is the CNAME record only if one was found */
		r.off = ansoff;
		for (i = 0; i < an && !cname; i++) {
			if (rr_read(&r, &rr))
				return -1;
			cname = rr.type == DNS_T_CNAME && rr.cls == DNS_C_IN &&
				name_eq(rr.owner, rr.olen, cur, curl);
		}
		if (!cname)
			break; /* end of the chain without addresses */
		if (hops >= DNS_MAX_CNAME_HOPS)
			return -1;

		/* The target must fill the record's data exactly */
		{
			struct cursor t;

			cur_init(&t, msg, rr.rdoff + rr.rdlen);
			t.off = rr.rdoff;
			nextl = name_read(&t, next);
			if (t.err || t.off != rr.rdoff + rr.rdlen)
				return -1;
		}
		if (rr.ttl < minttl)
			minttl = rr.ttl;
		memcpy(cur, next, nextl);
		curl = nextl;
	}

	if (n)
		*ttl = minttl;
	return n;
}
