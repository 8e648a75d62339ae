/* SPDX-License-Identifier: MIT */
/*
 * link.h - a sandbox's link: the frames between it and us.
 *
 * A TAP fd carries one Ethernet frame per read() and write(), preceded by
 * a virtio_net_hdr when the TAP has IFF_VNET_HDR (checksum offload); a
 * QEMU stream socket (-netdev stream, passt's framing) carries frames with
 * a 4-byte big-endian length, accepted on a listening UNIX socket.  The
 * gateway (gw.c) and the libslirp NAT (slirpnat.c) both use this code.
 *
 * The link does not call up: frames read are handed back to the caller
 * (link_read(), link_stream_next()); a stream that fails while being
 * written calls l->on_down, which the owner sets.
 */
#ifndef ISLO_LINK_H
#define ISLO_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <linux/virtio_net.h>

#include "loop.h"

struct link;

/*
 * The link's members.  struct gw holds them through LINK_GROUP(), as
 * the kernel's struct_group(): its code (and the fuzzers) name them as
 * g->tapfd, g->stream..., and &g->link is the same bytes as a struct link.
 */
#define LINK_MEMBERS \
	int epfd, tapfd;                /* epfd: the loop's, or -1 (poll) */  \
	struct epref tap_ref, listen_ref;                                     \
	/* a TAP fd (one frame per read/write), or a QEMU stream socket     \
	 * accepted on listen_fd */                                           \
	int stream, listen_fd;                                                \
	uint8_t *srx, *stx;                                                   \
	size_t srx_len, stx_len, stx_cap, srx_cap;                            \
	uint32_t link_events;                                                 \
	uint8_t *ibuf;                  /* one frame being read */            \
	size_t bufsize;                 /* its size: MTU, headers, vnet */    \
	uint64_t drops_tx;                                                    \
	size_t vnet;                    /* virtio_net_hdr size on the TAP */  \
	int tso;                        /* TCP segmentation offload out */    \
	struct virtio_net_hdr vh_out;   /* the header of the frame going out */ \
	void (*on_down)(struct link *l); /* the stream was lost */

struct link {
	LINK_MEMBERS
};

#define LINK_GROUP(name) \
	union { \
		struct { \
			LINK_MEMBERS \
		}; \
		struct link name; \
	}

/* A link with no descriptor yet; @epfd: the loop's, or -1. */
void link_init(struct link *l, int epfd);
/* Close its descriptors (unlinking @path, the stream's socket, if set),
 * free its buffers. */
void link_close(struct link *l, const char *path);
/* The virtio_net_hdr size a TAP fd was set up with, 0 without one. */
size_t link_vnet_probe(int fd);
/* The events the loop watches on the link's fd. */
void link_events(struct link *l, uint32_t ev);

/* Frames out.  link_writev(): a frame given as pieces (a zero virtio
 * header or the stream's length is put in front); link_writev_raw(): the
 * pieces as they are (the caller wrote its own virtio header).
 * Return: 0, or -1 (dropped; errno says why) */
int link_writev(struct link *l, struct iovec *iov, int niov, size_t len);
int link_writev_raw(struct link *l, struct iovec *iov, int niov);
int link_write(struct link *l, const uint8_t *frame, size_t len);
/* The stream's queued output, as far as the socket takes it. */
void link_flush(struct link *l);

/* Frames in.  link_read(): one read of the TAP into l->ibuf.
 * Return: its length, 0 if none, -1 with errno */
ssize_t link_read(struct link *l);
/* A frame read with a virtio_net_hdr @h in front: finish the checksum
 * it leaves partial (but TCP's); a TCP segmentation offload is taken
 * whole.  Return: 0, or -1 to drop it */
int link_vnet_input(const uint8_t *h, uint8_t *f, size_t len);
/* A SYN from the sandbox (@f: its frame): its MSS clamped to what @mtu
 * holds, or with @raise (segmentation offload out, l->tso) raised so
 * that lwIP sends large segments for the kernel to cut (gw_output()). */
void link_syn_mss(uint8_t *f, size_t len, int mtu, int raise);

/* The QEMU stream.  link_listen(): the listening socket at @path;
 * link_accept(): the guest's connection (one at a time). */
int link_listen(struct link *l, const char *path, char *err, size_t errlen);
void link_accept(struct link *l);
/* Read what the socket has.  Return: 1 if bytes came, 0 if not (or the
 * link went down) */
int link_stream_read(struct link *l);
/* Append up to @n bytes as if read.  Return: how many it took */
size_t link_stream_put(struct link *l, const uint8_t *p, size_t n);
/**
 * link_stream_next() - The next whole frame of the stream, into l->ibuf
 * @l:   Link
 * @off: Where in l->srx it starts; moved past it
 * @len: Its length
 * Return: 1 (a frame), 0 (none whole yet: consume @off bytes), or -1 (a
 *         length no frame has: the link is down)
 */
int link_stream_next(struct link *l, size_t *off, size_t *len);
void link_stream_consume(struct link *l, size_t off);
/* The guest went away: close its connection, and wait for the next one. */
void link_down(struct link *l);

#endif
