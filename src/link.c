// SPDX-License-Identifier: MIT
/*
 * link.c - a sandbox's link (link.h): TAP with or without the virtio
 * header, and the QEMU stream's framing.
 */
#include "link.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_tun.h>

#include "lwip/opt.h"

#include "bytes.h"
#include "frame.h"
#include "islo.h"
#include "log.h"
#include "peercheck.h"

#define ETHTYPE_IP4 0x0800
#define ETHTYPE_IP6 0x86dd

void link_init(struct link *l, int epfd)
{
	l->epfd = epfd;
	l->tapfd = -1;
	l->listen_fd = -1;
	l->tap_ref.type = REF_TAP;
	l->listen_ref.type = REF_LISTEN;
}

void link_close(struct link *l, const char *path)
{
	if (l->listen_fd >= 0) {
		close(l->listen_fd);
		if (path)
			unlink(path);
	}
	if (l->tapfd >= 0)
		close(l->tapfd);
	l->listen_fd = l->tapfd = -1;
	free(l->ibuf);
	free(l->srx);
	free(l->stx);
	l->ibuf = l->srx = l->stx = NULL;
}

size_t link_vnet_probe(int fd)
{
	struct ifreq ifr;
	int sz = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR) &&
	    ioctl(fd, TUNGETVNETHDRSZ, &sz) == 0 &&
	    sz >= (int)sizeof(struct virtio_net_hdr) && sz <= 16)
		return (size_t)sz;
	return 0;
}

static void link_ctl(struct link *l, int fd, struct epref *ref, uint32_t ev,
		     int op)
{
	if (l->epfd >= 0)
		loop_ctl(l->epfd, fd, ref, ev, op);
}

void link_events(struct link *l, uint32_t ev)
{
	if (l->tapfd < 0 || l->link_events == ev)
		return;
	link_ctl(l, l->tapfd, &l->tap_ref, ev, EPOLL_CTL_MOD);
	l->link_events = ev;
}

/* ------------------------------------------------------------------ */
/* Frames out                                                          */

/* Append to the stream link's output: whole frames only, or nothing. */
static int stream_queue(struct link *l, const uint8_t *p, size_t len)
{
	if (l->stx_cap - l->stx_len < len)
		return -1;
	memcpy(l->stx + l->stx_len, p, len);
	l->stx_len += len;
	return 0;
}

void link_flush(struct link *l)
{
	while (l->stx_len && l->tapfd >= 0) {
		ssize_t n = write(l->tapfd, l->stx, l->stx_len);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			link_down(l);
			return;
		}
		memmove(l->stx, l->stx + n, l->stx_len - (size_t)n);
		l->stx_len -= (size_t)n;
	}
	link_events(l, l->stx_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

int link_writev_raw(struct link *l, struct iovec *iov, int niov)
{
	ssize_t n;

	do
		n = writev(l->tapfd, iov, niov);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		l->drops_tx++;
		if (e != EAGAIN && e != EWOULDBLOCK)
			debug("tap write: %s", strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/* The QEMU stream: the 4-byte length first, and whatever part of the
 * frame the socket did not take queued whole, so the framing is never
 * lost. */
static int stream_writev(struct link *l, struct iovec *iov, int niov,
			 size_t len)
{
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
			   (uint8_t)(len >> 8), (uint8_t)len };
	struct iovec all[18];
	size_t done;
	ssize_t n;
	int i;

	if (niov > 16)
		return -1;
	all[0].iov_base = hdr;
	all[0].iov_len = 4;
	memcpy(all + 1, iov, (size_t)niov * sizeof(*iov));
	if (l->stx_len) {
		n = 0;
	} else {
		n = writev(l->tapfd, all, niov + 1);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				link_down(l);
				return -1;
			}
			n = 0;
		}
	}
	if ((size_t)n == 4 + len)
		return 0;
	if (n == 0 && l->stx_cap - l->stx_len < 4 + len) {
		l->drops_tx++;   /* nothing of it went: drop it whole */
		return -1;
	}
	/* a partial frame must be finished, or the stream is lost: queue the
	 * rest (stx_cap holds several frames) */
	done = (size_t)n;
	for (i = 0; i < niov + 1; i++) {
		size_t k = all[i].iov_len;

		if (done >= k) {
			done -= k;
			continue;
		}
		stream_queue(l, (const uint8_t *)all[i].iov_base + done, k - done);
		done = 0;
	}
	link_events(l, EPOLLIN | EPOLLOUT);
	return 0;
}

/*
 * Write one frame given as pieces (the Ethernet header, then lwIP's pbuf
 * chain): no copy into a frame buffer on the way out.  A TAP fd takes one
 * frame per writev().
 */
int link_writev(struct link *l, struct iovec *iov, int niov, size_t len)
{
	if (l->tapfd < 0)
		return -1;
	if (l->vnet) {
		/* a frame with every checksum done: a zero virtio header
		 * (gw_output() writes TCP's partial ones itself) */
		static const uint8_t zero[16];
		struct iovec all[17];

		if (niov > 16)
			return -1;
		all[0].iov_base = (void *)zero;
		all[0].iov_len = l->vnet;
		memcpy(all + 1, iov, (size_t)niov * sizeof(*iov));
		return link_writev_raw(l, all, niov + 1);
	}
	if (l->stream)
		return stream_writev(l, iov, niov, len);
	return link_writev_raw(l, iov, niov);
}

int link_write(struct link *l, const uint8_t *frame, size_t len)
{
	struct iovec iov = { (void *)frame, len };

	return link_writev(l, &iov, 1, len);
}

/* ------------------------------------------------------------------ */
/* Frames in                                                           */

ssize_t link_read(struct link *l)
{
	return read(l->tapfd, l->ibuf, l->bufsize);
}

/*
 * TAP checksum offload (IFF_VNET_HDR; `islo-net run` asks for it, and a
 * TAP handed over with it is used as it is).  Each frame carries a
 * virtio_net_hdr.  The sandbox's kernel may leave a checksum for us to
 * finish (VIRTIO_NET_HDR_F_NEEDS_CSUM, with the pseudo-header sum in
 * place): TCP's is not needed, lwIP does not check TCP checksums on such a
 * netif (what the sandbox could corrupt is its own stream); anything else
 * is finished here, as the parsers behind us expect whole packets.  Toward
 * the sandbox, TCP segments go out partial (gw_output()), so neither lwIP
 * nor the sandbox's kernel sums their payload.
 */
int link_vnet_input(const uint8_t *h, uint8_t *f, size_t len)
{
	struct virtio_net_hdr vh;
	size_t start, off;
	uint16_t sum;
	int tcp4, tcp6;

	memcpy(&vh, h, sizeof(vh));
	tcp4 = len >= ETH_HDR_LEN + 20 && rd16(f + 12) == ETHTYPE_IP4 &&
	       f[ETH_HDR_LEN + 9] == 6;
	tcp6 = len >= ETH_HDR_LEN + 40 && rd16(f + 12) == ETHTYPE_IP6 &&
	       f[ETH_HDR_LEN + 6] == 6;
	/*
	 * A TCP segmentation offload (TUN_F_TSO4/6): one segment up to 64
	 * KiB whose IP length is the whole, taken as it is (lwIP does not
	 * care how the sandbox would have cut it).  Anything else offloaded
	 * (UDP, ECN) was not offered: not ours.
	 */
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    !(vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && tcp4) &&
	    !(vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV6 && tcp6))
		return -1;
	if (!(vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return vh.gso_type == VIRTIO_NET_HDR_GSO_NONE ? 0 : -1;
	start = vh.csum_start;
	off = start + vh.csum_offset;
	if (start < ETH_HDR_LEN + 20 || start > len || off + 2 > len)
		return -1;
	/* TCP over IPv4 or IPv6 (no extension headers): leave it partial */
	if (vh.csum_offset == 16 && (tcp4 || tcp6))
		return 0;
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return -1;
	sum = (uint16_t)~islo_chksum(f + start, (int)(len - start));
	memcpy(f + off, &sum, 2);
	return 0;
}

/* Store @v at @at (was @old) in the TCP header @th, its checksum kept
 * right (RFC 1624: HC' = ~(~HC + ~m + m')). */
static void tcp_fix16(uint8_t *th, uint8_t *at, uint16_t old, uint16_t v)
{
	uint32_t sum = (uint16_t)~rd16(th + 16);

	sum += (uint16_t)~old;
	sum += v;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	wr16(th + 16, (uint16_t)~sum);
	wr16(at, v);
}

/*
 * lwIP sizes the segments it sends by the MSS the sandbox's SYN offers
 * (TCP_CALCULATE_EFF_SEND_MSS is off: the netif's MTU does not cap it),
 * so the SYN's MSS is set here, before lwIP reads it:
 * - clamped to what the link's MTU holds (as routers clamp it), so that
 *   no segment is larger than the link, whatever the sandbox offered;
 * - with segmentation offload toward the sandbox (@raise: l->tso), an
 *   MSS that follows from the MTU is raised to the most an IP packet
 *   holds, and gw_output() has the kernel cut what lwIP sends at the MTU;
 *   a smaller MSS (clamped on purpose) is left as it is;
 * - never below 536, the MSS every host takes.
 * The TCP checksum is updated (RFC 1624) unless it is left partial.
 */
void link_syn_mss(uint8_t *f, size_t len, int mtu, int raise)
{
	size_t ihl, thl, i, tcp;
	uint16_t mss, fit, set;

	if (len < ETH_HDR_LEN + 40 || mtu <= 0)
		return;
	if (rd16(f + 12) == ETHTYPE_IP4 && f[ETH_HDR_LEN + 9] == 6 &&
	    !(rd16(f + ETH_HDR_LEN + 6) & 0x3fff))
		ihl = (size_t)(f[ETH_HDR_LEN] & 15) * 4;
	else if (rd16(f + 12) == ETHTYPE_IP6 && f[ETH_HDR_LEN + 6] == 6)
		ihl = 40;
	else
		return;
	tcp = ETH_HDR_LEN + ihl;
	if (ihl < 20 || tcp + 20 > len || (f[tcp + 13] & 0x12) != 0x02)
		return;
	thl = (size_t)(f[tcp + 12] >> 4) * 4;
	if (thl < 20 || tcp + thl > len)
		return;
	fit = (size_t)mtu > ihl + 20 + 64 ? (uint16_t)(mtu - ihl - 20) : 64;
	for (i = tcp + 20; i < tcp + thl && f[i] != 0;) {
		if (f[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= tcp + thl || f[i + 1] < 2 ||
		    i + f[i + 1] > tcp + thl)
			return;
		if (f[i] != 2 || f[i + 1] != 4) {
			i += f[i + 1];
			continue;
		}
		mss = set = rd16(f + i + 2);
		if (mss > fit)
			set = fit;
		/* a tiny MSS would have lwIP cut a download into thousands
		 * of segments: 536, what every host takes (RFC 9293 3.7.1) */
		if (set < 536 && fit >= 536)
			set = 536;
		if (raise && set + 40 >= fit)
			set = (uint16_t)(65535 - ihl - 20);
		if (set != mss)
			tcp_fix16(f + tcp, f + i + 2, mss, set);
		return;
	}
}

/* ------------------------------------------------------------------ */
/* The QEMU stream                                                     */

void link_down(struct link *l)
{
	if (!l->stream || l->tapfd < 0)
		return;
	info("QEMU disconnected; waiting for it on the socket again");
	link_ctl(l, l->tapfd, &l->tap_ref, 0, EPOLL_CTL_DEL);
	close(l->tapfd);
	l->tapfd = -1;
	l->srx_len = l->stx_len = 0;
	if (l->on_down)
		l->on_down(l);
}

void link_accept(struct link *l)
{
	/*
	 * One descriptor in reserve, per process as the limit is: out of
	 * descriptors, a client waiting in the backlog keeps the listening
	 * socket readable and the loop would spin on an accept that fails;
	 * the reserve lets us take that client and close it (refused).
	 */
	static int spare = -1;
	const char *why;
	int fd;

	if (spare < 0)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = accept4(l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && spare >= 0) {
		close(spare);
		fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		warn("out of file descriptors: a client of the socket was refused");
		return;
	}
	if (fd < 0)
		return;
	if (l->tapfd >= 0) {
		/* one guest per socket: a second connection is refused */
		close(fd);
		return;
	}
	why = peer_check(fd);
	if (why) {
		warn("QEMU socket: refused a peer: %s", why);
		close(fd);
		return;
	}
	l->tapfd = fd;
	l->link_events = EPOLLIN;
	link_ctl(l, fd, &l->tap_ref, EPOLLIN, EPOLL_CTL_ADD);
	info("QEMU connected");
}

/*
 * QEMU's stream framing: a 4-byte big-endian length, then that many bytes
 * of Ethernet frame.  A length outside [14, MTU + 14 + 64] cannot be a
 * frame and means the stream is lost (or hostile): the guest is dropped,
 * and may connect again.
 */
int link_stream_next(struct link *l, size_t *off, size_t *len)
{
	const uint8_t *p = l->srx + *off;
	size_t n;

	if (l->srx_len - *off < 4)
		return 0;
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (n < ETH_HDR_LEN || n > l->bufsize) {
		log_sandbox("QEMU stream: a frame of %zu bytes; "
			    "dropping the connection", n);
		link_down(l);
		return -1;
	}
	if (l->srx_len - *off < 4 + n)
		return 0;
	memcpy(l->ibuf, p + 4, n);
	*off += 4 + n;
	*len = n;
	return 1;
}

void link_stream_consume(struct link *l, size_t off)
{
	memmove(l->srx, l->srx + off, l->srx_len - off);
	l->srx_len -= off;
}

int link_stream_read(struct link *l)
{
	ssize_t n = read(l->tapfd, l->srx + l->srx_len, l->srx_cap - l->srx_len);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		link_down(l);
		return 0;
	}
	if (n < 0)
		return 0;
	l->srx_len += (size_t)n;
	return 1;
}

size_t link_stream_put(struct link *l, const uint8_t *p, size_t n)
{
	size_t k = l->srx_cap - l->srx_len;

	if (k > n)
		k = n;
	memcpy(l->srx + l->srx_len, p, k);
	l->srx_len += k;
	return k;
}

int link_listen(struct link *l, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--socket: path too long");
		return -1;
	}
	strcpy(sa.sun_path, path); /* NOLINT: length checked above */
	/* a stale socket from an earlier run is replaced; anything else
	 * at that path is not ours to remove */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "--socket: %s exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	l->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->listen_fd < 0 ||
	    bind(l->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(l->listen_fd, 4) < 0) {
		snprintf(err, errlen, "--socket %s: %s", path, strerror(errno));
		return -1;
	}
	/* a peer must not be a sandbox (peercheck.h) */
	if (peer_check_init() < 0) {
		snprintf(err, errlen, "cannot read our own namespaces");
		return -1;
	}
	l->srx_cap = 2 * (l->bufsize + 4);
	l->stx_cap = 4 * (l->bufsize + 4);
	l->srx = malloc(l->srx_cap);
	l->stx = malloc(l->stx_cap);
	if (!l->srx || !l->stx) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->stream = 1;
	l->listen_ref.type = REF_LISTEN;
	link_ctl(l, l->listen_fd, &l->listen_ref, EPOLLIN, EPOLL_CTL_ADD);
	info("waiting for QEMU on %s", path);
	return 0;
}
