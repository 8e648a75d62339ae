/* SPDX-License-Identifier: MIT */
/*
 * peek.h - look at the first bytes of a sandbox's TCP stream: the TLS
 * ClientHello's server name, or an HTTP/1.x request head's Host, method and
 * path. Incremental: call again with all the bytes received so far.
 */
#ifndef ISLO_PEEK_H
#define ISLO_PEEK_H

#include <stddef.h>
#include <stdint.h>

enum peek_res {
	PEEK_NEED_MORE = 0,
	PEEK_DONE = 1,
	PEEK_NONE = 2,
	PEEK_BAD = 3,
};

#define PEEK_TLS_MAX_HANDSHAKE 16384 /* ClientHello body, reassembled */
#define PEEK_HTTP_METHOD_MAX   32    /* longest method accepted */

int peek_tls_sni(const uint8_t *buf, size_t len, char *out, size_t outlen);
/* what a ClientHello's ALPN extension offers (peek_tls_hello()) */
#define PEEK_ALPN_H2     0x1u   /* "h2" */
#define PEEK_ALPN_HTTP11 0x2u   /* "http/1.1" */
#define PEEK_ALPN_OTHER  0x4u   /* any other name */
#define PEEK_ALPN_SEEN   0x8u   /* the extension is there */
int peek_tls_hello(const uint8_t *buf, size_t len, char *out, size_t outlen,
		   unsigned *alpn);
int peek_http(const uint8_t *buf, size_t len, size_t head_max, char *host,
	      size_t hostlen, char *method, size_t mlen, char *path,
	      size_t plen, uint16_t *port_in_host, size_t *head_len);
int peek_is_tls(const uint8_t *buf, size_t len);
int peek_is_http(const uint8_t *buf, size_t len);
/* longest token peek_http_start() takes for a method */
#define PEEK_HTTP_TOKEN_MAX 32
/* first line peek_http_start() reads to its end before taking it for HTTP */
#define PEEK_HTTP_LINE_MAX 8192
int peek_http_start(const uint8_t *buf, size_t len);

int host_normalise(char *s);

#endif
