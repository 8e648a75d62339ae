/* SPDX-License-Identifier: MIT */
/*
 * audit.h - the audit log: one JSON object per line, append-only
 * (README.md, "Audit log").
 *
 * An event is built in a caller-owned struct audit_ev (on the stack: no
 * malloc per event), then written with a single write(2) so concurrent
 * writers and logrotate never see half a line.  Every string goes through
 * JSON escaping; audit_strn() takes sandbox-controlled bytes.
 */
#ifndef ISLO_AUDIT_H
#define ISLO_AUDIT_H

#include <stddef.h>

struct audit;

/**
 * audit_open() - Open the audit log for appending
 * @path:   File (O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0600), or NULL
 *          for a disabled writer whose emits do nothing
 * @err:    Filled on error
 * @errlen: Its size
 * Return: the writer, or NULL on error (never NULL when @path is NULL,
 *         unless out of memory)
 */
struct audit *audit_open(const char *path, char *err, size_t errlen);

/**
 * audit_reopen() - Reopen the same path (SIGUSR1 after logrotate)
 * @a: Writer
 * Return: 0, or -1 with errno set (the old file stays in use)
 */
int audit_reopen(struct audit *a);

/* audit_close() - Close and free; NULL is fine. */
void audit_close(struct audit *a);

/**
 * audit_set_sandbox() - Label every later event with "sandbox":@id
 * @a:  Writer
 * @id: Sandbox id (copied), or NULL for no label
 *
 * The daemon gives each sandbox its own writer; several may append to one
 * file (each event is one write(2) to an O_APPEND descriptor).
 * Return: 0, or -1 (out of memory)
 */
int audit_set_sandbox(struct audit *a, const char *id);

struct audit_ev {
	char buf[8192];
	size_t len;
	int overflow;
};

/*
 * Budgets.  Events a sandbox can trigger at will, as fast as it can send
 * packets, each have a budget per writer (one writer per sandbox, so one
 * sandbox's flood never silences another's log): a token bucket of
 * AUDIT_BURST events refilled at AUDIT_RATE a second.  Past it, events of
 * that kind are counted, not written, and one line a second per kind says
 * how many were left out:
 *   {"event":"suppressed","kind":"dns","count":N}
 * Nothing disappears without a trace; a flood costs the disk at most
 * AUDIT_RATE + 1 lines a second per kind.  Counters (metrics, stats) are
 * kept by the callers and count every event.
 */
enum audit_kind {
	AK_NONE = -1,           /* not budgeted: always written */
	AK_DNS,                 /* DNS answers */
	AK_CONN_REFUSED,        /* TCP connections refused */
	AK_UDP_REFUSED,         /* UDP datagrams refused */
	AK_HTTP_REFUSED,        /* intercepted HTTP requests refused */
	AK_SECURITY,            /* security events */
	AK_TLS_FAILURE,         /* TLS handshakes from the sandbox that failed */
	AK_HALFOPEN,            /* handshakes dropped or never completed */
	AK_N
};
#define AUDIT_RATE 50
#define AUDIT_BURST 200

/* audit_kind_name() - "dns", "connection_refused", ... */
const char *audit_kind_name(enum audit_kind k);

/* audit_begin() - Start an event: {"ts":"2026-11-27T13:50:01.123Z","event":"..." */
void audit_begin(struct audit_ev *e, const char *event);

/**
 * audit_begin_kind() - Start an event of a budgeted kind
 * @a:     Writer whose budget it spends
 * @e:     Event
 * @event: Its name
 * @kind:  Its budget, or AK_NONE
 *
 * Past the budget the event is counted and left empty: the audit_*()
 * calls that fill it and audit_emit() then do nothing, so callers need no
 * branch (but may skip the work when it returns 0).
 * Return: 1 if the event will be written, 0 if suppressed
 */
int audit_begin_kind(struct audit *a, struct audit_ev *e, const char *event,
		     enum audit_kind kind);

/**
 * audit_tick() - Write the summary lines that are due
 * @a: Writer
 *
 * Called from the loop at least once a second, so the count of a flood
 * that has stopped is still written.
 */
void audit_tick(struct audit *a);

/* audit_suppressed() - Events of @k left out so far (for the metrics). */
unsigned long long audit_suppressed(const struct audit *a, enum audit_kind k);

/* audit_set_budget() - Change the budget (tests): @rate a second, @burst. */
void audit_set_budget(struct audit *a, unsigned rate, unsigned burst);

/* audit_str() - Add a string field, JSON-escaped; NULL @val: skipped. */
void audit_str(struct audit_ev *e, const char *key, const char *val);

/**
 * audit_strn() - Add a string field from untrusted bytes
 * @e:   Event
 * @key: Field name
 * @val: Bytes, need not be NUL-terminated or UTF-8 (NULL: skipped)
 * @len: Their length
 *
 * Control characters, quotes and backslash are escaped; bytes that are not
 * part of a valid UTF-8 sequence become \u00XX.  A value too long for the
 * event is cut at a character boundary and the event marked truncated.
 */
void audit_strn(struct audit_ev *e, const char *key, const char *val, size_t len);

void audit_int(struct audit_ev *e, const char *key, long long v);
void audit_bool(struct audit_ev *e, const char *key, int v);

/**
 * audit_emit() - Close the object and write the line
 * @a: Writer (NULL or disabled: nothing is written)
 * @e: Event; one that overflowed gets "truncated":true and is still valid JSON
 */
void audit_emit(struct audit *a, struct audit_ev *e);

#endif
