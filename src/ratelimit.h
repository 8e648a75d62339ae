/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.h - "N a second": events counted per wall-clock second.
 *
 * A fixed window, not a token bucket: the count starts again at each new
 * second, so up to 2N events can pass across a second boundary, which is
 * what a log limit or a pressure threshold needs (the audit log's budgets,
 * which must refill smoothly, are token buckets: audit.c).  No clock of
 * its own: the caller passes the time it already has, in milliseconds of
 * any clock that does not go back while the limiter is in use.
 *
 * Zero-initialised is ready to use.
 */
#ifndef ISLO_RATELIMIT_H
#define ISLO_RATELIMIT_H

#include <limits.h>
#include <stdint.h>

/**
 * struct ratelimit - events in the current second
 * @sec: The second counted (now_ms / 1000)
 * @n:   Events counted in it
 */
struct ratelimit {
	uint64_t sec;
	unsigned n;
};

/**
 * ratelimit_count() - Count one event
 * @rl:     Limiter
 * @now_ms: When it happens
 * Return: the events counted in its second, this one included
 */
static inline unsigned ratelimit_count(struct ratelimit *rl, uint64_t now_ms)
{
	if (now_ms / 1000 != rl->sec) {
		rl->sec = now_ms / 1000;
		rl->n = 0;
	}
	if (rl->n < UINT_MAX)
		rl->n++;
	return rl->n;
}

/**
 * ratelimit_ok() - Count one event; is it within the limit?
 * @rl:      Limiter
 * @now_ms:  When it happens
 * @per_sec: Events let through a second
 * Return: 1 if it is one of the first @per_sec of its second, else 0
 */
static inline int ratelimit_ok(struct ratelimit *rl, uint64_t now_ms,
			       unsigned per_sec)
{
	return ratelimit_count(rl, now_ms) <= per_sec;
}

#endif
