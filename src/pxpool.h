/* SPDX-License-Identifier: MIT */
/*
 * pxpool.h - idle upstream TLS connections of intercepted HTTP/1.1 flows,
 * parked when the sandbox's connection ends and taken by the next one to
 * the same place (pxpool.c says when, and what "the same" means).
 */
#ifndef ISLO_PXPOOL_H
#define ISLO_PXPOOL_H

#include <stdint.h>

#include <bearssl.h>

struct flow;
struct policyset;
struct gw;
struct pxparked;
struct ipaddr;

#define PXPOOL_PER_HOST 4               /* parked per (host, port, rule) */
#define PXPOOL_MAX      32              /* parked per sandbox */
#define PXPOOL_IDLE_MS  30000           /* parked longer: closed */
/* taken at a SYN and never used (the sandbox's handshake and peek did
 * not finish): the flow's release frees it; this bounds a leak if not */

/**
 * struct pxupc - an upstream TLS client: what a parked connection keeps
 * besides its socket (allocated apart from struct proxy: BearSSL's
 * contexts point into themselves and cannot be copied)
 */
struct pxupc {
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
};

/**
 * struct pxpool - one sandbox's parked upstream connections
 * @head:    The parked ones, most recent first
 * @n:       How many
 * @parked:  Connections parked so far
 * @reused:  ... taken by a new sandbox connection
 * @retried: Requests sent again on a fresh connection after a reused
 *           one failed before answering
 * @closed:  Parked ones closed: expired, upstream closed or spoke, the
 *           rules changed, too many
 */
struct pxpool {
	struct pxparked *head;
	unsigned n;
	unsigned long parked, reused, retried, closed;
};

/* Is reuse on?  0 when ISLO_NO_REUSE is set in the environment (a bench
 * knob, read once). */
int pxpool_enabled(void);

/**
 * pxpool_park() - Park @f's idle upstream connection
 * @pl: The sandbox's pool
 * @f:  Flow whose sandbox side ends; its upstream (f->fd) is idle
 * @uc: Its TLS client, handshake done, no byte held, buffers detached
 * Return: 1 if parked (f->fd and @uc are the pool's now), 0 if not
 *         (nothing changed: the caller closes as usual)
 */
int pxpool_park(struct pxpool *pl, struct flow *f, struct pxupc *uc);

/**
 * pxpool_take() - Give a new flow a parked upstream connection
 * @pl: The sandbox's pool
 * @f:  Flow at its SYN, decided, upstream not yet connected
 * Return: 1 if taken (f->fd, f->up_addr, f->up_port set; the TLS client
 *         held in f->up_state until pxpool_adopt()), 0 if none fits
 */
int pxpool_take(struct pxpool *pl, struct flow *f);

/* The TLS client of the connection @f took at its SYN (then the caller's,
 * to free), or NULL. */
struct pxupc *pxpool_adopt(struct flow *f);

/* Close what expired, what upstream closed or spoke on, what the rules
 * in force (@cur) no longer are. */
void pxpool_sweep(struct pxpool *pl, const struct policyset *cur,
		  uint64_t now);

/* Close the oldest parked connections while they and the sandbox's
 * flows (and @more to come) are over its connection limit. */
void pxpool_trim(struct pxpool *pl, const struct gw *g, unsigned more);

/* Close every parked connection. */
void pxpool_free(struct pxpool *pl);

/* Wipe and free a TLS client (NULL is fine). */
void pxupc_free(struct pxupc *uc);

/* A fresh non-blocking connection to @a port @port (a retry after a
 * reused connection failed).  Return: the socket, or -1 */
int pxpool_connect(const struct ipaddr *a, uint16_t port);

#endif /* ISLO_PXPOOL_H */
