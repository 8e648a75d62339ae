/* SPDX-License-Identifier: MIT */
/*
 * bytes.h - big-endian (network order) loads and stores at any alignment.
 *
 * Byte by byte, so a packet buffer needs no alignment and no cast to a
 * header struct; the compiler turns each into one load or store and a
 * byte swap.  The caller has checked that the bytes are there (a bounded
 * read goes through cursor.h).
 */
#ifndef ISLO_BYTES_H
#define ISLO_BYTES_H

#include <stdint.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
