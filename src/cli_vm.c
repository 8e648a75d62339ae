// SPDX-License-Identifier: MIT
/*
 * cli_vm.c - `islo-net tap` and `islo-net qemu`: serve a VM's link (see
 * cli.h); the TAP device opener `ctl add` shares.
 */
#include "cli.h"
#include "nat.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "secretfetch.h"
#include "supervisor.h"

/**
 * cli_tap_open() - Open (attach to, or create) the TAP device NAME
 * @name:  Interface name
 * @netns: Network namespace to open it in (a path such as /run/netns/X),
 *         or NULL for ours
 * Return: the TAP fd, or -1 (reported)
 */
int cli_tap_open(const char *name, const char *netns)
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
int cmd_vm(int argc, char **argv, int qemu)
{
	struct cli c = { 0 };
	struct supervisor sv;
	int first = cli_parse_opts(&c, argc, argv), fd = -1, rc;

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
	if (cli_load_profile(&c) < 0 || (c.o.profile && cli_load_secrets(&c) < 0)) {
		cli_free(&c);
		return 125;
	}
	{
		/* cmd: secrets with secret_ttl: their fetcher (secretfetch.h) */
		char e[256];

		if (secretfetch_start(&c.secrets, e, sizeof(e)) < 0) {
			fprintf(stderr, "islo-net: %s\n", e);
			cli_free(&c);
			return 125;
		}
	}
	if (!c.o.profile) {
		if (qemu && c.nat_slirp) {
			fprintf(stderr, "islo-net qemu: --nat slirp serves TAP "
				"devices and `run` only\n");
			cli_free(&c);
			return 125;
		}
		if (log_verbosity > LOG_ERR)
			fprintf(stderr, "islo-net: no gateway profile: the guest's "
				"network is unrestricted (user-mode NAT)\n");
	}
	if (!c.o.profile && !c.nat_slirp) {
		/* the gateway as an unrestricted NAT (nat.c) */
		c.o.profile = nat_profile();
		if (!c.o.profile) {
			fprintf(stderr, "islo-net: out of memory\n");
			cli_free(&c);
			return 125;
		}
		c.o.profile_name = "nat";
		c.o.nat = 1;
	}
	if (qemu) {
		c.o.qemu_socket = c.socket_path;
	} else {
		fd = c.tap_fd >= 0 ? c.tap_fd : cli_tap_open(c.tap, c.netns);
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
