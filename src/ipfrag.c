// SPDX-License-Identifier: MIT
/*
 * ipfrag.c - IPv6 extension headers and IP reassembly (see ipfrag.h).
 *
 * DOC: Theory of operation
 *
 * Each sandbox has its own struct ipfrag (made on its first fragment), so
 * fragments of one sandbox never complete another's datagram, whatever
 * their addresses and IDs.  It holds IPFRAG_SLOTS datagrams at once; each
 * slot keeps the payload at its offset in a 64 KiB buffer (allocated while
 * the slot is in use) and a bitmap of the 8-byte blocks received.  The
 * first fragment brings the header.  Overlaps are not resolved, they drop
 * the datagram: that is what RFC 5722 asks for IPv6, and what leaves no
 * room for the "first copy or last copy wins" games that evade filters.
 * A datagram that does not complete in IPFRAG_TIMEOUT_MS, or is the oldest
 * when a new one needs a slot, is dropped.  The bound per sandbox is
 * IPFRAG_SLOTS x 64 KiB.
 */
#include "ipfrag.h"

#include "bytes.h"

#include <stdlib.h>
#include <string.h>

#define IPFRAG_MAX 65535        /* the whole datagram, header included */
#define HDR_ROOM 64             /* room for the header before the payload */
#define BLOCKS (IPFRAG_MAX / 8 + 1)

struct slot {
	int family;             /* 0: free */
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto;          /* IPv4: protocol */
	uint64_t born;
	size_t hlen;            /* header held (first fragment seen), or 0 */
	size_t total;           /* payload length (last fragment seen), or 0 */
	size_t got;             /* payload bytes held */
	uint8_t have[BLOCKS / 8 + 1];
	uint8_t *buf;           /* HDR_ROOM + IPFRAG_MAX */
};

struct ipfrag {
	struct slot s[IPFRAG_SLOTS];
	int done;               /* a slot returned by the last call, or -1 */
	uint8_t *atom;          /* an atomic fragment made plain */
};

/* The options of a Hop-by-Hop or Destination Options header: padding,
 * or options a node that does not know them may skip (RFC 8200 4.2). */
static int options_ok(const uint8_t *ip, size_t off, size_t hl)
{
	size_t i;

	for (i = off + 2; i < off + hl;) {
		uint8_t t = ip[i];

		if (t == 0) {           /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > off + hl || i + 2 + ip[i + 1] > off + hl)
			return 0;
		/* PadN, or skippable when unknown */
		if (t != 1 && (t & 0xc0))
			return 0;
		i += 2 + (size_t)ip[i + 1];
	}
	return 1;
}

int ip6_walk(const uint8_t *ip, size_t len, struct ip6_walk *w)
{
	uint8_t nh = ip[6];
	size_t off = 40, hl;
	int n;

	for (n = 0; n < 8; n++) {
		/* 0 Hop-by-Hop, 60 Destination Options, 43 Routing,
		 * 44 Fragment; anything else is the upper layer (or No Next
		 * Header, ESP...) */
		if (nh != 0 && nh != 60 && nh != 43 && nh != 44) {
			w->proto = nh;
			w->off = off;
			return IP6W_OK;
		}
		/* 8 bytes at least; Hop-by-Hop only right after the header */
		if (len - off < 8 || (nh == 0 && off != 40))
			return IP6W_DROP;
		if (nh == 44) {
			w->proto = ip[off];
			w->off = off;
			return IP6W_FRAG;
		}
		hl = ((size_t)ip[off + 1] + 1) * 8;
		if (hl > len - off)
			return IP6W_DROP;
		/* Routing with segments left: not for us */
		if (nh == 43 ? ip[off + 3] != 0 : !options_ok(ip, off, hl))
			return IP6W_DROP;
		nh = ip[off];
		off += hl;
	}
	return IP6W_DROP;
}

struct ipfrag *ipfrag_new(void)
{
	struct ipfrag *r = calloc(1, sizeof(*r));

	if (r)
		r->done = -1;
	return r;
}

static void slot_free(struct slot *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

void ipfrag_free(struct ipfrag *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < IPFRAG_SLOTS; i++)
		slot_free(&r->s[i]);
	free(r->atom);
	free(r);
}

static void release_done(struct ipfrag *r)
{
	if (r->done >= 0)
		slot_free(&r->s[r->done]);
	r->done = -1;
}

void ipfrag_tick(struct ipfrag *r, uint64_t now)
{
	int i;

	if (!r)
		return;
	release_done(r);
	for (i = 0; i < IPFRAG_SLOTS; i++)
		if (r->s[i].family && now - r->s[i].born >= IPFRAG_TIMEOUT_MS)
			slot_free(&r->s[i]);
}

unsigned ipfrag_held(const struct ipfrag *r)
{
	unsigned n = 0;
	int i;

	for (i = 0; r && i < IPFRAG_SLOTS; i++)
		n += r->s[i].family != 0 && r->done != i;
	return n;
}

/* The slot for this datagram: found, or a free one (the oldest taken). */
static struct slot *slot_get(struct ipfrag *r, int family, const uint8_t *src,
			     const uint8_t *dst, size_t alen, uint32_t id,
			     uint8_t proto, uint64_t now)
{
	struct slot *s, *free_s = NULL, *old = NULL;
	int i;

	for (i = 0; i < IPFRAG_SLOTS; i++) {
		s = &r->s[i];
		if (s->family && now - s->born >= IPFRAG_TIMEOUT_MS)
			slot_free(s);
		if (!s->family) {
			if (!free_s)
				free_s = s;
			continue;
		}
		if (s->family == family && s->id == id && s->proto == proto &&
		    !memcmp(s->src, src, alen) && !memcmp(s->dst, dst, alen))
			return s;
		if (!old || s->born < old->born)
			old = s;
	}
	s = free_s ? free_s : old;
	slot_free(s);
	s->buf = malloc(HDR_ROOM + IPFRAG_MAX);
	if (!s->buf)
		return NULL;
	s->family = family;
	memcpy(s->src, src, alen);
	memcpy(s->dst, dst, alen);
	s->id = id;
	s->proto = proto;
	s->born = now;
	return s;
}

/**
 * slot_add() - Put one fragment's payload in its place
 * @s:    Slot
 * @off:  Its offset in the payload
 * @p:    Its bytes
 * @n:    Their number
 * @more: More fragments follow
 * @max:  The largest payload the datagram may have
 * Return: 1 complete, 0 not yet, -1 the datagram is to be dropped
 */
static int slot_add(struct slot *s, size_t off, const uint8_t *p, size_t n,
		    int more, size_t max)
{
	size_t b, end = off + n;

	if (more && (n == 0 || n % 8))
		return -1;
	if (end > max)
		return -1;
	if (!more) {
		if (s->total && s->total != end)
			return -1;
		if (!s->total)
			/* nothing held may lie past the end */
			for (b = (end + 7) / 8; b < BLOCKS; b++)
				if (s->have[b / 8] & (1u << (b % 8)))
					return -1;
		s->total = end;
	}
	if (s->total && end > s->total)
		return -1;
	for (b = off / 8; b < (end + 7) / 8; b++)
		if (s->have[b / 8] & (1u << (b % 8)))
			return -1;      /* overlap, or a duplicate */
	for (b = off / 8; b < (end + 7) / 8; b++)
		s->have[b / 8] |= (uint8_t)(1u << (b % 8));
	memcpy(s->buf + HDR_ROOM + off, p, n);
	s->got += n;
	if (s->total && s->got > s->total)
		return -1;
	return s->total && s->hlen && s->got == s->total;
}

size_t ipfrag_input4(struct ipfrag *r, const uint8_t *ip, size_t len,
		     uint64_t now, const uint8_t **out)
{
	size_t hl = (size_t)(ip[0] & 15) * 4, off;
	uint16_t frag = rd16(ip + 6);
	struct slot *s;
	uint8_t *h;
	uint32_t sum = 0;
	size_t i;
	int k;

	release_done(r);
	if (hl < 20 || len < hl || hl > HDR_ROOM)
		return 0;
	off = (size_t)(frag & 0x1fff) * 8;
	s = slot_get(r, 4, ip + 12, ip + 16, 4, rd16(ip + 4), ip[9], now);
	if (!s)
		return 0;
	k = slot_add(s, off, ip + hl, len - hl, !!(frag & 0x2000),
		     IPFRAG_MAX - hl);
	if (k >= 0 && off == 0) {
		memcpy(s->buf + HDR_ROOM - hl, ip, hl);
		s->hlen = hl;
		k = s->total && s->got == s->total;
	}
	if (k >= 0 && s->hlen && s->hlen + s->total > IPFRAG_MAX)
		k = -1;
	if (k < 0) {
		slot_free(s);
		return 0;
	}
	if (!k)
		return 0;
	/* the plain datagram: its length, no fragment bits, a new sum */
	h = s->buf + HDR_ROOM - s->hlen;
	wr16(h + 2, (uint16_t)(s->hlen + s->total));
	wr16(h + 6, 0);
	wr16(h + 10, 0);
	for (i = 0; i < s->hlen; i += 2)
		sum += rd16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	wr16(h + 10, (uint16_t)~sum);
	r->done = (int)(s - r->s);
	*out = h;
	return s->hlen + s->total;
}

size_t ipfrag_input6(struct ipfrag *r, const uint8_t *ip, size_t len,
		     size_t foff, uint64_t now, const uint8_t **out)
{
	const uint8_t *fh = ip + foff;
	size_t off = rd16(fh + 2) & 0xfff8, n = len - foff - 8;
	int more = fh[3] & 1, k;
	struct slot *s;
	uint8_t *h;

	release_done(r);
	if (foff + 8 > len)
		return 0;
	if (!off && !more) {
		/* atomic: the packet without its Fragment header */
		if (!r->atom)
			r->atom = malloc(40 + IPFRAG_MAX);
		if (!r->atom || n > IPFRAG_MAX - 40)
			return 0;
		memcpy(r->atom, ip, 40);
		r->atom[6] = fh[0];
		wr16(r->atom + 4, (uint16_t)n);
		memcpy(r->atom + 40, fh + 8, n);
		*out = r->atom;
		return 40 + n;
	}
	/* the protocol is not part of the key: it may differ between
	 * fragments only in the first one's eyes (RFC 8200 4.5) */
	s = slot_get(r, 6, ip + 8, ip + 24, 16, rd32(fh + 4), 0, now);
	if (!s)
		return 0;
	/* the whole packet must fit lwIP's 16-bit lengths */
	k = slot_add(s, off, fh + 8, n, more, IPFRAG_MAX - 40);
	if (k >= 0 && off == 0) {
		memcpy(s->buf + HDR_ROOM - 40, ip, 40);
		s->buf[HDR_ROOM - 40 + 6] = fh[0];
		s->hlen = 40;
		k = s->total && s->got == s->total;
	}
	if (k < 0) {
		slot_free(s);
		return 0;
	}
	if (!k)
		return 0;
	h = s->buf + HDR_ROOM - 40;
	wr16(h + 4, (uint16_t)s->total);
	r->done = (int)(s - r->s);
	*out = h;
	return 40 + s->total;
}
