# SPDX-License-Identifier: MIT
"""Fail fast, never silently (issue 17, points 2 and 3).

Names: a name some rule could allow resolves only if the host resolver
(the dnsmasq fixture) has an address for it; a denied name never reaches
it and still gets a synthetic address (and "connection refused").
Packets: a packet the gateway does not carry is answered with an ICMP
error (rate limited, never for an ICMP error, a broadcast or multicast
destination), and a link-local source is served at once, not dropped."""
import json
import re
import time
import uuid

import pytest

from conftest import audit_events

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
    assert ev and all(e["rcode"] == 3 and "answer" not in e for e in ev), r
    assert name in world.dns_queries()          # the host was asked
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
        assert o["a-A"] == [0, 1] and o["a-AAAA"] == [0, 0], out      # NODATA, not NXDOMAIN
        assert o["v6-A"] == [0, 0] and o["v6-AAAA"] == [0, 1], out
        assert o["nx-A"] == [3, 0] and o["nx-AAAA"] == [3, 0], out
        assert o["deny-AAAA"] == [0, 1], out
        assert o["refused-A"] == [5, 0], out     # the upstream's own error
    # the negative answer is cached: the host was asked about the name once
    # (A and AAAA), not once a question
    log = world.dns_queries()
    assert log.count("query[A] %s " % name) == 1, log[-2000:]


def test_getent_sees_nodata_and_nxdomain(islo, world):
    name = "gone-%s.wild.example" % uuid.uuid4().hex[:8]
    r = islo(["sh", "-c", "getent ahosts api.example.com; echo rc=$?; getent ahosts %s; echo rc=$?"
              % name], "failfast")
    lines = r.out.splitlines()
    first = lines[:lines.index("rc=0")]
    assert first and all(l.startswith("198.1") for l in first), r      # IPv4 only
    assert lines[-1] == "rc=2", r                                      # not found


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
