/* SPDX-License-Identifier: MIT */
/*
 * sandboxca.h - what a sandbox trusts when a profile intercepts TLS.
 *
 * The sandbox must trust the islo-net CA, and keep trusting what the user
 * trusted.  So:
 *   - the system bundle it sees is the system's plus the islo-net CA
 *     (mounted over it by ns.c);
 *   - each of SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE,
 *     NODE_EXTRA_CA_CERTS, GIT_SSL_CAINFO and AWS_CA_BUNDLE (botocore, the
 *     aws CLI) that the user set to a file
 *     names a copy of that file plus the islo-net CA; one not set names
 *     the system bundle (which now includes the islo-net CA);
 *   - /etc/ssl/certs, the hashed directory `openssl -CApath` and OpenSSL's
 *     default lookup use, also has the islo-net CA under its subject hash
 *     (HASH.N, as `openssl rehash` names it), by a read-only overlay of a
 *     directory of ours on top of the system's.
 * Files are made in a private temporary directory (in $TMPDIR, else
 * /tmp); sandboxca_free() removes them.
 */
#ifndef ISLO_SANDBOXCA_H
#define ISLO_SANDBOXCA_H

#include <stddef.h>

struct ca;

#define SANDBOXCA_VARS 6

struct sandboxca {
	char dir[256];                /* our temporary directory ($TMPDIR or
				       * /tmp), or "" */
	char bundle[288];             /* system bundle + the islo-net CA */
	char certdir[288];            /* HASH.N + ca-certificates.crt */
	char *files[SANDBOXCA_VARS];  /* per variable, or NULL */
};

/*
 * sandboxca_prepare() - Write the files and set CMD's variables
 * @s:    Result
 * @ca:   The islo-net CA
 * @env:  CMD's environment (malloc'd array, as secrets_child_env() makes);
 *        its variables are read and replaced
 * Return: 0, or -1 with @err
 */
int sandboxca_prepare(struct sandboxca *s, const struct ca *ca, char ***env,
		      char *err, size_t errlen);
void sandboxca_free(struct sandboxca *s);
/* The file name for @der's subject in a hashed directory: "HASH.0" (the
 * lowest N free in @sysdir).  Return: 0, or -1 */
int sandboxca_hash_name(const unsigned char *der, size_t len,
			const char *sysdir, char *out, size_t size);

#endif
