// SPDX-License-Identifier: MIT
/*
 * sandboxca.c - what a sandbox trusts when a profile intercepts TLS
 * (see sandboxca.h).
 */
#include "sandboxca.h"

#include "ca.h"
#include "fileutil.h"
#include "trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const vars[SANDBOXCA_VARS] = {
	"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
	"NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO", "AWS_CA_BUNDLE",
};

#define SYS_CERTDIR "/etc/ssl/certs"
#define SYS_BUNDLE  SYS_CERTDIR "/ca-certificates.crt"
#define MAX_USER_BUNDLE ((size_t)64 << 20)

/* NAME's value in @env, or NULL */
static const char *env_get(char **env, const char *name)
{
	size_t nl = strlen(name);

	for (; env && *env; env++)
		if (!strncmp(*env, name, nl) && (*env)[nl] == '=')
			return *env + nl + 1;
	return NULL;
}

/* Set NAME=VALUE in a malloc'd environment array (replacing NAME). */
static int env_set(char ***envp, const char *name, const char *value)
{
	size_t nl = strlen(name), i;
	char **env = *envp, *kv, **grown;

	if (!env || asprintf(&kv, "%s=%s", name, value) < 0)
		return -1;
	for (i = 0; env[i]; i++) {
		if (!strncmp(env[i], name, nl) && env[i][nl] == '=') {
			free(env[i]);
			env[i] = kv;
			return 0;
		}
	}
	grown = realloc(env, (i + 2) * sizeof(*env));
	if (!grown) {
		free(kv);
		return -1;
	}
	grown[i] = kv;
	grown[i + 1] = NULL;
	*envp = grown;
	return 0;
}

/* Write @a (may be NULL), a newline if @a does not end in one, and @b to
 * a new file @path, mode 0644. */
static int write_two(const char *path, const void *a, size_t alen,
		     const void *b, size_t blen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0)
		return -1;
	if (alen && fu_write_all(fd, a, alen) < 0)
		r = -1;
	if (!r && alen && ((const char *)a)[alen - 1] != '\n' &&
	    fu_write_all(fd, "\n", 1) < 0)
		r = -1;
	if (!r && fu_write_all(fd, b, blen) < 0)
		r = -1;
	if (close(fd) < 0)
		r = -1;
	if (!r)
		chmod(path, 0644);   /* whatever our umask */
	return r;
}

int sandboxca_hash_name(const unsigned char *der, size_t len,
			const char *sysdir, char *out, size_t size)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	unsigned long h;
	int n;

	if (!x)
		return -1;
	h = X509_subject_name_hash(x);
	X509_free(x);
	/* the first free HASH.N: another CA of the same subject hash keeps
	 * its name */
	for (n = 0; n < 100; n++) {
		char path[PATH_MAX];

		snprintf(out, size, "%08lx.%d", h, n);
		snprintf(path, sizeof(path), "%s/%s", sysdir, out);
		if (access(path, F_OK) < 0)
			return 0;
	}
	return -1;
}

int sandboxca_prepare(struct sandboxca *s, const struct ca *ca, char ***env,
		      char *err, size_t errlen)
{
	char *pem = NULL, name[32], path[PATH_MAX];
	const unsigned char *der;
	size_t pemlen, derlen, i;
	int have_certdir;

	const char *tmp = getenv("TMPDIR");

	memset(s, 0, sizeof(*s));
	if (!tmp || tmp[0] != '/' ||
	    (size_t)snprintf(s->dir, sizeof(s->dir), "%s/islo-net-ca.XXXXXX",
			     tmp) >= sizeof(s->dir))
		snprintf(s->dir, sizeof(s->dir), "/tmp/islo-net-ca.XXXXXX");
	if (!mkdtemp(s->dir)) {
		snprintf(err, errlen, "%s: %s", s->dir, strerror(errno));
		s->dir[0] = '\0';
		return -1;
	}
	chmod(s->dir, 0755);         /* the sandbox's other ids read it too */
	snprintf(s->bundle, sizeof(s->bundle), "%s/bundle.pem", s->dir);
	if (ca_write_bundle(ca, s->bundle, err, errlen) < 0)
		goto fail;
	chmod(s->bundle, 0644);
	if (ca_cert_pem(ca, &pem, &pemlen) < 0) {
		snprintf(err, errlen, "the islo-net CA certificate: %s",
			 strerror(errno));
		goto fail;
	}
	/* the hashed directory: HASH.N and the bundle, laid over the
	 * system's (ns.c mounts it) */
	der = ca_cert_der(ca, &derlen);
	have_certdir = access(SYS_CERTDIR, F_OK) == 0 && der &&
		       sandboxca_hash_name(der, derlen, SYS_CERTDIR, name,
					   sizeof(name)) == 0;
	if (have_certdir) {
		uint8_t *buf = NULL;
		size_t len = 0;

		snprintf(s->certdir, sizeof(s->certdir), "%s/certs", s->dir);
		snprintf(path, sizeof(path), "%s/%s", s->certdir, name);
		if (mkdir(s->certdir, 0755) < 0 ||
		    write_two(path, NULL, 0, pem, pemlen) < 0 ||
		    trust_read_file(s->bundle, MAX_USER_BUNDLE, &buf, &len) ||
		    (snprintf(path, sizeof(path), "%s/ca-certificates.crt",
			      s->certdir),
		     write_two(path, NULL, 0, buf, len) < 0)) {
			free(buf);
			snprintf(err, errlen, "%s: %s", s->certdir, strerror(errno));
			goto fail;
		}
		free(buf);
	}
	/* each variable: the user's own file plus our CA, else the system
	 * bundle (ours inside, or our copy where there is none) */
	for (i = 0; i < SANDBOXCA_VARS; i++) {
		const char *user = env_get(*env, vars[i]);
		const char *val = access(SYS_BUNDLE, F_OK) == 0 ? SYS_BUNDLE :
								  s->bundle;

		if (user && user[0]) {
			uint8_t *buf = NULL;
			size_t len = 0;

			if (trust_read_file(user, MAX_USER_BUNDLE, &buf, &len)) {
				snprintf(err, errlen, "%s=%s: %s", vars[i], user,
					 strerror(errno));
				goto fail;
			}
			snprintf(path, sizeof(path), "%s/%s.pem", s->dir, vars[i]);
			if (write_two(path, buf, len, pem, pemlen) < 0) {
				free(buf);
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				goto fail;
			}
			free(buf);
			s->files[i] = strdup(path);
			if (!s->files[i]) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			val = s->files[i];
		}
		if (env_set(env, vars[i], val) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	free(pem);
	return 0;
fail:
	free(pem);
	sandboxca_free(s);
	return -1;
}

/* Remove @dir's entries and @dir (one level: ours has no deeper ones
 * but certs/, handled by the caller). */
static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	/* unlinkat(), not rmdir(): at exit we are under the system-call
	 * filter, which has unlinkat for the CA bundle's removal */
	unlinkat(AT_FDCWD, dir, AT_REMOVEDIR);
}

void sandboxca_free(struct sandboxca *s)
{
	size_t i;

	for (i = 0; i < SANDBOXCA_VARS; i++) {
		free(s->files[i]);
		s->files[i] = NULL;
	}
	if (s->certdir[0])
		rm_dir(s->certdir);
	if (s->dir[0])
		rm_dir(s->dir);
	s->dir[0] = s->certdir[0] = s->bundle[0] = '\0';
}
