/* SPDX-License-Identifier: MIT */
/*
 * pgproxy_int.h - the PostgreSQL gateway's insides, shared by its files
 * (not an API; pgproxy.c says how the gateway works):
 *   pgproxy.c    the handler: start, the pump, deadlines, free, flow_ops
 *   pgfront.c    the sandbox side: its transport (plain, or TLS after
 *                'S'), the SSL answer, its start-up packet checked
 *   pgauth.c     the upstream side: its transport (plain, or TLS after
 *                'S'), the SSL request, start-up and authentication
 *   pgrelay.c    the relay both ways: framing, the read-only guard's
 *                refusals, answers paired with their requests
 *   pgsession.c  audit events, requests awaiting answers, errors of our
 *                own, TLS engines fed from the byte queues
 * Each file calls only those below it in this list.
 */
#ifndef ISLO_PGPROXY_INT_H
#define ISLO_PGPROXY_INT_H

#include "gw.h"

#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "bytequeue.h"
#include "profile.h"
#include "scram.h"
#include "secret.h"

#define PGP_BUF          16384
#define PGP_QUERY_MAX    ((size_t)1024 * 1024) /* a held Query/Parse */
#define PGP_BEMSG_MAX    8192       /* a held upstream message (larger ones stream) */
#define PGP_AUTH_MAX     8192       /* an upstream message while authenticating */
#define PGP_FIFO         256
#define PGP_TEXT_MAX     2048       /* statement text kept for the audit log */
#define PGP_STARTUP_MS   15000

/* A message held whole (a Query or Parse to check, an upstream message to
 * read): grown to the message's size, at most PGP_QUERY_MAX. */
struct pgmsg {
	uint8_t *b;
	size_t len, cap;
};

enum sb_state {
	S_STARTUP,      /* reading the sandbox's start-up packet */
	S_WAIT,         /* accepted; waiting for upstream to authenticate */
	S_RELAY,
	S_CANCEL,       /* a CancelRequest to pass on */
	S_DONE,         /* our last words are queued; close when sent */
};

enum up_state {
	U_SSLWAIT,      /* SSLRequest sent, awaiting 'S' */
	U_TLS,          /* handshake running */
	U_READY,        /* transport ready, start-up not sent yet */
	U_AUTH,         /* start-up sent, authenticating */
	U_RELAY,
	U_CANCELLED,    /* cancel packet sent */
	U_FAILED,
};

enum fr_mode { M_HDR, M_STREAM, M_BUFFER, M_DISCARD };

/* One direction's framing. */
struct framer {
	enum fr_mode mode;
	uint8_t type;
	uint32_t left;          /* body bytes still to come */
	struct pgmsg msg;       /* M_BUFFER: header + body so far */
	const uint8_t *out;     /* decided bytes waiting for room */
	size_t out_len;
	uint8_t small[512];     /* room for a message of our own */
};

enum it_kind { IT_SIMPLE, IT_EXEC, IT_SYNC, IT_REFUSED };

/* A request awaiting its answer, for the audit log and for rewriting. */
struct item {
	uint8_t kind;
	uint8_t refused;        /* IT_SIMPLE or IT_REFUSED replaced by poison */
	uint8_t extended;
	const char *reason;
	char *text;             /* with log_statements, else NULL */
	uint64_t t0;
};

struct pgproxy {
	struct flow *f;
	const struct pf_postgres *cfg;
	const struct secret *pw;
	enum sb_state sb;
	enum up_state up;
	struct bytequeue sin, sout, uin, uout;

	int tls_on;
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	uint8_t *iobuf;

	/* sandbox-side TLS (client_tls: true): 'S', then a BearSSL server
	 * with a leaf for the host from the islo-net CA */
	int stls, stls_pending;
	br_ssl_server_context sc;
	uint8_t *sbuf, *leaf;
	br_x509_certificate chain[2];

	struct scram scram;
	int sasl;

	char user[PF_PG_NAME_MAX + 1], database[PF_PG_NAME_MAX + 1];
	uint8_t startup[1024];
	size_t startup_len;
	uint8_t cancel[16];

	struct framer fe, be;
	struct item *fifo;
	size_t fhead, fcount;
	int discard_until_sync;
	int flush_sent;
	char marker[48];
	uint8_t txn;

	char up_error[224];
	uint64_t deadline, t_start, t_last;
	int up_eof;
	unsigned long long nqueries, nrefused;
	int session_open;
	const char *close_reason;
	char last_parse[PGP_TEXT_MAX];
	size_t last_parse_len;
};




/* --- pgsession.c --- */
const char *pgp_tls_name(int t);
void pgp_audit_session(struct pgproxy *pp, const char *phase,
		       const char *result, const char *reason);
void pgp_audit_query(struct pgproxy *pp, const struct item *it,
		     const char *action, const char *tag, size_t tlen,
		     const char *state);
struct item *pgp_fifo_front(struct pgproxy *pp);
void pgp_fifo_pop(struct pgproxy *pp);
struct item *pgp_fifo_push(struct pgproxy *pp, int kind, int extended,
			   const char *text, size_t tlen);
void pgp_sb_error(struct pgproxy *pp, const char *sev, const char *code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void pgp_sb_finish(struct pgproxy *pp, const char *reason);
void pgp_up_failed_to_sandbox(struct pgproxy *pp);
void pgp_up_fail(struct pgproxy *pp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int pgp_tls_put(br_ssl_engine_context *eng, struct bytequeue *b);
int pgp_tls_get(br_ssl_engine_context *eng, struct bytequeue *b);

/* --- pgrelay.c --- */
int pgp_fe_relay(struct pgproxy *pp);
int pgp_be_relay(struct pgproxy *pp);

/* --- pgauth.c --- */
int pgp_up_io(struct pgproxy *pp);
int pgp_up_startup(struct pgproxy *pp);

/* --- pgfront.c --- */
int pgp_sb_startup(struct pgproxy *pp);
int pgp_sandbox_in(struct pgproxy *pp);
int pgp_sandbox_out(struct pgproxy *pp);

#endif /* ISLO_PGPROXY_INT_H */
