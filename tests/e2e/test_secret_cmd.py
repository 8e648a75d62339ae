# SPDX-License-Identifier: MIT
"""Secrets that change while islo-net runs (issue 18 point 4): a `file:`
secret re-read when its file changes, and `cmd:` secrets, the output of a
program run on the host at start-up.

The upstream is the world's HTTPS server; requests to /record/TAG are kept
in servers.RECORDED (this process), so the tests see what upstream got."""
import os
import pwd
import re
import stat
import threading
import time

import pytest

from conftest import audit_events

OLD = "old-Secret-4b1d9e0a77"
NEW = "new-Secret-c3f5a8b2e1"

PROFILE = """\
name: {name}
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: "{ref}"
      placeholder_env: API_TOKEN
"""


def own(path, who):
    """Give @path to the user islo-net runs as (the test user as root)."""
    if who == "user":
        u = pwd.getpwnam("islo-test")
        os.chown(path, u.pw_uid, u.pw_gid)


def write_secret(path, value, who, rename=True):
    tmp = path + ".new" if rename else path
    with open(tmp, "w") as f:
        f.write(value + "\n")
    os.chmod(tmp, 0o600)
    own(tmp, who)
    if rename:
        os.rename(tmp, path)


def make_profile(world, name, ref):
    return world.profile(name, PROFILE.replace("{name}", name).replace("{ref}", ref))


def run(islo, world, name, cmd, env=None, timeout=60):
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    return islo(cmd, name, extra=extra, env=env, timeout=timeout)


def recorded(tag):
    import servers
    return [x for x in servers.RECORDED if tag in x["path"]]


def auth_of(rec):
    return [v for k, v in rec["headers"] if k.lower() == "authorization"]


def curl(world, tag):
    return ("curl -sS --max-time 20 -o /dev/null -w '%%{http_code}\\n' "
            "-H \"Authorization: Bearer $API_TOKEN\" "
            "https://api.example.com:%d/record/%s" % (world.https_port, tag))


def rotate_after(tag, fn):
    """Call fn() once upstream got the request for @tag (in a thread)."""
    def wait():
        deadline = time.time() + 30
        while time.time() < deadline and not recorded(tag):
            time.sleep(0.05)
        fn()
    t = threading.Thread(target=wait, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("rename", [True, False], ids=["renamed", "in-place"])
def test_file_secret_rewritten_during_the_run_is_read_again(islo, world, scratch, rename):
    path = os.path.join(scratch, "token")
    write_secret(path, OLD, islo.who)
    make_profile(world, "fileref", "file:" + path)
    t1, t2 = os.urandom(6).hex(), os.urandom(6).hex()
    t = rotate_after(t1, lambda: write_secret(path, NEW, islo.who, rename))
    r = run(islo, world, "fileref", ["sh", "-c",
            "echo PH:$API_TOKEN; %s; sleep 2.5; %s" % (curl(world, t1), curl(world, t2))])
    t.join(5)
    assert r.rc == 0, r
    assert [auth_of(x) for x in recorded(t1)] == [["Bearer " + OLD]], r
    assert [auth_of(x) for x in recorded(t2)] == [["Bearer " + NEW]], r
    ph = re.search(r"PH:(\S+)", r.out).group(1)
    assert ph.startswith("islo_ph_")
    for text in (r.out, r.err, r.audit):
        assert OLD not in text and NEW not in text


def test_file_secret_rewritten_unusable_keeps_the_last_value(islo, world, scratch):
    """A rewrite to an empty or world-readable file is refused with a
    warning; the last good value stays in use."""
    path = os.path.join(scratch, "token")
    write_secret(path, OLD, islo.who)
    make_profile(world, "fileref2", "file:" + path)
    t1, t2 = os.urandom(6).hex(), os.urandom(6).hex()

    def spoil():
        with open(path, "w") as f:
            f.write(NEW + "\n")
        os.chmod(path, 0o644)     # readable by others: refused
    t = rotate_after(t1, spoil)
    r = run(islo, world, "fileref2", ["sh", "-c",
            "%s; sleep 2.5; %s" % (curl(world, t1), curl(world, t2))])
    t.join(5)
    assert r.rc == 0, r
    assert [auth_of(x) for x in recorded(t1)] == [["Bearer " + OLD]], r
    assert [auth_of(x) for x in recorded(t2)] == [["Bearer " + OLD]], r
    assert "cannot be used, keeping the last value" in r.err and "readable by other users" in r.err, r
    for text in (r.out, r.err, r.audit):
        assert OLD not in text and NEW not in text


def script(scratch, name, body):
    path = os.path.join(scratch, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def test_cmd_secret_is_injected_and_the_program_gets_a_clean_environment(islo, world, scratch):
    envdump = os.path.join(scratch, "env.txt")
    argdump = os.path.join(scratch, "args.txt")
    prog = script(scratch, "token.sh",
                  "env > %s; chmod 666 %s\n"
                  "printf '%%s|' \"$@\" > %s; chmod 666 %s\n"
                  "echo 'cannot find a config, using defaults' >&2\n"
                  "printf '  %%s\\n\\n' %s\n" % (envdump, envdump, argdump, argdump, OLD))
    world.profile("cmdref", (PROFILE + "      secret_env: [ISLO_NAMED_VAR]\n")
                  .replace("{name}", "cmdref")
                  .replace("{ref}", 'cmd:%s  auth token \\"--with a space\\"' % prog))
    tag = os.urandom(6).hex()
    r = run(islo, world, "cmdref", ["sh", "-c",
            "echo PH:$API_TOKEN; env | grep -c %s; ps -eo pid,args | grep -c '[t]oken.sh'; %s"
            % (OLD, curl(world, tag))],
            env={"ISLO_PRIVATE_THING": "do-not-pass", "ISLO_NAMED_VAR": "named-value"})
    assert r.rc == 0, r
    assert [auth_of(x) for x in recorded(tag)] == [["Bearer " + OLD]], r
    ph = re.search(r"PH:(\S+)", r.out).group(1)
    assert ph.startswith("islo_ph_")
    # the sandbox: no value in its environment, no trace of the program
    assert r.out.split("\n")[1:3] == ["0", "0"], r
    for text in (r.out, r.err, r.audit):
        assert OLD not in text
    # the program ran on the host, with the clean set only
    assert open(argdump).read() == "auth|token|--with a space|"
    names = sorted(l.split("=", 1)[0] for l in open(envdump).read().splitlines() if "=" in l)
    assert "ISLO_PRIVATE_THING" not in names and "XDG_CONFIG_HOME" not in names, names
    assert "PATH" in names and set(names) <= {"PATH", "HOME", "USER", "LOGNAME", "LANG", "PWD", "SHLVL", "_",
                                              "ISLO_NAMED_VAR"}, names
    assert "ISLO_NAMED_VAR=named-value" in open(envdump).read().splitlines()
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"]
    assert ev and ev[0]["status"] == 200


@pytest.mark.parametrize("body,why", [
    ("exit 0\n", "printed nothing"),
    ("echo '   '\n", "printed nothing"),
    ("head -c 70000 /dev/zero | tr '\\0' a\n", "printed more than 65536 bytes"),
    ("echo oops >&2; echo partial-%s; exit 3\n" % OLD, "exited with status 3; stderr: oops"),
    ("printf 'a\\001b\\n'\n", "control character"),
], ids=["nothing", "blank", "too-much", "fails", "control"])
def test_cmd_secret_that_gives_no_usable_value_stops_the_start(islo, world, scratch, body, why):
    prog = script(scratch, "bad.sh", body)
    make_profile(world, "cmdbad", "cmd:" + prog)
    r = run(islo, world, "cmdbad", ["sh", "-c", "echo SANDBOX-RAN"])
    assert r.rc != 0 and "SANDBOX-RAN" not in r.out, r
    assert why in r.err and "cmd:" in r.err, r
    assert OLD not in r.err and "partial" not in r.err, r


def test_cmd_secret_that_hangs_is_killed_and_stops_the_start(islo, world, scratch):
    prog = script(scratch, "hang.sh", "exec sleep 60\n")
    make_profile(world, "cmdhang", "cmd:" + prog)
    t0 = time.time()
    r = run(islo, world, "cmdhang", ["sh", "-c", "echo SANDBOX-RAN"], timeout=40)
    assert time.time() - t0 < 30
    assert r.rc != 0 and "SANDBOX-RAN" not in r.out, r
    assert "did not finish in time" in r.err, r


def test_cmd_secret_in_qemu_mode_and_a_reload(world, scratch):
    """qemu: the program runs at start-up, and again through the secret
    fetcher (secret_ttl); after isolation (no fork, no execve) a reload
    that keeps the cmd: secret as it was takes the start-up value and its
    refreshes; one that adds or changes a program is refused with a
    message, the process lives and the old profile stays."""
    import signal
    import subprocess
    from conftest import ISLO
    prog, count = counter_prog(scratch, "q", (1000000, "true"))
    other = script(scratch, "other.sh", "echo %s\n" % NEW)
    ttl_profile(world, "cmdq", prog, ttl=1)
    sock = os.path.join(scratch, "q.sock")
    audit = os.path.join(scratch, "q.log")
    p = subprocess.Popen(
        [ISLO, "qemu", "--socket", sock, "--profiles-dir", world.profiles, "-g", "cmdq",
         "--dns-upstream", "127.0.0.1:%d" % world.dns_port, "--upstream-ca", world.ca,
         "--ca-dir", os.path.join(scratch, "ca"), "--audit-log", audit],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def reloads(n):
        end = time.time() + 10
        ev = []
        while time.time() < end and len(ev) < n and p.poll() is None:
            time.sleep(0.05)
            if os.path.exists(audit):
                ev = [e for e in audit_events(open(audit).read()) if e["event"] == "profile_reload"]
        return ev
    try:
        end = time.time() + 10
        while time.time() < end and not os.path.exists(sock) and p.poll() is None:
            time.sleep(0.05)
        assert os.path.exists(sock), p.stderr.read() if p.poll() is not None else "no socket"
        time.sleep(0.3)
        p.send_signal(signal.SIGHUP)          # the same profile: kept
        ev = reloads(1)
        assert p.poll() is None, "died on SIGHUP"
        assert ev and ev[0]["result"] == "ok", ev
        time.sleep(2)                         # the fetcher runs it again
        assert int(open(count).read()) >= 3
        ttl_profile(world, "cmdq", other, ttl=1)
        p.send_signal(signal.SIGHUP)          # another program: refused
        ev = reloads(2)
        assert p.poll() is None, "died on SIGHUP"
        assert len(ev) == 2 and ev[1]["result"] != "ok", ev
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=10)
    err = p.stderr.read()
    assert rc == 0, err
    assert "start-up only" in err, err
    for text in (err, open(audit).read()):
        assert OLD not in text and NEW not in text and TTLV not in text


@pytest.mark.parametrize("how", ["symlink", "hardlink", "directory"])
def test_file_secret_swapped_for_another_file_is_not_sent(islo, world, scratch, how):
    """Whoever can rewrite the secret's directory (the user's files) must
    not get another of the user's files sent as the credential: a
    symbolic link or a hard link planted under the secret's name, or the
    directory renamed and a new one put in its place, is not read; the
    last good value stays in use."""
    d = os.path.join(scratch, "sec-" + how)
    os.mkdir(d)
    os.chmod(d, 0o777)
    path = os.path.join(d, "token")
    other = os.path.join(scratch, "other-" + how)
    write_secret(path, OLD, islo.who)
    write_secret(other, NEW, islo.who)
    make_profile(world, "swap" + how, "file:" + path)
    t1, t2 = os.urandom(6).hex(), os.urandom(6).hex()

    def swap():
        if how == "directory":
            os.rename(d, d + ".old")
            os.mkdir(d)
            write_secret(path, NEW, islo.who)
            return
        os.unlink(path)
        if how == "symlink":
            os.symlink(other, path)
        else:
            os.link(other, path)
    t = rotate_after(t1, swap)
    r = run(islo, world, "swap" + how, ["sh", "-c",
            "%s; sleep 2.5; %s" % (curl(world, t1), curl(world, t2))])
    t.join(5)
    assert r.rc == 0, r
    assert [auth_of(x) for x in recorded(t1)] == [["Bearer " + OLD]], r
    assert [auth_of(x) for x in recorded(t2)] == [["Bearer " + OLD]], r
    for text in (r.out, r.err, r.audit):
        assert OLD not in text and NEW not in text


# ---------------------------------------------------------------------------
# secret_ttl: the secret fetcher runs the program again (secretfetch.c)

TTLV = "ttl-Secret-7e51c0"

MULTI = """\
name: {name}
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: "{ref}"
      placeholder_env: API_TOKEN
      secret_ttl: {ttl}
  - name: other
    host_pattern: other.example.com
    ports: [{https}]
    allow_private: true
    tls: intercept
"""


def ttl_profile(world, name, prog, ttl=1):
    return world.profile(name, MULTI.replace("{name}", name)
                         .replace("{ref}", "cmd:" + prog).replace("{ttl}", str(ttl)))


def counter_prog(scratch, name, after):
    """A program that prints TTLV-N (N: its run, counted in a file); from
    run @after + 1 on it does what @after's shell text says instead."""
    count = os.path.join(scratch, name + ".count")
    with open(count, "w") as f:
        f.write("0\n")
    os.chmod(count, 0o666)
    return script(scratch, name + ".sh",
                  "n=$(cat %s); n=$((n+1)); echo $n > %s\n"
                  "if [ $n -gt %d ]; then %s; fi\n"
                  "echo %s-$n\n" % (count, count, after[0], after[1], TTLV)), count


def curl_host(world, host, tag, auth=True):
    return ("curl -sS --max-time 20 -o /dev/null -w '%s:%%{http_code}\\n' %s"
            "https://%s:%d/record/%s" % (
                tag, "-H \"Authorization: Bearer $API_TOKEN\" " if auth else "",
                host, world.https_port, tag))


def no_value(r):
    for text in (r.out, r.err, r.audit):
        assert TTLV not in text, text


def test_cmd_secret_ttl_runs_the_program_again(islo, world, scratch):
    prog, count = counter_prog(scratch, "ttl", (1000000, "true"))
    ttl_profile(world, "ttl1", prog)
    t1, t2 = os.urandom(6).hex(), os.urandom(6).hex()
    r = run(islo, world, "ttl1", ["sh", "-c", "%s; sleep 2.2; %s" % (
        curl_host(world, "api.example.com", t1), curl_host(world, "api.example.com", t2))])
    assert r.rc == 0, r
    a1, a2 = [auth_of(x) for x in recorded(t1)], [auth_of(x) for x in recorded(t2)]
    assert len(a1) == 1 and len(a2) == 1, r
    n1 = int(a1[0][0].rsplit("-", 1)[1])
    n2 = int(a2[0][0].rsplit("-", 1)[1])
    assert a1[0][0].startswith("Bearer " + TTLV) and n2 > n1, (a1, a2)
    assert int(open(count).read()) >= 3     # at start-up, then every 0.8 s
    assert "%s:200" % t1 in r.out and "%s:200" % t2 in r.out, r
    no_value(r)


@pytest.mark.parametrize("after,why", [
    ("echo 'token service down' >&2; exit 4", "token service down"),
    ("head -c 70000 /dev/zero | tr '\\0' a; exit 0", "printed more than 65536 bytes"),
    ("printf 'a\\001b\\n'; exit 0", "cannot be used"),
    ("kill -9 $$", "killed by signal 9"),
], ids=["fails", "floods", "control", "killed"])
def test_cmd_secret_ttl_failing_keeps_the_last_value_until_it_expires(islo, world, scratch,
                                                                      after, why):
    prog, _ = counter_prog(scratch, "fail", (1, after))
    ttl_profile(world, "ttlfail", prog, ttl=3)
    t1, t2, t3 = (os.urandom(6).hex() for _ in range(3))
    api = lambda t: curl_host(world, "api.example.com", t)
    r = run(islo, world, "ttlfail", ["sh", "-c", "%s; sleep 2.2; %s; sleep 2; %s" % (
        api(t1), api(t2), api(t3))])
    assert r.rc == 0, r
    # the first value, within its TTL, even after a failed run
    assert [auth_of(x) for x in recorded(t1)] == [["Bearer %s-1" % TTLV]], r
    assert [auth_of(x) for x in recorded(t2)] == [["Bearer %s-1" % TTLV]], r
    # expired: not sent, 502, the reason in the audit log
    assert recorded(t3) == [] and "%s:502" % t3 in r.out, r
    ev = [e for e in audit_events(r.audit) if e["event"] == "http_request"
          and e.get("status") == 502]
    assert ev and "credential expired" in ev[0]["reason"] and "failed" in ev[0]["reason"], ev
    # the program's stderr: escaped in islo-net's log, never in the audit log
    assert "running its program again failed" in r.err and why in r.err, r
    assert why not in r.audit
    assert "aaaaaaaa" not in r.err + r.audit
    no_value(r)


def test_cmd_secret_ttl_hanging_program_does_not_stall_other_requests(islo, world, scratch):
    prog, _ = counter_prog(scratch, "hang", (1, "exec sleep 60"))
    ttl_profile(world, "ttlhang", prog, ttl=1)
    t1, t2, t3 = (os.urandom(6).hex() for _ in range(3))
    timed = ("curl -sS --max-time 20 -o /dev/null -w '%s:%%{http_code}:%%{time_total}\\n' "
             "https://other.example.com:%d/record/%s" % (t2, world.https_port, t2))
    r = run(islo, world, "ttlhang", ["sh", "-c", "%s; sleep 1.5; %s; %s" % (
        curl_host(world, "api.example.com", t1), timed,
        curl_host(world, "api.example.com", t3))])
    assert r.rc == 0, r
    assert [auth_of(x) for x in recorded(t1)] == [["Bearer %s-1" % TTLV]], r
    # while the refresh hangs (for up to 10 s), another host answers at once
    m = re.search(r"%s:(\d+):([0-9.]+)" % t2, r.out)
    assert m and m.group(1) == "200" and float(m.group(2)) < 2.0, r
    # the expired secret: refused while its program runs
    assert recorded(t3) == [] and "%s:502" % t3 in r.out, r
    ev = [e for e in audit_events(r.audit) if e.get("status") == 502]
    assert ev and "being run again" in ev[0]["reason"], ev
    no_value(r)


def fetchers_of(profile):
    """The pids of islo-fetcher processes whose parent runs @profile."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = open("/proc/%s/comm" % pid).read().strip()
            if comm != "islo-fetcher":
                continue
            ppid = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[1]
            if profile in open("/proc/%s/cmdline" % ppid).read():
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_cmd_secret_ttl_fetcher_killed_hidden_from_the_sandbox(islo, world, scratch):
    """The fetcher is not in the sandbox's /proc; killed from the host
    (kill -9), the gateway lives on: the expired secret is refused with a
    reason, other hosts go on."""
    import signal
    prog, _ = counter_prog(scratch, "kill", (1000000, "true"))
    ttl_profile(world, "ttlkill", prog, ttl=1)
    t1, t2, t3 = (os.urandom(6).hex() for _ in range(3))
    killed, fds, environ = [], {}, {}

    def kill():
        deadline = time.time() + 30
        while time.time() < deadline and not recorded(t1):
            time.sleep(0.05)
        for pid in fetchers_of("ttlkill"):
            fds[pid] = {fd: os.readlink("/proc/%d/fd/%s" % (pid, fd))
                        for fd in os.listdir("/proc/%d/fd" % pid)}
            environ[pid] = open("/proc/%d/environ" % pid, "rb").read()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    th = threading.Thread(target=kill, daemon=True)
    th.start()
    r = run(islo, world, "ttlkill", ["sh", "-c",
            "echo COMMS: $(cat /proc/[0-9]*/comm | sort -u); echo ENV: $(env | grep -c %s); "
            "%s; sleep 2.5; %s; %s" % (
                TTLV, curl_host(world, "api.example.com", t1),
                curl_host(world, "api.example.com", t2),
                curl_host(world, "other.example.com", t3, auth=False))],
            env={"ISLO_PRIVATE_THING": "do-not-pass"})
    th.join(5)
    assert len(killed) == 1, (killed, r)
    # it holds its socket and /dev/null, nothing else (no TAP, no upstream
    # socket, no audit log, no profile), and none of islo-net's other
    # environment variables
    f = fds[killed[0]]
    assert sorted(f) == ["0", "1", "2", "3"], f
    assert f["0"] == f["1"] == f["2"] == "/dev/null" and f["3"].startswith("socket:"), f
    assert b"ISLO_PRIVATE_THING" not in environ[killed[0]] and b"PATH=" in environ[killed[0]]
    comms = re.search(r"COMMS: (.*)", r.out).group(1).split()
    # the sandbox's own init is islo-net (__sandbox-init); the fetcher is not there
    assert "sh" in comms and "islo-fetcher" not in comms, comms
    assert "ENV: 0" in r.out, r
    assert r.rc == 0, r
    assert "%s:200" % t1 in r.out and "%s:200" % t3 in r.out, r
    assert recorded(t2) == [] and "%s:502" % t2 in r.out, r
    ev = [e for e in audit_events(r.audit) if e.get("status") == 502]
    assert ev and "fetcher has exited" in ev[0]["reason"], ev
    assert "secret fetcher" in r.err and "has exited" in r.err, r
    no_value(r)


def test_cmd_secret_ttl_requests_do_not_start_runs(islo, world, scratch):
    """The sandbox cannot make the gateway run the program in a loop: a
    burst of requests for an expired secret whose program fails starts no
    run; runs come from the timer, with a back-off (1 s, 2 s, 4 s...)."""
    prog, count = counter_prog(scratch, "burst", (1, "exit 1"))
    ttl_profile(world, "ttlburst", prog, ttl=1)
    tag = os.urandom(6).hex()
    loop = "i=0; while [ $i -lt 40 ]; do %s; i=$((i+1)); done" % curl_host(
        world, "api.example.com", tag)
    t0 = time.time()
    r = run(islo, world, "ttlburst", ["sh", "-c", "sleep 1.2; " + loop])
    took = time.time() - t0
    assert r.rc == 0, r
    assert r.out.count("%s:502" % tag) == 40 and recorded(tag) == [], r
    runs = int(open(count).read())
    # start-up, then at 0.8 s and retries 1, 2, 4, 8 s apart
    assert 2 <= runs <= 2 + int(took).bit_length(), (runs, took)
    no_value(r)


TWO = """\
name: {name}
rules:
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: "cmd:{hang}"
      placeholder_env: API_TOKEN
      secret_ttl: 1
  - name: other
    host_pattern: other.example.com
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: "cmd:{count}"
      placeholder_env: OTHER_TOKEN
      secret_ttl: 1
"""


def test_cmd_secret_ttl_one_hanging_program_does_not_hold_up_another(islo, world, scratch):
    """Each run has a worker of its own in the fetcher: while one secret's
    program hangs (up to its 10 s timeout), another's is refreshed."""
    hang, _ = counter_prog(scratch, "h2", (1, "exec sleep 60"))
    count, n = counter_prog(scratch, "c2", (1000000, "true"))
    world.profile("ttltwo", TWO.replace("{name}", "ttltwo").replace("{hang}", hang)
                  .replace("{count}", count))
    t1 = os.urandom(6).hex()
    r = run(islo, world, "ttltwo", ["sh", "-c",
            "sleep 3; curl -sS --max-time 20 -o /dev/null -w '%s:%%{http_code}\\n' "
            "-H \"Authorization: Bearer $OTHER_TOKEN\" https://other.example.com:%d/record/%s"
            % (t1, world.https_port, t1)])
    assert r.rc == 0, r
    a = [auth_of(x) for x in recorded(t1)]
    assert len(a) == 1 and a[0][0].startswith("Bearer %s-" % TTLV), (a, r)
    assert int(a[0][0].rsplit("-", 1)[1]) >= 3 and int(open(n).read()) >= 3, a
    no_value(r)
