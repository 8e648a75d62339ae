/* SPDX-License-Identifier: MIT */
/*
 * lwipopts.h - how islo-net builds lwIP 2.1.3.
 *
 * One thread, no OS layer (NO_SYS=1): gw.c owns the epoll loop, feeds
 * frames in and runs sys_check_timeouts() from a timerfd.  Only the raw
 * (callback) API is used.  Memory comes from the C allocator so the number
 * of connections is bounded by our own per-sandbox limits, not by pools
 * sized at compile time.  TCP is sized for the 65520-byte MTU that
 * namespaces use by default: MSS up to 65480, window scaling on.
 */
#ifndef ISLO_LWIPOPTS_H
#define ISLO_LWIPOPTS_H

#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_TIMERS                 1
#define LWIP_NETCONN                0
#define LWIP_SOCKET                 0
#define LWIP_RAW                    0
#define LWIP_DHCP                   0
#define LWIP_AUTOIP                 0
#define LWIP_IGMP                   0
#define LWIP_DNS                    0
#define LWIP_ARP                    0  /* we write Ethernet headers ourselves */
#define LWIP_ETHERNET               0
/* one netif per sandbox: `islo-net serve` runs many in one stack.  What a
 * packet from a sandbox makes lwIP send without a pcb of its own (an RST,
 * an ICMP error) leaves by that sandbox's netif: gw.c's routing hook. */
#define LWIP_SINGLE_NETIF           0
#define SO_REUSE                    1  /* a DNS pcb on port 53 per netif */
struct netif;
struct netif *islo_input_netif(void);
#define LWIP_HOOK_IP4_ROUTE_SRC(src, dest) islo_input_netif()
#define LWIP_HOOK_IP6_ROUTE(src, dest)     islo_input_netif()
#define LWIP_NETIF_STATUS_CALLBACK  0
#define LWIP_NETIF_LINK_CALLBACK    0
#define LWIP_HAVE_LOOPIF            0
#define LWIP_NETIF_LOOPBACK         0
#define LWIP_STATS                  0
#define LWIP_CALLBACK_API           1
#define LWIP_EVENT_API              0

#define LWIP_IPV4                   1
#define LWIP_IPV6                   1
#define LWIP_IPV6_MLD               0
#define LWIP_IPV6_AUTOCONFIG        0
#define LWIP_IPV6_DHCP6             0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT 0
#define LWIP_ND6_ALLOW_RA_UPDATES   0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS 0
#define LWIP_ICMP6_DATASIZE         8
#define IP_REASSEMBLY               1
#define IP_FRAG                     0
#define LWIP_IPV6_REASS             1
#define IPV6_FRAG_COPYHEADER        1  /* 64-bit pointers do not fit the fragment header */
#define LWIP_IPV6_FRAG              0
#define IP_REASS_MAX_PBUFS          256
#define IP_DEFAULT_TTL              64
#define LWIP_ICMP                   1
#define LWIP_UDP                    1
#define LWIP_TCP                    1

/* Memory: the C allocator. */
#define MEM_LIBC_MALLOC             1
#define MEMP_MEM_MALLOC             1
#define MEM_ALIGNMENT               8
#define MEMP_NUM_TCP_PCB            65535
#define MEMP_NUM_TCP_PCB_LISTEN     4
#define MEMP_NUM_UDP_PCB            256
#define MEMP_NUM_TCP_SEG            65535
#define MEMP_NUM_REASSDATA          64
#define MEMP_NUM_FRAG_PBUF          64
#define MEMP_NUM_SYS_TIMEOUT        16
#define PBUF_POOL_SIZE              64
#define PBUF_POOL_BUFSIZE           1600

/* TCP sized for large MTUs. */
#define TCP_MSS                     65480
#define LWIP_WND_SCALE              1
#define TCP_RCV_SCALE               5
#define TCP_WND                     (1024 * 1024)
#define TCP_SND_BUF                 (1024 * 1024)
#define TCP_SND_QUEUELEN            2048  /* enough segments for TCP_SND_BUF at MSS 1460 */
#define TCP_SNDLOWAT                (TCP_SND_BUF / 4)
#define TCP_SNDQUEUELOWAT           (TCP_SND_QUEUELEN / 2)
#define TCP_OVERSIZE                TCP_MSS
#define TCP_QUEUE_OOSEQ             1
#define TCP_OOSEQ_MAX_BYTES         (2 * 1024 * 1024)
#define TCP_OOSEQ_MAX_PBUFS         256
#define LWIP_TCP_SACK_OUT           0
/* Our patch (third_party/lwip/patches/0002): fill a window smaller than
 * one segment at once rather than from the persist timer. */
#define LWIP_TCP_SPLIT_TO_WINDOW    1
/* lwIP's SYN_RCVD pcbs per listener (= per sandbox) are bounded: 255
 * (gw.c), behind flow.c's smaller half-open queue */
#define TCP_LISTEN_BACKLOG          1
#define LWIP_TCP_TIMESTAMPS         0
/* off: the SYN's MSS, clamped or raised by link_syn_mss(), decides */
#define TCP_CALCULATE_EFF_SEND_MSS  0
#define LWIP_TCP_KEEPALIVE          1
#define TCP_MAXRTX                  8
#define TCP_SYNMAXRTX               4
#define LWIP_TCP_PCB_NUM_EXT_ARGS   0
/* lwIP's sanity checks assume 16-bit windows ("TCP_SNDLOWAT must be 4*MSS
 * below u16_t overflow"), which no MSS near 64 KiB can meet; with
 * LWIP_WND_SCALE the window and send-buffer counters are 32-bit, so the
 * check does not apply.  The remaining checks hold by construction above. */
#define LWIP_DISABLE_TCP_SANITY_CHECKS 1

/* Checksums: generated and checked in software, but see TAP offload. */
/* our checksum routine (chksum.c, beside this file): 64-bit accumulation */
#include <stdint.h>
uint16_t islo_chksum(const void *dataptr, int len);
#define LWIP_CHKSUM                 islo_chksum
/* per netif: with TAP checksum offload (IFF_VNET_HDR), no TCP sums */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
#define CHECKSUM_GEN_IP             1
#define CHECKSUM_GEN_UDP            1
#define CHECKSUM_GEN_TCP            1
#define CHECKSUM_GEN_ICMP           1
#define CHECKSUM_GEN_ICMP6          1
#define CHECKSUM_CHECK_IP           1
#define CHECKSUM_CHECK_UDP          1
#define CHECKSUM_CHECK_TCP          1
#define CHECKSUM_CHECK_ICMP         1
#define CHECKSUM_CHECK_ICMP6        1
#define LWIP_CHECKSUM_ON_COPY       1
/* ... computed while tcp_write() copies, unless the segment's netif does
 * not generate TCP checksums (TAP offload): gw_tcp_write() says which */
extern int islo_chksum_copy_off;
uint16_t islo_chksum_copy(void *dst, const void *src, uint16_t len);
#define LWIP_CHKSUM_COPY(dst, src, len) islo_chksum_copy(dst, src, len)

/* Our patch (third_party/lwip/patches/0001): terminate every destination
 * address and every port on the sandbox's netif. */
#define LWIP_IP_ACCEPT_ANY_DEST(netif)     1
#define TCP_LISTEN_PORT_MATCH(lpcb, port)  1

/* the C library has htons() and friends; lwIP must not redefine them */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1

#define LWIP_DEBUG                  0
#define LWIP_NOASSERT_ON_ERROR      1

#endif
