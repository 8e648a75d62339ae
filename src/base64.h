/* SPDX-License-Identifier: MIT */
/*
 * base64.h - base64 (RFC 4648 4, with padding), for credentials (HTTP
 * Basic) and SCRAM's attributes.
 *
 * The decoder is strict: whole groups of four, padding only at the end,
 * the bits padding leaves over zero (one encoding per value), no white
 * space.
 */
#ifndef ISLO_BASE64_H
#define ISLO_BASE64_H

#include <stddef.h>
#include <stdint.h>

/**
 * b64_encode() - Encode bytes
 * @in:  Bytes
 * @len: Their count
 * @out: Output, NUL-terminated
 * @cap: Its size: at least 4 * ((@len + 2) / 3) + 1
 * Return: the length of @out, or 0 if it does not fit (nothing written)
 */
size_t b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/**
 * b64_decode() - Decode a base64 string
 * @in:  Characters (not NUL-terminated)
 * @len: Their count, a multiple of 4
 * @out: Output bytes
 * @cap: Its size
 * Return: bytes decoded, or -1 if @in is not canonical base64 or does not
 * fit @cap
 */
long b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
