# SPDX-License-Identifier: MIT
"""What intercepted TLS connections share and give back (proxy.c, ca.c):
upstream sessions resumed across connections, one cached leaf per name,
buffers released while a connection is idle and taken again when it
speaks."""
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from conftest import ISLO

SECRET = "tls-reuse-T0ken-9a8b7c"

PROFILE = """\
name: tls-reuse
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
  - name: other
    host_pattern: other.example.com
    ports: [{https}]
    allow_private: true
    tls: intercept
"""


@pytest.fixture(scope="module", autouse=True)
def profile(world):
    path = world.profile("tls-reuse", PROFILE)
    os.chmod(path, 0o644)


def run(islo, world, cmd, timeout=60):
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    return islo(cmd, "tls-reuse", extra=extra, env={"ISLO_TEST_TOKEN": SECRET},
                timeout=timeout)


class SServer:
    """openssl s_server -www on 127.0.0.1: its status page says whether
    the TLS session was "New" or "Reused" (it shuts its connections down
    cleanly, so its session cache keeps them)."""

    def __init__(self, world, port):
        self.world, self.port, self.p = world, port, None

    def start(self):
        d = self.world.dir
        self.p = subprocess.Popen(
            ["openssl", "s_server", "-quiet", "-accept", "127.0.0.1:%d" % self.port,
             "-cert", os.path.join(d, "srv.pem"), "-key", os.path.join(d, "srv.key"),
             "-tls1_2", "-www"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", self.port))
                return
            except OSError:
                time.sleep(0.05)
            finally:
                s.close()
        raise AssertionError("openssl s_server did not start")

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            self.p.wait(timeout=5)


@pytest.fixture
def sserver(world):
    from conftest import free_port
    s = SServer(world, free_port())
    world.profile("tls-sserver", """\
rules:
  - host_pattern: api.example.com
    ports: [%d]
    allow_private: true
    tls: intercept
""" % s.port)
    s.start()
    yield s
    s.stop()


def sessions(text):
    return re.findall(r"^(New|Reused), TLSv1\.2", text, re.M)


def test_upstream_session_is_resumed_by_the_next_connection(islo, world, sserver):
    """Three separate connections (three curl processes, so the sandbox
    side never resumes): the upstream sees a full handshake, then resumed
    sessions."""
    url = "https://api.example.com:%d/" % sserver.port
    r = islo(["sh", "-c", "for i in 1 2 3; do curl -sS --max-time 20 %s; done" % url],
             "tls-sserver", extra=["--upstream-ca", world.ca,
                                   "--ca-dir", os.path.join(islo.tmp, "ca")])
    assert r.rc == 0, r
    assert sessions(r.out) == ["New", "Reused", "Reused"], r


def test_a_session_the_upstream_forgot_falls_back_to_a_full_handshake(world, scratch,
                                                                      sserver):
    """The upstream restarts (its session cache is empty): the session we
    offer is refused, the handshake is done in full (and verified), the
    connection works, and the new session is resumed next time."""
    flag, go = os.path.join(scratch, "restart"), os.path.join(scratch, "go")
    url = "https://api.example.com:%d/" % sserver.port
    script = ("curl -sS --max-time 20 {u}; curl -sS --max-time 20 {u}; touch {f}; "
              "i=0; while [ ! -e {g} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; "
              "curl -sS --max-time 20 {u}; curl -sS --max-time 20 {u}").format(
                  u=url, f=flag, g=go)
    p = subprocess.Popen([ISLO, "run", "-q", "--profiles-dir", world.profiles,
                          "-g", "tls-sserver", "--dns-upstream",
                          "127.0.0.1:%d" % world.dns_port, "--upstream-ca", world.ca,
                          "--ca-dir", os.path.join(scratch, "ca"), "--", "sh", "-c", script],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while not os.path.exists(flag) and time.time() < deadline and p.poll() is None:
            time.sleep(0.05)
        assert os.path.exists(flag), p.communicate(timeout=30)
        sserver.stop()
        sserver.start()
        open(go, "w").close()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert sessions(out) == ["New", "Reused", "New", "Reused"], (out, err)


def leaf_fingerprints(islo, world, names):
    script = "; ".join(
        "echo | openssl s_client -connect %s:%d -servername %s 2>/dev/null"
        " | openssl x509 -noout -fingerprint -sha256" % (n, world.https_port, n)
        for n in names)
    r = run(islo, world, ["sh", "-c", script])
    assert r.rc == 0, r
    fps = re.findall(r"Fingerprint=([0-9A-F:]+)", r.out)
    assert len(fps) == len(names), r
    return fps


def test_one_cached_leaf_per_name(islo, world):
    """Two connections to one name get the same leaf (one mint, one copy
    in the cache); another name gets its own."""
    a1, a2, o1, a3 = leaf_fingerprints(
        islo, world, ["api.example.com", "api.example.com", "other.example.com",
                      "api.example.com"])
    assert a1 == a2 == a3
    assert o1 != a1


IDLE_CLIENT = r"""
import http.client, json, os, socket, ssl, sys, time
host, port, n, idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ctx = ssl.create_default_context()
def conn():
    c = http.client.HTTPSConnection(host, port, context=ctx, timeout=20)
    c.connect()                     # TCP + TLS handshake, nothing sent after it
    return c
conns = [conn() for _ in range(5)]
print(json.dumps({"phase": "base"}), flush=True)
time.sleep(1.5)
conns += [conn() for _ in range(n)]
print(json.dumps({"phase": "full"}), flush=True)
time.sleep(max(idle, 1.5))
ok = 0
for c in conns:
    c.request("GET", "/record/idle")
    r = c.getresponse()
    ok += r.status == 200 and r.read() == b"recorded\n"
# and again on the same connections, now that they have been busy
for c in conns[:10]:
    c.request("GET", "/record/again")
    r = c.getresponse()
    ok += r.status == 200 and r.read() == b"recorded\n"
print(json.dumps({"phase": "done", "ok": ok, "want": len(conns) + 10}), flush=True)
"""


def pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise AssertionError("no Pss in smaps_rollup")


def test_idle_connections_hold_little_memory_and_still_work(world, scratch):
    """200 intercepted connections, handshakes done, then idle: the
    gateway's memory grows by far less than two TLS buffers each, and
    after the idle every connection still carries requests (with the
    credential injected)."""
    from servers import RECORDED
    n = 200
    script = os.path.join(scratch, "idle.py")
    with open(script, "w") as f:
        f.write(IDLE_CLIENT)
    before = len(RECORDED)
    args = [ISLO, "run", "-q", "--profiles-dir", world.profiles, "-g", "tls-reuse",
            "--dns-upstream", "127.0.0.1:%d" % world.dns_port,
            "--upstream-ca", world.ca, "--ca-dir", os.path.join(scratch, "ca"),
            "--max-connections", "1000", "--",
            sys.executable, script, "api.example.com", str(world.https_port), str(n), "3"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, ISLO_TEST_TOKEN=SECRET))
    pss, done = {}, None
    try:
        for line in p.stdout:
            if not line.startswith("{"):
                continue
            j = json.loads(line)
            if j["phase"] in ("base", "full"):
                time.sleep(1.0)
                pss[j["phase"]] = pss_kib(p.pid)
            else:
                done = j
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert done and done["ok"] == done["want"], (done, err)
    got = RECORDED[before:]
    assert len(got) == done["want"]
    for rec in got:
        hdrs = {k.lower(): v for k, v in rec["headers"]}
        assert hdrs.get("authorization") == "Bearer " + SECRET
    per_conn = (pss["full"] - pss["base"]) / n
    # two TLS record buffers alone are 66 KiB; kept while idle they were
    # ~59 KiB of PSS per connection.  AddressSanitizer adds redzones and
    # shadow memory to every allocation.
    bound = 120 if "asan" in ISLO else 40
    assert per_conn < bound, (pss, per_conn)
