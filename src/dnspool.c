// SPDX-License-Identifier: MIT
/*
 * dnspool.c - per-sandbox synthetic address pool
 *
 * DOC: Theory of Operation
 *
 * Gateway-mode DNS never tells the sandbox a real address:
 * each name gets an index i in 1..capacity, shown as 198.18.0.0 + i
 * (RFC 2544 benchmarking space, never routed) and as 64:ff9b:1:fffe::i.
 * A connection to such an address is then matched against rules by the
 * name, which is resolved for real on the host side only if allowed.
 *
 * Entries live in one array allocated by dns_pool_new(); index 0 means
 * "none". A chained hash table maps names to indexes; its hash is SipHash
 * keyed at random per pool, because the sandbox picks the names and could
 * otherwise make every chain collide. Entries no connection uses (refs 0)
 * are on an LRU list; when the array is full the least recently resolved
 * of them is recycled, so an address an open connection relies on never
 * changes its name under it. Everything is O(1) on average and nothing is
 * allocated after dns_pool_new().
 */

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "dnspool.h"
#include "fileutil.h"

#define POOL_V4_BASE 0xc6120000u /* 198.18.0.0/15 */
#define POOL_V4_MASK 0xfffe0000u

static const uint8_t pool_v6_prefix[12] = {
	0x00, 0x64, 0xff, 0x9b, 0x00, 0x01, 0xff, 0xfe, 0, 0, 0, 0
};

struct pool_ent {
	char name[DNS_MAX_NAME + 1];
	uint32_t hash;         /* low 32 bits of the name's hash */
	uint32_t hnext;        /* next in the hash chain */
	uint32_t prev, next;   /* LRU list, while refs == 0 */
	uint32_t refs;
	uint8_t used;
};

/**
 * struct dns_pool - synthetic address pool
 * @cap:       Number of entries, indexes 1..cap
 * @mask:      Number of hash buckets - 1 (a power of two)
 * @next_new:  Next never-used index
 * @lru_head:  Most recently used unreferenced entry
 * @lru_tail:  Least recently used one, the next to recycle
 * @k0, @k1:   SipHash key
 * @buckets:   Hash chain heads
 * @ent:       Entries, [0] unused
 */
struct dns_pool {
	uint32_t cap, mask, next_new;
	uint32_t lru_head, lru_tail;
	uint64_t k0, k1;
	uint32_t *buckets;
	struct pool_ent *ent;
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);      \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                         \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                         \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);      \
	} while (0)

/**
 * siphash24() - SipHash-2-4 of a byte string
 * @k0, @k1: Key
 * @in:      Bytes
 * @len:     Their length
 * Return: the 64-bit hash
 */
static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *in,
			  size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;
	int j;

	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (j = 7; j >= 0; j--)
			m = m << 8 | in[i + j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (j = (int)left - 1; j >= 0; j--)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/**
 * dns_pool_new() - Allocate a pool
 * @capacity: Number of names, 1..DNS_POOL_MAX
 * Return: the pool, or NULL on a bad capacity or out of memory
 */
struct dns_pool *dns_pool_new(uint32_t capacity)
{
	struct dns_pool *p;
	uint64_t key[2];
	uint32_t nb = 1;

	if (!capacity || capacity > DNS_POOL_MAX)
		return NULL;
	while (nb < capacity * 2)
		nb <<= 1;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->buckets = calloc(nb, sizeof(*p->buckets));
	p->ent = calloc((size_t)capacity + 1, sizeof(*p->ent));
	if (!p->buckets || !p->ent) {
		dns_pool_free(p);
		return NULL;
	}
	if (getrandom(key, sizeof(key), GRND_NONBLOCK) != sizeof(key)) {
		/* Early boot without entropy: still better than a fixed key */
		key[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)p;
		key[1] = (uint64_t)getpid() << 32 ^ (uint64_t)clock();
	}
	p->k0 = key[0];
	p->k1 = key[1];
	p->cap = capacity;
	p->mask = nb - 1;
	p->next_new = 1;
	return p;
}

/**
 * dns_pool_free() - Release a pool
 * @p: Pool, or NULL
 */
void dns_pool_free(struct dns_pool *p)
{
	if (!p)
		return;
	FREE_ALL(p->buckets, p->ent, p);
}

static void lru_unlink(struct dns_pool *p, uint32_t i)
{
	struct pool_ent *e = &p->ent[i];

	if (e->prev)
		p->ent[e->prev].next = e->next;
	else
		p->lru_head = e->next;
	if (e->next)
		p->ent[e->next].prev = e->prev;
	else
		p->lru_tail = e->prev;
	e->prev = e->next = 0;
}

static void lru_push(struct dns_pool *p, uint32_t i)
{
	struct pool_ent *e = &p->ent[i];

	e->prev = 0;
	e->next = p->lru_head;
	if (p->lru_head)
		p->ent[p->lru_head].prev = i;
	else
		p->lru_tail = i;
	p->lru_head = i;
}

static void hash_unlink(struct dns_pool *p, uint32_t i)
{
	uint32_t *link = &p->buckets[p->ent[i].hash & p->mask];

	while (*link && *link != i)
		link = &p->ent[*link].hnext;
	if (*link)
		*link = p->ent[i].hnext;
	p->ent[i].hnext = 0;
}

/**
 * pool_addr() - Write the synthetic address of an index
 * @i:      Index, 1..DNS_POOL_MAX
 * @family: AF_INET or AF_INET6
 * @out:    Output, 4 or 16 bytes
 */
static void pool_addr(uint32_t i, int family, uint8_t *out)
{
	uint32_t v = family == AF_INET ? POOL_V4_BASE + i : i;
	uint8_t *tail = out;

	if (family == AF_INET6) {
		memcpy(out, pool_v6_prefix, sizeof(pool_v6_prefix));
		tail = out + sizeof(pool_v6_prefix);
	}
	tail[0] = (uint8_t)(v >> 24);
	tail[1] = (uint8_t)(v >> 16);
	tail[2] = (uint8_t)(v >> 8);
	tail[3] = (uint8_t)v;
}

/**
 * pool_index() - Index of a live entry from its synthetic address
 * @p:      Pool
 * @family: AF_INET or AF_INET6
 * @addr:   Address, 4 or 16 bytes
 * Return: the index, 0 if the address is not a live entry's
 */
static uint32_t pool_index(const struct dns_pool *p, int family,
			   const uint8_t *addr)
{
	const uint8_t *t;
	uint32_t v;

	if (!addr || !dns_pool_in_range(family, addr))
		return 0;
	t = family == AF_INET ? addr : addr + sizeof(pool_v6_prefix);
	v = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 |
	    t[3];
	if (family == AF_INET)
		v -= POOL_V4_BASE;
	if (v == 0 || v > p->cap || !p->ent[v].used)
		return 0;
	return v;
}

/**
 * dns_pool_in_range() - Is an address in the synthetic ranges at all?
 * @family: AF_INET or AF_INET6
 * @addr:   Address, 4 or 16 bytes
 *
 * The ranges are the whole 198.18.0.0/15 and 64:ff9b:1:fffe::/96: an
 * address there that is no live entry must not be connected to for real.
 *
 * Return: 1 if it is, 0 if not
 */
int dns_pool_in_range(int family, const uint8_t *addr)
{
	uint32_t v;

	if (!addr)
		return 0;
	if (family == AF_INET6)
		return !memcmp(addr, pool_v6_prefix, sizeof(pool_v6_prefix));
	if (family != AF_INET)
		return 0;
	v = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 |
	    (uint32_t)addr[2] << 8 | addr[3];
	return (v & POOL_V4_MASK) == POOL_V4_BASE;
}

/**
 * dns_pool_addr_for() - Synthetic address for a name, allocated if new
 * @p:      Pool
 * @name:   Normalised name (lowercase, no trailing dot), 1..255 bytes
 * @family: AF_INET (4 bytes written) or AF_INET6 (16 bytes)
 * @out:    Output
 *
 * A new name takes a never-used index, else recycles the least recently
 * resolved entry no connection holds.
 *
 * Return: 0, or -1 on a bad name or family, or when every entry is held
 */
int dns_pool_addr_for(struct dns_pool *p, const char *name, int family,
		      uint8_t out[16])
{
	size_t len;
	uint32_t h, i;

	if (!p || !name || (family != AF_INET && family != AF_INET6))
		return -1;
	len = strnlen(name, DNS_MAX_NAME + 1);
	if (!len || len > DNS_MAX_NAME)
		return -1;

	h = (uint32_t)siphash24(p->k0, p->k1, (const uint8_t *)name, len);
	for (i = p->buckets[h & p->mask]; i; i = p->ent[i].hnext) {
		if (p->ent[i].hash == h && !strcmp(p->ent[i].name, name))
			break;
	}

	if (i) {
		if (!p->ent[i].refs) {
			lru_unlink(p, i);
			lru_push(p, i);
		}
	} else {
		struct pool_ent *e;

		if (p->next_new <= p->cap) {
			i = p->next_new++;
		} else {
			i = p->lru_tail;
			if (!i)
				return -1;
			lru_unlink(p, i);
			hash_unlink(p, i);
		}
		e = &p->ent[i];
		memcpy(e->name, name, len + 1);
		e->hash = h;
		e->refs = 0;
		e->used = 1;
		e->hnext = p->buckets[h & p->mask];
		p->buckets[h & p->mask] = i;
		lru_push(p, i);
	}

	pool_addr(i, family, out);
	return 0;
}

/**
 * dns_pool_name_for() - Name behind a synthetic address
 * @p:      Pool
 * @family: AF_INET or AF_INET6
 * @addr:   Address, 4 or 16 bytes
 * Return: the name (valid until the entry is recycled: hold a reference),
 * NULL if the address is no live entry
 */
const char *dns_pool_name_for(struct dns_pool *p, int family,
			      const uint8_t *addr)
{
	uint32_t i = p ? pool_index(p, family, addr) : 0;

	return i ? p->ent[i].name : NULL;
}

/**
 * dns_pool_ref() - Mark an entry as used by a connection: not recycled
 * @p:      Pool
 * @family: AF_INET or AF_INET6
 * @addr:   Address, 4 or 16 bytes; ignored unless a live entry's
 */
void dns_pool_ref(struct dns_pool *p, int family, const uint8_t *addr)
{
	uint32_t i = p ? pool_index(p, family, addr) : 0;

	if (!i || p->ent[i].refs == UINT32_MAX)
		return;
	if (!p->ent[i].refs++)
		lru_unlink(p, i);
}

/**
 * dns_pool_unref() - Drop a reference taken with dns_pool_ref()
 * @p:      Pool
 * @family: AF_INET or AF_INET6
 * @addr:   Address, 4 or 16 bytes; ignored unless a referenced entry's
 */
void dns_pool_unref(struct dns_pool *p, int family, const uint8_t *addr)
{
	uint32_t i = p ? pool_index(p, family, addr) : 0;

	if (!i || !p->ent[i].refs)
		return;
	if (!--p->ent[i].refs)
		lru_push(p, i);
}
