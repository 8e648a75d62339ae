// SPDX-License-Identifier: MIT
/*
 * test_tlsbuf.c - the contract tlsbuf.c relies on, against the BearSSL
 * this is built with: a client and a server engine talking in memory may
 * lose their record buffers while idle and carry on with other buffers
 * (full of garbage) as if nothing happened; what the buffers held is
 * wiped when they are taken away; an engine with a record in flight, a
 * partial header or unread data is never idle.
 */
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "ca.h"
#include "tlsbuf.h"
#include "trust.h"
#include "unit.h"

struct pair {
	br_ssl_server_context sc;
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	struct tlsbuf st, ct;
};

/* Move records between the two engines until nothing moves. */
static void shuttle(struct pair *p)
{
	br_ssl_engine_context *e[2] = { &p->cc.eng, &p->sc.eng };
	struct tlsbuf *t[2] = { &p->ct, &p->st };
	int moved, i;

	do {
		moved = 0;
		for (i = 0; i < 2; i++) {
			size_t olen, ilen, n;
			uint8_t *o = br_ssl_engine_sendrec_buf(e[i], &olen);
			uint8_t *in;

			if (!o || !olen)
				continue;
			tlsbuf_wrote_out(t[i], o, olen);
			in = br_ssl_engine_recvrec_buf(e[!i], &ilen);
			if (!in || !ilen)
				continue;
			n = olen < ilen ? olen : ilen;
			memcpy(in, o, n);
			tlsbuf_wrote_in(t[!i], in, n);
			br_ssl_engine_recvrec_ack(e[!i], n);
			br_ssl_engine_sendrec_ack(e[i], n);
			moved = 1;
		}
	} while (moved);
}

/* Write @len bytes of @data into @from, deliver them, read them from @to. */
static int carry(struct pair *p, br_ssl_engine_context *from, struct tlsbuf *ft,
		 br_ssl_engine_context *to, const uint8_t *data, size_t len,
		 uint8_t *got)
{
	size_t sent = 0, recv = 0;
	int rounds = 0;

	while (recv < len && rounds++ < 1000) {
		size_t room, n;
		uint8_t *w = br_ssl_engine_sendapp_buf(from, &room);
		uint8_t *r;

		if (sent < len && w && room) {
			n = len - sent < room ? len - sent : room;
			memcpy(w, data + sent, n);
			tlsbuf_wrote_out(ft, w, n);
			br_ssl_engine_sendapp_ack(from, n);
			br_ssl_engine_flush(from, 0);
			sent += n;
		}
		shuttle(p);
		r = br_ssl_engine_recvapp_buf(to, &n);
		if (r && n) {
			memcpy(got + recv, r, n);
			br_ssl_engine_recvapp_ack(to, n);
			recv += n;
		}
	}
	return recv == len && !memcmp(got, data, len) ? 0 : -1;
}

static int all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

TEST(tlsbuf_detach_and_attach_other_buffers)
{
	char dir[] = "/tmp/islo-tlsbuf-test.XXXXXX", err[256];
	const br_x509_certificate *chain;
	const br_ec_private_key *sk;
	const unsigned char *der;
	struct trust tr = { 0 };
	struct pair *p = calloc(1, sizeof(*p));
	uint8_t *s1 = calloc(1, TLSBUF_SIZE), *c1 = calloc(1, TLSBUF_SIZE);
	uint8_t *s2 = malloc(TLSBUF_SIZE), *c2 = malloc(TLSBUF_SIZE);
	uint8_t *big = malloc(40000), *got = malloc(40000), *io;
	size_t n, len, i;
	struct ca *ca;

	REQUIRE(p && s1 && c1 && s2 && c2 && big && got && mkdtemp(dir));
	ca = ca_open(dir, err, sizeof(err));
	REQUIRE(ca);
	REQUIRE(ca_leaf(ca, "tls.example", &chain, &n, &sk) == 0);
	der = ca_cert_der(ca, &len);
	REQUIRE(trust_add_der(&tr, der, len) == 1);

	br_ssl_server_init_full_ec(&p->sc, chain, n, BR_KEYTYPE_EC, sk);
	br_ssl_engine_add_flags(&p->sc.eng, BR_OPT_NO_RENEGOTIATION);
	tlsbuf_init(&p->sc.eng, &p->st, s1);
	REQUIRE(br_ssl_server_reset(&p->sc));
	br_ssl_client_init_full(&p->cc, &p->xc, tr.ta, tr.n);
	br_ssl_engine_add_flags(&p->cc.eng, BR_OPT_NO_RENEGOTIATION);
	tlsbuf_init(&p->cc.eng, &p->ct, c1);
	REQUIRE(br_ssl_client_reset(&p->cc, "tls.example", 0));

	/* mid-handshake nothing is idle */
	CHECK(!tlsbuf_idle(&p->cc.eng, &p->ct));
	shuttle(p);
	REQUIRE(br_ssl_engine_current_state(&p->cc.eng) & BR_SSL_SENDAPP);
	REQUIRE(br_ssl_engine_current_state(&p->sc.eng) & BR_SSL_SENDAPP);

	for (i = 0; i < 40000; i++)
		big[i] = (uint8_t)(i * 7 + 1);
	CHECK(carry(p, &p->cc.eng, &p->ct, &p->sc.eng, (const uint8_t *)"hello", 5, got) == 0);
	CHECK(carry(p, &p->sc.eng, &p->st, &p->cc.eng, (const uint8_t *)"world", 5, got) == 0);

	/* a record written but not delivered: the writer is not idle, nor is
	 * the reader with a partial header, nor with data unread */
	{
		uint8_t *w = br_ssl_engine_sendapp_buf(&p->cc.eng, &n);
		uint8_t *o, *in;

		REQUIRE(w && n >= 3);
		memcpy(w, "abc", 3);
		tlsbuf_wrote_out(&p->ct, w, 3);
		br_ssl_engine_sendapp_ack(&p->cc.eng, 3);
		br_ssl_engine_flush(&p->cc.eng, 0);
		CHECK(!tlsbuf_idle(&p->cc.eng, &p->ct));
		o = br_ssl_engine_sendrec_buf(&p->cc.eng, &n);
		in = br_ssl_engine_recvrec_buf(&p->sc.eng, &len);
		REQUIRE(o && in && n > 3 && len >= 3);
		memcpy(in, o, 3);
		tlsbuf_wrote_in(&p->st, in, 3);
		br_ssl_engine_recvrec_ack(&p->sc.eng, 3);
		br_ssl_engine_sendrec_ack(&p->cc.eng, 3);
		CHECK(!tlsbuf_idle(&p->sc.eng, &p->st));
		shuttle(p);
		CHECK(tlsbuf_idle(&p->cc.eng, &p->ct));
		CHECK(!tlsbuf_idle(&p->sc.eng, &p->st)); /* "abc" unread */
		in = br_ssl_engine_recvapp_buf(&p->sc.eng, &n);
		CHECK(in && n == 3 && !memcmp(in, "abc", 3));
		br_ssl_engine_recvapp_ack(&p->sc.eng, n);
	}

	/* idle both: detach (wiped), attach other buffers full of garbage */
	REQUIRE(tlsbuf_idle(&p->cc.eng, &p->ct));
	REQUIRE(tlsbuf_idle(&p->sc.eng, &p->st));
	io = tlsbuf_detach(&p->cc.eng, &p->ct);
	CHECK(io == c1 && !p->ct.io);
	CHECK(all_zero(c1, TLSBUF_SIZE));
	io = tlsbuf_detach(&p->sc.eng, &p->st);
	CHECK(io == s1 && all_zero(s1, TLSBUF_SIZE));
	CHECK(!tlsbuf_idle(&p->sc.eng, &p->st));
	memset(c2, 0xa5, TLSBUF_SIZE);
	memset(s2, 0x5a, TLSBUF_SIZE);
	tlsbuf_attach(&p->cc.eng, &p->ct, s2); /* swapped on purpose */
	tlsbuf_attach(&p->sc.eng, &p->st, c2);
	CHECK(carry(p, &p->cc.eng, &p->ct, &p->sc.eng, big, 40000, got) == 0);
	CHECK(carry(p, &p->sc.eng, &p->st, &p->cc.eng, big, 40000, got) == 0);

	/* and once more with the first buffers, now zero */
	REQUIRE(tlsbuf_idle(&p->cc.eng, &p->ct) && tlsbuf_idle(&p->sc.eng, &p->st));
	CHECK(tlsbuf_detach(&p->cc.eng, &p->ct) == s2);
	CHECK(tlsbuf_detach(&p->sc.eng, &p->st) == c2);
	tlsbuf_attach(&p->cc.eng, &p->ct, c1);
	tlsbuf_attach(&p->sc.eng, &p->st, s1);
	CHECK(carry(p, &p->sc.eng, &p->st, &p->cc.eng, (const uint8_t *)"again", 5, got) == 0);
	CHECK(br_ssl_engine_last_error(&p->cc.eng) == 0);
	CHECK(br_ssl_engine_last_error(&p->sc.eng) == 0);

	trust_free(&tr);
	ca_free(ca);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK(system(cmd) == 0);
	}
	free(p);
	free(s1);
	free(c1);
	free(s2);
	free(c2);
	free(big);
	free(got);
}
