/* SPDX-License-Identifier: MIT */
/*
 * pgguard.h - the read-only statement guard of the database gateway.
 *
 * A read-only session starts upstream with default_transaction_read_only
 * on; the guard refuses the statements that would turn that off or change
 * who the session runs as.  It reads SQL the way PostgreSQL's own lexer
 * does (comments, quoting, dollar quoting, several statements in one
 * message) and fails closed: text it cannot read is refused.
 */
#ifndef ISLO_PGGUARD_H
#define ISLO_PGGUARD_H

#include <stddef.h>

/**
 * pgguard_check() - May this SQL text run in a read-only session?
 * @sql:    Statement text (a Query or Parse message's string; need not be
 *          NUL-terminated; a NUL byte is refused)
 * @len:    Its length
 * @reason: Out, when refused: why (static text, no part of @sql)
 *
 * Refused: BEGIN/START TRANSACTION/SET TRANSACTION ... READ WRITE; SET
 * SESSION CHARACTERISTICS; SET [SESSION|LOCAL] of transaction_read_only,
 * default_transaction_read_only, role or session_authorization (quoted or
 * not, in any case), SET ROLE, SET SESSION AUTHORIZATION; RESET ALL and
 * RESET of those; DISCARD ALL; any other statement naming those settings
 * as identifiers (ALTER ROLE ... SET ...), except SHOW; set_config() unless
 * its first argument is a plain literal naming another setting; writes to
 * pg_settings; DO blocks, LOAD and ALTER SYSTEM; Unicode-escaped
 * identifiers; unterminated quotes or comments; SET client_encoding (or
 * SET NAMES, or set_config()) to an encoding that is not
 * pgguard_encoding_safe().  The text is read twice,
 * with standard_conforming_strings on and off, and refused if either
 * reading finds one of these, so the server's setting does not matter.
 *
 * Return: 0 if allowed, 1 if refused
 */
int pgguard_check(const char *sql, size_t len, const char **reason);

/**
 * pgguard_encoding_safe() - May the client use this client_encoding?
 * @name: Encoding name as a client writes it ("UTF8", "utf-8", "LATIN1")
 *
 * Only encodings in which every byte of a multibyte character is >= 0x80
 * (all of PostgreSQL's server encodings): in SJIS, BIG5, GBK, UHC, GB18030
 * and JOHAB a trailing byte may be 0x5c, a backslash to this lexer but
 * part of a character to the server, which would let text hide from the
 * guard.
 *
 * Return: 1 if safe, else 0
 */
int pgguard_encoding_safe(const char *name);

#endif
