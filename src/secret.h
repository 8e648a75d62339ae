/* SPDX-License-Identifier: MIT */
/*
 * secret.h - secrets held by the gateway for credential injection (issue 3).
 *
 * A profile never contains a secret, only a reference to one: env:NAME,
 * file:/PATH or cred:NAME (systemd's $CREDENTIALS_DIRECTORY).  All the
 * secrets a profile needs are loaded at start-up, before the sandbox runs,
 * and a missing or unsafe source stops the start (fail closed).  Each value
 * lives in its own mmap'd region, locked against swap where the limit
 * allows, excluded from core dumps, wiped in forked children
 * (MADV_WIPEONFORK), and is zeroed when dropped.  No
 * message, log line or return value ever carries a secret's bytes.
 *
 * The sandbox gets a placeholder instead ("islo_ph_" + 32 random hex
 * digits) in the variable the rule names (placeholder_env); the gateway
 * swaps it for the real value in requests bound for the rule's hosts.
 */
#ifndef ISLO_SECRET_H
#define ISLO_SECRET_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

struct profile;
struct secrets;

#define SECRET_MAX        ((size_t)64 * 1024) /* bytes in one secret */
#define SECRET_PH_PREFIX  "islo_ph_"
#define SECRET_PH_LEN     40                  /* prefix + 32 hex digits */

/**
 * struct secret - One secret value
 * @ref:         The reference as written in the profile ("env:GITHUB_TOKEN"),
 *               malloc'd; safe to log
 * @val:         The value: start of a private mapping; never log it
 * @len:         Its length in bytes (at least 1)
 * @placeholder: NUL-terminated placeholder, empty until secret_placeholder()
 * @mapsize:     Size of the mapping @val points at
 * @locked:      1 if mlock() succeeded on it
 * @path:        file: and cred: the file's path (malloc'd), for re-reading
 *               when it changes; NULL for the other sources
 * @st_dev, @st_ino, @st_size, @st_mtim_s, @st_mtim_ns: the file as last
 *               read (or last refused), to see that it changed
 * @checked_ms:  CLOCK_MONOTONIC time of the last check, in milliseconds
 * @dir_fd:      The directory the file was read from, as an O_PATH fd
 *               plus one (0: none): a re-read is relative to it, so a
 *               renamed or swapped parent directory is not followed
 * @uid:         The file's owner when first read (a re-read must match)
 * @ttl_ms:      cmd: with `secret_ttl:`: how long a value is used, in
 *               milliseconds; 0: for ever (run once, at start-up)
 * @cmd_env:     cmd: the `secret_env:` names its program gets (malloc'd,
 *               NULL-terminated), for the secret fetcher; NULL: none
 * @fetched_ms:  cmd: CLOCK_MONOTONIC time the value in use was printed
 * @retry_ms:    cmd: no new run before this time (back-off after a failure)
 * @backoff_ms:  cmd: the back-off after the next failure
 * @run:         cmd: enum secret_run, how the last run went
 * @cap:         The longest value its use takes (SECRET_MAX, less for an
 *               aws_sigv4 key): a refreshed value must fit
 * @akid:        1 if it is an aws_sigv4 access key id (no ',', '/', space)
 * @origin:      cmd: loaded after isolation (a profile reload): the same
 *               secret of the start-up set, whose value (kept fresh by
 *               the fetcher) is copied in at use (secret_refresh())
 */
struct secret {
	char *ref;
	uint8_t *val;
	size_t len;
	char placeholder[64];
	size_t mapsize;
	int locked;
	char *path;
	uint64_t st_dev, st_ino, st_size;
	int64_t st_mtim_s, st_mtim_ns;
	uint64_t checked_ms;
	int dir_fd;
	uid_t uid;
	uint64_t ttl_ms;
	char **cmd_env;
	uint64_t fetched_ms, retry_ms, backoff_ms;
	int run;
	size_t cap;
	int akid;
	const struct secret *origin;
};

/* How a cmd: secret's last run (secretfetch.c) went. */
enum secret_run {
	SECRET_RUN_OK = 0,      /* the value in use is from the last run */
	SECRET_RUN_BUSY,        /* asked of the fetcher, no answer yet */
	SECRET_RUN_FAILED,      /* the last run failed; the value is older */
	SECRET_RUN_GONE,        /* the fetcher has exited: no more runs */
};

/**
 * secret_load() - Read a secret from its source
 * @s:      Filled on success; zeroed on failure (nothing to free)
 * @ref:    env:NAME (must be set and non-empty), file:/PATH (a regular file
 *          of at most SECRET_MAX bytes, not readable by others; one trailing
 *          newline, "\n" or "\r\n", is dropped) or cred:NAME (the file NAME
 *          in $CREDENTIALS_DIRECTORY, read as file:)
 * @err:    On error: what is wrong, naming @ref's source but never the value
 * @errlen: Size of @err
 * Return: 0, or -1 on error
 */
int secret_load(struct secret *s, const char *ref, char *err, size_t errlen);

/**
 * secret_refresh() - Re-read a file: or cred: secret if its file changed
 * @s: Secret; other sources are left alone
 *
 * At most once a second per secret: the file is stat()ed and, if its
 * device, inode, size or modification time differ from the last read, read
 * again.  The new value replaces the old one in place (file secrets keep a
 * mapping of SECRET_MAX + 1 bytes, so pointers into it stay valid), the
 * rest of the old value zeroed.  A file that is now missing, empty, too
 * large, readable by others or holds a control character is refused with a
 * warning naming the reference (never the value), and the last good value
 * stays in use.
 */
void secret_refresh(struct secret *s);

/**
 * secrets_refresh_idx() - secret_refresh() the secrets a rule uses
 * @ss:  Secrets of the set in force (may be NULL)
 * @idx: Indexes into @ss; negative or out-of-range ones are skipped
 * @n:   How many
 */
void secrets_refresh_idx(const struct secrets *ss, const int *idx, size_t n);

/**
 * secret_stale() - Why a cmd: secret's value must not be used now
 * @s:   Secret
 * @now: CLOCK_MONOTONIC time in milliseconds
 *
 * A value older than its `secret_ttl:` is not sent: the sandbox gets a 502
 * and the audit log the reason returned here (a fixed text, never the
 * value or the program's output).
 *
 * Return: NULL if it may be used, else the reason (a static string)
 */
const char *secret_stale(const struct secret *s, uint64_t now);

/**
 * secrets_stale_idx() - secret_stale() of the secrets a rule uses
 * @ss, @idx, @n: As secrets_refresh_idx()
 * Return: NULL if all may be used, else the first reason
 */
const char *secrets_stale_idx(const struct secrets *ss, const int *idx,
			      size_t n);

/**
 * secret_replace() - Put a value a cmd: secret's program printed in place
 * @s:   Secret (its mapping has room for SECRET_MAX bytes)
 * @v:   The new value, trimmed
 * @len: Its length
 * @now: When it was printed (CLOCK_MONOTONIC, ms)
 *
 * The value is checked as at load (no control character, at most @s->cap
 * bytes, an access key id's form) and copied over the old one, the rest
 * of the old value zeroed; pointers into the value (the response
 * scrubber's) stay valid.
 *
 * Return: 0, or -1 if the value cannot be used (the old one stays)
 */
int secret_replace(struct secret *s, const uint8_t *v, size_t len,
		   uint64_t now);

/**
 * secret_map() - A mapping for secret bytes: out of core dumps, wiped in
 *                forked children, best-effort locked
 * @size: Bytes wanted
 * @out:  Its size (page-rounded)
 * Return: the mapping, or NULL
 */
uint8_t *secret_map(size_t size, size_t *out);

/* secret_unmap() - Zero and unmap what secret_map() gave. */
void secret_unmap(uint8_t *m, size_t size);

/* secret_now_ms() - CLOCK_MONOTONIC in milliseconds. */
uint64_t secret_now_ms(void);

/**
 * secret_load_env() - secret_load(), and cmd:PROGRAM ARGS too
 * @s, @ref, @err, @errlen: As secret_load(); @ref may also be
 *          cmd:PROGRAM ARGS (secretcmd.h): the program is run now and its
 *          trimmed standard output is the value
 * @names:  For cmd: the variables of our environment the program gets
 *          besides the clean set (NULL-terminated), or NULL
 * Return: 0, or -1 on error
 */
int secret_load_env(struct secret *s, const char *ref, char *const *names,
		    char *err, size_t errlen);

/* secret_free() - Zero (explicit_bzero), unlock and unmap; idempotent. */
void secret_free(struct secret *s);

/**
 * secret_placeholder() - Give @s a fresh random placeholder
 * @s: Secret
 * Return: 0, or -1 if getrandom() failed (placeholder left empty)
 */
int secret_placeholder(struct secret *s);

/**
 * secret_equal() - Compare two byte strings without a timing side channel
 * @a, @alen: First
 * @b, @blen: Second
 *
 * The time taken depends only on the lengths, never on the contents.
 *
 * Return: 1 if equal, else 0
 */
int secret_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/**
 * struct secrets - All secrets a profile needs
 * @s: Array, one entry per distinct secret reference, in order of first use
 *     by the profile's rules (rules in policy order)
 * @n: Its size
 */
struct secrets {
	struct secret *s;
	size_t n;
};

/**
 * secrets_load_profile() - Load every secret the profile's rules reference
 * @ss:     Filled on success; empty on failure
 * @p:      Profile; each rule->auth->secret_index (and each
 *          rule->pg->secret_index, for `postgres: password:`) is set to its
 *          entry in @ss (rules with the same reference share one entry, so
 *          one placeholder stands for one secret wherever it is used)
 * @err:    On error: "PROFILE:LINE: secret REF for rule 'NAME': why"
 * @errlen: Size of @err
 *
 * Fails closed: any missing, empty or unsafe source fails the whole load.
 * A value with control characters is refused too: it is bound for an HTTP
 * header.  Every entry gets a placeholder.
 *
 * Return: 0, or -1 on error
 */
int secrets_load_profile(struct secrets *ss, const struct profile *p,
			 char *err, size_t errlen);

/**
 * secrets_startup() - The secrets loaded before isolation, for reloads
 * @ss: The start-up set (kept until exit)
 *
 * Once islo-net serves, a program cannot be started (the filter allows
 * neither fork nor execve); a reloaded profile's cmd: reference that is
 * also in @ss, with the same `secret_env:` and `secret_ttl:`, takes that
 * secret's value instead (and its refreshes, at use).  Any other cmd:
 * reference is refused after isolation.
 */
void secrets_startup(const struct secrets *ss);

/* secrets_free() - secret_free() each entry, free the array; idempotent. */
void secrets_free(struct secrets *ss);

/**
 * secrets_child_env() - The environment for the sandboxed command
 * @ss:   Secrets loaded for @p by secrets_load_profile()
 * @p:    Profile
 * @envp: The environment to start from (NULL: empty)
 *
 * A copy of @envp with (a) every variable named by an env: secret reference
 * removed, and (b) each rule's placeholder_env (and aws_sigv4's
 * access_key_id_placeholder_env and session_token_placeholder_env) set to
 * its secret's placeholder (replacing any value it had).  Everything else is kept, in
 * order.
 *
 * Return: malloc'd NULL-terminated array of malloc'd strings (free with
 *         secrets_env_free()), or NULL on error
 */
char **secrets_child_env(const struct secrets *ss, const struct profile *p,
			 char *const *envp);

/* secrets_env_free() - Free what secrets_child_env() returned; NULL is fine. */
void secrets_env_free(char **env);

/**
 * secrets_no_core() - Make this process non-dumpable (PR_SET_DUMPABLE 0)
 *
 * Call it in the gateway process once secrets are loaded: no core file,
 * and no ptrace or /proc/PID/mem access by other processes of the same user
 * (a sandbox running as that user included).  It is reset by execve(), so
 * the sandboxed command is not affected once it runs.
 *
 * But it is inherited by fork(): a non-dumpable process's /proc/self files
 * are owned by root, so an unprivileged forked child can no longer write
 * its own /proc/self/uid_map, setgroups or gid_map after
 * unshare(CLONE_NEWUSER) (EACCES).  Either call this after the sandbox
 * child has finished that set-up, or have the child call
 * prctl(PR_SET_DUMPABLE, 1) first thing after fork(); the latter is safe
 * because secret pages are MADV_WIPEONFORK: the child holds no secret.
 *
 * Return: 0, or -1 with errno set
 */
int secrets_no_core(void);

#endif
