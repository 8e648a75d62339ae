// SPDX-License-Identifier: MIT
/*
 * pgwire.c - PostgreSQL v3 wire protocol: parsers and writers.
 *
 * Every length in the protocol is read before the bytes it covers are
 * touched, and checked against what was received and against a cap; a C
 * string must end inside its message.  The gateway (pgproxy.c) frames the
 * byte streams with pgw_startup_parse() and pgw_header(), then looks into
 * the few bodies it needs (Query, Parse, Authentication, ErrorResponse,
 * CommandComplete) with the bounded reader; everything else it relays
 * without reading.  See the protocol chapter of the PostgreSQL manual
 * ("Frontend/Backend Protocol", message formats).
 */
#include "pgwire.h"

#include <string.h>

#include "bytes.h"
#include "cursor.h"

int pgw_startup_parse(const uint8_t *b, size_t len, struct pgw_startup *s)
{
	size_t off;

	memset(s, 0, sizeof(*s));
	if (len < 8)
		return PGW_NEED_MORE;
	s->len = rd32(b);
	s->code = rd32(b + 4);
	if (s->len < 8 || s->len > PGW_STARTUP_MAX) {
		s->error = "invalid length of startup packet";
		return PGW_BAD;
	}
	if (s->code == PGW_SSL_REQUEST || s->code == PGW_GSSENC_REQUEST) {
		if (s->len != 8) {
			s->error = "invalid length of an encryption request";
			return PGW_BAD;
		}
		return PGW_DONE;
	}
	if (s->code == PGW_CANCEL_REQUEST) {
		if (s->len != 16) {
			s->error = "invalid length of a cancel request";
			return PGW_BAD;
		}
		if (len < 16)
			return PGW_NEED_MORE;
		s->cancel_pid = rd32(b + 8);
		s->cancel_key = rd32(b + 12);
		return PGW_DONE;
	}
	if (s->code >> 16 != 3) {
		s->error = "unsupported frontend protocol: only version 3 is spoken";
		return PGW_BAD;
	}
	if (len < s->len)
		return PGW_NEED_MORE;
	/* name\0value\0 ... \0, exactly filling the packet */
	off = 8;
	for (;;) {
		const uint8_t *k, *v, *end = b + s->len;
		struct pgw_param *p;

		if (off >= s->len) {
			s->error = "startup packet does not end with an empty name";
			return PGW_BAD;
		}
		if (!b[off]) {
			if (off + 1 != s->len) {
				s->error = "bytes after the end of the startup packet";
				return PGW_BAD;
			}
			return PGW_DONE;
		}
		if (s->nparams >= PGW_STARTUP_PARAMS) {
			s->error = "too many startup parameters";
			return PGW_BAD;
		}
		k = b + off;
		v = memchr(k, 0, (size_t)(end - k));
		if (!v) {
			s->error = "unterminated startup parameter name";
			return PGW_BAD;
		}
		v++;
		if (v >= end || !memchr(v, 0, (size_t)(end - v))) {
			s->error = "unterminated startup parameter value";
			return PGW_BAD;
		}
		p = &s->params[s->nparams++];
		p->key = (uint32_t)off;
		p->key_len = (uint32_t)(v - 1 - k);
		p->val = (uint32_t)(v - b);
		p->val_len = (uint32_t)strlen((const char *)v);
		off = p->val + p->val_len + 1;
	}
}

int pgw_header(const uint8_t *b, size_t len, uint8_t *type,
	       uint32_t *body_len)
{
	uint32_t l;

	if (len < 5)
		return PGW_NEED_MORE;
	l = rd32(b + 1);
	if (l < 4 || l > PGW_MSG_MAX)
		return PGW_BAD;
	*type = b[0];
	*body_len = l - 4;
	return PGW_DONE;
}

/* A NUL-terminated string inside the body; NULL (and the error) if none. */
static const char *cstr_read(struct cursor *r, size_t *len)
{
	const uint8_t *s, *z;

	if (r->err || r->off >= r->len) {
		r->err = 1;
		return NULL;
	}
	s = r->p + r->off;
	z = memchr(s, 0, r->len - r->off);
	if (!z) {
		r->err = 1;
		return NULL;
	}
	if (len)
		*len = (size_t)(z - s);
	r->off += (size_t)(z - s) + 1;
	return (const char *)s;
}

int pgw_error_parse(const uint8_t *body, size_t len, struct pgw_fields *f)
{
	struct cursor r;

	memset(f, 0, sizeof(*f));
	cur_init(&r, body, len);
	for (;;) {
		uint8_t t = cur_u8(&r);
		const char *v;
		size_t vl;

		if (r.err)
			return -1;
		if (!t)
			return cur_end(&r) ? 0 : -1;
		v = cstr_read(&r, &vl);
		if (!v)
			return -1;
		if (t == 'S' || (t == 'V' && !f->severity))
			f->severity = v;
		else if (t == 'C')
			f->code = v;
		else if (t == 'M') {
			f->message = v;
			f->message_len = vl;
		}
	}
}

int pgw_query_parse(const uint8_t *body, size_t len, const char **text,
		    size_t *tlen)
{
	struct cursor r;

	cur_init(&r, body, len);
	*text = cstr_read(&r, tlen);
	return *text && cur_end(&r) ? 0 : -1;
}

int pgw_parse_parse(const uint8_t *body, size_t len, const char **name,
		    const char **text, size_t *tlen)
{
	struct cursor r;
	uint16_t n;

	cur_init(&r, body, len);
	*name = cstr_read(&r, NULL);
	*text = cstr_read(&r, tlen);
	n = cur_be16(&r);
	cur_skip(&r, (size_t)n * 4);
	return *name && *text && cur_end(&r) ? 0 : -1;
}

int pgw_tag_parse(const uint8_t *body, size_t len, const char **tag,
		  size_t *tlen)
{
	return pgw_query_parse(body, len, tag, tlen);
}

int pgw_auth_parse(const uint8_t *body, size_t len, uint32_t *code,
		   const uint8_t **data, size_t *dlen)
{
	if (len < 4)
		return -1;
	*code = rd32(body);
	*data = body + 4;
	*dlen = len - 4;
	return 0;
}

int pgw_sasl_has_mech(const uint8_t *data, size_t dlen, const char *mech)
{
	struct cursor r;
	int found = 0;

	cur_init(&r, data, dlen);
	for (;;) {
		size_t l;
		const char *m = cstr_read(&r, &l);

		if (!m)
			return -1;
		if (!l)
			return cur_end(&r) ? found : -1;
		if (!strcmp(m, mech))
			found = 1;
	}
}

/* ------------------------------------------------------------------ */
/* Writers                                                             */

static size_t put_cstr(uint8_t *p, const char *s, int clean)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		p[i] = clean && c < 0x20 ? ' ' : c;
	}
	p[n] = 0;
	return n + 1;
}

size_t pgw_put_error(uint8_t *buf, size_t cap, const char *severity,
		     const char *code, const char *message)
{
	size_t need = 1 + 4 + 3 * 2 + 2 * (strlen(severity) + 1) +
		      strlen(code) + 1 + strlen(message) + 1 + 1, o = 5;

	if (need > cap || strlen(code) != 5)
		return 0;
	buf[0] = 'E';
	buf[o++] = 'S';
	o += put_cstr(buf + o, severity, 1);
	buf[o++] = 'V';
	o += put_cstr(buf + o, severity, 1);
	buf[o++] = 'C';
	o += put_cstr(buf + o, code, 1);
	buf[o++] = 'M';
	o += put_cstr(buf + o, message, 1);
	buf[o++] = 0;
	wr32(buf + 1, (uint32_t)(o - 1));
	return o;
}

size_t pgw_put_startup(uint8_t *buf, size_t cap, const char *const *names,
		       const char *const *values, size_t n)
{
	size_t need = 8 + 1, i, o = 8;

	for (i = 0; i < n; i++)
		need += strlen(names[i]) + 1 + strlen(values[i]) + 1;
	if (need > cap || need > PGW_STARTUP_MAX)
		return 0;
	wr32(buf + 4, PGW_PROTO_V3);
	for (i = 0; i < n; i++) {
		o += put_cstr(buf + o, names[i], 0);
		o += put_cstr(buf + o, values[i], 0);
	}
	buf[o++] = 0;
	wr32(buf, (uint32_t)o);
	return o;
}

size_t pgw_put_ssl_request(uint8_t *buf, size_t cap)
{
	if (cap < 8)
		return 0;
	wr32(buf, 8);
	wr32(buf + 4, PGW_SSL_REQUEST);
	return 8;
}

size_t pgw_put_msg(uint8_t *buf, size_t cap, uint8_t type, const void *body,
		   size_t blen)
{
	if (blen > PGW_MSG_MAX - 4 || cap < 5 || blen > cap - 5)
		return 0;
	buf[0] = type;
	wr32(buf + 1, (uint32_t)(blen + 4));
	if (blen)
		memcpy(buf + 5, body, blen);
	return 5 + blen;
}

size_t pgw_put_sasl_initial(uint8_t *buf, size_t cap, const char *mech,
			    const void *data, size_t dlen)
{
	size_t ml = strlen(mech) + 1, need = 5 + ml + 4 + dlen;

	if (dlen > 65536 || need > cap)
		return 0;
	buf[0] = 'p';
	wr32(buf + 1, (uint32_t)(need - 1));
	memcpy(buf + 5, mech, ml);
	wr32(buf + 5 + ml, (uint32_t)dlen);
	memcpy(buf + 9 + ml, data, dlen);
	return need;
}

size_t pgw_put_password(uint8_t *buf, size_t cap, const uint8_t *pw,
			size_t len)
{
	if (len > 65536 || cap < len + 6 || memchr(pw, 0, len))
		return 0;
	buf[0] = 'p';
	wr32(buf + 1, (uint32_t)(len + 5));
	memcpy(buf + 5, pw, len);
	buf[5 + len] = 0;
	return len + 6;
}

size_t pgw_put_query(uint8_t *buf, size_t cap, const char *text)
{
	return pgw_put_msg(buf, cap, 'Q', text, strlen(text) + 1);
}

size_t pgw_put_parse(uint8_t *buf, size_t cap, const char *text)
{
	size_t tl = strlen(text) + 1, need = 5 + 1 + tl + 2;

	if (need > cap)
		return 0;
	buf[0] = 'P';
	wr32(buf + 1, (uint32_t)(need - 1));
	buf[5] = 0;
	memcpy(buf + 6, text, tl);
	buf[6 + tl] = 0;
	buf[7 + tl] = 0;
	return need;
}

size_t pgw_put_auth_ok(uint8_t *buf, size_t cap)
{
	static const uint8_t ok[4] = { 0, 0, 0, 0 };

	return pgw_put_msg(buf, cap, 'R', ok, 4);
}

size_t pgw_put_ready(uint8_t *buf, size_t cap, uint8_t status)
{
	return pgw_put_msg(buf, cap, 'Z', &status, 1);
}

size_t pgw_put_negotiate(uint8_t *buf, size_t cap, uint32_t minor,
			 const char *const *names, size_t n)
{
	size_t need = 5 + 8, i, o = 13;

	for (i = 0; i < n; i++)
		need += strlen(names[i]) + 1;
	if (need > cap)
		return 0;
	buf[0] = 'v';
	wr32(buf + 1, (uint32_t)(need - 1));
	wr32(buf + 5, minor);
	wr32(buf + 9, (uint32_t)n);
	for (i = 0; i < n; i++)
		o += put_cstr(buf + o, names[i], 0);
	return o;
}
