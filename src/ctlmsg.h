/* SPDX-License-Identifier: MIT */
/*
 * ctlmsg.h - the control protocol's messages: one flat JSON object per
 * line (docs/DAEMON.md).  Requests are parsed here, bounded and strict;
 * answers are built with the writer below.
 */
#ifndef ISLO_CTLMSG_H
#define ISLO_CTLMSG_H

#include <stddef.h>
#include <stdint.h>

#define CTLMSG_MAX_FIELDS 16
#define CTLMSG_MAX_LINE   8192

enum ctl_type { CTL_STR = 1, CTL_INT, CTL_BOOL, CTL_NULL };

struct ctl_field {
	const char *key;        /* points into ctlmsg.buf */
	enum ctl_type type;
	const char *str;        /* CTL_STR: unescaped, NUL-terminated */
	long long num;          /* CTL_INT, CTL_BOOL (0/1) */
};

struct ctlmsg {
	struct ctl_field f[CTLMSG_MAX_FIELDS];
	int n;
	char buf[CTLMSG_MAX_LINE * 2];  /* unescaped keys and strings */
};

/**
 * ctlmsg_parse() - Parse one request line
 * @line:   The bytes of the line, without the newline (need not be
 *          NUL-terminated)
 * @len:    Their length (at most CTLMSG_MAX_LINE)
 * @m:      Filled on success
 * @err:    Why not, on failure
 * @errlen: Its size
 *
 * Accepts one JSON object whose values are strings, integers, true, false
 * or null; no nesting, no duplicate keys, no NUL in a string.
 * Return: 0, or -1
 */
int ctlmsg_parse(const char *line, size_t len, struct ctlmsg *m, char *err,
		 size_t errlen);

/**
 * ctlmsg_answer_str() - One string field of an answer line of any length
 * @line: The answer, without the newline
 * @len:  Its length
 * @key:  Field name
 * Return: the unescaped value (malloc'd), or NULL
 */
char *ctlmsg_answer_str(const char *line, size_t len, const char *key);

/* The string value of @key, or NULL (absent, or not a string). */
const char *ctlmsg_str(const struct ctlmsg *m, const char *key);
/* The integer (or boolean) value of @key, or @def. */
long long ctlmsg_int(const struct ctlmsg *m, const char *key, long long def);
int ctlmsg_has(const struct ctlmsg *m, const char *key);

/* A growing answer: {"ok":true,...}.  Allocation failures are sticky. */
struct ctlbuf {
	char *p;
	size_t len, cap;
	int oom;
};

void cb_raw(struct ctlbuf *b, const char *s, size_t n);
#define cb_lit(b, s) cb_raw((b), (s), sizeof(s) - 1)
void cb_printf(struct ctlbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A JSON string, quoted and escaped. */
void cb_jstr(struct ctlbuf *b, const char *s);
void cb_free(struct ctlbuf *b);

#endif
