// SPDX-License-Identifier: MIT
/*
 * fuzz_proxy.c - libFuzzer target: the intercepting proxy's state machine
 * (proxy.c) on a plain-HTTP flow, driven from both ends at once: bytes
 * and EOF from the sandbox, bytes and EOF from upstream, in any order.
 * Request heads are decided (Host, methods, paths, rate), rewritten (the
 * credential injected, a placeholder swapped or refused), bodies framed,
 * responses passed back, 101 tunnels, refusals answered.
 *
 * No network: the flow has no lwIP pcb, so what proxy.c would hand lwIP
 * for the sandbox is taken from the S side's output door directly (this
 * file includes proxy.c for that, as wireguard-tools' fuzzers include
 * their unit); upstream is one end of a socketpair whose other end this
 * file writes and drains.  The TLS sides are BearSSL's engines around the
 * same state machine, and are not fuzzed here.
 *
 * Input: operations, each a header byte (low 2 bits: 0 sandbox bytes,
 * 1 upstream bytes, 2 sandbox EOF, 3 upstream EOF) and, for bytes, a
 * 2-byte big-endian length and the bytes.  The placeholder of the rule's
 * secret is "islo_ph_" followed by 32 zeros.
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
static int trace;   /* FUZZ_PROXY_TRACE=1: show both directions (seeds) */

static void setup(void)
{
	static struct run_opts o;
	static struct supervisor sv;
	char err[512];
	size_t i;
	int tap = open("/dev/null", O_RDWR | O_CLOEXEC);

	log_verbosity = -1;
	signal(SIGPIPE, SIG_IGN);  /* as islo-net does (supervisor.c) */
	trace = getenv("FUZZ_PROXY_TRACE") != NULL;
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
			fprintf(stderr, "to sandbox: %.*s\n", (int)len, (char *)p);
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
			fprintf(stderr, "to upstream: %.*s\n", (int)n, (char *)b);
}

static int has(const uint8_t *p, size_t n, const char *pat)
{
	return memmem(p, n, pat, strlen(pat)) != NULL;
}

/*
 * Scrub mode (first byte 0x80 and up): the response scrubber alone
 * (scrub_body()), on a body of any bytes cut anywhere into payload and
 * chunked-framing runs.  What reaches the sandbox must have the input's
 * length, its framing bytes unchanged, no secret in its payload (read as
 * one stream), and no change outside the occurrences the input had.
 * Input after the first byte: runs, each a byte (bit 0: payload; bit 1:
 * the body ends here), a length byte, and the bytes.
 */
static void scrub_mode(const uint8_t *data, size_t size)
{
	static const char *const pats[2] = { "fuzz-secret-value",
					     "cm9ib3Q6b3RoZXItc2VjcmV0" };
	static uint8_t in[65536], inpay[65536], out[65536], q[SCRUB_HOLD + 512];
	static uint8_t isp[65536], cover[65536];
	struct flow *f = calloc(1, sizeof(*f));
	struct proxy *px = calloc(1, sizeof(*px));
	size_t off = 1, nin = 0, nout = 0, npay = 0, framing = 0, i, j, k;
	int end = 0;

	if (!f || !px)
		abort();
	f->g = g;
	f->ps = policyset_ref(g->ps);
	px->f = f;
	px->scr = calloc(1, sizeof(*px->scr));
	if (!px->scr)
		abort();
	for (k = 0; k < 2; k++) {
		px->scr->pat[k] = (const uint8_t *)pats[k];
		px->scr->pat_len[k] = strlen(pats[k]);
		px->scr->to[k] = "islo_ph_00000000000000000000000000000000";
	}
	px->scr->npat = 2;
	while (!end && off + 2 <= size) {
		int payload = data[off] & 1;
		size_t n = data[off + 1] % 200;

		end = (data[off] & 2) != 0;
		off += 2;
		if (n > size - off)
			n = size - off;
		if (!payload && (framing += n) > SCRUB_HOLD / 2)
			break;   /* beyond what is held by design */
		memcpy(in + nin, data + off, n);
		memset(isp + nin, payload, n);
		nin += n;
		k = scrub_body(px, q, data + off, n, payload, end);
		memcpy(out + nout, q, k);
		nout += k;
		off += n;
	}
	if (!end) {
		k = scrub_body(px, q, NULL, 0, 1, 1);
		memcpy(out + nout, q, k);
		nout += k;
	}
	if (nout != nin)
		abort();
	/* where the input's payload had an occurrence, any byte may change */
	memset(cover, 0, nin);
	for (i = 0; i < nin; i++)
		if (isp[i])
			inpay[npay++] = in[i];
	for (k = 0; k < 2; k++) {
		size_t pl = strlen(pats[k]);

		for (i = 0; i + pl <= npay; i++)
			if (!memcmp(inpay + i, pats[k], pl))
				for (j = 0; j < pl; j++)
					cover[i + j] = 1;
	}
	for (i = 0, j = 0; i < nin; i++) {
		if (!isp[i]) {
			if (out[i] != in[i])
				abort();   /* framing changed */
			continue;
		}
		if (out[i] != in[i] && !cover[j])
			abort();           /* a byte changed outside an occurrence */
		inpay[j++] = out[i];
	}
	if (has(inpay, npay, pats[0]) || has(inpay, npay, pats[1]))
		abort();                   /* a secret got through */
	scrub_end(px);
	policyset_unref(f->ps);
	free(px);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow *f;
	size_t off = 0;
	int sp[2];

	if (!g)
		setup();
	if (size && data[0] >= 0x80) {
		scrub_mode(data, size);
		return 0;
	}
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
