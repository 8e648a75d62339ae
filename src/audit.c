// SPDX-License-Identifier: MIT
/*
 * audit.c - the audit log writer: JSON lines, append-only (see audit.h).
 *
 * An event is a bounded buffer filled field by field.  Each field is either
 * written whole or not at all, except a long string value, which is cut at
 * a character boundary; either way the event is marked overflowed and gets
 * "truncated":true.  AUDIT_RESERVE bytes at the end of the buffer are kept
 * for that marker and the closing "}\n", so a finished event is always one
 * valid JSON object on one line, written with one write(2) on an O_APPEND
 * descriptor (atomic with respect to other appenders for regular files).
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct budget {
	uint64_t tokens_mil;     /* tokens, in thousandths */
	uint64_t last_ms;        /* when the bucket was last refilled */
	uint64_t pending;        /* left out since the last summary line */
	uint64_t summary_ms;     /* when the last summary line was written */
	unsigned long long total;/* left out, ever */
};

struct audit {
	int fd;          /* -1: disabled */
	char *path;
	char *sandbox;   /* added to every event as "sandbox", or NULL */
	unsigned rate, burst;
	struct budget b[AK_N];
	int any_pending;
};

static const char *const kind_names[AK_N] = {
	[AK_DNS] = "dns",
	[AK_CONN_REFUSED] = "connection_refused",
	[AK_UDP_REFUSED] = "udp_refused",
	[AK_HTTP_REFUSED] = "http_refused",
	[AK_SECURITY] = "security_event",
	[AK_TLS_FAILURE] = "tls_failure",
	[AK_HALFOPEN] = "half_open",
};

const char *audit_kind_name(enum audit_kind k)
{
	return k >= 0 && k < AK_N ? kind_names[k] : "none";
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define AUDIT_TRAILER ",\"truncated\":true}\n"
#define AUDIT_RESERVE 32 /* > sizeof(AUDIT_TRAILER) */
#define AUDIT_LIMIT(e) (sizeof((e)->buf) - AUDIT_RESERVE)

static int audit_fd_open(const char *path)
{
	int fd;

	do
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
			  0600);
	while (fd < 0 && errno == EINTR);
	return fd;
}

struct audit *audit_open(const char *path, char *err, size_t errlen)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (err && errlen)
		err[0] = '\0';
	if (!a) {
		if (err && errlen)
			snprintf(err, errlen, "audit log: out of memory");
		return NULL;
	}
	a->fd = -1;
	audit_set_budget(a, AUDIT_RATE, AUDIT_BURST);
	if (!path)
		return a;
	a->path = strdup(path);
	if (!a->path) {
		if (err && errlen)
			snprintf(err, errlen, "audit log: out of memory");
		free(a);
		return NULL;
	}
	a->fd = audit_fd_open(path);
	if (a->fd < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open audit log: %s",
				 path, strerror(errno));
		free(a->path);
		free(a);
		return NULL;
	}
	return a;
}

int audit_reopen(struct audit *a)
{
	int fd;

	if (!a || !a->path)
		return 0;
	fd = audit_fd_open(a->path);
	if (fd < 0)
		return -1;
	if (a->fd >= 0)
		close(a->fd);
	a->fd = fd;
	return 0;
}

void audit_close(struct audit *a)
{
	int k;

	if (!a)
		return;
	/* what was left out must still be said */
	for (k = 0; k < AK_N; k++)
		a->b[k].summary_ms = 0;
	audit_tick(a);
	if (a->fd >= 0)
		close(a->fd);
	free(a->path);
	free(a->sandbox);
	free(a);
}

/* Append raw bytes if they fit below the reserve; -1 if not. */
static int put(struct audit_ev *e, const char *s, size_t n)
{
	if (e->len > AUDIT_LIMIT(e) || n > AUDIT_LIMIT(e) - e->len)
		return -1;
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	return 0;
}

/**
 * utf8_seq() - Length of the valid UTF-8 sequence at @s
 * @s: Bytes
 * @n: How many are available (at least 1)
 * Return: 1-4, or 0 if @s[0] does not start a valid, shortest-form,
 *         non-surrogate sequence that fits in @n
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* > U+10FFFF */
	} else {
		return 0;
	}
	if (n < need + 1)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need + 1;
}

/**
 * put_json_string() - Append "...", escaped, cutting at a character boundary
 * @e:   Event
 * @s:   Bytes
 * @n:   Their length
 * @cut: Set to 1 if not all of @s fitted
 * Return: 0, or -1 if not even the quotes fitted (nothing appended)
 */
static int put_json_string(struct audit_ev *e, const char *s, size_t n, int *cut)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t start = e->len, i = 0, k;
	char esc[8];

	*cut = 0;
	if (put(e, "\"", 1))
		return -1;
	while (i < n) {
		const char *out = esc;
		size_t olen, used = 1, j = i;
		unsigned char c;

		/* a run of printable ASCII needing no escape goes in one copy
		 * (any byte of it is a character boundary to cut at) */
		while (j < n && u[j] >= 0x20 && u[j] < 0x7f && u[j] != '"' &&
		       u[j] != '\\')
			j++;
		if (j > i) {
			size_t run = j - i, room = AUDIT_LIMIT(e) - e->len;

			/* room for the closing quote (e->len <= the limit here) */
			room = room ? room - 1 : 0;
			if (run > room) {
				memcpy(e->buf + e->len, s + i, room);
				e->len += room;
				*cut = 1;
				break;
			}
			memcpy(e->buf + e->len, s + i, run);
			e->len += run;
			i = j;
			continue;
		}
		c = u[i];

		switch (c) {
		case '"':  out = "\\\""; olen = 2; break;
		case '\\': out = "\\\\"; olen = 2; break;
		case '\n': out = "\\n"; olen = 2; break;
		case '\r': out = "\\r"; olen = 2; break;
		case '\t': out = "\\t"; olen = 2; break;
		case '\b': out = "\\b"; olen = 2; break;
		case '\f': out = "\\f"; olen = 2; break;
		default:
			k = utf8_seq(u + i, n - i);
			if (c >= 0x20 && c != 0x7f && k) {
				out = s + i;
				olen = used = k;
			} else {
				/* Control byte, DEL, or not UTF-8: \u00XX. */
				esc[0] = '\\';
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				olen = 6;
			}
			break;
		}
		/* Keep room for the closing quote. */
		if (e->len + olen + 1 > AUDIT_LIMIT(e)) {
			*cut = 1;
			break;
		}
		memcpy(e->buf + e->len, out, olen);
		e->len += olen;
		i += used;
	}
	if (put(e, "\"", 1)) {
		e->len = start;
		return -1;
	}
	return 0;
}

/**
 * field_begin() - Append the separator and "key":
 * @e:   Event
 * @key: Field name
 * Return: the length to roll back to on failure, or (size_t)-1 if the
 *         event is already overflowed or the key did not fit
 */
static size_t field_begin(struct audit_ev *e, const char *key)
{
	size_t save = e->len;
	int cut;

	if (e->overflow || e->len < 1 || e->len > AUDIT_LIMIT(e))
		return (size_t)-1;
	if ((e->len > 1 && put(e, ",", 1)) ||
	    put_json_string(e, key ? key : "", key ? strlen(key) : 0, &cut) ||
	    cut || put(e, ":", 1)) {
		e->len = save;
		e->overflow = 1;
		return (size_t)-1;
	}
	return save;
}

void audit_strn(struct audit_ev *e, const char *key, const char *val, size_t len)
{
	size_t save;
	int cut;

	if (!e || !val)
		return;
	save = field_begin(e, key);
	if (save == (size_t)-1)
		return;
	if (put_json_string(e, val, len, &cut)) {
		e->len = save;
		e->overflow = 1;
		return;
	}
	if (cut)
		e->overflow = 1;
}

void audit_str(struct audit_ev *e, const char *key, const char *val)
{
	if (val)
		audit_strn(e, key, val, strlen(val));
}

/* A field whose value is written as it is (a number, true, false); @v NULL:
 * the value could not be had, and the event is marked overflowed. */
static void put_raw_field(struct audit_ev *e, const char *key, const char *v,
			  size_t len)
{
	size_t save;

	if (!e)
		return;
	save = field_begin(e, key);
	if (save == (size_t)-1)
		return;
	if (!v || put(e, v, len)) {
		e->len = save;
		e->overflow = 1;
	}
}

void audit_int(struct audit_ev *e, const char *key, long long v)
{
	char num[32];
	int n;

	if (!e)
		return;
	n = snprintf(num, sizeof(num), "%lld", v);
	put_raw_field(e, key, n < 0 ? NULL : num, n < 0 ? 0 : (size_t)n);
}

void audit_bool(struct audit_ev *e, const char *key, int v)
{
	put_raw_field(e, key, v ? "true" : "false", v ? 4 : 5);
}

void audit_begin(struct audit_ev *e, const char *event)
{
	/* the date and time to the second, formatted once per second */
	static time_t sec = (time_t)-1;
	static char when[64];
	static size_t n;
	struct timespec ts;
	long ms;

	if (!e)
		return;
	e->len = 0;
	e->overflow = 0;
	e->buf[e->len++] = '{';
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec) {
		struct tm tm;

		if (!gmtime_r(&ts.tv_sec, &tm))
			memset(&tm, 0, sizeof(tm));
		n = strftime(when, sizeof(when) - 8, "%Y-%m-%dT%H:%M:%S", &tm);
		sec = ts.tv_sec;
	}
	ms = ts.tv_nsec / 1000000;
	when[n] = '.';
	when[n + 1] = (char)('0' + ms / 100);
	when[n + 2] = (char)('0' + ms / 10 % 10);
	when[n + 3] = (char)('0' + ms % 10);
	when[n + 4] = 'Z';
	when[n + 5] = '\0';
	audit_str(e, "ts", when);
	audit_str(e, "event", event ? event : "unknown");
}

void audit_emit(struct audit *a, struct audit_ev *e)
{
	const char *tail = "}\n";
	size_t off = 0, tlen;
	ssize_t w;
	int tries = 0;

	if (!a || a->fd < 0 || !e)
		return;
	if (e->len < 1 || e->len > AUDIT_LIMIT(e) || e->buf[0] != '{')
		return;
	if (a->sandbox && !e->overflow)
		audit_str(e, "sandbox", a->sandbox);
	if (e->overflow)
		tail = AUDIT_TRAILER;
	if (e->len == 1 && e->overflow)
		tail = "\"truncated\":true}\n";
	tlen = strlen(tail);
	memcpy(e->buf + e->len, tail, tlen);
	e->len += tlen;
	/* One write(2); only a short write (disk full, signal) loops. */
	while (off < e->len && tries++ < 8) {
		w = write(a->fd, e->buf + off, e->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	/* The event is consumed: a second emit writes nothing. */
	e->len = 0;
}

int audit_set_sandbox(struct audit *a, const char *id)
{
	char *c = id ? strdup(id) : NULL;

	if (!a || (id && !c)) {
		free(c);
		return -1;
	}
	free(a->sandbox);
	a->sandbox = c;
	return 0;
}

void audit_set_budget(struct audit *a, unsigned rate, unsigned burst)
{
	uint64_t now = mono_ms();
	int k;

	if (!a)
		return;
	a->rate = rate;
	a->burst = burst;
	for (k = 0; k < AK_N; k++) {
		a->b[k].tokens_mil = (uint64_t)burst * 1000;
		a->b[k].last_ms = now;
	}
}

/* Spend one token of @k's bucket; 0 if there is none. */
static int budget_take(struct audit *a, enum audit_kind k, uint64_t now)
{
	struct budget *b = &a->b[k];
	uint64_t cap = (uint64_t)a->burst * 1000;

	if (now > b->last_ms) {
		/* rate tokens a second: rate thousandths a millisecond */
		b->tokens_mil += (now - b->last_ms) * a->rate;
		if (b->tokens_mil > cap)
			b->tokens_mil = cap;
		b->last_ms = now;
	}
	if (b->tokens_mil >= 1000) {
		b->tokens_mil -= 1000;
		return 1;
	}
	return 0;
}

static void summary_emit(struct audit *a, enum audit_kind k, uint64_t now)
{
	struct budget *b = &a->b[k];
	struct audit_ev e;

	audit_begin(&e, "suppressed");
	audit_str(&e, "kind", kind_names[k]);
	audit_int(&e, "count", (long long)b->pending);
	audit_emit(a, &e);
	b->pending = 0;
	b->summary_ms = now;
}

int audit_begin_kind(struct audit *a, struct audit_ev *e, const char *event,
		     enum audit_kind kind)
{
	uint64_t now;

	if (!e)
		return 0;
	if (!a || a->fd < 0 || kind < 0 || kind >= AK_N) {
		audit_begin(e, event);
		return 1;
	}
	now = mono_ms();
	if (budget_take(a, kind, now)) {
		audit_begin(e, event);
		return 1;
	}
	/* left empty: the audit_*() calls and audit_emit() ignore it */
	e->len = 0;
	e->overflow = 0;
	a->b[kind].pending++;
	a->b[kind].total++;
	a->any_pending = 1;
	if (now - a->b[kind].summary_ms >= 1000)
		summary_emit(a, kind, now);
	return 0;
}

void audit_tick(struct audit *a)
{
	uint64_t now;
	int k, left = 0;

	if (!a || !a->any_pending)
		return;
	now = mono_ms();
	for (k = 0; k < AK_N; k++) {
		if (!a->b[k].pending)
			continue;
		if (now - a->b[k].summary_ms >= 1000)
			summary_emit(a, (enum audit_kind)k, now);
		else
			left = 1;
	}
	a->any_pending = left;
}

unsigned long long audit_suppressed(const struct audit *a, enum audit_kind k)
{
	return a && k >= 0 && k < AK_N ? a->b[k].total : 0;
}
