/* SPDX-License-Identifier: MIT */
/*
 * fileutil.h - small helpers for files and error messages, written once.
 *
 * Blocking I/O for start-up and the control path (profiles, secrets, the
 * CA's files, trust records): never used on a sandbox's data path.  Each
 * helper makes exactly the system calls its callers made before it
 * (open/read/write/mkdir), so none needs a seccomp rule of its own.
 */
#ifndef ISLO_FILEUTIL_H
#define ISLO_FILEUTIL_H

#include <stddef.h>
#include <sys/types.h>

/**
 * fu_seterr() - Write a message into a caller's error buffer
 * @err:    Buffer, or NULL (then nothing is written)
 * @errlen: Its size, or 0
 * @fmt:    printf format
 */
void fu_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * fu_write_all() - write(2) all of a buffer, again after EINTR and short writes
 * @fd:  Descriptor
 * @buf: Bytes
 * @len: How many
 * Return: 0, or -1 (errno set by write(2), or unchanged when it wrote 0)
 */
int fu_write_all(int fd, const void *buf, size_t len);

/**
 * fu_read_fd() - Read a descriptor to EOF, at most @max + 1 bytes
 * @fd:  Descriptor
 * @buf: Room for @max + 1 bytes
 * @max: The most the caller accepts; @max + 1 read means "too large"
 *
 * Reads to EOF rather than to a size fstat() gave: a file may change
 * under us.
 *
 * Return: bytes read (@max + 1 when there were more than @max), or -1 with
 *	   errno set
 */
ssize_t fu_read_fd(int fd, void *buf, size_t max);

/**
 * fu_mkdirs() - Create the directories of a path, mode 0700, as far as we can
 * @path:         Path (longer than PATH_MAX: nothing is done)
 * @parents_only: Leave out the last component (@path names a file)
 *
 * Errors are not reported: the caller's next step (open, mount) says what
 * is missing.
 */
void fu_mkdirs(const char *path, int parents_only);

/* Free each of a list of pointers (any may be NULL). */
void fu_free_all(void *const *ptrs, size_t n);
#define FREE_ALL(...)                                                       \
	fu_free_all((void *const[]){ __VA_ARGS__ },                         \
		    sizeof((void *const[]){ __VA_ARGS__ }) / sizeof(void *))

#endif
