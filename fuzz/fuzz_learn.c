// SPDX-License-Identifier: MIT
/*
 * fuzz_learn.c - libFuzzer target: the profile `islo-net learn` writes
 * from what a sandbox named (learn.c), and the profile it adds to.
 *
 * The input is records separated by NUL bytes: the first byte of each
 * picks what it is (a connection, a UDP flow, a request), the rest is the
 * host, then after a '\n' the path, then after a space the method, all
 * sandbox-controlled.  After the first "\0\0", the rest is the text of
 * a --from profile.  Besides "no crash, no leak": whatever was noted, the
 * profile written must parse (learn_write() parses it back and fails if
 * not: that is an abort here), and must hold no more rules than
 * destinations plus the --from profile's; a --from that parses and has a
 * block list of rules (or none) must be added to.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void note(struct learn *l, char *rec)
{
	char *path = strchr(rec, '\n'), *method = NULL;
	int op = rec[0];

	if (!op)
		return;
	rec++;
	if (path) {
		*path++ = '\0';
		method = strchr(path, ' ');
		if (method)
			*method++ = '\0';
	}
	switch (op % 3) {
	case 0:
		learn_conn(l, PF_TCP, rec, (uint16_t)(op * 257), op & 8, op & 16 ? op : -1);
		break;
	case 1:
		learn_conn(l, PF_UDP, rec, (uint16_t)op, 0, -1);
		break;
	default:
		learn_request(l, rec, (uint16_t)(op + 1), op & 4, method ? method : "GET",
			      path ? path : "/", op & 32 ? op : -1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2), *p, *end, *y = NULL, err[512];
	struct learn_from from = { 0 };
	struct learn *l = learn_new();
	struct profile *fp = NULL;
	int r;

	if (!buf || !l) {
		free(buf);
		learn_free(l);
		return 0;
	}
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	end = buf + size;
	for (p = buf; p < end; p += strlen(p) + 1) {
		char *rec;

		if (!*p && p + 1 <= end) {
			from.text = p + 1;
			from.len = (size_t)(end - (p + 1));
			break;
		}
		rec = strdup(p);        /* note() cuts it up */
		if (rec)
			note(l, rec);
		free(rec);
	}
	if (from.text)
		fp = profile_parse(from.text, from.len, "from", err, sizeof(err));
	r = learn_write(l, from.text ? &from : NULL, &y, err, sizeof(err));
	if (r < 0 && !strncmp(err, "the learned profile is not valid", 32))
		abort();
	if (r < 0 && !from.text && !strstr(err, "out of memory"))
		abort();
	if (r == 0) {
		struct profile *q = profile_parse(y, strlen(y), "out", err, sizeof(err));

		if (!q)
			abort();
		if (fp && q->nrules < fp->nrules)
			abort();
		profile_free(q);
	}
	profile_free(fp);
	free(y);
	free(buf);
	learn_free(l);
	return 0;
}
