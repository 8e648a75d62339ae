// SPDX-License-Identifier: MIT
/*
 * fuzz_h2.c - libFuzzer target: HTTP/2 interception (h2proxy.c, h2req.c)
 * driven from both ends at once: frames from the sandbox (its client
 * session) and from upstream (its server session), in any order, through
 * the same pump as fuzz_proxy (this file includes proxy.c for its static
 * doors).  The flow is plain (no TLS), marked as having chosen h2 both
 * ways, so every byte goes to the two nghttp2 sessions: request streams
 * decided, refused or sent upstream with the credential, responses,
 * trailers and bodies scrubbed back, resets, GOAWAYs, floods.
 *
 * Input: as fuzz_proxy's (a host selector byte, then operations: 0
 * sandbox bytes, 1 upstream bytes, 2 sandbox EOF, 3 upstream EOF; bytes
 * behind a 2-byte big-endian length).  Seeds: fuzz/gen_h2_seeds.py.
 * Checked: no crash, no leak, no undefined behaviour (the sanitizers).
 * (Not whether the secret reaches the sandbox: a fuzzed upstream may
 * send those bytes to a request that carried none, which is no leak;
 * tests/e2e/test_http2.py checks the scrubbing.)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.c"  /* the unit under test, with its static doors */

#include "policy.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char profile_text[] =
	"name: fuzz\n"
	"rules:\n"
	"  - name: no-delete\n"
	"    priority: 10\n"
	"    host_pattern: api.example\n"
	"    ports: [80]\n"
	"    path_pattern: /ok/private*\n"
	"    methods: [DELETE, POST]\n"
	"    action: deny\n"
	"  - name: api\n"
	"    host_pattern: api.example\n"
	"    ports: [80]\n"
	"    path_pattern: [/ok*, /up]\n"
	"    methods: [GET, POST, HEAD]\n"
	"    rate_limit_rpm: 100000\n"
	"    allow_plaintext: true\n"
	"    auth_strategy:\n"
	"      mode: bearer\n"
	"      secret: env:ISLO_FUZZ_TOKEN\n"
	"      placeholder_env: TOKEN\n"
	"  - name: other\n"
	"    host_pattern: other.example\n"
	"    ports: [80]\n"
	"    allow_plaintext: true\n"
	"    auth_strategy:\n"
	"      mode: basic\n"
	"      username: robot\n"
	"      secret: env:ISLO_FUZZ_OTHER\n";

static struct gw *g;
static struct secrets secrets;
static int trace;   /* FUZZ_H2_TRACE=1: show both directions */

static void setup(void)
{
	static struct run_opts o;
	static struct supervisor sv;
	char err[512];
	size_t i;
	int tap = open("/dev/null", O_RDWR | O_CLOEXEC);

	log_verbosity = -1;
	signal(SIGPIPE, SIG_IGN);  /* as islo-net does (supervisor.c) */
	trace = getenv("FUZZ_H2_TRACE") != NULL;
	setenv("ISLO_FUZZ_TOKEN", "fuzz-secret-value", 1);
	setenv("ISLO_FUZZ_OTHER", "other-secret", 1);
	o.mtu = ISLO_MTU_DEFAULT;
	o.profile_name = "fuzz";
	o.dns_upstream = "127.0.0.1:9";
	o.profile = profile_parse(profile_text, sizeof(profile_text) - 1,
				  "fuzz.yaml", err, sizeof(err));
	if (!o.profile ||
	    secrets_load_profile(&secrets, o.profile, err, sizeof(err)) < 0)
		abort();
	for (i = 0; i < secrets.n; i++)
		snprintf(secrets.s[i].placeholder, sizeof(secrets.s[i].placeholder),
			 "islo_ph_%032zu", i);
	o.secrets = &secrets;
	sv.sigfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sv.child = -1;
	if (tap < 0 || sv.sigfd < 0)
		abort();
	g = gw_test_new(tap, &o, &sv);
	if (!g)
		abort();
}

/* What the proxy sends the sandbox: taken, as lwIP would take it. */
static void drain_sandbox(struct proxy *px)
{
	size_t len;
	uint8_t *p;
	int i;

	for (i = 0; i < 64 && (p = px_rec_out(&px->s, &len)) && len; i++) {
		if (trace)
			fprintf(stderr, "to sandbox: %zu bytes\n", len);
		px_rec_out_ack(&px->s, len);
	}
}

/* What the proxy sends upstream: read from the socketpair's far end. */
static void drain_upstream(int peer)
{
	uint8_t b[65536];
	ssize_t n;

	while ((n = read(peer, b, sizeof(b))) > 0)
		if (trace)
			fprintf(stderr, "to upstream: %zd bytes\n", n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow *f;
	size_t off = 0;
	int sp[2];

	if (!g)
		setup();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sp) < 0)
		abort();
	f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->ref.type = REF_FLOW;
	f->g = g;
	f->ps = policyset_ref(g->ps);   /* as flow_syn() does */
	f->fd = sp[0];
	f->src.family = f->dst.family = AF_INET;
	f->dport = f->up_port = 80;
	f->named = 1;   /* a name flow; the third host below is an IP literal */
	f->state = FLOW_OPEN;
	f->t_start = now_ms();
	/* the first byte picks the host: the rule with paths, the other, none */
	{
		static const char *const hosts[] = { "api.example",
						     "other.example", "" };
		struct pf_query q = { .family = AF_INET, .port = 80,
				      .proto = PF_TCP };

		snprintf(f->host, sizeof(f->host), "%s",
			 hosts[size ? data[0] % 3 : 0]);
		f->named = f->host[0] != '\0';
		q.host = f->host[0] ? f->host : "api.example";
		policy_decide(f->ps->prof, &q, &f->dec);
		off = size ? 1 : 0;
	}
	if (proxy_start(f, 0) < 0)
		goto out;
	((struct proxy *)f->h)->h2 = 1;     /* as if ALPN chose h2 both ways */

	while (off < size && f->state == FLOW_OPEN && !f->close_pending) {
		uint8_t op = data[off++] & 3;
		size_t len = 0;

		if (op < 2) {
			if (size - off < 2)
				break;
			len = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
			if (len > size - off)
				len = size - off;
		}
		if (op == 0 && len && !f->sandbox_eof) {
			struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);

			if (p) {
				pbuf_take(p, data + off, (u16_t)len);
				if (f->to_host)
					pbuf_cat(f->to_host, p);
				else
					f->to_host = p;
			}
		} else if (op == 1 && len) {
			if (write(sp[1], data + off, len) < 0)
				(void)0;  /* full: upstream waits, as a socket would */
		} else if (op == 2) {
			f->sandbox_eof = 1;
		} else if (op == 3) {
			shutdown(sp[1], SHUT_WR);
		}
		off += len;
		proxy_pump(f);
		drain_sandbox(f->h);
		drain_upstream(sp[1]);
		proxy_pump(f);
		drain_sandbox(f->h);
		drain_upstream(sp[1]);
	}
out:
	flow_want_events(f, 0);
	proxy_free(f->h);
	if (f->to_host)
		pbuf_free(f->to_host);
	close(sp[0]);
	close(sp[1]);
	policyset_unref(f->ps);
	free(f);
	return 0;
}
