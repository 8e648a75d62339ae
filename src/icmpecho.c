// SPDX-License-Identifier: MIT
/*
 * icmpecho.c - ping from a sandbox without a profile, through the host's
 * ping sockets.
 *
 * DOC: Theory of operation
 *
 * Without a profile (the gateway NAT, nat.c) the sandbox expects what
 * slirp4netns gives: `ping` to another host works where the host lets
 * ordinary programs ping.  Linux lets a program send echo requests without
 * privilege through an ICMP datagram socket ("ping socket": socket(AF_INET,
 * SOCK_DGRAM, IPPROTO_ICMP)) when its group is in
 * net.ipv4.ping_group_range; the kernel then owns the echo identifier (it
 * is the socket's "port") and delivers to the socket only the replies that
 * carry it.
 *
 * An echo request from the sandbox to an address not the gateway's own
 * opens an *echo flow*, keyed by the sandbox's (source, destination,
 * identifier): a ping socket connected to the destination.  Requests go
 * out on it (the kernel rewrites the identifier and the checksum);
 * replies, which only the destination can send to that socket, go back to
 * the sandbox with its own identifier restored.  A flow idle for
 * IECHO_IDLE_MS is closed; a sandbox has at most IECHO_MAX of them, and
 * opens at most IECHO_OPEN_PER_SEC a second.  Where the host refuses ping
 * sockets (the group range excludes us: on many machines it is "1 0"),
 * or past those limits, the caller answers "administratively prohibited",
 * so `ping` says so at once instead of waiting.
 *
 * Nothing but echo is carried: no other ICMP type, no TTL (so no
 * traceroute), no errors from routers on the way.  With a profile, ICMP
 * is never carried (a profile has no ICMP rules).
 */
#include "icmpecho.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "frame.h"
#include "gw.h"
#include "link.h"
#include "log.h"
#include "loop.h"

#define IECHO_IDLE_MS      10000
#define IECHO_MAX          16
#define IECHO_OPEN_PER_SEC 20

struct iecho {
	struct epref ref;               /* REF_ICMP */
	struct gw *g;
	struct iecho *next;
	struct ipaddr src, dst;         /* the sandbox's view */
	uint16_t id;                    /* the sandbox's identifier */
	int fd;
	uint64_t last;
};

static struct iecho *iecho_find(struct gw *g, const struct ipaddr *src,
				const struct ipaddr *dst, uint16_t id)
{
	struct iecho *e;

	for (e = g->iechos; e; e = e->next)
		if (e->id == id && ipaddr_eq(&e->src, src) &&
		    ipaddr_eq(&e->dst, dst))
			return e;
	return NULL;
}

static void iecho_free(struct iecho *e)
{
	gw_epoll_mod(e->g, e->fd, &e->ref, 0, EPOLL_CTL_DEL);
	close(e->fd);
	e->g->niechos--;
	free(e);
}

/* A ping socket connected to @dst, or -1 (errno set). */
static int ping_socket(const struct ipaddr *dst)
{
	struct sockaddr_storage ss;
	socklen_t sl = ipaddr_sockaddr(dst, 0, &ss);
	int fd = socket(dst->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			dst->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static struct iecho *iecho_open(struct gw *g, const struct ipaddr *src,
				const struct ipaddr *dst, uint16_t id)
{
	struct iecho *e;
	int fd;

	if (g->niechos >= IECHO_MAX ||
	    !ratelimit_ok(&g->iecho_open, now_ms(), IECHO_OPEN_PER_SEC))
		return NULL;
	fd = ping_socket(dst);
	if (fd < 0) {
		if (!g->iecho_refused++)
			info("ping from the sandbox not carried: the host "
			     "refuses ping sockets (%s; see "
			     "net.ipv4.ping_group_range)", strerror(errno));
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		return NULL;
	}
	e->ref.type = REF_ICMP;
	e->g = g;
	e->src = *src;
	e->dst = *dst;
	e->id = id;
	e->fd = fd;
	e->next = g->iechos;
	g->iechos = e;
	g->niechos++;
	gw_epoll_mod(g, fd, &e->ref, EPOLLIN, EPOLL_CTL_ADD);
	return e;
}

/* 1: an echo request; 0: one with a bad checksum; -1: anything else. */
static int echo_request(const struct ipaddr *src, const struct ipaddr *dst,
			const uint8_t *m, size_t len)
{
	uint32_t sum = 0;

	if (len < 8 || len > 65535 ||
	    m[0] != (src->family == AF_INET ? 8 : 128) || m[1] != 0)
		return -1;
	if (src->family == AF_INET6) {
		sum = csum_add(csum_add(0, src->a, 16), dst->a, 16);
		sum += 58 + (uint32_t)len;
	}
	return csum_fold(csum_add(sum, m, len)) == 0;
}

/*
 * A destination an echo may go to: a unicast address off the sandbox's
 * own link (nobody else is on it), never the host's loopback by its own
 * name (10.0.2.2 is that), a multicast, broadcast or unspecified one.
 */
static int dst_ok(const struct gw *g, const struct ipaddr *d)
{
	static const uint8_t lo6[16] = { [15] = 1 };
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (d->family == AF_INET)
		return d->a[0] != 0 && d->a[0] != 127 && d->a[0] < 224 &&
		       memcmp(d->a, g->gw4.a, 3) != 0;
	return d->a[0] != 0xff && !(d->a[0] == 0xfe && (d->a[1] & 0xc0) == 0x80) &&
	       memcmp(d->a, lo6, 16) != 0 && memcmp(d->a, mapped, 12) != 0 &&
	       memcmp(d->a, g->gw6.a, 8) != 0 &&
	       !(d->a[0] == 0 && !memcmp(d->a, lo6, 15));
}

int icmpecho_input(struct gw *g, const struct ipaddr *src,
		   const struct ipaddr *dst, const uint8_t *m, size_t len)
{
	struct iecho *e;
	uint16_t id;
	int v = echo_request(src, dst, m, len);

	if (v <= 0)
		return v;       /* damaged: dropped, as a router would */
	if (!dst_ok(g, dst))
		return -1;
	id = rd16(m + 4);
	e = iecho_find(g, src, dst, id);
	if (!e)
		e = iecho_open(g, src, dst, id);
	if (!e)
		return -1;
	e->last = now_ms();
	/* the kernel sets the identifier and the checksum */
	if (send(e->fd, m, len, 0) < 0)
		debug("ping upstream: %s", strerror(errno));
	return 0;
}

void icmpecho_event(struct iecho *e)
{
	struct gw *g = e->g;
	uint8_t buf[65536];
	int k;

	for (k = 0; k < 64; k++) {
		ssize_t n = recv(e->fd, buf, sizeof(buf), 0);
		size_t f;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			continue;       /* an error queued for the socket */
		}
		/* an echo reply (the only kind a ping socket is given) */
		if (n < 8 || buf[0] != (e->dst.family == AF_INET ? 0 : 129))
			continue;
		e->last = now_ms();
		if (!g->guest_mac_known ||
		    (size_t)n + (e->dst.family == AF_INET ? 20 : 40) >
			    (size_t)g->o->mtu)
			continue;
		wr16(buf + 4, e->id);
		f = frame_icmp(g->obuf, g->bufsize, g->guest_mac, g->mac,
			       &e->dst, &e->src, buf, (size_t)n);
		if (f)
			link_write(&g->link, g->obuf, f);
	}
}

void icmpecho_tick(struct gw *g, int all)
{
	struct iecho **pp = &g->iechos, *e;
	uint64_t now = now_ms();

	while ((e = *pp)) {
		if (all || now - e->last > IECHO_IDLE_MS) {
			*pp = e->next;
			iecho_free(e);
			continue;
		}
		pp = &e->next;
	}
}
