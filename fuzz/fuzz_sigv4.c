// SPDX-License-Identifier: MIT
/*
 * fuzz_sigv4.c - libFuzzer target: the SigV4 canonicaliser and signer
 * (src/sigv4.c) on what a sandbox controls: the method, the path and
 * query, the headers and the body.
 *
 * Input: byte 0 picks the service (odd: s3); then the request-target up
 * to the first '\n'; then "name:value" header lines up to an empty line;
 * the rest is the body.  Besides "no crash", it checks what the gateway
 * relies on:
 *
 * - the canonical request is made or refused, never cut: when it can be
 *   made, signing succeeds, twice the same;
 * - its URI line holds only unreserved bytes, '/' and %XX escapes with
 *   upper-case hex, and its query line those, '=' and '&': nothing the
 *   sandbox sent goes into the string to sign unencoded;
 * - sigv4_derive() on the target taken as a host name gives names that
 *   sigv4_name_ok() accepts, or nothing.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

static char canon[1 << 20];

static int hexup(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Only unreserved bytes, %XX, and the bytes in @extra. */
static void check_encoded(const char *s, size_t n, const char *extra)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) ||
		    (c && strchr(extra, c)))
			continue;
		CHECK(c == '%' && i + 2 < n && hexup(s[i + 1]) && hexup(s[i + 2]));
		i += 2;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_hdr h[SIGV4_MAX_HEADERS + 2];
	char a1[SIGV4_AUTH_MAX], a2[SIGV4_AUTH_MAX], hex[SIGV4_HEX];
	char host[256], region[SIGV4_NAME_MAX], service[SIGV4_NAME_MAX];
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	const char *nl, *q, *line2, *line3;
	struct sigv4_req rq;
	size_t n, nh = 0;
	int r1, r2;

	if (size < 1)
		return 0;
	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	rq.amz_date = "20150830T123600Z";
	rq.region = "us-east-1";
	rq.service = data[0] & 1 ? "s3" : "service";
	nl = memchr(p, '\n', (size_t)(end - p));
	rq.path = p;
	rq.path_len = nl ? (size_t)(nl - p) : (size_t)(end - p);
	q = memchr(p, '?', rq.path_len);
	if (q) {
		rq.query = q + 1;
		rq.query_len = rq.path_len - (size_t)(q + 1 - p);
		rq.path_len = (size_t)(q - p);
	}
	if (rq.path_len < sizeof(host)) {
		memcpy(host, p, rq.path_len);
		host[rq.path_len] = '\0';
		if (!sigv4_derive(host, region, service))
			CHECK(sigv4_name_ok(region) && sigv4_name_ok(service));
	}
	p = nl ? nl + 1 : end;
	while (p < end && *p != '\n' && nh < SIGV4_MAX_HEADERS + 2) {
		const char *c;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		c = memchr(p, ':', n);
		h[nh].name = p;
		h[nh].name_len = c ? (size_t)(c - p) : n;
		h[nh].value = c ? c + 1 : p + n;
		h[nh++].value_len = c ? n - (size_t)(c + 1 - p) : 0;
		p = nl ? nl + 1 : end;
	}
	if (p < end)
		p++;
	sigv4_sha256_hex(p, (size_t)(end - p), hex);
	rq.hdr = h;
	rq.nhdr = nh;
	rq.payload_hash = hex;

	n = sigv4_canonical_request(&rq, canon, sizeof(canon));
	r1 = sigv4_authorization(&rq, (const uint8_t *)"AKIDEXAMPLE", 11,
				 (const uint8_t *)"key", 3, a1, sizeof(a1));
	r2 = sigv4_authorization(&rq, (const uint8_t *)"AKIDEXAMPLE", 11,
				 (const uint8_t *)"key", 3, a2, sizeof(a2));
	CHECK(r1 == r2 && (r1 || !strcmp(a1, a2)));
	if (!n)
		return 0;
	/* NUL-terminated; METHOD \n URI \n QUERY \n ... (header values
	 * may hold any byte here, the path and the query none raw) */
	CHECK(canon[n] == '\0');
	nl = memchr(canon, '\n', n);
	CHECK(nl);
	line2 = nl + 1;
	nl = memchr(line2, '\n', n - (size_t)(line2 - canon));
	CHECK(nl);
	check_encoded(line2, (size_t)(nl - line2), "/");
	line3 = nl + 1;
	nl = memchr(line3, '\n', n - (size_t)(line3 - canon));
	CHECK(nl);
	check_encoded(line3, (size_t)(nl - line3), "=&");
	/* a canonical request that can be made is signed */
	CHECK(r1 == 0);
	return 0;
}
