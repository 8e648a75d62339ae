/* SPDX-License-Identifier: MIT */
/*
 * tcpwatch.h - which of the sandbox's TCP connections are not yet done,
 * seen from the frames on its link (for a datapath that cannot tell:
 * libslirp keeps its connections to itself).
 */
#ifndef ISLO_TCPWATCH_H
#define ISLO_TCPWATCH_H

#include <stddef.h>
#include <stdint.h>

#define TCPWATCH_MAX 256

/* One connection the sandbox opened; @fin: its FIN was seen, and the
 * connection is done once the peer's ACK reaches @fin_ack. */
struct tcpwatch_conn {
	uint8_t used, fin, v6, est;
	uint16_t gport, hport;
	uint8_t gaddr[16], haddr[16];
	uint32_t fin_ack;
};

/**
 * struct tcpwatch - the sandbox's open TCP connections
 * @c:        The table (linear: only SYN, FIN and RST frames look it up)
 * @open:     Entries in use
 * @est:      Of them, those the NAT answered (SYN-ACK): the ones counted
 * @fins:     Entries whose FIN waits for its ACK (frames to the sandbox
 *            are looked at only while this is not 0)
 * @overflow: SYNs not tracked because the table was full
 */
struct tcpwatch {
	struct tcpwatch_conn c[TCPWATCH_MAX];
	unsigned open, est, fins;
	uint64_t overflow;
};

/* A frame the sandbox sent (Ethernet, IPv4 or IPv6): a SYN opens, a FIN
 * marks, an RST ends. */
void tcpwatch_from_sandbox(struct tcpwatch *w, const uint8_t *frame,
			   size_t len);
/* A frame for the sandbox: the ACK of its FIN (or an RST) ends. */
void tcpwatch_to_sandbox(struct tcpwatch *w, const uint8_t *frame, size_t len);

/* Connections answered and not done (not those past @overflow). */
unsigned tcpwatch_open(const struct tcpwatch *w);

#endif
