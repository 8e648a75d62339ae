// SPDX-License-Identifier: MIT
/*
 * pgguard.c - the read-only statement guard (see pgguard.h).
 *
 * DOC: Theory of operation
 *
 * A small lexer follows PostgreSQL's scanner (src/backend/parser/scan.l in
 * spirit, written from the manual's "Lexical Structure" chapter): white
 * space, -- and nested block comments, identifiers (ASCII folded to lower
 * case, truncated to 63 bytes as the server does), "quoted" identifiers
 * with "" inside, string constants ('...' with '', E'...' with
 * backslash escapes, B/X/N/U& prefixes), $tag$ dollar quoting, numbers,
 * $n parameters, and one-character punctuation.  Comments vanish, so
 * "BEGIN READ/ * x * /WRITE" is two adjacent keywords, as the server sees it.
 *
 * Tokens stream through a per-statement checker (a statement ends at ';'
 * or at the end of the text): it keeps the statement's first four tokens,
 * the previous token and a few flags, and decides at the end of each
 * statement.  Nothing is allocated; the text is read in one pass per mode.
 *
 * Whether a backslash escapes a quote in '...' depends on the server's
 * standard_conforming_strings, which the session can change.  Rather than
 * track it, the text is checked under both readings: whichever the server
 * uses, the statements it will run have been checked.
 *
 * The guard refuses what would leave read-only mode or change identity
 * (see pgguard.h); writes themselves are refused by the server, since the
 * session's transactions are read-only.  What it cannot see: code that
 * already exists upstream (a function calling set_config() inside), and
 * whatever a superuser could do; hence the advice to use a read-only role
 * upstream as well (docs/POSTGRES.md).
 */
#include "pgguard.h"

#include <string.h>
#include <strings.h>

#define NAMELEN 64 /* NAMEDATALEN: identifiers keep 63 bytes */

enum tok_type { T_NONE, T_WORD, T_QIDENT, T_STRING, T_NUM, T_PARAM, T_PUNCT };

struct tok {
	enum tok_type type;
	char text[NAMELEN];     /* word (lower case), quoted identifier, or a
				 * plain string's value when short */
	int plain;              /* T_STRING: a '...' literal without prefix,
				 * whose value fits in text */
	int unicode;            /* U&"..." or U&'...' */
};

/* Per-statement state of the checker. */
struct stmt {
	struct tok first[6];
	int nfirst;
	struct tok prev;
	int setcfg;             /* set_config( 'name' , progress: 0 none, 1-3 */
	int pg_settings, modifies;
	const char *reason;     /* the first refusal in this statement */
};

struct lex {
	const char *s;
	size_t len, i;
	int scs;                /* standard_conforming_strings */
	const char *error;
};

static int is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80;
}

static int is_ident_cont(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static int peekc(const struct lex *l, size_t k)
{
	return l->i + k < l->len ? (unsigned char)l->s[l->i + k] : -1;
}

/* Skip white space and comments.  Return: 0, or -1 (unterminated comment). */
static int skip_space(struct lex *l)
{
	for (;;) {
		int c = peekc(l, 0);

		if (c < 0)
			return 0;
		if (is_space((unsigned char)c)) {
			l->i++;
		} else if (c == '-' && peekc(l, 1) == '-') {
			while (l->i < l->len && l->s[l->i] != '\n' &&
			       l->s[l->i] != '\r')
				l->i++;
		} else if (c == '/' && peekc(l, 1) == '*') {
			int depth = 1;

			l->i += 2;
			while (depth) {
				if (l->i >= l->len) {
					l->error = "unterminated /* comment";
					return -1;
				}
				if (l->s[l->i] == '/' && peekc(l, 1) == '*') {
					depth++;
					l->i += 2;
				} else if (l->s[l->i] == '*' && peekc(l, 1) == '/') {
					depth--;
					l->i += 2;
				} else {
					l->i++;
				}
			}
		} else {
			return 0;
		}
	}
}

/* Append a byte of a string/identifier value to t->text (keeps 63). */
static void tok_put(struct tok *t, size_t *n, char c)
{
	if (*n < NAMELEN - 1)
		t->text[(*n)++] = c;
	else
		t->plain = 0; /* too long to be a setting name we compare */
	t->text[*n] = '\0';
}

/*
 * A quoted string starting at l->i (the opening quote).  @bs: backslash
 * escapes the next character; @bs < 0: the first quote ends it, doubled
 * or not (bit strings, B'..' and X'..', have neither escape).
 * Return: 0, or -1 if unterminated.
 */
static int lex_quoted(struct lex *l, struct tok *t, char q, int bs)
{
	size_t n = 0;

	l->i++;
	for (;;) {
		char c;

		if (l->i >= l->len) {
			l->error = q == '"' ? "unterminated quoted identifier" :
					      "unterminated quoted string";
			return -1;
		}
		c = l->s[l->i];
		if (bs > 0 && c == '\\') {
			if (l->i + 1 >= l->len) {
				l->error = "unterminated quoted string";
				return -1;
			}
			t->plain = 0;
			tok_put(t, &n, l->s[l->i + 1]);
			l->i += 2;
			continue;
		}
		if (c == q) {
			if (bs >= 0 && peekc(l, 1) == q) {
				tok_put(t, &n, q);
				l->i += 2;
				continue;
			}
			l->i++;
			break;
		}
		tok_put(t, &n, c);
		l->i++;
	}
	if (q == '"' && !n) {
		l->error = "zero-length quoted identifier";
		return -1;
	}
	return 0;
}

/* $tag$ at l->i?  Return: the length of the opening delimiter, or 0. */
static size_t dollar_tag(const struct lex *l)
{
	size_t k = 1;

	if (peekc(l, 1) == '$')
		return 2;
	if (peekc(l, 1) < 0 || !is_ident_start((unsigned char)peekc(l, 1)))
		return 0;
	while (peekc(l, k) >= 0 && is_ident_cont((unsigned char)peekc(l, k)) &&
	       peekc(l, k) != '$')
		k++;
	return peekc(l, k) == '$' ? k + 1 : 0;
}

/**
 * lex_next() - The next token
 * @l: Lexer
 * @t: Out
 * Return: 1 for a token, 0 at the end, -1 on an error (l->error)
 */
static int lex_next(struct lex *l, struct tok *t)
{
	int c, c1;
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	if (skip_space(l) < 0)
		return -1;
	c = peekc(l, 0);
	if (c < 0)
		return 0;
	if (c == 0) {
		l->error = "NUL byte in the statement";
		return -1;
	}
	c1 = peekc(l, 1);
	/* prefixed strings: E'..', B'..', X'..', N'..', U&'..', U&".." */
	if ((c == 'e' || c == 'E') && c1 == '\'') {
		t->type = T_STRING;
		l->i++;
		return lex_quoted(l, t, '\'', 1) < 0 ? -1 : 1;
	}
	if ((c == 'b' || c == 'B' || c == 'x' || c == 'X') && c1 == '\'') {
		t->type = T_STRING;
		l->i++;
		return lex_quoted(l, t, '\'', -1) < 0 ? -1 : 1;
	}
	if ((c == 'n' || c == 'N') && c1 == '\'') {
		t->type = T_STRING;
		l->i++;
		return lex_quoted(l, t, '\'', !l->scs) < 0 ? -1 : 1;
	}
	if ((c == 'u' || c == 'U') && c1 == '&' &&
	    (peekc(l, 2) == '\'' || peekc(l, 2) == '"')) {
		char q = (char)peekc(l, 2);

		t->type = q == '"' ? T_QIDENT : T_STRING;
		t->unicode = 1;
		l->i += 2;
		return lex_quoted(l, t, q, 0) < 0 ? -1 : 1;
	}
	if (is_ident_start((unsigned char)c)) {
		t->type = T_WORD;
		while (l->i < l->len && is_ident_cont((unsigned char)l->s[l->i])) {
			char ch = l->s[l->i++];

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			tok_put(t, &n, ch);
		}
		return 1;
	}
	if (c == '\'') {
		t->type = T_STRING;
		t->plain = 1;
		return lex_quoted(l, t, '\'', !l->scs) < 0 ? -1 : 1;
	}
	if (c == '"') {
		t->type = T_QIDENT;
		return lex_quoted(l, t, '"', 0) < 0 ? -1 : 1;
	}
	if (c == '$') {
		size_t tl;

		if (c1 >= '0' && c1 <= '9') {
			t->type = T_PARAM;
			l->i++;
			while (peekc(l, 0) >= '0' && peekc(l, 0) <= '9')
				l->i++;
			return 1;
		}
		tl = dollar_tag(l);
		if (tl) {
			const char *tag = l->s + l->i;
			size_t j;

			t->type = T_STRING;
			for (j = l->i + tl; j + tl <= l->len; j++)
				if (!memcmp(l->s + j, tag, tl)) {
					l->i = j + tl;
					return 1;
				}
			l->error = "unterminated dollar-quoted string";
			return -1;
		}
		t->type = T_PUNCT;
		t->text[0] = '$';
		l->i++;
		return 1;
	}
	if (c >= '0' && c <= '9') {
		t->type = T_NUM;
		/* digits and '.': whatever follows (a letter, '_', '$', a
		 * quote) starts a token of its own, as in PostgreSQL 15 */
		while (peekc(l, 0) >= 0 &&
		       ((peekc(l, 0) >= '0' && peekc(l, 0) <= '9') ||
			peekc(l, 0) == '.'))
			l->i++;
		return 1;
	}
	/* punctuation and operator characters, one at a time: a comment
	 * may start right after any of them (skip_space sees it next) */
	t->type = T_PUNCT;
	t->text[0] = (char)c;
	l->i++;
	return 1;
}

/* ------------------------------------------------------------------ */
/* The checker                                                         */

/* A name token (word or quoted identifier) equal to @s, case-insensitively. */
static int name_is(const struct tok *t, const char *s)
{
	return (t->type == T_WORD || t->type == T_QIDENT) &&
	       !strcasecmp(t->text, s);
}

/* Unquoted keyword @s. */
static int kw_is(const struct tok *t, const char *s)
{
	return t->type == T_WORD && !strcmp(t->text, s);
}

static int punct_is(const struct tok *t, char c)
{
	return t->type == T_PUNCT && t->text[0] == c;
}

/* The settings that hold read-only mode and identity. */
static int guarded_setting(const char *s)
{
	static const char *const names[] = {
		"transaction_read_only", "default_transaction_read_only",
		"session_authorization", "role",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcasecmp(s, names[i]))
			return 1;
	return 0;
}

int pgguard_encoding_safe(const char *name)
{
	/* PostgreSQL's own spellings, cleaned as it cleans them (letters and
	 * digits, lower case): the server encodings, every one an ASCII
	 * superset whose multibyte characters use only bytes >= 0x80 */
	static const char *const ok[] = {
		"utf8", "unicode", "sqlascii", "eucjp", "euccn", "euckr", "euctw",
		"eucjis2004", "muleinternal", "mule", "koi8", "koi8r", "koi8u",
		"latin1", "latin2", "latin3", "latin4", "latin5", "latin6",
		"latin7", "latin8", "latin9", "latin10", "iso88591", "iso88592",
		"iso88593", "iso88594", "iso88595", "iso88596", "iso88597",
		"iso88598", "iso88599", "iso885910", "iso885913", "iso885914",
		"iso885915", "iso885916", "win866", "win874", "win1250", "win1251",
		"win1252", "win1253", "win1254", "win1255", "win1256", "win1257",
		"win1258", "windows866", "windows874", "windows1250",
		"windows1251", "windows1252", "windows1253", "windows1254",
		"windows1255", "windows1256", "windows1257", "windows1258",
		"alt", "tcvn", "tcvn5712", "vscii", "abc",
	};
	char c[32];
	size_t i, n = 0;

	for (; *name; name++) {
		char ch = *name;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
			if (n + 1 >= sizeof(c))
				return 0;
			c[n++] = ch;
		}
	}
	c[n] = '\0';
	for (i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		if (!strcmp(c, ok[i]))
			return 1;
	return 0;
}

static void refuse(struct stmt *st, const char *why)
{
	if (!st->reason)
		st->reason = why;
}

/* One token of the current statement. */
static void stmt_tok(struct stmt *st, const struct tok *t)
{
	if (st->nfirst < 6)
		st->first[st->nfirst++] = *t;

	if (t->unicode && t->type == T_QIDENT)
		refuse(st, "Unicode-escaped identifiers are not accepted");
	if (name_is(&st->prev, "read") && name_is(t, "write"))
		refuse(st, "READ WRITE transactions are not allowed");
	if ((t->type == T_WORD || t->type == T_QIDENT) &&
	    (name_is(t, "transaction_read_only") ||
	     name_is(t, "default_transaction_read_only") ||
	     name_is(t, "session_authorization")))
		st->pg_settings |= 2; /* decided at the end (SHOW is fine) */
	if (name_is(t, "pg_settings"))
		st->pg_settings |= 1;
	if (kw_is(t, "update") || kw_is(t, "insert") || kw_is(t, "delete") ||
	    kw_is(t, "merge") || kw_is(t, "copy"))
		st->modifies = 1;

	/* set_config ( 'plain_name' , */
	switch (st->setcfg) {
	case 1:
		st->setcfg = punct_is(t, '(') ? 2 : 0;
		if (!st->setcfg)
			refuse(st, "set_config() is only accepted with a literal setting name");
		break;
	case 2:
		if (t->type == T_STRING && t->plain && !t->unicode &&
		    t->text[0] && strspn(t->text,
			    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") ==
			    strlen(t->text)) {
			if (guarded_setting(t->text))
				refuse(st, "set_config() of a read-only or identity setting is not allowed");
			if (!strcasecmp(t->text, "client_encoding"))
				refuse(st, "set_config() of client_encoding is not allowed (use SET client_encoding)");
			st->setcfg = 3;
		} else {
			refuse(st, "set_config() is only accepted with a literal setting name");
			st->setcfg = 0;
		}
		break;
	case 3:
		if (!punct_is(t, ','))
			refuse(st, "set_config() is only accepted with a literal setting name");
		st->setcfg = 0;
		break;
	}
	if (name_is(t, "set_config")) {
		if (st->setcfg)
			refuse(st, "set_config() is only accepted with a literal setting name");
		st->setcfg = 1;
	}
	st->prev = *t;
}

/*
 * SET client_encoding / SET NAMES: in SJIS, BIG5, GBK, UHC, GB18030 and
 * JOHAB a character's second byte can be a backslash, which the server
 * reads as part of the character and this lexer would not: only the
 * encodings where that cannot happen are accepted (or DEFAULT).
 */
static void check_encoding(struct stmt *st, const struct tok *f, int n, int v)
{
	if (v < n && punct_is(&f[v - 1], '=') == 0 && !kw_is(&f[v - 1], "to") &&
	    !kw_is(&f[v - 1], "names"))
		v = n; /* not SET x = value */
	if (v < n && (kw_is(&f[v], "default") ||
		      ((f[v].type == T_WORD || (f[v].type == T_STRING && f[v].plain)) &&
		       pgguard_encoding_safe(f[v].text))))
		return;
	refuse(st, "client_encoding may only be set to an encoding such as UTF8 (SJIS, BIG5, GBK, UHC, GB18030 and JOHAB can hide a backslash)");
}

/* The end of a statement: decide on what its first tokens say. */
static void stmt_end(struct stmt *st)
{
	const struct tok *f = st->first;
	int n = st->nfirst;

	if (!n)
		return;
	if (st->setcfg)
		refuse(st, "set_config() is only accepted with a literal setting name");
	if (kw_is(&f[0], "set") && n >= 2) {
		int i = 1;

		if ((kw_is(&f[1], "session") || kw_is(&f[1], "local")) && n >= 3 &&
		    !punct_is(&f[2], '=') && !kw_is(&f[2], "to"))
			i = 2;
		if (name_is(&f[i], "role") || name_is(&f[i], "session") ||
		    name_is(&f[i], "authorization"))
			refuse(st, "SET ROLE and SET SESSION AUTHORIZATION are not allowed");
		else if (name_is(&f[i], "characteristics"))
			refuse(st, "SET SESSION CHARACTERISTICS is not allowed");
		else if (guarded_setting(f[i].text) &&
			 (f[i].type == T_WORD || f[i].type == T_QIDENT))
			refuse(st, "changing transaction_read_only, default_transaction_read_only, role or session_authorization is not allowed");
		else if (kw_is(&f[i], "names") || name_is(&f[i], "client_encoding"))
			check_encoding(st, f, n, kw_is(&f[i], "names") ? i + 1 : i + 2);
	}
	if (kw_is(&f[0], "reset") && n >= 2 &&
	    (name_is(&f[1], "all") || name_is(&f[1], "session") ||
	     ((f[1].type == T_WORD || f[1].type == T_QIDENT) &&
	      guarded_setting(f[1].text))))
		refuse(st, "RESET ALL and RESET of read-only or identity settings are not allowed");
	if (kw_is(&f[0], "discard") && n >= 2 && name_is(&f[1], "all"))
		refuse(st, "DISCARD ALL is not allowed");
	if (kw_is(&f[0], "do"))
		refuse(st, "DO blocks are not allowed");
	if (kw_is(&f[0], "load"))
		refuse(st, "LOAD is not allowed");
	if (kw_is(&f[0], "alter") && n >= 2 && kw_is(&f[1], "system"))
		refuse(st, "ALTER SYSTEM is not allowed");
	if ((st->pg_settings & 2) && !kw_is(&f[0], "show"))
		refuse(st, "changing transaction_read_only, default_transaction_read_only, role or session_authorization is not allowed");
	if ((st->pg_settings & 1) && st->modifies)
		refuse(st, "writing to pg_settings is not allowed");
}

/* One reading of the text.  Return: NULL if allowed, else why. */
static const char *check_mode(const char *sql, size_t len, int scs)
{
	struct lex l = { .s = sql, .len = len, .scs = scs };
	struct stmt st;
	struct tok t;
	int r;

	memset(&st, 0, sizeof(st));
	while ((r = lex_next(&l, &t)) > 0) {
		if (punct_is(&t, ';')) {
			stmt_end(&st);
			if (st.reason)
				return st.reason;
			memset(&st, 0, sizeof(st));
			continue;
		}
		stmt_tok(&st, &t);
	}
	if (r < 0)
		return l.error;
	stmt_end(&st);
	return st.reason;
}

int pgguard_check(const char *sql, size_t len, const char **reason)
{
	const char *why = check_mode(sql, len, 1);

	if (!why)
		why = check_mode(sql, len, 0);
	if (reason)
		*reason = why;
	return why != NULL;
}
