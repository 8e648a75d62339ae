// SPDX-License-Identifier: MIT
/*
 * test_sigv4.c - the AWS Signature Version 4 signer (src/sigv4.c) against
 * AWS's published test suite (aws-sig-v4-test-suite: the credentials,
 * the instant and the expected signatures are its), the S3 GetObject
 * example of the S3 API reference, and the host name rule.
 */
#include "unit.h"
#include "sigv4.h"

#define AKID   "AKIDEXAMPLE"
#define SKEY   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DATE   "20150830T123600Z"
#define EMPTY  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define PREFIX "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders="

#define H(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

/* Sign a suite request: method, raw target, extra headers, body. */
static void suite_sign(const char *method, const char *target,
		       const struct sigv4_hdr *extra, size_t nextra,
		       const char *body, char *out, size_t cap)
{
	struct sigv4_hdr h[8] = {
		H("Host", "example.amazonaws.com"), H("X-Amz-Date", DATE),
	};
	const char *q = strchr(target, '?');
	char ph[SIGV4_HEX];
	struct sigv4_req rq;
	size_t i, n = 2;

	for (i = 0; i < nextra && n < 8; i++)
		h[n++] = extra[i];
	sigv4_sha256_hex(body, strlen(body), ph);
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = target;
	rq.path_len = q ? (size_t)(q - target) : strlen(target);
	rq.query = q ? q + 1 : "";
	rq.query_len = q ? strlen(q + 1) : 0;
	rq.hdr = h;
	rq.nhdr = n;
	rq.payload_hash = ph;
	rq.amz_date = DATE;
	rq.region = "us-east-1";
	rq.service = "service";
	out[0] = '\0';
	if (sigv4_authorization(&rq, (const uint8_t *)AKID, strlen(AKID),
				(const uint8_t *)SKEY, strlen(SKEY), out, cap))
		out[0] = '\0';
}

#define SIG(sh, s) PREFIX sh ", Signature=" s

TEST(sigv4_suite_vanilla)
{
	char a[SIGV4_AUTH_MAX];

	suite_sign("GET", "/", NULL, 0, "", a, sizeof(a));
	CHECK_STR(a, SIG("host;x-amz-date",
			 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
	suite_sign("POST", "/", NULL, 0, "", a, sizeof(a));
	CHECK_STR(a, SIG("host;x-amz-date",
			 "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
}

TEST(sigv4_suite_query_order)
{
	char a[SIGV4_AUTH_MAX];

	/* get-vanilla-query-order-key-case */
	suite_sign("GET", "/?Param2=value2&Param1=value1", NULL, 0, "", a, sizeof(a));
	CHECK_STR(a, SIG("host;x-amz-date",
			 "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
	/* the same parameters, one of them with an encoded name */
	suite_sign("GET", "/?Param2=value2&%50aram1=value1", NULL, 0, "", a, sizeof(a));
	CHECK_STR(a, SIG("host;x-amz-date",
			 "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST(sigv4_suite_header_trim)
{
	static const struct sigv4_hdr h[] = {
		H("My-Header1", " value1"), H("My-Header2", " \"a   b   c\""),
	};
	char a[SIGV4_AUTH_MAX];

	suite_sign("GET", "/", h, 2, "", a, sizeof(a));
	CHECK_STR(a, SIG("host;my-header1;my-header2;x-amz-date",
			 "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"));
}

TEST(sigv4_suite_post_form)
{
	static const struct sigv4_hdr h[] = {
		H("Content-Type", "application/x-www-form-urlencoded"),
	};
	char a[SIGV4_AUTH_MAX];

	suite_sign("POST", "/", h, 1, "Param1=value1", a, sizeof(a));
	CHECK_STR(a, SIG("content-type;host;x-amz-date",
			 "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST(sigv4_suite_paths)
{
	static const char *const to_root[] = {
		"//", "/./", "/example/..", "/example1/example2/../..",
	};
	char a[SIGV4_AUTH_MAX];
	size_t i;

	/* get-unreserved */
	suite_sign("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		   NULL, 0, "", a, sizeof(a));
	CHECK_STR(a, SIG("host;x-amz-date",
			 "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"));
	/* get-utf8: the path's bytes as sent, U+1234 */
	suite_sign("GET", "/\xe1\x88\xb4", NULL, 0, "", a, sizeof(a));
	CHECK_STR(a, SIG("host;x-amz-date",
			 "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"));
	/* get-slash, get-slash-dot-slash, get-relative,
	 * get-relative-relative: all normalise to "/", so sign as get-vanilla */
	for (i = 0; i < sizeof(to_root) / sizeof(to_root[0]); i++) {
		suite_sign("GET", to_root[i], NULL, 0, "", a, sizeof(a));
		CHECK_STR(a, SIG("host;x-amz-date",
				 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
	}
}

/* More of the suite's requests: get-space, get-slashes,
 * get-slash-pointless-dot, post-vanilla-query, get-vanilla-empty-query-key,
 * get-vanilla-query-unreserved and get-vanilla-query-order-value; each
 * signature also checked against botocore's signer. */
TEST(sigv4_suite_more)
{
	static const struct { const char *method, *target, *sig; } v[] = {
		{ "GET", "/example space/",
		  "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741" },
		{ "GET", "//example//",
		  "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84" },
		{ "GET", "/./example",
		  "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5" },
		{ "POST", "/?Param1=value1",
		  "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },
		{ "GET", "/?Param1=value1",
		  "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb" },
		{ "GET", "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
			 "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		  "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197" },
		{ "GET", "/?Param1=value2&Param1=Value1",
		  "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1" },
	};
	char a[SIGV4_AUTH_MAX], want[SIGV4_AUTH_MAX];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		suite_sign(v[i].method, v[i].target, NULL, 0, "", a, sizeof(a));
		snprintf(want, sizeof(want), PREFIX "host;x-amz-date, Signature=%s",
			 v[i].sig);
		if (strcmp(a, want))
			fprintf(stderr, "%s %s\n", v[i].method, v[i].target);
		CHECK_STR(a, want);
	}
}

TEST(sigv4_canonical_text)
{
	static const struct sigv4_hdr h[] = {
		H("Host", "example.amazonaws.com"), H("X-Amz-Date", DATE),
		H("x-amz-meta-a", "1"), H("X-AMZ-META-A", "  two   words "),
	};
	struct sigv4_req rq = {
		.method = "GET", .path = "/a%20b/../c d/", .path_len = 14,
		.query = "b=2&a&a=%7e&c=x/y+z", .query_len = 19,
		.hdr = h, .nhdr = 4, .payload_hash = EMPTY, .amz_date = DATE,
		.region = "us-east-1", .service = "service",
	};
	char out[1024];

	CHECK(sigv4_canonical_request(&rq, out, sizeof(out)) > 0);
	CHECK_STR(out, "GET\n/c%20d/\na=&a=~&b=2&c=x%2Fy%2Bz\n"
		  "host:example.amazonaws.com\nx-amz-date:" DATE "\n"
		  "x-amz-meta-a:1,two words\n\n"
		  "host;x-amz-date;x-amz-meta-a\n" EMPTY);
	/* non-S3: an escape in the path is encoded again */
	rq.path = "/a%20b";
	rq.path_len = 6;
	rq.query_len = 0;
	rq.nhdr = 1;
	CHECK(sigv4_canonical_request(&rq, out, sizeof(out)) > 0);
	CHECK(!strncmp(out, "GET\n/a%2520b\n\nhost:", 19));
	/* S3: the path as sent, decoded and encoded once, dots kept */
	rq.service = "s3";
	rq.path = "/b/./k%7e%2Fx y";
	rq.path_len = strlen(rq.path);
	CHECK(sigv4_canonical_request(&rq, out, sizeof(out)) > 0);
	CHECK(!strncmp(out, "GET\n/b/./k~/x%20y\n\n", 19));
	/* too small a buffer: refused, not cut */
	CHECK(sigv4_canonical_request(&rq, out, 10) == 0);
}

/* The S3 API reference's example: GET Object with a Range header. */
TEST(sigv4_s3_get_object_example)
{
	static const struct sigv4_hdr h[] = {
		H("Host", "examplebucket.s3.amazonaws.com"),
		H("Range", "bytes=0-9"),
		H("x-amz-content-sha256", EMPTY),
		H("x-amz-date", "20130524T000000Z"),
	};
	struct sigv4_req rq = {
		.method = "GET", .path = "/test.txt", .path_len = 9,
		.query = "", .query_len = 0, .hdr = h, .nhdr = 4,
		.payload_hash = EMPTY, .amz_date = "20130524T000000Z",
		.region = "us-east-1", .service = "s3",
	};
	static const char key[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	char a[SIGV4_AUTH_MAX];

	CHECK(!sigv4_authorization(&rq, (const uint8_t *)"AKIAIOSFODNN7EXAMPLE", 20,
				   (const uint8_t *)key, strlen(key), a, sizeof(a)));
	CHECK_STR(a, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
		  "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
		  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(sigv4_refuses)
{
	struct sigv4_hdr h[SIGV4_MAX_HEADERS + 1];
	struct sigv4_req rq = {
		.method = "GET", .path = "/", .path_len = 1, .hdr = h, .nhdr = 1,
		.payload_hash = EMPTY, .amz_date = DATE, .region = "us-east-1",
		.service = "service",
	};
	uint8_t big[SIGV4_KEY_MAX + 1];
	char a[SIGV4_AUTH_MAX];
	size_t i;

	for (i = 0; i < SIGV4_MAX_HEADERS + 1; i++) {
		h[i].name = "x-a";
		h[i].name_len = 3;
		h[i].value = "v";
		h[i].value_len = 1;
	}
	memset(big, 'k', sizeof(big));
	CHECK(!sigv4_authorization(&rq, (const uint8_t *)AKID, 11, big, 40, a, sizeof(a)));
	CHECK(sigv4_authorization(&rq, (const uint8_t *)AKID, 11, big, sizeof(big), a, sizeof(a)));
	CHECK(sigv4_authorization(&rq, (const uint8_t *)"AK/ID", 5, big, 40, a, sizeof(a)));
	CHECK(sigv4_authorization(&rq, (const uint8_t *)AKID, 11, big, 40, a, 20));
	rq.nhdr = SIGV4_MAX_HEADERS + 1;
	CHECK(sigv4_authorization(&rq, (const uint8_t *)AKID, 11, big, 40, a, sizeof(a)));
	rq.nhdr = 1;
	rq.region = "US-EAST-1";
	CHECK(sigv4_authorization(&rq, (const uint8_t *)AKID, 11, big, 40, a, sizeof(a)));
	rq.region = "us-east-1";
	rq.amz_date = "2015-08-30";
	CHECK(sigv4_authorization(&rq, (const uint8_t *)AKID, 11, big, 40, a, sizeof(a)));
}

TEST(sigv4_derive_names)
{
	static const struct { const char *host, *region, *service; } ok[] = {
		{ "sqs.us-east-1.amazonaws.com", "us-east-1", "sqs" },
		{ "dynamodb.eu-west-1.amazonaws.com", "eu-west-1", "dynamodb" },
		{ "sqs-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", "sqs" },
		{ "sts.amazonaws.com", "us-east-1", "sts" },
		{ "iam.amazonaws.com", "us-east-1", "iam" },
		{ "s3.amazonaws.com", "us-east-1", "s3" },
		{ "bucket.s3.amazonaws.com", "us-east-1", "s3" },
		{ "my.bucket.s3.eu-central-1.amazonaws.com", "eu-central-1", "s3" },
		{ "bucket.s3-us-west-2.amazonaws.com", "us-west-2", "s3" },
		{ "s3.dualstack.ap-southeast-2.amazonaws.com", "ap-southeast-2", "s3" },
		{ "abc123.execute-api.us-west-2.amazonaws.com", "us-west-2", "execute-api" },
		{ "ec2.cn-north-1.amazonaws.com.cn", "cn-north-1", "ec2" },
		{ "iam.amazonaws.com.cn", "cn-north-1", "iam" },
	};
	static const char *const bad[] = {
		"example.com", "amazonaws.com", ".amazonaws.com", "us-east-1.amazonaws.com",
		"sqs.us-east-1.amazonaws.com.evil.example", "a..amazonaws.com",
		"SQS.us-east-1.amazonaws.com", "",
	};
	char region[SIGV4_NAME_MAX], service[SIGV4_NAME_MAX];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		region[0] = service[0] = '\0';
		CHECK(!sigv4_derive(ok[i].host, region, service));
		CHECK_STR(region, ok[i].region);
		CHECK_STR(service, ok[i].service);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!sigv4_derive(bad[i], region, service)) {
			fprintf(stderr, "derived from %s\n", bad[i]);
			CHECK(0);
		}
}

TEST(sigv4_amz_date)
{
	char d[SIGV4_DATE];

	sigv4_amz_date(1440938160, d);
	CHECK_STR(d, DATE);
}
