// SPDX-License-Identifier: MIT
/*
 * secret.c - secrets held by the gateway: loading, placeholders, the
 * sandbox's environment.
 *
 * DOC: Theory of Operation
 *
 * Secrets are read once, at start-up, from the sources a profile names
 * (env:, file:, cred:) and kept until exit.  Each gets its own anonymous
 * private mapping:
 *
 * - MADV_DONTDUMP keeps it out of core dumps even if the process is still
 *   dumpable (and secrets_no_core() makes it not dumpable at all);
 * - mlock() keeps it out of swap; best effort, since RLIMIT_MEMLOCK may be
 *   as low as 64 KiB for an unprivileged user and a secret that cannot be
 *   locked is still better used than refused;
 * - MADV_WIPEONFORK (Linux 4.14+): a child forked after loading (the
 *   sandbox, between fork and exec) gets zero-filled pages, never a copy of
 *   a secret; so the secrets must be loaded in the process that uses them
 *   (the gateway), never in one that forks the gateway off;
 * - a file is read straight into the mapping (never through stdio or a heap
 *   buffer), which is then shrunk to the pages the value needs.
 *
 * Dropping a secret zeroes the whole mapping with explicit_bzero() before
 * unmapping it.  Messages name the reference ("env:GITHUB_TOKEN") and what
 * is wrong with it, never the value, and never a literal that was not a
 * valid reference (it may be a secret pasted in by mistake).
 *
 * File sources must be regular files not readable by "others": a secret
 * that every local user can read is a leak already, and refusing it makes
 * the operator notice.  Group-readable is accepted (a "secrets" group is a
 * common, deliberate set-up).
 */
#include "secret.h"

#include "fileutil.h"
#include "log.h"
#include "profile.h"
#include "secretcmd.h"
#include "sigv4.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static size_t page_round(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t p = pg > 0 ? (size_t)pg : 4096;

	return (n + p - 1) / p * p;
}

/**
 * map_alloc() - A private anonymous mapping kept out of core dumps
 * @size: Bytes wanted
 * @out:  The mapping's size (page-rounded)
 * Return: the mapping, or NULL
 */
static uint8_t *map_alloc(size_t size, size_t *out)
{
	size_t ms = page_round(size ? size : 1);
	void *m = mmap(NULL, ms, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	/* Best effort: kernels without MADV_DONTDUMP still get PR_SET_DUMPABLE. */
	(void)madvise(m, ms, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
	/* A forked child (the sandbox before its exec) sees zeros. */
	(void)madvise(m, ms, MADV_WIPEONFORK);
#endif
	*out = ms;
	return m;
}

/* Lock the value's pages; failure (RLIMIT_MEMLOCK) is not an error. */
static void secret_lock(struct secret *s)
{
	s->locked = !mlock(s->val, s->mapsize);
}

/**
 * read_value() - Read a secret file into a mapping of SECRET_MAX + 1 bytes
 * @ref:    The reference, for messages
 * @path:   File to read
 * @m:      The mapping
 * @len:    The value's length (without one trailing newline)
 * @st:     The opened file's status
 * @err:    Message on error
 * @errlen: Its size
 * Return: 0, or -1 on error (@m may hold bytes: the caller zeroes it)
 */
static int read_value_at(int dfd, const char *name, int flags,
			 const char *ref, const char *path, uint8_t *m,
			 size_t *len, struct stat *st, char *err, size_t errlen)
{
	ssize_t n = 0;
	int fd, rc = -1;
	size_t got;

	/* O_NONBLOCK: a FIFO must not hang start-up before fstat() says no. */
	fd = openat(dfd, name,
		    O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | flags);
	if (fd < 0) {
		fu_seterr(err, errlen, "%s: cannot open %s: %s", ref, path,
			  strerror(errno));
		return -1;
	}
	if (fstat(fd, st)) {
		fu_seterr(err, errlen, "%s: cannot stat %s: %s", ref, path,
			  strerror(errno));
	} else if (!S_ISREG(st->st_mode)) {
		fu_seterr(err, errlen, "%s: %s is not a regular file", ref, path);
	} else if (st->st_mode & S_IROTH) {
		fu_seterr(err, errlen,
			  "%s: %s is readable by other users (mode %04o); a secret file must not be (chmod o-r '%s')",
			  ref, path, (unsigned)(st->st_mode & 07777), path);
	} else if (st->st_size <= (off_t)SECRET_MAX &&
		   (n = fu_read_fd(fd, m, SECRET_MAX)) < 0) {
		fu_seterr(err, errlen, "%s: cannot read %s: %s", ref, path,
			  strerror(errno));
	} else if (st->st_size > (off_t)SECRET_MAX || (size_t)n > SECRET_MAX) {
		fu_seterr(err, errlen, "%s: %s is larger than %zu bytes", ref,
			  path, SECRET_MAX);
	} else {
		got = (size_t)n;
		/* One trailing newline is how editors and `echo` end files. */
		if (got && m[got - 1] == '\n')
			got--;
		if (got && m[got - 1] == '\r')
			got--;
		if (!got)
			fu_seterr(err, errlen, "%s: %s is empty", ref, path);
		else
			rc = 0;
		explicit_bzero(m + got, (size_t)n - got);
		*len = got;
	}
	close(fd);
	return rc;
}

static int read_value(const char *ref, const char *path, uint8_t *m,
		      size_t *len, struct stat *st, char *err, size_t errlen)
{
	return read_value_at(AT_FDCWD, path, 0, ref, path, m, len, st, err,
			     errlen);
}

/* The file's name within its directory (the part after the last '/'). */
static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* Remember the file as read, to see later that it changed. */
static void note_stat(struct secret *s, const struct stat *st)
{
	s->st_dev = (uint64_t)st->st_dev;
	s->st_ino = (uint64_t)st->st_ino;
	s->st_size = (uint64_t)st->st_size;
	s->st_mtim_s = (int64_t)st->st_mtim.tv_sec;
	s->st_mtim_ns = (int64_t)st->st_mtim.tv_nsec;
}

/**
 * load_file() - Read a secret file into @s's mapping
 * @s:      Secret with ref set
 * @path:   File to read
 * @err:    Message on error
 * @errlen: Its size
 *
 * The mapping keeps room for SECRET_MAX bytes: a changed file is read
 * again into the same place (secret_refresh()), so that pointers to the
 * value (the response scrubber's) never dangle.
 *
 * Return: 0, or -1 on error
 */
static int load_file(struct secret *s, const char *path, char *err,
		     size_t errlen)
{
	struct stat st;
	size_t ms, got = 0;
	uint8_t *m;

	m = map_alloc(SECRET_MAX + 1, &ms);
	if (!m) {
		fu_seterr(err, errlen, "%s: out of memory", s->ref);
		return -1;
	}
	if (read_value(s->ref, path, m, &got, &st, err, errlen) ||
	    !(s->path = strdup(path))) {
		if (err && errlen && !err[0])
			fu_seterr(err, errlen, "%s: out of memory", s->ref);
		explicit_bzero(m, ms);
		munmap(m, ms);
		return -1;
	}
	note_stat(s, &st);
	s->uid = st.st_uid;
	s->val = m;
	s->len = got;
	s->mapsize = ms;
	/* the directory, held: re-reads are relative to it (secret_refresh()) */
	{
		char dir[PATH_MAX];
		const char *b = base_name(path);
		size_t dl = (size_t)(b - path);
		int dfd;

		if (dl == 0)
			snprintf(dir, sizeof(dir), ".");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)dl, path);
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0)
			s->dir_fd = dfd + 1;
	}
	return 0;
}

/* env:NAME */
static int load_env(struct secret *s, const char *name, char *err,
		    size_t errlen)
{
	const char *v = getenv(name);
	size_t len;

	if (!v) {
		fu_seterr(err, errlen, "%s: environment variable %s is not set",
			  s->ref, name);
		return -1;
	}
	len = strlen(v);
	if (!len) {
		fu_seterr(err, errlen, "%s: environment variable %s is empty",
			  s->ref, name);
		return -1;
	}
	if (len > SECRET_MAX) {
		fu_seterr(err, errlen, "%s: environment variable %s is longer than %zu bytes",
			  s->ref, name, SECRET_MAX);
		return -1;
	}
	s->val = map_alloc(len, &s->mapsize);
	if (!s->val) {
		fu_seterr(err, errlen, "%s: out of memory", s->ref);
		return -1;
	}
	memcpy(s->val, v, len);
	s->len = len;
	return 0;
}

static const struct secrets *startup;   /* secrets_startup() */

void secrets_startup(const struct secrets *ss)
{
	startup = ss;
}

/* Are two NULL-terminated name lists (NULL: none) the same? */
static int same_names(char *const *a, char *const *b)
{
	size_t i;

	for (i = 0; a && b && a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]))
			return 0;
	return !(a && a[i]) && !(b && b[i]);
}

/**
 * adopt_cmd() - After isolation: take the start-up secret of the same
 *		 reference (secrets_startup())
 * @s:      Secret with ref set
 * @names:  Its `secret_env:` names
 * @err:    Message if there is none to take
 * @errlen: Its size
 * Return: 0, or -1
 */
static int adopt_cmd(struct secret *s, char *const *names, char *err,
		     size_t errlen)
{
	const struct secret *o = NULL;
	size_t i, ms;

	for (i = 0; startup && i < startup->n; i++)
		if (!strcmp(startup->s[i].ref, s->ref) && startup->s[i].val)
			o = &startup->s[i];
	if (!o || !same_names(o->cmd_env, names)) {
		fu_seterr(err, errlen,
			  "cmd: secrets are run at start-up only, not once islo-net serves (a profile reload, a sandbox added to `serve`): a reload may keep a cmd: secret of the start-up profile as it was (same command, secret_env and secret_ttl), not add or change one");
		return -1;
	}
	s->val = map_alloc(SECRET_MAX + 1, &ms);
	if (!s->val) {
		fu_seterr(err, errlen, "cmd: out of memory");
		return -1;
	}
	s->mapsize = ms;
	memcpy(s->val, o->val, o->len);
	s->len = o->len;
	s->fetched_ms = o->fetched_ms;
	s->ttl_ms = o->ttl_ms;
	s->run = o->run;
	s->origin = o;
	return 0;
}

/**
 * load_cmd() - cmd:PROGRAM ARGS: run it now, take its output (secretcmd.c)
 * @s:      Secret with ref set
 * @cmd:    The text after "cmd:"
 * @names:  Variables passed to the program, or NULL
 * @err:    Message on error: the reference and why, never the output
 * @errlen: Its size
 * Return: 0, or -1 on error
 */
static int load_cmd(struct secret *s, const char *cmd, char *const *names,
		    char *err, size_t errlen)
{
	char why[1024], **argv;
	size_t ms, len;
	uint8_t *m;

	if (secret_cmd_split(cmd, &argv, why, sizeof(why)) < 0) {
		fu_seterr(err, errlen, "%s", why);
		return -1;
	}
	if (secret_cmd_forbidden()) {
		secret_cmd_free(argv);
		return adopt_cmd(s, names, err, errlen);
	}
	m = map_alloc(SECRET_MAX + 1, &ms);
	if (!m) {
		secret_cmd_free(argv);
		fu_seterr(err, errlen, "cmd: out of memory");
		return -1;
	}
	if (secret_cmd_run(argv, names, SECRET_CMD_TIMEOUT_MS, m,
			   SECRET_MAX + 1, &len, why, sizeof(why))) {
		fu_seterr(err, errlen, "cmd: %s: %s", argv[0], why);
		secret_cmd_free(argv);
		explicit_bzero(m, ms);
		munmap(m, ms);
		return -1;
	}
	secret_cmd_free(argv);
	s->val = m;
	s->len = len;
	s->mapsize = ms;
	s->fetched_ms = secret_now_ms();
	return 0;
}

/* env:NAME's NAME: [A-Za-z_][A-Za-z0-9_]* */
static int env_name_valid(const char *n)
{
	size_t i;

	if (!n[0] || (n[0] >= '0' && n[0] <= '9'))
		return 0;
	for (i = 0; n[i]; i++)
		if (!(n[i] == '_' || (n[i] >= 'a' && n[i] <= 'z') ||
		      (n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9')))
			return 0;
	return 1;
}

/* cred:NAME's NAME: a file name in the directory, never a path out of it. */
static int cred_name_valid(const char *n)
{
	return n[0] && n[0] != '.' && !strchr(n, '/') &&
	       strlen(n) <= PF_MAX_SECRET_NAME;
}

int secret_load(struct secret *s, const char *ref, char *err, size_t errlen)
{
	return secret_load_env(s, ref, NULL, err, errlen);
}

int secret_load_env(struct secret *s, const char *ref, char *const *names,
		    char *err, size_t errlen)
{
	const char *dir;
	char *path;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (err && errlen)
		err[0] = '\0';
	/* Unknown forms are not quoted: they may be a pasted secret. */
	if (!ref || (strncmp(ref, "env:", 4) && strncmp(ref, "file:", 5) &&
		     strncmp(ref, "cred:", 5) && strncmp(ref, "cmd:", 4))) {
		fu_seterr(err, errlen,
			  "expected a secret reference env:NAME, file:/PATH, cred:NAME or cmd:PROGRAM ARGS (an inline secret is not accepted; the value is not shown)");
		return -1;
	}
	s->ref = strdup(ref);
	if (!s->ref) {
		fu_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (!strncmp(ref, "env:", 4)) {
		if (!env_name_valid(ref + 4))
			fu_seterr(err, errlen, "%s: not a valid environment variable name", ref);
		else
			rc = load_env(s, ref + 4, err, errlen);
	} else if (!strncmp(ref, "cmd:", 4)) {
		rc = load_cmd(s, ref + 4, names, err, errlen);
	} else if (!strncmp(ref, "file:", 5)) {
		if (ref[5] != '/')
			fu_seterr(err, errlen, "%s: expected an absolute path", ref);
		else
			rc = load_file(s, ref + 5, err, errlen);
	} else {
		dir = getenv("CREDENTIALS_DIRECTORY");
		if (!cred_name_valid(ref + 5)) {
			fu_seterr(err, errlen, "%s: not a valid credential name", ref);
		} else if (!dir || !dir[0]) {
			fu_seterr(err, errlen,
				  "%s: $CREDENTIALS_DIRECTORY is not set (cred: secrets come from systemd's LoadCredential= or SetCredential=)",
				  ref);
		} else if (asprintf(&path, "%s/%s", dir, ref + 5) < 0) {
			fu_seterr(err, errlen, "%s: out of memory", ref);
		} else {
			rc = load_file(s, path, err, errlen);
			free(path);
		}
	}
	if (rc) {
		free(s->ref);
		free(s->path);
		memset(s, 0, sizeof(*s));
		return -1;
	}
	s->cap = SECRET_MAX;
	secret_lock(s);
	return 0;
}

void secret_free(struct secret *s)
{
	if (!s)
		return;
	if (s->val) {
		explicit_bzero(s->val, s->mapsize);
		if (s->locked)
			munlock(s->val, s->mapsize);
		munmap(s->val, s->mapsize);
	}
	free(s->ref);
	free(s->path);
	secret_cmd_free(s->cmd_env);
	if (s->dir_fd)
		close(s->dir_fd - 1);
	explicit_bzero(s->placeholder, sizeof(s->placeholder));
	memset(s, 0, sizeof(*s));
}

int secret_placeholder(struct secret *s)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[16];
	size_t got = 0, i, o;
	ssize_t n;

	s->placeholder[0] = '\0';
	while (got < sizeof(rnd)) {
		n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			explicit_bzero(rnd, sizeof(rnd));
			return -1;
		}
		got += (size_t)n;
	}
	o = strlen(SECRET_PH_PREFIX);
	memcpy(s->placeholder, SECRET_PH_PREFIX, o);
	for (i = 0; i < sizeof(rnd); i++) {
		s->placeholder[o++] = hex[rnd[i] >> 4];
		s->placeholder[o++] = hex[rnd[i] & 15];
	}
	s->placeholder[o] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

int secret_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	volatile uint8_t acc = 0;
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		acc |= a[i] ^ b[i];
	return acc == 0;
}

/* A value bound for an HTTP header: no CR, LF, NUL or other control bytes. */
static int header_safe(const struct secret *s)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		if (s->val[i] < 0x20 || s->val[i] == 0x7f)
			return 0;
	return 1;
}

uint64_t secret_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint8_t *secret_map(size_t size, size_t *out)
{
	uint8_t *m = map_alloc(size, out);

	if (m)
		(void)mlock(m, *out);
	return m;
}

void secret_unmap(uint8_t *m, size_t size)
{
	if (!m)
		return;
	explicit_bzero(m, size);
	(void)munlock(m, size);
	munmap(m, size);
}

/* An access key id goes into the Authorization header's Credential=. */
static int akid_ok(const uint8_t *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (v[i] <= ' ' || v[i] >= 0x7f || v[i] == ',' || v[i] == '/')
			return 0;
	return len <= 128;
}

int secret_replace(struct secret *s, const uint8_t *v, size_t len,
		   uint64_t now)
{
	size_t i;

	if (!s->val || s->mapsize < SECRET_MAX + 1 || !len || len > s->cap ||
	    len > SECRET_MAX || (s->akid && !akid_ok(v, len)))
		return -1;
	for (i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] == 0x7f)
			return -1;
	memcpy(s->val, v, len);
	if (len < s->len)
		explicit_bzero(s->val + len, s->len - len);
	s->len = len;
	s->fetched_ms = now;
	return 0;
}

const char *secret_stale(const struct secret *s, uint64_t now)
{
	if (!s->ttl_ms || now - s->fetched_ms < s->ttl_ms)
		return NULL;
	switch (s->run) {
	case SECRET_RUN_GONE:
		return "credential expired: the secret fetcher has exited, its program cannot be run again (restart islo-net)";
	case SECRET_RUN_FAILED:
		return "credential expired: its program's last run failed (the reason is in islo-net's log)";
	default:
		return "credential expired: its program is being run again";
	}
}

const char *secrets_stale_idx(const struct secrets *ss, const int *idx,
			      size_t n)
{
	uint64_t now = secret_now_ms();
	const char *why;
	size_t i;

	for (i = 0; ss && i < n; i++)
		if (idx[i] >= 0 && (size_t)idx[i] < ss->n &&
		    (why = secret_stale(&ss->s[idx[i]], now)) != NULL)
			return why;
	return NULL;
}

/* Is @st the file as @s last saw it? */
static int same_file(const struct secret *s, const struct stat *st)
{
	return s->st_dev == (uint64_t)st->st_dev &&
	       s->st_ino == (uint64_t)st->st_ino &&
	       s->st_size == (uint64_t)st->st_size &&
	       s->st_mtim_s == (int64_t)st->st_mtim.tv_sec &&
	       s->st_mtim_ns == (int64_t)st->st_mtim.tv_nsec;
}

void secret_refresh(struct secret *s)
{
	struct secret tmp;
	char why[512];
	struct stat st;
	uint64_t now;
	size_t ms;

	if (s && s->origin && s->val) {
		/* a reload's copy of a start-up cmd: secret: its fresh value */
		const struct secret *o = s->origin;

		s->run = o->run;
		if (o->fetched_ms == s->fetched_ms || !o->len)
			return;
		/* this set may use it where less fits (an aws_sigv4 key) */
		if (o->len > s->cap || (s->akid && !akid_ok(o->val, o->len))) {
			s->run = SECRET_RUN_FAILED;
			return;
		}
		memcpy(s->val, o->val, o->len);
		if (o->len < s->len)
			explicit_bzero(s->val + o->len, s->len - o->len);
		s->len = o->len;
		s->fetched_ms = o->fetched_ms;
		return;
	}
	if (!s || !s->path || !s->val || s->mapsize < SECRET_MAX + 1)
		return;
	now = secret_now_ms();
	if (s->checked_ms && now - s->checked_ms < 1000)
		return;
	s->checked_ms = now;
	/*
	 * Relative to the directory held since start-up, never following a
	 * symbolic link, and only a file with one name owned by the same
	 * user: a sandbox that could rename the directory, or plant a link
	 * or a hard link to another of the user's files under the secret's
	 * name, must not have that file sent as the credential.
	 */
	if (!s->dir_fd)
		return;
	if (fstatat(s->dir_fd - 1, base_name(s->path), &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && same_file(s, &st))
		return;
	memset(&tmp, 0, sizeof(tmp));
	tmp.val = map_alloc(SECRET_MAX + 1, &ms);
	if (!tmp.val)
		return;
	why[0] = '\0';
	if (read_value_at(s->dir_fd - 1, base_name(s->path), O_NOFOLLOW, s->ref,
			  s->path, tmp.val, &tmp.len, &st, why,
			  sizeof(why)) == 0) {
		if (!header_safe(&tmp))
			fu_seterr(why, sizeof(why),
				  "%s: contains a control character (a line break or similar)",
				  s->ref);
		else if (st.st_nlink != 1 || st.st_uid != s->uid)
			fu_seterr(why, sizeof(why),
				  "%s: the new file has another owner or more than one name",
				  s->ref);
	}
	if (why[0]) {
		/* keep the last good value; do not warn again until it changes */
		warn("secret %s changed but cannot be used, keeping the last value: %s",
		     s->ref, why);
	} else {
		memcpy(s->val, tmp.val, tmp.len);
		if (tmp.len < s->len)
			explicit_bzero(s->val + tmp.len, s->len - tmp.len);
		s->len = tmp.len;
		info("secret %s re-read: its file changed", s->ref);
	}
	if (why[0] == '\0' || !strstr(why, "cannot open"))
		note_stat(s, &st);
	explicit_bzero(tmp.val, ms);
	munmap(tmp.val, ms);
	explicit_bzero(why, sizeof(why));
}

void secrets_refresh_idx(const struct secrets *ss, const int *idx, size_t n)
{
	size_t i;

	for (i = 0; ss && i < n; i++)
		if (idx[i] >= 0 && (size_t)idx[i] < ss->n)
			secret_refresh(&ss->s[idx[i]]);
}

/* Reset every rule's secret_index (after a failed load). */
static void unbind(const struct profile *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		if (p->rules[i].auth) {
			p->rules[i].auth->secret_index = -1;
			p->rules[i].auth->akid_index = -1;
			p->rules[i].auth->token_index = -1;
		}
		if (p->rules[i].pg)
			p->rules[i].pg->secret_index = -1;
	}
}

/**
 * bind_ref() - Load one reference (or find it loaded) and bind it
 * @ss:     Secrets so far
 * @p:      Profile, for messages
 * @r:      Rule naming @ref
 * @ref:    auth_strategy's secret or postgres's password
 * @line:   Line of the key that names it
 * @index:  Set to its entry in @ss
 * @what:   "secret" or "password", for messages (a cmd: program gets the
 *          `secret_env:` of the table that names @ref; a reference
 *          shared by rules runs once, with the first rule's)
 * @err:    On error
 * @errlen: Its size
 * Return: 0, or -1
 */
static int bind_ref(struct secrets *ss, const struct profile *p,
		    const struct pf_rule *r, const char *ref, int line,
		    int *index, const char *what, char *err, size_t errlen)
{
	char *const *env = NULL;
	char why[1024], **names;
	struct secret *n;
	size_t j, k = 0;
	int rc, ttl = 0;

	for (j = 0; j < ss->n; j++)
		if (!strcmp(ss->s[j].ref, ref))
			break;
	if (j < ss->n) {
		*index = (int)j;
		return 0;
	}
	n = realloc(ss->s, (ss->n + 1) * sizeof(*n));
	if (!n) {
		fu_seterr(err, errlen, "%s:%d: out of memory", p->path, line);
		return -1;
	}
	ss->s = n;
	if (r->auth && (ref == r->auth->secret_ref || ref == r->auth->akid_ref ||
			ref == r->auth->token_ref)) {
		env = r->auth->secret_env;
		k = r->auth->nsecret_env;
		ttl = r->auth->secret_ttl;
	} else if (r->pg && ref == r->pg->password_ref) {
		env = r->pg->secret_env;
		k = r->pg->nsecret_env;
		ttl = r->pg->secret_ttl;
	}
	names = calloc(k + 1, sizeof(*names));
	if (!names) {
		fu_seterr(err, errlen, "%s:%d: out of memory", p->path, line);
		return -1;
	}
	for (j = 0; j < k; j++)
		names[j] = env[j];
	rc = secret_load_env(&ss->s[ss->n], ref, names, why, sizeof(why));
	if (rc == 0 && ss->s[ss->n].origin &&
	    ss->s[ss->n].origin->ttl_ms != (uint64_t)ttl * 1000) {
		secret_free(&ss->s[ss->n]);
		fu_seterr(why, sizeof(why),
			  "a reload cannot change a cmd: secret's secret_ttl (restart islo-net)");
		rc = -1;
	} else if (rc == 0 && !strncmp(ref, "cmd:", 4) &&
		   !ss->s[ss->n].origin) {
		/* the fetcher runs it again (secretfetch.c), a reload
		 * compares (adopt_cmd()): the names are kept; the strings
		 * stay the profile's until it is freed, so they are copied */
		struct secret *s = &ss->s[ss->n];

		s->ttl_ms = (uint64_t)ttl * 1000;
		s->backoff_ms = 1000;
		s->cmd_env = calloc(k + 1, sizeof(char *));
		for (j = 0; s->cmd_env && j < k; j++)
			if (!(s->cmd_env[j] = strdup(env[j])))
				break;
		if (!s->cmd_env || j < k) {
			secret_free(s);
			fu_seterr(why, sizeof(why), "out of memory");
			rc = -1;
		}
	}
	free(names);
	if (rc) {
		fu_seterr(err, errlen, "%s:%d: %s for rule '%s': %s",
			  p->path, line, what, r->name, why);
		explicit_bzero(why, sizeof(why));
		return -1;
	}
	ss->n++;
	if (!header_safe(&ss->s[ss->n - 1])) {
		fu_seterr(err, errlen,
			  "%s:%d: %s for rule '%s': %s: contains a control character (a line break or similar), which cannot go in %s",
			  p->path, line, what, r->name, ref,
			  r->pg && r->pg->password_ref == ref ?
			  "a PostgreSQL password message" : "an HTTP header");
		return -1;
	}
	if (secret_placeholder(&ss->s[ss->n - 1])) {
		fu_seterr(err, errlen, "%s:%d: %s for rule '%s': %s: cannot make a placeholder: %s",
			  p->path, line, what, r->name, ref, strerror(errno));
		return -1;
	}
	*index = (int)(ss->n - 1);
	return 0;
}

/* An aws_sigv4 rule's keys, as the signer takes them: a secret key of at
 * most SIGV4_KEY_MAX bytes, an access key id of at most 128 printable
 * bytes without ',' or '/' (it is written into the Authorization). */
static int sigv4_keys_check(const struct secrets *ss, const struct profile *p,
			    const struct pf_rule *r, char *err, size_t errlen)
{
	const struct pf_auth *a = r->auth;
	const struct secret *k = &ss->s[a->secret_index];
	const struct secret *id = &ss->s[a->akid_index];
	size_t i;

	if (k->len > SIGV4_KEY_MAX) {
		fu_seterr(err, errlen, "%s:%d: secret for rule '%s': %s: longer than %d bytes, too long for a secret access key",
			  p->path, a->line, r->name, k->ref, SIGV4_KEY_MAX);
		return -1;
	}
	for (i = 0; i < id->len; i++)
		if (id->val[i] <= ' ' || id->val[i] >= 0x7f || id->val[i] == ',' ||
		    id->val[i] == '/')
			break;
	if (id->len > 128 || i < id->len) {
		fu_seterr(err, errlen, "%s:%d: access_key_id for rule '%s': %s: not an access key id (at most 128 printable bytes, no ',', '/' or space)",
			  p->path, a->line, r->name, id->ref);
		return -1;
	}
	/* a value a cmd: program prints later must fit the same way */
	ss->s[a->secret_index].cap = SIGV4_KEY_MAX;
	ss->s[a->akid_index].cap = 128;
	ss->s[a->akid_index].akid = 1;
	return 0;
}

int secrets_load_profile(struct secrets *ss, const struct profile *p,
			 char *err, size_t errlen)
{
	size_t i;

	ss->s = NULL;
	ss->n = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!p)
		return 0;
	for (i = 0; i < p->nrules; i++) {
		const struct pf_rule *r = &p->rules[i];
		struct pf_auth *a = r->auth;
		struct pf_postgres *pg = r->pg;

		if (a && bind_ref(ss, p, r, a->secret_ref, a->line,
				  &a->secret_index, "secret", err, errlen))
			goto fail;
		if (a && a->akid_ref &&
		    bind_ref(ss, p, r, a->akid_ref, a->line, &a->akid_index,
			     "access_key_id", err, errlen))
			goto fail;
		if (a && a->token_ref &&
		    bind_ref(ss, p, r, a->token_ref, a->line, &a->token_index,
			     "session_token", err, errlen))
			goto fail;
		if (a && a->mode == PF_AUTH_SIGV4 &&
		    sigv4_keys_check(ss, p, r, err, errlen))
			goto fail;
		if (pg && bind_ref(ss, p, r, pg->password_ref, pg->line,
				   &pg->secret_index, "password", err, errlen))
			goto fail;
	}
	return 0;
fail:
	secrets_free(ss);
	unbind(p);
	return -1;
}

void secrets_free(struct secrets *ss)
{
	size_t i;

	if (!ss)
		return;
	for (i = 0; i < ss->n; i++)
		secret_free(&ss->s[i]);
	free(ss->s);
	ss->s = NULL;
	ss->n = 0;
}

/* Does "NAME=..." (or "NAME") in @entry name the variable @name? */
static int env_is(const char *entry, const char *name)
{
	size_t nl = strlen(name);

	return !strncmp(entry, name, nl) && (entry[nl] == '=' || !entry[nl]);
}

/* Does @entry name a variable an auth_strategy reads a secret from, or
 * sets to a placeholder? */
static int auth_env_dropped(const char *entry, const struct pf_auth *a)
{
	const char *refs[] = { a->secret_ref, a->akid_ref, a->token_ref };
	const char *vars[] = { a->placeholder_env, a->akid_placeholder_env,
			       a->token_placeholder_env };
	size_t i;

	for (i = 0; i < 3; i++)
		if ((refs[i] && !strncmp(refs[i], "env:", 4) &&
		     env_is(entry, refs[i] + 4)) ||
		    (vars[i] && env_is(entry, vars[i])))
			return 1;
	return 0;
}

/* Is @entry a variable the sandbox must not inherit (or will get anew)? */
static int env_dropped(const char *entry, const struct profile *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		const struct pf_auth *a = p->rules[i].auth;
		const struct pf_postgres *pg = p->rules[i].pg;

		if (pg && !strncmp(pg->password_ref, "env:", 4) &&
		    env_is(entry, pg->password_ref + 4))
			return 1;
		if (a && auth_env_dropped(entry, a))
			return 1;
	}
	return 0;
}

void secrets_env_free(char **env)
{
	size_t i;

	if (!env)
		return;
	for (i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

/* Add "VAR=placeholder" to @env at @o, unless a rule sharing the secret
 * added it already (from @first on).  Return: 0, or -1. */
static int env_add_placeholder(char **env, size_t first, size_t *o,
			       const struct secrets *ss, const char *var,
			       int index)
{
	const struct secret *s;
	size_t j;

	if (!var)
		return 0;
	if (!ss || index < 0 || (size_t)index >= ss->n)
		return -1;
	s = &ss->s[index];
	if (!s->placeholder[0])
		return -1;
	for (j = first; j < *o; j++)
		if (env_is(env[j], var))
			return 0;
	if (asprintf(&env[*o], "%s=%s", var, s->placeholder) < 0) {
		env[*o] = NULL;
		return -1;
	}
	(*o)++;
	return 0;
}

char **secrets_child_env(const struct secrets *ss, const struct profile *p,
			 char *const *envp)
{
	size_t n = 0, cap, o = 0, i, first;
	char **env;

	for (i = 0; envp && envp[i]; i++)
		n++;
	cap = n + 3 * (p ? p->nrules : 0) + 1;
	env = calloc(cap, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++) {
		if (p && env_dropped(envp[i], p))
			continue;
		if (!(env[o++] = strdup(envp[i])))
			goto fail;
	}
	first = o;
	for (i = 0; p && i < p->nrules; i++) {
		const struct pf_auth *a = p->rules[i].auth;

		/* rules sharing a secret may name the same variable */
		if (a && (env_add_placeholder(env, first, &o, ss, a->placeholder_env,
					      a->secret_index) ||
			  env_add_placeholder(env, first, &o, ss, a->akid_placeholder_env,
					      a->akid_index) ||
			  env_add_placeholder(env, first, &o, ss, a->token_placeholder_env,
					      a->token_index)))
			goto fail;
	}
	env[o] = NULL;
	return env;
fail:
	secrets_env_free(env);
	return NULL;
}

int secrets_no_core(void)
{
	static int done;

	/* once is enough (it lasts until execve), and after self-isolation
	 * the filter would not allow prctl() again: a profile reload that
	 * brings the first secret finds it done already (gw_serve() and the
	 * daemon call this before isolating) */
	if (done)
		return 0;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -1;
	done = 1;
	return 0;
}
