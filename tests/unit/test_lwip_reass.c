// SPDX-License-Identifier: MIT
/*
 * test_lwip_reass.c - lwIP's own reassembly keys on the input netif
 * (third_party/lwip/patches/0003): two netifs with the same addresses, as
 * two sandboxes have, each given one half of a datagram with the same
 * source, destination and ID, complete nothing; each completes its own.
 *
 * The gateway reassembles before lwIP (src/ipfrag.c), so this checks the
 * patch on its own, through ip4_input()/ip6_input() directly.
 */
#include "unit.h"

#include <string.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/ip6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

static int got[3];

static err_t out4(struct netif *n, struct pbuf *p, const ip4_addr_t *a)
{
	(void)n, (void)p, (void)a;
	return ERR_OK;
}

static err_t out6(struct netif *n, struct pbuf *p, const ip6_addr_t *a)
{
	(void)n, (void)p, (void)a;
	return ERR_OK;
}

static err_t nif_init(struct netif *n)
{
	n->output = out4;
	n->output_ip6 = out6;
	n->mtu = 1500;
	return ERR_OK;
}

static void on_udp(void *arg, struct udp_pcb *pcb, struct pbuf *p,
		   const ip_addr_t *addr, u16_t port)
{
	struct netif *in = ip_current_input_netif();

	(void)arg, (void)pcb, (void)addr, (void)port;
	if (in && netif_get_index(in) < 3)
		got[netif_get_index(in)]++;
	pbuf_free(p);
}

static uint16_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* 10.0.2.100:5000 -> 10.0.2.2:53, 40 bytes of UDP, split 16 + 24 */
static void feed4(struct netif *n, int second, uint16_t id)
{
	uint8_t udp[40], ip[20 + 24];
	uint32_t ps = 0x0a00 + 0x0264 + 0x0a00 + 0x0202 + 17 + 40;
	size_t off = second ? 16 : 0, len = second ? 24 : 16, i;
	uint16_t c;
	struct pbuf *p;

	memset(udp, 0x5a, sizeof(udp));
	udp[0] = 0x13, udp[1] = 0x88, udp[2] = 0, udp[3] = 53;
	udp[4] = 0, udp[5] = 40, udp[6] = udp[7] = 0;
	c = sum16(udp, 40, ps);
	udp[6] = (uint8_t)(c >> 8), udp[7] = (uint8_t)c;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[3] = (uint8_t)(20 + len);
	ip[4] = (uint8_t)(id >> 8), ip[5] = (uint8_t)id;
	ip[6] = second ? 0 : 0x20;
	ip[7] = (uint8_t)(off / 8);
	ip[8] = 64, ip[9] = 17;
	ip[12] = 10, ip[14] = 2, ip[15] = 100;
	ip[16] = 10, ip[18] = 2, ip[19] = 2;
	c = sum16(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	for (i = 0; i < len; i++)
		ip[20 + i] = udp[off + i];
	p = pbuf_alloc(PBUF_RAW, (u16_t)(20 + len), PBUF_RAM);
	REQUIRE(p);
	pbuf_take(p, ip, (u16_t)(20 + len));
	ip4_input(p, n);
}

/* fd00::100:5000 -> fd00::2:53, 40 bytes of UDP in two fragments */
static void feed6(struct netif *n, int second, uint32_t id)
{
	static const uint8_t src[16] = { 0xfd, [14] = 1, [15] = 0 };
	static const uint8_t dst[16] = { 0xfd, [15] = 2 };
	uint8_t udp[40], ip[40 + 8 + 24];
	uint32_t ps = 17 + 40;
	size_t off = second ? 16 : 0, len = second ? 24 : 16, i;
	uint16_t c;
	struct pbuf *p;

	for (i = 0; i < 16; i += 2)
		ps += (uint32_t)(src[i] << 8 | src[i + 1]) +
		      (uint32_t)(dst[i] << 8 | dst[i + 1]);
	memset(udp, 0x5a, sizeof(udp));
	udp[0] = 0x13, udp[1] = 0x88, udp[2] = 0, udp[3] = 53;
	udp[4] = 0, udp[5] = 40, udp[6] = udp[7] = 0;
	c = sum16(udp, 40, ps);
	udp[6] = (uint8_t)(c >> 8), udp[7] = (uint8_t)c;
	memset(ip, 0, 48);
	ip[0] = 0x60;
	ip[5] = (uint8_t)(8 + len);
	ip[6] = 44, ip[7] = 64;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	ip[40] = 17;
	ip[42] = (uint8_t)(off >> 8);
	ip[43] = (uint8_t)(off | (second ? 0 : 1));
	ip[44] = (uint8_t)(id >> 24), ip[45] = (uint8_t)(id >> 16);
	ip[46] = (uint8_t)(id >> 8), ip[47] = (uint8_t)id;
	for (i = 0; i < len; i++)
		ip[48 + i] = udp[off + i];
	p = pbuf_alloc(PBUF_RAW, (u16_t)(48 + len), PBUF_RAM);
	REQUIRE(p);
	pbuf_take(p, ip, (u16_t)(48 + len));
	ip6_input(p, n);
}

TEST(lwip_reassembly_is_per_netif)
{
	static struct netif a, b;
	ip4_addr_t addr, mask, gw;
	ip6_addr_t a6;
	struct udp_pcb *pcb;

	lwip_init();
	IP4_ADDR(&addr, 10, 0, 2, 2);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	IP4_ADDR(&gw, 0, 0, 0, 0);
	REQUIRE(netif_add(&a, &addr, &mask, &gw, NULL, nif_init, ip_input));
	REQUIRE(netif_add(&b, &addr, &mask, &gw, NULL, nif_init, ip_input));
	REQUIRE(netif_get_index(&a) == 1 && netif_get_index(&b) == 2);
	IP6_ADDR(&a6, PP_HTONL(0xfd000000), 0, 0, PP_HTONL(2));
	netif_ip6_addr_set(&a, 0, &a6);
	netif_ip6_addr_set_state(&a, 0, IP6_ADDR_VALID);
	netif_ip6_addr_set(&b, 0, &a6);
	netif_ip6_addr_set_state(&b, 0, IP6_ADDR_VALID);
	netif_set_up(&a);
	netif_set_up(&b);
	netif_set_link_up(&a);
	netif_set_link_up(&b);
	pcb = udp_new_ip_type(IPADDR_TYPE_ANY);
	REQUIRE(pcb);
	REQUIRE(udp_bind(pcb, IP_ANY_TYPE, 53) == ERR_OK);
	udp_recv(pcb, on_udp, NULL);

	/* IPv4: halves on two netifs complete nothing... */
	feed4(&a, 0, 7);
	feed4(&b, 1, 7);
	CHECK(got[1] == 0 && got[2] == 0);
	/* ...each netif completes its own */
	feed4(&a, 1, 7);
	CHECK(got[1] == 1 && got[2] == 0);
	feed4(&b, 0, 7);
	CHECK(got[1] == 1 && got[2] == 1);

	/* IPv6: the same */
	feed6(&a, 0, 9);
	feed6(&b, 1, 9);
	CHECK(got[1] == 1 && got[2] == 1);
	feed6(&a, 1, 9);
	CHECK(got[1] == 2 && got[2] == 1);
	feed6(&b, 0, 9);
	CHECK(got[1] == 2 && got[2] == 2);

	udp_remove(pcb);
	netif_remove(&a);
	netif_remove(&b);
}
