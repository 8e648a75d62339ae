/* SPDX-License-Identifier: MIT */
/*
 * dnssrv.h - the sandbox's DNS server, on its resolver address: A and
 * AAAA answered with synthetic addresses (dnspool.c), every query in the
 * audit log.  A name some rule could allow gets one only if the host's
 * resolver has an address for it (else NXDOMAIN, NODATA or the upstream's
 * error); a name no rule allows never leaves the process.
 */
#ifndef ISLO_DNSSRV_H
#define ISLO_DNSSRV_H

#include <stddef.h>
#include <stdint.h>

struct gw;

/* Listen on UDP port 53 of @g's netif.  Return: 0, or -1 */
int dnssrv_start(struct gw *g);
/* Stop listening; queries still waiting are dropped. */
void dnssrv_stop(struct gw *g);

/* An answer that had to wait: @resp, @len (0: nothing to send). */
typedef void (*dnssrv_done_fn)(struct gw *g, void *arg, const uint8_t *resp,
			       size_t len);
/**
 * gw_dns_query() - Answer one query from the sandbox, now or later
 * @g:      Sandbox
 * @q:      Query bytes
 * @len:    Their length
 * @out:    Response buffer
 * @outlen: Its size (the answer's limit, now or later)
 * @proto:  "udp" or "tcp", for the audit log
 * @done:   Called from the loop with the answer if it has to wait
 * @arg:    Its argument
 * @wait:   Set to the waiting query's id (for gw_dns_cancel()), or 0
 * Return: response length, 0 to send nothing now (*@wait says if later)
 */
size_t gw_dns_query(struct gw *g, const uint8_t *q, size_t len, uint8_t *out,
		    size_t outlen, const char *proto, dnssrv_done_fn done,
		    void *arg, uint32_t *wait);
/* Forget a waiting query (its asker went away): @done is not called. */
void gw_dns_cancel(struct gw *g, uint32_t wait);

#endif
