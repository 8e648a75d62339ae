# SPDX-License-Identifier: MIT
"""An HTTP/2-only TLS server for the tests (python3-h2): ALPN offers h2
alone, so a client that cannot speak HTTP/2 fails its handshake.

Paths:
  /headers...   200, JSON of the request's fields (the echo tests read)
  /upload...    200, JSON of the body's length and sha256
  /reflect...   200, the request's authorization in a field, in the body
                and in a trailer (what a careless service does)
  /grpc...      200 application/grpc, a body, trailers grpc-status: 0 and
                grpc-message with the authorization (gRPC's shape)
  /bytes/N      200, N bytes
  /stream/N     200, N chunks of 1000 bytes, one every 10 ms
  anything else 404
Each request is recorded in RECORDED with its connection's number."""
import json
import socket
import ssl
import threading
import time

import h2.config
import h2.connection
import h2.events

RECORDED = []
_conn_no = [0]
_lock = threading.Lock()


def _answer(conn, sid, hdrs, body, trailers=None, chunks=None):
    conn.send_headers(sid, hdrs, end_stream=False)
    return [(body, trailers, chunks)]


class _Conn:
    def __init__(self, sock, no):
        self.sock = sock
        self.no = no
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                      validate_inbound_headers=False))
        self.reqs = {}
        self.pending = {}       # sid -> [bytes left, trailers]

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def respond(self, sid):
        hdrs, body = self.reqs.pop(sid)
        h = dict(hdrs)
        path = h.get(":path", "")
        auth = h.get("authorization", "")
        with _lock:
            RECORDED.append({"conn": self.no, "path": path, "headers": hdrs,
                             "body": body.decode("latin-1")})
        trailers = None
        if path.startswith("/headers"):
            out = json.dumps({"headers": hdrs, "body": body.decode("latin-1")}).encode() + b"\n"
            rh = [(":status", "200"), ("content-type", "application/json")]
        elif path.startswith("/upload"):
            import hashlib
            out = json.dumps({"len": len(body),
                              "sha256": hashlib.sha256(body).hexdigest()}).encode()
            rh = [(":status", "200"), ("content-type", "application/json")]
        elif path.startswith("/reflect"):
            out = ("you sent: %s\n" % auth).encode()
            rh = [(":status", "200"), ("x-echo", auth),
                  ("content-type", "text/plain")]
            trailers = [("x-trailer-echo", auth)]
        elif path.startswith("/grpc"):
            out = b"\x00\x00\x00\x00\x05hello"
            rh = [(":status", "200"), ("content-type", "application/grpc")]
            trailers = [("grpc-status", "0"), ("grpc-message", "ok " + auth)]
        elif path.startswith("/bytes/"):
            out = b"x" * int(path.split("/")[2])
            rh = [(":status", "200"), ("content-length", str(len(out)))]
        elif path.startswith("/stream/"):
            n = int(path.split("/")[2])
            rh = [(":status", "200")]
            self.h2.send_headers(sid, rh)
            self.flush()
            for _ in range(n):
                self.pending[sid] = [b"y" * 1000, None]
                self.send_pending(sid, end=False)
                time.sleep(0.01)
            self.pending[sid] = [b"", None]
            self.send_pending(sid)
            return
        else:
            out = b"not found\n"
            rh = [(":status", "404")]
        self.h2.send_headers(sid, rh)
        self.pending[sid] = [out, trailers]
        self.send_pending(sid)

    def send_pending(self, sid, end=True):
        p = self.pending.get(sid)
        if not p:
            return
        while p[0]:
            w = min(self.h2.local_flow_control_window(sid),
                    self.h2.max_outbound_frame_size)
            if w <= 0:
                self.flush()
                return
            self.h2.send_data(sid, p[0][:w])
            p[0] = p[0][w:]
        if end:
            if p[1]:
                self.h2.send_headers(sid, p[1], end_stream=True)
            else:
                self.h2.end_stream(sid)
            del self.pending[sid]
        self.flush()

    def run(self):
        self.h2.initiate_connection()
        self.flush()
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                events = self.h2.receive_data(data)
            except Exception:
                return
            for ev in events:
                if isinstance(ev, h2.events.RequestReceived):
                    self.reqs[ev.stream_id] = (list(ev.headers), b"")
                    if ev.stream_ended:
                        self.respond(ev.stream_id)
                elif isinstance(ev, h2.events.DataReceived):
                    hd, b = self.reqs.get(ev.stream_id, ([], b""))
                    self.reqs[ev.stream_id] = (hd, b + ev.data)
                    self.h2.acknowledge_received_data(ev.flow_controlled_length,
                                                      ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    if ev.stream_id in self.reqs:
                        self.respond(ev.stream_id)
                elif isinstance(ev, h2.events.WindowUpdated):
                    for sid in list(self.pending):
                        self.send_pending(sid)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    self.flush()
                    return
            self.flush()


class H2Server:
    """An HTTP/2 TLS server on 127.0.0.1 in a thread: .port, .close()."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.set_alpn_protocols(["h2"])
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(s,), daemon=True).start()

    def serve(self, s):
        try:
            t = self.ctx.wrap_socket(s, server_side=True)
        except (ssl.SSLError, OSError):
            s.close()
            return
        if t.selected_alpn_protocol() != "h2":
            t.close()
            return
        with _lock:
            _conn_no[0] += 1
            no = _conn_no[0]
        try:
            _Conn(t, no).run()
        finally:
            t.close()

    def close(self):
        self.ls.close()
