// SPDX-License-Identifier: MIT
/*
 * tls_client - the HTTPS client of `make bench`'s TLS figures (OpenSSL).
 *
 *   tls_client [OPTS] rr   HOST PORT PATH N     one TLS connection, N
 *        keep-alive GET requests (after N/10 warm-up), each timed;
 *        prints {"req_per_s":..,"p50_us":..,"p99_us":..,"requests":..}
 *   tls_client [OPTS] cps  HOST PORT PATH SECS  for SECS seconds: connect,
 *        full TLS handshake (no resumption), one GET with Connection:
 *        close, read the whole answer, close;
 *        prints {"conn_per_s":..,"conns":..,"errors":..,"p50_us":..}
 *   tls_client [OPTS] idle HOST PORT WARM N HOLD  open WARM connections
 *        (TLS handshake done, nothing sent after it), print
 *        {"phase":"base","conns":WARM}, sleep HOLD s, open N more, print
 *        {"phase":"full","conns":..,"errors":..,"open_s":..}, sleep HOLD s,
 *        close all and exit.  The caller reads the stack's memory in the
 *        two pauses.
 *
 * OPTS:
 *   -c FILE   trust the CA certificates in FILE (default: OpenSSL's
 *             default paths, which honour SSL_CERT_FILE: inside islo-net's
 *             sandbox that is the bundle with the islo-net CA)
 *   -s NAME   the TLS SNI and HTTP Host (default: HOST)
 *   -x H:P    an HTTP proxy: connect to H:P and ask for CONNECT HOST:PORT
 *   -2        TLS 1.2 only, cipher ECDHE-ECDSA-AES128-GCM-SHA256 (or
 *             ECDHE-RSA-AES128-GCM-SHA256 for a server with an RSA key:
 *             mitmproxy's leaf certificates are RSA)
 *   -P        widen ip_local_port_range and set tcp_tw_reuse (own netns)
 *
 * Certificates are verified (chain and name).  HOST is resolved once,
 * before timing.  Answers must carry a Content-Length (nginx's do).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *cafile, *sni, *proxy;
static int tls12;
static struct sockaddr_storage dst;
static socklen_t dstlen;
static SSL_CTX *ctx;
static const char *host;
static const char *port;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *m)
{
	fprintf(stderr, "tls_client: %s\n", m);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void resolve(const char *h, const char *p)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int rc = getaddrinfo(h, p, &hints, &ai);

	if (rc)
		die(gai_strerror(rc));
	memcpy(&dst, ai->ai_addr, ai->ai_addrlen);
	dstlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static int writeall(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A connected TCP socket (through the proxy's CONNECT if -x), or -1. */
static int tcp_connect(void)
{
	int one = 1, fd = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&dst, dstlen)) {
		close(fd);
		return -1;
	}
	if (proxy) {
		char req[512], buf[1024];
		size_t got = 0;

		snprintf(req, sizeof(req), "CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n",
			 host, port, host, port);
		if (writeall(fd, req, strlen(req)))
			goto fail;
		/* read byte by byte up to the blank line: nothing of TLS is lost */
		while (got < sizeof(buf) - 1) {
			if (read(fd, buf + got, 1) != 1)
				goto fail;
			got++;
			if (got >= 4 && !memcmp(buf + got - 4, "\r\n\r\n", 4))
				break;
		}
		buf[got] = 0;
		if (strncmp(buf, "HTTP/1.1 200", 12) && strncmp(buf, "HTTP/1.0 200", 12))
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static SSL *tls_open(int fd)
{
	SSL *s = SSL_new(ctx);

	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, sni);
	SSL_set1_host(s, sni);
	if (SSL_connect(s) != 1) {
		SSL_free(s);
		return NULL;
	}
	return s;
}

/* Read one HTTP answer (head + Content-Length body); 0 on success. */
static int read_answer(SSL *s, char *buf, size_t cap)
{
	size_t got = 0;
	long long body = -1, have = 0;

	for (;;) {
		int n = SSL_read(s, buf + got, (int)(cap - got - 1));
		char *end;

		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			char *cl = strcasestr(buf, "\r\ncontent-length:");

			if (!cl || cl > end || strncmp(buf, "HTTP/1.1 200", 12))
				return -1;
			body = atoll(cl + 17);
			have = (long long)(got - (size_t)(end + 4 - buf));
			break;
		}
		if (got >= cap - 1)
			return -1;
	}
	while (have < body) {
		int n = SSL_read(s, buf, (int)cap);

		if (n <= 0)
			return -1;
		have += n;
	}
	return have == body ? 0 : -1;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void wide_ports(void)
{
	int fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1024 65535", 10) < 0) { /* best effort */ }
		close(fd);
	}
	fd = open("/proc/sys/net/ipv4/tcp_tw_reuse", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) { /* best effort */ }
		close(fd);
	}
}

int main(int argc, char **argv)
{
	int opt, wide = 0;
	static char buf[65536];
	char req[512];

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "+c:s:x:2P")) != -1) {
		switch (opt) {
		case 'c': cafile = optarg; break;
		case 's': sni = optarg; break;
		case 'x': proxy = optarg; break;
		case '2': tls12 = 1; break;
		case 'P': wide = 1; break;
		default: die("bad option");
		}
	}
	argv += optind;
	argc -= optind;
	if (argc < 4)
		die("usage: tls_client [-c CA] [-s SNI] [-x H:P] [-2] [-P] rr|cps|idle HOST PORT ...");
	if (wide)
		wide_ports();
	host = argv[1];
	port = argv[2];
	if (!sni)
		sni = host;
	if (proxy) {
		char ph[256], *colon;

		snprintf(ph, sizeof(ph), "%s", proxy);
		colon = strrchr(ph, ':');
		if (!colon)
			die("-x wants HOST:PORT");
		*colon = 0;
		resolve(ph, colon + 1);
	} else {
		resolve(host, port);
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		die("SSL_CTX_new");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cafile ? SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1
		   : SSL_CTX_set_default_verify_paths(ctx) != 1)
		die("cannot load the CA certificates");
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (tls12) {
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
		if (SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256") != 1)
			die("cipher");
	}

	if (!strcmp(argv[0], "rr") && argc == 5) {
		int n = atoi(argv[4]), warm = n / 10, fd, i;
		double *lat = calloc((size_t)n, sizeof(double)), t0 = 0;
		SSL *s;
		size_t len;

		/* Host names the port too: islo-net checks both */
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: tls_client\r\n\r\n",
			 argv[3], sni, port);
		len = strlen(req);
		fd = tcp_connect();
		if (fd < 0 || !(s = tls_open(fd)))
			die("connect/handshake failed");
		for (i = -warm; i < n; i++) {
			double t = now_us();

			if (i == 0)
				t0 = t;
			if (SSL_write(s, req, (int)len) != (int)len || read_answer(s, buf, sizeof(buf)))
				die("request failed");
			if (i >= 0)
				lat[i] = now_us() - t;
		}
		{
			double total = now_us() - t0;

			qsort(lat, (size_t)n, sizeof(double), cmpd);
			printf("{\"req_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"requests\":%d,\"cipher\":\"%s\"}\n",
			       n / (total / 1e6), lat[n / 2], lat[(int)(n * 0.99)], n,
			       SSL_get_cipher_name(s));
		}
		SSL_shutdown(s);
		SSL_free(s);
		close(fd);
		return 0;
	}
	if (!strcmp(argv[0], "cps") && argc == 5) {
		double secs = atof(argv[4]), t0 = now_us(), end = t0 + secs * 1e6, t;
		long conns = 0, errors = 0, cap = 1 << 16;
		double *lat = calloc((size_t)cap, sizeof(double));
		size_t len;

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n",
			 argv[3], sni, port);
		len = strlen(req);
		while ((t = now_us()) < end) {
			int fd = tcp_connect();
			SSL *s = fd >= 0 ? tls_open(fd) : NULL;
			int ok = s && SSL_write(s, req, (int)len) == (int)len &&
				 !read_answer(s, buf, sizeof(buf));

			if (s) {
				SSL_shutdown(s);
				SSL_free(s);
			}
			if (fd >= 0)
				close(fd);
			if (!ok) {
				if (++errors > 100 && errors > conns)
					break;
				continue;
			}
			if (conns < cap)
				lat[conns] = now_us() - t;
			conns++;
		}
		t = now_us() - t0;
		{
			long m = conns < cap ? conns : cap;

			qsort(lat, (size_t)m, sizeof(double), cmpd);
			printf("{\"conn_per_s\":%.1f,\"conns\":%ld,\"errors\":%ld,\"p50_us\":%.1f}\n",
			       conns / (t / 1e6), conns, errors, m ? lat[m / 2] : 0.0);
		}
		return conns ? 0 : 1;
	}
	if (!strcmp(argv[0], "idle") && argc == 6) {
		int warm = atoi(argv[3]), n = atoi(argv[4]), hold = atoi(argv[5]);
		int total = warm + n, open_ = 0, errors = 0, i;
		SSL **ss = calloc((size_t)total, sizeof(SSL *));
		double t0;

		for (i = 0; i < warm; i++) {
			int fd = tcp_connect();

			if (fd < 0 || !(ss[open_] = tls_open(fd)))
				die("warm-up connection failed");
			open_++;
		}
		printf("{\"phase\":\"base\",\"conns\":%d}\n", open_);
		fflush(stdout);
		sleep((unsigned)hold);
		t0 = now_us();
		for (i = 0; i < n; i++) {
			int fd = tcp_connect();
			SSL *s = fd >= 0 ? tls_open(fd) : NULL;

			if (!s) {
				if (fd >= 0)
					close(fd);
				if (++errors > 50)
					break;
				continue;
			}
			ss[open_++] = s;
		}
		printf("{\"phase\":\"full\",\"conns\":%d,\"errors\":%d,\"open_s\":%.2f}\n",
		       open_, errors, (now_us() - t0) / 1e6);
		fflush(stdout);
		sleep((unsigned)hold);
		for (i = 0; i < open_; i++) {
			close(SSL_get_fd(ss[i]));
			SSL_free(ss[i]);
		}
		return 0;
	}
	die("unknown mode or wrong argument count");
	return 1;
}
