// SPDX-License-Identifier: MIT
/*
 * peercheck.c - is the peer of a unix socket outside every sandbox?
 * (peercheck.h)
 */
#include "peercheck.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct stat ns_user, ns_net;   /* our own namespaces */
static int ns_known;
static uid_t our_euid;                 /* read before the syscall filter */

int peer_check_init(void)
{
	if (stat("/proc/self/ns/user", &ns_user) < 0 ||
	    stat("/proc/self/ns/net", &ns_net) < 0) {
		err("cannot read our own namespaces: %s", strerror(errno));
		return -1;
	}
	our_euid = geteuid();
	ns_known = 1;
	return 0;
}

const char *peer_check(int fd)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);

	memset(&cr, 0, sizeof(cr));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
		return "cannot read the peer's credentials";
	if (cr.uid != 0 && cr.uid != our_euid)
		return "only the owner (or root) may connect";
	return peer_outside_sandboxes(fd, &cr);
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* The pid a pidfd refers to (from its fdinfo): > 0 while it runs. */
static long pidfd_pid(int pidfd)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nPid:");
	return p ? strtol(p + 5, NULL, 10) : -1;
}

/* A small /proc file's text (NUL-terminated); -1 if unreadable. */
static ssize_t proc_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* How many PID namespaces deep @who ("self" or a pid) is: its NSpid. */
static int nspid_depth(const char *who)
{
	char path[64], buf[2048], *p;
	int depth = 0;

	snprintf(path, sizeof(path), "/proc/%s/status", who);
	if (proc_text(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return -1;
	for (p += 7; *p && *p != '\n'; p++)
		if ((*p == '\t' || *p == ' ') && p[1] >= '0' && p[1] <= '9')
			depth++;
	return depth;
}

/*
 * A peer with capabilities we do not have (root's, a process whose
 * permitted set is not a subset of our empty one) may not be inspected
 * through /proc/PID/ns.  It is outside every `run` sandbox if it is as
 * deep in PID namespaces as we are (a sandbox's processes are in a PID
 * namespace of their own) and its user namespace maps ids as ours does.
 */
static int peer_privileged_here(pid_t pid)
{
	char path[64], a[1024], b[1024];
	int d;

	snprintf(path, sizeof(path), "%d", (int)pid);
	d = nspid_depth(path);
	if (d < 1 || d != nspid_depth("self"))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	if (proc_text(path, a, sizeof(a)) < 0 ||
	    proc_text("/proc/self/uid_map", b, sizeof(b)) < 0)
		return 0;
	return !strcmp(a, b);
}

static int same_ns(pid_t pid, const char *which, const struct stat *ours)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, which);
	if (stat(path, &st) < 0)
		return -1;
	return st.st_dev == ours->st_dev && st.st_ino == ours->st_ino;
}

/*
 * peer_outside_sandboxes() - Is the peer on @fd outside every sandbox?
 *
 * A sandbox's processes run as the same user as the daemon (SO_PEERCRED
 * cannot tell them apart), but in user and network namespaces of their
 * own.  The peer must share ours.  The pid SO_PEERCRED reports is pinned
 * with SO_PEERPIDFD (Linux 6.5): the namespaces are read from /proc/PID
 * while the pidfd says that process still runs, so a recycled pid cannot
 * stand in for it.  A peer with more capabilities than we have left
 * cannot be inspected so: see peer_privileged_here().  A peer we cannot
 * check is refused.  Return: NULL, or why not.
 */
const char *peer_outside_sandboxes(int fd, const struct ucred *cr)
{
	socklen_t len = sizeof(int);
	int pidfd = -1, u, n;
	long before = 0, after = 0;

	if (!ns_known)
		return "our own namespaces are not known";
	if (cr->pid <= 0)
		return "the peer is in another PID namespace";
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = -1;
	if (pidfd >= 0) {
		before = pidfd_pid(pidfd);
		if (before != cr->pid) {
			close(pidfd);
			return "the peer has exited";
		}
	}
	u = same_ns(cr->pid, "user", &ns_user);
	n = same_ns(cr->pid, "net", &ns_net);
	if ((u < 0 || n < 0) && (errno == EACCES || errno == EPERM) &&
	    peer_privileged_here(cr->pid))
		u = n = 1;
	if (pidfd >= 0) {
		after = pidfd_pid(pidfd);
		close(pidfd);
		if (after != before)
			return "the peer has exited";
	}
	if (u < 0 || n < 0)
		return "cannot read the peer's namespaces";
	if (!u || !n)
		return "the peer is in another user or network namespace "
		       "(a sandbox?)";
	return NULL;
}

