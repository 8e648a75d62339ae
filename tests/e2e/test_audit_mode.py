# SPDX-License-Identifier: MIT
"""`enforcement: audit` (issue 18, point 2): what the profile refuses goes
through and is logged "action":"deny","enforced":false, listed apart in
the summary at exit; what guards the boundary (private addresses, Host
and SNI checks, malformed input, credentials) stays enforced."""
import re

import pytest

from conftest import audit_events

CURL = ["curl", "-sS", "--max-time", "15", "--noproxy", "*"]

AUDIT = """\
name: audited
default_action: deny
enforcement: audit
rules:
  - name: api-reads
    host_pattern: api.example.com
    ports: [{http}]
    path_pattern: /allowed*
    allow_private: true
  - name: evil-tried
    host_pattern: evil.example.net
    action: deny
    ports: [{http}]
    allow_private: true
  - name: enforced-deny
    host_pattern: other.example.com
    action: deny
    ports: [{http}]
    allow_private: true
    enforcement: enforce
"""

RATE = """\
name: rate
default_action: deny
rules:
  - name: slow
    host_pattern: api.example.com
    ports: [{http}]
    rate_limit_rpm: 1
    allow_private: true
    enforcement: audit
"""

CRED = """\
name: cred
enforcement: audit
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    path_pattern: /record/in/*
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: API_TOKEN
"""

LITERAL = """\
name: literal
default_action: deny
enforcement: audit
rules:
  - name: the-net
    cidr: [{pub_net}]
    ports: [{pub}]
  - name: no-evil
    host_pattern: evil.example.net
    action: deny
    ports: ["*"]
"""

ENFORCE_TOP = """\
name: per-rule
default_action: deny
rules:
  - name: api-tried
    host_pattern: api.example.com
    ports: [{http}]
    path_pattern: /allowed*
    allow_private: true
    enforcement: audit
  - name: evil
    host_pattern: evil.example.net
    action: deny
    ports: [{http}]
    allow_private: true
"""


@pytest.fixture(scope="module", autouse=True)
def profiles(world):
    world.profile("audited", AUDIT)
    world.profile("per-rule", ENFORCE_TOP)
    world.profile("literal", LITERAL)
    world.profile("rate", RATE)
    world.profile("cred", CRED)


def events(r, **match):
    return [e for e in audit_events(r.audit)
            if all(e.get(k) == v for k, v in match.items())]


def test_denied_public_host_goes_through_and_is_logged(islo, world):
    """No rule names pub.example.com (a public address): the default
    refuses it, audit mode lets it through."""
    r = islo(CURL + ["http://pub.example.com:%d/x" % world.pub_port], "audited")
    assert r.rc == 0 and "hello from upstream" in r.out, r
    ev = events(r, event="connection", phase="open", host="pub.example.com")
    assert ev and ev[0]["action"] == "deny" and ev[0]["enforced"] is False, r
    assert ev[0]["rule"] == "default" and ev[0]["reason"] == "no rule allows it", r
    dns = events(r, event="dns", host="pub.example.com")
    assert dns and dns[0]["action"] == "deny" and dns[0]["enforced"] is False, r
    assert "would have refused" in r.err and "pub.example.com:%d" % world.pub_port in r.err, r
    assert "refused 1 " not in r.err, r


def test_denied_rule_goes_through_when_it_allows_private(islo, world):
    r = islo(CURL + ["http://evil.example.net:%d/y" % world.http_port], "audited")
    assert r.rc == 0 and "path=/y" in r.out, r
    ev = events(r, event="connection", phase="open", host="evil.example.net")
    assert ev and ev[0]["action"] == "deny" and ev[0]["enforced"] is False, r
    assert ev[0]["rule"] == "evil-tried" and ev[0]["reason"] == "denied by rule", r
    # the connection, and the request on it (plain HTTP to a name is read)
    assert re.search(r"would have refused 2 connections or requests.*\n"
                     r"  tcp evil\.example\.net:%d  denied by rule \(rule evil-tried\)\n"
                     r"  GET evil\.example\.net:%d  denied by rule"
                     % (world.http_port, world.http_port), r.err), r


def test_path_outside_pattern_passes_and_is_logged(islo, world):
    r = islo(CURL + ["http://api.example.com:%d/elsewhere/z?q=1" % world.http_port,
                     "http://api.example.com:%d/allowed/a" % world.http_port], "audited")
    assert r.rc == 0, r
    assert "path=/elsewhere/z?q=1" in r.out and "path=/allowed/a" in r.out, r
    bad = [e for e in events(r, event="http_request", method="GET")
           if e["path"].startswith("/elsewhere/z")]
    assert bad and bad[0]["action"] == "deny" and bad[0]["enforced"] is False, r
    assert bad[0]["status"] == 200, r
    ok = events(r, event="http_request", path="/allowed/a")
    assert ok and ok[0]["action"] == "allow" and "enforced" not in ok[0], r
    assert re.search(r"GET api\.example\.com:%d  no rule allows it" % world.http_port, r.err), r


def test_rule_enforce_overrides_audit_at_the_top(islo, world):
    r = islo(CURL + ["http://other.example.com:%d/" % world.http_port], "audited")
    assert r.rc == 7, r   # refused: connection refused
    ev = events(r, event="connection", host="other.example.com", action="deny")
    assert ev and ev[0]["rule"] == "enforced-deny" and "enforced" not in ev[0], r
    # curl tries IPv4 and IPv6: refused each time, never let through
    assert re.search(r"profile 'audited' refused \d+ connection", r.err), r
    assert "would have refused" not in r.err, r


def test_rule_audit_overrides_enforce_at_the_top(islo, world):
    r = islo(CURL + ["http://api.example.com:%d/outside" % world.http_port], "per-rule")
    assert r.rc == 0 and "path=/outside" in r.out, r
    ev = events(r, event="http_request", path="/outside")
    assert ev and ev[0]["action"] == "deny" and ev[0]["enforced"] is False, r
    # the other rule and the default are enforced
    r = islo(CURL + ["http://evil.example.net:%d/" % world.http_port], "per-rule")
    assert r.rc == 7, r
    r = islo(CURL + ["http://private.example.com:%d/" % world.http_port], "per-rule")
    assert r.rc == 7, r


def test_private_address_still_refused(islo, world):
    """private.example.com is 127.0.0.1 and no rule allows it: the default
    refusal is audited, the private address is not."""
    r = islo(CURL + ["http://private.example.com:%d/" % world.http_port], "audited")
    assert r.rc == 7, r
    ev = events(r, event="connection", host="private.example.com", action="deny")
    assert ev and ev[0]["enforced"] is True, r
    assert "private" in ev[0]["reason"], r
    assert re.search(r"profile 'audited' refused \d+ connection", r.err), r
    # an address literal too
    r = islo(CURL + ["http://127.0.0.1:%d/" % world.http_port], "audited")
    assert r.rc == 7, r


def test_non_normal_path_and_host_mismatch_stay_refused(islo, world):
    r = islo(CURL + ["--path-as-is", "http://api.example.com:%d/allowed/../etc" % world.http_port],
             "audited")
    assert "403" in r.out or "not in normal form" in r.out, r
    ev = events(r, event="http_request", action="deny")
    assert ev and ev[0].get("enforced") is not False, r
    r = islo(CURL + ["-H", "Host: evil.example.net", "http://api.example.com:%d/x" % world.http_port],
             "audited")
    assert "path=/x" not in r.out, r


def test_host_denied_on_an_address_is_audited(islo, world):
    """A connection to an address a cidr rule allows, whose Host names a
    host a deny rule refuses: audited (a "peek" event), let through."""
    from conftest import PUB_PEER
    r = islo(CURL + ["-H", "Host: evil.example.net",
                     "http://%s:%d/lit" % (PUB_PEER, world.pub_port)], "literal")
    assert r.rc == 0 and "path=/lit" in r.out, r
    ev = events(r, event="connection", phase="peek", host="evil.example.net")
    assert ev and ev[0]["action"] == "deny" and ev[0]["enforced"] is False, r
    assert ev[0]["rule"] == "no-evil", r
    assert "would have refused" in r.err, r


def test_rate_limit_is_audited(islo, world):
    url = "http://api.example.com:%d/r" % world.http_port
    r = islo(CURL + ["-w", "%{http_code}\\n"] + ["-o", "/dev/null", url] * 3, "rate")
    assert r.rc == 0 and r.out.split() == ["200", "200", "200"], r
    ev = events(r, event="http_request", path="/r")
    assert [e["action"] for e in ev] == ["allow", "deny", "deny"], r
    assert ev[1]["enforced"] is False and ev[1]["reason"] == "rate limit of the rule exceeded", r
    assert ev[1]["rule"] == "slow", r


def test_audited_request_gets_no_credential(islo, world):
    """A request outside the credential rule's path_pattern goes through
    in audit mode, without the credential; the placeholder is still
    refused outside its rule; inside, the credential is injected."""
    import os
    import servers
    secret = "audit-s3cret-" + os.urandom(6).hex()
    tag = os.urandom(4).hex()
    base = "https://api.example.com:%d/record" % world.https_port
    auth = "Authorization: Bearer $API_TOKEN"
    cmd = ["sh", "-c",
           "curl -sS --max-time 15 -o /dev/null -w '%%{http_code}\\n' %s/in/%s -H '%s'; "
           "curl -sS --max-time 15 -o /dev/null -w '%%{http_code}\\n' %s/out/%s; "
           "curl -sS --max-time 15 -o /dev/null -w '%%{http_code}\\n' %s/out/ph-%s -H \"%s\""
           % (base, tag, auth.replace("$API_TOKEN", "x"), base, tag, base, tag, auth)]
    r = islo(cmd, "cred", extra=["--upstream-ca", world.ca, "--ca-dir", str(islo.tmp / "ca")],
             env={"ISLO_TEST_TOKEN": secret})
    assert r.out.split() == ["200", "200", "403"], r
    got = {x["path"]: dict((k.lower(), v) for k, v in x["headers"])
           for x in servers.RECORDED if tag in x["path"]}
    assert got["/record/in/" + tag].get("authorization") == "Bearer " + secret, got
    assert "authorization" not in got["/record/out/" + tag], got
    assert "/record/out/ph-" + tag not in got, got
    assert secret not in r.out + r.err + r.audit, r
    out = [e for e in events(r, event="http_request") if e["path"].startswith("/record/out/" + tag)]
    assert out and out[0]["action"] == "deny" and out[0]["enforced"] is False, r
    assert "credentials" not in out[0], out


def test_udp_is_audited(islo, world):
    py = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
          "s.settimeout(5); s.sendto(b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00"
          "\\x03api\\x07example\\x03com\\x00\\x00\\x01\\x00\\x01', ('evil.example.net', %d)); "
          "print('udp', len(s.recv(512)) > 12)" % world.dns_port)
    # evil-tried allows private addresses on TCP only: UDP to it is the
    # default's refusal, and the address is loopback: refused
    r = islo(["/usr/bin/python3", "-c", py], "audited")
    assert "udp True" not in r.out, r
    ev = events(r, event="connection", proto="udp", action="deny")
    assert ev and ev[0]["enforced"] is True and "private" in ev[0]["reason"], r


def test_check_shows_enforcement(islo, world):
    p = islo.cli(["check", world.profile("audited", AUDIT)])
    assert p.returncode == 0, p
    assert "enforcement: audit" in p.stdout, p
    assert re.search(r"enforced-deny .* enforcement enforce", p.stdout), p
    p = islo.cli(["check", world.profile("bad-enf", "name: x\nenforcement: maybe\n")])
    assert p.returncode != 0 and "enforcement" in p.stderr, p


def test_reload_turns_audit_off(world, scratch):
    """SIGHUP re-reads the profile (serve's sandboxes): audit mode switched
    off under a running sandbox refuses from the next connection on."""
    import os
    import signal
    import time
    import test_daemon
    text = AUDIT.format(http=world.http_port).replace("name: audited", "name: flip")
    path = world.profile("flip", text)
    d = test_daemon.Daemon(world, scratch)
    sb = test_daemon.Sandbox("au")
    try:
        d.add(sb, "sb-au", "flip")
        one = sb.fetch("evil.example.net", world.http_port, "/one")
        assert one.returncode == 0 and "path=/one" in one.stdout, one
        with open(path, "w") as f:
            f.write(text.replace("enforcement: audit\n", "enforcement: enforce\n"))
        d.p.send_signal(signal.SIGHUP)
        end = time.time() + 10
        while time.time() < end and '"profile_reload"' not in open(d.audit).read():
            time.sleep(0.05)
        two = sb.fetch("evil.example.net", world.http_port, "/two")
        assert two.returncode == 7 and "path=/two" not in two.stdout, two
        ev = [e for e in audit_events(open(d.audit).read())
              if e.get("event") == "connection" and e.get("host") == "evil.example.net"
              and e.get("phase") == "open"]
        assert ev[0]["enforced"] is False and ev[-1]["action"] == "deny", ev
        assert "enforced" not in ev[-1], ev
    finally:
        sb.close()
        d.stop()
