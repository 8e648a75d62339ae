// SPDX-License-Identifier: MIT
/* test_frame.c - frame builders and address parsing. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "frame.h"
#include "unit.h"

TEST(sockaddr_parse_forms)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t l;

	REQUIRE(sockaddr_parse("127.0.0.1", 53, &ss, &l) == 0);
	CHECK(ss.ss_family == AF_INET && ntohs(s4->sin_port) == 53 && l == sizeof(*s4));
	REQUIRE(sockaddr_parse("127.0.0.2:5353", 53, &ss, &l) == 0);
	CHECK(ntohs(s4->sin_port) == 5353 && s4->sin_addr.s_addr == htonl(0x7f000002));
	REQUIRE(sockaddr_parse("[::1]:99", 53, &ss, &l) == 0);
	CHECK(ss.ss_family == AF_INET6 && ntohs(s6->sin6_port) == 99 && l == sizeof(*s6));
	REQUIRE(sockaddr_parse("::1", 53, &ss, &l) == 0);
	CHECK(ss.ss_family == AF_INET6 && ntohs(s6->sin6_port) == 53);
}

TEST(sockaddr_parse_refuses)
{
	static const char *const bad[] = {
		"", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:", "1.2.3.4:x",
		"host.example:53", "[::1", "[::1]x", "[::1]:", "1.2.3", "[1.2.3.4]:53x",
		"1.2.3.4:-1", "[]:53",
	};
	struct sockaddr_storage ss;
	socklen_t l;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = sockaddr_parse(bad[i], 53, &ss, &l);

		if (r != -1)
			fprintf(stderr, "accepted: '%s'\n", bad[i]);
		CHECK(r == -1);
	}
}

TEST(frame_udp_checksums)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct ipaddr a = { .family = AF_INET, .a = { 10, 0, 2, 3 } };
	struct ipaddr b = { .family = AF_INET, .a = { 10, 0, 2, 100 } };
	uint8_t out[128], data[3] = { 'a', 'b', 'c' };
	size_t n = frame_udp(out, sizeof(out), mac, mac, &a, 53, &b, 5353, data, 3);
	uint32_t s;

	REQUIRE(n == 14 + 20 + 8 + 3);
	CHECK(csum_fold(csum_add(0, out + 14, 20)) == 0);    /* IP header */
	s = csum_add(0, out + 14 + 12, 8) + 17 + 11;          /* pseudo header */
	CHECK(csum_fold(csum_add(s, out + 34, 11)) == 0);    /* UDP */
	CHECK(frame_udp(out, 40, mac, mac, &a, 53, &b, 5353, data, 3) == 0);
}

TEST(frame_icmp_checksums)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct ipaddr a = { .family = AF_INET, .a = { 198, 51, 100, 2 } };
	struct ipaddr b = { .family = AF_INET, .a = { 10, 0, 2, 100 } };
	struct ipaddr a6 = { .family = AF_INET6, .a = { 0xfd, 0x99, [15] = 2 } };
	struct ipaddr b6 = { .family = AF_INET6, .a = { 0xfd, 0, [15] = 0x64 } };
	/* an echo reply, its checksum field left wrong on purpose */
	uint8_t msg[12] = { 0, 0, 0xde, 0xad, 0x42, 0x42, 0, 7, 'i', 's', 'l', 'o' };
	uint8_t out[128];
	size_t n = frame_icmp(out, sizeof(out), mac, mac, &a, &b, msg, 12);
	uint32_t s;

	REQUIRE(n == 14 + 20 + 12);
	CHECK(out[14 + 9] == 1 && out[14 + 8] == 64);
	CHECK(csum_fold(csum_add(0, out + 14, 20)) == 0);    /* IP header */
	CHECK(csum_fold(csum_add(0, out + 34, 12)) == 0);    /* ICMP, no pseudo */
	CHECK(out[34 + 4] == 0x42 && out[34 + 11] == 'o');
	msg[0] = 129;
	n = frame_icmp(out, sizeof(out), mac, mac, &a6, &b6, msg, 12);
	REQUIRE(n == 14 + 40 + 12);
	CHECK(out[14 + 6] == 58);
	s = csum_add(0, out + 14 + 8, 32) + 58 + 12;          /* pseudo header */
	CHECK(csum_fold(csum_add(s, out + 54, 12)) == 0);    /* ICMPv6 */
	CHECK(frame_icmp(out, 60, mac, mac, &a6, &b6, msg, 12) == 0);
	CHECK(frame_icmp(out, sizeof(out), mac, mac, &a, &b, msg, 3) == 0);
}
