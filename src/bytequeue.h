/* SPDX-License-Identifier: MIT */
/*
 * bytequeue.h - a bounded byte queue: append at the tail, read and consume
 * at the head.
 *
 * One type for the byte streams a flow handler holds between a socket or
 * TLS engine and the other side (HTTP interception, PostgreSQL):
 *
 * - bounded: it never holds more than the @cap given to bq_init(); a put
 *   takes what fits and says how much;
 * - storage is taken on first use (bq_take()) and may be given back while
 *   empty (bq_release()), so an idle connection holds no buffer;
 * - consuming advances an offset (no copy of the rest); the data is moved
 *   to the front only when the free space after it runs short, so a small
 *   message taken from a full queue costs nothing;
 * - every byte ever written is wiped when the storage is given back, and
 *   with @wipe each byte as soon as it is consumed (passwords, credentials).
 *
 * Pointers from bq_data() and bq_tail() stay valid until the next
 * bq_tail(), bq_put() or bq_free(): those may move the data.
 */
#ifndef ISLO_BYTEQUEUE_H
#define ISLO_BYTEQUEUE_H

#include <stddef.h>
#include <stdint.h>

/**
 * struct bytequeue - a bounded byte queue
 * @b:    Storage (@cap bytes), NULL until taken
 * @off:  Where the data starts in @b
 * @len:  Bytes queued
 * @cap:  The bound, and the size of the storage
 * @hwm:  Bytes of @b ever written since it was taken (wiped when freed)
 * @wipe: Wipe bytes as they are consumed
 */
struct bytequeue {
	uint8_t *b;
	size_t off, len, cap, hwm;
	int wipe;
};

/* bq_init() - An empty queue of at most @cap bytes, no storage yet. */
void bq_init(struct bytequeue *q, size_t cap, int wipe);

/* bq_take() - Take the storage if not yet.  Return: 0, or -1 (no memory). */
int bq_take(struct bytequeue *q);

/* bq_free() - Give the storage back, wiped; whatever is queued is lost.
 * The queue may be taken again. */
void bq_free(struct bytequeue *q);

/* bq_release() - Give the storage back if the queue is empty. */
void bq_release(struct bytequeue *q);

/**
 * bq_tail() - Free space after the data, to write into directly
 * @q:    Queue, taken
 * @room: Output: its size; less than bq_room() only when that is at least
 *        4096 (the data is moved to the front when less is left)
 * Return: where to write; then bq_wrote() says how much was
 */
uint8_t *bq_tail(struct bytequeue *q, size_t *room);

/* bq_wrote() - @n bytes were written at bq_tail(). */
void bq_wrote(struct bytequeue *q, size_t n);

/**
 * bq_put() - Append bytes, as many as fit
 * @q: Queue, taken
 * @p: Bytes
 * @n: Their count
 * Return: how many were appended (fewer than @n when bq_room() is less)
 */
size_t bq_put(struct bytequeue *q, const void *p, size_t n);

/* bq_consume() - Drop @n bytes (at most bq_len()) from the head. */
void bq_consume(struct bytequeue *q, size_t n);

/* bq_clear() - Drop everything queued. */
void bq_clear(struct bytequeue *q);

/* The queued bytes, bq_len() of them (NULL while not taken). */
static inline uint8_t *bq_data(const struct bytequeue *q)
{
	return q->b ? q->b + q->off : NULL;
}

static inline size_t bq_len(const struct bytequeue *q)
{
	return q->len;
}

/* How many more bytes the queue takes, wherever they go. */
static inline size_t bq_room(const struct bytequeue *q)
{
	return q->cap - q->len;
}

#endif
