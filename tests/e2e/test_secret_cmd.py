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
