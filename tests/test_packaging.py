# SPDX-License-Identifier: MIT
"""What a packager and an operator get from `make install` (issue 17, 7).

The man pages, the systemd unit for `islo-net serve`, the bash
completion and the JSON Schema of the profile format: installed into a
temporary DESTDIR, checked with the real tools (groff, man,
systemd-analyze, bash, python3-jsonschema), and checked against the
sources they describe (src/cli.c's options, src/main.c's commands, src/profile.c's
keys) so that they cannot drift apart unnoticed.
"""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISLO = os.environ.get("ISLO_BIN") or os.path.join(ROOT, "islo-net")
PROFILES = sorted(f for f in os.listdir(os.path.join(ROOT, "profiles"))
                  if f.endswith(".yaml"))
SCHEMA_SRC = os.path.join(ROOT, "schema", "profile.schema.json")
MODELINE = "# yaml-language-server: $schema=../schema/profile.schema.json"


def _src(name):
    with open(os.path.join(ROOT, "src", name)) as f:
        return f.read()


def _read(path):
    with open(path) as f:
        return f.read()


def _c_table(text, name):
    """The strings of `static const char *const NAME[...] = { ... };`."""
    m = re.search(r"\b%s\[[A-Z_]*\]\s*=\s*\{(.*?)\};" % re.escape(name), text,
                  re.S)
    assert m, "table %s not found" % name
    return re.findall(r'"([^"]+)"', m.group(1))


def _long_options():
    """The long options of src/cli.c's run_opts_long."""
    m = re.search(r"run_opts_long\[\]\s*=\s*\{(.*?)\n\};", _src("cli.c"), re.S)
    assert m
    return re.findall(r'\{\s*"([a-z-]+)",', m.group(1))


def _subcommands():
    """The subcommands main() dispatches (not the sandbox's helpers)."""
    main = _src("main.c").split("int main(", 1)[1]
    cmds = re.findall(r'!strcmp\(argv\[1\], "([a-z_-]+)"\)\)\s*\n\s*return', main)
    return [c for c in cmds if not c.startswith("__")]


def _roff(word):
    """How a word with hyphens is written in our roff source."""
    return word.replace("-", "\\-")


# ---------------------------------------------------------------------------
# make install into a temporary DESTDIR


def _make_install(**var):
    if not os.path.exists(ISLO):
        pytest.skip("%s is missing: run make" % ISLO)
    # -o: the binary under test is installed as it is, never rebuilt
    args = ["make", "-s", "--no-print-directory", "-o", ISLO, "install",
            "BIN=" + ISLO] + ["%s=%s" % kv for kv in var.items()]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def destdir():
    d = tempfile.mkdtemp(prefix="islo-destdir-")
    _make_install(DESTDIR=d, PREFIX="/usr")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def prefix():
    """Installed under a real prefix (no DESTDIR): what the unit names exists."""
    d = tempfile.mkdtemp(prefix="islo-prefix-")
    _make_install(PREFIX=d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_install_puts_every_piece_in_place(destdir):
    usr = os.path.join(destdir, "usr")
    want = {
        "bin/islo-net": 0o755,
        "share/man/man1/islo-net.1": 0o644,
        "share/man/man5/islo-net-profile.5": 0o644,
        "share/bash-completion/completions/islo-net": 0o644,
        "lib/systemd/system/islo-net.service": 0o644,
        "share/islo-net/schema/profile.schema.json": 0o644,
    }
    for p in PROFILES:
        want["share/islo-net/profiles/" + p] = 0o644
    for rel, mode in want.items():
        path = os.path.join(usr, rel)
        assert os.path.isfile(path), "not installed: " + rel
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, rel
    # installed as they are in the tree (the unit is made from its .in)
    for src, rel in (("man/islo-net.1", "share/man/man1/islo-net.1"),
                     ("man/islo-net-profile.5", "share/man/man5/islo-net-profile.5"),
                     ("contrib/bash-completion/islo-net",
                      "share/bash-completion/completions/islo-net"),
                     ("schema/profile.schema.json",
                      "share/islo-net/schema/profile.schema.json")):
        assert _read(os.path.join(ROOT, src)) == _read(os.path.join(usr, rel))
    r = subprocess.run([os.path.join(usr, "bin/islo-net"), "--version"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("islo-net ")


def test_unit_names_the_installed_binary(destdir, prefix):
    unit = _read(os.path.join(destdir, "usr/lib/systemd/system/islo-net.service"))
    assert "@BINDIR@" not in unit
    assert re.search(r"^ExecStart=/usr/bin/islo-net serve ", unit, re.M)
    unit = _read(os.path.join(prefix, "lib/systemd/system/islo-net.service"))
    assert re.search(r"^ExecStart=%s/bin/islo-net serve " % re.escape(prefix),
                     unit, re.M)


def test_installed_man_pages_are_found_by_man(destdir):
    mp = os.path.join(destdir, "usr/share/man")
    for page in (["1", "islo-net"], ["5", "islo-net-profile"]):
        r = subprocess.run(["man", "-M", mp, "-w"] + page, capture_output=True,
                           text=True)
        if r.returncode != 0 and shutil.which("man") is None:
            pytest.skip("man is not installed (Debian package man-db)")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().startswith(mp)


# ---------------------------------------------------------------------------
# Man pages

MAN_PAGES = ["man/islo-net.1", "man/islo-net-profile.5"]


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders_without_warnings(page, destdir):
    if not shutil.which("groff"):
        pytest.skip("groff is not installed (Debian package groff-base)")
    sect = page.rsplit(".", 1)[1]
    path = os.path.join(destdir, "usr/share/man/man" + sect,
                        os.path.basename(page))
    r = subprocess.run(["groff", "-man", "-ww", "-z", path],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    if not shutil.which("man"):
        pytest.skip("man is not installed (Debian package man-db)")
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    r = subprocess.run(["man", "--warnings", "-l", path], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "NAME" in r.stdout and "SEE ALSO" in r.stdout
    # every line fits the page: no word too long to set
    text = subprocess.run(["man", "-l", path], capture_output=True, text=True,
                          env=dict(env, MAN_KEEP_FORMATTING="")).stdout
    assert max(len(line) for line in text.splitlines()) <= 80


def test_man_page_version_is_the_binary_s():
    version = re.search(r'#define ISLO_VERSION "([^"]+)"', _src("main.c")).group(1)
    for page in MAN_PAGES:
        th = re.search(r"^\.TH .*$", _read(os.path.join(ROOT, page)), re.M).group(0)
        assert '"islo-net %s"' % version in th, (page, th)


def test_islo_net_1_names_every_command_and_option():
    text = _read(os.path.join(ROOT, "man/islo-net.1"))
    for cmd in _subcommands():
        assert re.search(r"^\.BR? %s\b" % re.escape(cmd), text, re.M), cmd
    for verb in ("add", "remove", "list", "stats", "reload", "metrics"):
        assert re.search(r"^\.BR? %s\b" % verb, text, re.M), verb
    for opt in _long_options():
        assert "\\-\\-" + _roff(opt) in text, "--" + opt
    for short in ("g", "v", "q"):
        assert "\\-" + short in text
    # the environment islo-net reads (getenv) that a user may set
    for var in ("ISLO_PROFILES_PATH", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
                "CREDENTIALS_DIRECTORY", "XDG_RUNTIME_DIR", "ISLO_IDMAP",
                "ISLO_SECCOMP"):
        assert re.search(r"^\.B %s$" % var, text, re.M), var
    # the numbers the code enforces
    main = _src("cli.c")
    assert "1 to\n1000000 (default 4096)" in text and "1000000" in main
    assert "1280 to 65520 (default 65520)" in text


def test_islo_net_profile_5_names_every_key():
    text = _read(os.path.join(ROOT, "man/islo-net-profile.5"))
    prof = _src("profile.c") + _src("profile_rule.c")
    for table in ("top_keys", "rule_keys", "auth_keys", "pg_keys"):
        for key in _c_table(prof, table):
            assert re.search(r"^\.BR? %s\b" % re.escape(key), text, re.M), \
                "%s: %s" % (table, key)
    # the limits profile.h sets
    hdr = _src("profile.h")
    for macro, words in (("PF_MAX_RULES", "more than 10000 rules"),
                         ("PF_MAX_STRING", "more than 1024 bytes"),
                         ("PF_MAX_PRIORITY", "0 to 1000000"),
                         ("PF_DEFAULT_PRIORITY", "Default: 1000."),
                         ("PF_MAX_RPM", "1 to 1000000"),
                         ("PF_MAX_METHOD", "at most 32 letters"),
                         ("PF_PG_NAME_MAX", "1 to 63 bytes")):
        value = re.search(r"#define %s\s+(\d+)" % macro, hdr).group(1)
        assert value in words and words.replace("\n", " ") in \
            text.replace("\n", " "), (macro, words)


def _examples(page):
    """The indented blocks of a man page's EXAMPLES section, as rendered."""
    if not shutil.which("man"):
        pytest.skip("man is not installed (Debian package man-db)")
    out = subprocess.run(["man", "-l", os.path.join(ROOT, page)],
                         capture_output=True, text=True,
                         env=dict(os.environ, MANWIDTH="200",
                                  LC_ALL="C.UTF-8")).stdout
    sec = out.split("\nEXAMPLES\n", 1)[1].split("\nSEE ALSO\n", 1)[0]
    blocks, cur = [], []
    for line in sec.splitlines():
        if line.startswith(" " * 14):
            cur.append(line[14:])
        elif cur:
            blocks.append("\n".join(cur) + "\n")
            cur = []
    if cur:
        blocks.append("\n".join(cur) + "\n")
    return blocks


# ---------------------------------------------------------------------------
# The JSON Schema


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip(
        "jsonschema", reason="python3-jsonschema is not installed")
    pytest.importorskip("yaml", reason="python3-yaml is not installed")
    with open(SCHEMA_SRC) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _errors(validator, text):
    import yaml
    return [e.message for e in validator.iter_errors(yaml.safe_load(text))]


def _check(text, tmp_path, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    r = subprocess.run([ISLO, "check", "-q", str(path)], capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stderr


def test_schema_is_installed_where_the_profiles_point(destdir):
    share = os.path.join(destdir, "usr/share/islo-net")
    for p in PROFILES:
        first = _read(os.path.join(share, "profiles", p)).splitlines()[0]
        assert first == MODELINE, p
        target = os.path.normpath(os.path.join(
            share, "profiles", first.split("$schema=", 1)[1]))
        assert os.path.isfile(target), target
        # and in the source tree too
        assert os.path.normpath(os.path.join(
            ROOT, "profiles", first.split("$schema=", 1)[1])) == SCHEMA_SRC


@pytest.mark.parametrize("name", PROFILES)
def test_shipped_profile_validates_and_checks(name, validator, destdir):
    for path in (os.path.join(ROOT, "profiles", name),
                 os.path.join(destdir, "usr/share/islo-net/profiles", name)):
        assert _errors(validator, _read(path)) == [], path
        r = subprocess.run([ISLO, "check", path], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert "is valid" in r.stdout


def test_schema_keys_are_the_parser_s(validator):
    s = validator.schema
    prof = _src("profile.c") + _src("profile_rule.c")
    d = s["definitions"]
    assert sorted(s["properties"]) == sorted(_c_table(prof, "top_keys"))
    assert sorted(d["rule"]["properties"]) == sorted(_c_table(prof, "rule_keys"))
    rp = d["rule"]["properties"]
    assert sorted(rp["auth_strategy"]["properties"]) == \
        sorted(_c_table(prof, "auth_keys"))
    assert sorted(rp["postgres"]["properties"]) == sorted(_c_table(prof, "pg_keys"))
    # unknown keys are refused at every level
    for obj in (s, d["rule"], rp["auth_strategy"], rp["postgres"]):
        assert obj["additionalProperties"] is False


UNKNOWN_KEY = [
    "colour: red\nrules: []\n",
    "rules:\n  - host_pattern: a.example\n    colour: red\n",
    "rules:\n  - host_pattern: a.example\n    auth_strategy:\n"
    "      mode: bearer\n      secret: env:T\n      colour: red\n",
    "rules:\n  - host_pattern: db.example\n    postgres:\n      user: u\n"
    "      password: env:P\n      database: d\n      sslmode: require\n",
]


@pytest.mark.parametrize("text", UNKNOWN_KEY)
def test_unknown_key_is_refused(text, validator, tmp_path):
    errs = _errors(validator, text)
    assert any("colour" in e or "sslmode" in e for e in errs), errs
    rc, err = _check(text, tmp_path)
    assert rc == 1 and "unknown key" in err


# (rule, valid?) : islo-net check and the schema must both say so
RULES = [
    ("host_pattern: a.example", True),
    ("cidr: [10.0.0.0/8, '2001:db8::/32']", True),
    ("cidr: 10.0.0.0/33", False),
    ("cidr: 10.0.0.01/8", False),
    ("host_pattern: '*'", False),
    ("host_pattern: '*.a.example'", True),
    ("host_pattern: 'a.*.example'", False),
    ("host_pattern: 1.2.3.999", False),
    ("host_pattern: '2001:db8::1'", True),
    ("{host_pattern: a.example, ports: '*'}", True),
    ("{host_pattern: a.example, ports: [443, '8000-8100', '*']}", True),
    ("{host_pattern: a.example, ports: [0]}", False),
    ("{host_pattern: a.example, ports: [65536]}", False),
    ("{host_pattern: a.example, ports: []}", False),
    ("{host_pattern: a.example, priority: 1000001}", False),
    ("{host_pattern: a.example, priority: '5'}", False),
    ("{host_pattern: a.example, protocol: sctp}", False),
    ("{host_pattern: a.example, allow_private: 'true'}", False),
    ("{host_pattern: a.example, path_pattern: ['/v1/*', /health]}", True),
    ("{host_pattern: a.example, path_pattern: '/a*b'}", False),
    ("{host_pattern: a.example, path_pattern: '/a/../b'}", False),
    ("{host_pattern: a.example, path_pattern: '/a?b'}", False),
    ("{host_pattern: a.example, methods: [GET, HEAD]}", True),
    ("{host_pattern: a.example, methods: [get]}", False),
    ("{host_pattern: a.example, methods: [GET, GET]}", False),
    ("{host_pattern: a.example, rate_limit_rpm: 0}", False),
    ("{host_pattern: a.example, route: '[2001:db8::1]:8443'}", True),
    ("{host_pattern: a.example, route: '2001:db8::1:8443'}", False),
    ("{host_pattern: a.example, route: 'b.example:0'}", False),
    ("{host_pattern: a.example, tls: passthrough, methods: [GET]}", False),
    ("{host_pattern: a.example, route: 'b.example:1', tls: intercept,"
     " tls_verify_name: c.example}", True),
    ("{host_pattern: a.example, tls_verify_name: c.example}", False),
    ("{host_pattern: a.example, route: 'b.example:1', tls_verify_name: c.example}",
     False),
    ("{host_pattern: a.example, allow_plaintext: true}", False),
    ("{host_pattern: a.example, action: deny, route: 'b.example:1'}", False),
    ("{host_pattern: a.example, action: deny, methods: [DELETE]}", True),
    ("{host_pattern: a.example, protocol: udp, route: 'b.example:1'}", False),
    ("{host_pattern: a.example, auth_strategy: {mode: bearer, secret: hunter2}}",
     False),
    ("{host_pattern: a.example, auth_strategy: {mode: header, secret: 'env:T'}}",
     False),
    ("{host_pattern: a.example, auth_strategy: {mode: header, name: Host,"
     " secret: 'env:T'}}", False),
    ("{host_pattern: a.example, auth_strategy: {mode: basic, username: u,"
     " secret: 'cred:a@b-c.d', placeholder_env: T}}", True),
    ("{host_pattern: a.example, auth_strategy: {mode: basic, username: u,"
     " format: 'x {secret}', secret: 'env:T'}}", False),
    ("{host_pattern: a.example, auth_strategy: {mode: bearer,"
     " format: '{secret}{secret}', secret: 'env:T'}}", False),
    ("{cidr: 10.0.0.0/8, auth_strategy: {mode: bearer, secret: 'env:T'}}", False),
    # credential modes beyond one header (issue 18)
    ("{host_pattern: a.example, auth_strategy: {mode: query, name: api_key,"
     " secret: 'env:T'}}", True),
    ("{host_pattern: a.example, auth_strategy: {mode: query, name: host,"
     " secret: 'env:T'}}", True),
    ("{host_pattern: a.example, auth_strategy: {mode: query, name: 'a+b',"
     " secret: 'env:T'}}", False),
    ("{host_pattern: a.example, auth_strategy: {mode: query, secret: 'env:T'}}",
     False),
    ("{host_pattern: a.example, auth_strategy: {mode: path, secret: 'env:T',"
     " placeholder_env: T}}", True),
    ("{host_pattern: a.example, auth_strategy: {mode: path, secret: 'env:T'}}",
     False),
    ("{host_pattern: a.example, auth_strategy: {mode: path, secret: 'env:T',"
     " placeholder_env: T, format: 'x{secret}'}}", False),
    ("{host_pattern: s3.amazonaws.com, auth_strategy: {mode: aws_sigv4,"
     " access_key_id: 'env:A', secret: 'env:S', session_token: 'file:/t',"
     " access_key_id_placeholder_env: AWS_ACCESS_KEY_ID,"
     " session_token_placeholder_env: AWS_SESSION_TOKEN}}", True),
    ("{host_pattern: a.example, auth_strategy: {mode: aws_sigv4,"
     " access_key_id: 'env:A', secret: 'env:S', region: eu-west-1,"
     " service: s3}}", True),
    ("{host_pattern: s3.amazonaws.com, auth_strategy: {mode: aws_sigv4,"
     " secret: 'env:S'}}", False),
    ("{host_pattern: s3.amazonaws.com, auth_strategy: {mode: aws_sigv4,"
     " access_key_id: AKIA0, secret: 'env:S'}}", False),
    ("{host_pattern: s3.amazonaws.com, auth_strategy: {mode: aws_sigv4,"
     " access_key_id: 'env:A', secret: 'env:S', region: US}}", False),
    ("{host_pattern: s3.amazonaws.com, auth_strategy: {mode: aws_sigv4,"
     " access_key_id: 'env:A', secret: 'env:S',"
     " session_token_placeholder_env: T}}", False),
    ("{host_pattern: a.example, auth_strategy: {mode: bearer, secret: 'env:S',"
     " region: us-east-1}}", False),
    ("{host_pattern: db.example, postgres: {user: u, password: 'env:P',"
     " database: [a, b], tls: require, read_only: false}}", True),
    ("{host_pattern: db.example, postgres: {user: u, password: 'env:P',"
     " database: ['*', a]}}", False),
    ("{host_pattern: 1.2.3.4, postgres: {user: u, password: 'env:P',"
     " database: d}}", False),
    ("{host_pattern: db.example, methods: [GET], postgres: {user: u,"
     " password: 'env:P', database: d}}", False),
    ("{host_pattern: db.example, route: 'x.example:5432', tls_verify_name:"
     " y.example, postgres: {user: u, password: 'env:P', database: d,"
     " tls: require}}", False),
]


@pytest.mark.parametrize("rule,valid", RULES, ids=[r for r, _ in RULES])
def test_schema_agrees_with_islo_net_check(rule, valid, validator, tmp_path):
    text = "rules:\n  - %s\n" % rule
    rc, err = _check(text, tmp_path)
    assert (rc == 0) == valid, err
    errs = _errors(validator, text)
    assert (errs == []) == valid, errs


def test_man_page_examples_are_valid_profiles(validator, tmp_path):
    blocks = _examples("man/islo-net-profile.5")
    assert len(blocks) >= 3
    for i, text in enumerate(blocks):
        rc, err = _check(text, tmp_path, "ex%d.yaml" % i)
        assert rc == 0, text + err
        assert _errors(validator, text) == [], text


# ---------------------------------------------------------------------------
# The systemd unit

UNIT_SRC = os.path.join(ROOT, "contrib/systemd/islo-net.service.in")


def _unit_settings(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def test_unit_has_what_the_daemon_needs():
    s = _unit_settings(_read(UNIT_SRC))
    assert s["ExecStart"][0].startswith(
        "@BINDIR@/islo-net serve --control %t/islo-net/control ")
    assert int(s["LimitNOFILE"][0]) >= 65536
    assert s["RuntimeDirectory"] == ["islo-net"]
    assert s["StateDirectory"] == ["islo-net"]
    # the CA: $XDG_STATE_HOME/islo-net, i.e. the state directory
    assert "XDG_STATE_HOME=/var/lib" in s["Environment"]
    # `serve` opens no TAP device and makes no namespace: no privilege
    assert s["CapabilityBoundingSet"] == [""]
    assert s["NoNewPrivileges"] == ["yes"]
    assert s["RestrictNamespaces"] == ["yes"]
    assert s["ProtectSystem"] == ["strict"]
    # what would break the control socket's peer check (src/peercheck.c)
    for k in ("PrivateNetwork", "PrivateUsers", "ProtectProc"):
        assert k not in s, k
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]


def test_unit_passes_systemd_analyze_verify(prefix, tmp_path):
    sa = shutil.which("systemd-analyze")
    if not sa:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    # can it verify anything here?  (a trivial unit)
    probe = tmp_path / "islo-probe.service"
    probe.write_text("[Service]\nExecStart=/bin/true\n")
    r = subprocess.run([sa, "verify", str(probe)], capture_output=True,
                       text=True, cwd=tmp_path, timeout=60)
    if r.returncode != 0:
        pytest.skip("systemd-analyze verify cannot run here: " +
                    (r.stderr.strip() or r.stdout.strip()))
    unit = os.path.join(prefix, "lib/systemd/system/islo-net.service")
    # Documentation=man:... is checked with man(1): the installed pages
    env = dict(os.environ, MANPATH=os.path.join(prefix, "share/man") + ":")
    r = subprocess.run([sa, "verify", unit], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.strip() == "", r.stderr


def _syscall_group(sa, group, seen=None):
    """The system calls of a systemd syscall group, sub-groups expanded."""
    seen = set() if seen is None else seen
    out = set()
    r = subprocess.run([sa, "syscall-filter", group], capture_output=True,
                       text=True, timeout=60)
    for line in r.stdout.splitlines()[1:]:
        w = line.strip().split(" ")[0]
        if not w or w.startswith("#"):
            continue
        if w.startswith("@"):
            if w not in seen:
                seen.add(w)
                out |= _syscall_group(sa, w, seen)
        else:
            out.add(w)
    return out


def test_unit_syscall_filter_allows_what_the_daemon_calls():
    """The daemon's own seccomp table (src/isolation.c) within the unit's
    SystemCallFilter=: a call the daemon needs must not get EPERM."""
    sa = shutil.which("systemd-analyze")
    if not sa:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    groups = _unit_settings(_read(UNIT_SRC))["SystemCallFilter"]
    assert groups == ["@system-service"]
    allowed = _syscall_group(sa, groups[0])
    if not allowed:
        pytest.skip("systemd-analyze syscall-filter gives nothing here")
    iso = _src("isolation.c")
    need = set()
    for table in ("seccomp_allow", "seccomp_allow_daemon"):
        body = re.search(r"sc_allow %s\[\] = \{(.*?)\n\};" % table, iso,
                         re.S).group(1)
        need |= set(re.findall(r"\bSC(?:_ARG)?\((\w+)", body))
    # the names an #ifdef chooses between: one of each pair is enough
    alternatives = [{"epoll_wait", "epoll_pwait"}, {"poll", "ppoll"}]
    for alt in alternatives:
        if need & alt and allowed & alt:
            need -= alt
    assert need and need <= allowed, sorted(need - allowed)
    # and what start-up needs before that filter: capset (the last
    # capabilities dropped), prctl (seccomp itself), setrlimit
    assert {"capset", "prctl", "setrlimit", "prlimit64", "mlock"} <= allowed


def test_serve_keeps_its_ca_in_the_state_directory(tmp_path):
    """The unit's command line, as the unit runs it: the CA is made in
    $XDG_STATE_HOME/islo-net and the control socket answers."""
    if not os.path.exists(ISLO):
        pytest.skip("%s is missing: run make" % ISLO)
    state, run, logs = (tmp_path / d for d in ("state", "run", "log"))
    for d in (state, run, logs):
        d.mkdir()
    control = run / "control"
    env = dict(os.environ, XDG_STATE_HOME=str(state))
    p = subprocess.Popen([ISLO, "serve", "--control", str(control),
                          "--audit-log", str(logs / "audit.log")],
                         env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        while time.time() < deadline and p.poll() is None:
            if control.exists():
                try:
                    with socket.socket(socket.AF_UNIX) as c:
                        c.connect(str(control))
                    break
                except OSError:
                    pass
            time.sleep(0.05)
        assert p.poll() is None, p.communicate()[1]
        r = subprocess.run([ISLO, "ctl", "--control", str(control), "list"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and '"ok":true' in r.stdout, r.stderr
        assert (state / "islo-net" / "ca.pem").is_file()
        assert stat.S_IMODE((state / "islo-net" / "ca-key.pem").stat().st_mode) \
            == 0o600
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    assert p.returncode == 0
    assert not control.exists()


# ---------------------------------------------------------------------------
# bash completion

COMPLETION = os.path.join(ROOT, "contrib/bash-completion/islo-net")


def _complete(*words, env=None, cwd=ROOT, script=COMPLETION):
    """What the completion offers for the command line WORDS (the last one
    being completed), in a bash with no other completion loaded."""
    if not shutil.which("bash"):
        pytest.skip("bash is not installed")
    prog = (
        'source "$1" || exit 3\n'
        'complete -p islo-net >/dev/null || exit 4\n'
        'shift\n'
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))\n'
        'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}\n'
        '_islo_net\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n')
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog, "bash",
                        script] + list(words), capture_output=True, text=True,
                       env=env, cwd=cwd, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    return [w for w in r.stdout.splitlines() if w]


def test_completion_loads_and_completes_a_subcommand(destdir):
    installed = os.path.join(destdir,
                             "usr/share/bash-completion/completions/islo-net")
    assert _complete("islo-net", "ch", script=installed) == ["check"]
    assert _complete("islo-net", "se") == ["serve"]
    assert sorted(_complete("islo-net", "")) == sorted(
        _subcommands() + ["--help", "--version"])


def test_completion_knows_every_option():
    text = _read(COMPLETION)
    for opt in _long_options():
        assert re.search(r"(^|[\s\"|])--%s([\s\"|)]|$)" % re.escape(opt), text,
                         re.M), "--" + opt
    assert set(_complete("islo-net", "run", "--")) >= {
        "--gateway-profile", "--profile", "--profiles-dir", "--audit-log",
        "--dns-upstream", "--ca-dir", "--upstream-ca", "--max-connections",
        "--mtu", "--host-services", "--verbose", "--quiet", "--help"}
    assert set(_complete("islo-net", "serve", "--")) >= {
        "--control", "--metrics-listen", "--audit-log"}
    assert "--gateway-profile" not in _complete("islo-net", "serve", "--")
    assert _complete("islo-net", "ctl", "--control", "/s", "") == [
        "add", "remove", "list", "stats", "reload", "metrics"]
    assert set(_complete("islo-net", "ctl", "--control", "/s", "add", "--")) >= {
        "--id", "--tap", "--netns", "--tap-fd", "--qemu-socket",
        "--gateway-profile"}
    assert _complete("islo-net", "ca", "") == ["path", "export", "--help"]


def test_completion_offers_profiles_from_the_search_path(tmp_path):
    a, b, cfg = tmp_path / "a", tmp_path / "b", tmp_path / "cfg"
    for d in (a, b, cfg / "islo" / "profiles"):
        d.mkdir(parents=True)
    (a / "alpha.yaml").write_text("rules: []\n")
    (b / "beta.yml").write_text("rules: []\n")
    (cfg / "islo" / "profiles" / "gamma.yaml").write_text("rules: []\n")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "delta.yaml").write_text("rules: []\n")
    env = dict(os.environ, ISLO_PROFILES_PATH=str(a), XDG_CONFIG_HOME=str(cfg))
    names = set(_complete("islo-net", "run", "-g", "", env=env, cwd=tmp_path))
    assert {"alpha", "gamma", "delta"} <= names and "beta" not in names
    names = set(_complete("islo-net", "check", "--profiles-dir", str(b), "",
                          env=env, cwd=tmp_path))
    assert {"alpha", "beta", "gamma", "delta"} <= names
    assert _complete("islo-net", "run", "--profile", "al", env=env,
                     cwd=tmp_path) == ["alpha"]
    # after CMD, the words are CMD's own: no islo-net options
    assert _complete("islo-net", "run", "-g", "alpha", "--", "ls", "--",
                     env=env, cwd=tmp_path) == []
