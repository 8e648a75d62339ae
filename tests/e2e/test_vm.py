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
        time.sleep(0.5)
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


def test_qemu_needs_a_profile_and_a_socket(scratch):
    r = subprocess.run([ISLO, "qemu"], capture_output=True, text=True)
    assert r.returncode == 2 and "--socket" in r.stderr
    r = subprocess.run([ISLO, "qemu", "--socket", os.path.join(scratch, "s")],
                       capture_output=True, text=True, cwd=scratch)
    assert r.returncode == 125 and "gateway profile is required" in r.stderr
    r = subprocess.run([ISLO, "tap", "--tap", "x", "--tap-fd", "3"], capture_output=True, text=True)
    assert r.returncode == 2


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
