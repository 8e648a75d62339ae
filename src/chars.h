/* SPDX-License-Identifier: MIT */
/*
 * chars.h - the character classes of the text protocols we parse (HTTP/1,
 * host names, authorities), once.
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

/**
 * ch_authority() - Split "host[:port]" or "[v6][:port]"
 * @s:    Bytes
 * @n:    Their count
 * @h:    Output: the host, brackets removed
 * @hl:   Output: its length
 * @port: Output: the port, 0 if none (set only on success)
 *
 * Checks the brackets (an IPv6 literal holds a ':') and the port (1 to 5
 * digits, 1..65535); what the host may be is the caller's.
 *
 * Return: 0, or -1 if invalid
 */
static inline int ch_authority(const uint8_t *s, size_t n, const uint8_t **h,
			       size_t *hl, uint16_t *port)
{
	const uint8_t *p;
	uint32_t v = 0;
	size_t i, pl;

	*port = 0;
	if (!n)
		return -1;
	if (s[0] == '[') {
		p = memchr(s, ']', n);
		if (!p)
			return -1;
		*h = s + 1;
		*hl = (size_t)(p - *h);
		if (!*hl || !memchr(*h, ':', *hl))
			return -1;
		p++;
	} else {
		p = memchr(s, ':', n);
		if (!p)
			p = s + n;
		*h = s;
		*hl = (size_t)(p - s);
	}
	if (p == s + n)
		return 0;
	pl = (size_t)(s + n - p);
	if (*p != ':' || pl < 2 || pl > 6)
		return -1;
	for (i = 1; i < pl; i++) {
		if (!ch_digit(p[i]))
			return -1;
		v = v * 10 + (uint32_t)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

#endif
