# SPDX-License-Identifier: MIT
"""`islo-net serve` / `islo-net ctl`: many sandboxes in one process.

Every sandbox is a real network namespace with a TAP device served by one
daemon; real clients (curl, python) run inside the namespaces.  Shown here:
sandboxes added and removed at run time, each under its own profile; the
control socket refusing other users; profile reload keeping established
connections; Prometheus metrics over ctl and HTTP; one sandbox flooding
SYNs while another keeps its throughput and latency."""
import json
import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.request

import pytest

from conftest import ISLO, TEST_USER, audit_events, free_port, have_test_user

pytestmark = pytest.mark.skipif(os.getuid() != 0,
                                reason="namespaces with TAP devices need root")

PROFILES = {
    "dm-a": """\
name: dm-a
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{http}]
    allow_private: true
""",
    "dm-b": """\
name: dm-b
rules:
  - name: other
    host_pattern: other.example.com
    ports: [{http}]
    allow_private: true
""",
    "dm-c": """\
name: dm-c
rules:
  - name: wild
    host_pattern: "*.wild.example"
    ports: [{http}]
    allow_private: true
""",
}
CURL = ["curl", "-sS", "--max-time", "10"]


class Sandbox:
    """A network namespace with a TAP device, configured as a guest would."""

    def __init__(self, tag):
        self.ns = "islo-dm-%s-%d" % (tag, os.getpid())
        self.tap = "tap" + tag
        self.etc = "/etc/netns/" + self.ns
        for c in (["ip", "netns", "add", self.ns],
                  ["ip", "-n", self.ns, "tuntap", "add", self.tap, "mode", "tap"],
                  ["ip", "-n", self.ns, "link", "set", "lo", "up"],
                  ["ip", "-n", self.ns, "link", "set", self.tap, "up"],
                  ["ip", "-n", self.ns, "addr", "add", "10.0.2.100/24", "dev", self.tap],
                  ["ip", "-n", self.ns, "route", "add", "default", "via", "10.0.2.2"]):
            subprocess.run(c, check=True)
        os.makedirs(self.etc, exist_ok=True)
        with open(self.etc + "/resolv.conf", "w") as f:
            f.write("nameserver 10.0.2.3\n")

    def wait_v6(self):
        """The guest autoconfigures IPv6 from our router advertisement; a
        connection tried while its address is still tentative would hang
        (as on any network), so wait for DAD to finish."""
        for _ in range(50):
            a = subprocess.run(["ip", "-n", self.ns, "-6", "addr", "show", "dev", self.tap],
                               capture_output=True, text=True).stdout
            if "fd00:" in a and "tentative" not in a:
                return
            time.sleep(0.1)
        raise AssertionError("no IPv6 address from the RA: " + a)

    def run(self, cmd, timeout=30, **kw):
        return subprocess.run(["ip", "netns", "exec", self.ns] + cmd, capture_output=True,
                              text=True, timeout=timeout, **kw)

    def popen(self, cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.ns] + cmd, **kw)

    def fetch(self, host, port, path="/"):
        return self.run(CURL + ["http://%s:%d%s" % (host, port, path)])

    def close(self):
        subprocess.run(["ip", "netns", "del", self.ns])
        subprocess.run(["rm", "-rf", self.etc])


class Daemon:
    def __init__(self, world, scratch, extra=(), prefix=()):
        self.world = world
        self.sock = os.path.join(scratch, "ctl.sock")
        self.audit = os.path.join(scratch, "shared.log")
        self.metrics_port = free_port()
        self.log = os.path.join(scratch, "serve.log")
        self.p = subprocess.Popen(
            list(prefix) + [ISLO, "serve", "--control", self.sock, "--audit-log", self.audit,
             "--metrics-listen", "127.0.0.1:%d" % self.metrics_port,
             "--dns-upstream", "127.0.0.1:%d" % world.dns_port] + list(extra),
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"), text=True)
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        assert os.path.exists(self.sock), open(self.log).read()

    def ctl(self, *args, user=None):
        cmd = [ISLO, "ctl", "--control", self.sock] + list(args)
        if user:
            cmd = ["runuser", "-u", user, "--"] + cmd
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                              cwd=self.world.profiles)

    def ctl_json(self, *args):
        r = self.ctl(*args)
        assert r.returncode == 0, r
        return json.loads(r.stdout)

    def add(self, sb, sid, profile, *extra):
        r = self.ctl_json("add", "--id", sid, "--tap", sb.tap, "--netns",
                          "/run/netns/" + sb.ns, "--profiles-dir", self.world.profiles,
                          "-g", profile, *extra)
        sb.wait_v6()
        return r

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise
        log = open(self.log).read()
        # under the sanitizer build, any report fails the test
        assert "Sanitizer" not in log and "runtime error" not in log, log
        return rc


@pytest.fixture(scope="module", autouse=True)
def profiles(world):
    for name, text in PROFILES.items():
        world.profile(name, text)


@pytest.fixture
def sandboxes():
    made = []

    def make(tag):
        sb = Sandbox(tag)
        made.append(sb)
        return sb
    yield make
    for sb in made:
        sb.close()


@pytest.fixture
def daemon(world, scratch):
    d = Daemon(world, scratch)
    yield d
    if d.p.poll() is None:
        assert d.stop() == 0


def test_three_sandboxes_each_under_its_own_profile(world, scratch, daemon, sandboxes):
    a, b, c = sandboxes("a"), sandboxes("b"), sandboxes("c")
    own_audit = os.path.join(scratch, "c-own.log")
    daemon.add(a, "sb-a", "dm-a")
    daemon.add(b, "sb-b", "dm-b")
    daemon.add(c, "sb-c", "dm-c", "--audit-log", own_audit)
    listed = daemon.ctl_json("list")["sandboxes"]
    assert sorted((s["id"], s["profile"]) for s in listed) == [
        ("sb-a", "dm-a"), ("sb-b", "dm-b"), ("sb-c", "dm-c")]

    port = world.http_port
    # each sandbox reaches what its own profile allows, and nothing else
    expect = {a: "api.example.com", b: "other.example.com", c: "a.wild.example"}
    for sb, allowed in expect.items():
        for host in expect.values():
            r = sb.fetch(host, port, "/from-" + sb.tap)
            if host == allowed:
                assert r.returncode == 0 and "host=%s:%d path=/from-%s" % (
                    host, port, sb.tap) in r.stdout, (sb.ns, host, r)
            else:
                assert r.returncode == 7, (sb.ns, host, r)

    # the shared stream labels every event with its sandbox; C has its own
    shared = audit_events(open(daemon.audit).read())
    own = audit_events(open(own_audit).read())
    for sid, host in (("sb-a", "api.example.com"), ("sb-b", "other.example.com")):
        assert any(e["event"] == "connection" and e.get("action") == "allow" and
                   e.get("host") == host and e.get("sandbox") == sid for e in shared), sid
    assert not any(e.get("sandbox") == "sb-c" for e in shared)
    assert any(e["event"] == "connection" and e.get("action") == "allow" and
               e.get("host") == "a.wild.example" and e.get("sandbox") == "sb-c" for e in own)
    assert any(e["event"] == "connection" and e.get("action") == "deny" and
               e.get("host") == "api.example.com" and e.get("sandbox") == "sb-c" for e in own)

    st = daemon.ctl_json("stats", "--id", "sb-a")["sandbox"]
    assert st["connections"]["allow"] >= 1 and st["connections"]["deny"] >= 2, st

    # removed at run time: B's link is no longer served, A and C carry on
    assert daemon.ctl_json("remove", "--id", "sb-b") == {"ok": True}
    assert [s["id"] for s in daemon.ctl_json("list")["sandboxes"]] != []
    assert "sb-b" not in [s["id"] for s in daemon.ctl_json("list")["sandboxes"]]
    gone = b.run(CURL[:-1] + ["3", "http://other.example.com:%d/" % port])
    assert gone.returncode != 0, gone
    assert a.fetch("api.example.com", port, "/still").returncode == 0
    assert c.fetch("a.wild.example", port, "/still").returncode == 0
    # ... and added again, under another profile
    daemon.add(b, "sb-b2", "dm-a")
    assert b.fetch("api.example.com", port, "/back").returncode == 0
    assert b.fetch("other.example.com", port, "/").returncode == 7

    # errors are answers, not crashes
    dup = daemon.ctl("add", "--id", "sb-a", "--tap", "tapx", "--netns", "/run/netns/" + a.ns,
                     "--profiles-dir", world.profiles, "-g", "dm-a")
    assert dup.returncode == 1 and "exists" in dup.stderr, dup
    nosuch = daemon.ctl("stats", "--id", "nope")
    assert nosuch.returncode == 1 and "no such sandbox" in nosuch.stderr
    assert daemon.p.poll() is None
    assert daemon.stop() == 0
    assert not os.path.exists(daemon.sock)


def test_control_socket_is_its_owners_only(world, daemon):
    if not have_test_user():
        pytest.skip("no test user")
    st = os.stat(daemon.sock)
    assert st.st_mode & 0o077 == 0
    # even with the file opened up, the daemon checks who is calling
    os.chmod(daemon.sock, 0o666)
    os.chmod(os.path.dirname(daemon.sock), 0o755)
    r = daemon.ctl("list", user=TEST_USER)
    assert r.returncode == 1 and "only the daemon's owner" in r.stderr, r
    assert daemon.ctl_json("list") == {"ok": True, "sandboxes": []}


def test_malformed_requests_are_refused(daemon):
    for line in (b"not json\n", b'{"cmd":"list","cmd":"list"}\n', b'{"cmd":["x"]}\n',
                 b'{"cmd":"add","id":"../x","tap_fd":true}\n', b"\xff\xfe{}\n",
                 b'{"cmd":"add","id":"x","profile_path":"/nonexistent","qemu_socket":"/tmp/q"}\n',
                 b"{" + b'"k":"' + b"a" * 9000 + b'"}\n'):
        s = socket.socket(socket.AF_UNIX)
        s.connect(daemon.sock)
        s.sendall(line)
        s.settimeout(5)
        try:
            ans = s.recv(65536)
        except ConnectionResetError:
            ans = b""
        s.close()
        if ans:
            assert json.loads(ans)["ok"] is False, (line, ans)
    assert daemon.ctl_json("list")["ok"] is True
    assert daemon.p.poll() is None


KEEPALIVE = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
def get(path):
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n" % (path, sys.argv[1], sys.argv[2])).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, body = buf.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(4096)
    return body.decode()
sys.stdout.write(get("/one")); sys.stdout.flush()
sys.stdin.readline()
sys.stdout.write(get("/two")); sys.stdout.flush()
"""


def test_reload_keeps_established_connections(world, scratch, daemon, sandboxes):
    a = sandboxes("r")
    port = world.http_port
    path = world.profile("dm-r", PROFILES["dm-a"].replace("dm-a", "dm-r"))
    daemon.add(a, "sb-r", "dm-r")
    client = a.popen(["/usr/bin/python3", "-c", KEEPALIVE, "api.example.com", str(port)],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True)
    assert "path=/one" in client.stdout.readline()

    # the new profile refuses api.example.com
    with open(path, "w") as f:
        f.write(PROFILES["dm-b"].replace("dm-b", "dm-r").format(http=port))
    r = daemon.ctl_json("reload")
    assert r["ok"] is True and r["errors"] == [], r
    assert daemon.ctl_json("stats", "--id", "sb-r")["sandbox"]["generation"] == 2
    # a new connection follows the new rules ...
    assert a.fetch("api.example.com", port).returncode == 7
    assert a.fetch("other.example.com", port, "/new").returncode == 0
    # ... and so does the next request of the established one: plain
    # HTTP to a name is read request by request, each decided by the
    # profile in force when it comes (issue 13: revocation)
    client.stdin.write("\n")
    client.stdin.flush()
    two = client.stdout.readline()
    assert "path=/two" not in two and "blocked by gateway profile" in two, two
    assert client.wait(timeout=10) == 0

    # a broken profile is reported and changes nothing
    with open(path, "w") as f:
        f.write("name: dm-r\nrules:\n  - name: x\n    host_pattern: [oops\n")
    bad = daemon.ctl("reload", "--id", "sb-r")
    assert bad.returncode == 1 and "dm-r.yaml:" in bad.stdout, bad
    st = daemon.ctl_json("stats", "--id", "sb-r")["sandbox"]
    assert st["generation"] == 2 and st["reload_errors"] == 1, st
    assert a.fetch("other.example.com", port, "/after-bad").returncode == 0
    assert a.fetch("api.example.com", port).returncode == 7

    # SIGHUP re-reads every profile too
    with open(path, "w") as f:
        f.write(PROFILES["dm-a"].replace("dm-a", "dm-r").format(http=port))
    daemon.p.send_signal(signal.SIGHUP)
    for _ in range(50):
        if daemon.ctl_json("stats", "--id", "sb-r")["sandbox"]["generation"] == 3:
            break
        time.sleep(0.1)
    assert a.fetch("api.example.com", port, "/hup").returncode == 0
    ev = audit_events(open(daemon.audit).read())
    reloads = [e for e in ev if e["event"] == "profile_reload"]
    assert [e["result"] for e in reloads] == ["ok", "error", "ok"], reloads
    assert daemon.p.poll() is None


def test_metrics_over_ctl_and_http(world, daemon, sandboxes):
    a = sandboxes("m")
    daemon.add(a, "sb-m", "dm-a")
    port = world.http_port
    assert a.fetch("api.example.com", port).returncode == 0
    assert a.fetch("other.example.com", port).returncode == 7
    ev = audit_events(open(daemon.audit).read())
    text = daemon.ctl("metrics").stdout
    scraped = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % daemon.metrics_port,
                                     timeout=5).read().decode()
    for t in (text, scraped):
        samples = {}
        for line in t.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                samples[k] = float(v)
        assert samples["islo_sandboxes"] == 1
        # the counters agree with the audit log
        for action in ("allow", "deny"):
            n = sum(1 for e in ev if e["event"] == "connection" and e.get("phase") == "open"
                    and e.get("proto") == "tcp" and e.get("action") == action)
            assert n >= 1
            assert samples['islo_connections_total{sandbox="sb-m",action="%s"}' % action] == n
        assert samples['islo_dns_answers_total{sandbox="sb-m",action="allow"}'] >= 1
        assert samples['islo_policy_denials_total{sandbox="sb-m"}'] >= 2
        assert samples['islo_bytes_total{sandbox="sb-m",direction="down"}'] > 0
        assert "# TYPE islo_connections_total counter" in t
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen("http://127.0.0.1:%d/other" % daemon.metrics_port, timeout=5)


FLOOD = r"""
import os, socket, struct, sys, time
# SYNs from random ports to the synthetic address of an allowed name, as
# fast as one process can write them to the TAP's raw socket
dst = socket.inet_aton(sys.argv[1]); port = int(sys.argv[2]); secs = float(sys.argv[3])
src = socket.inet_aton("10.0.2.100")
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
n = 0; end = time.time() + secs
while time.time() < end:
    sp = 1024 + (n % 60000)
    tcp = struct.pack("!HHIIBBHHH", sp, port, (n * 7919) & 0xffffffff, 0, 5 << 4, 0x02, 65535, 0, 0)
    c = csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, n & 0xffff, 0, 64, 6, 0, src, dst)
    try:
        s.sendto(ip + tcp, (sys.argv[1], 0))
    except OSError:
        pass
    n += 1
print(n)
"""

PROBE = r"""
import socket, sys, time
host, port, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lat = []
for i in range(rounds):
    t = time.time()
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(("GET /p HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (host, port)).encode())
    while s.recv(65536):
        pass
    s.close()
    lat.append(time.time() - t)
t = time.time()
s = socket.create_connection((host, port), timeout=30)
s.sendall(("GET /zeros/%d HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (64 << 20, host, port)).encode())
n = 0
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    n += len(b)
print(" ".join("%.6f" % x for x in lat), n / (time.time() - t))
"""


def probe(sb, port):
    r = sb.run(["/usr/bin/python3", "-c", PROBE, "api.example.com", str(port), "40"], timeout=120)
    assert r.returncode == 0, r
    *lat, rate = r.stdout.split()
    return statistics.median(float(x) for x in lat), float(rate)


def test_syn_flood_in_one_sandbox_does_not_starve_another(world, scratch, sandboxes, capsys):
    # the flooding sandbox gets a small connection limit, as an operator would
    # an upstream that never accepts: every allowed SYN of the flood is
    # held while its upstream connect hangs, so the flooder hits its limit
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(1)
    sink_port = sink.getsockname()[1]
    world.profile("dm-flood", PROFILES["dm-a"].replace("dm-a", "dm-flood").replace(
        "ports: [{http}]", "ports: [%d]" % sink_port))
    d = Daemon(world, scratch)
    try:
        flooder, victim = sandboxes("f"), sandboxes("v")
        d.add(flooder, "flooder", "dm-flood", "--max-connections", "64")
        d.add(victim, "victim", "dm-a")
        port = world.http_port
        base_lat, base_rate = probe(victim, port)
        addr = flooder.run(["getent", "ahostsv4", "api.example.com"]).stdout.split()[0]
        fl = flooder.popen(["/usr/bin/python3", "-c", FLOOD, addr, str(sink_port), "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        lat, rate = probe(victim, port)
        out, errs = fl.communicate(timeout=60)
        assert out.strip().isdigit(), (out, errs)
        sent = int(out)
        st = d.ctl_json("stats", "--id", "flooder")["sandbox"]
        vst = d.ctl_json("stats", "--id", "victim")["sandbox"]
        with capsys.disabled():
            print("\n  SYN flood: %d SYNs from the flooder (%d dropped from its half-open queue);"
                  "\n  victim p50 connect+request %.2f ms -> %.2f ms (%.1fx), download "
                  "%.0f -> %.0f MB/s (%.0f%%)" % (
                      sent, st["half_open_dropped"], base_lat * 1e3, lat * 1e3,
                      lat / base_lat, base_rate / 1e6, rate / 1e6, 100 * rate / base_rate))
        assert sent > 10000, sent
        # the held SYNs are half-open: the oldest make room for the newest
        # (a SYN queue), so the flood is dropped, not refused over the limit
        assert st["half_open_dropped"] > 1000, st
        assert st["half_open"] <= 64, st
        # the limit, plus dropped flows freed at the end of the loop turn
        # (the loop reads at most 64 frames per sandbox per turn)
        assert st["connections_open"] <= 64 + 64 + 1, st
        # the bound: issue 14's targets are half the throughput and the p50
        # within 2x (typically 75-100 % and 1.0x here); asserted with margin,
        # as the flooder's own process and other tests share two cores
        # under ASan every frame the flood costs the one loop is several
        # times dearer (the ordinary build is the one that meets 2x)
        slow = 2 if "asan" in ISLO else 1
        assert rate >= base_rate / (2.5 * slow), (base_rate, rate)
        assert lat <= max(2 * slow * base_lat, base_lat + 0.002 * slow), (base_lat, lat)
        assert vst["refused_over_limit"] == 0
        assert d.p.poll() is None
    finally:
        sink.close()
        if d.p.poll() is None:
            assert d.stop() == 0


def test_a_sandbox_without_a_profile_is_a_nat(world, scratch, daemon, sandboxes):
    """`ctl add` resolves no profile (no -g, no islo.yaml): the daemon
    serves the sandbox as `run` would, an unrestricted NAT with
    slirp4netns's addresses; the request must say so (`"nat":true`)."""
    sb = sandboxes("n")
    r = daemon.ctl("add", "--id", "sb-nat", "--tap", sb.tap, "--netns", "/run/netns/" + sb.ns)
    assert r.returncode == 0 and "unrestricted" in r.stderr, r
    assert json.loads(r.stdout)["sandbox"]["profile"] == "nat", r
    sb.wait_v6()
    # 10.0.2.2 is the host's loopback; DNS gets the resolver's own answer
    got = sb.fetch("10.0.2.2", world.http_port, "/nat")
    assert got.returncode == 0 and "path=/nat" in got.stdout, got
    dns = sb.run(["getent", "ahostsv4", "api.example.com"])
    assert dns.returncode == 0 and dns.stdout.split()[0] == "127.0.0.1", dns
    # nothing to re-read; the NAT carries on
    assert daemon.ctl_json("reload", "--id", "sb-nat")["ok"] is True
    assert sb.fetch("10.0.2.2", world.http_port, "/again").returncode == 0
    slirp = daemon.ctl("add", "--id", "sb-x", "--tap", "tapx", "--netns",
                       "/run/netns/" + sb.ns, "--nat", "slirp")
    assert slirp.returncode != 0 and "run and tap only" in slirp.stderr, slirp
    # a request never gets the NAT by leaving the profile out: it must ask,
    # and cannot ask for both
    for line in (b'{"cmd":"add","id":"q1","qemu_socket":"%s"}\n',
                 b'{"cmd":"add","id":"q2","nat":true,"profile_path":"/etc/passwd",'
                 b'"qemu_socket":"%s"}\n',
                 b'{"cmd":"add","id":"q3","nat":"yes","qemu_socket":"%s"}\n'):
        s = socket.socket(socket.AF_UNIX)
        s.connect(daemon.sock)
        s.sendall(line % os.path.join(scratch, "q.sock").encode())
        s.settimeout(5)
        ans = json.loads(s.recv(65536))
        s.close()
        assert ans["ok"] is False and "profile_path" in ans["error"], (line, ans)
    assert [x["id"] for x in daemon.ctl_json("list")["sandboxes"]] == ["sb-nat"]
    assert daemon.ctl_json("remove", "--id", "sb-nat") == {"ok": True}
    ev = audit_events(open(daemon.audit).read())
    assert any(e["event"] == "connection" and e.get("sandbox") == "sb-nat" and
               e.get("action") == "allow" for e in ev), ev[-5:]


def test_qemu_socket_sandbox(world, scratch, daemon):
    from test_vm import Stream, fr
    path = os.path.join(scratch, "vm.sock")
    r = daemon.ctl_json("add", "--id", "vm", "--qemu-socket", path,
                        "--profiles-dir", world.profiles, "-g", "dm-a")
    assert r["sandbox"]["link"] == "qemu" and r["sandbox"]["link_up"] is False
    assert os.stat(path).st_mode & 0o077 == 0
    g = Stream(path)
    g.send(fr.arp(fr.GW4))
    g.recv_until(lambda f: f[12:14] == b"\x08\x06")
    g.send(fr.udp4(fr.ME4, fr.DNS4, 5353, 53, fr.dnsq("api.example.com")))
    d = g.recv_until(lambda f: f[12:14] == b"\x08\x00" and f[23] == 17)
    assert d[42:44] == b"\x12\x34" and d[-4] == 198, d
    assert daemon.ctl_json("stats", "--id", "vm")["sandbox"]["link_up"] is True
    g.s.close()
    assert daemon.ctl_json("remove", "--id", "vm") == {"ok": True}
    for _ in range(20):
        if not os.path.exists(path):
            break
        time.sleep(0.05)
    assert not os.path.exists(path)
    ev = audit_events(open(daemon.audit).read())
    assert any(e["event"] == "dns" and e.get("sandbox") == "vm" and
               e["host"] == "api.example.com" for e in ev)
    assert [e["phase"] for e in ev if e["event"] == "sandbox"] == ["add", "remove"]


def test_intercepting_sandboxes_share_the_ca(world, scratch, sandboxes):
    """Two sandboxes under a profile that intercepts TLS and injects a
    credential from a file: the daemon made its CA before dropping its
    privileges, both sandboxes get leaves from it, and the secret reaches
    upstream only."""
    secret = "dm-s3cr3t-%s" % os.urandom(4).hex()
    sfile = os.path.join(scratch, "token")
    with open(sfile, "w") as f:
        f.write(secret)
    os.chmod(sfile, 0o600)
    path = world.profile("dm-tls", """\
name: dm-tls
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: file:%s
""" % sfile)
    os.chmod(path, 0o644)
    ca_dir = os.path.join(scratch, "ca")
    d = Daemon(world, scratch, extra=["--ca-dir", ca_dir, "--upstream-ca", world.ca])
    try:
        ca = subprocess.run([ISLO, "ca", "path", "--ca-dir", ca_dir], capture_output=True,
                            text=True, check=True).stdout.strip()
        for tag in ("t1", "t2"):
            sb = sandboxes(tag)
            d.add(sb, "sb-" + tag, "dm-tls")
            r = sb.run(CURL + ["--cacert", ca, "https://api.example.com:%d/headers?%s"
                               % (world.https_port, tag + ca_dir[-6:])])
            assert r.returncode == 0, r
            # upstream got the secret; its echo reached the sandbox scrubbed
            import servers
            saw = [x for x in servers.RECORDED if x["path"].endswith(tag + ca_dir[-6:])][-1]
            auth = [v for k, v in saw["headers"] if k.lower() == "authorization"]
            assert auth == ["Bearer " + secret], saw
            assert secret not in r.stdout, r
        ev = audit_events(open(d.audit).read())
        reqs = [e for e in ev if e["event"] == "http_request"]
        assert sorted(e["sandbox"] for e in reqs) == ["sb-t1", "sb-t2"], reqs
        assert secret not in open(d.audit).read() and secret not in open(d.log).read()
        st = d.ctl_json("stats", "--id", "sb-t1")["sandbox"]
        assert st["tls_handshakes"] == 1 and st["http"]["allow"] == 1, st
    finally:
        if d.p.poll() is None:
            assert d.stop() == 0


HOLD_MANY = r"""
import json, socket, sys
addr = socket.getaddrinfo("api.example.com", None, socket.AF_INET)[0][4][0]
socks, refused, other = [], 0, 0
for i in range(int(sys.argv[2])):
    try:
        socks.append(socket.create_connection((addr, int(sys.argv[1])), timeout=5))
    except ConnectionRefusedError:
        refused += 1
    except OSError:
        other += 1
print(json.dumps({"open": len(socks), "refused": refused, "other": other}), flush=True)
sys.stdin.read()
"""


def test_descriptors_are_reserved_per_sandbox(world, scratch, sandboxes):
    """`ulimit -n 1024` for the daemon: each sandbox reserves what its
    connection limit can use; one holding every connection it may have
    never takes another's descriptors, and a sandbox that does not fit is
    refused at `ctl add`, with the reason."""
    hold = subprocess.Popen(["/usr/bin/python3", "-c", r"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(4096); print(s.getsockname()[1], flush=True)
held = []
while True: held.append(s.accept()[0])
"""], stdout=subprocess.PIPE, text=True)
    port = int(hold.stdout.readline())
    world.profile("dm-hold", PROFILES["dm-a"].replace("dm-a", "dm-hold").replace(
        "ports: [{http}]", "ports: [%d]" % port))
    d = Daemon(world, scratch, prefix=["prlimit", "--nofile=1024:1024", "--"])
    try:
        a, b, c = sandboxes("a"), sandboxes("b"), sandboxes("c")
        # the default limit (4096 connections) cannot fit in 1024
        r = d.ctl("add", "--id", "big", "--tap", a.tap, "--netns", "/run/netns/" + a.ns,
                  "--profiles-dir", world.profiles, "-g", "dm-hold")
        assert r.returncode != 0 and "not enough file descriptors" in r.stdout + r.stderr, r
        d.add(a, "a", "dm-hold", "--max-connections", "400")
        d.add(b, "b", "dm-hold", "--max-connections", "300")
        r = d.ctl("add", "--id", "c", "--tap", c.tap, "--netns", "/run/netns/" + c.ns,
                  "--profiles-dir", world.profiles, "-g", "dm-hold",
                  "--max-connections", "300")
        assert r.returncode != 0 and "not enough file descriptors" in r.stdout + r.stderr, r
        pa = a.popen(["/usr/bin/python3", "-c", HOLD_MANY, str(port), "600"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ra = json.loads(pa.stdout.readline())
        assert ra["open"] == 400 and ra["refused"] == 200 and ra["other"] == 0, ra
        # a at its limit: b still has all of its own
        pb = b.popen(["/usr/bin/python3", "-c", HOLD_MANY, str(port), "300"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        rb = json.loads(pb.stdout.readline())
        assert rb["open"] == 300 and rb["refused"] == 0 and rb["other"] == 0, rb
        for p in (pa, pb):
            p.stdin.close()
            p.wait(timeout=30)
        assert "Too many open files" not in open(d.log).read()
    finally:
        hold.kill()
        hold.wait()
        if d.p.poll() is None:
            assert d.stop() == 0


FRAG_DNS = r"""
which = sys.argv[1]
q = dnsq("api.example.com", 0x4242)
seg = udp(socket.AF_INET, ME4, "10.0.2.3", 5353, 53, q)
fr = frags4(ME4, "10.0.2.3", 17, seg, [(0, 16), (16, len(seg) - 16)], 0x5151)
send([fr[0] if which == "first" else fr[1]], socket.AF_INET)
def m(v, proto, l4, ip):
    return True if proto == 17 and l4[:2] == b"\x00\x35" and l4[8:10] == b"\x42\x42" else None
print(json.dumps(bool(sniff(m, 0.7))))
"""


def test_fragments_of_two_sandboxes_never_meet(world, daemon, sandboxes):
    """Both sandboxes have the same addresses: the first half of a DNS
    query from one and the second from the other (same ID) complete
    nothing; the first sandbox's own second half completes its query."""
    from test_frag import LIB
    a, b = sandboxes("fa"), sandboxes("fb")
    daemon.add(a, "fa", "dm-a")
    daemon.add(b, "fb", "dm-b")

    def half(sb, which):
        r = sb.run(["/usr/bin/python3", "-c", LIB + FRAG_DNS, which])
        assert r.returncode == 0, r
        return json.loads(r.stdout.strip().splitlines()[-1])

    assert half(a, "first") is False
    assert half(b, "second") is False        # not a's datagram
    assert half(a, "second") is True         # a's own: answered, to a
    assert half(b, "first") is True          # and b's own halves meet too


SPOOF_DNS = r"""
import json, random, socket, struct, sys, time
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
dst = socket.inet_aton("10.0.2.3")
pk = []
for i in range(4096):
    src = socket.inet_aton("10.0.2.%d" % random.randint(10, 250))
    tcp = struct.pack("!HHIIBBHHH", random.randint(1024, 65535), 53, random.getrandbits(32), 0,
                      5 << 4, 2, 65535, 0, 0)
    c = csum(src + dst + struct.pack("!BBH", 0, 6, 20) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i, 0, 64, 6, 0, src, dst)
    pk.append(ip + tcp)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
n = sent = 0
while sent < int(sys.argv[1]):
    try:
        s.sendto(pk[n % len(pk)], ("10.0.2.3", 0)); sent += 1
    except OSError:
        time.sleep(0.0005)
    n += 1
time.sleep(0.02)
t = time.time()
q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03api\x07example\x03com\x00\x00\x01\x00\x01"
c = socket.create_connection(("10.0.2.3", 53), timeout=5)
c.sendall(struct.pack("!H", len(q)) + q)
ok = len(c.recv(2)) == 2
print(json.dumps({"sent": sent, "next_s": time.time() - t, "ok": ok}))
"""


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_spoofed_syns_at_dns_over_tcp_are_bounded(world, daemon, sandboxes):
    """300,000 SYNs from spoofed sources (nobody answers the SYN-ACKs) at
    10.0.2.3:53: the flows stay within the half-open queue, the daemon's
    memory comes back within 2x, the flooder's next DNS-over-TCP query
    is answered at once, and another sandbox never notices."""
    a, b = sandboxes("sa"), sandboxes("sb")
    daemon.add(a, "sa", "dm-a")
    daemon.add(b, "sb", "dm-b")
    assert b.run(["getent", "hosts", "other.example.com"]).returncode == 0
    rss0 = rss_kb(daemon.p.pid)
    r = a.run(["/usr/bin/python3", "-c", SPOOF_DNS, "300000"], timeout=120)
    assert r.returncode == 0, r
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["next_s"] < 1.0, out
    st = daemon.ctl_json("stats", "--id", "sa")["sandbox"]
    assert st["half_open"] <= 128 and st["connections_open"] <= 128 + 64 + 1, st
    # paced under pressure (16 frames per 2 ms: it shares the loop), most
    # of the flood is dropped by its own TAP queue; what the gateway read
    # went through the half-open queue, and its lines are a few hundred,
    # the rest counted
    assert st["half_open_dropped"] > 2000, st
    assert st["audit_suppressed"]["half_open"] > 1000, st
    time.sleep(1)
    rss1 = rss_kb(daemon.p.pid)
    if "asan" not in ISLO:
        assert rss1 <= 2 * rss0, (rss0, rss1)
    rb = b.run(CURL + ["http://other.example.com:%d/" % world.http_port])
    assert rb.returncode == 0, rb
