/* SPDX-License-Identifier: MIT */
/*
 * profile.h - gateway profiles: a strict YAML parser into an immutable,
 * validated struct profile (DESIGN.md 4).
 *
 * Field names follow Islo's own gateway profiles; the ones marked "ours" are
 * islo-net additions.  Every error names FILE:LINE:COLUMN and what was
 * expected; nothing is silently ignored.
 */
#ifndef ISLO_PROFILE_H
#define ISLO_PROFILE_H

#include <stddef.h>
#include <stdint.h>

enum pf_action { PF_DENY = 0, PF_ALLOW = 1 };
enum pf_proto { PF_TCP = 1, PF_UDP = 2 };

/* Limits: a profile is configuration, not data. */
#define PF_MAX_FILE     ((size_t)1024 * 1024) /* bytes in a profile file */
#define PF_MAX_STRING   1024          /* bytes in one scalar value */
#define PF_MAX_RULES    10000
#define PF_MAX_LIST     1024          /* entries in `ports:` or `cidr:` */
#define PF_MAX_PRIORITY 1000000
#define PF_DEFAULT_PRIORITY 1000

struct pf_cidr {
	int family;          /* AF_INET/AF_INET6 */
	uint8_t addr[16];    /* as written: host bits may be set */
	int prefix;          /* 0-32 or 0-128 */
};

struct pf_portrange {
	uint16_t lo, hi;     /* inclusive, 1 <= lo <= hi <= 65535 */
};

struct pf_rule {
	char *name;            /* `name:` (ours); if absent: host_pattern or the cidr text, else "rule-N" (N = 1-based file position) */
	int priority;          /* `priority:`, default 1000; lower first, ties by file order */
	int index;             /* file position, 0-based */
	char *host_pattern;    /* lowercased, trailing dot stripped; exact "a.b", wildcard "*.b", or an IP literal; NULL if absent */
	struct pf_cidr *cidrs; size_t ncidrs;   /* `cidr:` a string or list of strings (ours) */
	struct pf_portrange *ports; size_t nports; /* `ports:`; default 80 and 443 */
	int protocol;          /* `protocol: tcp|udp` (ours) default PF_TCP */
	enum pf_action action; /* `action:` allow|deny, default allow */
	int allow_private;     /* `allow_private: true` (ours) default false */
	int line;              /* line of the rule in the file, for messages */
	/* Added: host_pattern parsed, when it is an IP literal. */
	int host_family;       /* AF_INET/AF_INET6 if host_pattern is an IP literal, else 0 */
	uint8_t host_addr[16]; /* that address */
};

struct profile {
	char *name;            /* `name:`, else the file stem */
	char *description;     /* NULL if absent */
	char *path;            /* the file name given to profile_load/profile_parse */
	enum pf_action default_action; /* default deny */
	int internet_enabled;  /* default true; effective default is allow only if default_action==allow && internet_enabled */
	struct pf_rule *rules; size_t nrules;   /* sorted by (priority, index) */
};

/**
 * profile_load() - Read and parse a gateway profile file
 * @path:   File to read: must be a regular file of at most PF_MAX_FILE bytes
 * @err:    Filled with "FILE:LINE:COLUMN: message" (or "FILE: message") on error
 * @errlen: Size of @err
 * Return: the profile (free with profile_free()), or NULL on error
 */
struct profile *profile_load(const char *path, char *err, size_t errlen);

/**
 * profile_parse() - Parse a gateway profile from memory
 * @buf:    YAML text (need not be NUL-terminated)
 * @len:    Its length
 * @fname:  File name for messages, profile->path and the default name
 * @err:    Filled on error, as for profile_load()
 * @errlen: Size of @err
 * Return: the profile, or NULL on error
 */
struct profile *profile_parse(const char *buf, size_t len, const char *fname,
			      char *err, size_t errlen);

/* profile_free() - Free a profile and everything it owns; NULL is fine. */
void profile_free(struct profile *p);

#endif
