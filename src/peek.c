// SPDX-License-Identifier: MIT
/*
 * peek.c - first-bytes peeking: TLS SNI and HTTP/1.x request heads
 *
 * DOC: Theory of Operation
 *
 * A rule that matches on a host name, method or path needs to see what the
 * sandbox sends before the gateway connects upstream.
 * The caller keeps the bytes received so far in one buffer and calls the
 * peek function again each time more arrive; each call parses from the
 * start, without state, allocation or copies beyond the output strings.
 * The buffers are bounded (16 KiB of ClientHello, head_max of HTTP head),
 * so re-parsing costs little and keeps the parsers simple to fuzz.
 *
 * The answer is NEED_MORE until the whole ClientHello / request head is
 * there, so that a later malformed byte cannot change a decision already
 * taken; BAD as soon as a byte seen proves the stream is not what the
 * rule expects. A sandbox must not be able to make the gateway see one host
 * while upstream sees another: duplicate SNI extensions, two host_name
 * entries, two Host headers, an absolute-form target disagreeing with Host,
 * obsolete line folding and stray CRs are all BAD, not "pick one".
 *
 * TLS handshake messages may be split over several records (RFC 8446 5.1);
 * struct hs reads the handshake stream across record boundaries, checking
 * each record header as it reaches it.
 */

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "bytes.h"
#include "chars.h"
#include "peek.h"

/* ----------------------------------------------------------------------
 * Host names
 */

/**
 * name_norm() - Lowercase, strip one trailing dot and validate a host
 * @s:        Host, NUL-terminated, rewritten in place
 * @allow_ip: Accept an IPv4 dotted quad or an IPv6 literal (no brackets)
 *
 * Names are labels of 1..63 bytes of [a-z0-9_-], at most 253 bytes. A name
 * whose last label is numeric (or 0x-hex) but which is no dotted quad is
 * refused: "127.1" or "0x7f000001" would be an address to inet_aton() or a
 * resolver library, and no top-level domain looks like that.
 *
 * Return: 0, or -1 if @s is not a valid host
 */
static int name_norm(char *s, int allow_ip)
{
	unsigned char a[16];
	size_t n, i, last = 0;
	int numeric = 1, hex;

	for (n = 0; s[n]; n++)
		s[n] = (char)ch_lower(s[n]);
	if (!n)
		return -1;

	if (strchr(s, ':'))
		return allow_ip && inet_pton(AF_INET6, s, a) == 1 ? 0 : -1;

	if (s[n - 1] == '.')
		s[--n] = '\0';
	if (!n || n > 253)
		return -1;

	if (inet_pton(AF_INET, s, a) == 1)
		return allow_ip ? 0 : -1;

	if (!ch_labels_ok(s, n))
		return -1;

	/* The last label: s[last..n) */
	for (i = n; i > 0 && s[i - 1] != '.'; i--)
		;
	last = i;
	for (i = last; i < n; i++)
		if (!ch_digit(s[i]))
			numeric = 0;
	hex = n - last > 2 && s[last] == '0' && s[last + 1] == 'x';
	for (i = last + 2; hex && i < n; i++)
		if (ch_hexval(s[i]) < 0)
			hex = 0;
	if (numeric || hex)
		return -1;
	return 0;
}

/**
 * host_normalise() - Lowercase, strip the trailing dot, validate a host
 * @s: Host name or IP literal (IPv6 without brackets), rewritten in place
 * Return: 0 if @s is a valid DNS name or IP literal, -1 if not
 */
int host_normalise(char *s)
{
	return name_norm(s, 1);
}

/* ----------------------------------------------------------------------
 * TLS
 */

#define TLS_CT_HANDSHAKE   0x16
#define TLS_HS_CLIENTHELLO 1
#define TLS_EXT_SNI        0
#define TLS_EXT_ALPN       16
#define TLS_SNI_HOST_NAME  0
#define TLS_RECORD_MAX     16384

/**
 * struct hs - reader of the handshake stream across TLS records
 * @buf:  Bytes received
 * @len:  Their count
 * @off:  Offset in @buf of the next byte to read
 * @left: Bytes left in the current record
 * @pos:  Position in the handshake stream
 * @lim:  No reading at or past this position (end of the message)
 * @err:  Sticky: 0, HS_MORE or HS_BAD
 */
#define HS_MORE 1
#define HS_BAD  2

struct hs {
	const uint8_t *buf;
	size_t len, off, left, pos, lim;
	int err;
};

/**
 * hs_record() - Step over the next record header
 * @h: Reader, at a record boundary
 * Return: 0, or -1 with @h->err set
 */
static int hs_record(struct hs *h)
{
	const uint8_t *b = h->buf + h->off;
	size_t avail = h->len - h->off, rlen;

	/* Reject early on what has arrived of the header */
	if ((avail >= 1 && b[0] != TLS_CT_HANDSHAKE) ||
	    (avail >= 2 && b[1] != 0x03) || (avail >= 3 && b[2] > 0x04)) {
		h->err = HS_BAD;
		return -1;
	}
	if (avail < 5) {
		h->err = HS_MORE;
		return -1;
	}
	rlen = rd16(b + 3);
	if (rlen == 0 || rlen > TLS_RECORD_MAX) {
		h->err = HS_BAD;
		return -1;
	}
	h->off += 5;
	h->left = rlen;
	return 0;
}

static uint8_t hs_u8(struct hs *h)
{
	if (h->err)
		return 0;
	if (h->pos >= h->lim) {
		h->err = HS_BAD;
		return 0;
	}
	if (!h->left && hs_record(h))
		return 0;
	if (h->off >= h->len) {
		h->err = HS_MORE;
		return 0;
	}
	h->left--;
	h->pos++;
	return h->buf[h->off++];
}

static uint16_t hs_u16(struct hs *h)
{
	uint16_t v = (uint16_t)(hs_u8(h) << 8);

	return v | hs_u8(h);
}

static void hs_skip(struct hs *h, size_t n)
{
	while (n-- && !h->err)
		hs_u8(h);
}

/* Bail out of the calling parser on a sticky error */
#define HS_CHECK(h)                                                            \
	do {                                                                   \
		if ((h)->err)                                                  \
			return (h)->err == HS_MORE ? PEEK_NEED_MORE : PEEK_BAD; \
	} while (0)

#define HS_BAD_IF(h, cond)                                                     \
	do {                                                                   \
		HS_CHECK(h);                                                   \
		if (cond)                                                      \
			return PEEK_BAD;                                       \
	} while (0)

/**
 * tls_sni_ext() - Parse the server_name extension (RFC 6066 3)
 * @h:      Reader at the extension data
 * @elen:   Extension data length
 * @out:    Host name, NUL-terminated, not yet normalised
 * @outlen: Its size
 * Return: PEEK_DONE, PEEK_NEED_MORE or PEEK_BAD
 */
static int tls_sni_ext(struct hs *h, size_t elen, char *out, size_t outlen)
{
	size_t list, end;
	int got = 0;

	list = hs_u16(h);
	HS_BAD_IF(h, list == 0 || list + 2 != elen);
	end = h->pos + list;

	while (h->pos < end) {
		uint8_t type;

		HS_BAD_IF(h, end - h->pos < 3);
		type = hs_u8(h);
		size_t nlen = hs_u16(h), i;

		HS_BAD_IF(h, nlen > end - h->pos);
		if (type != TLS_SNI_HOST_NAME) {
			hs_skip(h, nlen);
			continue;
		}
		HS_BAD_IF(h, got || nlen == 0 || nlen > 255 || nlen >= outlen);
		got = 1;
		for (i = 0; i < nlen; i++) {
			uint8_t c = hs_u8(h);

			HS_BAD_IF(h, c == 0);
			out[i] = (char)c;
		}
		out[nlen] = '\0';
	}
	HS_CHECK(h);
	return got ? PEEK_DONE : PEEK_BAD;
}

/**
 * tls_alpn_ext() - Parse the application_layer_protocol_negotiation
 * extension (RFC 7301 3.1): the protocols the client offers
 * @h:    Reader at the extension data
 * @elen: Extension data length
 * @alpn: PEEK_ALPN_* bits of what is offered, PEEK_ALPN_SEEN added
 *
 * Only two names matter to the gateway (h2, http/1.1); any other is
 * PEEK_ALPN_OTHER.  An empty list or an empty name is malformed (RFC 7301
 * 3.1: the list and each name have at least one byte).
 * Return: PEEK_DONE, PEEK_NEED_MORE or PEEK_BAD
 */
static int tls_alpn_ext(struct hs *h, size_t elen, unsigned *alpn)
{
	static const char h2[] = "h2", h11[] = "http/1.1";
	size_t list, end;

	list = hs_u16(h);
	HS_BAD_IF(h, list < 2 || list + 2 != elen);
	end = h->pos + list;
	*alpn |= PEEK_ALPN_SEEN;
	while (h->pos < end) {
		size_t nlen = hs_u8(h), i;
		int is_h2, is_h11;

		HS_BAD_IF(h, nlen == 0 || nlen > end - h->pos);
		is_h2 = nlen == sizeof(h2) - 1;
		is_h11 = nlen == sizeof(h11) - 1;
		for (i = 0; i < nlen; i++) {
			char c = (char)hs_u8(h);

			is_h2 = is_h2 && c == h2[i];
			is_h11 = is_h11 && c == h11[i];
		}
		HS_CHECK(h);
		*alpn |= is_h2 ? PEEK_ALPN_H2 : is_h11 ? PEEK_ALPN_HTTP11 :
			 PEEK_ALPN_OTHER;
	}
	HS_CHECK(h);
	return PEEK_DONE;
}

/**
 * peek_tls_sni() - Find the server name in a TLS ClientHello
 * @buf:    Bytes received so far from the sandbox
 * @len:    Their length
 * @out:    Server name: lowercased, without trailing dot (on PEEK_DONE)
 * @outlen: Its size (256 is always enough)
 *
 * The ClientHello may span several handshake records (SSL 3.0 to TLS 1.3
 * record versions), up to PEEK_TLS_MAX_HANDSHAKE bytes. The whole message
 * is parsed, so a second server_name extension after the first is seen.
 *
 * Return: PEEK_DONE, PEEK_NONE (complete ClientHello without server name),
 * PEEK_NEED_MORE, or PEEK_BAD (not a ClientHello, malformed, duplicate
 * server_name extension or host_name, host name not a DNS name)
 */
int peek_tls_sni(const uint8_t *buf, size_t len, char *out, size_t outlen)
{
	unsigned alpn;

	return peek_tls_hello(buf, len, out, outlen, &alpn);
}

/**
 * peek_tls_hello() - Find the server name and the protocols offered in a
 * TLS ClientHello
 * @buf:    Bytes received so far from the sandbox
 * @len:    Their length
 * @out:    Server name, as peek_tls_sni()'s
 * @outlen: Its size
 * @alpn:   What its ALPN extension offers (PEEK_ALPN_* bits; 0 without
 *          one), set on PEEK_DONE and PEEK_NONE
 *
 * As peek_tls_sni(), and a second ALPN extension or a malformed one is
 * PEEK_BAD too.
 * Return: as peek_tls_sni()
 */
int peek_tls_hello(const uint8_t *buf, size_t len, char *out, size_t outlen,
		   unsigned *alpn)
{
	struct hs h = { buf, buf ? len : 0, 0, 0, 0, (size_t)-1, 0 };
	size_t mlen, v, end;
	int seen = 0, r;

	*alpn = 0;
	if (!out || !outlen)
		return PEEK_BAD;
	out[0] = '\0';

	r = hs_u8(&h);
	HS_BAD_IF(&h, r != TLS_HS_CLIENTHELLO);
	mlen = (size_t)hs_u8(&h) << 16;
	mlen |= hs_u16(&h);
	HS_BAD_IF(&h, mlen > PEEK_TLS_MAX_HANDSHAKE);
	h.lim = h.pos + mlen;

	v = hs_u16(&h); /* legacy_version */
	HS_BAD_IF(&h, v >> 8 != 3);
	hs_skip(&h, 32); /* random */
	v = hs_u8(&h);   /* legacy_session_id */
	HS_BAD_IF(&h, v > 32);
	hs_skip(&h, v);
	v = hs_u16(&h);  /* cipher_suites */
	HS_BAD_IF(&h, v < 2 || v & 1);
	hs_skip(&h, v);
	v = hs_u8(&h);   /* legacy_compression_methods */
	HS_BAD_IF(&h, v < 1);
	hs_skip(&h, v);
	HS_CHECK(&h);
	if (h.pos == h.lim)
		return PEEK_NONE; /* SSL 3.0 style: no extensions at all */

	v = hs_u16(&h);
	HS_BAD_IF(&h, v != h.lim - h.pos);
	end = h.lim;
	while (h.pos < end) {
		size_t type, elen;

		HS_BAD_IF(&h, end - h.pos < 4);
		type = hs_u16(&h);
		elen = hs_u16(&h);
		HS_BAD_IF(&h, elen > end - h.pos);
		if (type == TLS_EXT_ALPN) {
			HS_BAD_IF(&h, *alpn & PEEK_ALPN_SEEN);
			r = tls_alpn_ext(&h, elen, alpn);
			if (r != PEEK_DONE)
				return r;
			continue;
		}
		if (type != TLS_EXT_SNI) {
			hs_skip(&h, elen);
			continue;
		}
		HS_BAD_IF(&h, seen);
		seen = 1;
		r = tls_sni_ext(&h, elen, out, outlen);
		if (r != PEEK_DONE)
			return r;
	}
	HS_CHECK(&h);

	if (!seen) {
		out[0] = '\0';
		return PEEK_NONE;
	}
	if (name_norm(out, 0)) {
		out[0] = '\0';
		return PEEK_BAD;
	}
	return PEEK_DONE;
}

/**
 * peek_is_tls() - Can these bytes start a TLS handshake?
 * @buf: Bytes received so far
 * @len: Their length
 * Return: 1 if they start like a TLS handshake record (0x16 0x03), 0 if not
 * or if @len is 0
 */
int peek_is_tls(const uint8_t *buf, size_t len)
{
	return len >= 1 && buf[0] == TLS_CT_HANDSHAKE &&
	       (len < 2 || buf[1] == 0x03);
}

/* ----------------------------------------------------------------------
 * HTTP/1.x
 */

/**
 * peek_is_http() - Can these bytes start an HTTP/1.x request?
 * @buf: Bytes received so far
 * @len: Their length
 * Return: 1 if they are a method (1..PEEK_HTTP_METHOD_MAX of A-Z) followed
 * by a space, or could still become one; 0 if not or if @len is 0
 */
int peek_is_http(const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == ' ')
			return i > 0;
		if (buf[i] < 'A' || buf[i] > 'Z' || i == PEEK_HTTP_METHOD_MAX)
			return 0;
	}
	return len > 0;
}

/* Does the line @l[0..n) contain " HTTP/" (any case)? */
static int has_version(const uint8_t *l, size_t n)
{
	size_t i;

	for (i = 0; i + 6 <= n; i++)
		if (l[i] == ' ' && !strncasecmp((const char *)l + i + 1, "HTTP/", 5))
			return 1;
	return 0;
}

/**
 * peek_http_start() - Do these bytes begin like an HTTP request line?
 * @buf: Bytes received so far
 * @len: Their length
 *
 * The lenient reading a server may make, so that nothing an upstream HTTP
 * server would take for a request passes as "another protocol": after any
 * CR and LF bytes (RFC 9112 2.2: empty lines before a request line are
 * skipped), a token (any one, upper case or not: servers differ) of at
 * most PEEK_HTTP_TOKEN_MAX bytes, a space, and then either the start of a
 * request target ('/', '*', '[', or a scheme or host followed by ':') or,
 * further on the same line, " HTTP/".
 *
 * Not HTTP: a first byte that is not a token character (TLS, most binary
 * protocols), a token ended by anything but a space ("PING\r\n",
 * "1000\n"), a longer token, a first line without any of the above
 * ("job-7 1000000\n"), and an SSH identification line ("SSH-" up to LF,
 * RFC 4253 4.2) without "HTTP/" in it.  A first line longer than
 * PEEK_HTTP_LINE_MAX without its end is taken for HTTP.
 *
 * Return: 1 if HTTP, 0 if another protocol, -1 if more bytes are needed;
 *         a verdict (0 or 1) stays the same for every longer input
 */
int peek_http_start(const uint8_t *buf, size_t len)
{
	static const char ssh[] = "SSH-";
	const uint8_t *lf;
	size_t i = 0, t, n;

	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i == len)
		return -1;
	if (!ch_tchar(buf[i]))
		return 0;
	n = len - i < 4 ? len - i : 4;
	if (!memcmp(buf + i, ssh, n)) {
		if (n < 4)
			return -1;
		/* SSH's line is at most 255 bytes, CR LF included */
		n = len - i < 255 ? len - i : 255;
		lf = memchr(buf + i, '\n', n);
		if (!lf)
			return n == 255 ? 1 : -1;
		if (!has_version(buf + i, (size_t)(lf - (buf + i))))
			return 0;
	}
	for (t = i; t < len && t - i <= PEEK_HTTP_TOKEN_MAX; t++) {
		if (buf[t] == ' ')
			break;
		if (!ch_tchar(buf[t]))
			return 0;
	}
	if (t - i > PEEK_HTTP_TOKEN_MAX)
		return 0;
	if (t == len)
		return -1;
	/* the request target: origin-, asterisk-, absolute- or authority-form */
	if (++t == len)
		return -1;
	if (buf[t] == '/' || buf[t] == '*' || buf[t] == '[')
		return 1;
	for (n = t; n < len && n - t < 256; n++) {
		uint8_t c = buf[n];

		if (c == ':')
			return 1;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.' || c == '_'))
			break;
	}
	/* anything else: HTTP if the line names a version */
	n = len - i < PEEK_HTTP_LINE_MAX ? len - i : PEEK_HTTP_LINE_MAX;
	lf = memchr(buf + i, '\n', n);
	if (!lf)
		return n == PEEK_HTTP_LINE_MAX ? 1 : -1;
	return has_version(buf + i, (size_t)(lf - (buf + i)));
}

/**
 * copy_str() - Copy bytes as a NUL-terminated string
 * @dst:  Destination
 * @size: Its size
 * @src:  Bytes
 * @n:    Their count
 * Return: 0, or -1 if they do not fit
 */
static int copy_str(char *dst, size_t size, const uint8_t *src, size_t n)
{
	if (!dst || n >= size)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/**
 * parse_authority() - Parse "host[:port]" or "[v6][:port]"
 * @s:       Bytes (already checked to be VCHAR)
 * @n:       Their count
 * @host:    Output: normalised host, brackets removed
 * @hostlen: Its size
 * @port:    Output: the port, 0 if none
 * Return: 0, or -1 if invalid
 */
static int parse_authority(const uint8_t *s, size_t n, char *host,
			   size_t hostlen, uint16_t *port)
{
	const uint8_t *h;
	size_t hl;

	if (ch_authority(s, n, &h, &hl, port))
		return -1;
	if (copy_str(host, hostlen, h, hl))
		return -1;
	if (memchr(host, '\0', hl) || host_normalise(host))
		return -1;
	/* "[1.2.3.4]" or "[name]" is no IPv6 literal */
	if (s[0] == '[' && !strchr(host, ':'))
		return -1;
	return 0;
}

/**
 * struct http_req - request line, as offsets into the buffer
 * @m, @ml:    Method
 * @t, @tl:    Request-target
 * @http11:    Version is HTTP/1.1
 */
struct http_req {
	size_t m, ml, t, tl;
	int http11;
};

/**
 * http_reqline() - Check a request line, possibly incomplete
 * @b:        Line start
 * @n:        Bytes of it (without CR LF when complete)
 * @complete: The line end was seen
 * @req:      Output: parts of the line, when complete
 * Return: PEEK_DONE (complete and valid), PEEK_NEED_MORE (incomplete and
 * valid so far) or PEEK_BAD
 */
static int http_reqline(const uint8_t *b, size_t n, int complete,
			struct http_req *req)
{
	static const char ver[] = "HTTP/1.";
	size_t i = 0, vl;

	while (i < n && b[i] >= 'A' && b[i] <= 'Z')
		i++;
	if (i > PEEK_HTTP_METHOD_MAX)
		return PEEK_BAD;
	if (i == n)
		return complete ? PEEK_BAD : PEEK_NEED_MORE;
	if (i == 0 || b[i] != ' ')
		return PEEK_BAD;
	req->m = 0;
	req->ml = i++;

	req->t = i;
	while (i < n && ch_tbyte(b[i]))
		i++;
	req->tl = i - req->t;
	if (i == n)
		return complete ? PEEK_BAD : PEEK_NEED_MORE;
	if (b[i] != ' ' || req->tl == 0)
		return PEEK_BAD;
	i++;

	vl = n - i;
	if (vl > sizeof(ver) || memcmp(b + i, ver, vl < 7 ? vl : 7))
		return PEEK_BAD;
	if (vl == sizeof(ver) && b[i + 7] != '0' && b[i + 7] != '1')
		return PEEK_BAD;
	if (vl < sizeof(ver))
		return complete ? PEEK_BAD : PEEK_NEED_MORE;
	req->http11 = b[i + 7] == '1';
	return complete ? PEEK_DONE : PEEK_NEED_MORE;
}

/**
 * http_header() - Check a header line, possibly incomplete
 * @b:        Line start
 * @n:        Bytes of it (without CR LF when complete)
 * @complete: The line end was seen
 * @v, @vl:   Output: value, OWS trimmed (when complete)
 * Return: length of the name (> 0), 0 if valid so far but incomplete, -1
 * if invalid
 */
static long http_header(const uint8_t *b, size_t n, int complete, size_t *v,
			size_t *vl)
{
	size_t i = 0, e;

	if (n && (b[0] == ' ' || b[0] == '\t'))
		return -1; /* obs-fold, or whitespace before a name */
	while (i < n && ch_tchar(b[i]))
		i++;
	if (i == n) {
		/* A trailing CR may be the end of the line, still to come */
		return complete ? -1 : 0;
	}
	if (b[i] != ':')
		return -1;
	if (i == 0)
		return -1;
	for (e = i + 1; e < n; e++)
		if (!ch_vbyte(b[e]))
			return -1;
	if (!complete)
		return 0;

	*v = i + 1;
	while (*v < n && (b[*v] == ' ' || b[*v] == '\t'))
		(*v)++;
	e = n;
	while (e > *v && (b[e - 1] == ' ' || b[e - 1] == '\t'))
		e--;
	*vl = e - *v;
	return (long)i;
}

/**
 * http_target() - Split the request-target into path and authority
 * @b:      Buffer
 * @req:    Request line
 * @path:   Output: origin-form path (and query)
 * @plen:   Its size
 * @uhost:  Output: host of an absolute-form target, "" if origin-form
 * @uhl:    Its size
 * @uport:  Output: its port, 0 if none
 * Return: 0, or -1 on a form we do not accept (authority-form, other
 * schemes, userinfo) or an output too small
 */
static int http_target(const uint8_t *b, const struct http_req *req,
		       char *path, size_t plen, char *uhost, size_t uhl,
		       uint16_t *uport)
{
	const uint8_t *t = b + req->t;
	size_t tl = req->tl, a;

	uhost[0] = '\0';
	*uport = 0;
	if (t[0] == '/')
		return copy_str(path, plen, t, tl);
	if (tl == 1 && t[0] == '*') {
		if (req->ml != 7 || memcmp(b + req->m, "OPTIONS", 7))
			return -1;
		return copy_str(path, plen, t, tl);
	}
	if (tl < 7 || strncasecmp((const char *)t, "http://", 7))
		return -1;
	t += 7;
	tl -= 7;
	for (a = 0; a < tl && t[a] != '/' && t[a] != '?' && t[a] != '#'; a++)
		if (t[a] == '@')
			return -1;
	if (parse_authority(t, a, uhost, uhl, uport))
		return -1;
	t += a;
	tl -= a;
	if (tl && t[0] == '/')
		return copy_str(path, plen, t, tl);
	/* "http://h" or "http://h?q": the path is "/" (RFC 9112 3.2.2) */
	if (plen < 2 || copy_str(path + 1, plen - 1, t, tl))
		return -1;
	path[0] = '/';
	return 0;
}

/**
 * peek_http() - Parse an HTTP/1.x request head
 * @buf:          Bytes received so far from the sandbox
 * @len:          Their length
 * @head_max:     Largest head accepted, terminating empty line included
 * @host:         Output: Host, lowercased, without port, trailing dot or
 *                IPv6 brackets
 * @hostlen:      Its size
 * @method:       Output: method
 * @mlen:         Its size
 * @path:         Output: request-target in origin-form ("*" for OPTIONS *)
 * @plen:         Its size
 * @port_in_host: Output: port given in Host, 0 if none
 * @head_len:     Output: bytes of the head, empty line included
 *
 * Lines end with CR LF or a bare LF. A request without Host is PEEK_NONE
 * for HTTP/1.0 (the host of an absolute-form target is then used if there
 * is one) and PEEK_BAD for HTTP/1.1 (RFC 9112 3.2). Outputs too small for
 * what they must hold make the request PEEK_BAD.
 *
 * Return: PEEK_DONE, PEEK_NONE, PEEK_NEED_MORE or PEEK_BAD
 */
int peek_http(const uint8_t *buf, size_t len, size_t head_max, char *host,
	      size_t hostlen, char *method, size_t mlen, char *path,
	      size_t plen, uint16_t *port_in_host, size_t *head_len)
{
	char uhost[256];
	struct http_req req = { 0 };
	size_t off = 0, hv = 0, hvl = 0, lines = 0, ul;
	uint16_t uport;
	int have_host = 0, r;

	if (!host || !hostlen || !method || !mlen || !path || !plen)
		return PEEK_BAD;
	host[0] = method[0] = path[0] = '\0';
	*port_in_host = 0;
	*head_len = 0;
	if (!buf)
		return PEEK_NEED_MORE;

	for (;; lines++) {
		const uint8_t *lf, *b = buf + off;
		size_t scan = (len < head_max ? len : head_max) - off;
		size_t n, v = 0, vl = 0;
		int complete;
		long nl;

		/* off <= head_max: every line so far ended within it */
		lf = memchr(b, '\n', scan);
		complete = lf != NULL;
		n = complete ? (size_t)(lf - b) : scan;
		/* A CR at the end of an incomplete line may be the CR of CR LF */
		if (n && b[n - 1] == '\r')
			n--;

		if (lines == 0) {
			r = http_reqline(b, n, complete, &req);
			if (r == PEEK_BAD)
				return PEEK_BAD;
		} else if (complete && n == 0) {
			*head_len = off + (size_t)(lf - b) + 1;
			break;
		} else {
			nl = http_header(b, n, complete, &v, &vl);
			if (nl < 0)
				return PEEK_BAD;
			if (nl == 4 && !strncasecmp((const char *)b, "host", 4)) {
				if (have_host)
					return PEEK_BAD;
				have_host = 1;
				hv = off + v;
				hvl = vl;
			}
		}
		if (!complete)
			return len >= head_max ? PEEK_BAD : PEEK_NEED_MORE;
		off += (size_t)(lf - b) + 1;
	}

	if (copy_str(method, mlen, buf + req.m, req.ml))
		return PEEK_BAD;
	if (http_target(buf, &req, path, plen, uhost, sizeof(uhost), &uport))
		return PEEK_BAD;

	if (!have_host) {
		if (req.http11)
			return PEEK_BAD;
		if (!uhost[0])
			return PEEK_NONE;
		ul = strlen(uhost);
		if (ul >= hostlen)
			return PEEK_BAD;
		memcpy(host, uhost, ul + 1);
		*port_in_host = uport;
		return PEEK_DONE;
	}

	if (parse_authority(buf + hv, hvl, host, hostlen, port_in_host))
		return PEEK_BAD;
	if (uhost[0] && (strcmp(uhost, host) ||
			 (uport ? uport : 80) !=
				 (*port_in_host ? *port_in_host : 80)))
		return PEEK_BAD;
	return PEEK_DONE;
}
