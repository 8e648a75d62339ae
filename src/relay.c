// SPDX-License-Identifier: MIT
/*
 * relay.c - the passthrough handler (FK_RELAY): bytes both ways, unread.
 *
 * DOC: Theory of operation
 *
 * lwIP's receive window is the sandbox->host buffer (flowio.c acknowledges
 * only what the host socket took), and lwIP's send buffer bounds
 * host->sandbox: we read from the host socket only as much as
 * flow_sb_room() says lwIP takes.  When lwIP takes less than it said, the
 * rest waits in the handler's state (struct relay, allocated only then)
 * and nothing more is read until it is sent.  No buffer grows without
 * bound.  A half-close travels: the sandbox's FIN becomes shutdown(SHUT_WR)
 * upstream once its bytes are written, and upstream's EOF a FIN to the
 * sandbox once lwIP took everything.
 */
#include "gw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define READ_CHUNK (256 * 1024)

/* Host bytes lwIP could not take yet. */
struct relay {
	size_t len, off;
	uint8_t buf[];
};

static uint8_t rbuf[READ_CHUNK];

static void relay_update_events(struct flow *f)
{
	uint32_t ev = 0;

	if (f->state != FLOW_OPEN)
		return;
	if (f->to_host && !f->need_peek)   /* peeked bytes wait for the decision */
		ev |= EPOLLOUT;
	/* a parked upstream TLS connection (f->up_state) is the HTTP
	 * handler's: none of its bytes are the sandbox's */
	if (!f->host_eof && !f->h && !f->up_state && flow_sb_room(f) > 0)
		ev |= EPOLLIN | EPOLLRDHUP;
	flow_want_events(f, ev);
}

static void relay_try_finish(struct flow *f)
{
	if (f->state != FLOW_OPEN || !f->pcb || f->close_pending)
		return;
	if (!(f->sandbox_eof && f->host_shut && f->host_eof &&
	      f->sandbox_shut))
		return;
	flow_close_later(f, ACT_ALLOW, NULL);
}

/* Sandbox bytes to the host socket.  Return: 0, or -1 (write failed). */
static int up_flush(struct flow *f)
{
	struct iovec iov[64];

	while (f->to_host && !f->need_peek) {
		size_t total;
		int n = flow_sb_iov(f, iov, 64, &total);
		ssize_t w;

		if (!n) {
			flow_sb_discard(f);
			break;
		}
		w = writev(f->fd, iov, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -1;
		}
		flow_sb_consume(f, (size_t)w);
		if ((size_t)w < total)
			break;
	}
	if (!f->to_host && f->sandbox_eof && !f->host_shut) {
		shutdown(f->fd, SHUT_WR);
		f->host_shut = 1;
	}
	return 0;
}

/* Push bytes held from the host into lwIP; keep what it can't take. */
static int down_flush(struct flow *f)
{
	struct relay *r = f->h;

	if (r) {
		ssize_t n = flow_sb_write(f, r->buf + r->off, r->len - r->off);

		if (n < 0)
			return -1;
		r->off += (size_t)n;
		if (r->off == r->len) {
			free(r);
			f->h = NULL;
		}
	}
	flow_sb_push(f);
	return 0;
}

static void sandbox_fin(struct flow *f)
{
	if (f->host_eof && !f->h && !f->sandbox_shut && f->pcb) {
		tcp_shutdown(f->pcb, 0, 1);
		f->sandbox_shut = 1;
	}
}

/* Keep what lwIP did not take; nothing more is read until it is sent. */
static int hold_rest(struct flow *f, const uint8_t *p, size_t n)
{
	struct relay *r = malloc(sizeof(*r) + n);

	if (!r)
		return -1;
	r->len = n;
	r->off = 0;
	memcpy(r->buf, p, n);
	f->h = r;
	return 0;
}

/* @hup: upstream has closed (EPOLLRDHUP): read on to its EOF, so that its
 * last bytes and our FIN leave in the same turn */
static void host_readable(struct flow *f, int hup)
{
	int rounds;

	for (rounds = 0; rounds < 4 && f->state == FLOW_OPEN && f->pcb &&
			 !f->h && !f->host_eof && !f->close_pending;
	     rounds++) {
		size_t room = flow_sb_room(f);
		ssize_t n, w;

		if (room == 0)
			break;
		if (room > sizeof(rbuf))
			room = sizeof(rbuf);
		n = flow_up_read(f, rbuf, room);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			flow_abort_later(f, ACT_ALLOW, strerror(errno));
			return;
		}
		if (n == 0) {
			f->host_eof = 1;
			break;
		}
		w = flow_sb_write(f, rbuf, (size_t)n);
		if (w < 0) {
			flow_abort_later(f, ACT_ALLOW, "sandbox send failed");
			return;
		}
		if (w < n && hold_rest(f, rbuf + w, (size_t)(n - w)) < 0) {
			flow_abort_later(f, ACT_ALLOW, "out of memory");
			return;
		}
		flow_sb_push(f);
		/* a short read drained the socket: the next read would be
		 * EAGAIN (epoll is level-triggered: what comes later is
		 * reported again) */
		if ((size_t)n < room && !hup)
			break;
	}
}

/* After any event: the FIN owed to the sandbox, the events wanted, the
 * close once both ways are done. */
static void relay_settle(struct flow *f)
{
	if (f->state != FLOW_OPEN || f->close_pending)
		return;
	sandbox_fin(f);
	relay_update_events(f);
	relay_try_finish(f);
}

static void relay_sandbox_readable(struct flow *f)
{
	if (up_flush(f) < 0)
		flow_abort_later(f, ACT_ALLOW, "upstream write failed");
	relay_settle(f);
}

static void relay_sandbox_writable(struct flow *f)
{
	if (down_flush(f) < 0)
		flow_abort_later(f, ACT_ALLOW, "sandbox send failed");
	relay_settle(f);
}

static void relay_upstream_event(struct flow *f, uint32_t events)
{
	if ((events & EPOLLOUT) && up_flush(f) < 0)
		flow_abort_later(f, ACT_ALLOW, "upstream write failed");
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		host_readable(f, !!(events & (EPOLLRDHUP | EPOLLHUP)));
	relay_settle(f);
}

static int relay_start(struct flow *f, int arg)
{
	(void)arg;
	relay_update_events(f);
	return 0;
}

/* Fields as in struct flow_ops (flow.h) */
const struct flow_ops relay_ops = { "relay", relay_start, relay_sandbox_readable,
				    relay_sandbox_writable, relay_upstream_event,
				    NULL, NULL, free, 0 };
