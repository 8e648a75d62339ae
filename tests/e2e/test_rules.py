# SPDX-License-Identifier: MIT
"""Per-request rule choice (issue 13): on one keep-alive connection, each
request is decided by the first rule whose host, port, methods and
path_pattern match it; method-override headers are held to that rule;
bodyless responses end their exchange.  Real clients (curl, python's
http.client on one connection) through islo-net to the test servers."""
import json
import os

import pytest

from conftest import audit_events

SECRET = "rul3s-T0ken-5a6b7c8d9e"

ALLOW_DENY = """\
name: rules
rules:
  - name: no-delete
    priority: 10
    host_pattern: api.example.com
    ports: [{https}, {http}]
    methods: [DELETE]
    path_pattern: /headers/public/*
    action: deny
  - name: read-only
    priority: 15
    host_pattern: api.example.com
    ports: [{https}, {http}]
    methods: [GET, HEAD]
    path_pattern: /headers/ro/*
    allow_private: true
  - name: api
    priority: 20
    host_pattern: api.example.com
    ports: [{https}, {http}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: TOKEN
  - name: only-delete-denied
    host_pattern: other.example.com
    ports: [{https}]
    methods: [DELETE]
    action: deny
"""


def run(islo, world, cmd, profile="rules", timeout=60):
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    return islo(cmd, profile, extra=extra, env={"ISLO_TEST_TOKEN": SECRET},
                timeout=timeout)


def session_script(port, requests, https=True, host="api.example.com"):
    """A python http.client script making @requests (method, path,
    headers) on ONE connection, printing each status and the body's
    first line."""
    return (
        "import http.client,ssl\n"
        "c=http.client.%s('%s',%d,%stimeout=20)\n"
        "for m,p,h in %r:\n"
        "    c.request(m,p,headers=h)\n"
        "    r=c.getresponse(); b=r.read()\n"
        "    print(m,p,r.status,b.decode(errors='replace').splitlines()[0] if b else '')\n"
        "print('sock', c.sock is not None)\n"
        % ("HTTPSConnection" if https else "HTTPConnection", host, port,
           "context=ssl.create_default_context()," if https else "", requests))


def statuses(out):
    return [int(l.split()[2]) for l in out.splitlines()
            if l.split()[:1] and l.split()[0] in ("GET", "HEAD", "POST", "DELETE", "PUT")]


@pytest.fixture(scope="module", autouse=True)
def profile(world):
    world.profile("rules", ALLOW_DENY)


def test_deny_rule_with_methods_and_paths_decides_only_its_requests(islo, world):
    """"allow the API, deny DELETE on /public/*": the deny rule's requests
    get 403 and nothing else does, on one keep-alive connection; the audit
    names the rule that decided each request."""
    tag = os.urandom(4).hex()
    reqs = [("GET", "/headers/public/%s" % tag, {}),
            ("DELETE", "/headers/public/%s" % tag, {}),
            ("DELETE", "/headers/other/%s" % tag, {}),
            ("GET", "/headers/ro/%s" % tag, {}),
            ("POST", "/headers/ro/%s" % tag, {"Content-Length": "0"}),
            ("GET", "/headers/public/x/../%s" % tag, {})]
    r = run(islo, world, ["/usr/bin/python3", "-c", session_script(world.https_port, reqs[:5])])
    assert r.rc == 0, r
    assert statuses(r.out) == [200, 403, 200, 200, 200], r
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert [(e["method"], e["rule"], e["action"]) for e in ev] == [
        ("GET", "api", "allow"), ("DELETE", "no-delete", "deny"), ("DELETE", "api", "allow"),
        ("GET", "read-only", "allow"), ("POST", "api", "allow")], ev
    # (the 403 closed its connection; http.client opened another)
    import servers
    got = [x for x in servers.RECORDED if tag in x["path"]]
    assert ("DELETE", "/headers/public/%s" % tag) not in [(x["method"], x["path"]) for x in got]


def test_each_request_of_a_session_decided_on_its_own(islo, world):
    tag = os.urandom(4).hex()
    reqs = [("GET", "/headers/public/%s" % tag, {}),
            ("DELETE", "/headers/other/%s" % tag, {}),
            ("GET", "/headers/ro/%s" % tag, {}),
            ("POST", "/headers/ro/%s" % tag, {"Content-Length": "0"}),
            ("HEAD", "/headers/ro/%s" % tag, {}),
            ("DELETE", "/headers/public/%s" % tag, {})]
    r = run(islo, world, ["/usr/bin/python3", "-c", session_script(world.https_port, reqs)])
    assert r.rc == 0, r
    assert statuses(r.out) == [200, 200, 200, 200, 200, 403], r
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert [e["rule"] for e in ev] == ["api", "api", "read-only", "api", "read-only", "no-delete"], ev
    # read-only has no credential; api's requests got it
    assert [bool(e.get("credentials")) for e in ev[:5]] == [True, True, False, True, False], ev
    import servers
    got = {(x["method"], x["path"]): x for x in servers.RECORDED if tag in x["path"]}
    auth = lambda x: [v for k, v in x["headers"] if k.lower() == "authorization"]
    assert auth(got[("GET", "/headers/public/%s" % tag)]) == ["Bearer " + SECRET]
    assert auth(got[("GET", "/headers/ro/%s" % tag)]) == []
    assert ("DELETE", "/headers/public/%s" % tag) not in got
    assert SECRET not in r.out


def test_path_not_in_normal_form_meets_the_deny_rule(islo, world):
    """A dot-segment or an encoded slash cannot step around a deny rule's
    path_pattern: such a path matches every deny rule's paths."""
    tag = os.urandom(4).hex()
    reqs = [("DELETE", "/headers/x/../public/%s" % tag, {}),
            ("DELETE", "/headers/public%%2f%s" % tag, {}),
            ("DELETE", "/headers//public/%s" % tag, {})]
    for req in reqs:
        r = run(islo, world, ["/usr/bin/python3", "-c", session_script(world.https_port, [req])])
        assert r.rc == 0, r
        assert statuses(r.out) == [403], (req, r)
    import servers
    assert not [x for x in servers.RECORDED if tag in x["path"]]


def test_connection_refused_only_when_no_rule_could_allow(islo, world):
    # other.example.com: a deny rule for DELETE only, default deny: no
    # request could be allowed, so the connection itself is refused
    r = run(islo, world, ["curl", "-sS", "--max-time", "10", "-o", "/dev/null",
                          "https://other.example.com:%d/hello" % world.https_port])
    assert r.rc == 7, r
    # ... with a rule after it that allows the host, it is admitted (and
    # intercepted though that rule alone would not be): DELETE gets 403,
    # GET passes
    world.profile("rules-rest", ALLOW_DENY + """\
  - name: rest
    priority: 3000
    host_pattern: other.example.com
    ports: [{https}]
    allow_private: true
""")
    tag = os.urandom(4).hex()
    reqs = [("GET", "/headers/%s" % tag, {}), ("DELETE", "/headers/%s" % tag, {})]
    r = run(islo, world, ["/usr/bin/python3", "-c",
                          session_script(world.https_port, reqs, host="other.example.com")],
            profile="rules-rest")
    assert r.rc == 0, r
    assert statuses(r.out) == [200, 403], r
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert [e["rule"] for e in ev] == ["rest", "only-delete-denied"], ev


def test_method_override_headers_held_to_the_rule(islo, world):
    tag = os.urandom(4).hex()
    for hdr in ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"):
        reqs = [("GET", "/headers/ro/%s" % tag, {hdr: "GET"}),
                ("GET", "/headers/ro/%s" % tag, {hdr: "head"}),
                ("GET", "/headers/ro/%s" % tag, {hdr: "DELETE"})]
        r = run(islo, world, ["/usr/bin/python3", "-c", session_script(world.https_port, reqs)])
        assert r.rc == 0, r
        assert statuses(r.out) == [200, 200, 403], (hdr, r)
        sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
        assert sec and "override" in sec[0]["reason"], r
    # an override naming a method another rule allows is still refused:
    # POST /headers/ro is api's (with the credential), GET is read-only's
    r = run(islo, world, ["/usr/bin/python3", "-c", session_script(
        world.https_port, [("GET", "/headers/ro/%s" % tag, {"X-HTTP-Method-Override": "POST"}),
                           ("POST", "/headers/public/%s" % tag,
                            {"X-HTTP-Method-Override": "DELETE", "Content-Length": "0"})])])
    assert statuses(r.out) == [403, 403], r
    r = run(islo, world, ["/usr/bin/python3", "-c", session_script(
        world.https_port, [("GET", "/headers/ro/%s" % tag, {"X-HTTP-Method-Override": "GET, DELETE"})])])
    assert statuses(r.out) == [400], r


def test_plain_http_requests_decided_one_by_one(islo, world):
    tag = os.urandom(4).hex()
    reqs = [("GET", "/headers/public/%s" % tag, {}),
            ("GET", "/headers/ro/%s" % tag, {}),
            ("DELETE", "/headers/public/%s" % tag, {})]
    r = run(islo, world, ["/usr/bin/python3", "-c",
                          session_script(world.http_port, reqs, https=False)])
    assert r.rc == 0, r
    assert statuses(r.out) == [200, 200, 403], r
    import servers
    got = [x for x in servers.RECORDED if tag in x["path"]]
    # no credential over plain HTTP without allow_plaintext
    assert got and not [v for x in got for k, v in x["headers"] if k.lower() == "authorization"]


@pytest.mark.parametrize("path", ["/empty", "/empty?status=204", "/empty?status=304"])
def test_bodyless_response_ends_its_exchange(islo, world, path):
    """Content-Length: 0, 204, 304 and a HEAD's response, then more requests
    on the same connection: each is answered (it used to hang)."""
    reqs = [("GET", path, {}), ("GET", "/hello", {}), ("HEAD", "/hello", {}),
            ("GET", path, {}), ("POST", "/up", {"Content-Length": "0"}), ("GET", "/hello", {})]
    r = run(islo, world, ["/usr/bin/python3", "-c", session_script(world.https_port, reqs)],
            timeout=40)
    assert r.rc == 0, r
    want = int(path.split("=")[1]) if "=" in path else 200
    assert statuses(r.out) == [want, 200, 200, want, 200, 200], r
    assert "sock True" in r.out, r        # one connection throughout
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert len(ev) == 6, ev
    r = run(islo, world, ["curl", "-sS", "--max-time", "15", "-o", "/dev/null", "-o", "/dev/null",
                          "-w", "%{http_code}\\n",
                          "https://api.example.com:%d%s" % (world.https_port, path),
                          "https://api.example.com:%d/hello" % world.https_port])
    assert r.rc == 0 and r.out.split() == [str(want), "200"], r


FRONT = """\
name: front
rules:
  - name: api-plain
    host_pattern: api.example.com
    ports: [{http}]
    allow_private: true
"""

RAW = (
    "import socket,sys,time\n"
    "def go(data):\n"
    "    s=socket.create_connection(('api.example.com',%d),timeout=5)\n"
    "    for d in data:\n"
    "        s.sendall(d); time.sleep(0.2)\n"
    "    out=b''\n"
    "    try:\n"
    "        while True:\n"
    "            b=s.recv(65536)\n"
    "            if not b: break\n"
    "            out+=b\n"
    "    except socket.timeout: pass\n"
    "    print('CASE', repr(out.decode(errors='replace')))\n"
    "H='api.example.com:%d'\n"
    "for case in %s:\n"
    "    go([c.replace(b'{H}', H.encode()) for c in case])\n")


def test_plain_http_host_fronting_every_request_checked(islo, world):
    """One allowed name on an address that serves several virtual hosts:
    keep-alive and pipelined requests, request lines the peek did not take
    for HTTP, a leading CRLF: none reaches the other virtual host."""
    world.profile("front", FRONT)
    ok = b"GET /hello HTTP/1.1\r\nHost: {H}\r\n\r\n"
    bad = b"GET /hello HTTP/1.1\r\nHost: other.example.com:%d\r\n\r\n" % world.http_port
    cases = [
        [ok, bad],                                          # keep-alive, second request
        [ok + bad],                                         # pipelined
        [b"GET /hello HTTP/1.2\r\nHost: other.example.com\r\n\r\n"],
        [b"GET /hello HTTP/1.10\r\nHost: other.example.com\r\n\r\n"],
        [b"GET /hello HTTP/1.1 \r\nHost: other.example.com\r\n\r\n"],
        [b"\r\nGET /hello HTTP/1.1\r\nHost: other.example.com\r\n\r\n"],
        [b"\r\n", b"\r\nGET /hello HTTP/1.1\r\nHost: other.example.com\r\n\r\n"],
        [b"get /hello HTTP/1.1\r\nHost: other.example.com\r\n\r\n"],
        [b"GET /hello HTTP/1.1\r\nHost: api.example.com:1\r\n\r\n"],
        [ok],
    ]
    script = RAW % (world.http_port, world.http_port, repr(cases))
    r = islo(["/usr/bin/python3", "-c", script], "front")
    assert r.rc == 0, r
    outs = [l for l in r.out.splitlines() if l.startswith("CASE")]
    assert len(outs) == len(cases), r
    for o in outs:
        assert "host=other" not in o, (o, r)
    assert "200 OK" in outs[0] and "403" in outs[0] and outs[0].count("hello from upstream") == 1, r
    assert "200 OK" in outs[1] and "403" in outs[1] and outs[1].count("hello from upstream") == 1, r
    for o in outs[2:8]:
        assert "HTTP/1.1 400" in o and "hello from upstream" not in o, (o, r)
    assert "HTTP/1.1 403" in outs[8], r
    assert "200 OK" in outs[9] and "host=api.example.com" in outs[9], r
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert len([e for e in sec if "Host" in e["reason"]]) >= 3, sec


def test_plain_http_other_protocols_still_pass(islo, world):
    """Bytes that cannot begin a request line, and an SSH identification
    line, go through as before (upstream answers, not islo-net)."""
    world.profile("front", FRONT)
    cases = [[b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"], [b"\x00\x01binary\r\n\r\n"]]
    script = RAW % (world.http_port, world.http_port, repr(cases))
    r = islo(["/usr/bin/python3", "-c", script], "front")
    assert r.rc == 0, r
    outs = [l for l in r.out.splitlines() if l.startswith("CASE")]
    # the test server (python's) answered: its 400 page, not islo-net's JSON
    assert "islo-net" not in outs[0] and "Error code explanation" in outs[0], r
    assert "islo-net" not in outs[1], r


TIMEOUTS = """\
name: to
timeouts:
  tls_handshake: 2
  request_head: 2
  idle: 2
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}, {http}]
    allow_private: true
    methods: [GET]
"""

STALL = r"""
import socket, ssl, sys, time
port_tls, port_plain = int(sys.argv[1]), int(sys.argv[2])
def closed_after(s, t0):
    s.settimeout(15)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return "eof %.1f" % (time.time() - t0), b""
            last = b
            if b.startswith(b"HTTP/1.1 408"):
                while s.recv(65536):
                    pass
                return "408 %.1f" % (time.time() - t0), b
    except ConnectionResetError:
        return "reset %.1f" % (time.time() - t0), b""
# 1. a ClientHello, then nothing: 50 of them at once
out = ssl.MemoryBIO()
hello = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), out,
                                              server_hostname="api.example.com")
try:
    hello.do_handshake()
except ssl.SSLWantReadError:
    pass
ch = out.read()
socks = []
for i in range(50):
    s = socket.create_connection(("api.example.com", port_tls), timeout=10)
    s.sendall(ch)
    socks.append(s)
t0 = time.time()
res = [closed_after(s, t0)[0].split()[0] for s in socks]
print("tls", res.count("eof") + res.count("reset"), "%.1f" % (time.time() - t0))
# 2. slowloris: a head that never ends, one line at a time
s = socket.create_connection(("api.example.com", port_plain), timeout=10)
t0 = time.time()
s.sendall(b"GET /hello HTTP/1.1\r\nHost: api.example.com:%d\r\n" % port_plain)
for i in range(5):
    time.sleep(0.5)
    try:
        s.sendall(b"X-Slow-%d: 1\r\n" % i)
    except OSError:
        break
print("head", closed_after(s, t0)[0])
# 3. a keep-alive connection left idle after one exchange
s = socket.create_connection(("api.example.com", port_plain), timeout=10)
s.sendall(b"GET /hello HTTP/1.1\r\nHost: api.example.com:%d\r\n\r\n" % port_plain)
t0 = time.time()
first = s.recv(65536)
print("first", first.split(b"\r\n")[0].decode())
print("idle", closed_after(s, t0)[0])
"""


def test_timeouts_handshake_head_idle(islo, world):
    world.profile("to", TIMEOUTS)
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["/usr/bin/python3", "-c", STALL, str(world.https_port), str(world.http_port)],
             "to", extra=extra, timeout=90)
    assert r.rc == 0, r
    lines = dict(l.split(" ", 1) for l in r.out.splitlines())
    n, secs = lines["tls"].split()
    assert n == "50" and 1.5 <= float(secs) < 6, r          # all closed, at ~2 s
    kind, secs = lines["head"].split()
    assert kind == "408" and 1.5 <= float(secs) < 5, r
    assert lines["first"] == "HTTP/1.1 200 OK", r
    kind, secs = lines["idle"].split()
    assert kind in ("eof", "reset") and 1.5 <= float(secs) < 5, r
    ev = audit_events(r.audit)
    reasons = [e.get("reason", "") for e in ev if e["event"] in ("connection", "http_request")]
    assert sum("TLS handshake with the sandbox timed out" in x for x in reasons) == 50, reasons
    assert any("request head timed out" in x for x in reasons), reasons
    assert any("idle keep-alive connection timed out" in x for x in reasons), reasons


def _v6_forms(v4):
    import ipaddress
    a = ipaddress.IPv4Address(v4).packed
    h = a.hex()
    return ["64:ff9b::%s:%s" % (h[:4], h[4:]),
            "64:ff9b:1:%s:%s:%s00::" % (h[:4], h[4:6], h[6:]),
            "2002:%s:%s::1" % (h[:4], h[4:]),
            "::%s" % v4]


@pytest.mark.skipif(os.getuid() != 0, reason="the public-address namespace needs root")
def test_nat64_6to4_and_compatible_forms_meet_the_ipv4_rules(islo, world):
    """A cidr deny rule for an IPv4 address also denies the IPv6 addresses
    that carry it (they would reach it through a translator)."""
    from conftest import PUB_PEER
    world.profile("forms", """\
default_action: allow
rules:
  - name: no-pub
    cidr: %s/32
    ports: "*"
    action: deny
  - name: no-pub-lit
    priority: 5
    host_pattern: %s
    ports: [1]
    action: deny
""" % (PUB_PEER, PUB_PEER))
    forms = _v6_forms(PUB_PEER)
    cmd = "; ".join("curl -sS -g --max-time 5 -o /dev/null http://[%s]:%d/ ; echo rc=$?" % (f, world.pub_port)
                    for f in forms)
    cmd += "; curl -sS --max-time 5 -o /dev/null http://%s:%d/ ; echo rc=$?" % (PUB_PEER, world.pub_port)
    cmd += "; curl -sS -g --max-time 5 -o /dev/null http://[%s]:1/ ; echo rc=$?" % forms[0]
    r = islo(["sh", "-c", cmd], "forms")
    assert r.out.split() == ["rc=7"] * 6, r
    opens = [e for e in audit_events(r.audit) if e["event"] == "connection" and e.get("phase") == "open"]
    assert [(e["action"], e["rule"]) for e in opens] == [("deny", "no-pub")] * 5 + [("deny", "no-pub-lit")], opens
    # allow_private: a loopback address in NAT64 dress is still loopback
    cmd = "curl -sS -g --max-time 5 -o /dev/null http://[64:ff9b::7f00:1]:%d/; echo rc=$?" % world.http_port
    r = islo(["sh", "-c", cmd], "forms")
    assert r.out.split() == ["rc=7"], r
    ev = [e for e in audit_events(r.audit) if e["event"] == "connection"]
    assert ev and ev[0]["action"] == "deny" and "private" in ev[0]["reason"], ev


def test_git_push_over_a_megabyte_through_an_intercepting_rule(islo, world):
    """git's smart HTTP push (git http-backend upstream): a probe, a
    chunked pack of several MB, short answers; it used to hang after a
    Content-Length: 0 answer.  Pushed twice over one run."""
    import subprocess
    root = os.environ["ISLO_GIT_ROOT"]
    name = "push-%s.git" % os.urandom(3).hex()
    bare = os.path.join(root, name)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", bare], check=True)
    subprocess.run(["git", "--git-dir", bare, "config", "http.receivepack", "true"], check=True)
    subprocess.run(["chmod", "-R", "a+rwX", bare], check=True)
    world.profile("gitpush", """\
rules:
  - name: git
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    path_pattern: /smart/*
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
""")
    url = "https://api.example.com:%d/smart/%s" % (world.https_port, name)
    script = (
        "set -e; cd /tmp; d=islo-push-$$; rm -rf $d; git clone -q %s $d 2>/dev/null; cd $d; "
        "g='git -c user.name=t -c user.email=t@t'; "
        "head -c 6000000 /dev/urandom > big; $g add big; $g commit -qm big; "
        "git push -q origin HEAD:main; "
        "head -c 2000000 /dev/urandom > big2; $g add big2; $g commit -qm big2; "
        "git push -q origin HEAD:main; git rev-parse HEAD; cd /tmp; rm -rf $d" % url)
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["sh", "-c", script], "gitpush", extra=extra,
             env={"ISLO_TEST_TOKEN": SECRET}, timeout=120)
    assert r.rc == 0, r
    head = r.out.split()[-1]
    log = subprocess.run(["git", "--git-dir", bare, "log", "--format=%H %s", "main"],
                         capture_output=True, text=True).stdout.split("\n")
    assert log[0] == head + " big2" and log[1].endswith(" big"), (log, r)
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    posts = [e for e in ev if e["method"] == "POST" and "receive-pack" in e["path"]]
    assert len(posts) >= 2 and all(e["status"] == 200 and e["credentials"] for e in posts), ev


def test_python_requests_session_with_empty_answers(islo, world):
    """A python-requests session (one pooled connection) through an
    intercepting rule: empty answers (Content-Length: 0, 204) between
    ordinary ones, each request decided on its own, nothing stalls."""
    pytest.importorskip("requests")
    tag = os.urandom(4).hex()
    script = (
        "import requests\n"
        "s=requests.Session()\n"
        "u='https://api.example.com:%d'\n"
        "for m,p in [('GET','/empty'),('GET','/headers/public/%s'),('GET','/empty?status=204'),\n"
        "            ('DELETE','/headers/public/%s'),('GET','/headers/ro/%s'),('POST','/empty')]:\n"
        "    r=s.request(m,u+p,timeout=15)\n"
        "    print(m,p,r.status_code,len(r.content))\n" % (world.https_port, tag, tag, tag))
    r = run(islo, world, ["/usr/bin/python3", "-c", script], timeout=60)
    assert r.rc == 0, r
    assert statuses(r.out) == [200, 200, 204, 403, 200, 200], r
    ev = audit_events(r.audit)
    reqs = [e for e in ev if e["event"] == "http_request"]
    assert [e["rule"] for e in reqs] == ["api", "api", "api", "no-delete", "read-only", "api"], reqs
    opens = [e for e in ev if e["event"] == "connection" and e.get("phase") == "open"]
    assert len(opens) == 2, opens        # one, and one more after the 403 closed it


def test_request_whose_rule_goes_elsewhere_is_refused(islo, world):
    """The connection goes where its first allowing rule sends it (here a
    route); a request decided by another rule that would go elsewhere
    is refused, not sent down this connection with that rule's rights."""
    world.profile("routes", """\
rules:
  - name: routed-get
    priority: 10
    host_pattern: api.staging.example
    ports: [443]
    methods: [GET]
    route: 127.0.0.1:{https}
    tls_verify_name: api.example.com
  - name: direct
    priority: 20
    host_pattern: api.staging.example
    ports: [443]
    allow_private: true
    tls: intercept
""")
    tag = os.urandom(4).hex()
    reqs = [("GET", "/headers/%s" % tag, {}), ("POST", "/headers/%s" % tag, {"Content-Length": "0"})]
    r = run(islo, world, ["/usr/bin/python3", "-c",
                          session_script(443, reqs, host="api.staging.example")], profile="routes")
    assert r.rc == 0, r
    st = statuses(r.out)
    assert st[0] == 200 and st[1] == 403, r
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert ev[1]["rule"] == "direct" and "upstream" in ev[1]["reason"], ev
