/* SPDX-License-Identifier: MIT */
/*
 * pgwire.h - the PostgreSQL v3 frontend/backend protocol: bounds-checked
 * parsers for what the database gateway reads, writers for what it sends.
 *
 * Nothing here allocates or does I/O.  Parsers take the bytes received so
 * far and answer PGW_NEED_MORE, PGW_DONE or PGW_BAD; readers over a message
 * body keep a sticky error, so a caller checks once at the end.  Writers
 * fill a caller's buffer and return the length written, or 0 when it does
 * not fit (nothing is then written that counts).
 */
#ifndef ISLO_PGWIRE_H
#define ISLO_PGWIRE_H

#include <stddef.h>
#include <stdint.h>

enum { PGW_BAD = -1, PGW_NEED_MORE = 0, PGW_DONE = 1 };

#define PGW_PROTO_V3        196608u   /* 3.0: (3 << 16) | 0 */
#define PGW_SSL_REQUEST     80877103u
#define PGW_GSSENC_REQUEST  80877104u
#define PGW_CANCEL_REQUEST  80877102u
#define PGW_STARTUP_MAX     10000u    /* the server's own limit */
#define PGW_STARTUP_PARAMS  64
#define PGW_MSG_MAX         0x3fffffffu /* a length field above this is garbage */

/* Authentication request codes (the 'R' message). */
enum {
	PGW_AUTH_OK = 0, PGW_AUTH_CLEARTEXT = 3, PGW_AUTH_MD5 = 5,
	PGW_AUTH_SASL = 10, PGW_AUTH_SASL_CONTINUE = 11,
	PGW_AUTH_SASL_FINAL = 12,
};

/* One startup parameter: offsets into the packet, values NUL-terminated there. */
struct pgw_param {
	uint32_t key, key_len, val, val_len;
};

/**
 * struct pgw_startup - a parsed untyped start-up packet
 * @len:     Its length (the first Int32), including itself
 * @code:    The second Int32: a protocol version (3.x) or one of the
 *           request codes (PGW_SSL_REQUEST, PGW_GSSENC_REQUEST,
 *           PGW_CANCEL_REQUEST)
 * @params:  For a 3.x startup message: its name/value pairs, in order
 * @nparams: How many
 * @cancel_pid, @cancel_key: For a CancelRequest
 * @error:   Why it is PGW_BAD (static text)
 */
struct pgw_startup {
	uint32_t len, code;
	struct pgw_param params[PGW_STARTUP_PARAMS];
	size_t nparams;
	uint32_t cancel_pid, cancel_key;
	const char *error;
};

/**
 * pgw_startup_parse() - Parse the first packet of a frontend
 * @b:   Bytes received so far
 * @len: Their length
 * @s:   Result
 *
 * Accepts SSLRequest, GSSENCRequest and CancelRequest (exact lengths) and
 * 3.x startup messages (a list of non-empty-name/value C strings ending in
 * an empty name, at most PGW_STARTUP_PARAMS pairs, PGW_STARTUP_MAX bytes).
 * Protocol versions other than 3.x are PGW_BAD.
 *
 * Return: PGW_DONE (s->len bytes used), PGW_NEED_MORE or PGW_BAD
 */
int pgw_startup_parse(const uint8_t *b, size_t len, struct pgw_startup *s);

/**
 * pgw_header() - The header of a typed message (1 type byte, Int32 length)
 * @b:        Bytes received so far
 * @len:      Their length
 * @type:     The type byte
 * @body_len: The body's length (the length field minus its own 4 bytes)
 * Return: PGW_DONE (5 bytes used), PGW_NEED_MORE, or PGW_BAD (length
 *         field under 4 or over PGW_MSG_MAX)
 */
int pgw_header(const uint8_t *b, size_t len, uint8_t *type,
	       uint32_t *body_len);

/**
 * struct pgw_fields - the fields of an ErrorResponse or NoticeResponse
 * @severity: 'S' (localised) or NULL
 * @code:     'C', the SQLSTATE, or NULL
 * @message:  'M', or NULL
 * Pointers into the body; each NUL-terminated there.
 */
struct pgw_fields {
	const char *severity, *code, *message;
	size_t message_len;
};

/* pgw_error_parse() - Fields of an 'E'/'N' body.  Return: 0, or -1 if malformed. */
int pgw_error_parse(const uint8_t *body, size_t len, struct pgw_fields *f);

/**
 * pgw_query_parse() - The text of a Query ('Q') body
 * @body, @len: The body
 * @text:       Out: the statement text (NUL-terminated in the body)
 * @tlen:       Out: its length
 * Return: 0, or -1 if the body is not exactly one C string
 */
int pgw_query_parse(const uint8_t *body, size_t len, const char **text,
		    size_t *tlen);

/**
 * pgw_parse_parse() - Name and text of a Parse ('P') body
 * @body, @len: The body
 * @name:       Out: the prepared statement's name ("" = unnamed)
 * @text:       Out: the statement text
 * @tlen:       Out: its length
 * Return: 0, or -1 if malformed (including the parameter type list)
 */
int pgw_parse_parse(const uint8_t *body, size_t len, const char **name,
		    const char **text, size_t *tlen);

/* pgw_tag_parse() - A CommandComplete ('C') body's tag.  Return: 0 or -1. */
int pgw_tag_parse(const uint8_t *body, size_t len, const char **tag,
		  size_t *tlen);

/* pgw_auth_parse() - An 'R' body: its code and what follows.  Return: 0 or -1. */
int pgw_auth_parse(const uint8_t *body, size_t len, uint32_t *code,
		   const uint8_t **data, size_t *dlen);

/**
 * pgw_sasl_has_mech() - Does an AuthenticationSASL list offer @mech?
 * @data, @dlen: What follows the code: C strings ending in an empty one
 * @mech:        Mechanism name
 * Return: 1 if offered, 0 if not, -1 if the list is malformed
 */
int pgw_sasl_has_mech(const uint8_t *data, size_t dlen, const char *mech);

/* ---- writers: each returns the bytes written, or 0 if @cap is too small */

/**
 * pgw_put_error() - An ErrorResponse
 * @buf, @cap: Output
 * @severity:  "ERROR" or "FATAL" (sent as both S and V)
 * @code:      SQLSTATE, five characters
 * @message:   Primary message; bytes below 0x20 become spaces
 * Return: length, or 0
 */
size_t pgw_put_error(uint8_t *buf, size_t cap, const char *severity,
		     const char *code, const char *message);

/* pgw_put_startup() - A 3.0 StartupMessage of @n name/value pairs. */
size_t pgw_put_startup(uint8_t *buf, size_t cap, const char *const *names,
		       const char *const *values, size_t n);

/* pgw_put_ssl_request() - The 8-byte SSLRequest. */
size_t pgw_put_ssl_request(uint8_t *buf, size_t cap);

/* pgw_put_msg() - A typed message with a raw body. */
size_t pgw_put_msg(uint8_t *buf, size_t cap, uint8_t type, const void *body,
		   size_t blen);

/* pgw_put_sasl_initial() - SASLInitialResponse ('p'): mechanism, Int32 length, data. */
size_t pgw_put_sasl_initial(uint8_t *buf, size_t cap, const char *mech,
			    const void *data, size_t dlen);

/* pgw_put_password() - A PasswordMessage ('p'): the bytes and a NUL. */
size_t pgw_put_password(uint8_t *buf, size_t cap, const uint8_t *pw,
			size_t len);

/* pgw_put_query() - A Query ('Q') carrying @text. */
size_t pgw_put_query(uint8_t *buf, size_t cap, const char *text);

/* pgw_put_parse() - A Parse ('P') of the unnamed statement, no parameter types. */
size_t pgw_put_parse(uint8_t *buf, size_t cap, const char *text);

/* pgw_put_auth_ok() - AuthenticationOk. */
size_t pgw_put_auth_ok(uint8_t *buf, size_t cap);

/* pgw_put_ready() - ReadyForQuery with status 'I', 'T' or 'E'. */
size_t pgw_put_ready(uint8_t *buf, size_t cap, uint8_t status);

/**
 * pgw_put_negotiate() - NegotiateProtocolVersion
 * @buf, @cap: Output
 * @minor:     The newest minor version of 3 we speak
 * @names:     Protocol options (_pq_.*) we do not know
 * @n:         How many
 * Return: length, or 0
 */
size_t pgw_put_negotiate(uint8_t *buf, size_t cap, uint32_t minor,
			 const char *const *names, size_t n);

#endif
