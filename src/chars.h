/* SPDX-License-Identifier: MIT */
/*
 * chars.h - the character classes of the text protocols we parse (HTTP/1,
 * host names), once.
 *
 * ASCII only, whatever the locale: <ctype.h> would follow setlocale() and
 * take a negative char as undefined behaviour.  Static inline: they run
 * per byte in the parsers' loops.
 */
#ifndef ISLO_CHARS_H
#define ISLO_CHARS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int ch_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 'a' - 'A' : c;
}

static inline int ch_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* The value of a hex digit (either case), or -1 */
static inline int ch_hexval(int c)
{
	if (ch_digit(c))
		return c - '0';
	c = ch_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 9110 5.6.2 tchar */
static inline int ch_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || ch_digit(c))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field value bytes: VCHAR, obs-text, SP, HTAB */
static inline int ch_vbyte(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Request-target bytes: VCHAR */
static inline int ch_tbyte(uint8_t c)
{
	return c > 0x20 && c < 0x7f;
}

/* RFC 3986 2.3 unreserved */
static inline int ch_unreserved(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       ch_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/**
 * ch_labels_ok() - Are these the labels of a host name, lowercased?
 * @s: Name, without a trailing dot
 * @n: Its length
 *
 * Labels of 1..63 bytes of [a-z0-9_-] separated by single dots.  The
 * caller bounds the whole name.
 *
 * Return: 1 if so, 0 if not
 */
static inline int ch_labels_ok(const char *s, size_t n)
{
	size_t i, lab = 0;

	for (i = 0; i <= n; i++) {
		char c = i < n ? s[i] : '.';

		if (c == '.') {
			if (lab == 0 || lab > 63)
				return 0;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || ch_digit(c) || c == '-' ||
		      c == '_'))
			return 0;
		lab++;
	}
	return 1;
}

#endif
