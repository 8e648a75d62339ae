// SPDX-License-Identifier: MIT
/*
 * profile_yaml.c - the profile parser's event reader (see profile_int.h).
 *
 * What every key of a profile is read with: the next libyaml event with the
 * YAML features we refuse refused (anchors, aliases, tags), the messages that
 * name FILE:LINE:COLUMN, typed scalars (strings, integers, booleans, one
 * word of a few), and the two shapes of container the schema uses: a
 * mapping of known keys, each at most once, and one item or a list of them.
 */
#include "profile_int.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/**
 * pp_fail() - Record an error at a libyaml mark
 * @c:   Parser context
 * @m:   Where (0-based line and column, as libyaml gives them)
 * @fmt: Message: what was expected, and what was found if useful
 * Return: -1, so callers can `return pp_fail(...)`
 */
int pp_fail(struct pp *c, yaml_mark_t m, const char *fmt, ...)
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

/* The anchor and the tag of a node's first event (NULL where it has none). */
static void ev_props(const yaml_event_t *e, const char **anchor,
		     const char **tag)
{
	const yaml_char_t *a = NULL, *t = NULL;

	switch (e->type) {
	case YAML_SCALAR_EVENT:
		a = e->data.scalar.anchor;
		t = e->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		a = e->data.sequence_start.anchor;
		t = e->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		a = e->data.mapping_start.anchor;
		t = e->data.mapping_start.tag;
		break;
	default:
		break;
	}
	*anchor = (const char *)a;
	*tag = (const char *)t;
}

/**
 * pp_next() - Advance to the next event, refusing YAML features we reject
 * @c: Parser context
 * Return: 0, or -1 with the error recorded
 */
int pp_next(struct pp *c)
{
	const char *anchor, *tag;

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
	ev_props(&c->ev, &anchor, &tag);
	if (anchor)
		return pp_fail(c, c->ev.start_mark,
			       "expected a value, found a YAML anchor (anchors are not supported)");
	if (tag)
		return pp_fail(c, c->ev.start_mark,
			       "expected a value, found a YAML tag (tags are not supported)");
	return 0;
}

/**
 * pp_found() - Describe the current event for a message ("a mapping", "'x'")
 * @c:    Parser context (current event is a node start or scalar)
 * @out:  Buffer
 * @size: Its size
 * Return: @out
 */
const char *pp_found(const struct pp *c, char *out, size_t size)
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


/**
 * pp_string() - Take the current event as a string value
 * @c:         Parser context
 * @what:      What the key expects, for messages
 * @multiline: Allow newlines and tabs (descriptions)
 * @out:       Malloc'd, NUL-terminated copy
 * Return: 0, or -1 on error (wrong type, empty, too long, control bytes)
 */
int pp_string(struct pp *c, const char *what, int multiline, char **out)
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
 * pp_int() - Take the current event as a plain integer in [@min, @max]
 * @c:    Parser context
 * @what: Key name, for messages
 * @min:  Smallest value accepted
 * @max:  Largest value accepted
 * @out:  The value
 * Return: 0, or -1 on error
 */
int pp_int(struct pp *c, const char *what, unsigned long min,
	   unsigned long max, int *out)
{
	char found_[128];
	unsigned long v;

	if (c->ev.type != YAML_SCALAR_EVENT || !sc_plain(c) ||
	    pv_uint(sc_val(c), sc_len(c), max, &v) || v < min)
		return pp_fail(c, c->ev.start_mark,
			       "expected '%s' to be an integer from %lu to %lu, found %s",
			       what, min, max, FOUND(c));
	*out = (int)v;
	return 0;
}

/* pp_bool() - Plain true/false only: "yes", "on" and "true" in quotes are refused. */
int pp_bool(struct pp *c, const char *what, int *out)
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

/* pp_why() - Record @why (a validator's answer) at the current event, if set. */
int pp_why(struct pp *c, const char *why)
{
	return why ? pp_fail(c, c->ev.start_mark, "%s", why) : 0;
}

/**
 * pp_choice() - Take the current event as one of a few words
 * @c:    Parser context
 * @what: Key name, for messages
 * @w:    The words and their values
 * @n:    How many
 * @out:  The value of the word found
 * Return: 0, or -1 on error ("expected 'tls' to be a, b or c, found ...")
 */
int pp_choice(struct pp *c, const char *what, const struct pp_word *w,
	      size_t n, int *out)
{
	char found_[128], list[128];
	size_t i, o = 0;

	for (i = 0; c->ev.type == YAML_SCALAR_EVENT && i < n; i++)
		if (sc_is(c, w[i].word)) {
			*out = w[i].value;
			return 0;
		}
	list[0] = '\0';
	for (i = 0; i < n; i++) {
		int k = snprintf(list + o, sizeof(list) - o, "%s%s",
				 !i ? "" : i + 1 < n ? ", " : " or ", w[i].word);

		if (k < 0 || (size_t)k >= sizeof(list) - o)
			break;
		o += (size_t)k;
	}
	return pp_fail(c, c->ev.start_mark, "expected '%s' to be %s, found %s",
		       what, list, FOUND(c));
}

/* pp_action() - `allow` or `deny`. */
int pp_action(struct pp *c, const char *what, enum pf_action *out)
{
	static const struct pp_word words[] = {
		{ "allow", PF_ALLOW }, { "deny", PF_DENY },
	};
	int v = PF_DENY;

	if (pp_choice(c, what, words, 2, &v))
		return -1;
	*out = (enum pf_action)v;
	return 0;
}

/**
 * pp_mapping() - Read a mapping of known keys (current event: its start)
 * @c:     Parser context
 * @k:     The keys it may hold
 * @seen:  Line (1-based) each key was first seen at, 0 if not yet
 * @kmark: Where each key was, or NULL
 * @value: Called for each key with its index, the value's first event
 *	   current; returns 0 or -1 with the error recorded
 * @arg:   For @value
 * Return: 0 at the end of the mapping, or -1 on error
 */
int pp_mapping(struct pp *c, const struct pp_keys *k, size_t *seen,
	       yaml_mark_t *kmark, int (*value)(struct pp *c, int key, void *arg),
	       void *arg)
{
	char found_[128];
	int key;

	if (k->what && c->ev.type != YAML_MAPPING_START_EVENT)
		return pp_fail(c, c->ev.start_mark, "expected %s, found %s",
			       k->what, FOUND(c));
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		key = pp_key(c, k->keys, k->n, k->where, seen, k->rule);
		if (key < 0)
			return -1;
		if (kmark)
			kmark[key] = c->ev.start_mark;
		if (pp_next(c) || value(c, key, arg))
			return -1;
	}
}

/**
 * pp_field() - Read a key's value straight into a field
 * @c:   Parser context (current event: the value)
 * @f:   The field
 * @obj: The object it is in
 * Return: 0, or -1 on error
 */
int pp_field(struct pp *c, const struct pp_field *f, void *obj)
{
	void *at = (char *)obj + f->off;

	switch (f->kind) {
	case PP_STRING:
	case PP_TEXT:
		return pp_string(c, f->what, f->kind == PP_TEXT, at);
	case PP_INT:
		return pp_int(c, f->what, f->min, f->max, at);
	case PP_BOOL:
		return pp_bool(c, f->what, at);
	case PP_ACTION:
		return pp_action(c, f->what, at);
	case PP_WORD:
		return pp_choice(c, f->what, f->words, f->nwords, at);
	default:
		return -1;
	}
}

struct obj_ctx {
	const struct pp_object *o;
	void *obj;
};

/* One key of a pp_object() mapping: a field, or the object's own code. */
static int object_value(struct pp *c, int key, void *arg)
{
	const struct obj_ctx *x = arg;
	const struct pp_field *f = &x->o->fields[key];

	if (f->kind != PP_OTHER)
		return pp_field(c, f, x->obj);
	return x->o->value(c, key, x->obj);
}

/**
 * pp_object() - Read a mapping into a new object (current event: its start)
 * @c:    Parser context
 * @o:    What the mapping holds and how the object is made and checked
 * @out:  Set to the object (calloc'd); the caller frees it, also on error
 * @line: Line of the key the mapping is the value of
 * Return: 0, or -1 on error
 */
int pp_object(struct pp *c, const struct pp_object *o, void **out, int line)
{
	yaml_mark_t start = c->ev.start_mark, kmark[PP_OBJECT_KEYS] = { { 0 } };
	size_t seen[PP_OBJECT_KEYS] = { 0 };
	struct obj_ctx x = { o, NULL };

	if (o->keys.n > PP_OBJECT_KEYS)
		return pp_fail(c, start, "too many keys");
	x.obj = *out = calloc(1, o->size);
	if (!x.obj)
		return pp_fail(c, start, "out of memory");
	o->init(x.obj, line);
	if (pp_mapping(c, &o->keys, seen, kmark, object_value, &x))
		return -1;
	return o->check(c, x.obj, start, seen, kmark);
}

/**
 * pp_list() - Read one item or a non-empty list of items
 * @c:         Parser context
 * @scalar_ok: A scalar is taken as a list of one
 * @what:      What the key expects ("expected %s, found ...")
 * @none:      The message for an empty list
 * @one:       Reads the current event as one item and appends it
 * @arg:       For @one
 * @count:     How many items there are (updated by @one)
 * Return: 0, or -1 on error
 */
int pp_list(struct pp *c, int scalar_ok, const char *what, const char *none,
	    int (*one)(struct pp *c, void *arg), void *arg,
	    const size_t *count)
{
	char found_[128];
	yaml_mark_t start = c->ev.start_mark;

	if (scalar_ok && c->ev.type == YAML_SCALAR_EVENT)
		return one(c, arg);
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return pp_fail(c, start, "expected %s, found %s", what,
			       FOUND(c));
	for (;;) {
		if (pp_next(c))
			return -1;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (one(c, arg))
			return -1;
	}
	if (!*count)
		return pp_fail(c, start, "%s", none);
	return 0;
}

/**
 * pp_grow() - Make room for one more entry in a key's list
 * @c:    Parser context (the current event is the entry, for messages)
 * @arr:  The list (may be NULL)
 * @n:    Its entries
 * @size: The size of one
 * @key:  The key, for messages
 * Return: the list, grown (the caller stores it), or NULL with the error
 *	   recorded and @arr untouched
 */
void *pp_grow(struct pp *c, void *arr, size_t n, size_t size, const char *key)
{
	void *grown;

	if (n >= PF_MAX_LIST) {
		pp_fail(c, c->ev.start_mark,
			"expected at most %d entries in '%s'", PF_MAX_LIST, key);
		return NULL;
	}
	grown = realloc(arr, (n + 1) * size);
	if (!grown)
		pp_fail(c, c->ev.start_mark, "out of memory");
	return grown;
}

/**
 * pp_tail_check() - What follows a YAML document's root node
 * @ev:   The event after the root node (@step 0), or the one after that (1)
 * @step: 0 or 1
 *
 * A file we read holds one document: DOCUMENT-END, then STREAM-END.  The
 * islo.yaml reader (resolve.c) asks the same.
 *
 * Return: NULL if @ev is what belongs there, else the message
 */
const char *pp_tail_check(const yaml_event_t *ev, int step)
{
	if (!step)
		return ev->type == YAML_DOCUMENT_END_EVENT ? NULL :
		       "expected the end of the document";
	return ev->type == YAML_STREAM_END_EVENT ? NULL :
	       "expected a single YAML document, found another one";
}
