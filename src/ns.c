// SPDX-License-Identifier: MIT
/*
 * ns.c - the sandbox for `islo-net run`.
 *
 * DOC: Theory of Operation
 *
 * The parent writes a resolv.conf naming the gateway's resolvers into a
 * temporary file, then forks.  Three processes make the sandbox:
 *
 *   C, the child: resets the signal mask the supervisor set, asks for
 *      SIGKILL when the parent dies; unshare(CLONE_NEWUSER | CLONE_NEWNS |
 *      CLONE_NEWPID) and maps uid and gid 0 to the caller's own (a
 *      single-line map of one's own ids is what the kernel allows an
 *      unprivileged user, and just as valid for real root, so both go down
 *      the same path).  In that *outer* user namespace it makes / private
 *      and sets up every mount CMD must live with (confine.c's plan: the
 *      resolv.conf, the CA bundle, secrets and the CA hidden, islo-net's
 *      files read-only, their parents pinned).  It forks I and stays
 *      outside the PID namespace as the relay that forwards signals to I
 *      and exits with its status: the process the supervisor watches.
 *   I, init: pid 1 of the new PID namespace, still in the outer user
 *      namespace.  It mounts the namespace's own /proc, then forks K and
 *      execs a fresh islo-net image (`__sandbox-init`) that forwards
 *      signals to CMD, reaps orphans and exits with CMD's status; the
 *      kernel then kills everything left in the namespace.
 *   K, CMD-to-be: unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET),
 *      mapping 0 to 0.  Its mount namespace is a copy made for a less
 *      privileged user namespace, so the kernel locks every mount it
 *      inherited (MNT_LOCKED, and their read-only and nosuid flags): CMD,
 *      root with every capability in its own user namespace, can neither
 *      unmount, move nor remount them, nor bind a parent directory without
 *      its submounts, nor mount another /proc for a PID namespace it does
 *      not own.  The network namespace is its own, so CMD keeps every
 *      network capability (raw sockets, routes) as before.  K creates tap0
 *      there, configures it over rtnetlink (lo up; tap0 MTU, up;
 *      10.0.2.100/24 via 10.0.2.2; fd00::100/64 via fd00::2, no DAD),
 *      mounts a sysfs of that namespace over /sys, sends the TAP fd to the
 *      parent with SCM_RIGHTS over a SEQPACKET socketpair, waits for the
 *      parent's "go" byte (sent once the datapath is about to run) and
 *      execs CMD.
 *
 * Any failure before the TAP fd is sent goes to the parent as text instead
 * of the fd; the parent prints it, reaps the child and fails before CMD
 * runs.  The parent
 * unlinks the resolv.conf as soon as the child answered either way: the bind
 * mount keeps the inode alive, and nothing is left in the file system.
 */
#include "ns.h"

#include "confine.h"
#include "idmap.h"
#include "islo.h"
#include "log.h"
#include "rtnl.h"
#include "supervisor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>      /* before the linux/ headers: struct ifreq */
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Messages on the control socket (SOCK_SEQPACKET: one per send). */
#define NS_MSG_TAP   'T'   /* child -> parent: set up; TAP fd attached */
#define NS_MSG_ERR   'E'   /* child -> parent: followed by the error text */
#define NS_MSG_GO    'G'   /* parent -> child: exec CMD */
#define NS_MSG_MAP   'U'   /* child -> parent: unshared, write my id maps */
#define NS_MSG_MAPPED 'M'  /* parent -> child: done */
#define NS_MSG_SINGLE 'S'  /* parent -> child: could not: map yourself */

#define NS_ERRLEN 512

#define RESOLV_CONF "nameserver " ISLO_DNS4 "\nnameserver " ISLO_DNS6 "\n"

/* ------------------------------------------------------------------ */
/* The child                                                           */
/* ------------------------------------------------------------------ */

struct ns_child {
	const struct run_opts *o;
	const char *resolv;     /* the parent's temporary resolv.conf */
	uid_t uid;
	gid_t gid;
	struct idmap map;       /* the ids the sandbox gets (idmap.h) */
	char *msg;              /* error text for the parent */
	size_t msglen;
};

static int __attribute__((format(printf, 2, 3)))
child_fail(struct ns_child *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, c->msglen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Write a whole short string to a /proc file. Return: 0 or -errno */
static int write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, e = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0)
		e = -errno;
	else if ((size_t)n != len)
		e = -EIO;
	close(fd);
	return e;
}

static int ns_unshare(struct ns_child *c, int flags)
{
	int e;

	if (unshare(flags) < 0) {
		e = errno;
		return child_fail(c, "cannot create the sandbox's namespaces "
				  "(unshare: %s)%s", strerror(e),
				  e == EPERM || e == ENOSPC || e == EINVAL ?
				  ": are unprivileged user namespaces enabled "
				  "(user.max_user_namespaces, "
				  "kernel.apparmor_restrict_unprivileged_userns)?" :
				  "");
	}
	return 0;
}

/* Map uid and gid 0 of the user namespace we just entered to @uid and
 * @gid of the one we were in: the single map anyone may write. */
static int self_map(struct ns_child *c, uid_t uid, gid_t gid)
{
	char map[64];
	int e;

	/* Before gid_map, as an unprivileged user must; ENOENT: old kernel;
	 * EPERM: a nested namespace inherits "deny" and may not change it */
	e = write_file("/proc/self/setgroups", "deny");
	if (e < 0 && e != -ENOENT && e != -EPERM)
		return child_fail(c, "/proc/self/setgroups: %s", strerror(-e));
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned int)uid);
	e = write_file("/proc/self/uid_map", map);
	if (e < 0)
		return child_fail(c, "/proc/self/uid_map: %s", strerror(-e));
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned int)gid);
	e = write_file("/proc/self/gid_map", map);
	if (e < 0)
		return child_fail(c, "/proc/self/gid_map: %s", strerror(-e));
	return 0;
}

/* Enter new namespaces (@flags, with CLONE_NEWUSER), single-mapped. */
static int child_userns(struct ns_child *c, int flags, uid_t uid, gid_t gid)
{
	if (ns_unshare(c, flags) < 0)
		return -1;
	return self_map(c, uid, gid);
}

/* C's user namespace: the parent writes its maps, or we write one line */
static int outer_userns(struct ns_child *c, int sock)
{
	char m = NS_MSG_MAP;
	ssize_t n;

	if (c->map.mode == IDMAP_SINGLE)
		return child_userns(c, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID,
				    c->uid, c->gid);
	if (ns_unshare(c, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0)
		return -1;
	if (send(sock, &m, 1, MSG_NOSIGNAL) != 1)
		return child_fail(c, "control socket: %s", strerror(errno));
	do
		n = read(sock, &m, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && m == NS_MSG_MAPPED)
		return 0;
	if (n == 1 && m == NS_MSG_SINGLE) {
		c->map.mode = IDMAP_SINGLE;
		return self_map(c, c->uid, c->gid);
	}
	return child_fail(c, "the gateway did not map the sandbox's ids");
}

/* The system CA bundle paths a sandbox's TLS clients read; with
 * interception, each that exists gets the islo-net bundle (the system CAs
 * plus the islo-net CA) mounted over it, read-only. */
static const char *const bundle_paths[] = {
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/cert.pem",
};

static void child_bundle(struct ns_child *c)
{
	char certs[PATH_MAX], opts[PATH_MAX * 2 + 32];
	int laid = 0;
	size_t i;

	if (!c->o->ca_bundle)
		return;
	/* the hashed directory: ours (HASH.N, the bundle) over the system's,
	 * read-only (an overlay of two lower layers needs no upper one) */
	if (c->o->ca_certdir && realpath("/etc/ssl/certs", certs) &&
	    (size_t)snprintf(opts, sizeof(opts), "lowerdir=%s:%s",
			     c->o->ca_certdir, certs) < sizeof(opts)) {
		if (mount("overlay", certs, "overlay", MS_RDONLY | MS_NOSUID |
			  MS_NODEV, opts) == 0)
			laid = 1;
		else
			warn("cannot add the islo-net CA to %s (overlay: %s): "
			     "`-CApath %s` will not find it", certs,
			     strerror(errno), certs);
	}
	for (i = 0; i < sizeof(bundle_paths) / sizeof(bundle_paths[0]); i++) {
		char target[PATH_MAX];

		if (!realpath(bundle_paths[i], target))
			continue;
		/* already there, in the overlay */
		if (laid && !strncmp(target, certs, strlen(certs)) &&
		    target[strlen(certs)] == '/')
			continue;
		if (mount(c->o->ca_bundle, target, NULL, MS_BIND, NULL) < 0) {
			warn("cannot mount the islo-net CA bundle over %s: %s",
			     target, strerror(errno));
			continue;
		}
		confine_mount_ro(target);
	}
}

static int child_mounts(struct ns_child *c)
{
	char target[PATH_MAX];

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return child_fail(c, "cannot make / private in the sandbox's "
				  "mount namespace: %s", strerror(errno));

	/* realpath(): mount over the file a symlink points to, if any. */
	if (!realpath("/etc/resolv.conf", target)) {
		warn("/etc/resolv.conf: %s: the sandbox keeps the host's "
		     "resolver configuration", strerror(errno));
		return 0;
	}
	if (mount(c->resolv, target, NULL, MS_BIND, NULL) < 0) {
		warn("cannot bind-mount the sandbox's resolv.conf over %s: %s",
		     target, strerror(errno));
		return 0;
	}
	/* Read-only, so CMD does not scribble on it. */
	if (confine_mount_ro(target) < 0)
		return child_fail(c, "cannot make %s read-only in the sandbox",
				  target);
	return 0;
}

static int child_tap(struct ns_child *c, int *tapfd)
{
	struct ifreq ifr;
	int fd, e;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == EACCES || e == EPERM)
			return child_fail(c, "cannot open /dev/net/tun: %s: "
					  "a sandbox run by an ordinary user "
					  "needs it readable and writable by "
					  "all (chmod 0666 /dev/net/tun, as "
					  "most distributions ship it)",
					  strerror(e));
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			return child_fail(c, "cannot open /dev/net/tun: %s "
					  "(is the tun module loaded?)",
					  strerror(e));
		return child_fail(c, "cannot open /dev/net/tun: %s",
				  strerror(e));
	}
	memset(&ifr, 0, sizeof(ifr));
	/* with a gateway, checksum offload: a virtio_net_hdr on each frame,
	 * and the sandbox's kernel may leave checksums partial (gw.c) */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI |
			(c->o->profile && !getenv("ISLO_NO_OFFLOAD") ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ISLO_TAP_NAME);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		return child_fail(c, "cannot create %s (TUNSETIFF): %s",
				  ISLO_TAP_NAME, strerror(e));
	}
	/* best effort: without it the kernel sends whole checksums, and
	 * TCP cut at the MTU (segmentation offload: 64 KiB segments for any
	 * MTU, link_vnet_input()) */
	if ((ifr.ifr_flags & IFF_VNET_HDR) &&
	    (getenv("ISLO_NO_TSO") ||
	     ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 |
						       TUN_F_TSO6)) < 0))
		ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM);
	*tapfd = fd;
	return 0;
}

static int child_net(struct ns_child *c)
{
	static const char *const v6conf[] = {
		"/proc/sys/net/ipv6/conf/" ISLO_TAP_NAME "/accept_dad",
		"/proc/sys/net/ipv6/conf/" ISLO_TAP_NAME "/accept_ra",
	};
	struct nl nl;
	int lo, tap, e;
	size_t i;

	lo = (int)if_nametoindex("lo");
	tap = (int)if_nametoindex(ISLO_TAP_NAME);
	if (!lo || !tap)
		return child_fail(c, "cannot find lo or %s in the sandbox",
				  ISLO_TAP_NAME);
	/* Before the link is up; best effort (IPv6 may be disabled). */
	for (i = 0; i < sizeof(v6conf) / sizeof(v6conf[0]); i++)
		write_file(v6conf[i], "0");

	e = nl_open(&nl);
	if (e < 0)
		return child_fail(c, "rtnetlink: %s", strerror(-e));
	e = nl_link_up(&nl, lo, 0);
	if (e < 0) {
		child_fail(c, "cannot bring lo up: %s", strerror(-e));
		goto out;
	}
	e = nl_link_up(&nl, tap, c->o->mtu);
	if (e < 0) {
		child_fail(c, "cannot bring %s up with MTU %d: %s",
			   ISLO_TAP_NAME, c->o->mtu, strerror(-e));
		goto out;
	}
	e = nl_addr_add(&nl, tap, AF_INET, ISLO_GUEST4, ISLO_PREFIX4);
	if (e < 0) {
		child_fail(c, "cannot add %s/%d to %s: %s", ISLO_GUEST4,
			   ISLO_PREFIX4, ISLO_TAP_NAME, strerror(-e));
		goto out;
	}
	e = nl_default_route(&nl, tap, AF_INET, ISLO_GW4);
	if (e < 0) {
		child_fail(c, "cannot add the default route via %s: %s",
			   ISLO_GW4, strerror(-e));
		goto out;
	}
	/*
	 * IPv6 can be disabled on the host (ipv6.disable=1, or
	 * disable_ipv6 by default): then the sandbox is IPv4 only.
	 */
	e = nl_addr_add(&nl, tap, AF_INET6, ISLO_GUEST6, ISLO_PREFIX6);
	if (e == 0)
		e = nl_default_route(&nl, tap, AF_INET6, ISLO_GW6);
	if (e < 0) {
		warn("IPv6 set-up of %s failed (%s): the sandbox has IPv4 "
		     "only", ISLO_TAP_NAME, strerror(-e));
		e = 0;
	}
out:
	close(nl.fd);
	return e < 0 ? -1 : 0;
}

/* A sysfs of the sandbox's own network namespace over /sys, so that
 * /sys/class/net shows tap0 and lo rather than the host's interfaces, as in
 * a container.  Best effort: some hosts forbid it (a locked /sys). */
static void child_sysfs(void)
{
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		debug("cannot mount the sandbox's own sysfs: %s",
		      strerror(errno));
}

/* C, in the outer namespaces: every mount CMD will find locked. */
static int child_setup(struct ns_child *c, int sock)
{
	if (outer_userns(c, sock) < 0 || child_mounts(c) < 0)
		return -1;
	child_bundle(c);
	if (c->o->confine && confine_apply(c->o->confine, c->msg, c->msglen) < 0)
		return -1;
	/* The working directory was taken before those mounts: a lookup
	 * relative to it would walk the file system beneath them.  Enter it
	 * again, by name, through the mounts */
	{
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)) || chdir(cwd) < 0)
			return child_fail(c, "cannot re-enter the working "
					  "directory in the sandbox: %s",
					  strerror(errno));
	}
	return 0;
}

/* K's user namespace: init writes its maps (every id of the outer one,
 * to itself), or we write one line.  @kp: to init, @ip: from init */
static int cmd_userns(struct ns_child *c, int kp, int ip)
{
	char m = NS_MSG_MAP;
	ssize_t n;

	if (c->map.mode == IDMAP_SINGLE)
		return child_userns(c, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET,
				    0, 0);
	if (ns_unshare(c, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) < 0)
		return -1;
	if (write(kp, &m, 1) != 1)
		return child_fail(c, "init: %s", strerror(errno));
	do
		n = read(ip, &m, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || m != NS_MSG_MAPPED)
		return child_fail(c, "the sandbox's init could not map its ids");
	return 0;
}

/* K, in CMD's own namespaces: the link. */
static int cmd_setup(struct ns_child *c, int *tapfd, int kp, int ip)
{
	if (cmd_userns(c, kp, ip) < 0)
		return -1;
	/* the maps are written: not dumpable again until CMD's exec */
	prctl(PR_SET_DUMPABLE, 0);
	if (child_tap(c, tapfd) < 0)
		return -1;
	if (child_net(c) < 0) {
		close(*tapfd);
		return -1;
	}
	child_sysfs();
	return 0;
}

static void child_send_err(int sock, const char *msg)
{
	char buf[NS_ERRLEN + 1];
	size_t len = strnlen(msg, NS_ERRLEN);

	buf[0] = NS_MSG_ERR;
	memcpy(buf + 1, msg, len);
	send(sock, buf, len + 1, MSG_NOSIGNAL);
}

/**
 * struct fdmsg - one control-socket message: bytes and up to two fds
 * @iov: The bytes
 * @u:   Room for the descriptors (SCM_RIGHTS)
 * @mh:  The message, pointing at both
 */
struct fdmsg {
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh;
};

static void fdmsg_init(struct fdmsg *m, void *data, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->iov.iov_base = data;
	m->iov.iov_len = len;
	m->mh.msg_iov = &m->iov;
	m->mh.msg_iovlen = 1;
	m->mh.msg_control = m->u.buf;
	m->mh.msg_controllen = sizeof(m->u.buf);
}

/* The TAP fd, and one to our network namespace: the gateway holds it so
 * that the namespace (and what CMD's sockets still have to send) outlives
 * CMD while the link drains (supervisor_linger()). */
static int child_send_tap(int sock, int tapfd)
{
	char byte = NS_MSG_TAP;
	struct fdmsg m;
	struct cmsghdr *cm;
	int fds[2], r;

	fds[0] = tapfd;
	fds[1] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fds[1] < 0)
		return -1;
	fdmsg_init(&m, &byte, 1);
	cm = CMSG_FIRSTHDR(&m.mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	r = sendmsg(sock, &m.mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
	close(fds[1]);
	return r;
}

/* ------------------------------------------------------------------ */
/* The sandbox's init (pid 1 of its PID namespace), and its relay      */

static volatile pid_t relay_to;   /* who a relayed signal goes to */

static void relay_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* the terminal signals the whole process group: CMD has it too */
	if (si && si->si_code == SI_KERNEL)
		return;
	if (relay_to > 0)
		kill(relay_to, sig);
}

static void relay_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGUSR1, SIGUSR2 };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = relay_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Wait for @pid (reaping any other child on the way); its status as an
 * exit code: N, or 128+N when signal N killed it. */
static int relay_wait(pid_t pid)
{
	int status;
	pid_t p;

	relay_signals();
	for (;;) {
		p = waitpid(-1, &status, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return 125;
		if (p != pid)
			continue;
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
		if (WIFSIGNALED(status))
			return 128 + WTERMSIG(status);
	}
}

/*
 * init and the relay are forks of the gateway, so they would carry a copy
 * of its memory (its environment, a profile) for the sandbox's whole life,
 * and init is ptrace-able by CMD (same user, same namespace).  Each of
 * them therefore execs a fresh islo-net image at once (ns_init_main() and
 * ns_relay_main(), chosen by main() from argv[1]).
 */
const char *ns_self_exe;

static void __attribute__((noreturn)) exec_self(char **argv)
{
	/* our binary as main() found it: under valgrind (or another loader)
	 * /proc/self/exe is the loader */
	execv(ns_self_exe ? ns_self_exe : "/proc/self/exe", argv);
	fprintf(stderr, "islo-net: cannot re-execute itself: %s\n",
		strerror(errno));
	_exit(125);
}

/* Relay signals to the pid in @arg (> 1) until it exits; its status. */
static int relay_pid(const char *arg)
{
	char *end;
	long pid;

	errno = 0;
	pid = strtol(arg, &end, 10);
	if (errno || *end || pid <= 1)
		return 125;
	relay_to = (pid_t)pid;
	return relay_wait((pid_t)pid);
}

int ns_init_main(int argc, char **argv)
{
	if (argc != 3)
		return 125;
	/* CMD runs as our user, in a user namespace inside ours: once we are
	 * not dumpable, it may not ptrace us (nor read /proc/1/root, which
	 * leads to the unlocked mounts) without a capability in ours */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		return 125;
	/* the relay outside dies (SIGKILL from the supervisor): so do we,
	 * and with pid 1 the whole namespace */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getpid() != 1)
		return 125;
	return relay_pid(argv[2]);
}

int ns_relay_main(int argc, char **argv)
{
	return argc == 3 ? relay_pid(argv[2]) : 125;
}

/* K: CMD's namespaces and link, the TAP fd to the gateway, then CMD. */
static void __attribute__((noreturn))
cmd_main(struct ns_child *c, int sock, int kp, int ip)
{
	char go;
	int tapfd = -1;
	ssize_t n;

	/* init is not dumpable; we must be, to write our own maps */
	prctl(PR_SET_DUMPABLE, 1);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != 1)
		_exit(125);
	if (cmd_setup(c, &tapfd, kp, ip) < 0) {
		child_send_err(sock, c->msg);
		_exit(125);
	}
	close(kp);
	close(ip);
	if (child_send_tap(sock, tapfd) < 0)
		_exit(125);
	close(tapfd);

	do
		n = read(sock, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || go != NS_MSG_GO)
		_exit(125);   /* the parent gave up: it said why */
	close(sock);

	if (c->o->child_env)
		environ = c->o->child_env;
	execvp(c->o->argv[0], c->o->argv);
	fprintf(stderr, "islo-net: %s: %s\n", c->o->argv[0], strerror(errno));
	_exit(127);
}

/*
 * I, for K: once K has unshared its user namespace, map every id of ours
 * to itself there (we hold CAP_SETUID in ours, its parent).  K gives up
 * if we do not answer; nothing to do with the single map.
 */
static void init_map_cmd(const struct ns_child *c, pid_t cmd, int kp, int ip)
{
	char path[64], map[64], m;
	const char *const files[2] = { "uid_map", "gid_map" };
	ssize_t n;
	int i, ok = 1;

	if (c->map.mode == IDMAP_SINGLE)
		return;
	do
		n = read(kp, &m, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1 || m != NS_MSG_MAP)
		return;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)cmd, files[i]);
		/* one line per line of our own map: a line of a child's map
		 * must fall within one line of its parent's */
		snprintf(map, sizeof(map), "0 0 1\n1 1 %lu\n",
			 idmap_count(&c->map, i) - 1);
		if (write_file(path, map) < 0)
			ok = 0;
	}
	m = ok ? NS_MSG_MAPPED : NS_MSG_ERR;
	if (write(ip, &m, 1) < 0)
		(void)0;
}

/* I: pid 1. Our /proc, then K, then a fresh image that waits for it. */
static void __attribute__((noreturn))
init_main(struct ns_child *c, int sock)
{
	char pidbuf[24];
	char *av[] = { (char *)"islo-net", (char *)"__sandbox-init", pidbuf,
		       NULL };
	int kp[2], ip[2];
	pid_t cmd;

	prctl(PR_SET_DUMPABLE, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(125);
	/* ps and /proc/PID show the sandbox's processes only; the host's
	 * /proc stays under it, locked there for CMD.  A kernel that refuses
	 * (a /proc with hidden parts) would leave the host's processes in
	 * view: refuse to run instead */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0) {
		child_fail(c, "cannot mount the sandbox's own /proc: %s",
			   strerror(errno));
		child_send_err(sock, c->msg);
		_exit(125);
	}
	if (pipe2(kp, O_CLOEXEC) < 0 || pipe2(ip, O_CLOEXEC) < 0) {
		child_fail(c, "pipe: %s", strerror(errno));
		child_send_err(sock, c->msg);
		_exit(125);
	}
	cmd = fork();
	if (cmd < 0) {
		child_fail(c, "fork: %s", strerror(errno));
		child_send_err(sock, c->msg);
		_exit(125);
	}
	if (cmd == 0) {
		close(kp[0]);
		close(ip[1]);
		cmd_main(c, sock, kp[1], ip[0]);
	}
	close(sock);
	close(kp[1]);
	close(ip[0]);
	init_map_cmd(c, cmd, kp[0], ip[1]);
	close(kp[0]);
	close(ip[1]);
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)cmd);
	exec_self(av);
}

static void __attribute__((noreturn))
child_main(struct ns_child *c, int sock, pid_t ppid)
{
	char msg[NS_ERRLEN];
	pid_t init;

	supervisor_child_reset();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != ppid)
		_exit(125);
	/*
	 * The gateway makes itself non-dumpable once it holds secrets
	 * (secrets_no_core()), and we inherit that; but a non-dumpable
	 * process cannot write its own /proc/self/{setgroups,uid_map,gid_map}.
	 * This child holds the secrets only as the copy-on-write image that
	 * the exec below discards, and runs nothing else meanwhile.
	 */
	prctl(PR_SET_DUMPABLE, 1);

	c->msg = msg;
	c->msglen = sizeof(msg);
	if (child_setup(c, sock) < 0) {
		child_send_err(sock, msg);
		_exit(125);
	}
	/* unshare() kept the parent-death signal; be sure all the same. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != ppid)
		_exit(125);
	fflush(NULL);
	init = fork();
	if (init < 0) {
		child_fail(c, "fork: %s", strerror(errno));
		child_send_err(sock, msg);
		_exit(125);
	}
	if (init == 0)
		init_main(c, sock);
	close(sock);
	{
		/* the relay: islo-net __sandbox-relay PID */
		char pidbuf[24];
		char *av[] = { (char *)"islo-net", (char *)"__sandbox-relay",
			       pidbuf, NULL };

		relay_to = init;
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)init);
		exec_self(av);
	}
}

/* ------------------------------------------------------------------ */
/* The parent                                                          */
/* ------------------------------------------------------------------ */

/**
 * resolv_write() - Write the sandbox's resolv.conf to a temporary file
 * @path:  Its name, on success
 * @size:  Size of @path
 * Return: 0, or -1 (reported)
 */
static int resolv_write(char *path, size_t size)
{
	const char *dirs[3] = { getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR"),
				"/tmp" };
	size_t len = strlen(RESOLV_CONF), i;
	int fd = -1, e = 0;

	for (i = 0; i < 3 && fd < 0; i++) {
		if (!dirs[i] || dirs[i][0] != '/')
			continue;
		if ((size_t)snprintf(path, size, "%s/islo-net-resolv.XXXXXX",
				     dirs[i]) >= size)
			continue;
		fd = mkostemp(path, O_CLOEXEC);
		e = errno;
	}
	if (fd < 0) {
		err("cannot create a temporary resolv.conf: %s", strerror(e));
		return -1;
	}
	if (fchmod(fd, 0644) < 0 || write(fd, RESOLV_CONF, len) != (ssize_t)len) {
		err("%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

static void describe_exit(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "stopped");
}

/**
 * parent_recv() - Wait for the child's set-up report
 * @sock:   Control socket
 * @tapfd:  The TAP fd, on success
 * @msg:    Error text, on failure (empty: the child died without a word)
 * @size:   Size of @msg
 * Return: 0, or -1
 */
static int parent_recv(int sock, int *tapfd, int *nsfd, char *msg,
		       size_t size)
{
	char buf[NS_ERRLEN + 1];
	struct fdmsg m;
	struct cmsghdr *cm;
	ssize_t n;
	int fd = -1, fd2 = -1;

	msg[0] = '\0';
	fdmsg_init(&m, buf, sizeof(buf));
	do
		n = recvmsg(sock, &m.mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(msg, size, "control socket: %s", strerror(errno));
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&m.mh); cm; cm = CMSG_NXTHDR(&m.mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		if (cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		if (cm->cmsg_len >= CMSG_LEN(2 * sizeof(int)))
			memcpy(&fd2, CMSG_DATA(cm) + sizeof(int), sizeof(int));
	}
	if (n >= 1 && buf[0] == NS_MSG_TAP && fd >= 0 && fd2 >= 0 &&
	    !(m.mh.msg_flags & MSG_CTRUNC)) {
		*tapfd = fd;
		*nsfd = fd2;
		return 0;
	}
	if (n == 1 && buf[0] == NS_MSG_MAP && fd < 0)
		return 1;
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	if (n >= 1 && buf[0] == NS_MSG_ERR) {
		char esc[NS_ERRLEN * 4 + 4];

		/* Our own child's words, but escape them all the same. */
		log_escape(buf + 1, (size_t)n - 1, esc, sizeof(esc));
		snprintf(msg, size, "%s", esc);
	} else if (n > 0) {
		snprintf(msg, size, "unexpected message from the sandbox");
	}
	return -1;
}

int ns_spawn(const struct run_opts *o, int *tapfd, pid_t *pid, int *ctlfd,
	     int *netnsfd)
{
	struct ns_child c = {
		.o = o, .uid = geteuid(), .gid = getegid(),
	};
	int r;
	char resolv[PATH_MAX], msg[NS_ERRLEN * 4 + 8], how[64];
	pid_t ppid = getpid(), child;
	int sv[2], fd = -1, status, fl;

	if (!o->argv || !o->argv[0]) {
		err("no command to run");
		return -1;
	}
	if (resolv_write(resolv, sizeof(resolv)) < 0)
		return -1;
	c.resolv = resolv;
	idmap_plan(&c.map);
	if (c.map.mode == IDMAP_SINGLE)
		info("the sandbox has one user id (0, yours outside): %s; "
		     "programs that change user inside will fail", c.map.why);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		err("socketpair: %s", strerror(errno));
		unlink(resolv);
		return -1;
	}
	fflush(NULL);   /* nothing buffered is written twice */
	child = fork();
	if (child < 0) {
		err("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		unlink(resolv);
		return -1;
	}
	if (child == 0) {
		close(sv[0]);
		child_main(&c, sv[1], ppid);
	}
	close(sv[1]);

	/* the child may first ask for its id maps (idmap.h) */
	while ((r = parent_recv(sv[0], &fd, netnsfd, msg, sizeof(msg))) == 1) {
		char e[256], a = NS_MSG_MAPPED;

		if (idmap_apply(&c.map, child, e, sizeof(e)) < 0) {
			warn("cannot give the sandbox more than one user id "
			     "(%s): it has one", e);
			a = NS_MSG_SINGLE;
		}
		if (send(sv[0], &a, 1, MSG_NOSIGNAL) != 1)
			break;
	}
	if (r != 0) {
		/* The child exits by itself after an error; reap it. */
		unlink(resolv);
		close(sv[0]);
		if (!msg[0])
			kill(child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		if (!msg[0]) {
			describe_exit(status, how, sizeof(how));
			snprintf(msg, sizeof(msg), "the sandbox's set-up "
				 "process %s", how);
		}
		err("sandbox set-up failed: %s", msg);
		return -1;
	}
	unlink(resolv);

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err("TAP fd: %s", strerror(errno));
		close(fd);
		close(*netnsfd);
		close(sv[0]);
		kill(child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		return -1;
	}
	*tapfd = fd;
	*pid = child;
	*ctlfd = sv[0];
	return 0;
}

int ns_go(int ctlfd)
{
	char go = NS_MSG_GO;
	ssize_t n;

	do
		n = send(ctlfd, &go, 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	close(ctlfd);
	if (n != 1) {
		err("cannot start the command in the sandbox: %s",
		    n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}
