/* SPDX-License-Identifier: MIT */
/*
 * idmap.h - which user and group ids a `run` sandbox gets.
 *
 * By default one: uid and gid 0 inside are the caller's own outside (what
 * the kernel lets anyone map).  Then a program that changes user inside
 * (apt's _apt, su, setpriv) fails.  With more ids, as rootless podman
 * does: when newuidmap and newgidmap (Debian's uidmap package) are there
 * and the user has ranges in /etc/subuid and /etc/subgid, ids 1..N inside
 * are that range outside.  Real root, likewise, with a range of its own
 * in those files (written directly, no helper needed); never all ids to
 * themselves, which would let CMD at every user's files.
 */
#ifndef ISLO_IDMAP_H
#define ISLO_IDMAP_H

#include <stddef.h>
#include <sys/types.h>

enum idmap_mode {
	IDMAP_SINGLE,      /* 0 -> our uid/gid, written by the child itself */
	IDMAP_ROOT,        /* real root with a range: written directly */
	IDMAP_SUBID,       /* 0 -> ours, 1..count -> the subordinate range */
};

struct idmap {
	enum idmap_mode mode;
	uid_t uid;
	gid_t gid;
	unsigned long ustart, ucount;   /* IDMAP_SUBID: the ranges */
	unsigned long gstart, gcount;
	char why[160];                  /* IDMAP_SINGLE: why not more */
};

/* Decide, for the calling user.  ISLO_IDMAP=single forces one id. */
void idmap_plan(struct idmap *m);
/* How many ids inside the sandbox: uids (@gid 0) or gids (@gid 1). */
unsigned long idmap_count(const struct idmap *m, int gid);
/* Write @pid's maps (after it unshared its user namespace), from the
 * parent's side.  Return: 0, or -1 with @err */
int idmap_apply(const struct idmap *m, pid_t pid, char *err, size_t errlen);
/* Find the subordinate range of @user/@id in @file ("/etc/subuid").
 * Return: 1 found, 0 not */
int idmap_subid_find(const char *file, const char *user, unsigned long id,
		     unsigned long *start, unsigned long *count);

#endif
