// SPDX-License-Identifier: MIT
/*
 * fuzz_peek.c - libFuzzer target: TLS ClientHello SNI and HTTP/1.x head
 * peeking, host name normalisation.
 *
 * Besides "no crash", it checks the property the gateway relies on: once
 * the complete input gives a verdict (DONE or NONE), no prefix of it gives
 * a different verdict (only NEED_MORE, or the same one), so a decision
 * never depends on where the TCP segments happened to be cut.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_host(const char *s)
{
	size_t n = strlen(s), i;

	if (n > 253)
		abort();
	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			abort();
}

static int tls(const uint8_t *d, size_t n, char *out)
{
	char name[256];
	unsigned alpn;
	int r = peek_tls_sni(d, n, out, 256);

	if (r == PEEK_DONE)
		check_host(out);
	/* the hello with its ALPN offer: the same verdict and name, an
	 * offer only of the bits defined, and none without the extension */
	if (peek_tls_hello(d, n, name, sizeof(name), &alpn) != r ||
	    (r == PEEK_DONE && strcmp(name, out)))
		abort();
	if ((r == PEEK_DONE || r == PEEK_NONE) &&
	    ((alpn & ~0xfu) || ((alpn & 7u) && !(alpn & PEEK_ALPN_SEEN)) ||
	     (alpn == PEEK_ALPN_SEEN)))
		abort();
	return r;
}

static int http(const uint8_t *d, size_t n, size_t max, char *host)
{
	char method[33], path[2048];
	uint16_t port;
	size_t head;
	int r;

	r = peek_http(d, n, max, host, 256, method, sizeof(method), path,
		      sizeof(path), &port, &head);
	if (r == PEEK_DONE)
		check_host(host);
	if ((r == PEEK_DONE || r == PEEK_NONE) && (head > n || head > max))
		abort();
	return r;
}

static void prefix_check(int full, int part)
{
	if ((full == PEEK_DONE || full == PEEK_NONE) &&
	    part != PEEK_NEED_MORE && part != full)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char a[256], b[256], s[300];
	size_t max = 16384, len;
	int r;

	peek_is_tls(data, size);
	peek_is_http(data, size);
	/* a verdict, once given, holds for every longer input */
	r = peek_http_start(data, size);
	if (r >= 0 && size > 1 && peek_http_start(data, size - 1) >= 0 &&
	    peek_http_start(data, size - 1) != r)
		abort();

	r = tls(data, size, a);
	prefix_check(r, tls(data, size / 2, b));
	if (size)
		prefix_check(r, tls(data, size - 1, b));

	if (size && data[0] < 16)
		max = (size_t)data[0] * 8;
	r = http(data, size, max, a);
	prefix_check(r, http(data, size / 2, max, b));
	if (size)
		prefix_check(r, http(data, size - 1, max, b));

	len = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, len);
	s[len] = '\0';
	if (host_normalise(s) == 0)
		check_host(s);
	return 0;
}
