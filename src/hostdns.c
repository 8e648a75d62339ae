// SPDX-License-Identifier: MIT
/*
 * hostdns.c - the host-side resolver of the gateway datapath.
 *
 * A name is resolved for real only here, and only once a connection to it
 * has been allowed (flow.c).  Queries go over UDP to one upstream: the
 * --dns-upstream address, or the first nameserver of the host's
 * /etc/resolv.conf.  A and AAAA are asked together; answers are checked
 * against the transaction id, the upstream's address and port, and the
 * question (dns_parse_response()), cached for their TTL (clamped), and
 * handed to the caller from the loop, never from inside hostdns_resolve().
 *
 * A name the upstream says does not exist (NXDOMAIN), or that exists with
 * no address (NODATA in both families), is cached too, for NEG_TTL
 * seconds: the sandbox's DNS server (dnssrv.c) asks here before it gives
 * an allowed name a synthetic address, and a client that retries a typo
 * must not make the host resolver ask again each time.  The answer's kind
 * is hostdns_rcode() while the callback runs.
 */
#include "gw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "frame.h"
#include "log.h"

#define HREQ_MAX 1024
#define HCACHE_MAX 512
#define RETRY_MS 1000
#define TRIES 3
#define TTL_MIN 5
#define TTL_MAX 300
/* negative answers: the responses carry no SOA we read, so a short fixed
 * TTL (RFC 2308 5: a name may come to exist; we keep it short) */
#define NEG_TTL 30
/* "the upstream does not answer" is said at most this often */
#define SILENT_WARN_MS 30000

struct hreq {
	uint32_t id;                 /* 0: free slot */
	char name[256];
	uint16_t qid[2];             /* A, AAAA */
	int got[2], rcode[2];
	struct ipaddr addrs[HOSTDNS_MAX_ADDRS];
	int n;
	uint32_t ttl;
	uint64_t next_send;
	int tries;
	int ready;                   /* answer complete (or from cache) */
	int refused;                 /* the upstream's port is closed */
	hostdns_cb cb;
	void *arg;
};

struct hcache {
	char name[256];
	struct ipaddr addrs[HOSTDNS_MAX_ADDRS];
	int n;
	int rcode;                   /* n == 0: NXDOMAIN, or 0 (NODATA) */
	uint64_t expires;
	uint64_t used;
};

struct hostdns {
	struct gw *g;
	int fd;
	struct sockaddr_storage up;
	socklen_t uplen;
	uint32_t next_id;
	struct hreq req[HREQ_MAX];
	struct hcache cache[HCACHE_MAX];
	/* slots at and above these are unused: the loops stop there (the
	 * tick runs every loop turn, and most turns there is nothing) */
	int req_hi, cache_hi;
	int cur_rcode;               /* the answer being handed over */
	char up_str[INET6_ADDRSTRLEN + 16];
	uint64_t warned;             /* when its silence was last said */
};

/* A lookup got no answer at all: say so (rate limited), or a user sees
 * only names that "do not resolve". */
static void upstream_silent(struct hostdns *h, int refused)
{
	uint64_t now = now_ms();

	if (h->warned && now - h->warned < SILENT_WARN_MS)
		return;
	h->warned = now;
	warn("the DNS upstream %s %s; names a rule could allow do not resolve "
	     "(--dns-upstream)", h->up_str,
	     refused ? "refuses (port unreachable)" : "does not answer");
}

/* What the answer of @r is, as a DNS rcode: NOERROR with addresses, or
 * with none in either family (NODATA); NXDOMAIN; the upstream's own error
 * (SERVFAIL, REFUSED...); SERVFAIL when it did not answer. */
static int req_rcode(const struct hreq *r)
{
	int t;

	if (r->n)
		return DNS_RCODE_NOERROR;
	for (t = 0; t < 2; t++)
		if (r->got[t] && r->rcode[t] == DNS_RCODE_NXDOMAIN)
			return DNS_RCODE_NXDOMAIN;
	if (r->got[0] && r->got[1] && !r->rcode[0] && !r->rcode[1])
		return DNS_RCODE_NOERROR;
	for (t = 0; t < 2; t++)
		if (r->got[t] && r->rcode[t])
			return r->rcode[t];
	return DNS_RCODE_SERVFAIL;
}

static void req_free(struct hostdns *h, struct hreq *r)
{
	r->id = 0;
	while (h->req_hi > 0 && !h->req[h->req_hi - 1].id)
		h->req_hi--;
}

static int host_resolv_conf(char *out, size_t len)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512];
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		char addr[INET6_ADDRSTRLEN + 1];

		if (sscanf(line, " nameserver %46s", addr) == 1) {
			char *pct = strchr(addr, '%');

			if (pct)
				*pct = '\0';
			if (strchr(addr, ':'))
				snprintf(out, len, "[%s]:53", addr);
			else
				snprintf(out, len, "%s:53", addr);
			found = 1;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

struct hostdns *hostdns_new(struct gw *g, const char *upstream, char *err,
			    size_t errlen)
{
	struct hostdns *h = calloc(1, sizeof(*h));
	char buf[INET6_ADDRSTRLEN + 16];

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->g = g;
	h->fd = -1;
	if (!upstream) {
		if (host_resolv_conf(buf, sizeof(buf)) < 0) {
			snprintf(err, errlen,
				 "no nameserver in /etc/resolv.conf; give --dns-upstream ADDR[:PORT]");
			free(h);
			return NULL;
		}
		upstream = buf;
	}
	snprintf(h->up_str, sizeof(h->up_str), "%s", upstream);
	if (sockaddr_parse(upstream, 53, &h->up, &h->uplen) < 0) {
		snprintf(err, errlen,
			 "--dns-upstream: '%s' is not ADDR[:PORT] (IPv6 as [ADDR]:PORT)",
			 upstream);
		free(h);
		return NULL;
	}
	h->fd = socket(h->up.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (h->fd < 0 || connect(h->fd, (struct sockaddr *)&h->up, h->uplen) < 0) {
		snprintf(err, errlen, "DNS upstream %s: %s", upstream,
			 strerror(errno));
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return NULL;
	}
	if (getrandom(&h->next_id, sizeof(h->next_id), 0) < 0)
		h->next_id = (uint32_t)now_ms();
	h->next_id |= 1;
	return h;
}

void hostdns_free(struct hostdns *h)
{
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

int hostdns_fd(struct hostdns *h)
{
	return h->fd;
}

static uint16_t rand16(void)
{
	uint16_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint16_t)random();
	return v;
}

/* The upstream's port is closed (ICMP port unreachable on our connected
 * socket, reported by a send or a receive): the lookups waiting fail now
 * rather than after their tries. */
static void upstream_refused(struct hostdns *h)
{
	int i;

	for (i = 0; i < h->req_hi; i++) {
		struct hreq *r = &h->req[i];

		if (r->id && !r->ready) {
			r->ready = 1;
			r->refused = 1;
		}
	}
}

static void send_queries(struct hostdns *h, struct hreq *r)
{
	static const uint16_t types[2] = { DNS_T_A, DNS_T_AAAA };
	uint8_t q[512];
	int i;

	for (i = 0; i < 2; i++) {
		size_t len;

		if (r->got[i])
			continue;
		r->qid[i] = rand16();
		len = dns_build_query(r->qid[i], r->name, types[i], q, sizeof(q));
		if (len && send(h->fd, q, len, 0) < 0) {
			debug("DNS upstream send: %s", strerror(errno));
			/* an earlier query's port unreachable, reported here */
			if (errno == ECONNREFUSED)
				upstream_refused(h);
		}
	}
	r->tries++;
	r->next_send = now_ms() + RETRY_MS;
}

static struct hcache *cache_find(struct hostdns *h, const char *name)
{
	uint64_t now = now_ms();
	int i;

	for (i = 0; i < h->cache_hi; i++) {
		struct hcache *c = &h->cache[i];

		if (c->name[0] && c->expires > now && !strcmp(c->name, name)) {
			c->used = now;
			return c;
		}
	}
	return NULL;
}

/* Negative entries may take at most this many of a full cache's slots: a
 * flood of random names must not push the names in use out. */
#define HCACHE_NEG_MAX (HCACHE_MAX / 4)

static void cache_put(struct hostdns *h, const struct hreq *r)
{
	struct hcache *victim = &h->cache[0], *neg_lru = NULL;
	uint64_t now = now_ms();
	uint32_t ttl = r->ttl < TTL_MIN ? TTL_MIN : r->ttl > TTL_MAX ? TTL_MAX : r->ttl;
	int i, rcode = req_rcode(r), nneg = 0;

	if (!r->n && rcode != DNS_RCODE_NXDOMAIN && rcode != DNS_RCODE_NOERROR)
		return; /* an error: asked again next time */
	if (!r->n)
		ttl = NEG_TTL;
	for (i = 0; i < HCACHE_MAX; i++) {
		struct hcache *c = &h->cache[i];

		if (i >= h->cache_hi) {
			victim = c;
			h->cache_hi = i + 1;
			break;
		}
		if (!c->name[0] || c->expires <= now || !strcmp(c->name, r->name)) {
			victim = c;
			break;
		}
		if (c->used < victim->used)
			victim = c;
		if (!c->n) {
			nneg++;
			if (!neg_lru || c->used < neg_lru->used)
				neg_lru = c;
		}
	}
	if (i == HCACHE_MAX && !r->n && nneg >= HCACHE_NEG_MAX && neg_lru)
		victim = neg_lru;
	snprintf(victim->name, sizeof(victim->name), "%s", r->name);
	memcpy(victim->addrs, r->addrs, sizeof(victim->addrs));
	victim->n = r->n;
	victim->rcode = rcode;
	victim->expires = now + (uint64_t)ttl * 1000;
	victim->used = now;
}

int hostdns_pending(const struct hostdns *h)
{
	return h && h->req_hi > 0;
}

int hostdns_rcode(const struct hostdns *h)
{
	return h->cur_rcode;
}

int hostdns_cached(struct hostdns *h, const char *name,
		   struct ipaddr addrs[HOSTDNS_MAX_ADDRS], int *rcode)
{
	struct hcache *c = cache_find(h, name);

	if (!c)
		return -1;
	memcpy(addrs, c->addrs, sizeof(c->addrs));
	*rcode = c->n ? DNS_RCODE_NOERROR : c->rcode;
	return c->n;
}

uint32_t hostdns_resolve(struct hostdns *h, const char *name, hostdns_cb cb,
			 void *arg)
{
	struct hcache *c = cache_find(h, name);

	gw_busy(h->g);  /* its callback runs from the loop's turn */
	struct hreq *r = NULL;
	int i;

	for (i = 0; i < HREQ_MAX; i++) {
		if (!h->req[i].id) {
			r = &h->req[i];
			if (i >= h->req_hi)
				h->req_hi = i + 1;
			break;
		}
	}
	if (!r)
		return 0;
	memset(r, 0, sizeof(*r));
	r->id = h->next_id++;
	if (!r->id)
		r->id = h->next_id++;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->cb = cb;
	r->arg = arg;
	if (c) {
		memcpy(r->addrs, c->addrs, sizeof(r->addrs));
		r->n = c->n;
		r->got[0] = r->got[1] = 1;
		r->rcode[0] = r->rcode[1] = c->n ? 0 : c->rcode;
		r->ready = 1;
		return r->id;
	}
	send_queries(h, r);
	return r->id;
}

void hostdns_cancel(struct hostdns *h, uint32_t id)
{
	int i;

	for (i = 0; i < h->req_hi; i++)
		if (h->req[i].id == id)
			req_free(h, &h->req[i]);
}

void hostdns_input(struct hostdns *h)
{
	uint8_t buf[4096];
	int k;

	for (k = 0; k < 64; k++) {
		ssize_t n = recv(h->fd, buf, sizeof(buf), 0);
		uint16_t id;
		int i;

		if (n < 0) {
			if (errno == ECONNREFUSED)
				upstream_refused(h);
			return;
		}
		if (n < 12)
			continue;
		id = (uint16_t)(buf[0] << 8 | buf[1]);
		for (i = 0; i < h->req_hi; i++) {
			struct hreq *r = &h->req[i];
			uint8_t addrs[HOSTDNS_MAX_ADDRS][16];
			uint32_t ttl = TTL_MAX;
			int t, got, rcode = 0, j;

			if (!r->id || r->ready)
				continue;
			for (t = 0; t < 2; t++)
				if (!r->got[t] && r->qid[t] == id)
					break;
			if (t == 2)
				continue;
			got = dns_parse_response(buf, (size_t)n, id, r->name,
						 t == 0 ? DNS_T_A : DNS_T_AAAA,
						 addrs, HOSTDNS_MAX_ADDRS - r->n,
						 &ttl, &rcode);
			if (got < 0)
				continue; /* not the answer to this question */
			r->got[t] = 1;
			r->rcode[t] = rcode;
			for (j = 0; j < got && r->n < HOSTDNS_MAX_ADDRS; j++) {
				struct ipaddr *a = &r->addrs[r->n++];

				a->family = t == 0 ? AF_INET : AF_INET6;
				memcpy(a->a, addrs[j], t == 0 ? 4 : 16);
			}
			if (got && (!r->ttl || ttl < r->ttl))
				r->ttl = ttl;
			if (r->got[0] && r->got[1]) {
				r->ready = 1;
				cache_put(h, r);
			}
			break;
		}
	}
}

void hostdns_tick(struct hostdns *h)
{
	uint64_t now = now_ms();
	int i;

	for (i = 0; i < h->req_hi; i++) {
		struct hreq *r = &h->req[i];
		char why[64];

		if (!r->id)
			continue;
		if (!r->ready && now >= r->next_send) {
			if (r->tries < TRIES) {
				send_queries(h, r);
				continue;
			}
			/* one family answered, the other never did: use it */
			r->ready = 1;
		}
		if (!r->ready)
			continue;
		{
			hostdns_cb cb = r->cb;
			void *arg = r->arg;
			int n = r->n;
			struct ipaddr addrs[HOSTDNS_MAX_ADDRS];

			memcpy(addrs, r->addrs, sizeof(addrs));
			h->cur_rcode = req_rcode(r);
			if (n)
				why[0] = '\0';
			else if (h->cur_rcode == DNS_RCODE_NXDOMAIN)
				snprintf(why, sizeof(why), "NXDOMAIN");
			else if (r->refused && !r->got[0] && !r->got[1])
				snprintf(why, sizeof(why),
					 "DNS upstream refused (port unreachable)");
			else if (!r->got[0] && !r->got[1])
				snprintf(why, sizeof(why), "DNS upstream did not answer");
			if (!n && !r->got[0] && !r->got[1])
				upstream_silent(h, r->refused);
			else
				snprintf(why, sizeof(why), "no address (rcode %d)",
					 r->rcode[0] ? r->rcode[0] : r->rcode[1]);
			req_free(h, r);
			cb(h->g, arg, n, addrs, n ? NULL : why);
		}
	}
}

const struct sockaddr_storage *hostdns_server(const struct hostdns *h)
{
	return h ? &h->up : NULL;
}
