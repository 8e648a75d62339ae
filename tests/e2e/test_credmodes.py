# SPDX-License-Identifier: MIT
"""Credential modes beyond one header (issue 18, point 3): a query
parameter, a token in the path, and AWS Signature Version 4.

Upstream is this module's own HTTPS server (the world's test certificate,
reached through `route:` under the names the rules name, AWS's among them).
It checks what it gets: the query and path credentials byte for byte, and
every SigV4 signature recomputed with botocore's own signer from the real
key only it and the gateway know.  It echoes what it got (path, query,
Authorization, session token, access key id) so that the tests see that
the sandbox gets none of it back.  The sandbox only ever holds
placeholders."""
import hashlib
import http.server
import json
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse

import pytest

from conftest import audit_events

Q_SECRET = "q-Secret/+= 9&x;y"           # bytes a query must encode
TG_SECRET = "123456:ABC-DEF_ghi/jk%l"    # Telegram's shape, and '/' and '%'
AKID = "AKIAREALKEYID7EXAMPLE"
SKEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYREALSECRET"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+real=token"
SECRETS = (Q_SECRET, TG_SECRET, AKID, SKEY, TOKEN)

RECORDED = []           # what the server got: dicts
PLAIN_PORT = [0]        # the same server over plain HTTP
OBJECTS = {}            # S3 objects the server keeps, by path


def _remove_dot_segments(path):
    out = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    s = "/" + "/".join(out)
    return s + "/" if out and path.endswith("/") else s


def sigv4_check(method, raw_path, headers, body):
    """Recompute the request's signature with botocore's signer and the real
    key.  Return: None if it is good, else why not."""
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    auth = headers.get("authorization", [])
    if len(auth) != 1:
        return "expected one Authorization, got %d" % len(auth)
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/"
                     r"([a-z0-9-]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), "
                     r"Signature=([0-9a-f]{64})", auth[0])
    if not m:
        return "malformed Authorization"
    akid, day, region, service, signed, sig = m.groups()
    if akid != AKID:
        return "unknown access key id"
    for h in ("x-amz-date", "x-amz-security-token"):
        if len(headers.get(h, [])) != 1:
            return "expected one %s" % h
    if headers["x-amz-security-token"][0] != TOKEN:
        return "wrong session token"
    amz = headers["x-amz-date"][0]
    t = time.mktime(time.strptime(amz, "%Y%m%dT%H%M%SZ")) - time.timezone
    if not amz.startswith(day) or abs(time.time() - t) > 900:
        return "stale or inconsistent X-Amz-Date"
    sha = headers.get("x-amz-content-sha256", [None])[0]
    if sha and re.fullmatch(r"[0-9a-f]{64}", sha) and sha != hashlib.sha256(body).hexdigest():
        return "X-Amz-Content-Sha256 does not match the body"
    names = signed.split(";")
    for must in ("host", "x-amz-date", "x-amz-security-token"):
        if must not in names:
            return "%s not signed" % must
    req = AWSRequest(method=method, url="https://%s%s" % (headers["host"][0], raw_path),
                     headers={n: ",".join(headers.get(n, [])) for n in names},
                     data=body)
    req.context["timestamp"] = amz
    cls = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = cls(Credentials(AKID, SKEY, TOKEN), service, region)
    want = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
    return None if want == sig else "SignatureDoesNotMatch"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, body, ctype="application/json", extra=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        # reflection: what the request carried comes back in headers too
        self.send_header("X-Echo-Path", self.path)
        for k in ("authorization", "x-amz-security-token"):
            for v in self.hdrs.get(k, []):
                self.send_header("X-Echo-" + k, v)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                body += self.rfile.read(size)
                self.rfile.readline()
                if not size:
                    break
        self.hdrs = {}
        for k, v in self.headers.items():
            self.hdrs.setdefault(k.lower(), []).append(v)
        host = self.hdrs.get("host", [""])[0].split(":")[0]
        RECORDED.append({"method": self.command, "path": self.path, "host": host,
                         "headers": self.hdrs, "body": body})
        if host == "query.test.example":
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query,
                                      keep_blank_values=True)
            ok = q.get("api_key") == [Q_SECRET]
            return self.answer(200 if ok else 401, json.dumps({"path": self.path, "q": q}))
        if host == "path.test.example":
            ok = self.path.startswith("/bot" + urllib.parse.quote(TG_SECRET, safe=":") + "/")
            return self.answer(200 if ok else 401, json.dumps({"path": self.path}))
        if host == "other.test.example":
            return self.answer(200, json.dumps({"path": self.path}))
        why = sigv4_check(self.command, self.path, self.hdrs, body)
        if why:
            return self.answer(403, "<Error><Code>SignatureDoesNotMatch</Code>"
                               "<Message>%s</Message></Error>" % why, "application/xml")
        if host == "sqs.us-east-1.amazonaws.com":
            return self.answer(200, "<ListQueuesResponse><ListQueuesResult><QueueUrl>"
                               "https://sqs.us-east-1.amazonaws.com/123456789012/q-%s</QueueUrl>"
                               "</ListQueuesResult><ResponseMetadata><RequestId>1</RequestId>"
                               "</ResponseMetadata></ListQueuesResponse>" % AKID, "text/xml")
        if host == "sts.amazonaws.com":
            # the access key id reflected, as AWS does in some answers
            return self.answer(200, "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                               "<GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/r/%s</Arn>"
                               "<UserId>AROAEXAMPLE:%s</UserId><Account>123456789012</Account>"
                               "</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
                               "</ResponseMetadata></GetCallerIdentityResponse>" % (AKID, AKID),
                               "text/xml")
        path = urllib.parse.urlsplit(self.path).path
        if self.command == "PUT":
            OBJECTS[path] = body
            return self.answer(200, b"", extra=[("ETag", '"%s"' % hashlib.md5(body).hexdigest())])
        if self.command == "GET" and path in OBJECTS:
            return self.answer(200, OBJECTS[path], "application/octet-stream")
        return self.answer(404, "<Error><Code>NoSuchKey</Code><Message>x</Message></Error>",
                           "application/xml")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


@pytest.fixture(scope="module")
def upstream(world):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(world.dir, "srv.pem"), os.path.join(world.dir, "srv.key"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    PLAIN_PORT[0] = plain.server_address[1]
    yield port
    srv.shutdown()
    plain.shutdown()


def route(port):
    return "    ports: [443]\n    route: 127.0.0.1:%d\n    tls_verify_name: api.example.com\n" % port


AWS_KEYS = """\
    auth_strategy:
      mode: aws_sigv4
      access_key_id: env:REAL_AKID
      secret: env:REAL_SKEY
      session_token: env:REAL_TOKEN
      placeholder_env: AWS_SECRET_ACCESS_KEY
      access_key_id_placeholder_env: AWS_ACCESS_KEY_ID
      session_token_placeholder_env: AWS_SESSION_TOKEN
"""


@pytest.fixture(scope="module", autouse=True)
def profile(world, upstream):
    r = route(upstream)
    text = ("name: credmodes\nrules:\n"
            "  - name: query\n    host_pattern: query.test.example\n" + r +
            "    path_pattern: [/q*]\n"
            "    auth_strategy: {mode: query, name: api_key, secret: env:Q_SECRET, placeholder_env: API_KEY}\n"
            "  - name: telegram\n    host_pattern: path.test.example\n" + r +
            "    path_pattern: [/bot*]\n"
            "    auth_strategy: {mode: path, secret: env:TG_SECRET, placeholder_env: TG_TOKEN}\n"
            "  - name: sts\n    host_pattern: sts.amazonaws.com\n" + r + AWS_KEYS +
            "  - name: s3\n    host_pattern: s3.us-west-2.amazonaws.com\n" + r + AWS_KEYS +
            "  - name: other\n    host_pattern: other.test.example\n    tls: intercept\n" + r +
            "  - name: sqs-plain\n    host_pattern: sqs.us-east-1.amazonaws.com\n    ports: [80]\n"
            "    route: 127.0.0.1:%d\n    allow_plaintext: true\n" % PLAIN_PORT[0] + AWS_KEYS)
    path = os.path.join(world.profiles, "credmodes.yaml")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def run(islo, world, cmd, timeout=90):
    extra = ["--ca-dir", os.path.join(islo.tmp, "ca"), "--upstream-ca", world.ca]
    env = {"Q_SECRET": Q_SECRET, "TG_SECRET": TG_SECRET, "REAL_AKID": AKID,
           "REAL_SKEY": SKEY, "REAL_TOKEN": TOKEN}
    return islo(cmd, "credmodes", extra=extra, env=env, timeout=timeout)


def got(host, since):
    return [x for x in RECORDED[since:] if x["host"] == host]


def no_secret(r):
    for s in SECRETS:
        for text in (r.out, r.err, r.audit):
            assert s not in text, (s, r)
        assert urllib.parse.quote(s, safe="") not in r.out, (s, r)


CURL = "curl -sS --max-time 20 "


def masked(secret, ph):
    """A secret reflected in a body reaches the sandbox as the placeholder
    cut or padded with '*' to the secret's length."""
    return (ph + "*" * len(secret))[:len(secret)]


def test_query_credential_added_replaced_and_never_duplicated(islo, world):
    n = len(RECORDED)
    r = run(islo, world, ["sh", "-c",
        "echo PH:$API_KEY; "
        + CURL + "'https://query.test.example/q?x=1'; echo; "
        + CURL + "\"https://query.test.example/q?api_key=$API_KEY&y=2\"; echo; "
        # the sandbox's own values, in every spelling, are dropped
        + CURL + "\"https://query.test.example/q?api_key=evil;api_key=$API_KEY&%61pi_key=x&API_KEY=z&w=3\"; echo"])
    assert r.rc == 0, r
    ph = re.search(r"PH:(\S+)", r.out).group(1)
    assert ph.startswith("islo_ph_"), r
    seen = got("query.test.example", n)
    assert len(seen) == 3, seen
    queries = [urllib.parse.urlsplit(x["path"]).query for x in seen]
    for q in queries:
        assert urllib.parse.parse_qs(q)["api_key"] == [Q_SECRET], q
        assert q.endswith("api_key=" + urllib.parse.quote(Q_SECRET, safe="")), q
    assert queries[0].startswith("x=1&") and queries[1].startswith("y=2&"), queries
    assert queries[2] == "w=3&api_key=" + urllib.parse.quote(Q_SECRET, safe=""), queries
    # upstream echoed the query back: the sandbox sees the placeholder
    # (in a body cut to the secret's length, as every reflection)
    assert r.out.count('"api_key": ["%s"]' % masked(Q_SECRET, ph)) == 3, r
    enc = urllib.parse.quote(Q_SECRET, safe="")
    assert r.out.count("api_key=" + masked(enc, ph)) == 3, r
    no_secret(r)
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert len(ev) == 3 and all(e["credentials"] == "env:Q_SECRET" for e in ev), ev


def test_query_placeholder_anywhere_else_is_refused(islo, world):
    n = len(RECORDED)
    cases = ["\"https://query.test.example/q?next=$API_KEY\"",
             "\"https://query.test.example/q?next=https://x/?api_key=$API_KEY\"",
             "\"https://query.test.example/q/$API_KEY\"",
             "-H \"X-Key: $API_KEY\" https://query.test.example/q",
             "\"https://other.test.example/?api_key=$API_KEY\""]
    r = run(islo, world, ["sh", "-c", "; ".join(
        CURL + "-o /dev/null -w '%{http_code}\\n' " + c for c in cases)])
    assert r.rc == 0, r
    assert r.out.split() == ["403"] * len(cases), r
    assert got("query.test.example", n) == [] and got("other.test.example", n) == []
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert len(sec) == len(cases) and all("placeholder" in e["reason"] for e in sec), sec
    no_secret(r)


def test_path_credential_telegram_style(islo, world):
    n = len(RECORDED)
    r = run(islo, world, ["sh", "-c",
        "echo PH:$TG_TOKEN; "
        + CURL + "-w '\\n%{http_code}\\n' \"https://path.test.example/bot$TG_TOKEN/sendMessage?chat_id=1\"; "
        # the path rule is checked against the path as sent
        + CURL + "-o /dev/null -w '%{http_code}\\n' \"https://path.test.example/admin/$TG_TOKEN\"; "
        # the placeholder in the query or a header: refused
        + CURL + "-o /dev/null -w '%{http_code}\\n' \"https://path.test.example/bot1/x?t=$TG_TOKEN\"; "
        + CURL + "-o /dev/null -w '%{http_code}\\n' -H \"X-T: $TG_TOKEN\" \"https://path.test.example/bot$TG_TOKEN/x\"; "
        # no placeholder in the path: nothing put, nothing said
        + CURL + "-o /dev/null -w '%{http_code}\\n' https://path.test.example/bot1/getMe"])
    assert r.rc == 0, r
    ph = re.search(r"PH:(\S+)", r.out).group(1)
    codes = [l for l in r.out.splitlines() if re.fullmatch(r"\d{3}", l)]
    assert codes == ["200", "403", "403", "403", "401"], r
    seen = got("path.test.example", n)
    assert len(seen) == 2 and seen[1]["path"] == "/bot1/getMe", seen
    enc = urllib.parse.quote(TG_SECRET, safe=":")
    assert seen[0]["path"] == "/bot%s/sendMessage?chat_id=1" % enc, seen
    # the echo of the path carries the placeholder
    assert '"path": "/bot%s/sendMessage?chat_id=1"' % masked(enc, ph) in r.out, r
    no_secret(r)
    assert enc not in r.out
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert [(e.get("status"), e.get("credentials")) for e in ev
            if e.get("status") in (200, 401)] == [(200, "env:TG_SECRET"), (401, None)], ev


BOTO = r"""
import os, sys, botocore.session
from botocore.config import Config
print("ENV", os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"][:8],
      os.environ["AWS_SESSION_TOKEN"][:8])
# no verify=: islo-net run points AWS_CA_BUNDLE at a bundle with its CA
s = botocore.session.get_session()
sts = s.create_client("sts", region_name="us-east-1", endpoint_url="https://sts.amazonaws.com")
who = sts.get_caller_identity()
print("WHO", who["Arn"], who["UserId"])
def s3(**kw):
    return s.create_client("s3", region_name="us-west-2", endpoint_url="https://s3.us-west-2.amazonaws.com",
                           config=Config(s3=dict(addressing_style="path", **kw)))
body = os.urandom(20000)
s3(payload_signing_enabled=True).put_object(Bucket="bkt", Key="signed/a b+c.bin", Body=body)
s3().put_object(Bucket="bkt", Key="unsigned.bin", Body=b"unsigned body")
got = s3().get_object(Bucket="bkt", Key="signed/a b+c.bin")["Body"].read()
print("ROUNDTRIP", got == body)
try:
    s3().get_object(Bucket="bkt", Key="missing")
except Exception as e:
    print("MISSING", type(e).__name__, str(e)[:200])
"""


def test_sigv4_botocore_with_placeholders_only(islo, world):
    n = len(RECORDED)
    r = run(islo, world, ["/usr/bin/python3", "-c", BOTO])
    assert r.rc == 0, r
    env = re.search(r"ENV (\S+) (\S+) (\S+)", r.out).groups()
    assert all(v.startswith("islo_ph") for v in env), r
    assert "ROUNDTRIP True" in r.out, r
    assert "MISSING NoSuchKey" in r.out, r
    # the access key id upstream reflected reached the sandbox as the
    # placeholder
    m = masked(AKID, env[0])
    assert "WHO arn:aws:sts::123456789012:assumed-role/r/%s AROAEXAMPLE:%s" % (m, m) in r.out, r
    ph = env[0]
    sts = got("sts.amazonaws.com", n)
    s3 = got("s3.us-west-2.amazonaws.com", n)
    assert len(sts) == 1 and len(s3) == 4, (sts, s3)
    # the body was hashed by the gateway (botocore sends none for STS)
    assert "x-amz-content-sha256" not in sts[0]["headers"]
    shas = [x["headers"]["x-amz-content-sha256"] for x in s3]
    assert shas[0] == [hashlib.sha256(s3[0]["body"]).hexdigest()], shas
    assert shas[1] == ["UNSIGNED-PAYLOAD"], shas
    assert len(s3[0]["body"]) == 20000
    for x in sts + s3:
        assert len(x["headers"]["authorization"]) == 1
        assert "Credential=%s/" % AKID in x["headers"]["authorization"][0]
        assert x["headers"]["x-amz-security-token"] == [TOKEN]
        assert ph not in json.dumps(x["headers"])
    no_secret(r)
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert len(ev) == 5 and all(e["credentials"] == "env:REAL_SKEY" for e in ev), ev


def test_sigv4_curl(islo, world, scratch):
    n = len(RECORDED)
    data = os.path.join(scratch, "data.txt")
    with open(data, "w") as f:
        f.write("hello from curl\n" * 100)
    os.chmod(data, 0o644)
    sig = "--aws-sigv4 aws:amz:us-west-2:s3 -u \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" " \
          "-H \"X-Amz-Security-Token: $AWS_SESSION_TOKEN\" "
    r = run(islo, world, ["sh", "-c",
        "echo PH $AWS_ACCESS_KEY_ID $AWS_SESSION_TOKEN; " +
        CURL + sig + "-o /dev/null -w '%{http_code}\\n' -T " + data +
        " https://s3.us-west-2.amazonaws.com/bkt/curl.txt; " +
        CURL + sig + "-D - -w '\\n%{http_code}\\n' https://s3.us-west-2.amazonaws.com/bkt/curl.txt"])
    assert r.rc == 0, r
    codes = [l for l in r.out.splitlines() if re.fullmatch(r"\d{3}", l)]
    assert codes == ["200", "200"], r
    assert r.out.count("hello from curl") == 100, r
    seen = got("s3.us-west-2.amazonaws.com", n)
    assert [x["method"] for x in seen] == ["PUT", "GET"], seen
    # curl hashed its body itself: the gateway recomputed it, and signed
    assert seen[0]["headers"]["x-amz-content-sha256"] == \
        [hashlib.sha256(seen[0]["body"]).hexdigest()], seen[0]
    # upstream reflected what it got: the access key id, the session token
    # and the signature come back as placeholders
    akid_ph, token_ph = re.search(r"PH (\S+) (\S+)", r.out).groups()
    echo = [l for l in r.out.splitlines() if l.lower().startswith("x-echo-")]
    auth = [l for l in echo if l.lower().startswith("x-echo-authorization:")]
    assert len(auth) == 1 and "Credential=%s/" % akid_ph in auth[0], echo
    assert "Signature=islo-net-signature-removed" in auth[0], echo
    assert [l.split(":", 1)[1].strip() for l in echo
            if l.lower().startswith("x-echo-x-amz-security-token:")] == [token_ph], echo
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert any("scrubbed" in e["reason"] for e in sec), sec
    no_secret(r)


def test_sigv4_many_headers_and_a_streamed_unsigned_body(islo, world, scratch):
    """90 X-Amz-Meta-* headers, all signed; a chunked body the sandbox
    marked UNSIGNED-PAYLOAD streams through without being read first."""
    n = len(RECORDED)
    data = os.path.join(scratch, "big.txt")
    with open(data, "w") as f:
        f.write("0123456789abcdef" * 40000)   # 640 KB: over what is hashed
    os.chmod(data, 0o644)
    sig = "--aws-sigv4 aws:amz:us-west-2:s3 -u \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" "
    meta = " ".join("-H 'X-Amz-Meta-H%d: v  %d'" % (i, i) for i in range(90))
    r = run(islo, world, ["sh", "-c",
        CURL + sig + meta + " -o /dev/null -w '%{http_code}\\n' https://s3.us-west-2.amazonaws.com/bkt/meta; " +
        CURL + sig + "-H 'X-Amz-Content-Sha256: UNSIGNED-PAYLOAD' -H 'Transfer-Encoding: chunked' "
        "-o /dev/null -w '%{http_code}\\n' -T " + data + " https://s3.us-west-2.amazonaws.com/bkt/big"])
    assert r.rc == 0, r
    assert r.out.split() == ["404", "200"], r      # 404: verified, no such key
    seen = got("s3.us-west-2.amazonaws.com", n)
    assert len(seen) == 2, seen
    auth = seen[0]["headers"]["authorization"][0]
    assert all("x-amz-meta-h%d" % i in auth for i in range(90)), auth
    assert seen[1]["headers"]["x-amz-content-sha256"] == ["UNSIGNED-PAYLOAD"]
    assert seen[1]["body"] == open(data, "rb").read()
    no_secret(r)


def test_sigv4_refusals(islo, world, scratch):
    """What the gateway cannot sign is refused with a reason, and nothing
    reaches upstream: a presigned URL, signed streaming chunks, a chunked
    body to hash, a body over 256 KiB; and an AWS placeholder sent to
    another host."""
    n = len(RECORDED)
    big = os.path.join(scratch, "big.bin")
    with open(big, "wb") as f:
        f.write(b"x" * (300 * 1024))
    os.chmod(big, 0o644)
    u = "https://s3.us-west-2.amazonaws.com/bkt/k"
    w = "-o /dev/null -w '%{http_code}\\n' "
    cases = [
        CURL + w + "'%s?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00'" % u,
        CURL + w + "-X PUT -H 'X-Amz-Content-Sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD' --data-binary x " + u,
        CURL + w + "-X PUT -H 'Transfer-Encoding: chunked' --data-binary x " + u,
        CURL + w + "-X PUT --data-binary @" + big + " " + u,
        CURL + w + "-H \"Authorization: $AWS_ACCESS_KEY_ID\" https://other.test.example/",
        # the placeholders anywhere but Authorization and
        # X-Amz-Security-Token, even toward the rule's own host
        CURL + w + "-H \"X-Amz-Meta-T: $AWS_SESSION_TOKEN\" " + u,
        CURL + w + "\"" + u + "?x=$AWS_SECRET_ACCESS_KEY\"",
    ]
    r = run(islo, world, ["sh", "-c", "; ".join(cases)])
    assert r.rc == 0, r
    assert r.out.split() == ["403", "403", "411", "413", "403", "403", "403"], r
    assert got("s3.us-west-2.amazonaws.com", n) == [] and got("other.test.example", n) == []
    reasons = [e.get("reason", "") for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert any("presigned" in x for x in reasons), reasons
    assert any("streaming" in x for x in reasons), reasons
    assert any("Content-Length" in x for x in reasons), reasons
    assert any("256 KiB" in x for x in reasons), reasons
    sec = [e["reason"] for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert len([x for x in sec if "placeholder" in x]) == 3, sec
    no_secret(r)


def test_check_names_modes_and_secrets_never_values(world):
    import subprocess
    from conftest import ISLO
    env = dict(os.environ, REAL_SKEY=SKEY, REAL_AKID=AKID, REAL_TOKEN=TOKEN)
    p = subprocess.run([ISLO, "check", "--profiles-dir", world.profiles, "credmodes"],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p
    out = p.stdout
    assert "credential: query (parameter api_key), secret env:Q_SECRET, placeholder in $API_KEY" in out, out
    assert "credential: path, secret env:TG_SECRET, placeholder in $TG_TOKEN" in out, out
    assert ("credential: aws_sigv4 (region from the host name, service from the host name), "
            "access key id env:REAL_AKID, secret env:REAL_SKEY, session token env:REAL_TOKEN, "
            "placeholder in $AWS_SECRET_ACCESS_KEY, access key id placeholder in $AWS_ACCESS_KEY_ID, "
            "session token placeholder in $AWS_SESSION_TOKEN") in out, out
    for s in SECRETS:
        assert s not in p.stdout + p.stderr


SLOW = r"""
import socket, ssl, time
h = "s3.us-west-2.amazonaws.com"
s = ssl.create_default_context().wrap_socket(socket.create_connection((h, 443), timeout=20),
                                             server_hostname=h)
s.sendall(b"PUT /bkt/slow HTTP/1.1\r\nHost: " + h.encode() + b"\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
t = time.time()
print("GOT", s.recv(4096).split(b"\r\n")[0].decode(), round(time.time() - t))
"""


def test_sigv4_body_that_never_comes_times_out(islo, world, upstream):
    """The head of a request to sign waits for its body, but no longer than
    a head may take (timeouts: request_head): a sandbox that holds a
    connection open with a short body is answered 408."""
    text = open(os.path.join(world.profiles, "credmodes.yaml")).read()
    path = os.path.join(world.profiles, "credslow.yaml")
    with open(path, "w") as f:
        f.write(text.replace("name: credmodes\n", "name: credslow\ntimeouts:\n  request_head: 2\n"))
    os.chmod(path, 0o644)
    n = len(RECORDED)
    extra = ["--ca-dir", os.path.join(islo.tmp, "ca"), "--upstream-ca", world.ca]
    env = {"Q_SECRET": Q_SECRET, "TG_SECRET": TG_SECRET, "REAL_AKID": AKID,
           "REAL_SKEY": SKEY, "REAL_TOKEN": TOKEN}
    r = islo(["/usr/bin/python3", "-c", SLOW], "credslow", extra=extra, env=env, timeout=60)
    assert r.rc == 0, r
    m = re.search(r"GOT HTTP/1\.1 (\d+) [A-Za-z ]+ (\d+)", r.out)
    assert m and m.group(1) == "408" and int(m.group(2)) <= 5, r
    assert got("s3.us-west-2.amazonaws.com", n) == []


@pytest.mark.skipif("asan" in __import__("conftest").ISLO,
                    reason="valgrind and ASan do not mix: the plain build is checked")
def test_memcheck_clean_with_every_mode(world, scratch, upstream):
    """The query, path and aws_sigv4 paths under valgrind memcheck (a body
    read whole and hashed, a signature, a reflection scrubbed): no invalid
    access, no uninitialised memory, nothing lost."""
    import shutil
    import subprocess
    from conftest import ISLO
    assert shutil.which("valgrind"), "valgrind is missing (scripts/install-deps.sh)"
    n = len(RECORDED)
    data = os.path.join(scratch, "d.txt")
    with open(data, "w") as f:
        f.write("valgrind body\n" * 500)
    os.chmod(data, 0o644)
    sig = "--aws-sigv4 aws:amz:us-west-2:s3 -u \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" "
    script = ("set -e\n"   # -f: an answer other than 2xx fails the run
              + CURL + "-f -o /dev/null \"https://query.test.example/q?a=1&api_key=$API_KEY\"\n"
              + CURL + "-f -o /dev/null \"https://path.test.example/bot$TG_TOKEN/getMe\"\n"
              + CURL + sig + "-f -o /dev/null -T " + data + " https://s3.us-west-2.amazonaws.com/bkt/vg\n"
              + CURL + sig + "-f -D - -o /dev/null https://s3.us-west-2.amazonaws.com/bkt/vg\n")
    env = dict(os.environ, ISLO_SECCOMP="off", Q_SECRET=Q_SECRET, TG_SECRET=TG_SECRET,
               REAL_AKID=AKID, REAL_SKEY=SKEY, REAL_TOKEN=TOKEN)
    p = subprocess.run(["valgrind", "--quiet", "--error-exitcode=99",
                        "--leak-check=full", "--show-leak-kinds=definite,indirect",
                        "--errors-for-leak-kinds=definite,indirect",
                        "--child-silent-after-fork=yes", "--track-origins=yes",
                        ISLO, "run", "--profiles-dir", world.profiles, "-g", "credmodes",
                        "--dns-upstream", "127.0.0.1:%d" % world.dns_port,
                        "--upstream-ca", world.ca, "--ca-dir", os.path.join(scratch, "ca"),
                        "--audit-log", os.path.join(scratch, "a.log"), "--", "sh", "-c", script],
                       capture_output=True, text=True, timeout=300, env=env, cwd=scratch)
    assert p.returncode == 0, p.stderr[-6000:]
    seen = RECORDED[n:]
    assert [x["host"] for x in seen] == ["query.test.example", "path.test.example",
                                         "s3.us-west-2.amazonaws.com",
                                         "s3.us-west-2.amazonaws.com"], seen
    assert "islo-net-signature-removed" in p.stdout, p.stdout
    for s in SECRETS:
        assert s not in p.stdout + p.stderr


SQS = r"""
import botocore.session
c = botocore.session.get_session().create_client(
    "sqs", region_name="us-east-1", endpoint_url="http://sqs.us-east-1.amazonaws.com")
print("QUEUES", c.list_queues(QueueNamePrefix="q")["QueueUrls"])
"""


def test_sigv4_over_plain_http_with_allow_plaintext(islo, world):
    """allow_plaintext: the gateway signs plain-HTTP requests too (AWS
    serves some endpoints over http): the form body of SQS's query protocol
    is read and hashed on a connection the HTTP engine reads unencrypted."""
    n = len(RECORDED)
    r = run(islo, world, ["/usr/bin/python3", "-c", SQS])
    assert r.rc == 0, r
    seen = got("sqs.us-east-1.amazonaws.com", n)
    assert len(seen) == 1 and b"Action=ListQueues" in seen[0]["body"], seen
    assert "x-amz-content-sha256" not in seen[0]["headers"]
    assert re.search(r"QUEUES \['https://sqs.us-east-1.amazonaws.com/123456789012/q-islo_ph_", r.out), r
    no_secret(r)
