// SPDX-License-Identifier: MIT
/*
 * der.c - a small DER writer (see der.h for the design).
 *
 * Only the definite-length, single-byte-tag subset that X.509 uses. Every
 * function checks the sticky error first, so a certificate builder can
 * call them unconditionally and look at der_error() once.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "der.h"

/**
 * der_init() - Start writing into a buffer
 * @d:   Writer
 * @buf: Buffer (may be NULL only with @cap 0: every write then fails)
 * @cap: Its size
 */
void der_init(struct der *d, uint8_t *buf, size_t cap)
{
	d->buf = buf;
	d->cap = buf ? cap : 0;
	d->len = 0;
	d->err = 0;
}

/**
 * der_error() - The sticky error
 * @d: Writer
 * Return: 0, DER_E_SPACE or DER_E_VALUE
 */
int der_error(const struct der *d)
{
	return d->err;
}

/**
 * der_len() - Bytes written so far
 * @d: Writer
 * Return: the length of the encoding (meaningful only without error)
 */
size_t der_len(const struct der *d)
{
	return d->len;
}

static void put(struct der *d, const void *p, size_t n)
{
	if (d->err)
		return;
	if (n > d->cap - d->len) {
		d->err = DER_E_SPACE;
		return;
	}
	if (n)
		memcpy(d->buf + d->len, p, n);
	d->len += n;
}

static void put_byte(struct der *d, uint8_t b)
{
	put(d, &b, 1);
}

/* Bytes of the long form's length field for a content length: 0 for short form */
static size_t len_extra(size_t n)
{
	size_t k = 0;

	if (n < 0x80)
		return 0;
	while (n) {
		k++;
		n >>= 8;
	}
	return k;
}

static void put_len(struct der *d, size_t n)
{
	size_t k = len_extra(n), i;

	if (k > 4) { /* no certificate is 4 GiB */
		if (!d->err)
			d->err = DER_E_VALUE;
		return;
	}
	if (!k) {
		put_byte(d, (uint8_t)n);
		return;
	}
	put_byte(d, (uint8_t)(0x80 | k));
	for (i = k; i > 0; i--)
		put_byte(d, (uint8_t)(n >> (8 * (i - 1))));
}

/**
 * der_begin() - Open a constructed value (SEQUENCE, SET, [n] EXPLICIT) or
 *		 any value whose contents are written piecewise
 * @d:   Writer
 * @tag: Tag byte
 * Return: a mark to give to der_end() (0 after an error, which der_end()
 *	   then ignores)
 */
size_t der_begin(struct der *d, uint8_t tag)
{
	put_byte(d, tag);
	put_byte(d, 0); /* length placeholder, fixed up by der_end() */
	return d->err ? 0 : d->len;
}

/**
 * der_end() - Close the value opened by der_begin()
 * @d:    Writer
 * @mark: What that der_begin() returned; values close innermost first
 *
 * Contents of 128 bytes or more need a long-form length: they are moved
 * up to make room for it. Enclosing values' marks stay valid because they
 * lie before this one.
 */
void der_end(struct der *d, size_t mark)
{
	size_t n, k, i;

	if (d->err)
		return;
	if (mark < 2 || mark > d->len) {
		d->err = DER_E_VALUE;
		return;
	}
	n = d->len - mark;
	k = len_extra(n);
	if (!k) {
		d->buf[mark - 1] = (uint8_t)n;
		return;
	}
	if (k > 4) {
		d->err = DER_E_VALUE;
		return;
	}
	if (k > d->cap - d->len) {
		d->err = DER_E_SPACE;
		return;
	}
	memmove(d->buf + mark + k, d->buf + mark, n);
	d->buf[mark - 1] = (uint8_t)(0x80 | k);
	for (i = 0; i < k; i++)
		d->buf[mark + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
	d->len += k;
}

/**
 * der_raw() - Copy bytes that are already DER (a DN taken from a
 *	       certificate, a signature from BearSSL)
 * @d: Writer
 * @p: Bytes
 * @n: Their length
 */
void der_raw(struct der *d, const void *p, size_t n)
{
	if (n && !p) {
		if (!d->err)
			d->err = DER_E_VALUE;
		return;
	}
	put(d, p, n);
}

/**
 * der_tlv() - Write a primitive value
 * @d:   Writer
 * @tag: Tag byte
 * @p:   Contents
 * @n:   Their length
 */
void der_tlv(struct der *d, uint8_t tag, const void *p, size_t n)
{
	put_byte(d, tag);
	put_len(d, n);
	der_raw(d, p, n);
}

/**
 * der_int_bytes() - Write a non-negative INTEGER from big-endian bytes
 * @d: Writer
 * @p: Magnitude, big-endian, leading zeros allowed (they are dropped)
 * @n: Its length; 0 encodes zero
 *
 * A 0x00 is prepended when the first significant byte has its top bit
 * set, so the value stays positive (INTEGER 0x80 is 02 02 00 80).
 */
void der_int_bytes(struct der *d, const uint8_t *p, size_t n)
{
	static const uint8_t zero;
	size_t mark;

	if (n && !p) {
		if (!d->err)
			d->err = DER_E_VALUE;
		return;
	}
	while (n && p[0] == 0) {
		p++;
		n--;
	}
	if (!n) {
		der_tlv(d, DER_INTEGER, &zero, 1);
		return;
	}
	mark = der_begin(d, DER_INTEGER);
	if (p[0] & 0x80)
		put_byte(d, 0);
	put(d, p, n);
	der_end(d, mark);
}

/**
 * der_int() - Write a small non-negative INTEGER (version, pathLen)
 * @d: Writer
 * @v: Value
 */
void der_int(struct der *d, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
	der_int_bytes(d, b, sizeof(b));
}

/**
 * der_oid() - Write an OBJECT IDENTIFIER
 * @d:   Writer
 * @enc: Its contents octets, already encoded (constant tables)
 * @n:   Their length, at least 1
 */
void der_oid(struct der *d, const uint8_t *enc, size_t n)
{
	if (!n || (enc[n - 1] & 0x80)) { /* empty, or last arc unfinished */
		if (!d->err)
			d->err = DER_E_VALUE;
		return;
	}
	der_tlv(d, DER_OID, enc, n);
}

/**
 * der_utf8() - Write a UTF8String
 * @d: Writer
 * @s: Bytes (the caller vouches for UTF-8; NUL is refused)
 * @n: Their length
 */
void der_utf8(struct der *d, const char *s, size_t n)
{
	if (n && (!s || memchr(s, '\0', n))) {
		if (!d->err)
			d->err = DER_E_VALUE;
		return;
	}
	der_tlv(d, DER_UTF8STRING, s, n);
}

static int printable(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr(" '()+,-./:=?", c));
}

/**
 * der_printable() - Write a PrintableString
 * @d: Writer
 * @s: Characters; anything outside PrintableString's set is an error
 * @n: Their length
 */
void der_printable(struct der *d, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!printable((unsigned char)s[i])) {
			if (!d->err)
				d->err = DER_E_VALUE;
			return;
		}
	der_tlv(d, DER_PRINTABLE, s, n);
}

/**
 * der_ia5() - Write an IA5String, or an IMPLICIT-tagged one (a SAN's
 *	       dNSName is [2] IA5String)
 * @d:   Writer
 * @tag: DER_IA5STRING or a context tag
 * @s:   Characters, 7-bit, no NUL
 * @n:   Their length
 */
void der_ia5(struct der *d, uint8_t tag, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!s[i] || (unsigned char)s[i] >= 0x80) {
			if (!d->err)
				d->err = DER_E_VALUE;
			return;
		}
	der_tlv(d, tag, s, n);
}

/**
 * der_time() - Write a certificate validity time
 * @d: Writer
 * @t: Seconds since the Unix epoch
 *
 * RFC 5280 4.1.2.5: UTCTime for 1950 to 2049, GeneralizedTime otherwise,
 * both in UTC with seconds and a Z.
 */
void der_time(struct der *d, time_t t)
{
	char s[32];
	struct tm tm;
	long year;
	int n;

	if (d->err)
		return;
	if (!gmtime_r(&t, &tm)) {
		d->err = DER_E_VALUE;
		return;
	}
	year = (long)tm.tm_year + 1900;
	if (year >= 1950 && year <= 2049) {
		n = snprintf(s, sizeof(s), "%02ld%02d%02d%02d%02d%02dZ",
			     year % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			     tm.tm_min, tm.tm_sec);
		der_tlv(d, DER_UTCTIME, s, (size_t)n);
	} else if (year >= 0 && year <= 9999) {
		n = snprintf(s, sizeof(s), "%04ld%02d%02d%02d%02d%02dZ", year,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec);
		der_tlv(d, DER_GENTIME, s, (size_t)n);
	} else {
		d->err = DER_E_VALUE;
	}
}

/**
 * der_bits() - Write a BIT STRING of whole bytes (a public key, a signature)
 * @d: Writer
 * @p: Bytes
 * @n: Their length
 */
void der_bits(struct der *d, const void *p, size_t n)
{
	size_t mark = der_begin(d, DER_BIT_STRING);

	put_byte(d, 0); /* no unused bits */
	der_raw(d, p, n);
	der_end(d, mark);
}

/**
 * der_named_bits() - Write a named-bit-list BIT STRING (keyUsage)
 * @d:    Writer
 * @bits: Bit i set for named bit i (digitalSignature is 0, keyCertSign 5)
 *
 * DER (X.690 11.2.2) drops trailing zero bits: keyCertSign|cRLSign is
 * 03 02 01 06, digitalSignature alone 03 02 07 80.
 */
void der_named_bits(struct der *d, uint32_t bits)
{
	uint8_t b[5] = { 0 };
	int hi = -1, i;

	for (i = 0; i < 32; i++)
		if (bits & (1u << i)) {
			hi = i;
			b[1 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
		}
	if (hi < 0) {
		der_tlv(d, DER_BIT_STRING, b, 1);
		return;
	}
	b[0] = (uint8_t)(7 - hi % 8);
	der_tlv(d, DER_BIT_STRING, b, (size_t)hi / 8 + 2);
}

/**
 * der_octets() - Write an OCTET STRING
 * @d: Writer
 * @p: Bytes
 * @n: Their length
 */
void der_octets(struct der *d, const void *p, size_t n)
{
	der_tlv(d, DER_OCTET_STRING, p, n);
}

/**
 * der_bool() - Write a BOOLEAN (DER: TRUE is 0xff)
 * @d: Writer
 * @v: Value
 */
void der_bool(struct der *d, int v)
{
	uint8_t b = v ? 0xff : 0x00;

	der_tlv(d, DER_BOOLEAN, &b, 1);
}

/**
 * der_null() - Write a NULL
 * @d: Writer
 */
void der_null(struct der *d)
{
	der_tlv(d, DER_NULL, NULL, 0);
}
