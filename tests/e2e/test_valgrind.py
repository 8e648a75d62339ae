# SPDX-License-Identifier: MIT
"""islo-net under valgrind memcheck: allowed and denied connections, an
intercepted HTTPS request with a credential injected; no invalid access,
no use of uninitialised memory, nothing definitely or indirectly lost."""
import os
import shutil
import subprocess

import pytest

from conftest import ISLO, audit_events

PROFILE = """\
name: vg
default_action: deny
rules:
  - name: plain
    host_pattern: other.example.com
    ports: [{http}]
    allow_private: true
  - name: api
    host_pattern: api.example.com
    ports: [{https}]
    allow_private: true
    auth_strategy:
      mode: bearer
      secret: env:ISLO_TEST_TOKEN
      placeholder_env: GITHUB_TOKEN
"""


@pytest.mark.skipif("asan" in ISLO, reason="valgrind and ASan do not mix: "
                    "the plain build is checked in the main pass")
def test_memcheck_clean(world, scratch):
    assert shutil.which("valgrind"), "valgrind is missing (scripts/install-deps.sh)"
    world.profile("vg", PROFILE)
    audit = os.path.join(scratch, "vg.log")
    tag = os.urandom(4).hex()
    script = ("set -e\n"
              "curl -sS --max-time 20 http://other.example.com:{h}/a >/dev/null\n"
              "curl -sS --max-time 20 http://other.example.com:{h}/b >/dev/null\n"
              "if curl -sS --max-time 20 http://evil.example.net:{h}/ 2>/dev/null; then exit 3; fi\n"
              "curl -sS --max-time 20 -H \"Authorization: Bearer $GITHUB_TOKEN\" "
              "https://api.example.com:{s}/headers?{t}\n").format(h=world.http_port,
                                                                   s=world.https_port,
                                                                   t=tag)
    env = dict(os.environ, ISLO_SECCOMP="off", ISLO_TEST_TOKEN="vg-s3cret-value")
    p = subprocess.run(["valgrind", "--quiet", "--error-exitcode=99",
                        "--leak-check=full", "--show-leak-kinds=definite,indirect",
                        "--errors-for-leak-kinds=definite,indirect",
                        "--child-silent-after-fork=yes", "--track-origins=yes",
                        ISLO, "run", "--profiles-dir", world.profiles, "-g", "vg",
                        "--dns-upstream", "127.0.0.1:%d" % world.dns_port,
                        "--upstream-ca", world.ca, "--ca-dir", os.path.join(scratch, "ca"),
                        "--audit-log", audit, "--", "sh", "-c", script],
                       capture_output=True, text=True, timeout=120, env=env, cwd=scratch)
    assert p.returncode == 0, p.stderr[-6000:]
    # the upstream saw the secret; its echo reached the sandbox scrubbed
    import servers
    got = [x for x in servers.RECORDED if x["path"].endswith(tag)]
    assert got and ["Authorization", "Bearer vg-s3cret-value"] in got[0]["headers"], got
    assert "vg-s3cret-value" not in p.stdout and "Bearer islo_ph_" in p.stdout, p.stdout
    ev = audit_events(open(audit).read())
    assert any(e.get("action") == "deny" and e.get("host") == "evil.example.net" for e in ev)
    assert any(e["event"] == "http_request" and e.get("credentials") for e in ev), ev
