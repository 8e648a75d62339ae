# SPDX-License-Identifier: MIT
"""Faults, end to end: upstreams that refuse, reset, hang or trickle; a
sandbox that opens too many connections, sends broken, oversized and
fragmented frames or overlapping segments, half-closes; a host out of
file descriptors; a DNS upstream that refuses.  islo-net stays up, refuses
cleanly, and loses no byte of an allowed stream (sha256 on both ends).
Everything is on loopback; each test is bounded in time."""
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from conftest import ISLO, audit_events

FUZZ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz")
sys.path.insert(0, FUZZ)
import gen_frame_seeds as fr  # noqa: E402  (frame builders)


class Faults:
    """Upstream servers on 127.0.0.1 that misbehave, or keep score."""

    def __init__(self):
        self.socks = []
        self.results = {}               # token -> (bytes, sha256) seen upstream
        self.cond = threading.Condition()
        self.refused = self.closed_port()
        self.reset = self.listen(self.serve_reset)
        self.silent = self.listen(self.serve_silent)
        self.trickle = self.listen(self.serve_trickle)
        self.sink = self.listen(self.serve_sink)
        self.source = self.listen(self.serve_source)
        self.upfirst = self.listen(self.serve_upfirst)

    @staticmethod
    def closed_port():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def listen(self, fn):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(512)
        self.socks.append(s)

        def loop():
            while True:
                try:
                    c, _ = s.accept()
                except OSError:
                    return
                threading.Thread(target=self.guard, args=(fn, c), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()
        return s.getsockname()[1]

    @staticmethod
    def guard(fn, c):
        try:
            c.settimeout(60)
            fn(c)
        except OSError:
            pass
        finally:
            c.close()

    def record(self, token, n, sha):
        with self.cond:
            self.results[token] = (n, sha)
            self.cond.notify_all()

    def wait(self, token, timeout=20):
        with self.cond:
            self.cond.wait_for(lambda: token in self.results, timeout)
            return self.results.get(token)

    @staticmethod
    def line(c):
        b = b""
        while not b.endswith(b"\n"):
            x = c.recv(1)
            if not x:
                raise OSError("eof")
            b += x
        return b.decode().strip()

    @staticmethod
    def serve_reset(c):
        # a good part of a stream, then an RST in the middle of it
        c.recv(1)
        c.sendall(b"r" * 200000)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    @staticmethod
    def serve_silent(c):
        # accepts, never answers, holds the connection until the peer goes
        while c.recv(65536):
            pass

    @staticmethod
    def serve_trickle(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(300):
            c.sendall(bytes([i & 255]))
            time.sleep(0.002)

    def serve_sink(self, c):
        # "TOKEN\n", then bytes until EOF: record them, answer with the count
        token = self.line(c)
        h, n = hashlib.sha256(), 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        self.record(token, n, h.hexdigest())
        c.sendall(("%d %s\n" % (n, h.hexdigest())).encode())

    def serve_source(self, c):
        # "TOKEN N\n": N random bytes, their digest recorded here
        token, n = self.line(c).split()
        h, left = hashlib.sha256(), int(n)
        while left > 0:
            b = os.urandom(min(left, 1 << 16))
            h.update(b)
            c.sendall(b)
            left -= len(b)
        self.record(token, int(n), h.hexdigest())

    def serve_upfirst(self, c):
        # upstream half-closes first, then reads the sandbox's stream to EOF
        token, n = self.line(c).split()
        h, left = hashlib.sha256(), int(n)
        while left > 0:
            b = os.urandom(min(left, 1 << 16))
            h.update(b)
            c.sendall(b)
            left -= len(b)
        c.shutdown(socket.SHUT_WR)
        self.record(token + "-down", int(n), h.hexdigest())
        h, m = hashlib.sha256(), 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            m += len(b)
        self.record(token + "-up", m, h.hexdigest())

    def close(self):
        for s in self.socks:
            s.close()


@pytest.fixture(scope="module")
def faults(world):
    f = Faults()
    ports = [f.refused, f.reset, f.silent, f.trickle, f.sink, f.source, f.upfirst]
    world.profile("faults", """\
name: faults
rules:
  - name: faults
    host_pattern: api.example.com
    ports: [%s]
    allow_private: true
""" % ", ".join(str(p) for p in ports))
    yield f
    f.close()


# Sandbox-side helpers, prepended to each script run in the sandbox.
HELPERS = r"""
import hashlib, json, os, socket, sys, threading, time
H = 'api.example.com'
def conn(port, timeout=20):
    return socket.create_connection((H, port), timeout=timeout)
def upload(port, token, n):
    s = conn(port); s.sendall(token.encode() + b'\n')
    h, left = hashlib.sha256(), n
    while left > 0:
        b = os.urandom(min(left, 1 << 16)); h.update(b); s.sendall(b); left -= len(b)
    s.shutdown(socket.SHUT_WR)
    reply = b''
    while True:
        b = s.recv(200)
        if not b: break
        reply += b
    s.close()
    return h.hexdigest(), reply.decode().strip()
def download(port, token, n):
    s = conn(port); s.sendall(('%s %d\n' % (token, n)).encode())
    h, got = hashlib.sha256(), 0
    while True:
        b = s.recv(1 << 16)
        if not b: break
        h.update(b); got += len(b)
    s.close()
    return got, h.hexdigest()
out = {}
"""

BIG = 16 << 20


def run_script(islo, script, extra=(), timeout=120):
    return islo(["/usr/bin/python3", "-c", HELPERS + script + "\nprint(json.dumps(out))\n"],
                "faults", extra=extra, timeout=timeout)


def result(r):
    assert r.rc == 0, r
    return json.loads(r.out.strip().splitlines()[-1])


def check_transfers(faults, out, tok):
    """The sandbox's and the upstream's digests of both big transfers agree."""
    sha_up, reply = out["up"]
    assert reply == "%d %s" % (BIG, sha_up), out
    assert faults.wait(tok + "u") == (BIG, sha_up)
    got, sha_down = out["down"]
    assert (got, sha_down) == faults.wait(tok + "d"), out
    assert got == BIG


def test_upstream_faults_and_nothing_is_lost(islo, faults):
    tok = os.urandom(6).hex()
    r = run_script(islo, r"""
t = time.time()
try:
    conn(%(refused)d); out['refused'] = 'connected'
except ConnectionRefusedError:
    out['refused'] = 'refused'
# (a line, not a lone 'x': a token could still become a request line,
# which plain HTTP to a name waits to see; issue 13)
s = conn(%(reset)d); s.sendall(b'x\n'); got = 0
try:
    while True:
        b = s.recv(65536)
        if not b: out['reset'] = 'eof'; break
        got += len(b)
except ConnectionResetError:
    out['reset'] = 'reset'
out['reset_bytes'] = got
s = conn(%(silent)d, timeout=1.5); s.sendall(b'hello?\n')
try:
    s.recv(10); out['silent'] = 'answered'
except socket.timeout:
    out['silent'] = 'timeout'
s.close()
s = conn(%(trickle)d); b = b''
while True:
    x = s.recv(100)
    if not x: break
    b += x
out['trickle'] = b == bytes(i & 255 for i in range(300))
s = conn(%(sink)d); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
data = b'%(tok)st\n' + bytes(range(200))
for i in range(len(data)):
    s.send(data[i:i + 1]); time.sleep(0.002)
s.shutdown(socket.SHUT_WR); out['trickle_up'] = s.recv(200).decode().strip(); s.close()
out['up'] = upload(%(sink)d, '%(tok)su', %(big)d)
out['down'] = download(%(source)d, '%(tok)sd', %(big)d)
out['secs'] = time.time() - t
""" % dict(refused=faults.refused, reset=faults.reset, silent=faults.silent,
           trickle=faults.trickle, sink=faults.sink, source=faults.source,
           tok=tok, big=BIG))
    out = result(r)
    assert out["refused"] == "refused", out
    assert out["reset"] == "reset" and 0 < out["reset_bytes"] <= 200000, out
    assert out["silent"] == "timeout", out
    assert out["trickle"] is True, out
    assert out["trickle_up"] == "%d %s" % (200, hashlib.sha256(bytes(range(200))).hexdigest()), out
    assert faults.wait(tok + "t") == (200, hashlib.sha256(bytes(range(200))).hexdigest())
    check_transfers(faults, out, tok)
    ev = audit_events(r.audit)
    refused = [e for e in ev if e.get("dst_port") == faults.refused and e.get("action") == "deny"]
    assert refused and "refused" in refused[0]["reason"].lower(), r.audit


def test_half_close_from_upstream_first(islo, faults):
    # upstream sends and half-closes, then reads what the sandbox sends
    tok = os.urandom(6).hex()
    r = run_script(islo, r"""
s = conn(%(port)d); s.sendall(b'%(tok)s %(n)d\n')
h, got = hashlib.sha256(), 0
while True:
    b = s.recv(1 << 16)
    if not b: break
    h.update(b); got += len(b)
out['down'] = [got, h.hexdigest()]
h, left = hashlib.sha256(), %(n)d
while left > 0:
    b = os.urandom(min(left, 1 << 16)); h.update(b); s.sendall(b); left -= len(b)
s.shutdown(socket.SHUT_WR)
out['eof'] = s.recv(10) == b''
s.close()
out['up'] = h.hexdigest()
""" % dict(port=faults.upfirst, tok=tok, n=4 << 20))
    out = result(r)
    assert tuple(out["down"]) == faults.wait(tok + "-down"), out
    assert faults.wait(tok + "-up") == (4 << 20, out["up"]), out
    assert out["eof"] is True


def test_max_connections_refused_cleanly_and_recovers(islo, faults):
    r = run_script(islo, r"""
held = [conn(%(port)d) for i in range(8)]
try:
    conn(%(port)d); out['ninth'] = 'connected'
except ConnectionRefusedError:
    out['ninth'] = 'refused'
for s in held[:3]:
    s.close()
out['again'] = 0
deadline = time.time() + 10
while out['again'] < 3 and time.time() < deadline:
    try:
        held.append(conn(%(port)d)); out['again'] += 1
    except ConnectionRefusedError:
        time.sleep(0.2)
for s in held:
    s.close()
time.sleep(0.5)
out['sha'] = upload(%(sink)d, '%(tok)s', 1 << 20)
""" % dict(port=faults.silent, sink=faults.sink, tok=os.urandom(6).hex()),
        extra=["--max-connections", "8"])
    out = result(r)
    assert out["ninth"] == "refused" and out["again"] == 3, out
    sha, reply = out["sha"]
    assert reply == "%d %s" % (1 << 20, sha)
    ev = audit_events(r.audit)
    assert any(e.get("reason") == "too many connections" for e in ev), r.audit


def test_out_of_file_descriptors_refuses_and_keeps_serving(world, faults, scratch):
    # islo-net with 40 descriptors (soft and hard: it cannot raise its
    # own; CMD has 40 too, room for 30 connections): islo-net lowers the
    # connection limit to what fits, so the rest are refused over the
    # limit, and it never runs out of descriptors
    tok = os.urandom(6).hex()
    audit = os.path.join(scratch, "fd.log")
    script = HELPERS + r"""
held, refused, other = [], 0, []
for i in range(30):
    try:
        held.append(conn(%(port)d, timeout=10))
    except ConnectionRefusedError:
        refused += 1
    except OSError as e:
        other.append(repr(e))
out['held'], out['refused'], out['other'] = len(held), refused, other
for s in held:
    s.close()
time.sleep(1)
out['up'] = upload(%(sink)d, '%(tok)su', %(big)d)
out['down'] = download(%(source)d, '%(tok)sd', %(big)d)
print(json.dumps(out))
""" % dict(port=faults.silent, sink=faults.sink, source=faults.source, tok=tok, big=BIG)
    p = subprocess.run(["prlimit", "--nofile=40:40", ISLO, "run", "--profiles-dir",
                        world.profiles, "-g", "faults", "--audit-log", audit,
                        "--dns-upstream", "127.0.0.1:%d" % world.dns_port, "--",
                        "/usr/bin/python3", "-c", script],
                       capture_output=True, text=True, timeout=120, cwd=scratch)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["refused"] > 0 and out["held"] > 5 and not out["other"], out
    check_transfers(faults, out, tok)
    ev = audit_events(open(audit).read())
    assert any("too many connections" in e.get("reason", "") for e in ev), ev[-3:]
    assert not any("Too many open files" in e.get("reason", "") for e in ev), ev


def test_soft_descriptor_limit_is_raised_to_the_hard_one(world, faults, scratch):
    # soft 40, hard 1024: islo-net raises its own soft limit and holds all
    tok = os.urandom(6).hex()
    audit = os.path.join(scratch, "fd.log")
    script = HELPERS + r"""
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
held, refused, other = [], 0, []
for i in range(80):
    try:
        held.append(conn(%(port)d, timeout=10))
    except ConnectionRefusedError:
        refused += 1
    except OSError as e:
        other.append(repr(e))
out['held'], out['refused'], out['other'] = len(held), refused, other
print(json.dumps(out))
""" % dict(port=faults.silent)
    p = subprocess.run(["prlimit", "--nofile=40:1024", ISLO, "run", "--profiles-dir",
                        world.profiles, "-g", "faults", "--audit-log", audit,
                        "--dns-upstream", "127.0.0.1:%d" % world.dns_port, "--",
                        "/usr/bin/python3", "-c", script],
                       capture_output=True, text=True, timeout=120, cwd=scratch)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["held"] == 80 and out["refused"] == 0 and not out["other"], out


def test_dns_upstream_refusing_is_a_clean_refusal(islo, faults):
    t = time.time()
    r = islo(["curl", "-sS", "--max-time", "30", "http://api.example.com:%d/" % faults.sink],
             "faults", dns=False, extra=["--dns-upstream", "127.0.0.1:%d" % faults.refused])
    # the name could be allowed, so the gateway asks the host before it
    # answers (issue 17): SERVFAIL as soon as the upstream's port is found
    # closed, not after the tries
    assert r.rc == 6 and "resolve" in r.err, r
    assert time.time() - t < 5
    ev = [e for e in audit_events(r.audit) if e["event"] == "dns"
          and e.get("host") == "api.example.com"]
    assert ev and all(e["rcode"] == 2 and "refused" in e["reason"] for e in ev), r


# ---------------------------------------------------------------------------
# Frames the sandbox writes itself (AF_PACKET on tap0: CMD is root in its
# own namespaces)

FRAMES = r"""
sys.path.insert(0, %(fuzz)r)
import struct
import gen_frame_seeds as fr
fr.ME_MAC = bytes.fromhex(open('/sys/class/net/tap0/address').read().strip().replace(':', ''))
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind(('tap0', 0))
def send(f):
    try:
        raw.send(f)
        return True
    except OSError:
        return False
def ip4raw(ihl_ver, tot, frag, proto, src, dst, payload, fix=True):
    h = struct.pack('!BBHHHBBH4s4s', ihl_ver, 0, tot, 7, frag, 64, proto, 0, src, dst)
    if fix:
        h = h[:10] + struct.pack('!H', fr.csum(h)) + h[12:]
    return fr.eth(0x0800, h + payload)
GARBAGE = [
    b'', b'\x00' * 13, fr.GW_MAC + fr.ME_MAC,                      # runts
    fr.eth(0x0800, b''), fr.eth(0x0800, b'\x45'), fr.eth(0x86dd, b'\x60' * 10),
    fr.eth(0x0806, b'\x00\x01\x08\x00'),                            # short ARP
    ip4raw(0x44, 20, 0, 6, fr.ME4, fr.GW4, b''),                    # IHL 4
    ip4raw(0x4f, 60, 0, 6, fr.ME4, fr.GW4, b'\x01' * 10),           # IHL past the end
    ip4raw(0x45, 65535, 0, 17, fr.ME4, fr.DNS4, b'\x00' * 30),      # length past the end
    ip4raw(0x45, 10, 0, 17, fr.ME4, fr.DNS4, b'\x00' * 30),         # length under IHL
    ip4raw(0x45, 48, 0, 17, fr.ME4, fr.DNS4, b'\x00' * 28, False),  # bad checksum
    ip4raw(0x65, 40, 0, 6, fr.ME4, fr.GW4, b'\x00' * 20),           # version 6 in v4
    ip4raw(0x45, 28, 0, 6, fr.ME4, fr.GW4, b'\x00' * 8),            # TCP shorter than 20
    ip4raw(0x45, 40, 0, 6, fr.ME4, bytes([198, 18, 0, 9]),
           struct.pack('!HHIIBBHHH', 1, 80, 1, 0, 0xf0, 2, 0, 0, 0)),  # data offset 60
    ip4raw(0x45, 28, 0, 17, fr.ME4, fr.DNS4, struct.pack('!HHHH', 1, 53, 9000, 0)),  # UDP length
    fr.udp4(fr.ME4, fr.DNS4, 5000, 53, b'\xc0\x0c' * 40),            # DNS garbage
    fr.udp4(fr.ME4, fr.DNS4, 5000, 53, fr.dnsq('a.example')[:12] + b'\xc0\x0c\x00\x01\x00\x01'),
    fr.ip6(6, fr.ME6, fr.DNS6, b'\x00' * 10),                       # short TCP in v6
    fr.ip6(44, fr.ME6, fr.DNS6, b'\x11\x00\x00\x01\x00\x00\x00\x01' + b'\x00' * 4),
    fr.ip6(0, fr.ME6, fr.DNS6, b'\x3b\xff' + b'\x00' * 6),         # hop-by-hop, huge length
    fr.eth(0x86dd, struct.pack('!IHBB16s16s', 0x60000000, 60000, 17, 64, fr.ME6, fr.DNS6)),
    fr.eth(0x8100, b'\x00\x01\x08\x00' + b'\x45' * 40),             # VLAN tag
    fr.eth(0x1234, b'\xff' * 100),                                  # unknown type
    fr.eth(0x0800, b'\xff' * 60000),                                # oversized garbage
    fr.eth(0x86dd, b'\x6f' * 65000),
]
"""


def test_malformed_and_fragmented_frames_on_the_tap(islo, faults):
    tok = os.urandom(6).hex()
    r = run_script(islo, FRAMES % dict(fuzz=os.path.abspath(FUZZ)) + r"""
out['sent'] = sum(send(f) for f in GARBAGE * 3)
out['toobig'] = send(fr.eth(0x0800, b'\x45' * 70000))
# a DNS query in two IPv4 fragments is reassembled and answered
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', 5399)); u.settimeout(3)
q = fr.dnsq('api.example.com', ident=0x4242)
udp = struct.pack('!HHHH', 5399, 53, 8 + len(q), 0) + q
ph = fr.ME4 + fr.DNS4 + struct.pack('!BBH', 0, 17, len(udp))
udp = udp[:6] + struct.pack('!H', fr.csum(ph + udp)) + udp[8:]
send(fr.ip4(17, fr.ME4, fr.DNS4, udp[:16], frag=0x2000, ident=77))
send(fr.ip4(17, fr.ME4, fr.DNS4, udp[16:], frag=2, ident=77))
try:
    a = u.recv(600); out['frag_dns'] = a[:2] == b'\x42\x42' and a[-4] == 198
except socket.timeout:
    out['frag_dns'] = 'no answer'
# overlapping fragments (the second rewrites bytes of the first), a
# fragment past 64 KiB, a lone middle fragment, a tiny first fragment
send(fr.ip4(17, fr.ME4, fr.DNS4, udp[:24], frag=0x2000, ident=78))
send(fr.ip4(17, fr.ME4, fr.DNS4, b'\xee' * 16, frag=0x2000 | 1, ident=78))
send(fr.ip4(17, fr.ME4, fr.DNS4, udp[24:], frag=3, ident=78))
send(fr.ip4(17, fr.ME4, fr.DNS4, b'\x00' * 64, frag=8190, ident=79))
send(fr.ip4(6, fr.ME4, bytes([198, 18, 0, 1]), b'\x00' * 24, frag=0x2000 | 20, ident=80))
# a SYN to an allowed name in a tiny first fragment (ports only) and the
# rest (its flags) in a second: reassembled before the pre-filter, the pair
# is that SYN and gets its decision (allowed: the sandbox's kernel then
# resets the SYN-ACK it did not ask for)
api = socket.inet_aton(socket.gethostbyname(H))
syn = fr.tcp4(fr.ME4, api, 40999, %(sink)d, 0x02)[34:]
send(fr.ip4(6, fr.ME4, api, syn[:8], frag=0x2000, ident=81))
send(fr.ip4(6, fr.ME4, api, syn[8:], frag=1, ident=81))
# and the same split the other way round, then one whose second fragment
# overlaps the first to turn its ACK into a SYN
send(fr.ip4(6, fr.ME4, api, syn[8:], frag=1, ident=82))
send(fr.ip4(6, fr.ME4, api, syn[:8], frag=0x2000, ident=82))
ack = fr.tcp4(fr.ME4, api, 40998, %(sink)d, 0x10, ack=1)[34:]
send(fr.ip4(6, fr.ME4, api, ack[:16], frag=0x2000, ident=83))
send(fr.ip4(6, fr.ME4, api, syn[8:], frag=1, ident=83))
try:
    a = u.recv(600); out['overlap_dns'] = 'answered' if a[:2] == b'\x12\x34' else 'other'
except socket.timeout:
    out['overlap_dns'] = 'dropped'
time.sleep(0.5)
out['up'] = upload(%(sink)d, '%(tok)su', %(big)d)
out['down'] = download(%(source)d, '%(tok)sd', %(big)d)
""" % dict(sink=faults.sink, source=faults.source, tok=tok, big=BIG))
    out = result(r)
    assert out["sent"] > 40 and out["toobig"] is False, out
    assert out["frag_dns"] is True, out
    check_transfers(faults, out, tok)
    # the overlap that would turn an ACK into a SYN opens nothing (the
    # datagram is dropped); the plain SYN in two fragments is decided as a
    # SYN, by the profile
    smuggled = [e for e in audit_events(r.audit) if e.get("src_port") == 40998]
    assert not smuggled, smuggled
    plain = [e for e in audit_events(r.audit) if e.get("src_port") == 40999]
    assert plain and all(e.get("action") in ("allow", "drop")
                         for e in plain), plain


def test_overlapping_segments_and_fragments_in_a_flow(world, faults, scratch):
    """A guest's own TCP (over QEMU's stream framing) sends its bytes out of
    order, overlapping, duplicated and in IP fragments: upstream gets each
    byte once, in order."""
    from test_vm import Stream, start, stop
    world.profile("vm", open(os.path.join(world.profiles, "faults.yaml")).read()
                  .replace("name: faults\n", "name: vm\n", 1))
    path = os.path.join(scratch, "o.sock")
    p = start(["qemu", "--socket", path], world, os.path.join(scratch, "a.log"))
    try:
        g = Stream(path)
        g.send(fr.udp4(fr.ME4, fr.DNS4, 5353, 53, fr.dnsq("api.example.com")))
        d = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17)
        ip = d[-4:]
        sport, iss = 41000, 5000
        g.send(fr.tcp4(fr.ME4, ip, sport, faults.sink, 0x02, seq=iss))
        sa = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 6 and f[47] & 0x12 == 0x12)
        srv = struct.unpack("!I", sa[38:42])[0]
        ack = srv + 1
        g.send(fr.tcp4(fr.ME4, ip, sport, faults.sink, 0x10, seq=iss + 1, ack=ack))
        tok = os.urandom(6).hex()
        data = tok.encode() + b"\n" + os.urandom(4000)
        base = iss + 1

        def seg(a, b, flags=0x18):
            return fr.tcp4(fr.ME4, ip, sport, faults.sink, flags, seq=base + a, ack=ack,
                           data=data[a:b])
        g.send(seg(0, 1200))
        g.send(seg(1800, 3000))                  # out of order
        g.send(seg(1000, 2000))                  # overlaps both neighbours
        g.send(seg(0, 1200))                     # a duplicate
        t = seg(3000, 4000 + len(tok) + 1)[34:]  # the rest, in IP fragments
        g.send(fr.ip4(6, fr.ME4, ip, t[:400], frag=0x2000, ident=99))
        g.send(fr.ip4(6, fr.ME4, ip, t[800:], frag=100, ident=99))      # last first
        g.send(fr.ip4(6, fr.ME4, ip, t[400:800], frag=0x2000 | 50, ident=99))
        g.send(seg(2500, 3500))                  # overlaps data already in
        time.sleep(0.3)
        g.send(fr.tcp4(fr.ME4, ip, sport, faults.sink, 0x11, seq=base + len(data), ack=ack))
        got = faults.wait(tok, timeout=15)
        assert got == (len(data) - len(tok) - 1,
                       hashlib.sha256(data[len(tok) + 1:]).hexdigest()), got
        assert p.poll() is None
        with open("/proc/%d/status" % p.pid) as st:
            assert "Seccomp:\t2\n" in st.read()     # served under the filter
    finally:
        rc = stop(p)
    assert rc == 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return int(v[11]) + int(v[12])        # utime + stime


def test_out_of_file_descriptors_a_waiting_client_costs_no_cpu(world, faults, scratch):
    """islo-net qemu with few descriptors: a guest's SYNs use them all up,
    then another client waits on the socket: islo-net must neither spin
    on the accept it cannot make nor stop serving the guest."""
    from test_vm import Stream
    world.profile("vm", open(os.path.join(world.profiles, "faults.yaml")).read()
                  .replace("name: faults\n", "name: vm\n", 1))
    path = os.path.join(scratch, "f.sock")
    p = subprocess.Popen(["prlimit", "--nofile=24", ISLO, "qemu", "--socket", path,
                          "--profiles-dir", world.profiles, "-g", "vm",
                          "--dns-upstream", "127.0.0.1:%d" % world.dns_port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        g = Stream(path)
        g.send(fr.udp4(fr.ME4, fr.DNS4, 5353, 53, fr.dnsq("api.example.com")))
        ip = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17)[-4:]
        for i in range(40):                  # each SYN: an upstream socket
            g.send(fr.tcp4(fr.ME4, ip, 42000 + i, faults.silent, 0x02, seq=7000))
        time.sleep(1)
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.connect(path)                  # queued: no descriptor to accept it
        time.sleep(0.3)
        t0 = cpu_ticks(p.pid)
        time.sleep(1.5)
        used = cpu_ticks(p.pid) - t0
        assert used < 40, "islo-net used %d ticks in 1.5 s" % used   # 100 ticks/s
        print("islo-net used %d ticks in 1.5 s with a client waiting" % used)
        g.send(fr.arp(fr.GW4))               # and the guest is still served
        for _ in range(1000):
            if g.recv()[12:14] == b"\x08\x06":
                break
        else:
            raise AssertionError("no ARP answer")
        assert p.poll() is None
        extra.settimeout(3)
        assert extra.recv(1) == b"", "the waiting client was not refused"
        extra.close()
    finally:
        p.terminate()
        p.wait(timeout=10)
