// SPDX-License-Identifier: MIT
/*
 * test_pg.c - the database gateway's parts: PostgreSQL wire parsing and
 * writing (src/pgwire.c), the read-only statement guard (src/pgguard.c),
 * SCRAM-SHA-256 and md5 (src/scram.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgguard.h"
#include "pgwire.h"
#include "scram.h"
#include "unit.h"

/* ------------------------------------------------------------------ */
/* pgwire                                                              */

static size_t startup(uint8_t *b, const char *params, size_t plen)
{
	size_t n = 8 + plen;

	b[0] = (uint8_t)(n >> 24);
	b[1] = (uint8_t)(n >> 16);
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	b[4] = 0;
	b[5] = 3;
	b[6] = 0;
	b[7] = 0;
	memcpy(b + 8, params, plen);
	return n;
}

TEST(pgwire_startup)
{
	static const char p[] = "user\0analyst\0database\0analytics\0application_name\0psql\0";
	uint8_t b[256];
	struct pgw_startup s;
	size_t n = startup(b, p, sizeof(p)), i;

	for (i = 0; i < n; i++)
		CHECK(pgw_startup_parse(b, i, &s) == PGW_NEED_MORE);
	REQUIRE(pgw_startup_parse(b, n, &s) == PGW_DONE);
	CHECK(s.len == n && s.code == PGW_PROTO_V3 && s.nparams == 3);
	CHECK_STR((const char *)b + s.params[0].key, "user");
	CHECK_STR((const char *)b + s.params[0].val, "analyst");
	CHECK_STR((const char *)b + s.params[2].val, "psql");
	CHECK(s.params[1].val_len == 9);

	/* no final empty name */
	n = startup(b, p, sizeof(p) - 1);
	CHECK(pgw_startup_parse(b, n, &s) == PGW_BAD);
	/* a value running off the end */
	n = startup(b, "user\0analyst", 12);
	CHECK(pgw_startup_parse(b, n, &s) == PGW_BAD);
	/* bytes after the terminator */
	n = startup(b, "user\0a\0\0x", 9);
	CHECK(pgw_startup_parse(b, n, &s) == PGW_BAD);
	/* protocol 2 */
	n = startup(b, p, sizeof(p));
	b[5] = 2;
	CHECK(pgw_startup_parse(b, n, &s) == PGW_BAD);
	/* 3.2 is still 3.x */
	b[5] = 3;
	b[7] = 2;
	CHECK(pgw_startup_parse(b, n, &s) == PGW_DONE);
	/* lengths: too short, too long */
	memset(b, 0, 8);
	b[3] = 4;
	CHECK(pgw_startup_parse(b, 8, &s) == PGW_BAD);
	b[2] = 0x30; /* 12292 > 10000 */
	CHECK(pgw_startup_parse(b, 8, &s) == PGW_BAD);
}

TEST(pgwire_requests)
{
	static const uint8_t ssl[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	static const uint8_t gss[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30 };
	static const uint8_t cancel[16] = { 0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e,
					    0, 0, 0, 7, 1, 2, 3, 4 };
	static const uint8_t badssl[9] = { 0, 0, 0, 9, 0x04, 0xd2, 0x16, 0x2f, 0 };
	struct pgw_startup s;
	uint8_t out[8];

	CHECK(pgw_startup_parse(ssl, 8, &s) == PGW_DONE && s.code == PGW_SSL_REQUEST);
	CHECK(pgw_startup_parse(gss, 8, &s) == PGW_DONE && s.code == PGW_GSSENC_REQUEST);
	CHECK(pgw_startup_parse(cancel, 15, &s) == PGW_NEED_MORE);
	CHECK(pgw_startup_parse(cancel, 16, &s) == PGW_DONE &&
	      s.cancel_pid == 7 && s.cancel_key == 0x01020304);
	CHECK(pgw_startup_parse(badssl, 9, &s) == PGW_BAD);
	CHECK(pgw_put_ssl_request(out, 8) == 8 && !memcmp(out, ssl, 8));
}

TEST(pgwire_messages)
{
	uint8_t b[512], type;
	uint32_t blen;
	struct pgw_fields fl;
	const char *t, *name;
	size_t tl, n;

	n = pgw_put_error(b, sizeof(b), "ERROR", "25006", "no\nwrites");
	REQUIRE(n > 0);
	CHECK(pgw_header(b, 4, &type, &blen) == PGW_NEED_MORE);
	REQUIRE(pgw_header(b, n, &type, &blen) == PGW_DONE);
	CHECK(type == 'E' && blen + 5 == n);
	REQUIRE(pgw_error_parse(b + 5, blen, &fl) == 0);
	CHECK_STR(fl.code, "25006");
	CHECK_STR(fl.severity, "ERROR");
	CHECK_STR(fl.message, "no writes");      /* control bytes flattened */
	CHECK(pgw_error_parse(b + 5, blen - 1, &fl) < 0); /* no terminator */
	CHECK(pgw_put_error(b, 20, "ERROR", "25006", "x") == 0);
	CHECK(pgw_put_error(b, sizeof(b), "ERROR", "2500", "x") == 0);

	n = pgw_put_query(b, sizeof(b), "SELECT 1");
	REQUIRE(pgw_header(b, n, &type, &blen) == PGW_DONE && type == 'Q');
	CHECK(pgw_query_parse(b + 5, blen, &t, &tl) == 0 && tl == 8);
	CHECK(pgw_query_parse(b + 5, blen - 1, &t, &tl) < 0);
	b[9] = 0; /* a NUL inside: two strings */
	CHECK(pgw_query_parse(b + 5, blen, &t, &tl) < 0);

	n = pgw_put_parse(b, sizeof(b), "SELECT 2");
	REQUIRE(pgw_header(b, n, &type, &blen) == PGW_DONE && type == 'P');
	CHECK(pgw_parse_parse(b + 5, blen, &name, &t, &tl) == 0 && !name[0] &&
	      !strcmp(t, "SELECT 2"));
	b[n - 1] = 1; /* one parameter type promised, none there */
	CHECK(pgw_parse_parse(b + 5, blen, &name, &t, &tl) < 0);

	/* length field below 4 or absurd */
	memcpy(b, "Q\0\0\0\3", 5);
	CHECK(pgw_header(b, 5, &type, &blen) == PGW_BAD);
	memcpy(b, "Q\x7f\xff\xff\xff", 5);
	CHECK(pgw_header(b, 5, &type, &blen) == PGW_BAD);

	CHECK(pgw_sasl_has_mech((const uint8_t *)"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0", 34,
				"SCRAM-SHA-256") == 1);
	CHECK(pgw_sasl_has_mech((const uint8_t *)"SCRAM-SHA-256-PLUS\0", 20,
				"SCRAM-SHA-256") == 0);
	CHECK(pgw_sasl_has_mech((const uint8_t *)"SCRAM-SHA-256", 13,
				"SCRAM-SHA-256") < 0);

	n = pgw_put_password(b, sizeof(b), (const uint8_t *)"pw", 2);
	CHECK(n == 8 && !memcmp(b, "p\0\0\0\7pw\0", 8));
	CHECK(pgw_put_password(b, sizeof(b), (const uint8_t *)"p\0w", 3) == 0);
}

TEST(pgwire_startup_writer)
{
	static const char *const names[] = { "user", "database" };
	static const char *const vals[] = { "analyst", "analytics" };
	uint8_t b[128];
	struct pgw_startup s;
	size_t n = pgw_put_startup(b, sizeof(b), names, vals, 2);

	REQUIRE(n > 0);
	REQUIRE(pgw_startup_parse(b, n, &s) == PGW_DONE);
	CHECK(s.nparams == 2 && !strcmp((const char *)b + s.params[1].val, "analytics"));
	CHECK(pgw_put_startup(b, 20, names, vals, 2) == 0);
}

/* ------------------------------------------------------------------ */
/* pgguard                                                             */

static int refused(const char *sql)
{
	const char *why = NULL;
	int r = pgguard_check(sql, strlen(sql), &why);

	if (r && !why)
		return -1;
	return r;
}

TEST(pgguard_refuses_every_escape)
{
	static const char *const bad[] = {
		"BEGIN READ WRITE",
		"begin transaction isolation level serializable, read write",
		"BEGIN ISOLATION LEVEL REPEATABLE READ READ WRITE",
		"START TRANSACTION READ WRITE",
		"start transaction read write, isolation level read committed",
		"BEGIN READ/* hidden */WRITE",
		"BEGIN READ/* nested /* twice */ */WRITE",
		"BEGIN READ -- comment\n WRITE",
		"BEGIN \"read\" \"write\"",
		"SET TRANSACTION READ WRITE",
		"SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
		"SET default_transaction_read_only = off",
		"set DEFAULT_TRANSACTION_READ_ONLY to false",
		"SET SESSION default_transaction_read_only TO off",
		"SET LOCAL transaction_read_only = off",
		"SET \"default_transaction_read_only\" = off",
		"SET \"Transaction_Read_Only\" TO off",
		"SET\tdefault_transaction_read_only\n=\noff",
		"SET transaction_read_only TO DEFAULT",
		"RESET ALL",
		"reset all",
		"RESET default_transaction_read_only",
		"RESET \"transaction_read_only\"",
		"RESET ROLE",
		"RESET SESSION AUTHORIZATION",
		"SELECT set_config('default_transaction_read_only', 'off', false)",
		"SELECT SET_CONFIG('Default_Transaction_Read_Only', 'off', false)",
		"SELECT pg_catalog.set_config('transaction_read_only', 'off', true)",
		"SELECT set_config('role', 'postgres', false)",
		"SELECT set_config('session_authorization', 'postgres', false)",
		"SELECT set_config(lower('DEFAULT_TRANSACTION_READ_ONLY'), 'off', false)",
		"SELECT set_config(E'default\\x5ftransaction_read_only', 'off', false)",
		"SELECT set_config($$default_transaction_read_only$$, 'off', false)",
		"SELECT set_config(U&'default_transaction_read_only', 'off', false)",
		"SELECT set_config('default_' || 'transaction_read_only', 'off', false)",
		"SELECT set_config(setting_name => 'x', new_value => 'y', is_local => false)",
		"SELECT \"set_config\"('transaction_read_only', 'off', true)",
		"SELECT set_config",
		"SET ROLE postgres",
		"SET SESSION ROLE postgres",
		"SET LOCAL ROLE postgres",
		"set role none",
		"SET \"role\" = 'postgres'",
		"SET role TO postgres",
		"SET SESSION AUTHORIZATION postgres",
		"SET SESSION SESSION AUTHORIZATION DEFAULT",
		"SET session_authorization = 'postgres'",
		"SELECT 1; SET default_transaction_read_only = off",
		"SELECT 1;SET ROLE x;",
		"SELECT $$x$$; SET ROLE postgres",
		"SELECT $q$ '; $q$; SET ROLE postgres; -- '",
		"SELECT $a$ $b$ $a$; SET ROLE x",
		/* standard_conforming_strings off: the backslash escapes the quote */
		"SELECT 'a\\'; SET ROLE postgres; -- '",
		/* ... and on: it does not */
		"SELECT 'a\\''; SET ROLE postgres; -- '",
		"SELECT E'\\''; SET ROLE postgres; -- '",
		"UPDATE pg_settings SET setting = 'off' WHERE name = 'default_transaction_read_only'",
		"WITH x AS (UPDATE pg_catalog.pg_settings SET setting = 'off' WHERE name = 'x' RETURNING 1) SELECT 1",
		"DO $$BEGIN PERFORM 1; END$$",
		"do 'begin null; end'",
		"DISCARD ALL",
		"ALTER ROLE analyst SET default_transaction_read_only = off",
		"ALTER DATABASE analytics SET default_transaction_read_only TO off",
		"ALTER SYSTEM SET default_transaction_read_only = off",
		"LOAD 'plugin'",
		"SET U&\"\\0072ole\" = 'postgres'",
		"PREPARE p AS SELECT set_config('role', 'x', false)",
		/* client encodings whose characters can hide a backslash */
		"SET client_encoding TO 'SJIS'",
		"SET NAMES 'BIG5'",
		"set client_encoding = gbk",
		"SET SESSION client_encoding TO 'WIN932'",
		"SET client_encoding = \"UTF8\"",
		"SELECT set_config('client_encoding', 'UTF8', false)",
		/* bit strings have no escapes: the first quote ends them */
		"SELECT X'1\\'; SET ROLE x; --'",
		"SELECT B'1\\'; SET ROLE x; --'",
		/* no '_' in PostgreSQL 15 numbers: "_$$" is an identifier */
		"SELECT 1_$$ $$; SET ROLE x",
		/* what cannot be read is refused */
		"SELECT 'unterminated",
		"SELECT \"unterminated",
		"SELECT 1 /* unterminated",
		"SELECT $$unterminated",
		"SELECT \"\"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (refused(bad[i]) != 1) {
			fprintf(stderr, "not refused: %s\n", bad[i]);
			unit_failures++;
		}
	}
	/* a NUL byte inside */
	CHECK(pgguard_check("SELECT 1\0; SET ROLE x", 21, NULL) == 1);
}

TEST(pgguard_encodings)
{
	CHECK(pgguard_encoding_safe("UTF8") && pgguard_encoding_safe("utf-8") &&
	      pgguard_encoding_safe("SQL_ASCII") && pgguard_encoding_safe("LATIN1") &&
	      pgguard_encoding_safe("EUC_JP") && pgguard_encoding_safe("WIN1252"));
	CHECK(!pgguard_encoding_safe("SJIS") && !pgguard_encoding_safe("Shift_JIS") &&
	      !pgguard_encoding_safe("BIG5") && !pgguard_encoding_safe("GBK") &&
	      !pgguard_encoding_safe("UHC") && !pgguard_encoding_safe("GB18030") &&
	      !pgguard_encoding_safe("JOHAB") && !pgguard_encoding_safe("WIN932") &&
	      !pgguard_encoding_safe("") && !pgguard_encoding_safe("auto"));
}

TEST(pgguard_passes_harmless_statements)
{
	static const char *const good[] = {
		"SELECT 1",
		"select count(*) from items",
		"SELECT 'set role postgres'",
		"SELECT 'BEGIN READ WRITE'",
		"SELECT 1 /* BEGIN READ WRITE */",
		"SELECT 1 /* nested /* SET ROLE x */ still a comment */",
		"-- SET ROLE postgres\nSELECT 2",
		"SELECT $$RESET ALL$$",
		"SELECT $tag$ SET ROLE x; $$ $tag$",
		"SELECT E'it\\'s; SET ROLE x'",
		"SELECT current_setting('default_transaction_read_only')",
		"SHOW transaction_read_only",
		"SHOW default_transaction_read_only",
		"SHOW ROLE",
		"SELECT set_config('application_name', 'x', false)",
		"SELECT pg_catalog.set_config('search_path', 'public', true)",
		"SELECT name FROM items WHERE name = 'read write' OR id = 1",
		"SELECT \"read\", write FROM t",
		"BEGIN",
		"BEGIN READ ONLY",
		"BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
		"START TRANSACTION READ ONLY",
		"SET TRANSACTION READ ONLY",
		"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"COMMIT",
		"ROLLBACK",
		"SET search_path TO public",
		"SET statement_timeout = '5s'",
		"SET TIME ZONE 'UTC'",
		"SET application_name = 'set role'",
		"RESET search_path",
		"DISCARD PLANS",
		"EXPLAIN SELECT * FROM items",
		"SELECT $1::int",
		"SELECT a$b FROM t",
		"SELECT 1;",
		"",
		"  ;  ; ",
		"INSERT INTO items VALUES (1, 'x')",   /* the server refuses writes */
		"SELECT * FROM pg_settings WHERE name = 'role'",
		"SELECT U&'d\\0061ta'",
		"SET client_encoding TO 'UTF8'",
		"SET client_encoding = 'utf-8'",
		"SET NAMES 'LATIN1'",
		"set client_encoding to default",
		"SET SESSION client_encoding = 'SQL_ASCII'",
		"SELECT B'0101', X'ff'",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
		const char *why = NULL;

		if (pgguard_check(good[i], strlen(good[i]), &why) != 0) {
			fprintf(stderr, "refused: %s (%s)\n", good[i], why);
			unit_failures++;
		}
	}
}

/* ------------------------------------------------------------------ */
/* SCRAM-SHA-256 and md5                                               */

TEST(scram_rfc7677_vector)
{
	static const char server_first[] =
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
	static const char client_final[] =
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	static const char server_final[] =
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
	struct scram s;
	char out[512];
	const char *err;
	size_t n;

	n = scram_client_first(&s, "user", "rOprNGfwEbeRWgbNEkqO", out, sizeof(out));
	REQUIRE(n > 0);
	CHECK_STR(out, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
	n = scram_client_final(&s, (const uint8_t *)"pencil", 6, server_first,
			       strlen(server_first), out, sizeof(out), &err);
	REQUIRE(n > 0);
	out[n] = '\0';
	CHECK_STR(out, client_final);
	/* a wrong signature is refused, the right one accepted */
	CHECK(scram_verify_server(&s, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95H4=",
				  46, &err) < 0);
	CHECK(scram_verify_server(&s, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=",
				  46, &err) < 0);     /* not canonical base64 */
	CHECK(scram_verify_server(&s, "e=invalid-proof", 15, &err) < 0);
	CHECK(scram_verify_server(&s, server_final, strlen(server_final), &err) == 0);
	scram_wipe(&s);
}

TEST(scram_refuses_bad_server_first)
{
	static const char *const bad[] = {
		"r=other-nonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",   /* not ours */
		"r=abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",            /* ours, not extended */
		"r=abcdef,s=!!!!,i=4096",                             /* salt not base64 */
		"r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
		"r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999",     /* too many */
		"r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==",
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=abcdef,i=4096",
		"",
	};
	struct scram s;
	char out[512];
	const char *err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		REQUIRE(scram_client_first(&s, "", "abc", out, sizeof(out)) > 0);
		CHECK_STR(out, "n,,n=,r=abc");
		if (scram_client_final(&s, (const uint8_t *)"pw", 2, bad[i],
				       strlen(bad[i]), out, sizeof(out), &err) != 0) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			unit_failures++;
		}
	}
	/* server-final before client-final */
	REQUIRE(scram_client_first(&s, "", NULL, out, sizeof(out)) > 0);
	CHECK(strlen(out) == 3 + 3 + 2 + SCRAM_NONCE_LEN);
	CHECK(scram_verify_server(&s, "v=AAAA", 6, &err) < 0);
}

TEST(scram_pbkdf2_and_md5)
{
	static const uint8_t want1[32] = {
		0x12, 0x0f, 0xb6, 0xcf, 0xfc, 0xf8, 0xb3, 0x2c, 0x43, 0xe7, 0x22,
		0x52, 0x56, 0xc4, 0xf8, 0x37, 0xa8, 0x65, 0x48, 0xc9, 0x2c, 0xcc,
		0x35, 0x48, 0x08, 0x05, 0x98, 0x7c, 0xb7, 0x0b, 0xe1, 0x7b,
	};
	static const uint8_t want4096[32] = {
		0xc5, 0xe4, 0x78, 0xd5, 0x92, 0x88, 0xc8, 0x41, 0xaa, 0x53, 0x0d,
		0xb6, 0x84, 0x5c, 0x4c, 0x8d, 0x96, 0x28, 0x93, 0xa0, 0x01, 0xce,
		0x4e, 0x11, 0xa4, 0x96, 0x38, 0x73, 0xaa, 0x98, 0x13, 0x4a,
	};
	static const uint8_t salt[4] = { 1, 2, 3, 4 };
	uint8_t out[32];
	char md5[36];
	char b64[64];
	uint8_t raw[64];

	scram_pbkdf2((const uint8_t *)"password", 8, (const uint8_t *)"salt", 4, 1, out);
	CHECK(!memcmp(out, want1, 32));
	scram_pbkdf2((const uint8_t *)"password", 8, (const uint8_t *)"salt", 4, 4096, out);
	CHECK(!memcmp(out, want4096, 32));
	pg_md5_answer((const uint8_t *)"pencil", 6, "user", salt, md5);
	CHECK_STR(md5, "md54376eb6913b38f9aaff38dc7cf19ca76");

	CHECK(scram_b64_encode((const uint8_t *)"ab", 2, b64, sizeof(b64)) == 4);
	CHECK_STR(b64, "YWI=");
	CHECK(scram_b64_decode("YWI=", 4, raw, sizeof(raw)) == 2 && raw[1] == 'b');
	CHECK(scram_b64_decode("YW=I", 4, raw, sizeof(raw)) < 0);
	CHECK(scram_b64_decode("YWI", 3, raw, sizeof(raw)) < 0);
	CHECK(scram_b64_decode("YWJj", 4, raw, 2) < 0);
}
