// SPDX-License-Identifier: MIT
/* frame.c - frames we build ourselves; see frame.h. */
#include "frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bytes.h"

uint32_t csum_add(uint32_t s, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)(p[len - 1] << 8);
	/* fold as we go so a long buffer cannot overflow 32 bits */
	while (s >> 24)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * Ethernet and IP headers for an IP payload of @l4len bytes of protocol
 * @proto; returns the header length, or 0 if it does not fit.  *@pseudo
 * gets the sum of the pseudo-header's addresses (what the transport's
 * checksum starts from).
 */
static size_t ip_frame(uint8_t *buf, size_t size, const uint8_t *dst_mac,
		       const uint8_t *src_mac, const struct ipaddr *src,
		       const struct ipaddr *dst, uint8_t proto, size_t l4len,
		       uint32_t *pseudo)
{
	size_t hl = src->family == AF_INET ? 20 : 40;
	uint8_t *h = buf + ETH_HDR_LEN;

	if (l4len > 65535 - hl || ETH_HDR_LEN + hl + l4len > size)
		return 0;
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	wr16(buf + 12, src->family == AF_INET ? 0x0800 : 0x86dd);
	memset(h, 0, hl);
	if (src->family == AF_INET) {
		h[0] = 0x45;
		wr16(h + 2, (uint16_t)(hl + l4len));
		h[8] = 64;
		h[9] = proto;
		memcpy(h + 12, src->a, 4);
		memcpy(h + 16, dst->a, 4);
		wr16(h + 10, csum_fold(csum_add(0, h, 20)));
		*pseudo = csum_add(0, h + 12, 8);
	} else {
		h[0] = 0x60;
		wr16(h + 4, (uint16_t)l4len);
		h[6] = proto;
		h[7] = 64;
		memcpy(h + 8, src->a, 16);
		memcpy(h + 24, dst->a, 16);
		*pseudo = csum_add(0, h + 8, 32);
	}
	return ETH_HDR_LEN + hl;
}

size_t frame_udp(uint8_t *buf, size_t size, const uint8_t *dst_mac,
		 const uint8_t *src_mac, const struct ipaddr *src,
		 uint16_t sport, const struct ipaddr *dst, uint16_t dport,
		 const uint8_t *data, size_t len)
{
	uint32_t sum;
	size_t off;
	uint8_t *u;

	if (len > 65535 - 8)
		return 0;
	off = ip_frame(buf, size, dst_mac, src_mac, src, dst, 17, 8 + len,
		       &sum);
	if (!off)
		return 0;
	u = buf + off;
	memmove(u + 8, data, len);
	wr16(u, sport);
	wr16(u + 2, dport);
	wr16(u + 4, (uint16_t)(8 + len));
	wr16(u + 6, 0);
	sum += 17 + (uint32_t)(8 + len);
	sum = csum_fold(csum_add(sum, u, 8 + len));
	wr16(u + 6, sum ? (uint16_t)sum : 0xffff);
	return off + 8 + len;
}

size_t frame_icmp(uint8_t *buf, size_t size, const uint8_t *dst_mac,
		  const uint8_t *src_mac, const struct ipaddr *src,
		  const struct ipaddr *dst, const uint8_t *msg, size_t len)
{
	uint32_t sum;
	size_t off;
	uint8_t *m;
	int v6 = src->family == AF_INET6;

	if (len < 4)
		return 0;
	off = ip_frame(buf, size, dst_mac, src_mac, src, dst, v6 ? 58 : 1,
		       len, &sum);
	if (!off)
		return 0;
	m = buf + off;
	memmove(m, msg, len);
	wr16(m + 2, 0);
	/* ICMPv6's checksum covers the pseudo-header, ICMP's does not */
	sum = v6 ? sum + 58 + (uint32_t)len : 0;
	wr16(m + 2, csum_fold(csum_add(sum, m, len)));
	return off + len;
}

/**
 * sockaddr_parse() - Parse "ADDR[:PORT]" (IPv6 as "[ADDR]:PORT" or bare)
 * @s:       The text
 * @defport: Port when none is given
 * @ss:      Filled with the address
 * @len:     Filled with its length
 * Return: 0, or -1 if @s is not an IP literal with an optional port
 */
int sockaddr_parse(const char *s, uint16_t defport, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL;
	unsigned long p = defport;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (!e || (size_t)(e - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = '\0';
		if (e[1] == ':')
			port = e + 2;
		else if (e[1])
			return -1;
	} else {
		const char *c = strchr(s, ':');
		size_t l = strlen(s);

		if (c && strchr(c + 1, ':'))
			c = NULL; /* a bare IPv6 address */
		if (l >= sizeof(host))
			return -1;
		memcpy(host, s, l + 1);
		if (c) {
			host[c - s] = '\0';
			port = c + 1;
		}
	}
	if (port) {
		char *end;

		errno = 0;
		p = strtoul(port, &end, 10);
		if (errno || *end || !*port || p == 0 || p > 65535)
			return -1;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}
