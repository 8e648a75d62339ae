/* SPDX-License-Identifier: MIT */
/*
 * projtrust.h - which project files (islo.yaml, profiles kept in a project)
 * the user has reviewed and trusted, by content, as `direnv allow` does.
 *
 * A program in the sandbox may write the project it runs in.  If a file it
 * can write decided the next run's policy, the sandbox could widen its own
 * policy for next time.  So such a file is used only when its SHA-256 is
 * the one recorded by `islo-net trust PATH`; a new or changed file stops the
 * run before CMD starts, and so does a trusted file that has disappeared.
 *
 * The record is one file, $XDG_STATE_HOME/islo-net/trusted (default
 * ~/.local/state/islo-net/trusted), mode 0600, one "SHA256HEX PATH" line
 * per file, PATH absolute with its directory resolved; it is replaced
 * atomically.  `islo-net run` hides that directory from CMD (confine.h).
 */
#ifndef ISLO_PROJTRUST_H
#define ISLO_PROJTRUST_H

#include <stddef.h>

#define PROJTRUST_MAX_FILE ((size_t)1024 * 1024) /* largest file trusted */

struct projtrust_ent {
	char *path;
	unsigned char sha[32];
};

struct projtrust {
	char *file;                  /* the record */
	struct projtrust_ent *e;
	size_t n;
};

/* The record's default location (malloc'd), or NULL without a home. */
char *projtrust_default_file(void);
/* Load the record from @file (NULL: the default); a missing one is empty.
 * Return: 0, or -1 with @err */
int projtrust_open(struct projtrust *t, const char *file, char *err,
		   size_t errlen);
void projtrust_free(struct projtrust *t);
/* @path as it is recorded: its directory resolved.  Return: 0, -1 */
int projtrust_canon(const char *path, char *out, size_t size);
/* 1 if @path is recorded with the hash of @buf, else 0 */
int projtrust_ok(const struct projtrust *t, const char *path,
		 const void *buf, size_t len);
/* 1 if any record names @path */
int projtrust_known(const struct projtrust *t, const char *path);
/* Record @path with @buf's hash (or forget it: @buf NULL), and save.
 * Return: 0, or -1 with @err */
int projtrust_set(struct projtrust *t, const char *path, const void *buf,
		  size_t len, char *err, size_t errlen);
/* Read a file of at most PROJTRUST_MAX_FILE bytes (malloc'd, NUL after).
 * Return: the buffer, or NULL with @err */
char *projtrust_read(const char *path, size_t *len, char *err, size_t errlen);

#endif
