// SPDX-License-Identifier: MIT
/*
 * pxreq.c - each request of an intercepted flow decided on its own:
 * the rule (per request: host, method, path), the rate limit, the
 * credential injected or the placeholder swapped, the set of rules in
 * force at its start.
 */
#include "proxy_int.h"

#include "base64.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "audit.h"
#include "ca.h"
#include "ecfast.h"
#include "log.h"
#include "profile.h"
#include "secret.h"
#include "upstls.h"

/* ------------------------------------------------------------------ */
/* Request decisions                                                   */

/* A token bucket per rule: rate_limit_rpm requests a minute, bursts of
 * up to that many. */
static int rate_ok(struct policyset *ps, const struct pf_rule *r)
{
	struct gw_rate *rt;
	uint64_t now = now_ms();
	double cap;

	if (!r || !r->rate_limit_rpm || r->index < 0 ||
	    (size_t)r->index >= ps->nrates)
		return 1;
	rt = &ps->rates[r->index];
	cap = r->rate_limit_rpm;
	if (!rt->last) {
		rt->tokens = cap;
	} else {
		rt->tokens += (double)(now - rt->last) * cap / 60000.0;
		if (rt->tokens > cap)
			rt->tokens = cap;
	}
	rt->last = now;
	if (rt->tokens < 1.0)
		return 0;
	rt->tokens -= 1.0;
	return 1;
}

/* The credential's header value, into @out (a secret: zeroed by caller). */
static int auth_value(const struct pf_auth *a, const struct secret *s,
		      char *out, size_t cap)
{
	const char *fmt, *at;
	size_t pre, post;

	if (a->mode == PF_AUTH_BASIC) {
		size_t ul = strlen(a->username), n;
		char *tmp;

		if (ul + 1 + s->len > 4096 || cap < 7)
			return -1;
		tmp = malloc(ul + 1 + s->len);
		if (!tmp)
			return -1;
		memcpy(tmp, a->username, ul);
		tmp[ul] = ':';
		memcpy(tmp + ul + 1, s->val, s->len);
		out[0] = 'B'; out[1] = 'a'; out[2] = 's'; out[3] = 'i';
		out[4] = 'c'; out[5] = ' ';
		n = b64_encode((uint8_t *)tmp, ul + 1 + s->len, out + 6, cap - 6);
		explicit_bzero(tmp, ul + 1 + s->len);
		free(tmp);
		return n ? 0 : -1;
	}
	fmt = a->format ? a->format : "{secret}";
	at = strstr(fmt, "{secret}");
	if (!at)
		return -1;
	pre = (size_t)(at - fmt);
	post = strlen(at + 8);
	if (pre + s->len + post + 1 > cap)
		return -1;
	memcpy(out, fmt, pre);
	memcpy(out + pre, s->val, s->len);
	memcpy(out + pre + s->len, at + 8, post + 1);
	return 0;
}

/* The query the flow was admitted on (policy_decide() in flow_syn()). */
static void flow_query(const struct flow *f, struct pf_query *q)
{
	memset(q, 0, sizeof(*q));
	q->host = f->named ? f->host : NULL;
	q->family = f->dst.family;
	q->addr = f->named ? NULL : f->dst.a;
	q->port = f->dport;
	q->proto = PF_TCP;
}

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * Does the rule that decided a request go where this connection goes?
 * The upstream (route, verified TLS name, address) was fixed when the
 * connection was admitted, by the first rule that could allow it; a
 * request another rule allows may use it only if that rule would have
 * chosen the same, else a credential could go somewhere its rule does
 * not send it.
 */
static int same_upstream(const struct flow *f, const struct pf_decision *d)
{
	const struct pf_rule *a = f->dec.rule, *b = d->rule;

	/* audit mode: a request the profile refuses goes, with no rule's
	 * credential, where the connection was admitted to go */
	if (a == b || d->audit)
		return 1;
	if (!str_eq(a ? a->route_host : NULL, b ? b->route_host : NULL) ||
	    (a && b && a->route_host && a->route_port != b->route_port) ||
	    !str_eq(a ? a->tls_verify_name : NULL, b ? b->tls_verify_name : NULL))
		return 0;
	return f->routed ||
	       !policy_private_blocked(d, f->up_addr.family, f->up_addr.a);
}

/* Take a reference on the set in force for the request starting now. */
static void request_set(struct proxy *px, struct policyset *ps)
{
	if (px->rps != ps) {
		policyset_unref(px->rps);
		px->rps = policyset_ref(ps);
	}
}

/**
 * override_check() - Method-override headers on a request
 * @px: Proxy, with the request decided (px->rdec)
 * @q:  The flow's query
 *
 * X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override make many
 * frameworks run another method than the request line's.  Each one's
 * method must be allowed on the same path by the same rule that allowed
 * the request (else a GET allowed with a credential would POST with it).
 *
 * Return: 0, or -1 if refused (an answer is queued)
 */
static int override_check(struct proxy *px, const struct pf_query *q)
{
	static const char *const names[] = {
		"x-http-method-override", "x-http-method", "x-method-override",
	};
	const struct http_req *rq = &px->ex->req;
	const uint8_t *b = bq_data(&px->reqhead);
	char m[HTTP_METHOD_MAX + 1];
	struct pf_decision d;
	unsigned i;
	size_t k, j;

	for (i = 0; i < rq->nhdr; i++) {
		const struct http_hdr *h = &rq->hdr[i];

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (h->name_len == strlen(names[k]) &&
			    !strncasecmp((const char *)b + h->name, names[k],
					 h->name_len))
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			continue;
		if (!h->value_len || h->value_len > HTTP_METHOD_MAX) {
			px_answer(px, 400, "bad method-override header");
			return -1;
		}
		for (j = 0; j < h->value_len; j++) {
			char c = (char)b[h->value + j];

			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			if (!((c >= 'A' && c <= 'Z') || c == '-' || c == '_')) {
				px_answer(px, 400, "bad method-override header");
				return -1;
			}
			m[j] = c;
		}
		m[j] = '\0';
		policy_decide_request(px->rps->prof, q, m, rq->path, &d);
		if (d.action != PF_ALLOW || d.rule != px->rdec.rule) {
			px_security_event(px, "method override to a method the rule does not allow",
				       m);
			px_answer(px, 403, "method-override header names a method the rule does not allow");
			return -1;
		}
	}
	return 0;
}

/*
 * Is @ph anywhere in the request head but in the headers named in @own
 * (@nown of them; none: anywhere at all)?  The request line and every
 * other field's name and value are searched; a placeholder holds no CR or
 * LF, so it cannot straddle two of them.
 */
static int placeholder_outside(const struct http_req *rq, const uint8_t *b,
			       const char *ph, const char *const *own,
			       size_t nown)
{
	size_t pl = strlen(ph), end, k;
	unsigned i;

	if (!nown)
		return http_find_token(rq, b, ph);
	end = rq->nhdr ? rq->hdr[0].name : rq->head_len;
	if (memmem(b, end, ph, pl))
		return 1;
	for (i = 0; i < rq->nhdr; i++) {
		const struct http_hdr *h = &rq->hdr[i];

		for (k = 0; k < nown; k++)
			if (h->name_len == strlen(own[k]) &&
			    !strncasecmp((const char *)b + h->name, own[k], h->name_len))
				break;
		if (k < nown)
			continue;
		if (memmem(b + h->name, h->value + h->value_len - h->name, ph, pl))
			return 1;
	}
	return 0;
}

/**
 * placeholders_check() - Where the sandbox's placeholders may be
 * @px: Proxy, with the request decided
 * @ss: Secrets of the set in force
 * @r:  The rule that decided it
 *
 * The rule's own placeholders in its credential's place only (where they
 * are replaced): its header; aws_sigv4's Authorization and
 * X-Amz-Security-Token (dropped); query and path are checked where the
 * credential is put (pxauth.c).  Any other secret's placeholder nowhere.
 *
 * Return: 0, or -1 (answered 403)
 */
static int placeholders_check(struct proxy *px, const struct secrets *ss,
			      const struct pf_rule *r)
{
	static const char *const sigv4_own[] = {
		"authorization", "x-amz-security-token",
	};
	const struct http_req *rq = &px->ex->req;
	const struct pf_auth *a = r ? r->auth : NULL;
	const char *own[2];
	size_t i, nown;

	for (i = 0; ss && i < ss->n; i++) {
		const char *ph = ss->s[i].placeholder;
		int mine = a && pf_auth_uses(a, (int)i);

		nown = 0;
		if (mine && (a->mode == PF_AUTH_QUERY || a->mode == PF_AUTH_PATH))
			continue;
		if (mine && a->mode == PF_AUTH_SIGV4) {
			own[0] = sigv4_own[0];
			own[1] = sigv4_own[1];
			nown = 2;
		} else if (mine) {
			own[nown++] = pf_auth_header(a);
		}
		if (!ph[0] || !placeholder_outside(rq, bq_data(&px->reqhead), ph,
						   own, nown))
			continue;
		px_security_event(px, mine ? "placeholder outside the credential header of its rule"
				       : "placeholder sent to a host outside its rule",
			       ss->s[i].ref);
		px_answer(px, 403, mine ? "credential placeholder outside the credential header"
				     : "credential placeholder not valid for this host");
		return -1;
	}
	return 0;
}

/* A rule's rate limit exceeded under `enforcement: audit`: the request
 * goes (with the rule's credential: the rule allows it) and is logged as
 * a refusal not enforced.  Return: 1 if so, 0 if the 429 is enforced. */
static int rate_audited(const struct profile *p, struct pf_decision *d)
{
	if (!d->rule || policy_enforcement(p, d->rule, NULL) != PF_ENF_AUDIT)
		return 0;
	d->audit = 1;
	d->refused_by = d->rule;
	d->why = "rate limit of the rule exceeded";
	return 1;
}

/* The request's Host, rule, upstream, placeholders and rate.  Return: 0,
 * or -1 (answered). */
static int request_admit(struct proxy *px, struct policyset *ps,
			 const struct pf_query *q)
{
	struct flow *f = px->f;
	const struct pf_rule *r = px->rdec.rule;
	const struct http_req *rq = &px->ex->req;
	const char *host = rq->absolute_host[0] ? rq->absolute_host : rq->host;
	uint16_t port = rq->absolute_host[0] ? rq->absolute_port : rq->host_port;

	if (!port)
		port = (rq->absolute_host[0] ? rq->absolute_https : px->tls) ? 443 : 80;
	if (strcmp(host, f->host) || port != f->dport) {
		snprintf(px->requested_host, sizeof(px->requested_host), "%s", host);
		px_security_event(px, strcmp(host, f->host) ?
				   "Host header does not match the name resolved" :
				   "Host header names another port than the connection's",
			       NULL);
		px_answer(px, 403, "Host does not match the name and port the sandbox connected to");
		return -1;
	}
	if (px->rdec.action != PF_ALLOW) {
		px_answer(px, 403, http_path_normal(rq->path) < 0 ?
				"path is not in normal form" :
				r ? "request denied by the rule" :
				"no rule allows this method and path");
		return -1;
	}
	if (!same_upstream(f, &px->rdec)) {
		px_answer(px, 403, "the rule for this request does not reach this connection's upstream");
		return -1;
	}
	if (override_check(px, q) < 0 || placeholders_check(px, ps->secrets, r) < 0)
		return -1;
	if (!rate_ok(ps, r) && !rate_audited(ps->prof, &px->rdec)) {
		px_answer(px, 429, "rate limit of the rule exceeded");
		return -1;
	}
	return 0;
}

/* What the credential of a header mode (bearer, basic, header) adds:
 * @value its value.  Return: 0, or -1 (answered). */
static int cred_header(struct proxy *px, const struct pf_rule *r,
		       const struct secret *s, char *value, size_t cap,
		       struct http_rewrite *rw, const char **drop,
		       struct http_field *add)
{
	if (auth_value(r->auth, s, value, cap) < 0) {
		px_answer(px, 502, "credential does not fit a header");
		return -1;
	}
	drop[rw->ndrop++] = pf_auth_header(r->auth);
	add[rw->nadd].name = r->auth->mode == PF_AUTH_HEADER ?
			     r->auth->header_name : "Authorization";
	add[rw->nadd++].value = value;
	if (scrub_setup(px, r->auth, s, value) < 0) {
		px_answer(px, 502, "out of memory");
		return -1;
	}
	return 0;
}

/* What a query, path or aws_sigv4 credential changes (@c, pxauth.c).
 * Return: 0, or -1 (answered). */
static int cred_other(struct proxy *px, const struct secrets *ss,
		      const struct pf_rule *r, struct px_cred *c,
		      struct http_rewrite *rw, const char **drop,
		      struct http_field *add)
{
	size_t i;

	if (px_cred_build(px, ss, r, c) < 0)
		return -1;
	if (r->auth->mode == PF_AUTH_PATH && !c->target) {
		px->creds[0] = '\0';   /* no placeholder in the path: none put */
		return 0;
	}
	for (i = 0; i < c->ndrop; i++)
		drop[rw->ndrop++] = c->drop[i];
	for (i = 0; i < c->nadd; i++)
		add[rw->nadd++] = c->add[i];
	rw->target = c->target;
	rw->target_len = c->target_len;
	if (scrub_setup(px, r->auth, &ss->s[r->auth->secret_index], NULL) < 0) {
		px_answer(px, 502, "out of memory");
		return -1;
	}
	px_cred_scrub(px, ss, r, c);
	return 0;
}

/* The rewritten head into pend_up.  Return: 0, or -1 (answered). */
static int head_write(struct proxy *px, struct http_rewrite *rw)
{
	const struct http_req *rq = &px->ex->req;
	size_t room;
	uint8_t *out;

	if (px_buf_take(px, &px->pend_up) < 0) {
		scrub_end(px);
		px_answer(px, 502, "out of memory");
		return -1;
	}
	bq_clear(&px->pend_up);
	out = bq_tail(&px->pend_up, &room);
	bq_wrote(&px->pend_up, http_req_write(rq, bq_data(&px->reqhead), rw,
					      out, room));
	if (!bq_len(&px->pend_up)) {
		scrub_end(px);
		px_answer(px, 431, "request head too large after rewriting");
		return -1;
	}
	return 0;
}

/*
 * Is the request's only Connection field "close"?  Connection is
 * hop-by-hop (RFC 9110 7.6.1): the sandbox's connection closes after this
 * exchange, but upstream's need not, and an upstream connection asked to
 * close could not be parked for the next sandbox connection (pxpool.c).
 * Anything else in Connection (upgrade, other fields named) is sent as it
 * is.
 */
static int close_only(const struct proxy *px)
{
	const struct http_req *rq = &px->ex->req;
	const uint8_t *b = bq_data(&px->reqhead);
	unsigned i;
	int seen = 0;

	if (!px->tls || rq->version != 11 || rq->keep_alive || rq->upgrade ||
	    !pxpool_enabled())
		return 0;
	for (i = 0; i < rq->nhdr; i++) {
		const struct http_hdr *h = &rq->hdr[i];

		if (h->name_len != 10 ||
		    strncasecmp((const char *)b + h->name, "connection", 10))
			continue;
		if (h->value_len != 5 ||
		    strncasecmp((const char *)b + h->value, "close", 5))
			return 0;
		seen = 1;
	}
	return seen;
}

/* The head sent upstream: the credential injected (and the response's
 * scrubbing set up), h2c upgrades dropped.  Return: 0, or -1 (answered). */
static int request_rewrite(struct proxy *px, const struct secrets *ss)
{
	const struct pf_rule *r = px->rdec.rule;
	const struct http_req *rq = &px->ex->req;
	struct http_field add[8];
	const char *drop[10];
	struct http_rewrite rw;
	struct px_cred *c = NULL;
	char value[4200];
	int inject = r && r->auth && ss && r->auth->secret_index >= 0 &&
		     (size_t)r->auth->secret_index < ss->n &&
		     (px->tls || r->allow_plaintext);
	int rc = -1, mode = inject ? r->auth->mode : 0;

	memset(&rw, 0, sizeof(rw));
	rw.drop = drop;
	rw.add = add;
	if (rq->upgrade_h2c) {
		drop[rw.ndrop++] = "upgrade";
		drop[rw.ndrop++] = "http2-settings";
	}
	px->close_stripped = close_only(px);
	if (px->close_stripped)
		drop[rw.ndrop++] = "connection";
	if (inject) {
		int idx[3] = { r->auth->secret_index, r->auth->akid_index,
			       r->auth->token_index };

		/* a file: secret whose file changed is read again (issue 18) */
		const char *stale;

		secrets_refresh_idx(ss, idx, 3);
		snprintf(px->creds, sizeof(px->creds), "%s",
			 ss->s[r->auth->secret_index].ref);
		/* a cmd: secret older than its secret_ttl is not sent */
		stale = secrets_stale_idx(ss, idx, 3);
		if (stale) {
			px_answer(px, 502, stale);
			goto out;
		}
		/* the response is scrubbed of the secret, which a compressed
		 * body would hide: ask for it uncompressed */
		drop[rw.ndrop++] = "accept-encoding";
		add[rw.nadd].name = "Accept-Encoding";
		add[rw.nadd++].value = "identity";
	}
	if (mode == PF_AUTH_BEARER || mode == PF_AUTH_BASIC || mode == PF_AUTH_HEADER) {
		if (cred_header(px, r, &ss->s[r->auth->secret_index], value,
				sizeof(value), &rw, drop, add) < 0)
			goto out;
	} else if (mode) {
		c = malloc(sizeof(*c));
		if (!c) {
			px_answer(px, 502, "out of memory");
			goto out;
		}
		if (cred_other(px, ss, r, c, &rw, drop, add) < 0)
			goto out;
	}
	rc = head_write(px, &rw);
out:
	explicit_bzero(value, sizeof(value));
	if (c) {
		px_cred_end(c);
		free(c);
	}
	if (rc < 0)
		scrub_end(px);
	return rc;
}

/**
 * px_body_wait() - Must the request's body be read before its head goes?
 * @px: Proxy, with px->ex->req parsed from px->reqhead (HTTP_DONE)
 *
 * An aws_sigv4 rule signs a hash of the body (unless the sandbox chose
 * an unsigned payload): the head waits in reqhead until the whole body
 * is there too, within px_reqhead_cap() bytes and the head's timeout.
 * The rule is the one px_request_decide() will find (the same pure
 * decision, made early): nothing is refused or counted here.
 *
 * Return: 1 to wait for more bytes, 0 to go on
 */
int px_body_wait(struct proxy *px)
{
	struct flow *f = px->f;
	struct policyset *ps = f->g->ps ? f->g->ps : f->ps;
	const struct http_req *rq = &px->ex->req;
	struct pf_decision d;
	struct pf_query q;

	if (rq->content_length <= 0)
		return 0;
	flow_query(f, &q);
	policy_decide_request(ps->prof, &q, rq->method, rq->path, &d);
	if (d.action != PF_ALLOW || !px_sigv4_needs_body(px, d.rule))
		return 0;
	return bq_len(&px->reqhead) <
	       rq->head_len + (unsigned long long)rq->content_length;
}

/**
 * px_request_decide() - Decide and rewrite one request head
 * @px: Proxy, with px->req parsed from px->reqhead
 *
 * The request is decided by the set in force now (a reload narrows what
 * an open connection may do from its next request on), by the first rule
 * whose host, port, methods and path match it (policy_decide_request()).
 * That rule's credential goes in (its header, query, path or signature);
 * its placeholders may appear only where it goes, another rule's nowhere.
 *
 * Return: 0 if the rewritten head is in px->pend_up, -1 if refused (an
 *         answer is queued)
 */
int px_request_decide(struct proxy *px)
{
	struct flow *f = px->f;
	struct policyset *ps = f->g->ps ? f->g->ps : f->ps;
	const struct http_req *rq = &px->ex->req;
	struct pf_query q;

	scrub_end(px);
	px->requested_host[0] = '\0';
	http_path_for_log((const char *)bq_data(&px->reqhead) + rq->target,
			  rq->target_len, px->path_log, sizeof(px->path_log));
	px->creds[0] = '\0';
	request_set(px, ps);
	flow_query(f, &q);
	policy_decide_request(ps->prof, &q, rq->method, rq->path, &px->rdec);
	px->rdec_set = 1;
	if (request_admit(px, ps, &q) < 0)
		return -1;
	return request_rewrite(px, ps->secrets);
}
