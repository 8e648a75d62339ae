// SPDX-License-Identifier: MIT
/*
 * ctlmsg.c - a strict reader for the control protocol's flat JSON objects,
 * and a small writer for the answers.
 *
 * The control socket is open only to its owner, but the reader is written
 * as if it were not: every read is bounds-checked, every string is copied
 * into a fixed buffer, and anything outside the subset (nesting, floats,
 * duplicate keys, control characters, \u0000) is an error, never guessed.
 */
#include "ctlmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chars.h"
#include "grow.h"

struct rd {
	const char *p;
	size_t len, off;
};

static int peek(const struct rd *r)
{
	return r->off < r->len ? (unsigned char)r->p[r->off] : -1;
}

static void ws(struct rd *r)
{
	while (r->off < r->len && (r->p[r->off] == ' ' || r->p[r->off] == '\t' ||
				   r->p[r->off] == '\r'))
		r->off++;
}

/* Append one code point as UTF-8. */
static int put_utf8(char *out, size_t cap, size_t *o, unsigned cp)
{
	char t[4];
	size_t n;

	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		t[0] = (char)(0xf0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (cap - *o < n + 1)
		return -1;
	memcpy(out + *o, t, n);
	*o += n;
	return 0;
}

static int read_u4(struct rd *r, unsigned *v)
{
	int i, h;

	*v = 0;
	for (i = 0; i < 4; i++) {
		h = ch_hexval(peek(r));
		if (h < 0)
			return -1;
		*v = *v << 4 | (unsigned)h;
		r->off++;
	}
	return 0;
}

/* A string into @out at *@o; returns its start, or NULL. */
static const char *read_str(struct rd *r, char *out, size_t cap, size_t *o)
{
	size_t start = *o;

	if (peek(r) != '"')
		return NULL;
	r->off++;
	for (;;) {
		int c = peek(r);

		if (c < 0x20)   /* also the end of input (-1) */
			return NULL;
		r->off++;
		if (c == '"')
			break;
		if (c == '\\') {
			unsigned cp;

			c = peek(r);
			r->off++;
			switch (c) {
			case '"': case '\\': case '/':
				break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				if (read_u4(r, &cp) < 0)
					return NULL;
				if (cp >= 0xd800 && cp < 0xdc00) {
					unsigned lo;

					if (peek(r) != '\\')
						return NULL;
					r->off++;
					if (peek(r) != 'u')
						return NULL;
					r->off++;
					if (read_u4(r, &lo) < 0 || lo < 0xdc00 ||
					    lo > 0xdfff)
						return NULL;
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp < 0xe000) {
					return NULL;
				}
				if (cp == 0 || put_utf8(out, cap, o, cp) < 0)
					return NULL;
				continue;
			default:
				return NULL;
			}
		}
		if (cap - *o < 2)
			return NULL;
		out[(*o)++] = (char)c;
	}
	out[(*o)++] = '\0';
	return out + start;
}

/* The parser proper: fields into @fs (at most @nmax), strings into @buf. */
static int parse(const char *line, size_t len, struct ctl_field *fs, int nmax,
		 int *nout, char *buf, size_t cap, char *err, size_t errlen)
{
	struct rd r = { line, len, 0 };
	struct ctlmsg_view {
		struct ctl_field *f;
		int n;
		char *buf;
	} mv = { fs, 0, buf }, *m = &mv;
	size_t o = 0;
	int i;

	*nout = 0;
	ws(&r);
	if (peek(&r) != '{')
		goto bad;
	r.off++;
	ws(&r);
	if (peek(&r) == '}') {
		r.off++;
		goto end;
	}
	for (;;) {
		struct ctl_field *f;
		int c;

		if (m->n == nmax) {
			snprintf(err, errlen, "too many fields");
			return -1;
		}
		f = &m->f[m->n];
		ws(&r);
		f->key = read_str(&r, m->buf, cap, &o);
		if (!f->key)
			goto bad;
		for (i = 0; i < m->n; i++) {
			if (!strcmp(m->f[i].key, f->key)) {
				snprintf(err, errlen, "duplicate key");
				return -1;
			}
		}
		ws(&r);
		if (peek(&r) != ':')
			goto bad;
		r.off++;
		ws(&r);
		c = peek(&r);
		if (c == '"') {
			f->type = CTL_STR;
			f->str = read_str(&r, m->buf, cap, &o);
			if (!f->str)
				goto bad;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			int neg = c == '-', digits = 0;
			unsigned long long v = 0;

			if (neg)
				r.off++;
			while ((c = peek(&r)) >= '0' && c <= '9') {
				if (v > 999999999999ULL)
					goto bad; /* out of range */
				v = v * 10 + (unsigned)(c - '0');
				r.off++;
				digits++;
			}
			if (!digits || c == '.' || c == 'e' || c == 'E')
				goto bad;
			f->type = CTL_INT;
			f->num = neg ? -(long long)v : (long long)v;
		} else if (r.len - r.off >= 4 && !memcmp(r.p + r.off, "true", 4)) {
			f->type = CTL_BOOL;
			f->num = 1;
			r.off += 4;
		} else if (r.len - r.off >= 5 && !memcmp(r.p + r.off, "false", 5)) {
			f->type = CTL_BOOL;
			r.off += 5;
		} else if (r.len - r.off >= 4 && !memcmp(r.p + r.off, "null", 4)) {
			f->type = CTL_NULL;
			r.off += 4;
		} else {
			goto bad;
		}
		m->n++;
		ws(&r);
		c = peek(&r);
		r.off++;
		if (c == '}')
			break;
		if (c != ',')
			goto bad;
	}
end:
	ws(&r);
	if (r.off != r.len)
		goto bad;
	*nout = m->n;
	return 0;
bad:
	snprintf(err, errlen, "malformed message at byte %zu (one flat JSON "
		 "object per line)", r.off);
	return -1;
}

int ctlmsg_parse(const char *line, size_t len, struct ctlmsg *m, char *err,
		 size_t errlen)
{
	memset(m->f, 0, sizeof(m->f));
	m->n = 0;
	if (len > CTLMSG_MAX_LINE) {
		snprintf(err, errlen, "request longer than %d bytes",
			 CTLMSG_MAX_LINE);
		return -1;
	}
	if (parse(line, len, m->f, CTLMSG_MAX_FIELDS, &m->n, m->buf,
		  sizeof(m->buf), err, errlen) < 0) {
		m->n = 0;
		return -1;
	}
	return 0;
}

char *ctlmsg_answer_str(const char *line, size_t len, const char *key)
{
	struct ctl_field fs[64];
	char *buf = malloc(len + 2), *out = NULL, err[128];
	int n = 0, i;

	if (!buf)
		return NULL;
	/* unescaped strings are never longer than their JSON form */
	if (parse(line, len, fs, 64, &n, buf, len + 2, err, sizeof(err)) == 0) {
		for (i = 0; i < n; i++) {
			if (!strcmp(fs[i].key, key) && fs[i].type == CTL_STR) {
				out = strdup(fs[i].str);
				break;   /* keys are unique */
			}
		}
	}
	free(buf);
	return out;
}

static const struct ctl_field *field(const struct ctlmsg *m, const char *key)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->f[i].key, key))
			return &m->f[i];
	return NULL;
}

const char *ctlmsg_str(const struct ctlmsg *m, const char *key)
{
	const struct ctl_field *f = field(m, key);

	return f && f->type == CTL_STR ? f->str : NULL;
}

long long ctlmsg_int(const struct ctlmsg *m, const char *key, long long def)
{
	const struct ctl_field *f = field(m, key);

	return f && (f->type == CTL_INT || f->type == CTL_BOOL) ? f->num : def;
}

int ctlmsg_has(const struct ctlmsg *m, const char *key)
{
	return field(m, key) != NULL;
}

void cb_raw(struct ctlbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len < n + 1) {
		char *p = grow(b->p, &b->cap, b->len + n + 1, 256,
			       (size_t)1 << 30);

		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void cb_printf(struct ctlbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp)) {
		char *big = malloc((size_t)n + 1);

		if (!big) {
			b->oom = 1;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		cb_raw(b, big, (size_t)n);
		free(big);
		return;
	}
	cb_raw(b, tmp, (size_t)n);
}

void cb_jstr(struct ctlbuf *b, const char *s)
{
	cb_raw(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char t[2] = { '\\', (char)c };

			cb_raw(b, t, 2);
		} else if (c < 0x20 || c == 0x7f) {
			cb_printf(b, "\\u%04x", c);
		} else {
			cb_raw(b, (const char *)&c, 1);
		}
	}
	cb_raw(b, "\"", 1);
}

void cb_free(struct ctlbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
