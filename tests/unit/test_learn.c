// SPDX-License-Identifier: MIT
/* test_learn.c - the learn table and the profile it writes (src/learn.c),
 * and audit-mode decisions (src/policy.c). */
#include "unit.h"
#include "learn.h"
#include "policy.h"

#include <stdlib.h>
#include <sys/socket.h>

static struct profile *parse(const char *yaml)
{
	char err[512];
	struct profile *p = profile_parse(yaml, strlen(yaml), "l.yaml", err,
					  sizeof(err));

	if (!p)
		fprintf(stderr, "%s\n", err);
	return p;
}

TEST(learn_quote_escapes_everything_yaml_reads)
{
	char out[64];

	CHECK(learn_yaml_quote("a\"b\\c", out, sizeof(out)) == 0);
	CHECK_STR(out, "\"a\\\"b\\\\c\"");
	CHECK(learn_yaml_quote("x\ny\t#z", out, sizeof(out)) == 0);
	CHECK_STR(out, "\"x\\x0ay\\x09#z\"");
	CHECK(learn_yaml_quote("\xff\x7f", out, sizeof(out)) == 0);
	CHECK_STR(out, "\"\\xff\\x7f\"");
	CHECK(learn_yaml_quote("abcdefgh", out, 8) < 0);
}

TEST(learn_host_and_path_checks)
{
	CHECK(learn_host_ok("api.example.com"));
	CHECK(learn_host_ok("a_b-c.example"));
	CHECK(learn_host_ok("198.51.100.7"));
	CHECK(learn_host_ok("2001:db8::1"));
	CHECK(!learn_host_ok("*.example.com"));
	CHECK(!learn_host_ok("a\"b.example"));
	CHECK(!learn_host_ok("a b"));
	CHECK(!learn_host_ok("a#b"));
	CHECK(!learn_host_ok("A.EXAMPLE"));
	CHECK(!learn_host_ok(".example"));
	CHECK(!learn_host_ok("a..b"));
	CHECK(!learn_host_ok("api.e:xample.com"));   /* found by fuzz_learn */
	CHECK(!learn_host_ok("2001:DB8::1"));
	CHECK(!learn_host_ok("1.2.3"));
	CHECK(!learn_host_ok("a.example."));
	CHECK(learn_host_ok("a.b2c"));
	CHECK(!learn_host_ok(""));
	CHECK(!learn_host_ok(NULL));
	CHECK(learn_path_ok("/v1/items"));
	CHECK(learn_path_ok("/a%22b"));
	CHECK(!learn_path_ok("v1"));
	CHECK(!learn_path_ok("/a*"));
	CHECK(!learn_path_ok("/a?b"));
	CHECK(!learn_path_ok("/a#b"));
	CHECK(!learn_path_ok("/a b"));
	CHECK(!learn_path_ok("/a\"b"));
	CHECK(!learn_path_ok("/a\nb"));
	CHECK(!learn_path_ok("/./a"));
	CHECK(!learn_path_ok("/a/.."));
	CHECK(learn_path_ok("/a/..b"));
}

TEST(learn_writes_one_rule_per_host_with_prefixes)
{
	struct learn *l = learn_new();
	struct profile *p;
	char err[256], *y = NULL;

	REQUIRE(l);
	learn_conn(l, PF_TCP, "api.example.com", 443, 0, -1);
	learn_conn(l, PF_TCP, "api.example.com", 80, 1, -1);
	learn_request(l, "api.example.com", 80, 1, "GET", "/v1/a", -1);
	learn_request(l, "api.example.com", 80, 1, "GET", "/v1/b", -1);
	learn_request(l, "api.example.com", 80, 1, "POST", "/v1/c", -1);
	learn_request(l, "api.example.com", 80, 1, "GET", "/v1/c", -1);
	learn_request(l, "api.example.com", 80, 1, "GET", "/", -1);
	learn_request(l, "api.example.com", 80, 1, "GET", "/x", -1);
	learn_request(l, "api.example.com", 80, 1, "GET", "/y", -1);
	learn_conn(l, PF_UDP, "ntp.example", 123, 0, -1);
	learn_conn(l, PF_TCP, "198.51.100.7", 22, 0, -1);
	REQUIRE(learn_write(l, NULL, &y, err, sizeof(err)) == 0);
	CHECK(strstr(y, "default_action: deny\n"));
	CHECK(strstr(y, "- host_pattern: \"api.example.com\"\n    ports: [80]\n"
		      "    methods: [GET, POST]\n    path_pattern:\n"
		      "      - \"/v1/*\"\n      - \"/\"\n      - \"/x\"\n"
		      "      - \"/y\"\n    allow_private: true\n"));
	CHECK(strstr(y, "- host_pattern: \"api.example.com\"\n    ports: [443]\n  #"));
	CHECK(strstr(y, "- host_pattern: \"ntp.example\"\n    protocol: udp\n"
		      "    ports: [123]\n"));
	CHECK(strstr(y, "- host_pattern: \"198.51.100.7\"\n    ports: [22]\n"));
	CHECK(strstr(y, "# seen: 1 connection(s), 7 HTTP request(s)\n"));
	p = parse(y);
	REQUIRE(p);
	CHECK(p->nrules == 4 && p->default_action == PF_DENY);
	profile_free(p);
	free(y);
	learn_free(l);
}

TEST(learn_hostile_names_and_paths_write_no_rule)
{
	static const char *const names[] = {
		"evil\"\n- host_pattern: x", "a: b", "#c", "*.com", "e f",
		"x\\y", "{a}", "a\nb",
	};
	static const char *const paths[] = {
		"/a\"\n  - host_pattern: \"evil", "/b#c", "/c*", "/d e",
		"/f\\g", "/h\x01", "/i\xc3\xa9", "/j'k: l", "/j'k:l",
		"/m{n}[o]&p|q>r%s",
	};
	struct learn *l = learn_new();
	struct profile *p;
	char err[256], *y = NULL;
	size_t i;

	REQUIRE(l);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		learn_conn(l, PF_TCP, names[i], 80, 0, -1);
		learn_request(l, names[i], 80, 0, "GET", "/", -1);
	}
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		learn_request(l, "ok.example", 80, 0, "GET", paths[i], -1);
	learn_request(l, "ok.example", 80, 0, "get", "/lower", -1);
	learn_request(l, "ok.example", 80, 0, "G#T", "/m", -1);
	REQUIRE(learn_write(l, NULL, &y, err, sizeof(err)) == 0);
	p = parse(y);
	REQUIRE(p);
	CHECK(p->nrules == 1);
	CHECK_STR(p->rules[0].host_pattern, "ok.example");
	CHECK(p->rules[0].npath_patterns == 2);
	CHECK(p->rules[0].nmethods == 1);
	for (i = 0; i < p->rules[0].npath_patterns; i++)
		CHECK(!strchr(p->rules[0].path_patterns[i], '\n'));
	CHECK(strstr(y, "\"/j'k:l\""));
	CHECK(strstr(y, "\"/m{n}[o]&p|q>r%s\""));
	/* 8 names (connection and request), 8 paths, 2 methods */
	CHECK(strstr(y, "# 26 name(s), path(s) or method(s) no rule can hold"));
	CHECK(!strstr(y, "evil"));
	profile_free(p);
	free(y);
	learn_free(l);
}

TEST(learn_is_bounded)
{
	struct learn *l = learn_new();
	char host[64], path[64], err[256], *y = NULL;
	struct profile *p;
	int i;

	REQUIRE(l);
	for (i = 0; i < LEARN_MAX_PATHS + 10; i++) {
		snprintf(path, sizeof(path), "/p%d/x", i);
		learn_request(l, "h0.example", 80, 0, "GET", path, -1);
	}
	for (i = 0; i < LEARN_MAX_DESTS + 50; i++) {
		snprintf(host, sizeof(host), "h%d.example", i);
		learn_conn(l, PF_TCP, host, 443, 0, -1);
	}
	REQUIRE(learn_write(l, NULL, &y, err, sizeof(err)) == 0);
	CHECK(strstr(y, "# 51 more destination(s) past the first 512")); /* +h0:80 */
	CHECK(strstr(y, "# 10 more request(s) on paths past the first 256 (8192 in all)"));
	p = parse(y);
	REQUIRE(p);
	CHECK(p->nrules == LEARN_MAX_DESTS);
	profile_free(p);
	free(y);
	learn_free(l);
}

TEST(learn_total_paths_are_bounded)
{
	struct learn *l = learn_new();
	char host[64], path[64], err[256], *y = NULL;
	int i, j;

	REQUIRE(l);
	for (i = 0; i < 40; i++)
		for (j = 0; j < LEARN_MAX_PATHS; j++) {
			snprintf(host, sizeof(host), "h%d.example", i);
			snprintf(path, sizeof(path), "/%d", j);
			learn_request(l, host, 80, 0, "GET", path, -1);
		}
	REQUIRE(learn_write(l, NULL, &y, err, sizeof(err)) == 0);
	/* 32 hosts full, the other 8 refused every path: no rule for them
	 * (one without paths would allow more than was seen) */
	CHECK(strstr(y, "# requests were seen on a host, but none could be learned"));
	CHECK(!strstr(y, "\"h39.example\""));
	CHECK(strstr(y, "\"h31.example\""));
	free(y);
	learn_free(l);
}

TEST(learn_long_path_is_a_prefix)
{
	struct learn *l = learn_new();
	char path[LEARN_MAX_PATH + 100], err[256], *y = NULL;

	REQUIRE(l);
	memset(path, 'a', sizeof(path));
	memcpy(path, "/deep/", 6);
	path[sizeof(path) - 1] = '\0';
	learn_request(l, "ok.example", 80, 0, "GET", path, -1);
	REQUIRE(learn_write(l, NULL, &y, err, sizeof(err)) == 0);
	CHECK(strstr(y, "\"/deep/*\""));
	free(y);
	learn_free(l);
}

static const char from_text[] =
	"name: base\n"
	"# kept\n"
	"rules:\n"
	"    - host_pattern: a.example\n"
	"      action: deny\n"
	"      priority: 10\n"
	"timeouts:\n"
	"  idle: 5\n";

TEST(learn_from_adds_to_the_block_list)
{
	struct learn_from f = { from_text, sizeof(from_text) - 1 };
	struct learn *l = learn_new();
	struct profile *p;
	char err[256], *y = NULL;

	REQUIRE(l);
	learn_conn(l, PF_TCP, "a.example", 443, 0, 10);
	REQUIRE(learn_write(l, &f, &y, err, sizeof(err)) == 0);
	CHECK(!strncmp(y, from_text, strlen("name: base\n# kept\nrules:\n"
					    "    - host_pattern: a.example\n")));
	CHECK(strstr(y, "    - host_pattern: \"a.example\"\n      ports: [443]\n"
		      "      priority: 9\n"));
	CHECK(strstr(y, "timeouts:\n  idle: 5\n"));
	p = parse(y);
	REQUIRE(p);
	CHECK(p->nrules == 2 && p->idle_s == 5);
	CHECK(p->rules[0].priority == 9 && p->rules[0].action == PF_ALLOW);
	profile_free(p);
	free(y);
	learn_free(l);
}

TEST(learn_from_without_rules_and_flow_rules)
{
	static const char norules[] = "name: base\ndefault_action: deny";
	static const char flow[] = "name: base\nrules: []\n";
	struct learn_from f = { norules, sizeof(norules) - 1 };
	struct learn *l = learn_new();
	struct profile *p;
	char err[256], *y = NULL;

	REQUIRE(l);
	learn_conn(l, PF_TCP, "b.example", 443, 0, -1);
	REQUIRE(learn_write(l, &f, &y, err, sizeof(err)) == 0);
	p = parse(y);
	REQUIRE(p);
	CHECK(p->nrules == 1);
	profile_free(p);
	free(y);
	f.text = flow;
	f.len = sizeof(flow) - 1;
	CHECK(learn_write(l, &f, &y, err, sizeof(err)) < 0);
	CHECK(strstr(err, "block list"));
	learn_free(l);
}

TEST(learn_from_indented_or_flow_mapping)
{
	/* found by fuzz_learn: a profile whose keys are indented got a
	 * `rules:` at column 0 (not YAML) */
	static const char indented[] = " timeouts:\n  idle: 4\n";
	static const char flow[] = "{name: x}\n";
	struct learn_from f = { indented, sizeof(indented) - 1 };
	struct learn *l = learn_new();
	struct profile *p;
	char err[256], *y = NULL;

	REQUIRE(l);
	learn_conn(l, PF_TCP, "b.example", 443, 0, -1);
	REQUIRE(learn_write(l, &f, &y, err, sizeof(err)) == 0);
	CHECK(strstr(y, "\n rules:\n   # seen: 1 connection(s)\n"
		      "   - host_pattern: \"b.example\"\n"));
	p = parse(y);
	REQUIRE(p);
	CHECK(p->nrules == 1 && p->idle_s == 4);
	profile_free(p);
	free(y);
	f.text = flow;
	f.len = sizeof(flow) - 1;
	CHECK(learn_write(l, &f, &y, err, sizeof(err)) < 0);
	CHECK(strstr(err, "block mapping"));
	learn_free(l);
}

static enum pf_action dec(const struct profile *p, const char *host,
			  uint16_t port, struct pf_decision *d)
{
	struct pf_query q = { .host = host, .port = port, .proto = PF_TCP };

	policy_decide(p, &q, d);
	return d->action;
}

TEST(policy_audit_mode_decisions)
{
	struct profile *p = parse(
		"enforcement: audit\n"
		"rules:\n"
		"  - name: reads\n    host_pattern: api.example\n    ports: [80]\n"
		"    path_pattern: /v1/*\n"
		"  - name: no\n    host_pattern: bad.example\n    action: deny\n"
		"    allow_private: true\n"
		"  - name: hard\n    host_pattern: hard.example\n    action: deny\n"
		"    enforcement: enforce\n");
	struct pf_query q = { .host = "api.example", .port = 80, .proto = PF_TCP };
	struct pf_decision d;
	uint8_t lo[4] = { 127, 0, 0, 1 }, pub[4] = { 198, 51, 100, 1 };
	int audited;

	REQUIRE(p);
	CHECK(dec(p, "other.example", 443, &d) == PF_ALLOW && d.audit);
	CHECK(!d.rule && !d.refused_by && !d.per_request);
	CHECK_STR(policy_rule_label(&d), "default");
	CHECK(policy_private_blocked(&d, AF_INET, lo));
	CHECK(!policy_private_blocked(&d, AF_INET, pub));
	CHECK(dec(p, "bad.example", 443, &d) == PF_ALLOW && d.audit);
	CHECK_STR(policy_rule_label(&d), "no");
	CHECK(!policy_private_blocked(&d, AF_INET, lo)); /* its allow_private */
	CHECK(dec(p, "hard.example", 443, &d) == PF_DENY && !d.audit);
	CHECK(dec(p, "api.example", 80, &d) == PF_ALLOW && !d.audit);
	policy_decide_request(p, &q, "GET", "/v1/x", &d);
	CHECK(d.action == PF_ALLOW && !d.audit);
	policy_decide_request(p, &q, "GET", "/v2/x", &d);
	CHECK(d.action == PF_ALLOW && d.audit && !d.rule);
	policy_decide_request(p, &q, "GET", "/v1/../x", &d);
	CHECK(d.action == PF_DENY && !d.audit);     /* malformed: enforced */
	CHECK(policy_name_dns(p, "other.example", &audited) && audited);
	CHECK(policy_name_dns(p, "api.example", &audited) && !audited);
	CHECK(!policy_name_dns(p, "hard.example", &audited) && !audited);
	p->audit_intercept = 1;
	CHECK(dec(p, "other.example", 443, &d) == PF_ALLOW && d.per_request);
	profile_free(p);

	p = parse("enforcement: audit\nrules:\n"
		  "  - name: nodel\n    host_pattern: api.example\n    ports: [80]\n"
		  "    methods: [DELETE]\n    path_pattern: /r/*\n    action: deny\n"
		  "  - host_pattern: api.example\n    ports: [80]\n");
	REQUIRE(p);
	policy_decide_request(p, &q, "DELETE", "/r/x", &d);
	CHECK(d.action == PF_ALLOW && d.audit);
	CHECK_STR(policy_rule_label(&d), "nodel");
	policy_decide_request(p, &q, "DELETE", "/r/x/../y", &d);
	CHECK(d.action == PF_DENY && !d.audit);      /* malformed: enforced */
	CHECK_STR(policy_rule_label(&d), "nodel");
	profile_free(p);

	p = parse("rules:\n  - host_pattern: api.example\n    ports: [80]\n"
		  "    methods: [GET]\n    enforcement: audit\n");
	REQUIRE(p);
	policy_decide_request(p, &q, "DELETE", "/", &d);
	CHECK(d.action == PF_ALLOW && d.audit);      /* the rule's own audit */
	CHECK(dec(p, "x.example", 80, &d) == PF_DENY); /* the top enforces */
	profile_free(p);
	CHECK(!parse("enforcement: warn\n"));
	CHECK(!parse("rules:\n  - host_pattern: a.example\n    enforcement: 1\n"));
}
