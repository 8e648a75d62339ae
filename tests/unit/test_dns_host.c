// SPDX-License-Identifier: MIT
/*
 * test_dns_host.c - the host resolver (hostdns.c) against a scripted
 * upstream on loopback: what a name's answer is (addresses, NODATA,
 * NXDOMAIN, the upstream's error) and what is cached (negative answers
 * for NEG_TTL; errors never).
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw.h"
#include "dns.h"
#include "unit.h"

struct upstream {
	int fd;
	char addr[32];
};

static int up_open(struct upstream *u)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (u->fd < 0 || bind(u->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(u->fd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	snprintf(u->addr, sizeof(u->addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	return 0;
}

/* Answer the next query the upstream got: @rcode, and an address when
 * @with_addr and the question is A.  Return: its qtype, or -1 (none). */
static int up_answer(struct upstream *u, int rcode, int with_addr)
{
	struct pollfd p = { .fd = u->fd, .events = POLLIN };
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	uint8_t m[600];
	ssize_t n;
	size_t qend;
	int qtype;

	if (poll(&p, 1, 1000) != 1)
		return -1;
	n = recvfrom(u->fd, m, 512, 0, (struct sockaddr *)&from, &fl);
	if (n < 17)
		return -1;
	for (qend = 12; qend < (size_t)n && m[qend]; qend += 1 + m[qend])
		;
	qend += 5;
	qtype = m[qend - 4] << 8 | m[qend - 3];
	m[2] = 0x81;
	m[3] = (uint8_t)(0x80 | rcode);
	m[6] = m[7] = 0;
	if (with_addr && qtype == DNS_T_A && !rcode) {
		static const uint8_t rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60,
					      0, 4, 192, 0, 2, 7 };

		memcpy(m + qend, rr, sizeof(rr));
		qend += sizeof(rr);
		m[7] = 1;
	}
	sendto(u->fd, m, qend, 0, (struct sockaddr *)&from, fl);
	return qtype;
}

struct got {
	int called, n, rcode;
	struct hostdns *h;
};

static void got_cb(struct gw *g, void *arg, int n, const struct ipaddr *addrs,
		   const char *error)
{
	struct got *r = arg;

	(void)g;
	(void)addrs;
	(void)error;
	r->called++;
	r->n = n;
	r->rcode = hostdns_rcode(r->h);
}

/* Resolve @name with the upstream answering both questions @rcode.
 * Return: the questions the upstream was asked (0: from the cache) */
static int run(struct hostdns *h, struct upstream *u, const char *name,
	       int rcode, int with_addr, struct got *r)
{
	struct pollfd p = { .fd = hostdns_fd(h), .events = POLLIN };
	struct ipaddr cached[HOSTDNS_MAX_ADDRS];
	int i, rc, asked = 0;

	memset(r, 0, sizeof(*r));
	r->h = h;
	if (!hostdns_resolve(h, name, got_cb, r))
		return -1;
	/* from the cache, the upstream hears nothing */
	if (hostdns_cached(h, name, cached, &rc) < 0)
		asked = (up_answer(u, rcode, with_addr) >= 0) +
			(up_answer(u, rcode, with_addr) >= 0);
	for (i = 0; i < 20 && !r->called; i++) {
		if (poll(&p, 1, 50) == 1)
			hostdns_input(h);
		hostdns_tick(h);
	}
	return asked;
}

TEST(hostdns_negative_answers)
{
	struct gwd d = { 0 };
	struct gw g = { .d = &d };
	struct upstream u;
	struct ipaddr addrs[HOSTDNS_MAX_ADDRS];
	struct hostdns *h;
	struct got r;
	char err[160];
	int rcode = -1;

	REQUIRE(up_open(&u) == 0);
	h = hostdns_new(&g, u.addr, err, sizeof(err));
	REQUIRE(h);

	/* NXDOMAIN: told, and cached (asked again: no query upstream) */
	CHECK(run(h, &u, "typo.example", DNS_RCODE_NXDOMAIN, 0, &r) == 2);
	CHECK(r.called == 1 && r.n == 0 && r.rcode == DNS_RCODE_NXDOMAIN);
	CHECK(hostdns_cached(h, "typo.example", addrs, &rcode) == 0 &&
	      rcode == DNS_RCODE_NXDOMAIN);
	CHECK(run(h, &u, "typo.example", 0, 0, &r) == 0);
	CHECK(r.called == 1 && r.rcode == DNS_RCODE_NXDOMAIN);

	/* exists with no address: NOERROR and none (NODATA), cached */
	run(h, &u, "noaddr.example", DNS_RCODE_NOERROR, 0, &r);
	CHECK(r.called == 1 && r.n == 0 && r.rcode == DNS_RCODE_NOERROR);
	CHECK(hostdns_cached(h, "noaddr.example", addrs, &rcode) == 0 &&
	      rcode == DNS_RCODE_NOERROR);

	/* the upstream's error is passed on and never cached */
	run(h, &u, "broken.example", DNS_RCODE_SERVFAIL, 0, &r);
	CHECK(r.called == 1 && r.n == 0 && r.rcode == DNS_RCODE_SERVFAIL);
	CHECK(hostdns_cached(h, "broken.example", addrs, &rcode) == -1);
	run(h, &u, "refused.example", DNS_RCODE_REFUSED, 0, &r);
	CHECK(r.called == 1 && r.rcode == DNS_RCODE_REFUSED);
	CHECK(hostdns_cached(h, "refused.example", addrs, &rcode) == -1);

	/* an IPv4 address and no IPv6 one: one address, NOERROR */
	run(h, &u, "v4.example", DNS_RCODE_NOERROR, 1, &r);
	CHECK(r.called == 1 && r.n == 1 && r.rcode == DNS_RCODE_NOERROR);
	CHECK(hostdns_cached(h, "v4.example", addrs, &rcode) == 1 &&
	      addrs[0].family == AF_INET && rcode == DNS_RCODE_NOERROR);

	/* nothing was asked that was not answered */
	CHECK(up_answer(&u, 0, 0) == -1);
	hostdns_free(h);
	close(u.fd);
}

TEST(hostdns_closed_upstream_fails_at_once)
{
	struct gwd d = { 0 };
	struct gw g = { .d = &d };
	struct upstream u;
	struct got r = { 0 };
	struct hostdns *h;
	char err[160];
	int i;

	/* a port nobody listens on: the first query's "port unreachable"
	 * comes back on the second's send or on a receive */
	REQUIRE(up_open(&u) == 0);
	close(u.fd);
	h = hostdns_new(&g, u.addr, err, sizeof(err));
	REQUIRE(h);
	r.h = h;
	REQUIRE(hostdns_resolve(h, "any.example", got_cb, &r));
	for (i = 0; i < 10 && !r.called; i++) {
		struct pollfd p = { .fd = hostdns_fd(h), .events = POLLIN };

		if (poll(&p, 1, 20) == 1)
			hostdns_input(h);
		hostdns_tick(h);
	}
	/* well before the first retry (RETRY_MS) */
	CHECK(r.called == 1 && r.n == 0 && r.rcode == DNS_RCODE_SERVFAIL);
	hostdns_free(h);
}

TEST(hostdns_negative_entries_do_not_crowd_out_the_cache)
{
	struct gwd d = { 0 };
	struct gw g = { .d = &d };
	struct ipaddr addrs[HOSTDNS_MAX_ADDRS];
	struct upstream u;
	struct hostdns *h;
	struct got r;
	char err[160], name[64];
	int i, kept = 0, rcode;

	REQUIRE(up_open(&u) == 0);
	h = hostdns_new(&g, u.addr, err, sizeof(err));
	REQUIRE(h);
	/* a full cache of names in use (512: hostdns.c's HCACHE_MAX) ... */
	for (i = 0; i < 512; i++) {
		snprintf(name, sizeof(name), "in-use-%d.example", i);
		run(h, &u, name, DNS_RCODE_NOERROR, 1, &r);
		REQUIRE(r.n == 1);
	}
	/* ... then a flood of names that do not exist */
	for (i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "flood-%d.example", i);
		run(h, &u, name, DNS_RCODE_NXDOMAIN, 0, &r);
		REQUIRE(r.rcode == DNS_RCODE_NXDOMAIN);
	}
	for (i = 0; i < 512; i++) {
		snprintf(name, sizeof(name), "in-use-%d.example", i);
		kept += hostdns_cached(h, name, addrs, &rcode) == 1;
	}
	/* the flood took at most a quarter of the slots */
	CHECK(kept >= 512 - 512 / 4);
	CHECK(hostdns_cached(h, "flood-399.example", addrs, &rcode) == 0 &&
	      rcode == DNS_RCODE_NXDOMAIN);
	hostdns_free(h);
	close(u.fd);
}
