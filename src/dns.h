/* SPDX-License-Identifier: MIT */
/*
 * dns.h - DNS wire format (RFC 1035, RFC 3596): the sandbox-facing side
 * parses queries and builds synthetic answers; the host side builds queries
 * and parses upstream responses, following CNAME chains.
 *
 * Every function reads untrusted bytes through a bounds-checked reader,
 * never allocates and never reads outside [msg, msg + len).
 */
#ifndef ISLO_DNS_H
#define ISLO_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_NAME 255 /* wire form, RFC 1035 2.3.4 */
#define DNS_HDR_LEN  12

#define DNS_T_A     1
#define DNS_T_CNAME 5
#define DNS_T_AAAA  28
#define DNS_C_IN    1

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5

/* dns_parse_query() results */
#define DNS_OK       0
#define DNS_FORMERR  (-1)
#define DNS_NOTIMP   (-2)
#define DNS_BAD_NAME (-3)
#define DNS_SHORT    (-4)

/* Max CNAME records followed by dns_parse_response() */
#define DNS_MAX_CNAME_HOPS 8

struct dns_question {
	uint16_t id;
	int rd;                      /* recursion desired bit */
	char name[DNS_MAX_NAME + 1]; /* presentation form, lowercased, no
				      * trailing dot; "" for the root */
	uint16_t qtype, qclass;
	size_t qend;                 /* offset just past the question in the
				      * query; 0 if the question was not read */
};

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *q);
size_t dns_build_response(const struct dns_question *q, const uint8_t *msg,
			  size_t len, int rcode, int family,
			  const uint8_t *addr, uint32_t ttl, uint8_t *out,
			  size_t outlen);
size_t dns_build_query(uint16_t id, const char *name, uint16_t qtype,
		       uint8_t *out, size_t outlen);
int dns_parse_response(const uint8_t *msg, size_t len, uint16_t id,
		       const char *name, uint16_t qtype, uint8_t (*addrs)[16],
		       int max, uint32_t *ttl, int *rcode);

#endif
