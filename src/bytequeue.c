// SPDX-License-Identifier: MIT
/* bytequeue.c - a bounded byte queue (see bytequeue.h). */
#include "bytequeue.h"

#include <stdlib.h>
#include <string.h>

/* Below this much free space after the data, a write moves the data to
 * the front first (a copy of at most one queue, amortised over 4 KiB). */
#define BQ_TAIL_MIN 4096

void bq_init(struct bytequeue *q, size_t cap, int wipe)
{
	q->b = NULL;
	q->off = q->len = q->hwm = 0;
	q->cap = cap;
	q->wipe = wipe;
}

int bq_take(struct bytequeue *q)
{
	if (q->b)
		return 0;
	q->off = q->len = q->hwm = 0;
	q->b = malloc(q->cap ? q->cap : 1);
	return q->b ? 0 : -1;
}

void bq_free(struct bytequeue *q)
{
	if (q->b) {
		explicit_bzero(q->b, q->hwm);
		free(q->b);
	}
	q->b = NULL;
	q->off = q->len = q->hwm = 0;
}

void bq_release(struct bytequeue *q)
{
	if (q->b && !q->len)
		bq_free(q);
}

/* Move the data to the front of the storage. */
static void compact(struct bytequeue *q)
{
	if (!q->off)
		return;
	memmove(q->b, q->b + q->off, q->len);
	/* the old copy's bytes past the data: the tail's now */
	if (q->wipe)
		explicit_bzero(q->b + q->len, q->off);
	q->off = 0;
}

uint8_t *bq_tail(struct bytequeue *q, size_t *room)
{
	if (q->off + q->len + BQ_TAIL_MIN > q->cap)
		compact(q);
	*room = q->cap - q->off - q->len;
	return q->b + q->off + q->len;
}

void bq_wrote(struct bytequeue *q, size_t n)
{
	q->len += n;
	if (q->off + q->len > q->hwm)
		q->hwm = q->off + q->len;
}

size_t bq_put(struct bytequeue *q, const void *p, size_t n)
{
	size_t room;
	uint8_t *t;

	if (n > bq_room(q))
		n = bq_room(q);
	if (!n)
		return 0;
	t = bq_tail(q, &room);
	if (n > room) {
		compact(q);
		t = q->b + q->len;
	}
	memcpy(t, p, n);
	bq_wrote(q, n);
	return n;
}

void bq_consume(struct bytequeue *q, size_t n)
{
	if (n > q->len)
		n = q->len;
	if (q->wipe && n)
		explicit_bzero(q->b + q->off, n);
	q->off += n;
	q->len -= n;
	if (!q->len)
		q->off = 0;
}

void bq_clear(struct bytequeue *q)
{
	bq_consume(q, q->len);
}
