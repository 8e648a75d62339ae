# SPDX-License-Identifier: MIT
"""The database gateway (issue 6), against a real PostgreSQL 15.

A PostgreSQL cluster is made here on loopback (initdb as the `postgres`
user when we are root), with a certificate from the test CA for
db.internal.example and rw.internal.example, and scram-sha-256 for TCP in
pg_hba.conf (TLS only).  The role `analyst` may write to analytics.items:
what stops writes through a read-only rule is the gateway, not a missing
grant.  Real clients run in the sandbox: psql (libpq), psycopg2 (libpq,
simple protocol) and pg8000 (pure Python, extended protocol)."""
import json
import os
import pwd
import shutil
import subprocess
import time

import pytest

from conftest import audit_events, free_port

PW = "pg-S3cret-7a1c9e-analyst"
PGBIN = "/usr/lib/postgresql/15/bin"
PY = "/usr/bin/python3"

PROFILE = """\
name: pg
rules:
  - name: db
    host_pattern: db.internal.example
    ports: [{pg}]
    allow_private: true
    postgres:
      user: analyst
      password: file:{pwfile}
      database: analytics
      read_only: true
      tls: verify-full
      log_statements: true
      client_tls: true
  - name: db-rw
    host_pattern: rw.internal.example
    ports: [{pg}]
    allow_private: true
    postgres:
      user: analyst
      password: env:ISLO_PG_PW
      database: [analytics]
      read_only: false
  - name: db-mismatch
    host_pattern: mismatch.internal.example
    ports: [{pg}]
    allow_private: true
    postgres:
      user: analyst
      password: file:{pwfile}
      database: analytics
  - name: db-nocheck
    host_pattern: nocheck.internal.example
    ports: [{pg}]
    allow_private: true
    postgres:
      user: analyst
      password: file:{pwfile}
      database: analytics
      tls: require
  - name: db-md5
    host_pattern: md5.internal.example
    ports: [{pg}]
    allow_private: true
    postgres:
      user: md5user
      password: env:ISLO_PG_PW
      database: analytics
      tls: require
  - name: db-plain
    host_pattern: plain.internal.example
    ports: [{pg}]
    allow_private: true
    postgres:
      user: plainuser
      password: env:ISLO_PG_PW
      database: analytics
      tls: require
  - name: db-badpw
    host_pattern: badpw.internal.example
    ports: [{pg}]
    allow_private: true
    postgres:
      user: analyst
      password: env:ISLO_PG_BADPW
      database: analytics
      tls: require
  - name: db-down
    host_pattern: db.internal.example
    ports: [{closed}]
    route: 127.0.0.1:{closed}
    postgres:
      user: analyst
      password: file:{pwfile}
      database: analytics
"""

# Every way out of read-only mode the issue lists, spelled several ways.
ESCAPES = [
    "BEGIN READ WRITE",
    "begin transaction isolation level serializable, read write",
    "START TRANSACTION READ WRITE",
    "BEGIN READ/* hidden */WRITE",
    "BEGIN READ -- comment\n WRITE",
    "SET TRANSACTION READ WRITE",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "SET default_transaction_read_only = off",
    "set DEFAULT_TRANSACTION_READ_ONLY to false",
    "SET SESSION default_transaction_read_only TO off",
    "SET LOCAL transaction_read_only = off",
    'SET "default_transaction_read_only" = off',
    'SET "Transaction_Read_Only" TO off',
    "RESET ALL",
    "RESET default_transaction_read_only",
    "reset transaction_read_only",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT pg_catalog.set_config('transaction_read_only', 'off', true)",
    "SELECT set_config(lower('DEFAULT_TRANSACTION_READ_ONLY'), 'off', false)",
    "SELECT \"set_config\"(E'default\\x5ftransaction_read_only', 'off', false)",
    "SET ROLE postgres",
    "SET SESSION ROLE postgres",
    "set role none",
    "SET SESSION AUTHORIZATION postgres",
    "RESET SESSION AUTHORIZATION",
    "SELECT 1; SET default_transaction_read_only = off",
    "SELECT $$x$$; SET ROLE postgres",
    "SELECT $q$ '; $q$; SET ROLE postgres; -- '",
    "UPDATE pg_settings SET setting = 'off' WHERE name = 'default_transaction_read_only'",
    "DO $$BEGIN PERFORM set_config('default_transaction_read_only','off',false); END$$",
    "DISCARD ALL",
    "ALTER ROLE analyst SET default_transaction_read_only = off",
    "SET client_encoding TO 'SJIS'",      # its characters can hide a backslash
]

# Harmless statements that mention the words: they must run.
HARMLESS = [
    ("SELECT 'set role postgres'", "set role postgres"),
    ("SELECT 1 /* BEGIN READ WRITE */", "1"),
    ("-- SET ROLE postgres\nSELECT 2", "2"),
    ("SELECT $$RESET ALL$$", "RESET ALL"),
    ("SELECT current_setting('default_transaction_read_only')", "on"),
    ("SHOW transaction_read_only", "on"),
    ("SELECT set_config('application_name', 'x', false)", "x"),
    ("SELECT name FROM items WHERE name = 'read write' OR id = 1", "one"),
]


def runas_prefix():
    return ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Postgres:
    def __init__(self, world):
        self.dir = os.path.join(world.dir, "pg")
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        owner = None
        if os.getuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        # a server certificate from the test CA for the names the rules use
        d = self.dir
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key", cwd=d)
        openssl("req", "-new", "-key", "server.key", "-subj", "/CN=db.internal.example",
                "-out", "server.csr", cwd=d)
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=DNS:db.internal.example,DNS:rw.internal.example\n")
        openssl("x509", "-req", "-in", "server.csr", "-CA", world.ca, "-CAkey",
                os.path.join(world.dir, "ca.key"), "-CAcreateserial", "-days", "2",
                "-sha256", "-extfile", "ext.cnf", "-out", "server.crt", cwd=d)
        os.chmod(os.path.join(d, "server.key"), 0o600)
        if owner:
            for n in ("server.key", "server.crt"):
                os.chown(os.path.join(d, n), owner.pw_uid, owner.pw_gid)
        subprocess.run(runas_prefix() + [PGBIN + "/initdb", "-D", self.data, "-U", "postgres",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                        "--locale=C"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\n"
                    "hostssl all md5user 127.0.0.1/32 md5\n"
                    "hostssl all plainuser 127.0.0.1/32 password\n"
                    "hostssl all all 127.0.0.1/32 scram-sha-256\n")
        self.log = os.path.join(self.dir, "server.log")
        subprocess.run(runas_prefix() + [
            PGBIN + "/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "30", "start",
            "-o", "-c port=%d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s "
                  "-c ssl=on -c ssl_cert_file=%s/server.crt -c ssl_key_file=%s/server.key "
                  "-c password_encryption=scram-sha-256 -c fsync=off -c log_connections=on"
                  % (self.port, self.dir, self.dir, self.dir)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.sql("postgres", "CREATE ROLE analyst LOGIN PASSWORD '%s'" % PW)
        self.sql("postgres", "SET password_encryption = 'md5'; "
                             "CREATE ROLE md5user LOGIN PASSWORD '%s'; "
                             "CREATE ROLE plainuser LOGIN PASSWORD '%s'" % (PW, PW))
        self.sql("postgres", "CREATE DATABASE analytics OWNER analyst")
        self.sql("postgres", "CREATE DATABASE other")
        self.sql("analytics", "SET ROLE analyst; CREATE TABLE items (id int, name text); "
                              "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')")

    def sql(self, db, text):
        r = subprocess.run(runas_prefix() + ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                                             "-p", str(self.port), "-U", "postgres", "-d", db,
                                             "-Atc", text],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def stop(self):
        subprocess.run(runas_prefix() + [PGBIN + "/pg_ctl", "-D", self.data, "-m", "immediate",
                                         "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def pg(world):
    p = Postgres(world)
    pwfile = os.path.join(world.dir, "pg.password")
    with open(pwfile, "w") as f:
        f.write(PW + "\n")
    os.chmod(pwfile, 0o600)
    if os.getuid() == 0:
        try:
            u = pwd.getpwnam("islo-test")
            os.chown(pwfile, u.pw_uid, u.pw_gid)
        except KeyError:
            pass
    p.pwfile = pwfile
    world.profile("pg", PROFILE.replace("{pwfile}", pwfile).replace("{pg}", str(p.port)))
    yield p
    p.stop()


def run(islo, world, pg, cmd, timeout=90):
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    return islo(cmd, "pg", extra=extra, timeout=timeout,
                env={"ISLO_PG_PW": PW, "ISLO_PG_BADPW": "not-the-password"})


def psql(pg, host, sql, user="analyst", db="analytics"):
    return ("psql -X -w -v VERBOSITY=verbose \"host=%s port=%d dbname=%s user=%s "
            "connect_timeout=20\" -Atc %s" % (host, pg.port, db, user, shquote(sql)))


def shquote(s):
    return "'" + s.replace("'", "'\"'\"'") + "'"


def events(r, kind):
    return [e for e in audit_events(r.audit) if e["event"] == kind]


def test_psql_reads_through_the_gateway(islo, world, pg):
    r = run(islo, world, pg, ["sh", "-c", psql(
        pg, "db.internal.example",
        "SELECT count(*) FROM items; SELECT current_user; SHOW transaction_read_only; "
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")])
    assert r.rc == 0, r
    assert r.out.split() == ["3", "analyst", "on", "t"], r
    s = events(r, "db_session")
    assert s and s[0]["result"] == "ok" and s[0]["user"] == "analyst", r.audit
    assert s[0]["database"] == "analytics" and s[0]["tls"] == "verify-full", s
    assert s[0]["upstream"] == "127.0.0.1:%d" % pg.port and s[0]["read_only"] is True
    q = events(r, "db_query")
    assert q and q[0]["action"] == "allow" and q[0]["command"] == "SELECT 1", q
    assert "count(*)" in q[0]["statement"]          # log_statements: true
    assert "duration_ms" in q[0]
    assert any(e["phase"] == "close" for e in s), s
    assert PW not in r.audit and PW not in r.out + r.err


ESCAPE_SCRIPT = r"""
import json, sys
import psycopg2
conn = psycopg2.connect(host="db.internal.example", port=%(port)d, dbname="analytics",
                        user="analyst", connect_timeout=20)
conn.autocommit = True
cur = conn.cursor()
out = {"escapes": [], "harmless": []}
for q in json.loads(sys.argv[1]):
    try:
        cur.execute(q)
        out["escapes"].append([q, "ran"])
    except psycopg2.Error as e:
        out["escapes"].append([q, e.pgcode, str(e).strip()])
    cur.execute("SELECT 42")            # the session is still usable
    assert cur.fetchone()[0] == 42
for q, want in json.loads(sys.argv[2]):
    cur.execute(q)
    out["harmless"].append([q, str(cur.fetchone()[0]), want])
# in a transaction block: refused, then the server's own aborted state
conn.autocommit = False
try:
    cur.execute("SET ROLE postgres")
except psycopg2.Error as e:
    out["in_txn"] = e.pgcode
conn.rollback()
cur.execute("SELECT current_user, current_setting('transaction_read_only')")
out["after"] = list(cur.fetchone())
try:
    cur.execute("INSERT INTO items VALUES (9, 'nine')")
    out["insert"] = "ran"
except psycopg2.Error as e:
    out["insert"] = e.pgcode
conn.rollback()
print("RESULT " + json.dumps(out))
"""


def test_every_escape_refused_with_25006_and_session_usable(islo, world, pg):
    script = ESCAPE_SCRIPT % {"port": pg.port}
    r = run(islo, world, pg, [PY, "-c", script, json.dumps(ESCAPES), json.dumps(HARMLESS)])
    assert r.rc == 0, r
    out = json.loads(r.out.split("RESULT ", 1)[1])
    for q, code, *msg in out["escapes"]:
        assert code == "25006", (q, code, msg)
        assert "islo-net: read-only session" in msg[0], (q, msg)
    for q, got, want in out["harmless"]:
        assert got == want, (q, got, want)
    assert out["in_txn"] == "25006"
    assert out["after"] == ["analyst", "on"]
    assert out["insert"] == "25006"     # the server's own: read-only transaction
    deny = [e for e in events(r, "db_query") if e["action"] == "deny"]
    assert len(deny) == len(ESCAPES) + 1, deny
    assert all(e["sqlstate"] == "25006" and e["reason"] for e in deny)
    # nothing changed upstream
    assert pg.sql("analytics", "SELECT count(*) FROM items").strip() == "3"


PG8000_SCRIPT = r"""
import json, sys
import pg8000
conn = pg8000.connect(user="analyst", host="db.internal.example", port=%(port)d,
                      database="analytics")
conn.autocommit = True
cur = conn.cursor()
res = []
for q in json.loads(sys.argv[1]):
    try:
        cur.execute(q)
        res.append([q, "ran"])
    except Exception as e:
        res.append([q, repr(e.args)])
    cur.execute("SELECT 40 + %%s", (2,))  # extended protocol, with a parameter
    assert cur.fetchone()[0] == 42
cur.execute("SELECT name FROM items WHERE id = %%s", (2,))
print("RESULT " + json.dumps({"res": res, "row": cur.fetchone()[0]}))
"""


def test_extended_protocol_pg8000(islo, world, pg):
    escapes = [q for q in ESCAPES if ";" not in q]    # one statement per Parse
    script = PG8000_SCRIPT % {"port": pg.port}
    r = run(islo, world, pg, [PY, "-c", script, json.dumps(escapes)])
    assert r.rc == 0, r
    out = json.loads(r.out.split("RESULT ", 1)[1])
    for q, err in out["res"]:
        assert "25006" in err and "islo-net" in err, (q, err)
    assert out["row"] == "two"
    q = [e for e in events(r, "db_query") if e["protocol"] == "extended"]
    assert any(e["action"] == "deny" for e in q) and any(e["action"] == "allow" for e in q)


def test_read_write_rule_writes_and_read_only_rule_does_not(islo, world, pg):
    r = run(islo, world, pg, ["sh", "-c",
        psql(pg, "db.internal.example", "INSERT INTO items VALUES (7, 'seven')") + "; echo RO=$?; " +
        psql(pg, "rw.internal.example", "INSERT INTO items VALUES (8, 'eight') RETURNING id") +
        "; echo RW=$?"])
    assert "RO=1" in r.out and "25006" in r.err and "read-only transaction" in r.err, r
    assert "8\nINSERT 0 1\nRW=0" in r.out, r
    assert pg.sql("analytics", "SELECT string_agg(id::text, ',' ORDER BY id) FROM items").strip() == "1,2,3,8"
    pg.sql("analytics", "DELETE FROM items WHERE id = 8")
    rw = [e for e in events(r, "db_query") if e["rule"] == "db-rw"]
    assert rw and rw[0]["command"] == "INSERT 0 1" and "statement" not in rw[0], rw


# psql does not print the SQLSTATE of a connection error (and this
# pg8000 turns 28000 into a message of its own): a few lines of Python
# speak the start-up and print the fields of the ErrorResponse.
PROBE = r"""
import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
body = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in
                (("user", sys.argv[3]), ("database", sys.argv[4]))) + b"\0"
s.sendall(struct.pack("!ii", 8 + len(body), 196608) + body)
data = b""
while len(data) < 5 or len(data) < 1 + struct.unpack("!i", data[1:5])[0]:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
if data[:1] == b"E":
    fields = dict((f[:1].decode(), f[1:].decode()) for f in data[5:].split(b"\0") if f)
    print("PROBE %s %s" % (fields.get("C"), fields.get("M")))
else:
    print("PROBE got %r" % data[:1])
"""


def probe(host, port, user="analyst", db="analytics"):
    return "%s -c %s %s %d %s %s" % (PY, shquote(PROBE), host, port, user, db)


def test_wrong_user_and_database_refused(islo, world, pg):
    r = run(islo, world, pg, ["sh", "-c",
        psql(pg, "db.internal.example", "SELECT 1", user="postgres") + "; echo U=$?; " +
        psql(pg, "db.internal.example", "SELECT 1", db="other") + "; echo D=$?; " +
        probe("db.internal.example", pg.port, user="postgres") + "; " +
        probe("db.internal.example", pg.port, db="other")])
    assert "U=2" in r.out and "D=2" in r.out, r
    assert r.out.count("PROBE") == 2 and r.out.count("28000") == 2, r
    assert 'does not allow user "postgres"' in r.err, r
    assert 'does not allow database "other"' in r.err, r
    s = events(r, "db_session")
    # (with client_tls, libpq's sslmode=prefer tries again without TLS
    # after a refusal: psql's attempts are logged twice)
    assert {e["result"] for e in s} == {"denied"} and len(s) >= 4, s


def test_certificate_mismatch_refused_under_verify_full(islo, world, pg):
    r = run(islo, world, pg, ["sh", "-c",
        psql(pg, "mismatch.internal.example", "SELECT 1") + "; echo M=$?; " +
        psql(pg, "nocheck.internal.example", "SELECT 'encrypted'") + "; echo N=$?; " +
        probe("mismatch.internal.example", pg.port)])
    assert "M=2" in r.out, r
    assert "does not match the host name" in r.err, r
    assert "PROBE" in r.out and "08006" in r.out, r
    assert "encrypted\nN=0" in r.out, r             # tls: require does not check the name
    s = events(r, "db_session")
    assert s[0]["result"] == "upstream_failed" and "host name" in s[0]["reason"], s


def test_upstream_unreachable_is_a_postgres_error(islo, world, pg):
    t = time.time()
    r = run(islo, world, pg, ["sh", "-c",
        "psql -X -w -v VERBOSITY=verbose \"host=db.internal.example port=%d dbname=analytics "
        "user=analyst connect_timeout=20\" -Atc 'SELECT 1'; echo R=$?; " % world.closed_port +
        probe("db.internal.example", world.closed_port)])
    assert "R=2" in r.out and "Connection refused" in r.err, r
    assert "PROBE" in r.out and "08006" in r.out, r
    assert time.time() - t < 30


def test_password_never_reaches_the_sandbox(islo, world, pg):
    r = run(islo, world, pg, ["sh", "-c",
        "env; cat /proc/self/environ | tr '\\0' '\\n'; echo FILE:; cat %s; echo :END; " % pg.pwfile +
        psql(pg, "db.internal.example", "SELECT 'connected'") + "; " +
        psql(pg, "rw.internal.example", "SELECT 'connected'") + "; " +
        "PGPASSWORD=wrong " + psql(pg, "db.internal.example", "SELECT 'placeholder ok'")])
    assert r.rc == 0, r
    assert "FILE:\n:END" in r.out, r                 # the secret file is hidden
    assert r.out.count("connected") == 2 and "placeholder ok" in r.out, r
    assert PW not in r.out and PW not in r.err and PW not in r.audit
    assert "ISLO_PG_PW" not in r.out                 # env: secret removed


CANCEL_SCRIPT = r"""
import threading, time
import psycopg2
conn = psycopg2.connect(host="db.internal.example", port=%(port)d, dbname="analytics",
                        user="analyst", connect_timeout=20)
conn.autocommit = True
threading.Timer(1.0, conn.cancel).start()
t0 = time.time()
try:
    conn.cursor().execute("SELECT pg_sleep(20)")
    print("RESULT ran")
except psycopg2.Error as e:
    print("RESULT %%s %%.1f" %% (e.pgcode, time.time() - t0))
cur = conn.cursor()
cur.execute("SELECT 'still here'")
print(cur.fetchone()[0])
"""


def test_cancel_request_reaches_upstream(islo, world, pg):
    r = run(islo, world, pg, [PY, "-c", CANCEL_SCRIPT % {"port": pg.port}])
    assert r.rc == 0, r
    code, secs = r.out.split("RESULT ", 1)[1].split()[:2]
    assert code == "57014" and float(secs) < 10, r      # query_canceled
    assert "still here" in r.out


def test_md5_and_cleartext_upstream_and_a_wrong_password(islo, world, pg):
    """The server asks for md5 or a cleartext password (pg_hba.conf says so
    for these roles); a wrong password in the profile is upstream's 28P01."""
    r = run(islo, world, pg, ["sh", "-c",
        psql(pg, "db.internal.example", "SELECT current_user") + "; " +
        psql(pg, "md5.internal.example", "SELECT current_user", user="md5user") + "; " +
        psql(pg, "plain.internal.example", "SELECT current_user", user="plainuser") + "; " +
        psql(pg, "badpw.internal.example", "SELECT 1") + "; echo B=$?; " +
        probe("badpw.internal.example", pg.port)])
    assert "analyst\nmd5user\nplainuser\n" in r.out, r
    assert "B=2" in r.out and 'password authentication failed for user "analyst"' in r.err, r
    assert "PROBE 28P01" in r.out, r
    s = events(r, "db_session")
    assert [e["result"] for e in s if e["phase"] == "open"] == \
        ["ok", "ok", "ok", "auth_failed", "auth_failed"], s
    assert "not-the-password" not in r.audit and PW not in r.audit
    log = open(pg.log).read()      # the methods the server really used
    assert 'identity="md5user" method=md5' in log, log[-2000:]
    assert 'identity="plainuser" method=password' in log, log[-2000:]
    assert 'identity="analyst" method=scram-sha-256' in log, log[-2000:]


RAW_SCRIPT = r"""
import socket, struct, sys
host, port = "db.internal.example", int(sys.argv[1])

def ask(data):
    s = socket.create_connection((host, port), timeout=20)
    s.sendall(data)
    out = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
    except socket.timeout:
        out += b"<timeout>"
    fields = {}
    if out[:1] == b"E":
        fields = dict((f[:1].decode(), f[1:].decode(errors="replace"))
                      for f in out[5:].split(b"\0") if f)
    print("RAW", fields.get("C"), fields.get("M", out[:40]))

def startup(*kv, ver=196608):
    body = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in kv) + b"\0"
    return struct.pack("!ii", 8 + len(body), ver) + body

ask(b"GET / HTTP/1.1\r\nHost: db.internal.example\r\n\r\n")
ask(struct.pack("!ii", 100000, 196608))
ask(startup(("user", "analyst"), ver=131072))
ask(startup(("user", "analyst"), ("database", "analytics"),
            ("options", "-c default_transaction_read_only=off")))
ask(startup(("user", "analyst"), ("database", "analytics"), ("role", "postgres")))
ask(startup(("user", "analyst"), ("database", "analytics"), ("replication", "database")))
ask(startup(("user", "analyst"), ("database", "analytics"),
            ("default_transaction_read_only", "off")))
ask(startup(("user", "analyst"), ("database", "analytics"), ("client_encoding", "SJIS")))
"""


def test_hostile_startups_get_clean_refusals(islo, world, pg):
    r = run(islo, world, pg, [PY, "-c", RAW_SCRIPT, str(pg.port)])
    assert r.rc == 0, r
    lines = [l.split(" ", 2) for l in r.out.splitlines() if l.startswith("RAW")]
    assert [l[1] for l in lines] == ["08P01", "08P01", "08P01", "42501", "42501",
                                     "42501", "42501", "42501"], r
    assert all("islo-net" in l[2] for l in lines), lines
    assert "'options'" in lines[3][2] and '"role"' in lines[4][2], lines


BIG_SCRIPT = r"""
import psycopg2
conn = psycopg2.connect(host="db.internal.example", port=%(port)d, dbname="analytics",
                        user="analyst", connect_timeout=20)
conn.autocommit = True
cur = conn.cursor()
try:
    cur.execute("SELECT 1 /*" + "x" * (1536 * 1024) + "*/")
    print("RESULT ran")
except psycopg2.Error as e:
    print("RESULT", e.pgcode, str(e).strip())
cur.execute("SELECT length(%%s)", ("y" * (900 * 1024),))
print("RESULT", cur.fetchone()[0])
"""


def test_statements_too_long_to_check_are_refused(islo, world, pg):
    r = run(islo, world, pg, [PY, "-c", BIG_SCRIPT % {"port": pg.port}])
    assert r.rc == 0, r
    res = [l for l in r.out.splitlines() if l.startswith("RESULT")]
    assert res[0].startswith("RESULT 25006") and "too long" in res[0], r
    assert res[1] == "RESULT 921600", r           # under the limit: checked, runs


def test_client_tls_answers_with_the_islo_net_ca(islo, world, pg):
    """client_tls: true: the sandbox's SSLRequest gets 'S' and a certificate
    for the name from the islo-net CA, which the sandbox trusts
    ($SSL_CERT_FILE); without it (rw.) the answer is 'N'."""
    r = run(islo, world, pg, ["sh", "-c",
        "psql -X -w \"host=db.internal.example port=%d dbname=analytics user=analyst "
        "sslmode=verify-full sslrootcert=$SSL_CERT_FILE\" -Atc 'SELECT 1' -c '\\conninfo'; "
        "echo V=$?; "
        "psql -X -w \"host=rw.internal.example port=%d dbname=analytics user=analyst "
        "sslmode=require\" -Atc 'SELECT 1'; echo R=$?" % (pg.port, pg.port)])
    assert "V=0" in r.out and "SSL connection (protocol: TLSv1.2" in r.out, r
    assert "R=2" in r.err + r.out and "server does not support SSL" in r.err, r


PIPELINE_SCRIPT = r"""
import socket, struct, sys
s = socket.create_connection(("db.internal.example", int(sys.argv[1])), timeout=30)

def msg(t, body):
    return t + struct.pack("!i", 4 + len(body)) + body

buf = b""
def read_msg():
    global buf
    while len(buf) < 5 or len(buf) < 1 + struct.unpack("!i", buf[1:5])[0]:
        c = s.recv(65536)
        if not c:
            raise SystemExit("closed")
        buf += c
    n = 1 + struct.unpack("!i", buf[1:5])[0]
    m, buf = buf[:n], buf[n:]
    return m[:1], m[5:]

body = b"user\0analyst\0database\0analytics\0\0"
s.sendall(struct.pack("!ii", 8 + len(body), 196608) + body)
while read_msg()[0] != b"Z":
    pass
# 400 statements pipelined in one batch, more than the gateway keeps track
# of at once, with a refused one in the middle
batch = b""
for i in range(400):
    q = b"SET ROLE postgres" if i == 300 else b"SELECT %d" % i
    batch += (msg(b"P", b"\0" + q + b"\0\0\0") + msg(b"B", b"\0\0" + b"\0" * 6) +
              msg(b"E", b"\0" + b"\0" * 4))
    if i in (299, 399):
        batch += msg(b"S", b"")
s.sendall(batch)
counts, errors, zs = {}, [], 0
while zs < 2:
    t, b = read_msg()
    counts[t] = counts.get(t, 0) + 1
    if t == b"E":
        errors.append([f[1:].decode() for f in b.split(b"\0") if f[:1] == b"C"][0])
    if t == b"Z":
        zs += 1
print("RESULT", counts.get(b"C", 0), errors)
"""


def test_pipelined_batch_and_copy(islo, world, pg):
    r = run(islo, world, pg, ["sh", "-c",
        "%s -c %s %d; " % (PY, shquote(PIPELINE_SCRIPT), pg.port) +
        psql(pg, "db.internal.example", "COPY (SELECT id FROM items ORDER BY id) TO STDOUT") + "; " +
        "printf '20\\ttwenty\\n21\\ttwenty-one\\n' | " +
        psql(pg, "rw.internal.example", "COPY items FROM STDIN") + "; " +
        psql(pg, "db.internal.example", "SELECT count(*) FROM items WHERE id >= 20")])
    assert r.rc == 0, r
    # the first 300 run; the refusal ends the second batch (discarded to Sync)
    assert "RESULT 300 ['25006']" in r.out, r
    assert "1\n2\n3\n" in r.out and "COPY 2" in r.out and r.out.rstrip().endswith("2"), r
    pg.sql("analytics", "DELETE FROM items WHERE id >= 20")


def test_cmd_password_past_its_secret_ttl_is_not_used(islo, world, pg, scratch):
    """A `cmd:` password whose program fails on its second run: the first
    value logs in; once it is secret_ttl old, the login is refused with
    the reason (issue 18 point 4), never the password."""
    prog = os.path.join(scratch, "pgpw.sh")
    count = os.path.join(scratch, "pgpw.count")
    with open(count, "w") as f:
        f.write("0\n")
    os.chmod(count, 0o666)
    with open(prog, "w") as f:
        f.write("#!/bin/sh\nn=$(cat %s); n=$((n+1)); echo $n > %s\n"
                "[ $n -gt 1 ] && { echo vault sealed >&2; exit 2; }\necho %s\n"
                % (count, count, PW))
    os.chmod(prog, 0o755)
    world.profile("pgttl", """\
name: pgttl
rules:
  - name: db
    host_pattern: rw.internal.example
    ports: [%d]
    allow_private: true
    postgres:
      user: analyst
      password: "cmd:%s"
      secret_ttl: 2
      database: analytics
      tls: require
""" % (pg.port, prog))
    extra = ["--upstream-ca", world.ca, "--ca-dir", os.path.join(islo.tmp, "ca")]
    q = psql(pg, "rw.internal.example", "SELECT current_user")
    r = islo(["sh", "-c", "%s; sleep 2.6; %s; echo rc=$?" % (q, q)], "pgttl",
             extra=extra, timeout=90)
    assert r.out.split("\n")[0] == "analyst", r
    assert "rc=2" in r.out and "credential expired" in r.err + r.out, r
    s = events(r, "db_session")
    assert s[0]["result"] == "ok", s
    bad = [e for e in s if e["result"] == "upstream_failed"]
    assert bad and "credential expired" in json.dumps(bad[0]), s
    assert "vault sealed" not in r.audit and "vault sealed" in r.err
    assert PW not in r.audit and PW not in r.out + r.err
