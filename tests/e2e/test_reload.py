# SPDX-License-Identifier: MIT
"""SIGHUP reloads the profile in every front end that takes it (tap, qemu,
serve), with a profile that injects a credential: the reload re-checks the
file's owner (geteuid) after the process has isolated itself, which the
seccomp filter used to punish with SIGSYS (issue 13)."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import ISLO, audit_events

AUTH = """\
name: hup
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: TOKEN
"""


def wait_for(pred, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def reloads(audit):
    if not os.path.exists(audit):
        return []
    return [e for e in audit_events(open(audit).read()) if e["event"] == "profile_reload"]


def hup_twice(p, audit):
    """SIGHUP, twice; the process lives and logs two good reloads."""
    for n in (1, 2):
        p.send_signal(signal.SIGHUP)
        assert wait_for(lambda: len(reloads(audit)) >= n or p.poll() is not None), \
            (p.poll(), reloads(audit))
        assert p.poll() is None, "died on SIGHUP: %s" % p.poll()
    assert [e["result"] for e in reloads(audit)] == ["ok", "ok"], reloads(audit)
    assert [e["generation"] for e in reloads(audit)] == [2, 3]


def start(args, world, scratch, audit):
    world.profile("hup", AUTH)
    env = dict(os.environ, ISLO_TEST_TOKEN="hup-s3cret-value")
    return subprocess.Popen(
        [ISLO] + args + ["--profiles-dir", world.profiles, "-g", "hup",
                         "--dns-upstream", "127.0.0.1:%d" % world.dns_port,
                         "--upstream-ca", world.ca, "--ca-dir", os.path.join(scratch, "ca"),
                         "--audit-log", audit],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        raise


def test_sighup_reloads_qemu_with_auth_strategy(world, scratch):
    path = os.path.join(scratch, "q.sock")
    audit = os.path.join(scratch, "q.log")
    p = start(["qemu", "--socket", path], world, scratch, audit)
    try:
        assert wait_for(lambda: os.path.exists(path) or p.poll() is not None), p.stderr.read()
        time.sleep(0.3)     # isolated (seccomp) once the socket is up
        hup_twice(p, audit)
    finally:
        rc = stop(p)
    assert rc == 0, p.stderr.read()


@pytest.mark.skipif(os.getuid() != 0, reason="making a namespace with a TAP needs root")
def test_sighup_reloads_tap_with_auth_strategy(world, scratch):
    ns = "islo-hup-%d" % os.getpid()
    for c in (["ip", "netns", "add", ns],
              ["ip", "-n", ns, "tuntap", "add", "taphup", "mode", "tap"],
              ["ip", "-n", ns, "link", "set", "taphup", "up"]):
        subprocess.run(c, check=True)
    audit = os.path.join(scratch, "t.log")
    try:
        p = start(["tap", "--tap", "taphup", "--netns", "/run/netns/" + ns], world, scratch, audit)
        try:
            assert wait_for(lambda: os.path.exists(audit) or p.poll() is not None)
            time.sleep(0.5)
            assert p.poll() is None, p.stderr.read()
            hup_twice(p, audit)
        finally:
            rc = stop(p)
        assert rc == 0, p.stderr.read()
    finally:
        subprocess.run(["ip", "netns", "del", ns])


@pytest.mark.skipif(os.getuid() != 0, reason="namespaces with TAP devices need root")
def test_sighup_reloads_serve_with_auth_strategy(world, scratch):
    import test_daemon
    world.profile("hup", AUTH)
    os.environ["ISLO_TEST_TOKEN"] = "hup-s3cret-value"   # the daemon's env: secrets
    d = test_daemon.Daemon(world, scratch)
    sb = test_daemon.Sandbox("h")
    try:
        r = d.ctl("add", "--id", "sb-h", "--tap", sb.tap, "--netns", "/run/netns/" + sb.ns,
                  "--profiles-dir", world.profiles, "-g", "hup",
                  "--upstream-ca", world.ca, "--ca-dir", os.path.join(scratch, "ca"))
        if r.returncode != 0 and "ISLO_TEST_TOKEN" in r.stdout + r.stderr:
            pytest.skip("the daemon reads env: secrets from its own environment")
        assert r.returncode == 0, r
        hup_twice(d.p, d.audit)
    finally:
        os.environ.pop("ISLO_TEST_TOKEN", None)
        sb.close()
        d.stop()


TLS_KEEPALIVE = r"""
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[3])
s = ctx.wrap_socket(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10),
                    server_hostname=sys.argv[1])
def get(path):
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer x\r\n\r\n"
               % (path, sys.argv[1], sys.argv[2])).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            return "EOF"
        head += b
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    body = b""
    while len(body) < n:
        body += s.recv(4096)
    return head.split(b"\r\n")[0].decode() + " " + body.decode().replace("\n", " ") + "\n"
sys.stdout.write(get("/headers?" + sys.argv[4] + "-1")); sys.stdout.flush()
sys.stdin.readline()
sys.stdout.write(get("/headers?" + sys.argv[4] + "-2")); sys.stdout.flush()
"""


@pytest.mark.skipif(os.getuid() != 0, reason="namespaces with TAP devices need root")
def test_reload_revokes_on_the_next_request_of_an_open_connection(world, scratch):
    """An intercepted keep-alive connection: after a reload that narrows
    its rule, its next request is decided by the new rule and gets no
    credential."""
    import servers
    import test_daemon
    path = world.profile("rv", AUTH.replace("name: hup", "name: rv"))
    os.environ["ISLO_TEST_TOKEN"] = "rv-s3cret-value"
    cadir = os.path.join(scratch, "ca")
    d = test_daemon.Daemon(world, scratch, extra=["--ca-dir", cadir, "--upstream-ca", world.ca])
    sb = test_daemon.Sandbox("v")
    tag = os.urandom(4).hex()
    try:
        r = d.ctl("add", "--id", "sb-v", "--tap", sb.tap, "--netns", "/run/netns/" + sb.ns,
                  "--profiles-dir", world.profiles, "-g", "rv",
                  "--upstream-ca", world.ca, "--ca-dir", cadir)
        assert r.returncode == 0, r
        sb.wait_v6()
        ca = subprocess.run([ISLO, "ca", "path", "--ca-dir", cadir], capture_output=True,
                            text=True).stdout.strip()
        client = sb.popen(["/usr/bin/python3", "-c", TLS_KEEPALIVE, "api.example.com",
                           str(world.https_port), ca, tag],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
        one = client.stdout.readline()
        if not one.startswith("HTTP/1.1 200"):
            client.wait(timeout=10)
            raise AssertionError((one, client.stderr.read(), open(d.audit).read()[-3000:], open(d.log).read()[-2000:]))
        # narrowed: GET is no longer allowed there, and no credential
        with open(path, "w") as f:
            f.write(AUTH.replace("name: hup", "name: rv").format(https=world.https_port)
                    .replace("    allow_private: true\n", "    allow_private: true\n    methods: [POST]\n"))
        d.p.send_signal(signal.SIGHUP)
        assert wait_for(lambda: len(reloads(d.audit)) >= 1)
        client.stdin.write("\n")
        client.stdin.flush()
        two = client.stdout.readline()
        assert two.startswith("HTTP/1.1 403"), two
        got = [x for x in servers.RECORDED if tag in x["path"]]
        assert [x["path"].split("?")[1] for x in got] == [tag + "-1"], got
        assert ["Authorization", "Bearer rv-s3cret-value"] in got[0]["headers"]
        client.wait(timeout=10)
    finally:
        os.environ.pop("ISLO_TEST_TOKEN", None)
        sb.close()
        d.stop()


STALL_ONE = r"""
import socket, ssl, sys, time
out = ssl.MemoryBIO()
o = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), out, server_hostname=sys.argv[1])
try:
    o.do_handshake()
except ssl.SSLWantReadError:
    pass
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(out.read())
t = time.time()
try:
    while s.recv(65536):
        pass
except ConnectionResetError:
    pass
print("closed after %.1f" % (time.time() - t))
"""


@pytest.mark.skipif(os.getuid() != 0, reason="namespaces with TAP devices need root")
def test_timeouts_counted_in_stats_and_metrics(world, scratch):
    import test_daemon
    world.profile("tmo", """\
name: tmo
timeouts:
  tls_handshake: 1
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    tls: intercept
""")
    cadir = os.path.join(scratch, "ca")
    d = test_daemon.Daemon(world, scratch, extra=["--ca-dir", cadir, "--upstream-ca", world.ca])
    sb = test_daemon.Sandbox("o")
    try:
        d.add(sb, "sb-o", "tmo")
        r = sb.run(["/usr/bin/python3", "-c", STALL_ONE, "api.example.com", str(world.https_port)])
        assert r.returncode == 0 and r.stdout.startswith("closed after"), r
        assert 0.8 <= float(r.stdout.split()[-1]) < 4, r
        st = d.ctl_json("stats", "--id", "sb-o")["sandbox"]
        assert st["timeouts"] == {"tls_handshake": 1, "request_head": 0, "idle": 0}, st
        text = d.ctl("metrics").stdout
        assert 'islo_http_timeouts_total{sandbox="sb-o",kind="tls_handshake"} 1' in text, text
        ev = audit_events(open(d.audit).read())
        assert any("TLS handshake with the sandbox timed out" in e.get("reason", "") for e in ev), ev
    finally:
        sb.close()
        d.stop()
