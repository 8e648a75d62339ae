// SPDX-License-Identifier: MIT
/*
 * flowio.c - the transport of a flow: the sandbox side (lwIP's pcb) and
 * the upstream side (a host socket), for the core and every handler.
 *
 * DOC: Theory of operation
 *
 * Sandbox -> us: lwIP's receive callback queues its pbufs on f->to_host
 * and acknowledges nothing; what a handler takes (flow_sb_read(),
 * flow_sb_consume()) is acknowledged then (tcp_recved()), so lwIP's
 * receive window is the only buffer and a slow upstream slows the sandbox.
 * Taking bytes drops the pbufs that are wholly consumed from the head of
 * the chain: each pbuf of a chain holds a reference to the next, so the
 * head is cut off (its next set to NULL, its tot_len to its own len) and
 * freed, and the chain's reference to the next pbuf becomes the queue's.
 *
 * Us -> sandbox: lwIP's send buffer bounds what we hold.  Its send queue
 * (segments, TCP_SND_QUEUELEN) runs out before its bytes when writes are
 * small, and a write that fails for want of segments would be lost work:
 * flow_sb_room() says 0 while fewer than 8 segments are left, so a
 * handler stops reading upstream instead (the back-pressure guard).
 */
#include "gw.h"

#include <errno.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "lwip/tcp.h"

/* segments kept free in lwIP's send queue */
#define SB_QUEUE_SPARE 8

void flow_reap_add(struct flow *f)
{
	struct gw *g = f->g;

	if (f->on_reap)
		return;
	f->on_reap = 1;
	f->reap_next = g->reap;
	g->reap = f;
	gw_busy(g);
}

void flow_close_later(struct flow *f, int act, const char *reason)
{
	f->close_pending = 1;
	f->close_act = act;
	f->close_reason = reason;
	flow_reap_add(f);
}

void flow_abort_later(struct flow *f, int act, const char *reason)
{
	f->close_abort = 1;
	flow_close_later(f, act, reason);
}

void flow_want_events(struct flow *f, uint32_t ev)
{
	if (f->fd < 0)
		return;
	/* an fd with no events still reports HUP/ERR: take it out instead */
	if (!ev) {
		if (f->registered)
			gw_epoll_mod(f->g, f->fd, &f->ref, 0, EPOLL_CTL_DEL);
		f->registered = 0;
		f->epoll_events = 0;
		return;
	}
	if (f->registered && (uint32_t)f->epoll_events == ev)
		return;
	gw_epoll_mod(f->g, f->fd, &f->ref, ev,
		     f->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD);
	f->registered = 1;
	f->epoll_events = (int)ev;
}

/* ------------------------------------------------------------------ */
/* Sandbox -> us                                                       */

void flow_sb_queue(struct flow *f, struct pbuf *p)
{
	if (f->to_host)
		pbuf_cat(f->to_host, p);
	else
		f->to_host = p;
}

/* Open lwIP's receive window by @n bytes (tcp_recved() takes a u16). */
static void sb_window(struct flow *f, size_t n)
{
	while (n) {
		u16_t step = n > 0xffff ? 0xffff : (u16_t)n;

		if (f->pcb)
			tcp_recved(f->pcb, step);
		n -= step;
	}
}

void flow_sb_consume(struct flow *f, size_t n)
{
	size_t off = f->to_host_off + n;

	sb_window(f, n);
	f->bytes_up += n;
	while (f->to_host && off >= f->to_host->len) {
		struct pbuf *head = f->to_host;

		off -= head->len;
		f->to_host = head->next;
		head->next = NULL;
		head->tot_len = head->len;
		pbuf_free(head);
	}
	f->to_host_off = f->to_host ? off : 0;
}

size_t flow_sb_read(struct flow *f, uint8_t *dst, size_t room)
{
	size_t got = 0;

	while (f->to_host && got < room) {
		size_t want = room - got, n;

		if (want > 0xffff)
			want = 0xffff;
		n = pbuf_copy_partial(f->to_host, dst + got, (u16_t)want,
				      (u16_t)f->to_host_off);
		if (!n)
			break;
		flow_sb_consume(f, n);
		got += n;
	}
	return got;
}

int flow_sb_iov(const struct flow *f, struct iovec *iov, int max,
		size_t *total)
{
	const struct pbuf *q;
	size_t off = f->to_host_off;
	int n = 0;

	*total = 0;
	for (q = f->to_host; q && n < max; q = q->next) {
		if (off >= q->len) {
			off -= q->len;
			continue;
		}
		iov[n].iov_base = (uint8_t *)q->payload + off;
		iov[n].iov_len = q->len - off;
		*total += iov[n].iov_len;
		off = 0;
		n++;
	}
	return n;
}

void flow_sb_discard(struct flow *f)
{
	/* walked, not tot_len: a chain of more than 64 KiB (the window is
	 * 1 MiB) wraps pbuf_cat()'s u16 sum */
	size_t left = 0;
	const struct pbuf *q;

	if (!f->to_host)
		return;
	for (q = f->to_host; q; q = q->next)
		left += q->len;
	sb_window(f, left - f->to_host_off);
	pbuf_free(f->to_host);
	f->to_host = NULL;
	f->to_host_off = 0;
}

/* ------------------------------------------------------------------ */
/* Us -> sandbox                                                       */

size_t flow_sb_room(const struct flow *f)
{
	if (!f->pcb || tcp_sndqueuelen(f->pcb) >= TCP_SND_QUEUELEN - SB_QUEUE_SPARE)
		return 0;
	return tcp_sndbuf(f->pcb);
}

ssize_t flow_sb_write(struct flow *f, const void *p, size_t n)
{
	size_t off = 0;

	while (off < n && f->pcb) {
		size_t chunk = n - off, room = tcp_sndbuf(f->pcb);
		err_t e;

		if (chunk > 0xffff)
			chunk = 0xffff;
		if (chunk > room)
			chunk = room;
		if (!chunk)
			break;
		e = gw_tcp_write(f->pcb, (const uint8_t *)p + off, (u16_t)chunk,
				 TCP_WRITE_FLAG_COPY);
		if (e == ERR_MEM)
			break;
		if (e != ERR_OK)
			return -1;
		off += chunk;
	}
	f->bytes_down += off;
	return (ssize_t)off;
}

int flow_sb_send(struct flow *f, const void *p, size_t n)
{
	if (!f->pcb || n > 0xffff || n > tcp_sndbuf(f->pcb))
		return -1;
	return gw_tcp_write(f->pcb, p, (u16_t)n, TCP_WRITE_FLAG_COPY) == ERR_OK
		       ? 0 : -1;
}

void flow_sb_push(struct flow *f)
{
	if (f->pcb)
		tcp_output(f->pcb);
}

/**
 * flow_sb_fin_ack_later() - Let the sandbox's FIN be acknowledged with ours
 * @f: Flow whose sandbox has just sent its FIN (and whose handler has seen
 *     it)
 *
 * lwIP acknowledges a FIN at once; when upstream closes soon after (a
 * client that closes first: upstream sees our shutdown and closes too),
 * our FIN follows in a second frame.  As Linux does (it delays the ACK of
 * a FIN that moves a connection to CLOSE_WAIT), the ACK waits instead: it
 * goes with our FIN or the next data, or with lwIP's delayed ACKs (its
 * fast timer, at most TCP_TMR_INTERVAL = 250 ms later).  One frame less
 * per connection, both ways through the sandbox's kernel.
 */
void flow_sb_fin_ack_later(struct flow *f)
{
	struct tcp_pcb *pcb = f->pcb;

	if (pcb && pcb->state == CLOSE_WAIT && (pcb->flags & TF_ACK_NOW)) {
		tcp_clear_flags(pcb, TF_ACK_NOW);
		tcp_set_flags(pcb, TF_ACK_DELAY);
	}
}

/* ------------------------------------------------------------------ */
/* Us <-> upstream                                                     */

ssize_t flow_up_read(struct flow *f, void *p, size_t n)
{
	return f->fd < 0 ? (errno = EBADF, -1) : read(f->fd, p, n);
}

ssize_t flow_up_write(struct flow *f, const void *p, size_t n)
{
	return f->fd < 0 ? (errno = EBADF, -1) : write(f->fd, p, n);
}
