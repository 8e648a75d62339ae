// SPDX-License-Identifier: MIT
/* cli_trust.c - `islo-net trust`: the record of trusted project files
 * (projtrust.h); see cli.h. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "projtrust.h"
#include "resolve.h"

/* Record (or forget) one file in the trust record; print what was done. */
static int trust_one(struct projtrust *t, const char *path, int forget)
{
	char err[1024], esc[PATH_MAX * 4 + 8];
	size_t len = 0;
	char *buf = NULL;

	log_escape(path, strlen(path), esc, sizeof(esc));
	if (!forget) {
		buf = projtrust_read(path, &len, err, sizeof(err));
		if (!buf) {
			fprintf(stderr, "islo-net trust: %s\n", err);
			return -1;
		}
	} else if (!projtrust_known(t, path)) {
		fprintf(stderr, "islo-net trust: %s is not in the trust record\n",
			esc);
		return -1;
	}
	if (projtrust_set(t, path, buf, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net trust: %s\n", err);
		free(buf);
		return -1;
	}
	free(buf);
	printf("%s %s\n", forget ? "forgot" : "trusted", esc);
	return 0;
}

/*
 * islo-net trust [--forget | --list] [PATH...]: with no PATH, the files
 * that decide this directory's policy and need trust (its islo.yaml, a
 * profile kept in the project).
 */
int cmd_trust(int argc, char **argv)
{
	struct projtrust t;
	char err[4096];
	const char *pdir = NULL;
	int forget = 0, list = 0, i = 2, rc = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--profiles-dir") && i + 1 < argc)
			pdir = argv[++i];
		else if (!strcmp(argv[i], "--forget"))
			forget = 1;
		else if (!strcmp(argv[i], "--list"))
			list = 1;
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			fprintf(stderr, "Usage: islo-net trust [--forget | --list] "
				"[--profiles-dir DIR] [PATH...]\n");
			return 2;
		}
	}
	if (projtrust_open(&t, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net trust: %s\n", err);
		return 1;
	}
	if (list) {
		size_t k;

		for (k = 0; k < t.n; k++) {
			char esc[PATH_MAX * 4 + 8];

			log_escape(t.e[k].path, strlen(t.e[k].path), esc, sizeof(esc));
			printf("%s\n", esc);
		}
	} else if (i < argc) {
		for (; i < argc; i++)
			if (trust_one(&t, argv[i], forget) < 0)
				rc = 1;
	} else if (forget) {
		fprintf(stderr, "islo-net trust --forget: name the files\n");
		rc = 2;
	} else {
		/* what decides here, resolved without the trust checks */
		struct resolve_info info = { 0 };
		char cwd[PATH_MAX], *path = NULL, *name = NULL;
		int r;

		if (!getcwd(cwd, sizeof(cwd)))
			die("getcwd: %s", strerror(errno));
		r = profile_resolve_ex(NULL, pdir, cwd, NULL, &path, &name,
				       &info, err, sizeof(err));
		if (r < 0 && info.islo_yaml) {
			/* the islo.yaml is what the user reviewed; the profile
			 * it names is looked up at each run */
			rc = trust_one(&t, info.islo_yaml, 0) < 0;
			fprintf(stderr, "islo-net trust: warning: %s\n", err);
		} else if (r < 0) {
			fprintf(stderr, "islo-net trust: %s\n", err);
			rc = 1;
		} else if (!info.islo_yaml) {
			fprintf(stderr, "islo-net trust: no islo.yaml here or "
				"above: name the files to trust\n");
			rc = 1;
		} else {
			rc = trust_one(&t, info.islo_yaml, 0) < 0;
			if (!rc && r > 0 && info.needs_trust)
				rc = trust_one(&t, path, 0) < 0;
		}
		free(info.islo_yaml);
		free(path);
		free(name);
	}
	projtrust_free(&t);
	return rc;
}
