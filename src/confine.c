// SPDX-License-Identifier: MIT
/*
 * confine.c - the mounts that keep islo-net's files out of CMD's reach.
 *
 * DOC: Theory of Operation
 *
 * CMD is root, with every capability, in a user namespace of its own.
 * Mounts alone do not stop such a process: it may unmount, move or remount
 * any mount of a mount namespace its user namespace owns.  So the mounts
 * here are made by the sandbox's set-up process in an *outer* user and
 * mount namespace, and CMD is started in a user and mount namespace nested
 * inside (ns.c).  When the kernel copies a mount namespace for a less
 * privileged user namespace it marks every mount MNT_LOCKED, together with
 * its read-only, nosuid, nodev and noexec flags: CMD can then neither
 * unmount (umount, umount -l) nor move (mount --move) them, nor remount
 * them read-write, nor bind-mount a parent directory without them
 * (has_locked_children() refuses a non-recursive bind), nor see beneath
 * them through a new mount namespace or user namespace of its own.
 *
 * What a mount does not stop is a rename of the directory above it: the
 * mount follows the directory, and CMD could then put a file of its own at
 * the old path, read by the next run.  A mount point cannot be renamed
 * (EBUSY), so each parent directory that CMD's user could rename is bound
 * onto itself ("pinned").  The cost: rename(2) between a pinned directory
 * and the rest of its file system fails with EXDEV (mv copies instead).
 *
 * Read-only is applied with mount_setattr(AT_RECURSIVE) where the kernel
 * has it (5.12), so that submounts are read-only too; otherwise a remount
 * that keeps the flags the mount already has (the outer user namespace
 * may not clear a locked nosuid or nodev).
 */
#include "confine.h"

#include "ca.h"
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif

struct confine_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int has(char *const *list, size_t n, const char *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], p))
			return 1;
	return 0;
}

static int add(char **list, size_t *n, const char *p)
{
	if (has(list, *n, p))
		return 0;
	if (*n >= CONFINE_MAX)
		return -1;
	list[*n] = strdup(p);
	if (!list[*n])
		return -1;
	(*n)++;
	return 0;
}

/* Pin each parent of @real (resolved) that our user could rename. */
static int pin_parents(struct confine *c, const char *real)
{
	char dir[PATH_MAX], parent[PATH_MAX];
	char *slash;

	if (strlen(real) >= sizeof(dir))
		return -1;
	snprintf(dir, sizeof(dir), "%s", real);
	for (;;) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return 0;
		*slash = '\0';                 /* dir: the next parent up */
		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (slash == parent)
			parent[1] = '\0';
		else
			*slash = '\0';
		/* renaming dir takes write access to its parent */
		if (access(parent, W_OK) == 0 && add(c->pin, &c->npin, dir) < 0)
			return -1;
	}
}

static int plan(struct confine *c, const char *path, char **list, size_t *n)
{
	char real[PATH_MAX];

	if (!path || !path[0])
		return 0;
	if (!realpath(path, real))
		return 0;      /* nothing there */
	if (add(list, n, real) < 0)
		return -1;
	return pin_parents(c, real);
}

int confine_hide(struct confine *c, const char *path)
{
	return plan(c, path, c->hide, &c->nhide);
}

int confine_protect(struct confine *c, const char *path)
{
	return plan(c, path, c->ro, &c->nro);
}

void confine_mkdirs(const char *path)
{
	if (path && path[0] == '/')
		fu_mkdirs(path, 0);
}

void confine_free(struct confine *c)
{
	while (c->npin)
		free(c->pin[--c->npin]);
	while (c->nro)
		free(c->ro[--c->nro]);
	while (c->nhide)
		free(c->hide[--c->nhide]);
}

/* @p is @dir or beneath it */
static int within(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return 1;
	return !strncmp(p, dir, n) && (p[n] == '\0' || p[n] == '/');
}

static int within_any(const char *p, char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (within(p, list[i]))
			return 1;
	return 0;
}

static int bylen(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? -1 : la > lb;
}

/* Make the mount at @path (and beneath it) read-only. Return: 0 or -errno */
int confine_mount_ro(const char *path)
{
	static const struct {
		unsigned long st, ms;
	} keep[] = {
		{ ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC }, { ST_NOATIME, MS_NOATIME },
		{ ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	struct confine_mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
	struct statvfs sv;
	unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY;
	size_t i;

#ifdef SYS_mount_setattr
	if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a,
		    sizeof(a)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
#endif
	(void)a;
	if (statvfs(path, &sv) < 0)
		return -errno;
	/* a bind remount keeps only the flags it is given: keep the others */
	for (i = 0; i < sizeof(keep) / sizeof(*keep); i++)
		if (sv.f_flag & keep[i].st)
			fl |= keep[i].ms;
	if (mount(NULL, path, NULL, fl, NULL) < 0)
		return -errno;
	return 0;
}

static int fail(char *err, size_t errlen, const char *what, const char *p, int e)
{
	snprintf(err, errlen, "cannot %s %s in the sandbox: %s", what, p,
		 strerror(e));
	return -1;
}

int confine_apply(const struct confine *c, char *err, size_t errlen)
{
	char *pin[CONFINE_MAX], *ro[CONFINE_MAX];
	size_t i;
	int e;

	memcpy(pin, c->pin, c->npin * sizeof(*pin));
	memcpy(ro, c->ro, c->nro * sizeof(*ro));
	/* parents before children: a later bind includes the earlier ones */
	qsort(pin, c->npin, sizeof(*pin), bylen);
	qsort(ro, c->nro, sizeof(*ro), bylen);

	for (i = 0; i < c->npin; i++) {
		/* inside a read-only or hidden tree: protected by that */
		if (within_any(pin[i], c->ro, c->nro) ||
		    within_any(pin[i], c->hide, c->nhide))
			continue;
		if (mount(pin[i], pin[i], NULL, MS_BIND | MS_REC, NULL) < 0)
			return fail(err, errlen, "pin", pin[i], errno);
	}
	for (i = 0; i < c->nro; i++) {
		if (within_any(ro[i], c->hide, c->nhide))
			continue;
		if (mount(ro[i], ro[i], NULL, MS_BIND | MS_REC, NULL) < 0)
			return fail(err, errlen, "protect", ro[i], errno);
		e = confine_mount_ro(ro[i]);
		if (e < 0)
			return fail(err, errlen, "make read-only", ro[i], -e);
	}
	for (i = 0; i < c->nhide; i++) {
		struct stat st;

		if (stat(c->hide[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", c->hide[i], "tmpfs", MS_RDONLY |
				  MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  "size=4k,mode=0500") < 0)
				return fail(err, errlen, "hide", c->hide[i], errno);
			continue;
		}
		if (mount("/dev/null", c->hide[i], NULL, MS_BIND, NULL) < 0)
			return fail(err, errlen, "hide", c->hide[i], errno);
		e = confine_mount_ro(c->hide[i]);
		if (e < 0)
			return fail(err, errlen, "hide", c->hide[i], -e);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The plan for `islo-net run`                                         */

/*
 * A profile directory the operator named must exist: one that did not
 * could be made by CMD, and being searched first, decide the next run.
 */
static int profile_dir_exists(const char *dir, const char *what, char *err,
			      size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	snprintf(err, errlen, "%s %s: no such directory (a sandbox could make "
		 "it and put profiles there that the next run would find first)",
		 what, dir);
	return -1;
}

/* Protect each directory of a colon-separated @list (read-only).
 * Return: 0, -1 (too many paths), -2 (@err set) */
static int protect_list(struct confine *cf, const char *list, char *err,
			size_t errlen)
{
	char *copy, *save = NULL, *tok;
	int r = 0;

	if (!list || !list[0])
		return 0;
	copy = strdup(list);
	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ":", &save); tok && r == 0;
	     tok = strtok_r(NULL, ":", &save)) {
		if (profile_dir_exists(tok, "$ISLO_PROFILES_PATH:", err, errlen) < 0)
			r = -2;
		else
			r = confine_protect(cf, tok);
	}
	free(copy);
	return r;
}

/* islo-net's own directories: made if missing, so that CMD cannot make
 * them; configuration read-only, state (the CA, the trust record) hidden */
static int plan_own_dirs(struct confine *cf, const struct confine_inputs *in)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *cfg = NULL, *state = in->ca_dir ? NULL : ca_default_dir();
	int r = 0;

	if (xdg && xdg[0] == '/')
		r = asprintf(&cfg, "%s/islo", xdg);
	else if (home && home[0] == '/')
		r = asprintf(&cfg, "%s/.config/islo", home);
	if (r < 0)
		cfg = NULL;
	r = 0;
	if (cfg) {
		char *prof = NULL;

		if (asprintf(&prof, "%s/profiles", cfg) >= 0) {
			confine_mkdirs(prof);
			free(prof);
		}
		r |= confine_protect(cf, cfg);
	}
	free(cfg);
	if (state) {
		confine_mkdirs(state);
		r |= confine_hide(cf, state);
	}
	free(state);
	if (in->ca_dir)
		r |= confine_hide(cf, in->ca_dir);
	r |= confine_hide(cf, getenv("CREDENTIALS_DIRECTORY"));
	if (geteuid() == 0)
		confine_mkdirs("/etc/islo/profiles");
	r |= confine_protect(cf, "/etc/islo");
	return r;
}

/* Each islo.yaml from the working directory up: a nearer one would decide
 * the next run. */
static int plan_islo_yamls(struct confine *cf)
{
	char cwd[PATH_MAX], *p;
	int r = 0;

	if (!getcwd(cwd, sizeof(cwd)))
		return 0;
	for (;;) {
		char *y = NULL;

		if (asprintf(&y, "%s/islo.yaml", strcmp(cwd, "/") ? cwd : "") >= 0) {
			r |= confine_protect(cf, y);
			free(y);
		}
		p = strrchr(cwd, '/');
		if (!p || p == cwd)
			break;
		*p = '\0';
	}
	return r | confine_protect(cf, "/islo.yaml");
}

/* Sockets of the host's service managers and container engines: a
 * process that reaches one can have a program started outside the
 * sandbox (systemd-run, docker run), on the host's network. */
static int plan_host_services(struct confine *cf)
{
	static const char *const sys_socks[] = {
		"/run/dbus/system_bus_socket", "/run/systemd/private",
		"/run/docker.sock", "/run/podman/podman.sock",
		"/run/containerd/containerd.sock",
	};
	static const char *const user_socks[] = {
		"bus", "systemd", "podman", "docker.sock",
	};
	const char *rt = getenv("XDG_RUNTIME_DIR");
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(sys_socks) / sizeof(sys_socks[0]); i++)
		r |= confine_hide(cf, sys_socks[i]);
	for (i = 0; rt && rt[0] == '/' &&
		    i < sizeof(user_socks) / sizeof(user_socks[0]); i++) {
		char *q = NULL;

		if (asprintf(&q, "%s/%s", rt, user_socks[i]) >= 0) {
			r |= confine_hide(cf, q);
			free(q);
		}
	}
	return r;
}

int confine_plan_run(struct confine *cf, const struct confine_inputs *in,
		     char *err, size_t errlen)
{
	char exe[PATH_MAX];
	ssize_t n;
	int r, pl;

	r = plan_own_dirs(cf, in);
	if (in->profiles_dir &&
	    profile_dir_exists(in->profiles_dir, "--profiles-dir", err, errlen) < 0)
		return -1;
	r |= confine_protect(cf, in->profiles_dir);
	pl = protect_list(cf, getenv("ISLO_PROFILES_PATH"), err, errlen);
	if (pl == -2)
		return -1;
	r |= pl < 0;
	r |= confine_protect(cf, "profiles");
	r |= confine_protect(cf, in->profile_path);
	r |= plan_islo_yamls(cf);
	/* the audit log: made now, so that it is there to protect */
	if (in->audit_path && strcmp(in->audit_path, "-")) {
		int fd = open(in->audit_path, O_WRONLY | O_APPEND | O_CREAT |
			      O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
		struct stat st;

		if (fd < 0) {
			snprintf(err, errlen, "%s: cannot open audit log: %s",
				 in->audit_path, strerror(errno));
			return -1;
		}
		/* a file; not a terminal or a pipe (/dev/stderr), which CMD
		 * may share and cannot rewrite anyway */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			r |= confine_protect(cf, in->audit_path);
		close(fd);
	}
	if (!in->host_services)
		r |= plan_host_services(cf);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		r |= confine_protect(cf, exe);
	}
	r |= confine_protect(cf, in->self_exe);
	if (r) {
		snprintf(err, errlen, "too many paths to protect");
		return -1;
	}
	return 0;
}
