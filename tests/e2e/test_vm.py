# SPDX-License-Identifier: MIT
"""VM netdev backends: an existing TAP device (islo-net tap) and QEMU's
-netdev stream socket (islo-net qemu), driven by real clients in a test
namespace and by a client speaking QEMU's stream framing."""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

from conftest import ISLO, audit_events

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz"))
import gen_frame_seeds as fr  # noqa: E402  (frame builders)

PROFILE = """\
name: vm
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{http}]
    allow_private: true
"""


@pytest.fixture(scope="module", autouse=True)
def profile(world):
    world.profile("vm", PROFILE)


def start(args, world, audit):
    p = subprocess.Popen([ISLO] + args + ["--profiles-dir", world.profiles, "-g", "vm",
                                          "--dns-upstream", "127.0.0.1:%d" % world.dns_port,
                                          "--audit-log", audit],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
    return rc


@pytest.mark.skipif(os.getuid() != 0, reason="making a namespace with a TAP needs root")
def test_tap_device_in_a_namespace(world, scratch):
    ns = "islo-vm-%d" % os.getpid()
    cmds = [["ip", "netns", "add", ns],
            ["ip", "-n", ns, "tuntap", "add", "tapvm", "mode", "tap"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", ns, "link", "set", "tapvm", "up"],
            ["ip", "-n", ns, "addr", "add", "10.0.2.100/24", "dev", "tapvm"],
            ["ip", "-n", ns, "route", "add", "default", "via", "10.0.2.2"]]
    etc = "/etc/netns/%s" % ns
    try:
        for c in cmds:
            subprocess.run(c, check=True)
        os.makedirs(etc, exist_ok=True)
        with open(etc + "/resolv.conf", "w") as f:
            f.write("nameserver 10.0.2.3\n")
        audit = os.path.join(scratch, "a.log")
        p = start(["tap", "--tap", "tapvm", "--netns", "/run/netns/" + ns], world, audit)
        # the guest autoconfigures IPv6 from our router advertisement:
        # wait until its address has passed duplicate address detection
        for _ in range(50):
            a = subprocess.run(["ip", "-n", ns, "-6", "addr", "show", "dev", "tapvm"],
                               capture_output=True, text=True).stdout
            if "fd00:" in a and "tentative" not in a:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("no IPv6 address from the RA: " + a)
        ok = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "10",
                             "http://api.example.com:%d/vm" % world.http_port],
                            capture_output=True, text=True)
        bad = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "10",
                              "http://other.example.com:%d/" % world.http_port],
                             capture_output=True, text=True)
        rc = stop(p)
        assert rc == 0, p.stderr.read()
        assert ok.returncode == 0 and "path=/vm" in ok.stdout, ok
        assert bad.returncode == 7, bad
        ev = audit_events(open(audit).read())
        assert any(e.get("action") == "deny" and e.get("host") == "other.example.com" for e in ev)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        subprocess.run(["rm", "-rf", etc])


class Stream:
    """A guest speaking QEMU's -netdev stream framing."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(50):
            try:
                self.s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.1)
        self.s.settimeout(5)
        self.buf = b""

    def send(self, frame):
        self.s.sendall(struct.pack("!I", len(frame)) + frame)

    def recv(self):
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack("!I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    f, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return f
            b = self.s.recv(65536)
            if not b:
                raise EOFError
            self.buf += b

    def recv_until(self, pred):
        for _ in range(20):
            f = self.recv()
            if pred(f):
                return f
        raise AssertionError("no matching frame")


def test_qemu_stream_socket(world, scratch):
    path = os.path.join(scratch, "qemu.sock")
    audit = os.path.join(scratch, "a.log")
    p = start(["qemu", "--socket", path], world, audit)
    try:
        for round_ in range(2):            # a reconnecting QEMU is served again
            g = Stream(path)
            assert os.stat(path).st_mode & 0o077 == 0
            g.send(fr.arp(fr.GW4))
            a = g.recv_until(lambda f: f[12:14] == b"\x08\x06")
            assert a[20:22] == b"\x00\x02" and a[28:32] == fr.GW4 and a[22:28] == fr.GW_MAC
            g.send(fr.ping4(fr.GW4))
            e = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 1)
            assert e[34] == 0 and e[26:30] == fr.GW4     # echo reply from the gateway
            g.send(fr.udp4(fr.ME4, fr.DNS4, 5353, 53, fr.dnsq("api.example.com")))
            d = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17)
            payload = d[42:]
            assert payload[:2] == b"\x12\x34" and payload[-4] == 198, payload
            g.s.close()
            time.sleep(0.3)
        assert p.poll() is None
    finally:
        rc = stop(p)
    assert rc == 0
    assert not os.path.exists(path)
    ev = audit_events(open(audit).read())
    assert sum(1 for e in ev if e["event"] == "dns" and e["host"] == "api.example.com") == 2


def dhcp_discover(xid, msgtype=1, requested=None):
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                        b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4,
                        fr.ME_MAC + b"\0" * 10, b"\0" * 64, b"\0" * 128)
    opts = b"\x63\x82\x53\x63" + bytes([53, 1, msgtype])
    if requested:
        opts += bytes([50, 4]) + requested + bytes([54, 4]) + fr.GW4
    opts += bytes([55, 4, 1, 3, 6, 26, 255])
    u = struct.pack("!HHHH", 68, 67, 8 + len(bootp + opts), 0) + bootp + opts
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0,
                    b"\0" * 4, b"\xff" * 4)
    h = h[:10] + struct.pack("!H", fr.csum(h)) + h[12:]
    return b"\xff" * 6 + fr.ME_MAC + b"\x08\x00" + h + u


def dhcp_options(frame):
    bootp = frame[42:]
    opts, i, out = bootp[240:], 0, {}
    while i < len(opts) and opts[i] != 255:
        if opts[i] == 0:
            i += 1
            continue
        out[opts[i]] = opts[i + 2:i + 2 + opts[i + 1]]
        i += 2 + opts[i + 1]
    return bootp[16:20], out


def router_solicit():
    src = bytes.fromhex("fe80000000000000000000fffe000064")
    dst = bytes.fromhex("ff020000000000000000000000000002")
    icmp = struct.pack("!BBHI", 133, 0, 0, 0) + bytes([1, 1]) + fr.ME_MAC
    ph = src + dst + struct.pack("!IxxxB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", fr.csum(ph + icmp)) + icmp[4:]
    ip = struct.pack("!IHBB16s16s", 0x60000000, len(icmp), 58, 255, src, dst)
    return b"\x33\x33\x00\x00\x00\x02" + fr.ME_MAC + b"\x86\xdd" + ip + icmp


def test_guest_configures_itself_dhcp_and_ra(world, scratch):
    path = os.path.join(scratch, "d.sock")
    p = start(["qemu", "--socket", path, "--mtu", "9000"], world, os.path.join(scratch, "a.log"))
    try:
        g = Stream(path)
        g.send(dhcp_discover(0x1234abcd))
        offer = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17 and f[36:38] == b"\x00\x44")
        yiaddr, o = dhcp_options(offer)
        assert yiaddr == bytes([10, 0, 2, 100]) and o[53] == b"\x02", o
        assert o[3] == fr.GW4 and o[6] == fr.DNS4 and o[1] == bytes([255, 255, 255, 0])
        assert struct.unpack("!H", o[26])[0] == 9000
        g.send(dhcp_discover(0x1234abcd, 3, bytes([10, 0, 2, 100])))
        ack = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17 and f[36:38] == b"\x00\x44")
        assert dhcp_options(ack)[1][53] == b"\x05"
        g.send(dhcp_discover(0x1234abce, 3, bytes([10, 0, 2, 77])))
        nak = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17 and f[36:38] == b"\x00\x44")
        assert dhcp_options(nak)[1][53] == b"\x06"
        g.send(router_solicit())
        ra = g.recv_until(lambda f: f[12:14] == b"\x86\xdd" and f[20] == 58 and f[54] == 134)
        assert bytes.fromhex("fd00000000000000") in ra and bytes.fromhex("fd000000000000000000000000000003") in ra
    finally:
        stop(p)


def test_qemu_needs_a_socket(scratch):
    r = subprocess.run([ISLO, "qemu"], capture_output=True, text=True)
    assert r.returncode == 2 and "--socket" in r.stderr
    r = subprocess.run([ISLO, "qemu", "--nat", "slirp", "--socket", os.path.join(scratch, "s")],
                       capture_output=True, text=True, cwd=scratch)
    assert r.returncode == 125 and "--nat slirp" in r.stderr, r
    r = subprocess.run([ISLO, "tap", "--tap", "x", "--tap-fd", "3"], capture_output=True, text=True)
    assert r.returncode == 2
    r = subprocess.run([ISLO, "run", "--nat", "nope", "--", "true"], capture_output=True, text=True)
    assert r.returncode != 0 and "--nat" in r.stderr, r


def test_qemu_without_a_profile_is_a_nat(world, scratch):
    """No profile: the guest gets slirp4netns's NAT through the gateway's
    datapath: DNS at 10.0.2.3 is forwarded (the resolver's own answer, not
    a synthetic address), 10.0.2.2 answers ping, and TCP to 10.0.2.2
    reaches the host's loopback."""
    path = os.path.join(scratch, "nat.sock")
    p = subprocess.Popen([ISLO, "qemu", "--socket", path, "--profiles-dir", scratch,
                          "--dns-upstream", "127.0.0.1:%d" % world.dns_port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=scratch)
    try:
        g = Stream(path)
        g.send(fr.ping4(fr.GW4))
        e = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 1)
        assert e[34] == 0 and e[26:30] == fr.GW4
        g.send(fr.udp4(fr.ME4, fr.DNS4, 5353, 53, fr.dnsq("api.example.com")))
        d = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17)
        assert d[26:30] == fr.DNS4 and d[34:36] == b"\x00\x35", d
        assert d[-4:] == bytes([127, 0, 0, 1]), d     # dnsmasq's answer
        # a SYN to 10.0.2.2: the host's loopback answers (SYN-ACK)
        g.send(fr.tcp4(fr.ME4, fr.GW4, 40000, world.http_port, 0x02))
        s = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 6)
        assert s[26:30] == fr.GW4 and s[47] & 0x12 == 0x12, s
        assert p.poll() is None
    finally:
        rc = stop(p)
    err = p.stderr.read()
    assert rc == 0 and "unrestricted" in err, err


def test_qemu_stream_bad_length_drops_only_that_guest(world, scratch):
    path = os.path.join(scratch, "q.sock")
    p = start(["qemu", "--socket", path], world, os.path.join(scratch, "a.log"))
    try:
        g = Stream(path)
        g.s.sendall(struct.pack("!I", 10_000_000) + b"x" * 100)
        with pytest.raises((EOFError, ConnectionResetError, socket.timeout)):
            g.recv()
        g2 = Stream(path)
        g2.send(fr.arp(fr.GW4))
        assert g2.recv_until(lambda f: f[12:14] == b"\x08\x06")
        assert p.poll() is None
    finally:
        stop(p)
