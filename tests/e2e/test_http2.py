# SPDX-License-Identifier: MIT
"""HTTP/2 through interception: ALPN both ways, every stream decided as an
HTTP/1.1 request is, the credential injected per stream, refusals on
their stream only, secrets reflected by upstream scrubbed (fields, body,
trailers), and the known HTTP/2 attacks from the sandbox answered with
GOAWAY while other connections go on.

The HTTP/2 upstream is h2server.py (python3-h2, ALPN h2 only); the
HTTP/1.1-only one is the world's HTTPS server."""
import json
import os
import textwrap

import pytest

from conftest import audit_events
from h2server import RECORDED, H2Server

SECRET = "h2-s3cr3t-Token-5a1b9c"
PH = "ISLO_PLACEHOLDER_H2"

PROFILE = """\
name: h2
rules:
  - name: api2
    host_pattern: api.example.com
    ports: [{h2port}]
    allow_private: true
    path_pattern: [/headers*, /reflect*, /grpc*, /bytes/*, /stream/*, /upload*]
    methods: [GET, POST]
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: API_TOKEN
  - name: api1
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    path_pattern: [/headers*]
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: API_TOKEN
"""

CURL = ["curl", "-sS", "--max-time", "20", "--noproxy", "*"]


@pytest.fixture(scope="module")
def h2srv(world):
    s = H2Server(os.path.join(world.dir, "srv.pem"),
                 os.path.join(world.dir, "srv.key"))
    world.profile("h2", PROFILE.replace("{h2port}", str(s.port)))
    yield s
    s.close()


def run(islo, world, cmd, timeout=60):
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    return islo(cmd, "h2", extra=extra, env={"ISLO_TEST_TOKEN": SECRET},
                timeout=timeout)


def h2url(srv, path):
    return "https://api.example.com:%d%s" % (srv.port, path)


def recorded(tag):
    return [x for x in RECORDED if tag in x["path"]]


def tag():
    return os.urandom(6).hex()


def http_events(r):
    return [e for e in audit_events(r.audit) if e.get("event") == "http_request"]


def test_curl_http2_to_an_http2_only_upstream_gets_the_credential(islo, world, h2srv):
    t = tag()
    r = run(islo, world, ["sh", "-c",
        "curl -sS --max-time 20 --http2 -w '\\nversion=%%{http_version}\\n' "
        "-H \"Authorization: Bearer $API_TOKEN\" %s" % h2url(h2srv, "/headers?" + t)])
    assert r.rc == 0, r
    assert "version=2" in r.out, r
    seen = recorded(t)
    assert len(seen) == 1, r
    assert ("authorization", "Bearer " + SECRET) in [tuple(h) for h in seen[0]["headers"]]
    assert SECRET not in r.out
    ev = [e for e in http_events(r) if t in e.get("path", "")]
    assert ev and ev[0]["http_version"] == "2" and ev[0]["status"] == 200, r.audit
    assert ev[0]["action"] == "allow"


HERE = os.path.dirname(os.path.abspath(__file__))


def h2client(islo, world, srv, *args, timeout=90):
    return run(islo, world, ["/usr/bin/python3", os.path.join(HERE, "h2client.py"),
                             args[0], "api.example.com", str(srv.port)] + list(args[1:]),
               timeout=timeout)


def lines(r):
    return [json.loads(l) for l in r.out.splitlines() if l.startswith("{")]


def test_curl_http2_to_an_http1_only_upstream_speaks_http1(islo, world, h2srv):
    """The upstream offers no h2: the sandbox is answered http/1.1 and
    the HTTP/1.1 engine serves it, credential and all."""
    import servers
    t = tag()
    r = run(islo, world, ["sh", "-c",
        "curl -sS --max-time 20 --http2 -w '\\nversion=%%{http_version}\\n' "
        "-H \"Authorization: Bearer $API_TOKEN\" "
        "https://api.example.com:%d/headers?%s" % (world.https_port, t)])
    assert r.rc == 0, r
    assert "version=1.1" in r.out, r
    seen = [x for x in servers.RECORDED if t in x["path"]]
    assert len(seen) == 1
    assert ["Authorization", "Bearer " + SECRET] in seen[0]["headers"]
    assert SECRET not in r.out


def test_concurrent_streams_each_decided_one_refused(islo, world, h2srv):
    """Six streams at once on one connection: five in path_pattern get the
    credential upstream, the sixth is refused 403 on its stream alone."""
    t = tag()
    paths = ["/headers?%s-%d" % (t, i) for i in range(5)] + ["/private?" + t]
    r = h2client(islo, world, h2srv, "get", *paths)
    assert r.rc == 0, r
    out = lines(r)
    assert out[0]["alpn"] == "h2"
    res = {x["path"]: x for x in out[1:]}
    for p in paths[:5]:
        assert dict(res[p]["headers"]).get(":status") == "200", (r.out, r.audit)
    refused = res[paths[5]]
    assert dict(refused["headers"])[":status"] == "403", refused
    body = json.loads(refused["body"])
    assert body["error"] == "islo-net: blocked by gateway profile", body
    assert "rule" in body and "reason" in body
    seen = recorded(t)
    assert sorted(x["path"] for x in seen) == sorted(paths[:5]), seen
    assert len({x["conn"] for x in seen}) == 1          # one upstream connection
    for x in seen:
        hd = [tuple(h) for h in x["headers"]]
        assert ("authorization", "Bearer " + SECRET) in hd
        assert [k for k, v in hd].count("authorization") == 1
    ev = [e for e in http_events(r) if t in e.get("path", "")]
    assert len(ev) == 6, r.audit
    assert all(e["http_version"] == "2" for e in ev)
    assert sorted(e["action"] for e in ev) == ["allow"] * 5 + ["deny"]
    assert SECRET not in r.out + r.audit + r.err


def test_reflected_secret_scrubbed_from_fields_body_and_trailers(islo, world, h2srv):
    """An upstream echoing the credential in a field, its body and its
    trailers (gRPC's grpc-message): the sandbox gets the placeholder; the
    trailers themselves pass (grpc-status)."""
    t = tag()
    r = h2client(islo, world, h2srv, "get", "/reflect?" + t, "/grpc?" + t)
    assert r.rc == 0, r
    out = lines(r)
    refl, grpc = out[1], out[2]
    echo = dict(refl["headers"])["x-echo"]
    assert echo.startswith("Bearer islo_ph_") and SECRET not in echo, refl
    ph = echo[len("Bearer "):]
    # a body keeps its length: the placeholder cut or padded to the secret's
    assert refl["body"] == "you sent: Bearer %s\n" % (ph + "*" * len(SECRET))[:len(SECRET)], refl
    assert dict(refl["trailers"])["x-trailer-echo"] == "Bearer " + ph, refl
    tr = dict(grpc["trailers"])
    assert tr["grpc-status"] == "0", grpc
    assert tr["grpc-message"] == "ok Bearer " + ph, grpc
    assert SECRET not in r.out + r.audit + r.err
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert any("scrubbed" in e["reason"] for e in sec), sec


@pytest.mark.parametrize("kind", ["rapid-reset", "continuation", "settings-flood",
                                  "ping-flood"])
def test_floods_end_the_connection_and_the_gateway_goes_on(islo, world, h2srv, kind):
    r = h2client(islo, world, h2srv, kind)
    assert r.rc == 0, r
    out = lines(r)
    assert out[0]["alpn"] == "h2"
    # GOAWAY(ENHANCE_YOUR_CALM); nghttp2's own rapid-reset limit, which
    # may come first, says INTERNAL_ERROR
    assert out[1]["goaway"] in ((11, 2) if kind == "rapid-reset" else (11,)), out
    assert out[1]["closed"], out            # the gateway ended it, not us
    after = [x for x in out if x.get("path", "").startswith("/headers?after")]
    assert after and dict(after[0]["headers"])[":status"] == "200", out
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert any("HTTP/2" in e["reason"] for e in sec), r.audit


def test_hpack_bomb_is_refused_on_its_stream(islo, world, h2srv):
    r = h2client(islo, world, h2srv, "hpack-bomb")
    assert r.rc == 0, r
    st = lines(r)[0]["statuses"]
    assert st.get("1") == "431", st
    assert st.get("3") == "200", st


GRPC_CLIENT = """\
import grpc, os, sys
port = int(sys.argv[1])
ch = grpc.secure_channel("api.example.com:%d" % port, grpc.ssl_channel_credentials())
md = [("authorization", "Bearer " + os.environ["API_TOKEN"])]
print("UNARY", ch.unary_unary("/test.Echo/Unary")(b"hi", metadata=md, timeout=20))
for m in ch.unary_stream("/test.Echo/Stream")(b"hi", metadata=md, timeout=20):
    print("STREAM", m)
try:
    ch.unary_unary("/test.Other/Unary")(b"hi", metadata=md, timeout=20)
except grpc.RpcError as e:
    print("REFUSED", e.code())
"""


@pytest.fixture(scope="module")
def grpc_server(world):
    import grpc                          # python3-grpcio: install-deps.sh
    from concurrent import futures
    seen = []

    def unary(req, ctx):
        md = dict(ctx.invocation_metadata())
        seen.append(("unary", md.get("authorization")))
        return b"unary " + md.get("authorization", "").encode()

    def stream(req, ctx):
        md = dict(ctx.invocation_metadata())
        seen.append(("stream", md.get("authorization")))
        for i in range(3):
            yield b"part%d" % i

    h = grpc.method_handlers_generic_handler("test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream)})
    srv = grpc.server(futures.ThreadPoolExecutor(4))
    srv.add_generic_rpc_handlers((h,))
    with open(os.path.join(world.dir, "srv.key"), "rb") as k, \
            open(os.path.join(world.dir, "srv.pem"), "rb") as c:
        creds = grpc.ssl_server_credentials([(k.read(), c.read())])
    port = srv.add_secure_port("127.0.0.1:0", creds)
    srv.start()
    world.profile("grpc", """\
name: grpc
rules:
  - name: echo
    host_pattern: api.example.com
    ports: [%d]
    allow_private: true
    path_pattern: [/test.Echo/*]
    methods: [POST]
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: API_TOKEN
""" % port)
    srv.port, srv.seen = port, seen
    yield srv
    srv.stop(0)


def test_grpc_unary_and_server_streaming_with_the_credential(islo, world, grpc_server):
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["/usr/bin/python3", "-c", GRPC_CLIENT, str(grpc_server.port)], "grpc",
             extra=extra, env={"ISLO_TEST_TOKEN": SECRET}, timeout=60)
    assert r.rc == 0, r
    assert "UNARY b'unary Bearer islo_ph_" in r.out, r      # reflected: scrubbed
    assert [l for l in r.out.splitlines() if l.startswith("STREAM")] == \
        ["STREAM b'part0'", "STREAM b'part1'", "STREAM b'part2'"], r
    assert "REFUSED StatusCode.PERMISSION_DENIED" in r.out, r  # 403 on its stream
    assert ("unary", "Bearer " + SECRET) in grpc_server.seen
    assert ("stream", "Bearer " + SECRET) in grpc_server.seen
    assert SECRET not in r.out + r.err + r.audit
    ev = [e for e in http_events(r)]
    assert {e["path"] for e in ev} >= {"/test.Echo/Unary", "/test.Echo/Stream",
                                       "/test.Other/Unary"}, r.audit
    assert all(e["http_version"] == "2" for e in ev)


@pytest.mark.parametrize("kind,why", [
    ("stall", "flow-control window"), ("slow-head", "request head timed out")])
def test_a_window_that_never_opens_or_a_head_that_never_ends(islo, world, h2srv,
                                                             kind, why):
    """The sandbox asks for a large response with a stream window of 0 (or
    never ends a header block) and keeps the connection alive with PINGs:
    after the idle (request head) timeout, 2 s here, the connection ends."""
    prof = open(os.path.join(world.profiles, "h2.yaml")).read()
    world.profile("h2slow", prof.replace(
        "name: h2\n", "name: h2slow\ntimeouts:\n  idle: 2\n  tls_handshake: 2\n"
        "  request_head: 2\n"))
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["/usr/bin/python3", os.path.join(HERE, "h2client.py"), kind,
              "api.example.com", str(h2srv.port)], "h2slow", extra=extra,
             env={"ISLO_TEST_TOKEN": SECRET}, timeout=90)
    assert r.rc == 0, r
    out = lines(r)
    assert 1.5 < out[0]["stall_s"] < 8, out
    assert why in r.audit + r.err, r
    assert dict(out[-1]["headers"]).get(":status") == "200", out  # then a new one


def test_authority_and_placeholders_are_checked_per_stream(islo, world, h2srv):
    """On one connection: a stream whose :authority names another host, and
    one carrying the placeholder outside the credential header, are
    refused 403 on their streams; the well-formed one goes through."""
    t = tag()
    paths = ["/headers?%s-ok" % t,
             "/headers?%s-host|:authority=other.example.com:%d" % (t, h2srv.port),
             "/headers?%s-ph|x-request-id=$API_TOKEN" % t,
             "/headers?%s-port|:authority=api.example.com:1" % t,
             # a host field instead of :authority (RFC 9113 8.3.1) is
             # taken; both at once is refused, whatever they say
             "/headers?%s-hostfield|:authority=-|host=api.example.com:%d" % (t, h2srv.port),
             "/headers?%s-both|host=api.example.com:%d" % (t, h2srv.port),
             "/headers?%s-bothother|host=other.example.com:%d" % (t, h2srv.port)]
    r = h2client(islo, world, h2srv, "get", *paths)
    assert r.rc == 0, r
    res = {x["path"]: dict(x["headers"]).get(":status") for x in lines(r)[1:]}
    assert [res[p] for p in paths] == ["200", "403", "403", "403", "200", "400",
                                       "400"], r
    assert sorted(x["path"] for x in recorded(t)) == [
        "/headers?%s-hostfield" % t, "/headers?%s-ok" % t]
    hf = [x for x in recorded(t) if "hostfield" in x["path"]][0]
    assert ("authorization", "Bearer " + SECRET) in [tuple(h) for h in hf["headers"]]
    sec = [e for e in audit_events(r.audit) if e["event"] == "security_event"]
    assert any("placeholder" in e["reason"] for e in sec), sec
    assert any("Host" in e["reason"] for e in sec), sec
    assert SECRET not in r.out + r.audit + r.err


def test_curl_parallel_streams_share_one_connection(islo, world, h2srv):
    """curl --http2 --parallel: the requests are streams of one connection,
    each with the credential; the one outside path_pattern is refused."""
    t = tag()
    urls = [h2url(h2srv, "/headers?%s-%d" % (t, i)) for i in range(4)]
    urls.append(h2url(h2srv, "/private?" + t))
    cmd = ("curl -sS --max-time 20 --http2 --parallel --parallel-max 10 "
           "-H \"Authorization: Bearer $API_TOKEN\" "
           "-w '%%{http_code} %%{http_version}\\n' %s" %
           " ".join("-o /dev/null " + u for u in urls))
    r = run(islo, world, ["sh", "-c", cmd])
    assert r.rc == 0, r
    assert sorted(r.out.split("\n")[:-1]) == ["200 2"] * 4 + ["403 2"], r
    seen = recorded(t)
    assert len(seen) == 4 and len({x["conn"] for x in seen}) == 1, seen
    for x in seen:
        assert ("authorization", "Bearer " + SECRET) in [tuple(h) for h in x["headers"]], x


def test_an_http2_only_client_to_an_http1_only_upstream_gets_502_with_why(islo, world,
                                                                         h2srv):
    """No translation yet: a client that offers only h2 (as gRPC's do) to an
    upstream that speaks only HTTP/1.1 is answered h2, and its request 502
    with the reason, then GOAWAY; never a handshake failure it cannot read."""
    t = tag()
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["env", "H2_ONLY=1", "/usr/bin/python3", os.path.join(HERE, "h2client.py"),
              "get", "api.example.com", str(world.https_port), "/headers?" + t],
             "h2", extra=extra, env={"ISLO_TEST_TOKEN": SECRET}, timeout=60)
    assert r.rc == 0, r
    out = lines(r)
    assert out[0]["alpn"] == "h2", r
    assert dict(out[1]["headers"]).get(":status") == "502", r
    assert "only HTTP/1.1" in json.loads(out[1]["body"])["reason"], r
    ev = [e for e in http_events(r) if t in e.get("path", "")]
    assert ev and ev[0]["status"] == 502 and ev[0]["http_version"] == "2", r.audit


def test_large_upload_and_download_through_the_windows(islo, world, h2srv, scratch):
    """4 MiB each way on one stream: many times the 64 KiB windows the
    gateway advertises, so flow control has to hand window back as each
    side drains; the bytes arrive whole."""
    import hashlib
    data = os.urandom(4 << 20)
    src = os.path.join(scratch, "up.bin")
    with open(src, "wb") as f:
        f.write(data)
    os.chmod(src, 0o644)
    r = run(islo, world, ["sh", "-c",
        "curl -sS --max-time 60 --http2 -H \"Authorization: Bearer $API_TOKEN\" "
        "--data-binary @%s %s; echo; "
        "curl -sS --max-time 60 --http2 %s | wc -c" %
        (src, h2url(h2srv, "/upload"), h2url(h2srv, "/bytes/4194304"))], timeout=120)
    assert r.rc == 0, r
    got = json.loads(r.out.splitlines()[0])
    assert got == {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}, r
    assert r.out.split()[-1] == str(4 << 20), r


def test_rate_limit_answers_429_on_the_streams_over_it(islo, world, h2srv):
    """rate_limit_rpm: 2, four streams at once: two go through, two get 429
    with Retry-After on their streams, on the same connection."""
    world.profile("h2rate", """\
name: h2rate
rules:
  - name: limited
    host_pattern: api.example.com
    ports: [%d]
    allow_private: true
    path_pattern: [/headers*]
    rate_limit_rpm: 2
""" % h2srv.port)
    t = tag()
    paths = ["/headers?%s-%d" % (t, i) for i in range(4)]
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["/usr/bin/python3", os.path.join(HERE, "h2client.py"), "get",
              "api.example.com", str(h2srv.port)] + paths, "h2rate", extra=extra,
             timeout=60)
    assert r.rc == 0, r
    heads = [dict(x["headers"]) for x in lines(r)[1:]]
    assert sorted(h.get(":status") for h in heads) == ["200", "200", "429", "429"], r
    assert all(h.get("retry-after") == "60" for h in heads if h.get(":status") == "429")
    assert len(recorded(t)) == 2


CRED_MODES = """\
name: h2modes
rules:
  - name: q
    host_pattern: api.example.com
    ports: [{h2port}]
    allow_private: true
    path_pattern: [/headers*]
    auth_strategy:
      mode: query
      name: key
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: API_TOKEN
  - name: p
    host_pattern: other.example.com
    ports: [{h2port}]
    allow_private: true
    path_pattern: ["/headers/bot*"]
    auth_strategy:
      mode: path
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: API_TOKEN
"""


def test_query_and_path_credentials_over_http2(islo, world, h2srv):
    """The credential modes that rewrite the request-target work on an
    HTTP/2 stream as on an HTTP/1.1 request: the secret reaches upstream
    in :path, the sandbox holds the placeholder, the audit log shows the
    path the sandbox sent."""
    world.profile("h2modes", CRED_MODES.replace("{h2port}", str(h2srv.port)))
    t1, t2 = tag(), tag()
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["sh", "-c",
              "curl -sS --max-time 20 --http2 -w '\\nversion=%%{http_version}\\n' "
              "\"https://api.example.com:%d/headers?t=%s&key=$API_TOKEN\"; "
              "curl -sS --max-time 20 --http2 -w '\\nversion=%%{http_version}\\n' "
              "\"https://other.example.com:%d/headers/bot$API_TOKEN/send?t=%s\""
              % (h2srv.port, t1, h2srv.port, t2)],
             "h2modes", extra=extra, env={"ISLO_TEST_TOKEN": SECRET})
    assert r.rc == 0 and r.out.count("version=2") == 2, r
    q, p = recorded(t1), recorded(t2)
    assert len(q) == 1 and "key=" + SECRET in q[0]["path"], (q, r)
    assert PH not in q[0]["path"] and "ISLO" not in q[0]["path"], q
    assert len(p) == 1 and p[0]["path"].startswith("/headers/bot" + SECRET + "/send"), (p, r)
    assert SECRET not in r.out and SECRET not in r.err
    ev = [e for e in http_events(r) if e.get("http_version") == "2"]
    assert len(ev) == 2 and all(e["status"] == 200 for e in ev), r.audit
    assert SECRET not in r.audit
