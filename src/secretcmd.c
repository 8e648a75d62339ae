// SPDX-License-Identifier: MIT
/*
 * secretcmd.c - `cmd:` secrets: splitting the command, running it.
 *
 * DOC: Theory of Operation
 *
 * The program runs once, at start-up, before the serving process isolates
 * itself (after that, its system-call filter allows neither fork nor
 * execve).  It is started with fork() and execvpe() from the process that
 * will hold the value: secret pages are MADV_WIPEONFORK, so the child sees
 * none of the secrets loaded before it.  No shell is involved: the command
 * is split by secret_cmd_split()'s small, strict rule, and anything that a
 * shell would read differently (quotes inside words, backslashes, single
 * quotes) is refused at load rather than guessed at.
 *
 * The child's environment is built, never inherited: PATH, HOME, USER,
 * LOGNAME and LANG (what a CLI needs to find its configuration), plus the
 * variables the profile names; in particular none of the secrets islo-net
 * reads from env: references reaches it unless named.  Its descriptors are
 * all closed but the three standard ones: stdin is /dev/null, stdout and
 * stderr are pipes to us.  The parent polls both pipes until the program
 * exits or the deadline passes (then SIGKILL), reading stdout straight into
 * the secret's mapping.
 */
#include "secretcmd.h"

#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int forbidden;    /* set once the serving process is isolated */

void secret_cmd_forbid(void)
{
	forbidden = 1;
}

int secret_cmd_forbidden(void)
{
	return forbidden;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Bytes that a shell reads differently, or that no word should hold. */
static const char *unclear(unsigned char c)
{
	if (c == '\'')
		return "a single quote (use double quotes around a word with spaces)";
	if (c == '\\')
		return "a backslash (there is no escaping)";
	if (c < 0x20 || c == 0x7f)
		return "a control character";
	return NULL;
}

void secret_cmd_free(char **argv)
{
	size_t i;

	for (i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* One word at @s[*i] (not a space), appended to @v as word @n. */
static int one_word(const char *s, size_t *i, char **v, int n, char *err,
		    size_t errlen)
{
	size_t b = *i, e;
	const char *why;
	int quoted = s[b] == '"';

	if (quoted)
		b++;
	for (e = b; s[e] && (quoted ? s[e] != '"' : !is_space(s[e])); e++) {
		if ((why = unclear((unsigned char)s[e])) != NULL) {
			fu_seterr(err, errlen, "cmd: %s at byte %zu", why, e + 4);
			return -1;
		}
		if (s[e] == '"') {
			fu_seterr(err, errlen,
				  "cmd: a double quote inside a word at byte %zu (quote whole words only)",
				  e + 4);
			return -1;
		}
	}
	if (quoted && s[e] != '"') {
		fu_seterr(err, errlen, "cmd: a double quote at byte %zu is not closed",
			  b + 3);
		return -1;
	}
	if (quoted && s[e + 1] && !is_space(s[e + 1])) {
		fu_seterr(err, errlen,
			  "cmd: text right after a closing double quote at byte %zu (quote whole words only)",
			  e + 5);
		return -1;
	}
	v[n] = strndup(s + b, e - b);
	if (!v[n]) {
		fu_seterr(err, errlen, "cmd: out of memory");
		return -1;
	}
	*i = e + quoted;
	return 0;
}

int secret_cmd_split(const char *cmd, char ***argv, char *err, size_t errlen)
{
	char **v = calloc(SECRET_CMD_MAXARGS + 1, sizeof(*v));
	size_t i = 0;
	int n = 0;

	*argv = NULL;
	if (!v) {
		fu_seterr(err, errlen, "cmd: out of memory");
		return -1;
	}
	for (;;) {
		while (is_space(cmd[i]))
			i++;
		if (!cmd[i])
			break;
		if (n == SECRET_CMD_MAXARGS) {
			fu_seterr(err, errlen, "cmd: more than %d words",
				  SECRET_CMD_MAXARGS);
			goto fail;
		}
		if (one_word(cmd, &i, v, n, err, errlen))
			goto fail;
		n++;
	}
	if (!n) {
		fu_seterr(err, errlen, "cmd: no program named (expected cmd:PROGRAM ARGS...)");
		goto fail;
	}
	if (!v[0][0] || (v[0][0] != '/' && strchr(v[0], '/'))) {
		fu_seterr(err, errlen,
			  "cmd: the program must be an absolute path or a name looked up in $PATH, not a relative path");
		goto fail;
	}
	*argv = v;
	return n;
fail:
	secret_cmd_free(v);
	return -1;
}

/* The child's environment: the clean set, then @names, from ours. */
static char **child_env(char *const *names)
{
	static const char *const base[] = { "PATH", "HOME", "USER", "LOGNAME",
					    "LANG" };
	size_t n = 0, i, cap = 6;
	const char *v;
	char **e;

	for (i = 0; names && names[i]; i++)
		cap++;
	e = calloc(cap, sizeof(*e));
	if (!e)
		return NULL;
	for (i = 0; i + 1 < cap; i++) {
		const char *k = i < 5 ? base[i] : names[i - 5];

		v = getenv(k);
		if (!v && !strcmp(k, "PATH"))
			v = "/usr/local/bin:/usr/bin:/bin";
		if (v && asprintf(&e[n], "%s=%s", k, v) >= 0)
			n++;
	}
	return e;
}

/* In the child: never returns. */
static void child(char *const *argv, char **env, int out, int errfd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(errfd, 2) < 0)
		_exit(126);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
#endif
	{
		int fd;

		for (fd = 3; fd < 4096; fd++)
			(void)close(fd);
	}
	execvpe(argv[0], argv, env);
	dprintf(2, "cannot run the program: %s", strerror(errno));
	_exit(127);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * collect() - Read the child's stdout and stderr until EOF or the deadline
 * @fds:  The two pipes' read ends: stdout, stderr (closed here)
 * @out, @cap, @got: stdout's buffer, its size, bytes in it
 * @ebuf, @ecap, @egot: the same for stderr (extra bytes dropped)
 * @timeout_ms: Deadline
 * Return: 0, -1 on timeout, -2 if stdout went over @cap - 1 bytes
 */
static int collect(int fds[2], uint8_t *out, size_t cap, size_t *got,
		   char *ebuf, size_t ecap, size_t *egot, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
	char drop[512];
	int rc = 0;
	ssize_t n;

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		long long left = end - now_ms();

		if (left <= 0) {
			rc = -1;
			break;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR) {
			rc = -1;
			break;
		}
		if (p[0].fd >= 0 && p[0].revents) {
			n = read(p[0].fd, out + *got, cap - *got);
			if (n > 0)
				*got += (size_t)n;
			if (*got >= cap) {
				rc = -2;
				break;
			}
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				close(p[0].fd);
				p[0].fd = -1;
			}
		}
		if (p[1].fd >= 0 && p[1].revents) {
			if (*egot < ecap)
				n = read(p[1].fd, ebuf + *egot, ecap - *egot);
			else
				n = read(p[1].fd, drop, sizeof(drop));
			if (n > 0 && *egot < ecap)
				*egot += (size_t)n;
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				close(p[1].fd);
				p[1].fd = -1;
			}
		}
	}
	if (p[0].fd >= 0)
		close(p[0].fd);
	if (p[1].fd >= 0)
		close(p[1].fd);
	return rc;
}

/* The program's stderr for a message: printable ASCII, others as \xNN. */
static void esc_tail(const char *s, size_t n, char *o, size_t cap)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			o[k++] = (char)c;
		else if (c == '\n' && i + 1 == n)
			break;
		else
			k += (size_t)snprintf(o + k, cap - k, "\\x%02x", c);
	}
	o[k] = '\0';
}

/* Cut leading and trailing white space; returns the new length. */
static size_t trim(uint8_t *b, size_t n)
{
	size_t s = 0;

	while (n && (b[n - 1] == ' ' || b[n - 1] == '\t' || b[n - 1] == '\n' ||
		     b[n - 1] == '\r'))
		n--;
	while (s < n && (b[s] == ' ' || b[s] == '\t' || b[s] == '\n' ||
			 b[s] == '\r'))
		s++;
	if (s) {
		memmove(b, b + s, n - s);
		explicit_bzero(b + n - s, s);
	}
	return n - s;
}

/* Why a finished run gives no value, or "" if it does. */
static void judge(int rc, int status, size_t len, size_t cap, const char *eb,
		  size_t en, char *err, size_t errlen)
{
	char tail[SECRET_CMD_ERRTAIL * 4 + 8];

	esc_tail(eb, en, tail, sizeof(tail));
	if (rc == -1)
		fu_seterr(err, errlen, "the program did not finish in time (killed)%s%s",
			  tail[0] ? "; stderr: " : "", tail);
	else if (rc == -2)
		fu_seterr(err, errlen, "the program printed more than %zu bytes (a secret is at most that long)",
			  cap - 1);
	else if (WIFSIGNALED(status))
		fu_seterr(err, errlen, "the program was killed by signal %d%s%s",
			  WTERMSIG(status), tail[0] ? "; stderr: " : "", tail);
	else if (WEXITSTATUS(status))
		fu_seterr(err, errlen, "the program exited with status %d%s%s",
			  WEXITSTATUS(status), tail[0] ? "; stderr: " : "", tail);
	else if (!len)
		fu_seterr(err, errlen, "the program printed nothing%s%s",
			  tail[0] ? "; stderr: " : "", tail);
	else if (err && errlen)
		err[0] = '\0';
}

int secret_cmd_run(char *const *argv, char *const *names, int timeout_ms,
		   uint8_t *out, size_t cap, size_t *len, char *err,
		   size_t errlen)
{
	char ebuf[SECRET_CMD_ERRTAIL];
	int po[2], pe[2], fds[2], rc, status = 0;
	size_t got = 0, egot = 0;
	char **env;
	pid_t pid;

	*len = 0;
	if (forbidden) {
		fu_seterr(err, errlen,
			  "cmd: secrets are run at start-up only, not once islo-net serves (a profile reload, a sandbox added to `serve`)");
		return -1;
	}
	env = child_env(names);
	if (!env || pipe2(po, O_CLOEXEC)) {
		fu_seterr(err, errlen, "cannot run the program: %s", strerror(errno));
		secret_cmd_free(env);
		return -1;
	}
	if (pipe2(pe, O_CLOEXEC)) {
		fu_seterr(err, errlen, "cannot run the program: %s", strerror(errno));
		close(po[0]);
		close(po[1]);
		secret_cmd_free(env);
		return -1;
	}
	pid = fork();
	if (pid == 0)
		child(argv, env, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	secret_cmd_free(env);
	if (pid < 0) {
		fu_seterr(err, errlen, "cannot run the program: %s", strerror(errno));
		close(po[0]);
		close(pe[0]);
		return -1;
	}
	fds[0] = po[0];
	fds[1] = pe[0];
	rc = collect(fds, out, cap, &got, ebuf, sizeof(ebuf), &egot, timeout_ms);
	if (rc)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	got = rc ? got : trim(out, got);
	judge(rc, status, got, cap, ebuf, egot, err, errlen);
	explicit_bzero(ebuf, sizeof(ebuf));
	if (err && errlen && err[0]) {
		explicit_bzero(out, got < cap ? got : cap);
		return -1;
	}
	*len = got;
	return 0;
}
