// SPDX-License-Identifier: MIT
/* test_policy.c - decisions (src/policy.c). */
#include "unit.h"
#include "policy.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

static struct profile *mk(const char *yaml)
{
	char err[512];
	struct profile *p = profile_parse(yaml, strlen(yaml), "p.yaml", err, sizeof(err));

	if (!p)
		fprintf(stderr, "%s\n", err);
	return p;
}

/* Decide for a name (host) or an IP literal (ip), returning the label. */
static const char *decide(const struct profile *p, const char *host,
			  const char *ip, uint16_t port, int proto,
			  enum pf_action *act)
{
	static uint8_t a[16];
	struct pf_query q = { .host = host, .port = port, .proto = proto };
	struct pf_decision d;

	if (ip) {
		q.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(q.family, ip, a) != 1)
			return "BAD-TEST-ADDRESS";
		q.addr = a;
	}
	policy_decide(p, &q, &d);
	*act = d.action;
	return policy_rule_label(&d);
}

TEST(policy_host_match_cases)
{
	CHECK(policy_host_match("*.example.com", "a.example.com"));
	CHECK(policy_host_match("*.example.com", "a.b.example.com"));
	CHECK(!policy_host_match("*.example.com", "example.com"));
	CHECK(!policy_host_match("*.example.com", "badexample.com"));
	CHECK(!policy_host_match("*.example.com", "a.example.com.evil"));
	CHECK(!policy_host_match("*.example.com", ".example.com"));
	CHECK(policy_host_match("*.example.com", "A.EXAMPLE.com"));
	CHECK(policy_host_match("*.example.com", "a.example.com."));
	CHECK(!policy_host_match("*.example.com", "example.com."));
	CHECK(policy_host_match("*.com", "example.com"));
	CHECK(policy_host_match("example.com", "example.com"));
	CHECK(policy_host_match("example.com", "EXAMPLE.COM."));
	CHECK(!policy_host_match("example.com", "a.example.com"));
	CHECK(!policy_host_match("example.com", "example.co"));
	CHECK(!policy_host_match("example.com", "example.comm"));
	CHECK(!policy_host_match("example.com", ""));
	CHECK(!policy_host_match("example.com", "."));
	CHECK(!policy_host_match("example.com", NULL));
	CHECK(!policy_host_match(NULL, "example.com"));
	CHECK(!policy_host_match("*", "example.com"));
}

static struct pf_cidr cidr(const char *a, int prefix)
{
	struct pf_cidr c = { 0 };

	c.family = strchr(a, ':') ? AF_INET6 : AF_INET;
	inet_pton(c.family, a, c.addr);
	c.prefix = prefix;
	return c;
}

static int in(const struct pf_cidr *c, const char *ip)
{
	uint8_t a[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;

	inet_pton(fam, ip, a);
	return policy_cidr_match(c, fam, a);
}

TEST(policy_cidr_match_cases)
{
	struct pf_cidr c;

	c = cidr("10.1.2.3", 8); /* host bits set: fine */
	CHECK(in(&c, "10.0.0.1"));
	CHECK(in(&c, "10.255.255.255"));
	CHECK(!in(&c, "11.0.0.0"));
	CHECK(!in(&c, "::1"));
	CHECK(in(&c, "::ffff:10.9.9.9"));   /* v4-mapped */
	c = cidr("172.16.0.0", 12);
	CHECK(in(&c, "172.31.255.255"));
	CHECK(!in(&c, "172.32.0.0"));
	c = cidr("192.0.2.7", 32);
	CHECK(in(&c, "192.0.2.7"));
	CHECK(!in(&c, "192.0.2.8"));
	c = cidr("0.0.0.0", 0);
	CHECK(in(&c, "8.8.8.8"));
	c = cidr("2001:db8::", 32);
	CHECK(in(&c, "2001:db8:ffff::1"));
	CHECK(!in(&c, "2001:db9::1"));
	CHECK(!in(&c, "10.0.0.1"));
	c = cidr("2001:db8::", 33);
	CHECK(in(&c, "2001:db8:7fff::1"));
	CHECK(!in(&c, "2001:db8:8000::1"));
	c = cidr("::1", 128);
	CHECK(in(&c, "::1"));
	CHECK(!in(&c, "::2"));
	c.prefix = 129;
	CHECK(!in(&c, "::1"));
	CHECK(!policy_cidr_match(NULL, AF_INET, (const uint8_t *)"abcd"));
}

static int priv(const char *ip)
{
	uint8_t a[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(fam, ip, a) != 1)
		return -1;
	return policy_addr_is_private(fam, a);
}

TEST(policy_private_ranges)
{
	static const char *const yes[] = {
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "100.127.255.255",
		"127.0.0.1", "169.254.169.254", "172.16.0.1", "172.31.255.255",
		"192.0.0.8", "192.168.1.1", "198.18.0.1", "198.19.255.255",
		"224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
		"::", "::1", "fc00::1", "fd00::2", "fe80::1", "febf::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
		"64:ff9b::10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:0a00:0001::1",
	};
	static const char *const no[] = {
		"1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.0", "172.15.255.255",
		"172.32.0.0", "192.0.1.1", "192.169.0.1", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", "11.0.0.1", "2001:4860:4860::8888", "2606:4700::1",
		"::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "fbff::1", "2002:0808:0808::1",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		if (priv(yes[i]) != 1) {
			fprintf(stderr, "expected private: %s\n", yes[i]);
			CHECK(0);
		}
	for (i = 0; i < sizeof(no) / sizeof(*no); i++)
		if (priv(no[i]) != 0) {
			fprintf(stderr, "expected public: %s\n", no[i]);
			CHECK(0);
		}
	CHECK(policy_addr_is_private(AF_INET, NULL) == 1);
	CHECK(policy_addr_is_private(12345, (const uint8_t *)"abcdabcdabcdabcd") == 1);
}

TEST(policy_first_match_and_priority)
{
	struct profile *p = mk(
		"default_action: deny\n"
		"rules:\n"
		"  - name: deny-admin\n"
		"    priority: 5\n"
		"    host_pattern: admin.example.com\n"
		"    action: deny\n"
		"  - name: all-example\n"
		"    priority: 10\n"
		"    host_pattern: \"*.example.com\"\n"
		"    ports: [443]\n"
		"  - name: later-same-priority\n"
		"    priority: 10\n"
		"    host_pattern: \"*.example.com\"\n"
		"    ports: [443]\n"
		"    action: deny\n"
		"  - name: exact\n"
		"    host_pattern: example.com\n"
		"    ports: [\"8000-8100\"]\n"
		"  - name: dns\n"
		"    host_pattern: resolver.example.net\n"
		"    protocol: udp\n"
		"    ports: [53]\n"
		"  - name: lit\n"
		"    host_pattern: 192.0.2.7\n"
		"    ports: [22]\n"
		"  - name: lit6\n"
		"    host_pattern: \"2001:db8::7\"\n"
		"    ports: [22]\n"
		"  - name: nets\n"
		"    cidr: [203.0.113.0/24, \"2001:db8:1::/48\"]\n"
		"    ports: \"*\"\n");
	enum pf_action a;

	REQUIRE(p);
	/* Priority beats file order; first match wins among equals. */
	CHECK_STR(decide(p, "admin.example.com", NULL, 443, PF_TCP, &a), "deny-admin");
	CHECK(a == PF_DENY);
	CHECK_STR(decide(p, "api.example.com", NULL, 443, PF_TCP, &a), "all-example");
	CHECK(a == PF_ALLOW);
	CHECK_STR(decide(p, "Api.Example.Com.", NULL, 443, PF_TCP, &a), "all-example");
	/* Ports: not 80 for the wildcard rule (explicit ports), range for exact. */
	CHECK_STR(decide(p, "api.example.com", NULL, 80, PF_TCP, &a), "default");
	CHECK(a == PF_DENY);
	CHECK_STR(decide(p, "example.com", NULL, 8050, PF_TCP, &a), "exact");
	CHECK_STR(decide(p, "example.com", NULL, 8101, PF_TCP, &a), "default");
	CHECK_STR(decide(p, "example.com", NULL, 443, PF_TCP, &a), "default");
	/* Protocol. */
	CHECK_STR(decide(p, "resolver.example.net", NULL, 53, PF_UDP, &a), "dns");
	CHECK_STR(decide(p, "resolver.example.net", NULL, 53, PF_TCP, &a), "default");
	CHECK_STR(decide(p, "api.example.com", NULL, 443, PF_UDP, &a), "default");
	/* A name pattern never matches a query without a host. */
	CHECK_STR(decide(p, NULL, "93.184.216.34", 443, PF_TCP, &a), "default");
	/* IP literal rules: only for IP-literal queries. */
	CHECK_STR(decide(p, NULL, "192.0.2.7", 22, PF_TCP, &a), "lit");
	CHECK(a == PF_ALLOW);
	CHECK_STR(decide(p, NULL, "::ffff:192.0.2.7", 22, PF_TCP, &a), "lit");
	CHECK_STR(decide(p, NULL, "192.0.2.8", 22, PF_TCP, &a), "default");
	CHECK_STR(decide(p, "host.example.org", "192.0.2.7", 22, PF_TCP, &a), "default");
	CHECK_STR(decide(p, NULL, "2001:db8::7", 22, PF_TCP, &a), "lit6");
	/* CIDR rules: any query with an address, with or without a host. */
	CHECK_STR(decide(p, NULL, "203.0.113.99", 5432, PF_TCP, &a), "nets");
	CHECK_STR(decide(p, "db.example.org", "203.0.113.1", 1, PF_TCP, &a), "nets");
	CHECK_STR(decide(p, NULL, "2001:db8:1:ffff::1", 65535, PF_TCP, &a), "nets");
	CHECK_STR(decide(p, NULL, "2001:db8:2::1", 443, PF_TCP, &a), "default");
	CHECK_STR(decide(p, "db.example.org", NULL, 443, PF_TCP, &a), "default");
	profile_free(p);
}

TEST(policy_default_semantics)
{
	struct profile *p;
	struct pf_decision d;
	enum pf_action a;

	p = mk("default_action: allow\n");
	REQUIRE(p);
	CHECK_STR(decide(p, "anything.com", NULL, 443, PF_TCP, &a), "default");
	CHECK(a == PF_ALLOW);
	profile_free(p);

	p = mk("default_action: allow\ninternet_enabled: false\n");
	REQUIRE(p);
	decide(p, "anything.com", NULL, 443, PF_TCP, &a);
	CHECK(a == PF_DENY);
	profile_free(p);

	p = mk("default_action: deny\ninternet_enabled: true\n");
	REQUIRE(p);
	decide(p, "anything.com", NULL, 443, PF_TCP, &a);
	CHECK(a == PF_DENY);
	profile_free(p);

	p = mk("{}\n");
	REQUIRE(p);
	decide(p, "anything.com", NULL, 443, PF_TCP, &a);
	CHECK(a == PF_DENY);
	profile_free(p);

	/* Rules still apply with internet_enabled false. */
	p = mk("default_action: allow\ninternet_enabled: false\nrules:\n  - host_pattern: ok.com\n");
	REQUIRE(p);
	CHECK_STR(decide(p, "ok.com", NULL, 443, PF_TCP, &a), "ok.com");
	CHECK(a == PF_ALLOW);
	decide(p, "ok.com", NULL, 22, PF_TCP, &a);
	CHECK(a == PF_DENY);
	profile_free(p);

	/* NULLs never crash, and deny. */
	policy_decide(NULL, NULL, &d);
	CHECK(d.action == PF_DENY && d.rule == NULL);
	policy_decide(NULL, NULL, NULL);
	CHECK_STR(policy_rule_label(NULL), "default");
}

TEST(policy_private_blocking)
{
	struct profile *p = mk(
		"default_action: allow\n"
		"rules:\n"
		"  - host_pattern: intranet.example.com\n"
		"    allow_private: true\n"
		"  - host_pattern: rebind.example.com\n"
		"  - cidr: 10.5.0.0/16\n");
	struct pf_query q = { .port = 443, .proto = PF_TCP };
	struct pf_decision d;
	uint8_t a10[4] = { 10, 1, 2, 3 }, a105[4] = { 10, 5, 0, 1 };
	uint8_t pub[4] = { 93, 184, 216, 34 };

	REQUIRE(p);
	q.host = "intranet.example.com";
	policy_decide(p, &q, &d);
	CHECK(d.match == PF_MATCH_HOST);
	CHECK(!policy_private_blocked(&d, AF_INET, a10));
	q.host = "rebind.example.com";
	policy_decide(p, &q, &d);
	CHECK(policy_private_blocked(&d, AF_INET, a10));
	CHECK(!policy_private_blocked(&d, AF_INET, pub));
	q.host = "other.example.com";
	policy_decide(p, &q, &d);
	CHECK(d.rule == NULL && d.action == PF_ALLOW);
	CHECK(policy_private_blocked(&d, AF_INET, a10));
	q.host = NULL;
	q.family = AF_INET;
	q.addr = a105;
	policy_decide(p, &q, &d);
	CHECK(d.match == PF_MATCH_CIDR);
	CHECK(!policy_private_blocked(&d, AF_INET, a105));
	d.action = PF_DENY;
	CHECK(!policy_private_blocked(&d, AF_INET, a10));
	profile_free(p);
}

TEST(policy_shipped_profiles)
{
	char err[512];
	struct profile *p;
	enum pf_action a;

	p = profile_load("profiles/dev.yaml", err, sizeof(err));
	REQUIRE(p);
	decide(p, "example.com", NULL, 443, PF_TCP, &a);
	CHECK(a == PF_ALLOW);
	decide(p, "metadata.google.internal", NULL, 80, PF_TCP, &a);
	CHECK(a == PF_DENY);
	decide(p, "db.corp.internal", NULL, 5432, PF_TCP, &a);
	CHECK(a == PF_DENY);
	decide(p, NULL, "169.254.169.254", 80, PF_TCP, &a);
	CHECK(a == PF_DENY);
	profile_free(p);

	p = profile_load("profiles/locked-down.yaml", err, sizeof(err));
	REQUIRE(p);
	decide(p, "registry.npmjs.org", NULL, 443, PF_TCP, &a);
	CHECK(a == PF_ALLOW);
	decide(p, "pypi.org", NULL, 80, PF_TCP, &a);
	CHECK(a == PF_DENY);
	decide(p, "example.com", NULL, 443, PF_TCP, &a);
	CHECK(a == PF_DENY);
	profile_free(p);

	p = profile_load("profiles/github-readonly.yaml", err, sizeof(err));
	REQUIRE(p);
	CHECK_STR(decide(p, "api.github.com", NULL, 443, PF_TCP, &a), "github-api");
	CHECK(a == PF_ALLOW);
	decide(p, "gitlab.com", NULL, 443, PF_TCP, &a);
	CHECK(a == PF_DENY);
	profile_free(p);
}

/* Decide one request of a connection to @host:@port. */
static const char *req(const struct profile *p, const char *host, uint16_t port,
		       const char *method, const char *path, enum pf_action *act)
{
	struct pf_query q = { .host = host, .port = port, .proto = PF_TCP };
	struct pf_decision d;

	policy_decide_request(p, &q, method, path, &d);
	*act = d.action;
	CHECK(!d.per_request);
	return policy_rule_label(&d);
}

TEST(policy_request_rule_choice)
{
	/* "allow GitHub, deny DELETE on /repos/..." */
	struct profile *p = mk(
		"rules:\n"
		"  - name: no-delete\n"
		"    priority: 10\n"
		"    host_pattern: api.github.com\n"
		"    methods: [DELETE]\n"
		"    path_pattern: /repos/*\n"
		"    action: deny\n"
		"  - name: read-issues\n"
		"    priority: 15\n"
		"    host_pattern: api.github.com\n"
		"    methods: [GET]\n"
		"    path_pattern: [/issues, /issues/*]\n"
		"  - name: github\n"
		"    priority: 20\n"
		"    host_pattern: api.github.com\n"
		"  - name: after-github\n"
		"    priority: 30\n"
		"    host_pattern: api.github.com\n"
		"    methods: [PUT]\n"
		"    action: deny\n");
	struct pf_query q = { .host = "api.github.com", .port = 443, .proto = PF_TCP };
	struct pf_decision d;
	enum pf_action a;

	REQUIRE(p);
	/* the connection: admitted by the first allow candidate, per request */
	policy_decide(p, &q, &d);
	CHECK(d.action == PF_ALLOW && d.per_request);
	CHECK_STR(policy_rule_label(&d), "read-issues");
	CHECK_STR(req(p, "api.github.com", 443, "DELETE", "/repos/a/b", &a), "no-delete");
	CHECK(a == PF_DENY);
	CHECK_STR(req(p, "api.github.com", 443, "DELETE", "/user", &a), "github");
	CHECK(a == PF_ALLOW);
	CHECK_STR(req(p, "api.github.com", 443, "GET", "/repos/a/b", &a), "github");
	CHECK(a == PF_ALLOW);
	CHECK_STR(req(p, "api.github.com", 443, "GET", "/issues", &a), "read-issues");
	CHECK_STR(req(p, "api.github.com", 443, "GET", "/issues/7", &a), "read-issues");
	CHECK_STR(req(p, "api.github.com", 443, "POST", "/issues", &a), "github");
	/* an unconditional rule shadows what comes after it */
	CHECK_STR(req(p, "api.github.com", 443, "PUT", "/x", &a), "github");
	CHECK(a == PF_ALLOW);
	/* a path not in normal form meets every deny rule with paths, and no
	 * allow rule with paths */
	CHECK_STR(req(p, "api.github.com", 443, "DELETE", "/x/../repos/a", &a), "no-delete");
	CHECK(a == PF_DENY);
	CHECK_STR(req(p, "api.github.com", 443, "DELETE", "/repos%2fa", &a), "no-delete");
	CHECK_STR(req(p, "api.github.com", 443, "GET", "/issues/../x", &a), "github");
	CHECK_STR(req(p, "api.github.com", 443, "DELETE", "/%72epos/a", &a), "no-delete");
	/* another host, another port: the default */
	CHECK_STR(req(p, "github.com", 443, "GET", "/", &a), "default");
	CHECK(a == PF_DENY);
	CHECK_STR(req(p, "api.github.com", 22, "GET", "/", &a), "default");
	/* NULLs deny */
	policy_decide_request(p, NULL, "GET", "/", &d);
	CHECK(d.action == PF_DENY);
	policy_decide_request(p, &q, NULL, NULL, &d);
	CHECK(d.action == PF_ALLOW);     /* "github" covers any method and path */
	policy_decide_request(NULL, &q, "GET", "/", &d);
	CHECK(d.action == PF_DENY);
	profile_free(p);
}

TEST(policy_connection_refused_only_when_nothing_could_allow)
{
	struct profile *p = mk(
		"rules:\n"
		"  - name: deny-delete\n"
		"    host_pattern: a.example\n"
		"    methods: [DELETE]\n"
		"    action: deny\n"
		"  - name: deny-all-b\n"
		"    priority: 5\n"
		"    host_pattern: b.example\n"
		"    action: deny\n"
		"  - name: get-b\n"
		"    host_pattern: b.example\n"
		"    methods: [GET]\n"
		"  - name: get-c\n"
		"    priority: 5\n"
		"    host_pattern: c.example\n"
		"    methods: [GET]\n"
		"  - name: deny-c\n"
		"    host_pattern: c.example\n"
		"    action: deny\n"
		"  - name: plain\n"
		"    host_pattern: d.example\n");
	struct pf_query q = { .port = 443, .proto = PF_TCP };
	struct pf_decision d;

	REQUIRE(p);
	q.host = "a.example";           /* only a deny for some requests */
	policy_decide(p, &q, &d);
	CHECK(d.action == PF_DENY && d.rule == NULL && d.per_request);
	q.host = "b.example";           /* an unconditional deny first */
	policy_decide(p, &q, &d);
	CHECK(d.action == PF_DENY && !d.per_request);
	CHECK_STR(policy_rule_label(&d), "deny-all-b");
	q.host = "c.example";           /* GET allowed, the rest denied */
	policy_decide(p, &q, &d);
	CHECK(d.action == PF_ALLOW && d.per_request);
	CHECK_STR(policy_rule_label(&d), "get-c");
	q.host = "d.example";           /* as before: one rule, no per-request */
	policy_decide(p, &q, &d);
	CHECK(d.action == PF_ALLOW && !d.per_request);
	profile_free(p);

	/* with a default that allows, the deny-for-some host is admitted */
	p = mk("default_action: allow\nrules:\n  - host_pattern: a.example\n"
	       "    path_pattern: /admin*\n    action: deny\n");
	REQUIRE(p);
	q.host = "a.example";
	policy_decide(p, &q, &d);
	CHECK(d.action == PF_ALLOW && d.rule == NULL && d.per_request);
	profile_free(p);
}

static int v4of(const char *ip, char *out)
{
	uint8_t a[16], v4[4];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(fam, ip, a) != 1)
		return -1;
	if (!policy_embedded_v4(fam, a, v4))
		return 0;
	inet_ntop(AF_INET, v4, out, 16);
	return 1;
}

TEST(policy_embedded_v4_forms)
{
	char s[16];

	CHECK(v4of("198.51.100.7", s) == 1 && !strcmp(s, "198.51.100.7"));
	CHECK(v4of("::ffff:198.51.100.7", s) == 1 && !strcmp(s, "198.51.100.7"));
	CHECK(v4of("::198.51.100.7", s) == 1 && !strcmp(s, "198.51.100.7"));
	CHECK(v4of("64:ff9b::c633:6407", s) == 1 && !strcmp(s, "198.51.100.7"));
	/* RFC 6052 /48: bytes 6-7 and 9-10 */
	CHECK(v4of("64:ff9b:1:c633:64:700::", s) == 1 && !strcmp(s, "198.51.100.7"));
	CHECK(v4of("2002:c633:6407::1", s) == 1 && !strcmp(s, "198.51.100.7"));
	CHECK(v4of("2002:c633:6407:ffff:ffff::", s) == 1 && !strcmp(s, "198.51.100.7"));
	CHECK(v4of("::", s) == 0);
	CHECK(v4of("::1", s) == 0);
	CHECK(v4of("2001:db8::1", s) == 0);
	CHECK(v4of("64:ff9b:2::1", s) == 0);
	CHECK(!policy_embedded_v4(AF_INET6, NULL, (uint8_t *)s));
	CHECK(!policy_embedded_v4(12345, (const uint8_t *)"abcdabcdabcdabcd", (uint8_t *)s));
}

TEST(policy_one_address_one_decision)
{
	static const char *const forms[] = {
		"198.51.100.7", "::ffff:198.51.100.7", "::198.51.100.7",
		"64:ff9b::c633:6407", "64:ff9b::198.51.100.7",
		"64:ff9b:1:c633:64:700::", "2002:c633:6407::1",
		"2002:c633:6407:1234:5678:9abc:def0:1",
	};
	struct profile *p = mk(
		"default_action: allow\n"
		"rules:\n"
		"  - name: no-lit\n"
		"    host_pattern: 198.51.100.7\n"
		"    ports: [80]\n"
		"    action: deny\n"
		"  - name: no-net\n"
		"    cidr: 198.51.100.0/24\n"
		"    ports: [443]\n"
		"    action: deny\n"
		"  - name: lit6-mapped\n"
		"    host_pattern: \"::ffff:203.0.113.9\"\n"
		"    ports: [80]\n"
		"    action: deny\n"
		"  - name: v6net\n"
		"    cidr: \"::ffff:192.0.2.0/120\"\n"
		"    ports: [80]\n"
		"    action: deny\n");
	enum pf_action a;
	size_t i;

	REQUIRE(p);
	for (i = 0; i < sizeof(forms) / sizeof(*forms); i++) {
		if (strcmp(decide(p, NULL, forms[i], 80, PF_TCP, &a), "no-lit") ||
		    a != PF_DENY ||
		    strcmp(decide(p, NULL, forms[i], 443, PF_TCP, &a), "no-net") ||
		    a != PF_DENY) {
			fprintf(stderr, "not decided as 198.51.100.7: %s\n", forms[i]);
			CHECK(0);
		}
		if (priv(forms[i]) != 0) {
			fprintf(stderr, "expected public: %s\n", forms[i]);
			CHECK(0);
		}
	}
	/* a literal written in another form still means its IPv4 address */
	CHECK_STR(decide(p, NULL, "203.0.113.9", 80, PF_TCP, &a), "lit6-mapped");
	CHECK_STR(decide(p, NULL, "2002:cb00:7109::", 80, PF_TCP, &a), "lit6-mapped");
	CHECK_STR(decide(p, NULL, "192.0.2.1", 80, PF_TCP, &a), "v6net");
	CHECK_STR(decide(p, NULL, "198.51.101.7", 443, PF_TCP, &a), "default");
	CHECK(a == PF_ALLOW);
	/* private through every form */
	CHECK(priv("64:ff9b::7f00:1") == 1);
	CHECK(priv("64:ff9b:1:a9fe:a9:fe00::") == 1);
	CHECK(priv("::10.0.0.1") == 1);
	CHECK(priv("2002:7f00:0001::") == 1);
	CHECK(priv("64:ff9b:1:808:8:800::") == 0);
	profile_free(p);
}
