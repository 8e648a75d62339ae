// SPDX-License-Identifier: MIT
/*
 * test_dhcp.c - the DHCPv4 server: udhcpc- and dhclient-style exchanges,
 * NAKs and silences, INFORM, RELEASE/DECLINE, and hostile requests
 * (every prefix of a valid one, option overflows, random bytes).
 *
 * Replies are checked by an option parser written here, independently
 * of src/dhcp.c.
 *
 * Also validated by hand (not part of this suite) against busybox 1.35
 * udhcpc: a veth pair under `unshare -n`, udhcpc in a nested namespace on
 * one end, on the other a python3 AF_PACKET responder piping each frame
 * through a helper that calls dhcp_reply()/frame_udp() (and
 * ra_is_solicit()/ra_build()). udhcpc bound 10.0.2.100 with subnet,
 * router, dns, domain, mtu, lease and serverid as configured, also when
 * asked (-r) for a stale address; the kernel took the RA: a SLAAC
 * address in fd00::/64, a default route via the link-local router, the
 * link MTU.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"
#include "unit.h"

static const struct dhcp_cfg cfg = {
	.server_mac = { 0x02, 0x15, 0x10, 0x00, 0x00, 0x02 },
	.server_ip = { 10, 0, 2, 2 },
	.dns_ip = { 10, 0, 2, 3 },
	.guest_ip = { 10, 0, 2, 100 },
	.netmask = { 255, 255, 255, 0 },
	.mtu = 1500,
	.lease_secs = 86400,
	.domain = "sandbox.internal",
};

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t guest[4] = { 10, 0, 2, 100 };
static const uint8_t other[4] = { 10, 0, 2, 101 };
static const uint8_t server[4] = { 10, 0, 2, 2 };
static const uint8_t bcast[4] = { 255, 255, 255, 255 };
static const uint8_t zero[4];

/* A request builder */
struct mb {
	uint8_t d[1024];
	size_t n;
};

static void hdr(struct mb *m, uint32_t xid, int bflag, const uint8_t *ciaddr)
{
	memset(m, 0, sizeof(*m));
	m->d[0] = 1;
	m->d[1] = 1;
	m->d[2] = 6;
	m->d[4] = (uint8_t)(xid >> 24);
	m->d[5] = (uint8_t)(xid >> 16);
	m->d[6] = (uint8_t)(xid >> 8);
	m->d[7] = (uint8_t)xid;
	m->d[9] = 3;                     /* secs, as a retrying client */
	if (bflag)
		m->d[10] = 0x80;
	if (ciaddr)
		memcpy(m->d + 12, ciaddr, 4);
	memcpy(m->d + 28, mac, 6);
	m->d[236] = 99;
	m->d[237] = 130;
	m->d[238] = 83;
	m->d[239] = 99;
	m->n = 240;
}

static void opt(struct mb *m, uint8_t code, const void *data, size_t len)
{
	m->d[m->n++] = code;
	m->d[m->n++] = (uint8_t)len;
	memcpy(m->d + m->n, data, len);
	m->n += len;
}

static void opt8(struct mb *m, uint8_t code, uint8_t v)
{
	opt(m, code, &v, 1);
}

/* END, then zero padding to the BOOTP minimum as clients send it */
static void end(struct mb *m)
{
	m->d[m->n++] = 255;
	if (m->n < 300)
		m->n = 300;
}

/* udhcpc (busybox 1.36) style: client id 01+MAC, vendor class, max
 * size 576, a short parameter request list, no broadcast flag */
static void udhcpc_msg(struct mb *m, uint8_t type, const uint8_t *reqip,
		       const uint8_t *sid)
{
	static const uint8_t prl[] = { 1, 3, 6, 12, 15, 28, 42 };
	static const uint8_t maxsz[] = { 0x02, 0x40 };
	uint8_t cid[7] = { 1 };

	memcpy(cid + 1, mac, 6);
	hdr(m, 0x3903f326, 0, NULL);
	opt8(m, 53, type);
	opt(m, 61, cid, sizeof(cid));
	if (reqip)
		opt(m, 50, reqip, 4);
	if (sid)
		opt(m, 54, sid, 4);
	opt(m, 57, maxsz, 2);
	opt(m, 60, "udhcp 1.36.1", 12);
	opt(m, 55, prl, sizeof(prl));
	end(m);
}

/* ISC dhclient (4.4) style: broadcast flag, hostname, the long parameter
 * request list, the previous lease's address in DISCOVER */
static void dhclient_msg(struct mb *m, uint8_t type, const uint8_t *ciaddr,
			 const uint8_t *reqip, const uint8_t *sid)
{
	static const uint8_t prl[] = { 1,  28, 2,  3,   15, 6,  119,
				       12, 44, 47, 26, 121, 42 };

	hdr(m, 0xa1b2c3d4, !ciaddr, ciaddr);
	opt8(m, 53, type);
	if (sid)
		opt(m, 54, sid, 4);
	if (reqip)
		opt(m, 50, reqip, 4);
	opt(m, 12, "guest", 5);
	opt(m, 55, prl, sizeof(prl));
	end(m);
}

/* A reply, as parsed here */
struct rep {
	int ok;
	const uint8_t *opt[256];
	uint8_t optlen[256];
	int count[256];
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Parse a BOOTREPLY: header basics, cookie, options to END inside the
 * message, only zeroes after END */
static void parse_rep(const uint8_t *b, size_t n, struct rep *r)
{
	size_t i = 240;

	memset(r, 0, sizeof(*r));
	if (n < 300 || n > 548 || b[0] != 2 || b[1] != 1 || b[2] != 6 ||
	    b[3] != 0 || be32(b + 236) != 0x63825363)
		return;
	for (;;) {
		uint8_t c, l;

		if (i >= n)
			return;
		c = b[i++];
		if (c == 0)
			continue;
		if (c == 255)
			break;
		if (i >= n)
			return;
		l = b[i++];
		if (l > n - i)
			return;
		r->opt[c] = b + i;
		r->optlen[c] = l;
		r->count[c]++;
		i += l;
	}
	for (; i < n; i++)
		if (b[i])
			return;
	for (i = 0; i < 256; i++)
		if (r->count[i] > 1)
			return;
	r->ok = 1;
}

static int has(const struct rep *r, int code, const void *v, size_t l)
{
	return r->opt[code] && r->optlen[code] == l &&
	       !memcmp(r->opt[code], v, l);
}

static int has32(const struct rep *r, int code, uint32_t v)
{
	return r->opt[code] && r->optlen[code] == 4 &&
	       be32(r->opt[code]) == v;
}

/* Every option of a positive reply, with or without the lease */
static void check_config(const struct rep *r, int lease)
{
	static const uint8_t mask[4] = { 255, 255, 255, 0 };
	static const uint8_t dns[4] = { 10, 0, 2, 3 };
	static const uint8_t mtu[2] = { 0x05, 0xdc };

	CHECK(has(r, 54, server, 4));
	if (lease) {
		CHECK(has32(r, 51, 86400));
		CHECK(has32(r, 58, 43200));
		CHECK(has32(r, 59, 75600));
	} else {
		CHECK(!r->opt[51] && !r->opt[58] && !r->opt[59]);
	}
	CHECK(has(r, 1, mask, 4));
	CHECK(has(r, 3, server, 4));
	CHECK(has(r, 6, dns, 4));
	CHECK(has(r, 26, mtu, 2));
	CHECK(has(r, 15, "sandbox.internal", 16));
	CHECK(!r->opt[50] && !r->opt[55] && !r->opt[60] && !r->opt[12]);
}

/* The fixed header of a reply to @req */
static void check_hdr(const uint8_t *o, const struct mb *req,
		      const uint8_t *ciaddr, const uint8_t *yiaddr)
{
	CHECK(!memcmp(o + 4, req->d + 4, 4));        /* xid */
	CHECK(o[8] == 0 && o[9] == 0);                /* secs */
	CHECK(!memcmp(o + 10, req->d + 10, 2));      /* flags */
	CHECK(!memcmp(o + 12, ciaddr, 4));
	CHECK(!memcmp(o + 16, yiaddr, 4));
	CHECK(!memcmp(o + 20, zero, 4));              /* siaddr */
	CHECK(!memcmp(o + 24, zero, 4));              /* giaddr */
	CHECK(!memcmp(o + 28, req->d + 28, 16));     /* chaddr */
}

static size_t ask(const struct mb *m, uint8_t *out, uint8_t *dst)
{
	memset(dst, 0xee, 4);
	return dhcp_reply(&cfg, m->d, m->n, out, 1500, dst);
}

TEST(dhcp_udhcpc_round_trip)
{
	uint8_t out[1500], dst[4], cid[7] = { 1 };
	struct mb m;
	struct rep r;
	size_t n;

	memcpy(cid + 1, mac, 6);
	udhcpc_msg(&m, DHCP_DISCOVER, NULL, NULL);
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	REQUIRE(r.ok);
	CHECK(n == 317);                 /* 240 + 76 bytes of options + END */
	check_hdr(out, &m, zero, guest);
	CHECK(has(&r, 53, "\x02", 1));
	check_config(&r, 1);
	CHECK(has(&r, 61, cid, 7));      /* RFC 6842 echo */
	CHECK(!memcmp(dst, guest, 4));   /* no broadcast flag: unicast */

	udhcpc_msg(&m, DHCP_REQUEST, guest, server);
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	REQUIRE(r.ok);
	check_hdr(out, &m, zero, guest);
	CHECK(has(&r, 53, "\x05", 1));
	check_config(&r, 1);
	CHECK(has(&r, 61, cid, 7));
	CHECK(!memcmp(dst, guest, 4));
}

TEST(dhcp_dhclient_round_trip)
{
	uint8_t out[1500], dst[4];
	struct mb m;
	struct rep r;
	size_t n;

	/* DISCOVER asking for a stale address still gets guest_ip */
	dhclient_msg(&m, DHCP_DISCOVER, NULL, other, NULL);
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	REQUIRE(r.ok);
	check_hdr(out, &m, zero, guest);
	CHECK(out[10] == 0x80);
	CHECK(has(&r, 53, "\x02", 1));
	check_config(&r, 1);
	CHECK(!r.opt[61]);
	CHECK(!memcmp(dst, bcast, 4));   /* broadcast flag */

	/* selecting */
	dhclient_msg(&m, DHCP_REQUEST, NULL, guest, server);
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	REQUIRE(r.ok);
	check_hdr(out, &m, zero, guest);
	CHECK(has(&r, 53, "\x05", 1));
	check_config(&r, 1);
	CHECK(!memcmp(dst, bcast, 4));

	/* init-reboot */
	dhclient_msg(&m, DHCP_REQUEST, NULL, guest, NULL);
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	REQUIRE(r.ok);
	CHECK(has(&r, 53, "\x05", 1));

	/* renewing / rebinding: ciaddr, no 50 or 54, unicast reply */
	dhclient_msg(&m, DHCP_REQUEST, guest, NULL, NULL);
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	REQUIRE(r.ok);
	check_hdr(out, &m, guest, guest);
	CHECK(has(&r, 53, "\x05", 1));
	check_config(&r, 1);
	CHECK(!memcmp(dst, guest, 4));
}

static void check_nak(const uint8_t *out, size_t n, const struct mb *m,
		      const uint8_t *dst)
{
	struct rep r;

	parse_rep(out, n, &r);
	REQUIRE(r.ok);
	check_hdr(out, m, zero, zero);
	CHECK(has(&r, 53, "\x06", 1));
	CHECK(has(&r, 54, server, 4));
	CHECK(!r.opt[51] && !r.opt[1] && !r.opt[3] && !r.opt[6] &&
	      !r.opt[26] && !r.opt[15] && !r.opt[58] && !r.opt[59]);
	CHECK(!memcmp(dst, bcast, 4));   /* RFC 2131 4.1: NAKs broadcast */
}

TEST(dhcp_nak_wrong_address)
{
	uint8_t out[1500], dst[4];
	struct mb m;

	udhcpc_msg(&m, DHCP_REQUEST, other, server);     /* selecting */
	check_nak(out, ask(&m, out, dst), &m, dst);
	udhcpc_msg(&m, DHCP_REQUEST, other, NULL);       /* init-reboot */
	check_nak(out, ask(&m, out, dst), &m, dst);
	dhclient_msg(&m, DHCP_REQUEST, other, NULL, NULL); /* renewing */
	check_nak(out, ask(&m, out, dst), &m, dst);
	/* right option 50, but renewing some other ciaddr */
	dhclient_msg(&m, DHCP_REQUEST, other, guest, NULL);
	check_nak(out, ask(&m, out, dst), &m, dst);
}

TEST(dhcp_other_server_silence)
{
	static const uint8_t them[4] = { 10, 0, 2, 1 };
	uint8_t out[1500], dst[4];
	struct mb m;

	udhcpc_msg(&m, DHCP_REQUEST, guest, them);
	CHECK(ask(&m, out, dst) == 0);
	udhcpc_msg(&m, DHCP_REQUEST, other, them);
	CHECK(ask(&m, out, dst) == 0);
	/* REQUEST asking for nothing at all */
	udhcpc_msg(&m, DHCP_REQUEST, NULL, NULL);
	CHECK(ask(&m, out, dst) == 0);
}

TEST(dhcp_inform)
{
	static const uint8_t stat[4] = { 10, 0, 2, 50 };
	uint8_t out[1500], dst[4];
	struct mb m;
	struct rep r;
	size_t n;

	dhclient_msg(&m, DHCP_INFORM, stat, NULL, NULL);
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	REQUIRE(r.ok);
	check_hdr(out, &m, stat, zero);  /* no yiaddr */
	CHECK(has(&r, 53, "\x05", 1));
	check_config(&r, 0);             /* no lease times */
	CHECK(!memcmp(dst, stat, 4));    /* RFC 2131 4.3.5: to ciaddr */

	dhclient_msg(&m, DHCP_INFORM, NULL, NULL, NULL);
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	REQUIRE(r.ok);
	CHECK(!memcmp(dst, bcast, 4));
}

TEST(dhcp_no_reply)
{
	uint8_t out[1500], dst[4];
	struct mb m;
	static const uint8_t types[] = { DHCP_RELEASE, DHCP_DECLINE,
					 DHCP_OFFER,   DHCP_ACK,
					 DHCP_NAK,     0,
					 9,            200 };
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		dhclient_msg(&m, types[i], guest, guest, server);
		CHECK(ask(&m, out, dst) == 0);
	}
	/* plain BOOTP: no message type */
	hdr(&m, 1, 0, NULL);
	end(&m);
	CHECK(ask(&m, out, dst) == 0);
	/* a BOOTREPLY, relayed, token ring, long hardware address */
	udhcpc_msg(&m, DHCP_DISCOVER, NULL, NULL);
	CHECK(ask(&m, out, dst) == 317);
	m.d[0] = 2;
	CHECK(ask(&m, out, dst) == 0);
	udhcpc_msg(&m, DHCP_DISCOVER, NULL, NULL);
	m.d[24] = 10;
	CHECK(ask(&m, out, dst) == 0);
	udhcpc_msg(&m, DHCP_DISCOVER, NULL, NULL);
	m.d[1] = 6;
	CHECK(ask(&m, out, dst) == 0);
	udhcpc_msg(&m, DHCP_DISCOVER, NULL, NULL);
	m.d[2] = 16;
	CHECK(ask(&m, out, dst) == 0);
	/* bad cookie */
	udhcpc_msg(&m, DHCP_DISCOVER, NULL, NULL);
	m.d[239] = 98;
	CHECK(ask(&m, out, dst) == 0);
}

TEST(dhcp_every_prefix)
{
	uint8_t out[1500], dst[4];
	struct mb m;
	size_t cut, endoff, got;
	int style;

	for (style = 0; style < 3; style++) {
		if (style == 0)
			udhcpc_msg(&m, DHCP_DISCOVER, NULL, NULL);
		else if (style == 1)
			dhclient_msg(&m, DHCP_REQUEST, NULL, guest, server);
		else
			dhclient_msg(&m, DHCP_INFORM, other, NULL, NULL);
		for (endoff = 240; m.d[endoff] != 255;)
			endoff += m.d[endoff] ? 2u + m.d[endoff + 1] : 1u;
		for (cut = 0; cut <= m.n; cut++) {
			/* exact-size copy so ASan sees any overread */
			uint8_t *p = malloc(cut ? cut : 1);

			REQUIRE(p);
			memcpy(p, m.d, cut);
			got = dhcp_reply(&cfg, p, cut, out, sizeof(out), dst);
			CHECK((got != 0) == (cut > endoff));
			free(p);
		}
	}
}

/* Options area problems, each on top of a valid udhcpc DISCOVER */
TEST(dhcp_option_overflow)
{
	uint8_t out[1500], dst[4];
	struct mb m;
	struct rep r;
	size_t n;

	/* length runs past the end of the message */
	hdr(&m, 7, 0, NULL);
	opt8(&m, 53, DHCP_DISCOVER);
	m.d[m.n++] = 12;
	m.d[m.n++] = 200;
	memset(m.d + m.n, 'a', 20);
	m.n += 20;
	CHECK(ask(&m, out, dst) == 0);
	/* no END at all, message full of options */
	hdr(&m, 7, 0, NULL);
	opt8(&m, 53, DHCP_DISCOVER);
	while (m.n + 10 < 600)
		opt(&m, 250, "01234567", 8);
	CHECK(ask(&m, out, dst) == 0);
	/* option code as the last byte, its length missing */
	hdr(&m, 7, 0, NULL);
	opt8(&m, 53, DHCP_DISCOVER);
	m.d[m.n++] = 12;
	CHECK(ask(&m, out, dst) == 0);
	/* wrong lengths for the options we read */
	hdr(&m, 7, 0, NULL);
	opt(&m, 53, "\x01\x01", 2);
	end(&m);
	CHECK(ask(&m, out, dst) == 0);
	hdr(&m, 7, 0, NULL);
	opt8(&m, 53, DHCP_REQUEST);
	opt(&m, 50, guest, 3);
	end(&m);
	CHECK(ask(&m, out, dst) == 0);
	hdr(&m, 7, 0, NULL);
	opt8(&m, 53, DHCP_REQUEST);
	opt(&m, 50, guest, 4);
	opt(&m, 54, "\x0a\x00\x02\x02\x00", 5);
	end(&m);
	CHECK(ask(&m, out, dst) == 0);
	hdr(&m, 7, 0, NULL);
	opt8(&m, 53, DHCP_DISCOVER);
	opt(&m, 61, "\x01", 1);
	end(&m);
	CHECK(ask(&m, out, dst) == 0);
	hdr(&m, 7, 0, NULL);
	opt8(&m, 53, DHCP_DISCOVER);
	opt(&m, 57, "\x01\x00", 2);    /* 256 < 576 */
	end(&m);
	CHECK(ask(&m, out, dst) == 0);
	/* duplicated message type */
	hdr(&m, 7, 0, NULL);
	opt8(&m, 53, DHCP_DISCOVER);
	opt8(&m, 53, DHCP_REQUEST);
	end(&m);
	CHECK(ask(&m, out, dst) == 0);
	/* pads, zero-length unknown options, and junk after END are fine */
	hdr(&m, 7, 0, NULL);
	m.d[m.n++] = 0;
	m.d[m.n++] = 0;
	opt(&m, 80, "", 0);
	opt8(&m, 53, DHCP_DISCOVER);
	opt(&m, 55, "\x01\x03\x06", 3);
	opt(&m, 55, "\x0f", 1);        /* split list (RFC 3396): a hint */
	m.d[m.n++] = 255;
	m.d[m.n++] = 53;
	m.d[m.n++] = 1;
	m.d[m.n++] = 3;
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	CHECK(r.ok && has(&r, 53, "\x02", 1));
	/* option overload: accepted, not followed */
	udhcpc_msg(&m, DHCP_DISCOVER, NULL, NULL);
	m.n = 240;
	opt8(&m, 52, 3);
	opt8(&m, 53, DHCP_DISCOVER);
	end(&m);
	m.d[108] = 255;                  /* file: just END */
	m.d[44] = 53;                    /* sname: garbage options */
	m.d[45] = 250;
	n = ask(&m, out, dst);
	parse_rep(out, n, &r);
	CHECK(r.ok && has(&r, 53, "\x02", 1));
	/* overload with the message type only in file: plain BOOTP to us */
	hdr(&m, 7, 0, NULL);
	opt8(&m, 52, 1);
	end(&m);
	m.d[108] = 53;
	m.d[109] = 1;
	m.d[110] = 1;
	m.d[111] = 255;
	CHECK(ask(&m, out, dst) == 0);
	/* overload with a bad length */
	hdr(&m, 7, 0, NULL);
	opt8(&m, 53, DHCP_DISCOVER);
	opt(&m, 52, "\x01\x02", 2);
	end(&m);
	CHECK(ask(&m, out, dst) == 0);
}

TEST(dhcp_reply_limits)
{
	struct dhcp_cfg c = cfg;
	char dom[300];
	uint8_t out[1500], dst[4], cid[255];
	struct mb m;
	struct rep r;
	size_t n;

	/* too small an output buffer: the client id gives way first */
	udhcpc_msg(&m, DHCP_DISCOVER, NULL, NULL);
	CHECK(dhcp_reply(&c, m.d, m.n, out, 299, dst) == 0);
	CHECK(dhcp_reply(&c, m.d, m.n, out, 307, dst) == 0);
	CHECK(dhcp_reply(&c, m.d, m.n, out, 308, dst) == 308);
	parse_rep(out, 308, &r);
	CHECK(r.ok && !r.opt[61]);
	CHECK(dhcp_reply(&c, m.d, m.n, out, 317, dst) == 317);
	/* a short reply is padded to the BOOTP minimum */
	c.domain = NULL;
	hdr(&m, 9, 0, NULL);
	opt8(&m, 53, DHCP_DISCOVER);
	end(&m);
	n = dhcp_reply(&c, m.d, m.n, out, sizeof(out), dst);
	parse_rep(out, n, &r);
	CHECK(r.ok && n == 300);
	/* a 255-byte domain and a 255-byte client id: the reply stays
	 * within 548 bytes, the client id is what gives way */
	memset(dom, 'd', 255);
	dom[255] = '\0';
	c.domain = dom;
	memset(cid, 7, sizeof(cid));
	hdr(&m, 9, 0, NULL);
	opt8(&m, 53, DHCP_DISCOVER);
	opt(&m, 61, cid, sizeof(cid));
	end(&m);
	n = dhcp_reply(&c, m.d, m.n, out, sizeof(out), dst);
	parse_rep(out, n, &r);
	CHECK(r.ok && n <= 548);
	CHECK(has(&r, 15, dom, 255) && !r.opt[61]);
	/* over-long domain, no domain, empty domain, no MTU */
	dom[255] = 'd';
	dom[256] = '\0';
	c.domain = dom;
	n = dhcp_reply(&c, m.d, m.n, out, sizeof(out), dst);
	parse_rep(out, n, &r);
	CHECK(r.ok && !r.opt[15] && has(&r, 61, cid, 255));
	c.domain = NULL;
	c.mtu = 0;
	n = dhcp_reply(&c, m.d, m.n, out, sizeof(out), dst);
	parse_rep(out, n, &r);
	CHECK(r.ok && !r.opt[15] && !r.opt[26]);
	c.domain = "";
	n = dhcp_reply(&c, m.d, m.n, out, sizeof(out), dst);
	parse_rep(out, n, &r);
	CHECK(r.ok && !r.opt[15]);
	/* an infinite lease does not overflow T1/T2 */
	c.lease_secs = 0xffffffffu;
	n = dhcp_reply(&c, m.d, m.n, out, sizeof(out), dst);
	parse_rep(out, n, &r);
	CHECK(r.ok && has32(&r, 51, 0xffffffffu) &&
	      has32(&r, 58, 0x7fffffffu) && has32(&r, 59, 0xdfffffffu));
}

/* Random bytes and random mutations of valid requests: never a crash,
 * every reply a well-formed BOOTREPLY */
TEST(dhcp_garbage)
{
	uint8_t out[1500], dst[4], buf[700];
	uint32_t s = 12345;
	struct mb m;
	struct rep r;
	int i, j, replies = 0;

	for (i = 0; i < 20000; i++) {
		size_t len, n;

		if (i & 1) {
			udhcpc_msg(&m, (uint8_t)(1 + i % 8), guest, server);
			memcpy(buf, m.d, m.n);
			len = m.n;
			for (j = 0; j < 1 + i % 4; j++) {
				s = s * 1103515245 + 12345;
				buf[240 + (s >> 8) % (len - 240)] =
					(uint8_t)(s >> 20);
			}
		} else {
			s = s * 1103515245 + 12345;
			len = (s >> 8) % sizeof(buf);
			for (j = 0; j < (int)len; j++) {
				s = s * 1103515245 + 12345;
				buf[j] = (uint8_t)(s >> 16);
			}
			if (len >= 240) {    /* get past the header checks */
				memcpy(buf, "\x01\x01\x06", 3);
				memset(buf + 24, 0, 4);
				memcpy(buf + 236, "\x63\x82\x53\x63", 4);
			}
		}
		n = dhcp_reply(&cfg, buf, len, out, sizeof(out), dst);
		if (n) {
			parse_rep(out, n, &r);
			CHECK(r.ok && r.opt[53] && r.optlen[53] == 1);
			replies++;
		}
	}
	CHECK(replies > 100);
}
