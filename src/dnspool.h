/* SPDX-License-Identifier: MIT */
/*
 * dnspool.h - per-sandbox synthetic address pool: every name the sandbox
 * resolves gets index i, shown to it as 198.18.0.0 + i and
 * 64:ff9b:1:fffe::i (the index in the last 32 bits).
 */
#ifndef ISLO_DNSPOOL_H
#define ISLO_DNSPOOL_H

#include <stdint.h>

#define DNS_POOL_MAX 131070 /* 198.18.0.1 .. 198.19.255.254 */

struct dns_pool;

struct dns_pool *dns_pool_new(uint32_t capacity);
void dns_pool_free(struct dns_pool *p);
int dns_pool_addr_for(struct dns_pool *p, const char *name, int family,
		      uint8_t out[16]);
const char *dns_pool_name_for(struct dns_pool *p, int family,
			      const uint8_t *addr);
int dns_pool_in_range(int family, const uint8_t *addr);
void dns_pool_ref(struct dns_pool *p, int family, const uint8_t *addr);
void dns_pool_unref(struct dns_pool *p, int family, const uint8_t *addr);

#endif
