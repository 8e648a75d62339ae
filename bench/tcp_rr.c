// SPDX-License-Identifier: MIT
/*
 * tcp_rr - a tiny TCP request/response benchmark for `make bench`.
 *
 * Four roles in one binary, so the same code measures every network mode:
 *
 *   tcp_rr server ADDR PORT       echo server (epoll, one thread): echoes
 *                                 whatever it reads until EOF; a read of
 *                                 exactly the one byte '>' is a probe that
 *                                 asks the server to close first.
 *   tcp_rr rr  HOST PORT N        one connection, TCP_NODELAY, N one-byte
 *                                 round trips after 10% warm-up; prints
 *                                 {"p50_us":..,"p99_us":..,"mean_us":..}
 *   tcp_rr crr HOST PORT SECS     for SECS seconds: connect, send 1 byte,
 *                                 read 1 byte, close (the client closes
 *                                 first, as netperf's TCP_CRR); prints
 *                                 {"conn_per_s":..,"conns":..,"errors":..,
 *                                  "p50_us":..,"p99_us":..}
 *   tcp_rr crr-sc HOST PORT SECS  the same, but the server closes first
 *                                 (HTTP/1.0 style) and the client waits for
 *                                 its FIN before closing.
 *   tcp_rr rr-idle HOST PORT N K  rr, then K more connections opened (one
 *                                 byte each way) and left idle, then rr
 *                                 again, in the same sandbox: prints
 *                                 {"p50_us":..,"idle_p50_us":..,"idle":K}
 *                                 (what idle connections cost the others)
 *   tcp_rr hold HOST PORT K       K connections (one byte each way), then
 *                                 prints {"held":K} and keeps them until
 *                                 its standard input closes
 *
 * The probe bytes are punctuation that no HTTP token may hold ('=', ';',
 * '<', '>'), on purpose: islo-net's gateway peeks at the first bytes of
 * every connection for a TLS SNI or an HTTP Host, and a lone letter or
 * digit, of either case, could still begin an HTTP method (src/peek.c,
 * peek_http_start()), so it would wait for more (and refuse the connection
 * after 10 s).
 *
 * HOST may be a name (resolved once, with getaddrinfo, before timing).
 * With -P as the first argument, the client first widens
 * net.ipv4.ip_local_port_range and sets net.ipv4.tcp_tw_reuse=1 in its own
 * network namespace (best effort): at 10,000+ connections/s the default
 * 28,000 ports, each held 60 s in TIME_WAIT, would otherwise run out
 * within a few seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
	fprintf(stderr, "tcp_rr: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/**
 * resolve() - Resolve HOST:PORT once (IPv4 or IPv6, TCP)
 * Return: a malloc'd addrinfo list; exits on failure
 */
static struct addrinfo *resolve(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);

	if (rc) {
		fprintf(stderr, "tcp_rr: %s:%s: %s\n", host, port, gai_strerror(rc));
		exit(2);
	}
	return ai;
}

static int connect_to(const struct addrinfo *ai)
{
	int one = 1;
	int s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static int read_full(int s, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(s, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* One rr measurement: the p50 in microseconds (and p99, mean). */
static void rr_once(const struct addrinfo *ai, long n, double *p50,
		    double *p99, double *mean)
{
	long warm = n / 10, i;
	double *lat = calloc((size_t)n, sizeof(*lat)), sum = 0;
	char c = '=';
	int s = connect_to(ai);

	if (!lat)
		die("calloc");
	if (s < 0)
		die("connect");
	for (i = -warm; i < n; i++) {
		double t0 = now_us();

		if (write(s, &c, 1) != 1 || read_full(s, &c, 1) < 0)
			die("round trip");
		if (i >= 0) {
			lat[i] = now_us() - t0;
			sum += lat[i];
		}
	}
	close(s);
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	*p50 = pct(lat, (size_t)n, 50);
	*p99 = pct(lat, (size_t)n, 99);
	*mean = sum / (double)n;
	free(lat);
}

static int run_rr(const struct addrinfo *ai, long n)
{
	double p50, p99, mean;

	rr_once(ai, n, &p50, &p99, &mean);
	printf("{\"p50_us\":%.2f,\"p99_us\":%.2f,\"mean_us\":%.2f,\"n\":%ld}\n",
	       p50, p99, mean, n);
	return 0;
}

static int run_rr_idle(const struct addrinfo *ai, long n, long k)
{
	double p50, p99, mean, ip50, ip99, imean;
	int *fds = calloc((size_t)k, sizeof(*fds));
	long i;
	char c = ';';

	if (!fds)
		die("calloc");
	rr_once(ai, n, &p50, &p99, &mean);
	for (i = 0; i < k; i++) {
		fds[i] = connect_to(ai);
		if (fds[i] < 0 || write(fds[i], &c, 1) != 1 ||
		    read_full(fds[i], &c, 1) < 0)
			die("idle connection");
	}
	rr_once(ai, n, &ip50, &ip99, &imean);
	printf("{\"p50_us\":%.2f,\"idle_p50_us\":%.2f,\"idle_p99_us\":%.2f,"
	       "\"idle\":%ld,\"n\":%ld}\n", p50, ip50, ip99, k, n);
	for (i = 0; i < k; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

static int run_hold(const struct addrinfo *ai, long k)
{
	long i;
	char c = ';', buf[64];

	for (i = 0; i < k; i++) {
		int s = connect_to(ai);

		if (s < 0 || write(s, &c, 1) != 1 || read_full(s, &c, 1) < 0)
			die("idle connection");
	}
	printf("{\"held\":%ld}\n", k);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}

/* Thousands of connections: the soft descriptor limit up to the hard one. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run_crr(const struct addrinfo *ai, double secs, int server_closes)
{
	size_t cap = 1 << 16, n = 0;
	double *lat = malloc(cap * sizeof(*lat));
	double t_start = now_us(), t_end = t_start + secs * 1e6, t_last = t_start;
	long errors = 0;

	if (!lat)
		die("malloc");
	while ((t_last = now_us()) < t_end) {
		char c = server_closes ? '>' : '<', buf[16];
		int s = connect_to(ai);
		ssize_t r;

		if (s < 0) {
			errors++;
			if (errors > 1000 && errors > (long)n)
				break; /* the mode is broken, not slow */
			continue;
		}
		if (write(s, &c, 1) != 1 || read_full(s, &c, 1) < 0) {
			errors++;
			close(s);
			continue;
		}
		/* crr-sc: wait for the server's FIN; we are the passive closer. */
		do
			r = server_closes ? read(s, buf, sizeof(buf)) : 0;
		while (r > 0 || (r < 0 && errno == EINTR));
		close(s);
		if (n == cap) {
			double *nl = realloc(lat, 2 * cap * sizeof(*lat));

			if (!nl)
				die("realloc");
			lat = nl;
			cap *= 2;
		}
		lat[n++] = now_us() - t_last;
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("{\"conn_per_s\":%.1f,\"conns\":%zu,\"errors\":%ld,"
	       "\"p50_us\":%.2f,\"p99_us\":%.2f}\n",
	       (double)n / ((t_last - t_start) / 1e6), n, errors,
	       pct(lat, n, 50), pct(lat, n, 99));
	free(lat);
	return n ? 0 : 1;
}

/* Server: per-fd state is only "is this a connection-rate probe". */
static int serve(const char *addr, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
	struct epoll_event ev, evs[MAX_EVENTS];
	int one = 1, ls, ep, rc;

	signal(SIGPIPE, SIG_IGN);
	rc = getaddrinfo(addr, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "tcp_rr: %s:%s: %s\n", addr, port, gai_strerror(rc));
		return 2;
	}
	ls = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, ai->ai_addr, ai->ai_addrlen) < 0)
		die("bind");
	if (listen(ls, 4096) < 0)
		die("listen");
	freeaddrinfo(ai);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1), i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char buf[4096];
			ssize_t r;

			if (fd == ls) {
				int c;

				while ((c = accept4(ls, NULL, NULL,
						    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				close(fd); /* closing also removes it from epoll */
				continue;
			}
			if (write(fd, buf, (size_t)r) != r) {
				close(fd);
				continue;
			}
			if (r == 1 && buf[0] == '>')
				close(fd); /* crr-sc probe: the server closes first */
		}
	}
}

static void write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd >= 0) {
		if (write(fd, val, strlen(val)) < 0) {
			/* best effort: the defaults still work, just run out sooner */
		}
		close(fd);
	}
}

static void widen_port_range(void)
{
	write_sysctl("/proc/sys/net/ipv4/ip_local_port_range", "1024 65535");
	write_sysctl("/proc/sys/net/ipv4/tcp_tw_reuse", "1");
}

int main(int argc, char **argv)
{
	struct addrinfo *ai;
	int rc;

	raise_nofile();
	if (argc > 1 && !strcmp(argv[1], "-P")) {
		widen_port_range();
		argv++;
		argc--;
	}
	if (argc == 4 && !strcmp(argv[1], "server"))
		return serve(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "hold")) {
		ai = resolve(argv[2], argv[3]);
		return run_hold(ai, atol(argv[4]));
	}
	if (argc == 6 && !strcmp(argv[1], "rr-idle")) {
		ai = resolve(argv[2], argv[3]);
		rc = run_rr_idle(ai, atol(argv[4]), atol(argv[5]));
		freeaddrinfo(ai);
		return rc;
	}
	if (argc != 5 || (strcmp(argv[1], "rr") && strcmp(argv[1], "crr") &&
			  strcmp(argv[1], "crr-sc"))) {
		fprintf(stderr, "usage: tcp_rr [-P] server ADDR PORT | rr HOST PORT N"
				" | crr|crr-sc HOST PORT SECS | rr-idle HOST PORT N K\n");
		return 2;
	}
	ai = resolve(argv[2], argv[3]);
	if (!strcmp(argv[1], "rr"))
		rc = run_rr(ai, atol(argv[4]));
	else
		rc = run_crr(ai, atof(argv[4]), !strcmp(argv[1], "crr-sc"));
	freeaddrinfo(ai);
	return rc;
}
