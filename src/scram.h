/* SPDX-License-Identifier: MIT */
/*
 * scram.h - the client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as
 * PostgreSQL uses it, and its older md5 password answer.
 *
 * HMAC and SHA-256 come from BearSSL; PBKDF2 (Hi() in RFC 5802) is here.
 * Every buffer that held something derived from the password is zeroed
 * before it is released.
 */
#ifndef ISLO_SCRAM_H
#define ISLO_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#include "base64.h"

#define SCRAM_NONCE_LEN   24    /* base64 characters of the client nonce */
#define SCRAM_MAX_ITER    1000000 /* more than this stalls the gateway's loop */
#define SCRAM_MSG_MAX     1024

/**
 * struct scram - one SCRAM exchange, client side
 * @first_bare:  client-first-message-bare ("n=USER,r=NONCE")
 * @first_len:   its length
 * @server_sig:  the ServerSignature we expect in server-final-message
 * @state:       0 before client-first, 1 after, 2 after client-final,
 *               3 verified
 */
struct scram {
	char first_bare[160];
	size_t first_len;
	size_t nonce_off;
	uint8_t server_sig[32];
	int state;
};

/**
 * scram_client_first() - Start an exchange
 * @s:      State, zeroed by this call
 * @user:   User name for n= ("" for PostgreSQL, which takes the start-up
 *          packet's); '=' and ',' are escaped as RFC 5802 says
 * @nonce:  Client nonce (printable, no ','), or NULL for a random one
 * @out:    client-first-message ("n,,n=USER,r=NONCE")
 * @cap:    Size of @out
 * Return: its length, or 0 on error
 */
size_t scram_client_first(struct scram *s, const char *user, const char *nonce,
			  char *out, size_t cap);

/**
 * scram_client_final() - Answer server-first-message
 * @s:       State after scram_client_first()
 * @pw:      Password bytes (used as given: no SASLprep)
 * @pwlen:   Their length
 * @srv:     server-first-message ("r=NONCE,s=SALT,i=ITER")
 * @srvlen:  Its length
 * @out:     client-final-message ("c=biws,r=NONCE,p=PROOF")
 * @cap:     Size of @out
 * @err:     Why, on error (static text)
 *
 * The server's nonce must extend ours, the salt must be base64, and the
 * iteration count 1..SCRAM_MAX_ITER.
 *
 * Return: the length of @out, or 0 on error
 */
size_t scram_client_final(struct scram *s, const uint8_t *pw, size_t pwlen,
			  const char *srv, size_t srvlen, char *out, size_t cap,
			  const char **err);

/**
 * scram_verify_server() - Check server-final-message
 * @s:   State after scram_client_final()
 * @msg: "v=SIGNATURE" (or "e=ERROR")
 * @len: Its length
 * @err: Why, on error
 * Return: 0 if the server proved it knows the password, -1 if not
 */
int scram_verify_server(struct scram *s, const char *msg, size_t len,
			const char **err);

/* scram_wipe() - Zero the state. */
void scram_wipe(struct scram *s);

/**
 * scram_pbkdf2() - PBKDF2-HMAC-SHA-256 with a 32-byte output (RFC 5802 Hi())
 * @pw, @pwlen:     Password
 * @salt, @saltlen: Salt
 * @iter:           Iterations, at least 1
 * @out:            32 bytes
 */
void scram_pbkdf2(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
		  size_t saltlen, uint32_t iter, uint8_t out[32]);

/**
 * pg_md5_answer() - PostgreSQL's md5 password answer
 * @pw, @pwlen: Password
 * @user:       The user name of the start-up packet
 * @salt:       The 4 bytes of AuthenticationMD5Password
 * @out:        "md5" + 32 hex digits + NUL
 */
void pg_md5_answer(const uint8_t *pw, size_t pwlen, const char *user,
		   const uint8_t salt[4], char out[36]);

/* The SCRAM attributes' base64 (base64.h), by the names tests use. */
static inline size_t scram_b64_encode(const uint8_t *in, size_t len, char *out,
				      size_t cap)
{
	return b64_encode(in, len, out, cap);
}

static inline long scram_b64_decode(const char *in, size_t len, uint8_t *out,
				    size_t cap)
{
	return b64_decode(in, len, out, cap);
}

#endif
