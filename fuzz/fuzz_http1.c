// SPDX-License-Identifier: MIT
/*
 * fuzz_http1.c - libFuzzer target: the HTTP/1.1 engine of intercepted flows
 *
 * The input is taken as a request head, a response head and a chunked
 * body at once. Besides "no crash", it checks what the gateway relies on:
 *
 * - a verdict does not depend on where the bytes were cut: a prefix of an
 *   input gives NEED_MORE or the same verdict (same head length), and a
 *   BAD prefix means a BAD whole;
 * - a rewritten request (fixed drop/substitute/add set) parses DONE again
 *   with the same method, path, host and framing, no dropped header, the
 *   added header once, and no placeholder left in the headers;
 * - the chunked decoder gives the same answer fed whole or in pieces cut
 *   where the input says.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

static const char *const drop[] = { "authorization", "proxy-authorization",
				    "x-drop" };
static const struct http_subst subst[] = {
	{ "{PH1}", "secret-one" },
	{ "{PH2}", "s2" },
};
static const struct http_field add[] = {
	{ "Authorization", "Bearer real" },
};

static struct http_req req, req2, part;
static struct http_resp resp, rpart;
static uint8_t out[5 * 20000 + 4096];

static int is_dropped(const uint8_t *buf, const struct http_hdr *h)
{
	size_t k, n = h->name_len;

	for (k = 0; k < sizeof(drop) / sizeof(drop[0]); k++)
		if (strlen(drop[k]) == n &&
		    !strncasecmp((const char *)buf + h->name, drop[k], n))
			return 1;
	return 0;
}

/* Prefix property: see the file comment */
static void prefix_req(const uint8_t *d, size_t n, size_t max, int full)
{
	int r = http_req_parse(d, n, max, &part);

	if (r == HTTP_BAD)
		CHECK(full == HTTP_BAD);
	if (r == HTTP_DONE)
		CHECK(full == HTTP_DONE && part.head_len == req.head_len);
	if (full == HTTP_DONE && n >= req.head_len)
		CHECK(r == HTTP_DONE);
}

static void prefix_resp(const uint8_t *d, size_t n, size_t max,
			const struct http_req *q, int full)
{
	int r = http_resp_parse(d, n, max, q, &rpart);

	if (r == HTTP_BAD)
		CHECK(full == HTTP_BAD);
	if (r == HTTP_DONE)
		CHECK(full == HTTP_DONE && rpart.head_len == resp.head_len);
	if (full == HTTP_DONE && n >= resp.head_len)
		CHECK(r == HTTP_DONE);
}

static void check_req(const uint8_t *d, size_t size, size_t max)
{
	struct http_rewrite rw = { drop, 3, subst, 2, add, 1, 0 };
	unsigned i, expect = 0, ncl = 0, nauth = 0;
	int rr;
	char log[256];
	size_t n, lines_end;

	CHECK(req.head_len <= size && req.head_len <= max);
	CHECK(req.method[0] && req.path[0] == '/');
	CHECK(req.version == 10 || req.version == 11);
	CHECK(req.version == 11 || !req.chunked);
	CHECK(!(req.chunked && req.content_length >= 0));
	for (i = 0; req.host[i]; i++)
		CHECK(!(req.host[i] >= 'A' && req.host[i] <= 'Z'));
	for (i = 0; i < req.nhdr; i++) {
		const struct http_hdr *h = &req.hdr[i];

		CHECK(h->name_len && h->name + h->name_len <= req.head_len);
		CHECK(h->value + h->value_len <= req.head_len);
		if (is_dropped(d, h))
			continue;
		if (h->name_len == 14 &&
		    !strncasecmp((const char *)d + h->name, "content-length", 14)
		    && ncl++)
			continue;
		expect++;
	}
	expect++; /* the added header */

	/* Paths: a path always matches itself, exactly and as a prefix */
	CHECK(http_path_match(req.path, req.path));
	http_path_normal(req.path);
	http_path_for_log((const char *)d + req.target, req.target_len, log,
			  sizeof(log));
	CHECK(strlen(log) < sizeof(log));

	n = http_req_write(&req, d, &rw, out, sizeof(out));
	CHECK(n > 0);
	if (!http_find_token(&req, d, "{PH1}") &&
	    !http_find_token(&req, d, "{PH2}"))
		CHECK(rw.nreplaced == 0);

	/* Reparse the rewritten head */
	rr = http_req_parse(out, n, HTTP_HEAD_LIMIT, &req2);
	if (expect > HTTP_MAX_HEADERS) {
		CHECK(rr == HTTP_BAD);
		return;
	}
	CHECK(rr == HTTP_DONE && req2.head_len == n);
	CHECK(!strcmp(req.method, req2.method));
	CHECK(!strcmp(req.path, req2.path));
	CHECK(!strcmp(req.host, req2.host) && req.host_port == req2.host_port);
	CHECK(req.version == req2.version);
	CHECK(req.content_length == req2.content_length);
	CHECK(req.chunked == req2.chunked);
	CHECK(req.keep_alive == req2.keep_alive);
	CHECK(req.upgrade == req2.upgrade);
	CHECK(req2.nhdr == expect);
	for (i = 0; i < req2.nhdr; i++) {
		const struct http_hdr *h = &req2.hdr[i];

		if (h->name_len == 13 &&
		    !strncasecmp((const char *)out + h->name, "authorization",
				 13)) {
			nauth++;
			CHECK(h->value_len == 11 &&
			      !memcmp(out + h->value, "Bearer real", 11));
			continue;
		}
		CHECK(!is_dropped(out, h));
	}
	CHECK(nauth == 1);
	/* No placeholder left after the request line */
	lines_end = (size_t)((uint8_t *)memchr(out, '\n', n) - out);
	CHECK(!memmem(out + lines_end, n - lines_end, "{PH1}", 5));
	CHECK(!memmem(out + lines_end, n - lines_end, "{PH2}", 5));
}

/* Feed @d as a chunked body in pieces cut by the bytes of @cuts */
static size_t chunked(const uint8_t *d, size_t size, const uint8_t *cuts,
		      size_t ncuts, int *done, const char **err)
{
	struct http_body b;
	size_t off = 0, k = 0, piece, used;

	http_body_init(&b, -1, 1, 0);
	*done = 0;
	while (off < size) {
		piece = ncuts ? (size_t)(cuts[k++ % ncuts] % 17) + 1
			      : size - off;
		if (piece > size - off)
			piece = size - off;
		used = http_body_feed(&b, d + off, piece, done);
		CHECK(used <= piece);
		off += used;
		if (used < piece) {
			CHECK(*done || b.error);
			break;
		}
		if (*done || b.error)
			break;
	}
	CHECK(!(*done && b.error));
	*err = b.error;
	return off;
}

/* The same body through http_body_next(): the same bytes taken, the same
 * end and error; runs all payload or all framing, and the payload of a
 * length body all of it */
static size_t chunked_runs(const uint8_t *d, size_t size, int *done,
			   const char **err)
{
	struct http_body b;
	size_t off = 0, used;
	int payload, guard = 0;

	http_body_init(&b, -1, 1, 0);
	*done = 0;
	while (off < size && guard++ < 100000) {
		used = http_body_next(&b, d + off, size - off, done, &payload);
		CHECK(used <= size - off);
		off += used;
		if (*done || b.error || !used)
			break;
	}
	*err = b.error;
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max = 16384, used1, used2;
	const char *e1, *e2;
	int r, s, d1, d2;

	if (size && data[0] < 16)
		max = (size_t)data[0] * 64;

	/* Request head */
	r = http_req_parse(data, size, max, &req);
	CHECK((r == HTTP_BAD) == (req.error != NULL));
	prefix_req(data, size / 2, max, r);
	if (size)
		prefix_req(data, size - 1, max, r);
	if (r == HTTP_DONE)
		check_req(data, size, max);

	/* Response head, answering that request when there is one */
	s = http_resp_parse(data, size, max, r == HTTP_DONE ? &req : NULL,
			    &resp);
	CHECK((s == HTTP_BAD) == (resp.error != NULL));
	prefix_resp(data, size / 2, max, r == HTTP_DONE ? &req : NULL, s);
	if (s == HTTP_DONE) {
		CHECK(resp.head_len <= size && resp.status >= 100 &&
		      resp.status <= 599);
		CHECK(!(resp.chunked && resp.until_close));
		CHECK(!resp.no_body || (resp.content_length == -1 &&
					!resp.chunked && !resp.until_close));
	}

	/* Chunked body: whole, then cut where the input says */
	used1 = chunked(data, size, NULL, 0, &d1, &e1);
	used2 = chunked(data, size, data, size < 64 ? size : 64, &d2, &e2);
	CHECK(used1 == used2 && d1 == d2 && e1 == e2);
	used2 = chunked_runs(data, size, &d2, &e2);
	CHECK(used1 == used2 && d1 == d2 && e1 == e2);
	return 0;
}
