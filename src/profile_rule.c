// SPDX-License-Identifier: MIT
/*
 * profile_rule.c - one rule of a profile (see profile_int.h).
 *
 * A rule is a mapping read key by key (rule_value()), each value checked as
 * it is read; `auth_strategy:` and `postgres:` are mappings of their own.
 * Once the rule's mapping is complete, the defaults are filled in
 * (rule_defaults(): ports, name) and the checks across keys run
 * (rule_check(): "tls: passthrough" with a key that needs HTTP,
 * auth_strategy without host_pattern, ...), so every combination error
 * still points at the key that cannot stand.  A secret is only ever
 * referenced (env:, file:, cred:), never written inline, and an error about
 * `secret:` never quotes what was written there.
 */
#include "profile_int.h"

#include "secretcmd.h"
#include "sigv4.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	RK_NAME, RK_PRIORITY, RK_HOST, RK_CIDR, RK_PORTS, RK_PROTO, RK_ACTION,
	RK_PRIVATE, RK_PATH, RK_METHODS, RK_RPM, RK_ROUTE, RK_TLS, RK_TLSNAME,
	RK_PLAINTEXT, RK_AUTH, RK_PG, RK_ENFORCE, RK_N
};

static const char *const rule_keys[RK_N] = {
	"name", "priority", "host_pattern", "cidr", "ports", "protocol",
	"action", "allow_private", "path_pattern", "methods", "rate_limit_rpm",
	"route", "tls", "tls_verify_name", "allow_plaintext", "auth_strategy",
	"postgres", "enforcement",
};

enum { PK_USER, PK_PASSWORD, PK_DATABASE, PK_READONLY, PK_TLS, PK_LOGSTMT,
       PK_CLIENTTLS, PK_SECENV, PK_TTL, PK_N };

static const char *const pg_keys[PK_N] = {
	"user", "password", "database", "read_only", "tls", "log_statements",
	"client_tls", "secret_env", "secret_ttl",
};

enum { AK_MODE, AK_SECRET, AK_NAME, AK_USER, AK_FORMAT, AK_PLACEHOLDER,
       AK_AKID, AK_TOKEN, AK_REGION, AK_SERVICE, AK_AKID_PH, AK_TOKEN_PH,
       AK_SECENV, AK_TTL, AK_N };

static const char *const auth_keys[AK_N] = {
	"mode", "secret", "name", "username", "format", "placeholder_env",
	"access_key_id", "session_token", "region", "service",
	"access_key_id_placeholder_env", "session_token_placeholder_env",
	"secret_env", "secret_ttl",
};

#define ARRAY_N(a) (sizeof(a) / sizeof(*(a)))

/* One `ports:` entry of a list. */
static int pp_port_one(struct pp *c, void *arg)
{
	static const char expect[] =
		"a port number from 1 to 65535, a range \"LO-HI\" or \"*\"";
	struct pf_rule *r = arg;
	char found_[128];
	struct pf_portrange pr, *n;

	if (c->ev.type != YAML_SCALAR_EVENT ||
	    pv_port_item(sc_val(c), sc_len(c), &pr))
		return pp_fail(c, c->ev.start_mark, "expected %s, found %s",
			       expect, FOUND(c));
	n = pp_grow(c, r->ports, r->nports, sizeof(*n), "ports");
	if (!n)
		return -1;
	r->ports = n;
	r->ports[r->nports++] = pr;
	return 0;
}

/* pp_ports() - `ports:`: a list of entries, or one entry as a scalar
 * (443, "8000-8100", "*"). */
static int pp_ports(struct pp *c, struct pf_rule *r)
{
	struct pf_portrange pr;

	if (c->ev.type == YAML_SCALAR_EVENT &&
	    !pv_port_item(sc_val(c), sc_len(c), &pr))
		return pp_port_one(c, r);
	return pp_list(c, 0,
		       "'ports' to be a port, a list such as [80, 443, \"8000-8100\"] or \"*\"",
		       "expected at least one entry in 'ports' (or \"*\" for all)",
		       pp_port_one, r, &r->nports);
}

/* What reading a rule needs besides the rule. */
struct rule_ctx {
	const struct profile *p;        /* earlier rules, for checks */
	struct pf_rule *r;
	char *cidr_names;               /* the default name: CIDRs as written */
	yaml_mark_t kmark[RK_N];        /* where each key was */
	size_t seen[RK_N];              /* its line, 0 if absent */
};

/* The default rule name: the CIDRs as written, comma-separated. */
static void cidr_name_add(char **names, const char *s)
{
	size_t ol = *names ? strlen(*names) : 0, sl = strlen(s);
	char *joined;

	if (ol + sl + 2 > PF_MAX_STRING)
		return;
	joined = realloc(*names, ol + sl + 2);
	if (!joined)
		return;
	if (ol)
		joined[ol++] = ',';
	memcpy(joined + ol, s, sl + 1);
	*names = joined;
}

/* One `cidr:` string: parse it, append it, remember its text for the name. */
static int pp_cidr_one(struct pp *c, void *arg)
{
	struct rule_ctx *x = arg;
	struct pf_rule *r = x->r;
	struct pf_cidr cd, *n;
	char *s;

	if (pp_string(c, "a CIDR such as 10.0.0.0/8 or 2001:db8::/32", 0, &s))
		return -1;
	n = pp_why(c, pv_cidr(s, &cd)) ? NULL :
	    pp_grow(c, r->cidrs, r->ncidrs, sizeof(*n), "cidr");
	if (n) {
		r->cidrs = n;
		r->cidrs[r->ncidrs++] = cd;
		cidr_name_add(&x->cidr_names, s);
	}
	free(s);
	return n ? 0 : -1;
}

/* One `path_pattern:` string: validate and append. */
static int pp_path_one(struct pp *c, void *arg)
{
	struct pf_rule *r = ((struct rule_ctx *)arg)->r;
	char *s, **n;

	if (pp_string(c, "'path_pattern' to be a path such as /repos/*", 0, &s))
		return -1;
	n = pp_why(c, pv_path_pattern(s)) ? NULL :
	    pp_grow(c, r->path_patterns, r->npath_patterns, sizeof(*n),
		    "path_pattern");
	if (!n) {
		free(s);
		return -1;
	}
	r->path_patterns = n;
	r->path_patterns[r->npath_patterns++] = s;
	return 0;
}

/* One `methods:` entry: an upper-case token, once. */
static int pp_method_one(struct pp *c, void *arg)
{
	struct pf_rule *r = ((struct rule_ctx *)arg)->r;
	char found_[128];
	size_t i, len;
	char **n;

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
	n = pp_grow(c, r->methods, r->nmethods, sizeof(*n), "methods");
	if (!n)
		return -1;
	r->methods = n;
	if (!(r->methods[r->nmethods] = strndup(sc_val(c), len)))
		return pp_fail(c, c->ev.start_mark, "out of memory");
	r->nmethods++;
	return 0;
}

/* cmd:PROGRAM ARGS: split now (secretcmd.h's rule), so that an unclear
 * command stops the load with its line. */
static int pp_secret_cmd(struct pp *c, const char *v, size_t len)
{
	char *cmd = strndup(v + 4, len - 4), **argv, why[200];
	int n;

	if (!cmd)
		return pp_fail(c, c->ev.start_mark, "out of memory");
	n = memchr(v, '\0', len) ? -1 :
	    secret_cmd_split(cmd, &argv, why, sizeof(why));
	if (memchr(v, '\0', len))
		snprintf(why, sizeof(why), "cmd: a NUL byte");
	free(cmd);
	if (n < 0)
		return pp_fail(c, c->ev.start_mark,
			       "expected cmd:PROGRAM ARGS (words split at spaces, \"double quotes\" around a word with spaces): %s",
			       why);
	secret_cmd_free(argv);
	return 0;
}

/* Where one `secret_env:` list goes. */
struct secenv {
	char ***v;
	size_t *n;
};

/* One name of a `secret_env:` list. */
static int pp_secenv_one(struct pp *c, void *arg)
{
	struct secenv *e = arg;
	char found_[128], **n, *name;

	if (*e->n >= PF_MAX_LIST)
		return pp_fail(c, c->ev.start_mark,
			       "expected at most %d entries in 'secret_env'",
			       PF_MAX_LIST);
	if (c->ev.type != YAML_SCALAR_EVENT || !pv_env_name_ok(sc_val(c), sc_len(c)))
		return pp_fail(c, c->ev.start_mark,
			       "expected 'secret_env' to list environment variable names (letters, digits and '_', not starting with a digit), found %s",
			       FOUND(c));
	n = pp_grow(c, *e->v, *e->n, sizeof(*n), "secret_env");
	if (!n)
		return -1;
	*e->v = n;
	name = strndup(sc_val(c), sc_len(c));
	if (!name)
		return pp_fail(c, c->ev.start_mark, "out of memory");
	n[(*e->n)++] = name;
	return 0;
}

/* `secret_env:` a name or a list of names. */
static int pp_secenv(struct pp *c, char ***v, size_t *n)
{
	struct secenv e = { v, n };

	return pp_list(c, 1, "'secret_env' to be a variable name or a list of them",
		       "expected at least one name in 'secret_env'",
		       pp_secenv_one, &e, n);
}

/* Does any of @refs name a cmd: secret? */
static int any_cmd(const char *a, const char *b, const char *d)
{
	return (a && !strncmp(a, "cmd:", 4)) || (b && !strncmp(b, "cmd:", 4)) ||
	       (d && !strncmp(d, "cmd:", 4));
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
		 "expected '%s' to be env:NAME, file:/PATH, cred:NAME or cmd:PROGRAM ARGS", key);
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
		if (!pv_env_name_ok(v + 4, len - 4))
			return pp_fail(c, c->ev.start_mark,
				       "expected env:NAME with NAME an environment variable name (letters, digits and '_', not starting with a digit)");
	} else if (len >= 5 && !memcmp(v, "cred:", 5)) {
		if (!pv_cred_name_ok(v + 5, len - 5))
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
	} else if (len >= 4 && !memcmp(v, "cmd:", 4)) {
		if (pp_secret_cmd(c, v, len))
			return -1;
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

/* `name:` of an auth_strategy: a header a credential may go in, or a
 * query parameter (checked as one in auth_check(): the mode may come
 * after the name). */
static int pp_auth_header(struct pp *c, struct pf_auth *a)
{
	char found_[128];

	if (pp_string(c, "'name' to be an HTTP header name", 0, &a->header_name))
		return -1;
	if (!pv_http_token_ok(a->header_name, strlen(a->header_name)))
		return pp_fail(c, c->ev.start_mark,
			       "expected 'name' to be an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~), found %s",
			       FOUND(c));
	if (a->mode == PF_AUTH_HEADER && pv_header_reserved(a->header_name))
		return pp_fail(c, c->ev.start_mark,
			       "expected 'name' to be a header a credential goes in: %s frames or routes the request",
			       FOUND(c));
	return 0;
}

/* An environment variable name for a placeholder_env-like key. */
static int pp_env_key(struct pp *c, const char *key, char **out)
{
	char found_[128], what[96];

	snprintf(what, sizeof(what), "'%s' to be an environment variable name", key);
	if (pp_string(c, what, 0, out))
		return -1;
	if (!pv_env_name_ok(*out, strlen(*out)))
		return pp_fail(c, c->ev.start_mark,
			       "expected %s (letters, digits and '_', not starting with a digit), found %s",
			       what, FOUND(c));
	return 0;
}

/* `region:` or `service:` of aws_sigv4: lower-case letters, digits, '-'. */
static int pp_aws_name(struct pp *c, const char *key, const char *example,
		       char **out)
{
	char found_[128], what[96];

	snprintf(what, sizeof(what), "'%s' to be an AWS %s name such as %s", key,
		 key, example);
	if (pp_string(c, what, 0, out))
		return -1;
	if (!sigv4_name_ok(*out))
		return pp_fail(c, c->ev.start_mark,
			       "expected %s (a-z, 0-9 and '-'), found %s", what,
			       FOUND(c));
	return 0;
}

/* One key of an auth_strategy mapping. */
static int auth_value(struct pp *c, int k, void *obj)
{
	struct pf_auth *a = obj;

	switch (k) {
	case AK_SECRET:
		return pp_secret_ref(c, "secret", &a->secret_ref);
	case AK_NAME:
		return pp_auth_header(c, a);
	case AK_USER:
		if (pp_string(c, "'username' to be a string", 0, &a->username))
			return -1;
		if (strchr(a->username, ':'))
			return pp_fail(c, c->ev.start_mark,
				       "expected 'username' without ':' (HTTP basic authentication cannot carry it)");
		return 0;
	case AK_FORMAT:
		if (pp_string(c, "'format' to be a string containing {secret}",
			      0, &a->format))
			return -1;
		if (pv_count_substr(a->format, "{secret}") != 1)
			return pp_fail(c, c->ev.start_mark,
				       "expected 'format' to contain {secret} exactly once, as in \"token {secret}\"");
		return 0;
	case AK_AKID:
		return pp_secret_ref(c, "access_key_id", &a->akid_ref);
	case AK_TOKEN:
		return pp_secret_ref(c, "session_token", &a->token_ref);
	case AK_REGION:
		return pp_aws_name(c, "region", "us-east-1", &a->region);
	case AK_SERVICE:
		return pp_aws_name(c, "service", "s3", &a->service);
	case AK_AKID_PH:
		return pp_env_key(c, auth_keys[k], &a->akid_placeholder_env);
	case AK_TOKEN_PH:
		return pp_env_key(c, auth_keys[k], &a->token_placeholder_env);
	case AK_SECENV:
		return pp_secenv(c, &a->secret_env, &a->nsecret_env);
	default: /* AK_PLACEHOLDER */
		return pp_env_key(c, auth_keys[k], &a->placeholder_env);
	}
}

/* A query parameter name the gateway sets: RFC 3986 unreserved bytes, so
 * it is written as it is and found however the sandbox encodes it. */
static int param_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("-._~", s[i])))
			return 0;
	return 1;
}

#define MB(m) (1u << (m))
#define M_ALL (MB(PF_AUTH_NMODES) - 2)

/* The keys that belong to some modes: needed in @need, refused outside
 * @allow. */
static const struct {
	int key;
	unsigned need, allow;
	const char *missing, *misplaced;
} auth_only[] = {
	{ AK_NAME, MB(PF_AUTH_HEADER), MB(PF_AUTH_HEADER) | MB(PF_AUTH_QUERY),
	  "expected 'name' (the header to set) in auth_strategy with mode: header",
	  "'name' is only for mode: header or query (bearer, basic and aws_sigv4 use the Authorization header; path has no name)" },
	{ AK_NAME, MB(PF_AUTH_QUERY), M_ALL,
	  "expected 'name' (the query parameter to set) in auth_strategy with mode: query",
	  NULL },
	{ AK_USER, MB(PF_AUTH_BASIC), MB(PF_AUTH_BASIC),
	  "expected 'username' in auth_strategy with mode: basic",
	  "'username' is only for mode: basic" },
	{ AK_PLACEHOLDER, MB(PF_AUTH_PATH), M_ALL,
	  "expected 'placeholder_env' in auth_strategy with mode: path: the sandbox writes the placeholder in its request paths where the secret goes",
	  NULL },
	{ AK_AKID, MB(PF_AUTH_SIGV4), MB(PF_AUTH_SIGV4),
	  "expected 'access_key_id' (env:NAME, file:/PATH or cred:NAME) in auth_strategy with mode: aws_sigv4",
	  "'access_key_id' is only for mode: aws_sigv4" },
	{ AK_TOKEN, 0, MB(PF_AUTH_SIGV4), NULL,
	  "'session_token' is only for mode: aws_sigv4" },
	{ AK_REGION, 0, MB(PF_AUTH_SIGV4), NULL,
	  "'region' is only for mode: aws_sigv4" },
	{ AK_SERVICE, 0, MB(PF_AUTH_SIGV4), NULL,
	  "'service' is only for mode: aws_sigv4" },
	{ AK_AKID_PH, 0, MB(PF_AUTH_SIGV4), NULL,
	  "'access_key_id_placeholder_env' is only for mode: aws_sigv4" },
	{ AK_TOKEN_PH, 0, MB(PF_AUTH_SIGV4), NULL,
	  "'session_token_placeholder_env' is only for mode: aws_sigv4" },
};

/* The name a query-mode rule sets (it was read as a header name). */
static int auth_check_name(struct pp *c, struct pf_auth *a,
			   const yaml_mark_t *kmark)
{
	if (a->mode == PF_AUTH_HEADER && pv_header_reserved(a->header_name))
		return pp_fail(c, kmark[AK_NAME],
			       "expected 'name' to be a header a credential goes in: '%s' frames or routes the request",
			       a->header_name);
	if (a->mode != PF_AUTH_QUERY)
		return 0;
	if (!param_name_ok(a->header_name))
		return pp_fail(c, kmark[AK_NAME],
			       "expected 'name' with mode: query to be a query parameter name of letters, digits, '-', '.', '_' and '~' (at most 128)");
	a->param_name = a->header_name;
	a->header_name = NULL;
	return 0;
}

/* The checks across an auth_strategy's keys, and the default format. */
static int auth_check(struct pp *c, void *obj, yaml_mark_t start,
		      const size_t *seen, const yaml_mark_t *kmark)
{
	struct pf_auth *a = obj;
	unsigned m = MB(a->mode);
	size_t i;

	if (!seen[AK_MODE])
		return pp_fail(c, start,
			       "expected 'mode' (bearer, basic, header, query, path or aws_sigv4) in auth_strategy");
	if (!seen[AK_SECRET])
		return pp_fail(c, start,
			       "expected 'secret' (env:NAME, file:/PATH or cred:NAME) in auth_strategy");
	if (seen[AK_SECENV] && !any_cmd(a->secret_ref, a->akid_ref, a->token_ref))
		return pp_fail(c, kmark[AK_SECENV],
			       "'secret_env' is only for a cmd: secret (the variables its program gets)");
	if (seen[AK_TTL] && !any_cmd(a->secret_ref, a->akid_ref, a->token_ref))
		return pp_fail(c, kmark[AK_TTL],
			       "'secret_ttl' is only for a cmd: secret (how long its program's output is used before it is run again); a file: secret is re-read when its file changes");
	if (a->mode == PF_AUTH_BASIC && a->format)
		return pp_fail(c, kmark[AK_FORMAT],
			       "'format' is not allowed with mode: basic (the header is always \"Basic base64(username:secret)\")");
	if (a->format && a->mode != PF_AUTH_BEARER && a->mode != PF_AUTH_HEADER)
		return pp_fail(c, kmark[AK_FORMAT],
			       "'format' is only for mode: bearer or header (the value of a header)");
	for (i = 0; i < ARRAY_N(auth_only); i++) {
		if ((auth_only[i].need & m) && !seen[auth_only[i].key])
			return pp_fail(c, start, "%s", auth_only[i].missing);
		if (!(auth_only[i].allow & m) && seen[auth_only[i].key])
			return pp_fail(c, kmark[auth_only[i].key], "%s",
				       auth_only[i].misplaced);
	}
	if (a->token_placeholder_env && !a->token_ref)
		return pp_fail(c, kmark[AK_TOKEN_PH],
			       "'session_token_placeholder_env' needs 'session_token'");
	if (a->header_name && auth_check_name(c, a, kmark))
		return -1;
	if (!a->format && (a->mode == PF_AUTH_BEARER || a->mode == PF_AUTH_HEADER) &&
	    !(a->format = strdup(a->mode == PF_AUTH_BEARER ? "Bearer {secret}" :
				 "{secret}")))
		return pp_fail(c, start, "out of memory");
	return 0;
}

static void auth_init(void *obj, int line)
{
	struct pf_auth *a = obj;

	a->line = line;
	a->secret_index = -1;
	a->akid_index = -1;
	a->token_index = -1;
}

static const struct pp_word auth_modes[] = {
	{ "bearer", PF_AUTH_BEARER }, { "basic", PF_AUTH_BASIC },
	{ "header", PF_AUTH_HEADER }, { "query", PF_AUTH_QUERY },
	{ "path", PF_AUTH_PATH }, { "aws_sigv4", PF_AUTH_SIGV4 },
};

static const struct pp_field auth_fields[AK_N] = {
	PP_WORD_FIELD(struct pf_auth, AK_MODE, mode, "mode", auth_modes),
	PP_INT_FIELD(struct pf_auth, AK_TTL, secret_ttl, "secret_ttl", 1,
		     PF_MAX_SECRET_TTL),
};

/* `auth_strategy:` a mapping of its own. */
static const struct pp_object auth_object = {
	{ auth_keys, AK_N, "auth_strategy",
	  "'auth_strategy' to be a mapping with mode and secret", 0 },
	auth_fields, sizeof(struct pf_auth), auth_init, auth_value, auth_check,
};

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

static const char pg_db_what[] =
	"'database' to be a database name, a list of names, or \"*\"";

/* One `database:` name; "*" for any. */
static int pp_pg_db_one(struct pp *c, void *arg)
{
	struct pf_postgres *pg = arg;
	char found_[128];
	char **n, *name;
	size_t i;

	if (pg->ndatabases >= PF_MAX_LIST)
		return pp_fail(c, c->ev.start_mark,
			       "expected at most %d entries in 'database'",
			       PF_MAX_LIST);
	if (pp_pg_name(c, pg_db_what, &name))
		return -1;
	for (i = 0; i < pg->ndatabases; i++)
		if (!strcmp(pg->databases[i], name)) {
			free(name);
			return pp_fail(c, c->ev.start_mark,
				       "expected each database once in 'database': duplicate %s",
				       FOUND(c));
		}
	n = pp_grow(c, pg->databases, pg->ndatabases, sizeof(*n), "database");
	if (!n) {
		free(name);
		return -1;
	}
	pg->databases = n;
	pg->databases[pg->ndatabases++] = name;
	if (!strcmp(name, "*"))
		pg->any_database = 1;
	return 0;
}

/* `database:` a name, or a list of names; "*" alone for any. */
static int pp_pg_databases(struct pp *c, struct pf_postgres *pg)
{
	yaml_mark_t start = c->ev.start_mark;

	if (pp_list(c, 1, pg_db_what, "expected at least one name in 'database'",
		    pp_pg_db_one, pg, &pg->ndatabases))
		return -1;
	if (pg->any_database && pg->ndatabases > 1)
		return pp_fail(c, start,
			       "expected \"*\" alone in 'database': it already allows every database");
	return 0;
}

/* One key of a postgres mapping that is not a field. */
static int pg_value(struct pp *c, int k, void *obj)
{
	struct pf_postgres *pg = obj;

	switch (k) {
	case PK_USER:
		return pp_pg_name(c, "'user' to be a PostgreSQL role name",
				  &pg->user);
	case PK_PASSWORD:
		return pp_secret_ref(c, "password", &pg->password_ref);
	case PK_SECENV:
		return pp_secenv(c, &pg->secret_env, &pg->nsecret_env);
	default: /* PK_DATABASE */
		return pp_pg_databases(c, pg);
	}
}

static void pg_init(void *obj, int line)
{
	struct pf_postgres *pg = obj;

	pg->line = line;
	pg->read_only = 1;
	pg->tls = PF_PG_VERIFY_FULL;
	pg->secret_index = -1;
}

/* What a postgres mapping cannot do without. */
static int pg_check(struct pp *c, void *obj, yaml_mark_t start,
		    const size_t *seen, const yaml_mark_t *kmark)
{
	struct pf_postgres *pg = obj;

	if (seen[PK_SECENV] && !any_cmd(pg->password_ref, NULL, NULL))
		return pp_fail(c, kmark[PK_SECENV],
			       "'secret_env' is only for a cmd: password (the variables its program gets)");
	if (seen[PK_TTL] && !any_cmd(pg->password_ref, NULL, NULL))
		return pp_fail(c, kmark[PK_TTL],
			       "'secret_ttl' is only for a cmd: password (how long its program's output is used before it is run again)");
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

static const struct pp_word pg_tls_words[] = {
	{ "verify-full", PF_PG_VERIFY_FULL }, { "require", PF_PG_REQUIRE },
	{ "disable", PF_PG_DISABLE },
};

static const struct pp_field pg_fields[PK_N] = {
	PP_SCALAR(struct pf_postgres, PK_READONLY, PP_BOOL, read_only,
		  "read_only"),
	PP_WORD_FIELD(struct pf_postgres, PK_TLS, tls, "tls", pg_tls_words),
	PP_SCALAR(struct pf_postgres, PK_LOGSTMT, PP_BOOL, log_statements,
		  "log_statements"),
	PP_SCALAR(struct pf_postgres, PK_CLIENTTLS, PP_BOOL, client_tls,
		  "client_tls"),
	PP_INT_FIELD(struct pf_postgres, PK_TTL, secret_ttl, "secret_ttl", 1,
		     PF_MAX_SECRET_TTL),
};

/* `postgres:` a mapping of its own. */
static const struct pp_object pg_object = {
	{ pg_keys, PK_N, "postgres",
	  "'postgres' to be a mapping with user, password and database", 0 },
	pg_fields, sizeof(struct pf_postgres), pg_init, pg_value, pg_check,
};

/* The (variable, reference) pairs an auth_strategy puts in the sandbox. */
static size_t auth_envs(const struct pf_auth *a, const char **env,
			const char **ref)
{
	size_t n = 0;

	if (a->placeholder_env) {
		env[n] = a->placeholder_env;
		ref[n++] = a->secret_ref;
	}
	if (a->akid_placeholder_env) {
		env[n] = a->akid_placeholder_env;
		ref[n++] = a->akid_ref;
	}
	if (a->token_placeholder_env) {
		env[n] = a->token_placeholder_env;
		ref[n++] = a->token_ref;
	}
	return n;
}

/**
 * placeholder_conflict() - Check a rule's placeholder variables
 * @p:   Profile; the rules before @r are complete
 * @r:   Rule just parsed, with auth
 * @var: Output: the variable in conflict
 * Return: the conflicting rule (@r itself if two of its own keys name one
 *         variable for two secrets), or NULL
 *
 * One variable can hold one placeholder: two rules may name the same
 * variable only if they use the same secret (they then share it).
 */
static const struct pf_rule *placeholder_conflict(const struct profile *p,
						   const struct pf_rule *r,
						   const char **var)
{
	const char *env[3], *ref[3], *oenv[3], *oref[3];
	size_t n = auth_envs(r->auth, env, ref), on, i, j, k;

	for (j = 0; j < n; j++)
		for (k = 0; k < j; k++)
			if (!strcmp(env[j], env[k]) && strcmp(ref[j], ref[k])) {
				*var = env[j];
				return r;
			}
	for (i = 0; i < p->nrules && &p->rules[i] != r; i++) {
		if (!p->rules[i].auth)
			continue;
		on = auth_envs(p->rules[i].auth, oenv, oref);
		for (j = 0; j < n; j++)
			for (k = 0; k < on; k++)
				if (!strcmp(env[j], oenv[k]) && strcmp(ref[j], oref[k])) {
					*var = env[j];
					return &p->rules[i];
				}
	}
	return NULL;
}

/* An auth_strategy against its rule: aws_sigv4 without region or service
 * must be able to read them from the host name; placeholder variables. */
static int auth_rule_check(struct pp *c, const struct rule_ctx *x)
{
	const struct pf_rule *r = x->r, *o;
	const struct pf_auth *a = r->auth;
	const char *h = r->host_pattern, *var = NULL;
	size_t hl = h ? strlen(h) : 0;

	if (a->mode == PF_AUTH_SIGV4 && (!a->region || !a->service) &&
	    !(hl > 14 && !strcmp(h + hl - 14, ".amazonaws.com")) &&
	    !(hl > 17 && !strcmp(h + hl - 17, ".amazonaws.com.cn")))
		return pp_fail(c, x->kmark[RK_AUTH],
			       "'auth_strategy' with mode: aws_sigv4 needs 'region' and 'service' for host_pattern '%s': they are read only from AWS endpoint names (*.amazonaws.com)",
			       h);
	if ((o = placeholder_conflict(x->p, r, &var)))
		return pp_fail(c, x->kmark[RK_AUTH],
			       "placeholder_env '%s' is already used by rule '%s' (line %d) with a different secret",
			       var, o->name, o->line);
	return 0;
}

/**
 * rule_check() - Checks across keys, once a rule's mapping is read
 * @c: Parser context
 * @x: The rule, the earlier ones, and where each key was
 * Return: 0, or -1 on error
 */
static int rule_check(struct pp *c, const struct rule_ctx *x)
{
	static const int http_keys[] = { RK_PATH, RK_METHODS, RK_RPM, RK_AUTH };
	static const int allow_only[] = { RK_AUTH, RK_ROUTE, RK_RPM, RK_TLSNAME,
					  RK_PG };
	static const int not_pg[] = { RK_PATH, RK_METHODS, RK_RPM, RK_TLS,
				      RK_PLAINTEXT, RK_AUTH };
	const struct pf_rule *r = x->r;
	const yaml_mark_t *kmark = x->kmark;
	const size_t *seen = x->seen;
	size_t i;

	if (r->tls_mode == PF_TLS_PASSTHROUGH)
		for (i = 0; i < ARRAY_N(http_keys); i++)
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
		for (i = 0; i < ARRAY_N(allow_only); i++)
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
		for (i = 0; i < ARRAY_N(not_pg); i++)
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
	return r->auth ? auth_rule_check(c, x) : 0;
}


/* `host_pattern:` a host name, *.domain (not over a public suffix) or an IP. */
static int pp_host(struct pp *c, struct pf_rule *r)
{
	if (pp_string(c, "'host_pattern' to be a host name, *.domain or an IP address",
		      0, &r->host_pattern) ||
	    pp_why(c, pv_host_pattern(r->host_pattern, &r->host_family,
				      r->host_addr)))
		return -1;
	if (r->host_pattern[0] == '*' && pv_public_suffix(r->host_pattern + 2))
		return pp_fail(c, c->ev.start_mark,
			       "expected a wildcard under a domain, not over the public suffix '%s': "
			       "'%s' would match every site registered under it (name the domains: *.example.%s)",
			       r->host_pattern + 2, r->host_pattern,
			       r->host_pattern + 2);
	return 0;
}

/* `route:` HOST:PORT or [IPV6]:PORT. */
static int pp_route(struct pp *c, struct pf_rule *r)
{
	const char *why;
	char *s;

	if (pp_string(c, "'route' to be HOST:PORT or [IPV6]:PORT", 0, &s))
		return -1;
	why = pv_route(s, r);
	free(s);
	return pp_why(c, why);
}

static const struct pp_word proto_words[] = {
	{ "tcp", PF_TCP }, { "udp", PF_UDP },
};

static const struct pp_word tls_words[] = {
	{ "passthrough", PF_TLS_PASSTHROUGH }, { "intercept", PF_TLS_INTERCEPT },
};

static const struct pp_word rule_enforcement_words[] = {
	{ "enforce", PF_ENF_ENFORCE }, { "audit", PF_ENF_AUDIT },
};

/* The keys of a rule that are one scalar in one field. */
static const struct pp_field rule_fields[RK_N] = {
	PP_SCALAR(struct pf_rule, RK_NAME, PP_STRING, name, "'name' to be a string"),
	PP_INT_FIELD(struct pf_rule, RK_PRIORITY, priority, "priority", 0,
		     PF_MAX_PRIORITY),
	PP_WORD_FIELD(struct pf_rule, RK_PROTO, protocol, "protocol", proto_words),
	PP_SCALAR(struct pf_rule, RK_ACTION, PP_ACTION, action, "action"),
	PP_SCALAR(struct pf_rule, RK_PRIVATE, PP_BOOL, allow_private,
		  "allow_private"),
	PP_INT_FIELD(struct pf_rule, RK_RPM, rate_limit_rpm, "rate_limit_rpm", 1,
		     PF_MAX_RPM),
	PP_WORD_FIELD(struct pf_rule, RK_TLS, tls_mode, "tls", tls_words),
	PP_SCALAR(struct pf_rule, RK_PLAINTEXT, PP_BOOL, allow_plaintext,
		  "allow_plaintext"),
	PP_WORD_FIELD(struct pf_rule, RK_ENFORCE, enforcement, "enforcement",
		      rule_enforcement_words),
};

/* The keys of a rule that hold one item or a list of them (pp_list()). */
static const struct {
	int scalar_ok;
	const char *what, *none;
	int (*one)(struct pp *c, void *arg);    /* gets the struct rule_ctx */
	size_t count;           /* offsetof() the item count in the rule */
} rule_lists[RK_N] = {
	[RK_CIDR] = { 1, "'cidr' to be a CIDR string or a list of them",
		      "expected at least one CIDR in 'cidr'", pp_cidr_one,
		      offsetof(struct pf_rule, ncidrs) },
	[RK_PATH] = { 1, "'path_pattern' to be a path or a list of paths",
		      "expected at least one path in 'path_pattern'",
		      pp_path_one, offsetof(struct pf_rule, npath_patterns) },
	[RK_METHODS] = { 0, "'methods' to be a list such as [GET, HEAD]",
			 "expected at least one method in 'methods'",
			 pp_method_one, offsetof(struct pf_rule, nmethods) },
};

/* One key of a rule mapping. */
static int rule_value(struct pp *c, int k, void *arg)
{
	struct rule_ctx *x = arg;
	struct pf_rule *r = x->r;
	int line = (int)x->kmark[k].line + 1, rc;
	void *obj = NULL;

	if (rule_fields[k].kind != PP_OTHER)
		return pp_field(c, &rule_fields[k], r);
	if (rule_lists[k].one)
		return pp_list(c, rule_lists[k].scalar_ok, rule_lists[k].what,
			       rule_lists[k].none, rule_lists[k].one, x,
			       (const size_t *)((const char *)r +
						rule_lists[k].count));
	switch (k) {
	case RK_HOST:
		return pp_host(c, r);
	case RK_PORTS:
		return pp_ports(c, r);
	case RK_ROUTE:
		return pp_route(c, r);
	case RK_TLSNAME:
		if (pp_string(c, "'tls_verify_name' to be a DNS name", 0,
			      &r->tls_verify_name))
			return -1;
		return pp_why(c, pv_dns_name(r->tls_verify_name));
	case RK_AUTH:
		rc = pp_object(c, &auth_object, &obj, line);
		r->auth = obj;
		return rc;
	default: /* RK_PG */
		rc = pp_object(c, &pg_object, &obj, line);
		r->pg = obj;
		return rc;
	}
}

/* The defaults of a complete rule: its ports and its name. */
static int rule_defaults(struct pp *c, struct rule_ctx *x, yaml_mark_t start)
{
	static const struct pf_portrange web[] = {
		{ .lo = 80, .hi = 80 }, { .lo = 443, .hi = 443 },
	};
	static const struct pf_portrange pg[] = {
		{ .lo = PF_PG_PORT, .hi = PF_PG_PORT },
	};
	struct pf_rule *r = x->r;
	size_t n = r->pg ? ARRAY_N(pg) : ARRAY_N(web);
	char *namebuf;

	if (!r->nports) {
		r->ports = calloc(n, sizeof(*r->ports));
		if (!r->ports)
			return pp_fail(c, start, "out of memory");
		memcpy(r->ports, r->pg ? pg : web, n * sizeof(*r->ports));
		r->nports = n;
	}
	if (r->name)
		return 0;
	if (r->host_pattern) {
		r->name = strdup(r->host_pattern);
	} else if (x->cidr_names) {
		r->name = x->cidr_names;
		x->cidr_names = NULL;
	} else if (asprintf(&namebuf, "rule-%d", r->index + 1) >= 0) {
		r->name = namebuf;
	}
	if (!r->name)
		return pp_fail(c, start, "out of memory");
	return 0;
}

/**
 * pp_rule() - Parse one rule mapping (current event: its MAPPING_START)
 * @c: Parser context
 * @p: Profile, for checks against earlier rules
 * @r: Rule to fill; index already set; freed by the caller on error
 * Return: 0, or -1 on error
 */
int pp_rule(struct pp *c, const struct profile *p, struct pf_rule *r)
{
	static const struct pp_keys keys = {
		rule_keys, RK_N, "a rule",
		"a rule (a mapping with host_pattern or cidr, ports, action, ...)",
		1,
	};
	yaml_mark_t start = c->ev.start_mark;
	struct rule_ctx x = { .p = p, .r = r };
	int rc = -1;

	r->priority = PF_DEFAULT_PRIORITY;
	r->protocol = PF_TCP;
	r->action = PF_ALLOW;
	r->line = (int)start.line + 1;
	if (pp_mapping(c, &keys, x.seen, x.kmark, rule_value, &x))
		goto out;
	if (!r->host_pattern && !r->ncidrs) {
		pp_fail(c, start, "expected 'host_pattern' or 'cidr' in a rule");
		goto out;
	}
	if (!rule_defaults(c, &x, start) && !rule_check(c, &x))
		rc = 0;
out:
	free(x.cidr_names);
	return rc;
}
