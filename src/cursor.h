/* SPDX-License-Identifier: MIT */
/*
 * cursor.h - bounds-checked reading and writing of wire formats, with a
 * sticky error.
 *
 * Every read of untrusted bytes (DNS, DHCP, PostgreSQL messages) goes
 * through a struct cursor: a read past the end sets the error, returns
 * zeroes (or NULL for a run of bytes) and leaves the offset where it was,
 * so a parser reads a whole header and checks the error once, never
 * touching a byte it was not given.  Once set, the error stays: every
 * later read fails too.
 *
 * A struct wcursor is the same for output into a caller's buffer: a write
 * that does not fit sets the error and writes nothing, so a reply is
 * either whole or reported as not fitting.
 *
 * Static inline: these run per byte in the parsers' loops.
 */
#ifndef ISLO_CURSOR_H
#define ISLO_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/**
 * struct cursor - a reader over a const buffer
 * @p:   The bytes
 * @len: How many
 * @off: Bytes read so far
 * @err: Sticky: a read went past @len
 */
struct cursor {
	const uint8_t *p;
	size_t len, off;
	int err;
};

static inline void cur_init(struct cursor *c, const uint8_t *p, size_t len)
{
	*c = (struct cursor){ .p = p, .len = p ? len : 0 };
}

/* Bytes left to read (0 once the error is set). */
static inline size_t cur_left(const struct cursor *c)
{
	return c->err ? 0 : c->len - c->off;
}

/* @n bytes in place, or NULL (and the error) if fewer are left. */
static inline const uint8_t *cur_bytes(struct cursor *c, size_t n)
{
	const uint8_t *b;

	if (c->err || n > c->len - c->off) {
		c->err = 1;
		return NULL;
	}
	b = c->p + c->off;
	c->off += n;
	return b;
}

/* 1 if every byte was read, without error. */
static inline int cur_end(const struct cursor *c)
{
	return !c->err && c->off == c->len;
}

static inline void cur_skip(struct cursor *c, size_t n)
{
	cur_bytes(c, n);
}

static inline uint8_t cur_u8(struct cursor *c)
{
	const uint8_t *b = cur_bytes(c, 1);

	return b ? b[0] : 0;
}

static inline uint16_t cur_be16(struct cursor *c)
{
	const uint8_t *b = cur_bytes(c, 2);

	return b ? (uint16_t)(b[0] << 8 | b[1]) : 0;
}

static inline uint32_t cur_be32(struct cursor *c)
{
	const uint8_t *b = cur_bytes(c, 4);

	return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		   (uint32_t)b[2] << 8 | b[3] : 0;
}

/**
 * struct wcursor - a writer into a caller's buffer
 * @p:   The buffer
 * @len: Its size
 * @off: Bytes written so far
 * @err: Sticky: a write did not fit (and was not made)
 */
struct wcursor {
	uint8_t *p;
	size_t len, off;
	int err;
};

static inline void wcur_init(struct wcursor *w, uint8_t *p, size_t len)
{
	*w = (struct wcursor){ .p = p, .len = p ? len : 0 };
}

/* Room left (0 once the error is set). */
static inline size_t wcur_left(const struct wcursor *w)
{
	return w->err ? 0 : w->len - w->off;
}

static inline void wcur_bytes(struct wcursor *w, const void *b, size_t n)
{
	if (w->err || n > w->len - w->off) {
		w->err = 1;
		return;
	}
	if (n)
		memcpy(w->p + w->off, b, n);
	w->off += n;
}

static inline void wcur_u8(struct wcursor *w, uint8_t v)
{
	wcur_bytes(w, &v, 1);
}

static inline void wcur_be16(struct wcursor *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	wcur_bytes(w, b, 2);
}

static inline void wcur_be32(struct wcursor *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 8), (uint8_t)v };

	wcur_bytes(w, b, 4);
}

#endif
