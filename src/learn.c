// SPDX-License-Identifier: MIT
/*
 * learn.c - the table `islo-net learn` fills, and the profile it writes
 * (learn.h).
 *
 * DOC: Theory of Operation
 *
 * The gateway notes each refusal audit mode let through: a destination
 * (protocol, host, port) with how often, whether its upstream was a
 * private address, and for HTTP it read each (method, path).  Names and
 * paths come from the sandbox: only what a profile can hold as written
 * is kept (learn_host_ok(), learn_path_ok()), the rest is counted and
 * said in a comment; and every string is written double-quoted
 * (learn_yaml_quote()), so nothing the sandbox sends can end a scalar,
 * start a comment or a key.  Comments hold numbers and method names
 * (A-Z only) and nothing else the sandbox chose.  The profile written is
 * parsed back before it is given out: if it is not a valid profile, it
 * is a bug here and nothing is written.
 *
 * Rules: one per protocol and host, with the ports seen; when HTTP was
 * read on some ports, those get a rule of their own with the methods seen
 * and the paths, a directory with LEARN_PREFIX_MIN or more distinct paths
 * under it becoming one prefix pattern (the directory and a star), but
 * never the root directory (that would be every path).
 */
#include "learn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <yaml.h>

#include "fileutil.h"
#include "profile.h"

#define LEARN_METHOD_MAX 32

struct lreq {
	char method[LEARN_METHOD_MAX + 1];
	char *path;
	int prefix;             /* truncated: learned as "PATH*" */
	unsigned long n;
};

struct ldest {
	int proto;
	char host[LEARN_MAX_HOST + 1];
	uint16_t port;
	int priv;
	int priority;           /* lowest refusing rule's, or -1 */
	unsigned long conns, reqs;
	int http;               /* a request was seen (kept or not) */
	struct lreq *r;
	size_t nr;
	unsigned long dropped;  /* requests past LEARN_MAX_PATHS */
};

struct learn {
	struct ldest *d;
	size_t n;
	unsigned long dropped;  /* destinations past LEARN_MAX_DESTS */
	size_t nreqs;           /* distinct (method, path) kept, all told */
	unsigned long skipped;  /* names, paths or methods no rule can hold */
};

struct learn *learn_new(void)
{
	return calloc(1, sizeof(struct learn));
}

void learn_free(struct learn *l)
{
	size_t i, j;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		for (j = 0; j < l->d[i].nr; j++)
			free(l->d[i].r[j].path);
		free(l->d[i].r);
	}
	free(l->d);
	free(l);
}

int learn_host_ok(const char *h)
{
	size_t i, len = h ? strlen(h) : 0, lab = 0;
	const char *last;
	uint8_t a[16];
	int digits = 1;

	if (!len || len > LEARN_MAX_HOST)
		return 0;
	/* an address as ipaddr_str() writes it (lower case) */
	if (strchr(h, ':'))
		return strspn(h, "0123456789abcdef:.") == len &&
		       inet_pton(AF_INET6, h, a) == 1;
	if (inet_pton(AF_INET, h, a) == 1)
		return 1;
	/* a name as a host_pattern takes it (pv_host_pattern()), lower case */
	for (i = 0; i < len; i++) {
		char c = h[i];

		if (c == '.') {
			if (!lab)
				return 0;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_') || ++lab > 63)
			return 0;
	}
	if (!lab)
		return 0;
	last = strrchr(h, '.');
	for (last = last ? last + 1 : h; *last; last++)
		if (*last < '0' || *last > '9')
			digits = 0;
	return !digits;
}

int learn_path_ok(const char *p)
{
	size_t i, len = p ? strlen(p) : 0;

	if (!len || p[0] != '/')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c >= 0x7f || c == '*' || c == '?' || c == '#' ||
		    c == '"' || c == '\\')
			return 0;
		if (c == '/' && p[i + 1] == '.' &&
		    (!p[i + 2] || p[i + 2] == '/' ||
		     (p[i + 2] == '.' && (!p[i + 3] || p[i + 3] == '/'))))
			return 0;
	}
	return 1;
}

int learn_yaml_quote(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (cap < 3)
		return -1;
	out[o++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (o + 5 >= cap)
			return -1;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

static struct ldest *dest_get(struct learn *l, int proto, const char *host,
			      uint16_t port)
{
	struct ldest *d;
	size_t i;

	if (!learn_host_ok(host) || !port) {    /* no rule holds port 0 */
		l->skipped++;
		return NULL;
	}
	for (i = 0; i < l->n; i++)
		if (l->d[i].proto == proto && l->d[i].port == port &&
		    !strcmp(l->d[i].host, host))
			return &l->d[i];
	if (l->n == LEARN_MAX_DESTS) {
		l->dropped++;
		return NULL;
	}
	if (!l->n && !(l->d = calloc(LEARN_MAX_DESTS, sizeof(*l->d)))) {
		l->dropped++;
		return NULL;
	}
	d = &l->d[l->n++];
	d->proto = proto;
	snprintf(d->host, sizeof(d->host), "%s", host);
	d->port = port;
	d->priority = -1;
	return d;
}

static void note_priority(struct ldest *d, int priority)
{
	if (priority >= 0 && (d->priority < 0 || priority < d->priority))
		d->priority = priority;
}

void learn_conn(struct learn *l, int proto, const char *host, uint16_t port,
		int priv, int priority)
{
	struct ldest *d = l ? dest_get(l, proto, host, port) : NULL;

	if (!d)
		return;
	d->conns++;
	d->priv |= priv;
	note_priority(d, priority);
}

static int method_ok(const char *m)
{
	size_t i, len = m ? strlen(m) : 0;

	for (i = 0; i < len; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return 0;
	return len && len <= LEARN_METHOD_MAX;
}

void learn_request(struct learn *l, const char *host, uint16_t port, int priv,
		   const char *method, const char *path, int priority)
{
	struct ldest *d = l ? dest_get(l, PF_TCP, host, port) : NULL;
	char cut[LEARN_MAX_PATH + 1];
	struct lreq *q;
	size_t i;
	int prefix = 0;

	if (!d)
		return;
	d->http = 1;
	d->priv |= priv;
	note_priority(d, priority);
	if (path && strlen(path) > LEARN_MAX_PATH) {
		/* a long path is learned as its leading directories */
		memcpy(cut, path, LEARN_MAX_PATH);
		cut[LEARN_MAX_PATH] = '\0';
		if (strrchr(cut, '/'))
			strrchr(cut, '/')[1] = '\0';
		path = cut;
		prefix = 1;
	}
	if (!method || !path || !method_ok(method) || !learn_path_ok(path)) {
		l->skipped++;
		return;
	}
	d->reqs++;
	for (i = 0; i < d->nr; i++)
		if (d->r[i].prefix == prefix && !strcmp(d->r[i].method, method) &&
		    !strcmp(d->r[i].path, path)) {
			d->r[i].n++;
			return;
		}
	if (d->nr == LEARN_MAX_PATHS || l->nreqs == LEARN_MAX_REQS) {
		d->dropped++;
		return;
	}
	if (!d->nr && !(d->r = calloc(LEARN_MAX_PATHS, sizeof(*d->r)))) {
		d->dropped++;
		return;
	}
	q = &d->r[d->nr];
	if (!(q->path = strdup(path))) {
		d->dropped++;
		return;
	}
	snprintf(q->method, sizeof(q->method), "%s", method);
	q->prefix = prefix;
	q->n = 1;
	d->nr++;
	l->nreqs++;
}

/* ------------------------------------------------------------------ */
/* Writing                                                              */

struct sbuf {
	char *b;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sbuf *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (s->oom)
			return;
		va_start(ap, fmt);
		n = vsnprintf(s->b ? s->b + s->len : NULL,
			      s->b ? s->cap - s->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			s->oom = 1;
			return;
		}
		if (s->b && s->len + (size_t)n < s->cap) {
			s->len += (size_t)n;
			return;
		}
		{
			size_t cap = (s->cap ? s->cap * 2 : 4096) + (size_t)n;
			char *nb = realloc(s->b, cap);

			if (!nb) {
				s->oom = 1;
				return;
			}
			s->b = nb;
			s->cap = cap;
		}
	}
}

/* A group of destinations that becomes one rule: same protocol, host,
 * and whether HTTP was read on them. */
struct lgroup {
	const struct learn *l;
	int proto;
	const char *host;
	int http;
};

static int in_group(const struct lgroup *g, const struct ldest *d)
{
	return d->proto == g->proto && !strcmp(d->host, g->host) &&
	       d->http == g->http;
}

/* The distinct patterns of a group's paths, a crowded directory as one
 * "DIR*".  Return: how many (each malloc'ed in @out), at most @max. */
static size_t group_paths(const struct lgroup *g, char **out, size_t max)
{
	const struct learn *l = g->l;
	size_t n = 0, i, j, k, m;

	for (i = 0; i < l->n; i++) {
		const struct ldest *d = &l->d[i];

		for (j = 0; in_group(g, d) && j < d->nr && n < max; j++) {
			const char *p = d->r[j].path, *slash = strrchr(p, '/');
			size_t dir = (size_t)(slash - p) + 1, same = 0;
			char *pat;

			/* distinct paths under the same directory */
			for (k = 0; k < l->n && !d->r[j].prefix; k++)
				for (m = 0; in_group(g, &l->d[k]) && m < l->d[k].nr; m++)
					if (!strncmp(l->d[k].r[m].path, p, dir) &&
					    !strchr(l->d[k].r[m].path + dir, '/'))
						same++;
			/* never "/": a prefix of every path is no scope */
			if (d->r[j].prefix || (same >= LEARN_PREFIX_MIN && dir > 1)) {
				pat = malloc(dir + 2);
				if (pat) {
					memcpy(pat, p, dir);
					memcpy(pat + dir, "*", 2);
				}
			} else {
				pat = strdup(p);
			}
			if (!pat)
				continue;
			for (k = 0; k < n && strcmp(out[k], pat); k++)
				;
			if (k < n)
				free(pat);
			else
				out[n++] = pat;
		}
	}
	return n;
}

/* "# seen: ..." and the rule's list keys: ports, methods, paths. */
static void write_lists(struct sbuf *s, const struct lgroup *g, int ind)
{
	const struct learn *l = g->l;
	char *pats[PF_MAX_LIST], q[2 * LEARN_MAX_PATH + 8];
	const char *meth[LEARN_MAX_PATHS];
	size_t i, j, k, np, nm = 0;
	int first = 1;

	sb_add(s, "%*sports: [", ind, "");
	for (i = 0; i < l->n; i++)
		if (in_group(g, &l->d[i])) {
			sb_add(s, "%s%u", first ? "" : ", ", l->d[i].port);
			first = 0;
		}
	sb_add(s, "]\n");
	if (!g->http)
		return;
	for (i = 0; i < l->n; i++)
		for (j = 0; in_group(g, &l->d[i]) && j < l->d[i].nr; j++) {
			for (k = 0; k < nm && strcmp(meth[k], l->d[i].r[j].method); k++)
				;
			if (k == nm && nm < LEARN_MAX_PATHS)
				meth[nm++] = l->d[i].r[j].method;
		}
	sb_add(s, "%*smethods: [", ind, "");
	for (k = 0; k < nm; k++)
		sb_add(s, "%s%s", k ? ", " : "", meth[k]); /* A-Z only */
	sb_add(s, "]\n%*spath_pattern:\n", ind, "");
	np = group_paths(g, pats, PF_MAX_LIST);
	for (k = 0; k < np; k++) {
		if (learn_yaml_quote(pats[k], q, sizeof(q)) == 0)
			sb_add(s, "%*s  - %s\n", ind, "", q);
		free(pats[k]);
	}
	if (np == PF_MAX_LIST)
		sb_add(s, "%*s# at most %d path patterns in a rule: more paths "
		       "were seen than are listed\n", ind, "", PF_MAX_LIST);
}

/* The comment above a rule: how often, numbers and method names only. */
static void write_seen(struct sbuf *s, const struct lgroup *g, int ind)
{
	const struct learn *l = g->l;
	unsigned long conns = 0, reqs = 0, dropped = 0;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (in_group(g, &l->d[i])) {
			conns += l->d[i].conns;
			reqs += l->d[i].reqs;
			dropped += l->d[i].dropped;
		}
	sb_add(s, "%*s# seen: %lu %s", ind, "", conns,
	       g->proto == PF_UDP ? "UDP flow(s)" : "connection(s)");
	if (g->http)
		sb_add(s, ", %lu HTTP request(s)", reqs);
	sb_add(s, "\n");
	if (dropped)
		sb_add(s, "%*s# %lu more request(s) on paths past the first %d "
		       "(%d in all) were not learned\n", ind, "", dropped,
		       LEARN_MAX_PATHS, LEARN_MAX_REQS);
}

static int rule_valid(const struct lgroup *g);

static int paths_kept(const struct lgroup *g)
{
	size_t i;

	for (i = 0; i < g->l->n; i++)
		if (in_group(g, &g->l->d[i]) && g->l->d[i].nr)
			return 1;
	return 0;
}

/* One rule at indentation @ind; @ind < 0: at 0, unchecked (rule_valid()). */
static int write_rule(struct sbuf *s, const struct lgroup *g, int ind)
{
	const struct learn *l = g->l;
	char q[2 * LEARN_MAX_HOST + 8];
	int priv = 0, prio = -1;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (in_group(g, &l->d[i])) {
			priv |= l->d[i].priv;
			if (l->d[i].priority >= 0 &&
			    (prio < 0 || l->d[i].priority < prio))
				prio = l->d[i].priority;
		}
	if (learn_yaml_quote(g->host, q, sizeof(q)) < 0)
		return 0;
	if (g->http && !paths_kept(g)) {
		/* HTTP was read there, but no path could be kept: a rule
		 * without paths would allow more than was seen */
		if (ind >= 0)
			sb_add(s, "%*s# requests were seen on a host, but none "
			       "could be learned: no rule for it\n", ind, "");
		return 0;
	}
	if (ind >= 0 && !rule_valid(g)) {
		/* never expected (the checks above): the rule is left out,
		 * the rest of the profile is still written */
		sb_add(s, "%*s# a rule that would not be valid was left out\n",
		       ind, "");
		return 0;
	}
	if (ind < 0)
		ind = 0;
	write_seen(s, g, ind);
	if (prio >= 0)
		sb_add(s, "%*s# refused by a rule of priority %d: this one "
		       "comes before it\n", ind, "", prio);
	sb_add(s, "%*s- host_pattern: %s\n", ind, "", q);
	if (g->proto == PF_UDP)
		sb_add(s, "%*s  protocol: udp\n", ind, "");
	write_lists(s, g, ind + 2);
	if (prio >= 0)
		sb_add(s, "%*s  priority: %d\n", ind, "", prio > 0 ? prio - 1 : 0);
	if (priv)
		sb_add(s, "%*s  allow_private: true\n", ind, "");
	return 1;
}

/* Is the rule @g writes valid on its own?  (What the sandbox named must
 * never keep the rest of the profile from being written.) */
static int rule_valid(const struct lgroup *g)
{
	struct sbuf t = { 0 };
	struct profile *p;
	char err[256];
	int ok;

	sb_add(&t, "rules:\n");
	write_rule(&t, g, -1);
	if (t.oom || !t.b) {
		free(t.b);
		return 0;
	}
	p = profile_parse(t.b, t.len, "<rule>", err, sizeof(err));
	ok = p != NULL;
	profile_free(p);
	free(t.b);
	return ok;
}

/* Every rule, at indentation @ind (the column of its '-').  Return: how
 * many were written (the comments beside them are not rules). */
static int write_rules(struct sbuf *s, const struct learn *l, int ind)
{
	size_t i, j;
	int http, n = 0;

	for (i = 0; i < l->n; i++)
		for (http = 1; http >= 0; http--) {
			struct lgroup g = { l, l->d[i].proto, l->d[i].host, http };

			/* the first destination of its group writes it */
			for (j = 0; j < i && !in_group(&g, &l->d[j]); j++)
				;
			if (j == i && in_group(&g, &l->d[i]))
				n += write_rule(s, &g, ind);
		}
	if (l->dropped)
		sb_add(s, "%*s# %lu more destination(s) past the first %d were "
		       "not learned\n", ind, "", l->dropped, LEARN_MAX_DESTS);
	if (l->skipped)
		sb_add(s, "%*s# %lu name(s), path(s) or method(s) no rule can "
		       "hold as written were not learned\n", ind, "", l->skipped);
	return n;
}

/*
 * from_rules() - Where the learned rules go in the profile learning
 * started from: after the last item of its top-level block list `rules:`
 * (at the start of the line the next token is on), with its indentation;
 * @top: the indentation of the top-level keys (for a `rules:` to add).
 * Return: 1 found (@at, @ind set), 0 no `rules:` key, -1 (@err said)
 */
static int from_rules(const struct learn_from *f, size_t *at, int *ind,
		      int *top, char *err, size_t errlen)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	int depth = 0, key = 1, in_rules = 0, rc = 0, done = 0;

	if (!yaml_parser_initialize(&yp)) {
		fu_seterr(err, errlen, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)f->text, f->len);
	while (!done) {
		if (!yaml_parser_parse(&yp, &ev)) {
			fu_seterr(err, errlen, "--from: not YAML");
			rc = -1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (!depth && ev.type == YAML_MAPPING_START_EVENT &&
			    ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE) {
				fu_seterr(err, errlen, "--from: write it as a block mapping (\"key: value\" lines) to add to it");
				rc = -1;
				done = 1;
				break;
			}
			if (depth == 1 && in_rules) {
				if (ev.type != YAML_SEQUENCE_START_EVENT ||
				    ev.data.sequence_start.style ==
					    YAML_FLOW_SEQUENCE_STYLE) {
					fu_seterr(err, errlen, "--from: write its 'rules:' as a block list (\"- host_pattern: ...\" lines) to add to it");
					rc = -1;
					done = 1;
					break;
				}
				*ind = (int)ev.start_mark.column;
			}
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			if (depth == 1 && in_rules) {
				*at = ev.start_mark.index - ev.start_mark.column;
				rc = 1;
				done = 1;
			}
			key = 1;
			break;
		case YAML_SCALAR_EVENT:
			if (depth == 1 && key) {
				*top = (int)ev.start_mark.column;
				in_rules = ev.data.scalar.length == 5 &&
					   !memcmp(ev.data.scalar.value, "rules", 5);
				key = 0;
				break;
			}
			if (depth == 1 && in_rules) {
				fu_seterr(err, errlen, "--from: write its 'rules:' as a block list (\"- host_pattern: ...\" lines) to add to it");
				rc = -1;
				done = 1;
			}
			key = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	return rc;
}

/* The rules under a new `rules:` key at indentation @key ("rules: []"
 * if none). */
static void write_rules_key(struct sbuf *s, const struct learn *l, int key)
{
	struct sbuf t = { 0 };
	int n = write_rules(&t, l, key + 2);

	if (t.oom) {
		s->oom = 1;
	} else if (n) {
		sb_add(s, "%*srules:\n%.*s", key, "", (int)t.len, t.b);
	} else {
		if (!l->n)
			sb_add(s, "# nothing was used\n");
		sb_add(s, "%.*s%*srules: []\n", (int)t.len, t.b ? t.b : "", key,
		       "");
	}
	free(t.b);
}

static void write_new(struct sbuf *s, const struct learn *l)
{
	sb_add(s, "# Learned by `islo-net learn`: what the command used, and "
	       "nothing else.\n# Review it before use: every rule below is "
	       "something the sandbox asked for.\nname: learned\n"
	       "default_action: deny\n");
	write_rules_key(s, l, 0);
}

static int write_from(struct sbuf *s, const struct learn *l,
		      const struct learn_from *f, char *err, size_t errlen)
{
	size_t at = f->len;
	int ind = 2, top = 0, r;
	struct profile *p = profile_parse(f->text, f->len, "--from", err, errlen);

	/* only a valid profile is added to: then an invalid result is ours */
	if (!p)
		return -1;
	profile_free(p);
	r = from_rules(f, &at, &ind, &top, err, errlen);
	if (r < 0)
		return -1;
	if (at > f->len)
		at = f->len;
	sb_add(s, "%.*s", (int)at, f->text);
	if (at && f->text[at - 1] != '\n')
		sb_add(s, "\n");
	if (!l->n)
		sb_add(s, "# `islo-net learn`: the profile refused nothing\n");
	else if (r == 0)
		write_rules_key(s, l, top);
	else
		sb_add(s, "%*s# added by `islo-net learn`: what the profile "
		       "refused\n", ind, "");
	if (l->n && r == 1)
		write_rules(s, l, ind);
	sb_add(s, "%.*s", (int)(f->len - at), f->text + at);
	return 0;
}

int learn_write(const struct learn *l, const struct learn_from *from,
		char **out, char *err, size_t errlen)
{
	static const struct learn none;
	struct sbuf s = { 0 };
	struct profile *p;
	char perr[1024];

	*out = NULL;
	if (!l)
		l = &none;
	if (from && from->text) {
		if (write_from(&s, l, from, err, errlen) < 0) {
			free(s.b);
			return -1;
		}
	} else {
		write_new(&s, l);
	}
	if (s.oom || !s.b) {
		free(s.b);
		fu_seterr(err, errlen, "out of memory");
		return -1;
	}
	/* what is given out must be a profile `check` and `run` take */
	p = profile_parse(s.b, s.len, "<learned>", perr, sizeof(perr));
	if (!p) {
		fu_seterr(err, errlen, "the learned profile is not valid (a bug): %s",
			  perr);
		free(s.b);
		return -1;
	}
	profile_free(p);
	*out = s.b;
	return 0;
}
