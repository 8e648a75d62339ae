# SPDX-License-Identifier: MIT
"""The gateway datapath, end to end: real clients in the sandbox, real
servers on loopback, dnsmasq as the host-side resolver."""
import json
import os
import re
import signal
import subprocess
import time
import uuid

import pytest

from conftest import ISLO, PUB_PEER, audit_events

BASIC = """\
name: basic
description: the e2e profile
default_action: deny
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{http}, {https}]
    allow_private: true
  - name: wild
    host_pattern: "*.wild.example"
    ports: [{http}]
    allow_private: true
  - name: loopback-literal
    cidr: 127.0.0.0/8
    ports: [{http}]
    allow_private: true
  - name: v6-upstream
    host_pattern: v6only.example.com
    ports: [{http6}]
    allow_private: true
  - name: private-no-override
    host_pattern: private.example.com
    ports: [{http}]
  - name: block-evil
    host_pattern: evil.example.net
    action: deny
    ports: ["*"]
  - name: public-by-cidr
    cidr: [{pub_net}]
    ports: [{pub}]
  - name: refused-upstream
    host_pattern: other.example.com
    ports: [{closed}]
    allow_private: true
"""

OPEN = """\
name: open
default_action: allow
internet_enabled: true
rules:
  - name: everything-here
    cidr: 127.0.0.0/8
    host_pattern: other.example.com
    ports: ["*"]
    allow_private: true
"""

CURL = ["curl", "-sS", "--max-time", "15", "--noproxy", "*"]


@pytest.fixture(scope="module", autouse=True)
def profiles(world):
    world.profile("basic", BASIC)
    world.profile("open", OPEN)


def events(r, **match):
    out = []
    for e in audit_events(r.audit):
        if all(e.get(k) == v for k, v in match.items()):
            out.append(e)
    return out


def test_allowed_host_over_http(islo, world):
    r = islo(CURL + ["http://api.example.com:%d/hello" % world.http_port], "basic")
    assert r.rc == 0, r
    assert "hello from upstream host=api.example.com:%d path=/hello" % world.http_port in r.out
    opens = events(r, event="connection", phase="open", action="allow", host="api.example.com")
    assert opens and opens[0]["rule"] == "api" and opens[0]["profile"] == "basic", r
    assert opens[0]["dst_port"] == world.http_port and opens[0]["proto"] == "tcp"
    closes = events(r, event="connection", phase="close", host="api.example.com")
    assert closes, r
    assert closes[0]["bytes_up"] > 0 and closes[0]["bytes_down"] > 0
    assert "duration_ms" in closes[0]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", closes[0]["ts"])
    dns = events(r, event="dns", host="api.example.com")
    assert dns and dns[0]["action"] == "allow"


def test_allowed_host_over_https_passthrough(islo, world):
    r = islo(CURL + ["--cacert", world.ca, "https://api.example.com:%d/tls" % world.https_port],
             "basic")
    assert r.rc == 0, r
    assert "host=api.example.com:%d path=/tls" % world.https_port in r.out


def test_https_without_trusting_the_test_ca_fails_verification(islo, world):
    # passthrough: the sandbox sees the real server's certificate, so an
    # untrusted CA is the client's own verification failure (curl exit 60)
    r = islo(CURL + ["--cacert", "/dev/null", "https://api.example.com:%d/" % world.https_port],
             "basic")
    assert r.rc in (60, 77), r


def test_disallowed_host_is_refused_and_logged(islo, world):
    r = islo(CURL + ["http://other.example.com:%d/" % world.http_port], "basic")
    assert r.rc == 7, r
    deny = events(r, event="connection", action="deny", host="other.example.com")
    assert deny, r
    assert deny[0]["profile"] == "basic" and deny[0]["rule"] == "default"
    assert deny[0]["dst_port"] == world.http_port


def test_refusals_are_summarised_at_exit_and_said_under_v(islo, world):
    """A refused connection names islo-net, the profile, the host, the port
    and why, on stderr when `run` exits (counted, not repeated); -v says
    each as it happens; -q says nothing; a run with no refusal, nothing."""
    url = "http://other.example.com:%d/" % world.http_port
    r = islo(["sh", "-c", "for i in 1 2 3; do curl -sS --max-time 10 -4 %s; done; exit 0" % url],
             "basic")
    assert r.rc == 0, r
    assert "islo-net: profile 'basic' refused 3 connections or requests:" in r.err, r
    assert re.search(r"tcp other\.example\.com:%d  no rule allows it \(rule default\)  x3"
                     % world.http_port, r.err), r
    v = islo(CURL + ["-4", url], "basic", extra=["-v"])
    assert ("refused: tcp other.example.com:%d: no rule allows it (rule default)"
            % world.http_port) in v.err, v
    q = islo(CURL + ["-4", url], "basic", extra=["-q"])
    assert q.rc == 7 and "refused" not in q.err, q
    ok = islo(CURL + ["http://api.example.com:%d/" % world.http_port], "basic")
    assert ok.rc == 0 and "refused" not in ok.err, ok


def test_the_refusal_summary_escapes_what_the_sandbox_chose(islo, world):
    """The summary prints sandbox-controlled strings: a name with
    terminal-escape bytes (asked in a raw DNS query) gets no address at all
    (or, if it ever did, reaches stderr escaped), and 60 distinct refused
    destinations (both families each: 120 connections, 60 attempts) print
    the first eight and a count, not 60 lines."""
    script = r"""
import socket, struct
q = struct.pack('>HHHHHH', 7, 0x0100, 1, 0, 0, 0)
q += b'\x08e\x1b[31mvil\x07example\x00' + struct.pack('>HH', 1, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
u.sendto(q, ('10.0.2.3', 53)); a = u.recv(512)
n = struct.unpack('>H', a[6:8])[0]
if n:
    ip = socket.inet_ntoa(a[-4:])
    try: socket.create_connection((ip, 80), timeout=5)
    except OSError as e: print('refused-escaped', e.errno)
else:
    print('no-answer', a[3] & 15)
for port in range(1000, 1060):
    try: socket.create_connection(('other.example.com', port), timeout=5)
    except OSError: pass
"""
    r = islo(["/usr/bin/python3", "-c", script], "basic")
    assert r.rc == 0, r
    assert "\x1b" not in r.err, r
    if "refused-escaped" in r.out:
        assert "\\x1b" in r.err, r      # written as text
    else:
        assert re.search(r"no-answer [1-9]", r.out), r   # an error, no address
    assert "refused 60 connections or requests" in r.err, r
    assert r.err.count("\n") < 20, r        # the first eight, then a count
    assert re.search(r"and \d+ more", r.err), r


def test_a_refused_request_is_in_the_summary_with_its_method(islo, world):
    """A request refused by its method or path (the connection itself is
    allowed): the summary names the method, host, port, rule and reason;
    a hostile method is escaped."""
    prof = world.profile("getonly", "name: getonly\ndefault_action: deny\nrules:\n"
                         "  - name: reads\n    host_pattern: api.example.com\n"
                         "    ports: [{http}]\n    methods: [GET]\n"
                         "    allow_private: true\n")
    r = islo(CURL + ["-X", "DELETE", "http://api.example.com:%d/x" % world.http_port], prof)
    assert r.rc == 0, r
    assert re.search(r"DELETE api\.example\.com:%d  .*\(rule (reads|default)\)" % world.http_port,
                     r.err), r


def test_refusal_is_connection_refused(islo, world):
    script = (
        "import socket\n"
        "for fam in (socket.AF_INET, socket.AF_INET6):\n"
        "    s=socket.socket(fam); s.settimeout(10)\n"
        "    a=socket.getaddrinfo('other.example.com',%d,fam)[0][4]\n"
        "    try:\n"
        "        s.connect(a); print('connected')\n"
        "    except ConnectionRefusedError: print('refused')\n"
        "    except OSError as e: print('other', e)\n" % world.http_port)
    r = islo(["/usr/bin/python3", "-c", script], "basic")
    assert r.rc == 0 and r.out.split() == ["refused", "refused"], r


def test_deny_rule_is_named(islo, world):
    r = islo(CURL + ["http://evil.example.net:%d/" % world.http_port], "basic")
    assert r.rc == 7, r
    deny = events(r, event="connection", action="deny", host="evil.example.net")
    assert deny and deny[0]["rule"] == "block-evil", r


def test_wildcard_match_and_non_match(islo, world):
    ok1 = islo(CURL + ["http://a.wild.example:%d/" % world.http_port], "basic")
    assert ok1.rc == 0 and "host=a.wild.example" in ok1.out, ok1
    ok2 = islo(CURL + ["http://b.c.wild.example:%d/" % world.http_port], "basic")
    assert ok2.rc == 0, ok2
    bad = islo(CURL + ["http://wild.example:%d/" % world.http_port], "basic")
    assert bad.rc == 7, bad
    assert events(bad, action="deny", host="wild.example")


def need_netns(world):
    if not world.netns:
        pytest.skip("the upstream namespace needs root")


def test_ip_literal_matched_by_cidr(islo, world):
    need_netns(world)
    r = islo(CURL + ["http://%s:%d/lit" % (PUB_PEER, world.pub_port)], "basic")
    assert r.rc == 0, r
    assert "path=/lit" in r.out
    opens = events(r, event="connection", phase="open", action="allow")
    assert opens and opens[0]["rule"] == "public-by-cidr" and opens[0]["dst_ip"] == PUB_PEER
    assert "host" not in opens[0]
    # the same address by name: no host rule allows the name, and cidr
    # rules match IP literals only
    r2 = islo(CURL + ["http://pub.example.com:%d/" % world.pub_port], "basic")
    assert r2.rc == 7, r2


def test_public_name_needs_no_allow_private(islo, world):
    need_netns(world)
    world.profile("pub", "rules:\n  - host_pattern: pub.example.com\n    ports: [{pub}]\n")
    r = islo(CURL + ["http://pub.example.com:%d/p" % world.pub_port], "pub")
    assert r.rc == 0 and "host=pub.example.com" in r.out, r


def test_port_not_in_rule_is_refused(islo, world):
    r = islo(CURL + ["--cacert", world.ca, "https://127.0.0.1:%d/" % world.https_port], "basic")
    assert r.rc == 7, r
    r2 = islo(CURL + ["http://api.example.com:%d/" % world.other_port], "basic")
    assert r2.rc == 7, r2
    deny = events(r2, event="connection", action="deny", host="api.example.com")
    assert deny and deny[0]["dst_port"] == world.other_port and deny[0]["rule"] == "default"


def test_upstream_refusal_is_a_refusal_in_the_sandbox(islo, world):
    r = islo(CURL + ["http://other.example.com:%d/" % world.closed_port], "basic")
    assert r.rc == 7, r
    deny = events(r, event="connection", action="deny", host="other.example.com")
    assert deny and "upstream" in deny[0]["reason"], r
    assert deny[0]["rule"] == "refused-upstream"


def test_ipv6_has_the_same_policy(islo, world):
    ok = islo(CURL + ["-6", "http://api.example.com:%d/six" % world.http_port], "basic")
    assert ok.rc == 0 and "path=/six" in ok.out, ok
    opens = events(ok, event="connection", phase="open", action="allow")
    assert opens and ":" in opens[0]["src"], ok      # an IPv6 sandbox address
    bad = islo(CURL + ["-6", "http://other.example.com:%d/" % world.http_port], "basic")
    assert bad.rc == 7, bad
    bad4 = islo(CURL + ["-4", "http://other.example.com:%d/" % world.http_port], "basic")
    assert bad4.rc == 7, bad4
    # an IPv6 literal the cidr rule (IPv4 only) does not cover
    lit = islo(CURL + ["http://[::1]:%d/" % world.http6_port], "basic")
    assert lit.rc == 7, lit
    # and an IPv4-mapped IPv6 literal is no way around it
    mapped = islo(CURL + ["http://[::ffff:127.0.0.1]:%d/" % world.https_port], "basic")
    assert mapped.rc != 0, mapped


def test_ipv6_upstream(islo, world):
    r = islo(CURL + ["http://v6only.example.com:%d/v6" % world.http6_port], "basic")
    assert r.rc == 0 and "path=/v6" in r.out, r
    opens = events(r, event="connection", phase="open", action="allow")
    assert opens and opens[0]["upstream"] == "::1"


def test_disallowed_name_never_reaches_the_resolver(islo, world):
    secret = "leak-%s.example.org" % uuid.uuid4().hex[:12]
    r = islo(CURL + ["http://%s:%d/" % (secret, world.http_port)], "basic")
    assert r.rc == 7, r
    assert events(r, event="dns", host=secret), r      # the sandbox did ask
    time.sleep(0.2)
    assert secret not in world.dns_queries()
    # ...while an allowed name is looked up for real, on the host side
    ok = islo(CURL + ["http://api.example.com:%d/" % world.http_port], "basic")
    assert ok.rc == 0
    assert "api.example.com" in world.dns_queries()


def test_private_range_refused_unless_allow_private(islo, world):
    r = islo(CURL + ["http://private.example.com:%d/" % world.http_port], "basic")
    assert r.rc == 7, r
    deny = events(r, event="connection", action="deny", host="private.example.com")
    assert deny and "private" in deny[0]["reason"] and deny[0]["rule"] == "private-no-override"
    # (link-local and metadata addresses take the same path; unit tests
    # cover the ranges: no test resolves a name to a real 169.254 address)
    # api.example.com resolves to loopback too, but its rule allows it
    ok = islo(CURL + ["http://api.example.com:%d/" % world.http_port], "basic")
    assert ok.rc == 0, ok


def test_host_header_must_match_the_name(islo, world):
    r = islo(CURL + ["-H", "Host: evil.example.net",
                     "http://api.example.com:%d/" % world.http_port], "basic")
    assert r.rc == 0, r   # curl got an answer: our 403
    body = json.loads(r.out)
    assert body["error"] == "islo-net: blocked by gateway profile"
    assert body["profile"] == "basic" and body["host"] == "evil.example.net"
    assert events(r, event="security_event", requested_host="evil.example.net"), r


def test_tls_sni_must_match_the_name(islo, world):
    r = islo(["openssl", "s_client", "-connect", "api.example.com:%d" % world.https_port,
              "-servername", "evil.example.net", "-CAfile", world.ca],
             "basic", timeout=30)
    assert "BEGIN CERTIFICATE" not in r.out and "no peer certificate" in r.out, r
    ev = events(r, event="security_event")
    assert ev and ev[0]["requested_host"] == "evil.example.net", r
    assert "SNI" in ev[0]["reason"]


def test_large_transfers_both_ways_are_intact(islo, world):
    n = 8 * 1024 * 1024
    script = (
        "import hashlib,urllib.request\n"
        "b=urllib.request.urlopen('http://api.example.com:%d/bytes/%d',timeout=30).read()\n"
        "exp=bytes((i*7+3)&255 for i in range(%d))\n"
        "assert b==exp,(len(b))\n"
        "data=bytes((i*13+5)&255 for i in range(%d))\n"
        "r=urllib.request.urlopen(urllib.request.Request('http://api.example.com:%d/up',data=data),timeout=30).read().decode()\n"
        "assert hashlib.sha256(data).hexdigest() in r, r\n"
        "print('ok')\n" % (world.http_port, n, n, n, world.http_port))
    r = islo(["/usr/bin/python3", "-c", script], "basic", timeout=120)
    assert r.rc == 0 and "ok" in r.out, r
    closes = events(r, event="connection", phase="close")
    assert sum(e["bytes_down"] for e in closes) >= n
    assert sum(e["bytes_up"] for e in closes) >= n


def test_slow_reader_gets_the_whole_response_after_upstream_closes(islo, world):
    """Plain HTTP to a name goes through the HTTP engine.  A client that
    reads slowly leaves the end of the response in the gateway when the
    upstream has sent it all and closed: it must still arrive, every byte,
    before the gateway closes the connection."""
    n = 4 * 1024 * 1024
    script = (
        "import socket,time\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,4096)\n"
        "s.settimeout(30); s.connect(('api.example.com',%d))\n"
        "s.sendall(b'GET /bytes/%d HTTP/1.1\\r\\nHost: api.example.com:%d\\r\\nConnection: close\\r\\n\\r\\n')\n"
        "time.sleep(2)\n"
        "b=b''\n"
        "while True:\n"
        "    c=s.recv(65536)\n"
        "    if not c: break\n"
        "    b+=c\n"
        "head,_,body=b.partition(b'\\r\\n\\r\\n')\n"
        "exp=bytes((i*7+3)&255 for i in range(%d))\n"
        "print('len',len(body),'same',body==exp)\n" % (world.http_port, n, world.http_port, n))
    r = islo(["/usr/bin/python3", "-c", script], "basic", timeout=120)
    assert r.rc == 0 and ("len %d same True" % n) in r.out, r


def test_udp_other_than_dns_is_refused(islo, world):
    script = (
        "import socket\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "s.settimeout(5)\n"
        "s.connect((socket.gethostbyname('api.example.com'),%d))\n"
        "s.send(b'x')\n"
        "try:\n"
        "    s.recv(10); print('got-answer')\n"
        "except ConnectionRefusedError: print('refused')\n"
        "except socket.timeout: print('timeout')\n" % world.http_port)
    r = islo(["/usr/bin/python3", "-c", script], "basic")
    assert r.rc == 0 and "refused" in r.out, r
    assert events(r, event="connection", proto="udp", action="deny"), r


@pytest.fixture(scope="module")
def udp_echo(world):
    import socket as so
    import threading
    u = so.socket(so.AF_INET, so.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def loop():
        u.settimeout(0.2)
        while not stop.is_set():
            try:
                data, a = u.recvfrom(65535)
            except OSError:
                continue
            u.sendto(b"echo:" + data, a)
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    port = u.getsockname()[1]
    world.profile("udp", """\
name: udp
rules:
  - name: echo
    host_pattern: api.example.com
    protocol: udp
    ports: [%d]
    allow_private: true
""" % port)
    yield port
    stop.set()
    t.join()
    u.close()


def test_udp_allowed_by_a_udp_rule(islo, world, udp_echo):
    script = (
        "import socket\n"
        "for fam in (socket.AF_INET, socket.AF_INET6):\n"
        "    s=socket.socket(fam,socket.SOCK_DGRAM); s.settimeout(5)\n"
        "    a=socket.getaddrinfo('api.example.com',%d,fam,socket.SOCK_DGRAM)[0][4]\n"
        "    for i in range(3):\n"
        "        s.sendto(b'hi%%d' %% i, a)\n"
        "        print(s.recvfrom(100)[0].decode())\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(5)\n"
        "s.connect((socket.gethostbyname('other.example.com'),%d)); s.send(b'x')\n"
        "try:\n"
        "    s.recv(10); print('leak')\n"
        "except ConnectionRefusedError: print('refused')\n" % (udp_echo, udp_echo))
    r = islo(["/usr/bin/python3", "-c", script], "udp")
    assert r.rc == 0, r
    assert r.out.split() == ["echo:hi0", "echo:hi1", "echo:hi2"] * 2 + ["refused"], r
    opens = events(r, event="connection", proto="udp", phase="open", action="allow")
    assert len(opens) == 2 and opens[0]["rule"] == "echo", r
    closes = events(r, event="connection", proto="udp", phase="close")
    assert closes and closes[0]["bytes_up"] == 9 and closes[0]["bytes_down"] == 24, r


def test_dns_over_tcp_and_synthetic_answers(islo, world):
    script = (
        "import socket,struct\n"
        "q=struct.pack('>HHHHHH',0x1234,0x0100,1,0,0,0)+b'\\x03api\\x07example\\x03com\\x00'+struct.pack('>HH',1,1)\n"
        "s=socket.create_connection(('10.0.2.3',53),timeout=5)\n"
        "s.sendall(struct.pack('>H',len(q))+q)\n"
        "n=struct.unpack('>H',s.recv(2))[0]\n"
        "a=b''\n"
        "while len(a)<n: a+=s.recv(n-len(a))\n"
        "ip='.'.join(str(x) for x in a[-4:])\n"
        "print('id',hex(struct.unpack('>H',a[:2])[0]),'ip',ip)\n"
        "print('udp',socket.gethostbyname('api.example.com'))\n")
    r = islo(["/usr/bin/python3", "-c", script], "basic")
    assert r.rc == 0, r
    m = re.search(r"id 0x1234 ip (\S+)", r.out)
    assert m and m.group(1).startswith("198.1"), r
    udp = re.search(r"udp (\S+)", r.out).group(1)
    assert udp == m.group(1), r   # one name, one synthetic address


def test_dns_over_tcp_pipelined_queries(islo, world):
    """RFC 7766 lets a client send several queries at once and split one
    anywhere: 40 queries in one write (about 1.3 KiB), then one a byte at a
    time, all answered in order on the same connection."""
    script = (
        "import socket,struct,time\n"
        "def q(i):\n"
        "    m=struct.pack('>HHHHHH',i,0x0100,1,0,0,0)+b'\\x03api\\x07example\\x03com\\x00'+struct.pack('>HH',1,1)\n"
        "    return struct.pack('>H',len(m))+m\n"
        "s=socket.create_connection(('10.0.2.3',53),timeout=5)\n"
        "s.sendall(b''.join(q(i) for i in range(40)))\n"
        "for b in q(40):\n"
        "    s.sendall(bytes([b])); time.sleep(0.002)\n"
        "buf=b''; ids=[]\n"
        "while len(ids)<41:\n"
        "    while len(buf)<2 or len(buf)<2+struct.unpack('>H',buf[:2])[0]:\n"
        "        c=s.recv(65536)\n"
        "        if not c: raise SystemExit('closed after %d' % len(ids))\n"
        "        buf+=c\n"
        "    n=struct.unpack('>H',buf[:2])[0]\n"
        "    ids.append(struct.unpack('>H',buf[2:4])[0]); buf=buf[2+n:]\n"
        "print('ids', ids == list(range(41)))\n")
    r = islo(["/usr/bin/python3", "-c", script], "basic")
    assert r.rc == 0 and "ids True" in r.out, r


PING = r"""
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ping(dst):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(1.5)
    pkt = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"islo"
    pkt = pkt[:2] + struct.pack("!H", csum(pkt)) + pkt[4:]
    s.sendto(pkt, (dst, 0))
    try:
        while True:
            data, a = s.recvfrom(1500)
            if data[20] == 0 and a[0] == dst:
                return "reply"
    except socket.timeout:
        return "none"
for d in sys.argv[1:]:
    print(d, ping(d))
"""


def test_icmp_echo_only_to_the_gateway(islo, world):
    r = islo(["sh", "-c", "/usr/bin/python3 -c '%s' 10.0.2.2 10.0.2.3 "
              "$(getent ahostsv4 api.example.com | head -1 | cut -d' ' -f1) %s" % (PING, PUB_PEER)],
             "basic")
    assert r.rc == 0, r
    lines = dict(l.split() for l in r.out.splitlines())
    assert lines["10.0.2.2"] == "reply" and lines["10.0.2.3"] == "reply", r
    assert lines[PUB_PEER] == "none", r
    assert list(lines.values()).count("none") == 2, r


def test_tcp_to_the_gateway_itself_is_refused(islo, world):
    r = islo(CURL + ["http://10.0.2.2:%d/" % world.http_port], "basic")
    assert r.rc == 7, r
    deny = events(r, event="connection", action="deny", dst_ip="10.0.2.2")
    assert deny and "gateway" in deny[0]["reason"]


def test_resolv_conf_and_addresses_inside(islo, world):
    r = islo(["sh", "-c", "cat /etc/resolv.conf; ip -br addr show tap0; ip route; ip -6 route"],
             "basic")
    assert r.rc == 0, r
    assert "nameserver 10.0.2.3" in r.out
    assert "10.0.2.100/24" in r.out and "fd00::100/64" in r.out
    assert "default via 10.0.2.2" in r.out and "default via fd00::2" in r.out
