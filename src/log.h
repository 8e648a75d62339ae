/* SPDX-License-Identifier: MIT */
/*
 * log.h - diagnostics on stderr, printf-checked, with levels.
 *
 * The audit log is a separate writer (audit.c); this is for operators.
 * Sandbox-controlled strings must go through log_escape() (or the audit
 * writer's JSON escaping) before they reach a log line.
 */
#ifndef ISLO_LOG_H
#define ISLO_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int log_verbosity; /* messages above this level are dropped */

void logmsg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Sandbox misbehaviour: rate limited to a few lines per second. */
void log_sandbox(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * log_escape() - Make an untrusted string safe to print
 * @in:   Bytes, not necessarily NUL-terminated
 * @len:  Their length
 * @out:  Output buffer, always NUL-terminated
 * @size: Its size (at least 1)
 * Return: @out. Non-printable bytes become \xNN; truncated with "..."
 */
char *log_escape(const char *in, size_t len, char *out, size_t size);

#define err(...)   logmsg(LOG_ERR, __VA_ARGS__)
#define warn(...)  logmsg(LOG_WARN, __VA_ARGS__)
#define info(...)  logmsg(LOG_INFO, __VA_ARGS__)
#define debug(...) logmsg(LOG_DEBUG, __VA_ARGS__)

#endif
