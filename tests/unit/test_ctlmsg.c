// SPDX-License-Identifier: MIT
/*
 * test_ctlmsg.c - the control protocol's reader and writer (ctlmsg.c),
 * and the reference-counted policy sets reload depends on (policyset.c)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlmsg.h"
#include "policyset.h"
#include "profile.h"
#include "unit.h"

static struct ctlmsg m;

static int parse(const char *s)
{
	char err[256];

	return ctlmsg_parse(s, strlen(s), &m, err, sizeof(err));
}

TEST(ctlmsg_request_fields)
{
	REQUIRE(parse(" {\"cmd\":\"add\", \"id\":\"sb-1\",\"tap_fd\":true,"
		      "\"max_connections\":64,\"mtu\":-1,\"x\":null,\"y\":false} ") == 0);
	CHECK(m.n == 7);
	CHECK_STR(ctlmsg_str(&m, "cmd"), "add");
	CHECK_STR(ctlmsg_str(&m, "id"), "sb-1");
	CHECK(ctlmsg_int(&m, "tap_fd", 0) == 1);
	CHECK(ctlmsg_int(&m, "max_connections", 0) == 64);
	CHECK(ctlmsg_int(&m, "mtu", 0) == -1);
	CHECK(ctlmsg_int(&m, "y", 5) == 0);
	CHECK(ctlmsg_int(&m, "missing", 5) == 5);
	CHECK(ctlmsg_str(&m, "tap_fd") == NULL);   /* not a string */
	CHECK(ctlmsg_has(&m, "x") && !ctlmsg_has(&m, "z"));
	REQUIRE(parse("{}") == 0);
	CHECK(m.n == 0);
}

TEST(ctlmsg_string_escapes)
{
	REQUIRE(parse("{\"s\":\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\"}") == 0);
	CHECK_STR(ctlmsg_str(&m, "s"), "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(ctlmsg_refuses_what_is_not_the_subset)
{
	static const char *const bad[] = {
		"", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}",
		"{\"a\":1}{}", "{\"a\":{\"b\":1}}", "{\"a\":[1]}", "{\"a\":1.5}",
		"{\"a\":1e3}", "{\"a\":-}", "{\"a\":tru}", "{\"a\":\"x}",
		"{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
		"{\"a\":\"\\x\"}", "{\"a\":\"tab\there\"}", "{\"a\":1,\"a\":2}",
		"{\"a\":12345678901234567890}", "{a:1}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i]) == 0)
			fprintf(stderr, "parsed: %s\n", bad[i]);
		CHECK(parse(bad[i]) < 0);
	}
}

TEST(ctlmsg_limits)
{
	char big[CTLMSG_MAX_LINE + 64], err[128];
	size_t i, n = 0;

	n += (size_t)snprintf(big, sizeof(big), "{");
	for (i = 0; i < CTLMSG_MAX_FIELDS + 1; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%zu\":1",
				      i ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "}");
	CHECK(ctlmsg_parse(big, strlen(big), &m, err, sizeof(err)) < 0);
	CHECK(strstr(err, "too many fields") != NULL);
	memset(big, 'a', sizeof(big));
	CHECK(ctlmsg_parse(big, CTLMSG_MAX_LINE + 1, &m, err, sizeof(err)) < 0);
}

TEST(ctlmsg_writer_round_trips)
{
	struct ctlbuf b = { 0 };
	const char *s = "quote\" back\\slash \x01\x1f\x7f nl\n \xc3\xa9";
	char *back;

	cb_lit(&b, "{\"ok\":true,\"metrics\":");
	cb_jstr(&b, s);
	cb_lit(&b, "}");
	REQUIRE(!b.oom);
	back = ctlmsg_answer_str(b.p, b.len, "metrics");
	REQUIRE(back != NULL);
	CHECK_STR(back, s);
	free(back);
	/* answers are not held to the request line limit */
	cb_free(&b);
	cb_lit(&b, "{\"ok\":true,\"metrics\":\"");
	{
		size_t i;

		for (i = 0; i < 3 * CTLMSG_MAX_LINE; i++)
			cb_lit(&b, "x");
	}
	cb_lit(&b, "\"}");
	back = ctlmsg_answer_str(b.p, b.len, "metrics");
	REQUIRE(back != NULL);
	CHECK(strlen(back) == 3 * CTLMSG_MAX_LINE);
	free(back);
	cb_free(&b);
}

TEST(policyset_reference_counting)
{
	char dir[] = "/tmp/islo-ps-XXXXXX", path[64], err[512];
	struct policyset *a, *b;
	FILE *f;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/p.yaml", dir);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fputs("name: p\nrules:\n  - name: r1\n    host_pattern: a.example\n"
	      "    ports: [443]\n    rate_limit_rpm: 5\n", f);
	fclose(f);
	a = policyset_load(path, NULL, err, sizeof(err));
	REQUIRE(a != NULL);
	CHECK_STR(a->name, "p");
	CHECK(a->nrates == 1 && a->refs == 1 && a->generation == 1);
	CHECK_STR(a->path, path);
	b = policyset_ref(a);             /* a flow admitted under it */
	CHECK(b == a && a->refs == 2);
	policyset_unref(a);               /* the sandbox moves on */
	CHECK(b->refs == 1 && b->prof->nrules == 1);   /* still usable */
	policyset_unref(b);
	/* a profile that fails to load leaves nothing behind */
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fputs("name: p\nrules: [\n", f);
	fclose(f);
	CHECK(policyset_load(path, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "p.yaml") != NULL);
	unlink(path);
	rmdir(dir);
}
