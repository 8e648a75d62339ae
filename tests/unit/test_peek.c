// SPDX-License-Identifier: MIT
/*
 * test_peek.c - TLS SNI and HTTP/1.x head peeking
 *
 * The ClientHellos below were recorded from real clients connecting to a
 * python socket server on 127.0.0.1 that saved the first bytes it got.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peek.h"
#include "unit.h"

/* openssl s_client -servername api.example.com (TLS 1.3) */
static const uint8_t ch_openssl_sni[321] = {
	0x16, 0x03, 0x01, 0x01, 0x3c, 0x01, 0x00, 0x01, 0x38, 0x03, 0x03, 0x85,
	0xb6, 0xbd, 0x4f, 0xc6, 0xc7, 0x3e, 0x12, 0x68, 0xfc, 0x42, 0x75, 0xd7,
	0xcc, 0x97, 0x0e, 0xd6, 0x08, 0x94, 0x6d, 0xf8, 0x4f, 0x1e, 0x9e, 0x8c,
	0x23, 0x2a, 0x07, 0x18, 0x95, 0xa5, 0x89, 0x20, 0x13, 0x02, 0xad, 0xc2,
	0xe9, 0xa2, 0xdf, 0xec, 0x69, 0x58, 0x53, 0x97, 0x23, 0x30, 0x65, 0x80,
	0xa9, 0xd2, 0x8f, 0x42, 0x1b, 0xa3, 0x05, 0x45, 0x45, 0xe9, 0x4e, 0x0a,
	0x14, 0x50, 0x77, 0x6f, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xb1,
	0x00, 0x00, 0x00, 0x14, 0x00, 0x12, 0x00, 0x00, 0x0f, 0x61, 0x70, 0x69,
	0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d,
	0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16,
	0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18,
	0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23,
	0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
	0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
	0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05,
	0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01,
	0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09,
	0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d, 0x00,
	0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00,
	0x20, 0xbb, 0x7a, 0xd4, 0xf3, 0xf5, 0x73, 0x5d, 0x21, 0xed, 0xf3, 0x01,
	0x3b, 0x9f, 0x96, 0xe7, 0x50, 0x90, 0x97, 0xfd, 0x74, 0xba, 0x22, 0xb0,
	0x44, 0x8d, 0x09, 0x13, 0x79, 0xff, 0xd6, 0xf2, 0x64,
};

/* openssl s_client -noservername */
static const uint8_t ch_openssl_nosni[297] = {
	0x16, 0x03, 0x01, 0x01, 0x24, 0x01, 0x00, 0x01, 0x20, 0x03, 0x03, 0x1f,
	0x92, 0x15, 0xc9, 0xee, 0x32, 0x28, 0xf0, 0x03, 0x0d, 0x01, 0xeb, 0x57,
	0x88, 0x64, 0x0f, 0x73, 0xe4, 0x0c, 0xff, 0x28, 0xc9, 0x72, 0xd9, 0xce,
	0xca, 0xf5, 0xdd, 0xd5, 0xd2, 0x74, 0x95, 0x20, 0xa3, 0xb4, 0x23, 0x9b,
	0xf9, 0x39, 0x92, 0x81, 0xa4, 0x02, 0xde, 0xd6, 0x53, 0x5d, 0x5f, 0x61,
	0xf2, 0x46, 0xeb, 0x66, 0x9a, 0x9f, 0xc1, 0xb1, 0x9e, 0x10, 0xb3, 0x46,
	0x33, 0x07, 0x16, 0xf3, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x99,
	0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16,
	0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18,
	0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23,
	0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
	0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
	0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05,
	0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01,
	0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09,
	0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d, 0x00,
	0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00,
	0x20, 0x5a, 0x53, 0x51, 0x42, 0x99, 0x2c, 0x03, 0xa7, 0xc5, 0x08, 0x82,
	0x38, 0xad, 0x6b, 0xca, 0xd1, 0x3d, 0xf9, 0xbe, 0xe7, 0x51, 0xd2, 0x5e,
	0xc2, 0x15, 0x28, 0x03, 0x3f, 0x5c, 0x1f, 0xa7, 0x20,
};

/* openssl s_client -servername Www.Example.ORG -tls1_2 */
static const uint8_t ch_openssl_tls12[212] = {
	0x16, 0x03, 0x01, 0x00, 0xcf, 0x01, 0x00, 0x00, 0xcb, 0x03, 0x03, 0xc8,
	0x40, 0x80, 0x58, 0x78, 0x08, 0x5c, 0xdd, 0x04, 0x49, 0x42, 0xe1, 0x41,
	0x2c, 0x4e, 0x8c, 0x6c, 0xfd, 0xb7, 0x9b, 0x6a, 0xbf, 0x76, 0x92, 0x25,
	0xde, 0x9d, 0xac, 0x42, 0x93, 0xe7, 0x37, 0x00, 0x00, 0x38, 0xc0, 0x2c,
	0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b,
	0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23,
	0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09,
	0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c,
	0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x6a, 0x00, 0x00,
	0x00, 0x14, 0x00, 0x12, 0x00, 0x00, 0x0f, 0x57, 0x77, 0x77, 0x2e, 0x45,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x4f, 0x52, 0x47, 0x00, 0x0b,
	0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a,
	0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x00, 0x23,
	0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
	0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
	0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05,
	0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01,
	0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02,
};

/* curl --resolve files.example.net:...:127.0.0.1 https://files.example.net */
static const uint8_t ch_curl[517] = {
	0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0xc6,
	0x26, 0xfc, 0x1f, 0x85, 0x1b, 0x51, 0x42, 0xad, 0xce, 0x2e, 0x45, 0xf1,
	0xd5, 0x0a, 0x3b, 0x62, 0x1e, 0xaf, 0x2c, 0xab, 0x52, 0x2f, 0xa8, 0xd6,
	0x5c, 0xe9, 0x49, 0x83, 0xe2, 0x23, 0xa8, 0x20, 0xcb, 0x25, 0xcf, 0x68,
	0x9a, 0x89, 0x60, 0x61, 0x95, 0x0d, 0x7c, 0x6b, 0x64, 0x17, 0xff, 0xec,
	0x9f, 0xd8, 0xe2, 0x31, 0x58, 0xa2, 0x8c, 0xbd, 0xb3, 0x94, 0xea, 0xa9,
	0x9f, 0xac, 0x6e, 0x70, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x01, 0x75,
	0x00, 0x00, 0x00, 0x16, 0x00, 0x14, 0x00, 0x00, 0x11, 0x66, 0x69, 0x6c,
	0x65, 0x73, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6e,
	0x65, 0x74, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a,
	0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19,
	0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04,
	0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74,
	0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17,
	0x00, 0x00, 0x00, 0x31, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28,
	0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09,
	0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01,
	0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02,
	0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03,
	0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00,
	0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x3e, 0x8f, 0xd3,
	0x2f, 0xf9, 0x1b, 0x13, 0x32, 0x21, 0x5a, 0x8d, 0xb5, 0xf1, 0x88, 0x8f,
	0x15, 0x42, 0x36, 0x67, 0xf9, 0x55, 0xa3, 0x9f, 0x8e, 0xf6, 0x26, 0xa1,
	0x98, 0xa2, 0x4a, 0xff, 0x13, 0x00, 0x15, 0x00, 0xac, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00,
};

/**
 * reframe() - Re-split the handshake payload of one-record @in into records
 * @in:    A ClientHello in a single record
 * @inlen: Its length
 * @cuts:  Payload offsets where a new record starts, ascending
 * @ncuts: Their count
 * @out:   Output buffer (inlen + 5 * ncuts bytes)
 * Return: output length
 */
static size_t reframe(const uint8_t *in, size_t inlen, const size_t *cuts,
		      int ncuts, uint8_t *out)
{
	const uint8_t *pl = in + 5;
	size_t plen = inlen - 5, start = 0, o = 0;
	int i;

	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : plen, n = end - start;

		out[o++] = 0x16;
		out[o++] = 0x03;
		out[o++] = i ? 0x03 : 0x01;
		out[o++] = (uint8_t)(n >> 8);
		out[o++] = (uint8_t)n;
		memcpy(out + o, pl + start, n);
		o += n;
		start = end;
	}
	return o;
}

/**
 * build_ch() - Hand-build a ClientHello record around some extensions
 * @ext:    Extensions block contents (without its length), or NULL for none
 * @extlen: Its length
 * @out:    Output, extlen + 64 bytes at least
 * Return: record length
 */
static size_t build_ch(const uint8_t *ext, size_t extlen, uint8_t *out)
{
	size_t o = 9, body;

	out[o++] = 0x03; /* legacy_version */
	out[o++] = 0x03;
	memset(out + o, 0xab, 32); /* random */
	o += 32;
	out[o++] = 0;    /* session id */
	out[o++] = 0;    /* cipher suites: 1 */
	out[o++] = 2;
	out[o++] = 0x13;
	out[o++] = 0x01;
	out[o++] = 1;    /* compression: null */
	out[o++] = 0;
	if (ext) {
		out[o++] = (uint8_t)(extlen >> 8);
		out[o++] = (uint8_t)extlen;
		memcpy(out + o, ext, extlen);
		o += extlen;
	}
	body = o - 9;
	out[0] = 0x16;
	out[1] = 0x03;
	out[2] = 0x01;
	out[3] = (uint8_t)((body + 4) >> 8);
	out[4] = (uint8_t)(body + 4);
	out[5] = 1;
	out[6] = (uint8_t)(body >> 16);
	out[7] = (uint8_t)(body >> 8);
	out[8] = (uint8_t)body;
	return o;
}

/* An SNI extension (type 0) with one host_name entry */
static size_t sni_ext(const char *name, uint8_t *out)
{
	size_t n = strlen(name);

	out[0] = 0;
	out[1] = 0;
	out[2] = (uint8_t)((n + 5) >> 8);
	out[3] = (uint8_t)(n + 5);
	out[4] = (uint8_t)((n + 3) >> 8);
	out[5] = (uint8_t)(n + 3);
	out[6] = 0;
	out[7] = (uint8_t)(n >> 8);
	out[8] = (uint8_t)n;
	memcpy(out + 9, name, n);
	return n + 9;
}

static int sni_of(const uint8_t *b, size_t len, char *out)
{
	return peek_tls_sni(b, len, out, 256);
}

TEST(peek_tls_real_clients)
{
	char name[256];

	CHECK(peek_is_tls(ch_openssl_sni, sizeof(ch_openssl_sni)));
	CHECK(!peek_is_http(ch_openssl_sni, sizeof(ch_openssl_sni)));
	CHECK(sni_of(ch_openssl_sni, sizeof(ch_openssl_sni), name) == PEEK_DONE);
	CHECK_STR(name, "api.example.com");
	CHECK(sni_of(ch_openssl_nosni, sizeof(ch_openssl_nosni), name) ==
	      PEEK_NONE);
	CHECK_STR(name, "");
	CHECK(sni_of(ch_openssl_tls12, sizeof(ch_openssl_tls12), name) ==
	      PEEK_DONE);
	CHECK_STR(name, "www.example.org");
	CHECK(sni_of(ch_curl, sizeof(ch_curl), name) == PEEK_DONE);
	CHECK_STR(name, "files.example.net");
}

/* Every prefix of a real ClientHello: NEED_MORE, never a guess */
TEST(peek_tls_truncated)
{
	static const struct {
		const uint8_t *b;
		size_t len;
	} ch[] = {
		{ ch_openssl_sni, sizeof(ch_openssl_sni) },
		{ ch_openssl_nosni, sizeof(ch_openssl_nosni) },
		{ ch_openssl_tls12, sizeof(ch_openssl_tls12) },
		{ ch_curl, sizeof(ch_curl) },
	};
	char name[256];
	size_t i, n;

	for (i = 0; i < sizeof(ch) / sizeof(ch[0]); i++) {
		for (n = 0; n < ch[i].len; n++) {
			/* Exact-size heap copy so ASan sees over-reads */
			uint8_t *c = malloc(n ? n : 1);

			memcpy(c, ch[i].b, n);
			CHECK(sni_of(c, n, name) == PEEK_NEED_MORE);
			free(c);
		}
	}
}

/* The same hello split into two records at every offset, and in 1-byte
 * records */
TEST(peek_tls_split_records)
{
	uint8_t buf[sizeof(ch_curl) * 6 + 64];
	size_t plen = sizeof(ch_curl) - 5, cut, len, cuts[600];
	char name[256];
	int i;

	for (cut = 1; cut < plen; cut++) {
		len = reframe(ch_curl, sizeof(ch_curl), &cut, 1, buf);
		REQUIRE(sni_of(buf, len, name) == PEEK_DONE);
		CHECK_STR(name, "files.example.net");
		CHECK(sni_of(buf, len - 1, name) == PEEK_NEED_MORE);
	}

	for (i = 0; i < (int)plen - 1; i++)
		cuts[i] = (size_t)i + 1;
	len = reframe(ch_curl, sizeof(ch_curl), cuts, (int)plen - 1, buf);
	CHECK(sni_of(buf, len, name) == PEEK_DONE);
	CHECK_STR(name, "files.example.net");
	for (cut = 0; cut < len; cut += 7)
		CHECK(sni_of(buf, cut, name) == PEEK_NEED_MORE);

	/* A non-handshake record in the middle */
	cut = 100;
	len = reframe(ch_curl, sizeof(ch_curl), &cut, 1, buf);
	buf[5 + 100] = 0x17;
	CHECK(sni_of(buf, len, name) == PEEK_BAD);
	CHECK(sni_of(buf, 5 + 101, name) == PEEK_BAD);
}

TEST(peek_tls_hand_built)
{
	uint8_t ext[1024], rec[1200];
	size_t e, len;
	char name[256], small[8];

	/* No extensions at all (SSL 3.0 style) */
	len = build_ch(NULL, 0, rec);
	CHECK(sni_of(rec, len, name) == PEEK_NONE);
	/* Empty extension block */
	len = build_ch(ext, 0, rec);
	CHECK(sni_of(rec, len, name) == PEEK_NONE);

	e = sni_ext("Host.Example.COM.", ext);
	len = build_ch(ext, e, rec);
	CHECK(sni_of(rec, len, name) == PEEK_DONE);
	CHECK_STR(name, "host.example.com");
	CHECK(peek_tls_sni(rec, len, small, sizeof(small)) == PEEK_BAD);

	/* Duplicate SNI extension */
	e = sni_ext("a.example", ext);
	e += sni_ext("b.example", ext + e);
	len = build_ch(ext, e, rec);
	CHECK(sni_of(rec, len, name) == PEEK_BAD);

	/* Two host_name entries in one extension */
	{
		static const uint8_t two[] = {
			0, 0, 0, 14, 0, 12, 0, 0, 3, 'a', '.', 'b',
			0, 0, 3, 'c', '.', 'd',
		};
		len = build_ch(two, sizeof(two), rec);
		CHECK(sni_of(rec, len, name) == PEEK_BAD);
	}
	/* List with only an unknown name type: no host_name */
	{
		static const uint8_t other[] = {
			0, 0, 0, 8, 0, 6, 7, 0, 3, 'a', '.', 'b',
		};
		len = build_ch(other, sizeof(other), rec);
		CHECK(sni_of(rec, len, name) == PEEK_BAD);
	}
	/* List length disagreeing with the extension length */
	{
		static const uint8_t skew[] = {
			0, 0, 0, 8, 0, 7, 0, 0, 3, 'a', '.', 'b',
		};
		len = build_ch(skew, sizeof(skew), rec);
		CHECK(sni_of(rec, len, name) == PEEK_BAD);
	}
	/* Entry header running past the list into the next extension */
	{
		static const uint8_t over[] = {
			0, 0, 0, 10, 0, 8, 0, 0, 3, 'a', '.', 'b', 0, 0,
			0, 21, 0, 0,
		};
		len = build_ch(over, sizeof(over), rec);
		CHECK(sni_of(rec, len, name) == PEEK_BAD);
	}

	/* Names that are no DNS names */
	{
		static const char *const bad[] = {
			"1.2.3.4", "::1", "a..b", "a b.example", "a/b",
			"example.123", "0x7f000001", ".",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			e = sni_ext(bad[i], ext);
			len = build_ch(ext, e, rec);
			CHECK(sni_of(rec, len, name) == PEEK_BAD);
		}
		/* NUL inside the name */
		e = sni_ext("a.example", ext);
		ext[10] = 0;
		len = build_ch(ext, e, rec);
		CHECK(sni_of(rec, len, name) == PEEK_BAD);
		/* 64-byte label */
		memset(name, 'a', 64);
		strcpy(name + 64, ".example");
		e = sni_ext(name, ext);
		len = build_ch(ext, e, rec);
		CHECK(sni_of(rec, len, name) == PEEK_BAD);
	}

	/* SNI after another extension, with trailing garbage in the hello */
	{
		static const uint8_t pre[] = { 0xff, 0x01, 0, 1, 0 };

		memcpy(ext, pre, sizeof(pre));
		e = sizeof(pre) + sni_ext("x_y.example", ext + sizeof(pre));
		len = build_ch(ext, e, rec);
		CHECK(sni_of(rec, len, name) == PEEK_DONE);
		CHECK_STR(name, "x_y.example");
	}
}

/* An ALPN extension (RFC 7301) of the names given, into @out */
static size_t alpn_ext(const char *const *names, int n, uint8_t *out)
{
	size_t o = 6, l;
	int i;

	for (i = 0; i < n; i++) {
		l = strlen(names[i]);
		out[o++] = (uint8_t)l;
		memcpy(out + o, names[i], l);
		o += l;
	}
	out[0] = 0;
	out[1] = 16;
	out[2] = (uint8_t)((o - 4) >> 8);
	out[3] = (uint8_t)(o - 4);
	out[4] = (uint8_t)((o - 6) >> 8);
	out[5] = (uint8_t)(o - 6);
	return o;
}

static int hello_of(const uint8_t *b, size_t len, char *out, unsigned *alpn)
{
	return peek_tls_hello(b, len, out, 256, alpn);
}

/* The protocols a ClientHello offers: real curl's, hand-built ones, and
 * every malformed list refused */
TEST(peek_tls_alpn)
{
	static const char *const both[] = { "h2", "http/1.1" };
	static const char *const odd[] = { "h2c", "h", "http/1.0", "spdy/3" };
	static const char *const h2only[] = { "h2" };
	uint8_t ext[1024], rec[1200];
	unsigned alpn = 99;
	char name[256];
	size_t e, len, n;

	CHECK(hello_of(ch_curl, sizeof(ch_curl), name, &alpn) == PEEK_DONE);
	CHECK_STR(name, "files.example.net");
	CHECK(alpn & PEEK_ALPN_SEEN);
	CHECK(alpn & PEEK_ALPN_HTTP11);
	CHECK(hello_of(ch_openssl_nosni, sizeof(ch_openssl_nosni), name,
		       &alpn) == PEEK_NONE);

	/* none at all */
	e = sni_ext("a.example", ext);
	len = build_ch(ext, e, rec);
	CHECK(hello_of(rec, len, name, &alpn) == PEEK_DONE && alpn == 0);

	e = sni_ext("a.example", ext);
	e += alpn_ext(both, 2, ext + e);
	len = build_ch(ext, e, rec);
	CHECK(hello_of(rec, len, name, &alpn) == PEEK_DONE);
	CHECK(alpn == (PEEK_ALPN_SEEN | PEEK_ALPN_H2 | PEEK_ALPN_HTTP11));
	for (n = 0; n < len; n++)
		CHECK(hello_of(rec, n, name, &alpn) == PEEK_NEED_MORE);

	/* before the server name, and alone */
	e = alpn_ext(h2only, 1, ext);
	e += sni_ext("a.example", ext + e);
	len = build_ch(ext, e, rec);
	CHECK(hello_of(rec, len, name, &alpn) == PEEK_DONE);
	CHECK(alpn == (PEEK_ALPN_SEEN | PEEK_ALPN_H2));
	CHECK_STR(name, "a.example");

	/* look-alikes are other protocols */
	e = alpn_ext(odd, 4, ext);
	len = build_ch(ext, e, rec);
	CHECK(hello_of(rec, len, name, &alpn) == PEEK_NONE);
	CHECK(alpn == (PEEK_ALPN_SEEN | PEEK_ALPN_OTHER));

	/* a second ALPN extension */
	e = alpn_ext(both, 2, ext);
	e += alpn_ext(h2only, 1, ext + e);
	len = build_ch(ext, e, rec);
	CHECK(hello_of(rec, len, name, &alpn) == PEEK_BAD);

	/* an empty list */
	e = alpn_ext(both, 0, ext);
	len = build_ch(ext, e, rec);
	CHECK(hello_of(rec, len, name, &alpn) == PEEK_BAD);

	/* an empty name */
	{
		static const uint8_t empty[] = { 0, 16, 0, 5, 0, 3, 0, 1, 'x' };

		len = build_ch(empty, sizeof(empty), rec);
		CHECK(hello_of(rec, len, name, &alpn) == PEEK_BAD);
	}
	/* a name running past the list, the list past the extension */
	{
		static const uint8_t over[] = { 0, 16, 0, 5, 0, 3, 3, 'h', '2',
						0, 0, 0, 0 };
		static const uint8_t skew[] = { 0, 16, 0, 5, 0, 4, 2, 'h', '2' };

		len = build_ch(over, sizeof(over), rec);
		CHECK(hello_of(rec, len, name, &alpn) == PEEK_BAD);
		len = build_ch(skew, sizeof(skew), rec);
		CHECK(hello_of(rec, len, name, &alpn) == PEEK_BAD);
	}
}

TEST(peek_tls_not_tls)
{
	static const uint8_t http[] = "GET / HTTP/1.1\r\n";
	static const uint8_t sslv2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01 };
	static const uint8_t badver[] = { 0x16, 0x03, 0x05, 0x00, 0x10 };
	static const uint8_t zero[] = { 0x16, 0x03, 0x01, 0x00, 0x00 };
	static const uint8_t big[] = { 0x16, 0x03, 0x01, 0x40, 0x01 };
	static const uint8_t sh[] = { 0x16, 0x03, 0x03, 0x00, 0x04, 2, 0, 0, 0 };
	static const uint8_t huge[] = { 0x16, 0x03, 0x01, 0x00, 0x04,
					1, 0, 0x40, 0x01 };
	char name[256];

	CHECK(!peek_is_tls(http, sizeof(http) - 1));
	CHECK(!peek_is_tls(http, 0));
	CHECK(sni_of(http, sizeof(http) - 1, name) == PEEK_BAD);
	CHECK(sni_of(http, 1, name) == PEEK_BAD);
	CHECK(sni_of(sslv2, sizeof(sslv2), name) == PEEK_BAD);
	CHECK(sni_of(badver, sizeof(badver), name) == PEEK_BAD);
	CHECK(sni_of(badver, 3, name) == PEEK_BAD);
	CHECK(sni_of(zero, sizeof(zero), name) == PEEK_BAD);
	CHECK(sni_of(big, sizeof(big), name) == PEEK_BAD);
	CHECK(sni_of(sh, sizeof(sh), name) == PEEK_BAD);
	CHECK(sni_of(huge, sizeof(huge), name) == PEEK_BAD);
	CHECK(sni_of(zero, 2, name) == PEEK_NEED_MORE);
	CHECK(sni_of(NULL, 0, name) == PEEK_NEED_MORE);
}

/* ---------------------------------------------------------------- HTTP */

struct hres {
	int r;
	char host[256], method[33], path[1024];
	uint16_t port;
	size_t head;
};

static int http_of(const char *s, struct hres *h)
{
	h->r = peek_http((const uint8_t *)s, strlen(s), 16384, h->host,
			 sizeof(h->host), h->method, sizeof(h->method), h->path,
			 sizeof(h->path), &h->port, &h->head);
	return h->r;
}

TEST(peek_http_basic)
{
	static const char req[] =
		"GET /v1/models?x=1 HTTP/1.1\r\n"
		"Host: API.Example.com.:8080\r\n"
		"User-Agent: curl/8.0\r\n"
		"Accept: */*\r\n"
		"\r\n"
		"body";
	struct hres h;
	size_t n;

	CHECK(peek_is_http((const uint8_t *)req, strlen(req)));
	CHECK(!peek_is_tls((const uint8_t *)req, strlen(req)));
	REQUIRE(http_of(req, &h) == PEEK_DONE);
	CHECK_STR(h.host, "api.example.com");
	CHECK_STR(h.method, "GET");
	CHECK_STR(h.path, "/v1/models?x=1");
	CHECK(h.port == 8080);
	CHECK(h.head == strlen(req) - 4);

	/* Every prefix of the head: NEED_MORE */
	for (n = 0; n < strlen(req) - 4; n++) {
		uint8_t *c = malloc(n ? n : 1);
		struct hres p;

		memcpy(c, req, n);
		p.r = peek_http(c, n, 16384, p.host, sizeof(p.host), p.method,
				sizeof(p.method), p.path, sizeof(p.path),
				&p.port, &p.head);
		CHECK(p.r == PEEK_NEED_MORE);
		free(c);
	}
}

TEST(peek_http_forms)
{
	struct hres h;

	/* Bare LF, HTTP/1.0 without Host */
	CHECK(http_of("GET / HTTP/1.0\n\n", &h) == PEEK_NONE);
	CHECK_STR(h.path, "/");
	CHECK_STR(h.method, "GET");
	CHECK(h.head == 16);
	/* HTTP/1.1 without Host */
	CHECK(http_of("GET / HTTP/1.1\r\n\r\n", &h) == PEEK_BAD);

	/* IPv6 literal */
	CHECK(http_of("POST /x HTTP/1.1\r\nhost: [2001:DB8::1]:443\r\n\r\n",
		      &h) == PEEK_DONE);
	CHECK_STR(h.host, "2001:db8::1");
	CHECK(h.port == 443);
	CHECK(http_of("GET / HTTP/1.1\r\nHost: [2001:db8::1\r\n\r\n", &h) ==
	      PEEK_BAD);
	CHECK(http_of("GET / HTTP/1.1\r\nHost: 2001:db8::1\r\n\r\n", &h) ==
	      PEEK_BAD);
	CHECK(http_of("GET / HTTP/1.1\r\nHost: [1.2.3.4]\r\n\r\n", &h) ==
	      PEEK_BAD);
	CHECK(http_of("GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n", &h) ==
	      PEEK_DONE);
	CHECK_STR(h.host, "10.0.0.1");

	/* Absolute-form */
	CHECK(http_of("GET http://a.example/p?q HTTP/1.1\r\n"
		      "Host: a.example\r\n\r\n", &h) == PEEK_DONE);
	CHECK_STR(h.path, "/p?q");
	CHECK_STR(h.host, "a.example");
	CHECK(http_of("GET HTTP://A.example:80 HTTP/1.1\r\n"
		      "Host: a.example\r\n\r\n", &h) == PEEK_DONE);
	CHECK_STR(h.path, "/");
	CHECK(http_of("GET http://a.example?q HTTP/1.1\r\n"
		      "Host: a.example\r\n\r\n", &h) == PEEK_DONE);
	CHECK_STR(h.path, "/?q");
	CHECK(http_of("GET http://a.example/p HTTP/1.1\r\n"
		      "Host: b.example\r\n\r\n", &h) == PEEK_BAD);
	CHECK(http_of("GET http://a.example:81/p HTTP/1.1\r\n"
		      "Host: a.example\r\n\r\n", &h) == PEEK_BAD);
	CHECK(http_of("GET http://u@a.example/p HTTP/1.1\r\n"
		      "Host: a.example\r\n\r\n", &h) == PEEK_BAD);
	CHECK(http_of("GET https://a.example/p HTTP/1.1\r\n"
		      "Host: a.example\r\n\r\n", &h) == PEEK_BAD);
	CHECK(http_of("GET http://a.example/p HTTP/1.0\r\n\r\n", &h) ==
	      PEEK_DONE);
	CHECK_STR(h.host, "a.example");
	CHECK(http_of("CONNECT a.example:443 HTTP/1.1\r\n"
		      "Host: a.example:443\r\n\r\n", &h) == PEEK_BAD);
	CHECK(http_of("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", &h) ==
	      PEEK_DONE);
	CHECK_STR(h.path, "*");
	CHECK(http_of("GET * HTTP/1.1\r\nHost: a.example\r\n\r\n", &h) ==
	      PEEK_BAD);

	/* OWS around the value, odd header names */
	CHECK(http_of("PUT /a HTTP/1.1\r\nX-A!#$: 1\r\nHOST:\t a.example \t\r\n"
		      "\r\n", &h) == PEEK_DONE);
	CHECK_STR(h.host, "a.example");
	CHECK(h.port == 0);
}

TEST(peek_http_bad)
{
	static const char *const bad[] = {
		"get / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
		"GET / HTTP/2\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
		"GET /\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nhOsT: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\tX: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x01\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x7f\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a:0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a_b..c\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: 127.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\n",
		"\x16\x03\x01",
		"GET / HTTP/1.1\r\r\n",
	};
	struct hres h;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_of(bad[i], &h);
		if (h.r != PEEK_BAD)
			fprintf(stderr, "not BAD (%d): case %zu\n", h.r, i);
		CHECK(h.r == PEEK_BAD);
	}

	/* NUL in a header */
	{
		static const char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
		uint16_t port;
		size_t hl;

		CHECK(peek_http((const uint8_t *)nul, sizeof(nul) - 1, 16384,
				h.host, sizeof(h.host), h.method,
				sizeof(h.method), h.path, sizeof(h.path), &port,
				&hl) == PEEK_BAD);
	}

	/* Early rejection of what is plainly not HTTP */
	CHECK(http_of("\x16", &h) == PEEK_BAD);
	CHECK(http_of("GET /a\x01", &h) == PEEK_BAD);
	CHECK(http_of("GET / HTTP/1.1\r\nHost: a\r\nX-\x02", &h) == PEEK_BAD);
	CHECK(http_of("GET / HTTP/1.1\r\n X", &h) == PEEK_BAD);
	CHECK(http_of("GET / HTTP/1.1\r", &h) == PEEK_NEED_MORE);
	CHECK(http_of("GET / HTTP/1.1\r\nHost: a\r\n\r", &h) ==
	      PEEK_NEED_MORE);
	CHECK(!peek_is_http((const uint8_t *)"get ", 4));
	CHECK(!peek_is_http((const uint8_t *)" GET", 4));
	CHECK(peek_is_http((const uint8_t *)"GE", 2));
}

TEST(peek_http_limits)
{
	char req[20000];
	struct hres h;
	size_t n;
	uint16_t port;
	size_t hl;
	char small[4];

	strcpy(req, "GET / HTTP/1.1\r\nHost: a.example\r\nX: ");
	n = strlen(req);
	memset(req + n, 'x', 17000);
	req[n + 17000] = '\0';
	/* Incomplete and over the cap */
	CHECK(http_of(req, &h) == PEEK_BAD);
	/* Incomplete, under the cap */
	CHECK(peek_http((const uint8_t *)req, 100, 16384, h.host,
			sizeof(h.host), h.method, sizeof(h.method), h.path,
			sizeof(h.path), &port, &hl) == PEEK_NEED_MORE);
	/* Complete, but over a small cap, and exactly at it */
	strcpy(req, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
	n = strlen(req);
	CHECK(peek_http((const uint8_t *)req, n, n - 1, h.host,
			sizeof(h.host), h.method, sizeof(h.method), h.path,
			sizeof(h.path), &port, &hl) == PEEK_BAD);
	CHECK(peek_http((const uint8_t *)req, n, n, h.host, sizeof(h.host),
			h.method, sizeof(h.method), h.path, sizeof(h.path),
			&port, &hl) == PEEK_DONE);
	CHECK(hl == n);
	/* Outputs too small */
	CHECK(peek_http((const uint8_t *)req, n, 16384, small, sizeof(small),
			h.method, sizeof(h.method), h.path, sizeof(h.path),
			&port, &hl) == PEEK_BAD);
	CHECK(peek_http((const uint8_t *)req, n, 16384, h.host,
			sizeof(h.host), small, 3, h.path, sizeof(h.path),
			&port, &hl) == PEEK_BAD);
}

TEST(peek_host_normalise)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "Example.COM.", "example.com" },
		{ "a-b_c.d9", "a-b_c.d9" },
		{ "1.2.3.4", "1.2.3.4" },
		{ "FE80::1", "fe80::1" },
		{ "localhost", "localhost" },
		{ "0x.example", "0x.example" },
		{ "123.example", "123.example" },
	};
	static const char *const bad[] = {
		"", ".", "a..b", ".a", "a b", "a/b", "127.1", "2130706433",
		"0x7f.0x1", "1.2.3.4.5", "a.0xff", "::g", "a:b", "é.example",
	};
	char s[300];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		strcpy(s, ok[i].in);
		CHECK(host_normalise(s) == 0);
		CHECK_STR(s, ok[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(s, bad[i]);
		if (host_normalise(s) != -1)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(host_normalise(s) == -1);
	}
	memset(s, 'a', 63);
	strcpy(s + 63, ".b");
	CHECK(host_normalise(s) == 0);
	memset(s, 'a', 64);
	strcpy(s + 64, ".b");
	CHECK(host_normalise(s) == -1);
	for (i = 0; i < 254; i += 2)
		memcpy(s + i, "a.", 2);
	s[253] = '\0'; /* 253 bytes: a.a.....a */
	CHECK(host_normalise(s) == 0);
	s[253] = 'a';
	s[254] = 'a';
	s[255] = '\0';
	CHECK(host_normalise(s) == -1);
}

static int hs(const char *s)
{
	return peek_http_start((const uint8_t *)s, strlen(s));
}

/* What a lenient server would take for a request is HTTP (issue 13: these
 * passed as "another protocol" and fronted a forbidden virtual host). */
TEST(peek_http_start_cases)
{
	CHECK(hs("GET / HTTP/1.1\r\n") == 1);
	CHECK(hs("GET ") == -1);
	CHECK(hs("GET /") == 1);
	CHECK(hs("OPTIONS *") == 1);
	CHECK(hs("GET http://evil/ HTTP/1.1\r\n") == 1);
	CHECK(hs("CONNECT evil.example:443 HTTP/1.1\r\n") == 1);
	CHECK(hs("CONNECT [::1]:443 HTTP/1.1\r\n") == 1);
	CHECK(hs("GET hello HTTP/1.1\r\nHost: evil\r\n\r\n") == 1);
	CHECK(hs("GET hello http/1.1\r\n") == 1);
	CHECK(hs("GET hello") == -1);
	CHECK(hs("GET hello\r\n") == 0);              /* HTTP/0.9: no Host */
	CHECK(hs("job-7 1000000\n") == 0);
	CHECK(hs("abc123def 42\n") == 0);
	CHECK(hs("hello there\n") == 0);
	CHECK(hs("G") == -1);
	CHECK(hs("GET") == -1);
	CHECK(hs("GET / HTTP/1.2\r\nHost: x\r\n\r\n") == 1);
	CHECK(hs("GET / HTTP/1.10\r\n") == 1);
	CHECK(hs("GET / HTTP/1.1 \r\n") == 1);
	CHECK(hs("\r\nGET / HTTP/1.1\r\n") == 1);
	CHECK(hs("\n\n\nPOST /") == 1);
	CHECK(hs("get / HTTP/1.1\r\n") == 1);
	CHECK(hs("M-SEARCH * HTTP/1.1\r\n") == 1);
	CHECK(hs("X-ANY.METHOD~ /") == 1);
	CHECK(hs("get /") == 1);
	CHECK(hs("\r\n") == -1);                       /* wait and see */
	CHECK(hs("\r\n\r\n\n") == -1);
	CHECK(hs("") == -1);
	/* not HTTP: TLS, binary, a space or a control byte first */
	CHECK(hs("\x16\x03\x01") == 0);
	CHECK(peek_http_start((const uint8_t *)"\0\0\0\x08", 4) == 0);
	CHECK(hs(" GET / HTTP/1.1\r\n") == 0);
	CHECK(hs("\r\n\x01") == 0);
	CHECK(hs("{\"json\":1}") == 0);
	/* a token that is not followed by a space: a line protocol */
	CHECK(hs("*1\r\n$4\r\nPING\r\n") == 0);
	CHECK(hs("PING\r\n") == 0);
	CHECK(hs("1000\n") == 0);
	CHECK(hs("GET\t/ HTTP/1.1\r\n") == 0);
	CHECK(hs("abcdefghijabcdefghijabcdefghijab /") == 1); /* 32 */
	CHECK(hs("abcdefghijabcdefghijabcdefghijabc ") == 0); /* 33 */
	CHECK(hs("abcdefghijabcdefghijabcdefghijab") == -1);
	CHECK(hs("abcdefghijabcdefghijabcdefghijabc") == 0);
	/* SSH's identification line */
	CHECK(hs("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n") == 0);
	CHECK(hs("SSH-2.0-x\n") == 0);
	CHECK(hs("SSH-2.0-OpenSSH_9.2p1") == -1);
	CHECK(hs("SSH") == -1);
	CHECK(hs("SS") == -1);
	CHECK(hs("SSH-2.0-x /admin HTTP/1.1\r\nHost: evil\r\n\r\n") == 1);
	CHECK(hs("SSHX / HTTP/1.1\r\n") == 1);
	{
		char line[400];

		memset(line, 'a', sizeof(line));
		memcpy(line, "SSH- ", 5);
		line[sizeof(line) - 1] = '\0';
		CHECK(hs(line) == 1);                    /* no LF in 255 bytes */
	}
	{
		static char line[PEEK_HTTP_LINE_MAX + 10];

		memset(line, 'a', sizeof(line));
		line[3] = ' ';
		line[sizeof(line) - 1] = '\0';
		CHECK(hs(line) == 1);    /* a first line without end: HTTP */
		line[PEEK_HTTP_LINE_MAX - 10] = '\0';
		CHECK(hs(line) == -1);
	}
}
