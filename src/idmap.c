// SPDX-License-Identifier: MIT
/*
 * idmap.c - the sandbox's user and group ids (see idmap.h).
 *
 * The outer user namespace's maps are written from outside, by us: real
 * root writes them itself; an ordinary user runs the setuid helpers
 * newuidmap and newgidmap, which check /etc/subuid and /etc/subgid.  The
 * nested namespace CMD runs in (ns.c) then maps all of those ids to
 * themselves, written by the sandbox's init, which holds CAP_SETUID in the
 * outer one.
 */
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDMAP_MAX_SUB    65536UL     /* ids 1..65536 inside at most */

static const char *const helper_dirs[] = { "/usr/bin", "/bin", "/usr/sbin",
					   "/sbin" };

/* The setuid helper @name, from a fixed list of system directories only:
 * never from $PATH, which the caller's environment may point anywhere. */
static int helper(const char *name, char *out, size_t size)
{
	size_t i;

	for (i = 0; i < sizeof(helper_dirs) / sizeof(helper_dirs[0]); i++) {
		struct stat st;

		snprintf(out, size, "%s/%s", helper_dirs[i], name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & S_ISUID) && st.st_uid == 0)
			return 1;
	}
	return 0;
}

int idmap_subid_find(const char *file, const char *user, unsigned long id,
		     unsigned long *start, unsigned long *count)
{
	char line[512], idstr[24];
	FILE *f = fopen(file, "re");
	int found = 0;

	if (!f)
		return 0;
	snprintf(idstr, sizeof(idstr), "%lu", id);
	while (!found && fgets(line, sizeof(line), f)) {
		char *name = strtok(line, ":\n"), *s = strtok(NULL, ":\n"),
		     *c = strtok(NULL, ":\n"), *end;
		unsigned long vs, vc;

		if (!name || !s || !c)
			continue;
		if ((!user || strcmp(name, user)) && strcmp(name, idstr))
			continue;
		errno = 0;
		vs = strtoul(s, &end, 10);
		if (errno || *end)
			continue;
		vc = strtoul(c, &end, 10);
		if (errno || *end || vc == 0)
			continue;
		*start = vs;
		*count = vc;
		found = 1;
	}
	fclose(f);
	return found;
}

void idmap_plan(struct idmap *m)
{
	const char *force = getenv("ISLO_IDMAP");
	struct passwd *pw;
	char path[PATH_MAX];

	memset(m, 0, sizeof(*m));
	m->uid = geteuid();
	m->gid = getegid();
	m->mode = IDMAP_SINGLE;
	if (force && !strcmp(force, "single")) {
		snprintf(m->why, sizeof(m->why), "ISLO_IDMAP=single");
		return;
	}
	/* real root writes the maps itself; but 0..65535 to themselves
	 * would let CMD override the permissions of every user's files,
	 * where one id lets it at root's only: root too gets a range of its
	 * own, if /etc/subuid gives it one */
	if (m->uid != 0 && (!helper("newuidmap", path, sizeof(path)) ||
			    !helper("newgidmap", path, sizeof(path)))) {
		snprintf(m->why, sizeof(m->why), "no setuid newuidmap and "
			 "newgidmap (Debian's uidmap package)");
		return;
	}
	pw = getpwuid(m->uid);
	if (!idmap_subid_find("/etc/subuid", pw ? pw->pw_name : NULL, m->uid,
			      &m->ustart, &m->ucount) ||
	    !idmap_subid_find("/etc/subgid", pw ? pw->pw_name : NULL, m->uid,
			      &m->gstart, &m->gcount)) {
		snprintf(m->why, sizeof(m->why), "no range for this user in "
			 "/etc/subuid and /etc/subgid");
		return;
	}
	if (m->ucount > IDMAP_MAX_SUB)
		m->ucount = IDMAP_MAX_SUB;
	if (m->gcount > IDMAP_MAX_SUB)
		m->gcount = IDMAP_MAX_SUB;
	m->mode = m->uid == 0 ? IDMAP_ROOT : IDMAP_SUBID;
}

unsigned long idmap_count(const struct idmap *m, int gid)
{
	switch (m->mode) {
	case IDMAP_ROOT:
	case IDMAP_SUBID:
		return 1 + (gid ? m->gcount : m->ucount);
	default:
		return 1;
	}
}

static int write_map(pid_t pid, const char *which, const char *text,
		     char *err, size_t errlen)
{
	char path[64];
	size_t len = strlen(text);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = write(fd, text, len);
	if (n != (ssize_t)len) {
		snprintf(err, errlen, "%s: %s", path,
			 n < 0 ? strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Run a helper; return 0 if it exited 0. */
static int run_helper(const char *name, char *const argv[], char *err,
		      size_t errlen)
{
	char path[PATH_MAX];
	int status;
	pid_t p;

	if (!helper(name, path, sizeof(path))) {
		snprintf(err, errlen, "%s: not found", name);
		return -1;
	}
	p = fork();
	if (p < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (p == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		execv(path, argv);
		_exit(127);
	}
	while (waitpid(p, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(err, errlen, "%s failed (status %d)", name,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	return 0;
}

int idmap_apply(const struct idmap *m, pid_t pid, char *err, size_t errlen)
{
	char a[16][24];
	char text[128];

	if (m->mode == IDMAP_ROOT) {
		snprintf(text, sizeof(text), "0 0 1\n1 %lu %lu\n", m->ustart,
			 m->ucount);
		if (write_map(pid, "uid_map", text, err, errlen) < 0)
			return -1;
		snprintf(text, sizeof(text), "0 0 1\n1 %lu %lu\n", m->gstart,
			 m->gcount);
		return write_map(pid, "gid_map", text, err, errlen);
	}
	if (m->mode != IDMAP_SUBID) {
		snprintf(err, errlen, "no map to apply");
		return -1;
	}
	snprintf(a[0], sizeof(a[0]), "%d", (int)pid);
	snprintf(a[1], sizeof(a[1]), "%u", (unsigned)m->uid);
	snprintf(a[2], sizeof(a[2]), "%lu", m->ustart);
	snprintf(a[3], sizeof(a[3]), "%lu", m->ucount);
	snprintf(a[4], sizeof(a[4]), "%u", (unsigned)m->gid);
	snprintf(a[5], sizeof(a[5]), "%lu", m->gstart);
	snprintf(a[6], sizeof(a[6]), "%lu", m->gcount);
	{
		char *uv[] = { (char *)"newuidmap", a[0], (char *)"0", a[1],
			       (char *)"1", (char *)"1", a[2], a[3], NULL };
		char *gv[] = { (char *)"newgidmap", a[0], (char *)"0", a[4],
			       (char *)"1", (char *)"1", a[5], a[6], NULL };

		if (run_helper("newuidmap", uv, err, errlen) < 0 ||
		    run_helper("newgidmap", gv, err, errlen) < 0)
			return -1;
	}
	return 0;
}
