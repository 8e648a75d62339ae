# SPDX-License-Identifier: MIT
"""The sandbox cannot undo its own confinement (issue 12).

CMD is root with every capability in its user namespace.  Each test runs
the attacks a hostile CMD would try, from inside `islo-net run`, as root
and as the ordinary test user, and checks from outside that they failed:
hidden secrets and the CA stay hidden, host processes stay out of view,
the audit log is unchanged, the next run is no more permissive, and a
daemon's control socket refuses the sandbox."""
import json
import os
import pwd
import subprocess
import time

import pytest

from conftest import ISLO, TEST_USER, audit_events, free_port

SECRET = "c0nf1ned-S3cret-9a8b7c"

PROFILE = """\
name: confined
default_action: deny
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{http}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: file:%s
"""

STRICT = """\
name: strict
default_action: deny
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{http}]
    allow_private: true
"""

LOOSE = """\
name: strict
default_action: allow
rules:
  - name: all
    host_pattern: "*.example.com"
    ports: [{http}]
    allow_private: true
"""

CURL = ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}"]


def owned(islo, path):
    if islo.who == "user":
        u = pwd.getpwnam(TEST_USER)
        os.chown(path, u.pw_uid, u.pw_gid)


def secret_profile(islo, world):
    secret = os.path.join(islo.tmp, "secrets", "token")
    os.makedirs(os.path.dirname(secret))
    with open(secret, "w") as f:
        f.write(SECRET)
    os.chmod(secret, 0o600)
    owned(islo, secret)
    owned(islo, os.path.dirname(secret))
    # outside the working directory (the project): a profile kept there
    # would need `islo-net trust` first
    prof = world.profile("confined-%s" % islo.who, PROFILE % secret)
    return secret, prof


# Every way we know to look under a mount, each printing what it saw.
UNDO = r"""
S="$1"; D=$(dirname "$S")
umount "$S" 2>/dev/null; cat "$S" 2>/dev/null; echo
umount -l "$S" 2>/dev/null; cat "$S" 2>/dev/null; echo
umount "$D" 2>/dev/null; cat "$S" 2>/dev/null; echo
mkdir -p /tmp/m1 /tmp/m2
mount --move "$S" /tmp/m1/x 2>/dev/null; cat /tmp/m1/x 2>/dev/null; echo
mount --bind "$D" /tmp/m2 2>/dev/null && cat /tmp/m2/$(basename "$S") 2>/dev/null; echo
mount -o remount,rw "$S" 2>/dev/null; echo
unshare -Urm sh -c "umount -l '$S'; cat '$S'" 2>/dev/null; echo
unshare -m sh -c "umount -l '$S'; cat '$S'" 2>/dev/null; echo
mount -t tmpfs none /tmp/m2 2>/dev/null; echo
unshare -m sh -c "mkdir -p /tmp/nr && mount --rbind / /tmp/nr && cd /tmp/nr && mkdir -p old && pivot_root . old && umount -l /old 2>/dev/null; umount -l '$S' 2>/dev/null; cat '$S'" 2>/dev/null; echo
unshare -m sh -c "mount --bind / /tmp/m2 && cat /tmp/m2'$S'" 2>/dev/null; echo
cat /proc/1/root"$S" 2>/dev/null; echo
python3 - "$S" <<'EOF' 2>/dev/null
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class H(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint), ("type", ctypes.c_int), ("h", ctypes.c_ubyte * 128)]
h = H(); h.bytes = 128; mnt = ctypes.c_int()
# a handle for the file from its own file system: what open_by_handle_at
# would open, under the mount that hides it
if libc.name_to_handle_at(-100, os.path.dirname(sys.argv[1]).encode(), ctypes.byref(h), ctypes.byref(mnt), 0) == 0:
    fd = libc.open_by_handle_at(os.open("/", os.O_RDONLY), ctypes.byref(h), 0)
    print("open_by_handle_at", fd, ctypes.get_errno())
EOF
echo done
"""


def test_hidden_secret_survives_every_unmount(islo, world):
    secret, prof = secret_profile(islo, world)
    r = islo(["sh", "-c", UNDO, "sh", secret], prof)
    assert r.rc == 0 and "done" in r.out, r
    assert SECRET not in r.out and SECRET not in r.err, r
    assert "open_by_handle_at -1" in r.out or "open_by_handle_at" not in r.out, r
    # and the secret is still injected: the gateway read it before
    assert SECRET not in r.audit


def test_ca_key_stays_unreadable(islo, world):
    # the CA is made on first use, in the state directory
    p = islo.cli(["ca", "export"])
    assert p.returncode == 0 and "BEGIN CERTIFICATE" in p.stdout, p
    cadir = os.path.join(islo.tmp, "state", "islo-net")
    key = [f for f in os.listdir(cadir) if "key" in f]
    assert key, os.listdir(cadir)
    keypath = os.path.join(cadir, key[0])
    keytext = open(keypath).read()
    assert "PRIVATE KEY" in keytext
    world.profile("strict", STRICT.format(http=world.http_port))
    for prof in (None, "strict"):
        r = islo(["sh", "-c", UNDO + "\ncat %s/*key* 2>/dev/null; echo; ls -a %s" %
                  (cadir, cadir), "sh", keypath], prof)
        assert r.rc == 0 and "done" in r.out, r
        assert "PRIVATE KEY" not in r.out, r
        assert key[0] not in r.out, r


def test_host_processes_stay_out_of_view(islo):
    r = islo(["sh", "-c", r"""
umount /proc 2>/dev/null; echo umount=$?
umount -l /proc 2>/dev/null; echo lazy=$?
mkdir -p /tmp/p; mount -t proc proc /tmp/p 2>/dev/null; echo newproc=$?
ls /tmp/p 2>/dev/null | grep -c '^[0-9]'
echo pids=$(ls /proc | grep -c '^[0-9]')
cat /proc/1/environ >/dev/null 2>&1; echo environ=$?
ls /proc/1/root/ >/dev/null 2>&1; echo root=$?
unshare -Urm sh -c 'umount -l /proc; echo inner=$(ls /proc | grep -c "^[0-9]")' 2>/dev/null
"""])
    assert r.rc == 0, r
    v = dict(l.split("=", 1) for l in r.out.split() if "=" in l)
    assert v["umount"] != "0" and v["lazy"] != "0" and v["newproc"] != "0", r
    assert int(v["pids"]) < 10, r
    assert v["environ"] != "0" and v["root"] != "0", r
    if "inner" in v:
        assert int(v["inner"]) < 10, r
    # the gateway's own command line (the audit log's path) is not there
    assert "audit.log" not in r.out


def test_audit_log_cannot_be_rewritten(islo, world):
    world.profile("strict", STRICT.format(http=world.http_port))
    r = islo(["sh", "-c", r"""
L="$1"
curl -sS -m 5 -o /dev/null http://api.example.com:%d/ ; sleep 0.3
( echo '{"event":"forged"}' >> "$L" ) 2>/dev/null; echo append=$?
( : > "$L" ) 2>/dev/null; echo trunc=$?
truncate -s 0 "$L" 2>/dev/null; echo truncate=$?
rm -f "$L" 2>/dev/null; echo rm=$?
mv "$L" "$L.x" 2>/dev/null; echo mv=$?
umount "$L" 2>/dev/null; echo umount=$?
chmod 666 "$L" 2>/dev/null; echo chmod=$?
mv "$(dirname "$L")" "$(dirname "$L").moved" 2>/dev/null; echo mvdir=$?
curl -sS -m 5 -o /dev/null http://other.example.com:%d/ ; echo done
""" % (world.http_port, world.http_port), "sh", os.path.join(islo.tmp, "audit.log")], "strict")
    assert "done" in r.out, r
    v = dict(l.split("=", 1) for l in r.out.split() if "=" in l)
    for k in ("append", "trunc", "truncate", "rm", "mv", "umount", "chmod", "mvdir"):
        assert v[k] != "0", (k, r)
    ev = audit_events(r.audit)
    assert not any(e.get("event") == "forged" for e in ev), r.audit
    hosts = [(e.get("host"), e.get("action")) for e in ev if e.get("event") == "connection"]
    assert ("api.example.com", "allow") in hosts and ("other.example.com", "deny") in hosts, r.audit


def test_profiles_and_config_are_read_only(islo, world):
    world.profile("strict", STRICT.format(http=world.http_port))
    cfg = os.path.join(islo.tmp, "xdg", "islo", "profiles")
    r = islo(["sh", "-c", r"""
( echo 'default_action: allow' >> "$1" ) 2>/dev/null; echo prof=$?
touch "$2/new.yaml" 2>/dev/null; echo dir=$?
touch "$3/strict.yaml" 2>/dev/null; echo cfg=$?
mkdir -p "$4/islo-net" 2>/dev/null; touch "$4/islo-net/trusted" 2>/dev/null; echo state=$?
mv "$(dirname "$3")" "$(dirname "$3").x" 2>/dev/null; echo mvcfg=$?
mv "$(dirname "$(dirname "$3")")" "$(dirname "$(dirname "$3")").x" 2>/dev/null; echo mvxdg=$?
test -w "$5"; echo exe=$?
echo done
""", "sh", os.path.join(world.profiles, "strict.yaml"), world.profiles, cfg,
        os.path.join(islo.tmp, "state"), ISLO], "strict")
    assert "done" in r.out, r
    v = dict(l.split("=", 1) for l in r.out.split() if "=" in l)
    for k in ("prof", "dir", "cfg", "state", "mvcfg", "mvxdg", "exe"):
        assert v[k] != "0", (k, r)
    assert "default_action: allow" not in open(os.path.join(world.profiles, "strict.yaml")).read()
    assert os.path.isdir(cfg) and not os.listdir(cfg)


def project(islo, text):
    proj = os.path.join(islo.tmp, "proj")
    os.makedirs(os.path.join(proj, "profiles"), exist_ok=True)
    with open(os.path.join(proj, "islo.yaml"), "w") as f:
        f.write(text)
    for p in (proj, os.path.join(proj, "profiles"), os.path.join(proj, "islo.yaml")):
        owned(islo, p)
    return proj


def test_next_run_is_no_more_permissive(islo, world):
    """The project names a strict profile kept in the project; CMD tries
    every rewrite it can; the next run with the same command line from
    the same directory still refuses the other host, or refuses to start
    and says why."""
    proj = project(islo, "gateway_profile: projstrict\n")
    prof = os.path.join(proj, "profiles", "projstrict.yaml")
    with open(prof, "w") as f:
        f.write(STRICT.format(http=world.http_port).replace("strict", "projstrict"))
    owned(islo, prof)
    # untrusted: refused before CMD runs, naming the file and the command
    r = islo(["true"], cwd=proj)
    assert r.rc == 125 and "islo.yaml is not trusted" in r.err and "islo-net trust" in r.err, r
    islo.trust(cwd=proj)
    other = "http://other.example.com:%d/" % world.http_port
    r = islo(CURL + [other], cwd=proj)
    assert r.out == "000", r
    attack = r"""
L='%s'
( printf 'gateway_profile: loose\n' > islo.yaml ) 2>/dev/null; echo w=$?
rm -f islo.yaml; echo rm=$?
( printf '%%s' "$L" > profiles/projstrict.yaml ) 2>/dev/null; echo prof=$?
mv profiles profiles.old 2>/dev/null; echo mvp=$?
mkdir -p sub; printf 'gateway_profile: loose\n' > sub/islo.yaml
cd ..; mv proj proj.old 2>/dev/null; echo mvproj=$?
echo done
""" % LOOSE.format(http=world.http_port)
    r = islo(["sh", "-c", attack], cwd=proj)
    assert "done" in r.out, r
    v = dict(l.split("=", 1) for l in r.out.split() if "=" in l)
    for k in ("w", "rm", "prof", "mvp", "mvproj"):
        assert v[k] != "0", (k, r)
    r = islo(CURL + [other], cwd=proj)
    assert r.out == "000" or r.rc == 125, r
    # a nearer islo.yaml CMD planted: refused, not obeyed
    r = islo(CURL + [other], cwd=os.path.join(proj, "sub"))
    assert r.rc == 125 and "not trusted" in r.err, r
    # changed or gone behind our back (as another process of the user
    # might): refused, never a fall-back to no gateway
    with open(prof, "a") as f:
        f.write("# edited\n")
    r = islo(CURL + [other], cwd=proj)
    assert r.rc == 125 and "projstrict.yaml is not trusted" in r.err, r
    os.unlink(os.path.join(proj, "islo.yaml"))
    r = islo(CURL + [other], cwd=proj)
    assert r.rc == 125 and "has disappeared" in r.err and "unrestricted" not in r.err, r
    p = islo.cli(["trust", "--forget", os.path.join(proj, "islo.yaml")])
    assert p.returncode == 0, p
    r = islo(["true"], cwd=proj)
    assert r.rc == 0 and "unrestricted" in r.err, r


def test_planted_project_profile_is_refused(islo, world):
    """The operator's profile lives in the user's config directory; CMD
    plants one of the same name in ./profiles, searched first."""
    cfg = os.path.join(islo.tmp, "xdg", "islo", "profiles")
    os.makedirs(cfg, exist_ok=True)
    with open(os.path.join(cfg, "mine.yaml"), "w") as f:
        f.write(STRICT.format(http=world.http_port).replace("strict", "mine"))
    for d in (os.path.join(islo.tmp, "xdg"), os.path.dirname(cfg), cfg,
              os.path.join(cfg, "mine.yaml")):
        owned(islo, d)
    work = os.path.join(islo.tmp, "work")
    os.makedirs(work)
    owned(islo, work)
    other = "http://other.example.com:%d/" % world.http_port
    run = lambda cmd: islo(cmd, None, extra=["-g", "mine"], cwd=work)
    r = run(["sh", "-c", "mkdir profiles && printf '%s' > profiles/mine.yaml; echo planted=$?"
             % LOOSE.format(http=world.http_port).replace("strict", "mine")])
    assert "planted=0" in r.out, r
    r = run(CURL + [other])
    assert r.rc == 125 and "mine.yaml is not trusted" in r.err, r


def test_sandbox_keeps_its_network_capabilities(islo):
    """CMD's network namespace is its own: it may still configure its link
    and open raw sockets, as before."""
    r = islo(["sh", "-c", "ip link set tap0 mtu 1400 && ip -o link show tap0 | grep -o 'mtu [0-9]*'; "
              "python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1); print(\"raw ok\")'"])
    assert r.rc == 0 and "mtu 1400" in r.out and "raw ok" in r.out, r


def start_listener(islo, cmd, sock, log):
    """Start islo-net CMD (serve, qemu) as `who`; wait for its socket."""
    if islo.who == "user":
        cmd = ["runuser", "-u", TEST_USER, "--"] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    assert os.path.exists(sock), open(log).read()
    return p


def test_daemon_control_socket_refuses_the_sandbox(islo, world):
    sock = os.path.join(islo.tmp, "ctl.sock")
    log = os.path.join(islo.tmp, "serve.log")
    mport = free_port()
    d = start_listener(islo, [ISLO, "serve", "--control", sock, "--metrics-listen",
                              "127.0.0.1:%d" % mport, "--dns-upstream",
                              "127.0.0.1:%d" % world.dns_port], sock, log)
    try:
        world.profile("strict", STRICT.format(http=world.http_port))
        r = islo(["sh", "-c", "%s ctl --control %s list; echo rc=$?; "
                  "%s ctl --control %s remove --id x; echo rc=$?" % (ISLO, sock, ISLO, sock)],
                 "strict")
        assert "control socket refused" in r.err and "namespace" in r.err, r
        assert "rc=0" not in r.out, r
        # from outside, as the owner, it still works, and counted the refusals
        o = [ISLO, "ctl", "--control", sock, "metrics"]
        if islo.who == "user":
            o = ["runuser", "-u", TEST_USER, "--"] + o
        m = subprocess.run(o, capture_output=True, text=True, timeout=10)
        assert m.returncode == 0, m
        line = [l for l in m.stdout.splitlines() if l.startswith("islo_control_refused_total")]
        assert line and int(line[0].split()[1]) >= 2, m.stdout
    finally:
        d.terminate()
        d.wait(timeout=10)
    assert "refused a peer" in open(log).read()


@pytest.mark.skipif(os.getuid() != 0, reason="real root only")
def test_root_cmd_cannot_write_system_profiles(world, scratch):
    """As real root, CMD is root on the host's files too (SECURITY.md), but
    not on islo-net's own: /etc/islo is read-only to it."""
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(scratch, "xdg"),
               XDG_STATE_HOME=os.path.join(scratch, "state"))
    p = subprocess.run([ISLO, "run", "--", "sh", "-c",
                        "touch /etc/islo/profiles/planted.yaml; echo rc=$?"],
                       capture_output=True, text=True, timeout=60, env=env, cwd=scratch)
    assert "rc=0" not in p.stdout, p
    assert not os.path.exists("/etc/islo/profiles/planted.yaml")


def test_missing_profiles_dir_is_refused(islo, world):
    """A --profiles-dir that does not exist would be searched first next
    time, once CMD had made it: refused before CMD runs."""
    missing = os.path.join(islo.tmp, "not-there")
    r = islo(["true"], extra=["--profiles-dir", missing])
    assert r.rc == 125 and "no such directory" in r.err, r
    r = islo(["true"], env={"ISLO_PROFILES_PATH": missing})
    assert r.rc == 125 and "ISLO_PROFILES_PATH" in r.err, r


PEEK = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(1.5)
try:
    s.connect(sys.argv[1])
    print("connected")
    print("eof" if s.recv(1) == b"" else "data")
except socket.timeout:
    print("held")
except OSError as e:
    print("error", e.errno)
"""


def test_qemu_socket_refuses_the_sandbox(islo, world):
    """islo-net qemu serves the first peer of its socket as the VM's link:
    a sandbox of the same user must not take it (and that VM's policy)."""
    world.profile("strict", STRICT.format(http=world.http_port))
    sock = os.path.join(islo.tmp, "vm.sock")
    log = os.path.join(islo.tmp, "qemu.log")
    q = start_listener(islo, [ISLO, "qemu", "--socket", sock, "--profiles-dir", world.profiles,
                              "-g", "strict", "--dns-upstream",
                              "127.0.0.1:%d" % world.dns_port], sock, log)
    try:
        r = islo(["python3", "-c", PEEK, sock], "strict")
        assert "connected" in r.out and "eof" in r.out, r
        # the owner, outside any sandbox, is served (the link stays open)
        o = ["python3", "-c", PEEK, sock]
        if islo.who == "user":
            o = ["runuser", "-u", TEST_USER, "--"] + o
        p = subprocess.run(o, capture_output=True, text=True, timeout=10)
        assert "held" in p.stdout, p
    finally:
        q.terminate()
        q.wait(timeout=10)
    assert "refused a peer" in open(log).read()


def test_host_service_sockets_are_out_of_reach(islo):
    """A session bus or a container engine's socket would let CMD start a
    program outside the sandbox (systemd-run --user, docker run), on the
    host's network: hidden unless --host-services."""
    import socket
    import threading
    rt = os.path.join(islo.tmp, "runtime")
    os.makedirs(rt)
    owned(islo, rt)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(os.path.join(rt, "bus"))
    os.chmod(os.path.join(rt, "bus"), 0o777)
    srv.listen(8)
    srv.settimeout(10)
    accepted = []

    def serve():
        try:
            while True:
                c, _ = srv.accept()
                accepted.append(1)
                c.close()
        except OSError:
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    probe = ("import socket; s = socket.socket(socket.AF_UNIX)\n"
             "try:\n s.connect('%s/bus'); print('reached')\n"
             "except OSError as e: print('refused', e.errno)" % rt)
    try:
        r = islo(["python3", "-c", probe], env={"XDG_RUNTIME_DIR": rt})
        assert r.rc == 0 and "refused" in r.out, r
        r = islo(["python3", "-c", probe], extra=["--host-services"],
                 env={"XDG_RUNTIME_DIR": rt})
        assert r.rc == 0 and "reached" in r.out, r
    finally:
        srv.close()
    assert len(accepted) == 1


# ---------------------------------------------------------------------------
# Many ids inside (issue 17, point 5): with subordinate ranges (or as real
# root) the sandbox maps more than one id, so programs that change user work.

def test_programs_that_change_user_work(islo):
    r = islo(["sh", "-c", "setpriv --reuid=42 --regid=42 --clear-groups id -u; "
              "touch f42 && setpriv --reuid=42 --regid=42 --clear-groups sh -c 'touch g42'; "
              "cat /proc/self/uid_map"], extra=["-v"])
    assert r.rc == 0 and r.out.split()[0] == "42", r
    st = os.stat(os.path.join(islo.tmp, "g42"))
    # uid 42 inside is the user's subordinate id 41 outside (root too: all
    # ids to themselves would let CMD at every user's files)
    name = TEST_USER if islo.who == "user" else pwd.getpwuid(os.getuid()).pw_name
    start = [int(l.split(":")[1]) for l in open("/etc/subuid") if l.startswith(name + ":")][0]
    assert st.st_uid == start + 41, (st.st_uid, start)
    # forced to one id: changing user fails, and -v says why
    r = islo(["setpriv", "--reuid=42", "--regid=42", "--clear-groups", "id", "-u"],
             extra=["-v"], env={"ISLO_IDMAP": "single"})
    assert r.rc != 0 and "one user id" in r.err, r


def test_apt_get_update_against_a_local_mirror(islo, scratch):
    import http.server
    import functools
    import threading
    if not os.path.exists("/usr/bin/apt-get"):
        pytest.skip("no apt-get")
    repo = os.path.join(islo.tmp, "repo")
    os.makedirs(repo)
    open(os.path.join(repo, "Packages"), "w").close()
    with open(os.path.join(repo, "Release"), "w") as f:
        f.write("Origin: islo-test\nLabel: islo-test\nSuite: stable\nCodename: stable\n"
                "Date: Thu, 04 Dec 2025 00:00:00 UTC\nArchitectures: amd64 arm64\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=repo)
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    apt = os.path.join(islo.tmp, "apt")
    for d in ("state/lists/partial", "cache/archives/partial", "etc"):
        os.makedirs(os.path.join(apt, d))
    with open(os.path.join(apt, "etc", "sources.list"), "w") as f:
        f.write("deb [trusted=yes] http://10.0.2.2:%d/ ./\n" % port)
    for d, _, _ in os.walk(apt):
        os.chmod(d, 0o755)         # apt's _apt must get through them
    if islo.who == "user":
        subprocess.run(["chown", "-R", "%s:%s" % (TEST_USER, TEST_USER), apt], check=True)
    cmd = ["apt-get", "-q", "-o", "Dir::State=%s/state" % apt, "-o", "Dir::Cache=%s/cache" % apt,
           "-o", "Dir::Etc::SourceList=%s/etc/sources.list" % apt,
           "-o", "Dir::Etc::SourceParts=%s/etc" % apt, "-o", "Debug::NoLocking=1", "update"]
    try:
        r = islo(cmd)
        assert r.rc == 0, r
        assert "seteuid" not in r.err and "setgroups" not in r.err, r
        assert "unsandboxed" not in r.err, r
        lists = os.listdir(os.path.join(apt, "state", "lists"))
        assert any("_Packages" in l for l in lists), lists
    finally:
        srv.shutdown()


# ---------------------------------------------------------------------------
# The user's trust settings are kept (issue 17, point 4).

TRUST_PROFILE = """\
name: trustkeep
default_action: deny
rules:
  - name: intercepted
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    tls: intercept
  - name: passthrough
    host_pattern: other.example.com
    ports: [{https}]
    allow_private: true
"""


def test_users_ca_settings_are_kept(islo, world):
    """The user trusts a private CA (the test CA, which signed the test
    servers) through SSL_CERT_FILE and friends: a passthrough host it
    signed still verifies, and an intercepted host verifies too."""
    prof = world.profile("trustkeep", TRUST_PROFILE)
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    env = {"SSL_CERT_FILE": world.ca, "CURL_CA_BUNDLE": world.ca,
           "REQUESTS_CA_BUNDLE": world.ca}
    r = islo(["sh", "-c",
              "curl -sS -m 10 -o /dev/null -w '%%{http_code} ' https://other.example.com:%d/; "
              "curl -sS -m 10 -o /dev/null -w '%%{http_code} ' https://api.example.com:%d/; "
              "python3 -c 'import os, ssl, urllib.request as u; "
              "c = ssl.create_default_context(cafile=os.environ[\"REQUESTS_CA_BUNDLE\"]); "
              "print(u.urlopen(\"https://api.example.com:%d/\", context=c).status)'"
              % (world.https_port, world.https_port, world.https_port)],
             prof, extra=extra, env=env)
    assert r.rc == 0 and r.out.split() == ["200", "200", "200"], r
    # without the user's setting, the passthrough host (private CA) fails,
    # as it would outside: the variables are not just overwritten
    r = islo(["curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}",
              "https://other.example.com:%d/" % world.https_port], prof, extra=extra)
    assert r.out == "000", r


def test_hashed_directory_finds_the_islo_net_ca(islo, world):
    """`openssl -CApath /etc/ssl/certs` (OpenSSL's hashed lookup) finds the
    islo-net CA by its subject hash, as after `openssl rehash`."""
    prof = world.profile("trustkeep", TRUST_PROFILE)
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    r = islo(["sh", "-c", "echo | openssl s_client -no-CAfile -CApath /etc/ssl/certs "
              "-connect api.example.com:%d -servername api.example.com 2>&1 | "
              "grep 'Verify return code'" % world.https_port], prof, extra=extra)
    assert "Verify return code: 0 (ok)" in r.out, r


def test_reload_rereads_a_project_profile_only_as_trusted(islo, world):
    """A VM front end (here `qemu`) started in a project re-reads the
    project's profile on SIGHUP only if it is still trusted: whatever
    wrote the file (a guest sharing the project, say) cannot widen the
    policy by waiting for a reload."""
    import signal
    proj = project(islo, "gateway_profile: projreload\n")
    prof = os.path.join(proj, "profiles", "projreload.yaml")
    with open(prof, "w") as f:
        f.write(STRICT.format(http=world.http_port).replace("strict", "projreload"))
    owned(islo, prof)
    islo.trust(cwd=proj)
    sock = os.path.join(islo.tmp, "vmr.sock")
    log = os.path.join(islo.tmp, "qemu-reload.log")
    cmd = [ISLO, "qemu", "-v", "--socket", sock, "--dns-upstream",
           "127.0.0.1:%d" % world.dns_port]
    e = dict(os.environ, XDG_STATE_HOME=os.path.join(islo.tmp, "state"),
             XDG_CONFIG_HOME=os.path.join(islo.tmp, "xdg"))
    if islo.who == "user":
        cmd = ["runuser", "-u", TEST_USER, "--", "env",
               "XDG_STATE_HOME=" + e["XDG_STATE_HOME"],
               "XDG_CONFIG_HOME=" + e["XDG_CONFIG_HOME"]] + cmd
    q = subprocess.Popen(cmd, cwd=proj, env=e, stdout=subprocess.DEVNULL,
                         stderr=open(log, "w"))

    def hup():
        # runuser does not pass SIGHUP on: signal islo-net itself
        pid = q.pid
        if islo.who == "user":
            pid = int(subprocess.run(["pgrep", "-P", str(q.pid)], capture_output=True,
                                     text=True).stdout.split()[0])
        os.kill(pid, signal.SIGHUP)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        assert os.path.exists(sock), open(log).read()
        with open(prof, "w") as f:
            f.write(LOOSE.format(http=world.http_port).replace("strict", "projreload"))
        hup()
        for _ in range(100):
            if "not trusted" in open(log).read():
                break
            time.sleep(0.05)
        assert "not trusted" in open(log).read() and "old one stays" in open(log).read()
        islo.trust(prof)
        hup()
        for _ in range(100):
            if "reloaded" in open(log).read():
                break
            time.sleep(0.05)
        assert "reloaded" in open(log).read(), open(log).read()
        assert q.poll() is None, open(log).read()
    finally:
        q.terminate()
        q.wait(timeout=10)


def test_a_profile_named_by_path_needs_no_trust(islo, world):
    """A path on the command line is the operator's choice (README's second
    command: `-g profiles/dev.yaml` from the repository); the same file
    found by name in ./profiles is a project file and needs trust."""
    work = os.path.join(islo.tmp, "repo")
    os.makedirs(os.path.join(work, "profiles"))
    with open(os.path.join(work, "profiles", "byname.yaml"), "w") as f:
        f.write(STRICT.format(http=world.http_port).replace("strict", "byname"))
    for p in (work, os.path.join(work, "profiles"), os.path.join(work, "profiles", "byname.yaml")):
        owned(islo, p)
    r = islo(["true"], "profiles/byname.yaml", cwd=work)
    assert r.rc == 0, r
    r = islo(["true"], "byname", cwd=work)
    assert r.rc == 125 and "not trusted" in r.err, r
