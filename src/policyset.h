/* SPDX-License-Identifier: MIT */
/*
 * policyset.h - one loaded gateway profile with everything derived from it
 * (its secrets, its per-rule rate-limit buckets), reference-counted.
 *
 * A sandbox holds the set in force; every flow takes a reference on the
 * set that decided it.  A reload builds a new set and swaps it in: new
 * connections follow the new rules, established ones keep the set (rules,
 * secrets) they were admitted under until they close, and the last
 * reference frees it (secrets are wiped then).
 */
#ifndef ISLO_POLICYSET_H
#define ISLO_POLICYSET_H

#include <stddef.h>
#include <stdint.h>

#include "secret.h"

struct profile;

struct gw_rate {
	double tokens;
	uint64_t last;
};

struct policyset {
	unsigned refs;
	struct profile *prof;
	const struct secrets *secrets;   /* NULL when the profile has none */
	struct gw_rate *rates;           /* one bucket per rule (pf_rule.index) */
	size_t nrates;
	char *name;                      /* the profile's name, for the log */
	char *path;                      /* file it was read from, or NULL */
	uint64_t generation;             /* 1 for the first set, +1 per reload */
	/* what we own: a set built by policyset_load() owns all of it; the
	 * first set of `islo-net run` borrows main()'s profile and secrets */
	int owns_profile;
	struct secrets own_secrets;
};

/**
 * policyset_borrow() - A set around an already loaded profile and secrets
 * @prof:    Profile (not freed by the set)
 * @secrets: Its secrets, or NULL (not freed by the set)
 * @name:    Name for the log
 * @path:    File it came from, or NULL (then it cannot be reloaded)
 * Return: the set with one reference, or NULL (out of memory)
 */
struct policyset *policyset_borrow(struct profile *prof,
				   const struct secrets *secrets,
				   const char *name, const char *path);

/**
 * policyset_own() - A set that owns @prof (freed with it); no secrets
 * @prof: Profile (freed by the set, or here if it fails)
 * @name: Name for the log
 * Return: the set with one reference, or NULL (out of memory)
 */
struct policyset *policyset_own(struct profile *prof, const char *name);

/**
 * policyset_load() - Read a profile file and load the secrets it names
 * @path:   Profile file
 * @name:   Name to log it under (NULL: the profile's own name)
 * @err:    "FILE:LINE:COLUMN: why" on error
 * @errlen: Size of @err
 * Return: the set with one reference, or NULL on error (nothing changes)
 */
struct policyset *policyset_load(const char *path, const char *name,
				 char *err, size_t errlen);
/* policyset_load(), for a project file (projtrust.h): used only if the
 * record @trust_file has its bytes' hash; NULL: no such check. */
struct policyset *policyset_load_ex(const char *path, const char *name,
				    const char *trust_file, char *err,
				    size_t errlen);

struct policyset *policyset_ref(struct policyset *ps);
/* policyset_unref() - Drop a reference; the last one frees (NULL is fine). */
void policyset_unref(struct policyset *ps);

#endif
