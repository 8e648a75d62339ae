// SPDX-License-Identifier: MIT
/*
 * dnstcp.c - DNS over TCP to the gateway's own resolver address
 * (FK_DNSTCP): RFC 7766 framing (a 2-byte length before each message),
 * each query answered by the same DNS server as over UDP (gw_dns_query()).
 * A query that waits for the host resolver holds the ones after it: the
 * answers go back in the queries' order.
 *
 * A query is at most 65535 bytes; a longer length, or a connection idle
 * for FLOW_DNS_IDLE_MS, ends the connection.  DNS over TCP counts against
 * max_connections like any flow, and is not audited as a connection (its
 * queries are, by the DNS server).
 */
#include "gw.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"

#define DNS_TCP_MAX (65535 + 2)

struct dnstcp {
	struct gw *g;
	uint64_t idle_until;
	uint32_t wait;          /* the query waiting for the host, or 0 */
	size_t len;
	uint8_t buf[DNS_TCP_MAX];
};


static void dnstcp_done(struct gw *g, void *arg, const uint8_t *resp,
			size_t len);

/* Send one answer, framed.  Return: 0, or -1 */
static int dnstcp_send(struct flow *f, const uint8_t *resp, size_t len)
{
	uint8_t out[4096];

	if (!len || len > sizeof(out) - 2)
		return 0;
	wr16(out, (uint16_t)len);
	memcpy(out + 2, resp, len);
	return flow_sb_send(f, out, len + 2);
}

/* Answer the whole queries @d holds, until one has to wait.
 * Return: 0, or -1 (send failed). */
static int dnstcp_answer(struct flow *f, struct dnstcp *d)
{
	uint8_t out[4096];

	while (d->len >= 2 && !d->wait) {
		size_t mlen = rd16(d->buf), rlen;

		if (d->len < 2 + mlen)
			break;
		rlen = gw_dns_query(f->g, d->buf + 2, mlen, out,
				    sizeof(out) - 2, "tcp", dnstcp_done, f,
				    &d->wait);
		if (dnstcp_send(f, out, rlen) < 0)
			return -1;
		memmove(d->buf, d->buf + 2 + mlen, d->len - 2 - mlen);
		d->len -= 2 + mlen;
	}
	return 0;
}

/* The host resolver answered the query that waited: send it, go on. */
static void dnstcp_done(struct gw *g, void *arg, const uint8_t *resp,
			size_t len)
{
	struct flow *f = arg;
	struct dnstcp *d = f->h;

	(void)g;
	d->wait = 0;
	if (f->close_pending)
		return;
	if (dnstcp_send(f, resp, len) < 0 || dnstcp_answer(f, d) < 0) {
		flow_abort_later(f, ACT_ALLOW, "DNS over TCP: send failed");
		return;
	}
	flow_sb_push(f);
	if (f->sandbox_eof && !d->len)
		flow_close_later(f, ACT_ALLOW, NULL);
}

static void dnstcp_readable(struct flow *f)
{
	struct dnstcp *d = f->h;

	d->idle_until = now_ms() + FLOW_DNS_IDLE_MS;
	for (;;) {
		/* a full buffer holds a whole query (65535 bytes at most),
		 * which is answered and makes room */
		size_t n = flow_sb_read(f, d->buf + d->len,
					sizeof(d->buf) - d->len);

		d->len += n;
		if (dnstcp_answer(f, d) < 0) {
			flow_abort_later(f, ACT_ALLOW, "DNS over TCP: send failed");
			return;
		}
		if (!n || !f->to_host)
			break;
	}
	flow_sb_push(f);
	if (f->sandbox_eof && !d->wait)
		flow_close_later(f, ACT_ALLOW, NULL);
}

static uint64_t dnstcp_due(const struct flow *f, uint64_t now)
{
	const struct dnstcp *d = f->h;

	(void)now;
	return f->close_pending ? 0 : d->idle_until + 1;
}

static void dnstcp_tick(struct flow *f, uint64_t now)
{
	const struct dnstcp *d = f->h;

	if (f->pcb && !f->close_pending && now > d->idle_until)
		flow_close_later(f, ACT_ALLOW, "idle");
}

static int dnstcp_start(struct flow *f, int arg)
{
	struct dnstcp *d = malloc(sizeof(*d));

	(void)arg;
	if (!d)
		return -1;
	d->g = f->g;
	d->wait = 0;
	d->len = 0;
	d->idle_until = now_ms() + FLOW_DNS_IDLE_MS;
	f->h = d;
	return 0;
}

static void dnstcp_free(void *h)
{
	struct dnstcp *d = h;

	if (d && d->wait)
		gw_dns_cancel(d->g, d->wait);
	free(d);
}

/* Fields as in struct flow_ops (flow.h) */
const struct flow_ops dnstcp_ops = { "dns-tcp", dnstcp_start, dnstcp_readable,
				     NULL, NULL, dnstcp_due, dnstcp_tick,
				     dnstcp_free, 0 };
