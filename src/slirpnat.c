// SPDX-License-Identifier: MIT
/*
 * slirpnat.c - the no-gateway datapath: libslirp user-mode NAT, what
 * slirp4netns gives, on the sandbox's TAP device.
 *
 * DOC: Theory of Operation
 *
 * libslirp never owns the loop: it asks us, through slirp_pollfds_fill(),
 * which of its host sockets to poll and how long it may sleep, and is told
 * the outcome through slirp_pollfds_poll().  Frames from the sandbox go in
 * with slirp_input(); frames for the sandbox come out through the
 * send_packet callback, written straight to the TAP fd (dropped if the TAP
 * queue is full: TCP retransmits, as libslirp's contract says).  Its timers
 * (IPv6 router advertisements in 4.7) are a short list checked each turn.
 *
 * The loop also polls the supervisor's signalfd and ends when CMD has
 * exited.  The network is slirp4netns's: 10.0.2.0/24 with the host at
 * 10.0.2.2 (which reaches the host's 127.0.0.1, as in slirp4netns) and DNS
 * at 10.0.2.3 (forwarded to the host's resolver); fd00::/64 likewise.
 *
 * --dns-upstream: libslirp 4.7 can only forward DNS to the host's
 * resolv.conf, so with that option we take UDP queries to 10.0.2.3:53 and
 * [fd00::3]:53 out of the frame stream before libslirp sees them, relay
 * them to the given upstream under ids of our own, and write the answers
 * back as UDP frames (frame.c).  DNS over TCP still goes through libslirp.
 */
#include "islo.h"

#include "frame.h"
#include "isolation.h"
#include "link.h"
#include "log.h"
#include "supervisor.h"
#include "tcpwatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#define SNAT_BURST     64          /* frames read from the TAP per wake */
#define SNAT_FRAME_MAX (65535 + 18) /* largest frame: MTU + Ethernet + VLAN */

struct snat_timer {
	struct snat_timer *next;
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms;          /* -1: not armed */
};

#define SNAT_DNS_PENDING 256
#define SNAT_DNS_TIMEOUT_MS 10000

/* A query relayed to --dns-upstream, waiting for its answer. */
struct snat_dnsq {
	int used;
	uint16_t id, guest_id;
	struct ipaddr guest, server;
	uint16_t guest_port;
	uint8_t guest_mac[6], our_mac[6];
	int64_t sent_ms;
};

struct snat {
	Slirp *slirp;
	int dnsfd;                  /* --dns-upstream relay, -1 without */
	struct snat_dnsq dnsq[SNAT_DNS_PENDING];
	struct link link;           /* the TAP (link.c): tapfd, ibuf */
	int tap_dead;               /* read error: the device has gone */
	uint64_t frames_in;         /* read from the link (supervisor_linger) */
	struct tcpwatch watch;      /* the sandbox's connections not done */
	unsigned want_out;          /* host sockets libslirp has data for */
	struct pollfd *pfd;
	size_t npfd, cap;
	struct snat_timer *timers;
	uint64_t tx_drops, tx_errors;
};

static int64_t snat_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* libslirp callbacks                                                  */
/* ------------------------------------------------------------------ */

static ssize_t snat_send_packet(const void *buf, size_t len, void *opaque)
{
	struct snat *s = opaque;

	tcpwatch_to_sandbox(&s->watch, buf, len);
	if (link_write(&s->link, buf, len) < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			s->tx_drops++;
		else if (s->tx_errors++ == 0)
			warn("writing to the sandbox's TAP device: %s",
			     strerror(errno));
	}
	/* Never < 0: libslirp would print a critical error per frame. */
	return (ssize_t)len;
}

static void snat_guest_error(const char *msg, void *opaque)
{
	log_sandbox("%s", msg);
}

static int64_t snat_clock_get_ns(void *opaque)
{
	return snat_now_ns();
}

static void *snat_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct snat *s = opaque;
	struct snat_timer *t = calloc(1, sizeof(*t));

	if (!t)
		die("out of memory");
	t->cb = cb;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = s->timers;
	s->timers = t;
	return t;
}

static void snat_timer_free(void *timer, void *opaque)
{
	struct snat *s = opaque;
	struct snat_timer **pp;

	for (pp = &s->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = ((struct snat_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

static void snat_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	((struct snat_timer *)timer)->expire_ms = expire_ms;
}

static void snat_register_poll_fd(int fd, void *opaque)
{
}

static void snat_unregister_poll_fd(int fd, void *opaque)
{
}

static void snat_notify(void *opaque)
{
}

static const SlirpCb snat_cb = {
	.send_packet = snat_send_packet,
	.guest_error = snat_guest_error,
	.clock_get_ns = snat_clock_get_ns,
	.timer_new = snat_timer_new,
	.timer_free = snat_timer_free,
	.timer_mod = snat_timer_mod,
	.register_poll_fd = snat_register_poll_fd,
	.unregister_poll_fd = snat_unregister_poll_fd,
	.notify = snat_notify,
};

/* slirp_pollfds_fill()'s add_poll: Return: the index of the pollfd */
/* libslirp's poll events and poll()'s */
static const struct {
	int slirp;
	short poll;
} snat_ev[] = {
	{ SLIRP_POLL_IN, POLLIN }, { SLIRP_POLL_OUT, POLLOUT },
	{ SLIRP_POLL_PRI, POLLPRI }, { SLIRP_POLL_ERR, POLLERR | POLLNVAL },
	{ SLIRP_POLL_HUP, POLLHUP },
};

static int snat_add_poll(int fd, int events, void *opaque)
{
	struct snat *s = opaque;
	short ev = 0;
	size_t i;

	if (s->npfd == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct pollfd *p = realloc(s->pfd, cap * sizeof(*p));

		if (!p)
			die("out of memory");
		s->pfd = p;
		s->cap = cap;
	}
	for (i = 0; i < 3; i++)     /* in, out, pri: what may be asked */
		if (events & snat_ev[i].slirp)
			ev |= snat_ev[i].poll;
	if (events & SLIRP_POLL_OUT)
		s->want_out++;      /* data the sandbox sent, not yet out */
	s->pfd[s->npfd].fd = fd;
	s->pfd[s->npfd].events = ev;
	s->pfd[s->npfd].revents = 0;
	return (int)s->npfd++;
}

static int snat_get_revents(int idx, void *opaque)
{
	struct snat *s = opaque;
	short re;
	int ev = 0;
	size_t i;

	if (idx < 0 || (size_t)idx >= s->npfd)
		return 0;
	re = s->pfd[idx].revents;
	for (i = 0; i < sizeof(snat_ev) / sizeof(snat_ev[0]); i++)
		if (re & snat_ev[i].poll)
			ev |= snat_ev[i].slirp;
	return ev;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

/* Lower *timeout (ms) to the earliest armed timer. */
static void snat_timers_timeout(const struct snat *s, uint32_t *timeout)
{
	int64_t now = snat_now_ns() / 1000000;
	const struct snat_timer *t;

	for (t = s->timers; t; t = t->next) {
		int64_t left;

		if (t->expire_ms < 0)
			continue;
		left = t->expire_ms - now;
		if (left < 0)
			left = 0;
		if ((uint64_t)left < *timeout)
			*timeout = (uint32_t)left;
	}
}

static void snat_timers_run(struct snat *s)
{
	int64_t now = snat_now_ns() / 1000000;
	struct snat_timer *t;

	/* A callback may arm, create or free timers: rescan after each. */
again:
	for (t = s->timers; t; t = t->next) {
		if (t->expire_ms >= 0 && t->expire_ms <= now) {
			t->expire_ms = -1;
			t->cb(t->cb_opaque);
			goto again;
		}
	}
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/**
 * snat_dns_take() - Relay a UDP query to the resolver address ourselves
 * @s:   NAT state
 * @f:   Frame from the sandbox
 * @len: Its length
 * Return: 1 if the frame was a DNS query we took, 0 to give it to libslirp
 */
static int snat_dns_take(struct snat *s, const uint8_t *f, size_t len)
{
	static const uint8_t dns4[4] = { 10, 0, 2, 3 };
	static const uint8_t dns6[16] = { 0xfd, [15] = 3 };
	struct ipaddr src = { 0 }, dst = { 0 };
	const uint8_t *ip = f + ETH_HDR_LEN, *udp;
	size_t iplen = len - ETH_HDR_LEN, hl;
	uint16_t ulen;
	struct snat_dnsq *q = NULL;
	int i;
	uint8_t msg[4096];

	if (s->dnsfd < 0 || len < ETH_HDR_LEN + 28)
		return 0;
	if (rd16(f + 12) == 0x0800) {
		hl = (size_t)(ip[0] & 15) * 4;
		if ((ip[0] >> 4) != 4 || hl < 20 || iplen < hl + 8 ||
		    ip[9] != 17 || (rd16(ip + 6) & 0x3fff) ||
		    memcmp(ip + 16, dns4, 4))
			return 0;
		src.family = dst.family = AF_INET;
		memcpy(src.a, ip + 12, 4);
		memcpy(dst.a, ip + 16, 4);
	} else if (rd16(f + 12) == 0x86dd) {
		hl = 40;
		if (iplen < 48 || (ip[0] >> 4) != 6 || ip[6] != 17 ||
		    memcmp(ip + 24, dns6, 16))
			return 0;
		src.family = dst.family = AF_INET6;
		memcpy(src.a, ip + 8, 16);
		memcpy(dst.a, ip + 24, 16);
	} else {
		return 0;
	}
	udp = ip + hl;
	ulen = rd16(udp + 4);
	if (rd16(udp + 2) != 53)
		return 0;
	if (ulen < 8 + 12 || ulen > iplen - hl || ulen - 8u > sizeof(msg))
		return 1; /* a malformed query: dropped */
	for (i = 0; i < SNAT_DNS_PENDING; i++) {
		struct snat_dnsq *c = &s->dnsq[i];

		if (c->used && snat_now_ns() / 1000000 - c->sent_ms >
				       SNAT_DNS_TIMEOUT_MS)
			c->used = 0;
		if (!c->used && !q)
			q = c;
	}
	if (!q)
		return 1; /* too many outstanding: dropped, the client retries */
	memset(q, 0, sizeof(*q));
	q->used = 1;
	if (getrandom(&q->id, sizeof(q->id), GRND_NONBLOCK) != sizeof(q->id))
		q->id = (uint16_t)random();
	q->guest_id = rd16(udp + 8);
	q->guest = src;
	q->server = dst;
	q->guest_port = rd16(udp);
	memcpy(q->guest_mac, f + 6, 6);
	memcpy(q->our_mac, f, 6);
	q->sent_ms = snat_now_ns() / 1000000;
	memcpy(msg, udp + 8, ulen - 8u);
	msg[0] = (uint8_t)(q->id >> 8);
	msg[1] = (uint8_t)q->id;
	if (send(s->dnsfd, msg, ulen - 8u, 0) < 0)
		q->used = 0;
	return 1;
}

/* Answers from --dns-upstream, back to the sandbox. */
static void snat_dns_answers(struct snat *s)
{
	uint8_t msg[4096], frame[4096 + 80];
	int k, i;

	for (k = 0; k < 64; k++) {
		ssize_t n = recv(s->dnsfd, msg, sizeof(msg), 0);
		uint16_t id;

		if (n < 0)
			return;
		if (n < 12)
			continue;
		id = rd16(msg);
		for (i = 0; i < SNAT_DNS_PENDING; i++) {
			struct snat_dnsq *q = &s->dnsq[i];
			size_t len;

			if (!q->used || q->id != id)
				continue;
			q->used = 0;
			msg[0] = (uint8_t)(q->guest_id >> 8);
			msg[1] = (uint8_t)q->guest_id;
			len = frame_udp(frame, sizeof(frame), q->guest_mac,
					q->our_mac, &q->server, 53, &q->guest,
					q->guest_port, msg, (size_t)n);
			if (len && link_write(&s->link, frame, len) < 0)
				s->tx_drops++;
			break;
		}
	}
}

/* Feed what the sandbox sent to libslirp, a bounded burst per wake. */
static void snat_tap_read(struct snat *s)
{
	int i;

	for (i = 0; i < SNAT_BURST; i++) {
		ssize_t n = link_read(&s->link);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/*
			 * The sandbox's network namespace is gone (CMD and
			 * its children exited): wait for the supervisor.
			 */
			debug("TAP device: %s", strerror(errno));
			s->tap_dead = 1;
			return;
		}
		if (n == 0)
			return;
		if (snat_dns_take(s, s->link.ibuf, (size_t)n))
			continue;
		s->frames_in++;
		tcpwatch_from_sandbox(&s->watch, s->link.ibuf, (size_t)n);
		slirp_input(s->slirp, s->link.ibuf, (int)n);
	}
}

static int snat_config(SlirpConfig *cfg, const struct run_opts *o)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->version = 4;
	cfg->restricted = 0;
	cfg->in_enabled = true;
	cfg->in6_enabled = true;
	cfg->vprefix_len = ISLO_PREFIX6;
	cfg->vnetmask.s_addr = htonl(~0U << (32 - ISLO_PREFIX4));
	if (inet_pton(AF_INET, ISLO_NET4, &cfg->vnetwork) != 1 ||
	    inet_pton(AF_INET, ISLO_GW4, &cfg->vhost) != 1 ||
	    inet_pton(AF_INET, "10.0.2.15", &cfg->vdhcp_start) != 1 ||
	    inet_pton(AF_INET, ISLO_DNS4, &cfg->vnameserver) != 1 ||
	    inet_pton(AF_INET6, ISLO_NET6, &cfg->vprefix_addr6) != 1 ||
	    inet_pton(AF_INET6, ISLO_GW6, &cfg->vhost6) != 1 ||
	    inet_pton(AF_INET6, ISLO_DNS6, &cfg->vnameserver6) != 1)
		return -1;
	cfg->if_mtu = (size_t)o->mtu;
	cfg->if_mru = (size_t)o->mtu;
	/* 10.0.2.2 and fd00::2 reach the host's loopback, as slirp4netns. */
	cfg->disable_host_loopback = false;
	cfg->enable_emu = false;
	cfg->disable_dns = false;
	cfg->disable_dhcp = false;
	return 0;
}

static void snat_free(struct snat *s)
{
	if (s->slirp)
		slirp_cleanup(s->slirp);   /* frees its timers through us */
	while (s->timers) {
		struct snat_timer *t = s->timers;

		s->timers = t->next;
		free(t);
	}
	free(s->pfd);
	s->link.tapfd = -1;         /* the caller's */
	link_close(&s->link, NULL);
	if (s->dnsfd >= 0)
		close(s->dnsfd);
	if (s->watch.overflow)
		debug("connections not watched at exit (table full): %llu",
		      (unsigned long long)s->watch.overflow);
	if (s->tx_drops || s->tx_errors)
		debug("frames to the sandbox dropped: %llu, failed: %llu",
		      (unsigned long long)s->tx_drops,
		      (unsigned long long)s->tx_errors);
}

/**
 * slirpnat_serve() - Serve the sandbox's TAP device with libslirp NAT
 * @tapfd:  TAP device (made non-blocking here; not closed)
 * @o:      Options: mtu, dns_upstream
 * @sv:     Supervisor: its signalfd is polled, and the loop ends once CMD
 *          has exited
 * Return: 0, or -1 on a fatal error (reported)
 */
int slirpnat_serve(int tapfd, const struct run_opts *o, struct supervisor *sv)
{
	struct snat s = { .dnsfd = -1 };
	SlirpConfig cfg;
	int rc = 0, fl;

	if (o->dns_upstream) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (sockaddr_parse(o->dns_upstream, 53, &ss, &sl) < 0) {
			err("--dns-upstream: '%s' is not ADDR[:PORT] (IPv6 as "
			    "[ADDR]:PORT)", o->dns_upstream);
			return -1;
		}
		s.dnsfd = socket(ss.ss_family,
				 SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s.dnsfd < 0 ||
		    connect(s.dnsfd, (struct sockaddr *)&ss, sl) < 0) {
			err("DNS upstream %s: %s", o->dns_upstream,
			    strerror(errno));
			if (s.dnsfd >= 0)
				close(s.dnsfd);
			return -1;
		}
	}

	fl = fcntl(tapfd, F_GETFL);
	if (fl < 0 || fcntl(tapfd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err("TAP device: %s", strerror(errno));
		return -1;
	}
	link_init(&s.link, -1);
	s.link.tapfd = tapfd;
	s.link.bufsize = SNAT_FRAME_MAX;
	s.link.ibuf = malloc(SNAT_FRAME_MAX);
	if (!s.link.ibuf || snat_config(&cfg, o) < 0) {
		err("slirp: cannot set up");
		snat_free(&s);
		return -1;
	}
	s.slirp = slirp_new(&cfg, &snat_cb, &s);
	if (!s.slirp) {
		err("slirp: cannot create the NAT stack (MTU %d)", o->mtu);
		snat_free(&s);
		return -1;
	}
	if (isolate_serving() < 0 || supervisor_ready(sv) < 0) {
		snat_free(&s);
		return -1;
	}

	/*
	 * Until CMD has exited and what its kernel still had to send is
	 * through (supervisor_linger()): while a connection it opened is not
	 * done (tcpwatch.c) or libslirp holds data for a host socket, and
	 * until the link has gone quiet.
	 */
	while (supervisor_linger(sv, s.frames_in,
				 tcpwatch_open(&s.watch) + s.want_out)) {
		uint32_t timeout = sv->done ? 20 : UINT32_MAX;
		int n, t, tap_idx = -1, sig_idx = -1, dns_idx = -1;

		s.npfd = 0;
		s.want_out = 0;
		if (!s.tap_dead)
			tap_idx = snat_add_poll(tapfd, SLIRP_POLL_IN, &s);
		if (!sv->done)
			sig_idx = snat_add_poll(sv->sigfd, SLIRP_POLL_IN, &s);
		if (s.dnsfd >= 0)
			dns_idx = snat_add_poll(s.dnsfd, SLIRP_POLL_IN, &s);
		snat_timers_timeout(&s, &timeout);
		slirp_pollfds_fill(s.slirp, &timeout, snat_add_poll, &s);
		t = sv->done ? -1 : supervisor_timeout_ms(sv);
		if (t >= 0 && (uint32_t)t < timeout)
			timeout = (uint32_t)t;

		n = poll(s.pfd, s.npfd,
			 timeout > INT_MAX ? -1 : (int)timeout);
		if (n < 0 && errno != EINTR) {
			err("poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (!sv->done && ((n > 0 && s.pfd[sig_idx].revents) || t == 0))
			supervisor_handle(sv);
		if (n > 0 && tap_idx >= 0 && s.pfd[tap_idx].revents)
			snat_tap_read(&s);
		if (n > 0 && dns_idx >= 0 && s.pfd[dns_idx].revents)
			snat_dns_answers(&s);
		slirp_pollfds_poll(s.slirp, n < 0, snat_get_revents, &s);
		snat_timers_run(&s);
	}

	snat_free(&s);
	return rc;
}
