// SPDX-License-Identifier: MIT
/*
 * tlsbuf.c - a BearSSL engine's record buffers, given back while it is
 * idle (proxy.c keeps thousands of mostly idle TLS connections).
 *
 * DOC: Theory of operation
 *
 * A BearSSL engine keeps two record buffers (about 16 KiB each, for one
 * maximal record in, one out) for its whole life; the engine itself is a
 * few KiB.  Between calls, it refers to them only by offsets (ixa..oxc in
 * BearSSL 0.6's engine context; the handshake code's pointers into them
 * are recomputed whenever it is entered), and when the engine is *idle*
 * none of those offsets covers a byte it still needs:
 *
 * - its handshake is done (application data may flow both ways), so no
 *   handshake message is half assembled;
 * - no record waits to be sent (sendrec is empty), and no application
 *   data waits in an open record (the caller flushes after each write);
 * - no decrypted byte waits to be read (recvapp is empty);
 * - it waits for the first byte of the next record header: the header
 *   will be written at the start of the input buffer.
 *
 * So the buffers may then be taken away (tlsbuf_detach(): the engine's
 * two buffer addresses set to NULL, its lengths untouched) and any buffer
 * of the same sizes handed back before the engine is called again
 * (tlsbuf_attach()).  This sets two fields of BearSSL's context that its
 * API sets only at initialisation; tests/unit/test_tlsbuf.c checks the
 * contract against the BearSSL this is built with: a handshake, data both
 * ways, detach, new buffers full of garbage, more data both ways.
 *
 * The buffers held plaintext (the upstream engine's, a request with an
 * injected credential), so what was written into them since they were
 * attached (the caller reports it: tlsbuf_wrote_in()/_out() on every
 * record or application byte it moves) is wiped before they go back.
 */
#include <string.h>

#include "tlsbuf.h"

/**
 * tlsbuf_init() - Give a new engine its buffers (before its reset)
 * @e:  Engine, initialised, not yet reset
 * @t:  Its tlsbuf
 * @io: TLSBUF_SIZE bytes
 */
void tlsbuf_init(br_ssl_engine_context *e, struct tlsbuf *t, uint8_t *io)
{
	br_ssl_engine_set_buffers_bidi(e, io, TLSBUF_IN, io + TLSBUF_IN,
				       TLSBUF_OUT);
	t->io = io;
	t->in_hwm = t->out_hwm = 0;
}

/**
 * tlsbuf_attach() - Hand a detached engine buffers again
 * @e:  Engine, detached (tlsbuf_detach())
 * @t:  Its tlsbuf
 * @io: TLSBUF_SIZE bytes, any contents
 */
void tlsbuf_attach(br_ssl_engine_context *e, struct tlsbuf *t, uint8_t *io)
{
	/* BearSSL 0.6's engine: where the buffers are; sizes unchanged */
	e->ibuf = io;
	e->obuf = io + TLSBUF_IN;
	t->io = io;
	t->in_hwm = t->out_hwm = 0;
}

/**
 * tlsbuf_idle() - Could the engine's buffers be taken away now?
 * @e: Engine, attached
 * @t: Its tlsbuf
 * Return: 1 if idle (see the theory above), 0 if not
 */
int tlsbuf_idle(br_ssl_engine_context *e, const struct tlsbuf *t)
{
	unsigned st;
	size_t len;

	if (!t->io)
		return 0;
	st = br_ssl_engine_current_state(e);
	if (st == BR_SSL_CLOSED || !(st & BR_SSL_SENDAPP))
		return 0; /* closed, handshake running, or records to send */
	if (br_ssl_engine_sendrec_buf(e, &len) && len)
		return 0;
	if (br_ssl_engine_recvapp_buf(e, &len) && len)
		return 0;
	return br_ssl_engine_recvrec_buf(e, &len) == t->io;
}

/* Wipe what was written into the buffers since they were attached. */
void tlsbuf_wipe(struct tlsbuf *t)
{
	if (!t->io)
		return;
	explicit_bzero(t->io, t->in_hwm);
	explicit_bzero(t->io + TLSBUF_IN, t->out_hwm);
	t->in_hwm = t->out_hwm = 0;
}

/**
 * tlsbuf_detach() - Take an engine's buffers away, wiped
 * @e: Engine (idle, unless it is never to be used again)
 * @t: Its tlsbuf
 * Return: the buffers (TLSBUF_SIZE bytes), or NULL if none were attached
 */
uint8_t *tlsbuf_detach(br_ssl_engine_context *e, struct tlsbuf *t)
{
	uint8_t *io = t->io;

	if (!io)
		return NULL;
	tlsbuf_wipe(t);
	t->io = NULL;
	e->ibuf = NULL;
	e->obuf = NULL;
	return io;
}

static void hwm(size_t *m, const uint8_t *base, const uint8_t *p, size_t n)
{
	size_t end = (size_t)(p - base) + n;

	if (end > *m)
		*m = end;
}

/* @n bytes were written at @p, in the input buffer (a received record) */
void tlsbuf_wrote_in(struct tlsbuf *t, const uint8_t *p, size_t n)
{
	if (t->io && p)
		hwm(&t->in_hwm, t->io, p, n);
}

/* @n bytes at @p in the output buffer (application data, or a record) */
void tlsbuf_wrote_out(struct tlsbuf *t, const uint8_t *p, size_t n)
{
	if (t->io && p)
		hwm(&t->out_hwm, t->io + TLSBUF_IN, p, n);
}
