// SPDX-License-Identifier: MIT
/* test_audit.c - the audit log writer (src/audit.c). */
#include "unit.h"
#include "audit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A small strict JSON checker: one object per line, strings with valid
 * escapes and valid UTF-8, no raw control bytes.  jp_get() also decodes one
 * top-level field so tests can compare what a reader would see.
 */
struct jp {
	const char *s;
	size_t n, i;
	int depth;
};

static void jp_ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
		p->i++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a string at p->i into out (UTF-8); -1 if invalid JSON. */
static int jp_string(struct jp *p, char *out, size_t size, size_t *olen)
{
	size_t o = 0;

	if (p->i >= p->n || p->s[p->i] != '"')
		return -1;
	p->i++;
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i++];
		unsigned cp;
		int k;

		if (c == '"') {
			if (olen)
				*olen = o;
			if (out && o < size)
				out[o] = '\0';
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (p->i >= p->n)
				return -1;
			c = (unsigned char)p->s[p->i++];
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':
				if (p->i + 4 > p->n)
					return -1;
				cp = 0;
				for (k = 0; k < 4; k++) {
					int h = hexval(p->s[p->i++]);

					if (h < 0)
						return -1;
					cp = cp * 16 + (unsigned)h;
				}
				/* Tests only need the BMP below U+0800. */
				if (cp >= 0x800)
					return -1;
				if (cp < 0x80) {
					c = (unsigned char)cp;
					break;
				}
				if (out && o + 2 < size) {
					out[o++] = (char)(0xc0 | (cp >> 6));
					out[o++] = (char)(0x80 | (cp & 0x3f));
				}
				continue;
			default:
				return -1;
			}
		} else if (c >= 0x80) {
			/* Raw UTF-8 must be well formed. */
			int need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;

			if (need < 0 || c > 0xf4 || p->i + (size_t)need > p->n)
				return -1;
			if (out && o < size)
				out[o++] = (char)c;
			for (k = 0; k < need; k++) {
				unsigned char cc = (unsigned char)p->s[p->i++];

				if ((cc & 0xc0) != 0x80)
					return -1;
				if (out && o < size)
					out[o++] = (char)cc;
			}
			continue;
		}
		if (out && o < size)
			out[o++] = (char)c;
	}
	return -1;
}

static int jp_value(struct jp *p);

static int jp_object(struct jp *p)
{
	if (++p->depth > 16)
		return -1;
	p->i++; /* '{' */
	jp_ws(p);
	if (p->i < p->n && p->s[p->i] == '}') {
		p->i++;
		p->depth--;
		return 0;
	}
	for (;;) {
		jp_ws(p);
		if (jp_string(p, NULL, 0, NULL))
			return -1;
		jp_ws(p);
		if (p->i >= p->n || p->s[p->i++] != ':')
			return -1;
		jp_ws(p);
		if (jp_value(p))
			return -1;
		jp_ws(p);
		if (p->i >= p->n)
			return -1;
		if (p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->s[p->i++] != '}')
			return -1;
		p->depth--;
		return 0;
	}
}

static int jp_value(struct jp *p)
{
	size_t start = p->i;

	if (p->i >= p->n)
		return -1;
	switch (p->s[p->i]) {
	case '{':
		return jp_object(p);
	case '"':
		return jp_string(p, NULL, 0, NULL);
	case 't':
		p->i += 4;
		return p->i <= p->n && !strncmp(p->s + start, "true", 4) ? 0 : -1;
	case 'f':
		p->i += 5;
		return p->i <= p->n && !strncmp(p->s + start, "false", 5) ? 0 : -1;
	case 'n':
		p->i += 4;
		return p->i <= p->n && !strncmp(p->s + start, "null", 4) ? 0 : -1;
	default:
		if (p->s[p->i] == '-')
			p->i++;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return -1;
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
		return 0;
	}
}

/* Whether @line (without its '\n') is exactly one JSON object. */
static int json_line_ok(const char *line, size_t len)
{
	struct jp p = { line, len, 0, 0 };

	if (!len || line[0] != '{' || jp_object(&p))
		return 0;
	jp_ws(&p);
	return p.i == len;
}

/*
 * Find top-level @key in a valid object line; copy the decoded string (or
 * the raw token for numbers/booleans) into @out.  Return: 0 if found.
 */
static int jp_get(const char *line, size_t len, const char *key, char *out,
		  size_t size, size_t *olen)
{
	struct jp p = { line, len, 0, 0 };
	char k[256];

	p.i = 1;
	for (;;) {
		size_t start;

		jp_ws(&p);
		if (jp_string(&p, k, sizeof(k), NULL))
			return -1;
		p.i++; /* ':' */
		start = p.i;
		if (!strcmp(k, key)) {
			if (line[p.i] == '"')
				return jp_string(&p, out, size, olen);
			if (jp_value(&p))
				return -1;
			snprintf(out, size, "%.*s", (int)(p.i - start), line + start);
			if (olen)
				*olen = p.i - start;
			return 0;
		}
		if (jp_value(&p))
			return -1;
		if (p.i >= len || line[p.i] != ',')
			return -1;
		p.i++;
	}
}

/* Read the whole file; split into lines in @lines; return count. */
static size_t read_lines(const char *path, char *buf, size_t size,
			 char **lines, size_t *lens, size_t max)
{
	FILE *f = fopen(path, "r");
	size_t n, i, start = 0, count = 0;

	if (!f)
		return 0;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (i = 0; i < n && count < max; i++) {
		if (buf[i] == '\n') {
			lines[count] = buf + start;
			lens[count++] = i - start;
			start = i + 1;
		}
	}
	return count;
}

TEST(audit_json_escaping)
{
	char dir[] = "/tmp/islo-audit-XXXXXX", path[128], err[256];
	static char buf[65536];
	char *lines[16], val[9000];
	size_t lens[16], n, vl, i;
	struct audit_ev e;
	struct audit *a;
	struct stat st;

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	a = audit_open(path, err, sizeof(err));
	REQUIRE(a);
	REQUIRE(!stat(path, &st));
	CHECK((st.st_mode & 0777) == 0600);

	audit_begin(&e, "connection");
	audit_str(&e, "profile", "dev");
	audit_str(&e, "quote", "say \"hi\" \\ back");
	audit_str(&e, "nl", "a\nb\r\tc");
	audit_strn(&e, "ctl", "x\x01y\x7f", 4);
	audit_strn(&e, "bad_utf8", "ok\xff\xc3(\xe2\x82\xac\xed\xa0\x80\xc0\xaf", 13);
	audit_strn(&e, "nul", "a\0b", 3);
	audit_str(&e, "skipped", NULL);
	audit_str(&e, "utf8", "caf\xc3\xa9");
	audit_int(&e, "port", 443);
	audit_int(&e, "neg", -9223372036854775807LL - 1);
	audit_bool(&e, "ok", 1);
	audit_bool(&e, "no", 0);
	CHECK(!e.overflow);
	audit_emit(a, &e);

	audit_begin(&e, "dns \"q\"");
	audit_emit(a, &e);
	audit_close(a);

	n = read_lines(path, buf, sizeof(buf), lines, lens, 16);
	REQUIRE(n == 2);
	for (i = 0; i < n; i++)
		CHECK(json_line_ok(lines[i], lens[i]));

	/* ts: RFC 3339 UTC with milliseconds, first. */
	CHECK(!strncmp(lines[0], "{\"ts\":\"", 7));
	REQUIRE(!jp_get(lines[0], lens[0], "ts", val, sizeof(val), &vl));
	CHECK(vl == 24 && val[4] == '-' && val[7] == '-' && val[10] == 'T' &&
	      val[13] == ':' && val[16] == ':' && val[19] == '.' && val[23] == 'Z');
	REQUIRE(!jp_get(lines[0], lens[0], "event", val, sizeof(val), NULL));
	CHECK_STR(val, "connection");
	REQUIRE(!jp_get(lines[0], lens[0], "quote", val, sizeof(val), NULL));
	CHECK_STR(val, "say \"hi\" \\ back");
	REQUIRE(!jp_get(lines[0], lens[0], "nl", val, sizeof(val), NULL));
	CHECK_STR(val, "a\nb\r\tc");
	CHECK(strstr(lines[0], "\"x\\u0001y\\u007f\"") != NULL);
	/* Invalid bytes (0xff, lone 0xc3, surrogate, overlong) become \u00XX;
	 * the valid euro sign is kept as is. */
	CHECK(strstr(lines[0], "\"ok\\u00ff\\u00c3(\xe2\x82\xac\\u00ed\\u00a0\\u0080\\u00c0\\u00af\"") != NULL);
	CHECK(strstr(lines[0], "\"a\\u0000b\"") != NULL);
	CHECK(strstr(lines[0], "skipped") == NULL);
	REQUIRE(!jp_get(lines[0], lens[0], "utf8", val, sizeof(val), NULL));
	CHECK_STR(val, "caf\xc3\xa9");
	REQUIRE(!jp_get(lines[0], lens[0], "port", val, sizeof(val), NULL));
	CHECK_STR(val, "443");
	REQUIRE(!jp_get(lines[0], lens[0], "neg", val, sizeof(val), NULL));
	CHECK_STR(val, "-9223372036854775808");
	REQUIRE(!jp_get(lines[0], lens[0], "ok", val, sizeof(val), NULL));
	CHECK_STR(val, "true");
	REQUIRE(!jp_get(lines[0], lens[0], "no", val, sizeof(val), NULL));
	CHECK_STR(val, "false");
	CHECK(jp_get(lines[0], lens[0], "truncated", val, sizeof(val), NULL) != 0);
	REQUIRE(!jp_get(lines[1], lens[1], "event", val, sizeof(val), NULL));
	CHECK_STR(val, "dns \"q\"");

	unlink(path);
	rmdir(dir);
}

TEST(audit_truncation)
{
	char dir[] = "/tmp/islo-audit-XXXXXX", path[128], err[256];
	static char buf[65536], big[20000], val[20000];
	char *lines[16];
	size_t lens[16], n, vl, i;
	struct audit_ev e;
	struct audit *a;

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	a = audit_open(path, err, sizeof(err));
	REQUIRE(a);

	/* A long value of 2-byte characters and escapes: cut cleanly. */
	for (i = 0; i + 2 < sizeof(big); i += 3) {
		big[i] = '\xc3';
		big[i + 1] = '\xa9';
		big[i + 2] = (i / 3) % 2 ? '"' : '\x01';
	}
	audit_begin(&e, "http");
	audit_str(&e, "host", "example.com");
	audit_strn(&e, "path", big, sizeof(big));
	CHECK(e.overflow);
	audit_int(&e, "status", 200);   /* dropped: the event is full */
	audit_emit(a, &e);

	/* Many small fields: the last ones are dropped whole. */
	audit_begin(&e, "many");
	for (i = 0; i < 2000; i++)
		audit_int(&e, "field", (long long)i);
	CHECK(e.overflow);
	audit_emit(a, &e);

	/* Huge key. */
	audit_begin(&e, "bigkey");
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	audit_bool(&e, big, 1);
	audit_emit(a, &e);
	audit_close(a);

	n = read_lines(path, buf, sizeof(buf), lines, lens, 16);
	REQUIRE(n == 3);
	for (i = 0; i < n; i++) {
		CHECK(json_line_ok(lines[i], lens[i]));
		CHECK(lens[i] < sizeof(e.buf));
		CHECK(!jp_get(lines[i], lens[i], "truncated", val, sizeof(val), NULL));
		CHECK_STR(val, "true");
	}
	REQUIRE(!jp_get(lines[0], lens[0], "path", val, sizeof(val), &vl));
	CHECK(vl > 4000);
	CHECK((unsigned char)val[0] == 0xc3 && (unsigned char)val[1] == 0xa9);
	CHECK(jp_get(lines[0], lens[0], "status", val, sizeof(val), NULL) != 0);
	REQUIRE(!jp_get(lines[1], lens[1], "event", val, sizeof(val), NULL));
	CHECK_STR(val, "many");
	CHECK(strstr(lines[2], "kkkk") == NULL);

	unlink(path);
	rmdir(dir);
}

TEST(audit_disabled_and_reopen)
{
	char dir[] = "/tmp/islo-audit-XXXXXX", path[128], rotated[160], err[256];
	static char buf[8192];
	char *lines[4], val[64];
	size_t lens[4];
	struct audit_ev e;
	struct audit *a;

	/* Disabled writer: never NULL, emits nothing, reopen is a no-op. */
	a = audit_open(NULL, err, sizeof(err));
	REQUIRE(a);
	audit_begin(&e, "x");
	audit_emit(a, &e);
	CHECK(audit_reopen(a) == 0);
	audit_close(a);
	audit_emit(NULL, &e);
	audit_close(NULL);

	CHECK(audit_open("/nonexistent-dir/audit.log", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent-dir/audit.log") != NULL);

	/* logrotate: rename, SIGUSR1 -> reopen, the next line goes to a new file. */
	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/audit.log.1", dir);
	a = audit_open(path, err, sizeof(err));
	REQUIRE(a);
	audit_begin(&e, "before");
	audit_emit(a, &e);
	/* An emitted event is consumed: emitting it again writes nothing. */
	audit_emit(a, &e);
	REQUIRE(!rename(path, rotated));
	CHECK(audit_reopen(a) == 0);
	audit_begin(&e, "after");
	audit_emit(a, &e);
	audit_close(a);

	REQUIRE(read_lines(rotated, buf, sizeof(buf), lines, lens, 4) == 1);
	REQUIRE(!jp_get(lines[0], lens[0], "event", val, sizeof(val), NULL));
	CHECK_STR(val, "before");
	REQUIRE(read_lines(path, buf, sizeof(buf), lines, lens, 4) == 1);
	REQUIRE(!jp_get(lines[0], lens[0], "event", val, sizeof(val), NULL));
	CHECK_STR(val, "after");

	/* Append-only: reopening keeps what is there. */
	a = audit_open(path, err, sizeof(err));
	REQUIRE(a);
	audit_begin(&e, "again");
	audit_emit(a, &e);
	audit_close(a);
	CHECK(read_lines(path, buf, sizeof(buf), lines, lens, 4) == 2);

	unlink(path);
	unlink(rotated);
	rmdir(dir);
}

/*
 * Budgets: past the burst, events of a kind are counted and left out, and
 * one "suppressed" line (at once, then at most one a second, and at close)
 * carries their count; other kinds and unbudgeted events are untouched.
 */
TEST(audit_budget_summaries)
{
	char dir[] = "/tmp/islo-audit-XXXXXX", path[128], err[256];
	static char buf[65536];
	char *lines[64], val[64];
	size_t lens[64];
	struct audit_ev e;
	struct audit *a;
	long long sum = 0;
	int i, n, written = 0, summaries = 0, plain = 0;

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	a = audit_open(path, err, sizeof(err));
	REQUIRE(a);
	audit_set_budget(a, 0, 5);       /* 5 events, no refill */
	for (i = 0; i < 20; i++) {
		int ok = audit_begin_kind(a, &e, "dns", AK_DNS);

		audit_str(&e, "host", "x.example");
		audit_emit(a, &e);
		written += ok;
	}
	CHECK(written == 5);
	CHECK(audit_suppressed(a, AK_DNS) == 15);
	CHECK(audit_suppressed(a, AK_UDP_REFUSED) == 0);
	/* another kind has its own budget; AK_NONE has none */
	CHECK(audit_begin_kind(a, &e, "connection", AK_UDP_REFUSED) == 1);
	audit_emit(a, &e);
	for (i = 0; i < 10; i++) {
		CHECK(audit_begin_kind(a, &e, "connection", AK_NONE) == 1);
		audit_emit(a, &e);
	}
	audit_tick(a);   /* within the second: nothing more yet */
	audit_close(a);  /* ...but at close, the rest of the count */

	n = read_lines(path, buf, sizeof(buf), lines, lens, 64);
	for (i = 0; i < n; i++) {
		REQUIRE(!jp_get(lines[i], lens[i], "event", val, sizeof(val), NULL));
		if (!strcmp(val, "suppressed")) {
			summaries++;
			REQUIRE(!jp_get(lines[i], lens[i], "kind", val, sizeof(val),
					NULL));
			CHECK_STR(val, "dns");
			REQUIRE(!jp_get(lines[i], lens[i], "count", val,
					sizeof(val), NULL));
			sum += atoll(val);
		} else {
			plain++;
		}
	}
	CHECK(plain == 5 + 1 + 10);
	/* the first left-out event is said at once, the rest at close */
	CHECK(summaries == 2);
	CHECK(sum == 15);
	unlink(path);
	rmdir(dir);
}
