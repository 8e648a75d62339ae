# SPDX-License-Identifier: MIT
"""Fail fast, never silently (issue 17, points 2 and 3).

Names: a name some rule could allow resolves only if the host resolver
(the dnsmasq fixture) has an address for it; a denied name never reaches
it and still gets a synthetic address (and "connection refused").
Packets: a packet the gateway does not carry is answered with an ICMP
error (rate limited, never for an ICMP error, a broadcast or multicast
destination), and a link-local source is served at once, not dropped."""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from conftest import ISLO, audit_events

PROFILE = """\
name: failfast
default_action: deny
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{http}]
    allow_private: true
  - name: wild
    host_pattern: "*.wild.example"
    ports: [{http}]
    allow_private: true
  - name: v6
    host_pattern: v6only.example.com
    ports: [{http6}]
    allow_private: true
  - name: routed
    host_pattern: "*.routed.example"
    ports: [{http}]
    route: "127.0.0.1:{http}"
  - name: elsewhere
    host_pattern: "*.elsewhere.example"
    ports: [{http}]
  - name: no-evil
    host_pattern: evil.example.net
    action: deny
    ports: ["*"]
"""

CURL = ["curl", "-sS", "--max-time", "10", "--noproxy", "*"]


@pytest.fixture(scope="module", autouse=True)
def profile(world):
    world.profile("failfast", PROFILE)


# A DNS client in the sandbox: asks the gateway's resolver directly, over
# UDP or TCP, and prints rcode and answer count per question.
DNSLIB = r"""
import json, random, socket, struct, sys, time
def q(name, qtype, qid):
    m = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        m += bytes([len(l)]) + l.encode()
    return m + b"\0" + struct.pack("!HH", qtype, 1)
def ask(name, qtype, tcp=False):
    qid = random.randrange(65536)
    m = q(name, qtype, qid)
    if tcp:
        s = socket.create_connection(("10.0.2.3", 53), timeout=8)
        s.sendall(struct.pack("!H", len(m)) + m)
        b = b""
        while len(b) < 2 or len(b) < 2 + struct.unpack("!H", b[:2])[0]:
            c = s.recv(4096)
            if not c: break
            b += c
        r = b[2:]
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(8)
        s.sendto(m, ("10.0.2.3", 53))
        r = s.recv(4096)
    assert struct.unpack("!H", r[:2])[0] == qid
    return [r[3] & 15, struct.unpack("!H", r[6:8])[0]]
"""


def run_py(islo, script, *args, profile="failfast"):
    r = islo(["/usr/bin/python3", "-c", script] + [str(a) for a in args], profile)
    assert r.rc == 0, r
    return json.loads(r.out.strip().splitlines()[-1]), r


def dns_events(r, host):
    return [e for e in audit_events(r.audit) if e["event"] == "dns" and e.get("host") == host]


# ---------------------------------------------------------------- names

def test_a_name_that_does_not_exist_does_not_resolve(islo, world):
    name = "typo-%s.wild.example" % uuid.uuid4().hex[:8]
    t = time.time()
    r = islo(CURL + ["http://%s:%d/" % (name, world.http_port)], "failfast")
    assert r.rc == 6 and "Could not resolve host" in r.err, r
    assert time.time() - t < 8, r
    ev = dns_events(r, name)
    assert ev and all(e["rcode"] == 3 and "answer" not in e and
                      e["reason"] == "the host resolver has no such name" for e in ev), r
    # the host was asked once: the client's A and AAAA questions, sent
    # together, wait on one lookup (A and AAAA upstream), and are not
    # asked again when the client retries
    log = world.dns_queries()
    assert log.count("query[A] %s " % name) == 1 and log.count("query[AAAA] %s " % name) == 1, log
    # no connection was ever tried
    assert not [e for e in audit_events(r.audit) if e["event"] == "connection"], r


def test_an_allowed_name_that_exists_still_works(islo, world):
    r = islo(CURL + ["http://a.wild.example:%d/ok" % world.http_port], "failfast")
    assert r.rc == 0 and "path=/ok" in r.out, r
    r = islo(CURL + ["-g", "http://v6only.example.com:%d/six" % world.http6_port], "failfast")
    assert r.rc == 0 and "path=/six" in r.out, r


def test_a_denied_name_is_still_synthetic_and_refused(islo, world):
    # a name no rule allows (the default denies) and one a rule denies:
    # never asked of the host, answered, and the connection refused
    name = "nowhere-%s.example.org" % uuid.uuid4().hex[:8]
    r = islo(["sh", "-c", "getent ahosts %s | head -1; getent ahosts evil.example.net | head -1; "
              "curl -sS --max-time 10 http://%s:%d/; echo rc=$?" % (name, name, world.http_port)],
             "failfast")
    assert re.search(r"^(198\.1[89]\.|64:ff9b)", r.out, re.M), r
    assert "rc=7" in r.out, r
    assert name not in world.dns_queries()
    assert all(e["action"] == "deny" and e["rcode"] == 0 for e in dns_events(r, name)), r


def test_routed_name_resolves_without_existing(islo, world):
    name = "svc-%s.routed.example" % uuid.uuid4().hex[:8]
    r = islo(CURL + ["http://%s:%d/r" % (name, world.http_port)], "failfast")
    assert r.rc == 0 and "path=/r" in r.out, r
    assert name not in world.dns_queries()


NODATA = DNSLIB + r"""
name = sys.argv[1]
out = {}
for tcp in (False, True):
    k = "tcp" if tcp else "udp"
    out[k] = {
        "a-A": ask("api.example.com", 1, tcp), "a-AAAA": ask("api.example.com", 28, tcp),
        "v6-A": ask("v6only.example.com", 1, tcp), "v6-AAAA": ask("v6only.example.com", 28, tcp),
        "noaddr-A": ask("noaddr.wild.example", 1, tcp),
        "noaddr-AAAA": ask("noaddr.wild.example", 28, tcp),
        "nx-A": ask(name, 1, tcp), "nx-AAAA": ask(name, 28, tcp),
        "deny-AAAA": ask("evil.example.net", 28, tcp),
        "refused-A": ask("x.elsewhere.example", 1, tcp),
    }
print(json.dumps(out))
"""


def test_nodata_nxdomain_over_udp_and_tcp(islo, world):
    name = "nx-%s.wild.example" % uuid.uuid4().hex[:8]
    out, r = run_py(islo, NODATA, name)
    for k in ("udp", "tcp"):
        o = out[k]
        # a name with an address in one family has one in both (the
        # gateway connects upstream in the family the host has)
        assert o["a-A"] == [0, 1] and o["a-AAAA"] == [0, 1], out
        assert o["v6-A"] == [0, 1] and o["v6-AAAA"] == [0, 1], out
        # a name that exists with no address: NODATA, not NXDOMAIN
        assert o["noaddr-A"] == [0, 0] and o["noaddr-AAAA"] == [0, 0], out
        assert o["nx-A"] == [3, 0] and o["nx-AAAA"] == [3, 0], out
        assert o["deny-AAAA"] == [0, 1], out
        assert o["refused-A"] == [5, 0], out     # the upstream's own error
    # the negative answer is cached: the host was asked about the name once
    # (A and AAAA), not once a question
    log = world.dns_queries()
    assert log.count("query[A] %s " % name) == 1, log[-2000:]


GAI = r"""
import json, socket, sys
out = {}
for n in sys.argv[1:]:
    try:
        out[n] = sorted({a[4][0].split(".")[0].split(":")[0] for a in socket.getaddrinfo(n, 80)})
    except socket.gaierror as e:
        out[n] = e.errno
print(json.dumps(out))
"""


def test_getaddrinfo_tells_no_address_from_no_name(islo, world):
    name = "gone-%s.wild.example" % uuid.uuid4().hex[:8]
    out, r = run_py(islo, GAI, "api.example.com", "noaddr.wild.example", name)
    assert out["api.example.com"] == ["198", "64"], out          # both families
    assert out["noaddr.wild.example"] == socket.EAI_NODATA, out  # exists, no address
    assert out[name] == socket.EAI_NONAME, out                   # does not exist
    r = islo(["sh", "-c", "getent ahosts %s; echo rc=$?" % name], "failfast")
    assert r.out.strip() == "rc=2", r


FLOOD = DNSLIB + r"""
tag = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
N = 400
ids = {}
for i in range(N):
    qid = i + 1
    s.sendto(q("%s-%d.wild.example" % (tag, i), 1, qid), ("10.0.2.3", 53))
rc = {}
s.settimeout(6)
end = time.time() + 8
got = 0
while got < N and time.time() < end:
    try:
        r = s.recv(4096)
    except socket.timeout:
        break
    got += 1
    rc[r[3] & 15] = rc.get(r[3] & 15, 0) + 1
# a real name right after: refused at most until the flood's second is over
t = time.time()
ok = ask("a.wild.example", 1)
while ok[0] == 2 and time.time() - t < 3:
    time.sleep(0.2)
    ok = ask("a.wild.example", 1)
print(json.dumps({"got": got, "rc": rc, "after": ok, "after_s": round(time.time() - t, 3)}))
"""


def test_a_flood_of_random_names_is_capped(islo, world):
    tag = "fl" + uuid.uuid4().hex[:8]
    out, r = run_py(islo, FLOOD, tag)
    # every question answered: NXDOMAIN for those asked, SERVFAIL beyond
    # the cap, none lost and none given an address
    assert out["got"] == 400, out
    assert set(out["rc"]) <= {"2", "3"} and out["rc"].get("2", 0) > 200, out
    asked = len(set(re.findall(r"query\[A+\] (%s-\d+)\.wild\.example" % tag, world.dns_queries())))
    assert 0 < asked <= 2 * 64, asked          # the cap, not the flood
    assert out["after"] == [0, 1] and out["after_s"] < 1.5, out


# ---------------------------------------------------------------- refusals

def test_a_refusal_in_both_families_is_one_attempt(islo, world):
    """curl tries a refused name's IPv6 address, then its IPv4 one: both
    are refused at once (an RST each, no wait), the audit log has both
    connections, and the summary counts one attempt; three runs, three."""
    url = "http://evil.example.net:%d/" % world.http_port
    r = islo(["sh", "-c", "for i in 1 2 3; do curl -sS --max-time 10 %s; echo rc=$?; sleep 2.1; done"
              % url], "failfast")
    assert r.out.split() == ["rc=7"] * 3, r
    deny = [e for e in audit_events(r.audit) if e["event"] == "connection" and e["action"] == "deny"]
    fams = sorted(":" in e["dst_ip"] for e in deny)
    assert fams == [False] * 3 + [True] * 3, r          # both families, each time
    assert "refused 3 connections or requests" in r.err, r
    assert re.search(r"tcp evil\.example\.net:%d  denied by rule \(rule no-evil\)  x3"
                     % world.http_port, r.err), r


# ---------------------------------------------------------------- packets

from test_frag import LIB  # noqa: E402  (frames crafted on the sandbox's TAP)

ICMP = LIB + r"""
wait_v6()
def echo4(ident):
    seg = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"x" * 16
    return seg[:2] + struct.pack("!H", csum(seg)) + seg[4:]

def icmp_errors(secs=1.0, count=False):
    # ICMP errors to us: [family, type, code, from, the quoted destination]
    seen = []
    def m(v, proto, l4, ip):
        if v == 4 and proto == 1 and l4[0] in (3, 11, 12) and len(l4) >= 28:
            seen.append([4, l4[0], l4[1], socket.inet_ntoa(ip[12:16]),
                         socket.inet_ntoa(l4[24:28])])
        elif v == 6 and proto == 58 and l4[0] < 128 and len(l4) >= 48:
            seen.append([6, l4[0], l4[1], socket.inet_ntop(socket.AF_INET6, ip[8:24]),
                         socket.inet_ntop(socket.AF_INET6, l4[32:48])])
        return None if count or not seen else seen
    sniff(m, secs)
    return seen

def echo_reply(v, proto, l4, ip):
    return "reply" if (proto == 1 and l4[0] == 0) or (proto == 58 and l4[0] == 129) else None

out = {}
send([ip4(ME4, "192.0.2.77", 1, echo4(1))], socket.AF_INET)
out["echo4"] = icmp_errors()
send([ip6(ME6, "2001:db8::77", 58, echo6(ME6, "2001:db8::77", 2))], socket.AF_INET6)
out["echo6"] = icmp_errors()
send([ip4(ME4, "192.0.2.78", 132, b"\0" * 28)], socket.AF_INET)
out["sctp4"] = icmp_errors()
send([ip6(ME6, "2001:db8::78", 132, b"\0" * 28)], socket.AF_INET6)
out["sctp6"] = icmp_errors()
# never an error for an error, a broadcast or multicast destination
err = struct.pack("!BBHI", 3, 1, 0, 0) + ip4("192.0.2.79", ME4, 17, b"\0" * 8)
send([ip4(ME4, "192.0.2.79", 1, err[:2] + struct.pack("!H", csum(err)) + err[4:])], socket.AF_INET)
send([ip4(ME4, "10.0.2.255", 1, echo4(3))], socket.AF_INET)
send([ip4(ME4, "239.1.2.3", 132, b"\0" * 28)], socket.AF_INET)
send([ip6(ME6, "ff0e::1", 58, echo6(ME6, "ff0e::1", 4))], socket.AF_INET6)
e6 = l4sum(socket.AF_INET6, ME6, "2001:db8::79", 58,
           struct.pack("!BBHI", 1, 0, 0, 0) + ip6("2001:db8::79", ME6, 17, b"\0" * 8), 2)
send([ip6(ME6, "2001:db8::79", 58, e6)], socket.AF_INET6)
out["silent"] = icmp_errors(1.5, count=True)
# the gateway's own address still answers
send([ip4(ME4, "10.0.2.2", 1, echo4(5))], socket.AF_INET)
out["own"] = sniff(echo_reply)
# a flood of refused packets is answered at ICMP_ERR_PER_SEC, not in full
time.sleep(1.0 - time.time() % 1.0 + 0.05)         # at the start of a second
send([ip4(ME4, "192.0.2.80", 1, echo4(100 + i)) for i in range(300)], socket.AF_INET)
out["flood"] = len(icmp_errors(0.8, count=True))
print(json.dumps(out))
"""


def test_a_packet_not_carried_gets_an_icmp_error_at_a_limited_rate(islo, world):
    out, r = run_py(islo, ICMP)
    # "communication administratively prohibited", from the destination
    assert out["echo4"] == [[4, 3, 13, "192.0.2.77", "192.0.2.77"]], out
    assert out["echo6"] == [[6, 1, 1, "2001:db8::77", "2001:db8::77"]], out
    assert out["sctp4"] == [[4, 3, 13, "192.0.2.78", "192.0.2.78"]], out
    assert out["sctp6"] == [[6, 1, 1, "2001:db8::78", "2001:db8::78"]], out
    assert out["silent"] == [], out
    assert out["own"] == "reply", out
    # ICMP_ERR_PER_SEC in that second (two seconds' worth at most, on a
    # machine slow enough for the burst to straddle one)
    assert 40 <= out["flood"] <= 100, out


LINKLOCAL = r"""
import json, os, socket, subprocess, sys, time
IF = [n for i, n in socket.if_nameindex() if n != "lo"][0]
def sh(c):
    p = subprocess.run(c, shell=True, capture_output=True, text=True)
    return p.stdout + p.stderr
port, port6 = int(sys.argv[1]), int(sys.argv[2])
out = {}
def tcp(fam, src, name, port=port):
    dst = socket.getaddrinfo(name, None, fam)[0][4][0]
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((src, 0, 0, socket.if_nametoindex(IF)) if fam == socket.AF_INET6 else (src, 0))
    s.settimeout(5)
    t = time.time()
    try:
        s.connect((dst, port)); e = "connected"
    except ConnectionRefusedError:
        e = "refused"
    except OSError as x:
        e = str(x)
    return [e, round(time.time() - t, 3)]
# DAD on, as a fresh guest has it: the global address is tentative again
sh("sysctl -qw net.ipv6.conf.%s.accept_dad=1 net.ipv6.conf.%s.dad_transmits=3" % (IF, IF))
sh("ip -6 addr del fd00::100/64 dev %s; ip -6 addr add fd00::100/64 dev %s" % (IF, IF))
out["tentative"] = "tentative" in sh("ip -6 addr show dev %s to fd00::100/128" % IF)
ll = [l.split()[1].split("/")[0] for l in sh("ip -6 addr show dev %s scope link" % IF).splitlines()
      if "inet6" in l][0]
t = time.time()
c = subprocess.run(["curl", "-sS", "--max-time", "8", "-o", "/dev/null", "-w", "%{local_ip}",
                    "http://api.example.com:%d/" % port], capture_output=True, text=True)
out["curl"] = [c.returncode, round(time.time() - t, 3)]
out["ll6"] = tcp(socket.AF_INET6, ll, "v6only.example.com", port6)
out["ll6-deny"] = tcp(socket.AF_INET6, ll, "evil.example.net")
out["still_tentative"] = "tentative" in sh("ip -6 addr show dev %s to fd00::100/128" % IF)
sh("ip addr add 169.254.5.5/16 dev %s" % IF)
out["ll4"] = tcp(socket.AF_INET, "169.254.5.5", "api.example.com")
out["ll4-deny"] = tcp(socket.AF_INET, "169.254.5.5", "evil.example.net")
print(json.dumps(out))
"""


def test_a_fresh_guest_with_a_tentative_address_does_not_hang(islo, world):
    """While the sandbox's global IPv6 address is tentative (DAD), its
    connections leave from its link-local address: the gateway serves them
    (it terminates them; the answer goes back on the link) or refuses them
    at once, never in silence.  An IPv4 link-local source likewise."""
    out, r = run_py(islo, LINKLOCAL, world.http_port, world.http6_port)
    assert out["tentative"] and out["still_tentative"], out    # the case under test
    assert out["curl"][0] == 0 and out["curl"][1] < 1, out
    assert out["ll6"][0] == "connected" and out["ll6"][1] < 1, out
    assert out["ll6-deny"][0] == "refused" and out["ll6-deny"][1] < 1, out
    assert out["ll4"][0] == "connected" and out["ll4"][1] < 1, out
    assert out["ll4-deny"][0] == "refused" and out["ll4-deny"][1] < 1, out
    srcs = [e["src"] for e in audit_events(r.audit) if e["event"] == "connection"]
    assert any(s.startswith("fe80:") for s in srcs) and "169.254.5.5" in srcs, r


WAITING = DNSLIB + r"""
tag = sys.argv[1]
X = "x-%s.wild.example" % tag
def tcpq(name, qtype, qid):
    m = q(name, qtype, qid)
    return struct.pack("!H", len(m)) + m
# a query over TCP asks the host; the same name over UDP waits on that
# lookup; the TCP client goes away before the answer
t = socket.create_connection(("10.0.2.3", 53), timeout=5)
t.sendall(tcpq(X, 1, 0x1111))
time.sleep(0.2)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(q(X, 28, 0x2222), ("10.0.2.3", 53))
t.close()
# twenty more TCP clients ask and leave at once
for i in range(20):
    c = socket.create_connection(("10.0.2.3", 53), timeout=5)
    c.sendall(tcpq("gone%d-%s.wild.example" % (i, tag), 1, i))
    c.close()
# one TCP client pipelines two questions: answered in order
p = socket.create_connection(("10.0.2.3", 53), timeout=15)
p.sendall(tcpq("p1-" + X, 1, 0x3001) + tcpq("p2-" + X, 28, 0x3002))
start = time.time()
u.settimeout(10)
r = u.recv(512)
out = {"udp": [struct.unpack("!H", r[:2])[0], r[3] & 15], "udp_s": round(time.time() - start, 1)}
b = b""
while len(b) < 4 or len(b) < 2 + struct.unpack("!H", b[:2])[0] + 2 or \
        len(b) < 4 + struct.unpack("!H", b[:2])[0] + struct.unpack("!H", b[2 + struct.unpack("!H", b[:2])[0]:][:2])[0]:
    c = p.recv(4096)
    if not c:
        break
    b += c
l1 = struct.unpack("!H", b[:2])[0]
m1, m2 = b[2:2 + l1], b[4 + l1:]
out["tcp"] = [[struct.unpack("!H", m[:2])[0], m[3] & 15] for m in (m1, m2)]
print(json.dumps(out))
"""


def _dead_resolver():
    import socket as so
    dead = so.socket(so.AF_INET, so.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))                  # a resolver that never answers
    return dead


def test_waiting_queries_whose_askers_leave(islo, world):
    """With a host resolver that never answers, every lookup waits its 3 s:
    a UDP query waiting on a lookup a TCP client started and then left is
    still answered (SERVFAIL, the resolver's silence); clients that leave
    while they wait cost nothing; pipelined TCP questions are answered in
    order."""
    dead = _dead_resolver()
    try:
        r = islo(["/usr/bin/python3", "-c", WAITING, uuid.uuid4().hex[:8]], "failfast",
                 dns=False, extra=["--dns-upstream", "127.0.0.1:%d" % dead.getsockname()[1]])
    finally:
        dead.close()
    assert r.rc == 0, r
    out = json.loads(r.out.strip().splitlines()[-1])
    assert out["udp"] == [0x2222, 2] and 2 <= out["udp_s"] <= 5, out
    assert out["tcp"] == [[0x3001, 2], [0x3002, 2]], out
    ev = [e for e in audit_events(r.audit) if e["event"] == "dns" and e["rcode"] == 2]
    assert ev and all("did not answer" in e["reason"] for e in ev), r
    # and the person running it is told why names do not resolve, once
    assert r.err.count("does not answer; names a rule could allow do not resolve") == 1, r


@pytest.mark.skipif("asan" in ISLO, reason="valgrind and ASan do not mix: "
                    "the plain build is checked in the main pass")
def test_waiting_queries_are_memcheck_clean(world, scratch):
    """The waiting queries under valgrind: askers that leave, lookups
    shared, a flood past the caps, the sandbox ending with queries still
    waiting."""
    assert shutil.which("valgrind"), "valgrind is missing (scripts/install-deps.sh)"
    tag = uuid.uuid4().hex[:8]
    script = WAITING + r"""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(150):
    s.sendto(q("f%d-%s.wild.example" % (i, tag), 1, i), ("10.0.2.3", 53))
t = socket.create_connection(("10.0.2.3", 53), timeout=5)
t.sendall(tcpq("last-" + X, 1, 7))
"""
    dead = _dead_resolver()
    env = dict(os.environ, ISLO_SECCOMP="off")
    try:
        p = subprocess.run(["valgrind", "--quiet", "--error-exitcode=99",
                            "--leak-check=full", "--show-leak-kinds=definite,indirect",
                            "--errors-for-leak-kinds=definite,indirect",
                            "--child-silent-after-fork=yes", "--track-origins=yes",
                            ISLO, "run", "--profiles-dir", world.profiles, "-g", "failfast",
                            "--dns-upstream", "127.0.0.1:%d" % dead.getsockname()[1],
                            "--", "/usr/bin/python3", "-c", script, tag],
                           capture_output=True, text=True, timeout=180, env=env, cwd=scratch)
    finally:
        dead.close()
    assert p.returncode == 0, p.stderr[-6000:]
    out = json.loads(p.stdout.strip().splitlines()[0])
    assert out["udp"] == [0x2222, 2] and out["tcp"] == [[0x3001, 2], [0x3002, 2]], out
