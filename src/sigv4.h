/* SPDX-License-Identifier: MIT */
/*
 * sigv4.h - AWS Signature Version 4 (header signing), sans-I/O.
 *
 * The gateway signs the requests of an `auth_strategy: mode: aws_sigv4`
 * rule itself: the sandbox holds placeholder keys only.  This module is the
 * algorithm as AWS publishes it (the canonical request, the string to sign,
 * the derived signing key, the Authorization value) and the rule by which
 * a region and a service are read from an AWS endpoint's host name.  No
 * allocation but one scratch area per signature, no I/O, no clock.
 */
#ifndef ISLO_SIGV4_H
#define ISLO_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIGV4_HEX          65     /* a SHA-256 in hex, NUL included */
#define SIGV4_DATE         17     /* "YYYYMMDDTHHMMSSZ", NUL included */
#define SIGV4_NAME_MAX     64     /* bytes in a region or a service name */
#define SIGV4_KEY_MAX      256    /* bytes in a secret access key */
#define SIGV4_MAX_HEADERS  128    /* headers signed, at most */
#define SIGV4_AUTH_MAX     4096   /* the Authorization value, NUL included */

/* The payload hash of a body the signature does not cover. */
#define SIGV4_UNSIGNED     "UNSIGNED-PAYLOAD"

/**
 * struct sigv4_hdr - a header to sign, as sent
 * @name:      Field name (any case)
 * @name_len:  Its length
 * @value:     Field value
 * @value_len: Its length
 */
struct sigv4_hdr {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/**
 * struct sigv4_req - what a signature covers
 * @method:       Request method
 * @path:         Path as sent (percent-encoded, no query)
 * @path_len:     Its length
 * @query:        Query as sent, without the '?' (may be empty)
 * @query_len:    Its length
 * @hdr:          Headers to sign (Host and X-Amz-Date among them)
 * @nhdr:         Their count, at most SIGV4_MAX_HEADERS
 * @payload_hash: Hex SHA-256 of the body, or UNSIGNED-PAYLOAD or a
 *                STREAMING-* mode
 * @amz_date:     The X-Amz-Date value, "YYYYMMDDTHHMMSSZ"
 * @region:       Region, as in us-east-1
 * @service:      Signing name of the service, as in s3 or sqs
 */
struct sigv4_req {
	const char *method;
	const char *path;
	size_t path_len;
	const char *query;
	size_t query_len;
	const struct sigv4_hdr *hdr;
	size_t nhdr;
	const char *payload_hash;
	const char *amz_date;
	const char *region;
	const char *service;
};

/**
 * sigv4_canonical_request() - The canonical request, as text
 * @rq:  Request
 * @out: Buffer
 * @cap: Its size
 *
 * For tests and the fuzzer: sigv4_authorization() hashes the same bytes
 * without keeping them.
 *
 * Return: its length (NUL-terminated in @out), or 0 if it does not fit or
 *         @rq cannot be signed
 */
size_t sigv4_canonical_request(const struct sigv4_req *rq, char *out,
			       size_t cap);

/**
 * sigv4_authorization() - Sign a request: the Authorization header's value
 * @rq:       Request
 * @akid:     Access key id
 * @akid_len: Its length
 * @key:      Secret access key (at most SIGV4_KEY_MAX bytes)
 * @key_len:  Its length
 * @out:      "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 *            Signature=..." (holds no secret: the key never leaves)
 * @cap:      Its size
 *
 * Every intermediate key is wiped before returning.
 *
 * Return: 0, or -1 if @rq cannot be signed or @out is too small
 */
int sigv4_authorization(const struct sigv4_req *rq, const uint8_t *akid,
			size_t akid_len, const uint8_t *key, size_t key_len,
			char *out, size_t cap);

/* sigv4_sha256_hex() - Hex SHA-256 of @n bytes at @p into @hex. */
void sigv4_sha256_hex(const void *p, size_t n, char hex[SIGV4_HEX]);

/* sigv4_amz_date() - @t (seconds since the epoch) as "YYYYMMDDTHHMMSSZ". */
void sigv4_amz_date(time_t t, char out[SIGV4_DATE]);

/**
 * sigv4_derive() - Region and service from an AWS endpoint's host name
 * @host:    Host name, lower case, no port
 * @region:  Output, SIGV4_NAME_MAX bytes
 * @service: Output, SIGV4_NAME_MAX bytes
 *
 * The rule (docs/PROFILES.md): the name must end in .amazonaws.com or
 * .amazonaws.com.cn.  S3 first: a label "s3" (bucket.s3.REGION..., or
 * s3.amazonaws.com for us-east-1) or "s3-REGION" gives service s3.
 * Otherwise the last label before the suffix that looks like a region
 * (two letters, '-', words, '-', a number: us-east-1, us-gov-west-1,
 * cn-north-1) is the region and the label before it the service, with
 * "-fips" dropped (sqs.us-east-1.amazonaws.com, sqs-fips.us-east-1...,
 * sts.eu-west-1...); with no region label, the service is the label before
 * the suffix and the region us-east-1 (iam.amazonaws.com,
 * sts.amazonaws.com), or cn-north-1 under .amazonaws.com.cn.  Endpoints
 * whose signing name differs from their first label (bedrock-runtime
 * signs as bedrock) need `service:` in the profile.
 *
 * Return: 0, or -1 if @host is not such a name
 */
int sigv4_derive(const char *host, char *region, char *service);

/**
 * sigv4_name_ok() - Is @s a region or service name (a-z, 0-9, '-')?
 * Return: 1 if so, 0 if not (or empty, or over SIGV4_NAME_MAX - 1 bytes)
 */
int sigv4_name_ok(const char *s);

#endif
