// SPDX-License-Identifier: MIT
/*
 * cli.c - the options of the command line, the profile that applies and
 * its secrets (see cli.h).
 *
 * Profile resolution (README, "Which profile applies"): --gateway-profile >
 * the nearest islo.yaml's gateway_profile > no gateway.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "profile.h"
#include "projtrust.h"
#include "resolve.h"

static const char usage_text[] =
"Usage: islo-net run [OPTIONS] [--] CMD [ARGS...]\n"
"       islo-net learn [-o FILE] [--from PROFILE] [--intercept]\n"
"                      [--allow-private] [OPTIONS] [--] CMD [ARGS...]\n"
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
"sandbox gets unrestricted user-mode NAT, as slirp4netns gives: 10.0.2.2\n"
"reaches the host's loopback and 10.0.2.3 forwards DNS to the host's\n"
"resolver.\n"
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
"      --nat gateway|slirp     with no gateway profile, the NAT: the\n"
"                              gateway's datapath allowing everything\n"
"                              (default), or libslirp\n"
"      --host-services         leave the sockets of the host's service\n"
"                              managers and container engines (D-Bus,\n"
"                              systemd, docker, podman, containerd) in\n"
"                              reach; by default they are hidden, since\n"
"                              they can start programs outside the sandbox\n"
"  -v, --verbose               more diagnostics (repeat for debug)\n"
"  -q, --quiet                 errors only\n"
"\n"
"learn: run CMD with connections allowed and audited (private, loopback,\n"
"link-local and metadata addresses still refused), then write a profile\n"
"that allows exactly what it used (default_action: deny; one rule per\n"
"host, with the methods and paths of the HTTP it could read):\n"
"  -o, --output FILE           write it to FILE (atomically, mode 0600);\n"
"                              default: standard output, after CMD's\n"
"      --from PROFILE          start from PROFILE (audited as a whole) and\n"
"                              add only what it refused\n"
"      --intercept             read HTTPS too (the islo-net CA, as run\n"
"                              does for interception), to learn its paths\n"
"      --allow-private         let CMD reach private and loopback\n"
"                              addresses too, and learn them\n"
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
	OPT_CONTROL, OPT_METRICS, OPT_ID, OPT_QEMU_SOCKET, OPT_NAT, OPT_FROM,
	OPT_INTERCEPT, OPT_ALLOW_PRIVATE,
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
	{ "nat", required_argument, NULL, OPT_NAT },
	{ "output", required_argument, NULL, 'o' },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "intercept", no_argument, NULL, OPT_INTERCEPT },
	{ "allow-private", no_argument, NULL, OPT_ALLOW_PRIVATE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void cli_usage(FILE *f, int code)
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

void cli_free(struct cli *c)
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
		[OPT_FROM - OPT_PROFILE] = &c->learn_from,
	};

	if (opt < OPT_PROFILE || opt - OPT_PROFILE >= (int)(sizeof(dst) /
							    sizeof(dst[0])))
		return NULL;
	return dst[opt - OPT_PROFILE];
}

int cli_parse_opts(struct cli *c, int argc, char **argv)
{
	const char **name;
	int opt;

	c->o.mtu = ISLO_MTU_DEFAULT;
	c->tap_fd = -1;
	optind = 1;
	/* '+': stop at the first non-option, so CMD's own options are its */
	while ((opt = getopt_long(argc, argv, "+g:vqo:", run_opts_long, NULL)) != -1) {
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
		case OPT_NAT:
			if (strcmp(optarg, "gateway") && strcmp(optarg, "slirp"))
				die("--nat: '%s' is neither gateway nor slirp",
				    optarg);
			c->nat_slirp = !strcmp(optarg, "slirp");
			break;
		case 'o':
			c->learn_output = optarg;
			break;
		case OPT_INTERCEPT:
			c->learn_intercept = 1;
			break;
		case OPT_ALLOW_PRIVATE:
			c->learn_allow_private = 1;
			break;
		case 'v':
			log_verbosity++;
			break;
		case 'q':
			log_verbosity = LOG_ERR;
			break;
		case OPT_HELP:
			cli_usage(stdout, 0);
			break;
		default:
			cli_usage(stderr, 2);
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
int cli_load_profile_ex(struct cli *c, int trusted)
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

int cli_load_profile(struct cli *c)
{
	return cli_load_profile_ex(c, 1);
}

/* The profile's secrets: loaded at start-up, fail closed. */
int cli_load_secrets(struct cli *c)
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
