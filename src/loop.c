// SPDX-License-Identifier: MIT
/*
 * loop.c - the loop (loop.h): epoll, the timerfd armed for lwIP's next
 * deadline, the signalfd, dispatch by reference type, and the process's
 * descriptor budget.
 */
#include "gw.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lwip/timeouts.h"

#include "log.h"
#include "secretfetch.h"
#include "supervisor.h"

void loop_ctl(int epfd, int fd, struct epref *ref, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = ref };

	if (epoll_ctl(epfd, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL)
		warn("epoll_ctl(%d): %s", op, strerror(errno));
}

void gw_epoll_mod(struct gw *g, int fd, struct epref *ref, uint32_t events,
		  int op)
{
	loop_ctl(g->epfd, fd, ref, events, op);
}

void gw_busy(struct gw *g)
{
	if (g->on_busy)
		return;
	g->on_busy = 1;
	g->busy_next = g->d->busy;
	g->d->busy = g;
}

void loop_handle(struct gwd *d, enum ref_type type, loop_fn fn)
{
	if (type > 0 && type < REF_N)
		d->on[type] = fn;
}

/*
 * Descriptors.  One process serves every sandbox, so they share one
 * descriptor table: a sandbox at its connection limit must never take
 * another's descriptors.  At start the soft RLIMIT_NOFILE is raised to the
 * hard limit (the sandbox's own processes were forked before: they keep
 * the usual limit, as systemd does for its services' children); each
 * sandbox then reserves what its limits can use (gw_add()).
 */
void loop_fds_init(struct gwd *d)
{
	struct rlimit rl;
	DIR *dir;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rlim_t want = rl.rlim_max;

			/* "unlimited" is not a descriptor count the kernel
			 * takes: the sysctl fs.nr_open default */
			if (want == RLIM_INFINITY || want > 1048576)
				want = 1048576;
			if (want > rl.rlim_cur) {
				rl.rlim_cur = want;
				if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
					getrlimit(RLIMIT_NOFILE, &rl);
			}
		}
		d->fd_limit = rl.rlim_cur == RLIM_INFINITY ? 1048576
							    : (unsigned long)rl.rlim_cur;
	} else {
		d->fd_limit = 1024;
	}
	d->fd_base = 0;
	dir = opendir("/proc/self/fd");
	if (dir) {
		while (readdir(dir))
			d->fd_base++;
		closedir(dir);
		d->fd_base = d->fd_base > 3 ? d->fd_base - 3 : 0; /* . .. dir */
	} else {
		d->fd_base = 16;
	}
}

static void on_timer(struct gwd *d, struct epref *r, uint32_t events)
{
	uint64_t x;

	(void)r;
	(void)events;
	if (read(d->timerfd, &x, sizeof(x)) < 0)
		(void)0;
	d->timer_at = 0;
}

static void on_signal(struct gwd *d, struct epref *r, uint32_t events)
{
	(void)r;
	(void)events;
	if (d->sv)
		supervisor_handle(d->sv);
}

/* The secret fetcher's answers (one fetcher per process: its ref too). */
static struct epref fetch_ref = { REF_FETCH };

static void on_fetch(struct gwd *d, struct epref *r, uint32_t events)
{
	(void)d;
	(void)r;
	(void)events;
	secretfetch_readable();
}

int loop_open(struct gwd *d)
{
	struct supervisor *sv = d->sv;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->epfd < 0 || d->timerfd < 0) {
		err("epoll/timerfd: %s", strerror(errno));
		return -1;
	}
	d->timer_ref.type = REF_TIMER;
	d->sig_ref.type = REF_SIG;
	d->on[REF_TIMER] = on_timer;
	d->on[REF_SIG] = on_signal;
	{
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = &d->timer_ref };

		epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->timerfd, &ev);
		if (sv && sv->sigfd >= 0) {
			ev.data.ptr = &d->sig_ref;
			epoll_ctl(d->epfd, EPOLL_CTL_ADD, sv->sigfd, &ev);
		}
		if (secretfetch_fd() >= 0) {
			d->on[REF_FETCH] = on_fetch;
			ev.data.ptr = &fetch_ref;
			epoll_ctl(d->epfd, EPOLL_CTL_ADD, secretfetch_fd(), &ev);
		}
	}
	return 0;
}

void loop_close(struct gwd *d)
{
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	d->epfd = d->timerfd = -1;
}

static void arm_timer(struct gwd *d)
{
	struct itimerspec its = { 0 };
	u32_t ms = sys_timeouts_sleeptime();
	int fetch = secretfetch_tick();   /* a cmd: secret's run due */

	if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE || ms > 1000)
		ms = 1000; /* the flows' timer wheel, housekeeping */
	if (fetch >= 0 && (u32_t)fetch < ms)
		ms = (u32_t)fetch;
	if (d->paused && ms > 1)
		ms = 1;    /* a paced link to take back */
	if (ms == 0)
		ms = 1;
	/* one syscall less per turn: a timer already set for the same
	 * moment (to the millisecond) is left alone */
	if (d->timer_at && d->timer_at == now_ms() + ms)
		return;
	d->timer_at = now_ms() + ms;
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	timerfd_settime(d->timerfd, 0, &its, NULL);
}

int loop_wait(struct gwd *d, int timeout_ms)
{
	struct epoll_event ev[64];
	int i, n;

	arm_timer(d);
	n = epoll_wait(d->epfd, ev, 64, timeout_ms);
	if (n < 0 && errno != EINTR) {
		err("epoll_wait: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct epref *r = ev[i].data.ptr;
		loop_fn fn = d->on[r->type];

		if (fn)
			fn(d, r, ev[i].events);
	}
	sys_check_timeouts();
	return 0;
}
