#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write seed inputs for fuzz_h2 (python3-h2 makes the frames): a host
selector byte, then operations (0 sandbox bytes, 1 upstream bytes, 2
sandbox EOF, 3 upstream EOF; bytes behind a 2-byte big-endian length).
Run from the repository root."""
import os
import struct

import h2.config
import h2.connection

OUT = "fuzz/corpus/fuzz_h2"
PH = "islo_ph_" + "0" * 32


def sb(b):
    return b"\x00" + struct.pack("!H", len(b)) + b


def up(b):
    return b"\x01" + struct.pack("!H", len(b)) + b


def client():
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    return c


def server():
    s = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    s.initiate_connection()
    return s


def req(path, method="GET", extra=()):
    return [(":method", method), (":scheme", "https"), (":authority", "api.example"),
            (":path", path), ("authorization", "Bearer " + PH)] + list(extra)


def exchange(paths, body=b"", reflect=False, trailers=False):
    c, s = client(), server()
    out = b"\x00"
    for i, p in enumerate(paths):
        c.send_headers(1 + 2 * i, req(p, "POST" if body else "GET"), end_stream=not body)
        if body:
            c.send_data(1 + 2 * i, body, end_stream=True)
    out += sb(c.data_to_send())
    # upstream: its preface, then an answer on each stream it will see
    # (a twin client opens them in the server's state machine)
    twin = client()
    for i, p in enumerate(paths):
        twin.send_headers(1 + 2 * i, req(p), end_stream=True)
    s.receive_data(twin.data_to_send())
    srv = s.data_to_send()
    for i in range(len(paths)):
        sid = 1 + 2 * i
        hd = [(":status", "200")]
        if reflect:
            hd.append(("x-echo", "Bearer fuzz-secret-value"))
        s.send_headers(sid, hd)
        s.send_data(sid, b"hello fuzz-secret-value" if reflect else b"hello")
        if trailers:
            s.send_headers(sid, [("grpc-status", "0")], end_stream=True)
        else:
            s.end_stream(sid)
    srv += s.data_to_send()
    return out + up(srv) + b"\x02"


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "get": exchange(["/ok"]),
        "three": exchange(["/ok", "/ok2", "/nope"]),
        "post": exchange(["/up"], body=b"x" * 100),
        "reflect": exchange(["/ok"], reflect=True, trailers=True),
        "denied": exchange(["/nope"]),
    }
    c = client()
    c.send_headers(1, req("/ok"))
    c.reset_stream(1)
    seeds["reset"] = b"\x00" + sb(c.data_to_send())
    for n, b in seeds.items():
        with open(os.path.join(OUT, n), "wb") as f:
            f.write(b)


if __name__ == "__main__":
    main()
