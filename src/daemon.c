// SPDX-License-Identifier: MIT
/*
 * daemon.c - `islo-net serve`: one process, many sandboxes.
 *
 * DOC: Theory of operation
 *
 * The daemon is the gateway loop (loop.c, struct gwd) with two more kinds
 * of socket in its epoll set, whose events the loop hands to
 * daemon_event() (registered with loop_handle()):
 *
 *  - a unix control socket (mode 0600; a peer whose uid is neither ours nor
 *    root is turned away, SO_PEERCRED).  Each request is one flat JSON
 *    object on a line; each answer is one line too (ctlmsg.c).  `add`
 *    starts a sandbox from a TAP fd passed with the request (SCM_RIGHTS:
 *    the daemon never opens TAP devices itself, so it needs no privilege)
 *    or a QEMU stream socket it creates; `remove`, `list`, `stats`,
 *    `reload` and `metrics` do what they say.
 *  - optionally, a TCP listener answering GET /metrics with the same
 *    Prometheus text exposition.
 *
 * A sandbox is removed, and a connection closed, at the end of the loop
 * turn, never from inside the dispatch: the events epoll already returned
 * for it in this turn must still find valid memory.
 *
 * Fairness: every sandbox has its own flow limit (held SYNs count), its
 * own DNS pool and host resolver socket, and the loop reads at most a
 * fixed number of frames per sandbox per wake-up, so a flooding sandbox
 * costs the others a share of one CPU, not their service.
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "ctlmsg.h"
#include "frame.h"
#include "gw.h"
#include "isolation.h"
#include "nat.h"
#include "peercheck.h"
#include "log.h"
#include "supervisor.h"

#define CTL_MAX_CONNS     32
#define METRICS_MAX_CONNS 16
#define METRICS_REQ_MAX   4096

/* A client of the control or the metrics socket: what both have. */
struct dconn {
	struct epref ref;               /* REF_CTL_CONN, REF_METRICS_CONN */
	struct dconn *next;
	int fd;
	int closing;                    /* freed at the end of the turn */
	struct ctlbuf out;
	size_t out_off;
};

struct ctlconn {
	struct dconn h;                 /* first */
	struct daemon *dm;
	int pending_fd;                 /* received with the request bytes */
	char in[CTLMSG_MAX_LINE + 1];
	size_t in_len;
	int registered_out;
};

struct mconn {
	struct dconn h;                 /* first */
	char in[METRICS_REQ_MAX];
	size_t in_len;
	int answered;
	uint64_t t_start;
};

struct daemon {
	struct gwd *d;
	struct epref ctl_ref, metrics_ref;
	int ctl_fd, metrics_fd;
	const char *ctl_path;
	struct run_opts defaults;
	struct dconn *conns, *mconns;   /* control, metrics clients */
	unsigned nconns, nmconns;
	uint64_t t_start;
	uint64_t ctl_refused;            /* control peers refused */
};

/* ------------------------------------------------------------------ */
/* Metrics: Prometheus text exposition format 0.0.4                   */

static void metric_head(struct ctlbuf *b, const char *name, const char *type,
			const char *help)
{
	cb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A sandbox's counter (a uint64_t in struct gw), or the sum of a few;
 * offset 0 (g->d) ends the list. */
#define GWC(f) offsetof(struct gw, f)
struct msample {
	const char *val;                /* its label's value */
	size_t off[4];
};

/* A counter with one sample per sandbox and label value. */
struct mcounter {
	const char *name, *help;
	const char *label;              /* NULL: one unlabelled sample */
	struct msample s[4];
};

static const struct mcounter counters_flows[] = {
	{ "islo_connections_total", "TCP connections by outcome (intercept: "
	  "allowed and intercepted; error: allowed, upstream failed).", "action",
	  { { "allow", { GWC(st.conns[ACT_ALLOW]) } },
	    { "deny", { GWC(st.conns[ACT_DENY]) } },
	    { "intercept", { GWC(st.conns[ACT_INTERCEPT]) } },
	    { "error", { GWC(st.conns[ACT_ERROR]) } } } },
	{ "islo_udp_flows_total", "UDP flows (allowed) and datagrams (refused).",
	  "action", { { "allow", { GWC(st.udp[ACT_ALLOW]) } },
		      { "deny", { GWC(st.udp[ACT_DENY]) } } } },
	{ "islo_dns_answers_total", "DNS answers given to the sandbox, by "
	  "whether the name could be connected to.", "action",
	  { { "allow", { GWC(st.dns[0]) } }, { "deny", { GWC(st.dns[1]) } } } },
	{ "islo_http_requests_total", "Intercepted HTTP requests by outcome.",
	  "action", { { "allow", { GWC(st.http[ACT_ALLOW]) } },
		      { "deny", { GWC(st.http[ACT_DENY]) } },
		      { "error", { GWC(st.http[ACT_ERROR]) } } } },
	{ "islo_policy_denials_total", "Everything the profile refused: "
	  "connections, UDP, DNS names, HTTP requests.", NULL,
	  { { NULL, { GWC(st.conns[ACT_DENY]), GWC(st.udp[ACT_DENY]),
		      GWC(st.dns[1]), GWC(st.http[ACT_DENY]) } } } },
	{ "islo_tls_handshakes_total", "TLS connections from the sandbox that "
	  "were intercepted.", NULL, { { NULL, { GWC(st.tls_handshakes) } } } },
	{ "islo_errors_total", "Allowed connections or requests that failed "
	  "upstream, and SYNs refused over the connection limit.", "kind",
	  { { "upstream", { GWC(st.conns[ACT_ERROR]), GWC(st.http[ACT_ERROR]) } },
	    { "limit", { GWC(st.syn_refused_limit) } } } },
	{ "islo_half_open_total", "Handshakes with the sandbox that never "
	  "completed: dropped for a newer SYN (queue full) or expired (timed "
	  "out, reset).", "end",
	  { { "dropped", { GWC(st.halfopen_dropped) } },
	    { "expired", { GWC(st.halfopen_expired) } } } },
	{ "islo_syn_deferred_total", "SYNs answered before connecting upstream, "
	  "under SYN flood pressure (as SYN cookies: upstream only once the "
	  "sandbox completes the handshake).", NULL,
	  { { NULL, { GWC(st.syn_deferred) } } } },
};

static const struct mcounter counters_link[] = {
	{ "islo_bytes_total", "Bytes relayed by closed TCP connections.",
	  "direction", { { "up", { GWC(st.bytes_up) } },
			 { "down", { GWC(st.bytes_down) } } } },
	{ "islo_frames_total", "Frames from the sandbox's link, and frames "
	  "dropped on the way to it.", "direction",
	  { { "in", { GWC(st.frames_in) } },
	    { "out_dropped", { GWC(drops_tx) } } } },
	{ "islo_profile_reloads_total", "Profile reloads, by result.", "result",
	  { { "ok", { GWC(st.reloads) } },
	    { "error", { GWC(st.reload_errors) } } } },
	{ "islo_http_timeouts_total", "Connections the HTTP engine closed for a "
	  "timeout: the sandbox's TLS handshake, a request head, idle "
	  "keep-alive.", "kind",
	  { { "tls_handshake", { GWC(st.timeouts[0]) } },
	    { "request_head", { GWC(st.timeouts[1]) } },
	    { "idle", { GWC(st.timeouts[2]) } } } },
};

static unsigned long long msample_value(const struct gw *g,
					const struct msample *s)
{
	unsigned long long v = 0;
	uint64_t x;
	size_t i;

	for (i = 0; i < 4 && s->off[i]; i++) {
		memcpy(&x, (const char *)g + s->off[i], sizeof(x));
		v += x;
	}
	return v;
}

/* Sandbox ids are [A-Za-z0-9._-], so they need no label escaping. */
static void metrics_counters(struct ctlbuf *b, const struct gwd *d,
			     const struct mcounter *m, size_t n)
{
	const struct gw *g;
	size_t i, k;

	for (i = 0; i < n; i++, m++) {
		metric_head(b, m->name, "counter", m->help);
		for (g = d->sandboxes; g; g = g->next)
			for (k = 0; k < 4 && m->s[k].off[0]; k++)
				if (m->label)
					cb_printf(b, "%s{sandbox=\"%s\",%s=\"%s\"} "
						  "%llu\n", m->name, g->id, m->label,
						  m->s[k].val,
						  msample_value(g, &m->s[k]));
				else
					cb_printf(b, "%s{sandbox=\"%s\"} %llu\n",
						  m->name, g->id,
						  msample_value(g, &m->s[k]));
	}
}

static void metrics_text(struct daemon *dm, struct ctlbuf *b)
{
	struct gwd *d = dm->d;
	struct gw *g;
	int a;

	metric_head(b, "islo_sandboxes", "gauge", "Sandboxes being served.");
	cb_printf(b, "islo_sandboxes %u\n", d->nsandboxes);
	metric_head(b, "islo_uptime_seconds", "gauge",
		    "Seconds since the daemon started.");
	cb_printf(b, "islo_uptime_seconds %llu\n",
		  (unsigned long long)((now_ms() - dm->t_start) / 1000));

	metric_head(b, "islo_control_refused_total", "counter",
		    "Control-socket peers refused (another user, or another "
		    "user or network namespace: a sandbox).");
	cb_printf(b, "islo_control_refused_total %llu\n",
		  (unsigned long long)dm->ctl_refused);

	metric_head(b, "islo_connections_open", "gauge",
		    "TCP connections open (or being decided) now.");
	for (g = d->sandboxes; g; g = g->next)
		cb_printf(b, "islo_connections_open{sandbox=\"%s\"} %u\n", g->id,
			  g->nflows);
	metrics_counters(b, d, counters_flows,
			 sizeof(counters_flows) / sizeof(counters_flows[0]));
	metric_head(b, "islo_audit_suppressed_total", "counter",
		    "Audit events left out past their budget (each is counted "
		    "in a \"suppressed\" line of the audit log).");
	for (g = d->sandboxes; g; g = g->next)
		for (a = 0; a < AK_N; a++)
			cb_printf(b, "islo_audit_suppressed_total{sandbox=\"%s\","
				  "kind=\"%s\"} %llu\n", g->id,
				  audit_kind_name((enum audit_kind)a),
				  audit_suppressed(g->audit, (enum audit_kind)a));
	metrics_counters(b, d, counters_link,
			 sizeof(counters_link) / sizeof(counters_link[0]));
}

/* ------------------------------------------------------------------ */
/* Control requests                                                    */

static int id_ok(const char *id)
{
	size_t n = strlen(id), i;

	if (!n || n >= sizeof(((struct gw *)0)->id))
		return 0;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void answer_error(struct ctlbuf *b, const char *why)
{
	cb_lit(b, "{\"ok\":false,\"error\":");
	cb_jstr(b, why);
	cb_lit(b, "}");
}

static void sandbox_json(struct ctlbuf *b, const struct gw *g, int full)
{
	int a;

	cb_lit(b, "{\"id\":");
	cb_jstr(b, g->id);
	cb_lit(b, ",\"profile\":");
	cb_jstr(b, g->profile_name);
	cb_printf(b, ",\"generation\":%llu,\"link\":\"%s\",\"link_up\":%s,"
		  "\"connections_open\":%u",
		  (unsigned long long)g->ps->generation,
		  g->stream ? "qemu" : "tap", g->tapfd >= 0 ? "true" : "false",
		  g->nflows);
	if (!full) {
		cb_lit(b, "}");
		return;
	}
	cb_printf(b, ",\"uptime_ms\":%llu,\"max_connections\":%u",
		  (unsigned long long)(now_ms() - g->t_added), g->max_flows);
	cb_lit(b, ",\"connections\":{");
	for (a = 0; a < ACT_N; a++)
		cb_printf(b, "%s\"%s\":%llu", a ? "," : "", act_name(a),
			  (unsigned long long)g->st.conns[a]);
	cb_printf(b, "},\"udp\":{\"allow\":%llu,\"deny\":%llu}",
		  (unsigned long long)g->st.udp[ACT_ALLOW],
		  (unsigned long long)g->st.udp[ACT_DENY]);
	cb_printf(b, ",\"dns\":{\"allow\":%llu,\"deny\":%llu}",
		  (unsigned long long)g->st.dns[0],
		  (unsigned long long)g->st.dns[1]);
	cb_printf(b, ",\"http\":{\"allow\":%llu,\"deny\":%llu,\"error\":%llu}",
		  (unsigned long long)g->st.http[ACT_ALLOW],
		  (unsigned long long)g->st.http[ACT_DENY],
		  (unsigned long long)g->st.http[ACT_ERROR]);
	/* the HTTP engine's timeouts (proxy.c, proxy_tick()) */
	cb_printf(b, ",\"timeouts\":{\"tls_handshake\":%llu,"
		  "\"request_head\":%llu,\"idle\":%llu}",
		  (unsigned long long)g->st.timeouts[0],
		  (unsigned long long)g->st.timeouts[1],
		  (unsigned long long)g->st.timeouts[2]);
	cb_printf(b, ",\"half_open\":%u,\"half_open_dropped\":%llu,"
		  "\"half_open_expired\":%llu,\"syn_deferred\":%llu",
		  g->nhalfopen, (unsigned long long)g->st.halfopen_dropped,
		  (unsigned long long)g->st.halfopen_expired,
		  (unsigned long long)g->st.syn_deferred);
	cb_lit(b, ",\"audit_suppressed\":{");
	for (a = 0; a < AK_N; a++)
		cb_printf(b, "%s\"%s\":%llu", a ? "," : "",
			  audit_kind_name((enum audit_kind)a),
			  audit_suppressed(g->audit, (enum audit_kind)a));
	cb_lit(b, "}");
	cb_printf(b, ",\"tls_handshakes\":%llu,\"refused_over_limit\":%llu,"
		  "\"bytes_up\":%llu,\"bytes_down\":%llu,\"frames_in\":%llu,"
		  "\"reloads\":%llu,\"reload_errors\":%llu}",
		  (unsigned long long)g->st.tls_handshakes,
		  (unsigned long long)g->st.syn_refused_limit,
		  (unsigned long long)g->st.bytes_up,
		  (unsigned long long)g->st.bytes_down,
		  (unsigned long long)g->st.frames_in,
		  (unsigned long long)g->st.reloads,
		  (unsigned long long)g->st.reload_errors);
}

static void sandbox_event(struct gw *g, const char *phase)
{
	struct audit_ev e;

	audit_begin(&e, "sandbox");
	audit_str(&e, "phase", phase);
	audit_str(&e, "profile", g->profile_name);
	audit_str(&e, "link", g->stream ? "qemu" : "tap");
	audit_emit(g->audit, &e);
}

static void do_add(struct daemon *dm, struct ctlconn *c,
		   const struct ctlmsg *m, struct ctlbuf *b)
{
	const char *id = ctlmsg_str(m, "id");
	const char *path = ctlmsg_str(m, "profile_path");
	const char *qs = ctlmsg_str(m, "qemu_socket");
	int nat = ctlmsg_int(m, "nat", 0) == 1;
	int want_fd = (int)ctlmsg_int(m, "tap_fd", 0);
	struct run_opts o = dm->defaults;
	struct policyset *ps;
	char err[4096];
	long long v;
	struct gw *g;
	int fd = -1;

	if (!id || !id_ok(id)) {
		answer_error(b, "add: \"id\" must be 1-63 characters of "
			     "[A-Za-z0-9._-]");
		return;
	}
	if (gw_find(dm->d, id)) {
		answer_error(b, "add: a sandbox with that id exists");
		return;
	}
	if (nat ? path != NULL : !path || path[0] != '/') {
		answer_error(b, "add: give \"profile_path\" (an absolute path) "
			     "for a gateway profile, or \"nat\":true for an "
			     "unrestricted NAT, not both");
		return;
	}
	if (!!want_fd == !!qs) {
		answer_error(b, "add: give exactly one link: \"tap_fd\":true "
			     "with a descriptor, or \"qemu_socket\"");
		return;
	}
	if (want_fd) {
		if (c->pending_fd < 0) {
			answer_error(b, "add: \"tap_fd\" given but no descriptor "
				     "came with the request");
			return;
		}
		fd = c->pending_fd;
		c->pending_fd = -1;
	}
	if (qs && qs[0] != '/') {
		answer_error(b, "add: \"qemu_socket\" must be an absolute path");
		goto fail;
	}
	if (ctlmsg_has(m, "audit_log")) {
		o.audit_path = ctlmsg_str(m, "audit_log");
		if (!o.audit_path || o.audit_path[0] != '/') {
			answer_error(b, "add: \"audit_log\" must be an absolute path");
			goto fail;
		}
	}
	v = ctlmsg_int(m, "max_connections", o.max_connections);
	if (v < 0 || v > 1000000) {
		answer_error(b, "add: \"max_connections\" out of range");
		goto fail;
	}
	o.max_connections = (int)v;
	v = ctlmsg_int(m, "mtu", o.mtu);
	if (v < ISLO_MTU_MIN || v > ISLO_MTU_MAX) {
		answer_error(b, "add: \"mtu\" out of range (1280-65520)");
		goto fail;
	}
	o.mtu = (int)v;
	o.qemu_socket = qs;
	if (nat) {
		/* no profile: the gateway as an unrestricted NAT (nat.c) */
		ps = policyset_own(nat_profile(), "nat");
		snprintf(err, sizeof(err), "add: out of memory");
		o.nat = 1;
	} else {
		ps = policyset_load(path, ctlmsg_str(m, "profile"), err,
				    sizeof(err));
	}
	if (!ps) {
		answer_error(b, err);
		goto fail;
	}
	o.profile = ps->prof;
	o.profile_name = ps->name;
	o.profile_path = ps->path;
	o.secrets = ps->secrets;
	/* gw_add() takes the descriptor and the set, even when it fails */
	g = gw_add(dm->d, id, fd, &o, ps, err, sizeof(err));
	if (!g) {
		answer_error(b, err);
		return;
	}
	sandbox_event(g, "add");
	info("sandbox %s added: profile '%s'", id, g->profile_name);
	cb_lit(b, "{\"ok\":true,\"sandbox\":");
	sandbox_json(b, g, 0);
	cb_lit(b, "}");
	return;
fail:
	if (fd >= 0)
		close(fd);
}

static void do_reload(struct daemon *dm, const struct ctlmsg *m,
		      struct ctlbuf *b)
{
	const char *id = ctlmsg_str(m, "id");
	struct gw *g;
	char err[4096];
	int nerr = 0, first = 1;
	struct ctlbuf errs = { 0 };

	if (id && !gw_find(dm->d, id)) {
		answer_error(b, "reload: no such sandbox");
		return;
	}
	for (g = dm->d->sandboxes; g; g = g->next) {
		if (id && strcmp(g->id, id))
			continue;
		if (gw_reload_logged(g, err, sizeof(err)) < 0) {
			cb_raw(&errs, first ? "" : ",", first ? 0 : 1);
			first = 0;
			cb_lit(&errs, "{\"id\":");
			cb_jstr(&errs, g->id);
			cb_lit(&errs, ",\"error\":");
			cb_jstr(&errs, err);
			cb_lit(&errs, "}");
			nerr++;
		}
	}
	cb_printf(b, "{\"ok\":%s,\"errors\":[", nerr ? "false" : "true");
	if (errs.p)
		cb_raw(b, errs.p, errs.len);
	cb_lit(b, "]");
	if (nerr)
		cb_printf(b, ",\"error\":\"%d profile(s) failed to reload; the "
			  "old ones stay in force\"", nerr);
	cb_lit(b, "}");
	cb_free(&errs);
}

static void ctl_request(struct daemon *dm, struct ctlconn *c, const char *line,
			size_t len)
{
	struct ctlmsg *m = malloc(sizeof(*m));
	struct ctlbuf b = { 0 };
	const char *cmd, *id;
	char err[256];
	struct gw *g;

	if (!m) {
		answer_error(&b, "out of memory");
		goto out;
	}
	if (ctlmsg_parse(line, len, m, err, sizeof(err)) < 0) {
		answer_error(&b, err);
		goto out;
	}
	cmd = ctlmsg_str(m, "cmd");
	id = ctlmsg_str(m, "id");
	if (!cmd) {
		answer_error(&b, "no \"cmd\"");
	} else if (!strcmp(cmd, "add")) {
		do_add(dm, c, m, &b);
	} else if (!strcmp(cmd, "remove")) {
		g = id ? gw_find(dm->d, id) : NULL;
		if (!g || g->removing) {
			answer_error(&b, "remove: no such sandbox");
		} else {
			sandbox_event(g, "remove");
			g->removing = 1; /* at the end of this turn */
			info("sandbox %s removed", g->id);
			cb_lit(&b, "{\"ok\":true}");
		}
	} else if (!strcmp(cmd, "list")) {
		int first = 1;

		cb_lit(&b, "{\"ok\":true,\"sandboxes\":[");
		for (g = dm->d->sandboxes; g; g = g->next) {
			if (g->removing)
				continue;
			if (!first)
				cb_lit(&b, ",");
			first = 0;
			sandbox_json(&b, g, 0);
		}
		cb_lit(&b, "]}");
	} else if (!strcmp(cmd, "stats")) {
		g = id ? gw_find(dm->d, id) : NULL;
		if (!g) {
			answer_error(&b, "stats: no such sandbox");
		} else {
			cb_lit(&b, "{\"ok\":true,\"sandbox\":");
			sandbox_json(&b, g, 1);
			cb_lit(&b, "}");
		}
	} else if (!strcmp(cmd, "reload")) {
		do_reload(dm, m, &b);
	} else if (!strcmp(cmd, "metrics")) {
		struct ctlbuf t = { 0 };

		metrics_text(dm, &t);
		cb_lit(&b, "{\"ok\":true,\"metrics\":");
		cb_jstr(&b, t.p ? t.p : "");
		cb_lit(&b, "}");
		cb_free(&t);
	} else {
		answer_error(&b, "unknown \"cmd\" (add, remove, list, stats, "
			     "reload, metrics)");
	}
out:
	free(m);
	if (b.oom) {
		cb_free(&b);
		answer_error(&b, "out of memory");
	}
	cb_lit(&b, "\n");
	cb_raw(&c->h.out, b.p ? b.p : "", b.len);
	cb_free(&b);
}

static void ctl_close(struct ctlconn *c)
{
	c->h.closing = 1;
}

/* Send what is queued.  Return: 0 (all of it), 1 (the socket is full:
 * the rest later), -1 (failed) */
static int dconn_send(struct dconn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 1 : -1;
		c->out_off += (size_t)n;
	}
	return 0;
}

static void ctl_flush(struct daemon *dm, struct ctlconn *c)
{
	if (dconn_send(&c->h) < 0) {
		ctl_close(c);
		return;
	}
	if (c->h.out_off == c->h.out.len) {
		c->h.out.len = c->h.out_off = 0;
		if (c->registered_out) {
			struct epoll_event ev = { .events = EPOLLIN,
						  .data.ptr = c };

			epoll_ctl(dm->d->epfd, EPOLL_CTL_MOD, c->h.fd, &ev);
			c->registered_out = 0;
		}
	} else if (!c->registered_out) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
					  .data.ptr = c };

		epoll_ctl(dm->d->epfd, EPOLL_CTL_MOD, c->h.fd, &ev);
		c->registered_out = 1;
	}
}

static void ctl_input(struct daemon *dm, struct ctlconn *c)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *h;
	ssize_t n;
	char *nl;

	if (c->in_len >= sizeof(c->in) - 1) {
		/* a line longer than any request: the peer is confused */
		ctl_close(c);
		return;
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = c->in + c->in_len;
	iov.iov_len = sizeof(c->in) - 1 - c->in_len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	n = recvmsg(c->h.fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
			size_t k, nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[4];

			if (nfd > 4)
				nfd = 4;
			memcpy(fds, CMSG_DATA(h), nfd * sizeof(int));
			for (k = 0; k < nfd; k++) {
				/* one descriptor per request: keep the
				 * latest, close any other */
				if (c->pending_fd >= 0)
					close(c->pending_fd);
				c->pending_fd = fds[k];
			}
		}
	}
	if (n <= 0) {
		ctl_close(c);
		return;
	}
	c->in_len += (size_t)n;
	while ((nl = memchr(c->in, '\n', c->in_len))) {
		size_t len = (size_t)(nl - c->in);

		ctl_request(dm, c, c->in, len);
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
		/* an unused descriptor does not carry over to the next one */
		if (c->pending_fd >= 0) {
			close(c->pending_fd);
			c->pending_fd = -1;
		}
	}
	ctl_flush(dm, c);
}

/*
 * A client of the control or metrics socket: @size bytes, zeroed, its
 * struct epref (first) of @type, @fd watched for input.  Return: it, or
 * NULL (@fd closed) if @full or out of memory.
 */
static void *conn_new(struct daemon *dm, int fd, int full, size_t size,
		      enum ref_type type)
{
	struct epref *r = full ? NULL : calloc(1, size);

	if (!r) {
		close(fd);
		return NULL;
	}
	r->type = type;
	if (epoll_ctl(dm->d->epfd, EPOLL_CTL_ADD, fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = r }) < 0) {
		close(fd);
		free(r);
		return NULL;
	}
	return r;
}

static void ctl_refuse(struct daemon *dm, int fd, const char *why,
		       const struct ucred *cr)
{
	char msg[256];
	int len;

	len = snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"control "
		       "socket refused: %s\"}\n", why);
	if (len > 0 && send(fd, msg, (size_t)len < sizeof(msg) ? (size_t)len :
			    sizeof(msg) - 1, MSG_NOSIGNAL) < 0)
		(void)0;
	dm->ctl_refused++;
	warn("control socket: refused a peer (pid %d, uid %u): %s",
	     (int)cr->pid, (unsigned)cr->uid, why);
	close(fd);
}

static void ctl_accept(struct daemon *dm)
{
	for (;;) {
		int fd = accept4(dm->ctl_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		struct ctlconn *c;
		const char *why;

		if (fd < 0)
			return;
		memset(&cr, 0, sizeof(cr));
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
		    (cr.uid != 0 && cr.uid != geteuid())) {
			ctl_refuse(dm, fd, "only the daemon's owner may use its "
				   "control socket", &cr);
			continue;
		}
		why = peer_outside_sandboxes(fd, &cr);
		if (why) {
			ctl_refuse(dm, fd, why, &cr);
			continue;
		}
		c = conn_new(dm, fd, dm->nconns >= CTL_MAX_CONNS, sizeof(*c),
			     REF_CTL_CONN);
		if (!c)
			continue;
		c->dm = dm;
		c->h.fd = fd;
		c->pending_fd = -1;
		c->h.next = dm->conns;
		dm->conns = &c->h;
		dm->nconns++;
	}
}

/* ------------------------------------------------------------------ */
/* The metrics endpoint: GET /metrics over HTTP/1.x, one per connection */

static void m_flush(struct daemon *dm, struct mconn *c)
{
	if (dconn_send(&c->h) == 1) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

		epoll_ctl(dm->d->epfd, EPOLL_CTL_MOD, c->h.fd, &ev);
		return;
	}
	c->h.closing = 1;
}

static void m_input(struct daemon *dm, struct mconn *c)
{
	ssize_t n;
	struct ctlbuf body = { 0 };
	const char *status = "200 OK";

	if (c->answered) {
		m_flush(dm, c);
		return;
	}
	n = recv(c->h.fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->h.closing = 1;
		return;
	}
	c->in_len += (size_t)n;
	c->in[c->in_len] = '\0';
	if (!strstr(c->in, "\r\n\r\n") && !strstr(c->in, "\n\n")) {
		if (c->in_len >= sizeof(c->in) - 1)
			c->h.closing = 1;
		return;
	}
	if (!strncmp(c->in, "GET /metrics ", 13) ||
	    !strncmp(c->in, "GET /metrics?", 13)) {
		metrics_text(dm, &body);
	} else {
		status = "404 Not Found";
		cb_lit(&body, "GET /metrics\n");
	}
	cb_printf(&c->h.out, "HTTP/1.1 %s\r\nContent-Type: text/plain; "
		  "version=0.0.4; charset=utf-8\r\nContent-Length: %zu\r\n"
		  "Connection: close\r\n\r\n", status, body.len);
	if (body.p)
		cb_raw(&c->h.out, body.p, body.len);
	cb_free(&body);
	c->answered = 1;
	m_flush(dm, c);
}

static void m_accept(struct daemon *dm)
{
	for (;;) {
		int fd = accept4(dm->metrics_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mconn *c;

		if (fd < 0)
			return;
		c = conn_new(dm, fd, dm->nmconns >= METRICS_MAX_CONNS, sizeof(*c),
			     REF_METRICS_CONN);
		if (!c)
			continue;
		c->h.fd = fd;
		c->t_start = now_ms();
		c->h.next = dm->mconns;
		dm->mconns = &c->h;
		dm->nmconns++;
	}
}

/* The loop's handler for the control and metrics sockets. */
static void daemon_event(struct gwd *d, struct epref *r, uint32_t events)
{
	struct daemon *dm = d->dm;

	if (!dm)
		return;
	switch (r->type) {
	case REF_CTL_LISTEN:
		ctl_accept(dm);
		break;
	case REF_CTL_CONN: {
		struct ctlconn *c = (struct ctlconn *)r;

		if (c->h.closing)
			break;
		if (events & EPOLLOUT)
			ctl_flush(dm, c);
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			ctl_input(dm, c);
		break;
	}
	case REF_METRICS_LISTEN:
		m_accept(dm);
		break;
	case REF_METRICS_CONN: {
		struct mconn *c = (struct mconn *)r;

		if (!c->h.closing)
			m_input(dm, c);
		break;
	}
	default:
		break;
	}
}

/* Free the clients on the list @pp that are closing; @n counts them. */
static void dconn_reap(struct daemon *dm, struct dconn **pp, unsigned *n)
{
	struct dconn *c;

	while ((c = *pp)) {
		if (!c->closing) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		(*n)--;
		epoll_ctl(dm->d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		if (c->ref.type == REF_CTL_CONN &&
		    ((struct ctlconn *)c)->pending_fd >= 0)
			close(((struct ctlconn *)c)->pending_fd);
		cb_free(&c->out);
		free(c);
	}
}

/* End of a loop turn: what was closed or removed during it goes now. */
static void daemon_reap(struct daemon *dm)
{
	struct gw *g, *next;
	struct dconn *c;
	uint64_t now = now_ms();

	for (g = dm->d->sandboxes; g; g = next) {
		next = g->next;
		if (g->removing)
			gw_remove(g);
	}
	/* a scraper gets 10 s to send its request and read */
	for (c = dm->mconns; c; c = c->next)
		if (!c->closing && now - ((struct mconn *)c)->t_start > 10000)
			c->closing = 1;
	dconn_reap(dm, &dm->conns, &dm->nconns);
	dconn_reap(dm, &dm->mconns, &dm->nmconns);
}

/* ------------------------------------------------------------------ */
/* Start-up                                                            */

static int ctl_listen(struct daemon *dm, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		err("--control: path too long");
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			err("--control: %s exists and is not a socket", path);
			return -1;
		}
		/* a live daemon answers: do not steal its socket */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 &&
		    connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			err("--control: a daemon is already serving %s", path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	dm->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (dm->ctl_fd < 0) {
		err("--control: %s", strerror(errno));
		return -1;
	}
	/* created 0600 from the start: no window in which others connect */
	old = umask(0177);
	if (bind(dm->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		err("--control %s: %s", path, strerror(errno));
		return -1;
	}
	umask(old);
	if (chmod(path, 0600) < 0 || listen(dm->ctl_fd, 16) < 0) {
		err("--control %s: %s", path, strerror(errno));
		return -1;
	}
	dm->ctl_path = path;
	return 0;
}

static int metrics_listen(struct daemon *dm, const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	if (sockaddr_parse(spec, 0, &ss, &sl) < 0) {
		err("--metrics-listen: '%s' is not ADDR:PORT ([ADDR]:PORT for "
		    "IPv6)", spec);
		return -1;
	}
	dm->metrics_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);
	if (dm->metrics_fd < 0 ||
	    setsockopt(dm->metrics_fd, SOL_SOCKET, SO_REUSEADDR, &one,
		       sizeof(one)) < 0 ||
	    bind(dm->metrics_fd, (struct sockaddr *)&ss, sl) < 0 ||
	    listen(dm->metrics_fd, 16) < 0) {
		err("--metrics-listen %s: %s", spec, strerror(errno));
		return -1;
	}
	return 0;
}

int daemon_serve(const struct run_opts *defaults, const char *control,
		 const char *metrics, struct supervisor *sv)
{
	struct daemon dm;
	struct gwd d;
	uint64_t sv_check_at = 0;
	int rc = -1;

	memset(&dm, 0, sizeof(dm));
	dm.ctl_fd = dm.metrics_fd = -1;
	dm.defaults = *defaults;
	dm.t_start = now_ms();
	/* a control peer must share our namespaces (peercheck.h) */
	if (peer_check_init() < 0)
		return -1;
	if (gwd_init(&d, sv) < 0)
		goto out;
	dm.d = &d;
	d.dm = &dm;
	if (ctl_listen(&dm, control) < 0)
		goto out;
	if (metrics && metrics_listen(&dm, metrics) < 0)
		goto out;
	/* the CA is opened (or made: files written) now, while the process
	 * may still write where it likes; sandboxes share it */
	{
		char err[512];

		if (gwd_open_ca(&d, defaults->ca_dir, err, sizeof(err)) < 0)
			warn("the islo-net CA is not available, so profiles "
			     "that intercept TLS cannot be served: %s", err);
	}
	dm.ctl_ref.type = REF_CTL_LISTEN;
	dm.metrics_ref.type = REF_METRICS_LISTEN;
	loop_handle(&d, REF_CTL_LISTEN, daemon_event);
	loop_handle(&d, REF_CTL_CONN, daemon_event);
	loop_handle(&d, REF_METRICS_LISTEN, daemon_event);
	loop_handle(&d, REF_METRICS_CONN, daemon_event);
	{
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = &dm.ctl_ref };

		epoll_ctl(d.epfd, EPOLL_CTL_ADD, dm.ctl_fd, &ev);
		if (dm.metrics_fd >= 0) {
			ev.data.ptr = &dm.metrics_ref;
			epoll_ctl(d.epfd, EPOLL_CTL_ADD, dm.metrics_fd, &ev);
		}
	}
	/* sandboxes added later bring secrets: non-dumpable from now on,
	 * while prctl() is still allowed */
	secrets_no_core();
	if (isolate_serving_daemon() < 0)
		goto out;
	info("serving; control socket %s", control);
	rc = 0;
	while (!sv->done) {
		if (gwd_run_once(&d, 100) < 0) {
			rc = -1;
			break;
		}
		daemon_reap(&dm);
		/* signals arrive through the loop; this is only the kill
		 * deadline's check (as in gw_serve()): not a read of the
		 * signalfd every turn */
		if (!sv->done && now_ms() >= sv_check_at) {
			supervisor_handle(sv);
			sv_check_at = now_ms() + 100;
		}
	}
out:
	while (dm.conns) {
		dm.conns->closing = 1;
		daemon_reap(&dm);
	}
	while (dm.mconns) {
		dm.mconns->closing = 1;
		daemon_reap(&dm);
	}
	if (dm.d)
		gwd_fini(&d);
	if (dm.ctl_fd >= 0) {
		close(dm.ctl_fd);
		if (dm.ctl_path)
			unlink(dm.ctl_path);
	}
	if (dm.metrics_fd >= 0)
		close(dm.metrics_fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The client side: `islo-net ctl`                                     */

int ctl_call(const char *control, const char *req, int fd, char **answer)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct ctlbuf in = { 0 };
	struct msghdr msg;
	struct iovec iov[2];
	int s, send_errno = 0;

	*answer = NULL;
	if (strlen(control) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "islo-net ctl: --control path too long\n");
		return -1;
	}
	memcpy(sa.sun_path, control, strlen(control) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "islo-net ctl: cannot reach the daemon at %s: "
			"%s\n", control, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	iov[0].iov_base = (void *)req;
	iov[0].iov_len = strlen(req);
	iov[1].iov_base = (void *)"\n";
	iov[1].iov_len = 1;
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &fd, sizeof(int));
	}
	/* a daemon that turns us away has answered and closed already:
	 * read its answer even when the send fails */
	if (sendmsg(s, &msg, MSG_NOSIGNAL) != (ssize_t)(iov[0].iov_len + 1))
		send_errno = errno;
	for (;;) {
		char buf[4096];
		ssize_t n = recv(s, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		cb_raw(&in, buf, (size_t)n);
		if (in.oom || memchr(buf, '\n', (size_t)n))
			break;
	}
	close(s);
	if (in.oom || !in.len || in.p[in.len - 1] != '\n') {
		if (send_errno)
			fprintf(stderr, "islo-net ctl: send: %s\n",
				strerror(send_errno));
		else
			fprintf(stderr, "islo-net ctl: no answer from the daemon\n");
		cb_free(&in);
		return -1;
	}
	(void)send_errno;
	in.p[--in.len] = '\0';
	*answer = in.p;
	return 0;
}
