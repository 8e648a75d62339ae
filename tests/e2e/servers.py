# SPDX-License-Identifier: MIT
"""Upstream test servers.  Run as a script to serve HTTP on ADDR PORT (the
e2e world starts one this way inside its upstream network namespace)."""
import http.server
import socket
import sys


# Requests to /record are kept here (in the test process, where the
# servers run as threads) instead of being echoed back: the sandbox must
# never see a secret, and an echo would show it one.
RECORDED = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/smart/"):
            return self.git_smart()
        if self.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            import base64
            import hashlib
            key = self.headers.get("Sec-WebSocket-Key", "")
            acc = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", acc)
            self.end_headers()
            self.wfile.flush()
            # after the upgrade: echo raw bytes back, upper-cased, until EOF
            while True:
                b = self.rfile.read1(65536)
                if not b:
                    break
                self.wfile.write(b.upper())
                self.wfile.flush()
            self.close_connection = True
            return
        if self.path.startswith("/git/"):
            import os
            root = os.environ.get("ISLO_GIT_ROOT", "")
            rel = self.path[len("/git/"):].split("?")[0]
            full = os.path.realpath(os.path.join(root, rel))
            if not root or not full.startswith(os.path.realpath(root)) or not os.path.isfile(full):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = open(full, "rb").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if self.path.startswith("/record"):
            RECORDED.append({"method": self.command, "path": self.path,
                             "headers": [[k, v] for k, v in self.headers.items()]})
            body = b"recorded\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/headers"):
            # echoed back (an upstream that reflects the request, as
            # httpbin does), and recorded, so tests can compare what
            # upstream got with what the sandbox was shown
            import json
            hdrs = [[k, v] for k, v in self.headers.items()]
            RECORDED.append({"method": self.command, "path": self.path,
                             "headers": hdrs})
            body = (json.dumps({"method": self.command, "path": self.path,
                                "headers": hdrs}) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/reflect"):
            # reflects request headers into response headers (CORS-style
            # Access-Control-Allow-Origin, a request id, the credential)
            # and, with ?chunked, echoes them in a chunked body cut into
            # small pieces, so a secret straddles chunk and read boundaries
            import json
            body = (json.dumps([[k, v] for k, v in self.headers.items()]) + "\n").encode()
            self.send_response(200)
            for k in ("Origin", "X-Request-Id", "Authorization", "X-Api-Key"):
                if self.headers.get(k):
                    self.send_header("X-Echo-" + k, self.headers[k])
            if self.headers.get("Origin"):
                self.send_header("Access-Control-Allow-Origin", self.headers["Origin"])
            if "urlenc" in self.path:
                # as a redirect to a login page would: percent-encoded
                import urllib.parse
                q = urllib.parse.quote(self.headers.get("Authorization", ""), safe="")
                self.send_header("X-Echo-Location", "/login?next=%2F&auth=" + q)
                body = body + ("next=/&auth=" + q + "\n").encode()
            if "chunked" in self.path:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                import time
                for i in range(0, len(body), 7):
                    piece = body[i:i + 7]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                    time.sleep(0.002)
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/empty"):
            # Content-Length: 0, or 204 / 304 with ?status=
            status = 200
            if "status=" in self.path:
                status = int(self.path.split("status=")[1][:3])
            self.send_response(status)
            if status not in (204, 304):
                self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/zeros/"):
            n = int(self.path.split("/")[2])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"\0" * (1 << 20)
            while n > 0:
                self.wfile.write(chunk[:min(n, len(chunk))])
                n -= len(chunk)
            return
        if self.path.startswith("/bytes/"):
            n = int(self.path.split("/")[2])
            body = bytes((i * 7 + 3) & 0xFF for i in range(n))
        else:
            body = ("hello from upstream host=%s path=%s\n" % (
                self.headers.get("Host"), self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def git_smart(self):
        """git's smart HTTP protocol (clone, fetch, push) through
        `git http-backend` as a CGI, under /smart/: a real git push sends
        a probe, then its pack chunked, and gets short answers."""
        import os
        import subprocess
        root = os.environ.get("ISLO_GIT_ROOT", "")
        path, _, query = self.path[len("/smart"):].partition("?")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        env = {"GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1",
               "PATH_INFO": path, "QUERY_STRING": query,
               "REQUEST_METHOD": self.command, "REMOTE_USER": "islo",
               "REMOTE_ADDR": "127.0.0.1",
               "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(body)),
               "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
               "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True).stdout
        sep = out.find(b"\r\n\r\n")
        head, rest = (out[:sep], out[sep + 4:]) if sep >= 0 else out.split(b"\n\n", 1)
        status, hdrs = 200, []
        for line in head.split(b"\n"):
            line = line.strip(b"\r")
            if not line:
                continue
            k, v = line.split(b":", 1)
            if k.lower() == b"status":
                status = int(v.split()[0])
            else:
                hdrs.append((k.decode(), v.strip().decode()))
        self.send_response(status)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)

    def do_DELETE(self):
        self.do_GET()

    def do_HEAD(self):
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()

    def do_POST(self):
        if self.path.startswith("/smart/"):
            return self.git_smart()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            n = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(n)
        import hashlib
        body = ("sha256=%s len=%d\n" % (hashlib.sha256(data).hexdigest(), len(data))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass



class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    addr, port = sys.argv[1], int(sys.argv[2])
    if ":" in addr:
        Server.address_family = socket.AF_INET6
    srv = Server((addr, port), Handler)
    print("ready", flush=True)
    srv.serve_forever()
