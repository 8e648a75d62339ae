// SPDX-License-Identifier: MIT
/*
 * fuzz_ctl.c - libFuzzer target: the control protocol's request reader
 * (ctlmsg_parse()) and the client's answer reader (ctlmsg_answer_str()).
 *
 * Whatever parses must be self-consistent: every field has a key, string
 * values are NUL-terminated inside the message buffer and hold no NUL, and
 * a duplicate key never parses.  The writer's escaping must round-trip
 * through the reader.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctlmsg m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *copy, *s;
	int i, j;

	/* an exact-size copy, so ASan sees any read past the line */
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (ctlmsg_parse(copy, size, &m, err, sizeof(err)) == 0) {
		for (i = 0; i < m.n; i++) {
			if (!m.f[i].key)
				abort();
			for (j = 0; j < i; j++)
				if (!strcmp(m.f[i].key, m.f[j].key))
					abort();
			if (m.f[i].type == CTL_STR) {
				const char *v = m.f[i].str;

				if (v < m.buf || v >= m.buf + sizeof(m.buf))
					abort();
			}
		}
	}
	s = ctlmsg_answer_str(copy, size, "metrics");
	free(s);
	free(copy);

	/* round trip: the bytes as a string value, escaped and read back */
	{
		struct ctlbuf b = { 0 };
		char *nul = memchr(data, 0, size), *back;
		size_t n = nul ? (size_t)(nul - (const char *)data) : size;
		char *str = malloc(n + 1);

		if (!str)
			abort();
		memcpy(str, data, n);
		str[n] = '\0';
		cb_lit(&b, "{\"v\":");
		cb_jstr(&b, str);
		cb_lit(&b, "}");
		if (!b.oom) {
			back = ctlmsg_answer_str(b.p, b.len, "v");
			if (!back || strcmp(back, str))
				abort();
			free(back);
		}
		cb_free(&b);
		free(str);
	}
	return 0;
}
