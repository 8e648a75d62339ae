# SPDX-License-Identifier: MIT
"""Upstream connection reuse for intercepted HTTP (pxpool.c): an idle
upstream TLS connection a sandbox connection leaves behind is taken by the
next one to the same host, port, rules and credential, and by no other.

The upstream is this module's own HTTPS server (the world's test CA): it
numbers the TCP connections it accepts (each one a TLS handshake) and
records, for every request, the connection it came on, its place there and
its credential, so the tests see what upstream saw."""
import http.server
import itertools
import json
import os
import signal
import ssl
import subprocess
import threading
import time

import pytest

from conftest import ISLO, audit_events

SECRET = "reuse-T0ken-4b1d8e"
SECRET_B = "reuse-Other-77c2a1"

PROFILE = """\
name: reuse
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{reuse}, {idle}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
  - name: two-a
    host_pattern: other.example.com
    ports: [{reuse}]
    allow_private: true
    path_pattern: [/a*]
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
  - name: two-b
    host_pattern: other.example.com
    ports: [{reuse}]
    allow_private: true
    path_pattern: [/b*]
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN_B
"""

LOCK = threading.Lock()
SEEN = []
CONNS = itertools.count(1)


class Handler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive; /closeonreuse* is not answered (the connection
    is closed at once) when it is not the connection's first request: a
    server closing an idle connection just as it is reused."""
    protocol_version = "HTTP/1.1"
    port = 0

    def setup(self):
        super().setup()
        with LOCK:
            self.conn = next(CONNS)
        self.nreq = 0

    def serve(self):
        self.nreq += 1
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        rec = {"conn": self.conn, "n": self.nreq, "method": self.command,
               "path": self.path, "port": self.port,
               "auth": self.headers.get("Authorization"),
               "connection": self.headers.get_all("Connection")}
        with LOCK:
            SEEN.append(rec)
        if "closeonreuse" in self.path and self.nreq > 1:
            self.close_connection = True
            return
        body = json.dumps({"conn": self.conn}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if "unsolicited" in self.path:
            # a response nobody asked for, on the idle connection: if it
            # were parked and reused, it would answer the next request
            time.sleep(0.3)
            evil = b"EVIL-RESPONSE"
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(evil), evil))

    do_GET = do_POST = serve

    def log_message(self, *a):
        pass


class IdleHandler(Handler):
    """Closes a connection idle for a second after an answer (a server's
    keep-alive timeout); a new connection's first request may take five."""
    timeout = 5

    def handle_one_request(self):
        self.connection.settimeout(5 if self.nreq == 0 else 1)
        super().handle_one_request()


def serve_https(world, handler):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.port = srv.server_address[1]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(world.dir, "srv.pem"), os.path.join(world.dir, "srv.key"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="module")
def ups(world):
    class H(Handler):
        pass

    class I(IdleHandler):
        pass
    a, b = serve_https(world, H), serve_https(world, I)
    world.profile("reuse", PROFILE.replace("{reuse}", str(H.port))
                  .replace("{idle}", str(I.port)))
    yield H.port, I.port
    a.shutdown()
    b.shutdown()


def run(islo, world, script, timeout=90):
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    env = {"ISLO_TEST_TOKEN": SECRET, "ISLO_TEST_TOKEN_B": SECRET_B}
    r = islo(["sh", "-c", script], "reuse", extra=extra, env=env, timeout=timeout)
    # under the sanitizer build (ISLO_BIN), any report fails the test
    assert "Sanitizer" not in r.err and "runtime error" not in r.err, r.err
    return r


def curl(url, *opts):
    """One sandbox connection: curl prints the status on a line of its own."""
    return ("curl -sS --max-time 20 -o /dev/null -w '%%{http_code}\\n' %s '%s'"
            % (" ".join(opts), url))


def seen(tag):
    with LOCK:
        return [x for x in SEEN if tag in x["path"]]


def tag_events(audit, tag):
    return [e for e in audit_events(audit)
            if e.get("event") == "http_request" and tag in e.get("path", "")]


def test_sequential_connections_share_one_upstream(islo, world, ups):
    """Five sandbox connections, one after another: upstream sees fewer
    TCP connections (TLS handshakes) than the sandbox made, every request
    with the credential, every request in the audit log with its rule."""
    port, _ = ups
    tag = os.urandom(5).hex()
    script = "; ".join(curl("https://api.example.com:%d/hello?%s-%d" % (port, tag, i))
                       for i in range(5))
    r = run(islo, world, script)
    assert r.rc == 0, r
    assert r.out.split() == ["200"] * 5, r
    got = seen(tag)
    assert len(got) == 5, got
    assert all(g["auth"] == "Bearer " + SECRET for g in got), got
    conns = {g["conn"] for g in got}
    assert len(conns) < 5, got                  # reused
    assert len(conns) == 1, got                 # sequential: always the parked one
    ev = tag_events(r.audit, tag)
    assert len(ev) == 5, r.audit
    assert all(e["rule"] == "api" and e["status"] == 200 and
               e["credentials"] == "env:ISLO_TEST_TOKEN" for e in ev), ev
    assert [bool(e.get("upstream_reused")) for e in ev] == [False] + [True] * 4, ev


def test_connection_close_is_the_sandbox_connections_only(islo, world, ups):
    """A client that asks `Connection: close` (one request per
    connection): its connection closes after the answer, but Connection
    is hop-by-hop, so upstream's is kept and reused."""
    port, _ = ups
    tag = os.urandom(5).hex()
    script = "; ".join(curl("https://api.example.com:%d/hello?%s-%d" % (port, tag, i),
                            "-H 'Connection: close'") for i in range(4))
    r = run(islo, world, script)
    assert r.rc == 0, r
    assert r.out.split() == ["200"] * 4, r
    got = seen(tag)
    assert len(got) == 4 and all(g["connection"] is None for g in got), got
    assert len({g["conn"] for g in got}) == 1, got


def test_rules_with_different_credentials_never_share(islo, world, ups):
    """Two rules of one host, each with its own credential: a connection
    that carried one rule's credential never carries the other's
    requests (such a host is not pooled at all)."""
    port, _ = ups
    tag = os.urandom(5).hex()
    script = "; ".join(curl("https://other.example.com:%d/%s?%s-%d" % (port, p, tag, i))
                       for i, p in enumerate("abab"))
    r = run(islo, world, script)
    assert r.rc == 0, r
    assert r.out.split() == ["200"] * 4, r
    got = seen(tag)
    assert len(got) == 4, got
    for g in got:
        want = SECRET if g["path"].startswith("/a") else SECRET_B
        assert g["auth"] == "Bearer " + want, g
    a = {g["conn"] for g in got if g["path"].startswith("/a")}
    b = {g["conn"] for g in got if g["path"].startswith("/b")}
    assert not a & b, got
    ev = tag_events(r.audit, tag)
    assert sorted(e["rule"] for e in ev) == ["two-a", "two-a", "two-b", "two-b"], ev
    assert not any(e.get("upstream_reused") for e in ev), ev


def test_reused_connection_closed_get_retried_post_not(islo, world, ups):
    """The server closes a reused connection as the request arrives,
    unanswered: a GET is sent again on a fresh connection (answered 200);
    a POST is answered 502 and upstream saw it once."""
    port, _ = ups
    tag = os.urandom(5).hex()
    u = "https://api.example.com:%d/" % port
    script = "; ".join([
        curl(u + "hello?%s-1" % tag),
        curl(u + "closeonreuse?%s-2" % tag),
        curl(u + "hello?%s-3" % tag),
        curl(u + "closeonreuse?%s-4" % tag, "-X", "POST", "-d", "x=1"),
    ])
    r = run(islo, world, script)
    assert r.rc == 0, r
    assert r.out.split() == ["200", "200", "200", "502"], r
    two = [g for g in seen(tag) if g["path"].endswith("-2")]
    # once on the reused connection (not answered), once on a fresh one
    assert [g["n"] > 1 for g in two] == [True, False], two
    assert all(g["auth"] == "Bearer " + SECRET for g in two), two
    four = [g for g in seen(tag) if g["path"].endswith("-4")]
    assert len(four) == 1 and four[0]["method"] == "POST" and four[0]["n"] > 1, four
    ev = tag_events(r.audit, tag)
    assert [e["status"] for e in ev] == [200, 200, 200, 502], ev


def test_upstream_speaking_on_a_parked_connection_closes_it(islo, world, ups):
    """Upstream sends an answer nobody asked for on the idle, parked
    connection: it is closed, never handed to the next connection (whose
    request it would seem to answer)."""
    port, _ = ups
    tag = os.urandom(5).hex()
    u = "https://api.example.com:%d/" % port
    r = run(islo, world, "; ".join([
        curl(u + "unsolicited?%s-1" % tag), "sleep 1",
        "curl -sS --max-time 20 '%shello?%s-2'; echo" % (u, tag)]))
    assert r.rc == 0, r
    assert "EVIL" not in r.out, r
    got = seen(tag)
    assert len(got) == 2 and got[0]["conn"] != got[1]["conn"], got
    assert json.loads(r.out.split("\n")[1])["conn"] == got[1]["conn"], r


def test_http2_offer_on_a_reused_http1_upstream(islo, world, ups):
    """A client offering h2 and http/1.1 is answered http/1.1 at once when
    its connection takes a parked HTTP/1.1 upstream."""
    port, _ = ups
    tag = os.urandom(5).hex()
    script = "; ".join(curl("https://api.example.com:%d/hello?%s-%d" % (port, tag, i),
                            "--http2", "-w '%{http_code}/%{http_version}\\n'")
                       for i in range(3))
    r = run(islo, world, script)
    assert r.rc == 0, r
    assert r.out.split() == ["200/1.1"] * 3, r
    got = seen(tag)
    assert len(got) == 3 and len({g["conn"] for g in got}) == 1, got


def test_upstream_closes_an_idle_parked_connection(islo, world, ups):
    """The server closes the parked connection (its idle timeout): the
    next sandbox connection gets a fresh one and works."""
    _, idle = ups
    tag = os.urandom(5).hex()
    u = "https://api.example.com:%d/hello?%s" % (idle, tag)
    r = run(islo, world, "; ".join([curl(u + "-1"), "sleep 2", curl(u + "-2")]))
    assert r.rc == 0, r
    assert r.out.split() == ["200", "200"], r
    got = seen(tag)
    assert len(got) == 2 and got[0]["conn"] != got[1]["conn"], got
    assert [g["n"] for g in got] == [1, 1], got


SLOW_CLIENT = r"""
import socket, ssl, sys, time
c = ssl.create_default_context().wrap_socket(
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20),
    server_hostname=sys.argv[1])
time.sleep(2)       # upstream's idle timeout (1 s) passes meanwhile
c.sendall(("GET /hello?%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n"
           % (sys.argv[3], sys.argv[1], sys.argv[2])).encode())
got = b""
while True:     # the whole answer: the gateway closes after it
    b = c.recv(65536)
    if not b:
        break
    got += b
print(got.split(b"\r\n")[0].decode())
"""


def test_parked_connection_closed_after_it_was_taken(islo, world, ups, scratch):
    """The connection a flow took at its SYN is closed by upstream (its
    idle timeout) before the sandbox sends anything: a fresh one serves
    the request."""
    _, idle = ups
    tag = os.urandom(5).hex()
    script = os.path.join(scratch, "slow.py")
    with open(script, "w") as f:
        f.write(SLOW_CLIENT)
    os.chmod(script, 0o644)
    r = run(islo, world, "; ".join([
        curl("https://api.example.com:%d/hello?%s-1" % (idle, tag)),
        "python3 %s api.example.com %d %s-2" % (script, idle, tag)]))
    assert r.rc == 0, r
    assert r.out.split("\n")[:2] == ["200", "HTTP/1.1 200 OK"], r
    got = seen(tag)
    assert len(got) == 2 and got[0]["conn"] != got[1]["conn"], got
    ev = tag_events(r.audit, tag)
    assert [e["status"] for e in ev] == [200, 200], ev


def test_no_reuse_knob(islo, world, ups):
    """ISLO_NO_REUSE (the bench's knob) turns reuse off."""
    port, _ = ups
    tag = os.urandom(5).hex()
    script = "; ".join(curl("https://api.example.com:%d/hello?%s-%d" % (port, tag, i))
                       for i in range(3))
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["sh", "-c", script], "reuse", extra=extra,
             env={"ISLO_TEST_TOKEN": SECRET, "ISLO_TEST_TOKEN_B": SECRET_B,
                  "ISLO_NO_REUSE": "1"})
    assert r.rc == 0 and r.out.split() == ["200"] * 3, r
    assert len({g["conn"] for g in seen(tag)}) == 3, seen(tag)


def wait_for(pred, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


@pytest.mark.skipif(os.getuid() != 0, reason="namespaces with TAP devices need root")
def test_serve_reload_sandboxes_and_descriptors(world, scratch, ups):
    """`serve`: a reload ends reuse across it (the rules changed); two
    sandboxes never share an upstream connection; many connections leave
    no descriptor behind but the few parked ones."""
    import test_daemon
    port, _ = ups
    cadir = os.path.join(scratch, "ca")
    os.environ["ISLO_TEST_TOKEN"] = SECRET
    os.environ["ISLO_TEST_TOKEN_B"] = SECRET_B
    d = test_daemon.Daemon(world, scratch, extra=["--ca-dir", cadir, "--upstream-ca", world.ca])
    v, w = test_daemon.Sandbox("rv"), test_daemon.Sandbox("rw")
    tag = os.urandom(5).hex()
    try:
        for sb, sid in ((v, "sb-rv"), (w, "sb-rw")):
            d.add(sb, sid, "reuse", "--upstream-ca", world.ca, "--ca-dir", cadir)
        ca = subprocess.run([ISLO, "ca", "path", "--ca-dir", cadir], capture_output=True,
                            text=True).stdout.strip()
        u = "https://api.example.com:%d/hello?%s" % (port, tag)

        def get(sb, n):
            r = sb.run(["sh", "-c", curl("%s-%s" % (u, n), "--cacert", ca)])
            assert r.stdout.split() == ["200"], (r, open(d.log).read()[-2000:])

        get(v, "v1")
        get(v, "v2")
        first = {g["conn"] for g in seen(tag)}
        assert len(first) == 1, seen(tag)
        # the other sandbox: its own connection
        get(w, "w1")
        w1 = [g["conn"] for g in seen(tag) if g["path"].endswith("-w1")]
        assert w1[0] not in first, seen(tag)
        # a reload: the parked connection is not used under the new rules
        before = len([e for e in audit_events(open(d.audit).read())
                      if e["event"] == "profile_reload"])
        d.p.send_signal(signal.SIGHUP)
        assert wait_for(lambda: len([e for e in audit_events(open(d.audit).read())
                                     if e["event"] == "profile_reload"]) > before)
        get(v, "v3")
        v3 = [g["conn"] for g in seen(tag) if g["path"].endswith("-v3")]
        assert v3[0] not in first and v3[0] not in w1, seen(tag)
        # descriptors: many connections, no growth but the parked ones
        get(v, "v4")
        base = nfds(d.p.pid)
        for i in range(30):
            get(v, "m%d" % i)
        time.sleep(0.6)
        grown = nfds(d.p.pid) - base
        assert grown <= 4, grown
        many = {g["conn"] for g in seen(tag) if "-m" in g["path"]}
        assert len(many) <= 2, many
    finally:
        os.environ.pop("ISLO_TEST_TOKEN", None)
        os.environ.pop("ISLO_TEST_TOKEN_B", None)
        v.close()
        w.close()
        d.stop()


HOLD = r"""
import socket, sys, time
held = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
        for _ in range(int(sys.argv[3]))]
print("held", len(held), flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(os.getuid() != 0, reason="namespaces with TAP devices need root")
def test_parked_connections_count_against_the_connection_limit(world, scratch, ups):
    """A sandbox at its connection limit holds no parked connection
    besides: parked descriptors are its connections' share (the oldest
    gives way to a new connection)."""
    import test_daemon
    port, idle = ups
    cadir = os.path.join(scratch, "ca")
    os.environ["ISLO_TEST_TOKEN"] = SECRET
    os.environ["ISLO_TEST_TOKEN_B"] = SECRET_B
    d = test_daemon.Daemon(world, scratch, extra=["--ca-dir", cadir, "--upstream-ca", world.ca])
    sb = test_daemon.Sandbox("rl")
    tag = os.urandom(5).hex()
    hold = None
    try:
        d.add(sb, "sb-rl", "reuse", "--upstream-ca", world.ca, "--ca-dir", cadir,
              "--max-connections", "4")
        ca = subprocess.run([ISLO, "ca", "path", "--ca-dir", cadir], capture_output=True,
                            text=True).stdout.strip()
        base = nfds(d.p.pid)
        for i in range(2):
            r = sb.run(["sh", "-c", curl("https://api.example.com:%d/hello?%s-%d"
                                         % (port, tag, i), "--cacert", ca)])
            assert r.stdout.split() == ["200"], r
        assert len({g["conn"] for g in seen(tag)}) == 1, seen(tag)
        parked = nfds(d.p.pid) - base
        assert parked == 1, parked
        # four connections held open (the limit) to another port: the
        # parked one gives way
        hold = sb.popen(["/usr/bin/python3", "-c", HOLD, "api.example.com", str(idle), "4"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert hold.stdout.readline().strip() == "held 4"
        time.sleep(0.5)
        assert nfds(d.p.pid) - base <= 4, nfds(d.p.pid) - base
    finally:
        if hold:
            hold.stdin.close()
            hold.wait(timeout=10)
        os.environ.pop("ISLO_TEST_TOKEN", None)
        os.environ.pop("ISLO_TEST_TOKEN_B", None)
        sb.close()
        d.stop()
