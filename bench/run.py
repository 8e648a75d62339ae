#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
bench/run.py - `make bench`: islo-net side by side with the kernel (veth),
libslirp (islo-net without a gateway), pasta and slirp4netns.

Theory of operation
-------------------
Servers run on the host's loopback (iperf3, bench/tcp_rr's echo server, and
a dnsmasq that answers bench.example with 127.0.0.1 for islo-net's gateway).
Each measurement starts a fresh sandbox of one mode with the client inside
it; the client reaches the loopback servers through that mode's datapath:

  veth          two namespaces this script makes, joined by a veth pair
                (MTU 65520); the servers get their own copies inside the
                server namespace.  Root only.  The kernel: the limit.
  islo-gw       islo-net run --gateway-profile bench/profiles/bench.yaml:
                lwIP + the policy, one allow rule, passthrough; the client
                connects to bench.example (a synthetic address).
  islo-gw-1500  the same with --mtu 1500 (throughput only): TCP crosses the
                TAP as 64 KiB segmentation offloads both ways.
  islo-gw-1500-notso  the same with ISLO_NO_TSO=1: segments of the MTU.
  islo-nat      islo-net run with no profile: the gateway's datapath as an
                unrestricted NAT (nat.c), to 10.0.2.2.
  islo-slirp    islo-net run --nat slirp with no profile: libslirp, to
                10.0.2.2.
  pasta         pasta --config-net, to the host's default gateway address,
                which pasta maps to the host's loopback (its default
                --map-gw behaviour); -o 127.0.0.1 binds every outbound
                socket to loopback, so nothing can leave the host even if
                the mapping did not apply.  Run as `nobody` (pasta refuses to
                create its user namespace as root).
  slirp4netns   unshare -rn + slirp4netns --configure --mtu=65520, to
                10.0.2.2 (the host's loopback, host loopback not disabled).

TLS modes (bench/tls_world.py makes the CA, the nginx upstream, the nginx
reverse proxy and mitmdump): tls-direct, islo-tls (tls: intercept),
islo-tls-inject (auth_strategy bearer), islo-tls-noreuse (islo-tls with
upstream connection reuse off: ISLO_NO_REUSE=1, a bench knob; new-connection
rows only), mitmproxy, nginx-proxy; their
figures come from curl and bench/tls_client.c, and the memory figures
read islo-net's PSS around 1,000/10,000 idle TLS connections.

Rounds are interleaved: in each round, each figure is measured once per
mode, the mode order rotating from round to round; the table shows the
median of the rounds with their min-max.  Traffic goes only to 127.0.0.1
and to the namespaces this script makes.

--base BIN (make bench BASE=<git revision>) compares two islo-net
binaries in one run: each islo-net mode runs again as MODE@base with BIN,
in the same interleaved rounds, and a second table gives both medians and
their ratio.  Without --modes it runs the islo-net modes only.

Python standard library only; the optional chart uses matplotlib, from
/usr/bin/python3 if this interpreter lacks it.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

import tls_world

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PORT_LO, PORT_HI = 15200, 15299     # must match bench/profiles/bench.yaml
VETH_SRV, VETH_CLI = "10.253.0.1", "10.253.0.2"
NOBODY = 65534
CLK_TCK = os.sysconf("SC_CLK_TCK")

MODES = ["veth", "islo-gw", "islo-gw-1500", "islo-gw-1500-notso", "islo-nat",
         "islo-slirp", "pasta",
         "slirp4netns",
         "tls-direct", "islo-tls", "islo-tls-noreuse", "islo-tls-inject", "mitmproxy",
         "nginx-proxy"]
TLS_MODES = ["tls-direct", "islo-tls", "islo-tls-noreuse", "islo-tls-inject", "mitmproxy",
             "nginx-proxy"]
# islo-tls with upstream connection reuse off (ISLO_NO_REUSE): only the
# new-connection rows, where reuse is what differs
CPS_ONLY_MODES = ["islo-tls-noreuse"]
HOST_MODES = ["tls-direct", "mitmproxy", "nginx-proxy"]     # the client runs on the host
MODE_LABEL = {
    "veth": "veth (kernel)",
    "islo-gw": "islo-net gateway",
    "islo-gw-1500": "islo-net gateway MTU 1500",
    "islo-gw-1500-notso": "islo-net gateway MTU 1500, no segmentation offload",
    "islo-nat": "islo-net no profile (gateway NAT)",
    "islo-slirp": "islo-net no profile, --nat slirp (libslirp)",
    "pasta": "pasta",
    "slirp4netns": "slirp4netns --mtu=65520",
    "tls-direct": "direct TLS (host -> nginx)",
    "islo-tls": "islo-net TLS interception",
    "islo-tls-noreuse": "islo-net TLS interception, no upstream reuse",
    "islo-tls-inject": "islo-net interception + bearer injection",
    "mitmproxy": "mitmproxy (regular proxy)",
    "nginx-proxy": "nginx TLS-terminating proxy",
}
# figure key -> (label, unit, higher_is_better)
FIGURES = {
    "tcp_up": ("TCP bulk, sandbox -> host", "Gbit/s", True),
    "tcp_down": ("TCP bulk, host -> sandbox (-R)", "Gbit/s", True),
    "cpu_up": ("stack CPU per GB, sandbox -> host", "CPU s/GB", False),
    "cpu_down": ("stack CPU per GB, host -> sandbox", "CPU s/GB", False),
    "rr_p50": ("1-byte request/response p50", "us", False),
    "rr_p99": ("1-byte request/response p99", "us", False),
    "rr_idle_p50": ("1-byte request/response p50 with 6,000 idle connections open", "us",
                    False),
    "rr_idle_ratio": ("that p50 / the p50 with none (same sandbox; issue target <= 1.1)",
                      "x", False),
    "serve_idle_p50": ("serve: a sandbox's rr p50 beside 200 sandboxes of idle connections "
                       "(500 each, or what the descriptor limit allows)", "us", False),
    "serve_idle_ratio": ("that p50 / the p50 beside idle sandboxes with no connection "
                         "(issue target <= 1.2)", "x", False),
    "crr": ("connect + 1 byte each way + close", "conn/s", True),
    "crr_cpu": ("stack CPU per connection (1e6/this = conn/s per core)", "us", False),
    "crr_par": ("connect + 1 byte each way + close, 4 clients at once", "conn/s", True),
    "tls_down": ("HTTPS download of the large body (curl)", "Gbit/s", True),
    "tls_cpu_gb": ("islo-net CPU per GB of intercepted HTTPS download", "CPU s/GB", False),
    "tls_rps": ("HTTPS keep-alive requests, one connection, tiny body", "req/s", True),
    "tls_p50": ("HTTPS keep-alive request p50", "us", False),
    "tls_added": ("HTTPS request p50 added to direct TLS's (same round)", "us", False),
    "tls_cps": ("new TLS connections (full handshake + 1 request)", "conn/s", True),
    "tls_cps_par": ("new TLS connections, 4 clients at once", "conn/s", True),
    "h2_rps": ("HTTP/2 requests (h2load: 10 connections x 10 streams, tiny body)", "req/s", True),
    "tls_cpu_conn": ("islo-net CPU per new TLS connection (1000/this = conn/s per core)",
                     "ms", False),
    "mem_pass": ("islo-net PSS per idle passthrough TLS connection", "KiB", False),
    "mem_tls": ("islo-net PSS per idle intercepted TLS connection", "KiB", False),
}
REF = "islo-gw"
ISLO_MODES = [m for m in MODES if m.startswith("islo")]
BASE = "@base"      # MODE@base: an islo-net mode run with --base's binary
CRR_CLIENTS = 4
# the islo-net mode each figure's ratio column compares with
FIG_REF = {k: ("islo-tls" if k.startswith("tls_") else None if k.startswith("mem_") else REF)
           for k in FIGURES}
FIG_REF["tls_added"] = None     # a difference already; a ratio of differences says little
FIG_REF["h2_rps"] = "islo-tls-inject"
FIG_REF["rr_idle_p50"] = FIG_REF["rr_idle_ratio"] = None  # islo-net gateway only
FIG_REF["serve_idle_p50"] = FIG_REF["serve_idle_ratio"] = None
PACKAGES = {"iperf3": "iperf3", "pasta": "passt", "slirp4netns": "slirp4netns",
            "dnsmasq": "dnsmasq-base", "nginx": "nginx", "mitmdump": "mitmproxy",
            "curl": "curl", "openssl": "openssl", "h2load": "nghttp2-client"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def kind(mode):
    """The mode itself, for MODE@base as for MODE."""
    return mode[:-len(BASE)] if mode.endswith(BASE) else mode


def islo_bin(mode, args):
    """The islo-net binary mode runs: --base's for MODE@base."""
    return args.base if mode.endswith(BASE) else args.islo


def label(mode):
    return MODE_LABEL[kind(mode)] + (" [base]" if mode.endswith(BASE) else "")


# ---------------------------------------------------------------------------
# Set-up

def ensure_packages(want_chart):
    """Install what is missing (root only); never fails the run."""
    missing = [pkg for tool, pkg in PACKAGES.items() if not shutil.which(tool)
               and not os.path.exists("/usr/sbin/" + tool)]
    if want_chart and not have_matplotlib():
        missing.append("python3-matplotlib")
    if not missing:
        return
    if os.geteuid() != 0:
        log("bench: not root, not installing: " + " ".join(missing))
        return
    log("bench: installing " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + missing
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode:
        subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for pkg in missing:     # one by one: one unavailable must not stop the rest
            subprocess.run(cmd[:4] + [pkg], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def have_matplotlib(python=None):
    if python is None:
        try:
            import matplotlib  # noqa: F401
            return True
        except ImportError:
            return have_matplotlib("/usr/bin/python3")
    return os.path.exists(python) and subprocess.run(
        [python, "-c", "import matplotlib"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL).returncode == 0


def which(tool):
    return shutil.which(tool) or (os.path.exists("/usr/sbin/" + tool) and "/usr/sbin/" + tool)


def free_ports(n, exclude=()):
    """n TCP ports in PORT_LO..PORT_HI that nothing listens on (TCP and UDP)."""
    out = []
    for port in range(PORT_LO, PORT_HI + 1):
        if port in exclude:
            continue
        ok = True
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            out.append(port)
            if len(out) == n:
                return out
    raise SystemExit("bench: no free ports in %d-%d" % (PORT_LO, PORT_HI))


def wait_listening(port, ns=None, timeout=5.0):
    """Wait until a TCP socket listens on port (in netns ns, else here)."""
    hexport = ":%04X" % port
    path = "/proc/net/tcp"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ns:
            out = subprocess.run(["ip", "netns", "exec", ns, "cat", path],
                                 capture_output=True, text=True).stdout
        else:
            with open(path) as f:
                out = f.read()
        for line in out.splitlines()[1:]:
            f = line.split()
            if f[1].endswith(hexport) and f[3] == "0A":
                return True
        time.sleep(0.05)
    return False


class Servers:
    """The loopback servers (and the veth namespaces' own copies)."""

    def __init__(self, args):
        self.args = args
        self.procs = []
        self.netns = []
        self.iperf_port, self.rr_port, self.dns_port = free_ports(3)
        self.iperf = {}     # where -> Popen, restarted after a failed run
        self.tls = None     # tls_world.TlsWorld when TLS modes run
        self.tls_error = None

    def start(self, want_veth):
        a = self.args
        self.spawn_iperf("lo")
        self.procs.append(subprocess.Popen(
            [a.tcp_rr, "server", "127.0.0.1", str(self.rr_port)],
            stdout=subprocess.DEVNULL))
        self.procs.append(subprocess.Popen(
            [which("dnsmasq"), "-C", "/dev/null", "-k", "--no-resolv", "--no-hosts",
             "--host-record=bench.example,127.0.0.1", "--listen-address=127.0.0.1",
             "--bind-interfaces", "--port=%d" % self.dns_port, "--user=root",
             "--pid-file=", "--log-facility=-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not wait_listening(self.rr_port) or not wait_listening(self.iperf_port):
            raise SystemExit("bench: the loopback servers did not start")
        self.veth_error = None
        if want_veth:
            self.veth_error = self.make_veth()

    def spawn_iperf(self, where):
        old = self.iperf.get(where)
        if old and old.poll() is None:
            old.kill()
            old.wait()
        if where == "lo":
            cmd = ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(self.iperf_port)]
        else:
            cmd = ["ip", "netns", "exec", self.ns_srv, "iperf3", "-s", "-B",
                   VETH_SRV, "-p", str(self.iperf_port)]
        self.iperf[where] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
        wait_listening(self.iperf_port, None if where == "lo" else self.ns_srv)

    def make_veth(self):
        """Two namespaces of our own joined by a veth pair; None or an error."""
        if os.geteuid() != 0:
            return "needs root"
        pid = os.getpid()
        self.ns_srv, self.ns_cli = "islobench-s%d" % pid, "islobench-c%d" % pid
        sh = [
            ["ip", "netns", "add", self.ns_srv],
            ["ip", "netns", "add", self.ns_cli],
            ["ip", "-n", self.ns_srv, "link", "add", "bs0", "type", "veth",
             "peer", "name", "bc0", "netns", self.ns_cli],
        ]
        for ns, dev, addr in ((self.ns_srv, "bs0", VETH_SRV), (self.ns_cli, "bc0", VETH_CLI)):
            sh += [["ip", "-n", ns, "link", "set", "lo", "up"],
                   ["ip", "-n", ns, "link", "set", dev, "mtu", "65520"],
                   ["ip", "-n", ns, "addr", "add", addr + "/30", "dev", dev],
                   ["ip", "-n", ns, "link", "set", dev, "up"]]
        for i, cmd in enumerate(sh):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if i < 2 and r.returncode == 0:
                self.netns.append(cmd[3])
            if r.returncode:
                return "%s: %s" % (" ".join(cmd), r.stderr.strip())
        self.spawn_iperf("veth")
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.ns_srv, self.args.tcp_rr, "server",
             VETH_SRV, str(self.rr_port)], stdout=subprocess.DEVNULL))
        if not wait_listening(self.rr_port, self.ns_srv):
            return "the veth servers did not start"
        return None

    def start_tls(self, want_mitm):
        a = self.args
        err = tls_world.build_client(a.tls_client)
        if err:
            self.tls_error = err
            return
        ports = free_ports(6, exclude=(self.iperf_port, self.rr_port, self.dns_port))[3:]
        self.tls = tls_world.TlsWorld(ports, a.big_mib << 20, log)
        try:
            self.tls.start(want_mitm)
        except RuntimeError as e:
            self.tls_error = str(e)

    def stop(self):
        if self.tls:
            self.tls.stop()
        for p in list(self.iperf.values()) + self.procs:
            if p.poll() is None:
                p.terminate()
        for p in list(self.iperf.values()) + self.procs:
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
        for ns in self.netns:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------------------
# Modes: how to run one client command inside a fresh sandbox

def mode_available(mode, args, servers):
    """None if the mode can run here, else why not."""
    islo = islo_bin(mode, args)
    mode = kind(mode)
    if mode == "veth":
        return servers.veth_error
    if mode in TLS_MODES:
        if servers.tls_error or not servers.tls:
            return servers.tls_error or "the TLS servers did not start"
        if mode == "mitmproxy" and servers.tls.mitm_error:
            return servers.tls.mitm_error
        if mode == "nginx-proxy" and servers.tls.nginx_error:
            return servers.tls.nginx_error
    if mode in HOST_MODES:
        return None
    if mode.startswith("islo"):
        if not os.access(islo, os.X_OK):
            return "%s not built (run make)" % islo
        return None
    if mode == "pasta":
        if not which("pasta"):
            return "pasta not installed (Debian package passt)"
        if not host_gateway():
            return "the host has no IPv4 default route (pasta maps the gateway address to loopback)"
        if os.geteuid() == 0 and not which("setpriv"):
            return "running as root needs setpriv to run pasta as nobody"
        return None
    if mode == "slirp4netns":
        if not which("slirp4netns"):
            return "slirp4netns not installed"
        if not which("unshare"):
            return "unshare not installed"
        return None
    return "unknown mode"


_gw_cache = []


def host_gateway():
    if not _gw_cache:
        out = subprocess.run(["ip", "-4", "route", "show", "default"],
                             capture_output=True, text=True).stdout.split()
        _gw_cache.append(out[2] if len(out) > 2 and out[0] == "default" and out[1] == "via" else None)
    return _gw_cache[0]


def target_host(mode):
    return {"veth": VETH_SRV, "islo-gw": "bench.example", "islo-gw-1500": "bench.example",
            "islo-gw-1500-notso": "bench.example", "islo-nat": "10.0.2.2",
            "islo-slirp": "10.0.2.2", "pasta": host_gateway(),
            "slirp4netns": "10.0.2.2"}[kind(mode)]


def launch(mode, client_sh, args, servers, extra=()):
    """Start client_sh (a shell command) inside a fresh sandbox of mode.

    Return: (Popen of the sandbox, Popen of a helper or None, pid whose CPU
    is the stack's or None)
    """
    islo = islo_bin(mode, args)
    mode = kind(mode)
    islo_common = [islo, "run", "-q", "--dns-upstream",
                   "127.0.0.1:%d" % servers.dns_port]
    sh = ["sh", "-c", client_sh]
    out = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
               start_new_session=True)
    if mode == "veth":
        return subprocess.Popen(["ip", "netns", "exec", servers.ns_cli] + sh, **out), None, None
    if mode in HOST_MODES:
        return subprocess.Popen(sh, **out), None, None
    if mode in ("islo-tls", "islo-tls-inject", "islo-tls-noreuse"):
        t = servers.tls
        env = dict(os.environ)
        profile = t.profile_intercept
        if mode == "islo-tls-noreuse":
            env["ISLO_NO_REUSE"] = "1"
        if mode == "islo-tls-inject":
            profile = t.profile_inject
            env["BENCH_TOKEN"] = "bench-secret-token"
        cmd = islo_common + ["--gateway-profile", profile, "--upstream-ca", t.ca,
                             "--ca-dir", t.ca_dir] + list(extra)
        p = subprocess.Popen(cmd + ["--"] + sh, env=env, **out)
        return p, None, p.pid
    if mode in ("islo-gw", "islo-gw-1500", "islo-gw-1500-notso"):
        cmd = islo_common + ["--gateway-profile", os.path.join(HERE, "profiles", "bench.yaml")]
        env = dict(os.environ)
        if mode != "islo-gw":
            cmd += ["--mtu", "1500"]
        if mode == "islo-gw-1500-notso":
            env["ISLO_NO_TSO"] = "1"
        cmd += list(extra)
        p = subprocess.Popen(cmd + ["--"] + sh, env=env, **out)
        return p, None, p.pid
    if mode in ("islo-nat", "islo-slirp"):
        nat = ["--nat", "slirp"] if mode == "islo-slirp" else []
        p = subprocess.Popen(islo_common + nat + ["--"] + sh, **out)
        return p, None, p.pid
    if mode == "pasta":
        cmd = ["pasta", "--config-net", "-q", "-f", "-o", "127.0.0.1",
               "-t", "none", "-u", "none", "-T", "none", "-U", "none", "--"] + sh
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                   "--clear-groups"] + cmd
        p = subprocess.Popen(cmd, **out)
        return p, None, p.pid
    if mode == "slirp4netns":
        wait_tap = ("i=0; while ! ip -4 -br addr show tap0 2>/dev/null | grep -q 10.0.2.100; "
                    "do i=$((i+1)); [ $i -gt 500 ] && exit 99; sleep 0.01; done; ")
        p = subprocess.Popen(["unshare", "-rn", "sh", "-c", wait_tap + client_sh], **out)
        # Popen returns once unshare is exec'd, maybe before it has made
        # its namespaces: slirp4netns must not join (and configure) ours.
        if not wait_own_namespaces(p.pid):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise RuntimeError("unshare -rn made no namespaces within 5 s")
        s = subprocess.Popen(["slirp4netns", "--configure", "--mtu=65520", str(p.pid), "tap0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        return p, s, s.pid
    raise ValueError(mode)


def wait_own_namespaces(pid, timeout=5.0):
    """Wait until pid is in a user and a network namespace other than ours."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if all(os.readlink("/proc/%d/ns/%s" % (pid, ns)) !=
                   os.readlink("/proc/self/ns/%s" % ns) for ns in ("user", "net")):
                return True
        except OSError:
            return False
        time.sleep(0.005)
    return False


def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK   # utime + stime
    except (OSError, IndexError, ValueError):
        return None


class CpuSampler(threading.Thread):
    """Follows a process's CPU time until it exits; keeps the last reading."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.last, self.stop = pid, None, False

    def run(self):
        while not self.stop:
            v = proc_cpu(self.pid)
            if v is None:
                return
            self.last = v
            time.sleep(0.02)


def run_client(mode, client_sh, args, servers, timeout, cpu=False, extra=()):
    """Run client_sh in a fresh sandbox; return (stdout, error, cpu_s)."""
    if cpu:
        # idle tail: the sampler sees the stack's CPU time once traffic ends
        client_sh = "%s; rc=$?; sleep 0.25; exit $rc" % client_sh
    try:
        p, helper, cpu_pid = launch(mode, client_sh, args, servers, extra)
    except RuntimeError as e:
        return "", str(e), None
    sampler = None
    if cpu and cpu_pid:
        sampler = CpuSampler(cpu_pid)
        sampler.start()
    err = None
    try:
        stdout, stderr = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        stdout, stderr = p.communicate()
        err = "timed out after %ds" % timeout
    if sampler:
        sampler.stop = True
        sampler.join()
    if helper:
        if helper.poll() is None:
            helper.terminate()
        try:
            helper.wait(timeout=3)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
    if err is None and p.returncode not in (0, None):
        err = "exit status %d" % p.returncode
    if err and stderr.strip():
        err += ": " + " | ".join(stderr.strip().splitlines()[-3:])
    return stdout, err, (sampler.last if sampler else None)


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    try:
        return json.loads(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# Figures

def measure_iperf(mode, reverse, args, servers, startup_cpu):
    host = target_host(mode)
    cmd = "iperf3 -J -c %s -p %d -t %s -O %s%s" % (
        host, servers.iperf_port, args.duration, args.omit, " -R" if reverse else "")
    stdout, err, cpu = run_client(mode, cmd, args, servers,
                                  timeout=args.duration + args.omit + 40, cpu=True)
    j = None
    if stdout.strip():
        try:
            j = json.loads(stdout[stdout.index("{"):])
        except ValueError:
            j = None
    if j and j.get("error"):
        err = "iperf3: " + j["error"]
    if not j or "end" not in j or "sum_received" not in j["end"]:
        servers.spawn_iperf("veth" if mode == "veth" else "lo")
        return None, err or "no iperf3 result"
    recv = j["end"]["sum_received"]
    out = {("tcp_down" if reverse else "tcp_up"): recv["bits_per_second"] / 1e9}
    if cpu is not None and recv["bytes"]:
        out["cpu_down" if reverse else "cpu_up"] = \
            max(cpu - startup_cpu.get(mode, 0.0), 0.0) / (recv["bytes"] / 1e9)
    return out, None


def measure_rr(mode, args, servers, _startup):
    stdout, err, _ = run_client(
        mode, "%s -P rr %s %d %d" % (args.tcp_rr, target_host(mode), servers.rr_port, args.rr_count),
        args, servers, timeout=60)
    j = last_json(stdout)
    if not j or "p50_us" not in j:
        return None, err or "no tcp_rr result"
    return {"rr_p50": j["p50_us"], "rr_p99": j["p99_us"]}, None


IDLE_CONNS = 6000


def measure_rr_idle(mode, args, servers, _startup):
    """rr with no other connection, then with IDLE_CONNS idle ones open,
    in the same sandbox (tcp_rr rr-idle): what idle connections cost."""
    stdout, err, _ = run_client(
        mode, "%s -P rr-idle %s %d %d %d" % (args.tcp_rr, target_host(mode), servers.rr_port,
                                            args.rr_count, IDLE_CONNS),
        args, servers, timeout=120, extra=["--max-connections", str(IDLE_CONNS + 1000)])
    j = last_json(stdout)
    if not j or "idle_p50_us" not in j:
        return None, err or "no tcp_rr result"
    return {"rr_idle_p50": j["idle_p50_us"],
            "rr_idle_ratio": j["idle_p50_us"] / j["p50_us"]}, None


def measure_serve_idle(mode, args, servers, _startup):
    """`islo-net serve`: a probe sandbox's rr p50 beside 200 others, before
    and after those open their idle connections (bench/serve_idle.py)."""
    if os.geteuid() != 0:
        return None, "needs root (namespaces with TAP devices)"
    sys.path.insert(0, HERE)
    import serve_idle
    try:
        r = serve_idle.measure(islo_bin(mode, args), args.tcp_rr, servers.dns_port,
                               200, 500, args.rr_count, log=log)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return None, str(e)
    log("bench:   serve_idle: %d sandboxes x %d idle connections" %
        (r["sandboxes"], r["idle_each"]))
    return {"serve_idle_p50": r["serve_idle_p50"],
            "serve_idle_ratio": r["serve_idle_ratio"]}, None


def measure_crr(mode, args, servers, startup):
    stdout, err, cpu = run_client(
        mode, "%s -P crr %s %d %s" % (args.tcp_rr, target_host(mode), servers.rr_port,
                                      args.crr_seconds),
        args, servers, timeout=args.crr_seconds + 40, cpu=True)
    j = last_json(stdout)
    if not j or "conn_per_s" not in j:
        return None, err or "no tcp_rr result"
    if j.get("errors"):
        log("bench:   %s: %d failed connections" % (mode, j["errors"]))
    out = {"crr": j["conn_per_s"]}
    # the stack's own CPU per connection (as for new TLS connections)
    if cpu is not None and j.get("conns"):
        out["crr_cpu"] = max(cpu - startup.get(mode, 0.0), 0.0) * 1e6 / j["conns"]
    return out, None


def par_rates(mode, sh, args, servers, timeout, what):
    """Run sh (CRR_CLIENTS clients in the background, then wait); sum the
    conn_per_s of their JSON lines. Returns (sum, error)."""
    stdout, err, _ = run_client(mode, sh, args, servers, timeout=timeout)
    rates, errors = [], 0
    for line in stdout.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if isinstance(j, dict) and "conn_per_s" in j:
            rates.append(j["conn_per_s"])
            errors += j.get("errors", 0)
    if len(rates) != CRR_CLIENTS:
        return None, err or "%d of %d %s results" % (len(rates), CRR_CLIENTS, what)
    if errors:
        log("bench:   %s: %d failed connections" % (mode, errors))
    return sum(rates), None


def measure_crr_par(mode, args, servers, _startup):
    """The connection rate with CRR_CLIENTS sequential clients at once."""
    one = "%s crr %s %d %s" % (args.tcp_rr, target_host(mode), servers.rr_port,
                               args.crr_seconds)
    sh = "%s -P crr %s %d 0.01 >/dev/null; %s" % (
        args.tcp_rr, target_host(mode), servers.rr_port,
        " & ".join([one] * CRR_CLIENTS) + " & wait")
    v, err = par_rates(mode, sh, args, servers, args.crr_seconds + 40, "tcp_rr")
    return ({"crr_par": v}, None) if v is not None else (None, err)


# -- TLS ---------------------------------------------------------------------

def tls_target(mode, servers):
    """(tls_client options, its HOST PORT, curl options + URL) for mode."""
    t = servers.tls
    up = t.up_port
    mode = kind(mode)
    if mode in ("islo-tls", "islo-tls-inject", "islo-tls-noreuse"):
        # the sandbox trusts the islo-net CA (SSL_CERT_FILE, CURL_CA_BUNDLE)
        return "", "bench.example %d" % up, "https://bench.example:%d" % up
    if mode == "tls-direct":
        port, ca, proxy = up, t.ca, ""
    elif mode == "nginx-proxy":
        port, ca, proxy = t.proxy_port, t.ca, ""
    elif mode == "mitmproxy":
        port, ca, proxy = up, t.mitm_ca, "127.0.0.1:%d" % t.mitm_port
    else:
        raise ValueError(mode)
    opts = "-c %s -s bench.example %s" % (ca, "-x %s " % proxy if proxy else "")
    curl = "--cacert %s " % ca
    if proxy:
        # CONNECT 127.0.0.1:PORT (mitmproxy resolves nothing), SNI bench.example
        curl += "-x http://%s --connect-to bench.example:%d:127.0.0.1:%d " % (proxy, port, port)
    else:
        curl += "--resolve bench.example:%d:127.0.0.1 " % port
    return opts, "127.0.0.1 %d" % port, curl + "https://bench.example:%d" % port


def measure_tls_down(mode, args, servers, startup):
    _, _, url = tls_target(mode, servers)
    cmd = ("curl -sS --http1.1 --tls-max 1.2 --ciphers %s -o /dev/null "
           "-w '{\"bytes\":%%{size_download},\"Bps\":%%{speed_download},\"code\":%%{http_code}}\\n' "
           "%s/big" % (tls_world.CLIENT_CIPHERS, url))
    stdout, err, cpu = run_client(mode, cmd, args, servers, timeout=180,
                                  cpu=mode.startswith("islo"))
    j = last_json(stdout)
    if not j or j.get("code") != 200 or j.get("bytes") != args.big_mib << 20:
        return None, err or "curl: %s" % stdout.strip()[-100:]
    out = {"tls_down": j["Bps"] * 8 / 1e9}
    # islo-net's own CPU per GB intercepted (both AES-GCM passes, lwIP,
    # its system calls), less a sandbox start's
    if cpu is not None:
        out["tls_cpu_gb"] = max(cpu - startup.get(mode, 0.0), 0.0) / (j["bytes"] / 1e9)
    return out, None


def measure_tls_rr(mode, args, servers, _startup):
    opts, target, _ = tls_target(mode, servers)
    stdout, err, _ = run_client(
        mode, "%s -2 %srr %s /tiny %d" % (args.tls_client, opts, target, args.tls_requests),
        args, servers, timeout=120)
    j = last_json(stdout)
    if not j or "req_per_s" not in j:
        return None, err or "no tls_client result"
    return {"tls_rps": j["req_per_s"], "tls_p50": j["p50_us"]}, None


def measure_tls_cps(mode, args, servers, startup):
    opts, target, _ = tls_target(mode, servers)
    stdout, err, cpu = run_client(
        mode, "%s -P -2 %scps %s /tiny %s" % (args.tls_client, opts, target, args.tls_seconds),
        args, servers, timeout=args.tls_seconds + 60, cpu=mode.startswith("islo"))
    j = last_json(stdout)
    if not j or "conn_per_s" not in j:
        return None, err or "no tls_client result"
    if j.get("errors"):
        log("bench:   %s: %d failed TLS connections" % (mode, j["errors"]))
    out = {"tls_cps": j["conn_per_s"]}
    # islo-net's own CPU time per connection, less what starting the
    # sandbox costs: the rate one core of islo-net could sustain, whatever
    # the single sequential client's own ceiling
    if cpu is not None and j.get("conns"):
        out["tls_cpu_conn"] = max(cpu - startup.get(mode, 0.0), 0.0) * 1000 / j["conns"]
    return out, None


def measure_tls_cps_par(mode, args, servers, _startup):
    """New TLS connections/s with CRR_CLIENTS sequential clients at once:
    the stack's capacity rather than one client's round trips."""
    opts, target, _ = tls_target(mode, servers)
    one = "%s -2 %scps %s /tiny %s" % (args.tls_client, opts, target, args.tls_seconds)
    sh = " & ".join([one] * CRR_CLIENTS) + " & wait"
    v, err = par_rates(mode, sh, args, servers, args.tls_seconds + 60, "tls_client")
    return ({"tls_cps_par": v}, None) if v is not None else (None, err)


H2LOAD_REQUESTS = 20000


def measure_h2(mode, args, servers, _startup):
    """HTTP/2 requests/s with h2load (10 connections, 10 concurrent streams
    each, the tiny body): direct to nginx (http2), through islo-net's
    interception (HTTP/2 both ways), through nginx as an HTTP/2 TLS proxy.
    mitmproxy runs with HTTP/2 off here, so it has no row."""
    if kind(mode) == "mitmproxy":
        return None, "mitmproxy runs with http2=false"
    if not shutil.which("h2load"):
        return None, "h2load not installed (Debian package nghttp2-client)"
    t = servers.tls
    port = {"tls-direct": t.up_port, "nginx-proxy": t.proxy_port}.get(kind(mode), t.up_port)
    host = "bench.example" if kind(mode).startswith("islo") else "127.0.0.1"
    n = max(H2LOAD_REQUESTS // (5 if args.quick else 1), 1000)
    stdout, err, _ = run_client(
        mode, "h2load -n %d -c 10 -m 10 https://%s:%d/tiny" % (n, host, port),
        args, servers, timeout=120)
    for line in (stdout or "").splitlines():
        # "finished in 1.23s, 4056.91 req/s, 1.2MB/s"
        if line.startswith("finished in") and "req/s" in line:
            try:
                rps = float(line.split(",")[1].split()[0])
            except (IndexError, ValueError):
                break
            if "succeeded" in stdout and " 0 succeeded" in stdout:
                return None, "h2load: no request succeeded"
            return {"h2_rps": rps}, None
    return None, err or "no h2load result"


def measure_mem(mode, args, servers, _startup):
    """islo-net's PSS growth per idle TLS connection (handshake done, idle)."""
    n, warm, hold = args.idle_conns, 10, 3
    target = "bench.example %d" % servers.tls.up_port
    if kind(mode) == "islo-gw":     # passthrough: the client checks nginx's own certificate
        opts, key = "-c %s " % servers.tls.ca, "mem_pass"
    else:                       # intercepted: the sandbox trusts the islo-net CA
        opts, key = "", "mem_tls"
    cmd = "%s -P -2 %sidle %s %d %d %d" % (args.tls_client, opts, target, warm, n, hold)
    try:
        p, _, pid = launch(mode, cmd, args, servers,
                           extra=["--max-connections", str(n + warm + 100)])
    except RuntimeError as e:
        return None, str(e)
    deadline = time.time() + 120 + n / 20
    pss, info, err = {}, {}, None
    timer = threading.Timer(max(deadline - time.time(), 1), lambda: os.killpg(p.pid, signal.SIGKILL))
    timer.start()
    try:
        for line in p.stdout:
            j = last_json(line)
            if not j or "phase" not in j:
                continue
            time.sleep(1.0)         # let the last connections settle
            pss[j["phase"]] = tls_world.pss_kib(pid)
            info[j["phase"]] = j
        _, stderr = p.communicate()
    finally:
        timer.cancel()
    if p.returncode:
        err = "exit status %d: %s" % (p.returncode, " | ".join(stderr.strip().splitlines()[-3:]))
    if not pss.get("base") or not pss.get("full"):
        return None, err or "no PSS reading"
    opened = info["full"]["conns"] - info["base"]["conns"]
    if opened <= 0:
        return None, err or "no connection opened"
    if info["full"].get("errors"):
        log("bench:   %s: %d of %d idle connections failed" % (mode, info["full"]["errors"], n))
    log("bench:   %s: PSS %d KiB -> %d KiB with %d more idle connections (opened in %.1f s)" % (
        mode, pss["base"], pss["full"], opened, info["full"]["open_s"]))
    return {key: (pss["full"] - pss["base"]) / opened}, None


def startup_cpu(mode, args, servers):
    """The stack's own CPU time for a sandbox that sends nothing."""
    _, err, cpu = run_client(mode, "true", args, servers, timeout=30, cpu=True)
    return cpu if cpu is not None and not err else 0.0


# ---------------------------------------------------------------------------
# Report

def summarise(samples):
    res = {}
    for fig, per_mode in samples.items():
        for mode, vals in per_mode.items():
            if vals:
                res.setdefault(fig, {})[mode] = {
                    "median": statistics.median(vals), "min": min(vals),
                    "max": max(vals), "values": vals}
    return res


def fmt(v):
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def table(summary, failures, skipped, modes):
    lines = ["| figure | mode | median [min-max] | islo-net / mode (medians) |",
             "|---|---|---|---|"]
    for fig, (label, unit, higher) in FIGURES.items():
        per_mode = summary.get(fig, {})
        fref = FIG_REF.get(fig)
        ref = per_mode.get(fref) if fref else None
        first = True
        for mode in modes:
            name = "%s, %s (%s better)" % (label, unit, "higher" if higher else "lower") \
                if first else ""
            if mode in skipped:
                continue
            s = per_mode.get(mode)
            if s is None:
                why = failures.get((fig, mode))
                if not why:
                    continue        # figure not measured for this mode
                cell, ratio = "FAILED (%s)" % why[:60], ""
            else:
                cell = "%s [%s-%s]" % (fmt(s["median"]), fmt(s["min"]), fmt(s["max"]))
                ratio = "%.2f" % (ref["median"] / s["median"]) \
                    if ref and mode != fref and s["median"] else ""
            lines.append("| %s | %s | %s | %s |" % (name, MODE_LABEL[mode], cell, ratio))
            first = False
    return "\n".join(lines)


def compare(summary, modes):
    """figure -> mode -> this build's median, the base's, this / base."""
    out = {}
    for fig in FIGURES:
        per_mode = summary.get(fig, {})
        for mode in modes:
            a, b = per_mode.get(mode), per_mode.get(mode + BASE)
            if a and b:
                out.setdefault(fig, {})[mode] = {
                    "median": a["median"], "base_median": b["median"],
                    "ratio": a["median"] / b["median"] if b["median"] else None}
    return out


def compare_table(summary, failures, modes):
    """Each islo-net figure for this build and the base, with the ratio of
    their medians and whether this build is better or worse."""
    lines = ["| figure | mode | this build: median [min-max] | base: median [min-max] "
             "| this / base (medians) |", "|---|---|---|---|---|"]
    cmp = compare(summary, modes)

    def cell(fig, mode):
        s = summary.get(fig, {}).get(mode)
        if s:
            return "%s [%s-%s]" % (fmt(s["median"]), fmt(s["min"]), fmt(s["max"]))
        why = failures.get((fig, mode))     # (unavailable modes were named)
        return "FAILED (%s)" % why[:60] if why else ""

    for fig, (name, unit, higher) in FIGURES.items():
        first = True
        for mode in modes:
            if mode not in ISLO_MODES:
                continue
            a, b = cell(fig, mode), cell(fig, mode + BASE)
            if not a and not b:
                continue        # figure not measured for this mode
            ratio = ""
            c = cmp.get(fig, {}).get(mode)
            if c and c["ratio"]:
                r = c["ratio"]
                ratio = "%.3f (%+.1f %%, %s)" % (
                    r, (r - 1) * 100,
                    "same" if r == 1 else "better" if (r > 1) == higher else "worse")
            lines.append("| %s | %s | %s | %s | %s |" % (
                "%s, %s (%s better)" % (name, unit, "higher" if higher else "lower")
                if first else "", MODE_LABEL[mode], a, b, ratio))
            first = False
    return "\n".join(lines)


def chart(json_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(json_path) as f:
        data = json.load(f)
    summary = data["summary"]
    figs = [k for k in FIGURES if k in summary]
    cols = 2
    rows = (len(figs) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.2 * rows), squeeze=False)
    for ax, key in zip([a for r in axes for a in r], figs):
        label, unit, higher = FIGURES[key]
        modes = [m for m in MODES if m in summary[key]]
        med = [summary[key][m]["median"] for m in modes]
        lo = [summary[key][m]["median"] - summary[key][m]["min"] for m in modes]
        hi = [summary[key][m]["max"] - summary[key][m]["median"] for m in modes]
        colors = ["tab:orange" if m.startswith("islo") else "tab:gray" for m in modes]
        ax.barh(range(len(modes)), med, xerr=[lo, hi], color=colors, capsize=3)
        ax.set_yticks(range(len(modes)))
        ax.set_yticklabels([MODE_LABEL[m] for m in modes], fontsize=8)
        ax.invert_yaxis()
        ax.set_title("%s (%s, %s is better)" % (label, unit, "higher" if higher else "lower"),
                     fontsize=9)
        for i, v in enumerate(med):
            ax.text(v, i, " " + fmt(v), va="center", fontsize=7)
    for ax in [a for r in axes for a in r][len(figs):]:
        ax.axis("off")
    fig.suptitle("islo-net make bench, %s, %s" % (data["meta"]["timestamp"],
                                                   data["meta"]["cpu"]), fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


def draw_chart(json_path):
    png = json_path[:-5] + ".png"
    try:
        import matplotlib  # noqa: F401
        chart(json_path, png)
        return png
    except ImportError:
        pass
    if have_matplotlib("/usr/bin/python3"):
        r = subprocess.run(["/usr/bin/python3", os.path.abspath(__file__), "--chart-only",
                            json_path], capture_output=True, text=True)
        if r.returncode == 0:
            return png
        log("bench: chart failed: " + r.stderr.strip()[-300:])
        return None
    log("bench: chart skipped: matplotlib not available (apt-get install python3-matplotlib)")
    return None


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except (OSError, ValueError):
        return None


def version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 round, short runs (about 2 minutes)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=int, help="iperf3 seconds per run (after --omit)")
    ap.add_argument("--omit", type=int, help="iperf3 warm-up seconds not counted")
    ap.add_argument("--rr-count", type=int, help="round trips per latency run")
    ap.add_argument("--crr-seconds", type=float, help="seconds per connection-rate run")
    ap.add_argument("--modes",
                    help="comma-separated subset of: " + ", ".join(MODES) +
                    " (default: all; with --base, the islo-net modes)")
    ap.add_argument("--islo", default=os.path.join(TOP, "islo-net"))
    ap.add_argument("--base", metavar="BIN",
                    help="a second islo-net (e.g. the previous commit's): each islo-net "
                    "mode also runs with it, and a table compares the two")
    ap.add_argument("--tcp-rr", default=os.path.join(TOP, "build", "bench", "tcp_rr"))
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--tls-client", default=os.path.join(TOP, "build", "bench", "tls_client"),
                    help="built from bench/tls_client.c (OpenSSL) when missing or older")
    ap.add_argument("--big-mib", type=int, help="the large HTTPS body, MiB")
    ap.add_argument("--tls-requests", type=int, help="keep-alive requests per run")
    ap.add_argument("--tls-seconds", type=float, help="seconds per new-TLS-connection run")
    ap.add_argument("--idle-conns", type=int, help="idle connections for the memory figures")
    ap.add_argument("--tests", help="comma-separated subset of: tcp_up, tcp_down, rr, rr_idle, "
                    "serve_idle, crr, "
                    "crr_par, tls_down, tls_rr, tls_cps, tls_cps_par, h2, mem (default: all)")
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--chart-only", metavar="JSON", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.chart_only:
        chart(args.chart_only, args.chart_only[:-5] + ".png")
        return 0

    q = args.quick
    args.rounds = args.rounds or (1 if q else 5)
    args.duration = args.duration or (2 if q else 3)
    args.omit = args.omit if args.omit is not None else (0 if q else 1)
    args.rr_count = args.rr_count or (5000 if q else 20000)
    args.crr_seconds = args.crr_seconds or (2 if q else 3)
    args.big_mib = args.big_mib or (64 if q else 256)
    args.tls_requests = args.tls_requests or 2000
    args.tls_seconds = args.tls_seconds or (2 if q else 3)
    args.idle_conns = args.idle_conns or (1000 if q else 10000)
    # 10,000 idle connections: fds for the client, islo-net and nginx
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 65536 if os.geteuid() == 0 else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        pass
    if args.modes is None:
        args.modes = ",".join(ISLO_MODES if args.base else MODES)
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            ap.error("unknown mode %r" % m)
    head_modes = modes      # the main table's
    if args.base:
        args.base = os.path.abspath(args.base)
        modes = modes + [m + BASE for m in modes if m in ISLO_MODES]

    if not args.no_install:
        ensure_packages(not args.no_chart)
    if not which("iperf3") or not which("dnsmasq"):
        log("bench: iperf3 and dnsmasq are needed (apt-get install iperf3 dnsmasq-base)")
        return 1
    if not os.access(args.tcp_rr, os.X_OK):
        log("bench: %s not built (make bench builds it)" % args.tcp_rr)
        return 1

    load_before = loadavg()
    if load_before and load_before[0] > 0.5:
        print("bench: warning: load average %.2f before the run: other work shares "
              "these CPUs, expect noisy figures" % load_before[0], flush=True)
    servers = Servers(args)
    started = time.time()
    try:
        servers.start("veth" in modes)
        want_tls = any(kind(m) in TLS_MODES for m in modes)
        if want_tls:
            servers.start_tls("mitmproxy" in modes)
        skipped = {}
        for m in modes:
            why = mode_available(m, args, servers)
            if why:
                skipped[m] = why
                print("%s: not available: %s" % (label(m), why), flush=True)
        live = [m for m in modes if m not in skipped]

        startup = {m: startup_cpu(m, args, servers) for m in live}
        tests = [("tcp_up", lambda m: measure_iperf(m, False, args, servers, startup), live),
                 ("tcp_down", lambda m: measure_iperf(m, True, args, servers, startup), live),
                 ("rr", lambda m: measure_rr(m, args, servers, startup),
                  [m for m in live if not kind(m).startswith("islo-gw-1500")]),
                 ("rr_idle", lambda m: measure_rr_idle(m, args, servers, startup),
                  [m for m in live if kind(m) == "islo-gw"]),
                 ("serve_idle", lambda m: measure_serve_idle(m, args, servers, startup),
                  [m for m in live if kind(m) == "islo-gw"]),
                 ("crr", lambda m: measure_crr(m, args, servers, startup),
                  [m for m in live if not kind(m).startswith("islo-gw-1500")]),
                 ("crr_par", lambda m: measure_crr_par(m, args, servers, startup),
                  [m for m in live if not kind(m).startswith("islo-gw-1500")])]
        old = [m for m in live if kind(m) not in TLS_MODES]
        tests = [(n, f, [m for m in ms if m in old]) for n, f, ms in tests]
        tls_live = [m for m in live if kind(m) in TLS_MODES]
        tls_most = [m for m in tls_live if kind(m) not in CPS_ONLY_MODES]
        tests += [("tls_down", lambda m: measure_tls_down(m, args, servers, startup), tls_most),
                  ("tls_rr", lambda m: measure_tls_rr(m, args, servers, startup), tls_most),
                  ("tls_cps", lambda m: measure_tls_cps(m, args, servers, startup), tls_live),
                  ("tls_cps_par", lambda m: measure_tls_cps_par(m, args, servers, startup),
                   tls_live),
                  ("h2", lambda m: measure_h2(m, args, servers, startup), tls_most)]
        if servers.tls and not servers.tls_error:
            tests.append(("mem", lambda m: measure_mem(m, args, servers, startup),
                          [m for m in live if kind(m) in ("islo-gw", "islo-tls")]))
        if args.tests:
            want = set(args.tests.split(","))
            tests = [t for t in tests if t[0] in want]
        fail_keys = {"tcp_up": ["tcp_up"], "tcp_down": ["tcp_down"],
                     "rr": ["rr_p50", "rr_p99"], "crr": ["crr", "crr_cpu"],
                     "rr_idle": ["rr_idle_p50", "rr_idle_ratio"],
                     "serve_idle": ["serve_idle_p50", "serve_idle_ratio"],
                     "crr_par": ["crr_par"], "tls_down": ["tls_down", "tls_cpu_gb"],
                     "tls_rr": ["tls_rps", "tls_p50"], "tls_cps": ["tls_cps", "tls_cpu_conn"],
                     "tls_cps_par": ["tls_cps_par"], "h2": ["h2_rps"]}
        samples = {f: {} for f in FIGURES}
        failures, raw = {}, []
        round_p50 = {}      # round -> mode -> tls_p50, for the added latency
        for rnd in range(args.rounds):
            for name, fn, tmodes in tests:
                k = rnd % len(tmodes) if tmodes else 0
                for mode in tmodes[k:] + tmodes[:k]:
                    t0 = time.time()
                    vals, err = fn(mode)
                    raw.append({"round": rnd, "test": name, "mode": mode,
                                "values": vals, "error": err,
                                "seconds": round(time.time() - t0, 2)})
                    if err or not vals:
                        keys = fail_keys.get(name) or (
                            ["mem_pass"] if kind(mode) == "islo-gw" else ["mem_tls"])
                        for key in keys:
                            failures[(key, mode)] = err or "no result"
                        log("bench: round %d %-6s %-13s FAILED: %s" % (rnd + 1, name, mode, err))
                        continue
                    for key, v in vals.items():
                        samples[key].setdefault(mode, []).append(v)
                    if name == "tls_rr":
                        round_p50.setdefault(rnd, {})[mode] = vals["tls_p50"]
                    log("bench: round %d %-6s %-13s %s" % (
                        rnd + 1, name, mode,
                        " ".join("%s=%s" % (key, fmt(v)) for key, v in vals.items())))
    finally:
        servers.stop()

    for per in round_p50.values():
        if "tls-direct" in per:
            for m, v in per.items():
                if m != "tls-direct":
                    samples["tls_added"].setdefault(m, []).append(v - per["tls-direct"])
    summary = summarise(samples)
    tbl = table(summary, failures, skipped, head_modes)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    meta = {
        "timestamp": stamp, "host": platform.node(), "kernel": platform.release(),
        "cpu": machine(), "cpus": os.cpu_count(), "euid": os.geteuid(),
        "rounds": args.rounds, "iperf_seconds": args.duration, "iperf_omit": args.omit,
        "rr_count": args.rr_count, "crr_seconds": args.crr_seconds,
        "quick": bool(q), "elapsed_s": round(time.time() - started, 1),
        "startup_cpu_s": startup,
        "loadavg_before": load_before, "loadavg_after": loadavg(),
        "versions": {"islo-net": version([args.islo, "--version"]),
                     "islo-net base": args.base and version([args.base, "--version"]),
                     "iperf3": version(["iperf3", "--version"]),
                     "slirp4netns": version(["slirp4netns", "--version"]),
                     "passt": version(["dpkg-query", "-W", "-f", "${Version}", "passt"]),
                     "nginx": version([which("nginx") or "nginx", "-v"]),
                     "mitmproxy": version(["dpkg-query", "-W", "-f", "${Version}", "mitmproxy"]),
                     "curl": version(["curl", "--version"]),
                     "openssl": version(["openssl", "version"])},
        "tls": {"big_mib": args.big_mib, "requests": args.tls_requests,
                "cps_seconds": args.tls_seconds, "idle_conns": args.idle_conns,
                "upstream": servers.tls.upstream if servers.tls else None},
    }
    ratios = {}
    for fig, per_mode in summary.items():
        fref = FIG_REF.get(fig)
        ref = per_mode.get(fref) if fref else None
        if ref:
            ratios[fig] = {m: ref["median"] / s["median"] for m, s in per_mode.items()
                           if m != fref and s["median"]}
    os.makedirs(args.results, exist_ok=True)
    path = os.path.join(args.results, stamp + ".json")
    with open(path, "w") as f:
        json.dump({"meta": meta, "modes": {m: label(m) for m in modes},
                   "figures": {k: {"label": v[0], "unit": v[1], "higher_is_better": v[2]}
                               for k, v in FIGURES.items()},
                   "skipped": skipped, "summary": summary, "ratio_islo_over": ratios,
                   "ratio_reference": FIG_REF,
                   "failures": ["%s %s: %s" % (k[0], k[1], v) for k, v in failures.items()],
                   "base": args.base and {"binary": args.base,
                                          "compare": compare(summary, head_modes)},
                   "raw": raw}, f, indent=1)
    print()
    print("islo-net make bench: %d round(s), %s, %d CPUs, kernel %s, %.0f s, "
          "load average %s before, %s after" % (
              args.rounds, meta["cpu"], meta["cpus"], meta["kernel"], meta["elapsed_s"],
              load_before and load_before[0], meta["loadavg_after"] and meta["loadavg_after"][0]))
    print(tbl)
    if args.base:
        print()
        print("this build (%s) against the base (%s), the same rounds:" % (
            args.islo, args.base))
        print(compare_table(summary, failures, head_modes))
    print()
    print("JSON: %s" % os.path.relpath(path, TOP))
    if not args.no_chart:
        png = draw_chart(path)
        if png:
            print("chart: %s" % os.path.relpath(png, TOP))
    return 0


if __name__ == "__main__":
    sys.exit(main())
