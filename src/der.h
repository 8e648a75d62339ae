/* SPDX-License-Identifier: MIT */
/*
 * der.h - a small DER writer, just what X.509 v3 certificates need.
 *
 * Writes into a caller-provided buffer (no malloc) with a sticky error:
 * once something does not fit, or a value cannot be encoded, every later
 * call is a no-op and der_error() says so; check once at the end.
 *
 * Constructed values are written front to back: der_begin() writes the tag
 * and a one-byte length placeholder and returns a mark; der_end() fills
 * in the length and, when the contents turned out to need a long-form
 * length (128 bytes or more), moves them up by the extra length bytes.
 * Nesting therefore comes out right whatever the sizes, and fields are
 * written in their natural order. The moves are O(size * depth), nothing
 * for certificates of a kilobyte.
 */
#ifndef ISLO_DER_H
#define ISLO_DER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Universal tags */
#define DER_BOOLEAN       0x01
#define DER_INTEGER       0x02
#define DER_BIT_STRING    0x03
#define DER_OCTET_STRING  0x04
#define DER_NULL          0x05
#define DER_OID           0x06
#define DER_UTF8STRING    0x0c
#define DER_PRINTABLE     0x13
#define DER_IA5STRING     0x16
#define DER_UTCTIME       0x17
#define DER_GENTIME       0x18
#define DER_SEQUENCE      0x30
#define DER_SET           0x31

/* Context-specific tags: [n] constructed (EXPLICIT), [n] primitive (IMPLICIT) */
#define DER_CTX_CONS(n)   (0xa0 | (n))
#define DER_CTX_PRIM(n)   (0x80 | (n))

/* Sticky errors */
#define DER_E_SPACE 1 /* the buffer is too small */
#define DER_E_VALUE 2 /* a value that cannot be encoded, or a bad mark */

/**
 * struct der - DER output buffer
 * @buf: Caller's buffer
 * @cap: Its size
 * @len: Bytes written so far
 * @err: 0, DER_E_SPACE or DER_E_VALUE; sticky
 */
struct der {
	uint8_t *buf;
	size_t cap, len;
	int err;
};

void der_init(struct der *d, uint8_t *buf, size_t cap);
int der_error(const struct der *d);
size_t der_len(const struct der *d);

size_t der_begin(struct der *d, uint8_t tag);
void der_end(struct der *d, size_t mark);

void der_raw(struct der *d, const void *p, size_t n);
void der_tlv(struct der *d, uint8_t tag, const void *p, size_t n);
void der_int_bytes(struct der *d, const uint8_t *p, size_t n);
void der_int(struct der *d, uint64_t v);
void der_oid(struct der *d, const uint8_t *enc, size_t n);
void der_utf8(struct der *d, const char *s, size_t n);
void der_printable(struct der *d, const char *s, size_t n);
void der_ia5(struct der *d, uint8_t tag, const char *s, size_t n);
void der_time(struct der *d, time_t t);
void der_bits(struct der *d, const void *p, size_t n);
void der_named_bits(struct der *d, uint32_t bits);
void der_octets(struct der *d, const void *p, size_t n);
void der_bool(struct der *d, int v);
void der_null(struct der *d);

#endif
