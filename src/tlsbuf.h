/* SPDX-License-Identifier: MIT */
/*
 * tlsbuf.h - a BearSSL engine's record buffers, given back while the
 * engine is idle and handed to it again (any buffer will do) before it
 * is used.
 */
#ifndef ISLO_TLSBUF_H
#define ISLO_TLSBUF_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#define TLSBUF_IN   BR_SSL_BUFSIZE_INPUT
#define TLSBUF_OUT  BR_SSL_BUFSIZE_OUTPUT
#define TLSBUF_SIZE (TLSBUF_IN + TLSBUF_OUT)

/**
 * struct tlsbuf - where one engine's record buffers are
 * @io:      TLSBUF_IN bytes of input buffer, then TLSBUF_OUT of output,
 *	     NULL while detached
 * @in_hwm:  Bytes of the input buffer that may have been written since
 *	     it was attached
 * @out_hwm: The same for the output buffer
 */
struct tlsbuf {
	uint8_t *io;
	size_t in_hwm, out_hwm;
};

void tlsbuf_init(br_ssl_engine_context *e, struct tlsbuf *t, uint8_t *io);
void tlsbuf_attach(br_ssl_engine_context *e, struct tlsbuf *t, uint8_t *io);
int tlsbuf_idle(br_ssl_engine_context *e, const struct tlsbuf *t);
uint8_t *tlsbuf_detach(br_ssl_engine_context *e, struct tlsbuf *t);
void tlsbuf_wipe(struct tlsbuf *t);
void tlsbuf_wrote_in(struct tlsbuf *t, const uint8_t *p, size_t n);
void tlsbuf_wrote_out(struct tlsbuf *t, const uint8_t *p, size_t n);

#endif
