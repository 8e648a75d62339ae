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
    path_pattern: [/headers*, /reflect*, /grpc*, /bytes/*, /stream/*]
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
