// SPDX-License-Identifier: MIT
/*
 * projtrust.c - the record of trusted project files (see projtrust.h).
 */
#include "projtrust.h"
#include "fileutil.h"

#include <bearssl.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *projtrust_default_file(void)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *p;

	if (x && x[0] == '/')
		return asprintf(&p, "%s/islo-net/trusted", x) < 0 ? NULL : p;
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || home[0] != '/')
		return NULL;
	return asprintf(&p, "%s/.local/state/islo-net/trusted", home) < 0 ? NULL : p;
}

/* BearSSL's SHA-256: plain code, nothing loaded on first use, so a
 * reload under the system-call filter may hash too. */
static int sha256(const void *buf, size_t len, unsigned char out[32])
{
	br_sha256_context ctx;

	br_sha256_init(&ctx);
	br_sha256_update(&ctx, buf, len);
	br_sha256_out(&ctx, out);
	return 0;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < 2 * n; i++) {
		int v;

		if (s[i] >= '0' && s[i] <= '9')
			v = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			v = s[i] - 'a' + 10;
		else
			return -1;
		if (i % 2)
			out[i / 2] = (unsigned char)(out[i / 2] | v);
		else
			out[i / 2] = (unsigned char)(v << 4);
	}
	return 0;
}

int projtrust_canon(const char *path, char *out, size_t size)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *base;
	const char *slash;

	if (!path || !path[0] || strlen(path) >= sizeof(dir))
		return -1;
	slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	} else if (slash == path) {
		snprintf(dir, sizeof(dir), "/");
		base = path + 1;
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		base = slash + 1;
	}
	if (!base[0] || !strcmp(base, ".") || !strcmp(base, ".."))
		return -1;
	if (!realpath(dir, real))
		return -1;
	if ((size_t)snprintf(out, size, "%s/%s", strcmp(real, "/") ? real : "",
			     base) >= size)
		return -1;
	return 0;
}

void projtrust_free(struct projtrust *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->e[i].path);
	free(t->e);
	free(t->file);
	memset(t, 0, sizeof(*t));
}

int projtrust_open(struct projtrust *t, const char *file, char *err,
		   size_t errlen)
{
	char *buf, *line, *next;
	size_t len;
	int fd;

	memset(t, 0, sizeof(*t));
	t->file = file ? strdup(file) : projtrust_default_file();
	if (!t->file) {
		snprintf(err, errlen, "no home directory for the trust record "
			 "(set HOME or XDG_STATE_HOME)");
		return -1;
	}
	fd = open(t->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd >= 0)
		close(fd);
	buf = projtrust_read(t->file, &len, err, errlen);
	if (!buf) {
		projtrust_free(t);
		return -1;
	}
	for (line = buf; line && *line; line = next) {
		struct projtrust_ent e, *grown;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* "HEX64 /path" */
		if (strlen(line) < 66 || line[64] != ' ' || line[65] != '/' ||
		    unhex(line, e.sha, 32) < 0)
			continue;
		e.path = strdup(line + 65);
		grown = e.path ? realloc(t->e, (t->n + 1) * sizeof(*t->e)) : NULL;
		if (!grown) {
			free(e.path);
			free(buf);
			projtrust_free(t);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->e = grown;
		t->e[t->n++] = e;
	}
	free(buf);
	return 0;
}

static struct projtrust_ent *find(const struct projtrust *t, const char *path)
{
	char canon[PATH_MAX];
	size_t i;

	/* a name as recorded needs no lookup (no readlink under the
	 * system-call filter, at a reload) */
	for (i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].path, path))
			return &t->e[i];
	if (projtrust_canon(path, canon, sizeof(canon)) < 0)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].path, canon))
			return &t->e[i];
	return NULL;
}

int projtrust_known(const struct projtrust *t, const char *path)
{
	return find(t, path) != NULL;
}

int projtrust_ok(const struct projtrust *t, const char *path,
		 const void *buf, size_t len)
{
	const struct projtrust_ent *e = find(t, path);
	unsigned char sha[32];

	if (!e || sha256(buf, len, sha) < 0)
		return 0;
	return !memcmp(sha, e->sha, 32);
}

static int save(const struct projtrust *t, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	size_t i, j;
	FILE *f;
	int fd;

	fu_mkdirs(t->file, 1);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", t->file) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: name too long", t->file);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: %s", t->file, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -1;
	}
	for (i = 0; i < t->n; i++) {
		for (j = 0; j < 32; j++)
			fprintf(f, "%02x", t->e[i].sha[j]);
		fprintf(f, " %s\n", t->e[i].path);
	}
	if (fflush(f) || fsync(fileno(f)) || fclose(f)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, t->file) < 0) {
		snprintf(err, errlen, "%s: %s", t->file, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int projtrust_set(struct projtrust *t, const char *path, const void *buf,
		  size_t len, char *err, size_t errlen)
{
	struct projtrust_ent *e = find(t, path), *grown;
	char canon[PATH_MAX];

	if (projtrust_canon(path, canon, sizeof(canon)) < 0 ||
	    strchr(canon, '\n')) {
		snprintf(err, errlen, "%s: cannot name this file in the trust "
			 "record", path);
		return -1;
	}
	if (!buf) {
		if (e) {
			free(e->path);
			*e = t->e[--t->n];
		}
		return save(t, err, errlen);
	}
	if (!e) {
		grown = realloc(t->e, (t->n + 1) * sizeof(*t->e));
		if (!grown) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->e = grown;
		e = &t->e[t->n];
		e->path = strdup(canon);
		if (!e->path) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->n++;
	}
	if (sha256(buf, len, e->sha) < 0) {
		snprintf(err, errlen, "SHA-256 failed");
		return -1;
	}
	return save(t, err, errlen);
}

char *projtrust_read(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd;

	/* O_NONBLOCK: a FIFO must not hang us before fstat() says no */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > PROJTRUST_MAX_FILE) {
		snprintf(err, errlen, "%s: not a regular file of at most %zu "
			 "bytes", path, PROJTRUST_MAX_FILE);
		close(fd);
		return NULL;
	}
	buf = malloc(PROJTRUST_MAX_FILE + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, PROJTRUST_MAX_FILE + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > PROJTRUST_MAX_FILE) {
			snprintf(err, errlen, "%s: larger than %zu bytes", path,
				 PROJTRUST_MAX_FILE);
			free(buf);
			close(fd);
			return NULL;
		}
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}
