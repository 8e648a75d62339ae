# SPDX-License-Identifier: MIT
"""
bench/tls_world.py - the TLS side of `make bench` (imported by bench/run.py).

At start, in a temporary directory: a benchmark CA and an ECDSA P-256 leaf
for bench.example (and IP 127.0.0.1), made with openssl; an nginx upstream
on 127.0.0.1 serving /big (a sparse file of zeros, BIG bytes) and /tiny
(16 bytes), keep-alive, TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256 only (so every
hop, the proxies' upstream legs included, uses that suite); a second nginx
as a TLS-terminating reverse proxy in front of it (proxy_pass https://,
verified, upstream keep-alive); mitmdump as a regular HTTPS proxy verifying
the upstream against the bench CA; two islo-net gateway profiles
(tls: intercept, and the same with an auth_strategy bearer from
env:BENCH_TOKEN).  Both nginx run in the foreground, one process each
(`daemon off; master_process off;`), listening on 127.0.0.1 only.

Falls back to a python3 ssl server for the upstream when nginx is missing
(then the nginx reverse-proxy mode is skipped).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
CIPHER = "ECDHE-ECDSA-AES128-GCM-SHA256"
# the clients' list: the same suite with an RSA key for mitmproxy (its leaves are RSA)
CLIENT_CIPHERS = CIPHER + ":ECDHE-RSA-AES128-GCM-SHA256"
TINY = b"0123456789abcdef"

# a tiny python3 upstream, used only when nginx is not installed
PY_UPSTREAM = r'''
import http.server, socketserver, ssl, sys
port, cert, key, big = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        n = big if self.path == "/big" else 16
        self.send_response(200); self.send_header("Content-Length", str(n)); self.end_headers()
        if self.path != "/big":
            self.wfile.write(b"0123456789abcdef"); return
        chunk = bytes(1 << 20)
        while n > 0:
            k = min(n, len(chunk)); self.wfile.write(chunk[:k]); n -= k
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True; request_queue_size = 4096
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
ctx.load_cert_chain(cert, key)
s = S(("127.0.0.1", port), H)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
'''


def which(tool):
    return shutil.which(tool) or (os.path.exists("/usr/sbin/" + tool) and "/usr/sbin/" + tool)


def sh(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()[-300:]))


def build_client(out):
    """Compile bench/tls_client.c (OpenSSL) into out; None or an error."""
    src = os.path.join(HERE, "tls_client.c")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return None
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", out, src, "-lssl", "-lcrypto"],
                       capture_output=True, text=True)
    if r.returncode:
        return "cannot build %s (libssl-dev?): %s" % (out, r.stderr.strip()[-200:])
    return None


class TlsWorld:
    def __init__(self, ports, big_bytes, log):
        self.up_port, self.proxy_port, self.mitm_port = ports
        self.big = big_bytes
        self.log = log
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix="islo-bench-tls-")
        os.chmod(self.dir, 0o755)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.nginx_error = None     # why the nginx reverse proxy is not there
        self.mitm_error = None
        self.mitm_ca = None
        self.upstream = None        # "nginx" or "python3"

    # -- certificates -------------------------------------------------------
    def make_certs(self):
        d = self.dir
        ext = os.path.join(d, "leaf.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                    "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:bench.example,IP:127.0.0.1\n")
        sh(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], d)
        sh(["openssl", "req", "-x509", "-new", "-key", "ca.key", "-days", "2", "-subj",
            "/CN=islo-net bench CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.pem"], d)
        sh(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "leaf.key"], d)
        sh(["openssl", "req", "-new", "-key", "leaf.key", "-subj", "/CN=bench.example",
            "-out", "leaf.csr"], d)
        sh(["openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", "leaf.pem"], d)
        for f in ("ca.key", "leaf.key"):
            os.chmod(os.path.join(d, f), 0o600)

    # -- servers ------------------------------------------------------------
    def nginx_conf(self, name, server_block):
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon off;
master_process off;
worker_rlimit_nofile 65536;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log error;
events { worker_connections 30000; }
http {
    access_log off;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    keepalive_timeout 600s;
    keepalive_requests 1000000;
    client_header_timeout 600s;
    ssl_protocols TLSv1.2;
    ssl_ciphers %(cipher)s;
    # session IDs resumable (nginx's default only offers tickets, which
    # BearSSL's client does not speak): what most public servers do
    ssl_session_cache shared:bench:10m;
    ssl_certificate %(top)s/leaf.pem;
    ssl_certificate_key %(top)s/leaf.key;
    default_type application/octet-stream;
%(server)s
}
""" % {"d": d, "top": self.dir, "cipher": CIPHER, "server": server_block})
        return d, conf

    def start_nginx(self, name, server_block, port):
        d, conf = self.nginx_conf(name, server_block)
        p = subprocess.Popen([which("nginx"), "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(p)
        if not wait_port(port):
            err = ""
            try:
                with open(os.path.join(d, "error.log")) as f:
                    err = f.read().strip()[-200:]
            except OSError:
                pass
            raise RuntimeError("nginx (%s) did not start: %s" % (name, err))
        return p

    def start(self, want_mitm):
        self.make_certs()
        www = os.path.join(self.dir, "www")
        os.makedirs(www)
        with open(os.path.join(www, "big"), "wb") as f:
            f.truncate(self.big)            # sparse: zeros, from the page cache
        with open(os.path.join(www, "tiny"), "wb") as f:
            f.write(TINY)
        if which("nginx"):
            self.upstream = "nginx"
            self.start_nginx("upstream", """
    server {
        listen 127.0.0.1:%d ssl http2;
        server_name bench.example;
        root %s;
        sendfile off;
        output_buffers 2 256k;
        location / { }
    }""" % (self.up_port, www), self.up_port)
            self.start_nginx("proxy", """
    upstream up {
        server 127.0.0.1:%d;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:%d ssl http2;
        server_name bench.example;
        location / {
            proxy_pass https://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host bench.example;
            proxy_ssl_server_name on;
            proxy_ssl_name bench.example;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate %s;
            proxy_ssl_session_reuse on;
            proxy_buffering off;
        }
    }""" % (self.up_port, self.proxy_port, self.ca), self.proxy_port)
        else:
            self.upstream = "python3"
            self.nginx_error = "nginx not installed (Debian package nginx)"
            self.procs.append(subprocess.Popen(
                [sys.executable, "-c", PY_UPSTREAM, str(self.up_port),
                 os.path.join(self.dir, "leaf.pem"), os.path.join(self.dir, "leaf.key"),
                 str(self.big)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            if not wait_port(self.up_port):
                raise RuntimeError("the python3 TLS upstream did not start")
        if want_mitm:
            self.start_mitm()
        self.write_profiles()

    def start_mitm(self):
        mitm = which("mitmdump")
        if not mitm:
            self.mitm_error = "mitmdump not installed (Debian package mitmproxy)"
            return
        # its CA: ~/.mitmproxy of the user it runs as (made on first start)
        self.mitm_ca = os.path.join(os.path.expanduser("~"), ".mitmproxy",
                                    "mitmproxy-ca-cert.pem")
        p = subprocess.Popen(
            [mitm, "-q", "--listen-host", "127.0.0.1", "-p", str(self.mitm_port),
             "--set", "ssl_verify_upstream_trusted_ca=" + self.ca,
             "--set", "stream_large_bodies=1m", "--set", "http2=false"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(p)
        if not wait_port(self.mitm_port, timeout=30) or not os.path.exists(self.mitm_ca):
            self.mitm_error = "mitmdump did not start"
        self.mitm_version = version([mitm, "--version"])

    def write_profiles(self):
        base = ("name: %s\ndescription: make bench - TLS interception of the benchmark's "
                "upstream\ndefault_action: deny\ninternet_enabled: false\nrules:\n"
                "  - name: bench-tls\n    host_pattern: bench.example\n"
                "    ports: [\"15200-15299\"]\n    allow_private: true\n")
        self.profile_intercept = os.path.join(self.dir, "bench-tls.yaml")
        with open(self.profile_intercept, "w") as f:
            f.write(base % "bench-tls" + "    tls: intercept\n")
        self.profile_inject = os.path.join(self.dir, "bench-inject.yaml")
        with open(self.profile_inject, "w") as f:
            f.write(base % "bench-inject" + "    auth_strategy:\n      mode: bearer\n"
                    "      secret: env:BENCH_TOKEN\n")
        for p in (self.profile_intercept, self.profile_inject):
            os.chmod(p, 0o600)
        self.ca_dir = os.path.join(self.dir, "islo-ca")     # fresh --ca-dir

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_port(port, timeout=10.0):
    hexport = ":%04X" % port
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open("/proc/net/tcp") as f:
            for line in f.read().splitlines()[1:]:
                fl = line.split()
                if fl[1].endswith(hexport) and fl[3] == "0A":
                    return True
        time.sleep(0.05)
    return False


def version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


def pss_kib(pid):
    """The process's PSS in KiB, from /proc/PID/smaps_rollup."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None
