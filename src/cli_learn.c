// SPDX-License-Identifier: MIT
/*
 * cli_learn.c - `islo-net learn`: run CMD under a profile in audit mode
 * and write the profile that allows what it used (learn.h).
 *
 * DOC: Theory of Operation
 *
 * The run is `run`'s (cli_run_loaded()) in a child process: the gateway
 * there isolates itself (no file may be created once it serves), so it
 * writes the learned profile into a memfd made beforehand, and this
 * process, never isolated and never reachable by the sandbox, writes it
 * out once the child (and with it the sandbox) is gone.
 *
 * The profile in force is --from's, or an empty `default_action: deny`
 * one; audit mode is forced on the whole of it (every rule's own
 * `enforcement:` too), so exactly what it would refuse is let through and
 * noted.  The boundary stays (policy.h): private, loopback and link-local
 * addresses unless --allow-private.
 *
 * The output file: its directory is opened before CMD starts (a sandbox
 * that replaces a directory of the path by a symlink changes nothing);
 * the file is a new one made there (O_EXCL, O_NOFOLLOW, 0600), written,
 * synced and renamed over the name, which replaces a symlink planted
 * there rather than following it.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileutil.h"
#include "learn.h"
#include "log.h"
#include "profile.h"

#define LEARN_EXIT_FAIL 125

static const char empty_profile[] =
	"name: learn\ndefault_action: deny\nrules: []\n";

/* The profile to audit: --from's (its text kept in @from), or an empty
 * one.  Return: 0, or -1 (said). */
static int learn_profile(struct cli *c, struct learn_from *from, char **text)
{
	char err[1024];
	ssize_t n;
	int fd;

	if (!c->learn_from) {
		c->o.profile = profile_parse(empty_profile, strlen(empty_profile),
					     "learn", err, sizeof(err));
		if (!c->o.profile) {
			fprintf(stderr, "islo-net learn: %s\n", err);
			return -1;
		}
		c->o.profile_name = c->o.profile->name;
		return 0;
	}
	c->flag_profile = c->learn_from;
	if (cli_load_profile(c) <= 0)
		return -1;
	/* its text, to add to as it is written */
	*text = malloc(PF_MAX_FILE + 1);
	fd = *text ? open(c->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
	n = fd >= 0 ? fu_read_fd(fd, *text, PF_MAX_FILE) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0 || (size_t)n > PF_MAX_FILE) {
		fprintf(stderr, "islo-net learn: --from: cannot read %s again\n",
			c->path);
		return -1;
	}
	from->text = *text;
	from->len = (size_t)n;
	return 0;
}

/* Everything the profile refuses is audited; learn's own switches. */
static void learn_force_audit(struct cli *c)
{
	struct profile *p = c->o.profile;
	size_t i;

	p->enforcement = PF_ENF_AUDIT;
	for (i = 0; i < p->nrules; i++)
		p->rules[i].enforcement = PF_ENF_INHERIT;
	p->audit_private = c->learn_allow_private;
	p->audit_intercept = c->learn_intercept;
}

/* The output's directory, opened now; @base its last component.
 * Return: the directory's descriptor, or -1 (said). */
static int output_dir(const char *path, char *base, size_t cap)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!*path || (slash && !slash[1]) || strlen(path) >= sizeof(dir)) {
		fprintf(stderr, "islo-net learn: --output: '%s' is not a file name\n",
			path);
		return -1;
	}
	if (slash) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (!dir[0])
			strcpy(dir, "/"); /* NOLINT: fits */
	} else {
		strcpy(dir, "."); /* NOLINT: fits */
	}
	snprintf(base, cap, "%s", slash ? slash + 1 : path);
	if (!strcmp(base, ".") || !strcmp(base, "..")) {
		fprintf(stderr, "islo-net learn: --output: '%s' is not a file name\n",
			path);
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "islo-net learn: --output: %s: %s\n", dir,
			strerror(errno));
	return fd;
}

/* Write @buf as @base in @dirfd: a new file, synced, renamed over it.
 * Return: 0, or -1 (said). */
static int write_atomic(int dirfd, const char *base, const char *buf,
			size_t len)
{
	char tmp[NAME_MAX + 1];
	unsigned char rnd[6];
	int fd = -1, i;

	for (i = 0; i < 16 && fd < 0; i++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			break;
		snprintf(tmp, sizeof(tmp), ".islo-learn-%02x%02x%02x%02x%02x%02x",
			 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		fprintf(stderr, "islo-net learn: --output: cannot create a file "
			"beside it: %s\n", strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) < 0 || fu_write_all(fd, buf, len) < 0 ||
	    fsync(fd) < 0 || close(fd) < 0) {
		fprintf(stderr, "islo-net learn: --output: %s\n", strerror(errno));
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	if (renameat(dirfd, tmp, dirfd, base) < 0) {
		fprintf(stderr, "islo-net learn: --output: %s: %s\n", base,
			strerror(errno));
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	fsync(dirfd);
	return 0;
}

/* The child: the run, then the profile into @mfd.  Never returns. */
static void learn_child(struct cli *c, const struct learn_from *from, int mfd,
			int dirfd)
{
	struct learn *l = learn_new();
	char err[1024], *yaml = NULL;
	int rc;

	if (dirfd >= 0)
		close(dirfd);   /* the parent's, to write the file with */
	if (!l) {
		fprintf(stderr, "islo-net learn: out of memory\n");
		_exit(LEARN_EXIT_FAIL);
	}
	c->o.learn = l;
	rc = cli_run_loaded(c);
	if (rc == LEARN_EXIT_FAIL) {
		fprintf(stderr, "islo-net learn: the run failed: no profile written\n");
		_exit(rc);
	}
	if (learn_write(l, from, &yaml, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net learn: %s\n", err);
		_exit(LEARN_EXIT_FAIL);
	}
	if (fu_write_all(mfd, yaml, strlen(yaml)) < 0) {
		fprintf(stderr, "islo-net learn: %s\n", strerror(errno));
		_exit(LEARN_EXIT_FAIL);
	}
	_exit(rc);
}

static volatile pid_t learn_pid;

static void pass_signal(int sig)
{
	if (learn_pid > 0)
		kill(learn_pid, sig);
}

/* Wait for the child, passing SIGTERM and SIGHUP on (SIGINT from the
 * terminal reaches it already).  Return: its exit status, as run's. */
static int learn_wait(pid_t pid)
{
	struct sigaction sa = { .sa_handler = pass_signal };
	int st;

	learn_pid = pid;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return LEARN_EXIT_FAIL;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* The profile the child wrote, out.  Return: 0, or -1 (said). */
static int learn_output(struct cli *c, int mfd, int dirfd, const char *base)
{
	off_t len = lseek(mfd, 0, SEEK_END);
	char *buf;
	int r;

	if (len <= 0 || len > (off_t)64 * 1024 * 1024 || lseek(mfd, 0, SEEK_SET) < 0) {
		fprintf(stderr, "islo-net learn: no profile was written\n");
		return -1;
	}
	buf = malloc((size_t)len + 1);
	if (!buf || fu_read_fd(mfd, buf, (size_t)len) != (ssize_t)len) {
		free(buf);
		fprintf(stderr, "islo-net learn: cannot read the learned profile back\n");
		return -1;
	}
	if (c->learn_output) {
		r = write_atomic(dirfd, base, buf, (size_t)len);
		if (!r && log_verbosity > LOG_ERR)
			fprintf(stderr, "islo-net learn: profile written to %s\n",
				c->learn_output);
	} else {
		fflush(stdout);
		r = fu_write_all(STDOUT_FILENO, buf, (size_t)len);
		if (r < 0)
			fprintf(stderr, "islo-net learn: standard output: %s\n",
				strerror(errno));
	}
	free(buf);
	return r;
}

int cmd_learn(int argc, char **argv)
{
	struct cli c = { 0 };
	struct learn_from from = { 0 };
	char base[NAME_MAX + 1], *text = NULL;
	int first = cli_parse_opts(&c, argc, argv), dirfd = -1, mfd = -1, rc;
	pid_t pid;

	if (first >= argc) {
		fprintf(stderr, "islo-net learn: no command given\n\n");
		cli_usage(stderr, 2);
	}
	c.o.argv = argv + first;
	if (c.tap || c.tap_fd >= 0 || c.netns || c.socket_path || c.flag_profile) {
		fprintf(stderr, "islo-net learn: --tap, --tap-fd, --netns, --socket "
			"and --gateway-profile do not apply (--from PROFILE starts "
			"from a profile)\n");
		return 2;
	}
	rc = LEARN_EXIT_FAIL;
	if (learn_profile(&c, &from, &text) < 0)
		goto out;
	learn_force_audit(&c);
	if (c.learn_output &&
	    (dirfd = output_dir(c.learn_output, base, sizeof(base))) < 0)
		goto out;
	mfd = memfd_create("islo-net-learned", MFD_CLOEXEC);
	if (mfd < 0) {
		fprintf(stderr, "islo-net learn: memfd_create: %s\n", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "islo-net learn: fork: %s\n", strerror(errno));
		goto out;
	}
	if (pid == 0)
		learn_child(&c, &from, mfd, dirfd);
	rc = learn_wait(pid);
	if (rc != LEARN_EXIT_FAIL && learn_output(&c, mfd, dirfd, base) < 0)
		rc = LEARN_EXIT_FAIL;
out:
	if (mfd >= 0)
		close(mfd);
	if (dirfd >= 0)
		close(dirfd);
	free(text);
	cli_free(&c);
	return rc;
}
