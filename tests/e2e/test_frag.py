# SPDX-License-Identifier: MIT
"""Fragments and IPv6 extension headers get exactly the decision of the
plain packet.  Frames are crafted in the sandbox (an AF_PACKET socket on its
TAP, as scapy would send them) and what comes back is read there too: a
SYN-ACK, an RST, an echo reply, a DNS answer, or nothing."""
import json

import pytest

from conftest import audit_events

PROFILE = """\
name: frag
default_action: deny
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{http}]
    allow_private: true
"""

LIB = r"""
import json, os, random, select, socket, struct, sys, time
IF = [n for i, n in socket.if_nameindex() if n != "lo"][0]
MYMAC = bytes.fromhex(open("/sys/class/net/%s/address" % IF).read().strip().replace(":", ""))
GWMAC = bytes.fromhex("52550a000202")
ME4, ME6 = "10.0.2.100", "fd00::100"
S = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
S.bind((IF, 0))

def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff

def l4sum(fam, src, dst, proto, seg, off):
    a = socket.inet_pton(fam, src) + socket.inet_pton(fam, dst)
    ph = a + (struct.pack("!BBH", 0, proto, len(seg)) if fam == socket.AF_INET
              else struct.pack("!IxxxB", len(seg), proto))
    c = csum(ph + seg)
    return seg[:off] + struct.pack("!H", c) + seg[off + 2:]

def tcp_syn(fam, src, dst, sport, dport):
    seg = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 5 << 4, 2,
                      65535, 0, 0)
    return l4sum(fam, src, dst, 6, seg, 16)

def udp(fam, src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    return l4sum(fam, src, dst, 17, seg, 6)

def echo6(src, dst, ident):
    seg = struct.pack("!BBHHH", 128, 0, 0, ident, 1) + b"x" * 16
    return l4sum(socket.AF_INET6, src, dst, 58, seg, 2)

def dnsq(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        q += bytes([len(l)]) + l.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)

def ip4(src, dst, proto, payload, ident=0, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

def ip6(src, dst, nh, payload):
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, 64) + \
        socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + payload

def frag6hdr(nh, off, more, ident):
    return struct.pack("!BBHI", nh, 0, off | more, ident)

def frags4(src, dst, proto, payload, cuts, ident):
    # cuts: [(offset, length)], offsets multiples of 8
    out = []
    for i, (o, n) in enumerate(cuts):
        more = 0x2000 if o + n < len(payload) or i < len(cuts) - 1 else 0
        out.append(ip4(src, dst, proto, payload[o:o + n], ident, more | (o // 8)))
    return out

def frags6(src, dst, proto, payload, cuts, ident, pre=b"", pre_nh=None):
    out = []
    for i, (o, n) in enumerate(cuts):
        more = 1 if o + n < len(payload) or i < len(cuts) - 1 else 0
        fh = frag6hdr(proto, o, more, ident)
        out.append(ip6(src, dst, pre_nh if pre else 44, pre + fh + payload[o:o + n]))
    return out

def send(pkts, fam):
    et = b"\x08\x00" if fam == socket.AF_INET else b"\x86\xdd"
    for p in pkts:
        S.send(GWMAC + MYMAC + et + p)

def sniff(match, secs=1.5):
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([S], [], [], max(0, end - time.time()))
        if not r:
            break
        f, addr = S.recvfrom(70000)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        et = f[12:14]
        if et == b"\x08\x00":
            ip = f[14:]; hl = (ip[0] & 15) * 4
            v = match(4, ip[9], ip[hl:], ip)
        elif et == b"\x86\xdd":
            ip = f[14:]
            v = match(6, ip[6], ip[40:], ip)
        else:
            continue
        if v is not None:
            return v
    return None

def tcp_reply(sport):
    # "synack", "rst", or None: the answer to our SYN from port sport
    def m(v, proto, l4, ip):
        if proto != 6 or len(l4) < 14 or struct.unpack("!H", l4[2:4])[0] != sport:
            return None
        fl = l4[13]
        return "synack" if fl & 0x12 == 0x12 else "rst" if fl & 4 else None
    return m

def addr_of(name, fam):
    return socket.getaddrinfo(name, None, fam)[0][4][0]

def wait_v6():
    for _ in range(50):
        if "tentative" not in os.popen("ip -6 addr show dev %s" % IF).read():
            return
        time.sleep(0.1)
"""


@pytest.fixture(scope="module", autouse=True)
def profile(world):
    world.profile("frag", PROFILE)


def run(islo, script, *args):
    r = islo(["/usr/bin/python3", "-c", LIB + script] + [str(a) for a in args], "frag")
    assert r.rc == 0, r
    return json.loads(r.out.strip().splitlines()[-1]), r


SYN = r"""
wait_v6()
port, closed = int(sys.argv[1]), int(sys.argv[2])
out = {}
for fam, me, famname in ((socket.AF_INET, ME4, "4"), (socket.AF_INET6, ME6, "6")):
    dst = addr_of("api.example.com", fam)
    for dport, what in ((port, "allowed"), (closed, "denied")):
        for how in ("plain", "frag", "frag-rev", "ext"):
            sp = random.randrange(20000, 60000)
            seg = tcp_syn(fam, me, dst, sp, dport)
            if fam == socket.AF_INET:
                if how == "ext":
                    continue
                if how == "plain":
                    pk = [ip4(me, dst, 6, seg)]
                else:
                    pk = frags4(me, dst, 6, seg, [(0, 8), (8, 12)], random.getrandbits(16))
            else:
                if how == "plain":
                    pk = [ip6(me, dst, 6, seg)]
                elif how == "ext":
                    # Hop-by-Hop (PadN) then Destination Options (PadN)
                    hbh = bytes([60, 0, 1, 4, 0, 0, 0, 0])
                    do = bytes([6, 0, 1, 4, 0, 0, 0, 0])
                    pk = [ip6(me, dst, 0, hbh + do + seg)]
                else:
                    pk = frags6(me, dst, 6, seg, [(0, 8), (8, 12)], random.getrandbits(32))
            if how == "frag-rev":
                pk.reverse()
            send(pk, fam)
            out["%s-%s-%s" % (famname, what, how)] = sniff(tcp_reply(sp))
print(json.dumps(out))
"""


def test_fragmented_syn_gets_the_plain_decision(islo, world):
    out, r = run(islo, SYN, world.http_port, world.closed_port)
    for fam in ("4", "6"):
        for how in ("plain", "frag", "frag-rev") + (("ext",) if fam == "6" else ()):
            assert out["%s-allowed-%s" % (fam, how)] == "synack", (fam, how, out)
            assert out["%s-denied-%s" % (fam, how)] == "rst", (fam, how, out)


ECHO = r"""
wait_v6()
out = {}
for dst in ("fd00::2", "2001:db8::1"):
    for how in ("plain", "atomic", "frag"):
        ident = random.randrange(1, 65535)
        seg = echo6(ME6, dst, ident)
        if how == "plain":
            pk = [ip6(ME6, dst, 58, seg)]
        elif how == "atomic":
            pk = [ip6(ME6, dst, 44, frag6hdr(58, 0, 0, random.getrandbits(32)) + seg)]
        else:
            pk = frags6(ME6, dst, 58, seg, [(0, 16), (16, 8)], random.getrandbits(32))
        send(pk, socket.AF_INET6)
        def m(v, proto, l4, ip, ident=ident):
            if proto == 58 and l4[0] == 129 and struct.unpack("!H", l4[4:6])[0] == ident:
                return True
            return None
        out["%s-%s" % (dst, how)] = bool(sniff(m, 1.0))
print(json.dumps(out))
"""


def test_ipv6_fragment_header_cannot_skip_the_prefilter(islo, world):
    out, r = run(islo, ECHO)
    for how in ("plain", "atomic", "frag"):
        assert out["fd00::2-" + how] is True, out       # the gateway answers
        assert out["2001:db8::1-" + how] is False, out  # nobody else does


DNS = r"""
out = {}
q = dnsq("api.example.com", 0x1234)
for fam, me, dst in ((socket.AF_INET, ME4, "10.0.2.3"), (socket.AF_INET6, ME6, "fd00::3")):
    if fam == socket.AF_INET6:
        wait_v6()
    seg = udp(fam, me, dst, 5353, 53, q)
    n = len(seg)
    for how, cuts in (("frag", [(0, 16), (16, n - 16)]),
                      ("overlap", [(0, 16), (8, n - 8)]),
                      ("dup", [(0, 16), (0, 16), (16, n - 16)]),
                      ("short", [(0, 16), (24, n - 24)])):
        ident = random.getrandbits(16 if fam == socket.AF_INET else 32)
        if fam == socket.AF_INET:
            pk = frags4(me, dst, 17, seg, cuts, ident)
        else:
            pk = frags6(me, dst, 17, seg, cuts, ident)
        send(pk, fam)
        def m(v, proto, l4, ip):
            return True if proto == 17 and l4[:2] == b"\x00\x35" and l4[8:10] == b"\x12\x34" else None
        out["%d-%s" % (4 if fam == socket.AF_INET else 6, how)] = bool(sniff(m, 1.0))
print(json.dumps(out))
"""


def test_fragmented_dns_is_answered_overlaps_are_dropped(islo, world):
    out, r = run(islo, DNS)
    for fam in ("4", "6"):
        assert out[fam + "-frag"] is True, out
        assert out[fam + "-overlap"] is False, out
        assert out[fam + "-dup"] is False, out
        assert out[fam + "-short"] is False, out
    # the answered ones were audited like any query
    assert len([e for e in audit_events(r.audit) if e["event"] == "dns"]) == 2, r.audit


BADEXT = r"""
wait_v6()
dst = addr_of("api.example.com", socket.AF_INET6)
out = {}
for name, ext, nh in (
        # an unknown option whose type says "discard if unknown"
        ("unknown-discard", bytes([6, 0, 0x80, 4, 0, 0, 0, 0]), 60),
        # an unknown option whose type says "skip if unknown"
        ("unknown-skip", bytes([6, 0, 0x1e, 4, 0, 0, 0, 0]), 60),
        # a Routing header with segments left: we are no router
        ("routing", bytes([6, 0, 0, 1, 0, 0, 0, 0]), 43),
        # Hop-by-Hop after another header
        ("late-hbh", bytes([0, 0, 1, 4, 0, 0, 0, 0]) + bytes([6, 0, 1, 4, 0, 0, 0, 0]), 60)):
    sp = random.randrange(20000, 60000)
    seg = tcp_syn(socket.AF_INET6, ME6, dst, sp, int(sys.argv[1]))
    send([ip6(ME6, dst, nh, ext + seg)], socket.AF_INET6)
    out[name] = sniff(tcp_reply(sp), 1.0)
print(json.dumps(out))
"""


def test_ipv6_extension_headers_are_checked(islo, world):
    out, r = run(islo, BADEXT, world.http_port)
    assert out == {"unknown-discard": None, "unknown-skip": "synack", "routing": None,
                   "late-hbh": None}, out
