// SPDX-License-Identifier: MIT
/*
 * test_dnspool.c - synthetic address pool: mapping, reverse lookup, LRU
 * recycling that spares referenced entries
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dnspool.h"
#include "unit.h"

static int is4(const uint8_t *a, const char *s)
{
	uint8_t b[4];

	return inet_pton(AF_INET, s, b) == 1 && !memcmp(a, b, 4);
}

static int is6(const uint8_t *a, const char *s)
{
	uint8_t b[16];

	return inet_pton(AF_INET6, s, b) == 1 && !memcmp(a, b, 16);
}

TEST(dnspool_map)
{
	struct dns_pool *p;
	uint8_t a[16], b[16], x[16];
	char big[300];

	CHECK(!dns_pool_new(0));
	CHECK(!dns_pool_new(DNS_POOL_MAX + 1));
	p = dns_pool_new(DNS_POOL_MAX);
	REQUIRE(p);
	dns_pool_free(p);
	dns_pool_free(NULL);

	p = dns_pool_new(16);
	REQUIRE(p);
	REQUIRE(dns_pool_addr_for(p, "a.example", AF_INET, a) == 0);
	CHECK(is4(a, "198.18.0.1"));
	REQUIRE(dns_pool_addr_for(p, "a.example", AF_INET6, b) == 0);
	CHECK(is6(b, "64:ff9b:1:fffe::1"));
	REQUIRE(dns_pool_addr_for(p, "b.example", AF_INET6, b) == 0);
	CHECK(is6(b, "64:ff9b:1:fffe::2"));
	REQUIRE(dns_pool_addr_for(p, "a.example", AF_INET, a) == 0);
	CHECK(is4(a, "198.18.0.1"));

	CHECK_STR(dns_pool_name_for(p, AF_INET, a), "a.example");
	CHECK_STR(dns_pool_name_for(p, AF_INET6, b), "b.example");
	inet_pton(AF_INET, "198.18.0.2", x);
	CHECK_STR(dns_pool_name_for(p, AF_INET, x), "b.example");
	inet_pton(AF_INET, "198.18.0.3", x);
	CHECK(!dns_pool_name_for(p, AF_INET, x));
	CHECK(dns_pool_in_range(AF_INET, x));
	inet_pton(AF_INET, "198.18.0.0", x);
	CHECK(!dns_pool_name_for(p, AF_INET, x));
	inet_pton(AF_INET, "198.19.255.255", x);
	CHECK(dns_pool_in_range(AF_INET, x));
	CHECK(!dns_pool_name_for(p, AF_INET, x));
	inet_pton(AF_INET, "198.20.0.1", x);
	CHECK(!dns_pool_in_range(AF_INET, x));
	CHECK(!dns_pool_name_for(p, AF_INET, x));
	inet_pton(AF_INET, "198.17.255.255", x);
	CHECK(!dns_pool_in_range(AF_INET, x));
	inet_pton(AF_INET6, "64:ff9b:1:fffe::ffff:ffff", x);
	CHECK(dns_pool_in_range(AF_INET6, x));
	CHECK(!dns_pool_name_for(p, AF_INET6, x));
	inet_pton(AF_INET6, "64:ff9b:1:ffff::1", x);
	CHECK(!dns_pool_in_range(AF_INET6, x));
	CHECK(!dns_pool_name_for(p, AF_INET6, x));
	inet_pton(AF_INET6, "64:ff9b::c612:1", x); /* NAT64 of 198.18.0.1 */
	CHECK(!dns_pool_in_range(AF_INET6, x));
	CHECK(!dns_pool_in_range(AF_UNIX, x));
	CHECK(!dns_pool_in_range(AF_INET, NULL));

	CHECK(dns_pool_addr_for(p, "", AF_INET, x) == -1);
	CHECK(dns_pool_addr_for(p, "a.example", AF_UNIX, x) == -1);
	memset(big, 'a', 256);
	big[256] = '\0';
	CHECK(dns_pool_addr_for(p, big, AF_INET, x) == -1);
	big[255] = '\0';
	CHECK(dns_pool_addr_for(p, big, AF_INET, x) == 0);
	CHECK(is4(x, "198.18.0.3"));
	dns_pool_free(p);
}

TEST(dnspool_lru)
{
	struct dns_pool *p = dns_pool_new(3);
	uint8_t a[16], b[16], c[16], d[16];

	REQUIRE(p);
	dns_pool_addr_for(p, "a", AF_INET, a);
	dns_pool_addr_for(p, "b", AF_INET, b);
	dns_pool_addr_for(p, "c", AF_INET, c);
	dns_pool_addr_for(p, "a", AF_INET, a); /* a is now the freshest */
	REQUIRE(dns_pool_addr_for(p, "d", AF_INET, d) == 0);
	CHECK(!memcmp(d, b, 4));               /* b recycled */
	CHECK_STR(dns_pool_name_for(p, AF_INET, b), "d");
	CHECK_STR(dns_pool_name_for(p, AF_INET, a), "a");
	/* b again: takes c's slot, the least recently used now */
	REQUIRE(dns_pool_addr_for(p, "b", AF_INET6, b) == 0);
	CHECK(is6(b, "64:ff9b:1:fffe::3"));
	CHECK_STR(dns_pool_name_for(p, AF_INET, c), "b");
	dns_pool_free(p);
}

TEST(dnspool_refs)
{
	struct dns_pool *p = dns_pool_new(2);
	uint8_t a[16], b[16], c[16], d[16], a6[16];

	REQUIRE(p);
	dns_pool_addr_for(p, "a", AF_INET, a);
	dns_pool_addr_for(p, "a", AF_INET6, a6);
	dns_pool_addr_for(p, "b", AF_INET, b);
	dns_pool_ref(p, AF_INET6, a6);         /* either family pins it */
	dns_pool_addr_for(p, "b", AF_INET, b); /* a is the LRU, but held */
	dns_pool_addr_for(p, "a", AF_INET, a);
	REQUIRE(dns_pool_addr_for(p, "c", AF_INET, c) == 0);
	CHECK(!memcmp(c, b, 4));
	CHECK_STR(dns_pool_name_for(p, AF_INET, a), "a");

	/* Everything held: no room */
	dns_pool_ref(p, AF_INET, c);
	dns_pool_ref(p, AF_INET, a);           /* a: 2 refs */
	CHECK(dns_pool_addr_for(p, "d", AF_INET, d) == -1);
	dns_pool_unref(p, AF_INET, a);
	CHECK(dns_pool_addr_for(p, "d", AF_INET, d) == -1);
	dns_pool_unref(p, AF_INET6, a6);
	REQUIRE(dns_pool_addr_for(p, "d", AF_INET, d) == 0);
	CHECK(!memcmp(d, a, 4));
	CHECK_STR(dns_pool_name_for(p, AF_INET, a), "d");

	/* Unbalanced unrefs and refs of non-entries are ignored */
	dns_pool_unref(p, AF_INET, d);
	dns_pool_unref(p, AF_INET, d);
	inet_pton(AF_INET, "10.0.0.1", b);
	dns_pool_ref(p, AF_INET, b);
	dns_pool_unref(p, AF_INET, b);
	inet_pton(AF_INET, "198.18.0.9", b);
	dns_pool_ref(p, AF_INET, b);
	dns_pool_unref(p, AF_UNIX, b);
	/* c still held once: the next new name recycles d */
	REQUIRE(dns_pool_addr_for(p, "e", AF_INET, b) == 0);
	CHECK(!memcmp(b, d, 4));
	CHECK_STR(dns_pool_name_for(p, AF_INET, c), "c");
	dns_pool_free(p);
}

/* Many names through a small pool: the table stays consistent */
TEST(dnspool_churn)
{
	struct dns_pool *p = dns_pool_new(1000);
	uint8_t a[16];
	char name[32];
	int i, bad = 0;

	REQUIRE(p);
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		if (dns_pool_addr_for(p, name, AF_INET, a))
			bad++;
		if (i % 7 == 0)
			dns_pool_ref(p, AF_INET, a); /* pinned for good */
		if (i % 7 == 0 && i > 6000)
			dns_pool_unref(p, AF_INET, a);
	}
	CHECK(bad == 0);
	/* The last 100 names are all still there and map both ways */
	for (i = 19900; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		REQUIRE(dns_pool_addr_for(p, name, AF_INET6, a) == 0);
		CHECK_STR(dns_pool_name_for(p, AF_INET6, a), name);
	}
	/* Pinned early names survived */
	snprintf(name, sizeof(name), "n%d.example", 7);
	REQUIRE(dns_pool_addr_for(p, name, AF_INET, a) == 0);
	CHECK(a[2] == 0 && a[3] == 8);
	dns_pool_free(p);
}
