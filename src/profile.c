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
 * The parser is four files (profile_int.h draws them): this one reads the
 * document and the top-level keys and owns load and free; profile_rule.c
 * reads one rule; profile_yaml.c is the event reader every key is read
 * with; profile_check.c checks values as text, knowing no YAML.
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
#include "profile_int.h"
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

enum { TK_NAME, TK_DESC, TK_DEFAULT, TK_INTERNET, TK_RULES, TK_TIMEOUTS,
       TK_ENFORCE, TK_N };

static const char *const top_keys[TK_N] = {
	"name", "description", "default_action", "internet_enabled", "rules",
	"timeouts", "enforcement",
};

static const struct pp_word enforcement_words[] = {
	{ "enforce", PF_ENF_ENFORCE }, { "audit", PF_ENF_AUDIT },
};

enum { TO_TLS, TO_HEAD, TO_IDLE, TO_N };

static const char *const timeout_keys[TO_N] = {
	"tls_handshake", "request_head", "idle",
};

static const struct pp_field top_fields[TK_N] = {
	PP_SCALAR(struct profile, TK_NAME, PP_STRING, name,
		  "'name' to be a string"),
	PP_SCALAR(struct profile, TK_DESC, PP_TEXT, description,
		  "'description' to be a string"),
	PP_SCALAR(struct profile, TK_DEFAULT, PP_ACTION, default_action,
		  "default_action"),
	PP_SCALAR(struct profile, TK_INTERNET, PP_BOOL, internet_enabled,
		  "internet_enabled"),
	PP_WORD_FIELD(struct profile, TK_ENFORCE, enforcement, "enforcement",
		      enforcement_words),
};

static const struct pp_field timeout_fields[TO_N] = {
	PP_INT_FIELD(struct profile, TO_TLS, tls_handshake_s, "tls_handshake",
		     1, PF_MAX_TIMEOUT_S),
	PP_INT_FIELD(struct profile, TO_HEAD, request_head_s, "request_head",
		     1, PF_MAX_TIMEOUT_S),
	PP_INT_FIELD(struct profile, TO_IDLE, idle_s, "idle", 1,
		     PF_MAX_TIMEOUT_S),
};

/* One key of `timeouts:`: seconds. */
static int timeout_value(struct pp *c, int k, void *arg)
{
	return pp_field(c, &timeout_fields[k], arg);
}

/* One key of the profile mapping. */
static int top_value(struct pp *c, int k, void *arg)
{
	static const struct pp_keys timeouts = {
		timeout_keys, TO_N, "timeouts",
		"'timeouts' to be a mapping (tls_handshake, request_head, idle: seconds)",
		0,
	};
	size_t seen[TO_N] = { 0 };

	if (top_fields[k].kind != PP_OTHER)
		return pp_field(c, &top_fields[k], arg);
	if (k == TK_RULES)
		return pp_rules(c, arg);
	return pp_mapping(c, &timeouts, seen, NULL, timeout_value, arg);
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
		"expected a mapping of profile settings (name, description, default_action, internet_enabled, enforcement, rules, timeouts)";
	static const struct pp_keys top = {
		top_keys, TK_N, "a profile", NULL, 0,
	};
	size_t seen[TK_N] = { 0 };
	char found_[128];
	int step;

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
	if (pp_mapping(c, &top, seen, NULL, top_value, p))
		return -1;
	for (step = 0; step < 2; step++)
		if (pp_next(c) || pp_why(c, pp_tail_check(&c->ev, step)))
			return -1;
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
		fu_seterr(err, errlen, "%s: expected a profile of at most %zu bytes, found %zu",
			  c.fname, PF_MAX_FILE, len);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(c.fname))) {
		free(p);
		fu_seterr(err, errlen, "%s: out of memory", c.fname);
		return NULL;
	}
	p->default_action = PF_DENY;
	p->internet_enabled = 1;
	p->enforcement = PF_ENF_ENFORCE;
	p->tls_handshake_s = PF_TLS_HANDSHAKE_S;
	p->request_head_s = PF_REQUEST_HEAD_S;
	p->idle_s = PF_IDLE_S;
	if (!yaml_parser_initialize(&c.yp)) {
		profile_free(p);
		fu_seterr(err, errlen, "%s: out of memory", c.fname);
		return NULL;
	}
	yaml_parser_set_input_string(&c.yp, (const unsigned char *)(buf ? buf : ""), len);
	if (pp_document(&c, p)) {
		if (err && errlen && !err[0])
			snprintf(err, errlen, "%s: invalid profile", c.fname);
		goto fail;
	}
	if (!p->name && !(p->name = file_stem(c.fname))) {
		fu_seterr(err, errlen, "%s: out of memory", c.fname);
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
		fu_seterr(err, errlen, "no profile file given");
		return NULL;
	}
	/* O_NONBLOCK: opening a FIFO must not hang us before fstat() says no. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		fu_seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st)) {
		fu_seterr(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fu_seterr(err, errlen, "%s: expected a regular file", path);
		goto out;
	}
	if (st.st_size > (off_t)PF_MAX_FILE) {
		fu_seterr(err, errlen, "%s: expected a profile of at most %zu bytes, found %lld",
			  path, PF_MAX_FILE, (long long)st.st_size);
		goto out;
	}
	buf = malloc(PF_MAX_FILE + 1);
	if (!buf) {
		fu_seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = fu_read_fd(fd, buf, PF_MAX_FILE);
	if (n < 0) {
		fu_seterr(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	got = (size_t)n;
	if (got > PF_MAX_FILE) {
		fu_seterr(err, errlen, "%s: expected a profile of at most %zu bytes",
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

int pf_profile_has_auth(const struct profile *p)
{
	size_t i;

	for (i = 0; p && i < p->nrules; i++)
		if (p->rules[i].auth)
			return 1;
	return 0;
}

int pf_auth_uses(const struct pf_auth *a, int index)
{
	return a && index >= 0 && (a->secret_index == index ||
				   a->akid_index == index ||
				   a->token_index == index);
}

const char *pf_auth_header(const struct pf_auth *a)
{
	if (a->mode == PF_AUTH_QUERY || a->mode == PF_AUTH_PATH)
		return NULL;
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
	strv_free(pg->databases, pg->ndatabases);
	strv_free(pg->secret_env, pg->nsecret_env);
	FREE_ALL(pg->user, pg->password_ref, pg);
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
	strv_free(a->secret_env, a->nsecret_env);
	FREE_ALL(a->secret_ref, a->header_name, a->param_name, a->username,
		 a->format, a->placeholder_env, a->akid_ref, a->token_ref,
		 a->region, a->service, a->akid_placeholder_env,
		 a->token_placeholder_env, a);
}

void profile_free(struct profile *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nrules; i++) {
		struct pf_rule *r = &p->rules[i];

		strv_free(r->path_patterns, r->npath_patterns);
		strv_free(r->methods, r->nmethods);
		auth_free(r->auth);
		pg_free(r->pg);
		FREE_ALL(r->name, r->host_pattern, r->cidrs, r->ports,
			 r->route_host, r->tls_verify_name);
	}
	FREE_ALL(p->rules, p->name, p->description, p->path, p);
}
