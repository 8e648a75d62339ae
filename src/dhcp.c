// SPDX-License-Identifier: MIT
/*
 * dhcp.c - DHCPv4 server for one guest on a point-to-point link
 * (RFC 2131, options RFC 2132, client identifier echo RFC 6842)
 *
 * DOC: Theory of Operation
 *
 * A sandbox link has exactly two hosts: the gateway and the guest. There is
 * one address to hand out (cfg->guest_ip), so the server keeps no lease
 * table: whoever asks gets that address, and every answer is a pure
 * function of the configuration and the one request. What a lease table
 * would decide is decided here by the request alone:
 *
 * - DISCOVER -> OFFER of guest_ip, whatever address the client hints at;
 * - REQUEST -> the address the client wants is option 50 when present
 *   (selecting, init-reboot), ciaddr otherwise (renewing, rebinding). If a
 *   server identifier (54) names another server the client has chosen it
 *   and we stay silent (RFC 2131 4.3.2); guest_ip gets an ACK, any other
 *   address a NAK, so a guest that moved between sandboxes drops its stale
 *   lease at once instead of waiting for it to run out;
 * - INFORM -> ACK with the configuration, no yiaddr and no lease times
 *   (RFC 2131 4.3.5);
 * - RELEASE, DECLINE -> nothing: releasing the only address frees nothing,
 *   and a DECLINE (someone answered ARP for guest_ip) cannot be helped by
 *   offering another address we do not have.
 *
 * The request comes from a hostile guest. Every byte is read through a
 * struct cursor (cursor.h), whose sticky error makes a read past the end
 * return zeroes and fail the parse; the reply is written through a struct
 * wcursor, which never writes past the caller's buffer or DHCP_REPLY_MAX.
 * The options area is parsed strictly: the magic cookie, every option's
 * length inside the message, an END option, the options we interpret
 * exactly once and with their RFC 2132 lengths. Option overload (52) is
 * checked but not followed: options hidden in sname/file are not read,
 * which at worst makes the message look like plain BOOTP, which we
 * ignore. The parameter request list (55) is not honoured: every reply
 * carries the full set, which every client accepts.
 */

#include <string.h>

#include "bytes.h"
#include "cursor.h"
#include "dhcp.h"

#define BOOTREQUEST 1
#define BOOTREPLY   2
#define HTYPE_ETHER 1
#define FLAG_BROADCAST 0x8000

/* Option codes */
#define OPT_PAD       0
#define OPT_NETMASK   1
#define OPT_ROUTER    3
#define OPT_DNS       6
#define OPT_DOMAIN    15
#define OPT_MTU       26
#define OPT_REQIP     50
#define OPT_LEASE     51
#define OPT_OVERLOAD  52
#define OPT_MSGTYPE   53
#define OPT_SERVERID  54
#define OPT_PARAMS    55
#define OPT_MAXSIZE   57
#define OPT_T1        58
#define OPT_T2        59
#define OPT_CLIENTID  61
#define OPT_END       255

static const uint8_t cookie[4] = { 99, 130, 83, 99 };
static const uint8_t bcast[4] = { 255, 255, 255, 255 };
static const uint8_t zero4[4];

static void wr_opt(struct wcursor *w, uint8_t code, const void *data, size_t n)
{
	wcur_u8(w, code);
	wcur_u8(w, (uint8_t)n);
	wcur_bytes(w, data, n);
}

static void wr_opt32(struct wcursor *w, uint8_t code, uint32_t v)
{
	uint8_t b[4];

	wr32(b, v);
	wr_opt(w, code, b, 4);
}

/* What we use of a request, as parsed */
struct dhcp_req {
	const uint8_t *hdr;          /* DHCP_HDR_LEN bytes */
	uint8_t type;                /* option 53, 0 if absent */
	const uint8_t *reqip;        /* option 50, 4 bytes, or NULL */
	const uint8_t *sid;          /* option 54, 4 bytes, or NULL */
	const uint8_t *cid;          /* option 61, or NULL */
	size_t cidlen;
};

/**
 * opt_len_ok() - Is @l a valid length for an option we interpret?
 * @code: Option code
 * @l:    Its length
 * @d:    Its data
 * Return: 1 if valid (always for options we do not interpret), 0 if not
 */
static int opt_len_ok(uint8_t code, size_t l, const uint8_t *d)
{
	switch (code) {
	case OPT_MSGTYPE:
	case OPT_OVERLOAD:
		return l == 1;
	case OPT_REQIP:
	case OPT_SERVERID:
		return l == 4;
	case OPT_MAXSIZE:
		/* RFC 2132 9.10: at least 576 */
		return l == 2 && rd16(d) >= 576;
	case OPT_CLIENTID:
		return l >= 2;           /* RFC 2132 9.14 */
	case OPT_PARAMS:
		return l >= 1;
	default:
		return 1;
	}
}

/* Options we interpret: each may appear once (a repeated one would have
 * to be concatenated per RFC 3396, giving an invalid length for all of
 * these but 61, which no client splits) */
static int opt_bit(uint8_t code)
{
	switch (code) {
	case OPT_MSGTYPE:  return 1;
	case OPT_REQIP:    return 2;
	case OPT_SERVERID: return 4;
	case OPT_CLIENTID: return 8;
	case OPT_MAXSIZE:  return 16;
	case OPT_OVERLOAD: return 32;
	default:           return 0;
	}
}

/**
 * parse_opts() - Walk the options area of a request
 * @r: Reader positioned after the magic cookie
 * @q: Request, its option fields filled
 * Return: 0 if the area is well formed and ends with END, -1 if not
 */
static int parse_opts(struct cursor *r, struct dhcp_req *q)
{
	unsigned seen = 0;

	for (;;) {
		uint8_t code = cur_u8(r), l;
		const uint8_t *d;
		int bit;

		if (r->err)
			return -1;       /* no END */
		if (code == OPT_PAD)
			continue;
		if (code == OPT_END)
			return 0;        /* what follows is padding */
		l = cur_u8(r);
		d = cur_bytes(r, l);
		if (!d || !opt_len_ok(code, l, d))
			return -1;
		bit = opt_bit(code);
		if (seen & (unsigned)bit)
			return -1;
		seen |= (unsigned)bit;
		switch (code) {
		case OPT_MSGTYPE:
			q->type = d[0];
			break;
		case OPT_REQIP:
			q->reqip = d;
			break;
		case OPT_SERVERID:
			q->sid = d;
			break;
		case OPT_CLIENTID:
			q->cid = d;
			q->cidlen = l;
			break;
		default:
			break;
		}
	}
}

/**
 * parse_req() - Parse and check a BOOTREQUEST
 * @req: UDP payload
 * @len: Its length
 * @q:   Parsed request
 * Return: 0 if it is a DHCP request we may answer, -1 if not
 */
static int parse_req(const uint8_t *req, size_t len, struct dhcp_req *q)
{
	struct cursor r;
	const uint8_t *h, *ck;

	memset(q, 0, sizeof(*q));
	cur_init(&r, req, len);
	h = cur_bytes(&r, DHCP_HDR_LEN);
	ck = cur_bytes(&r, sizeof(cookie));
	if (!h || !ck || memcmp(ck, cookie, sizeof(cookie)))
		return -1;
	if (h[0] != BOOTREQUEST || h[1] != HTYPE_ETHER || h[2] != 6)
		return -1;
	/* giaddr: relayed, so not from the guest on our link */
	if (memcmp(h + 24, zero4, 4))
		return -1;
	q->hdr = h;
	if (parse_opts(&r, q))
		return -1;
	return q->type ? 0 : -1; /* no type: plain BOOTP */
}

/**
 * decide() - Which reply a request gets
 * @c: Server configuration
 * @q: Parsed request
 * Return: DHCP_OFFER, DHCP_ACK, DHCP_NAK, or 0 for none
 */
static int decide(const struct dhcp_cfg *c, const struct dhcp_req *q)
{
	const uint8_t *ciaddr = q->hdr + 12, *want;

	switch (q->type) {
	case DHCP_DISCOVER:
		return DHCP_OFFER;
	case DHCP_INFORM:
		return DHCP_ACK;
	case DHCP_REQUEST:
		if (q->sid && memcmp(q->sid, c->server_ip, 4))
			return 0;        /* the client chose another server */
		want = q->reqip ? q->reqip : ciaddr;
		if (!memcmp(want, zero4, 4))
			return 0;        /* asks for nothing: malformed */
		if (memcmp(want, c->guest_ip, 4))
			return DHCP_NAK;
		if (memcmp(ciaddr, zero4, 4) && memcmp(ciaddr, c->guest_ip, 4))
			return DHCP_NAK; /* renewing some other address */
		return DHCP_ACK;
	default:
		/* RELEASE, DECLINE: nothing to do; server messages and
		 * unknown types are not for us */
		return 0;
	}
}

/**
 * put_config() - Write the configuration options every positive reply has
 * @c:     Server configuration
 * @w:     Writer
 * @lease: Whether to include the lease time, T1 and T2
 */
static void put_config(const struct dhcp_cfg *c, struct wcursor *w, int lease)
{
	size_t dl;

	if (lease) {
		wr_opt32(w, OPT_LEASE, c->lease_secs);
		wr_opt32(w, OPT_T1, c->lease_secs / 2);
		wr_opt32(w, OPT_T2,
			 (uint32_t)((uint64_t)c->lease_secs * 7 / 8));
	}
	wr_opt(w, OPT_NETMASK, c->netmask, 4);
	wr_opt(w, OPT_ROUTER, c->server_ip, 4);
	wr_opt(w, OPT_DNS, c->dns_ip, 4);
	if (c->mtu >= 68) {
		uint8_t m[2];

		wr16(m, (uint16_t)c->mtu);
		wr_opt(w, OPT_MTU, m, 2);
	}
	dl = c->domain ? strnlen(c->domain, 256) : 0;
	if (dl >= 1 && dl <= 255)
		wr_opt(w, OPT_DOMAIN, c->domain, dl);
}

size_t dhcp_reply(const struct dhcp_cfg *c, const uint8_t *req, size_t len,
		  uint8_t *out, size_t outlen, uint8_t dst_ip[4])
{
	struct dhcp_req q;
	struct wcursor w;
	const uint8_t *h, *ciaddr;
	uint8_t type;
	int bcastflag;

	if (outlen < DHCP_REPLY_MIN || parse_req(req, len, &q))
		return 0;
	type = (uint8_t)decide(c, &q);
	if (!type)
		return 0;
	wcur_init(&w, out, outlen < DHCP_REPLY_MAX ? outlen : DHCP_REPLY_MAX);
	h = q.hdr;
	ciaddr = h + 12;
	bcastflag = rd16(h + 10) & FLAG_BROADCAST;

	/* Header, RFC 2131 table 3 */
	memset(out, 0, DHCP_REPLY_MIN);
	out[0] = BOOTREPLY;
	out[1] = HTYPE_ETHER;
	out[2] = 6;
	memcpy(out + 4, h + 4, 4);               /* xid */
	memcpy(out + 10, h + 10, 2);             /* flags */
	if (type == DHCP_ACK)
		memcpy(out + 12, ciaddr, 4);
	if (type != DHCP_NAK && q.type != DHCP_INFORM)
		memcpy(out + 16, c->guest_ip, 4); /* yiaddr */
	memcpy(out + 28, h + 28, 16);            /* chaddr */
	w.off = DHCP_HDR_LEN;
	wcur_bytes(&w, cookie, sizeof(cookie));

	wr_opt(&w, OPT_MSGTYPE, &type, 1);
	wr_opt(&w, OPT_SERVERID, c->server_ip, 4);
	if (type != DHCP_NAK)
		put_config(c, &w, q.type != DHCP_INFORM);
	/* RFC 6842: echo the client identifier, if it still fits */
	if (q.cid && wcur_left(&w) >= 2 + q.cidlen + 1)
		wr_opt(&w, OPT_CLIENTID, q.cid, q.cidlen);
	wcur_u8(&w, OPT_END);
	if (w.err)
		return 0;
	if (w.off < DHCP_REPLY_MIN)
		w.off = DHCP_REPLY_MIN;  /* zeroed above */

	/* RFC 2131 4.1: where the reply goes. Only guest_ip can be the
	 * client's address here, except for INFORM from a static one. */
	if (q.type == DHCP_INFORM && memcmp(ciaddr, zero4, 4))
		memcpy(dst_ip, ciaddr, 4);
	else if (type == DHCP_NAK || q.type == DHCP_INFORM ||
		 (bcastflag && !memcmp(ciaddr, zero4, 4)))
		memcpy(dst_ip, bcast, 4);
	else
		memcpy(dst_ip, c->guest_ip, 4);
	return w.off;
}
