# SPDX-License-Identifier: MIT
"""Credential injection: TLS interception, HTTP scoping, placeholders.

The upstream is the world's HTTPS server (test CA) whose /headers answers
with the request it received, so the tests see what upstream saw."""
import json
import os
import re

import pytest

from conftest import audit_events

SECRET = "s3cr3t-Token-7f1e2d9c4b"
BASIC_PW = "pa55-w0rd-basic"

INJECT = """\
name: inject
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}, {http}]
    allow_private: true
    path_pattern: [/headers*, /bytes/*, /up, /hello, /record*]
    methods: [GET, HEAD, POST]
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: GITHUB_TOKEN
  - name: other
    host_pattern: other.example.com
    ports: [{https}, {http}]
    allow_private: true
    methods: [GET]
  - name: limited
    host_pattern: a.wild.example
    ports: [{https}]
    allow_private: true
    rate_limit_rpm: 3
  - name: basic
    host_pattern: evil.example.net
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: basic
      username: robot
      secret: file:{secret_file}
  - name: mismatch
    host_pattern: private.example.com
    ports: [{https}]
    allow_private: true
    tls: intercept
  - name: routed
    host_pattern: api.staging.example
    ports: [443]
    route: 127.0.0.1:{https}
    tls_verify_name: api.example.com
    auth_strategy:
      mode: header
      name: X-Api-Key
      secret: env:ISLO_TEST_TOKEN
  - name: passthrough
    host_pattern: b.c.wild.example
    ports: [{https}]
    allow_private: true
  - name: plain-passthrough
    host_pattern: wild.example
    ports: [{http}]
    allow_private: true
"""

CURL = ["curl", "-sS", "--max-time", "20", "--noproxy", "*"]


@pytest.fixture(scope="module", autouse=True)
def profile(world):
    secret_file = os.path.join(world.dir, "basic.secret")
    with open(secret_file, "w") as f:
        f.write(BASIC_PW + "\n")
    os.chmod(secret_file, 0o600)
    if os.getuid() == 0:
        import pwd
        try:
            u = pwd.getpwnam("islo-test")
            os.chown(secret_file, u.pw_uid, u.pw_gid)
        except KeyError:
            pass
    path = world.profile("inject", INJECT.replace("{secret_file}", secret_file))
    os.chmod(path, 0o644)


def run(islo, world, cmd, **kw):
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    env = {"ISLO_TEST_TOKEN": SECRET}
    return islo(cmd, "inject", extra=extra, env=env, timeout=kw.get("timeout", 60))


def upstream_saw(out):
    """What the sandbox was shown of upstream's echo (scrubbed)."""
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def recorded(tag):
    """What upstream itself got, for requests whose path holds @tag."""
    import servers
    return [x for x in servers.RECORDED if tag in x["path"]]


def new_tag():
    return os.urandom(6).hex()


def masked(secret, ph):
    """How a secret reflected in a body reaches the sandbox: the
    placeholder cut or padded with '*' to the secret's length."""
    return (ph + "*" * len(secret))[:len(secret)]


def test_bearer_injected_and_never_seen_in_the_sandbox(islo, world):
    tag = new_tag()
    r = run(islo, world, ["sh", "-c",
        "echo ENV:$GITHUB_TOKEN; env | grep -c ISLO_TEST_TOKEN; "
        "curl -sS --max-time 20 https://api.example.com:%d/headers?%s "
        "-H \"Authorization: Bearer $GITHUB_TOKEN\"; "
        "curl -sS --max-time 20 https://api.example.com:%d/headers?%s" % (world.https_port, tag, world.https_port, tag)])
    assert r.rc == 0, r
    ph = re.search(r"ENV:(\S+)", r.out).group(1)
    assert ph.startswith("islo_ph_") and SECRET not in ph
    assert "\n0\n" in r.out, r                  # the secret's variable is gone
    got = recorded(tag)
    assert len(got) == 2, got
    for g in got:
        auth = [v for k, v in g["headers"] if k.lower() == "authorization"]
        assert auth == ["Bearer " + SECRET], g   # replaced, not duplicated
    # upstream echoed the header back: the sandbox sees it scrubbed
    saw = upstream_saw(r.out)
    assert len(saw) == 2, r
    for x in saw:
        auth = [v for k, v in x["headers"] if k.lower() == "authorization"]
        assert auth == ["Bearer " + masked(SECRET, ph)], x
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert ev and ev[0]["credentials"] == "env:ISLO_TEST_TOKEN" and ev[0]["status"] == 200
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert len(sec) == 2 and all("scrubbed" in e["reason"] for e in sec), sec
    assert SECRET not in r.out and SECRET not in r.audit and SECRET not in r.err


def test_the_secret_reaches_upstream_and_nothing_the_sandbox_has(islo, world, scratch):
    import servers
    tag = os.urandom(6).hex()
    out = os.path.join(scratch, "sandbox-wrote.txt")
    r = run(islo, world, ["sh", "-c",
        "env > %s; curl -sv https://api.example.com:%d/record/%s "
        "-H \"Authorization: Bearer $GITHUB_TOKEN\" >> %s 2>&1; "
        "cat /proc/self/environ | tr '\\0' '\\n' >> %s; chmod 644 %s"
        % (out, world.https_port, tag, out, out, out)])
    assert r.rc == 0, r
    seen = [x for x in servers.RECORDED if x["path"].endswith(tag)]
    assert len(seen) == 1, servers.RECORDED
    hdrs = seen[0]["headers"]
    assert ["Authorization", "Bearer " + SECRET] in hdrs
    assert [k for k, v in hdrs].count("Authorization") == 1
    wrote = open(out).read()
    assert "islo_ph_" in wrote and "recorded" in wrote, wrote
    for text in (wrote, r.out, r.err, r.audit):
        assert SECRET not in text


def test_placeholder_outside_the_credential_header_is_refused(islo, world):
    """The placeholder is swapped only in the header the rule owns: put in
    Origin, X-Request-Id, a cookie or the query string, it would come back
    as the secret from any upstream that reflects those (CORS does)."""
    tag = new_tag()
    cases = ["-H 'Origin: https://$GITHUB_TOKEN.example'",
             "-H 'X-Request-Id: $GITHUB_TOKEN'",
             "-H 'Cookie: t=$GITHUB_TOKEN'",
             "-H 'X-$GITHUB_TOKEN: 1'"]
    cmd = "; ".join(
        "curl -sS -o /dev/null -w '%%{http_code}\\n' https://api.example.com:%d/headers?%s "
        "-H \"Authorization: Bearer $GITHUB_TOKEN\" %s" % (world.https_port, tag, c.replace("'", '"'))
        for c in cases)
    cmd += ("; curl -sS -o /dev/null -w '%%{http_code}\\n' "
            "\"https://api.example.com:%d/headers?%s&t=$GITHUB_TOKEN\"" % (world.https_port, tag))
    r = run(islo, world, ["sh", "-c", cmd])
    assert r.rc == 0, r
    assert r.out.split() == ["403"] * 5, r
    assert recorded(tag) == []                    # nothing reached upstream
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert len(sec) == 5 and all("placeholder" in e["reason"] for e in sec), sec
    assert SECRET not in r.out + r.audit


def test_reflected_secret_is_scrubbed_from_headers_and_bodies(islo, world):
    """An upstream that reflects the credential in response headers and in
    a chunked body sent in 7-byte pieces: the sandbox sees the placeholder,
    never the secret; basic auth's injected base64 too."""
    import base64
    b64 = base64.b64encode(("robot:" + BASIC_PW).encode()).decode()
    script = (
        "import http.client,ssl,os,json\n"
        "ph=os.environ['GITHUB_TOKEN']\n"
        "print('PH', ph)\n"
        "ctx=ssl.create_default_context()\n"
        "def get(host, path, hdrs):\n"
        "    c=http.client.HTTPSConnection(host,%d,context=ctx,timeout=20)\n"
        "    c.request('GET',path,headers=hdrs)\n"
        "    r=c.getresponse(); b=r.read()\n"
        "    print('STATUS', r.status)\n"
        "    for k,v in r.getheaders(): print('H', k, v)\n"
        "    print('BODY', b.decode())\n"
        "get('evil.example.net','/reflect?chunked',{})\n"
        "get('evil.example.net','/reflect',{})\n" % world.https_port)
    world.profile("reflect", """\
rules:
  - name: basic
    host_pattern: evil.example.net
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: basic
      username: robot
      secret: file:%s
      placeholder_env: GITHUB_TOKEN
""" % os.path.join(world.dir, "basic.secret"))
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["/usr/bin/python3", "-c", script], "reflect", extra=extra)
    assert r.rc == 0, r
    assert r.out.count("STATUS 200") == 2, r
    assert b64 not in r.out and BASIC_PW not in r.out, r
    ph = re.search(r"PH (\S+)", r.out).group(1)
    # headers: the whole placeholder; bodies: same length
    assert "H X-Echo-Authorization Basic " + ph in r.out, r
    assert r.out.count(masked(b64, ph)) >= 2, r
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert len(sec) == 2 and all("scrubbed" in e["reason"] for e in sec), sec
    assert b64 not in r.audit and BASIC_PW not in r.audit


def test_python_client_trusts_the_islo_ca(islo, world):
    tag = new_tag()
    script = ("import urllib.request,os\n"
              "req=urllib.request.Request('https://api.example.com:%d/headers?%s')\n"
              "print(urllib.request.urlopen(req,timeout=20).read().decode())\n" % (world.https_port, tag))
    r = run(islo, world, ["/usr/bin/python3", "-c", script])
    assert r.rc == 0, r
    assert ["Authorization", "Bearer " + SECRET] in recorded(tag)[0]["headers"], r
    assert SECRET not in r.out


def test_method_and_path_scoping(islo, world):
    r = run(islo, world, ["sh", "-c",
        "curl -sS -o /dev/null -w '%%{http_code}\\n' -X DELETE https://api.example.com:%d/headers; "
        "curl -sS -w '\\n%%{http_code}\\n' https://api.example.com:%d/admin; "
        "curl -sS -o /dev/null -w '%%{http_code}\\n' https://api.example.com:%d/headers/../admin; "
        "curl -sS -o /dev/null -w '%%{http_code}\\n' --path-as-is https://api.example.com:%d/headers/../admin"
        % ((world.https_port,) * 4)])
    assert r.rc == 0, r
    lines = [l for l in r.out.splitlines() if l]
    assert lines[0] == "403", r
    body = json.loads(lines[1])
    # no rule covers GET /admin: the profile's default decided it
    assert body["error"] == "islo-net: blocked by gateway profile" and body["rule"] == "default"
    assert lines[2] == "403" and lines[3] == "403", r
    assert lines[4] == "403", r                   # a ".." path never matches
    deny = [e for e in audit_events(r.audit) if e["event"] == "http_request" and e["action"] == "deny"]
    assert len(deny) >= 3 and deny[0]["method"] == "DELETE"


def test_placeholder_sent_to_another_host_is_refused(islo, world):
    r = run(islo, world, ["sh", "-c",
        "curl -sS -w '\\n%%{http_code}\\n' https://other.example.com:%d/headers "
        "-H \"Authorization: token $GITHUB_TOKEN\"" % world.https_port])
    assert r.rc == 0, r
    assert r.out.strip().endswith("403"), r
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert sec and "placeholder" in sec[0]["reason"], r
    assert SECRET not in r.out


def test_placeholder_in_plain_http_to_a_passthrough_host_is_refused(islo, world):
    r = run(islo, world, ["sh", "-c",
        "curl -sS -w '\n%%{http_code}\n' http://wild.example:%d/headers "
        "-H \"X-Token: $GITHUB_TOKEN\"; "
        "curl -sS -o /dev/null -w '%%{http_code}\n' http://wild.example:%d/headers"
        % (world.http_port, world.http_port)])
    assert r.rc == 0, r
    codes = [l for l in r.out.splitlines() if l.isdigit()]
    assert codes == ["403", "200"], r
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert sec and "placeholder" in sec[0]["reason"], r


def test_rate_limit(islo, world):
    r = run(islo, world, ["sh", "-c",
        "for i in 1 2 3 4 5; do curl -sS -o /dev/null -w '%%{http_code}\\n' "
        "https://a.wild.example:%d/hello; done" % world.https_port])
    assert r.rc == 0, r
    assert r.out.split() == ["200", "200", "200", "429", "429"], r


def test_basic_auth_from_a_file_secret(islo, world):
    tag = new_tag()
    r = run(islo, world, CURL + ["https://evil.example.net:%d/headers?%s" % (world.https_port, tag)])
    assert r.rc == 0, r
    import base64
    want = "Basic " + base64.b64encode(("robot:" + BASIC_PW).encode()).decode()
    assert ["Authorization", want] in recorded(tag)[0]["headers"], r
    assert want not in r.out, r


def test_route_and_header_mode(islo, world):
    tag = new_tag()
    r = run(islo, world, CURL + ["https://api.staging.example/headers?" + tag])
    assert r.rc == 0, r
    saw = recorded(tag)[0]
    assert ["X-Api-Key", SECRET] in saw["headers"], r
    assert ["Host", "api.staging.example"] in saw["headers"]
    assert SECRET not in r.out


def test_upstream_certificate_mismatch_is_502_and_no_request_sent(islo, world):
    r = run(islo, world, ["sh", "-c",
        "curl -sS -w '\\n%%{http_code}\\n' https://private.example.com:%d/headers" % world.https_port])
    assert r.rc == 0, r
    lines = [l for l in r.out.splitlines() if l]
    assert lines[-1] == "502", r
    body = json.loads(lines[0])
    assert "does not match" in body["reason"], r


def test_passthrough_host_sees_the_upstream_certificate(islo, world):
    # no HTTP rule: TLS is not intercepted; the client verifies the real
    # server's certificate against the test CA alone
    r = run(islo, world, CURL + ["--cacert", world.ca, "-v",
                                 "https://b.c.wild.example:%d/hello" % world.https_port])
    # the test certificate does not name b.c.wild.example: curl refuses it,
    # which proves it saw the upstream's certificate, not one we minted
    assert r.rc == 60, r
    assert "islo-net" not in r.err


def test_plain_http_scoped_without_injection(islo, world):
    r = run(islo, world, ["sh", "-c",
        "curl -sS http://api.example.com:%d/headers; "
        "curl -sS -o /dev/null -w '%%{http_code}\\n' http://api.example.com:%d/admin"
        % (world.http_port, world.http_port)])
    assert r.rc == 0, r
    saw = upstream_saw(r.out)[0]
    assert not [v for k, v in saw["headers"] if k.lower() == "authorization"], r
    assert r.out.strip().endswith("403")


def test_large_download_and_chunked_upload_stream(islo, world):
    n = 64 * 1024 * 1024
    script = (
        "import hashlib,urllib.request,http.client,ssl\n"
        "b=urllib.request.urlopen('https://api.example.com:%d/bytes/%d',timeout=60).read()\n"
        "assert len(b)==%d and b[:4]==bytes([3,10,17,24]), len(b)\n"
        "c=http.client.HTTPSConnection('api.example.com',%d,context=ssl.create_default_context(),timeout=60)\n"
        "def gen():\n"
        "    for i in range(64): yield bytes([i])*65536\n"
        "c.request('POST','/up',body=gen(),encode_chunked=True,headers={'Transfer-Encoding':'chunked'})\n"
        "print(c.getresponse().read().decode().strip())\n"
        "h=hashlib.sha256(b''.join(bytes([i])*65536 for i in range(64))).hexdigest()\n"
        "print('want', h)\n" % (world.https_port, n, n, world.https_port))
    r = run(islo, world, ["/usr/bin/python3", "-c", script], timeout=180)
    assert r.rc == 0, r
    got = re.search(r"sha256=(\w+) len=(\d+)", r.out)
    want = re.search(r"want (\w+)", r.out).group(1)
    assert got and got.group(1) == want and got.group(2) == str(64 * 65536), r


def test_ca_cli(islo, world, scratch):
    import subprocess
    from conftest import ISLO
    d = os.path.join(scratch, "cadir")
    p = subprocess.run([ISLO, "ca", "path", "--ca-dir", d], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    path = p.stdout.strip()
    assert os.path.exists(path)
    e = subprocess.run([ISLO, "ca", "export", "--ca-dir", d], capture_output=True, text=True)
    assert e.stdout.startswith("-----BEGIN CERTIFICATE-----")
    assert open(path).read() == e.stdout
    keys = [f for f in os.listdir(d) if "key" in f]
    assert keys and all(os.stat(os.path.join(d, k)).st_mode & 0o077 == 0 for k in keys)


def test_secret_files_and_the_ca_key_are_hidden_from_the_sandbox(islo, world):
    secret_file = os.path.join(world.dir, "basic.secret")
    cadir = os.path.join(islo.tmp, "ca")
    r = run(islo, world, ["sh", "-c",
        "cat %s; echo rc=$?; ls -A %s | wc -l; cat /proc/$PPID/environ 2>/dev/null | tr '\\0' '\\n' | grep -c ISLO_TEST_TOKEN"
        % (secret_file, cadir)])
    assert BASIC_PW not in r.out and SECRET not in r.out, r
    assert "rc=0" in r.out, r           # the file reads as empty
    lines = r.out.split()
    assert lines[1] == "0", r           # the CA directory looks empty
    # outside the sandbox the CA is there, key and all
    assert any("key" in f for f in os.listdir(cadir))


def test_websocket_upgrade_through_an_intercepted_host(islo, world):
    script = (
        "import socket,ssl\n"
        "ctx=ssl.create_default_context()\n"
        "s=ctx.wrap_socket(socket.create_connection(('api.example.com',%d),timeout=20),server_hostname='api.example.com')\n"
        "s.sendall(b'GET /ws HTTP/1.1\\r\\nHost: api.example.com:%d\\r\\nUpgrade: websocket\\r\\n'\n"
        "          b'Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n')\n"
        "head=b''\n"
        "while b'\\r\\n\\r\\n' not in head: head+=s.recv(1)\n"
        "print(head.split(b'\\r\\n')[0].decode())\n"
        "for m in (b'hello', b'over the tunnel'):\n"
        "    s.sendall(m); got=b''\n"
        "    while len(got)<len(m): got+=s.recv(100)\n"
        "    print(got.decode())\n" % (world.https_port, world.https_port))
    world.profile("ws", """\
rules:
  - host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    path_pattern: /ws
""")
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["/usr/bin/python3", "-c", script], "ws", extra=extra)
    assert r.rc == 0, r
    assert r.out.splitlines() == ["HTTP/1.1 101 Switching Protocols", "HELLO",
                                  "OVER THE TUNNEL"], r
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert ev and ev[0]["status"] == 101


def test_git_clone_over_https_with_injection(islo, world):
    r = run(islo, world, ["sh", "-c",
        "cd /tmp && rm -rf islo-clone-$$ && git clone -q https://api.example.com:%d/git/repo.git "
        "islo-clone-$$ && cat islo-clone-$$/README; rm -rf islo-clone-$$" % world.https_port],
        timeout=120)
    # /git/ is outside the rule's path_pattern: refused...
    assert "403" in r.err and "cloned through" not in r.out, r
    world.profile("gitp", """\
rules:
  - host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    path_pattern: /git/*
    methods: [GET]
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
""")
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["sh", "-c",
        "cd /tmp && rm -rf islo-clone-$$ && git clone -q https://api.example.com:%d/git/repo.git "
        "islo-clone-$$ && cat islo-clone-$$/README; rm -rf islo-clone-$$" % world.https_port],
        "gitp", extra=extra, env={"ISLO_TEST_TOKEN": SECRET}, timeout=120)
    assert r.rc == 0 and "cloned through islo-net" in r.out, r
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert len(ev) >= 3 and all(e["credentials"] == "env:ISLO_TEST_TOKEN" for e in ev), ev


def test_node_fetch_trusts_the_islo_ca(islo, world):
    import shutil
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    tag = new_tag()
    script = ("fetch('https://api.example.com:%d/headers?%s',{headers:{authorization:'Bearer '+process.env.GITHUB_TOKEN}})"
              ".then(r=>r.text()).then(t=>console.log(t)).catch(e=>{console.error(e);process.exit(3)})"
              % (world.https_port, tag))
    r = run(islo, world, ["node", "-e", script], timeout=60)
    assert r.rc == 0, r
    assert ["authorization", "Bearer " + SECRET] in [[k.lower(), v] for k, v in recorded(tag)[0]["headers"]], r


def test_expect_100_continue_upload(islo, world):
    r = run(islo, world, ["sh", "-c",
        "head -c 3000000 /dev/zero > /tmp/islo-up-$$; "
        "curl -sS --max-time 30 -H 'Expect: 100-continue' --data-binary @/tmp/islo-up-$$ "
        "https://api.example.com:%d/up; rm -f /tmp/islo-up-$$" % world.https_port])
    assert r.rc == 0, r
    import hashlib
    assert "sha256=%s len=3000000" % hashlib.sha256(b"\0" * 3000000).hexdigest() in r.out, r


def test_1gib_download_streams_in_bounded_memory(world, scratch):
    import subprocess
    from conftest import ISLO
    n = 1 << 30
    args = [ISLO, "run", "--profiles-dir", world.profiles, "-g", "inject",
            "--dns-upstream", "127.0.0.1:%d" % world.dns_port,
            "--upstream-ca", world.ca, "--ca-dir", os.path.join(scratch, "ca"), "--",
            "curl", "-sS", "--max-time", "120", "-o", "/dev/null", "-w", "%{size_download}",
            "https://api.example.com:%d/bytes/../zeros/%d" % (world.https_port, n)]
    # /zeros/ is outside the rule's paths: use a profile that allows it
    world.profile("bulk", """\
rules:
  - host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    path_pattern: /zeros/*
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
""")
    args[args.index("inject")] = "bulk"
    args[-1] = "https://api.example.com:%d/zeros/%d" % (world.https_port, n)
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, ISLO_TEST_TOKEN=SECRET))
    _, status, usage = os.wait4(p.pid, 0)
    out = p.stdout.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0, p.stderr.read()
    assert out == str(n)
    # the gateway (and curl, its child) stayed far below the body's size
    # (AddressSanitizer's shadow memory and quarantine cost a few hundred
    # MiB of their own).  Typically 37 MiB; one CI run on a machine loaded
    # by three other builds saw 209 MiB once (not reproduced): a quarter
    # of the body still proves it streamed, and the outlier is a lead
    bound = 640 if "asan" in ISLO else 256
    assert usage.ru_maxrss < bound * 1024, usage.ru_maxrss   # KiB


def test_ecdhe_prefers_p256_and_leaves_x25519_to_clients_without_it(islo, world):
    """The sandbox side's key exchange (proxy.c, prefer_p256): P-256 when
    the client offers it (libcrypto's is the cheaper one), X25519 for a
    client that offers nothing else."""
    tag = new_tag()
    cmd = ("curl -sS --max-time 20 --tls-max 1.2 --curves %s "
           "https://api.example.com:%d/headers?" + tag + "; "
           "echo | openssl s_client -tls1_2 -connect api.example.com:%d "
           "-servername api.example.com -groups %s 2>&1 | grep 'Server Temp Key'")
    for groups, want in (("X25519:P-256", "ECDH, prime256v1"), ("X25519", "X25519,"),
                         ("P-256", "ECDH, prime256v1")):
        r = run(islo, world, ["sh", "-c", cmd % (groups, world.https_port,
                                                 world.https_port, groups)])
        assert r.rc == 0, r
        assert "Server Temp Key: " + want in r.out, r
        if groups == "X25519":
            # OpenSSL's TLS 1.2 client also holds the server's ECDSA key to
            # the groups it offers, so it refuses our P-256 leaf whatever
            # the key exchange; the server's choice above is the point
            continue
        # the upstream echoed the request's headers, the injected one too
        saw = upstream_saw(r.out)
        assert len(saw) == 1, (groups, r)
        assert ["Authorization", "Bearer " + SECRET] in recorded(tag)[-1]["headers"], r


def test_credentialed_request_asks_for_an_uncompressed_answer(islo, world):
    """An echo that comes back gzip'd could not be scrubbed: a request
    that carries the credential goes upstream with Accept-Encoding:
    identity, whatever the sandbox asked for."""
    tag = new_tag()
    r = run(islo, world, ["sh", "-c",
        "curl -sS --compressed -H 'Accept-Encoding: gzip, br' "
        "https://api.example.com:%d/headers?%s" % (world.https_port, tag)])
    assert r.rc == 0, r
    got = recorded(tag)
    assert len(got) == 1, got
    enc = [v for k, v in got[0]["headers"] if k.lower() == "accept-encoding"]
    assert enc == ["identity"], got
    assert SECRET not in r.out
    # a request without the credential keeps its own
    r = run(islo, world, ["sh", "-c",
        "curl -sS -H 'Accept-Encoding: gzip' http://api.example.com:%d/headers?%s-plain"
        % (world.http_port, tag)])
    got = recorded(tag + "-plain")
    assert [v for k, v in got[0]["headers"] if k.lower() == "accept-encoding"] == ["gzip"], got


def test_reflected_secret_percent_encoded_is_scrubbed(islo, world):
    """A secret with characters a URL encodes (+ / =), reflected
    percent-encoded (a redirect's query string, a page's link): the
    encoded form is scrubbed too."""
    import urllib.parse
    secret = "tok+en/with=chars-9f8e7d"
    world.profile("urlenc", """\
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: env:ISLO_URLENC_TOKEN
      placeholder_env: TOKEN
""")
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["curl", "-sS", "-D", "-", "--max-time", "20",
              "https://api.example.com:%d/reflect?urlenc" % world.https_port],
             "urlenc", extra=extra, env={"ISLO_URLENC_TOKEN": secret})
    assert r.rc == 0, r
    enc = urllib.parse.quote(secret, safe="")
    assert enc != secret and "X-Echo-Location" in r.out, r
    for form in (secret, enc, urllib.parse.quote("Bearer " + secret, safe="")):
        assert form not in r.out, (form, r)
    assert "auth=Bearer%20islo_ph_" in r.out, r     # the header: the whole placeholder
