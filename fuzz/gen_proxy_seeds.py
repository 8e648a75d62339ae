#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write seed inputs for fuzz_proxy: a host selector byte, then operations
(0 sandbox bytes, 1 upstream bytes, 2 sandbox EOF, 3 upstream EOF; bytes
behind a 2-byte big-endian length).  Run from the repository root."""
import os
import struct

OUT = "fuzz/corpus/fuzz_proxy"
PH = b"islo_ph_" + b"0" * 32
PH_OTHER = b"islo_ph_" + b"0" * 31 + b"1"


def sb(b):
    return b"\x00" + struct.pack("!H", len(b)) + b


def up(b):
    return b"\x01" + struct.pack("!H", len(b)) + b


SB_EOF, UP_EOF = b"\x02", b"\x03"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

SEEDS = {
    "get-injected": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\nAuthorization: Bearer " + PH + b"\r\n\r\n") + up(OK) + SB_EOF,
    "post-chunked": b"\x00" + sb(b"POST /up HTTP/1.1\r\nHost: api.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel") + sb(b"lo\r\n0\r\n\r\n")
                    + up(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") + SB_EOF,
    "path-denied": b"\x00" + sb(b"GET /nope HTTP/1.1\r\nHost: api.example\r\n\r\n"),
    "method-denied": b"\x00" + sb(b"DELETE /ok HTTP/1.1\r\nHost: api.example\r\n\r\n"),
    "other-placeholder": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\nX-Key: " + PH_OTHER + b"\r\n\r\n"),
    "host-mismatch": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
    "websocket": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
                 + up(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi")
                 + sb(b"\x81\x82abcdXY") + UP_EOF + SB_EOF,
    "pipelined": b"\x00" + sb(b"GET /ok1 HTTP/1.1\r\nHost: api.example\r\n\r\nHEAD /ok2 HTTP/1.1\r\nHost: api.example\r\n\r\n")
                 + up(OK) + up(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n") + SB_EOF,
    "upstream-cut": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nabc") + UP_EOF,
    "until-eof": b"\x00" + sb(b"GET /ok HTTP/1.0\r\nHost: api.example\r\n\r\n") + up(b"HTTP/1.0 200 OK\r\n\r\nbody without length") + UP_EOF,
    "h2c": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n") + up(OK),
    "h2-preface": b"\x00" + sb(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    "basic-other": b"\x01" + sb(b"GET / HTTP/1.1\r\nHost: other.example\r\nAuthorization: Basic " + PH_OTHER + b"\r\n\r\n") + up(OK),
    "expect-continue": b"\x00" + sb(b"POST /up HTTP/1.1\r\nHost: api.example\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
                       + up(b"HTTP/1.1 100 Continue\r\n\r\n") + sb(b"data") + up(OK),
    # issue 13: bodyless responses end their exchange; the next request is served
    "cl0-then-next": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                     + sb(b"GET /ok2 HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(OK) + SB_EOF,
    "204-then-next": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(b"HTTP/1.1 204 No Content\r\n\r\n")
                     + sb(b"GET /ok2 HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(OK) + SB_EOF,
    "304-then-next": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\nIf-None-Match: x\r\n\r\n") + up(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n")
                     + sb(b"GET /ok2 HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(OK) + SB_EOF,
    "head-then-next": b"\x00" + sb(b"HEAD /ok HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                      + sb(b"GET /ok2 HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(OK) + SB_EOF,
    "1xx-then-204": b"\x00" + sb(b"POST /up HTTP/1.1\r\nHost: api.example\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
                    + up(b"HTTP/1.1 100 Continue\r\n\r\n") + sb(b"hi") + up(b"HTTP/1.1 204 No Content\r\n\r\n")
                    + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(OK) + SB_EOF,
    # per-request rules, method overrides, placeholders outside the credential header
    "deny-rule-per-request": b"\x00" + sb(b"GET /ok/private/x HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(OK)
                             + sb(b"DELETE /ok/private/x HTTP/1.1\r\nHost: api.example\r\n\r\n"),
    "dot-segment-deny": b"\x00" + sb(b"POST /ok/x/../private HTTP/1.1\r\nHost: api.example\r\nContent-Length: 0\r\n\r\n"),
    "method-override": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\nX-HTTP-Method-Override: get\r\n\r\n") + up(OK)
                       + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\nX-HTTP-Method: DELETE\r\n\r\n"),
    "override-bad": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\nX-Method-Override: GET, POST\r\n\r\n"),
    "placeholder-in-origin": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\nOrigin: http://" + PH + b"\r\n\r\n"),
    "placeholder-in-query": b"\x00" + sb(b"GET /ok?t=" + PH + b" HTTP/1.1\r\nHost: api.example\r\n\r\n"),
    "host-port-mismatch": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example:8080\r\n\r\n"),
    # scrubbing: the secret reflected in a header, a length body, a chunked body cut mid-secret
    "scrub-header-and-body": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\n\r\n")
                             + up(b"HTTP/1.1 200 OK\r\nX-Echo: Bearer fuzz-secret-value\r\nContent-Length: 31\r\n\r\nauth=Bearer fuzz-sec")
                             + up(b"ret-value") + up(b"!!") + SB_EOF,
    "scrub-chunked-split": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\n\r\n")
                           + up(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfuzz\r\n")
                           + up(b"3;x=y\r\n-se\r\n") + up(b"a\r\ncret-value\r\n0\r\n\r\n")
                           + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(OK) + SB_EOF,
    "scrub-until-close": b"\x00" + sb(b"GET /ok HTTP/1.0\r\nHost: api.example\r\n\r\n")
                         + up(b"HTTP/1.0 200 OK\r\n\r\nxx fuzz-secret-val") + up(b"ue fuzz-sec") + UP_EOF,
    "scrub-basic-b64": b"\x01" + sb(b"GET / HTTP/1.1\r\nHost: other.example\r\n\r\n")
                       + up(b"HTTP/1.1 200 OK\r\nContent-Length: 28\r\n\r\ncm9ib3Q6b3RoZXItc2VjcmV0") + up(b"....") + SB_EOF,
    "scrub-gzip-not-touched": b"\x00" + sb(b"GET /ok HTTP/1.1\r\nHost: api.example\r\n\r\n")
                              + up(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 17\r\n\r\nfuzz-secret-value") + SB_EOF,
    "trickle": b"\x00" + b"".join(sb(bytes([c])) for c in b"GET /ok HTTP/1.1\r\nHost: api.example\r\n\r\n") + up(OK),
}


def runs(*parts):
    """Scrub mode: (payload?, bytes) runs; the last one ends the body."""
    out = b"\x80"
    for i, (pay, b) in enumerate(parts):
        flag = (1 if pay else 0) | (2 if i == len(parts) - 1 else 0)
        out += bytes([flag, len(b)]) + b
    return out


SEEDS.update({
    "scrub-mode-split": runs((1, b"abc fuzz-sec"), (0, b"\r\n5\r\n"), (1, b"ret-v"), (0, b"\r\n4;x\r\n"), (1, b"alue tail")),
    "scrub-mode-b64": runs((1, b"cm9ib3Q6b3Ro"), (1, b"ZXItc2VjcmV0"), (1, b"fuzz-secret-valu"), (1, b"e")),
    "scrub-mode-partial": runs((1, b"fuzz-secret-valuX fuzz-"), (0, b"\r\n"), (1, b"secret")),
})


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
