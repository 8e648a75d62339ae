/* SPDX-License-Identifier: MIT */
/*
 * dhcp.h - a DHCPv4 server for the one guest on a point-to-point sandbox
 * link (RFC 2131, options RFC 2132), so that an unmodified VM guest running
 * udhcpc, dhclient or systemd-networkd configures itself.
 */
#ifndef ISLO_DHCP_H
#define ISLO_DHCP_H

#include <stddef.h>
#include <stdint.h>

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

/* Message types, option 53 */
#define DHCP_DISCOVER 1
#define DHCP_OFFER    2
#define DHCP_REQUEST  3
#define DHCP_DECLINE  4
#define DHCP_ACK      5
#define DHCP_NAK      6
#define DHCP_RELEASE  7
#define DHCP_INFORM   8

/* Fixed BOOTP header, then the magic cookie, then options */
#define DHCP_HDR_LEN  236
#define DHCP_OPTS_OFF 240
/* Replies are padded to the BOOTP minimum (RFC 1542 2.1) ... */
#define DHCP_REPLY_MIN 300
/* ... and never exceed what every client accepts: a 576-byte IP datagram
 * less the IPv4 and UDP headers (RFC 2131 2) */
#define DHCP_REPLY_MAX 548

/* The server's configuration: everything it knows, no lease table */
struct dhcp_cfg {
	uint8_t server_mac[6];
	uint8_t server_ip[4];   /* 10.0.2.2: also the router option */
	uint8_t dns_ip[4];      /* 10.0.2.3 */
	uint8_t guest_ip[4];    /* 10.0.2.100: the only address handed out */
	uint8_t netmask[4];     /* 255.255.255.0 */
	uint16_t mtu;           /* option 26; below 68 it is not sent */
	uint32_t lease_secs;    /* e.g. 86400 */
	const char *domain;     /* option 15, may be NULL; 1..255 bytes */
};

/**
 * dhcp_reply() - Answer one BOOTREQUEST from the guest
 * @c:      Server configuration
 * @req:    UDP payload of a datagram to port 67 (the BOOTP message)
 * @len:    Its length
 * @out:    Reply UDP payload, to send from server_ip:67 to @dst_ip:68;
 *          must not overlap @req
 * @outlen: Size of @out; DHCP_REPLY_MAX is always enough
 * @dst_ip: Destination of the reply: 255.255.255.255 for a NAK or when
 *          the client set the broadcast flag, ciaddr when the client has
 *          an address, yiaddr otherwise (the caller sends the frame to the
 *          request's source MAC: no ARP is needed on this link)
 *
 * DISCOVER gets an OFFER of guest_ip; REQUEST (selecting, init-reboot,
 * renewing, rebinding) for guest_ip gets an ACK, for another address a NAK;
 * a REQUEST naming another server id is ignored (the client chose that
 * server); INFORM gets an ACK with the configuration but no address or
 * lease; RELEASE and DECLINE need no answer (the one address stays the
 * guest's). Relayed messages (giaddr set), non-Ethernet clients, malformed
 * option areas and plain BOOTP are ignored.
 *
 * Return: length of the reply written to @out, 0 if nothing is to be sent
 */
size_t dhcp_reply(const struct dhcp_cfg *c, const uint8_t *req, size_t len,
		  uint8_t *out, size_t outlen, uint8_t dst_ip[4]);

#endif
