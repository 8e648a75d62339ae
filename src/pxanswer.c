// SPDX-License-Identifier: MIT
/*
 * pxanswer.c - what the HTTP interception says itself: its answers
 * (403, 429, 502...) with a JSON body, and its audit events (one
 * http_request per request, security events).
 */
#include "proxy_int.h"

#include "learn.h"
#include "refusals.h"

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
/* Answers of our own                                                  */

/* The rule that decided the current request, else the connection's. */
static const char *px_rule(const struct proxy *px)
{
	return px->rdec_set ? policy_rule_label(&px->rdec) :
			      policy_rule_label(&px->f->dec);
}

static void json_str(struct bytequeue *b, const char *s)
{
	char tmp[8];

	bq_put(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			bq_put(b, tmp, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			bq_put(b, tmp, 6);
		} else {
			bq_put(b, &c, 1);
		}
	}
	bq_put(b, "\"", 1);
}

/**
 * px_answer() - Queue an HTTP answer of the gateway's own to the sandbox
 * @px:     Proxy
 * @status: 400, 403, 408, 411, 413, 429, 431, 502
 * @reason: Why (shown in the JSON body and the audit log)
 *
 * The connection closes once it is sent.  The body never holds a secret.
 */
void px_answer(struct proxy *px, int status, const char *reason)
{
	static const char *const texts[] = {
		[0] = "Bad Request", [1] = "Forbidden", [2] = "Too Many Requests",
		[3] = "Request Header Fields Too Large", [4] = "Bad Gateway",
		[5] = "Request Timeout", [6] = "Length Required",
		[7] = "Content Too Large",
	};
	struct flow *f = px->f;
	struct bytequeue body;
	char head[256];
	const char *text = status == 403 ? texts[1] : status == 429 ? texts[2] :
			   status == 431 ? texts[3] : status == 502 ? texts[4] :
			   status == 408 ? texts[5] : status == 411 ? texts[6] :
			   status == 413 ? texts[7] : texts[0];
	int n;

	bq_init(&body, 2048, 0);
	px->closing = 1;
	px->status_sent = status;
	px->deny_reason = reason;
	if (px_buf_take(px, &body) < 0 || px_buf_take(px, &px->pend_down) < 0) {
		bq_free(&body);
		return;
	}
	bq_put(&body, "{\"error\":", 9);
	json_str(&body, status == 502 ? "islo-net: upstream failed" :
		 "islo-net: blocked by gateway profile");
	bq_put(&body, ",\"profile\":", 11);
	json_str(&body, f->g->profile_name);
	bq_put(&body, ",\"host\":", 8);
	json_str(&body, px->requested_host[0] ? px->requested_host : f->host);
	bq_put(&body, ",\"rule\":", 8);
	json_str(&body, px_rule(px));
	bq_put(&body, ",\"reason\":", 10);
	json_str(&body, reason);
	bq_put(&body, "}\n", 2);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
		     status, text, bq_len(&body),
		     status == 429 ? "Retry-After: 60\r\n" : "");
	bq_clear(&px->pend_down);
	bq_put(&px->pend_down, head, (size_t)n);
	bq_put(&px->pend_down, bq_data(&body), bq_len(&body));
	bq_free(&body);
}

static const char *px_method(const struct proxy *px)
{
	return px->ex ? px->ex->req.method : "";
}

/* A request the profile refuses, let through by audit mode: in the
 * summary at exit, and noted for `islo-net learn`. */
static void request_audited(struct proxy *px)
{
	struct flow *f = px->f;
	const struct pf_decision *d = &px->rdec;

	refusal_note_audited(f->g, px_method(px), f->host, f->dport,
			     px_rule(px), d->why);
	if (f->g->o && f->g->o->learn && px->ex && !d->rule) /* not a rate */
		learn_request(f->g->o->learn, f->host, f->dport,
			      f->up_addr.family &&
				      policy_addr_is_private(f->up_addr.family,
							     f->up_addr.a),
			      px->ex->req.method, px->ex->req.path,
			      d->refused_by ? d->refused_by->priority : -1);
}

void px_audit_request(struct proxy *px, int act, int status,
			  const char *reason)
{
	struct flow *f = px->f;
	int audited = px->rdec_set && px->rdec.audit;
	struct audit_ev e;

	f->g->st.http[act == ACT_ALLOW && status == 502 ? ACT_ERROR : act]++;
	if (act == ACT_DENY)
		refusal_note(f->g, px_method(px), f->host, f->dport, px_rule(px),
			     reason);
	else if (audited)
		request_audited(px);
	audit_begin_kind(f->g->audit, &e, "http_request",
			 act != ACT_ALLOW ? AK_HTTP_REFUSED : AK_NONE);
	/* audit mode: a request the profile refuses, let through */
	audit_str(&e, "action", act_name(audited ? ACT_DENY : act));
	audit_str(&e, "profile", f->g->profile_name);
	audit_str(&e, "rule", px_rule(px));
	audit_str(&e, "proto", px->tls ? "https" : "http");
	if (px->h2)
		audit_str(&e, "http_version", "2");
	audit_strn(&e, "method", px_method(px), strlen(px_method(px)));
	audit_strn(&e, "host", f->host, strlen(f->host));
	audit_strn(&e, "path", px->path_log, strlen(px->path_log));
	if (status)
		audit_int(&e, "status", status);
	audit_int(&e, "bytes_up", (long long)px->req_bytes);
	audit_int(&e, "bytes_down", (long long)px->resp_bytes);
	audit_int(&e, "duration_ms", (long long)(now_ms() - px->t_req));
	if (px->creds[0])
		audit_str(&e, "credentials", px->creds);
	if (px->reused)
		audit_bool(&e, "upstream_reused", 1);
	if (audited && act == ACT_ALLOW && !reason)
		reason = px->rdec.why;
	if (reason)
		audit_str(&e, "reason", reason);
	if (audited)
		audit_bool(&e, "enforced", act != ACT_ALLOW);
	audit_emit(f->g->audit, &e);
}

void px_security_event_as(struct proxy *px, int act,
			      const char *reason, const char *detail)
{
	struct flow *f = px->f;
	struct audit_ev e;
	char src[INET6_ADDRSTRLEN];

	ipaddr_str(&f->src, src, sizeof(src));
	audit_begin_kind(f->g->audit, &e, "security_event", AK_SECURITY);
	audit_str(&e, "action", act_name(act));
	audit_str(&e, "profile", f->g->profile_name);
	audit_str(&e, "rule", px_rule(px));
	audit_str(&e, "src", src);
	audit_strn(&e, "host", f->host, strlen(f->host));
	if (px->requested_host[0])
		audit_strn(&e, "requested_host", px->requested_host,
			   strlen(px->requested_host));
	audit_strn(&e, "method", px_method(px), strlen(px_method(px)));
	audit_strn(&e, "path", px->path_log, strlen(px->path_log));
	audit_str(&e, "reason", reason);
	if (detail)
		audit_strn(&e, "detail", detail, strlen(detail));
	audit_emit(f->g->audit, &e);
}

void px_security_event(struct proxy *px, const char *reason,
			   const char *detail)
{
	px_security_event_as(px, ACT_DENY, reason, detail);
}
