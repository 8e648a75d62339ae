// SPDX-License-Identifier: MIT
/*
 * fuzz_dns.c - libFuzzer target: DNS query parsing and answering, upstream
 * response parsing (CNAME chains, compression pointers), query building.
 *
 * The input is used as a query and as a response. For the latter, the
 * name and type asked are taken from the input's own question when it has
 * one, so that the fuzzer reaches the answer section instead of stopping
 * at "not our question".
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n > 253)
		abort();
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t copy[4096];
	static const uint8_t v4[4] = { 198, 18, 0, 1 };
	static const uint8_t v6[16] = { 0, 0x64, 0xff, 0x9b, 0, 1, 0xff, 0xfe,
					0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t out[600], addrs[8][16];
	struct dns_question q;
	const char *name = "a.example";
	uint16_t qtype = DNS_T_A, id = 0;
	uint32_t ttl;
	int r, rcode, n;
	size_t len;

	/* As a query from the sandbox */
	r = dns_parse_query(data, size, &q);
	if (r == DNS_OK || r == DNS_BAD_NAME)
		check_name(q.name);
	if (r == DNS_OK && q.qend > size)
		abort();
	len = dns_build_response(r == DNS_SHORT ? NULL : &q, data, size,
				 DNS_RCODE_NOERROR, AF_INET, v4, 60, out,
				 sizeof(out));
	if (r == DNS_OK && q.qtype == DNS_T_A && q.qclass == DNS_C_IN && len) {
		/* Our own answer must parse back to the address */
		n = dns_parse_response(out, len, q.id, q.name, DNS_T_A, addrs,
				       8, &ttl, &rcode);
		if (n != 1 || memcmp(addrs[0], v4, 4) || ttl != 60)
			abort();
	}
	dns_build_response(&q, data, size, DNS_RCODE_REFUSED, AF_INET6, v6, 1,
			   out, size % sizeof(out));

	/* As an upstream response: ask what its question asks */
	if (size >= 12) {
		struct dns_question q2;

		id = (uint16_t)(data[0] << 8 | data[1]);
		len = size < sizeof(copy) ? size : sizeof(copy);
		memcpy(copy, data, len);
		copy[2] &= 0x07; /* QR and opcode clear */
		copy[4] = 0;
		copy[5] = 1;
		if (dns_parse_query(copy, len, &q2) == DNS_OK) {
			strcpy(q.name, q2.name);
			name = q.name;
			qtype = q2.qtype;
		}
	}
	if (qtype != DNS_T_AAAA)
		qtype = DNS_T_A;
	n = dns_parse_response(data, size, id, name, qtype, addrs,
			       (int)(size % 9), &ttl, &rcode);
	if (n > (int)(size % 9) || n < -1)
		abort();

	/* Bytes as a name for the host-side query */
	{
		char s[300];

		len = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
		memcpy(s, data, len);
		s[len] = '\0';
		dns_build_query(id, s, qtype, out, sizeof(out));
	}
	return 0;
}
