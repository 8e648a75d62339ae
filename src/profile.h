/* SPDX-License-Identifier: MIT */
/*
 * profile.h - gateway profiles: a strict YAML parser into an immutable,
 * validated struct profile (docs/PROFILES.md).
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

/* `tls:` on a rule.  AUTO: intercept iff the rule needs to see HTTP. */
enum pf_tls { PF_TLS_AUTO = 0, PF_TLS_PASSTHROUGH = 1, PF_TLS_INTERCEPT = 2 };

/* `enforcement:` of a profile and of a rule (ours, issue 18).  AUDIT:
 * what the profile refuses goes through and is logged as a refusal not
 * enforced; what protects the boundary stays refused (docs/PROFILES.md,
 * "Audit mode").  INHERIT (rules only): the profile's. */
enum pf_enforcement { PF_ENF_INHERIT = 0, PF_ENF_ENFORCE = 1, PF_ENF_AUDIT = 2 };

/* `auth_strategy: mode:` */
enum pf_auth_mode {
	PF_AUTH_BEARER = 1, PF_AUTH_BASIC = 2, PF_AUTH_HEADER = 3,
	PF_AUTH_QUERY = 4,      /* `name=<secret>` in the query */
	PF_AUTH_PATH = 5,       /* the placeholder in the path, replaced */
	PF_AUTH_SIGV4 = 6,      /* the request signed: AWS Signature V4 */
	PF_AUTH_NMODES
};

/* Limits: a profile is configuration, not data. */
#define PF_MAX_FILE     ((size_t)1024 * 1024) /* bytes in a profile file */
#define PF_MAX_STRING   1024          /* bytes in one scalar value */
#define PF_MAX_RULES    10000
#define PF_MAX_LIST     1024          /* entries in `ports:` or `cidr:` */
#define PF_MAX_PRIORITY 1000000
#define PF_DEFAULT_PRIORITY 1000
#define PF_MAX_RPM      1000000       /* `rate_limit_rpm:` */
#define PF_MAX_SECRET_TTL 604800      /* `secret_ttl:` seconds: one week */
#define PF_MAX_METHOD   32            /* bytes in one HTTP method token */
#define PF_MAX_SECRET_NAME 255        /* bytes in env:NAME / cred:NAME */

struct pf_cidr {
	int family;          /* AF_INET/AF_INET6 */
	uint8_t addr[16];    /* as written: host bits may be set */
	int prefix;          /* 0-32 or 0-128 */
};

struct pf_portrange {
	uint16_t lo, hi;     /* inclusive, 1 <= lo <= hi <= 65535 */
};

/**
 * struct pf_auth - `auth_strategy:` of a rule: a credential the gateway adds
 * @mode:            enum pf_auth_mode
 * @secret_ref:      "env:NAME", "file:/ABS/PATH" or "cred:NAME", as written
 *                   (ours); the value is loaded by secret.c, never stored here;
 *                   for aws_sigv4 the secret access key
 * @header_name:     `name:`, the header for PF_AUTH_HEADER (case as written);
 *                   NULL for the other modes
 * @param_name:      `name:`, the query parameter for PF_AUTH_QUERY, else NULL
 * @username:        `username:` for PF_AUTH_BASIC, else NULL
 * @format:          The header value with "{secret}" where the secret goes,
 *                   exactly once; defaults filled in ("Bearer {secret}" for
 *                   bearer, "{secret}" for header); NULL for basic
 * @placeholder_env: Variable set to the secret's placeholder in the sandbox
 *                   (ours), or NULL
 * @secret_index:    Index into struct secrets, set by secrets_load_profile();
 *                   -1 until then
 * @akid_ref:        aws_sigv4: `access_key_id:` a reference like @secret_ref
 * @token_ref:       aws_sigv4: `session_token:` a reference, or NULL
 * @region:          aws_sigv4: `region:`, NULL: from the request's host name
 * @service:         aws_sigv4: `service:`, NULL: from the request's host name
 * @akid_placeholder_env:  aws_sigv4: variable set to the access key id's
 *                   placeholder in the sandbox, or NULL
 * @token_placeholder_env: aws_sigv4: same for the session token, or NULL
 * @akid_index:      Index of @akid_ref into struct secrets, -1 until bound
 * @token_index:     Index of @token_ref, -1 until bound or if none
 * @line:            Line of the `auth_strategy` key in the file, for messages
 * @secret_env:      `secret_env:` variables of islo-net's environment a
 *                   cmd: secret's program gets besides the clean set
 * @nsecret_env:     How many
 * @secret_ttl:      `secret_ttl:` seconds a cmd: secret's value is used
 *                   before its program is run again (secretfetch.h);
 *                   0: run once, at start-up
 */
struct pf_auth {
	int mode;
	char *secret_ref;
	char *header_name;
	char *param_name;
	char *username;
	char *format;
	char *placeholder_env;
	int secret_index;
	char *akid_ref;
	char *token_ref;
	char *region;
	char *service;
	char *akid_placeholder_env;
	char *token_placeholder_env;
	int akid_index;
	int token_index;
	int line;
	char **secret_env;
	size_t nsecret_env;
	int secret_ttl;
};

/* `postgres: tls:` how the gateway's own connection upstream is protected */
enum pf_pg_tls { PF_PG_VERIFY_FULL = 0, PF_PG_REQUIRE = 1, PF_PG_DISABLE = 2 };

#define PF_PG_PORT     5432          /* default `ports:` of a postgres rule */
#define PF_PG_NAME_MAX 63            /* NAMEDATALEN - 1: user and database names */

/**
 * struct pf_postgres - `postgres:` of a rule: the database gateway (ours)
 * @user:           The role the gateway logs in as upstream; the sandbox
 *                  must ask for this user name
 * @password_ref:   "env:NAME", "file:/PATH" or "cred:NAME" (loaded by
 *                  secret.c, like auth_strategy's secret)
 * @databases:      `database:` a name or a list of names the sandbox may
 *                  ask for; the first is used when it asks for none; "*"
 *                  (alone) lets it ask for any
 * @ndatabases:     How many
 * @any_database:   1 if `database: "*"`
 * @read_only:      `read_only:` default true: the session starts with
 *                  default_transaction_read_only on and the statement
 *                  guard refuses ways out
 * @tls:            enum pf_pg_tls, default PF_PG_VERIFY_FULL
 * @log_statements: `log_statements:` default false: statement text in the
 *                  db_query audit events
 * @client_tls:     `client_tls:` default false: answer the sandbox's
 *                  SSLRequest with TLS, a certificate for the host from
 *                  the islo-net CA (else 'N': plain on the local link)
 * @secret_index:   Index into struct secrets, set by secrets_load_profile()
 * @line:           Line of the `postgres` key, for messages
 * @secret_env:     `secret_env:` as in struct pf_auth, for a cmd: password
 * @nsecret_env:    How many
 * @secret_ttl:     `secret_ttl:` as in struct pf_auth, for a cmd: password
 */
struct pf_postgres {
	char *user;
	char *password_ref;
	char **databases;
	size_t ndatabases;
	int any_database;
	int read_only;
	int tls;
	int log_statements;
	int client_tls;
	int secret_index;
	int line;
	char **secret_env;
	size_t nsecret_env;
	int secret_ttl;
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
	/*
	 * Added: HTTP scoping, routing and credential injection (issue 3).
	 * All optional; a rule without them behaves exactly as before.
	 */
	char **path_patterns; size_t npath_patterns; /* `path_pattern:` a string or list; "/exact" or "/prefix*" */
	char **methods; size_t nmethods;  /* `methods:` upper-case tokens, no duplicates */
	int rate_limit_rpm;    /* `rate_limit_rpm:` 1..PF_MAX_RPM, 0 = none */
	char *route_host;      /* `route:` (ours) host without brackets, lowercased; NULL if absent */
	uint16_t route_port;   /* its port, 1-65535 */
	int route_family;      /* AF_INET/AF_INET6 if route_host is an IP literal, else 0 */
	uint8_t route_addr[16];/* that address */
	int tls_mode;          /* enum pf_tls, default PF_TLS_AUTO */
	char *tls_verify_name; /* `tls_verify_name:` (ours) name upstream TLS is verified against; NULL = the original host */
	int allow_plaintext;   /* `allow_plaintext:` (ours) inject into plain HTTP too; default false */
	struct pf_auth *auth;  /* `auth_strategy:`, NULL if absent */
	struct pf_postgres *pg;/* `postgres:` (ours, issue 6), NULL if absent */
	int enforcement;       /* `enforcement:` (ours) enum pf_enforcement, default PF_ENF_INHERIT */
};

/* `timeouts:` defaults, in seconds (ours) */
#define PF_TLS_HANDSHAKE_S 10         /* the sandbox's TLS handshake, intercepted */
#define PF_REQUEST_HEAD_S  30         /* a request head, first byte to last */
#define PF_IDLE_S          300        /* a keep-alive connection between requests */
#define PF_MAX_TIMEOUT_S   86400

struct profile {
	char *name;            /* `name:`, else the file stem */
	char *description;     /* NULL if absent */
	char *path;            /* the file name given to profile_load/profile_parse */
	enum pf_action default_action; /* default deny */
	int internet_enabled;  /* default true; effective default is allow only if default_action==allow && internet_enabled */
	struct pf_rule *rules; size_t nrules;   /* sorted by (priority, index) */
	/* `timeouts:` (ours), seconds, 1..PF_MAX_TIMEOUT_S: for connections
	 * the HTTP engine reads (intercepted, and plain HTTP to a name) */
	int tls_handshake_s;   /* `tls_handshake:` default PF_TLS_HANDSHAKE_S */
	int request_head_s;    /* `request_head:` default PF_REQUEST_HEAD_S */
	int idle_s;            /* `idle:` default PF_IDLE_S */
	int enforcement;       /* `enforcement:` (ours) PF_ENF_ENFORCE (default) or PF_ENF_AUDIT */
	/* Set by `islo-net learn` only (no key): what its audit mode lets
	 * through besides what the profile refuses. */
	int audit_private;     /* --allow-private: audited connections may reach private addresses */
	int audit_intercept;   /* --intercept: audited TLS connections are intercepted */
};

/**
 * profile_load() - Read and parse a gateway profile file
 * @path:   File to read: must be a regular file of at most PF_MAX_FILE bytes
 * @err:    Filled with "FILE:LINE:COLUMN: message" (or "FILE: message") on error
 * @errlen: Size of @err
 *
 * A profile in which some rule has auth_strategy is refused when the file
 * is writable by group or others, or owned by someone other than the
 * effective user or root: whoever can edit it could redirect the secret.
 *
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

/**
 * pf_rule_needs_http() - Does the rule need to see HTTP requests?
 * @r: Rule
 * Return: 1 if it has path_pattern, methods, rate_limit_rpm or auth_strategy
 */
int pf_rule_needs_http(const struct pf_rule *r);

/**
 * pf_rule_intercepts() - Is TLS for this rule's flows terminated by us?
 * @r: Rule
 * Return: 1 if `tls: intercept`, or `tls` unset and pf_rule_needs_http()
 */
int pf_rule_intercepts(const struct pf_rule *r);

/**
 * pf_profile_has_auth() - Does any rule inject a credential?
 * @p: Profile
 * Return: 1 if some rule has auth_strategy
 */
int pf_profile_has_auth(const struct profile *p);

/**
 * pf_auth_header() - The request header a credential goes in
 * @a: auth_strategy
 * Return: "Authorization" for bearer, basic and aws_sigv4, a->header_name
 *         for header, NULL for query and path (no header)
 */
const char *pf_auth_header(const struct pf_auth *a);

/**
 * pf_auth_uses() - Is entry @index of struct secrets one of @a's?
 * @a:     auth_strategy, or NULL
 * @index: Entry
 * Return: 1 if it is its secret, access key id or session token
 */
int pf_auth_uses(const struct pf_auth *a, int index);

/**
 * pf_rule_client_tls() - Does the database gateway answer TLS for this rule?
 * @r: Rule
 * Return: 1 for an allow rule with `postgres: client_tls: true` (the
 *         sandbox then needs the islo-net CA, as for interception)
 */
int pf_rule_client_tls(const struct pf_rule *r);

/**
 * pf_profile_has_postgres() - Does any allow rule have `postgres:`?
 * @p: Profile
 * Return: 1 if so (the gateway then needs the upstream trust store)
 */
int pf_profile_has_postgres(const struct profile *p);

/* profile_free() - Free a profile and everything it owns; NULL is fine. */
void profile_free(struct profile *p);

#endif
