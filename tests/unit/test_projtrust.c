// SPDX-License-Identifier: MIT
/*
 * test_projtrust.c - the trust record of project files, and the plan of
 * mounts that keeps islo-net's files from CMD (what it pins).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine.h"
#include "projtrust.h"
#include "resolve.h"
#include "unit.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/islo-unit-trust.XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void rmrf(const char *d)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	CHECK(system(cmd) == 0);
}

TEST(projtrust_records_content_not_names)
{
	char *d = tmpdir(), rec[PATH_MAX], f[PATH_MAX], canon[PATH_MAX], err[256];
	struct projtrust t, t2;

	REQUIRE(d);
	snprintf(rec, sizeof(rec), "%s/state/islo-net/trusted", d);
	snprintf(f, sizeof(f), "%s/islo.yaml", d);
	REQUIRE(projtrust_open(&t, rec, err, sizeof(err)) == 0);
	CHECK(t.n == 0);                       /* missing record: empty */
	CHECK(!projtrust_known(&t, f));
	CHECK(!projtrust_ok(&t, f, "a", 1));
	REQUIRE(projtrust_set(&t, f, "gateway_profile: x\n", 19, err, sizeof(err)) == 0);
	CHECK(projtrust_known(&t, f));
	CHECK(projtrust_ok(&t, f, "gateway_profile: x\n", 19));
	CHECK(!projtrust_ok(&t, f, "gateway_profile: y\n", 19));
	CHECK(!projtrust_ok(&t, f, "gateway_profile: x\n", 18));
	/* the same file named another way is the same record */
	snprintf(canon, sizeof(canon), "%s/./islo.yaml", d);
	CHECK(projtrust_ok(&t, canon, "gateway_profile: x\n", 19));
	/* saved, mode 0600, and read back */
	{
		struct stat st;

		CHECK(stat(rec, &st) == 0 && (st.st_mode & 0777) == 0600);
	}
	REQUIRE(projtrust_open(&t2, rec, err, sizeof(err)) == 0);
	CHECK(t2.n == 1 && projtrust_ok(&t2, f, "gateway_profile: x\n", 19));
	/* re-trusting replaces; forgetting removes */
	REQUIRE(projtrust_set(&t2, f, "z", 1, err, sizeof(err)) == 0);
	CHECK(t2.n == 1 && projtrust_ok(&t2, f, "z", 1) &&
	      !projtrust_ok(&t2, f, "gateway_profile: x\n", 19));
	REQUIRE(projtrust_set(&t2, f, NULL, 0, err, sizeof(err)) == 0);
	CHECK(t2.n == 0 && !projtrust_known(&t2, f));
	projtrust_free(&t2);
	projtrust_free(&t);
	/* a record with junk lines: they are ignored, never trusted */
	put(rec, "not a line\n0000 /x\n"
		 "zz00000000000000000000000000000000000000000000000000000000000000 /y\n");
	REQUIRE(projtrust_open(&t, rec, err, sizeof(err)) == 0);
	CHECK(t.n == 0);
	projtrust_free(&t);
	/* names that cannot be recorded */
	CHECK(projtrust_canon("", canon, sizeof(canon)) < 0);
	CHECK(projtrust_canon("/no/such/dir/x", canon, sizeof(canon)) < 0);
	rmrf(d);
	free(d);
}

TEST(projtrust_read_refuses_what_is_not_a_small_file)
{
	char *d = tmpdir(), err[256], *buf;
	size_t len;

	REQUIRE(d);
	CHECK(projtrust_read(d, &len, err, sizeof(err)) == NULL);   /* a dir */
	CHECK(projtrust_read("/nonexistent/x", &len, err, sizeof(err)) == NULL);
	{
		char f[PATH_MAX];

		snprintf(f, sizeof(f), "%s/f", d);
		put(f, "abc");
		buf = projtrust_read(f, &len, err, sizeof(err));
		CHECK(buf && len == 3 && !strcmp(buf, "abc"));
		free(buf);
		CHECK(truncate(f, (off_t)PROJTRUST_MAX_FILE + 1) == 0);
		CHECK(projtrust_read(f, &len, err, sizeof(err)) == NULL);
	}
	rmrf(d);
	free(d);
}

TEST(resolve_with_trust_refuses_untrusted_and_vanished_project_files)
{
	char *d = tmpdir(), rec[PATH_MAX], proj[PATH_MAX], sub[PATH_MAX];
	char y[PATH_MAX], err[4096], *path = NULL, *name = NULL;
	struct resolve_info info = { 0 };
	struct projtrust t;
	int r;

	REQUIRE(d);
	snprintf(rec, sizeof(rec), "%s/trusted", d);
	snprintf(proj, sizeof(proj), "%s/proj", d);
	snprintf(sub, sizeof(sub), "%s/proj/sub", d);
	snprintf(y, sizeof(y), "%s/proj/islo.yaml", d);
	CHECK(mkdir(proj, 0755) == 0 && mkdir(sub, 0755) == 0);
	put(y, "gateway_profile: p.yaml\n");
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/proj/p.yaml", d);
		put(p, "name: p\n");
	}
	REQUIRE(projtrust_open(&t, rec, err, sizeof(err)) == 0);
	/* untrusted islo.yaml: an error naming it and the command */
	r = profile_resolve_ex(NULL, NULL, sub, &t, &path, &name, &info, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "is not trusted") && strstr(err, "islo-net trust"));
	free(info.islo_yaml);
	info.islo_yaml = NULL;
	/* trusted: resolved; the path it names is the project's */
	REQUIRE(projtrust_set(&t, y, "gateway_profile: p.yaml\n", 24, err, sizeof(err)) == 0);
	r = profile_resolve_ex(NULL, NULL, sub, &t, &path, &name, &info, err, sizeof(err));
	if (r != 1)
		fprintf(stderr, "resolve: %s\n", err);
	CHECK(r == 1 && info.needs_trust && info.islo_yaml && strstr(info.islo_yaml, "islo.yaml"));
	free(path);
	free(name);
	free(info.islo_yaml);
	info.islo_yaml = NULL;
	path = name = NULL;
	/* a nearer trusted islo.yaml that is gone: an error, not the parent's */
	{
		char sy[PATH_MAX + 16];

		snprintf(sy, sizeof(sy), "%s/islo.yaml", sub);
		REQUIRE(projtrust_set(&t, sy, "x", 1, err, sizeof(err)) == 0);
	}
	r = profile_resolve_ex(NULL, NULL, sub, &t, &path, &name, &info, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "has disappeared"));
	free(info.islo_yaml);
	info.islo_yaml = NULL;
	/* the flag names the profile: islo.yaml is not consulted */
	r = profile_resolve_ex("/nonexistent/x.yaml", NULL, sub, &t, &path, &name,
			       &info, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "no such file") && !info.islo_yaml);
	projtrust_free(&t);
	rmrf(d);
	free(d);
}

TEST(confine_pins_the_parents_a_user_could_rename)
{
	char *d = tmpdir(), a[PATH_MAX], f[PATH_MAX];
	struct confine c;
	size_t i;
	int found = 0;

	REQUIRE(d);
	memset(&c, 0, sizeof(c));
	snprintf(a, sizeof(a), "%s/a/b", d);
	confine_mkdirs(a);
	snprintf(f, sizeof(f), "%s/a/b/f", d);
	put(f, "x");
	CHECK(confine_protect(&c, f) == 0);
	CHECK(c.nro == 1 && !strcmp(c.ro[0], f));
	for (i = 0; i < c.npin; i++) {
		CHECK(strcmp(c.pin[i], "/") != 0);
		if (!strcmp(c.pin[i], a))
			found = 1;
	}
	CHECK(found);                          /* a/b: its parent is ours */
	/* the same path twice is one entry; a missing path is nothing */
	CHECK(confine_protect(&c, f) == 0 && c.nro == 1);
	CHECK(confine_hide(&c, "/nonexistent/secret") == 0 && c.nhide == 0);
	confine_free(&c);
	rmrf(d);
	free(d);
}
