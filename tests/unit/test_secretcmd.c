// SPDX-License-Identifier: MIT
/* test_secretcmd.c - cmd: secrets (src/secretcmd.c) and their profile key. */
#include "unit.h"
#include "profile.h"
#include "secret.h"
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

/* `secret_ttl:` only next to a cmd: secret, a whole number of seconds. */
TEST(secret_cmd_secret_ttl_key)
{
	static const char head[] =
		"rules:\n  - name: a\n    host_pattern: a.example\n"
		"    auth_strategy:\n      mode: bearer\n";
	static const char *const bad[] = { "0", "-5", "1.5", "\"60\"", "3000s",
					   "604801", "99999999999999999999",
					   "[60]", "~" };
	char y[700], err[512];
	struct profile *p;
	size_t i;

	snprintf(y, sizeof(y), "%s      secret: \"cmd:gh auth token\"\n"
		 "      secret_ttl: 3000\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	REQUIRE(p != NULL);
	CHECK(p->rules[0].auth->secret_ttl == 3000);
	profile_free(p);
	snprintf(y, sizeof(y), "%s      secret: \"cmd:gh auth token\"\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	REQUIRE(p != NULL);
	CHECK(p->rules[0].auth->secret_ttl == 0);   /* run once */
	profile_free(p);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(y, sizeof(y), "%s      secret: \"cmd:x\"\n"
			 "      secret_ttl: %s\n", head, bad[i]);
		p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
		CHECK(p == NULL && strstr(err, "t.yaml:7") &&
		      strstr(err, "'secret_ttl' to be an integer from 1 to 604800"));
		profile_free(p);
	}
	/* not for a secret that no program prints */
	snprintf(y, sizeof(y), "%s      secret: env:A\n      secret_ttl: 60\n",
		 head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p == NULL && strstr(err, "t.yaml:7") &&
	      strstr(err, "'secret_ttl' is only for a cmd: secret"));
	snprintf(y, sizeof(y), "%s      secret: \"file:/run/tok\"\n"
		 "      secret_ttl: 60\n", head);
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p == NULL && strstr(err, "re-read when its file changes"));
	/* aws_sigv4: any of its keys from a program will do */
	snprintf(y, sizeof(y),
		 "rules:\n  - name: a\n    host_pattern: s3.us-east-1.amazonaws.com\n"
		 "    auth_strategy:\n      mode: aws_sigv4\n"
		 "      secret: env:K\n      access_key_id: env:I\n"
		 "      session_token: \"cmd:aws-token\"\n"
		 "      secret_ttl: 900\n");
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p != NULL && p->rules[0].auth->secret_ttl == 900);
	profile_free(p);
	/* postgres password */
	snprintf(y, sizeof(y),
		 "rules:\n  - name: db\n    host_pattern: db.example\n"
		 "    postgres:\n      user: app\n      database: app\n"
		 "      password: \"cmd:vault read\"\n      secret_ttl: 600\n");
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p != NULL && p->rules[0].pg->secret_ttl == 600);
	profile_free(p);
	snprintf(y, sizeof(y),
		 "rules:\n  - name: db\n    host_pattern: db.example\n"
		 "    postgres:\n      user: app\n      database: app\n"
		 "      password: env:PW\n      secret_ttl: 600\n");
	p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));
	CHECK(p == NULL && strstr(err, "t.yaml:8") &&
	      strstr(err, "'secret_ttl' is only for a cmd: password"));
}

/* A value a program prints later: checked as at load, put in place; a
 * value past its secret_ttl is not used, with a reason. */
TEST(secret_cmd_replace_and_stale)
{
	static const uint8_t ctl[] = "a\nb";
	char err[512];
	struct secret s;
	const uint8_t *at;
	uint64_t t;

	REQUIRE(secret_load_env(&s, "cmd:echo first-value", NULL, err,
				sizeof(err)) == 0);
	at = s.val;
	CHECK(s.len == 11 && s.cap == SECRET_MAX);
	CHECK(secret_stale(&s, s.fetched_ms + 100000000) == NULL); /* no TTL */
	s.ttl_ms = 1000;
	t = s.fetched_ms;
	CHECK(secret_stale(&s, t + 999) == NULL);
	s.run = SECRET_RUN_BUSY;
	CHECK(strstr(secret_stale(&s, t + 1000), "being run again") != NULL);
	s.run = SECRET_RUN_FAILED;
	CHECK(strstr(secret_stale(&s, t + 1000), "last run failed") != NULL);
	s.run = SECRET_RUN_GONE;
	CHECK(strstr(secret_stale(&s, t + 1000), "fetcher has exited") != NULL);
	/* refused: the old value stays */
	CHECK(secret_replace(&s, ctl, 3, t + 5) < 0);
	CHECK(secret_replace(&s, ctl, 0, t + 5) < 0);
	s.cap = 4;
	CHECK(secret_replace(&s, (const uint8_t *)"12345", 5, t + 5) < 0);
	s.cap = 128;
	s.akid = 1;
	CHECK(secret_replace(&s, (const uint8_t *)"AK/ID", 5, t + 5) < 0);
	CHECK(s.len == 11 && !memcmp(s.val, "first-value", 11) &&
	      s.fetched_ms == t);
	/* taken: in place, the rest of the old value zeroed */
	CHECK(secret_replace(&s, (const uint8_t *)"AKID2", 5, t + 5) == 0);
	CHECK(s.val == at && s.len == 5 && !memcmp(s.val, "AKID2", 5) &&
	      s.val[5] == 0 && s.val[10] == 0 && s.fetched_ms == t + 5);
	secret_free(&s);
}

/* A reload's copy of a start-up cmd: secret follows its refreshes. */
TEST(secret_cmd_reload_copy_follows)
{
	char err[512];
	struct secret o, c;
	const uint8_t *at;

	REQUIRE(secret_load_env(&o, "cmd:echo first-value", NULL, err,
				sizeof(err)) == 0);
	REQUIRE(secret_load_env(&c, "cmd:echo first-value", NULL, err,
				sizeof(err)) == 0);
	o.ttl_ms = c.ttl_ms = 1000;
	c.origin = &o;
	at = c.val;
	CHECK(secret_replace(&o, (const uint8_t *)"v2", 2, o.fetched_ms + 7) == 0);
	o.run = SECRET_RUN_FAILED;
	secret_refresh(&c);
	CHECK(c.val == at && c.len == 2 && !memcmp(c.val, "v2", 2) &&
	      c.val[2] == 0 && c.fetched_ms == o.fetched_ms &&
	      c.run == SECRET_RUN_FAILED);
	CHECK(secret_stale(&c, c.fetched_ms + 1000) != NULL);
	secret_free(&c);
	secret_free(&o);
}
