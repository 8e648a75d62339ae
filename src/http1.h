/* SPDX-License-Identifier: MIT */
/*
 * http1.h - HTTP/1.1 engine for intercepted flows: request and response
 * head parsing, request head rewriting (credential injection), streaming
 * body framing, path scoping helpers. No allocation, no I/O: the caller
 * owns the buffers and the sockets.
 */
#ifndef ISLO_HTTP1_H
#define ISLO_HTTP1_H

#include <stddef.h>
#include <stdint.h>

enum http_res {
	HTTP_NEED_MORE = 0,
	HTTP_DONE = 1,
	HTTP_BAD = 2,
};

#define HTTP_MAX_HEADERS    100
#define HTTP_METHOD_MAX     32      /* longest method accepted */
#define HTTP_HOST_MAX       256     /* host name buffer, NUL included */
#define HTTP_PATH_MAX       8192    /* path buffer (no query), NUL included */
#define HTTP_HEAD_LIMIT     (1u << 20) /* max_head is clamped to this */
#define HTTP_CHUNK_DIGITS   16      /* hex digits of a chunk size */
#define HTTP_CHUNK_EXT_MAX  1024    /* chunk extension bytes per chunk line */
#define HTTP_TRAILER_MAX    8192    /* trailer section bytes */

/**
 * struct http_hdr - one header field, as offsets into the parsed buffer
 * @name:      Offset of the field name
 * @name_len:  Its length
 * @value:     Offset of the value, surrounding whitespace trimmed
 * @value_len: Its length (may be 0)
 */
struct http_hdr {
	uint32_t name, name_len, value, value_len;
};

/**
 * struct http_req - a parsed request head (valid on HTTP_DONE)
 * @method:          Method, NUL-terminated (upper-case token)
 * @target:          Offset of the request-target as sent
 * @target_len:      Its length
 * @path:            Path without query, NUL-terminated ("/" for an
 *                   absolute-form target with an empty path)
 * @absolute_host:   Host of an absolute-form target (lowercased, no port),
 *                   "" for origin-form
 * @absolute_port:   Its port, 0 if none given
 * @absolute_https:  The absolute-form target's scheme is https
 * @version:         10 or 11
 * @head_len:        Bytes of the head, blank line included
 * @hdr:             Header fields, in order
 * @nhdr:            Their count
 * @host:            The Host header (lowercased, no port, no trailing dot),
 *                   "" if absent (HTTP/1.0 only)
 * @host_port:       Port given in Host, 0 if none
 * @content_length:  Content-Length, -1 if none
 * @chunked:         Transfer-Encoding: chunked
 * @keep_alive:      The connection may carry another request after this one
 * @expect_continue: Expect: 100-continue (HTTP/1.1)
 * @upgrade:         Connection: upgrade with an Upgrade header (HTTP/1.1)
 * @upgrade_h2c:     ... and the Upgrade list names h2c
 * @error:           Static reason on HTTP_BAD, NULL otherwise
 */
struct http_req {
	char method[HTTP_METHOD_MAX + 1];
	uint32_t target, target_len;
	char path[HTTP_PATH_MAX];
	char absolute_host[HTTP_HOST_MAX];
	uint16_t absolute_port;
	int absolute_https;
	int version;
	size_t head_len;
	struct http_hdr hdr[HTTP_MAX_HEADERS];
	unsigned nhdr;
	char host[HTTP_HOST_MAX];
	uint16_t host_port;
	long long content_length;
	int chunked, keep_alive, expect_continue, upgrade, upgrade_h2c;
	const char *error;
};

/**
 * struct http_resp - a parsed response head (valid on HTTP_DONE)
 * @version:        10 or 11
 * @status:         Status code, 100..599
 * @head_len:       Bytes of the head, blank line included
 * @hdr:            Header fields
 * @nhdr:           Their count
 * @informational:  1xx other than 101: no body, another head follows
 * @tunnel:         101 Switching Protocols: the connection is now a tunnel
 * @no_body:        No body (1xx, 204, 304, response to HEAD)
 * @content_length: Body length, -1 if none or no body
 * @chunked:        Body is chunked
 * @until_close:    Body runs until the upstream closes
 * @keep_alive:     The connection may carry another exchange after this one
 * @up_keep_alive:  ... as far as the response goes (the request's own
 *                  Connection: close aside)
 * @error:          Static reason on HTTP_BAD, NULL otherwise
 *
 * The framing fields feed http_body_init() directly.
 */
struct http_resp {
	int version, status;
	size_t head_len;
	struct http_hdr hdr[HTTP_MAX_HEADERS];
	unsigned nhdr;
	int informational, tunnel, no_body;
	long long content_length;
	int chunked, until_close, keep_alive, up_keep_alive;
	const char *error;
};

/**
 * struct http_subst - replace a placeholder in header values
 * @from: Placeholder (skipped if NULL or empty)
 * @to:   Replacement (a secret: field-value bytes only, no CR/LF/NUL)
 */
struct http_subst {
	const char *from, *to;
};

/**
 * struct http_field - a header to add
 * @name:  Field name (token)
 * @value: Value (field-value bytes only)
 */
struct http_field {
	const char *name, *value;
};

/**
 * struct http_rewrite - what http_req_write() changes
 * @drop:      Field names to drop (case-insensitive)
 * @ndrop:     Their count
 * @subst:     Placeholder substitutions in header values
 * @nsubst:    Their count
 * @add:       Headers appended after the kept ones
 * @nadd:      Their count
 * @target:    Request-target written instead of the one sent (a query or a
 *             path credential), or NULL
 * @target_len: Its length
 * @nreplaced: Output: placeholder occurrences replaced
 */
struct http_rewrite {
	const char *const *drop;
	size_t ndrop;
	const struct http_subst *subst;
	size_t nsubst;
	const struct http_field *add;
	size_t nadd;
	const char *target;
	size_t target_len;
	size_t nreplaced;
};

/**
 * struct http_body - streaming body framing state
 * @mode:    BODY_* (internal)
 * @state:   Chunked decoder state (internal)
 * @left:    Bytes left of the body / current chunk
 * @size:    Chunk size being read
 * @count:   Digits / extension / trailer bytes seen (bounds)
 * @done:    The body ended
 * @error:   Sticky: static reason on bad framing, NULL otherwise
 */
struct http_body {
	int mode, state;
	unsigned long long left, size;
	size_t count, trailer;
	int done;
	const char *error;
};

int http_req_parse(const uint8_t *buf, size_t len, size_t max_head,
		   struct http_req *r);
int http_resp_parse(const uint8_t *buf, size_t len, size_t max_head,
		    const struct http_req *req, struct http_resp *s);

int http_resp_ends_with_head(const struct http_resp *s);

size_t http_req_write(const struct http_req *r, const uint8_t *buf,
		      struct http_rewrite *rw, uint8_t *out, size_t cap);
int http_find_token(const struct http_req *r, const uint8_t *buf,
		    const char *needle);
const struct http_hdr *http_hdr_find(const struct http_hdr *h, unsigned n,
				     const uint8_t *buf, const char *name);

void http_body_init(struct http_body *b, long long content_length,
		    int chunked, int until_close);
size_t http_body_feed(struct http_body *b, const uint8_t *p, size_t len,
		      int *done);
size_t http_body_next(struct http_body *b, const uint8_t *p, size_t len,
		      int *done, int *payload);

int http_path_match(const char *pattern, const char *path);
int http_path_normal(const char *path);
void http_path_for_log(const char *target, size_t len, char *out,
		       size_t outlen);

#endif
