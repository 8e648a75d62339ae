// SPDX-License-Identifier: MIT
/*
 * test_isolation.c - the seccomp filter, in forked children: what the table
 * allows works, anything else kills the process with SIGSYS.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isolation.h"
#include "log.h"
#include "unit.h"

enum probe {
	P_ALLOWED,      /* socket(AF_INET), read-only openat, mmap RW */
	P_NETLINK,      /* socket(AF_NETLINK): family not allowed */
	P_WRITE_OPEN,   /* openat O_RDWR: not allowed */
	P_EXEC_MAP,     /* mmap PROT_EXEC: not allowed */
	P_EXECVE,       /* not in the table at all */
	P_X32,          /* the x32 ABI's getpid */
};

/* Status of a child that isolated itself, then ran @p. */
static int run_probe(enum probe p)
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd;
		void *m;

		unsetenv("ISLO_SECCOMP");
		log_verbosity = -1;
		if (isolate_serving() < 0)
			_exit(90);
		switch (p) {
		case P_ALLOWED:
			fd = socket(AF_INET, SOCK_DGRAM, 0);
			if (fd < 0)
				_exit(91);
			close(fd);
			fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				_exit(92);
			close(fd);
			m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				_exit(93);
			_exit(0);
		case P_NETLINK:
			syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0);
			break;
		case P_WRITE_OPEN:
			syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR);
			break;
		case P_EXEC_MAP:
			syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case P_EXECVE:
			syscall(SYS_execve, "/bin/true", NULL, NULL);
			break;
		case P_X32:
#ifdef __x86_64__
			syscall(0x40000000 | SYS_getpid);
			break;
#else
			raise(SIGSYS);
			break;
#endif
		}
		_exit(95);   /* survived: the filter let it through */
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

TEST(seccomp_allows_the_table)
{
	int st = run_probe(P_ALLOWED);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Under ASan the run-time's own table allows any openat and mmap. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

TEST(seccomp_kills_anything_else)
{
	static const enum probe bad[] = { P_NETLINK, P_EXECVE, P_X32,
#ifndef SANITIZED
					  P_WRITE_OPEN, P_EXEC_MAP,
#endif
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = run_probe(bad[i]);

		if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS))
			fprintf(stderr, "probe %zu: status 0x%x\n", i, st);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	}
}
