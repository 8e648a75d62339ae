# SPDX-License-Identifier: MIT
"""Ping without a profile (the gateway NAT, src/icmpecho.c).

Like slirp4netns, `islo-net run` without a profile carries ICMP echo to
other hosts through the host's ping sockets where the host allows them
(net.ipv4.ping_group_range, a per-network-namespace setting: these tests
set it in the host's namespace and put it back).  Where the host does not,
the echo is answered "administratively prohibited" at once.  A profile
never carries ICMP, whatever the host allows.

The peer is a namespace of the test's own, on a veth with an IPv4 and an
IPv6 address (nodad), both outside every range islo-net treats specially.
"""
import os
import subprocess
import time

import pytest


_SLOT = int(os.environ.get("ISLO_TEST_SLOT", "0")) % 16
NS = "islo-ping-%d" % _SLOT
HOST4, PEER4 = "198.18.%d.1" % (200 + _SLOT), "198.18.%d.2" % (200 + _SLOT)
HOST6, PEER6 = "fd99:%x::1" % (0x100 + _SLOT), "fd99:%x::2" % (0x100 + _SLOT)
RANGE = "/proc/sys/net/ipv4/ping_group_range"


def sh(*args):
    subprocess.run(list(args), check=True, capture_output=True)


@pytest.fixture(scope="module")
def peer():
    if os.geteuid() != 0:
        pytest.skip("needs root to make the peer's namespace")
    h, n = "ipg%dh" % _SLOT, "ipg%dn" % _SLOT
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "link", "del", h], capture_output=True)
    sh("ip", "netns", "add", NS)
    try:
        sh("ip", "link", "add", h, "type", "veth", "peer", "name", n, "netns", NS)
        sh("ip", "addr", "add", HOST4 + "/30", "dev", h)
        sh("ip", "addr", "add", HOST6 + "/64", "dev", h, "nodad")
        sh("ip", "link", "set", h, "up")
        sh("ip", "-n", NS, "addr", "add", PEER4 + "/30", "dev", n)
        sh("ip", "-n", NS, "addr", "add", PEER6 + "/64", "dev", n, "nodad")
        sh("ip", "-n", NS, "link", "set", n, "up")
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        yield
    finally:
        subprocess.run(["ip", "link", "del", h], capture_output=True)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)


@pytest.fixture
def ping_range():
    """set(value): the host's ping_group_range for this test."""
    with open(RANGE) as f:
        old = f.read().strip()

    def put(v):
        with open(RANGE, "w") as f:
            f.write(v)
    yield put
    put(old)


def test_ping_reaches_another_host_where_the_host_allows_it(islo, peer, ping_range):
    ping_range("0 2147483647")
    r = islo(["sh", "-c", "ping -c 2 -W 3 %s && ping -6 -c 2 -W 3 %s" % (PEER4, PEER6)],
             dns=False)
    assert r.rc == 0, r
    assert r.out.count("2 received") == 2, r
    assert "from %s" % PEER4 in r.out and "from %s" % PEER6 in r.out, r


def test_ping_is_refused_at_once_where_the_host_does_not(islo, peer, ping_range):
    ping_range("1 0")
    t = time.monotonic()
    r = islo(["ping", "-c", "1", "-W", "5", PEER4], dns=False)
    took = time.monotonic() - t
    assert r.rc != 0 and "Packet filtered" in r.out, r
    assert took < 4.0, (took, r)


def test_a_profile_never_carries_ping(islo, peer, ping_range, world):
    ping_range("0 2147483647")
    world.profile("ping-open", "default_action: allow\nrules:\n"
                  "  - cidr: %s/32\n    allow_private: true\n" % PEER4)
    r = islo(["ping", "-c", "1", "-W", "3", PEER4], "ping-open")
    assert "0 received" in r.out and "Packet filtered" in r.out, r


# Raw echo requests from the sandbox's root: identifiers and sequence
# numbers come back as sent, whatever the kernel used upstream; a damaged
# request is dropped; a type other than echo is not carried; a sandbox
# opens at most 16 echo flows (the rest are refused, never queued).
RAW = r"""
import json, socket, struct, sys, time
dst = sys.argv[1]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def msg(t, ident, seq, data, good=True):
    m = struct.pack("!BBHHH", t, 0, 0, ident, seq) + data
    c = csum(m) if good else (csum(m) ^ 0x5555)
    return m[:2] + struct.pack("!H", c) + m[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
def collect(wait):
    got = []
    s.settimeout(0.2)
    end = time.time() + wait
    while time.time() < end:
        try:
            d, a = s.recvfrom(70000)
        except socket.timeout:
            continue
        hl = (d[0] & 15) * 4
        t, c, _, ident, seq = struct.unpack("!BBHHH", d[hl:hl + 8])
        got.append([a[0], t, c, ident, seq, d[hl + 8:].decode("latin1")])
    return got
out = {}
s.sendto(msg(8, 0x4242, 7, b"islo-one"), (dst, 0))
s.sendto(msg(8, 0x4343, 9, b"x" * 3000), (dst, 0))
out["two"] = collect(1.0)
s.sendto(msg(8, 0x4444, 1, b"damaged", good=False), (dst, 0))
out["damaged"] = collect(1.0)
s.sendto(msg(13, 0x4545, 1, b"\0" * 12), (dst, 0))
out["timestamp"] = collect(1.0)
s.sendto(msg(8, 0x4646, 1, b"onlink"), ("10.0.2.77", 0))
out["onlink"] = collect(1.0)
time.sleep(1.0)  # a new second for the rate of new flows
for i in range(24):
    s.sendto(msg(8, 0x5000 + i, i, b"many"), (dst, 0))
out["many"] = collect(1.5)
print(json.dumps(out))
"""


def test_echo_identifiers_damage_and_limits(islo, peer, ping_range):
    import json
    ping_range("0 2147483647")
    r = islo(["/usr/bin/python3", "-c", RAW, PEER4], dns=False)
    assert r.rc == 0, r
    out = json.loads(r.out.strip().splitlines()[-1])
    replies = sorted((g[3], g[4], g[5]) for g in out["two"] if g[1] == 0)
    assert replies == [(0x4242, 7, "islo-one"), (0x4343, 9, "x" * 3000)], out["two"]
    assert all(g[0] == PEER4 for g in out["two"]), out["two"]
    assert out["damaged"] == [], out
    # not an echo: not carried, and (ICMP other than echo is never
    # answered with an error, RFC 1812 4.3.2.7) nothing comes back
    assert out["timestamp"] == [], out
    # nobody else is on the sandbox's own link: refused, never sent out
    assert [(g[0], g[1], g[2]) for g in out["onlink"]] == [("10.0.2.77", 3, 13)], out
    ok = [g for g in out["many"] if g[1] == 0]
    refused = [g for g in out["many"] if g[1] == 3 and g[2] == 13]
    # at most 16 flows: the three above are still open (idle < 10 s)
    assert 0 < len(ok) <= 16 - 2, out["many"]
    assert all(g[3] == 0x5000 + g[4] and g[5] == "many" for g in ok), ok
    assert len(ok) + len(refused) == 24, out["many"]
