// SPDX-License-Identifier: MIT
/*
 * profile.c - strict gateway-profile parser (libyaml event API).
 *
 * DOC: Theory of Operation
 *
 * A profile is read whole (at most PF_MAX_FILE bytes) and fed to libyaml's
 * event parser.  We do not build a generic YAML tree: the profile schema is
 * fixed and shallow, so a small recursive-descent walk over the event stream
 * checks each value against what its key expects, and stops at the first
 * thing it does not expect.  That gives one precise message per error,
 * FILE:LINE:COLUMN from libyaml's marks (which are 0-based; we print them
 * 1-based), and no recursion driven by the input's nesting.
 *
 * What is refused rather than guessed at: unknown keys, duplicate keys,
 * values of the wrong YAML type (a mapping where a list is expected; a
 * quoted "true" for a boolean; "yes" for a port), numbers out of range,
 * more than one document, and anchors, aliases and tags (they make what a
 * reviewer reads differ from what is applied).  Keys that belong to later
 * features (none at the moment) are recognised and refused with a message
 * saying so, never silently ignored.
 *
 * `postgres:` (the database gateway, issue 6) is a mapping read by
 * pp_postgres(); rule_check() refuses it next to the HTTP keys and on
 * deny rules, and gives such a rule port 5432 by default.
 *
 * HTTP scoping and credential injection (path_pattern, methods,
 * rate_limit_rpm, route, tls, tls_verify_name, allow_plaintext,
 * auth_strategy) are checked key by key as they are read, then across keys
 * once a rule is complete (rule_check(): "tls: passthrough" with a key that
 * needs HTTP, auth_strategy without host_pattern, ...), so every
 * combination error still points at the key that cannot stand.  A secret is
 * only ever referenced (env:, file:, cred:), never written inline, and an
 * error about `secret:` never quotes what was written there.  A profile
 * that injects credentials must not be writable by anyone but its owner
 * (profile_load()).
 *
 * The result is sorted by (priority, file position) once, so policy.c can
 * take the first match.
 */
#include <libpsl.h>

#include "profile.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* Parser context: one per profile_parse() call. */
struct pp {
	yaml_parser_t yp;
	yaml_event_t ev;        /* current event, valid if have_ev */
	int have_ev;
	const char *buf;        /* input, to turn reader offsets into line:col */
	size_t len;
	const char *fname;
	char *err;
	size_t errlen;
};

/**
 * pp_fail() - Record an error at a libyaml mark
 * @c:   Parser context
 * @m:   Where (0-based line and column, as libyaml gives them)
 * @fmt: Message: what was expected, and what was found if useful
 * Return: -1, so callers can `return pp_fail(...)`
 */
static int pp_fail(struct pp *c, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int pp_fail(struct pp *c, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || !c->errlen)
		return -1;
	n = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->fname,
		     m.line + 1, m.column + 1);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Turn a byte offset (libyaml reader errors carry no mark) into a mark. */
static yaml_mark_t pp_offset_mark(const struct pp *c, size_t off)
{
	yaml_mark_t m = { 0 };
	size_t i;

	for (i = 0; i < off && i < c->len; i++) {
		if (c->buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
	}
	m.index = off;
	return m;
}

static const char *ev_anchor(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)e->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)e->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return (const char *)e->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

static const char *ev_tag(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)e->data.scalar.tag;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)e->data.sequence_start.tag;
	case YAML_MAPPING_START_EVENT:
		return (const char *)e->data.mapping_start.tag;
	default:
		return NULL;
	}
}

/**
 * pp_next() - Advance to the next event, refusing YAML features we reject
 * @c: Parser context
 * Return: 0, or -1 with the error recorded
 */
static int pp_next(struct pp *c)
{
	if (c->have_ev) {
		yaml_event_delete(&c->ev);
		c->have_ev = 0;
	}
	if (!yaml_parser_parse(&c->yp, &c->ev)) {
		const char *problem = c->yp.problem ? c->yp.problem : "error";
		yaml_mark_t m = c->yp.problem_mark;

		if (c->yp.error == YAML_READER_ERROR)
			m = pp_offset_mark(c, c->yp.problem_offset);
		if (c->yp.context)
			return pp_fail(c, m, "invalid YAML: %s %s", problem,
				       c->yp.context);
		return pp_fail(c, m, "invalid YAML: %s", problem);
	}
	c->have_ev = 1;
	if (c->ev.type == YAML_ALIAS_EVENT)
		return pp_fail(c, c->ev.start_mark,
			       "expected a value, found a YAML alias (aliases are not supported: write the value out)");
	if (ev_anchor(&c->ev))
		return pp_fail(c, c->ev.start_mark,
			       "expected a value, found a YAML anchor (anchors are not supported)");
	if (ev_tag(&c->ev))
		return pp_fail(c, c->ev.start_mark,
			       "expected a value, found a YAML tag (tags are not supported)");
	return 0;
}

/* The current scalar's bytes, and whether it is a plain (unquoted) one. */
static const char *sc_val(const struct pp *c)
{
	return (const char *)c->ev.data.scalar.value;
}

static size_t sc_len(const struct pp *c)
{
	return c->ev.data.scalar.length;
}

static int sc_plain(const struct pp *c)
{
	return c->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int sc_is(const struct pp *c, const char *s)
{
	return sc_len(c) == strlen(s) && !memcmp(sc_val(c), s, sc_len(c));
}

/* A plain empty, ~ or null scalar: YAML's null. */
static int sc_null(const struct pp *c)
{
	return sc_plain(c) && (sc_len(c) == 0 || sc_is(c, "~") ||
			       sc_is(c, "null") || sc_is(c, "Null") ||
			       sc_is(c, "NULL"));
}

/**
 * pp_found() - Describe the current event for a message ("a mapping", "'x'")
 * @c:    Parser context (current event is a node start or scalar)
 * @out:  Buffer
 * @size: Its size
 * Return: @out
 */
static const char *pp_found(const struct pp *c, char *out, size_t size)
{
	char esc[80];

	switch (c->ev.type) {
	case YAML_MAPPING_START_EVENT:
		snprintf(out, size, "a mapping");
		break;
	case YAML_SEQUENCE_START_EVENT:
		snprintf(out, size, "a list");
		break;
	case YAML_SCALAR_EVENT:
		if (sc_null(c)) {
			snprintf(out, size, "an empty value");
			break;
		}
		log_escape(sc_val(c), sc_len(c), esc, sizeof(esc));
		snprintf(out, size, "'%s'", esc);
		break;
	default:
		snprintf(out, size, "something else");
		break;
	}
	return out;
}

#define FOUND(c) pp_found((c), found_, sizeof(found_))

/**
 * pp_string() - Take the current event as a string value
 * @c:         Parser context
 * @what:      What the key expects, for messages
 * @multiline: Allow newlines and tabs (descriptions)
 * @out:       Malloc'd, NUL-terminated copy
 * Return: 0, or -1 on error (wrong type, empty, too long, control bytes)
 */
static int pp_string(struct pp *c, const char *what, int multiline, char **out)
{
	char found_[128];
	size_t i, len;
	const char *v;

	if (c->ev.type != YAML_SCALAR_EVENT || sc_null(c))
		return pp_fail(c, c->ev.start_mark, "expected %s, found %s",
			       what, FOUND(c));
	v = sc_val(c);
	len = sc_len(c);
	if (len > PF_MAX_STRING)
		return pp_fail(c, c->ev.start_mark,
			       "expected %s of at most %d bytes, found %zu bytes",
			       what, PF_MAX_STRING, len);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (multiline && (ch == '\n' || ch == '\t'))
			continue;
		if (ch < 0x20 || ch == 0x7f)
			return pp_fail(c, c->ev.start_mark,
				       "expected %s without control characters, found byte 0x%02x",
				       what, ch);
	}
	*out = strndup(v, len);
	if (!*out)
		return pp_fail(c, c->ev.start_mark, "out of memory");
	return 0;
}

/**
 * parse_uint() - Strict decimal: digits only, no sign, no leading zero
 * @s:   Text
 * @len: Its length
 * @max: Largest value accepted
 * @out: The value
 * Return: 0, or -1 if @s is not a number in 0..@max
 */
static int parse_uint(const char *s, size_t len, unsigned long max,
		      unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 10 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/**
 * pp_int() - Take the current event as a plain integer in [@min, @max]
 * @c:    Parser context
 * @what: Key name, for messages
 * @min:  Smallest value accepted
 * @max:  Largest value accepted
 * @out:  The value
 * Return: 0, or -1 on error
 */
static int pp_int(struct pp *c, const char *what, unsigned long min,
		  unsigned long max, int *out)
{
	char found_[128];
	unsigned long v;

	if (c->ev.type != YAML_SCALAR_EVENT || !sc_plain(c) ||
	    parse_uint(sc_val(c), sc_len(c), max, &v) || v < min)
		return pp_fail(c, c->ev.start_mark,
			       "expected '%s' to be an integer from %lu to %lu, found %s",
			       what, min, max, FOUND(c));
	*out = (int)v;
	return 0;
}

/* pp_bool() - Plain true/false only: "yes", "on" and "true" in quotes are refused. */
static int pp_bool(struct pp *c, const char *what, int *out)
{
	char found_[128];

	if (c->ev.type == YAML_SCALAR_EVENT && sc_plain(c)) {
		if (sc_is(c, "true") || sc_is(c, "True") || sc_is(c, "TRUE")) {
			*out = 1;
			return 0;
		}
		if (sc_is(c, "false") || sc_is(c, "False") || sc_is(c, "FALSE")) {
			*out = 0;
			return 0;
		}
	}
	return pp_fail(c, c->ev.start_mark,
		       "expected '%s' to be true or false, found %s", what,
		       FOUND(c));
}

/* pp_action() - `allow` or `deny`. */
static int pp_action(struct pp *c, const char *what, enum pf_action *out)
{
	char found_[128];

	if (c->ev.type == YAML_SCALAR_EVENT) {
		if (sc_is(c, "allow")) {
			*out = PF_ALLOW;
			return 0;
		}
		if (sc_is(c, "deny")) {
			*out = PF_DENY;
			return 0;
		}
	}
	return pp_fail(c, c->ev.start_mark,
		       "expected '%s' to be allow or deny, found %s", what,
		       FOUND(c));
}

/**
 * public_suffix() - Is a name a public suffix (com, co.uk)?
 * @name: Lower-case name
 *
 * The Public Suffix List through libpsl: the system's list (Debian's
 * publicsuffix package) when there is one, else the one built into
 * libpsl.  Only its ICANN section counts, and only its own rules, not the
 * implicit "*" for unknown top-level names: "*.github.io" (a private
 * registry's suffix) and "*.corp" name hosts someone chose, "*.co.uk"
 * names everyone's.  The list is read once and kept.
 *
 * Return: 1 if it is, 0 if not or if no list could be had
 */
static int public_suffix(const char *name)
{
	static const psl_ctx_t *psl;
	static int tried;

	if (!tried) {
		tried = 1;
		psl = psl_latest(NULL);
		if (!psl)
			psl = psl_builtin();
	}
	return psl && psl_is_public_suffix2(psl, name, PSL_TYPE_ICANN |
						       PSL_TYPE_NO_STAR_RULE);
}

/**
 * host_pattern_normalize() - Validate and normalise a host pattern in place
 * @s:      NUL-terminated pattern; lowercased and trailing dot stripped
 * @family: Set to AF_INET/AF_INET6 for an IP literal, else 0
 * @addr:   The literal's address (16 bytes)
 * Return: NULL if valid, else a message saying what is wrong
 */
static const char *host_pattern_normalize(char *s, int *family, uint8_t *addr)
{
	size_t len = strlen(s), i, lab = 0;
	const char *name = s, *last;
	int digits_only = 1;

	*family = 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return "expected an ASCII host name (use the xn-- form for internationalised names)";
		s[i] = (char)tolower((unsigned char)s[i]);
	}
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, addr) == 1) {
			*family = AF_INET6;
			return NULL;
		}
		return "expected a host name or an IP address: not a valid IPv6 address";
	}
	if (len && s[len - 1] == '.')
		s[--len] = '\0';
	if (!len)
		return "expected a host name, *.domain or an IP address, found an empty pattern";
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return NULL;
	}
	if (s[0] == '*') {
		if (len == 1)
			return "expected a host name or *.domain: a bare '*' would match everything (use default_action instead)";
		if (s[1] != '.' || len == 2)
			return "expected '*' only as a whole first label, as in *.example.com";
		name = s + 2;
	}
	if (strlen(name) > 253)
		return "expected a host name of at most 253 characters";
	for (i = 0; name[i]; i++) {
		char ch = name[i];

		if (ch == '.') {
			if (!lab)
				return "expected a host name: empty label (two dots in a row, or a leading dot)";
			lab = 0;
			continue;
		}
		if (ch == '*')
			return "expected '*' only as a whole first label, as in *.example.com";
		if (!isalnum((unsigned char)ch) && ch != '-' && ch != '_')
			return "expected a host name of letters, digits, '-', '_' and '.'";
		if (++lab > 63)
			return "expected host name labels of at most 63 characters";
	}
	if (!lab)
		return "expected a host name: empty label (two dots in a row, or a leading dot)";
	/* A name whose last label is all digits is a mistyped IPv4 address. */
	last = strrchr(name, '.');
	last = last ? last + 1 : name;
	for (i = 0; last[i]; i++)
		if (!isdigit((unsigned char)last[i]))
			digits_only = 0;
	if (digits_only)
		return "expected a host name or an IP address: not a valid IPv4 address";
	return NULL;
}

/**
 * cidr_parse() - Parse "ADDR/PREFIX" or a bare address (a /32 or /128)
 * @s: NUL-terminated text
 * @c: Result
 * Return: NULL if valid, else a message saying what is wrong
 */
static const char *cidr_parse(const char *s, struct pf_cidr *c)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	int max;

	memset(c, 0, sizeof(*c));
	if (!alen || alen >= sizeof(tmp))
		return "expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32";
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (inet_pton(AF_INET, tmp, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return "expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32: not an IP address";
	}
	if (!slash) {
		c->prefix = max;
		return NULL;
	}
	if (parse_uint(slash + 1, strlen(slash + 1), (unsigned long)max, &prefix))
		return c->family == AF_INET ?
		       "expected an IPv4 prefix length from 0 to 32" :
		       "expected an IPv6 prefix length from 0 to 128";
	c->prefix = (int)prefix;
	return NULL;
}

/**
 * port_item_parse() - One `ports:` entry: N, "LO-HI" or "*"
 * @s:   Text
 * @len: Its length
 * @r:   Result
 * Return: 0, or -1 if it is none of those
 */
static int port_item_parse(const char *s, size_t len, struct pf_portrange *r)
{
	const char *dash = memchr(s, '-', len);
	unsigned long lo, hi;

	if (len == 1 && s[0] == '*') {
		r->lo = 1;
		r->hi = 65535;
		return 0;
	}
	if (!dash) {
		if (parse_uint(s, len, 65535, &lo) || !lo)
			return -1;
		r->lo = r->hi = (uint16_t)lo;
		return 0;
	}
	if (parse_uint(s, (size_t)(dash - s), 65535, &lo) || !lo ||
	    parse_uint(dash + 1, len - (size_t)(dash - s) - 1, 65535, &hi) ||
	    hi < lo)
		return -1;
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

/* pp_ports() - `ports:`: a list of entries, or one entry as a scalar
 * (443, "8000-8100", "*"). */
static int pp_ports(struct pp *c, struct pf_rule *r)
{
	static const char expect[] =
		"a port number from 1 to 65535, a range \"LO-HI\" or \"*\"";
	char found_[128];
	yaml_mark_t start = c->ev.start_mark;
	struct pf_portrange pr, *n;

	if (c->ev.type == YAML_SCALAR_EVENT &&
	    !port_item_parse(sc_val(c), sc_len(c), &pr)) {
		r->ports = calloc(1, sizeof(*r->ports));
		if (!r->ports)
			return pp_fail(c, start, "out of memory");
		r->ports[0] = pr;
		r->nports = 1;
		return 0;
	}
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return pp_fail(c, start,
			       "expected 'ports' to be a port, a list such as [80, 443, \"8000-8100\"] or \"*\", found %s",
			       FOUND(c));
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (c->ev.type != YAML_SCALAR_EVENT ||
		    port_item_parse(sc_val(c), sc_len(c), &pr))
			return pp_fail(c, c->ev.start_mark,
				       "expected %s, found %s", expect, FOUND(c));
		if (r->nports >= PF_MAX_LIST)
			return pp_fail(c, c->ev.start_mark,
				       "expected at most %d entries in 'ports'",
				       PF_MAX_LIST);
		n = realloc(r->ports, (r->nports + 1) * sizeof(*n));
		if (!n)
			return pp_fail(c, c->ev.start_mark, "out of memory");
		r->ports = n;
		r->ports[r->nports++] = pr;
	}
	if (!r->nports)
		return pp_fail(c, start,
			       "expected at least one entry in 'ports' (or \"*\" for all)");
	return 0;
}

/* One `cidr:` string: parse it, append it, remember its text for the name. */
static int pp_cidr_one(struct pp *c, struct pf_rule *r, char **names)
{
	struct pf_cidr cd, *n;
	const char *why;
	char *s, *joined;
	size_t ol, sl;

	if (pp_string(c, "a CIDR such as 10.0.0.0/8 or 2001:db8::/32", 0, &s))
		return -1;
	why = cidr_parse(s, &cd);
	if (why) {
		free(s);
		return pp_fail(c, c->ev.start_mark, "%s", why);
	}
	if (r->ncidrs >= PF_MAX_LIST) {
		free(s);
		return pp_fail(c, c->ev.start_mark,
			       "expected at most %d entries in 'cidr'", PF_MAX_LIST);
	}
	n = realloc(r->cidrs, (r->ncidrs + 1) * sizeof(*n));
	if (!n) {
		free(s);
		return pp_fail(c, c->ev.start_mark, "out of memory");
	}
	r->cidrs = n;
	r->cidrs[r->ncidrs++] = cd;
	/* The default rule name: the CIDRs as written, comma-separated. */
	ol = *names ? strlen(*names) : 0;
	sl = strlen(s);
	if (ol + sl + 2 <= PF_MAX_STRING) {
		joined = realloc(*names, ol + sl + 2);
		if (joined) {
			if (ol)
				joined[ol++] = ',';
			memcpy(joined + ol, s, sl + 1);
			*names = joined;
		}
	}
	free(s);
	return 0;
}

/* pp_cidrs() - `cidr:`: one string or a non-empty list of them. */
static int pp_cidrs(struct pp *c, struct pf_rule *r, char **names)
{
	char found_[128];
	yaml_mark_t start = c->ev.start_mark;

	if (c->ev.type == YAML_SCALAR_EVENT)
		return pp_cidr_one(c, r, names);
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return pp_fail(c, start,
			       "expected 'cidr' to be a CIDR string or a list of them, found %s",
			       FOUND(c));
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (pp_cidr_one(c, r, names))
			return -1;
	}
	if (!r->ncidrs)
		return pp_fail(c, start, "expected at least one CIDR in 'cidr'");
	return 0;
}

enum {
	RK_NAME, RK_PRIORITY, RK_HOST, RK_CIDR, RK_PORTS, RK_PROTO, RK_ACTION,
	RK_PRIVATE, RK_PATH, RK_METHODS, RK_RPM, RK_ROUTE, RK_TLS, RK_TLSNAME,
	RK_PLAINTEXT, RK_AUTH, RK_PG, RK_N
};

static const char *const rule_keys[RK_N] = {
	"name", "priority", "host_pattern", "cidr", "ports", "protocol",
	"action", "allow_private", "path_pattern", "methods", "rate_limit_rpm",
	"route", "tls", "tls_verify_name", "allow_plaintext", "auth_strategy",
	"postgres",
};

enum { PK_USER, PK_PASSWORD, PK_DATABASE, PK_READONLY, PK_TLS, PK_LOGSTMT,
       PK_CLIENTTLS, PK_N };

static const char *const pg_keys[PK_N] = {
	"user", "password", "database", "read_only", "tls", "log_statements",
	"client_tls",
};

enum { AK_MODE, AK_SECRET, AK_NAME, AK_USER, AK_FORMAT, AK_PLACEHOLDER, AK_N };

static const char *const auth_keys[AK_N] = {
	"mode", "secret", "name", "username", "format", "placeholder_env",
};

/* Keys of later features: known, and refused out loud. */
static const char *const unsupported_keys[] = {
	NULL,
};

/**
 * key_lookup() - Find the current key scalar in a key table
 * @c:    Parser context, current event is the key
 * @keys: Table
 * @n:    Its size
 * Return: index, or -1 if absent
 */
static int key_lookup(const struct pp *c, const char *const *keys, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (sc_is(c, keys[i]))
			return i;
	return -1;
}

/**
 * pp_key() - Check the current event is a known, not yet seen key
 * @c:     Parser context
 * @keys:  Known keys
 * @n:     How many
 * @where: "a rule" or "a profile", for messages
 * @seen:  Line (1-based) each key was first seen at, 0 if not yet
 * @rule:  Also refuse the keys of later features with their own message
 * Return: key index, or -1 on error
 */
static int pp_key(struct pp *c, const char *const *keys, int n,
		  const char *where, size_t *seen, int rule)
{
	char esc[80], list[256];
	size_t i, o = 0;
	int k;

	if (c->ev.type != YAML_SCALAR_EVENT)
		return pp_fail(c, c->ev.start_mark,
			       "expected a key (a plain word) in %s", where);
	k = key_lookup(c, keys, n);
	log_escape(sc_val(c), sc_len(c), esc, sizeof(esc));
	if (k >= 0) {
		if (seen[k])
			return pp_fail(c, c->ev.start_mark,
				       "expected each key once in %s: duplicate key '%s' (first at line %zu)",
				       where, esc, seen[k]);
		seen[k] = c->ev.start_mark.line + 1;
		return k;
	}
	if (rule)
		for (i = 0; unsupported_keys[i]; i++)
			if (sc_is(c, unsupported_keys[i]))
				return pp_fail(c, c->ev.start_mark,
					       "'%s' is not supported by this version of islo-net",
					       unsupported_keys[i]);
	list[0] = '\0';
	for (k = 0; k < n; k++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s%s",
				 k ? ", " : "", keys[k]);

		if (w < 0 || (size_t)w >= sizeof(list) - o)
			break;
		o += (size_t)w;
	}
	return pp_fail(c, c->ev.start_mark,
		       "unknown key '%s' in %s: expected one of %s", esc, where,
		       list);
}

/* [A-Za-z_][A-Za-z0-9_]*, at most PF_MAX_SECRET_NAME bytes: an environment variable name. */
static int env_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len > PF_MAX_SECRET_NAME || isdigit((unsigned char)s[0]))
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/*
 * A systemd credential name: a file name in $CREDENTIALS_DIRECTORY.  Letters,
 * digits, '_', '-', '.', '@'; no '/', no leading '.' (so never "." or "..").
 */
static int cred_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len > PF_MAX_SECRET_NAME || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.@", s[i]))
			return 0;
	return 1;
}

/* An HTTP token (RFC 9110 tchar), for header names. */
static int http_token_ok(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    !strchr("!#$%&'*+-.^_`|~", s[i]))
			return 0;
	return 1;
}

/* Count the non-overlapping occurrences of @needle in @s. */
static size_t count_substr(const char *s, const char *needle)
{
	size_t n = 0, nl = strlen(needle);

	while ((s = strstr(s, needle))) {
		n++;
		s += nl;
	}
	return n;
}

/**
 * path_pattern_check() - Validate one `path_pattern:` entry
 * @s: NUL-terminated pattern (at most PF_MAX_STRING bytes, no control bytes)
 * Return: NULL if valid, else what is wrong
 */
static const char *path_pattern_check(const char *s)
{
	size_t len = strlen(s), i;
	const char *star = strchr(s, '*');

	if (s[0] != '/')
		return "expected 'path_pattern' to start with '/', as in /repos/*";
	if (star && star != s + len - 1)
		return "expected '*' only once, as the last character of a path_pattern, as in /repos/*";
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return "expected a path_pattern of printable ASCII without spaces (percent-encode other bytes)";
		if (ch == '?' || ch == '#')
			return "expected a path_pattern without '?' or '#': patterns match the path, not the query or fragment";
	}
	/* "/./" and "/../" would never match a normalised path: say so. */
	for (i = 0; i < len; i++) {
		size_t seg;

		if (s[i] != '/')
			continue;
		seg = strcspn(s + i + 1, "/");
		if ((seg == 1 && s[i + 1] == '.') ||
		    (seg == 2 && s[i + 1] == '.' && s[i + 2] == '.'))
			return "expected a path_pattern without '.' or '..' segments";
	}
	return NULL;
}

/* One `path_pattern:` string: validate and append. */
static int pp_path_one(struct pp *c, struct pf_rule *r)
{
	const char *why;
	char *s, **n;

	if (pp_string(c, "'path_pattern' to be a path such as /repos/*", 0, &s))
		return -1;
	why = path_pattern_check(s);
	if (why) {
		free(s);
		return pp_fail(c, c->ev.start_mark, "%s", why);
	}
	if (r->npath_patterns >= PF_MAX_LIST) {
		free(s);
		return pp_fail(c, c->ev.start_mark,
			       "expected at most %d entries in 'path_pattern'",
			       PF_MAX_LIST);
	}
	n = realloc(r->path_patterns, (r->npath_patterns + 1) * sizeof(*n));
	if (!n) {
		free(s);
		return pp_fail(c, c->ev.start_mark, "out of memory");
	}
	r->path_patterns = n;
	r->path_patterns[r->npath_patterns++] = s;
	return 0;
}

/* pp_paths() - `path_pattern:`: one string or a non-empty list of them. */
static int pp_paths(struct pp *c, struct pf_rule *r)
{
	char found_[128];
	yaml_mark_t start = c->ev.start_mark;

	if (c->ev.type == YAML_SCALAR_EVENT)
		return pp_path_one(c, r);
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return pp_fail(c, start,
			       "expected 'path_pattern' to be a path or a list of paths, found %s",
			       FOUND(c));
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (pp_path_one(c, r))
			return -1;
	}
	if (!r->npath_patterns)
		return pp_fail(c, start,
			       "expected at least one path in 'path_pattern'");
	return 0;
}

/* pp_methods() - `methods:`: a non-empty list of upper-case tokens. */
static int pp_methods(struct pp *c, struct pf_rule *r)
{
	char found_[128];
	yaml_mark_t start = c->ev.start_mark;
	size_t i, len;
	char **n;

	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return pp_fail(c, start,
			       "expected 'methods' to be a list such as [GET, HEAD], found %s",
			       FOUND(c));
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		len = c->ev.type == YAML_SCALAR_EVENT ? sc_len(c) : 0;
		for (i = 0; i < len; i++)
			if (sc_val(c)[i] < 'A' || sc_val(c)[i] > 'Z')
				break;
		if (c->ev.type != YAML_SCALAR_EVENT || !len || i < len ||
		    len > PF_MAX_METHOD)
			return pp_fail(c, c->ev.start_mark,
				       "expected an HTTP method in upper case (A-Z, at most %d letters) such as GET or POST, found %s",
				       PF_MAX_METHOD, FOUND(c));
		for (i = 0; i < r->nmethods; i++)
			if (sc_is(c, r->methods[i]))
				return pp_fail(c, c->ev.start_mark,
					       "expected each method once in 'methods': duplicate %s",
					       FOUND(c));
		if (r->nmethods >= PF_MAX_LIST)
			return pp_fail(c, c->ev.start_mark,
				       "expected at most %d entries in 'methods'",
				       PF_MAX_LIST);
		n = realloc(r->methods, (r->nmethods + 1) * sizeof(*n));
		if (!n)
			return pp_fail(c, c->ev.start_mark, "out of memory");
		r->methods = n;
		if (!(r->methods[r->nmethods] = strndup(sc_val(c), len)))
			return pp_fail(c, c->ev.start_mark, "out of memory");
		r->nmethods++;
	}
	if (!r->nmethods)
		return pp_fail(c, start, "expected at least one method in 'methods'");
	return 0;
}

/**
 * dns_name_check() - Validate a DNS name (no wildcard, no IP literal)
 * @s: NUL-terminated name; lowercased and trailing dot stripped in place
 * Return: NULL if valid, else what is wrong
 */
static const char *dns_name_check(char *s)
{
	uint8_t addr[16];
	const char *why;
	int family;

	if (s[0] == '*')
		return "expected a host name without '*'";
	why = host_pattern_normalize(s, &family, addr);
	if (why)
		return why;
	if (family)
		return "expected a DNS name, not an IP address";
	return NULL;
}

/**
 * route_parse() - `route:` "HOST:PORT" or "[IPV6]:PORT"
 * @s: NUL-terminated text
 * @r: Rule: route_host, route_port, route_family, route_addr filled
 * Return: NULL if valid, else what is wrong
 */
static const char *route_parse(const char *s, struct pf_rule *r)
{
	char v6[INET6_ADDRSTRLEN];
	const char *colon, *why;
	unsigned long port;
	size_t hlen;
	char *host;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return "expected 'route' to be HOST:PORT or [IPV6]:PORT, as in [2001:db8::1]:8443";
		hlen = (size_t)(close - s - 1);
		colon = close + 1;
		host = strndup(s + 1, hlen);
		if (!host)
			return "out of memory";
		if (inet_pton(AF_INET6, host, r->route_addr) != 1) {
			free(host);
			return "expected an IPv6 address between '[' and ']' in 'route'";
		}
		/* Canonical text: lower case, zeros compressed. */
		free(host);
		if (!inet_ntop(AF_INET6, r->route_addr, v6, sizeof(v6)) ||
		    !(host = strdup(v6)))
			return "out of memory";
		r->route_family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return "expected 'route' to be HOST:PORT, as in 127.0.0.1:8443: the port is missing";
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			return "expected an IPv6 address in 'route' to be in brackets, as in [2001:db8::1]:8443";
		if (!hlen)
			return "expected 'route' to be HOST:PORT: the host is missing";
		host = strndup(s, hlen);
		if (!host)
			return "out of memory";
		why = host[0] == '*' ? "expected a host name without '*' in 'route'" :
		      host_pattern_normalize(host, &r->route_family, r->route_addr);
		if (why) {
			free(host);
			return why;
		}
	}
	if (parse_uint(colon + 1, strlen(colon + 1), 65535, &port) || !port) {
		free(host);
		r->route_family = 0;
		return "expected the port in 'route' to be a number from 1 to 65535";
	}
	free(r->route_host);
	r->route_host = host;
	r->route_port = (uint16_t)port;
	return NULL;
}

/* Headers that frame or route the request: never set from a profile. */
static int header_reserved(const char *name)
{
	static const char *const reserved[] = {
		"host", "content-length", "transfer-encoding", "connection",
		"upgrade", "te", "trailer", "keep-alive", "proxy-connection",
		"expect",
	};
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(*reserved); i++)
		if (!strcasecmp(name, reserved[i]))
			return 1;
	return 0;
}

/**
 * pp_secret_ref() - `secret:` env:NAME, file:/PATH or cred:NAME
 * @c:   Parser context
 * @key: The key, for messages ("secret", "password")
 * @out: Malloc'd copy, as written
 *
 * Messages never quote the value: a profile author who pasted the secret
 * itself must not find it in an error on a terminal or in a CI log.
 *
 * Return: 0, or -1 on error
 */
static int pp_secret_ref(struct pp *c, const char *key, char **out)
{
	char expect[96];
	const char *v;
	size_t len, i;

	snprintf(expect, sizeof(expect),
		 "expected '%s' to be env:NAME, file:/PATH or cred:NAME", key);
	if (c->ev.type != YAML_SCALAR_EVENT)
		return pp_fail(c, c->ev.start_mark, "%s, found a %s", expect,
			       c->ev.type == YAML_MAPPING_START_EVENT ?
			       "mapping" : "list");
	if (sc_null(c))
		return pp_fail(c, c->ev.start_mark, "%s, found an empty value",
			       expect);
	v = sc_val(c);
	len = sc_len(c);
	if (len > PF_MAX_STRING)
		return pp_fail(c, c->ev.start_mark, "%s of at most %d bytes",
			       expect, PF_MAX_STRING);
	if (len >= 4 && !memcmp(v, "env:", 4)) {
		if (!env_name_ok(v + 4, len - 4))
			return pp_fail(c, c->ev.start_mark,
				       "expected env:NAME with NAME an environment variable name (letters, digits and '_', not starting with a digit)");
	} else if (len >= 5 && !memcmp(v, "cred:", 5)) {
		if (!cred_name_ok(v + 5, len - 5))
			return pp_fail(c, c->ev.start_mark,
				       "expected cred:NAME with NAME a credential name (letters, digits, '_', '-', '.', '@'; no '/', not starting with '.')");
	} else if (len >= 5 && !memcmp(v, "file:", 5)) {
		if (len == 5 || v[5] != '/')
			return pp_fail(c, c->ev.start_mark,
				       "expected file:PATH with an absolute PATH, as in file:/run/secrets/token");
		for (i = 5; i < len; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
				return pp_fail(c, c->ev.start_mark,
					       "expected file:PATH without control characters");
	} else {
		return pp_fail(c, c->ev.start_mark,
			       "%s; an inline secret is not accepted (the value is not shown here): put it in an environment variable (env:NAME), a file (file:/PATH) or a systemd credential (cred:NAME)",
			       expect);
	}
	*out = strndup(v, len);
	if (!*out)
		return pp_fail(c, c->ev.start_mark, "out of memory");
	return 0;
}

/**
 * pp_auth() - `auth_strategy:` mapping (current event: its MAPPING_START)
 * @c: Parser context
 * @a: Zeroed auth to fill; freed by the caller on error
 * Return: 0, or -1 on error
 */
static int pp_auth(struct pp *c, struct pf_auth *a)
{
	char found_[128];
	yaml_mark_t start = c->ev.start_mark, kmark[AK_N] = { { 0 } };
	size_t seen[AK_N] = { 0 };
	int k;

	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return pp_fail(c, start,
			       "expected 'auth_strategy' to be a mapping with mode and secret, found %s",
			       FOUND(c));
	a->secret_index = -1;
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			break;
		k = pp_key(c, auth_keys, AK_N, "auth_strategy", seen, 0);
		if (k < 0)
			return -1;
		kmark[k] = c->ev.start_mark;
		if (pp_next(c))
			return -1;
		switch (k) {
		case AK_MODE:
			if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "bearer"))
				a->mode = PF_AUTH_BEARER;
			else if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "basic"))
				a->mode = PF_AUTH_BASIC;
			else if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "header"))
				a->mode = PF_AUTH_HEADER;
			else
				return pp_fail(c, c->ev.start_mark,
					       "expected 'mode' to be bearer, basic or header, found %s",
					       FOUND(c));
			break;
		case AK_SECRET:
			if (pp_secret_ref(c, "secret", &a->secret_ref))
				return -1;
			break;
		case AK_NAME:
			if (pp_string(c, "'name' to be an HTTP header name", 0,
				      &a->header_name))
				return -1;
			if (!http_token_ok(a->header_name, strlen(a->header_name)))
				return pp_fail(c, c->ev.start_mark,
					       "expected 'name' to be an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~), found %s",
					       FOUND(c));
			if (header_reserved(a->header_name))
				return pp_fail(c, c->ev.start_mark,
					       "expected 'name' to be a header a credential goes in: %s frames or routes the request",
					       FOUND(c));
			break;
		case AK_USER:
			if (pp_string(c, "'username' to be a string", 0, &a->username))
				return -1;
			if (strchr(a->username, ':'))
				return pp_fail(c, c->ev.start_mark,
					       "expected 'username' without ':' (HTTP basic authentication cannot carry it)");
			break;
		case AK_FORMAT:
			if (pp_string(c, "'format' to be a string containing {secret}",
				      0, &a->format))
				return -1;
			if (count_substr(a->format, "{secret}") != 1)
				return pp_fail(c, c->ev.start_mark,
					       "expected 'format' to contain {secret} exactly once, as in \"token {secret}\"");
			break;
		case AK_PLACEHOLDER:
			if (pp_string(c, "'placeholder_env' to be an environment variable name",
				      0, &a->placeholder_env))
				return -1;
			if (!env_name_ok(a->placeholder_env, strlen(a->placeholder_env)))
				return pp_fail(c, c->ev.start_mark,
					       "expected 'placeholder_env' to be an environment variable name (letters, digits and '_', not starting with a digit), found %s",
					       FOUND(c));
			break;
		}
	}
	if (!seen[AK_MODE])
		return pp_fail(c, start,
			       "expected 'mode' (bearer, basic or header) in auth_strategy");
	if (!seen[AK_SECRET])
		return pp_fail(c, start,
			       "expected 'secret' (env:NAME, file:/PATH or cred:NAME) in auth_strategy");
	if (a->mode == PF_AUTH_HEADER && !a->header_name)
		return pp_fail(c, start,
			       "expected 'name' (the header to set) in auth_strategy with mode: header");
	if (a->mode != PF_AUTH_HEADER && a->header_name)
		return pp_fail(c, kmark[AK_NAME],
			       "'name' is only for mode: header (bearer and basic use the Authorization header)");
	if (a->mode == PF_AUTH_BASIC && !a->username)
		return pp_fail(c, start,
			       "expected 'username' in auth_strategy with mode: basic");
	if (a->mode != PF_AUTH_BASIC && a->username)
		return pp_fail(c, kmark[AK_USER],
			       "'username' is only for mode: basic");
	if (a->mode == PF_AUTH_BASIC && a->format)
		return pp_fail(c, kmark[AK_FORMAT],
			       "'format' is not allowed with mode: basic (the header is always \"Basic base64(username:secret)\")");
	if (!a->format && a->mode != PF_AUTH_BASIC &&
	    !(a->format = strdup(a->mode == PF_AUTH_BEARER ? "Bearer {secret}" :
				 "{secret}")))
		return pp_fail(c, start, "out of memory");
	return 0;
}

/* A user or database name for PostgreSQL: 1-63 bytes, no control bytes. */
static int pp_pg_name(struct pp *c, const char *what, char **out)
{
	if (pp_string(c, what, 0, out))
		return -1;
	if (strlen(*out) > PF_PG_NAME_MAX)
		return pp_fail(c, c->ev.start_mark,
			       "expected %s of at most %d bytes (PostgreSQL truncates longer names)",
			       what, PF_PG_NAME_MAX);
	return 0;
}

/* `database:` a name, or a list of names; "*" alone for any. */
static int pp_pg_databases(struct pp *c, struct pf_postgres *pg)
{
	static const char what[] = "'database' to be a database name, a list of names, or \"*\"";
	char found_[128];
	yaml_mark_t start = c->ev.start_mark;
	int list = c->ev.type == YAML_SEQUENCE_START_EVENT;
	size_t i;

	if (!list && c->ev.type != YAML_SCALAR_EVENT)
		return pp_fail(c, start, "expected %s, found %s", what, FOUND(c));
	for (;;) {
		char **n, *name;

		if (list) {
			if (pp_next(c))
				return -1;
			if (c->ev.type == YAML_SEQUENCE_END_EVENT)
				break;
		}
		if (pg->ndatabases >= PF_MAX_LIST)
			return pp_fail(c, c->ev.start_mark,
				       "expected at most %d entries in 'database'",
				       PF_MAX_LIST);
		if (pp_pg_name(c, what, &name))
			return -1;
		for (i = 0; i < pg->ndatabases; i++)
			if (!strcmp(pg->databases[i], name)) {
				free(name);
				return pp_fail(c, c->ev.start_mark,
					       "expected each database once in 'database': duplicate %s",
					       FOUND(c));
			}
		n = realloc(pg->databases, (pg->ndatabases + 1) * sizeof(*n));
		if (!n) {
			free(name);
			return pp_fail(c, c->ev.start_mark, "out of memory");
		}
		pg->databases = n;
		pg->databases[pg->ndatabases++] = name;
		if (!strcmp(name, "*"))
			pg->any_database = 1;
		if (!list)
			break;
	}
	if (!pg->ndatabases)
		return pp_fail(c, start, "expected at least one name in 'database'");
	if (pg->any_database && pg->ndatabases > 1)
		return pp_fail(c, start,
			       "expected \"*\" alone in 'database': it already allows every database");
	return 0;
}

/**
 * pp_postgres() - `postgres:` mapping (current event: its MAPPING_START)
 * @c:  Parser context
 * @pg: Zeroed to fill; freed by the caller on error
 * Return: 0, or -1 on error
 */
static int pp_postgres(struct pp *c, struct pf_postgres *pg)
{
	char found_[128];
	yaml_mark_t start = c->ev.start_mark;
	size_t seen[PK_N] = { 0 };
	int k;

	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return pp_fail(c, start,
			       "expected 'postgres' to be a mapping with user, password and database, found %s",
			       FOUND(c));
	pg->read_only = 1;
	pg->tls = PF_PG_VERIFY_FULL;
	pg->secret_index = -1;
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			break;
		k = pp_key(c, pg_keys, PK_N, "postgres", seen, 0);
		if (k < 0)
			return -1;
		if (pp_next(c))
			return -1;
		switch (k) {
		case PK_USER:
			if (pp_pg_name(c, "'user' to be a PostgreSQL role name",
				       &pg->user))
				return -1;
			break;
		case PK_PASSWORD:
			if (pp_secret_ref(c, "password", &pg->password_ref))
				return -1;
			break;
		case PK_DATABASE:
			if (pp_pg_databases(c, pg))
				return -1;
			break;
		case PK_READONLY:
			if (pp_bool(c, "read_only", &pg->read_only))
				return -1;
			break;
		case PK_TLS:
			if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "verify-full"))
				pg->tls = PF_PG_VERIFY_FULL;
			else if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "require"))
				pg->tls = PF_PG_REQUIRE;
			else if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "disable"))
				pg->tls = PF_PG_DISABLE;
			else
				return pp_fail(c, c->ev.start_mark,
					       "expected 'tls' to be verify-full, require or disable, found %s",
					       FOUND(c));
			break;
		case PK_LOGSTMT:
			if (pp_bool(c, "log_statements", &pg->log_statements))
				return -1;
			break;
		case PK_CLIENTTLS:
			if (pp_bool(c, "client_tls", &pg->client_tls))
				return -1;
			break;
		}
	}
	if (!pg->user)
		return pp_fail(c, start,
			       "expected 'user' (the role to log in as upstream) in postgres");
	if (!pg->password_ref)
		return pp_fail(c, start,
			       "expected 'password' (env:NAME, file:/PATH or cred:NAME) in postgres");
	if (!pg->ndatabases)
		return pp_fail(c, start,
			       "expected 'database' (a name, a list of names, or \"*\") in postgres");
	return 0;
}

/**
 * placeholder_conflict() - Check a rule's placeholder_env against earlier rules
 * @p: Profile; the rules before @r are complete
 * @r: Rule just parsed, with auth and placeholder_env
 * Return: the conflicting earlier rule, or NULL
 *
 * One variable can hold one placeholder: two rules may name the same
 * placeholder_env only if they use the same secret (they then share it).
 */
static const struct pf_rule *placeholder_conflict(const struct profile *p,
						   const struct pf_rule *r)
{
	size_t i;

	for (i = 0; i < p->nrules && &p->rules[i] != r; i++) {
		const struct pf_auth *o = p->rules[i].auth;

		if (o && o->placeholder_env &&
		    !strcmp(o->placeholder_env, r->auth->placeholder_env) &&
		    strcmp(o->secret_ref, r->auth->secret_ref))
			return &p->rules[i];
	}
	return NULL;
}

/**
 * rule_check() - Checks across keys, once a rule's mapping is read
 * @c:     Parser context
 * @p:     Profile (earlier rules, for placeholder_env)
 * @r:     The rule
 * @start: Where the rule starts
 * @seen:  Per-key line, 0 if absent
 * @kmark: Per-key position, valid where @seen is set
 * Return: 0, or -1 on error
 */
static int rule_check(struct pp *c, const struct profile *p,
		      const struct pf_rule *r, yaml_mark_t start,
		      const size_t *seen, const yaml_mark_t *kmark)
{
	static const int http_keys[] = { RK_PATH, RK_METHODS, RK_RPM, RK_AUTH };
	static const int allow_only[] = { RK_AUTH, RK_ROUTE, RK_RPM, RK_TLSNAME,
					  RK_PG };
	static const int not_pg[] = { RK_PATH, RK_METHODS, RK_RPM, RK_TLS,
				      RK_PLAINTEXT, RK_AUTH };
	const struct pf_rule *o;
	size_t i;

	(void)start;
	if (r->tls_mode == PF_TLS_PASSTHROUGH)
		for (i = 0; i < sizeof(http_keys) / sizeof(*http_keys); i++)
			if (seen[http_keys[i]])
				return pp_fail(c, kmark[RK_TLS],
					       "'tls: passthrough' cannot be used with '%s': it needs to see HTTP (remove 'tls', or use tls: intercept)",
					       rule_keys[http_keys[i]]);
	if (r->protocol == PF_UDP)
		for (i = RK_PATH; i < RK_N; i++)
			if (seen[i])
				return pp_fail(c, kmark[i],
					       "'%s' needs protocol: tcp", rule_keys[i]);
	if (r->action == PF_DENY)
		for (i = 0; i < sizeof(allow_only) / sizeof(*allow_only); i++)
			if (seen[allow_only[i]])
				return pp_fail(c, kmark[allow_only[i]],
					       "'%s' has no effect on a rule with action: deny",
					       rule_keys[allow_only[i]]);
	if (r->auth && !r->host_pattern)
		return pp_fail(c, kmark[RK_AUTH],
			       "'auth_strategy' needs a 'host_pattern': a credential is bound to host names, not to a cidr");
	if (r->allow_plaintext && !r->auth)
		return pp_fail(c, kmark[RK_PLAINTEXT],
			       "'allow_plaintext' needs 'auth_strategy': it says whether the credential may be sent over plain HTTP");
	if (r->tls_verify_name && !r->route_host)
		return pp_fail(c, kmark[RK_TLSNAME],
			       "'tls_verify_name' needs 'route': without it, upstream TLS is verified against the host the sandbox asked for");
	if (r->pg) {
		for (i = 0; i < sizeof(not_pg) / sizeof(*not_pg); i++)
			if (seen[not_pg[i]])
				return pp_fail(c, kmark[not_pg[i]],
					       "'%s' cannot be used with 'postgres': the database gateway speaks PostgreSQL, not HTTP (its TLS is postgres: tls:)",
					       rule_keys[not_pg[i]]);
		if (!r->host_pattern || r->host_family || r->ncidrs)
			return pp_fail(c, kmark[RK_PG],
				       "'postgres' needs a 'host_pattern' that is a name (not an IP address or a cidr): upstream TLS is verified against it");
		if (r->tls_verify_name && r->pg->tls != PF_PG_VERIFY_FULL)
			return pp_fail(c, kmark[RK_TLSNAME],
				       "'tls_verify_name' needs postgres: tls: verify-full (the only mode that checks the name)");
	}
	if (r->tls_verify_name && !r->pg && !pf_rule_intercepts(r))
		return pp_fail(c, kmark[RK_TLSNAME],
			       "'tls_verify_name' needs an intercepted rule (tls: intercept, or path_pattern, methods, rate_limit_rpm or auth_strategy): in passthrough the sandbox's client verifies TLS");
	if (r->auth && r->auth->placeholder_env &&
	    (o = placeholder_conflict(p, r)))
		return pp_fail(c, kmark[RK_AUTH],
			       "placeholder_env '%s' is already used by rule '%s' (line %d) with a different secret",
			       r->auth->placeholder_env, o->name, o->line);
	return 0;
}

/**
 * pp_rule() - Parse one rule mapping (current event: its MAPPING_START)
 * @c: Parser context
 * @p: Profile, for checks against earlier rules
 * @r: Rule to fill; index already set; freed by the caller on error
 * Return: 0, or -1 on error
 */
static int pp_rule(struct pp *c, const struct profile *p, struct pf_rule *r)
{
	char found_[128];
	yaml_mark_t start = c->ev.start_mark, kmark[RK_N] = { { 0 } };
	size_t seen[RK_N] = { 0 };
	char *cidr_names = NULL, *namebuf;
	const char *why;
	int k;

	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return pp_fail(c, start,
			       "expected a rule (a mapping with host_pattern or cidr, ports, action, ...), found %s",
			       FOUND(c));
	r->priority = PF_DEFAULT_PRIORITY;
	r->protocol = PF_TCP;
	r->action = PF_ALLOW;
	r->line = (int)start.line + 1;
	for (;;) {
		if (pp_next(c))
			goto fail;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			break;
		k = pp_key(c, rule_keys, RK_N, "a rule", seen, 1);
		if (k < 0)
			goto fail;
		kmark[k] = c->ev.start_mark;
		if (pp_next(c))
			goto fail;
		switch (k) {
		case RK_NAME:
			if (pp_string(c, "'name' to be a string", 0, &r->name))
				goto fail;
			break;
		case RK_PRIORITY:
			if (pp_int(c, "priority", 0, PF_MAX_PRIORITY, &r->priority))
				goto fail;
			break;
		case RK_HOST:
			if (pp_string(c, "'host_pattern' to be a host name, *.domain or an IP address",
				      0, &r->host_pattern))
				goto fail;
			why = host_pattern_normalize(r->host_pattern,
						     &r->host_family, r->host_addr);
			if (why) {
				pp_fail(c, c->ev.start_mark, "%s", why);
				goto fail;
			}
			if (r->host_pattern[0] == '*' &&
			    public_suffix(r->host_pattern + 2)) {
				pp_fail(c, c->ev.start_mark,
					"expected a wildcard under a domain, not over the public suffix '%s': "
					"'%s' would match every site registered under it (name the domains: *.example.%s)",
					r->host_pattern + 2, r->host_pattern,
					r->host_pattern + 2);
				goto fail;
			}
			break;
		case RK_CIDR:
			if (pp_cidrs(c, r, &cidr_names))
				goto fail;
			break;
		case RK_PORTS:
			if (pp_ports(c, r))
				goto fail;
			break;
		case RK_PROTO:
			if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "tcp")) {
				r->protocol = PF_TCP;
			} else if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "udp")) {
				r->protocol = PF_UDP;
			} else {
				pp_fail(c, c->ev.start_mark,
					"expected 'protocol' to be tcp or udp, found %s",
					FOUND(c));
				goto fail;
			}
			break;
		case RK_ACTION:
			if (pp_action(c, "action", &r->action))
				goto fail;
			break;
		case RK_PRIVATE:
			if (pp_bool(c, "allow_private", &r->allow_private))
				goto fail;
			break;
		case RK_PATH:
			if (pp_paths(c, r))
				goto fail;
			break;
		case RK_METHODS:
			if (pp_methods(c, r))
				goto fail;
			break;
		case RK_RPM:
			if (pp_int(c, "rate_limit_rpm", 1, PF_MAX_RPM,
				   &r->rate_limit_rpm))
				goto fail;
			break;
		case RK_ROUTE: {
			char *s;

			if (pp_string(c, "'route' to be HOST:PORT or [IPV6]:PORT",
				      0, &s))
				goto fail;
			why = route_parse(s, r);
			free(s);
			if (why) {
				pp_fail(c, c->ev.start_mark, "%s", why);
				goto fail;
			}
			break;
		}
		case RK_TLS:
			if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "passthrough")) {
				r->tls_mode = PF_TLS_PASSTHROUGH;
			} else if (c->ev.type == YAML_SCALAR_EVENT && sc_is(c, "intercept")) {
				r->tls_mode = PF_TLS_INTERCEPT;
			} else {
				pp_fail(c, c->ev.start_mark,
					"expected 'tls' to be passthrough or intercept, found %s",
					FOUND(c));
				goto fail;
			}
			break;
		case RK_TLSNAME:
			if (pp_string(c, "'tls_verify_name' to be a DNS name", 0,
				      &r->tls_verify_name))
				goto fail;
			why = dns_name_check(r->tls_verify_name);
			if (why) {
				pp_fail(c, c->ev.start_mark, "%s", why);
				goto fail;
			}
			break;
		case RK_PLAINTEXT:
			if (pp_bool(c, "allow_plaintext", &r->allow_plaintext))
				goto fail;
			break;
		case RK_AUTH:
			r->auth = calloc(1, sizeof(*r->auth));
			if (!r->auth) {
				pp_fail(c, c->ev.start_mark, "out of memory");
				goto fail;
			}
			if (pp_auth(c, r->auth))
				goto fail;
			r->auth->line = (int)kmark[RK_AUTH].line + 1;
			break;
		case RK_PG:
			r->pg = calloc(1, sizeof(*r->pg));
			if (!r->pg) {
				pp_fail(c, c->ev.start_mark, "out of memory");
				goto fail;
			}
			if (pp_postgres(c, r->pg))
				goto fail;
			r->pg->line = (int)kmark[RK_PG].line + 1;
			break;
		}
	}
	if (!r->host_pattern && !r->ncidrs) {
		pp_fail(c, start, "expected 'host_pattern' or 'cidr' in a rule");
		goto fail;
	}
	if (!r->nports && r->pg) {
		r->ports = calloc(1, sizeof(*r->ports));
		if (!r->ports) {
			pp_fail(c, start, "out of memory");
			goto fail;
		}
		r->ports[0].lo = r->ports[0].hi = PF_PG_PORT;
		r->nports = 1;
	}
	if (!r->nports) {
		r->ports = calloc(2, sizeof(*r->ports));
		if (!r->ports) {
			pp_fail(c, start, "out of memory");
			goto fail;
		}
		r->ports[0].lo = r->ports[0].hi = 80;
		r->ports[1].lo = r->ports[1].hi = 443;
		r->nports = 2;
	}
	if (!r->name) {
		if (r->host_pattern) {
			r->name = strdup(r->host_pattern);
		} else if (cidr_names) {
			r->name = cidr_names;
			cidr_names = NULL;
		} else if (asprintf(&namebuf, "rule-%d", r->index + 1) >= 0) {
			r->name = namebuf;
		}
		if (!r->name) {
			pp_fail(c, start, "out of memory");
			goto fail;
		}
	}
	if (rule_check(c, p, r, start, seen, kmark))
		goto fail;
	free(cidr_names);
	return 0;
fail:
	free(cidr_names);
	return -1;
}

/* pp_rules() - `rules:`: a list of rule mappings. */
static int pp_rules(struct pp *c, struct profile *p)
{
	char found_[128];
	struct pf_rule *n;

	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return pp_fail(c, c->ev.start_mark,
			       "expected 'rules' to be a list of rules, found %s",
			       FOUND(c));
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (p->nrules >= PF_MAX_RULES)
			return pp_fail(c, c->ev.start_mark,
				       "expected at most %d rules", PF_MAX_RULES);
		n = realloc(p->rules, (p->nrules + 1) * sizeof(*n));
		if (!n)
			return pp_fail(c, c->ev.start_mark, "out of memory");
		p->rules = n;
		memset(&p->rules[p->nrules], 0, sizeof(*n));
		p->rules[p->nrules].index = (int)p->nrules;
		/* Counted before parsing so profile_free() frees a partial rule. */
		p->nrules++;
		if (pp_rule(c, p, &p->rules[p->nrules - 1]))
			return -1;
	}
}

enum { TK_NAME, TK_DESC, TK_DEFAULT, TK_INTERNET, TK_RULES, TK_TIMEOUTS, TK_N };

static const char *const top_keys[TK_N] = {
	"name", "description", "default_action", "internet_enabled", "rules",
	"timeouts",
};

enum { TO_TLS, TO_HEAD, TO_IDLE, TO_N };

static const char *const timeout_keys[TO_N] = {
	"tls_handshake", "request_head", "idle",
};

/* pp_timeouts() - `timeouts:` (current event: its value). */
static int pp_timeouts(struct pp *c, struct profile *p)
{
	char found_[128];
	size_t seen[TO_N] = { 0 };
	int k, *out[TO_N] = { &p->tls_handshake_s, &p->request_head_s, &p->idle_s };

	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return pp_fail(c, c->ev.start_mark,
			       "expected 'timeouts' to be a mapping (tls_handshake, request_head, idle: seconds), found %s",
			       FOUND(c));
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		k = pp_key(c, timeout_keys, TO_N, "timeouts", seen, 0);
		if (k < 0 || pp_next(c))
			return -1;
		if (pp_int(c, timeout_keys[k], 1, PF_MAX_TIMEOUT_S, out[k]))
			return -1;
	}
}

/* pp_top() - The profile mapping (current event: its MAPPING_START). */
static int pp_top(struct pp *c, struct profile *p)
{
	size_t seen[TK_N] = { 0 };
	int k;

	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		k = pp_key(c, top_keys, TK_N, "a profile", seen, 0);
		if (k < 0 || pp_next(c))
			return -1;
		switch (k) {
		case TK_NAME:
			if (pp_string(c, "'name' to be a string", 0, &p->name))
				return -1;
			break;
		case TK_DESC:
			if (pp_string(c, "'description' to be a string", 1,
				      &p->description))
				return -1;
			break;
		case TK_DEFAULT:
			if (pp_action(c, "default_action", &p->default_action))
				return -1;
			break;
		case TK_INTERNET:
			if (pp_bool(c, "internet_enabled", &p->internet_enabled))
				return -1;
			break;
		case TK_RULES:
			if (pp_rules(c, p))
				return -1;
			break;
		case TK_TIMEOUTS:
			if (pp_timeouts(c, p))
				return -1;
			break;
		}
	}
}

/**
 * pp_document() - The whole stream: exactly one document holding a mapping
 * @c: Parser context
 * @p: Profile to fill
 * Return: 0, or -1 on error
 */
static int pp_document(struct pp *c, struct profile *p)
{
	static const char expect[] =
		"expected a mapping of profile settings (name, description, default_action, internet_enabled, rules, timeouts)";
	char found_[128];

	if (pp_next(c))
		return -1;
	if (c->ev.type != YAML_STREAM_START_EVENT)
		return pp_fail(c, c->ev.start_mark, "%s", expect);
	if (pp_next(c))
		return -1;
	if (c->ev.type == YAML_STREAM_END_EVENT)
		return pp_fail(c, c->ev.start_mark, "%s, found an empty file",
			       expect);
	if (pp_next(c))
		return -1;
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return pp_fail(c, c->ev.start_mark, "%s, found %s", expect,
			       FOUND(c));
	if (pp_top(c, p) || pp_next(c))
		return -1;
	if (c->ev.type != YAML_DOCUMENT_END_EVENT)
		return pp_fail(c, c->ev.start_mark, "expected the end of the document");
	if (pp_next(c))
		return -1;
	if (c->ev.type != YAML_STREAM_END_EVENT)
		return pp_fail(c, c->ev.start_mark,
			       "expected a single YAML document, found another one");
	return 0;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct pf_rule *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* The profile name when there is no `name:`: the file's stem. */
static char *file_stem(const char *fname)
{
	const char *base = strrchr(fname, '/');
	size_t len;

	base = base ? base + 1 : fname;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".yaml"))
		len -= 5;
	else if (len > 4 && !strcmp(base + len - 4, ".yml"))
		len -= 4;
	if (!len)
		return strdup("profile");
	return strndup(base, len);
}

struct profile *profile_parse(const char *buf, size_t len, const char *fname,
			      char *err, size_t errlen)
{
	struct pp c = { .buf = buf, .len = len, .err = err, .errlen = errlen };
	struct profile *p;

	c.fname = fname ? fname : "<profile>";
	if (err && errlen)
		err[0] = '\0';
	if (!buf && len)
		len = 0;
	if (len > PF_MAX_FILE) {
		if (err && errlen)
			snprintf(err, errlen, "%s: expected a profile of at most %zu bytes, found %zu",
				 c.fname, PF_MAX_FILE, len);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(c.fname))) {
		free(p);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", c.fname);
		return NULL;
	}
	p->default_action = PF_DENY;
	p->internet_enabled = 1;
	p->tls_handshake_s = PF_TLS_HANDSHAKE_S;
	p->request_head_s = PF_REQUEST_HEAD_S;
	p->idle_s = PF_IDLE_S;
	if (!yaml_parser_initialize(&c.yp)) {
		profile_free(p);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", c.fname);
		return NULL;
	}
	yaml_parser_set_input_string(&c.yp, (const unsigned char *)(buf ? buf : ""), len);
	if (pp_document(&c, p)) {
		if (err && errlen && !err[0])
			snprintf(err, errlen, "%s: invalid profile", c.fname);
		goto fail;
	}
	if (!p->name && !(p->name = file_stem(c.fname))) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", c.fname);
		goto fail;
	}
	if (p->nrules)
		qsort(p->rules, p->nrules, sizeof(*p->rules), rule_cmp);
	if (c.have_ev)
		yaml_event_delete(&c.ev);
	yaml_parser_delete(&c.yp);
	return p;
fail:
	if (c.have_ev)
		yaml_event_delete(&c.ev);
	yaml_parser_delete(&c.yp);
	profile_free(p);
	return NULL;
}

/**
 * profile_may_inject() - May a profile file with auth_strategy be trusted?
 * @path:   File name, for messages
 * @st:     fstat() of the descriptor it was read from
 * @err:    Filled on refusal
 * @errlen: Size of @err
 *
 * Whoever can edit a profile that injects credentials can point a secret at
 * a host of their choosing, so such a file must be writable by its owner
 * only, and the owner must be us or root.
 *
 * Return: 1 if fine, 0 if refused
 */
static int profile_may_inject(const char *path, const struct stat *st,
			      char *err, size_t errlen)
{
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		if (err && errlen)
			snprintf(err, errlen,
				 "%s: is writable by other users; a profile that injects credentials must not be (chmod go-w '%s')",
				 path, path);
		return 0;
	}
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		if (err && errlen)
			snprintf(err, errlen,
				 "%s: is owned by another user (uid %u); a profile that injects credentials must be owned by you or root",
				 path, (unsigned)st->st_uid);
		return 0;
	}
	return 1;
}

struct profile *profile_load(const char *path, char *err, size_t errlen)
{
	struct profile *p = NULL;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	if (err && errlen)
		err[0] = '\0';
	if (!path) {
		if (err && errlen)
			snprintf(err, errlen, "no profile file given");
		return NULL;
	}
	/* O_NONBLOCK: opening a FIFO must not hang us before fstat() says no. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: expected a regular file", path);
		goto out;
	}
	if (st.st_size > (off_t)PF_MAX_FILE) {
		if (err && errlen)
			snprintf(err, errlen, "%s: expected a profile of at most %zu bytes, found %lld",
				 path, PF_MAX_FILE, (long long)st.st_size);
		goto out;
	}
	buf = malloc(PF_MAX_FILE + 1);
	if (!buf) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* Read to EOF, not to st_size: the file may change under us. */
	while (got <= PF_MAX_FILE) {
		n = read(fd, buf + got, PF_MAX_FILE + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (err && errlen)
				snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	if (got > PF_MAX_FILE) {
		if (err && errlen)
			snprintf(err, errlen, "%s: expected a profile of at most %zu bytes",
				 path, PF_MAX_FILE);
		goto out;
	}
	p = profile_parse(buf, got, path, err, errlen);
	if (p && pf_profile_has_auth(p) && !profile_may_inject(path, &st, err, errlen)) {
		profile_free(p);
		p = NULL;
	}
out:
	free(buf);
	close(fd);
	return p;
}

int pf_rule_needs_http(const struct pf_rule *r)
{
	return r->npath_patterns || r->nmethods || r->rate_limit_rpm ||
	       r->auth;
}

int pf_rule_intercepts(const struct pf_rule *r)
{
	if (r->tls_mode == PF_TLS_INTERCEPT)
		return 1;
	return r->tls_mode == PF_TLS_AUTO && pf_rule_needs_http(r);
}

int pf_profile_has_auth(const struct profile *p)
{
	size_t i;

	for (i = 0; p && i < p->nrules; i++)
		if (p->rules[i].auth)
			return 1;
	return 0;
}

const char *pf_auth_header(const struct pf_auth *a)
{
	return a->mode == PF_AUTH_HEADER ? a->header_name : "Authorization";
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void pg_free(struct pf_postgres *pg)
{
	if (!pg)
		return;
	free(pg->user);
	free(pg->password_ref);
	strv_free(pg->databases, pg->ndatabases);
	free(pg);
}

int pf_rule_client_tls(const struct pf_rule *r)
{
	return r->pg && r->pg->client_tls && r->action == PF_ALLOW;
}

int pf_profile_has_postgres(const struct profile *p)
{
	size_t i;

	for (i = 0; p && i < p->nrules; i++)
		if (p->rules[i].pg && p->rules[i].action == PF_ALLOW)
			return 1;
	return 0;
}

static void auth_free(struct pf_auth *a)
{
	if (!a)
		return;
	free(a->secret_ref);
	free(a->header_name);
	free(a->username);
	free(a->format);
	free(a->placeholder_env);
	free(a);
}

void profile_free(struct profile *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nrules; i++) {
		struct pf_rule *r = &p->rules[i];

		free(r->name);
		free(r->host_pattern);
		free(r->cidrs);
		free(r->ports);
		strv_free(r->path_patterns, r->npath_patterns);
		strv_free(r->methods, r->nmethods);
		free(r->route_host);
		free(r->tls_verify_name);
		auth_free(r->auth);
		pg_free(r->pg);
	}
	free(p->rules);
	free(p->name);
	free(p->description);
	free(p->path);
	free(p);
}
