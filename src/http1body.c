// SPDX-License-Identifier: MIT
/*
 * http1body.c - HTTP/1.1 message body framing (RFC 9112 6, 7.1); see
 * http1.h
 *
 * DOC: Theory of Operation
 *
 * Bodies are never buffered: struct http_body is a byte-driven state
 * machine telling the caller how many of the bytes it holds belong to the
 * current body, so they can be forwarded unchanged and the rest taken as
 * the next message. Chunked framing is checked as it streams (bounded
 * size digits, extensions and trailers; CR LF only), with a sticky error:
 * framing is where proxies get smuggled past (RFC 9112 11.2), so a byte
 * two implementations could read differently ends the body as an error.
 * The heads that say how a body is framed are parsed by http1.c.
 */

#include <string.h>

#include "chars.h"
#include "http1.h"

enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE };

enum {
	CH_SIZE,      /* chunk-size digits */
	CH_SIZE_WS,   /* BWS after the size: only before ';' */
	CH_EXT,       /* chunk-ext, up to CR */
	CH_SIZE_LF,   /* LF ending the chunk-size line */
	CH_DATA,      /* chunk-data */
	CH_DATA_CR,   /* CR after chunk-data */
	CH_DATA_LF,   /* LF after chunk-data */
	CH_TRL_START, /* start of a trailer line, or CR of the last CRLF */
	CH_TRL_NAME,  /* trailer field name */
	CH_TRL_VALUE, /* trailer field value, up to CR */
	CH_TRL_LF,    /* LF ending a trailer line */
	CH_END_LF,    /* LF of the last CRLF */
};

/**
 * http_body_init() - Start framing a message body
 * @b:              State
 * @content_length: Body length, -1 if none
 * @chunked:        Chunked transfer coding (wins over the rest)
 * @until_close:    The body runs until the connection closes
 *
 * With neither, the body is empty (a request without framing headers, a
 * response without a body).
 */
void http_body_init(struct http_body *b, long long content_length,
		    int chunked, int until_close)
{
	memset(b, 0, sizeof(*b));
	b->state = CH_SIZE;
	if (chunked) {
		b->mode = BODY_CHUNKED;
	} else if (until_close) {
		b->mode = BODY_CLOSE;
	} else if (content_length > 0) {
		b->mode = BODY_LENGTH;
		b->left = (unsigned long long)content_length;
	} else {
		b->mode = BODY_NONE;
		b->done = 1;
	}
}

/* The chunk-size line: digits, optional BWS, extensions, up to CR */
static const char *size_line(struct http_body *b, uint8_t c)
{
	int x = ch_hexval(c);

	if (b->state == CH_SIZE && x >= 0) {
		if (b->count == HTTP_CHUNK_DIGITS)
			return "chunk size too long";
		b->size = b->size << 4 | (unsigned)x;
		b->count++;
		return NULL;
	}
	if (b->state == CH_SIZE) {
		if (!b->count)
			return "bad chunk size";
		b->count = 0;
		if (c == ' ' || c == '\t')
			b->state = CH_SIZE_WS;
		else if (c == ';')
			b->state = CH_EXT;
		else if (c == '\r')
			b->state = CH_SIZE_LF;
		else
			return "bad chunk size";
		return NULL;
	}
	if (b->state == CH_SIZE_WS) {
		if (++b->count > HTTP_CHUNK_EXT_MAX)
			return "chunk extension too long";
		if (c == ';')
			b->state = CH_EXT;
		else if (c != ' ' && c != '\t')
			return "bad chunk size";
		return NULL;
	}
	if (c == '\r') {                /* CH_EXT */
		b->state = CH_SIZE_LF;
		return NULL;
	}
	if (!ch_vbyte(c))
		return "bad chunk extension";
	if (++b->count > HTTP_CHUNK_EXT_MAX)
		return "chunk extension too long";
	return NULL;
}

/* A trailer line: a field name, ':', a value up to CR; or the final CR */
static const char *trailer_byte(struct http_body *b, uint8_t c)
{
	int st = b->state;

	if (st == CH_TRL_START && c == '\r')
		b->state = CH_END_LF;
	else if (st == CH_TRL_START && ch_tchar(c))
		b->state = CH_TRL_NAME;
	else if (st == CH_TRL_NAME && c == ':')
		b->state = CH_TRL_VALUE;
	else if (st == CH_TRL_VALUE && c == '\r')
		b->state = CH_TRL_LF;
	else if (!(st == CH_TRL_NAME && ch_tchar(c)) &&
		 !(st == CH_TRL_VALUE && ch_vbyte(c)))
		return "bad trailer";
	return NULL;
}

/* The states that take one given byte: which, and what else is refused as */
static const struct {
	uint8_t byte;
	const char *err;
} fixed[] = {
	[CH_SIZE_LF] = { '\n', "bad chunk size line end" },
	[CH_DATA_CR] = { '\r', "no CRLF after chunk data" },
	[CH_DATA_LF] = { '\n', "no CRLF after chunk data" },
	[CH_TRL_LF] = { '\n', "bad trailer line end" },
	[CH_END_LF] = { '\n', "bad chunked body end" },
};

/* One byte of framing (not chunk data). Return: NULL, or why it is bad */
static const char *chunk_byte(struct http_body *b, uint8_t c)
{
	int st = b->state;

	if (st <= CH_EXT)
		return size_line(b, c);
	if (st >= CH_TRL_START && st <= CH_TRL_VALUE)
		return trailer_byte(b, c);
	if (st >= (int)(sizeof(fixed) / sizeof(fixed[0])) || !fixed[st].err)
		return "bad chunked state";
	if (c != fixed[st].byte)
		return fixed[st].err;
	if (st == CH_SIZE_LF) {
		b->count = 0;
		b->left = b->size;
		b->size = 0;
		b->state = b->left ? CH_DATA : CH_TRL_START;
	} else if (st == CH_END_LF) {
		b->done = 1;
	} else {
		/* CR LF after the data, then the next size; a trailer line */
		b->state = st == CH_DATA_CR ? CH_DATA_LF :
			   st == CH_DATA_LF ? CH_SIZE : CH_TRL_START;
	}
	return NULL;
}

/**
 * chunked_feed() - Run the chunked decoder over some bytes
 * @b:   State, in BODY_CHUNKED mode
 * @p:   Bytes
 * @len: Their count
 * Return: bytes consumed: all of them, or fewer if the body ended or a bad
 * byte was met (@b->error set, the bad byte not counted)
 */
static size_t chunked_feed(struct http_body *b, const uint8_t *p, size_t len)
{
	size_t i = 0, n;

	while (i < len && !b->done) {
		const char *err;

		if (b->state == CH_DATA) {
			n = len - i < b->left ? len - i : (size_t)b->left;
			b->left -= n;
			i += n;
			if (!b->left)
				b->state = CH_DATA_CR;
			continue;
		}
		if (b->state >= CH_TRL_START && ++b->trailer > HTTP_TRAILER_MAX)
			err = "trailer section too long";
		else
			err = chunk_byte(b, p[i]);
		if (err) {
			b->error = err;
			return i;
		}
		i++;
	}
	return i;
}

/**
 * http_body_feed() - Delimit the current message body in some bytes
 * @b:    State from http_body_init()
 * @p:    Bytes received after what was fed before
 * @len:  Their count
 * @done: Output: 1 if the body has ended (at once for an empty body)
 *
 * The caller forwards the first (return value) bytes unchanged as body;
 * once @done, the bytes after them start the next message. A body running
 * until close never ends here: the caller ends it at EOF. On bad chunked
 * framing @b->error is set, stays set, and no later byte is accepted; the
 * caller tears the connection down.
 *
 * Return: how many of the @len bytes belong to the body
 */
size_t http_body_feed(struct http_body *b, const uint8_t *p, size_t len,
		      int *done)
{
	size_t n = 0;

	if (!p)
		len = 0;
	if (!b->error && !b->done) {
		switch (b->mode) {
		case BODY_CLOSE:
			n = len;
			break;
		case BODY_LENGTH:
			n = len < b->left ? len : (size_t)b->left;
			b->left -= n;
			if (!b->left)
				b->done = 1;
			break;
		case BODY_CHUNKED:
			n = chunked_feed(b, p, len);
			break;
		default:
			b->done = 1;
		}
	}
	*done = b->done;
	return n;
}

/**
 * http_body_next() - http_body_feed(), one run of payload or framing
 * @b:       State from http_body_init()
 * @p:       Bytes received after what was fed before
 * @len:     Their count
 * @done:    Output: 1 if the body has ended
 * @payload: Output: 1 if the bytes taken are payload (chunk data, or any
 *           body byte but chunked framing), 0 if they are chunked framing
 *           (sizes, extensions, line ends, trailers)
 *
 * For a caller that must see the payload as one stream (a search for a
 * string across chunks), in runs it can tell apart; bytes are judged
 * exactly as http_body_feed() judges them.
 *
 * Return: how many of the @len bytes were taken (all payload or all
 *         framing); 0 when the body is done, on error, or for @len 0
 */
size_t http_body_next(struct http_body *b, const uint8_t *p, size_t len,
		      int *done, int *payload)
{
	size_t n = 0;

	*payload = 1;
	if (b->mode != BODY_CHUNKED || b->error || b->done || !p || !len)
		return http_body_feed(b, p, len, done);
	if (b->state == CH_DATA) {
		n = len < b->left ? len : (size_t)b->left;
		b->left -= n;
		if (!b->left)
			b->state = CH_DATA_CR;
		*done = 0;
		return n;
	}
	*payload = 0;
	while (n < len && b->state != CH_DATA && !b->done && !b->error) {
		if (!chunked_feed(b, p + n, 1))
			break;
		n++;
	}
	*done = b->done;
	return n;
}
