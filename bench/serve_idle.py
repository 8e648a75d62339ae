# SPDX-License-Identifier: MIT
"""serve_idle.py - what idle sandboxes cost a busy one in `islo-net serve`.

One daemon, one probe sandbox and SANDBOXES more, each a network namespace
with a TAP device, as `test_daemon.py` makes them.  The probe measures the
1-byte request/response p50 (tcp_rr rr); then every other sandbox opens
IDLE connections (tcp_rr hold) and keeps them; the probe measures again.
The ratio is issue 14's figure (target: at most 1.2 for 200 x 500).

Needs root (namespaces, TAP devices).  bench/run.py calls measure(); run
alone:  python3 bench/serve_idle.py ISLO TCP_RR [SANDBOXES IDLE]
"""
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PROFILE = """\
name: bench-serve
default_action: deny
rules:
  - name: bench-servers
    host_pattern: bench.example
    ports: ["%d-%d"]
    allow_private: true
"""


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def _wait_port(port, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class _Ns:
    def __init__(self, name):
        self.name = name
        self.etc = "/etc/netns/" + name
        subprocess.run(["ip", "netns", "add", name], check=True)
        batch = ("tuntap add tap0 mode tap\nlink set lo up\nlink set tap0 up\n"
                 "addr add 10.0.2.100/24 dev tap0\nroute add default via 10.0.2.2\n")
        subprocess.run(["ip", "-n", name, "-b", "-"], input=batch, text=True, check=True)
        os.makedirs(self.etc, exist_ok=True)
        with open(self.etc + "/resolv.conf", "w") as f:
            f.write("nameserver 10.0.2.3\n")

    def popen(self, cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.name] + cmd, **kw)

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.etc, ignore_errors=True)


def _rr(ns, tcp_rr, port, count):
    p = ns.popen([tcp_rr, "rr", "bench.example", str(port), str(count)],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=120)
    if p.returncode:
        raise RuntimeError("tcp_rr rr: " + err.strip())
    return json.loads(out.strip().splitlines()[-1])["p50_us"]


def measure(islo, tcp_rr, dns_port, sandboxes=200, idle=500, rr_count=20000, log=None):
    """Return {"serve_p50", "serve_idle_p50", "serve_idle_ratio"}."""
    say = log or (lambda m: None)
    tag = "bsi%d" % os.getpid()
    d = tempfile.mkdtemp(prefix="islo-bench-serve-")
    procs, spaces, holders = [], [], []
    total = sandboxes * idle
    # descriptors: as many as the hard limit allows (raising it needs
    # CAP_SYS_RESOURCE); the daemon reserves max_connections and a
    # quarter of it per sandbox, and refuses what does not fit
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    def need(k):
        return (k + 10) + max(4, (k + 10) // 4) + 8

    while idle > 1 and sandboxes * need(idle) > hard - min(64, hard // 8) - 200:
        idle -= 1
    total = sandboxes * idle
    # enough server ports that neither the loopback's ephemeral ports nor
    # one server's descriptors run out
    nports = max(1, total // min(20000, hard - 100) + 1)
    base = 15200 + (os.getpid() % 50)
    ports = list(range(base, base + nports))
    try:
        with open(os.path.join(d, "bench-serve.yaml"), "w") as f:
            f.write(PROFILE % (ports[0], ports[-1]))
        nofile = "--nofile=%d" % hard
        for p in ports:
            procs.append(subprocess.Popen(["prlimit", nofile, tcp_rr, "server", "127.0.0.1",
                                           str(p)], stdout=subprocess.DEVNULL))
            if not _wait_port(p):
                raise RuntimeError("tcp_rr server on port %d did not start" % p)
        ctl = os.path.join(d, "ctl.sock")
        daemon = subprocess.Popen(["prlimit", nofile, islo, "serve", "-q", "--control", ctl,
                                   "--dns-upstream", "127.0.0.1:%d" % dns_port],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(daemon)
        for _ in range(100):
            if os.path.exists(ctl):
                break
            time.sleep(0.05)
        say("serve_idle: %d sandboxes" % (sandboxes + 1))
        for i in range(sandboxes + 1):
            ns = _Ns("%s-%d" % (tag, i))
            spaces.append(ns)
            r = subprocess.run([islo, "ctl", "--control", ctl, "add", "--id", ns.name,
                                "--tap", "tap0", "--netns", "/run/netns/" + ns.name,
                                "--profiles-dir", d, "-g", "bench-serve",
                                "--max-connections", str(idle + 10)],
                               capture_output=True, text=True, timeout=30)
            if r.returncode:
                raise RuntimeError("ctl add: " + r.stdout + r.stderr)
        probe = spaces[0]
        time.sleep(0.5)
        _rr(probe, tcp_rr, ports[0], rr_count // 10)          # warm up
        p50 = _rr(probe, tcp_rr, ports[0], rr_count)
        say("serve_idle: p50 %.1f us; opening %d idle connections" % (p50, total))
        for i, ns in enumerate(spaces[1:]):
            holders.append(ns.popen(["prlimit", nofile, tcp_rr, "hold",
                                     "bench.example", str(ports[i % nports]), str(idle)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True))
        for h in holders:
            line = h.stdout.readline()
            if '"held"' not in line:
                raise RuntimeError("tcp_rr hold: " + line + h.stderr.read())
        time.sleep(1)
        idle_p50 = _rr(probe, tcp_rr, ports[0], rr_count)
        say("serve_idle: p50 %.1f us with %d idle" % (idle_p50, total))
        return {"serve_p50": p50, "serve_idle_p50": idle_p50,
                "serve_idle_ratio": idle_p50 / p50, "sandboxes": sandboxes,
                "idle_each": idle}
    finally:
        for h in holders:
            try:
                h.stdin.close()
            except OSError:
                pass
        for h in holders:
            try:
                h.wait(timeout=10)
            except subprocess.TimeoutExpired:
                h.kill()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        for ns in spaces:
            ns.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    islo, tcp_rr = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    k = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    port = _free_port()
    dns = subprocess.Popen(["dnsmasq", "-C", "/dev/null", "-k", "--no-resolv", "--no-hosts",
                            "--host-record=bench.example,127.0.0.1",
                            "--listen-address=127.0.0.1", "--bind-interfaces",
                            "--port=%d" % port, "--user=root", "--pid-file=",
                            "--log-facility=-"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        print(json.dumps(measure(islo, tcp_rr, port, n, k,
                                 log=lambda m: print(m, file=sys.stderr, flush=True))))
    finally:
        dns.terminate()
        dns.wait()
