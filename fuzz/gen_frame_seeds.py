#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write seed inputs for fuzz_frames: frames a sandbox sends, each prefixed
by its 2-byte length.  Run from the repository root."""
import os
import struct

OUT = "fuzz/corpus/fuzz_frames"
GW_MAC = bytes.fromhex("52550a000202")
ME_MAC = bytes.fromhex("020000000064")
ME4, GW4, DNS4 = bytes([10, 0, 2, 100]), bytes([10, 0, 2, 2]), bytes([10, 0, 2, 3])
ME6 = bytes.fromhex("fd000000000000000000000000000100")
DNS6 = bytes.fromhex("fd000000000000000000000000000003")
LO = bytes([127, 0, 0, 1])
SYN4 = bytes([198, 18, 0, 1])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(t, payload, dst=GW_MAC):
    return dst + ME_MAC + struct.pack("!H", t) + payload


def ip4(proto, src, dst, payload, frag=0, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return eth(0x0800, h + payload)


def ip6(nh, src, dst, payload):
    return eth(0x86DD, struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64, src, dst) + payload)


def udp4(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    ph = src + dst + struct.pack("!BBH", 0, 17, len(u))
    c = csum(ph + u)
    return ip4(17, src, dst, u[:6] + struct.pack("!H", c or 0xFFFF) + u[8:])


def udp6(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    ph = src + dst + struct.pack("!IxxxB", len(u), 17)
    c = csum(ph + u)
    return ip6(17, src, dst, u[:6] + struct.pack("!H", c or 0xFFFF) + u[8:])


def tcp4(src, dst, sport, dport, flags, seq=1000, ack=0, data=b""):
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    c = csum(src + dst + struct.pack("!BBH", 0, 6, len(t)) + t)
    return ip4(6, src, dst, t[:16] + struct.pack("!H", c) + t[18:])


def dnsq(name, qtype=1, ident=0x1234):
    q = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def arp(target):
    return eth(0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, ME_MAC, ME4, b"\0" * 6, target),
               dst=b"\xff" * 6)


def ns(target):
    icmp = struct.pack("!BBHI16s", 135, 0, 0, 0, target) + bytes([1, 1]) + ME_MAC
    ph = ME6 + target + struct.pack("!IxxxB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", csum(ph + icmp)) + icmp[4:]
    return ip6(58, ME6, target, icmp)


def ping4(dst):
    i = struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"islo"
    return ip4(1, ME4, dst, i[:2] + struct.pack("!H", csum(i)) + i[4:])


SEEDS = {
    "arp-gw": [arp(GW4)],
    "arp-dns-and-self": [arp(DNS4), arp(ME4)],
    "ns-dns6": [ns(DNS6)],
    "ping-gw": [ping4(GW4)],
    "ping-elsewhere": [ping4(SYN4)],
    "dns-a": [arp(DNS4), udp4(ME4, DNS4, 5353, 53, dnsq("api.example"))],
    "dns-aaaa-v6": [udp6(ME6, DNS6, 5353, 53, dnsq("api.example", 28))],
    "dns-then-syn": [udp4(ME4, DNS4, 5353, 53, dnsq("a.example")),
                     tcp4(ME4, SYN4, 40000, 443, 0x02)],
    "syn-unknown-pool": [tcp4(ME4, bytes([198, 19, 9, 9]), 40001, 80, 0x02)],
    "syn-loopback-discard": [tcp4(ME4, LO, 40002, 9, 0x02), tcp4(ME4, LO, 40002, 9, 0x10, 1001, 1)],
    "syn-gateway": [tcp4(ME4, GW4, 40003, 22, 0x02)],
    "syn-dns-tcp": [tcp4(ME4, DNS4, 40004, 53, 0x02)],
    "udp-discard": [udp4(ME4, LO, 40005, 9, b"hello")],
    "udp-refused": [udp4(ME4, bytes([203, 0, 113, 9]), 40006, 1234, b"x")],
    "frag4": [ip4(17, ME4, DNS4, b"\x13\x89\x00\x35\x00\x30\x00\x00" + b"A" * 16, frag=0x2000, ident=9),
              ip4(17, ME4, DNS4, b"B" * 24, frag=3, ident=9)],
    "truncated": [eth(0x0800, b"\x45\x00\x00\x40")],
    # fragments and extension headers, made plain before the pre-filter
    "frag4-syn": [ip4(6, ME4, LO, tcp4(ME4, LO, 40007, 9, 0x02)[34:][:8], frag=0x2000, ident=11),
                  ip4(6, ME4, LO, tcp4(ME4, LO, 40007, 9, 0x02)[34:][8:], frag=1, ident=11)],
    "frag4-overlap": [ip4(17, ME4, DNS4, b"\x13\x89\x00\x35\x00\x30\x00\x00" + b"A" * 16,
                          frag=0x2000, ident=12),
                      ip4(17, ME4, DNS4, b"C" * 16, frag=0x2000 | 2, ident=12),
                      ip4(17, ME4, DNS4, b"B" * 24, frag=3, ident=12)],
    "frag6-atomic-ping": [ip6(44, ME6, DNS6, bytes([58, 0, 0, 0, 0, 0, 0, 7]) +
                              bytes([128, 0, 0, 0, 0, 7, 0, 1]))],
    "frag6-dns": [ip6(44, ME6, DNS6, bytes([17, 0, 0, 1, 0, 0, 0, 9]) +
                      udp6(ME6, DNS6, 5353, 53, dnsq("api.example"))[54:][:16]),
                  ip6(44, ME6, DNS6, bytes([17, 0, 0, 16, 0, 0, 0, 9]) +
                      udp6(ME6, DNS6, 5353, 53, dnsq("api.example"))[54:][16:])],
    "ext6-hbh-dstopts": [ip6(0, ME6, DNS6, bytes([60, 0, 1, 4, 0, 0, 0, 0]) +
                             bytes([17, 0, 0x1e, 4, 0, 0, 0, 0]) +
                             udp6(ME6, DNS6, 5353, 53, dnsq("api.example", 28))[54:])],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, frames in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            for fr in frames:
                f.write(struct.pack("!H", len(fr)) + fr)


if __name__ == "__main__":
    main()
