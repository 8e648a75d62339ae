// SPDX-License-Identifier: MIT
/* test_secretcmd.c - cmd: secrets (src/secretcmd.c) and their profile key. */
#include "unit.h"
#include "profile.h"
#include "secretcmd.h"

#include <stdint.h>
#include <stdlib.h>

/* Split @cmd and join the words with '|', or "ERR:" and the message. */
static const char *split(const char *cmd)
{
	static char out[512];
	char err[200], **v;
	size_t o = 0;
	int n, i;

	n = secret_cmd_split(cmd, &v, err, sizeof(err));
	if (n < 0) {
		snprintf(out, sizeof(out), "ERR:%s", err);
		return out;
	}
	out[0] = '\0';
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s|", v[i]);
	CHECK(v[n] == NULL);
	secret_cmd_free(v);
	return out;
}

TEST(secret_cmd_split_words)
{
	CHECK_STR(split("gh auth token"), "gh|auth|token|");
	CHECK_STR(split("  /usr/bin/pass\tshow   api/key  "), "/usr/bin/pass|show|api/key|");
	CHECK_STR(split("op read \"op://vault/my item/password\""),
		  "op|read|op://vault/my item/password|");
	CHECK_STR(split("prog \"\" x"), "prog||x|");
	CHECK_STR(split("prog a$b `c` ;d"), "prog|a$b|`c`|;d|");
}

TEST(secret_cmd_split_refusals)
{
	char many[400] = "p";
	int i;

	CHECK(!strncmp(split(""), "ERR:cmd: no program", 19));
	CHECK(!strncmp(split("   "), "ERR:cmd: no program", 19));
	CHECK(strstr(split("prog 'a b'"), "single quote") != NULL);
	CHECK(strstr(split("prog a\\ b"), "backslash") != NULL);
	CHECK(strstr(split("prog \"a b"), "not closed") != NULL);
	CHECK(strstr(split("prog a\"b\""), "inside a word") != NULL);
	CHECK(strstr(split("prog \"a\"b"), "after a closing") != NULL);
	CHECK(strstr(split("prog a\nb"), "control character") != NULL);
	CHECK(strstr(split("./prog"), "relative path") != NULL);
	CHECK(strstr(split("bin/prog"), "relative path") != NULL);
	for (i = 0; i < 70; i++)
		strcat(many, " a");
	CHECK(strstr(split(many), "more than 64 words") != NULL);
}

TEST(secret_cmd_run_output)
{
	char *argv[] = { "/bin/sh", "-c", "printf '  tok en \\n\\n'", NULL };
	char *bad[] = { "/bin/sh", "-c", "echo no >&2; printf xx; exit 4", NULL };
	char *big[] = { "/bin/sh", "-c", "head -c 100 /dev/zero", NULL };
	char *slow[] = { "/bin/sh", "-c", "exec sleep 5", NULL };
	char *env[] = { "/bin/sh", "-c", "printf %s \"$UNIT_X-$UNIT_Y\"", NULL };
	char *names[] = { "UNIT_X", NULL };
	uint8_t out[65];
	char err[300];
	size_t len;

	CHECK(!secret_cmd_run(argv, NULL, 5000, out, sizeof(out), &len, err, sizeof(err)));
	CHECK(len == 6 && !memcmp(out, "tok en", 6));
	CHECK(secret_cmd_run(bad, NULL, 5000, out, sizeof(out), &len, err, sizeof(err)) < 0);
	CHECK(strstr(err, "status 4; stderr: no") && !strstr(err, "xx"));
	CHECK(secret_cmd_run(big, NULL, 5000, out, sizeof(out), &len, err, sizeof(err)) < 0);
	CHECK(strstr(err, "more than 64 bytes") != NULL);
	CHECK(secret_cmd_run(slow, NULL, 200, out, sizeof(out), &len, err, sizeof(err)) < 0);
	CHECK(strstr(err, "did not finish in time") != NULL);
	setenv("UNIT_X", "x1", 1);
	setenv("UNIT_Y", "y1", 1);
	CHECK(!secret_cmd_run(env, names, 5000, out, sizeof(out), &len, err, sizeof(err)));
	CHECK(len == 3 && !memcmp(out, "x1-", 3));
}

TEST(secret_cmd_profile_key)
{
	static const char head[] =
		"rules:\n  - name: a\n    host_pattern: a.example\n"
		"    auth_strategy:\n      mode: bearer\n      secret: ";
	char y[600], err[512];
	struct profile *p;

	snprintf(y, sizeof(y), "%s\"cmd:gh auth token\"\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p != NULL);
	profile_free(p);
	snprintf(y, sizeof(y), "%s\"cmd:gh 'auth' token\"\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p == NULL && strstr(err, "t.yaml:6") && strstr(err, "single quote"));
	snprintf(y, sizeof(y), "%s\"cmd:\"\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p == NULL && strstr(err, "no program"));
}

TEST(secret_cmd_secret_env_key)
{
	static const char head[] =
		"rules:\n  - name: a\n    host_pattern: a.example\n"
		"    auth_strategy:\n      mode: bearer\n";
	char y[600], err[512];
	struct profile *p;

	snprintf(y, sizeof(y), "%s      secret: \"cmd:gh auth token\"\n"
		 "      secret_env: [GH_HOST, XDG_CONFIG_HOME]\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	REQUIRE(p != NULL);
	CHECK(p->rules[0].auth->nsecret_env == 2);
	CHECK_STR(p->rules[0].auth->secret_env[1], "XDG_CONFIG_HOME");
	profile_free(p);
	snprintf(y, sizeof(y), "%s      secret: \"cmd:gh auth token\"\n"
		 "      secret_env: GH_HOST\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p != NULL && p->rules[0].auth->nsecret_env == 1);
	profile_free(p);
	snprintf(y, sizeof(y), "%s      secret: env:A\n"
		 "      secret_env: [GH_HOST]\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p == NULL && strstr(err, "t.yaml:7") &&
	      strstr(err, "'secret_env' is only for a cmd: secret"));
	snprintf(y, sizeof(y), "%s      secret: \"cmd:x\"\n"
		 "      secret_env: [\"1BAD\"]\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p == NULL && strstr(err, "environment variable names"));
	snprintf(y, sizeof(y), "%s      secret: \"cmd:x\"\n"
		 "      secret_env: []\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p == NULL && strstr(err, "at least one name"));
}
