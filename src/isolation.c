// SPDX-License-Identifier: MIT
/*
 * isolation.c - stages 2 and 3 of self-isolation (see isolation.h).
 *
 * DOC: Theory of Operation
 *
 * Stage 2 drops every capability and sets PR_SET_NO_NEW_PRIVS.  Stage 3,
 * which needs stage 2's NO_NEW_PRIVS to be allowed unprivileged, installs a
 * seccomp filter built from one table, seccomp_allow[], of the system calls
 * the serving loops (gw.c and slirpnat.c, with libslirp, glib, BearSSL and
 * the C library under them) make once they are set up.  Any other system
 * call kills the whole process (SECCOMP_RET_KILL_PROCESS).
 *
 * Why kill rather than EPERM: the serving loop never makes an unlisted call
 * on a path we know of (the table comes from running every test with the
 * filter in log mode); one that does is either a bug or code that is no
 * longer ours, and letting it go on, probing with EPERMs, is what the filter
 * is there to prevent.  The cost is the sandbox's network (islo-net exits
 * with 125, `run` kills CMD), never a way out.
 *
 * Why a hand-written BPF program rather than libseccomp: the filter is a
 * short, straight list (an architecture check, the x32 ABI refused, then
 * one comparison per entry), the table says everything and is readable
 * next to the code, and the serving process links no library for it.  A
 * few entries check an argument too (read-only openat, no executable
 * mappings, the socket families): an entry is then "allowed when
 * (arg & mask) == value", and a call may have several such entries.
 *
 * ISLO_SECCOMP=log (in islo-net's own environment) makes unlisted calls
 * allowed but logged by the kernel ("audit: type=1326 ... syscall=N" in
 * the kernel log): that is how the table is found and extended.
 * ISLO_SECCOMP=off installs no filter (valgrind, for one, cannot run a
 * program under a filter that does not allow valgrind's own calls).
 */
#include "isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <linux/if_tun.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "secretcmd.h"

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = 40;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 40;
		fclose(f);
	}
	return n;
}

/**
 * drop_privileges() - Stage 2: no capabilities, NO_NEW_PRIVS
 * Return: 0, or -1 if the capabilities could not be cleared (reported)
 */
static int drop_privileges(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct data[2];
	int cap, n = last_cap();

	/* the bounding set needs CAP_SETPCAP, which we drop next: first */
	for (cap = 0; cap <= n; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0) {
		err("cannot drop capabilities: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

#ifdef SECCOMP_ARCH

/*
 * One allowed system call, or one allowed form of it: with @arg >= 0 the
 * call is allowed only when (args[@arg] & @mask) == @value, on the low 32
 * bits of the argument (flags, protections, families: all ints).
 */
struct sc_allow {
	int nr;
	int arg;
	unsigned int mask;
	unsigned int value;
};

#define SC(name)                  { __NR_##name, -1, 0, 0 }
#define SC_ARG(name, a, m, v)     { __NR_##name, (a), (m), (v) }

/* openat flags that could change a file: none, or the audit log's reopen */
#define OPEN_WRITES (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND)

/*
 * THE TABLE.  What the serving loops use after set-up, by purpose; to
 * extend it, run the tests with ISLO_SECCOMP=log (and, as the kernel
 * rate-limits its log, under `strace -f`) and read what they call.
 */
static const struct sc_allow seccomp_allow[] = {
	/* the loop: epoll (gw.c), poll (slirpnat.c, glib), timers */
#ifdef __NR_epoll_wait
	SC(epoll_wait),
#else
	SC(epoll_pwait),
#endif
	SC(epoll_ctl),
#ifdef __NR_poll
	SC(poll),
#else
	SC(ppoll),
#endif
	SC(timerfd_settime), SC(clock_gettime), SC(gettimeofday),
	SC(setitimer),                         /* supervisor's kill deadline */
	/* file descriptors: the TAP, sockets, signalfd, timerfd */
	SC(read), SC(write), SC(writev), SC(close), SC(fcntl),
	SC(lseek), SC(newfstatat),             /* and stdio, localtime() */
	/* stdio's first write to a character device asks whether it is a
	 * terminal; libslirp sizes a UDP datagram with FIONREAD; no other
	 * ioctl */
	SC_ARG(ioctl, 1, 0xffffffffu, TCGETS),
	SC_ARG(ioctl, 1, 0xffffffffu, FIONREAD),
	/* upstream TCP and UDP, the host-side resolver, libslirp's NAT */
	SC_ARG(socket, 0, 0xffffffffu, AF_INET),
	SC_ARG(socket, 0, 0xffffffffu, AF_INET6),
	SC(connect), SC(getsockopt), SC(setsockopt), SC(shutdown),
	/* libslirp calls it on its host sockets (seen in a bulk upload
	 * through the NAT: bench/run.py's islo-nat tcp_up) */
	SC(getpeername),
	SC(recvfrom), SC(recvmsg),
	/* sendto: upstream UDP, the resolver, and the daemon's TCP metrics
	 * socket */
	SC(sendto),
	/* the QEMU stream socket; the daemon's control socket (its SCM_RIGHTS
	 * come with recvmsg, above) */
	SC(accept4),
	/* re-reading profiles and secret files on reload: read-only, and
	 * resolve.c's search (access, the directory listing of "available
	 * profiles", the working directory); a profile with auth_strategy
	 * must be owned by the effective user or root (profile_load()) */
	SC_ARG(openat, 2, OPEN_WRITES, O_RDONLY),
	SC(geteuid), SC(getuid),
	SC(getdents64), SC(faccessat), SC(getcwd),
#ifdef __NR_access
	SC(access),
#endif
	/* the audit log's reopen on SIGUSR1 (logrotate) */
	SC_ARG(openat, 2, OPEN_WRITES, O_WRONLY | O_CREAT | O_APPEND),
#ifdef __NR_unlink
	SC(unlink),            /* the CA bundle, the QEMU socket, at exit */
	/* and the (emptied) directory of the sandbox's CA files */
	SC_ARG(unlinkat, 2, 0xffffffffu, AT_REMOVEDIR),
#else
	SC(unlinkat),
#endif
	/* memory: malloc, never executable */
	SC(brk), SC(munmap), SC(mremap), SC(madvise),
	SC(mlock), SC(munlock),                /* secrets: dropped; reloaded */
	SC_ARG(mmap, 2, PROT_EXEC, 0),
	SC_ARG(mprotect, 2, PROT_EXEC, 0),
	/* signals (signalfd), CMD's life cycle, abort() */
	SC(rt_sigprocmask), SC(rt_sigreturn), SC(rt_sigaction),
	SC(kill), SC(wait4), SC(getpid), SC(gettid), SC(tgkill),
	/* BearSSL's and our own seeds; the C library's locks */
	SC(getrandom), SC(futex),
	/* leaving */
	SC(restart_syscall), SC(exit), SC(exit_group),
};

/*
 * `islo-net serve` adds sandboxes after set-up, so it also needs what
 * gw_add() and the control socket use: the peer check (geteuid, in the
 * main table for reloads), a QEMU
 * stream socket made on request (an AF_UNIX socket, bound, mode 0600,
 * listening).  (A reload's secrets_no_core() is a no-op by then: the
 * daemon made itself non-dumpable before isolating.)  Only the daemon gets
 * these; `run`, `tap` and `qemu` never do.
 */
static const struct sc_allow seccomp_allow_daemon[] = {
	SC_ARG(socket, 0, 0xffffffffu, AF_UNIX),
	SC(bind), SC(listen),
#ifdef __NR_chmod
	SC(chmod),
#endif
	SC(fchmodat),
	SC(getsockname),
	/* the trust store loaded for a sandbox's first intercepting profile
	 * looks for the system bundle */
#ifdef __NR_access
	SC(access),
#endif
	SC(faccessat),
	/* is a TAP handed over with checksum offload (gw_add())? */
	SC_ARG(ioctl, 1, 0xffffffffu, TUNGETIFF),
	SC_ARG(ioctl, 1, 0xffffffffu, TUNGETVNETHDRSZ),
};

/*
 * Under AddressSanitizer/LeakSanitizer the run-time's own calls: the leak
 * check at exit stops the world with a ptrace()ing clone, reads
 * /proc/self/maps and prints its report.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ISLO_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ISLO_SANITIZED 1
#endif
#endif
#ifdef ISLO_SANITIZED
static const struct sc_allow seccomp_allow_sanitizer[] = {
	SC(clone), SC(ptrace), SC(prctl), SC(sigaltstack), SC(getppid),
	SC(sched_getaffinity), SC(sched_yield), SC(getdents64), SC(readlink),
	SC(pipe2), SC(mprotect), SC(mmap), SC(openat), SC(ioctl), SC(waitid),
	SC(nanosleep), SC(clock_nanosleep), SC(fstat), SC(pread64),
#ifdef __NR_getdents
	SC(getdents),
#endif
#ifdef __NR_open
	SC(open),
#endif
};
#endif

#define BPF_MAX 1024

struct bpf_buf {
	struct sock_filter ins[BPF_MAX];
	unsigned int n;
	int full;
};

static void emit(struct bpf_buf *b, struct sock_filter f)
{
	if (b->n >= BPF_MAX) {
		b->full = 1;
		return;
	}
	b->ins[b->n++] = f;
}

#define LD_NR  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

static void emit_table(struct bpf_buf *b, const struct sc_allow *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* the argument's low 32 bits */
		unsigned int off = (unsigned int)offsetof(struct seccomp_data, args) +
				   8u * (unsigned int)t[i].arg;

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		off += 4;
#endif
		if (t[i].arg < 0) {
			/* nr == this? allow : next entry */
			emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					(unsigned int)t[i].nr, 0, 1));
			emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					SECCOMP_RET_ALLOW));
			continue;
		}
		/* nr == this? (arg & mask) == value? allow : reload nr, next */
		emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				(unsigned int)t[i].nr, 0, 5));
		emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off));
		emit(b, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K,
				t[i].mask));
		emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				t[i].value, 0, 1));
		emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
				SECCOMP_RET_ALLOW));
		emit(b, (struct sock_filter)LD_NR);
	}
}

/**
 * seccomp_build() - Build the filter program from the table(s)
 * @b:       Program, filled in
 * @deflt:   Action for calls not in the table (KILL_PROCESS, or LOG)
 * Return: 0, or -1 if the program does not fit
 */
static int seccomp_build(struct bpf_buf *b, unsigned int deflt,
			 int daemon_mode)
{
	b->n = 0;
	b->full = 0;
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			offsetof(struct seccomp_data, arch)));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			SECCOMP_ARCH, 1, 0));
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
			SECCOMP_RET_KILL_PROCESS));
	emit(b, (struct sock_filter)LD_NR);
#ifdef __x86_64__
	/* the x32 ABI's numbers have bit 30 set: not ours, never allowed */
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
			0x40000000u, 0, 1));
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
			SECCOMP_RET_KILL_PROCESS));
#endif
	emit_table(b, seccomp_allow, sizeof(seccomp_allow) / sizeof(seccomp_allow[0]));
	if (daemon_mode)
		emit_table(b, seccomp_allow_daemon, sizeof(seccomp_allow_daemon) /
			   sizeof(seccomp_allow_daemon[0]));
#ifdef ISLO_SANITIZED
	emit_table(b, seccomp_allow_sanitizer,
		   sizeof(seccomp_allow_sanitizer) / sizeof(seccomp_allow_sanitizer[0]));
#endif
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, deflt));
	return b->full ? -1 : 0;
}

/**
 * install_seccomp() - Stage 3: the system-call filter
 * Return: 0 (installed, or ISLO_SECCOMP=off), or -1 (reported)
 */
static int install_seccomp(int daemon_mode)
{
	static struct bpf_buf b;
	const char *mode = getenv("ISLO_SECCOMP");
	unsigned int deflt = SECCOMP_RET_KILL_PROCESS;
	struct sock_fprog prog;

	if (mode && !strcmp(mode, "off")) {
		warn("ISLO_SECCOMP=off: no system-call filter");
		return 0;
	}
	if (mode && !strcmp(mode, "log")) {
		warn("ISLO_SECCOMP=log: system calls outside the filter are "
		     "logged by the kernel, not refused");
		deflt = SECCOMP_RET_LOG;
	} else if (mode && *mode && strcmp(mode, "kill")) {
		err("ISLO_SECCOMP=%s: expected kill, log or off", mode);
		return -1;
	}
	if (seccomp_build(&b, deflt, daemon_mode) < 0) {
		err("seccomp: the filter does not fit");
		return -1;
	}
	prog.len = (unsigned short)b.n;
	prog.filter = b.ins;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
		err("cannot install the system-call filter (seccomp): %s "
		    "(ISLO_SECCOMP=off runs without it)", strerror(errno));
		return -1;
	}
	return 0;
}

#else /* !SECCOMP_ARCH */

static int install_seccomp(int daemon_mode)
{
	(void)daemon_mode;
	warn("no system-call filter for this architecture");
	return 0;
}

#endif

/**
 * isolate_serving() - Drop every privilege the serving loop does not need,
 *		       then filter its system calls
 * Return: 0, or -1 if a stage failed (reported)
 */
int isolate_serving(void)
{
	/* no fork or execve from here on: cmd: secrets are refused cleanly */
	secret_cmd_forbid();
	if (drop_privileges() < 0)
		return -1;
	return install_seccomp(0);
}

/**
 * isolate_serving_daemon() - isolate_serving() for `islo-net serve`, whose
 *			      filter also lets it add sandboxes at run time
 * Return: 0, or -1 if a stage failed (reported)
 */
int isolate_serving_daemon(void)
{
	secret_cmd_forbid();
	if (drop_privileges() < 0)
		return -1;
	return install_seccomp(1);
}
