// SPDX-License-Identifier: MIT
/*
 * fuzz_pg.c - libFuzzer target: the database gateway's parsers
 *
 * One input is read three ways:
 *
 * - as the first packet of a frontend (pgw_startup_parse()): a verdict
 *   does not depend on where the bytes were cut (a prefix gives NEED_MORE
 *   or the same verdict), and every parameter lies inside the packet,
 *   NUL-terminated there;
 * - as a stream of typed messages (pgw_header() and the body readers
 *   the gateway uses: ErrorResponse, Query, Parse, Authentication, SASL
 *   mechanism lists, CommandComplete);
 * - as SQL text for the read-only guard (pgguard_check()): besides "no
 *   crash", text the guard allows must still be allowed with a newline
 *   after it, and must be refused with "\n;SET ROLE x" after it (nothing
 *   the guard accepted may hide what follows).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgguard.h"
#include "pgwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

static void startup(const uint8_t *data, size_t size)
{
	struct pgw_startup s, t;
	size_t i, cut;
	int r = pgw_startup_parse(data, size, &s);

	if (r == PGW_DONE) {
		CHECK(s.len >= 8 && s.len <= size && s.len <= PGW_STARTUP_MAX);
		for (i = 0; i < s.nparams; i++) {
			const struct pgw_param *p = &s.params[i];

			CHECK(p->key + p->key_len < s.len && p->val + p->val_len < s.len);
			CHECK(data[p->key + p->key_len] == 0 && data[p->val + p->val_len] == 0);
			CHECK(p->key_len > 0);
		}
	}
	cut = size ? data[0] % (size + 1) : 0;
	i = (size_t)pgw_startup_parse(data, cut, &t);
	if ((int)i != PGW_NEED_MORE)
		CHECK((int)i == r || (r == PGW_DONE && (int)i == PGW_DONE && t.len == s.len));
}

static void messages(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		uint8_t type;
		uint32_t blen;
		const uint8_t *b, *d;
		struct pgw_fields f;
		const char *t, *n;
		size_t tl, dl;
		uint32_t code;

		if (pgw_header(data + off, size - off, &type, &blen) != PGW_DONE)
			return;
		if (blen > size - off - 5)
			return;
		b = data + off + 5;
		if (pgw_error_parse(b, blen, &f) == 0 && f.message)
			CHECK(f.message + f.message_len < (const char *)b + blen);
		if (pgw_query_parse(b, blen, &t, &tl) == 0)
			CHECK(tl + 1 == blen && !t[tl]);
		if (pgw_parse_parse(b, blen, &n, &t, &tl) == 0)
			CHECK(!t[tl]);
		pgw_tag_parse(b, blen, &t, &tl);
		if (pgw_auth_parse(b, blen, &code, &d, &dl) == 0)
			pgw_sasl_has_mech(d, dl, "SCRAM-SHA-256");
		off += 5 + blen;
	}
}

static void guard(const uint8_t *data, size_t size)
{
	static const char tail[] = "\n;SET ROLE x";
	char *s;

	if (pgguard_check((const char *)data, size, NULL))
		return;
	s = malloc(size + sizeof(tail));
	if (!s)
		return;
	memcpy(s, data, size);
	memcpy(s + size, tail, sizeof(tail));
	CHECK(pgguard_check(s, size + 1, NULL) == 0);
	CHECK(pgguard_check(s, size + sizeof(tail) - 1, NULL) == 1);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	startup(data, size);
	messages(data, size);
	guard(data, size);
	return 0;
}
