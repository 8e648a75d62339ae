// SPDX-License-Identifier: MIT
/*
 * pgfront.c - the PostgreSQL gateway's sandbox side: its transport (plain,
 * or TLS after 'S' with client_tls), the answer to its SSL request and
 * its start-up packet checked against the rule (pgproxy.c says how the
 * gateway works)
 */
#include "pgproxy_int.h"

#include <stdio.h>
#include <strings.h>

#include "ca.h"
#include "ecfast.h"
#include "log.h"
#include "pgguard.h"
#include "pgwire.h"

/* ------------------------------------------------------------------ */
/* The sandbox's start-up packet                                       */

/* Parameters a client may set at start-up that cannot widen the session:
 * formatting, encoding, labels, timeouts. */
static const char *const pass_params[] = {
	"application_name", "client_encoding", "datestyle", "timezone",
	"intervalstyle", "extra_float_digits", "search_path",
	"statement_timeout", "lock_timeout",
	"idle_in_transaction_session_timeout", "bytea_output",
};

static int param_passes(const char *k)
{
	size_t i;

	for (i = 0; i < sizeof(pass_params) / sizeof(*pass_params); i++)
		if (!strcasecmp(k, pass_params[i]))
			return 1;
	return 0;
}

static int false_word(const char *v)
{
	return !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
	       !strcmp(v, "0") || !strcasecmp(v, "no");
}

/**
 * param_check() - A start-up parameter other than user, database, _pq_.*
 * @pp: Session
 * @k:  Its name
 * @v:  Its value
 * Return: 1 if it passes to upstream, 0 if it is dropped (harmless), -1
 * if it is refused (error queued)
 */
static int param_check(struct pgproxy *pp, const char *k, const char *v)
{
	char esc[80];

	if (!strcmp(k, "replication")) {
		if (false_word(v))
			return 0;
		pgp_sb_error(pp, "FATAL", "42501",
			     "islo-net: replication connections are not allowed through the gateway");
		return -1;
	}
	if (!strcmp(k, "options")) {
		if (!v[0])
			return 0;
		pgp_sb_error(pp, "FATAL", "42501",
			     "islo-net: the 'options' start-up parameter is not allowed through the gateway (set parameters with SET after connecting)");
		return -1;
	}
	if (!strcasecmp(k, "client_encoding") && pp->cfg->read_only &&
	    !pgguard_encoding_safe(v)) {
		log_escape(v, strlen(v), esc, sizeof(esc));
		pgp_sb_error(pp, "FATAL", "42501",
			     "islo-net: client_encoding \"%s\" is not allowed in a read-only session (use UTF8)",
			     esc);
		return -1;
	}
	if (param_passes(k))
		return 1;
	log_escape(k, strlen(k), esc, sizeof(esc));
	pgp_sb_error(pp, "FATAL", "42501",
		     "islo-net: start-up parameter \"%s\" is not allowed through the gateway",
		     esc);
	return -1;
}

/**
 * target_check() - The user and database the sandbox asks for, against the
 * rule (both kept for the audit log)
 * @pp:   Session
 * @user: The user, or NULL
 * @db:   The database, or NULL for the default; set to the one chosen
 * Return: 0 if allowed, -1 if refused (error queued)
 */
static int target_check(struct pgproxy *pp, const char *user, const char **db)
{
	const struct pf_postgres *c = pp->cfg;
	char esc[80];
	size_t i;

	if (!user || !user[0]) {
		pgp_sb_error(pp, "FATAL", "28000", "islo-net: no user name in the start-up packet");
		return -1;
	}
	snprintf(pp->user, sizeof(pp->user), "%.*s", PF_PG_NAME_MAX, user);
	if (strcmp(user, c->user)) {
		log_escape(user, strlen(user), esc, sizeof(esc));
		pgp_sb_error(pp, "FATAL", "28000",
			     "islo-net: the gateway profile does not allow user \"%s\" for %s (it allows \"%s\")",
			     esc, pp->f->host, c->user);
		return -1;
	}
	if (!*db || !(*db)[0])
		*db = c->any_database ? c->user : c->databases[0];
	snprintf(pp->database, sizeof(pp->database), "%.*s", PF_PG_NAME_MAX, *db);
	if (!c->any_database) {
		for (i = 0; i < c->ndatabases; i++)
			if (!strcmp(*db, c->databases[i]))
				break;
		if (i == c->ndatabases || strlen(*db) > PF_PG_NAME_MAX) {
			log_escape(*db, strlen(*db), esc, sizeof(esc));
			pgp_sb_error(pp, "FATAL", "28000",
				     "islo-net: the gateway profile does not allow database \"%s\" for %s",
				     esc, pp->f->host);
			return -1;
		}
	} else if (strlen(*db) > PF_PG_NAME_MAX) {
		pgp_sb_error(pp, "FATAL", "28000", "islo-net: database name too long");
		return -1;
	}
	return 0;
}

/**
 * startup_accept() - Check the sandbox's StartupMessage, build upstream's
 * @pp:  Session
 * @pkt: The packet
 * @s:   Its parse
 * Return: 0 if accepted (pp->startup built), -1 if refused (error queued)
 */
static int startup_accept(struct pgproxy *pp, const uint8_t *pkt,
			  const struct pgw_startup *s)
{
	const struct pf_postgres *c = pp->cfg;
	const char *names[PGW_STARTUP_PARAMS + 4], *vals[PGW_STARTUP_PARAMS + 4];
	const char *unknown_pq[PGW_STARTUP_PARAMS];
	const char *user = NULL, *db = NULL;
	size_t i, n = 0, npq = 0;
	int pass;

	for (i = 0; i < s->nparams; i++) {
		const char *k = (const char *)pkt + s->params[i].key;
		const char *v = (const char *)pkt + s->params[i].val;

		if (!strcmp(k, "user")) {
			user = v;
		} else if (!strcmp(k, "database")) {
			db = v;
		} else if (!strncmp(k, "_pq_.", 5)) {
			unknown_pq[npq++] = k;
		} else if ((pass = param_check(pp, k, v)) < 0) {
			return -1;
		} else if (pass) {
			names[n] = k;
			vals[n++] = v;
		}
	}
	if (target_check(pp, user, &db) < 0)
		return -1;
	/* a 3.x client beyond 3.0, or with protocol options: say what we speak */
	if ((s->code & 0xffff) || npq) {
		uint8_t out[PGW_STARTUP_MAX + 32];
		size_t l = pgw_put_negotiate(out, sizeof(out), 0, unknown_pq, npq);

		if (l)
			bq_put(&pp->sout, out, l);
	}
	names[n] = "user";
	vals[n++] = c->user;
	names[n] = "database";
	vals[n++] = db;
	if (c->read_only) {
		names[n] = "options";
		vals[n++] = "-c default_transaction_read_only=on";
	}
	pp->startup_len = pgw_put_startup(pp->startup, sizeof(pp->startup),
					  names, vals, n);
	if (!pp->startup_len) {
		pgp_sb_error(pp, "FATAL", "08P01", "islo-net: start-up parameters too long");
		return -1;
	}
	return 0;
}

/* Set up the server engine toward the sandbox.  Return: 0, or -1. */
static int stls_start(struct pgproxy *pp)
{
	struct flow *f = pp->f;
	const br_x509_certificate *chain;
	const br_ec_private_key *key;
	size_t n;

	if (!f->g->ca || ca_leaf(f->g->ca, f->host, &chain, &n, &key) < 0 ||
	    n != 2)
		return -1;
	/* our own copy: the CA's cache may reuse the slot mid-handshake */
	pp->leaf = malloc(chain[0].data_len);
	pp->sbuf = malloc(BR_SSL_BUFSIZE_BIDI);
	if (!pp->leaf || !pp->sbuf)
		return -1;
	memcpy(pp->leaf, chain[0].data, chain[0].data_len);
	pp->chain[0].data = pp->leaf;
	pp->chain[0].data_len = chain[0].data_len;
	pp->chain[1] = chain[1];
	br_ssl_server_init_full_ec(&pp->sc, pp->chain, 2, BR_KEYTYPE_EC, key);
	/* libcrypto's EC code, as the HTTP side's (ecfast.h) */
	br_ssl_engine_set_ec(&pp->sc.eng, ecfast_impl());
	br_ssl_server_set_single_ec(&pp->sc, pp->chain, 2, key,
				    BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN,
				    BR_KEYTYPE_EC, ecfast_impl(), ecfast_sign_asn1);
	br_ssl_engine_set_versions(&pp->sc.eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_buffer(&pp->sc.eng, pp->sbuf, BR_SSL_BUFSIZE_BIDI, 1);
	return br_ssl_server_reset(&pp->sc) ? 0 : -1;
}

/* The sandbox's first packets.  Return: 1 if anything moved. */
int pgp_sb_startup(struct pgproxy *pp)
{
	struct pgw_startup s;
	int r;

	if (pp->sb != S_STARTUP || !bq_len(&pp->sin))
		return 0;
	r = pgw_startup_parse(bq_data(&pp->sin), bq_len(&pp->sin), &s);
	if (r == PGW_NEED_MORE)
		return 0;
	if (r == PGW_BAD) {
		pgp_sb_error(pp, "FATAL", "08P01", "islo-net: invalid start-up packet: %s",
			     s.error);
		pgp_audit_session(pp, "open", "denied", s.error);
		pgp_sb_finish(pp, s.error);
		return 1;
	}
	if (s.code == PGW_SSL_REQUEST && pp->cfg->client_tls && !pp->stls) {
		bq_consume(&pp->sin, s.len);
		if (bq_len(&pp->sin)) {
			/* they would be taken as sent inside TLS */
			pgp_sb_error(pp, "FATAL", "08P01",
				     "islo-net: data after the SSL request");
			pgp_sb_finish(pp, "data after the SSL request");
			return 1;
		}
		if (stls_start(pp) < 0) {
			bq_put(&pp->sout, "N", 1);
			return 1;
		}
		bq_put(&pp->sout, "S", 1);
		pp->stls_pending = 1; /* 'S' goes out in the clear, then TLS */
		return 1;
	}
	if (s.code == PGW_SSL_REQUEST || s.code == PGW_GSSENC_REQUEST) {
		bq_consume(&pp->sin, s.len);
		bq_put(&pp->sout, "N", 1);
		return 1;
	}
	if (s.code == PGW_CANCEL_REQUEST) {
		memcpy(pp->cancel, bq_data(&pp->sin), 16);
		bq_consume(&pp->sin, 16);
		pp->sb = S_CANCEL;
		if (pp->up == U_FAILED)
			pgp_sb_finish(pp, "cancel: upstream unreachable");
		return 1;
	}
	if (startup_accept(pp, bq_data(&pp->sin), &s) < 0) {
		pgp_audit_session(pp, "open", "denied", "user, database or parameters not allowed by the profile");
		bq_consume(&pp->sin, s.len);
		pgp_sb_finish(pp, "start-up refused");
		return 1;
	}
	bq_consume(&pp->sin, s.len);
	pp->sb = S_WAIT;
	if (pp->up == U_FAILED)
		pgp_up_failed_to_sandbox(pp);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Sandbox transport                                                   */

/* Take bytes lwIP holds for us into @dst (at most @room).  Return: count. */
static size_t from_pbufs(struct pgproxy *pp, uint8_t *dst, size_t room)
{
	return flow_sb_read(pp->f, dst, room);
}

/* Give lwIP up to @len bytes of @p.  Return: how many it took. */
static size_t to_pcb(struct pgproxy *pp, const uint8_t *p, size_t len)
{
	struct flow *f = pp->f;
	size_t n = flow_sb_room(f);
	ssize_t w;

	if (!n)
		return 0;
	w = flow_sb_write(f, p, len < n ? len : n);
	return w > 0 ? (size_t)w : 0;
}

int pgp_sandbox_in(struct pgproxy *pp)
{
	int moved = 0;
	size_t room, n;
	uint8_t *p;

	if (pp->stls_pending)
		return 0;
	if (!pp->stls) {
		while (bq_room(&pp->sin)) {
			p = bq_tail(&pp->sin, &room);
			n = from_pbufs(pp, p, room);
			if (!n)
				break;
			bq_wrote(&pp->sin, n);
			moved = 1;
		}
		return moved;
	}
	for (;;) {
		br_ssl_engine_context *eng = &pp->sc.eng;
		int m = 0;

		while ((p = br_ssl_engine_recvrec_buf(eng, &room)) && room &&
		       (n = from_pbufs(pp, p, room))) {
			br_ssl_engine_recvrec_ack(eng, n);
			m = 1;
		}
		m |= pgp_tls_get(eng, &pp->sin);
		if (!m)
			break;
		moved = 1;
	}
	if (!pp->f->to_host && pp->f->sandbox_eof)
		br_ssl_engine_close(&pp->sc.eng);
	return moved;
}

int pgp_sandbox_out(struct pgproxy *pp)
{
	struct flow *f = pp->f;
	int moved = 0;
	size_t n, len;
	uint8_t *p;

	if (!pp->stls) {
		while (bq_len(&pp->sout) && (n = to_pcb(pp, bq_data(&pp->sout), bq_len(&pp->sout)))) {
			bq_consume(&pp->sout, n);
			moved = 1;
		}
		if (pp->stls_pending && !bq_len(&pp->sout)) {
			/* 'S' is on its way: from here on, TLS */
			pp->stls_pending = 0;
			pp->stls = 1;
			moved = 1;
		}
	} else {
		br_ssl_engine_context *eng = &pp->sc.eng;

		moved |= pgp_tls_put(eng, &pp->sout);
		while ((p = br_ssl_engine_sendrec_buf(eng, &len)) && len &&
		       (n = to_pcb(pp, p, len))) {
			br_ssl_engine_sendrec_ack(eng, n);
			moved = 1;
		}
		if (br_ssl_engine_current_state(eng) == BR_SSL_CLOSED &&
		    pp->sb != S_DONE) {
			int e = br_ssl_engine_last_error(eng);

			pgp_sb_finish(pp, e ? "TLS with the sandbox failed" : NULL);
		}
	}
	if (moved && f->pcb)
		tcp_output(f->pcb);
	return moved;
}

