// SPDX-License-Identifier: MIT
/*
 * cli_daemon.c - `islo-net serve` (the daemon) and `islo-net ctl` (one
 * request to it); see cli.h and docs/DAEMON.md.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlmsg.h"
#include "daemon.h"
#include "supervisor.h"

/* islo-net serve: the daemon. */
int cmd_serve(int argc, char **argv)
{
	struct cli c = { 0 };
	struct supervisor sv;
	int first = cli_parse_opts(&c, argc, argv), rc;

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

/* The fields of an `add` request; Return: 0, or -1 (said). */
static int add_request(struct cli *c, struct ctlbuf *req, int *fd)
{
	char *abs;
	int have;

	if (!c->id) {
		fprintf(stderr, "islo-net ctl add: --id ID is required\n");
		return -1;
	}
	if ((c->tap != NULL) + (c->tap_fd >= 0) + (c->qemu_socket != NULL) != 1) {
		fprintf(stderr, "islo-net ctl add: give exactly one of "
			"--tap NAME, --tap-fd N and --qemu-socket PATH\n");
		return -1;
	}
	/* the profile is resolved here, as `run` would, and the
	 * daemon reads the file it names; none: the NAT */
	have = cli_load_profile(c);
	if (have < 0)
		return -1;
	if (!have && c->nat_slirp) {
		fprintf(stderr, "islo-net ctl add: --nat slirp is for "
			"run and tap only; the daemon's NAT is the "
			"gateway's\n");
		return -1;
	}
	if (!have) {
		fprintf(stderr, "islo-net ctl add: no gateway profile: "
			"the sandbox's network is unrestricted "
			"(user-mode NAT)\n");
		cb_lit(req, ",\"nat\":true");
	} else {
		abs = realpath(c->o.profile_path, NULL);
		if (!abs) {
			fprintf(stderr, "islo-net ctl add: %s: %s\n",
				c->o.profile_path, strerror(errno));
			return -1;
		}
		req_str(req, "profile_path", abs);
		free(abs);
		req_str(req, "profile", c->o.profile_name);
	}
	if (c->o.audit_path) {
		char *a = realpath(c->o.audit_path, NULL);

		if (!a && errno == ENOENT && c->o.audit_path[0] == '/') {
			req_str(req, "audit_log", c->o.audit_path);
		} else if (!a) {
			fprintf(stderr, "islo-net ctl add: --audit-log %s: "
				"give an absolute path\n", c->o.audit_path);
			return -1;
		} else {
			req_str(req, "audit_log", a);
			free(a);
		}
	}
	if (c->maxconn_set)
		cb_printf(req, ",\"max_connections\":%d",
			  c->o.max_connections);
	if (c->mtu_set)
		cb_printf(req, ",\"mtu\":%d", c->o.mtu);
	if (c->qemu_socket) {
		if (c->qemu_socket[0] != '/') {
			fprintf(stderr, "islo-net ctl add: --qemu-socket "
				"needs an absolute path\n");
			return -1;
		}
		req_str(req, "qemu_socket", c->qemu_socket);
	} else {
		*fd = c->tap_fd >= 0 ? c->tap_fd : cli_tap_open(c->tap, c->netns);
		if (*fd < 0)
			return -1;
		cb_lit(req, ",\"tap_fd\":true");
	}
	return 0;
}

/* islo-net ctl: one request to a running daemon. */
int cmd_ctl(int argc, char **argv)
{
	struct cli c = { 0 };
	struct ctlbuf req = { 0 };
	const char *verb;
	char *answer = NULL;
	int first = cli_parse_opts(&c, argc, argv), fd = -1, rc = 1;

	if (first >= argc) {
		fprintf(stderr, "Usage: islo-net ctl --control SOCKET "
			"add|remove|list|stats|reload|metrics [OPTIONS]\n");
		return 2;
	}
	verb = argv[first];
	first += cli_parse_opts(&c, argc - first, argv + first) - 1;
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
	if (!strcmp(verb, "add") && add_request(&c, &req, &fd) < 0)
		goto out;
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
	free(answer);
	cb_free(&req);
	cli_free(&c);
	return rc;
}
