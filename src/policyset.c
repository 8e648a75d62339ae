// SPDX-License-Identifier: MIT
/* policyset.c - reference-counted profile + secrets + rate buckets. */
#include "policyset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "projtrust.h"

static struct policyset *ps_new(struct profile *prof, const char *name,
				const char *path)
{
	struct policyset *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	ps->refs = 1;
	ps->prof = prof;
	ps->generation = 1;
	ps->nrates = prof ? prof->nrules : 0;
	ps->rates = calloc(ps->nrates ? ps->nrates : 1, sizeof(*ps->rates));
	ps->name = strdup(name ? name : (prof && prof->name ? prof->name : ""));
	ps->path = path ? strdup(path) : NULL;
	if (!ps->rates || !ps->name || (path && !ps->path)) {
		free(ps->rates);
		free(ps->name);
		free(ps->path);
		free(ps);
		return NULL;
	}
	return ps;
}

struct policyset *policyset_borrow(struct profile *prof,
				   const struct secrets *secrets,
				   const char *name, const char *path)
{
	struct policyset *ps = ps_new(prof, name, path);

	if (ps)
		ps->secrets = secrets && secrets->n ? secrets : NULL;
	return ps;
}

/* The profile at @path, parsed from bytes whose hash @trust_file records
 * (projtrust.h), or NULL with @err. */
static struct profile *load_trusted(const char *path, const char *trust_file,
				    char *err, size_t errlen)
{
	struct profile *p = NULL;
	struct projtrust t;
	size_t len;
	char *buf;

	if (projtrust_open(&t, trust_file, err, errlen) < 0)
		return NULL;
	buf = projtrust_read(path, &len, err, errlen);
	if (buf && !projtrust_ok(&t, path, buf, len))
		snprintf(err, errlen, "%s is not trusted (new or changed since "
			 "`islo-net trust`)", path);
	else if (buf)
		p = profile_parse(buf, len, path, err, errlen);
	free(buf);
	projtrust_free(&t);
	return p;
}

struct policyset *policyset_load(const char *path, const char *name,
				 char *err, size_t errlen)
{
	return policyset_load_ex(path, name, NULL, err, errlen);
}

struct policyset *policyset_load_ex(const char *path, const char *name,
				    const char *trust_file, char *err,
				    size_t errlen)
{
	struct profile *p = trust_file ? load_trusted(path, trust_file, err, errlen) :
					 profile_load(path, err, errlen);
	struct policyset *ps;

	if (!p)
		return NULL;
	ps = ps_new(p, name, path);
	if (!ps) {
		profile_free(p);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	ps->owns_profile = 1;
	if (secrets_load_profile(&ps->own_secrets, p, err, errlen) < 0) {
		policyset_unref(ps);
		return NULL;
	}
	if (ps->own_secrets.n) {
		ps->secrets = &ps->own_secrets;
		secrets_no_core();
	}
	return ps;
}

struct policyset *policyset_own(struct profile *prof, const char *name)
{
	struct policyset *ps = prof ? ps_new(prof, name, NULL) : NULL;

	if (!ps) {
		profile_free(prof);
		return NULL;
	}
	ps->owns_profile = 1;
	return ps;
}

struct policyset *policyset_ref(struct policyset *ps)
{
	if (ps)
		ps->refs++;
	return ps;
}

void policyset_unref(struct policyset *ps)
{
	if (!ps || --ps->refs)
		return;
	secrets_free(&ps->own_secrets);
	if (ps->owns_profile)
		profile_free(ps->prof);
	free(ps->rates);
	free(ps->name);
	free(ps->path);
	free(ps);
}
