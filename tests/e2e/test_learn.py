# SPDX-License-Identifier: MIT
"""`islo-net learn` (issue 18, point 1): a run with connections allowed
and audited, then a profile that allows exactly what it used; `run` with
that profile lets the same run through and refuses anything else.  What
the sandbox names (hosts, paths) cannot write a rule of its own."""
import os
import re
import stat
import subprocess

import pytest

from conftest import ISLO, TEST_USER, audit_events

CURL = "curl -sS --max-time 15 --noproxy '*' -o /dev/null -w '%{http_code}\\n'"


def learn(islo, world, cmd, extra=(), timeout=90):
    """islo-net learn EXTRA -- CMD, as islo() runs `run` (same user, DNS)."""
    e = dict(os.environ)
    e.pop("ISLO_PROFILES_PATH", None)
    e["XDG_CONFIG_HOME"] = str(islo.tmp / "xdg")
    e["XDG_STATE_HOME"] = str(islo.tmp / "state")
    args = [ISLO, "learn", "--profiles-dir", world.profiles,
            "--dns-upstream", "127.0.0.1:%d" % world.dns_port] + list(extra) + ["--"] + list(cmd)
    if islo.who == "user":
        args = ["runuser", "-u", TEST_USER, "--", "env",
                "XDG_CONFIG_HOME=" + e["XDG_CONFIG_HOME"],
                "XDG_STATE_HOME=" + e["XDG_STATE_HOME"]] + args
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          cwd=str(islo.tmp), env=e)


def sh(world, *lines):
    return ["sh", "-c", "\n".join(lines)]


def curl(url, *opts):
    return " ".join([CURL] + list(opts) + ["'%s'" % url])


def test_learn_then_run(islo, world):
    p = world.http_port
    out = str(islo.tmp / "learned.yaml")
    cmd = sh(world,
             curl("http://api.example.com:%d/v1/items/1" % p),
             curl("http://api.example.com:%d/v1/items/2" % p),
             curl("http://api.example.com:%d/v1/items/3?x=1" % p),
             curl("http://api.example.com:%d/health" % p),
             curl("http://a.wild.example:%d/upload/file" % p, "-X", "POST", "-d", "x"),
             "node -e \"require('http').get('http://a.wild.example:%d/node/get', r => "
             "{console.log(r.statusCode); r.resume()})\"" % p)
    r = learn(islo, world, cmd, ["--allow-private", "--output", out])
    assert r.returncode == 0, r
    assert r.stdout.split() == ["200"] * 6, r
    assert "would have refused" in r.stderr, r
    st = os.lstat(out)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    text = open(out).read()
    assert "default_action: deny" in text, text
    assert '- host_pattern: "api.example.com"' in text, text
    assert '"/v1/items/*"' in text and '"/health"' in text, text
    assert '- host_pattern: "a.wild.example"' in text, text
    assert '"/upload/file"' in text and '"/node/get"' in text, text
    assert re.search(r"methods: \[GET\]", text) and re.search(r"methods: \[POST, GET\]", text), text
    assert "ports: [%d]" % p in text and "allow_private: true" in text, text
    assert "198.18." not in text and "64:ff9b" not in text, text   # never a synthetic address
    assert re.search(r"# seen: \d+ connection\(s\), 4 HTTP request\(s\)", text), text
    c = islo.cli(["check", out])
    assert c.returncode == 0 and "is valid" in c.stdout, c

    # the same run passes under the learned profile
    r = islo(cmd, out)
    assert r.rc == 0 and r.out.split() == ["200"] * 6, r
    assert "refused" not in r.err, r
    # anything else is refused: a third host, another path, another method
    r = islo(sh(world, curl("http://evil.example.net:%d/v1/items/1" % p)), out)
    assert r.rc == 7, r
    r = islo(sh(world, curl("http://api.example.com:%d/v2/x" % p),
                curl("http://api.example.com:%d/v1/items/9" % p, "-X", "DELETE"),
                curl("http://a.wild.example:%d/upload/other" % p, "-X", "POST", "-d", "x")), out)
    assert r.out.split() == ["403", "403", "403"], r


def test_learn_to_stdout_and_udp(islo, world):
    """No --output: the profile on standard output after CMD's own; a UDP
    flow is learned as a udp rule (the test resolver answers on UDP)."""
    py = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
          "s.settimeout(5); s.sendto(b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00"
          "\\x03api\\x07example\\x03com\\x00\\x00\\x01\\x00\\x01', ('api.example.com', %d)); "
          "print('udp', len(s.recv(512)) > 12)" % world.dns_port)
    r = learn(islo, world, ["/usr/bin/python3", "-c", py], ["--allow-private"])
    assert r.returncode == 0, r
    assert r.stdout.startswith("udp True\n"), r
    text = r.stdout.split("\n", 1)[1]
    assert re.search(r'- host_pattern: "api.example.com"\n\s+protocol: udp\n\s+ports: \[%d\]'
                     % world.dns_port, text), text


def test_learn_refuses_private_without_allow_private(islo, world):
    out = str(islo.tmp / "p.yaml")
    r = learn(islo, world, sh(world, curl("http://api.example.com:%d/x" % world.http_port)),
              ["--output", out])
    assert r.returncode == 7, r          # refused: loopback upstream
    text = open(out).read()
    assert "api.example.com" not in text and "rules: []" in text, text
    assert re.search(r"refused \d+ connection", r.stderr), r


def test_learn_from_adds_only_what_was_refused(islo, world):
    p = world.http_port
    base = world.profile("learn-base", """\
name: learn-base
default_action: deny
# a comment that must stay
rules:
  - name: api-v1
    host_pattern: api.example.com
    ports: [{http}]
    path_pattern: /v1/*
    allow_private: true
  - name: no-evil
    host_pattern: evil.example.net
    action: deny
    ports: [{http}]
timeouts:
  idle: 100
""")
    out = str(islo.tmp / "more.yaml")
    cmd = sh(world, curl("http://api.example.com:%d/v1/ok" % p),
             curl("http://api.example.com:%d/v2/new" % p),
             curl("http://evil.example.net:%d/e" % p))
    r = learn(islo, world, cmd, ["--from", base, "--allow-private", "--output", out])
    assert r.returncode == 0 and r.stdout.split() == ["200"] * 3, r
    text = open(out).read()
    orig = open(base).read()
    head = orig.split("timeouts:")[0]
    assert text.startswith(head) and text.endswith("timeouts:\n  idle: 100\n"), text
    added = text[len(head):]
    assert '"/v2/new"' in added and '"/v1/ok"' not in added, added
    assert '- host_pattern: "evil.example.net"' in added, added
    # refused by a rule of priority 1000: the learned one comes before it
    assert re.search(r'"evil.example.net"\n\s+ports: \[%d\]\n\s+methods: \[GET\]\n'
                     r'\s+path_pattern:\n\s+- "/e"\n\s+priority: 999' % p, added), added
    c = islo.cli(["check", out])
    assert c.returncode == 0, c
    r = islo(cmd, out)
    assert r.rc == 0 and r.out.split() == ["200"] * 3, r
    r = islo(sh(world, curl("http://api.example.com:%d/v3/x" % p)), out)
    assert r.out.split() == ["403"], r


HOSTILE = r"""
import socket, sys
paths = sys.argv[2:]
for p in paths:
    s = socket.create_connection(("api.example.com", int(sys.argv[1])), timeout=10)
    s.sendall(b"GET " + p.encode("latin-1") + b" HTTP/1.1\r\nHost: api.example.com:" +
              sys.argv[1].encode() + b"\r\nConnection: close\r\n\r\n")
    d = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        d += b
    print(d.split(b"\r\n")[0].decode(errors="replace"))
"""


def test_hostile_paths_cannot_write_rules(islo, world):
    """Paths with YAML's specials, quotes, a comment sign, a newline's
    escape, a star: each is a quoted scalar or left out, never a key, a
    rule or a comment of its own."""
    paths = ['/a"b', "/q'x", "/c:%20d", "/e#f", "/g%0a-%20host_pattern:%20x.evil",
             "/h*", "/i\\j", "/k{l}[m]&n!o|p>q", "/%2e%2e/etc", "/r s"]
    out = str(islo.tmp / "h.yaml")
    r = learn(islo, world, ["/usr/bin/python3", "-c", HOSTILE, str(world.http_port)] + paths,
              ["--allow-private", "--output", out])
    assert r.returncode == 0, r
    text = open(out).read()
    c = islo.cli(["check", out])
    assert c.returncode == 0, (c, text)
    # one rule only, for the host the sandbox really used
    assert text.count("- host_pattern:") == 1 and '"api.example.com"' in text, text
    assert "x.evil" not in text.replace('"/g%0a-%20host_pattern:%20x.evil"', ""), text
    for line in text.splitlines():
        s = line.strip()
        # every line is ours: a comment of ours, a key, or a quoted list item
        assert (s.startswith("#") and not re.search(r"[\"'/]", s)) or \
            re.match(r'^(- )?[a-z_]+:', s) or re.match(r'^- "[^"\\]*(\\.[^"\\]*)*"$', s), line
    import yaml as pyyaml
    doc = pyyaml.safe_load(text)
    assert len(doc["rules"]) == 1, doc
    assert "/*" not in doc["rules"][0]["path_pattern"], doc   # never every path
    for pat in doc["rules"][0]["path_pattern"]:
        assert pat.startswith("/") and "\n" not in pat and ("*" not in pat or pat.endswith("*")), pat


def test_output_symlink_is_replaced_not_followed(islo, world):
    """A symlink planted at the output name (the sandbox can write files
    its user owns) is replaced; its target is untouched."""
    target = str(islo.tmp / "victim")
    with open(target, "w") as f:
        f.write("precious\n")
    out = str(islo.tmp / "planted.yaml")
    os.symlink(target, out)
    r = learn(islo, world, ["true"], ["--output", out])
    assert r.returncode == 0, r
    assert open(target).read() == "precious\n"
    assert not os.path.islink(out) and "default_action: deny" in open(out).read()
    # and planted from inside the run, while CMD runs
    os.unlink(out)
    r = learn(islo, world, ["ln", "-s", target, out], ["-o", out])
    assert r.returncode == 0, r
    assert open(target).read() == "precious\n"
    assert not os.path.islink(out), r


def test_learn_with_intercept_reads_https_paths(islo, world):
    p = world.https_port
    out = str(islo.tmp / "tls.yaml")
    cmd = sh(world, curl("https://api.example.com:%d/tls/one" % p),
             curl("https://api.example.com:%d/tls/two" % p))
    r = learn(islo, world, cmd, ["--allow-private", "--intercept", "--upstream-ca", world.ca,
                                 "--output", out])
    assert r.returncode == 0 and r.stdout.split() == ["200", "200"], r
    text = open(out).read()
    assert '"/tls/one"' in text and '"/tls/two"' in text and "ports: [%d]" % p in text, text
    r = islo(cmd, out, extra=["--upstream-ca", world.ca])
    assert r.rc == 0 and r.out.split() == ["200", "200"], r
    r = islo(sh(world, curl("https://api.example.com:%d/tls/three" % p)), out,
             extra=["--upstream-ca", world.ca])
    assert r.out.split() == ["403"], r


def test_learn_options_are_learns_own(islo, world):
    r = islo.cli(["run", "--intercept", "--", "true"])
    assert r.returncode == 2 and "belong to `islo-net learn`" in r.stderr, r
    r = islo.cli(["learn", "-g", "x", "--", "true"])
    assert r.returncode == 2, r
    r = islo.cli(["--help"])
    assert "islo-net learn" in r.stdout, r
