// SPDX-License-Identifier: MIT
/*
 * supervisor.c - signals and CMD's life cycle for `islo-net run`.
 *
 * Every signal islo-net cares about is blocked and read from one signalfd
 * that the datapath loop polls, so handlers never run in the middle of
 * lwIP or libslirp.  SIGINT, SIGTERM and SIGHUP sent to islo-net are
 * forwarded to CMD, which gets SUPERVISOR_KILL_GRACE_MS to exit before
 * SIGKILL; the deadline is an ITIMER_REAL whose SIGALRM arrives through the
 * same signalfd, so loops need no extra timeout for it.
 *
 * Signals the terminal generates (Ctrl-C, hang-up: si_code SI_KERNEL) went
 * to CMD already, as it is in our process group; they are neither forwarded
 * (a second SIGINT would hit CMD's own clean-up) nor arm the kill deadline
 * (an interactive shell run as CMD ignores Ctrl-C, and must not be killed
 * for it).  islo-net lives as long as CMD does.
 *
 * The state below is per process, not per struct supervisor: signal masks
 * and dispositions are per process too, and `run` supervises one child.
 */
#include "supervisor.h"

#include "log.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct {
	int inited;
	sigset_t set;             /* what we block and read from the sigfd */
	sigset_t oldmask;         /* the mask we were started with */
	struct sigaction oldpipe; /* SIGPIPE's disposition before we ignored it */
	struct sigaction oldchld; /* SIGCHLD's, before we made it SIG_DFL */
	int64_t deadline_ns;      /* CLOCK_MONOTONIC kill deadline, 0: none */
} sup;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void deadline_set(int ms)
{
	struct itimerval it = { 0 };

	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
	sup.deadline_ns = ms ? now_ns() + (int64_t)ms * 1000000 : 0;
}

int supervisor_init(struct supervisor *sv)
{
	static const int sigs[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP,
				    SIGUSR1, SIGALRM };
	struct sigaction ign;
	size_t i;

	memset(sv, 0, sizeof(*sv));
	sv->sigfd = -1;
	sv->child = -1;
	sv->go_fd = -1;

	sigemptyset(&sup.set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sup.set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &sup.set, &sup.oldmask) < 0) {
		err("sigprocmask: %s", strerror(errno));
		return -1;
	}
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &sup.oldpipe);
	/*
	 * Started with SIGCHLD ignored, the kernel would reap CMD itself and
	 * queue no SIGCHLD: we would never learn that it exited.
	 */
	ign.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &ign, &sup.oldchld);
	sup.inited = 1;
	sup.deadline_ns = 0;

	sv->sigfd = signalfd(-1, &sup.set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sv->sigfd < 0) {
		err("signalfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void supervisor_fini(struct supervisor *sv)
{
	/*
	 * The signals stay blocked: the process is about to exit with CMD's
	 * status, and a late SIGUSR1 (log rotation) or SIGALRM must not turn
	 * that into death by signal.
	 */
	if (sup.deadline_ns)
		deadline_set(0);
	if (sv->sigfd >= 0)
		close(sv->sigfd);
	sv->sigfd = -1;
}

void supervisor_child_reset(void)
{
	if (!sup.inited)
		return;
	sigaction(SIGPIPE, &sup.oldpipe, NULL);
	sigaction(SIGCHLD, &sup.oldchld, NULL);
	sigprocmask(SIG_SETMASK, &sup.oldmask, NULL);
}

int supervisor_timeout_ms(const struct supervisor *sv)
{
	int64_t left;

	if (!sup.deadline_ns || sv->done)
		return -1;
	left = sup.deadline_ns - now_ns();
	if (left <= 0)
		return 0;
	return (int)((left + 999999) / 1000000);
}

static void reap(struct supervisor *sv)
{
	int status;
	pid_t p;

	for (;;) {
		p = waitpid(-1, &status, WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			return;
		if (p != sv->child || sv->child <= 0)
			continue;
		if (WIFEXITED(status))
			sv->exit_code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			sv->exit_code = 128 + WTERMSIG(status);
		else
			continue;
		sv->done = 1;
		if (sup.deadline_ns)
			deadline_set(0);
		debug("command exited: status %d", sv->exit_code);
	}
}

static void forward(struct supervisor *sv, const struct signalfd_siginfo *si)
{
	int sig = (int)si->ssi_signo;

	/* serving a link with no command (islo-net tap/qemu): INT and TERM
	 * end the loop; HUP is for reloading, not stopping */
	if (sv->child <= 0 && !sv->done && sig != SIGHUP) {
		sv->exit_code = 0;
		sv->done = 1;
		return;
	}
	if (sv->child <= 0 && sig == SIGHUP) {
		sv->reload = 1;   /* the loop re-reads every profile */
		return;
	}
	if (sv->child <= 0 || sv->done)
		return;
	if (si->ssi_code == SI_KERNEL) {
		debug("signal %d from the terminal: the command has it too",
		      sig);
		return;
	}
	debug("forwarding signal %d to the command", sig);
	kill(sv->child, sig);
	if (!sup.deadline_ns)
		deadline_set(SUPERVISOR_KILL_GRACE_MS);
}

static void deadline_expired(struct supervisor *sv)
{
	if (!sup.deadline_ns)
		return;   /* cancelled after the SIGALRM was queued */
	sup.deadline_ns = 0;
	if (sv->child <= 0 || sv->done)
		return;
	warn("the command did not exit within %d ms of the signal: killing it",
	     SUPERVISOR_KILL_GRACE_MS);
	kill(sv->child, SIGKILL);
}

int supervisor_ready(struct supervisor *sv)
{
	int fd = sv->go_fd;

	if (fd < 0 || !sv->go)
		return 0;
	sv->go_fd = -1;
	return sv->go(fd);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int supervisor_linger(struct supervisor *sv, uint64_t frames, unsigned busy)
{
	uint64_t now = mono_ms();

	if (frames != sv->linger_frames || !sv->linger_seen_ms) {
		sv->linger_frames = frames;
		sv->linger_seen_ms = now;
	}
	if (!sv->done)
		return 1;
	/* only after CMD exited: `tap`, `qemu` and `serve` stop at once */
	if (sv->child <= 0)
		return 0;
	if (!sv->linger_done_ms)
		sv->linger_done_ms = now;
	return now - sv->linger_done_ms < SUPERVISOR_LINGER_MS &&
	       (busy || now - sv->linger_seen_ms < SUPERVISOR_QUIET_MS);
}

int supervisor_handle(struct supervisor *sv)
{
	struct signalfd_siginfo si;
	ssize_t n;

	for (;;) {
		n = read(sv->sigfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			break;   /* EAGAIN: all read */
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(sv);
			break;
		case SIGINT:
		case SIGTERM:
		case SIGHUP:
			forward(sv, &si);
			break;
		case SIGUSR1:
			if (sv->on_usr1)
				sv->on_usr1(sv->opaque);
			break;
		case SIGALRM:
			deadline_expired(sv);
			break;
		default:
			break;
		}
	}
	/* A loop that polls rarely still gets the deadline enforced. */
	if (sup.deadline_ns && !sv->done && now_ns() >= sup.deadline_ns)
		deadline_expired(sv);
	return sv->done;
}
