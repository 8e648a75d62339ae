/* SPDX-License-Identifier: MIT */
/*
 * frame.h - building the few frames we write to a sandbox ourselves
 * (UDP replies, ICMP errors) and the Internet checksum (RFC 1071).
 */
#ifndef ISLO_FRAME_H
#define ISLO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define ETH_HDR_LEN 14

/* An address as the policy, the audit log and the frame builders see it. */
struct ipaddr {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t a[16];          /* 4 or 16 bytes used */
};

uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t csum_fold(uint32_t sum);

/**
 * frame_udp() - Build an Ethernet + IPv4/IPv6 + UDP frame
 * @buf:     Output
 * @size:    Its size
 * @dst_mac: Destination MAC
 * @src_mac: Source MAC
 * @src:     Source address (its family decides IPv4 or IPv6)
 * @sport:   Source port
 * @dst:     Destination address, same family
 * @dport:   Destination port
 * @data:    Payload
 * @len:     Its length
 * Return: the frame's length, 0 if it does not fit @size
 */
size_t frame_udp(uint8_t *buf, size_t size, const uint8_t *dst_mac,
		 const uint8_t *src_mac, const struct ipaddr *src,
		 uint16_t sport, const struct ipaddr *dst, uint16_t dport,
		 const uint8_t *data, size_t len);

/**
 * frame_icmp() - Build an Ethernet + IPv4/IPv6 + ICMP/ICMPv6 frame
 * @buf:     Output
 * @size:    Its size
 * @dst_mac: Destination MAC
 * @src_mac: Source MAC
 * @src:     Source address (its family decides ICMP or ICMPv6)
 * @dst:     Destination address, same family
 * @msg:     The ICMP message from its type byte on (checksum recomputed)
 * @len:     Its length, at least 4
 * Return: the frame's length, 0 if it does not fit @size
 */
size_t frame_icmp(uint8_t *buf, size_t size, const uint8_t *dst_mac,
		  const uint8_t *src_mac, const struct ipaddr *src,
		  const struct ipaddr *dst, const uint8_t *msg, size_t len);

#include <sys/socket.h>

int sockaddr_parse(const char *s, uint16_t defport, struct sockaddr_storage *ss,
		   socklen_t *len);

#endif
