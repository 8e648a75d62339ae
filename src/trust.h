/* SPDX-License-Identifier: MIT */
/*
 * trust.h - trust anchors for BearSSL's X.509 "minimal" engine, read from
 * PEM bundles (the system's, --upstream-ca files, the islo-net CA).
 */
#ifndef ISLO_TRUST_H
#define ISLO_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

/**
 * struct trust - a growing array of trust anchors, owned
 * @ta:      Anchors; give @ta and @n to br_x509_minimal_init()
 * @n:       Anchors in use
 * @cap:     Allocated
 * @skipped: Certificates seen that BearSSL could not decode (not fatal)
 *
 * Zero-initialise before the first trust_add_*(); trust_free() after.
 */
struct trust {
	br_x509_trust_anchor *ta;
	size_t n, cap;
	size_t skipped;
};

/* The system bundles, most common first; the first that exists is used. */
extern const char *const trust_system_bundles[];

int trust_add_der(struct trust *t, const void *der, size_t len);
int trust_add_pem_file(struct trust *t, const char *path, char *err,
		       size_t errlen);
int trust_add_system(struct trust *t, char *err, size_t errlen);
const char *trust_system_bundle(void);
void trust_free(struct trust *t);

/**
 * typedef trust_pem_cb - called for each object of a PEM text
 * @ctx:  Caller's context
 * @name: Banner ("CERTIFICATE", "EC PRIVATE KEY", ...)
 * @der:  Decoded bytes (zeroed after the call: may be a secret)
 * @len:  Their length
 * Return: 0 to go on, non-zero to stop (trust_pem_each() returns it)
 */
typedef int (*trust_pem_cb)(void *ctx, const char *name, const uint8_t *der,
			    size_t len);

int trust_pem_each(const void *pem, size_t len, trust_pem_cb cb, void *ctx);
int trust_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);

#endif
