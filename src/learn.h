/* SPDX-License-Identifier: MIT */
/*
 * learn.h - what `islo-net learn` saw a sandbox use, and the profile that
 * allows exactly that (docs/PROFILES.md, "Learning a profile").
 *
 * The gateway runs the profile in audit mode (policy.h: every refusal
 * audited); each refusal it lets through is noted here (learn_conn(),
 * learn_request()) and, once CMD is done, written as rules
 * (learn_write()).  Everything noted is sandbox-controlled: names and
 * paths are checked against what a profile may hold and quoted, so the
 * sandbox can name no key, rule or comment of the profile written.  The
 * table is bounded (LEARN_MAX_*): past a bound what is left out is
 * counted and the profile says so.
 */
#ifndef ISLO_LEARN_H
#define ISLO_LEARN_H

#include <stddef.h>
#include <stdint.h>

#define LEARN_MAX_DESTS  512   /* distinct (protocol, host, port) */
#define LEARN_MAX_PATHS  256   /* distinct (method, path) per destination */
#define LEARN_MAX_REQS   8192  /* distinct (method, path) in all */
#define LEARN_MAX_HOST   253
#define LEARN_MAX_PATH   512   /* longer paths are learned as a prefix */
#define LEARN_PREFIX_MIN 3     /* paths under one directory that become a prefix pattern */

struct learn;

/* learn_new() - An empty table.  Return: it, or NULL (out of memory). */
struct learn *learn_new(void);
/* learn_free() - Free it; NULL is fine. */
void learn_free(struct learn *l);

/**
 * learn_conn() - A connection or UDP flow the profile would have refused
 * @l:        Table (NULL: nothing)
 * @proto:    PF_TCP or PF_UDP
 * @host:     The name the sandbox resolved through our DNS, or the
 *            address it used, as text (never a synthetic address)
 * @port:     Destination port
 * @priv:     The upstream is a private, loopback or link-local address
 * @priority: The priority of the rule that refused it, or -1 (the default)
 */
void learn_conn(struct learn *l, int proto, const char *host, uint16_t port,
		int priv, int priority);

/**
 * learn_request() - An HTTP request the profile would have refused
 * @l:        Table (NULL: nothing)
 * @host:     The connection's name (the Host checked against it)
 * @port:     Its port
 * @priv:     Its upstream is a private address
 * @method:   Request method (a token)
 * @path:     Request path, normal form, no query
 * @priority: As for learn_conn()
 */
void learn_request(struct learn *l, const char *host, uint16_t port, int priv,
		   const char *method, const char *path, int priority);

/**
 * struct learn_from - The profile learning started from (--from), or none
 * @text:   Its YAML, as read (NULL: none; the profile written is new)
 * @len:    Its length
 */
struct learn_from {
	const char *text;
	size_t len;
};

/**
 * learn_write() - The profile that allows what was noted
 * @l:     Table
 * @from:  The profile to add to, or NULL/empty for a new one
 * @out:   Filled with the YAML (malloc'ed, NUL-terminated; free() it)
 * @err:   Why not, on error
 * @errlen: Size of @err
 *
 * A new profile is `default_action: deny` with one rule per host and
 * protocol (two when some of its ports carried HTTP that was read and
 * others did not), commented with what was seen and how often.  With
 * @from, its text is kept byte for byte and the learned rules are added
 * at the end of its block list `rules:` (or as a new `rules:`).
 *
 * Return: 0, or -1 (@err says why)
 */
int learn_write(const struct learn *l, const struct learn_from *from,
		char **out, char *err, size_t errlen);

/**
 * learn_yaml_quote() - A string as a double-quoted YAML scalar
 * @s:   Bytes (printable ASCII expected; anything else is escaped)
 * @out: Filled, NUL-terminated
 * @cap: Its size
 * Return: 0, or -1 if it does not fit
 */
int learn_yaml_quote(const char *s, char *out, size_t cap);

/* learn_host_ok() - Can @host be a rule's host_pattern as written (a DNS
 * name of letters, digits, '-', '_' and dots, or an IP literal)? */
int learn_host_ok(const char *host);
/* learn_path_ok() - Can @path be learned (printable ASCII, no space,
 * '*', '?', '#', no "." or ".." segment, starts with '/')? */
int learn_path_ok(const char *path);

#endif
