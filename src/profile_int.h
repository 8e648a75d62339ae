/* SPDX-License-Identifier: MIT */
/*
 * profile_int.h - what the profile parser's files share (not an API).
 *
 * The parser is four files, each using only the ones below it:
 *
 *   profile.c        the profile: the document, top-level keys, load, free
 *   profile_rule.c   one rule: its keys, auth_strategy, postgres, checks
 *   profile_yaml.c   the event reader: marks, messages, scalars, mappings
 *   profile_check.c  values as text: host patterns, CIDRs, ports, routes
 *
 * profile_check.c knows no YAML; the others share struct pp, one per
 * profile_parse() call.
 */
#ifndef ISLO_PROFILE_INT_H
#define ISLO_PROFILE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

#include "profile.h"

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

/* The current scalar's bytes, and whether it is a plain (unquoted) one. */
static inline const char *sc_val(const struct pp *c)
{
	return (const char *)c->ev.data.scalar.value;
}

static inline size_t sc_len(const struct pp *c)
{
	return c->ev.data.scalar.length;
}

static inline int sc_plain(const struct pp *c)
{
	return c->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static inline int sc_is(const struct pp *c, const char *s)
{
	return sc_len(c) == strlen(s) && !memcmp(sc_val(c), s, sc_len(c));
}

/* A plain empty, ~ or null scalar: YAML's null. */
static inline int sc_null(const struct pp *c)
{
	return sc_plain(c) && (sc_len(c) == 0 || sc_is(c, "~") ||
			       sc_is(c, "null") || sc_is(c, "Null") ||
			       sc_is(c, "NULL"));
}

/* profile_yaml.c: the event reader */

int pp_fail(struct pp *c, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int pp_why(struct pp *c, const char *why);
int pp_next(struct pp *c);
const char *pp_found(const struct pp *c, char *out, size_t size);

/* For messages: "found %s" of the current event (needs char found_[128]). */
#define FOUND(c) pp_found((c), found_, sizeof(found_))

int pp_string(struct pp *c, const char *what, int multiline, char **out);
int pp_int(struct pp *c, const char *what, unsigned long min,
	   unsigned long max, int *out);
int pp_bool(struct pp *c, const char *what, int *out);

/* A word a key may take, and the value it stands for. */
struct pp_word {
	const char *word;
	int value;
};

int pp_choice(struct pp *c, const char *what, const struct pp_word *w,
	      size_t n, int *out);
int pp_action(struct pp *c, const char *what, enum pf_action *out);

/* How the value of a key that is one scalar in one field is read. */
enum pp_kind {
	PP_OTHER,       /* not a field: read by the mapping's own code */
	PP_STRING,      /* pp_string(), one line */
	PP_TEXT,        /* pp_string(), newlines and tabs allowed */
	PP_INT,         /* pp_int() from @min to @max */
	PP_BOOL,        /* pp_bool() */
	PP_ACTION,      /* pp_action() */
	PP_WORD,        /* pp_choice() among @words */
};

/* A key read straight into a field of the object a mapping fills. */
struct pp_field {
	enum pp_kind kind;
	size_t off;                     /* offsetof() the field */
	const char *what;               /* pp_string()'s @what, else the key */
	unsigned long min, max;         /* PP_INT */
	const struct pp_word *words;    /* PP_WORD */
	size_t nwords;
};

int pp_field(struct pp *c, const struct pp_field *f, void *obj);

/* Entries of a table of fields indexed by key: a field of struct @T */
#define PP_SCALAR(T, k, kind, field, what)                                 \
	[k] = { kind, offsetof(T, field), what, 0, 0, NULL, 0 }
#define PP_INT_FIELD(T, k, field, what, min, max)                          \
	[k] = { PP_INT, offsetof(T, field), what, min, max, NULL, 0 }
#define PP_WORD_FIELD(T, k, field, what, words)                            \
	[k] = { PP_WORD, offsetof(T, field), what, 0, 0, words,             \
		sizeof(words) / sizeof(*(words)) }

/* The keys of one kind of mapping. */
struct pp_keys {
	const char *const *keys;
	int n;
	const char *where;      /* "a rule", for messages */
	const char *what;       /* "expected %s, found ..." when not a mapping;
				 * NULL: the caller has checked */
	int rule;               /* also refuse the keys of later features */
};

int pp_mapping(struct pp *c, const struct pp_keys *k, size_t *seen,
	       yaml_mark_t *kmark, int (*value)(struct pp *c, int key, void *arg),
	       void *arg);

/* The most keys a mapping read by pp_object() may have. */
#define PP_OBJECT_KEYS 16

/* A mapping read into an object of its own (auth_strategy:, postgres:). */
struct pp_object {
	struct pp_keys keys;            /* at most PP_OBJECT_KEYS */
	const struct pp_field *fields;  /* by key; PP_OTHER ones go to @value */
	size_t size;                    /* the object's */
	void (*init)(void *obj, int line);
	int (*value)(struct pp *c, int key, void *obj);
	int (*check)(struct pp *c, void *obj, yaml_mark_t start,
		     const size_t *seen, const yaml_mark_t *kmark);
};

int pp_object(struct pp *c, const struct pp_object *o, void **out, int line);
int pp_list(struct pp *c, int scalar_ok, const char *what, const char *none,
	    int (*one)(struct pp *c, void *arg), void *arg,
	    const size_t *count);
void *pp_grow(struct pp *c, void *arr, size_t n, size_t size,
	      const char *key);
const char *pp_tail_check(const yaml_event_t *ev, int step);

/* profile_rule.c: one rule */

int pp_rule(struct pp *c, const struct profile *p, struct pf_rule *r);

/* profile_check.c: values as text */

int pv_uint(const char *s, size_t len, unsigned long max, unsigned long *out);
int pv_public_suffix(const char *name);
const char *pv_host_pattern(char *s, int *family, uint8_t *addr);
const char *pv_cidr(const char *s, struct pf_cidr *c);
int pv_port_item(const char *s, size_t len, struct pf_portrange *r);
int pv_env_name_ok(const char *s, size_t len);
int pv_cred_name_ok(const char *s, size_t len);
int pv_http_token_ok(const char *s, size_t len);
size_t pv_count_substr(const char *s, const char *needle);
const char *pv_path_pattern(const char *s);
const char *pv_dns_name(char *s);
const char *pv_route(const char *s, struct pf_rule *r);
int pv_header_reserved(const char *name);

#endif
