// SPDX-License-Identifier: MIT
/*
 * flowpeek.c - the peek: the first bytes a sandbox sends on an allowed
 * connection, checked before anything is relayed (part of the flow core).
 *
 * A TLS ClientHello must name (SNI) the host the sandbox resolved, an HTTP
 * request must carry it in Host.  For IP-literal flows the peeked name is
 * checked against the profile's host rules (a deny rule still denies).  A
 * refusal is a 403 with a JSON body for HTTP, an RST otherwise, and a
 * security_event in the audit log.  Plain HTTP to a name is not decided
 * here: the HTTP engine reads every request (flow.c hands it over).
 */
#include "gw.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "peek.h"
#include "secret.h"

#define PEEK_MAX FLOW_PEEK_MAX

static const char *const http_deny_fmt =
	"HTTP/1.1 403 Forbidden\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: %zu\r\n"
	"Connection: close\r\n\r\n%s";

static void json_esc(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

/**
 * flow_peek_refuse() - Refuse an open flow after peeking: a 403 for HTTP,
 * an RST otherwise
 * @f:      Flow
 * @reason: For the audit log (and the 403's body)
 * @seen:   The name the sandbox asked for, or NULL
 * @http:   The sandbox speaks HTTP
 */
void flow_peek_refuse(struct flow *f, const char *reason, const char *seen,
		      int http)
{
	struct audit_ev e;
	char src[INET6_ADDRSTRLEN];

	ipaddr_str(&f->src, src, sizeof(src));
	audit_begin_kind(f->g->audit, &e, "security_event", AK_SECURITY);
	audit_str(&e, "action", "deny");
	audit_str(&e, "profile", f->g->profile_name);
	audit_str(&e, "rule", policy_rule_label(&f->dec));
	audit_str(&e, "src", src);
	audit_int(&e, "dst_port", f->dport);
	if (f->host[0])
		audit_strn(&e, "host", f->host, strlen(f->host));
	if (seen)
		audit_strn(&e, "requested_host", seen, strlen(seen));
	audit_str(&e, "reason", reason);
	audit_emit(f->g->audit, &e);

	f->need_peek = 0;
	flow_want_events(f, 0);
	if (http && f->pcb) {
		char body[1024], eh[300], es[300], er[200], resp[1400];
		int blen, rlen;

		json_esc(f->g->profile_name ? f->g->profile_name : "", er,
			 sizeof(er));
		json_esc(seen ? seen : f->host, eh, sizeof(eh));
		json_esc(policy_rule_label(&f->dec), es, sizeof(es));
		blen = snprintf(body, sizeof(body),
				"{\"error\":\"islo-net: blocked by gateway profile\","
				"\"profile\":\"%s\",\"host\":\"%s\",\"rule\":\"%s\","
				"\"reason\":\"%s\"}\n",
				er, eh, es, reason);
		rlen = snprintf(resp, sizeof(resp), http_deny_fmt, (size_t)blen,
				body);
		if (rlen > 0 && (size_t)rlen < sizeof(resp) &&
		    flow_sb_send(f, resp, (size_t)rlen) == 0) {
			flow_sb_push(f);
			flow_close_later(f, ACT_DENY, reason);
			return;
		}
	}
	flow_abort_later(f, ACT_DENY, reason);
}

static int first_line_is_http(const uint8_t *b, size_t len)
{
	const uint8_t *nl = memchr(b, '\n', len);
	size_t l;

	if (!nl)
		return 0;
	l = (size_t)(nl - b);
	if (l && b[l - 1] == '\r')
		l--;
	return l >= 9 && (!memcmp(b + l - 9, " HTTP/1.1", 9) ||
			  !memcmp(b + l - 9, " HTTP/1.0", 9));
}

/* Does a plain-HTTP request head carry the placeholder of a secret that
 * belongs to another rule?  (Intercepted flows check each request in
 * proxy.c; TLS passthrough cannot be seen into, and a placeholder alone is
 * worth nothing outside: it is not the secret.) */
static int placeholder_elsewhere(const struct flow *f, size_t head_len)
{
	const struct secrets *ss = f->ps->secrets;
	const struct pf_rule *r = f->dec.rule;
	size_t i;

	for (i = 0; ss && i < ss->n; i++) {
		const char *ph = ss->s[i].placeholder;

		if (!ph[0] || (r && pf_auth_uses(r->auth, (int)i)))
			continue;
		if (memmem(f->peek, head_len, ph, strlen(ph)))
			return 1;
	}
	return 0;
}

/**
 * flow_peek_decide() - Check the first client bytes against the flow's name
 * @f: Flow, with f->peek holding what the sandbox sent so far
 * Return: 0 to keep waiting, 1 allowed, -1 refused (its close is asked
 *         for: flow_peek_refuse())
 */
int flow_peek_decide(struct flow *f)
{
	char name[256] = "", method[PEEK_HTTP_METHOD_MAX + 1], path[PEEK_MAX];
	uint16_t hport;
	size_t hlen = 0;
	int r, http = 0;

	if (peek_is_tls(f->peek, f->peek_len)) {
		r = peek_tls_hello(f->peek, f->peek_len, name, sizeof(name),
				   &f->alpn);
	} else if (f->named && !f->bytes_down &&
		   (r = peek_http_start(f->peek, f->peek_len))) {
		/* plain HTTP to a name: the HTTP engine reads every request
		 * of the connection and checks each one's Host (peek_done()),
		 * as strictly as an intercepted connection's */
		if (r > 0 || f->sandbox_eof)
			return 1;
		if (f->peek_len >= PEEK_MAX) {
			flow_peek_refuse(f, "incomplete request head", NULL, 0);
			return -1;
		}
		return 0;
	} else if (peek_is_http(f->peek, f->peek_len)) {
		http = 1;
		r = peek_http(f->peek, f->peek_len, PEEK_MAX, name, sizeof(name),
			      method, sizeof(method), path, sizeof(path),
			      &hport, &hlen);
		if (r == PEEK_BAD && !first_line_is_http(f->peek, f->peek_len))
			return 1; /* some other protocol that starts with a word */
	} else {
		/* cannot be the start of a ClientHello or of a request line
		 * (an upper-case method): another protocol, nothing to check */
		return 1;
	}
	if (r == PEEK_NEED_MORE) {
		if (f->peek_len >= PEEK_MAX || f->sandbox_eof) {
			flow_peek_refuse(f, "incomplete request head", NULL,
					      http);
			return -1;
		}
		return 0;
	}
	if (r == PEEK_BAD) {
		flow_peek_refuse(f, http ? "malformed HTTP request head"
					      : "malformed TLS ClientHello",
				      NULL, http);
		return -1;
	}
	if (http && r != PEEK_NONE && placeholder_elsewhere(f, hlen)) {
		flow_peek_refuse(f, "placeholder sent to a host outside "
				      "its rule", name, http);
		return -1;
	}
	if (r == PEEK_NONE)
		return 1; /* no name given: the connection goes where it was
			   * decided, nothing to front with */
	if (f->host[0]) {
		if (strcmp(name, f->host)) {
			flow_peek_refuse(f, http ? "Host header does not match the name resolved"
						      : "TLS SNI does not match the name resolved",
					      name, http);
			return -1;
		}
		return 1;
	}
	/* IP literal: the name in the request meets the host rules */
	{
		struct pf_query q = { .host = name, .port = f->dport,
				      .proto = PF_TCP };
		struct pf_decision d;

		policy_decide(f->ps->prof, &q, &d);
		if (d.action == PF_DENY && d.rule) {
			f->dec = d;
			flow_peek_refuse(f, "host denied by rule", name,
					      http);
			return -1;
		}
		if (d.audit && d.refused_by)
			flowaudit_peek_audited(f->g, f, &d, name,
					       "host denied by rule");
		snprintf(f->host, sizeof(f->host), "%s", name);
	}
	return 1;
}

