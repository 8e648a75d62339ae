// SPDX-License-Identifier: MIT
/* test_secret.c - secrets for credential injection (src/secret.c). */
#include "unit.h"
#include "profile.h"
#include "secret.h"
#include "sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define VALUE "s3cr3t-VALUE-do-not-print"

/* A private scratch directory, removed by rm_dir(). */
static int mk_dir(char *dir)
{
	return mkdtemp(dir) ? 0 : -1;
}

static void rm_dir(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
}

static int put(const char *path, const char *text, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	if (len && fwrite(text, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return chmod(path, mode);
}

static int is_value(const struct secret *s, const char *v)
{
	return s->val && s->len == strlen(v) && !memcmp(s->val, v, s->len);
}

/* Load @ref expecting failure; @why must be in the message, VALUE never. */
static int load_fails(const char *ref, const char *why)
{
	struct secret s;
	char err[512];

	memset(&s, 0x5a, sizeof(s));
	if (!secret_load(&s, ref, err, sizeof(err))) {
		fprintf(stderr, "%s: expected failure\n", ref);
		secret_free(&s);
		return 0;
	}
	if (s.val || s.ref || s.len) {
		fprintf(stderr, "%s: not zeroed on failure\n", ref);
		return 0;
	}
	if (!strstr(err, why) || strstr(err, VALUE) || strstr(err, "s3cr3t")) {
		fprintf(stderr, "%s: error \"%s\" (want \"%s\", no value)\n", ref,
			err, why);
		return 0;
	}
	return 1;
}

TEST(secret_env)
{
	struct secret s;
	char err[256];

	setenv("ISLO_T_SECRET", VALUE, 1);
	REQUIRE(!secret_load(&s, "env:ISLO_T_SECRET", err, sizeof(err)));
	CHECK(is_value(&s, VALUE));
	CHECK_STR(s.ref, "env:ISLO_T_SECRET");
	CHECK(s.mapsize >= s.len);
	CHECK(s.placeholder[0] == '\0');
	secret_free(&s);
	CHECK(!s.val && !s.ref && !s.len);
	secret_free(&s); /* idempotent */

	unsetenv("ISLO_T_SECRET");
	CHECK(load_fails("env:ISLO_T_SECRET", "env:ISLO_T_SECRET: environment variable ISLO_T_SECRET is not set"));
	setenv("ISLO_T_SECRET", "", 1);
	CHECK(load_fails("env:ISLO_T_SECRET", "environment variable ISLO_T_SECRET is empty"));
	unsetenv("ISLO_T_SECRET");
	CHECK(load_fails("env:1BAD", "not a valid environment variable name"));
	CHECK(load_fails("env:", "not a valid environment variable name"));
}

TEST(secret_inline_refused)
{
	CHECK(load_fails(VALUE, "an inline secret is not accepted"));
	CHECK(load_fails("Bearer " VALUE, "an inline secret is not accepted"));
	CHECK(load_fails(NULL, "expected a secret reference"));
}

TEST(secret_file)
{
	char dir[] = "/tmp/islo-secret-XXXXXX", path[256], ref[300], err[512];
	struct secret s;

	REQUIRE(!mk_dir(dir));
	snprintf(path, sizeof(path), "%s/tok", dir);
	snprintf(ref, sizeof(ref), "file:%s", path);

	/* One trailing newline (LF or CRLF) is dropped, no more. */
	REQUIRE(!put(path, VALUE "\n", strlen(VALUE) + 1, 0600));
	REQUIRE(!secret_load(&s, ref, err, sizeof(err)));
	CHECK(is_value(&s, VALUE));
	secret_free(&s);
	REQUIRE(!put(path, VALUE "\r\n", strlen(VALUE) + 2, 0400));
	REQUIRE(!secret_load(&s, ref, err, sizeof(err)));
	CHECK(is_value(&s, VALUE));
	secret_free(&s);
	REQUIRE(!put(path, "a\n\n", 3, 0600));
	REQUIRE(!secret_load(&s, ref, err, sizeof(err)));
	CHECK(is_value(&s, "a\n"));
	secret_free(&s);
	REQUIRE(!put(path, VALUE, strlen(VALUE), 0640)); /* group-readable: fine */
	REQUIRE(!secret_load(&s, ref, err, sizeof(err)));
	CHECK(is_value(&s, VALUE));
	secret_free(&s);

	/* Readable by others: refused, naming the file and the fix. */
	REQUIRE(!put(path, VALUE "\n", strlen(VALUE) + 1, 0644));
	CHECK(load_fails(ref, "is readable by other users (mode 0644); a secret file must not be (chmod o-r"));
	REQUIRE(!put(path, VALUE, strlen(VALUE), 0604));
	CHECK(load_fails(ref, "is readable by other users"));

	/* Empty, only a newline, too big. */
	REQUIRE(!put(path, "", 0, 0600));
	CHECK(load_fails(ref, "is empty"));
	REQUIRE(!put(path, "\n", 1, 0600));
	CHECK(load_fails(ref, "is empty"));
	{
		size_t n = SECRET_MAX + 1;
		char *big = malloc(n);

		REQUIRE(big);
		memset(big, 'x', n);
		REQUIRE(!put(path, big, n, 0600));
		CHECK(load_fails(ref, "is larger than 65536 bytes"));
		/* Exactly SECRET_MAX is fine. */
		REQUIRE(!put(path, big, SECRET_MAX, 0600));
		REQUIRE(!secret_load(&s, ref, err, sizeof(err)));
		CHECK(s.len == SECRET_MAX && s.val[SECRET_MAX - 1] == 'x');
		secret_free(&s);
		free(big);
	}

	/* Missing, a directory, a relative path. */
	unlink(path);
	CHECK(load_fails(ref, "cannot open"));
	snprintf(ref, sizeof(ref), "file:%s", dir);
	CHECK(load_fails(ref, "is not a regular file"));
	CHECK(load_fails("file:relative/path", "expected an absolute path"));
	rm_dir(dir);
}

TEST(secret_cred)
{
	char dir[] = "/tmp/islo-cred-XXXXXX", path[256], err[512];
	const char *old = getenv("CREDENTIALS_DIRECTORY");
	char *saved = old ? strdup(old) : NULL;
	struct secret s;

	REQUIRE(!mk_dir(dir));
	snprintf(path, sizeof(path), "%s/gh.token", dir);
	REQUIRE(!put(path, VALUE "\n", strlen(VALUE) + 1, 0400));

	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	REQUIRE(!secret_load(&s, "cred:gh.token", err, sizeof(err)));
	CHECK(is_value(&s, VALUE));
	CHECK_STR(s.ref, "cred:gh.token");
	secret_free(&s);
	CHECK(load_fails("cred:missing", "cannot open"));
	CHECK(load_fails("cred:../gh.token", "not a valid credential name"));
	CHECK(load_fails("cred:a/b", "not a valid credential name"));
	CHECK(load_fails("cred:", "not a valid credential name"));

	unsetenv("CREDENTIALS_DIRECTORY");
	CHECK(load_fails("cred:gh.token", "cred:gh.token: $CREDENTIALS_DIRECTORY is not set"));
	if (saved)
		setenv("CREDENTIALS_DIRECTORY", saved, 1);
	free(saved);
	rm_dir(dir);
}

TEST(secret_placeholder_format)
{
	struct secret a = { 0 }, b = { 0 };
	size_t i, k, counts[16] = { 0 };

	REQUIRE(!secret_placeholder(&a));
	REQUIRE(!secret_placeholder(&b));
	CHECK(strlen(a.placeholder) == SECRET_PH_LEN);
	CHECK(!strncmp(a.placeholder, "islo_ph_", 8));
	for (i = 8; i < SECRET_PH_LEN; i++)
		CHECK(isxdigit((unsigned char)a.placeholder[i]) &&
		      !isupper((unsigned char)a.placeholder[i]));
	CHECK(strcmp(a.placeholder, b.placeholder));

	/* 256 placeholders: all different, every hex digit used, none dominant. */
	{
		static char seen[256][SECRET_PH_LEN + 1];

		for (k = 0; k < 256; k++) {
			REQUIRE(!secret_placeholder(&a));
			memcpy(seen[k], a.placeholder, SECRET_PH_LEN + 1);
			for (i = 0; i < k; i++)
				CHECK(strcmp(seen[i], seen[k]));
			for (i = 8; i < SECRET_PH_LEN; i++)
				counts[isdigit((unsigned char)a.placeholder[i]) ?
				       a.placeholder[i] - '0' : a.placeholder[i] - 'a' + 10]++;
		}
		/* 8192 digits, 512 expected each: far from 0 and from all. */
		for (i = 0; i < 16; i++)
			CHECK(counts[i] > 350 && counts[i] < 700);
	}
}

TEST(secret_equal_ct)
{
	const uint8_t a[] = "token-abc", b[] = "token-abd";

	CHECK(secret_equal(a, 9, a, 9));
	CHECK(!secret_equal(a, 9, b, 9));
	CHECK(secret_equal(a, 8, b, 8));
	CHECK(!secret_equal(a, 9, a, 8));
	CHECK(secret_equal(a, 0, b, 0));
}

static struct profile *parse(const char *y)
{
	char err[512];
	struct profile *p = profile_parse(y, strlen(y), "t.yaml", err, sizeof(err));

	if (!p)
		fprintf(stderr, "%s\n", err);
	return p;
}

static const char two_secrets[] =
	"rules:\n"
	"  - name: api\n"
	"    priority: 1\n"
	"    host_pattern: api.example\n"
	"    auth_strategy: {mode: bearer, secret: env:ISLO_T_A, placeholder_env: TOK}\n"
	"  - name: plain\n"
	"    priority: 2\n"
	"    host_pattern: www.example\n"
	"  - name: git\n"
	"    priority: 3\n"
	"    host_pattern: git.example\n"
	"    auth_strategy: {mode: basic, username: u, secret: env:ISLO_T_A, placeholder_env: TOK}\n"
	"  - name: other\n"
	"    priority: 4\n"
	"    host_pattern: other.example\n"
	"    auth_strategy:\n"
	"      mode: header\n"
	"      name: X-Key\n"
	"      secret: env:ISLO_T_B\n"
	"      placeholder_env: OTHER_KEY\n";

TEST(secrets_profile_load)
{
	struct secrets ss;
	struct profile *p = parse(two_secrets);
	char err[512];

	REQUIRE(p);
	setenv("ISLO_T_A", VALUE, 1);
	setenv("ISLO_T_B", "B-VALUE-xyz", 1);
	REQUIRE(!secrets_load_profile(&ss, p, err, sizeof(err)));
	REQUIRE(ss.n == 2); /* rules sharing env:ISLO_T_A share an entry */
	CHECK(p->rules[0].auth->secret_index == 0);
	CHECK(p->rules[1].auth == NULL);
	CHECK(p->rules[2].auth->secret_index == 0);
	CHECK(p->rules[3].auth->secret_index == 1);
	CHECK(is_value(&ss.s[0], VALUE) && is_value(&ss.s[1], "B-VALUE-xyz"));
	CHECK(strlen(ss.s[0].placeholder) == SECRET_PH_LEN);
	CHECK(strlen(ss.s[1].placeholder) == SECRET_PH_LEN);
	CHECK(strcmp(ss.s[0].placeholder, ss.s[1].placeholder));
	secrets_free(&ss);
	CHECK(!ss.s && !ss.n);
	secrets_free(&ss);

	/* A missing source fails the whole load, closed, value not shown. */
	unsetenv("ISLO_T_B");
	CHECK(secrets_load_profile(&ss, p, err, sizeof(err)) == -1);
	CHECK(!ss.s && !ss.n);
	CHECK_STR(err, "t.yaml:16: secret for rule 'other': env:ISLO_T_B: environment variable ISLO_T_B is not set");
	CHECK(!strstr(err, VALUE));
	CHECK(p->rules[0].auth->secret_index == -1);

	/* A value with a line break cannot go in a header. */
	setenv("ISLO_T_B", "a\r\nX-Evil: 1", 1);
	CHECK(secrets_load_profile(&ss, p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "env:ISLO_T_B: contains a control character") != NULL);
	CHECK(!strstr(err, "Evil"));
	CHECK(!ss.n);

	/* No auth rules: nothing to load. */
	profile_free(p);
	p = parse("rules:\n  - host_pattern: a.com\n");
	REQUIRE(p);
	CHECK(!secrets_load_profile(&ss, p, err, sizeof(err)) && ss.n == 0);
	secrets_free(&ss);
	profile_free(p);
	unsetenv("ISLO_T_A");
	unsetenv("ISLO_T_B");
}

TEST(secrets_child_environment)
{
	char *const envp[] = {
		"PATH=/usr/bin:/bin", "ISLO_T_A=" VALUE, "TOK=old", "HOME=/home/u",
		"ISLO_T_AB=kept", "ISLO_T_A", "ISLO_T_B=B-VALUE-xyz", "LANG=C", NULL,
	};
	struct secrets ss;
	struct profile *p = parse(two_secrets);
	char err[512], want_tok[80], want_other[80];
	char **env;
	size_t i;

	REQUIRE(p);
	setenv("ISLO_T_A", VALUE, 1);
	setenv("ISLO_T_B", "B-VALUE-xyz", 1);
	REQUIRE(!secrets_load_profile(&ss, p, err, sizeof(err)));
	env = secrets_child_env(&ss, p, envp);
	REQUIRE(env);
	snprintf(want_tok, sizeof(want_tok), "TOK=%s", ss.s[0].placeholder);
	snprintf(want_other, sizeof(want_other), "OTHER_KEY=%s", ss.s[1].placeholder);
	/* Other variables intact, in order; secrets gone; placeholders last. */
	CHECK_STR(env[0], "PATH=/usr/bin:/bin");
	CHECK_STR(env[1], "HOME=/home/u");
	CHECK_STR(env[2], "ISLO_T_AB=kept");
	CHECK_STR(env[3], "LANG=C");
	CHECK_STR(env[4], want_tok);
	CHECK_STR(env[5], want_other);
	CHECK(env[6] == NULL);
	for (i = 0; env[i]; i++) {
		CHECK(!strstr(env[i], VALUE) && !strstr(env[i], "B-VALUE-xyz"));
		CHECK(strncmp(env[i], "ISLO_T_A=", 9) && strncmp(env[i], "ISLO_T_B=", 9));
	}
	secrets_env_free(env);

	/* An empty environment gets just the placeholders. */
	env = secrets_child_env(&ss, p, NULL);
	REQUIRE(env);
	CHECK_STR(env[0], want_tok);
	CHECK_STR(env[1], want_other);
	CHECK(env[2] == NULL);
	secrets_env_free(env);
	secrets_env_free(NULL);

	/* Not loaded (secret_index -1): an error, not an unset placeholder. */
	secrets_free(&ss);
	p->rules[0].auth->secret_index = -1;
	CHECK(secrets_child_env(&ss, p, envp) == NULL);
	profile_free(p);

	/* Without a profile, a plain copy. */
	env = secrets_child_env(NULL, NULL, envp);
	REQUIRE(env);
	for (i = 0; envp[i]; i++)
		CHECK_STR(env[i], envp[i]);
	CHECK(env[i] == NULL);
	secrets_env_free(env);
	unsetenv("ISLO_T_A");
	unsetenv("ISLO_T_B");
}

/* aws_sigv4: three secrets per rule, three placeholders, checked keys. */
TEST(secrets_sigv4)
{
	static const char y[] =
		"rules:\n"
		"  - host_pattern: s3.amazonaws.com\n"
		"    auth_strategy:\n"
		"      mode: aws_sigv4\n"
		"      access_key_id: env:ISLO_T_ID\n"
		"      secret: env:ISLO_T_KEY\n"
		"      session_token: env:ISLO_T_TOK\n"
		"      placeholder_env: AWS_SECRET_ACCESS_KEY\n"
		"      access_key_id_placeholder_env: AWS_ACCESS_KEY_ID\n"
		"      session_token_placeholder_env: AWS_SESSION_TOKEN\n"
		"  - host_pattern: sqs.us-east-1.amazonaws.com\n"
		"    auth_strategy: {mode: aws_sigv4, access_key_id: env:ISLO_T_ID, secret: env:ISLO_T_KEY,\n"
		"                    access_key_id_placeholder_env: AWS_ACCESS_KEY_ID}\n";
	char *const envp[] = { "ISLO_T_ID=AKIA1", "AWS_ACCESS_KEY_ID=mine",
			       "ISLO_T_TOK=tok", "KEEP=1", NULL };
	struct profile *p = parse(y);
	const struct pf_auth *a;
	char err[512], want[128];
	struct secrets ss;
	char **env;
	size_t i;

	REQUIRE(p);
	setenv("ISLO_T_ID", "AKIAEXAMPLE1", 1);
	setenv("ISLO_T_KEY", "key/with+chars", 1);
	setenv("ISLO_T_TOK", "session-token=", 1);
	REQUIRE(!secrets_load_profile(&ss, p, err, sizeof(err)));
	REQUIRE(ss.n == 3); /* the second rule shares the first's */
	a = p->rules[0].auth;
	CHECK(a->secret_index == 0 && a->akid_index == 1 && a->token_index == 2);
	CHECK(pf_auth_uses(a, 0) && pf_auth_uses(a, 1) && pf_auth_uses(a, 2));
	CHECK(p->rules[1].auth->akid_index == 1 && p->rules[1].auth->token_index == -1);
	CHECK(!pf_auth_uses(p->rules[1].auth, 2));
	env = secrets_child_env(&ss, p, envp);
	REQUIRE(env);
	CHECK_STR(env[0], "KEEP=1");
	snprintf(want, sizeof(want), "AWS_SECRET_ACCESS_KEY=%s", ss.s[0].placeholder);
	CHECK_STR(env[1], want);
	snprintf(want, sizeof(want), "AWS_ACCESS_KEY_ID=%s", ss.s[1].placeholder);
	CHECK_STR(env[2], want);
	snprintf(want, sizeof(want), "AWS_SESSION_TOKEN=%s", ss.s[2].placeholder);
	CHECK_STR(env[3], want);
	CHECK(env[4] == NULL);  /* once each, though two rules name one */
	for (i = 0; env[i]; i++)
		CHECK(!strstr(env[i], "AKIAEXAMPLE1") && !strstr(env[i], "key/with"));
	secrets_env_free(env);
	secrets_free(&ss);

	/* keys the signer cannot use fail the start, values not shown */
	setenv("ISLO_T_ID", "AKIA/EXAMPLE", 1);
	CHECK(secrets_load_profile(&ss, p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "access_key_id for rule 's3.amazonaws.com': env:ISLO_T_ID: not an access key id") != NULL);
	CHECK(!strstr(err, "AKIA/EXAMPLE"));
	setenv("ISLO_T_ID", "AKIAEXAMPLE1", 1);
	{
		char big[SIGV4_KEY_MAX + 2];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		setenv("ISLO_T_KEY", big, 1);
	}
	CHECK(secrets_load_profile(&ss, p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "too long for a secret access key") != NULL);
	CHECK(p->rules[0].auth->akid_index == -1 && p->rules[0].auth->token_index == -1);
	profile_free(p);
	unsetenv("ISLO_T_ID");
	unsetenv("ISLO_T_KEY");
	unsetenv("ISLO_T_TOK");
}

/* In a child, so the test runner itself stays dumpable. */
TEST(secrets_no_core_dump)
{
	int status;
	pid_t pid = fork();

	REQUIRE(pid >= 0);
	if (!pid)
		_exit(secrets_no_core() == 0 && prctl(PR_GET_DUMPABLE) == 0 ? 0 : 1);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(prctl(PR_GET_DUMPABLE) == 1);
}

/* A forked child (the sandbox before exec) holds no copy of a secret. */
TEST(secret_wiped_in_child)
{
	struct secret s;
	char err[256];
	int status;
	pid_t pid;

	setenv("ISLO_T_SECRET", VALUE, 1);
	REQUIRE(!secret_load(&s, "env:ISLO_T_SECRET", err, sizeof(err)));
	unsetenv("ISLO_T_SECRET");
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		size_t i, nz = 0;

		for (i = 0; i < s.len; i++)
			nz += s.val[i] != 0;
		_exit(nz ? 1 : 0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(is_value(&s, VALUE)); /* the parent keeps it */
	secret_free(&s);
}
