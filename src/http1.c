// SPDX-License-Identifier: MIT
/*
 * http1.c - the HTTP/1.1 engine of intercepted flows
 *
 * DOC: Theory of Operation
 *
 * On an intercepted flow the gateway is the sandbox's HTTP/1.1 server and
 * the upstream's HTTP/1.1 client. Both peers are untrusted: the sandbox
 * may try to smuggle a second request past the rules, the upstream may
 * send anything. This module only parses and writes bytes; the caller owns
 * sockets, buffers and policy.
 *
 * Heads (request and response) are parsed from the start of the caller's
 * buffer on each call, as peek.c does: no state between calls, no
 * allocation, header fields kept as offsets into the buffer, everything
 * bounded (max_head, HTTP_MAX_HEADERS, HTTP_PATH_MAX). Only complete lines
 * are judged, so a verdict of HTTP_BAD on some prefix stays HTTP_BAD on
 * every longer input, and HTTP_DONE does not depend on how the bytes were
 * split. The cost of a call is linear in the bytes up to the end of the
 * head; callers call again only when more bytes have arrived.
 *
 * Framing is where proxies get smuggled past (RFC 9112 6.3, 11.2), so
 * anything two implementations could read differently is refused rather
 * than interpreted: Content-Length with Transfer-Encoding, differing
 * Content-Lengths, any transfer coding but a lone "chunked" on requests,
 * obs-fold, bare CR, whitespace before a colon, a second Host. Lines may
 * end in a bare LF; the rewritten request always uses CR LF.
 *
 * Bodies are framed by http1body.c.
 */

#include <string.h>
#include <strings.h>

#include "chars.h"
#include "cursor.h"
#include "http1.h"

/* ----------------------------------------------------------------------
 * Character classes (chars.h) and lists
 */

/**
 * ci_eq() - Compare bytes with a string, ASCII case-insensitively
 * @b: Bytes
 * @n: Their count
 * @s: String, NUL-terminated
 * Return: 1 if equal, 0 if not
 */
static int ci_eq(const uint8_t *b, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!s[i] || ch_lower(b[i]) != ch_lower((uint8_t)s[i]))
			return 0;
	return s[n] == '\0';
}

/**
 * list_next() - Next element of a comma-separated list (RFC 9110 5.6.1)
 * @v:   List bytes
 * @n:   Their count
 * @pos: In/out: scan position
 * @e:   Output: element offset in @v
 * @el:  Output: element length, OWS trimmed (never 0)
 * Return: 1 if an element was found, 0 at the end of the list
 */
static int list_next(const uint8_t *v, size_t n, size_t *pos, size_t *e,
		     size_t *el)
{
	size_t i = *pos, s, t;

	for (;;) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		if (i >= n) {
			*pos = i;
			return 0;
		}
		s = i;
		while (i < n && v[i] != ',')
			i++;
		t = i;
		while (t > s && (v[t - 1] == ' ' || v[t - 1] == '\t'))
			t--;
		*pos = i;
		*e = s;
		*el = t - s;
		return 1;
	}
}

/* ----------------------------------------------------------------------
 * Heads: lines and header fields
 */

/**
 * header_line() - Check one header field line and record it
 * @buf: Buffer
 * @off: Offset of the line
 * @n:   Line length, without its end
 * @h:   Output: the field
 * Return: NULL, or a static reason it is invalid
 */
static const char *header_line(const uint8_t *buf, size_t off, size_t n,
			       struct http_hdr *h)
{
	const uint8_t *b = buf + off;
	size_t i = 0, v, e;

	if (b[0] == ' ' || b[0] == '\t')
		return "obs-fold";
	while (i < n && ch_tchar(b[i]))
		i++;
	if (i == n)
		return "header without colon";
	if (b[i] == ' ' || b[i] == '\t')
		return "whitespace before colon";
	if (b[i] != ':')
		return b[i] ? "bad header name" : "NUL in head";
	if (i == 0)
		return "empty header name";
	for (e = i + 1; e < n; e++)
		if (!ch_vbyte(b[e]))
			return b[e] ? "bad header value" : "NUL in head";

	v = i + 1;
	while (v < n && (b[v] == ' ' || b[v] == '\t'))
		v++;
	e = n;
	while (e > v && (b[e - 1] == ' ' || b[e - 1] == '\t'))
		e--;
	h->name = (uint32_t)off;
	h->name_len = (uint32_t)i;
	h->value = (uint32_t)(off + v);
	h->value_len = (uint32_t)(e - v);
	return NULL;
}

/**
 * head_scan() - Split a head into its first line and header fields
 * @buf:      Bytes received
 * @len:      Their count
 * @max_head: Largest head accepted, blank line included
 * @line1:    Output: length of the first line, without its end
 * @hdr:      Output: header fields
 * @nhdr:     Output: their count
 * @head_len: Output: bytes of the head (on HTTP_DONE)
 * @err:      Output: reason (on HTTP_BAD)
 *
 * Lines end in CR LF or LF. The first line is only delimited here; the
 * caller checks it.
 *
 * Return: HTTP_DONE, HTTP_NEED_MORE or HTTP_BAD
 */
static int head_scan(const uint8_t *buf, size_t len, size_t max_head,
		     size_t *line1, struct http_hdr *hdr, unsigned *nhdr,
		     size_t *head_len, const char **err)
{
	size_t off = 0, lim, lines;

	*nhdr = 0;
	if (max_head > HTTP_HEAD_LIMIT)
		max_head = HTTP_HEAD_LIMIT;
	if (!buf)
		len = 0;
	lim = len < max_head ? len : max_head;

	for (lines = 0;; lines++) {
		const uint8_t *b = buf + off, *lf;
		size_t n;

		lf = lim > off ? memchr(b, '\n', lim - off) : NULL;
		if (!lf) {
			if (len >= max_head) {
				*err = "head too large";
				return HTTP_BAD;
			}
			return HTTP_NEED_MORE;
		}
		n = (size_t)(lf - b);
		if (n && b[n - 1] == '\r')
			n--;
		if (memchr(b, '\r', n)) {
			*err = "bare CR";
			return HTTP_BAD;
		}

		if (lines == 0) {
			if (!n) {
				*err = "empty first line";
				return HTTP_BAD;
			}
			*line1 = n;
		} else if (!n) {
			*head_len = off + (size_t)(lf - b) + 1;
			return HTTP_DONE;
		} else {
			if (*nhdr == HTTP_MAX_HEADERS) {
				*err = "too many headers";
				return HTTP_BAD;
			}
			*err = header_line(buf, off, n, &hdr[*nhdr]);
			if (*err)
				return HTTP_BAD;
			(*nhdr)++;
		}
		off += (size_t)(lf - b) + 1;
	}
}

/**
 * head_verdict() - The result of parsing a head, from its checks
 * @res:      head_scan()'s result
 * @err:      Why it is refused (head_scan()'s, or the checks' after
 *            HTTP_DONE), or NULL
 * @head_len: Its length (on HTTP_DONE)
 * @error:    Output: @err, on HTTP_BAD
 * @out_len:  Output: @head_len on HTTP_DONE, else 0 (unless HTTP_BAD)
 * Return: HTTP_DONE, HTTP_NEED_MORE or HTTP_BAD
 */
static int head_verdict(int res, const char *err, size_t head_len,
			const char **error, size_t *out_len)
{
	if (res == HTTP_DONE && err)
		res = HTTP_BAD;
	if (res == HTTP_BAD) {
		*error = err;
		return HTTP_BAD;
	}
	*out_len = res == HTTP_DONE ? head_len : 0;
	return res;
}

/**
 * http_hdr_find() - First header field of a given name
 * @h:    Fields
 * @n:    Their count
 * @buf:  Buffer they point into
 * @name: Name, compared case-insensitively
 * Return: the field, or NULL if there is none
 */
const struct http_hdr *http_hdr_find(const struct http_hdr *h, unsigned n,
				     const uint8_t *buf, const char *name)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (ci_eq(buf + h[i].name, h[i].name_len, name))
			return &h[i];
	return NULL;
}

/**
 * parse_cl() - Parse a Content-Length value
 * @v: Value bytes
 * @n: Their count
 * Return: the length, or -1 if not 1 to 18 digits
 */
static long long parse_cl(const uint8_t *v, size_t n)
{
	long long x = 0;
	size_t i;

	if (!n || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (!ch_digit(v[i]))
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x;
}

/**
 * parse_authority() - Parse "host[:port]" or "[v6][:port]"
 * @s:    Bytes
 * @n:    Their count
 * @host: Output: host, lowercased, without brackets or trailing dot
 * @port: Output: port, 0 if none
 *
 * Names are labels of 1..63 bytes of [a-z0-9_-], at most 253 bytes; IPv6
 * literals hex digits, ':' and '.' in brackets.
 *
 * Return: 0, or -1 if invalid
 */
static int parse_authority(const uint8_t *s, size_t n, char *host,
			   uint16_t *port)
{
	const uint8_t *h;
	size_t hl, i;

	host[0] = '\0';
	if (ch_authority(s, n, &h, &hl, port))
		return -1;
	if (s[0] == '[') {
		for (i = 0; i < hl; i++)
			if (ch_hexval(h[i]) < 0 && h[i] != ':' && h[i] != '.')
				break;
		if (hl > 45 || i < hl)
			goto bad;
	} else {
		if (hl && h[hl - 1] == '.')
			hl--;
		if (!hl || hl > 253)
			goto bad;
	}
	for (i = 0; i < hl; i++)
		host[i] = (char)ch_lower(h[i]);
	host[hl] = '\0';
	if (s[0] != '[' && !ch_labels_ok(host, hl))
		goto bad;
	return 0;
bad:
	host[0] = '\0';
	*port = 0;
	return -1;
}

/**
 * parse_version() - Parse "HTTP/1.0" or "HTTP/1.1"
 * @b: Bytes, at least 8
 * Return: 10, 11, or -1
 */
static int parse_version(const uint8_t *b)
{
	if (memcmp(b, "HTTP/1.", 7))
		return -1;
	return b[7] == '0' ? 10 : b[7] == '1' ? 11 : -1;
}

/**
 * struct framing - what a head's framing fields say (RFC 9112 6)
 * @cl:           Content-Length, -1 if none
 * @te:           A Transfer-Encoding field was seen
 * @ncodings:     Transfer codings listed, over all such fields
 * @nchunked:     How many of them are "chunked"
 * @last_chunked: The last one is "chunked"
 * @close:        Connection: close
 * @keep_alive:   Connection: keep-alive
 * @upgrade:      Connection: upgrade
 */
struct framing {
	long long cl;
	int te;
	unsigned ncodings, nchunked;
	int last_chunked, close, keep_alive, upgrade;
};

/**
 * framing_field() - Take in a header field if it is a framing one
 * @h:   The field
 * @buf: The buffer it points into
 * @f:   What the fields so far say (@f->cl -1 before the first)
 * @err: Output: a static reason the head is refused, else unchanged
 *
 * Content-Length, Transfer-Encoding and Connection are read the same way
 * in requests and responses; what they mean is the caller's.
 *
 * Return: 1 if @h was one of them, 0 if not
 */
static int framing_field(const struct http_hdr *h, const uint8_t *buf,
			 struct framing *f, const char **err)
{
	const uint8_t *n = buf + h->name, *v = buf + h->value;
	size_t nl = h->name_len, vl = h->value_len, pos = 0, e, el;
	long long x;

	if (ci_eq(n, nl, "content-length")) {
		x = parse_cl(v, vl);
		if (x < 0)
			*err = "bad Content-Length";
		else if (f->cl >= 0 && f->cl != x)
			*err = "conflicting Content-Length";
		else
			f->cl = x;
	} else if (ci_eq(n, nl, "transfer-encoding")) {
		f->te = 1;
		while (list_next(v, vl, &pos, &e, &el)) {
			f->last_chunked = ci_eq(v + e, el, "chunked");
			f->nchunked += (unsigned)f->last_chunked;
			f->ncodings++;
		}
	} else if (ci_eq(n, nl, "connection")) {
		while (list_next(v, vl, &pos, &e, &el)) {
			f->close |= ci_eq(v + e, el, "close");
			f->keep_alive |= ci_eq(v + e, el, "keep-alive");
			f->upgrade |= ci_eq(v + e, el, "upgrade");
		}
	} else {
		return 0;
	}
	return 1;
}

/* ----------------------------------------------------------------------
 * Requests
 */

/**
 * req_target() - Split the request-target into path and authority
 * @buf: Buffer
 * @r:   Request, with @target and @target_len set
 * Return: NULL, or a static reason the target is refused
 */
static const char *req_target(const uint8_t *buf, struct http_req *r)
{
	const uint8_t *t = buf + r->target, *q;
	size_t tl = r->target_len, a, skip = 0, pl;

	if (memchr(t, '#', tl))
		return "fragment in target";
	if (t[0] != '/') {
		if (tl >= 7 && !strncasecmp((const char *)t, "http://", 7))
			skip = 7;
		else if (tl >= 8 && !strncasecmp((const char *)t, "https://", 8))
			skip = 8;
		else
			return "unsupported target form";
		for (a = skip; a < tl && t[a] != '/' && t[a] != '?'; a++)
			if (t[a] == '@')
				return "userinfo in target";
		if (parse_authority(t + skip, a - skip, r->absolute_host,
				    &r->absolute_port))
			return "bad target host";
		r->absolute_https = skip == 8;
		t += a;
		tl -= a;
	}
	q = memchr(t, '?', tl);
	pl = q ? (size_t)(q - t) : tl;
	if (pl >= HTTP_PATH_MAX)
		return "path too long";
	if (!pl) {
		r->path[0] = '/';
		r->path[1] = '\0';
	} else {
		memcpy(r->path, t, pl);
		r->path[pl] = '\0';
	}
	return NULL;
}

/**
 * req_line() - Check the request line
 * @buf: Buffer
 * @n:   Line length, without its end
 * @r:   Output: method, target, path, version
 * Return: NULL, or a static reason it is refused
 */
static const char *req_line(const uint8_t *buf, size_t n, struct http_req *r)
{
	size_t i = 0, t;

	if (n == 14 && !memcmp(buf, "PRI * HTTP/2.0", 14))
		return "HTTP/2 prior knowledge";
	while (i < n && ((buf[i] >= 'A' && buf[i] <= 'Z') || buf[i] == '-' ||
			 buf[i] == '_'))
		i++;
	if (!i || i > HTTP_METHOD_MAX || i == n || buf[i] != ' ')
		return "bad method";
	memcpy(r->method, buf, i);
	r->method[i] = '\0';

	t = ++i;
	while (i < n && ch_tbyte(buf[i]))
		i++;
	if (i == t || i == n || buf[i] != ' ')
		return "bad request target";
	r->target = (uint32_t)t;
	r->target_len = (uint32_t)(i - t);
	i++;

	if (n - i != 8 || (r->version = parse_version(buf + i)) < 0)
		return "unsupported HTTP version";
	return req_target(buf, r);
}

/**
 * req_fields() - Interpret the request's header fields
 * @buf: Buffer
 * @r:   Request, head scanned
 * Return: NULL, or a static reason the request is refused
 */
static const char *req_fields(const uint8_t *buf, struct http_req *r)
{
	struct framing f = { .cl = -1 };
	int have_host = 0, have_upgrade = 0, h2c = 0;
	const char *err = NULL;
	unsigned i;

	for (i = 0; i < r->nhdr; i++) {
		const struct http_hdr *h = &r->hdr[i];
		const uint8_t *n = buf + h->name, *v = buf + h->value;
		size_t nl = h->name_len, vl = h->value_len, pos = 0, e, el;

		if (framing_field(h, buf, &f, &err)) {
			r->content_length = f.cl;
			r->chunked = f.ncodings > 0;
			if (err)
				return err;
		} else if (ci_eq(n, nl, "host")) {
			if (have_host)
				return "duplicate Host";
			have_host = 1;
			if (parse_authority(v, vl, r->host, &r->host_port))
				return "bad Host";
		} else if (ci_eq(n, nl, "upgrade")) {
			have_upgrade = 1;
			while (list_next(v, vl, &pos, &e, &el))
				h2c |= ci_eq(v + e, el, "h2c");
		} else if (ci_eq(n, nl, "expect")) {
			r->expect_continue |= ci_eq(v, vl, "100-continue");
		}
	}

	if (!have_host) {
		if (r->version == 11)
			return "missing Host";
		memcpy(r->host, r->absolute_host, sizeof(r->host));
		r->host_port = r->absolute_port;
	} else if (r->absolute_host[0]) {
		uint16_t dflt = r->absolute_https ? 443 : 80;

		if (strcmp(r->host, r->absolute_host) ||
		    (r->host_port ? r->host_port : dflt) !=
			    (r->absolute_port ? r->absolute_port : dflt))
			return "Host does not match target";
	}

	if (f.te) {
		if (r->version == 10)
			return "Transfer-Encoding in HTTP/1.0";
		if (f.cl >= 0)
			return "Content-Length with Transfer-Encoding";
		/* a lone "chunked", nothing else */
		if (f.ncodings != 1 || f.nchunked != 1)
			return "unsupported Transfer-Encoding";
	}

	r->keep_alive = r->version == 11 ? !f.close :
					   (f.keep_alive && !f.close);
	/* RFC 9110 10.1.1: 100-continue from HTTP/1.0 is ignored */
	r->expect_continue &= r->version == 11;
	r->upgrade = r->version == 11 && f.upgrade && have_upgrade;
	r->upgrade_h2c = r->upgrade && h2c;
	return NULL;
}

/**
 * http_req_parse() - Parse a request head
 * @buf:      Bytes received so far from the sandbox, starting at the head
 * @len:      Their count
 * @max_head: Largest head accepted, blank line included (clamped to
 *            HTTP_HEAD_LIMIT)
 * @r:        Output: the request; on HTTP_BAD, @r->error says why
 *
 * Accepts origin-form and absolute-form (http/https) targets only, HTTP/1.0
 * and HTTP/1.1. An HTTP/1.1 request must have exactly one Host; one that
 * disagrees with an absolute-form target is refused. For HTTP/1.0 without
 * Host, @r->host is the absolute-form target's host ("" if none).
 *
 * Return: HTTP_DONE, HTTP_NEED_MORE or HTTP_BAD
 */
int http_req_parse(const uint8_t *buf, size_t len, size_t max_head,
		   struct http_req *r)
{
	size_t line1 = 0, head_len = 0;
	const char *err = NULL;
	int res;

	r->method[0] = r->path[0] = r->absolute_host[0] = r->host[0] = '\0';
	r->target = r->target_len = 0;
	r->absolute_port = r->host_port = 0;
	r->absolute_https = 0;
	r->version = 0;
	r->head_len = 0;
	r->content_length = -1;
	r->chunked = r->keep_alive = r->expect_continue = 0;
	r->upgrade = r->upgrade_h2c = 0;
	r->error = NULL;

	res = head_scan(buf, len, max_head, &line1, r->hdr, &r->nhdr,
			&head_len, &err);
	if (res == HTTP_DONE && !(err = req_line(buf, line1, r)))
		err = req_fields(buf, r);
	return head_verdict(res, err, head_len, &r->error, &r->head_len);
}

/* ----------------------------------------------------------------------
 * Responses
 */

/**
 * resp_line() - Check the status line
 * @buf: Buffer
 * @n:   Line length, without its end
 * @s:   Output: version and status
 * Return: NULL, or a static reason it is refused
 */
static const char *resp_line(const uint8_t *buf, size_t n,
			     struct http_resp *s)
{
	size_t i;

	if (n < 12 || buf[8] != ' ' || (s->version = parse_version(buf)) < 0)
		return "bad status line";
	if (!ch_digit(buf[9]) || !ch_digit(buf[10]) || !ch_digit(buf[11]))
		return "bad status code";
	s->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 +
		    (buf[11] - '0');
	if (s->status < 100 || s->status > 599)
		return "bad status code";
	if (n > 12 && buf[12] != ' ')
		return "bad status line";
	for (i = 13; i < n; i++)
		if (!ch_vbyte(buf[i]))
			return "bad reason phrase";
	return NULL;
}

/**
 * resp_fields() - Interpret the response's header fields and framing
 * @buf: Buffer
 * @req: The request answered, NULL if unknown
 * @s:   Response, head scanned
 *
 * RFC 9112 6.3, in its order: no body for HEAD, 1xx, 204, 304; a tunnel
 * after 101; chunked if it is the final transfer coding, until close with
 * any other; else Content-Length; else until close. Content-Length with
 * Transfer-Encoding, or differing Content-Lengths, are refused.
 *
 * Return: NULL, or a static reason the response is refused
 */
static const char *resp_fields(const uint8_t *buf, const struct http_req *req,
			       struct http_resp *s)
{
	struct framing f = { .cl = -1 };
	const char *err = NULL;
	unsigned i;

	for (i = 0; i < s->nhdr; i++)
		if (framing_field(&s->hdr[i], buf, &f, &err) && err)
			return err;

	if (f.te) {
		if (s->version == 10)
			return "Transfer-Encoding in HTTP/1.0";
		if (f.cl >= 0)
			return "Content-Length with Transfer-Encoding";
		if (f.nchunked > 1 || (f.nchunked && !f.last_chunked))
			return "chunked is not the final coding";
	}

	s->keep_alive = s->version == 11 ? !f.close :
					   (f.keep_alive && !f.close);
	s->up_keep_alive = s->keep_alive;
	if (req && !req->keep_alive)
		s->keep_alive = 0;

	if (s->status == 101) {
		if (!req || !req->upgrade)
			return "unsolicited 101";
		s->tunnel = 1;
		s->no_body = 1;
		s->keep_alive = 0;
		return NULL;
	}
	if (s->status < 200) {
		s->informational = 1;
		s->no_body = 1;
		s->keep_alive = 1; /* the final response decides */
		return NULL;
	}
	if (s->status == 204 || s->status == 304 ||
	    (req && !strcmp(req->method, "HEAD"))) {
		s->no_body = 1;
		return NULL;
	}
	if (f.te) {
		if (f.last_chunked)
			s->chunked = 1;
		else
			s->until_close = 1;
	} else if (f.cl >= 0) {
		s->content_length = f.cl;
	} else {
		s->until_close = 1;
	}
	if (s->until_close)
		s->keep_alive = s->up_keep_alive = 0;
	return NULL;
}

/**
 * http_resp_parse() - Parse a response head
 * @buf:      Bytes received so far from the upstream, starting at the head
 * @len:      Their count
 * @max_head: Largest head accepted, blank line included
 * @req:      The request this answers (for HEAD and Upgrade), or NULL
 * @s:        Output: the response; on HTTP_BAD, @s->error says why
 *
 * After an informational (1xx but 101) head, the caller forwards it and
 * parses the next head for the same request. A 101 not asked for by an
 * Upgrade request is refused.
 *
 * Return: HTTP_DONE, HTTP_NEED_MORE or HTTP_BAD
 */
int http_resp_parse(const uint8_t *buf, size_t len, size_t max_head,
		    const struct http_req *req, struct http_resp *s)
{
	size_t line1 = 0, head_len = 0;
	const char *err = NULL;
	int res;

	s->version = s->status = 0;
	s->head_len = 0;
	s->informational = s->tunnel = s->no_body = 0;
	s->content_length = -1;
	s->chunked = s->until_close = s->keep_alive = s->up_keep_alive = 0;
	s->error = NULL;

	res = head_scan(buf, len, max_head, &line1, s->hdr, &s->nhdr,
			&head_len, &err);
	if (res == HTTP_DONE && !(err = resp_line(buf, line1, s)))
		err = resp_fields(buf, req, s);
	return head_verdict(res, err, head_len, &s->error, &s->head_len);
}

/**
 * http_resp_ends_with_head() - Does the exchange end with this head?
 * @s: Response parsed with HTTP_DONE
 *
 * True for a final response without a body (204, 304, a response to
 * HEAD) or with an empty one (Content-Length: 0), and for 1xx (101
 * included: what follows is not this exchange's body).  The caller then
 * ends the exchange at once: waiting for body bytes that never come
 * stalls the connection.
 *
 * Return: 1 if so, else 0
 */
int http_resp_ends_with_head(const struct http_resp *s)
{
	return s->no_body ||
	       (!s->chunked && !s->until_close && s->content_length == 0);
}

/* ----------------------------------------------------------------------
 * Request rewriting
 */

/* Output goes through a struct wcursor (cursor.h): a head that does not
 * fit is not written at all. */
static void put_str(struct wcursor *o, const char *s)
{
	wcur_bytes(o, s, strlen(s));
}

/* A string we are asked to write into a field value or name */
static int valid_value(const char *s)
{
	for (; *s; s++)
		if (!ch_vbyte((uint8_t)*s))
			return 0;
	return 1;
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!ch_tchar((uint8_t)*s))
			return 0;
	return 1;
}

/**
 * put_value() - Write a header value, substituting placeholders
 * @o:  Output
 * @v:  Value bytes
 * @vl: Their count
 * @rw: Substitutions; @rw->nreplaced counts them
 */
static void put_value(struct wcursor *o, const uint8_t *v, size_t vl,
		      struct http_rewrite *rw)
{
	size_t i = 0, run = 0, k;

	while (i < vl) {
		for (k = 0; k < rw->nsubst; k++) {
			const char *f = rw->subst[k].from;
			size_t fl = f ? strlen(f) : 0;

			if (fl && fl <= vl - i && !memcmp(v + i, f, fl)) {
				wcur_bytes(o, v + run, i - run);
				put_str(o, rw->subst[k].to);
				rw->nreplaced++;
				i += fl;
				run = i;
				break;
			}
		}
		if (k == rw->nsubst)
			i++;
	}
	wcur_bytes(o, v + run, vl - run);
}

/**
 * http_req_write() - Write a parsed request head back, rewritten
 * @r:   Request parsed with HTTP_DONE
 * @buf: The buffer it was parsed from
 * @rw:  Headers to drop, placeholders to replace, headers to add
 * @out: Output buffer
 * @cap: Its size
 *
 * The request line is written as received (its target replaced by
 * @rw->target, if set: it must be request-target bytes); each header as "Name: value"
 * with CR LF, except those named in @rw->drop and any Content-Length after
 * the first (duplicates were checked to be equal). Placeholders are
 * replaced in header values only. @out may hold secrets afterwards: the
 * caller wipes it.
 *
 * Return: bytes written, or 0 if they do not fit @cap or a replacement or
 * added header holds bytes not allowed in a header
 */
size_t http_req_write(const struct http_req *r, const uint8_t *buf,
		      struct http_rewrite *rw, uint8_t *out, size_t cap)
{
	struct wcursor o;
	int cl_done = 0;
	unsigned i;
	size_t k;

	rw->nreplaced = 0;
	for (k = 0; rw->target && k < rw->target_len; k++)
		if (!ch_tbyte((uint8_t)rw->target[k]))
			return 0;
	if (rw->target && !rw->target_len)
		return 0;
	for (k = 0; k < rw->nsubst; k++)
		if (!rw->subst[k].to || !valid_value(rw->subst[k].to))
			return 0;
	for (k = 0; k < rw->nadd; k++)
		if (!rw->add[k].name || !rw->add[k].value ||
		    !valid_name(rw->add[k].name) ||
		    !valid_value(rw->add[k].value))
			return 0;

	wcur_init(&o, out, cap);
	put_str(&o, r->method);
	wcur_bytes(&o, " ", 1);
	if (rw->target)
		wcur_bytes(&o, rw->target, rw->target_len);
	else
		wcur_bytes(&o, buf + r->target, r->target_len);
	put_str(&o, r->version == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");

	for (i = 0; i < r->nhdr; i++) {
		const struct http_hdr *h = &r->hdr[i];
		const uint8_t *n = buf + h->name;

		for (k = 0; k < rw->ndrop; k++)
			if (rw->drop[k] && ci_eq(n, h->name_len, rw->drop[k]))
				break;
		if (k < rw->ndrop)
			continue;
		if (ci_eq(n, h->name_len, "content-length")) {
			if (cl_done)
				continue;
			cl_done = 1;
		}
		wcur_bytes(&o, n, h->name_len);
		wcur_bytes(&o, ": ", 2);
		put_value(&o, buf + h->value, h->value_len, rw);
		wcur_bytes(&o, "\r\n", 2);
	}
	for (k = 0; k < rw->nadd; k++) {
		put_str(&o, rw->add[k].name);
		wcur_bytes(&o, ": ", 2);
		put_str(&o, rw->add[k].value);
		wcur_bytes(&o, "\r\n", 2);
	}
	wcur_bytes(&o, "\r\n", 2);
	return o.err ? 0 : o.off;
}

/**
 * http_find_token() - Does a string occur anywhere in the request head?
 * @r:      Request parsed with HTTP_DONE
 * @buf:    The buffer it was parsed from
 * @needle: String, e.g. a placeholder
 *
 * The whole head is searched (request line, names and values), so a
 * placeholder cannot leave for a host it is not bound to in any part of it.
 *
 * Return: 1 if found, 0 if not or if @needle is empty
 */
int http_find_token(const struct http_req *r, const uint8_t *buf,
		    const char *needle)
{
	size_t nl = needle ? strlen(needle) : 0;

	if (!nl || !buf || nl > r->head_len)
		return 0;
	return memmem(buf, r->head_len, needle, nl) != NULL;
}

/* ----------------------------------------------------------------------
 * Paths
 */

/**
 * path_char() - Next character of a path, unreserved escapes decoded
 * @p:   Position; advanced past the character
 * @end: End of the string, or NULL to stop at '\0' or '?'
 * Return: the character, or -1 at the end
 */
static int path_char(const char **p, const char *end)
{
	const char *s = *p;
	int hi, lo;

	if (end ? s >= end : (!*s || *s == '?'))
		return -1;
	if (*s == '%' && (!end || end - s >= 3) &&
	    (hi = ch_hexval((uint8_t)s[1])) >= 0 &&
	    (lo = ch_hexval((uint8_t)s[2])) >= 0 && ch_unreserved(hi << 4 | lo)) {
		*p = s + 3;
		return hi << 4 | lo;
	}
	*p = s + 1;
	return (uint8_t)*s;
}

/**
 * http_path_match() - Does a path match a rule's path pattern?
 * @pattern: Exact path, or a prefix followed by '*'
 * @path:    Request path; a query ('?' on) is ignored
 *
 * Percent-encoded unreserved characters (RFC 3986 2.3), in @path and in
 * @pattern, compare as the characters themselves ("/%72epos" is "/repos"),
 * as the upstream will read them. Other escapes compare literally:
 * http_path_normal() refuses the ones that matter.
 *
 * Return: 1 if it matches, 0 if not
 */
int http_path_match(const char *pattern, const char *path)
{
	const char *end;
	size_t pl;
	int prefix;

	if (!pattern || !path)
		return 0;
	pl = strlen(pattern);
	prefix = pl && pattern[pl - 1] == '*';
	end = pattern + pl - (prefix ? 1 : 0);
	for (;;) {
		int pc = path_char(&pattern, end), c = path_char(&path, NULL);

		if (pc < 0)
			return prefix || c < 0;
		if (c != pc)
			return 0;
	}
}

/**
 * http_path_normal() - Is a path safe to match against path rules?
 * @path: Request path; a query ('?' on) is ignored
 *
 * Refused: no leading '/'; "." or ".." segments (also with ";params", as
 * some servers strip those); empty segments ("//": merged by some
 * servers) but a trailing '/'; backslashes; escapes of '/', '.', '\' or
 * NUL; malformed escapes; bytes other than VCHAR. Any of these could make
 * the upstream see another path than the rule did.
 *
 * Return: 0 if the path is normal, -1 if not
 */
int http_path_normal(const char *path)
{
	const char *s;

	if (!path || path[0] != '/')
		return -1;
	for (s = path; *s == '/';) {
		const char *seg = ++s, *bare;
		size_t bl;

		for (; *s && *s != '/' && *s != '?'; s++) {
			uint8_t c = (uint8_t)*s;
			int hi, lo, d;

			if (!ch_tbyte(c) || c == '\\')
				return -1;
			if (c != '%')
				continue;
			hi = ch_hexval((uint8_t)s[1]);
			lo = hi < 0 ? -1 : ch_hexval((uint8_t)s[2]);
			if (lo < 0)
				return -1;
			d = hi << 4 | lo;
			if (d == '/' || d == '.' || d == '\\' || d == 0)
				return -1;
			s += 2;
		}
		bare = memchr(seg, ';', (size_t)(s - seg));
		bl = bare ? (size_t)(bare - seg) : (size_t)(s - seg);
		if ((bl == 1 && seg[0] == '.') ||
		    (bl == 2 && seg[0] == '.' && seg[1] == '.'))
			return -1;
		if (!bl && *s == '/')
			return -1;
	}
	return 0;
}

/**
 * http_path_for_log() - The target with query values removed, for logs
 * @target: Request-target as sent (origin- or absolute-form)
 * @len:    Its length
 * @out:    Output, NUL-terminated, truncated to fit
 * @outlen: Its size
 *
 * "/a?x=1&y=2" gives "/a?x=&y="; an absolute-form target gives its path.
 * Query values may hold tokens: they never reach the audit log.
 */
void http_path_for_log(const char *target, size_t len, char *out,
		       size_t outlen)
{
	size_t i = 0, o = 0, a;
	int query = 0, value = 0;

	if (!out || !outlen)
		return;
	out[0] = '\0';
	if (!target)
		return;

	if (len && target[0] != '/') {
		if (len >= 7 && !strncasecmp(target, "http://", 7))
			i = 7;
		else if (len >= 8 && !strncasecmp(target, "https://", 8))
			i = 8;
		for (a = i; a < len && target[a] != '/' && target[a] != '?';
		     a++)
			;
		i = a;
		if (o + 1 < outlen && (i == len || target[i] == '?'))
			out[o++] = '/';
	}

	for (; i < len && target[i] && target[i] != '#' && o + 1 < outlen;
	     i++) {
		char c = target[i];

		if (!query) {
			query = c == '?';
		} else if (c == '&' || c == ';') {
			value = 0;
		} else if (value) {
			continue;
		} else if (c == '=') {
			value = 1;
		}
		out[o++] = c;
	}
	out[o] = '\0';
}
