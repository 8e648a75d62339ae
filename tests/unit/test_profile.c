// SPDX-License-Identifier: MIT
/* test_profile.c - the strict gateway-profile parser (src/profile.c). */
#include "unit.h"
#include "profile.h"

#include <arpa/inet.h>
#include <glob.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct profile *parse(const char *yaml, char *err, size_t errlen)
{
	return profile_parse(yaml, strlen(yaml), "t.yaml", err, errlen);
}

/* Parse @yaml expecting failure; err must start with @prefix. */
static int fails_with(const char *yaml, const char *prefix)
{
	char err[1024];
	struct profile *p = parse(yaml, err, sizeof(err));

	if (p) {
		fprintf(stderr, "expected failure for:\n%s\n", yaml);
		profile_free(p);
		return 0;
	}
	if (strncmp(err, prefix, strlen(prefix))) {
		fprintf(stderr, "error \"%s\" does not start with \"%s\"\n", err, prefix);
		return 0;
	}
	return 1;
}

TEST(profile_good_all_fields)
{
	static const char y[] =
		"name: full\n"
		"description: \"A profile\\twith everything\"\n"
		"default_action: allow\n"
		"internet_enabled: false\n"
		"rules:\n"
		"  - name: api\n"
		"    priority: 10\n"
		"    host_pattern: API.GitHub.com.\n"
		"    ports: [443, \"8000-8100\", 9000-9001]\n"
		"    protocol: tcp\n"
		"    action: allow\n"
		"    allow_private: true\n"
		"  - cidr: [10.1.2.3/8, \"2001:db8::/32\"]\n"
		"    protocol: udp\n"
		"    action: deny\n"
		"    ports: \"*\"\n"
		"  - host_pattern: '*.npmjs.org'\n"
		"  - host_pattern: 192.0.2.7\n"
		"    priority: 0\n"
		"  - host_pattern: \"2001:DB8::1\"\n"
		"    cidr: 192.0.2.0/24\n";
	char err[512];
	struct profile *p = parse(y, err, sizeof(err));
	const struct pf_rule *r;
	uint8_t a[16];

	if (!p)
		fprintf(stderr, "%s\n", err);
	REQUIRE(p);
	CHECK_STR(p->name, "full");
	CHECK_STR(p->description, "A profile\twith everything");
	CHECK_STR(p->path, "t.yaml");
	CHECK(p->default_action == PF_ALLOW);
	CHECK(p->internet_enabled == 0);
	REQUIRE(p->nrules == 5);

	/* Sorted: priority 0, 10, then the 1000s in file order. */
	r = &p->rules[0];
	CHECK_STR(r->host_pattern, "192.0.2.7");
	CHECK(r->host_family == AF_INET);
	CHECK(r->priority == 0 && r->index == 3 && r->line == 18);
	inet_pton(AF_INET, "192.0.2.7", a);
	CHECK(!memcmp(r->host_addr, a, 4));

	r = &p->rules[1];
	CHECK_STR(r->name, "api");
	CHECK_STR(r->host_pattern, "api.github.com");
	CHECK(r->host_family == 0);
	CHECK(r->priority == 10 && r->index == 0 && r->line == 6);
	REQUIRE(r->nports == 3);
	CHECK(r->ports[0].lo == 443 && r->ports[0].hi == 443);
	CHECK(r->ports[1].lo == 8000 && r->ports[1].hi == 8100);
	CHECK(r->ports[2].lo == 9000 && r->ports[2].hi == 9001);
	CHECK(r->protocol == PF_TCP && r->action == PF_ALLOW && r->allow_private);

	r = &p->rules[2];
	CHECK(r->index == 1 && r->priority == 1000);
	CHECK_STR(r->name, "10.1.2.3/8,2001:db8::/32");
	CHECK(r->host_pattern == NULL);
	REQUIRE(r->ncidrs == 2);
	CHECK(r->cidrs[0].family == AF_INET && r->cidrs[0].prefix == 8);
	CHECK(r->cidrs[0].addr[0] == 10 && r->cidrs[0].addr[3] == 3);
	CHECK(r->cidrs[1].family == AF_INET6 && r->cidrs[1].prefix == 32);
	CHECK(r->protocol == PF_UDP && r->action == PF_DENY);
	REQUIRE(r->nports == 1);
	CHECK(r->ports[0].lo == 1 && r->ports[0].hi == 65535);

	r = &p->rules[3];
	CHECK_STR(r->name, "*.npmjs.org");
	CHECK(r->allow_private == 0);

	r = &p->rules[4];
	CHECK_STR(r->host_pattern, "2001:db8::1");
	CHECK(r->host_family == AF_INET6);
	REQUIRE(r->ncidrs == 1);
	CHECK(r->cidrs[0].prefix == 24);
	profile_free(p);
}

TEST(profile_defaults)
{
	char err[512];
	struct profile *p;
	const char *y = "rules:\n  - host_pattern: example.com\n";

	p = profile_parse(y, strlen(y), "/some/dir/my-prof.yaml", err, sizeof(err));
	REQUIRE(p);
	CHECK_STR(p->name, "my-prof");
	CHECK(p->description == NULL);
	CHECK(p->default_action == PF_DENY);
	CHECK(p->internet_enabled == 1);
	REQUIRE(p->nrules == 1);
	CHECK_STR(p->rules[0].name, "example.com");
	CHECK(p->rules[0].priority == 1000);
	CHECK(p->rules[0].protocol == PF_TCP);
	CHECK(p->rules[0].action == PF_ALLOW);
	CHECK(p->rules[0].allow_private == 0);
	REQUIRE(p->rules[0].nports == 2);
	CHECK(p->rules[0].ports[0].lo == 80 && p->rules[0].ports[0].hi == 80);
	CHECK(p->rules[0].ports[1].lo == 443 && p->rules[0].ports[1].hi == 443);
	profile_free(p);

	p = profile_parse("{}", 2, "x.yml", err, sizeof(err));
	REQUIRE(p);
	CHECK_STR(p->name, "x");
	CHECK(p->nrules == 0);
	profile_free(p);

	p = profile_parse("rules: []\n", 10, "x.yml", err, sizeof(err));
	REQUIRE(p);
	CHECK(p->nrules == 0);
	profile_free(p);
}

TEST(profile_priority_sort_stable)
{
	static const char y[] =
		"rules:\n"
		"  - {host_pattern: a.com, priority: 50}\n"
		"  - {host_pattern: b.com}\n"
		"  - {host_pattern: c.com, priority: 50}\n"
		"  - {host_pattern: d.com, priority: 1}\n"
		"  - {host_pattern: e.com}\n";
	char err[512];
	struct profile *p = parse(y, err, sizeof(err));

	REQUIRE(p);
	REQUIRE(p->nrules == 5);
	CHECK_STR(p->rules[0].name, "d.com");
	CHECK_STR(p->rules[1].name, "a.com");
	CHECK_STR(p->rules[2].name, "c.com");
	CHECK_STR(p->rules[3].name, "b.com");
	CHECK_STR(p->rules[4].name, "e.com");
	profile_free(p);
}

TEST(profile_host_patterns)
{
	static const struct { const char *in, *out; } good[] = {
		{ "Example.COM", "example.com" },
		{ "example.com.", "example.com" },
		{ "'*.Example.com.'", "*.example.com" },
		/* wildcards under a private registry's suffix or an unlisted
		 * name are someone's own: fine */
		{ "\"*.github.io\"", "*.github.io" },
		{ "\"*.corp\"", "*.corp" },
		{ "\"*.wild.example\"", "*.wild.example" },
		{ "\"*.example.co.uk\"", "*.example.co.uk" },
		{ "_dmarc.example.com", "_dmarc.example.com" },
		{ "localhost", "localhost" },
		{ "10.0.0.1", "10.0.0.1" },
		{ "\"::1\"", "::1" },
	};
	static const char *const bad[] = {
		"\"\"", "\"*\"", "\"a.*.com\"", "\"*a.com\"", "\"*.\"", "\"a..b\"",
		"\".a.b\"", "\"a b.com\"", "\"a/b\"", "\"1.2.3\"", "\"999.1.1.1\"",
		"\"::zz\"", "\"caf\xc3\xa9.com\"", "\"..\"", "\"a.com/\"",
		/* wildcards over a public suffix (the Public Suffix List) */
		"\"*.com\"", "\"*.co.uk\"", "\"*.CO.UK.\"", "\"*.uk\"", "'*.org'",
		"\"*.com.au\"", "\"*.gov.uk\"",
	};
	char y[256], err[512];
	struct profile *p;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
		snprintf(y, sizeof(y), "rules:\n  - host_pattern: %s\n", good[i].in);
		p = parse(y, err, sizeof(err));
		if (!p)
			fprintf(stderr, "%s: %s\n", good[i].in, err);
		REQUIRE(p);
		CHECK_STR(p->rules[0].host_pattern, good[i].out);
		profile_free(p);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(y, sizeof(y), "rules:\n  - host_pattern: %s\n", bad[i]);
		if (!fails_with(y, "t.yaml:2:19: expected"))
			fprintf(stderr, "  (pattern %s)\n", bad[i]);
	}
}

TEST(profile_timeouts)
{
	char err[512];
	struct profile *p = parse("timeouts:\n  idle: 7\n  tls_handshake: 3\n", err, sizeof(err));

	REQUIRE(p);
	CHECK(p->idle_s == 7 && p->tls_handshake_s == 3 &&
	      p->request_head_s == PF_REQUEST_HEAD_S);
	profile_free(p);
	p = parse("name: x\n", err, sizeof(err));
	REQUIRE(p);
	CHECK(p->idle_s == PF_IDLE_S && p->tls_handshake_s == PF_TLS_HANDSHAKE_S &&
	      p->request_head_s == PF_REQUEST_HEAD_S);
	profile_free(p);
	CHECK(fails_with("timeouts:\n  idle: 0\n", "t.yaml:2:9: expected 'idle' to be an integer from 1 to 86400"));
	CHECK(fails_with("timeouts:\n  idle: 86401\n", "t.yaml:2:9: expected 'idle'"));
	CHECK(fails_with("timeouts:\n  idle: 5\n  idle: 6\n", "t.yaml:3:3:"));
	CHECK(fails_with("timeouts:\n  slow: 5\n", "t.yaml:2:3: unknown key 'slow' in timeouts"));
	CHECK(fails_with("timeouts: 5\n", "t.yaml:1:11: expected 'timeouts' to be a mapping"));
}

TEST(profile_public_suffix_message)
{
	CHECK(fails_with("rules:\n  - name: x\n    host_pattern: \"*.co.uk\"\n",
			 "t.yaml:3:19: expected a wildcard under a domain, not over the public suffix 'co.uk'"));
}

TEST(profile_error_positions)
{
	/* Unknown key: at the key. */
	CHECK(fails_with("name: x\nrules:\n  - host_pattern: a.com\n    bogus: 1\n",
			 "t.yaml:4:5: unknown key 'bogus' in a rule: expected one of name, priority, host_pattern"));
	CHECK(fails_with("name: x\nrulez: []\n",
			 "t.yaml:2:1: unknown key 'rulez' in a profile: expected one of name, description"));
	/* Duplicate key: at the second occurrence. */
	CHECK(fails_with("name: x\ndescription: a\nname: y\n",
			 "t.yaml:3:1: expected each key once in a profile: duplicate key 'name' (first at line 1)"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    action: deny\n    action: allow\n",
			 "t.yaml:4:5: expected each key once in a rule: duplicate key 'action'"));
	/* "yes" for a port: at the item. */
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: [443, yes]\n",
			 "t.yaml:3:18: expected a port number from 1 to 65535"));
	/* A mapping where a list is expected: at the value. */
	CHECK(fails_with("rules:\n  a: b\n",
			 "t.yaml:2:3: expected 'rules' to be a list of rules, found a mapping"));
}

TEST(profile_error_classes)
{
	/* Wrong types. */
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: {a: 1}\n", "t.yaml:3:12: expected 'ports' to be a port, a list"));
	/* one entry without the list is fine (issue 17); a bad one is not */
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: 0\n", "t.yaml:3:12: expected 'ports' to be a port, a list"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: []\n", "t.yaml:3:12: expected at least one entry"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: [[1]]\n", "t.yaml:3:13: expected a port number"));
	CHECK(fails_with("internet_enabled: yes\n", "t.yaml:1:19: expected 'internet_enabled' to be true or false, found 'yes'"));
	CHECK(fails_with("internet_enabled: \"true\"\n", "t.yaml:1:19: expected 'internet_enabled' to be true or false"));
	CHECK(fails_with("default_action: maybe\n", "t.yaml:1:17: expected 'default_action' to be allow or deny"));
	CHECK(fails_with("name: [a]\n", "t.yaml:1:7: expected 'name' to be a string, found a list"));
	CHECK(fails_with("name:\n", "t.yaml:1:6: expected 'name' to be a string, found an empty value"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    protocol: icmp\n", "t.yaml:3:15: expected 'protocol' to be tcp or udp"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    allow_private: 1\n", "t.yaml:3:20: expected 'allow_private' to be true or false"));
	CHECK(fails_with("rules:\n  - just-a-string\n", "t.yaml:2:5: expected a rule"));
	/* Out of range numbers. */
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: [0]\n", "t.yaml:3:13: expected a port number"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: [65536]\n", "t.yaml:3:13: expected a port number"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: [\"90-80\"]\n", "t.yaml:3:13: expected a port number"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: [-1]\n", "t.yaml:3:13: expected a port number"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: [0443]\n", "t.yaml:3:13: expected a port number"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    priority: 1000001\n", "t.yaml:3:15: expected 'priority' to be an integer from 0 to 1000000"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    priority: -1\n", "t.yaml:3:15: expected 'priority' to be an integer"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    priority: \"5\"\n", "t.yaml:3:15: expected 'priority' to be an integer"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    priority: 99999999999999999999\n", "t.yaml:3:15: expected 'priority'"));
	/* CIDRs: host bits are fine, bad prefixes are not. */
	CHECK(fails_with("rules:\n  - cidr: 10.0.0.0/33\n", "t.yaml:2:11: expected an IPv4 prefix length from 0 to 32"));
	CHECK(fails_with("rules:\n  - cidr: \"::/129\"\n", "t.yaml:2:11: expected an IPv6 prefix length from 0 to 128"));
	CHECK(fails_with("rules:\n  - cidr: 10.0.0.0/\n", "t.yaml:2:11: expected an IPv4 prefix"));
	CHECK(fails_with("rules:\n  - cidr: example.com/8\n", "t.yaml:2:11: expected a CIDR"));
	CHECK(fails_with("rules:\n  - cidr: []\n", "t.yaml:2:11: expected at least one CIDR"));
	CHECK(fails_with("rules:\n  - cidr: {a: b}\n", "t.yaml:2:11: expected 'cidr' to be a CIDR string or a list"));
	/* A rule with neither host_pattern nor cidr: at the rule. */
	CHECK(fails_with("rules:\n  - action: deny\n    ports: [22]\n", "t.yaml:2:5: expected 'host_pattern' or 'cidr' in a rule"));
	/* Documents. */
	CHECK(fails_with("", "t.yaml:1:1: expected a mapping of profile settings"));
	CHECK(fails_with("- a\n- b\n", "t.yaml:1:1: expected a mapping of profile settings"));
	CHECK(fails_with("just text\n", "t.yaml:1:1: expected a mapping of profile settings"));
	CHECK(fails_with("name: a\n---\nname: b\n", "t.yaml:2:1: expected a single YAML document"));
	/* Anchors, aliases, tags. */
	CHECK(fails_with("name: &n a\ndescription: b\n", "t.yaml:1:7: expected a value, found a YAML anchor"));
	CHECK(fails_with("rules:\n  - host_pattern: a.com\n    ports: &p [1]\n", "t.yaml:3:12: expected a value, found a YAML anchor"));
	CHECK(fails_with("description: *n\n", "t.yaml:1:14: expected a value, found a YAML alias"));
	CHECK(fails_with("name: !!str a\n", "t.yaml:1:7: expected a value, found a YAML tag"));
	/* Syntax errors carry libyaml's position. */
	CHECK(fails_with("name: [a\n", "t.yaml:"));
	CHECK(fails_with("name: a\n  bad: indent\n", "t.yaml:2:6: invalid YAML"));
	CHECK(fails_with("name: \"a\xff\"\n", "t.yaml:1:"));
	/* Control bytes in a string. */
	CHECK(fails_with("name: \"a\\x01b\"\n", "t.yaml:1:7: expected 'name' to be a string without control characters"));
}

TEST(profile_size_limits)
{
	char err[512];
	struct profile *p;
	size_t i, off = 0, n;
	char *big;

	/* An over-long string. */
	big = malloc(4096);
	REQUIRE(big);
	off = (size_t)snprintf(big, 4096, "description: ");
	for (i = 0; i < 1100; i++)
		big[off++] = 'x';
	big[off++] = '\n';
	big[off] = '\0';
	CHECK(fails_with(big, "t.yaml:1:14: expected 'description' to be a string of at most 1024 bytes"));
	free(big);

	/* Too many rules. */
	n = 10001 * 32 + 64;
	big = malloc(n);
	REQUIRE(big);
	off = (size_t)snprintf(big, n, "rules:\n");
	for (i = 0; i < 10001; i++)
		off += (size_t)snprintf(big + off, n - off, "- {host_pattern: h%zu.com}\n", i);
	p = profile_parse(big, off, "t.yaml", err, sizeof(err));
	CHECK(!p);
	CHECK_STR(err, "t.yaml:10002:3: expected at most 10000 rules");
	profile_free(p);
	/* Exactly 10000 is fine. */
	off = (size_t)snprintf(big, n, "rules:\n");
	for (i = 0; i < 10000; i++)
		off += (size_t)snprintf(big + off, n - off, "- {host_pattern: h%zu.com}\n", i);
	p = profile_parse(big, off, "t.yaml", err, sizeof(err));
	CHECK(p && p->nrules == 10000);
	profile_free(p);
	free(big);

	/* Over 1 MiB. */
	n = PF_MAX_FILE + 16;
	big = malloc(n);
	REQUIRE(big);
	memset(big, '#', n);
	p = profile_parse(big, n, "t.yaml", err, sizeof(err));
	CHECK(!p);
	CHECK(!strncmp(err, "t.yaml: expected a profile of at most", 37));
	free(big);

	/* NULL and garbage never crash. */
	p = profile_parse(NULL, 0, NULL, err, sizeof(err));
	CHECK(!p);
	p = profile_parse("\0\0\0\0", 4, "t.yaml", NULL, 0);
	CHECK(!p);
	profile_free(NULL);
}

TEST(profile_load_files)
{
	char dir[] = "/tmp/islo-profile-XXXXXX", path[256], err[512];
	struct profile *p;
	FILE *f;

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ci.yaml", dir);
	f = fopen(path, "w");
	REQUIRE(f);
	fputs("default_action: allow\nrules:\n  - host_pattern: x.org\n    action: deny\n", f);
	fclose(f);
	p = profile_load(path, err, sizeof(err));
	REQUIRE(p);
	CHECK_STR(p->name, "ci");
	CHECK_STR(p->path, path);
	CHECK(p->nrules == 1);
	profile_free(p);

	/* Errors name the path. */
	f = fopen(path, "w");
	REQUIRE(f);
	fputs("name: ok\nfoo: 1\n", f);
	fclose(f);
	p = profile_load(path, err, sizeof(err));
	CHECK(!p);
	{
		char want[300];

		snprintf(want, sizeof(want), "%s:2:1: unknown key 'foo'", path);
		CHECK(!strncmp(err, want, strlen(want)));
	}
	unlink(path);

	/* Not a regular file; missing. */
	p = profile_load(dir, err, sizeof(err));
	CHECK(!p && strstr(err, "expected a regular file"));
	p = profile_load("/dev/null", err, sizeof(err));
	CHECK(!p && strstr(err, "expected a regular file"));
	snprintf(path, sizeof(path), "%s/fifo.yaml", dir);
	REQUIRE(!mkfifo(path, 0600));
	p = profile_load(path, err, sizeof(err));
	CHECK(!p && strstr(err, "expected a regular file"));
	unlink(path);
	p = profile_load(path, err, sizeof(err));
	CHECK(!p && strstr(err, "cannot open"));
	p = profile_load(NULL, err, sizeof(err));
	CHECK(!p);
	rmdir(dir);
}

/* profile_parse() a file's contents (not profile_load(): no mode checks). */
static struct profile *parse_file(const char *path, char *err, size_t errlen)
{
	static char buf[PF_MAX_FILE];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return profile_parse(buf, n, path, err, errlen);
}

/* Every shipped profile loads (tests run from the repository root). */
TEST(profile_shipped_profiles_load)
{
	char err[512];
	glob_t g;
	size_t i;

	REQUIRE(glob("profiles/*.yaml", 0, NULL, &g) == 0);
	CHECK(g.gl_pathc >= 3);
	for (i = 0; i < g.gl_pathc; i++) {
		struct profile *p = profile_load(g.gl_pathv[i], err, sizeof(err));

		/*
		 * A checkout made with umask 002 leaves a profile with
		 * auth_strategy group-writable, which profile_load() rightly
		 * refuses: check what the file says instead.
		 */
		if (!p && strstr(err, "is writable by other users"))
			p = parse_file(g.gl_pathv[i], err, sizeof(err));
		if (!p)
			fprintf(stderr, "%s\n", err);
		CHECK(p != NULL);
		if (p)
			CHECK(p->nrules > 0);
		profile_free(p);
	}
	globfree(&g);
}

/* ---- HTTP scoping, routing, credential injection (issue 3) ---- */

TEST(profile_http_keys_good)
{
	static const char y[] =
		"name: gh\n"
		"rules:\n"
		"  - name: api\n"
		"    priority: 10\n"
		"    host_pattern: api.github.com\n"
		"    ports: [443]\n"
		"    path_pattern: [/repos/*, /user, \"/\"]\n"
		"    methods: [GET, HEAD, PROPFIND]\n"
		"    rate_limit_rpm: 600\n"
		"    auth_strategy:\n"
		"      mode: bearer\n"
		"      secret: env:GITHUB_TOKEN\n"
		"      placeholder_env: GITHUB_TOKEN\n"
		"  - name: git\n"
		"    priority: 20\n"
		"    host_pattern: github.com\n"
		"    path_pattern: /*\n"
		"    allow_plaintext: true\n"
		"    auth_strategy: {mode: basic, secret: env:GITHUB_TOKEN, username: x-access-token,\n"
		"                    placeholder_env: GITHUB_TOKEN}\n"
		"  - name: custom\n"
		"    priority: 30\n"
		"    host_pattern: '*.staging.example'\n"
		"    route: Proxy.Example.:8443\n"
		"    tls_verify_name: Internal.Example.\n"
		"    auth_strategy:\n"
		"      mode: header\n"
		"      name: X-Api-Key\n"
		"      secret: file:/run/secrets/key\n"
		"      format: \"token {secret}\"\n"
		"  - name: v6\n"
		"    priority: 40\n"
		"    host_pattern: v6.example\n"
		"    route: \"[2001:DB8::1]:443\"\n"
		"    tls: passthrough\n"
		"  - name: v4\n"
		"    priority: 50\n"
		"    host_pattern: v4.example\n"
		"    route: 127.0.0.1:8443\n"
		"    tls: intercept\n"
		"  - name: cred\n"
		"    priority: 60\n"
		"    host_pattern: c.example\n"
		"    auth_strategy:\n"
		"      mode: header\n"
		"      name: Private-Token\n"
		"      secret: cred:gitlab.token\n";
	char err[512];
	struct profile *p = parse(y, err, sizeof(err));
	const struct pf_rule *r;
	uint8_t a[16];

	if (!p)
		fprintf(stderr, "%s\n", err);
	REQUIRE(p);
	REQUIRE(p->nrules == 6);
	CHECK(pf_profile_has_auth(p));

	r = &p->rules[0];
	CHECK_STR(r->name, "api");
	REQUIRE(r->npath_patterns == 3);
	CHECK_STR(r->path_patterns[0], "/repos/*");
	CHECK_STR(r->path_patterns[1], "/user");
	CHECK_STR(r->path_patterns[2], "/");
	REQUIRE(r->nmethods == 3);
	CHECK_STR(r->methods[0], "GET");
	CHECK_STR(r->methods[2], "PROPFIND");
	CHECK(r->rate_limit_rpm == 600);
	CHECK(r->tls_mode == PF_TLS_AUTO);
	CHECK(pf_rule_needs_http(r) && pf_rule_intercepts(r));
	CHECK(!r->route_host && !r->tls_verify_name && !r->allow_plaintext);
	REQUIRE(r->auth);
	CHECK(r->auth->mode == PF_AUTH_BEARER);
	CHECK_STR(r->auth->secret_ref, "env:GITHUB_TOKEN");
	CHECK_STR(r->auth->format, "Bearer {secret}");
	CHECK_STR(r->auth->placeholder_env, "GITHUB_TOKEN");
	CHECK_STR(pf_auth_header(r->auth), "Authorization");
	CHECK(!r->auth->header_name && !r->auth->username);
	CHECK(r->auth->secret_index == -1);
	CHECK(r->auth->line == 10);

	r = &p->rules[1];
	REQUIRE(r->npath_patterns == 1);
	CHECK_STR(r->path_patterns[0], "/*");
	CHECK(r->allow_plaintext == 1);
	REQUIRE(r->auth);
	CHECK(r->auth->mode == PF_AUTH_BASIC);
	CHECK_STR(r->auth->username, "x-access-token");
	CHECK(r->auth->format == NULL);
	CHECK(r->nports == 2); /* default ports unchanged */

	r = &p->rules[2];
	CHECK_STR(r->route_host, "proxy.example");
	CHECK(r->route_port == 8443 && r->route_family == 0);
	CHECK_STR(r->tls_verify_name, "internal.example");
	REQUIRE(r->auth);
	CHECK(r->auth->mode == PF_AUTH_HEADER);
	CHECK_STR(r->auth->header_name, "X-Api-Key");
	CHECK_STR(pf_auth_header(r->auth), "X-Api-Key");
	CHECK_STR(r->auth->format, "token {secret}");
	CHECK_STR(r->auth->secret_ref, "file:/run/secrets/key");
	CHECK(r->auth->placeholder_env == NULL);
	CHECK(pf_rule_intercepts(r));

	r = &p->rules[3];
	CHECK_STR(r->route_host, "2001:db8::1");
	CHECK(r->route_port == 443 && r->route_family == AF_INET6);
	inet_pton(AF_INET6, "2001:db8::1", a);
	CHECK(!memcmp(r->route_addr, a, 16));
	CHECK(r->tls_mode == PF_TLS_PASSTHROUGH);
	CHECK(!pf_rule_needs_http(r) && !pf_rule_intercepts(r));

	r = &p->rules[4];
	CHECK_STR(r->route_host, "127.0.0.1");
	CHECK(r->route_family == AF_INET && r->route_port == 8443);
	CHECK(r->tls_mode == PF_TLS_INTERCEPT);
	CHECK(!pf_rule_needs_http(r) && pf_rule_intercepts(r));

	r = &p->rules[5];
	REQUIRE(r->auth);
	CHECK_STR(r->auth->secret_ref, "cred:gitlab.token");
	CHECK_STR(r->auth->format, "{secret}");
	profile_free(p);
}

/* Profiles without the new keys: every new field at its default. */
TEST(profile_http_keys_defaults)
{
	char err[256];
	struct profile *p = parse("rules:\n  - host_pattern: a.com\n  - cidr: 10.0.0.0/8\n",
				  err, sizeof(err));
	size_t i;

	REQUIRE(p);
	CHECK(!pf_profile_has_auth(p));
	for (i = 0; i < p->nrules; i++) {
		const struct pf_rule *r = &p->rules[i];

		CHECK(!r->path_patterns && !r->npath_patterns);
		CHECK(!r->methods && !r->nmethods);
		CHECK(!r->rate_limit_rpm && !r->route_host && !r->route_port);
		CHECK(r->tls_mode == PF_TLS_AUTO && !r->tls_verify_name);
		CHECK(!r->allow_plaintext && !r->auth);
		CHECK(!pf_rule_needs_http(r) && !pf_rule_intercepts(r));
	}
	profile_free(p);
	/* Each HTTP key alone makes the rule intercepted. */
	p = parse("rules:\n  - {host_pattern: a.com, methods: [GET]}\n"
		  "  - {host_pattern: b.com, rate_limit_rpm: 1}\n"
		  "  - {host_pattern: c.com, path_pattern: /x}\n"
		  "  - {host_pattern: d.com, rate_limit_rpm: 1000000, tls: intercept}\n"
		  "  - {cidr: 10.0.0.0/8, path_pattern: /x, action: deny, methods: [DELETE]}\n",
		  err, sizeof(err));
	if (!p)
		fprintf(stderr, "%s\n", err);
	REQUIRE(p);
	for (i = 0; i < p->nrules; i++)
		CHECK(pf_rule_needs_http(&p->rules[i]) && pf_rule_intercepts(&p->rules[i]));
	profile_free(p);
}

#define R "rules:\n  - host_pattern: a.com\n"
#define AUTH "    auth_strategy:\n      mode: bearer\n      secret: env:T\n"

TEST(profile_http_keys_errors)
{
	/* path_pattern */
	CHECK(fails_with(R "    path_pattern: repos/*\n",
			 "t.yaml:3:19: expected 'path_pattern' to start with '/'"));
	CHECK(fails_with(R "    path_pattern: [/a, /re*pos]\n",
			 "t.yaml:3:24: expected '*' only once, as the last character of a path_pattern"));
	CHECK(fails_with(R "    path_pattern: /a**\n",
			 "t.yaml:3:19: expected '*' only once"));
	CHECK(fails_with(R "    path_pattern: \"/a b\"\n",
			 "t.yaml:3:19: expected a path_pattern of printable ASCII without spaces"));
	CHECK(fails_with(R "    path_pattern: /a?b=1\n",
			 "t.yaml:3:19: expected a path_pattern without '?' or '#'"));
	CHECK(fails_with(R "    path_pattern: /a/../b\n",
			 "t.yaml:3:19: expected a path_pattern without '.' or '..' segments"));
	CHECK(fails_with(R "    path_pattern: []\n",
			 "t.yaml:3:19: expected at least one path in 'path_pattern'"));
	CHECK(fails_with(R "    path_pattern: {a: b}\n",
			 "t.yaml:3:19: expected 'path_pattern' to be a path or a list of paths, found a mapping"));
	CHECK(fails_with(R "    path_pattern: [[/a]]\n",
			 "t.yaml:3:20: expected 'path_pattern' to be a path such as /repos/*, found a list"));
	/* methods */
	CHECK(fails_with(R "    methods: [GET, post]\n",
			 "t.yaml:3:20: expected an HTTP method in upper case (A-Z, at most 32 letters) such as GET or POST, found 'post'"));
	CHECK(fails_with(R "    methods: [GET, HEAD, GET]\n",
			 "t.yaml:3:26: expected each method once in 'methods': duplicate 'GET'"));
	CHECK(fails_with(R "    methods: GET\n",
			 "t.yaml:3:14: expected 'methods' to be a list such as [GET, HEAD], found 'GET'"));
	CHECK(fails_with(R "    methods: []\n",
			 "t.yaml:3:14: expected at least one method"));
	CHECK(fails_with(R "    methods: [\"*\"]\n",
			 "t.yaml:3:15: expected an HTTP method in upper case"));
	CHECK(fails_with(R "    methods: [M-SEARCH]\n",
			 "t.yaml:3:15: expected an HTTP method in upper case"));
	/* rate_limit_rpm */
	CHECK(fails_with(R "    rate_limit_rpm: 0\n",
			 "t.yaml:3:21: expected 'rate_limit_rpm' to be an integer from 1 to 1000000, found '0'"));
	CHECK(fails_with(R "    rate_limit_rpm: 1000001\n",
			 "t.yaml:3:21: expected 'rate_limit_rpm' to be an integer from 1 to 1000000"));
	CHECK(fails_with(R "    rate_limit_rpm: \"60\"\n",
			 "t.yaml:3:21: expected 'rate_limit_rpm' to be an integer"));
	/* route */
	CHECK(fails_with(R "    route: 127.0.0.1\n",
			 "t.yaml:3:12: expected 'route' to be HOST:PORT, as in 127.0.0.1:8443: the port is missing"));
	CHECK(fails_with(R "    route: proxy.example:0\n",
			 "t.yaml:3:12: expected the port in 'route' to be a number from 1 to 65535"));
	CHECK(fails_with(R "    route: proxy.example:65536\n",
			 "t.yaml:3:12: expected the port in 'route' to be a number from 1 to 65535"));
	CHECK(fails_with(R "    route: \"proxy.example:\"\n",
			 "t.yaml:3:12: expected the port in 'route'"));
	CHECK(fails_with(R "    route: \"2001:db8::1:443\"\n",
			 "t.yaml:3:12: expected an IPv6 address in 'route' to be in brackets"));
	CHECK(fails_with(R "    route: \"[example.com]:443\"\n",
			 "t.yaml:3:12: expected an IPv6 address between '[' and ']'"));
	CHECK(fails_with(R "    route: \"[::1]443\"\n",
			 "t.yaml:3:12: expected 'route' to be HOST:PORT or [IPV6]:PORT"));
	CHECK(fails_with(R "    route: \"*.a.com:443\"\n",
			 "t.yaml:3:12: expected a host name without '*'"));
	CHECK(fails_with(R "    route: \":443\"\n",
			 "t.yaml:3:12: expected 'route' to be HOST:PORT: the host is missing"));
	CHECK(fails_with(R "    route: \"bad..name:443\"\n",
			 "t.yaml:3:12: expected a host name: empty label"));
	/* tls, tls_verify_name, allow_plaintext */
	CHECK(fails_with(R "    tls: maybe\n",
			 "t.yaml:3:10: expected 'tls' to be passthrough or intercept, found 'maybe'"));
	CHECK(fails_with(R "    tls: passthrough\n    path_pattern: /x\n",
			 "t.yaml:3:5: 'tls: passthrough' cannot be used with 'path_pattern': it needs to see HTTP"));
	CHECK(fails_with(R "    methods: [GET]\n    tls: passthrough\n",
			 "t.yaml:4:5: 'tls: passthrough' cannot be used with 'methods'"));
	CHECK(fails_with(R "    tls: passthrough\n    rate_limit_rpm: 5\n",
			 "t.yaml:3:5: 'tls: passthrough' cannot be used with 'rate_limit_rpm'"));
	CHECK(fails_with(R "    tls: passthrough\n" AUTH,
			 "t.yaml:3:5: 'tls: passthrough' cannot be used with 'auth_strategy'"));
	CHECK(fails_with(R "    tls_verify_name: b.com\n",
			 "t.yaml:3:5: 'tls_verify_name' needs 'route'"));
	CHECK(fails_with(R "    route: b.com:443\n    tls_verify_name: c.com\n",
			 "t.yaml:4:5: 'tls_verify_name' needs an intercepted rule"));
	CHECK(fails_with(R "    route: b.com:443\n    tls: intercept\n    tls_verify_name: 10.0.0.1\n",
			 "t.yaml:5:22: expected a DNS name, not an IP address"));
	CHECK(fails_with(R "    route: b.com:443\n    tls: intercept\n    tls_verify_name: '*.c.com'\n",
			 "t.yaml:5:22: expected a host name without '*'"));
	CHECK(fails_with(R "    allow_plaintext: yes\n",
			 "t.yaml:3:22: expected 'allow_plaintext' to be true or false"));
	CHECK(fails_with(R "    allow_plaintext: true\n",
			 "t.yaml:3:5: 'allow_plaintext' needs 'auth_strategy'"));
	/* Combinations with protocol and action. */
	CHECK(fails_with(R "    protocol: udp\n    methods: [GET]\n",
			 "t.yaml:4:5: 'methods' needs protocol: tcp"));
	CHECK(fails_with(R "    action: deny\n" AUTH,
			 "t.yaml:4:5: 'auth_strategy' has no effect on a rule with action: deny"));
	CHECK(fails_with(R "    route: b.com:1\n    action: deny\n",
			 "t.yaml:3:5: 'route' has no effect on a rule with action: deny"));
	CHECK(fails_with(R "    route: b.com:1\n    route: b.com:2\n",
			 "t.yaml:4:5: expected each key once in a rule: duplicate key 'route'"));
}

TEST(profile_auth_errors)
{
	CHECK(fails_with(R "    auth_strategy: bearer\n",
			 "t.yaml:3:20: expected 'auth_strategy' to be a mapping with mode and secret, found 'bearer'"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: digest\n      secret: env:T\n",
			 "t.yaml:4:13: expected 'mode' to be bearer, basic, header, query, path or aws_sigv4, found 'digest'"));
	CHECK(fails_with(R "    auth_strategy:\n      secret: env:T\n",
			 "t.yaml:4:7: expected 'mode' (bearer, basic, header, query, path or aws_sigv4) in auth_strategy"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n",
			 "t.yaml:4:7: expected 'secret' (env:NAME, file:/PATH or cred:NAME) in auth_strategy"));
	CHECK(fails_with(R AUTH "      colour: blue\n",
			 "t.yaml:6:7: unknown key 'colour' in auth_strategy: expected one of mode, secret, name, username, format, placeholder_env"));
	CHECK(fails_with(R AUTH "      mode: basic\n",
			 "t.yaml:6:7: expected each key once in auth_strategy: duplicate key 'mode'"));
	/* header needs name; others must not have one. */
	CHECK(fails_with(R "    auth_strategy:\n      mode: header\n      secret: env:T\n",
			 "t.yaml:4:7: expected 'name' (the header to set) in auth_strategy with mode: header"));
	CHECK(fails_with(R AUTH "      name: X-Key\n",
			 "t.yaml:6:7: 'name' is only for mode: header"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: header\n      name: \"X Key\"\n      secret: env:T\n",
			 "t.yaml:5:13: expected 'name' to be an HTTP header name"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: header\n      name: Host\n      secret: env:T\n",
			 "t.yaml:5:13: expected 'name' to be a header a credential goes in: 'Host' frames or routes the request"));
	/* basic needs username; others must not have one; basic has no format. */
	CHECK(fails_with(R "    auth_strategy:\n      mode: basic\n      secret: env:T\n",
			 "t.yaml:4:7: expected 'username' in auth_strategy with mode: basic"));
	CHECK(fails_with(R AUTH "      username: u\n",
			 "t.yaml:6:7: 'username' is only for mode: basic"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: basic\n      username: \"a:b\"\n      secret: env:T\n",
			 "t.yaml:5:17: expected 'username' without ':'"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: basic\n      username: u\n      format: \"x {secret}\"\n      secret: env:T\n",
			 "t.yaml:6:7: 'format' is not allowed with mode: basic"));
	/* format */
	CHECK(fails_with(R AUTH "      format: \"token\"\n",
			 "t.yaml:6:15: expected 'format' to contain {secret} exactly once"));
	CHECK(fails_with(R AUTH "      format: \"{secret}{secret}\"\n",
			 "t.yaml:6:15: expected 'format' to contain {secret} exactly once"));
	CHECK(fails_with(R AUTH "      format: \"a\\r\\n{secret}\"\n",
			 "t.yaml:6:15: expected 'format' to be a string containing {secret} without control characters"));
	/* placeholder_env */
	CHECK(fails_with(R AUTH "      placeholder_env: 1TOKEN\n",
			 "t.yaml:6:24: expected 'placeholder_env' to be an environment variable name"));
	CHECK(fails_with(R AUTH "      placeholder_env: A-B\n",
			 "t.yaml:6:24: expected 'placeholder_env' to be an environment variable name"));
	/* secret references */
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n      secret: env:1A\n",
			 "t.yaml:5:15: expected env:NAME with NAME an environment variable name"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n      secret: \"env:\"\n",
			 "t.yaml:5:15: expected env:NAME with NAME an environment variable name"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n      secret: \"file:\"\n",
			 "t.yaml:5:15: expected file:PATH with an absolute PATH"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n      secret: \"cred:\"\n",
			 "t.yaml:5:15: expected cred:NAME with NAME a credential name"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n      secret: ENV:A\n",
			 "t.yaml:5:15: expected 'secret' to be env:NAME, file:/PATH, cred:NAME or cmd:PROGRAM ARGS; an inline secret is not accepted"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n      secret: file:run/x\n",
			 "t.yaml:5:15: expected file:PATH with an absolute PATH"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n      secret: cred:../x\n",
			 "t.yaml:5:15: expected cred:NAME with NAME a credential name"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n      secret: cred:a/b\n",
			 "t.yaml:5:15: expected cred:NAME with NAME a credential name"));
	CHECK(fails_with(R "    auth_strategy:\n      mode: bearer\n      secret: [env:A]\n",
			 "t.yaml:5:15: expected 'secret' to be env:NAME, file:/PATH, cred:NAME or cmd:PROGRAM ARGS, found a list"));
	/* An inline secret: refused, and the error does not repeat it. */
	{
		static const char y[] = R "    auth_strategy:\n      mode: bearer\n"
					"      secret: ghp_S3cr3tV4lu3\n";
		char err[1024];
		struct profile *p = parse(y, err, sizeof(err));

		CHECK(!p);
		CHECK(!strncmp(err, "t.yaml:5:15: expected 'secret' to be env:NAME, file:/PATH, cred:NAME or cmd:PROGRAM ARGS; an inline secret is not accepted", 122));
		CHECK(strstr(err, "S3cr3t") == NULL);
		profile_free(p);
	}
	/* Even with control bytes in it, the value is not echoed. */
	{
		static const char y[] = R "    auth_strategy:\n      mode: bearer\n"
					"      secret: \"file:/a\\x01S3cr3t\"\n";
		char err[1024];
		struct profile *p = parse(y, err, sizeof(err));

		CHECK(!p);
		CHECK(strstr(err, "S3cr3t") == NULL && strstr(err, "t.yaml:5:15:"));
		profile_free(p);
	}
	/* auth_strategy needs a host_pattern: a cidr alone is not enough. */
	CHECK(fails_with("rules:\n  - cidr: 10.0.0.0/8\n" AUTH,
			 "t.yaml:3:5: 'auth_strategy' needs a 'host_pattern'"));
	/* One variable, two different secrets. */
	CHECK(fails_with("rules:\n"
			 "  - host_pattern: a.com\n    auth_strategy: {mode: bearer, secret: env:A, placeholder_env: TOK}\n"
			 "  - host_pattern: b.com\n    auth_strategy: {mode: bearer, secret: env:B, placeholder_env: TOK}\n",
			 "t.yaml:5:5: placeholder_env 'TOK' is already used by rule 'a.com' (line 2) with a different secret"));
	/* The same variable for the same secret is fine. */
	{
		char err[512];
		struct profile *p = parse("rules:\n"
			"  - host_pattern: a.com\n    auth_strategy: {mode: bearer, secret: env:A, placeholder_env: TOK}\n"
			"  - host_pattern: b.com\n    auth_strategy: {mode: header, name: K, secret: env:A, placeholder_env: TOK}\n",
			err, sizeof(err));

		if (!p)
			fprintf(stderr, "%s\n", err);
		CHECK(p != NULL);
		profile_free(p);
	}
}

/* Write @text to @path with @mode (umask aside). */
static int write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode);
}

TEST(profile_auth_file_permissions)
{
	static const char with_auth[] = R AUTH;
	static const char without[] = R "    path_pattern: /x\n";
	char dir[] = "/tmp/islo-profile-XXXXXX", path[256], err[512], want[400];
	struct profile *p;

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/gh.yaml", dir);

	REQUIRE(!write_file(path, with_auth, 0600));
	p = profile_load(path, err, sizeof(err));
	if (!p)
		fprintf(stderr, "%s\n", err);
	CHECK(p && pf_profile_has_auth(p));
	profile_free(p);
	REQUIRE(!write_file(path, with_auth, 0644)); /* readable is fine */
	p = profile_load(path, err, sizeof(err));
	CHECK(p != NULL);
	profile_free(p);

	snprintf(want, sizeof(want),
		 "%s: is writable by other users; a profile that injects credentials must not be", path);
	REQUIRE(!write_file(path, with_auth, 0620));
	p = profile_load(path, err, sizeof(err));
	CHECK(!p && !strncmp(err, want, strlen(want)));
	REQUIRE(!write_file(path, with_auth, 0602));
	p = profile_load(path, err, sizeof(err));
	CHECK(!p && !strncmp(err, want, strlen(want)));
	profile_free(p);

	/* Without auth_strategy, a group-writable profile still loads. */
	REQUIRE(!write_file(path, without, 0666));
	p = profile_load(path, err, sizeof(err));
	CHECK(p != NULL);
	profile_free(p);
	unlink(path);
	rmdir(dir);
}

#undef R
#undef AUTH

#define PG_RULE "rules:\n  - host_pattern: db.example\n    postgres:\n"

TEST(profile_postgres)
{
	char err[1024];
	struct profile *p;
	const struct pf_postgres *pg;

	p = parse(PG_RULE "      user: analyst\n      password: file:/run/secrets/pg\n"
		  "      database: [analytics, reporting]\n",
		  err, sizeof(err));
	REQUIRE(p);
	pg = p->rules[0].pg;
	REQUIRE(pg);
	CHECK_STR(pg->user, "analyst");
	CHECK_STR(pg->password_ref, "file:/run/secrets/pg");
	CHECK(pg->ndatabases == 2 && !strcmp(pg->databases[1], "reporting"));
	CHECK(pg->read_only == 1 && pg->tls == PF_PG_VERIFY_FULL && !pg->log_statements);
	CHECK(p->rules[0].nports == 1 && p->rules[0].ports[0].lo == 5432);
	CHECK(pf_profile_has_postgres(p));
	CHECK(!pf_rule_intercepts(&p->rules[0]));
	profile_free(p);

	p = parse(PG_RULE "      user: a\n      password: env:PG\n      database: \"*\"\n"
		  "      read_only: false\n      tls: require\n      log_statements: true\n"
		  "      client_tls: true\n"
		  "    ports: [6432]\n    route: 127.0.0.1:5433\n",
		  err, sizeof(err));
	REQUIRE(p);
	pg = p->rules[0].pg;
	CHECK(pg->any_database && !pg->read_only && pg->tls == PF_PG_REQUIRE &&
	      pg->log_statements && p->rules[0].ports[0].lo == 6432);
	CHECK(pg->client_tls && pf_rule_client_tls(&p->rules[0]));
	profile_free(p);

	CHECK(fails_with(PG_RULE "      password: env:PG\n      database: d\n",
			 "t.yaml:4:7: expected 'user'"));
	CHECK(fails_with(PG_RULE "      user: a\n      database: d\n",
			 "t.yaml:4:7: expected 'password'"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n",
			 "t.yaml:4:7: expected 'database'"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: hunter2\n      database: d\n",
			 "t.yaml:5:17: expected 'password' to be env:NAME, file:/PATH, cred:NAME or cmd:PROGRAM ARGS; an inline secret is not accepted"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n      database: d\n      tls: prefer\n",
			 "t.yaml:7:12: expected 'tls' to be verify-full, require or disable"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n      database: [d, d]\n",
			 "t.yaml:6:21: expected each database once"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n      database: [\"*\", d]\n",
			 "t.yaml:6:17: expected \"*\" alone"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n      database: d\n      colour: red\n",
			 "t.yaml:7:7: unknown key 'colour' in postgres"));
	CHECK(fails_with(PG_RULE "      user: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
			 "      password: env:PG\n      database: d\n",
			 "t.yaml:4:13: expected 'user' to be a PostgreSQL role name of at most 63 bytes"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n      database: d\n    methods: [GET]\n",
			 "t.yaml:7:5: 'methods' cannot be used with 'postgres'"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n      database: d\n    tls: intercept\n",
			 "t.yaml:7:5: 'tls' cannot be used with 'postgres'"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n      database: d\n    action: deny\n",
			 "t.yaml:3:5: 'postgres' has no effect on a rule with action: deny"));
	CHECK(fails_with("rules:\n  - cidr: 10.0.0.0/8\n    postgres:\n      user: a\n      password: env:PG\n      database: d\n",
			 "t.yaml:3:5: 'postgres' needs a 'host_pattern' that is a name"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n      database: d\n      tls: require\n"
			 "    route: 10.0.0.1:5432\n    tls_verify_name: db.other\n",
			 "t.yaml:9:5: 'tls_verify_name' needs postgres: tls: verify-full"));
	CHECK(fails_with(PG_RULE "      user: a\n      password: env:PG\n      database: d\n    protocol: udp\n",
			 "t.yaml:3:5: 'postgres' needs protocol: tcp"));
	/* tls_verify_name with route and verify-full is fine */
	p = parse(PG_RULE "      user: a\n      password: env:PG\n      database: d\n"
		  "    route: 10.0.0.1:5432\n    tls_verify_name: db.other\n", err, sizeof(err));
	CHECK(p != NULL);
	profile_free(p);
}

/* ---- credential modes beyond one header (issue 18, point 3) ---- */

#define RA "rules:\n  - host_pattern: a.com\n    auth_strategy:\n"
/* Does @yaml parse?  (Says why not.) */
static int parses(const char *yaml)
{
	char err[512];
	struct profile *p = parse(yaml, err, sizeof(err));

	if (!p)
		fprintf(stderr, "unexpected failure: %s\n", err);
	profile_free(p);
	return p != NULL;
}

#define RS3 "rules:\n  - host_pattern: '*.s3.us-east-1.amazonaws.com'\n    auth_strategy:\n"

TEST(profile_auth_modes_good)
{
	static const char y[] =
		"rules:\n"
		"  - host_pattern: api.example\n"
		"    auth_strategy: {mode: query, name: api_key, secret: env:K, placeholder_env: K}\n"
		"  - host_pattern: api.telegram.org\n"
		"    path_pattern: /bot*\n"
		"    auth_strategy: {mode: path, secret: env:TG, placeholder_env: TG_TOKEN}\n"
		"  - host_pattern: '*.s3.eu-west-1.amazonaws.com'\n"
		"    auth_strategy:\n"
		"      mode: aws_sigv4\n"
		"      access_key_id: env:AWS_ACCESS_KEY_ID\n"
		"      secret: env:AWS_SECRET_ACCESS_KEY\n"
		"      session_token: file:/run/aws/token\n"
		"      placeholder_env: AWS_SECRET_ACCESS_KEY\n"
		"      access_key_id_placeholder_env: AWS_ACCESS_KEY_ID\n"
		"      session_token_placeholder_env: AWS_SESSION_TOKEN\n"
		"  - host_pattern: minio.example\n"
		"    auth_strategy: {mode: aws_sigv4, access_key_id: env:M_ID, secret: env:M_KEY,\n"
		"                    region: us-east-1, service: s3}\n";
	char err[512];
	struct profile *p = parse(y, err, sizeof(err));
	const struct pf_auth *a;

	if (!p)
		fprintf(stderr, "%s\n", err);
	REQUIRE(p);
	REQUIRE(p->nrules == 4);
	a = p->rules[0].auth;
	CHECK(a->mode == PF_AUTH_QUERY);
	CHECK_STR(a->param_name, "api_key");
	CHECK(!a->header_name && !a->format && !pf_auth_header(a));
	a = p->rules[1].auth;
	CHECK(a->mode == PF_AUTH_PATH && !a->format && !pf_auth_header(a));
	CHECK_STR(a->placeholder_env, "TG_TOKEN");
	a = p->rules[2].auth;
	CHECK(a->mode == PF_AUTH_SIGV4 && !a->format);
	CHECK_STR(pf_auth_header(a), "Authorization");
	CHECK_STR(a->akid_ref, "env:AWS_ACCESS_KEY_ID");
	CHECK_STR(a->token_ref, "file:/run/aws/token");
	CHECK_STR(a->akid_placeholder_env, "AWS_ACCESS_KEY_ID");
	CHECK_STR(a->token_placeholder_env, "AWS_SESSION_TOKEN");
	CHECK(!a->region && !a->service);
	CHECK(a->akid_index == -1 && a->token_index == -1);
	a = p->rules[3].auth;
	CHECK_STR(a->region, "us-east-1");
	CHECK_STR(a->service, "s3");
	CHECK(!a->token_ref);
	profile_free(p);
}

TEST(profile_auth_modes_errors)
{
	/* query */
	CHECK(fails_with(RA "      mode: query\n      secret: env:T\n",
			 "t.yaml:4:7: expected 'name' (the query parameter to set) in auth_strategy with mode: query"));
	CHECK(fails_with(RA "      mode: query\n      name: \"a b\"\n      secret: env:T\n",
			 "t.yaml:5:13: expected 'name' to be an HTTP header name"));
	CHECK(fails_with(RA "      mode: query\n      name: \"a&b\"\n      secret: env:T\n",
			 "t.yaml:5:7: expected 'name' with mode: query to be a query parameter name"));
	CHECK(fails_with(RA "      mode: query\n      name: \"a+b\"\n      secret: env:T\n",
			 "t.yaml:5:7: expected 'name' with mode: query to be a query parameter name"));
	CHECK(fails_with(RA "      mode: query\n      name: k\n      format: \"x{secret}\"\n      secret: env:T\n",
			 "t.yaml:6:7: 'format' is only for mode: bearer or header"));
	/* a query parameter may be called host; a header may not, whatever
	 * the order of the keys */
	CHECK(parses(RA "      mode: query\n      name: host\n      secret: env:T\n"));
	CHECK(parses(RA "      name: host\n      mode: query\n      secret: env:T\n"));
	CHECK(fails_with(RA "      name: host\n      mode: header\n      secret: env:T\n",
			 "t.yaml:4:7: expected 'name' to be a header a credential goes in: 'host'"));
	/* path */
	CHECK(fails_with(RA "      mode: path\n      secret: env:T\n",
			 "t.yaml:4:7: expected 'placeholder_env' in auth_strategy with mode: path"));
	CHECK(fails_with(RA "      mode: path\n      name: x\n      secret: env:T\n      placeholder_env: T\n",
			 "t.yaml:5:7: 'name' is only for mode: header or query"));
	/* aws_sigv4 */
	CHECK(fails_with(RS3 "      mode: aws_sigv4\n      secret: env:S\n",
			 "t.yaml:4:7: expected 'access_key_id' (env:NAME, file:/PATH or cred:NAME) in auth_strategy with mode: aws_sigv4"));
	CHECK(fails_with(RS3 "      mode: aws_sigv4\n      access_key_id: AKIA1234\n      secret: env:S\n",
			 "t.yaml:5:22: expected 'access_key_id' to be env:NAME, file:/PATH, cred:NAME or cmd:PROGRAM ARGS; an inline secret is not accepted"));
	CHECK(fails_with(RS3 "      mode: aws_sigv4\n      access_key_id: env:A\n      secret: env:S\n      region: US-East-1\n",
			 "t.yaml:7:15: expected 'region' to be an AWS region name such as us-east-1 (a-z, 0-9 and '-'), found 'US-East-1'"));
	CHECK(fails_with(RS3 "      mode: aws_sigv4\n      access_key_id: env:A\n      secret: env:S\n      service: \"s3 \"\n",
			 "t.yaml:7:16: expected 'service' to be an AWS service name such as s3"));
	CHECK(fails_with(RS3 "      mode: aws_sigv4\n      access_key_id: env:A\n      secret: env:S\n      session_token_placeholder_env: T\n",
			 "t.yaml:7:7: 'session_token_placeholder_env' needs 'session_token'"));
	CHECK(fails_with(RS3 "      mode: aws_sigv4\n      access_key_id: env:A\n      secret: env:S\n      format: \"{secret}\"\n",
			 "t.yaml:7:7: 'format' is only for mode: bearer or header"));
	CHECK(fails_with(RA "      mode: aws_sigv4\n      access_key_id: env:A\n      secret: env:S\n",
			 "t.yaml:3:5: 'auth_strategy' with mode: aws_sigv4 needs 'region' and 'service' for host_pattern 'a.com'"));
	CHECK(fails_with(RA "      mode: aws_sigv4\n      access_key_id: env:A\n      secret: env:S\n      region: us-east-1\n",
			 "t.yaml:3:5: 'auth_strategy' with mode: aws_sigv4 needs 'region' and 'service'"));
	CHECK(parses(RA "      mode: aws_sigv4\n      access_key_id: env:A\n      secret: env:S\n"
		     "      region: us-east-1\n      service: s3\n"));
	/* keys of aws_sigv4 elsewhere */
	CHECK(fails_with(RA "      mode: bearer\n      secret: env:S\n      access_key_id: env:A\n",
			 "t.yaml:6:7: 'access_key_id' is only for mode: aws_sigv4"));
	CHECK(fails_with(RA "      mode: header\n      name: X-K\n      secret: env:S\n      region: us-east-1\n",
			 "t.yaml:7:7: 'region' is only for mode: aws_sigv4"));
	CHECK(fails_with(RA "      mode: query\n      name: k\n      secret: env:S\n      session_token: env:T\n",
			 "t.yaml:7:7: 'session_token' is only for mode: aws_sigv4"));
	/* one variable, two secrets: within a rule and across rules */
	CHECK(fails_with(RS3 "      mode: aws_sigv4\n      access_key_id: env:A\n      secret: env:S\n"
			 "      placeholder_env: X\n      access_key_id_placeholder_env: X\n",
			 "t.yaml:3:5: placeholder_env 'X' is already used by rule"));
	CHECK(fails_with("rules:\n  - host_pattern: b.com\n    auth_strategy: {mode: bearer, secret: env:B, placeholder_env: AWS_ACCESS_KEY_ID}\n"
			 "  - host_pattern: s3.amazonaws.com\n    auth_strategy:\n      mode: aws_sigv4\n      access_key_id: env:A\n"
			 "      secret: env:S\n      access_key_id_placeholder_env: AWS_ACCESS_KEY_ID\n",
			 "t.yaml:5:5: placeholder_env 'AWS_ACCESS_KEY_ID' is already used by rule 'b.com' (line 2)"));
	/* an inline secret in access_key_id or session_token is not repeated */
	{
		char err[512];
		struct profile *p = parse(RS3 "      mode: aws_sigv4\n      access_key_id: env:A\n      secret: env:S\n"
					  "      session_token: IQoJb3JpZ2luX2VjEXAMPLE\n", err, sizeof(err));

		CHECK(!p);
		CHECK(!strstr(err, "IQoJb3JpZ2luX2VjEXAMPLE"));
		profile_free(p);
	}
}
