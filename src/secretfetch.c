// SPDX-License-Identifier: MIT
/*
 * secretfetch.c - the secret fetcher (secretfetch.h): a helper process
 * that runs `cmd:` secrets' programs again, and the serving loop's side
 * of it.
 *
 * DOC: Theory of Operation
 *
 * The serving process may not fork or exec once isolated, and must not
 * gain either.  So the powers are split: before isolation,
 * secretfetch_start() forks a child that keeps fork and execve and gives
 * up everything else it inherited:
 *
 * - descriptors: its end of a SOCK_SEQPACKET socketpair becomes fd 3;
 *   0, 1 and 2 are /dev/null; every other one is closed (it never holds
 *   the TAP, a sandbox or upstream socket, the audit log, a profile);
 * - memory: secret pages are MADV_WIPEONFORK, so it holds no secret
 *   value; the environment variables no program may get (env: secrets
 *   among them) are zeroed in its copy of the environment;
 * - its own session (setsid(): no terminal, no terminal signals), the
 *   parent-death signal, and exit at end of file on its socket;
 * - no seccomp filter of its own: the programs it runs are the user's own
 *   CLIs (gh, aws, a password manager), which need what any program needs;
 *   a filter would be inherited by them (and NO_NEW_PRIVS with it).  What
 *   keeps it safe is what it holds (nothing) and what it accepts: a
 *   12-byte request naming a secret *index*; it runs only the programs of
 *   the profile it was forked with, split at start-up, never a command
 *   text sent to it.
 *
 * The fetcher runs each program in a worker of its own (one per secret at
 * most), so a program that hangs holds up no other secret's; the worker
 * runs it with secret_cmd_run() (clean environment, timeout, bounded
 * output) and answers with one message (SOCK_SEQPACKET: whole, whoever
 * sends it):
 * a header (magic, generation, index, ok, length) and the value, or the
 * reason it failed.  The serving side reads it with one recvmsg() into a
 * secret mapping of SECRET_MAX + 1 bytes: a message of any other size, a
 * truncated one, one for a secret that was not asked for or of another
 * generation is dropped.  The fetcher lives in the host's namespaces (it
 * is forked before the sandbox's namespaces exist) as the user islo-net
 * runs as; the sandbox, in its own PID namespace, cannot see or signal it.
 */
#include "secretfetch.h"

#include "log.h"
#include "secret.h"
#include "secretcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define FX_MAGIC    0x69736678u  /* "isfx" */
#define FX_ERRMAX   1024         /* a failure's text, at most */
#define FX_BACKOFF_MAX 60000     /* ms between retries after failures */
#define FX_SOCK     3            /* the fetcher's socket */

/* The serving loop's request: run the program of secret @idx. */
struct fx_req {
	uint32_t magic;
	uint32_t gen;
	uint32_t idx;
};

/* The fetcher's answer, followed by @len bytes: the value (@ok 1) or why
 * not (@ok 0). */
struct fx_rep {
	uint32_t magic;
	uint32_t gen;
	uint32_t idx;
	uint32_t ok;
	uint32_t len;
};

/*
 * The serving side.  One fetcher per process (the one forked before
 * isolation): file scope, like the signal state it resembles.
 */
static struct {
	int fd;
	pid_t pid;
	uint32_t gen;
	struct secrets *ss;
	uint8_t *stage;         /* a secret mapping for answers */
	size_t stagesz;
} fx = { .fd = -1, .pid = -1 };

int secretfetch_fd(void)
{
	return fx.fd;
}

int secretfetch_pid(void)
{
	return fx.pid;
}

/* ------------------------------------------------------------------ */
/* The fetcher                                                          */
/* ------------------------------------------------------------------ */

static int is_kept(const char *e, const struct secrets *ss)
{
	static const char *const base[] = { "PATH", "HOME", "USER", "LOGNAME",
					    "LANG" };
	size_t nl = strcspn(e, "="), i, j;

	for (i = 0; i < 5; i++)
		if (strlen(base[i]) == nl && !strncmp(e, base[i], nl))
			return 1;
	for (i = 0; i < ss->n; i++)
		for (j = 0; ss->s[i].cmd_env && ss->s[i].cmd_env[j]; j++)
			if (strlen(ss->s[i].cmd_env[j]) == nl &&
			    !strncmp(e, ss->s[i].cmd_env[j], nl))
				return 1;
	return 0;
}

/* Zero, in our copy, every variable no program may get. */
static void fx_env_cut(const struct secrets *ss)
{
	extern char **environ;
	size_t i;

	for (i = 0; environ && environ[i]; i++)
		if (!is_kept(environ[i], ss))
			explicit_bzero(environ[i], strlen(environ[i]));
}

/* Descriptors: the socket as FX_SOCK, /dev/null as 0-2, nothing else. */
static void fx_fds(int sock)
{
	int s = fcntl(sock, F_DUPFD_CLOEXEC, 10);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (s < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(null, 2) < 0 || dup3(s, FX_SOCK, O_CLOEXEC) < 0)
		_exit(1);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, FX_SOCK + 1U, ~0U, 0U) < 0)
#endif
	{
		int fd;

		for (fd = FX_SOCK + 1; fd < 65536; fd++)
			(void)close(fd);
	}
}

static char why_fork[128];     /* the fetcher's own failure, for fx_send() */

static void fx_send(const struct fx_req *q, int ok, const void *d,
		    size_t len)
{
	struct fx_rep h = { FX_MAGIC, q->gen, q->idx, (uint32_t)ok,
			    (uint32_t)len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)d, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	while (sendmsg(FX_SOCK, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* One request: run the program, answer. */
static void fx_serve(const struct fx_req *q, char ***argv, size_t n,
		     const struct secrets *ss, uint8_t *buf, size_t bufsz)
{
	char why[FX_ERRMAX];
	size_t len = 0;

	if (q->magic != FX_MAGIC || q->idx >= n || !argv[q->idx]) {
		snprintf(why, sizeof(why), "no such cmd: secret");
		fx_send(q, 0, why, strlen(why));
		return;
	}
	if (secret_cmd_run(argv[q->idx], ss->s[q->idx].cmd_env,
			   SECRET_CMD_TIMEOUT_MS, buf, SECRET_MAX + 1, &len,
			   why, sizeof(why)) < 0) {
		fx_send(q, 0, why, strnlen(why, sizeof(why)));
	} else {
		fx_send(q, 1, buf, len);
	}
	explicit_bzero(buf, bufsz);
	explicit_bzero(why, sizeof(why));
}

/* Forget the workers that have finished (@run: a worker's pid by index). */
static void fx_reap(pid_t *run, size_t n)
{
	pid_t w;
	size_t i;
	int st;

	while ((w = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < n; i++)
			if (run[i] == w)
				run[i] = 0;
}

/*
 * One request: a worker process runs the program and answers, so that a
 * program that hangs (for up to its timeout) does not hold up another
 * secret's.  At most one worker per secret: the serving side asks no
 * more, and a second request for the same secret is answered at once.
 */
static void fx_start(const struct fx_req *q, char ***argv,
		     const struct secrets *ss, pid_t *run, uint8_t *buf,
		     size_t bufsz)
{
	static const char busy[] = "a run of this program is in flight already";
	pid_t self = getpid(), w;

	if (q->magic != FX_MAGIC || q->idx >= ss->n || !argv[q->idx]) {
		fx_serve(q, argv, ss->n, ss, buf, bufsz);  /* the refusal */
		return;
	}
	if (run[q->idx]) {
		fx_send(q, 0, busy, sizeof(busy) - 1);
		return;
	}
	w = fork();
	if (w == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != self)
			_exit(0);
		(void)mlock(buf, bufsz);   /* locks are not inherited */
		fx_serve(q, argv, ss->n, ss, buf, bufsz);
		_exit(0);
	}
	if (w < 0) {
		snprintf(why_fork, sizeof(why_fork), "cannot run it: fork: %s",
			 strerror(errno));
		fx_send(q, 0, why_fork, strlen(why_fork));
		return;
	}
	run[q->idx] = w;
}

/* The fetcher's life: never returns. */
static void __attribute__((noreturn))
fx_main(int sock, const struct secrets *ss, pid_t parent)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	char ***argv, why[256];
	sigset_t none;
	size_t i, bufsz;
	uint8_t *buf;
	pid_t *run;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(0);
	fx_fds(sock);
	(void)setsid();
	/* its own name in ps and /proc/PID/comm */
	(void)prctl(PR_SET_NAME, "islo-fetcher", 0, 0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* secret_cmd_run() waits for its program: SIGCHLD must not be
	 * ignored (or the kernel would reap it first) */
	sigaction(SIGCHLD, &dfl, NULL);
	fx_env_cut(ss);
	argv = calloc(ss->n + 1, sizeof(*argv));
	run = calloc(ss->n + 1, sizeof(*run));
	buf = secret_map(SECRET_MAX + 1, &bufsz);
	if (!argv || !run || !buf)
		_exit(1);
	for (i = 0; i < ss->n; i++)
		if (ss->s[i].ttl_ms && !strncmp(ss->s[i].ref, "cmd:", 4) &&
		    secret_cmd_split(ss->s[i].ref + 4, &argv[i], why,
				     sizeof(why)) < 0)
			argv[i] = NULL;
	for (;;) {
		struct fx_req q;
		ssize_t n;

		n = recv(FX_SOCK, &q, sizeof(q), 0);
		if (n == 0)
			_exit(0);     /* the serving process has gone */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (n != (ssize_t)sizeof(q))
			q.magic = 0;
		fx_reap(run, ss->n);   /* the workers that ended while we slept */
		fx_start(&q, argv, ss, run, buf, bufsz);
	}
}

/* ------------------------------------------------------------------ */
/* The serving side                                                    */
/* ------------------------------------------------------------------ */

int secretfetch_start(struct secrets *ss, char *err, size_t errlen)
{
	pid_t self = getpid(), pid;
	size_t i, need = 0;
	int sv[2];

	/* a reload may keep these cmd: secrets (secret.c) */
	secrets_startup(ss);
	for (i = 0; ss && i < ss->n; i++)
		need += ss->s[i].ttl_ms != 0;
	if (!need || fx.fd >= 0)
		return 0;
	fx.stage = secret_map(SECRET_MAX + 1, &fx.stagesz);
	if (!fx.stage) {
		snprintf(err, errlen, "secret fetcher: out of memory");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "secret fetcher: socketpair: %s",
			 strerror(errno));
		return -1;
	}
	fflush(NULL);   /* nothing buffered is written twice */
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "secret fetcher: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		fx_main(sv[1], ss, self);
	}
	close(sv[1]);
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fx.fd = sv[0];
	fx.pid = pid;
	fx.ss = ss;
	fx.gen = 1;
	debug("secret fetcher started (pid %d) for %zu secret%s with secret_ttl",
	      (int)pid, need, need == 1 ? "" : "s");
	return 0;
}

/* The fetcher has gone: no more runs; what we hold expires as it is. */
static void fx_gone(void)
{
	size_t i;

	if (fx.fd < 0)
		return;
	close(fx.fd);
	fx.fd = -1;
	warn("the secret fetcher (pid %d) has exited: cmd: secrets with secret_ttl are no longer refreshed and are refused once they expire",
	     (int)fx.pid);
	for (i = 0; fx.ss && i < fx.ss->n; i++)
		if (fx.ss->s[i].ttl_ms)
			fx.ss->s[i].run = SECRET_RUN_GONE;
}

/* A run failed (@why: the fetcher's text, untrusted: escaped here). */
static void fx_failed(struct secret *s, const char *why, size_t len,
		      uint64_t now)
{
	char esc[FX_ERRMAX * 4 + 8];

	log_escape(why, len < FX_ERRMAX ? len : FX_ERRMAX, esc, sizeof(esc));
	s->run = SECRET_RUN_FAILED;
	s->retry_ms = now + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > FX_BACKOFF_MAX ? FX_BACKOFF_MAX :
			s->backoff_ms * 2;
	warn("secret %s: running its program again failed, the last value is used until it is %llu s old: %s",
	     s->ref, (unsigned long long)(s->ttl_ms / 1000), esc);
}

/* One answer of @len bytes after its header @h, in fx.stage. */
static void fx_apply(const struct fx_rep *h, size_t len)
{
	uint64_t now = secret_now_ms();
	struct secret *s;

	/* an answer for a secret no longer there (or never asked) */
	if (h->gen != fx.gen || !fx.ss || h->idx >= fx.ss->n)
		return;
	s = &fx.ss->s[h->idx];
	if (!s->ttl_ms || s->run != SECRET_RUN_BUSY)
		return;
	if (h->ok != 1) {
		fx_failed(s, (const char *)fx.stage, len, now);
		return;
	}
	if (secret_replace(s, fx.stage, len, now) < 0) {
		static const char bad[] =
			"it printed a value that cannot be used (a control character, or too long for its use)";

		fx_failed(s, bad, sizeof(bad) - 1, now);
		return;
	}
	s->run = SECRET_RUN_OK;
	s->backoff_ms = 1000;
	s->retry_ms = 0;
	info("secret %s: its program was run again (secret_ttl %llu s)",
	     s->ref, (unsigned long long)(s->ttl_ms / 1000));
}

void secretfetch_readable(void)
{
	for (;;) {
		struct fx_rep h;
		struct iovec iov[2] = { { &h, sizeof(h) },
					{ fx.stage, SECRET_MAX + 1 } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n;

		if (fx.fd < 0 || !fx.stage)
			return;
		n = recvmsg(fx.fd, &m, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			fx_gone();
			return;
		}
		if ((m.msg_flags & MSG_TRUNC) || (size_t)n < sizeof(h) ||
		    h.magic != FX_MAGIC || h.len != (size_t)n - sizeof(h) ||
		    h.len > SECRET_MAX)
			warn("secret fetcher: a malformed answer, dropped");
		else
			fx_apply(&h, h.len);
		explicit_bzero(fx.stage, fx.stagesz);
	}
}

/* Ask for secret @i's program.  Return: 0, or -1 (try later). */
static int fx_ask(size_t i)
{
	struct fx_req q = { FX_MAGIC, fx.gen, (uint32_t)i };
	ssize_t n = sendto(fx.fd, &q, sizeof(q), MSG_DONTWAIT | MSG_NOSIGNAL,
			   NULL, 0);

	if (n == (ssize_t)sizeof(q))
		return 0;
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		fx_gone();
	return -1;
}

int secretfetch_tick(void)
{
	uint64_t now, due;
	int64_t next = -1;
	size_t i;

	if (fx.fd < 0 || !fx.ss)
		return -1;
	now = secret_now_ms();
	for (i = 0; i < fx.ss->n && fx.fd >= 0; i++) {
		struct secret *s = &fx.ss->s[i];

		if (!s->ttl_ms || s->run == SECRET_RUN_BUSY ||
		    s->run == SECRET_RUN_GONE)
			continue;
		/* at 80% of the TTL: the old value is still good meanwhile */
		due = s->fetched_ms + s->ttl_ms * 4 / 5;
		if (s->retry_ms > due)
			due = s->retry_ms;
		if (now >= due) {
			if (fx_ask(i) == 0) {
				s->run = SECRET_RUN_BUSY;
				continue;
			}
			due = now + 100;
		}
		if (next < 0 || (int64_t)(due - now) < next)
			next = (int64_t)(due - now);
	}
	return next > 1000 ? 1000 : (int)next;
}
