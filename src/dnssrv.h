/* SPDX-License-Identifier: MIT */
/*
 * dnssrv.h - the sandbox's DNS server, on its resolver address: A and
 * AAAA answered with synthetic addresses (dnspool.c), every query in the
 * audit log.  Nothing it is asked ever leaves the process.
 */
#ifndef ISLO_DNSSRV_H
#define ISLO_DNSSRV_H

#include <stddef.h>
#include <stdint.h>

struct gw;

/* Listen on UDP port 53 of @g's netif.  Return: 0, or -1 */
int dnssrv_start(struct gw *g);
/**
 * gw_dns_answer() - Answer one query from the sandbox
 * @g:    Sandbox
 * @q:    Query bytes
 * @len:  Their length
 * @out:  Response buffer
 * @outlen: Its size
 * @proto: "udp" or "tcp", for the audit log
 * Return: response length, 0 to send nothing
 */
size_t gw_dns_answer(struct gw *g, const uint8_t *q, size_t len, uint8_t *out,
		     size_t outlen, const char *proto);

#endif
