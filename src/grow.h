/* SPDX-License-Identifier: MIT */
/*
 * grow.h - a heap buffer that doubles until what it must hold fits.
 *
 * For text built up piece by piece (control answers, PEM bundles): one
 * realloc() per doubling, so appending n bytes costs O(n) overall.
 */
#ifndef ISLO_GROW_H
#define ISLO_GROW_H

#include <stddef.h>
#include <stdlib.h>

/**
 * grow() - Make a buffer hold @need bytes
 * @p:     The buffer, or NULL
 * @cap:   In/out: its size (0 with NULL)
 * @need:  Bytes it must hold
 * @first: Size of the first allocation
 * @max:   Refuse to double a size over this (0: no bound)
 * Return: the buffer, moved or not, @cap updated; NULL if out of memory
 * or over @max (@p then still valid and @cap unchanged)
 */
static inline void *grow(void *p, size_t *cap, size_t need, size_t first,
			 size_t max)
{
	size_t c = *cap ? *cap : first;
	void *np;

	if (p && need <= *cap)
		return p;
	while (c < need) {
		if (max && c > max)
			return NULL;
		c *= 2;
	}
	np = realloc(p, c);
	if (np)
		*cap = c;
	return np;
}

#endif
