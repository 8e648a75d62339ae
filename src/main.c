// SPDX-License-Identifier: MIT
/*
 * main.c - the islo-net command line.
 *
 *   islo-net run [OPTIONS] -- CMD [ARGS...]   run CMD in a sandbox
 *   islo-net check PROFILE                     validate a gateway profile
 *   islo-net resolve                           show which profile applies
 *
 * Profile resolution (README, "Which profile applies"): --gateway-profile > the
 * nearest islo.yaml's gateway_profile > no gateway.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca.h"
#include "confine.h"
#include "projtrust.h"
#include "sandboxca.h"
#include "ctlmsg.h"
#include "daemon.h"
#include "gw.h"
#include "islo.h"
#include "log.h"
#include "ns.h"
#include "secret.h"
#include "supervisor.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include "policy.h"
#include "profile.h"
#include "resolve.h"

#define ISLO_VERSION "0.1.0"

static const char usage_text[] =
"Usage: islo-net run [OPTIONS] [--] CMD [ARGS...]\n"
"       islo-net check [--profiles-dir DIR] [-q] PROFILE\n"
"       islo-net ca path|export [--ca-dir DIR]\n"
"       islo-net tap (--tap NAME [--netns PATH] | --tap-fd N) [OPTIONS]\n"
"       islo-net qemu --socket PATH [OPTIONS]\n"
"       islo-net serve --control SOCKET [--metrics-listen ADDR:PORT] [OPTIONS]\n"
"       islo-net ctl --control SOCKET add|remove|list|stats|reload|metrics ...\n"
"       islo-net resolve [--gateway-profile NAME] [--profiles-dir DIR]\n"
"       islo-net trust [--forget | --list] [PATH...]\n"
"       islo-net --help | --version\n"
"\n"
"islo-net gives a sandbox its network.  `run` starts CMD in new user,\n"
"network and mount namespaces whose only network is a TAP device served by\n"
"this process: 10.0.2.100/24 (gateway 10.0.2.2, DNS 10.0.2.3) and\n"
"fd00::100/64 (gateway fd00::2, DNS fd00::3).  No root is needed.\n"
"\n"
"With a gateway profile, every connection is decided by the profile: a\n"
"refused one is \"connection refused\"; names resolve to synthetic addresses\n"
"and are looked up for real on the host only when a connection is allowed;\n"
"each decision is written to the audit log.  With no gateway profile, the\n"
"sandbox gets unrestricted user-mode NAT (libslirp, as slirp4netns), and\n"
"10.0.2.2 reaches the host's loopback.\n"
"\n"
"Options for run:\n"
"  -g, --gateway-profile NAME  the gateway profile to enforce (highest\n"
"                              precedence); NAME.yaml is looked up in the\n"
"                              profile search path, or NAME is a file path\n"
"      --profile NAME          the same as --gateway-profile\n"
"      --profiles-dir DIR      search DIR first for profiles\n"
"      --audit-log FILE        append audit events (JSON lines) to FILE;\n"
"                              reopened on SIGUSR1\n"
"      --dns-upstream ADDR[:PORT]\n"
"                              the host-side resolver: for allowed names\n"
"                              with a gateway, for the sandbox's UDP\n"
"                              queries without one (default: the first\n"
"                              nameserver in /etc/resolv.conf);\n"
"                              IPv6 as [ADDR]:PORT\n"
"      --ca-dir DIR            the islo-net CA's state directory (default\n"
"                              $XDG_STATE_HOME/islo-net); the CA is made\n"
"                              there on first use (key mode 0600)\n"
"      --upstream-ca FILE      also trust the CA certificates in FILE (PEM)\n"
"                              for upstream TLS, besides the system's\n"
"      --max-connections N     TCP connections the sandbox may have open\n"
"                              through the gateway (default 4096); more\n"
"                              are refused and logged\n"
"      --mtu N                 the sandbox link's MTU, 1280-65520\n"
"                              (default 65520)\n"
"      --host-services         leave the sockets of the host's service\n"
"                              managers and container engines (D-Bus,\n"
"                              systemd, docker, podman, containerd) in\n"
"                              reach; by default they are hidden, since\n"
"                              they can start programs outside the sandbox\n"
"  -v, --verbose               more diagnostics (repeat for debug)\n"
"  -q, --quiet                 errors only\n"
"\n"
"VM backends (the options above apply, without CMD; SIGINT/SIGTERM stop):\n"
"  tap --tap NAME              serve an existing TAP device (or create it),\n"
"                              as Firecracker, Cloud Hypervisor or QEMU\n"
"                              -netdev tap use; --netns PATH opens it in\n"
"                              that network namespace\n"
"  tap --tap-fd N              serve a TAP device handed over as fd N\n"
"  qemu --socket PATH          listen on a unix socket for QEMU 7.2+\n"
"                              -netdev stream,server=off,addr.type=unix,\n"
"                              addr.path=PATH (gateway profile required);\n"
"                              a reconnecting QEMU is served again\n"
"\n"
"Many sandboxes in one process (docs/DAEMON.md):\n"
"  serve --control SOCKET      run the daemon; the options above are every\n"
"                              sandbox's defaults (--audit-log: the shared\n"
"                              log); --metrics-listen ADDR:PORT serves\n"
"                              GET /metrics; SIGHUP reloads every profile\n"
"  ctl --control SOCKET add --id ID (--tap NAME [--netns PATH] | --tap-fd N\n"
"      | --qemu-socket PATH) [-g NAME] [--audit-log F] [--max-connections N]\n"
"  ctl --control SOCKET remove --id ID | list | stats --id ID\n"
"      | reload [--id ID] | metrics\n"
"\n"
"Profile search path for NAME (first match wins):\n"
"  --profiles-dir DIR, $ISLO_PROFILES_PATH (colon-separated), ./profiles,\n"
"  $XDG_CONFIG_HOME/islo/profiles (~/.config/islo/profiles),\n"
"  /etc/islo/profiles\n"
"Precedence: --gateway-profile > gateway_profile: in the nearest islo.yaml\n"
"(from the working directory upward) > no gateway.\n"
"\n"
"Project files decide a policy only once trusted: an islo.yaml, and a\n"
"profile found in ./profiles or named by path in an islo.yaml, are used\n"
"only if `islo-net trust [PATH]` recorded their content (paths named on\n"
"the command line are yours); a new or changed one, or a trusted one\n"
"that has disappeared from where it would be found first,\n"
"stops the run before CMD starts, so nothing CMD writes can widen the\n"
"next run's policy.  trust --list shows the record, --forget PATH drops.\n"
"\n"
"What run confines: CMD's network, and islo-net's own files, with mounts\n"
"CMD cannot undo (it runs in a user namespace nested inside the one that\n"
"made them): secret files, $CREDENTIALS_DIRECTORY and islo-net's state\n"
"(the CA, the trust record) are hidden; profile directories, the profile\n"
"in force, each islo.yaml from here up, ~/.config/islo, the audit log and\n"
"this binary are read-only; /proc shows the sandbox's processes only.\n"
"It does not confine the rest of the user's files: pair it with a file\n"
"system sandbox (bubblewrap, Landlock) or a VM for that (SECURITY.md).\n"
"\n"
"Exit status: CMD's exit status (128+N if killed by signal N); 125 if\n"
"islo-net itself failed before or while running CMD; 127 if CMD could not\n"
"be executed.\n"
"\n"
"Signals: SIGINT, SIGTERM and SIGHUP are passed to CMD (killed 3 s later\n"
"if still running); SIGUSR1 reopens the audit log.\n";

enum {
	OPT_PROFILE = 256, OPT_PROFILES_DIR, OPT_AUDIT, OPT_DNS, OPT_MTU,
	OPT_HELP, OPT_VERSION, OPT_CA_DIR, OPT_UPSTREAM_CA,
	OPT_TAP, OPT_TAP_FD, OPT_NETNS, OPT_SOCKET, OPT_MAX_CONN, OPT_HOST_SERVICES,
	OPT_CONTROL, OPT_METRICS, OPT_ID, OPT_QEMU_SOCKET,
};

static const struct option run_opts_long[] = {
	{ "gateway-profile", required_argument, NULL, 'g' },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "profiles-dir", required_argument, NULL, OPT_PROFILES_DIR },
	{ "host-services", no_argument, NULL, OPT_HOST_SERVICES },
	{ "audit-log", required_argument, NULL, OPT_AUDIT },
	{ "dns-upstream", required_argument, NULL, OPT_DNS },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "ca-dir", required_argument, NULL, OPT_CA_DIR },
	{ "upstream-ca", required_argument, NULL, OPT_UPSTREAM_CA },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
	{ "tap", required_argument, NULL, OPT_TAP },
	{ "tap-fd", required_argument, NULL, OPT_TAP_FD },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS },
	{ "id", required_argument, NULL, OPT_ID },
	{ "qemu-socket", required_argument, NULL, OPT_QEMU_SOCKET },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f, int code)
{
	fputs(usage_text, f);
	exit(code);
}

/* A decimal option value from @lo to @hi, else -1 (every range is >= 0) */
static long num_arg(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < lo || v > hi ? -1 : v;
}

static int parse_mtu(const char *s)
{
	long v = *s ? num_arg(s, ISLO_MTU_MIN, ISLO_MTU_MAX) : -1;

	if (v < 0)
		die("--mtu: '%s' is not a number from %d to %d", s,
		    ISLO_MTU_MIN, ISLO_MTU_MAX);
	return (int)v;
}

struct cli {
	const char *flag_profile, *profiles_dir;
	char *path, *name;             /* from profile_resolve(), ours */
	const char *tap, *netns, *socket_path;
	const char *control, *metrics, *id, *qemu_socket;
	int tap_fd, mtu_set, maxconn_set;
	struct secrets secrets;
	struct sandboxca sca;          /* what CMD trusts, with interception */
	struct confine conf;           /* what CMD may not read or change */
	int host_services;             /* --host-services: keep their sockets */
	char *islo_yaml;               /* the islo.yaml that decided, or NULL */
	char *trust_file;              /* the trust record, for reloads */
	struct run_opts o;
};

static void cli_free(struct cli *c)
{
	secrets_env_free(c->o.child_env);
	c->o.child_env = NULL;
	confine_free(&c->conf);
	free(c->islo_yaml);
	c->islo_yaml = NULL;
	free(c->trust_file);
	c->trust_file = NULL;
	secrets_free(&c->secrets);
	sandboxca_free(&c->sca);
	if (c->o.profile)
		profile_free(c->o.profile);
	c->o.profile = NULL;
	free(c->path);
	free(c->name);
	c->path = c->name = NULL;
}

/* Where the options that only name something (a path, an address, an
 * id) keep it; NULL for the others. */
static const char **name_opt(struct cli *c, int opt)
{
	const char **const dst[] = {
		[OPT_PROFILES_DIR - OPT_PROFILE] = &c->profiles_dir,
		[OPT_AUDIT - OPT_PROFILE] = &c->o.audit_path,
		[OPT_DNS - OPT_PROFILE] = &c->o.dns_upstream,
		[OPT_CA_DIR - OPT_PROFILE] = &c->o.ca_dir,
		[OPT_UPSTREAM_CA - OPT_PROFILE] = &c->o.upstream_ca,
		[OPT_TAP - OPT_PROFILE] = &c->tap,
		[OPT_NETNS - OPT_PROFILE] = &c->netns,
		[OPT_SOCKET - OPT_PROFILE] = &c->socket_path,
		[OPT_CONTROL - OPT_PROFILE] = &c->control,
		[OPT_METRICS - OPT_PROFILE] = &c->metrics,
		[OPT_ID - OPT_PROFILE] = &c->id,
		[OPT_QEMU_SOCKET - OPT_PROFILE] = &c->qemu_socket,
	};

	if (opt < OPT_PROFILE || opt - OPT_PROFILE >= (int)(sizeof(dst) /
							    sizeof(dst[0])))
		return NULL;
	return dst[opt - OPT_PROFILE];
}

static int parse_run_opts(struct cli *c, int argc, char **argv)
{
	const char **name;
	int opt;

	c->o.mtu = ISLO_MTU_DEFAULT;
	c->tap_fd = -1;
	optind = 1;
	/* '+': stop at the first non-option, so CMD's own options are its */
	while ((opt = getopt_long(argc, argv, "+g:vq", run_opts_long, NULL)) != -1) {
		name = name_opt(c, opt);
		if (name) {
			*name = optarg;
			continue;
		}
		switch (opt) {
		case 'g':
		case OPT_PROFILE:
			if (!*optarg)
				die("--gateway-profile: empty name");
			c->flag_profile = optarg;
			break;
		case OPT_MTU:
			c->o.mtu = parse_mtu(optarg);
			c->mtu_set = 1;
			break;
		case OPT_TAP_FD:
			c->tap_fd = (int)num_arg(optarg, 0, 65535);
			if (c->tap_fd < 0)
				die("--tap-fd: '%s' is not a file descriptor", optarg);
			break;
		case OPT_MAX_CONN:
			c->o.max_connections = (int)num_arg(optarg, 1, 1000000);
			if (c->o.max_connections < 0)
				die("--max-connections: '%s' is not a number from 1 "
				    "to 1000000", optarg);
			c->maxconn_set = 1;
			break;
		case OPT_HOST_SERVICES:
			c->host_services = 1;
			break;
		case 'v':
			log_verbosity++;
			break;
		case 'q':
			log_verbosity = LOG_ERR;
			break;
		case OPT_HELP:
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	return optind;
}

/*
 * Resolve and load the profile that applies; 0 with none, -1 on error.
 * With @trusted, project files (an islo.yaml, a profile kept in the
 * project) are used only as trusted (projtrust.h): the profile is parsed
 * from the very bytes whose hash was checked.
 */
static int load_profile_ex(struct cli *c, int trusted)
{
	char err[4096], cwd[PATH_MAX];
	char *path = NULL, *name = NULL, *buf = NULL;
	struct resolve_info info = { 0 };
	struct projtrust t = { 0 };
	struct profile *p;
	size_t len = 0;
	int r;

	if (!getcwd(cwd, sizeof(cwd)))
		die("getcwd: %s", strerror(errno));
	if (trusted && projtrust_open(&t, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net: trust record: %s\n", err);
		return -1;
	}
	r = profile_resolve_ex(c->flag_profile, c->profiles_dir, cwd,
			       trusted ? &t : NULL, &path, &name, &info, err,
			       sizeof(err));
	c->islo_yaml = info.islo_yaml;
	if (r < 0) {
		fprintf(stderr, "islo-net: %s\n", err);
		projtrust_free(&t);
		return -1;
	}
	if (r == 0) {
		projtrust_free(&t);
		return 0;
	}
	c->path = path;
	c->name = name;
	if (trusted && info.needs_trust) {
		char esc[PATH_MAX * 4 + 8];

		buf = projtrust_read(path, &len, err, sizeof(err));
		if (!buf) {
			fprintf(stderr, "islo-net: %s\n", err);
			projtrust_free(&t);
			return -1;
		}
		if (!projtrust_ok(&t, path, buf, len)) {
			log_escape(path, strlen(path), esc, sizeof(esc));
			fprintf(stderr, "islo-net: %s is not trusted: it is kept "
				"in the project, is new or has changed since it "
				"was trusted, and a program in a sandbox could "
				"have written it.\nReview it, then run: islo-net "
				"trust %s\n", esc, esc);
			free(buf);
			projtrust_free(&t);
			return -1;
		}
		p = profile_parse(buf, len, path, err, sizeof(err));
		free(buf);
	} else {
		p = profile_load(path, err, sizeof(err));
	}
	projtrust_free(&t);
	if (!p) {
		fprintf(stderr, "islo-net: %s\n", err);
		return -1;
	}
	c->o.profile = p;
	c->o.profile_path = path;
	c->o.profile_name = p->name ? p->name : name;
	if (trusted && info.needs_trust) {
		/* a reload finds it in the record by this very name */
		char canon[PATH_MAX], *dup;

		if (projtrust_canon(path, canon, sizeof(canon)) == 0 &&
		    (dup = strdup(canon))) {
			free(c->path);
			c->path = dup;
			c->o.profile_path = dup;
		}
		c->o.profile_trust = c->trust_file = projtrust_default_file();
	}
	return 1;
}

static int load_profile(struct cli *c)
{
	return load_profile_ex(c, 1);
}

/* The profile's secrets: loaded at start-up, fail closed. */
static int load_secrets(struct cli *c)
{
	char err[1024];

	if (secrets_load_profile(&c->secrets, c->o.profile, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net: %s\n", err);
		return -1;
	}
	if (c->secrets.n) {
		c->o.secrets = &c->secrets;
		secrets_no_core();
	}
	return 0;
}

/**
 * prepare_interception() - Secrets, placeholders and the CA bundle for CMD
 * @c: Command line, profile loaded
 * Return: 0, or -1 (reported) before anything has started
 */
static int prepare_interception(struct cli *c)
{
	extern char **environ;
	char err[1024];
	size_t i;

	if (load_secrets(c) < 0)
		return -1;
	/* secret files: hidden from CMD (confine_run() adds the rest) */
	for (i = 0; i < c->secrets.n; i++) {
		const char *ref = c->secrets.s[i].ref;

		if (!strncmp(ref, "file:", 5) && confine_hide(&c->conf, ref + 5) < 0) {
			fprintf(stderr, "islo-net: too many paths to protect\n");
			return -1;
		}
	}
	c->o.child_env = secrets_child_env(&c->secrets, c->o.profile, environ);
	if (!c->o.child_env) {
		fprintf(stderr, "islo-net: cannot build the sandbox's environment\n");
		return -1;
	}
	if (!profile_intercepts(c->o.profile))
		return 0;
	{
		char *def = c->o.ca_dir ? NULL : ca_default_dir();
		struct ca *ca = ca_open(c->o.ca_dir ? c->o.ca_dir : def, err,
					sizeof(err));
		int r;

		free(def);
		if (!ca) {
			fprintf(stderr, "islo-net: %s\n", err);
			return -1;
		}
		/* the system bundle, the user's own settings and the hashed
		 * directory, each with the islo-net CA (sandboxca.h) */
		r = sandboxca_prepare(&c->sca, ca, &c->o.child_env, err, sizeof(err));
		ca_free(ca);
		if (r < 0) {
			fprintf(stderr, "islo-net: CA bundle: %s\n", err);
			return -1;
		}
	}
	c->o.ca_bundle = c->sca.bundle;
	c->o.ca_certdir = c->sca.certdir[0] ? c->sca.certdir : NULL;
	return 0;
}

/* What CMD must not read or change (confine.h), whatever the profile. */
static int confine_run(struct cli *c)
{
	struct confine_inputs in = {
		.profiles_dir = c->profiles_dir,
		.profile_path = c->o.profile_path,
		.audit_path = c->o.audit_path,
		.ca_dir = c->o.ca_dir,
		.self_exe = ns_self_exe,
		.host_services = c->host_services,
	};
	char err[PATH_MAX + 256];

	if (confine_plan_run(&c->conf, &in, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net: %s\n", err);
		return -1;
	}
	c->o.confine = &c->conf;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct cli c = { 0 };
	int first = parse_run_opts(&c, argc, argv), rc;

	if (first >= argc) {
		fprintf(stderr, "islo-net run: no command given\n\n");
		usage(stderr, 2);
	}
	c.o.argv = argv + first;
	if (c.tap || c.tap_fd >= 0 || c.netns || c.socket_path) {
		fprintf(stderr, "islo-net run: --tap, --tap-fd, --netns and --socket "
			"belong to `islo-net tap` and `islo-net qemu`\n");
		return 2;
	}
	if (load_profile(&c) < 0) {
		cli_free(&c);
		return 125;
	}
	if (c.o.profile && prepare_interception(&c) < 0) {
		cli_free(&c);
		return 125;
	}
	if (confine_run(&c) < 0) {
		cli_free(&c);
		return 125;
	}
	rc = run_main(&c.o);
	cli_free(&c);
	return rc;
}

/**
 * tap_open() - Open (attach to, or create) the TAP device NAME
 * @name:  Interface name
 * @netns: Network namespace to open it in (a path such as /run/netns/X),
 *         or NULL for ours
 * Return: the TAP fd, or -1 (reported)
 */
static int tap_open(const char *name, const char *netns)
{
	struct ifreq ifr;
	int fd = -1, self = -1, ns = -1;

	if (strlen(name) >= IFNAMSIZ) {
		err("--tap: '%s' is too long for an interface name", name);
		return -1;
	}
	if (netns) {
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		ns = open(netns, O_RDONLY | O_CLOEXEC);
		if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
			err("--netns %s: %s", netns, strerror(errno));
			goto out;
		}
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err("/dev/net/tun: %s", strerror(errno));
		goto back;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err("TAP device %s: %s", name, strerror(errno));
		close(fd);
		fd = -1;
	}
back:
	/* our own sockets (upstream, DNS) live in our namespace */
	if (netns && setns(self, CLONE_NEWNET) < 0)
		die("cannot return to our network namespace: %s", strerror(errno));
out:
	if (self >= 0)
		close(self);
	if (ns >= 0)
		close(ns);
	return fd;
}

/* islo-net tap / islo-net qemu: serve a VM's link until SIGINT/SIGTERM. */
static int cmd_vm(int argc, char **argv, int qemu)
{
	struct cli c = { 0 };
	struct supervisor sv;
	int first = parse_run_opts(&c, argc, argv), fd = -1, rc;

	if (first != argc) {
		fprintf(stderr, "islo-net %s: unexpected argument '%s' (no command "
			"runs: the guest is the VM)\n", argv[0], argv[first]);
		return 2;
	}
	if (qemu ? !c.socket_path : (!c.tap == (c.tap_fd < 0))) {
		fprintf(stderr, qemu ? "islo-net qemu: --socket PATH is required\n" :
			"islo-net tap: give exactly one of --tap NAME and --tap-fd N\n");
		return 2;
	}
	if (load_profile(&c) < 0 || (c.o.profile && load_secrets(&c) < 0)) {
		cli_free(&c);
		return 125;
	}
	if (!c.o.profile) {
		if (qemu) {
			fprintf(stderr, "islo-net qemu: a gateway profile is required "
				"(the no-gateway NAT serves TAP devices and `run`)\n");
			cli_free(&c);
			return 125;
		}
		fprintf(stderr, "islo-net: no gateway profile: the guest's network "
			"is unrestricted (user-mode NAT)\n");
	}
	if (qemu) {
		c.o.qemu_socket = c.socket_path;
	} else {
		fd = c.tap_fd >= 0 ? c.tap_fd : tap_open(c.tap, c.netns);
		if (fd < 0) {
			cli_free(&c);
			return 125;
		}
	}
	if (supervisor_init(&sv) < 0) {
		cli_free(&c);
		return 125;
	}
	sv.child = -1;
	rc = c.o.profile ? gw_serve(fd, &c.o, &sv) : slirpnat_serve(fd, &c.o, &sv);
	supervisor_fini(&sv);
	if (fd >= 0)
		close(fd);
	cli_free(&c);
	return rc < 0 ? 125 : 0;
}

/* islo-net serve: the daemon. */
static int cmd_serve(int argc, char **argv)
{
	struct cli c = { 0 };
	struct supervisor sv;
	int first = parse_run_opts(&c, argc, argv), rc;

	if (first != argc) {
		fprintf(stderr, "islo-net serve: unexpected argument '%s'\n",
			argv[first]);
		return 2;
	}
	if (!c.control) {
		fprintf(stderr, "islo-net serve: --control SOCKET is required\n");
		return 2;
	}
	if (c.flag_profile || c.tap || c.tap_fd >= 0 || c.socket_path ||
	    c.id || c.qemu_socket) {
		fprintf(stderr, "islo-net serve: sandboxes, their links and "
			"profiles are added with `islo-net ctl add`\n");
		return 2;
	}
	if (c.o.audit_path && c.o.audit_path[0] != '/') {
		fprintf(stderr, "islo-net serve: --audit-log needs an absolute "
			"path\n");
		return 2;
	}
	if (supervisor_init(&sv) < 0)
		return 125;
	sv.child = -1;
	rc = daemon_serve(&c.o, c.control, c.metrics, &sv);
	supervisor_fini(&sv);
	cli_free(&c);
	return rc < 0 ? 125 : 0;
}

/* Append ,"key":"value" (JSON-escaped) to a request being built. */
static void req_str(struct ctlbuf *b, const char *key, const char *val)
{
	if (!val)
		return;
	cb_printf(b, ",\"%s\":", key);
	cb_jstr(b, val);
}

/* islo-net ctl: one request to a running daemon. */
static int cmd_ctl(int argc, char **argv)
{
	struct cli c = { 0 };
	struct ctlbuf req = { 0 };
	const char *verb;
	char *answer = NULL, *abs = NULL;
	int first = parse_run_opts(&c, argc, argv), fd = -1, rc = 1;

	if (first >= argc) {
		fprintf(stderr, "Usage: islo-net ctl --control SOCKET "
			"add|remove|list|stats|reload|metrics [OPTIONS]\n");
		return 2;
	}
	verb = argv[first];
	first += parse_run_opts(&c, argc - first, argv + first) - 1;
	if (first != argc - 1) {
		fprintf(stderr, "islo-net ctl: unexpected argument '%s'\n",
			argv[first + 1]);
		return 2;
	}
	if (!c.control) {
		fprintf(stderr, "islo-net ctl: --control SOCKET is required\n");
		return 2;
	}
	cb_lit(&req, "{\"cmd\":");
	cb_jstr(&req, verb);
	req_str(&req, "id", c.id);
	if (!strcmp(verb, "add")) {
		if (!c.id) {
			fprintf(stderr, "islo-net ctl add: --id ID is required\n");
			goto out;
		}
		if ((c.tap != NULL) + (c.tap_fd >= 0) + (c.qemu_socket != NULL) != 1) {
			fprintf(stderr, "islo-net ctl add: give exactly one of "
				"--tap NAME, --tap-fd N and --qemu-socket PATH\n");
			goto out;
		}
		/* the profile is resolved here, as `run` would, and the
		 * daemon reads the file it names */
		if (load_profile(&c) <= 0) {
			if (!c.o.profile)
				fprintf(stderr, "islo-net ctl add: a gateway profile "
					"is required (--gateway-profile NAME, or "
					"an islo.yaml)\n");
			goto out;
		}
		abs = realpath(c.o.profile_path, NULL);
		if (!abs) {
			fprintf(stderr, "islo-net ctl add: %s: %s\n",
				c.o.profile_path, strerror(errno));
			goto out;
		}
		req_str(&req, "profile_path", abs);
		req_str(&req, "profile", c.o.profile_name);
		if (c.o.audit_path) {
			char *a = realpath(c.o.audit_path, NULL);

			if (!a && errno == ENOENT && c.o.audit_path[0] == '/') {
				req_str(&req, "audit_log", c.o.audit_path);
			} else if (!a) {
				fprintf(stderr, "islo-net ctl add: --audit-log %s: "
					"give an absolute path\n", c.o.audit_path);
				goto out;
			} else {
				req_str(&req, "audit_log", a);
				free(a);
			}
		}
		if (c.maxconn_set)
			cb_printf(&req, ",\"max_connections\":%d",
				  c.o.max_connections);
		if (c.mtu_set)
			cb_printf(&req, ",\"mtu\":%d", c.o.mtu);
		if (c.qemu_socket) {
			if (c.qemu_socket[0] != '/') {
				fprintf(stderr, "islo-net ctl add: --qemu-socket "
					"needs an absolute path\n");
				goto out;
			}
			req_str(&req, "qemu_socket", c.qemu_socket);
		} else {
			fd = c.tap_fd >= 0 ? c.tap_fd : tap_open(c.tap, c.netns);
			if (fd < 0)
				goto out;
			cb_lit(&req, ",\"tap_fd\":true");
		}
	}
	cb_lit(&req, "}");
	if (req.oom || ctl_call(c.control, req.p, fd, &answer) < 0)
		goto out;
	{
		int ok = !strncmp(answer, "{\"ok\":true", 10);
		char *text = ctlmsg_answer_str(answer, strlen(answer),
					       ok ? "metrics" : "error");

		/* metrics: print the text itself */
		if (ok && !strcmp(verb, "metrics") && text) {
			fputs(text, stdout);
		} else {
			if (!ok && text)
				fprintf(stderr, "islo-net ctl %s: %s\n", verb, text);
			printf("%s\n", answer);
		}
		free(text);
		rc = ok ? 0 : 1;
	}
out:
	if (fd >= 0 && c.tap_fd < 0)
		close(fd);
	free(abs);
	free(answer);
	cb_free(&req);
	cli_free(&c);
	return rc;
}

/* A profile's string, escaped for the terminal. */
static const char *esc_str(const char *v, char *buf, size_t size)
{
	log_escape(v, strlen(v), buf, size);
	return buf;
}

static void print_list(const char *what, char *const *v, size_t n)
{
	char e[1024];
	size_t i;

	if (!n)
		return;
	printf("      %-12s", what);
	for (i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", esc_str(v[i], e, sizeof(e)));
	printf("\n");
}

/* Every key that changes what a rule does, never a secret's value. */
static void print_rule(const struct pf_rule *r)
{
	static const char *const modes[] = { "?", "bearer", "basic", "header" };
	static const char *const pgtls[] = { "verify-full", "require", "disable" };
	char e[1024];
	size_t i;

	printf("  %-24s %-5s prio %-6d %s", esc_str(r->name, e, sizeof(e)),
	       r->action == PF_ALLOW ? "allow" : "deny", r->priority,
	       r->protocol == PF_UDP ? "udp" : "tcp");
	if (r->host_pattern)
		printf(" host %s", esc_str(r->host_pattern, e, sizeof(e)));
	if (r->ncidrs)
		printf(" (%zu cidr)", r->ncidrs);
	printf(" ports");
	for (i = 0; i < r->nports; i++) {
		if (r->ports[i].lo == r->ports[i].hi)
			printf(" %u", r->ports[i].lo);
		else
			printf(" %u-%u", r->ports[i].lo, r->ports[i].hi);
	}
	if (r->allow_private)
		printf(" allow_private");
	printf("\n");
	if (r->action == PF_ALLOW && r->protocol != PF_UDP && !r->pg)
		printf("      %-12s%s\n", "tls:", pf_rule_intercepts(r) ?
		       (r->tls_mode == PF_TLS_INTERCEPT ? "intercept" :
			"intercept (the rule scopes HTTP or injects a credential)") :
		       r->tls_mode == PF_TLS_PASSTHROUGH ? "passthrough" :
		       "passthrough (no HTTP scoping, no credential)");
	print_list("methods:", r->methods, r->nmethods);
	print_list("paths:", r->path_patterns, r->npath_patterns);
	if (r->rate_limit_rpm)
		printf("      %-12s%d requests/minute\n", "rate:", r->rate_limit_rpm);
	if (r->auth) {
		const struct pf_auth *a = r->auth;

		printf("      %-12s%s", "credential:",
		       a->mode >= 1 && a->mode <= 3 ? modes[a->mode] : "?");
		if (a->mode == PF_AUTH_HEADER && a->header_name)
			printf(" (header %s)", esc_str(a->header_name, e, sizeof(e)));
		if (a->mode == PF_AUTH_BASIC && a->username)
			printf(" (user %s)", esc_str(a->username, e, sizeof(e)));
		printf(", secret %s", esc_str(a->secret_ref, e, sizeof(e)));
		if (a->placeholder_env)
			printf(", placeholder in $%s",
			       esc_str(a->placeholder_env, e, sizeof(e)));
		printf("\n");
	}
	if (r->route_host)
		printf("      %-12s%s:%u\n", "route:",
		       esc_str(r->route_host, e, sizeof(e)), r->route_port);
	if (r->tls_verify_name)
		printf("      %-12s%s\n", "verify as:",
		       esc_str(r->tls_verify_name, e, sizeof(e)));
	if (r->allow_plaintext)
		printf("      %-12s%s\n", "plaintext:", "credential injected into plain HTTP too");
	if (r->pg) {
		const struct pf_postgres *g = r->pg;

		printf("      %-12suser %s, password %s, %s, upstream TLS %s%s\n",
		       "postgres:", esc_str(g->user, e, sizeof(e)),
		       g->password_ref ? g->password_ref : "(none)",
		       g->read_only ? "read-only" : "read-write",
		       g->tls >= 0 && g->tls <= 2 ? pgtls[g->tls] : "?",
		       g->client_tls ? ", TLS to the sandbox" : "");
		if (g->any_database)
			printf("      %-12s*\n", "databases:");
		else
			print_list("databases:", g->databases, g->ndatabases);
	}
}

static int cmd_check(int argc, char **argv)
{
	struct cli c = { 0 };
	int first = parse_run_opts(&c, argc, argv);
	const struct profile *p;
	size_t i;

	if (first != argc - 1) {
		fprintf(stderr, "Usage: islo-net check [--profiles-dir DIR] [-q] PROFILE\n");
		return 2;
	}
	c.flag_profile = argv[first];
	/* reviewing a file before trusting it is what check is for */
	if (load_profile_ex(&c, 0) <= 0) {
		cli_free(&c);
		return 1;
	}
	p = c.o.profile;
	if (log_verbosity == LOG_ERR) {     /* -q: errors only */
		cli_free(&c);
		return 0;
	}
	printf("%s: profile '%s' is valid\n", c.o.profile_path, p->name);
	printf("  default: %s\n", p->default_action == PF_ALLOW && p->internet_enabled ?
	       "allow" : "deny");
	for (i = 0; i < p->nrules; i++)
		print_rule(&p->rules[i]);
	cli_free(&c);
	return 0;
}

/* Record (or forget) one file in the trust record; print what was done. */
static int trust_one(struct projtrust *t, const char *path, int forget)
{
	char err[1024], esc[PATH_MAX * 4 + 8];
	size_t len = 0;
	char *buf = NULL;

	log_escape(path, strlen(path), esc, sizeof(esc));
	if (!forget) {
		buf = projtrust_read(path, &len, err, sizeof(err));
		if (!buf) {
			fprintf(stderr, "islo-net trust: %s\n", err);
			return -1;
		}
	} else if (!projtrust_known(t, path)) {
		fprintf(stderr, "islo-net trust: %s is not in the trust record\n",
			esc);
		return -1;
	}
	if (projtrust_set(t, path, buf, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net trust: %s\n", err);
		free(buf);
		return -1;
	}
	free(buf);
	printf("%s %s\n", forget ? "forgot" : "trusted", esc);
	return 0;
}

/*
 * islo-net trust [--forget | --list] [PATH...]: with no PATH, the files
 * that decide this directory's policy and need trust (its islo.yaml, a
 * profile kept in the project).
 */
static int cmd_trust(int argc, char **argv)
{
	struct projtrust t;
	char err[4096];
	const char *pdir = NULL;
	int forget = 0, list = 0, i = 2, rc = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--profiles-dir") && i + 1 < argc)
			pdir = argv[++i];
		else if (!strcmp(argv[i], "--forget"))
			forget = 1;
		else if (!strcmp(argv[i], "--list"))
			list = 1;
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			fprintf(stderr, "Usage: islo-net trust [--forget | --list] "
				"[--profiles-dir DIR] [PATH...]\n");
			return 2;
		}
	}
	if (projtrust_open(&t, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "islo-net trust: %s\n", err);
		return 1;
	}
	if (list) {
		size_t k;

		for (k = 0; k < t.n; k++) {
			char esc[PATH_MAX * 4 + 8];

			log_escape(t.e[k].path, strlen(t.e[k].path), esc, sizeof(esc));
			printf("%s\n", esc);
		}
	} else if (i < argc) {
		for (; i < argc; i++)
			if (trust_one(&t, argv[i], forget) < 0)
				rc = 1;
	} else if (forget) {
		fprintf(stderr, "islo-net trust --forget: name the files\n");
		rc = 2;
	} else {
		/* what decides here, resolved without the trust checks */
		struct resolve_info info = { 0 };
		char cwd[PATH_MAX], *path = NULL, *name = NULL;
		int r;

		if (!getcwd(cwd, sizeof(cwd)))
			die("getcwd: %s", strerror(errno));
		r = profile_resolve_ex(NULL, pdir, cwd, NULL, &path, &name,
				       &info, err, sizeof(err));
		if (r < 0 && info.islo_yaml) {
			/* the islo.yaml is what the user reviewed; the profile
			 * it names is looked up at each run */
			rc = trust_one(&t, info.islo_yaml, 0) < 0;
			fprintf(stderr, "islo-net trust: warning: %s\n", err);
		} else if (r < 0) {
			fprintf(stderr, "islo-net trust: %s\n", err);
			rc = 1;
		} else if (!info.islo_yaml) {
			fprintf(stderr, "islo-net trust: no islo.yaml here or "
				"above: name the files to trust\n");
			rc = 1;
		} else {
			rc = trust_one(&t, info.islo_yaml, 0) < 0;
			if (!rc && r > 0 && info.needs_trust)
				rc = trust_one(&t, path, 0) < 0;
		}
		free(info.islo_yaml);
		free(path);
		free(name);
	}
	projtrust_free(&t);
	return rc;
}

static int cmd_resolve(int argc, char **argv)
{
	struct cli c = { 0 };
	int first = parse_run_opts(&c, argc, argv), r;

	if (first != argc) {
		fprintf(stderr, "Usage: islo-net resolve [--gateway-profile NAME]\n");
		return 2;
	}
	r = load_profile(&c);
	if (r < 0) {
		cli_free(&c);
		return 1;
	}
	if (r == 0)
		printf("no gateway (unrestricted user-mode NAT)\n");
	else
		printf("%s %s\n", c.o.profile_name, c.o.profile_path);
	cli_free(&c);
	return 0;
}

/*
 * LeakSanitizer builds: the sandbox's init and relay (tiny, short of
 * nothing but a few bytes of argv) cannot run the leak check where they
 * live (pid 1 of a PID namespace, or its parent in a user namespace: its
 * ptrace-based stop-the-world fails there), and a failed check would
 * become CMD's exit status.  The gateway itself is checked as before.
 */
static int sandbox_helper;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return sandbox_helper;
}

int main(int argc, char **argv)
{
	log_verbosity = LOG_WARN;
	if (argc < 2)
		usage(stderr, 2);
	/* the binary ns.c re-executes for the sandbox's init and relay: the
	 * path we were started by (absolute, or found on PATH) */
	if (strchr(argv[0], '/')) {
		ns_self_exe = realpath(argv[0], NULL);
	} else {
		const char *path = getenv("PATH");
		char buf[PATH_MAX];

		while (path && *path && !ns_self_exe) {
			size_t n = strcspn(path, ":");

			if (n && n + strlen(argv[0]) + 2 <= sizeof(buf)) {
				memcpy(buf, path, n);
				buf[n] = '/';
				strcpy(buf + n + 1, argv[0]); /* NOLINT: fits */
				if (access(buf, X_OK) == 0)
					ns_self_exe = realpath(buf, NULL);
			}
			path += n + (path[n] == ':');
		}
	}
	/* the sandbox's own processes (ns.c), before anything else */
	if (!strcmp(argv[1], "__sandbox-init")) {
		sandbox_helper = 1;
		return ns_init_main(argc, argv);
	}
	if (!strcmp(argv[1], "__sandbox-relay")) {
		sandbox_helper = 1;
		return ns_relay_main(argc, argv);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help"))
		usage(stdout, 0);
	if (!strcmp(argv[1], "--version")) {
		printf("islo-net %s\n", ISLO_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "trust"))
		return cmd_trust(argc, argv);
	if (!strcmp(argv[1], "resolve"))
		return cmd_resolve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ca"))
		return ca_cli_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "tap"))
		return cmd_vm(argc - 1, argv + 1, 0);
	if (!strcmp(argv[1], "qemu"))
		return cmd_vm(argc - 1, argv + 1, 1);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return cmd_ctl(argc - 1, argv + 1);
	fprintf(stderr, "islo-net: unknown command '%s'\n\n", argv[1]);
	usage(stderr, 2);
	return 2;
}
