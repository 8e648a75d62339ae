// SPDX-License-Identifier: MIT
/* test_resolve.c - which profile applies (src/resolve.c). */
#include "unit.h"
#include "resolve.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A scratch tree and the environment variables the resolver reads. */
struct rt {
	char root[64];
	char *saved[3];
};

static const char *const env_names[3] = {
	"ISLO_PROFILES_PATH", "XDG_CONFIG_HOME", "HOME",
};

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void mkdirs(const struct rt *t, const char *rel)
{
	char path[512], *s;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	for (s = path + strlen(t->root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0700);
		*s = '/';
	}
	mkdir(path, 0700);
}

static void put(const struct rt *t, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "cannot write %s\n", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static char *at(const struct rt *t, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", t->root, rel);
	return buf;
}

static int rt_setup(struct rt *t)
{
	char b[512], c[1024];
	int i;

	snprintf(t->root, sizeof(t->root), "/tmp/islo-resolve-XXXXXX");
	if (!mkdtemp(t->root))
		return -1;
	for (i = 0; i < 3; i++) {
		const char *v = getenv(env_names[i]);

		t->saved[i] = v ? strdup(v) : NULL;
	}
	mkdirs(t, "proj/sub/deep");
	mkdirs(t, "proj/other");
	mkdirs(t, "flagdir");
	mkdirs(t, "envA");
	mkdirs(t, "envB");
	mkdirs(t, "xdg/islo/profiles");
	mkdirs(t, "home");
	mkdirs(t, "empty");
	mkdirs(t, "proj/sub/deep/profiles");
	put(t, "proj/islo.yaml",
	    "# Islo project settings\n"
	    "image: debian:12\n"
	    "env: {A: 1, B: [x, y]}\n"
	    "anchors: &a {k: v}\n"
	    "again: *a\n"
	    "gateway_profile: team\n"
	    "? [complex, key]\n"
	    ": value\n");
	put(t, "proj/other/islo.yaml", "image: alpine\n");
	put(t, "flagdir/fast.yaml", "{}\n");
	put(t, "flagdir/team.yaml", "{}\n");
	put(t, "envA/alpha.yaml", "{}\n");
	put(t, "envB/team.yaml", "{}\n");
	put(t, "envB/README.md", "not a profile\n");
	put(t, "envB/.hidden.yaml", "{}\n");
	mkdirs(t, "envB/dir.yaml");
	put(t, "xdg/islo/profiles/xdgprof.yml", "{}\n");
	put(t, "proj/sub/deep/profiles/local.yaml", "{}\n");
	snprintf(c, sizeof(c), "%s:%s", at(t, "envA", b, sizeof(b)), "");
	snprintf(c + strlen(c), sizeof(c) - strlen(c), ":%s", at(t, "envB", b, sizeof(b)));
	setenv("ISLO_PROFILES_PATH", c, 1);
	setenv("XDG_CONFIG_HOME", at(t, "xdg", b, sizeof(b)), 1);
	setenv("HOME", at(t, "home", b, sizeof(b)), 1);
	return 0;
}

static void rt_teardown(struct rt *t)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (t->saved[i])
			setenv(env_names[i], t->saved[i], 1);
		else
			unsetenv(env_names[i]);
		free(t->saved[i]);
	}
	nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TEST(resolve_precedence)
{
	char cwd[512], dir[512], want[512], err[4096];
	char *path = NULL, *name = NULL;
	struct rt t;
	int r;

	REQUIRE(!rt_setup(&t));
	at(&t, "proj/sub/deep", cwd, sizeof(cwd));

	/* Flag beats islo.yaml; --profiles-dir is searched first. */
	r = profile_resolve("team", at(&t, "flagdir", dir, sizeof(dir)), cwd,
			    &path, &name, err, sizeof(err));
	CHECK(r == 1);
	CHECK_STR(path, at(&t, "flagdir/team.yaml", want, sizeof(want)));
	CHECK_STR(name, "team");
	free(path);
	free(name);

	r = profile_resolve("fast", dir, cwd, &path, &name, err, sizeof(err));
	CHECK(r == 1);
	CHECK_STR(name, "fast");
	free(path);
	free(name);

	/* No flag: islo.yaml two directories up names "team"; found in envB
	 * ($ISLO_PROFILES_PATH, after envA and an empty entry). */
	r = profile_resolve(NULL, NULL, cwd, &path, &name, err, sizeof(err));
	if (r != 1)
		fprintf(stderr, "%s\n", err);
	CHECK(r == 1);
	CHECK_STR(path, at(&t, "envB/team.yaml", want, sizeof(want)));
	CHECK_STR(name, "team");
	free(path);
	free(name);

	/* ... and --profiles-dir still comes first for it. */
	r = profile_resolve(NULL, dir, cwd, &path, &name, err, sizeof(err));
	CHECK(r == 1);
	CHECK_STR(path, at(&t, "flagdir/team.yaml", want, sizeof(want)));
	free(path);
	free(name);

	/* ./profiles (relative to cwd) and $XDG_CONFIG_HOME, .yml accepted. */
	r = profile_resolve("local", NULL, cwd, &path, &name, err, sizeof(err));
	CHECK(r == 1);
	CHECK_STR(path, at(&t, "proj/sub/deep/profiles/local.yaml", want, sizeof(want)));
	free(path);
	free(name);
	r = profile_resolve("xdgprof", NULL, cwd, &path, &name, err, sizeof(err));
	CHECK(r == 1);
	CHECK_STR(path, at(&t, "xdg/islo/profiles/xdgprof.yml", want, sizeof(want)));
	CHECK_STR(name, "xdgprof");
	free(path);
	free(name);

	/* The nearest islo.yaml decides: this one names no profile. */
	path = name = NULL;
	r = profile_resolve(NULL, NULL, at(&t, "proj/other", dir, sizeof(dir)),
			    &path, &name, err, sizeof(err));
	CHECK(r == 0);
	CHECK(path == NULL && name == NULL);

	/* No islo.yaml anywhere up the tree: no gateway. */
	r = profile_resolve(NULL, NULL, at(&t, "empty", dir, sizeof(dir)),
			    &path, &name, err, sizeof(err));
	CHECK(r == 0);
	rt_teardown(&t);
}

TEST(resolve_direct_paths)
{
	char cwd[512], want[512], err[4096];
	char *path = NULL, *name = NULL;
	struct rt t;
	int r;

	REQUIRE(!rt_setup(&t));
	at(&t, "proj/sub/deep", cwd, sizeof(cwd));
	r = profile_resolve(at(&t, "flagdir/fast.yaml", want, sizeof(want)), NULL,
			    cwd, &path, &name, err, sizeof(err));
	CHECK(r == 1);
	CHECK_STR(path, want);
	CHECK_STR(name, "fast");
	free(path);
	free(name);

	r = profile_resolve("../../../flagdir/fast.yaml", NULL, cwd, &path, &name,
			    err, sizeof(err));
	CHECK(r == 1);
	CHECK_STR(name, "fast");
	CHECK(path && access(path, R_OK) == 0);
	free(path);
	free(name);

	/* "team.yaml" is not a file here: looked up as "team". */
	r = profile_resolve("team.yaml", NULL, cwd, &path, &name, err, sizeof(err));
	CHECK(r == 1);
	CHECK_STR(name, "team");
	free(path);
	free(name);

	r = profile_resolve("/nonexistent/dir/x.yaml", NULL, cwd, &path, &name,
			    err, sizeof(err));
	CHECK(r == -1);
	CHECK(starts(err, "Gateway profile not found: '/nonexistent/dir/x.yaml'"));
	CHECK(strstr(err, "no such file") != NULL);

	r = profile_resolve("bad name!", NULL, cwd, &path, &name, err, sizeof(err));
	CHECK(r == -1);
	CHECK(strstr(err, "Invalid gateway profile name") != NULL);
	r = profile_resolve(".hidden", NULL, cwd, &path, &name, err, sizeof(err));
	CHECK(r == -1);
	r = profile_resolve("", NULL, cwd, &path, &name, err, sizeof(err));
	CHECK(r == -1);
	rt_teardown(&t);
}

TEST(resolve_not_found_message)
{
	char cwd[512], b[512], err[4096];
	char *path = NULL, *name = NULL;
	struct stat st;
	struct rt t;
	int r;

	REQUIRE(!rt_setup(&t));
	at(&t, "proj/sub/deep", cwd, sizeof(cwd));
	r = profile_resolve("nope", at(&t, "flagdir", b, sizeof(b)), cwd, &path,
			    &name, err, sizeof(err));
	CHECK(r == -1);
	CHECK(path == NULL && name == NULL);
	CHECK(starts(err, "Gateway profile not found: 'nope' (named by --gateway-profile)"));
	CHECK(strstr(err, b) != NULL);
	CHECK(strstr(err, at(&t, "envA", b, sizeof(b))) != NULL);
	CHECK(strstr(err, at(&t, "envB", b, sizeof(b))) != NULL);
	CHECK(strstr(err, at(&t, "proj/sub/deep/profiles", b, sizeof(b))) != NULL);
	CHECK(strstr(err, at(&t, "xdg/islo/profiles", b, sizeof(b))) != NULL);
	CHECK(strstr(err, "/etc/islo/profiles") != NULL);
	/* Sorted, de-duplicated (team is in two places), no junk. */
	if (stat("/etc/islo/profiles", &st))
		CHECK(strstr(err, "available profiles: alpha, fast, local, team, xdgprof") != NULL);
	CHECK(strstr(err, "hidden") == NULL);
	CHECK(strstr(err, "README") == NULL);

	/* Named by islo.yaml: the message says which file. */
	put(&t, "proj/islo.yaml", "gateway_profile: missing-one\n");
	r = profile_resolve(NULL, NULL, cwd, &path, &name, err, sizeof(err));
	CHECK(r == -1);
	CHECK(starts(err, "Gateway profile not found: 'missing-one' (named by gateway_profile in "));
	CHECK(strstr(err, at(&t, "proj/islo.yaml:1:18", b, sizeof(b))) != NULL);

	/* Nothing anywhere. */
	setenv("ISLO_PROFILES_PATH", at(&t, "empty", b, sizeof(b)), 1);
	setenv("XDG_CONFIG_HOME", b, 1);
	r = profile_resolve("nope", NULL, at(&t, "empty", b, sizeof(b)), &path,
			    &name, err, sizeof(err));
	CHECK(r == -1);
	if (stat("/etc/islo/profiles", &st))
		CHECK(strstr(err, "no profiles exist in those places") != NULL);

	/* A tiny buffer is still NUL-terminated. */
	r = profile_resolve("nope", NULL, cwd, &path, &name, err, 16);
	CHECK(r == -1 && strlen(err) == 15);
	rt_teardown(&t);
}

TEST(resolve_bad_islo_yaml)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "gateway_profile: [a]\n", "islo.yaml:1:18: expected gateway_profile to be a profile name" },
		{ "gateway_profile: ../etc\n", "islo.yaml:1:18: expected gateway_profile to be a profile name" },
		{ "gateway_profile: a/b\n", "islo.yaml:1:18: expected gateway_profile" },
		{ "gateway_profile: .x\n", "islo.yaml:1:18: expected gateway_profile" },
		{ "gateway_profile:\n", "islo.yaml:1:17: expected gateway_profile" },
		{ "gateway_profile: ''\n", "islo.yaml:1:18: expected gateway_profile" },
		{ "gateway_profile: a\ngateway_profile: b\n", "islo.yaml:2:1: expected gateway_profile once" },
		{ "- a\n- b\n", "islo.yaml:1:1: expected a mapping" },
		{ "gateway_profile: a\n---\nx: 1\n", "islo.yaml:2:1: expected a single YAML document" },
		{ "x: [1\n", "islo.yaml:2:1: invalid YAML" },
	};
	char cwd[512], err[4096];
	char *path = NULL, *name = NULL;
	struct rt t;
	size_t i;
	int r;

	REQUIRE(!rt_setup(&t));
	at(&t, "proj/sub/deep", cwd, sizeof(cwd));
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		put(&t, "proj/islo.yaml", cases[i].text);
		r = profile_resolve(NULL, NULL, cwd, &path, &name, err, sizeof(err));
		CHECK(r == -1);
		if (!strstr(err, cases[i].want)) {
			fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i, err, cases[i].want);
			CHECK(0);
		}
	}
	/* Empty islo.yaml: no gateway.  The flag still wins over a bad one. */
	put(&t, "proj/islo.yaml", "");
	CHECK(profile_resolve(NULL, NULL, cwd, &path, &name, err, sizeof(err)) == 0);
	put(&t, "proj/islo.yaml", "gateway_profile: [broken\n");
	r = profile_resolve("team", NULL, cwd, &path, &name, err, sizeof(err));
	CHECK(r == 1);
	free(path);
	free(name);
	rt_teardown(&t);
}
