# SPDX-License-Identifier: MIT
"""The end-to-end test world.

Everything upstream listens on loopback, started here:
  - an HTTP server and an HTTPS server (certificate from a test CA made
    here) that answer with the Host they were asked for;
  - an IPv6 HTTP server on [::1];
  - dnsmasq on 127.0.0.1 as islo-net's host-side resolver, answering only
    the test names (--no-resolv: it never asks anyone else), with a query log.
islo-net runs real clients (curl, python3) in its sandbox; traffic never
leaves this machine.  Tests that take a `who` parameter run both as the
current user and, when we are root, as the ordinary user `islo-test`.
"""
import http.server
import sys
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ISLO = os.environ.get("ISLO_BIN") or os.path.join(ROOT, "islo-net")
TEST_USER = "islo-test"

# Names the test resolver knows.  All resolve to loopback, so rules that
# allow them need allow_private: true (which is itself under test).
NAMES = {
    "api.example.com": "127.0.0.1",
    "other.example.com": "127.0.0.1",
    "a.wild.example": "127.0.0.1",
    "b.c.wild.example": "127.0.0.1",
    "wild.example": "127.0.0.1",
    "evil.example.net": "127.0.0.1",
    "private.example.com": "127.0.0.1",
    # the database gateway (test_postgres.py): one PostgreSQL on loopback,
    # reached under several names (its certificate names db. and rw. only)
    "db.internal.example": "127.0.0.1",
    "rw.internal.example": "127.0.0.1",
    "mismatch.internal.example": "127.0.0.1",
    "nocheck.internal.example": "127.0.0.1",
    "md5.internal.example": "127.0.0.1",
    "plain.internal.example": "127.0.0.1",
    "badpw.internal.example": "127.0.0.1",
}
V6_NAMES = {"v6only.example.com": "::1"}
# The upstream namespace (root only): a veth to a namespace of our own whose
# addresses are in TEST-NET-2, so they count as public, not private.  A /30
# only: the host must keep its routes to everything else (on these
# machines the package mirrors answer from TEST-NET-3).
# ISLO_TEST_SLOT (0-15) picks another /30, so that several test runs (one per
# git worktree) can share a machine.
_SLOT = int(os.environ.get("ISLO_TEST_SLOT", "0")) % 16
PUB_NET = "198.51.100.%d/30" % (4 * _SLOT)
PUB_HOST, PUB_PEER = "198.51.100.%d" % (4 * _SLOT + 1), "198.51.100.%d" % (4 * _SLOT + 2)
PUB_PREFIX = "/30"
NAMES["pub.example.com"] = PUB_PEER


def free_port(family=socket.AF_INET, addr="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import Handler  # noqa: E402


class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return server


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d):
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=d)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2",
            "-subj", "/CN=islo-net test CA", "-out", "ca.pem", cwd=d)
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "srv.key", cwd=d)
    openssl("req", "-new", "-key", "srv.key", "-subj", "/CN=api.example.com",
            "-out", "srv.csr", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:api.example.com,DNS:other.example.com,"
                "DNS:a.wild.example,DNS:evil.example.net,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "ext.cnf",
            "-out", "srv.pem", cwd=d)


class World:
    def __init__(self, d):
        self.dir = d
        self.http_port = free_port()
        self.https_port = free_port()
        self.http6_port = free_port(socket.AF_INET6, "::1")
        self.other_port = free_port()
        self.dns_port = free_port()
        self.dnslog = os.path.join(d, "dnsmasq.log")
        self.profiles = os.path.join(d, "profiles")
        os.makedirs(self.profiles)
        make_ca(d)
        self.ca = os.path.join(d, "ca.pem")
        self.make_git_repo()
        self.servers = [
            serve(http.server.ThreadingHTTPServer(("127.0.0.1", self.http_port), Handler)),
            serve(V6Server(("::1", self.http6_port), Handler)),
        ]
        https = http.server.ThreadingHTTPServer(("127.0.0.1", self.https_port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "srv.pem"), os.path.join(d, "srv.key"))
        https.socket = ctx.wrap_socket(https.socket, server_side=True)
        self.servers.append(serve(https))
        # a port nothing listens on (upstream refusal)
        self.closed_port = free_port()
        self.start_dns()
        self.netns = None
        if os.getuid() == 0:
            self.start_upstream_ns()

    def start_upstream_ns(self):
        ns = "islo-up-%d" % os.getpid()
        h, n = "iu%dh" % os.getpid(), "iu%dn" % os.getpid()
        cmds = [["ip", "netns", "add", ns],
                ["ip", "link", "add", h, "type", "veth", "peer", "name", n],
                ["ip", "link", "set", n, "netns", ns],
                ["ip", "addr", "add", PUB_HOST + PUB_PREFIX, "dev", h],
                ["ip", "link", "set", h, "up"],
                ["ip", "-n", ns, "addr", "add", PUB_PEER + PUB_PREFIX, "dev", n],
                ["ip", "-n", ns, "link", "set", n, "up"],
                ["ip", "-n", ns, "link", "set", "lo", "up"]]
        for c in cmds:
            subprocess.run(c, check=True)
        self.netns = ns
        self.pub_port = free_port()
        here = os.path.dirname(os.path.abspath(__file__))
        self.pub = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3",
                                     os.path.join(here, "servers.py"), PUB_PEER,
                                     str(self.pub_port)],
                                    stdout=subprocess.PIPE, text=True)
        assert self.pub.stdout.readline().strip() == "ready"

    def make_git_repo(self):
        """A bare repository served as git's "dumb" HTTP protocol (static
        files) by the test servers under /git/repo.git/."""
        root = os.path.join(self.dir, "git")
        work = os.path.join(root, "work")
        os.makedirs(work)
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t", HOME=root)
        def git(*a, cwd=work):
            subprocess.run(["git", *a], cwd=cwd, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        git("init", "-q", "-b", "main")
        with open(os.path.join(work, "README"), "w") as f:
            f.write("cloned through islo-net\n")
        git("add", "README")
        git("commit", "-q", "-m", "first")
        git("clone", "-q", "--bare", work, os.path.join(root, "repo.git"), cwd=root)
        git("update-server-info", cwd=os.path.join(root, "repo.git"))
        os.environ["ISLO_GIT_ROOT"] = root

    def start_dns(self):
        args = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                "--no-poll", "--bind-interfaces", "--listen-address=127.0.0.1",
                "--port=%d" % self.dns_port, "--log-queries",
                "--log-facility=" + self.dnslog, "--pid-file=",
                "--cache-size=0", "--conf-file=/dev/null"]
        if os.getuid() == 0:
            args.append("--user=root")
        # authoritative for the wildcard tests' domain: a name it does not
        # know there is NXDOMAIN (elsewhere dnsmasq answers REFUSED)
        args.append("--local=/wild.example/")
        # a name that exists with no address (NODATA, not NXDOMAIN)
        args.append("--txt-record=noaddr.wild.example,islo-net test")
        for n, a in NAMES.items():
            args.append("--host-record=%s,%s" % (n, a))
        for n, a in V6_NAMES.items():
            args.append("--host-record=%s,%s" % (n, a))
        self.dns = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.dnslog) and "started" in open(self.dnslog).read():
                return
            if self.dns.poll() is not None:
                raise RuntimeError("dnsmasq failed: %s" % self.dns.stderr.read())
            time.sleep(0.05)
        raise RuntimeError("dnsmasq did not start")

    def dns_queries(self):
        with open(self.dnslog) as f:
            return f.read()

    def close(self):
        for s in self.servers:
            s.shutdown()
        self.dns.terminate()
        self.dns.wait()
        if self.netns:
            self.pub.terminate()
            self.pub.wait()
            subprocess.run(["ip", "netns", "del", self.netns])

    def profile(self, name, text):
        """Write profiles/NAME.yaml; {http}, {https}, {http6} are ports."""
        path = os.path.join(self.profiles, name + ".yaml")
        with open(path, "w") as f:
            f.write(text.format(http=self.http_port, https=self.https_port,
                                http6=self.http6_port, other=self.other_port,
                                closed=self.closed_port,
                                pub_net=PUB_NET, pub_peer=PUB_PEER,
                                pub=getattr(self, "pub_port", 1)))
        os.chmod(path, 0o644)
        return path


def have_test_user():
    try:
        pwd.getpwnam(TEST_USER)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="session")
def world():
    d = tempfile.mkdtemp(prefix="islo-e2e-")
    os.chmod(d, 0o755)
    w = World(d)
    yield w
    w.close()
    shutil.rmtree(d, ignore_errors=True)


WHO = ["self"]
if os.getuid() == 0:
    WHO.append("user")


@pytest.fixture(params=WHO)
def who(request):
    if request.param == "user" and not have_test_user():
        pytest.fail("user %s is missing (scripts/run-tests.sh creates it)" % TEST_USER)
    return request.param


class Result:
    def __init__(self, p, audit):
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr
        self.audit = audit

    def __repr__(self):
        return "rc=%d\nstdout=%s\nstderr=%s\naudit=%s" % (self.rc, self.out, self.err, self.audit)


@pytest.fixture
def scratch():
    """A directory every test user can use (pytest's tmp_path is 0700)."""
    d = tempfile.mkdtemp(prefix="islo-t-")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def islo(world, who, scratch):
    """islo(cmd, profile=None, extra=[], cwd=None) -> Result, run as `who`."""
    import pathlib
    tmp_path = pathlib.Path(scratch)

    def run(cmd, profile=None, extra=(), cwd=None, timeout=60, dns=True, env=None):
        audit = os.path.join(tmp_path, "audit.log")
        if os.path.exists(audit):
            os.unlink(audit)
        args = [ISLO, "run", "--profiles-dir", world.profiles,
                "--audit-log", audit]
        if dns:
            args += ["--dns-upstream", "127.0.0.1:%d" % world.dns_port]
        if profile:
            args += ["--gateway-profile", profile]
        args += list(extra) + ["--"] + list(cmd)
        e = dict(os.environ)
        e.pop("ISLO_PROFILES_PATH", None)
        e["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
        e["XDG_STATE_HOME"] = str(tmp_path / "state")
        if env:
            e.update(env)
        if who == "user":
            args = ["runuser", "-u", TEST_USER, "--", "env",
                    "XDG_CONFIG_HOME=" + e["XDG_CONFIG_HOME"],
                    "XDG_STATE_HOME=" + e["XDG_STATE_HOME"]] + args
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                           cwd=cwd or str(tmp_path), env=e)
        text = ""
        if os.path.exists(audit):
            with open(audit) as f:
                text = f.read()
        return Result(p, text)

    def cli(args, cwd=None, timeout=60):
        """islo-net ARGS (not run) as `who`, with the same state and config."""
        e = dict(os.environ)
        e["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
        e["XDG_STATE_HOME"] = str(tmp_path / "state")
        a = [ISLO] + list(args)
        if who == "user":
            a = ["runuser", "-u", TEST_USER, "--", "env",
                 "XDG_CONFIG_HOME=" + e["XDG_CONFIG_HOME"],
                 "XDG_STATE_HOME=" + e["XDG_STATE_HOME"]] + a
        return subprocess.run(a, capture_output=True, text=True, timeout=timeout,
                              cwd=cwd or str(tmp_path), env=e)

    def trust(*paths, cwd=None):
        p = cli(["trust"] + list(paths), cwd=cwd)
        assert p.returncode == 0, p
        return p

    run.who = who
    run.tmp = tmp_path
    run.cli = cli
    run.trust = trust
    return run


def audit_events(text):
    import json
    return [json.loads(l) for l in text.splitlines() if l.strip()]
