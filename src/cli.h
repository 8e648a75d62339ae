/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the commands of the command line share: their options, the
 * profile that applies and its secrets.
 *
 * main.c dispatches to one cmd_*() per command; each lives in a cli_*.c
 * file (run, tap/qemu, serve and ctl, check and resolve, trust; ca is
 * ca_cli.c).  Start-up only: die() is allowed here.
 */
#ifndef ISLO_CLI_H
#define ISLO_CLI_H

#include <stdio.h>

#include "confine.h"
#include "islo.h"
#include "sandboxca.h"
#include "secret.h"

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
	int nat_slirp;                 /* --nat slirp: libslirp, no profile */
	char *islo_yaml;               /* the islo.yaml that decided, or NULL */
	char *trust_file;              /* the trust record, for reloads */
	/* `islo-net learn` (cli_learn.c) */
	const char *learn_output, *learn_from;
	int learn_intercept, learn_allow_private;
	struct run_opts o;
};

/* Print the usage text to @f and exit with @code. */
void cli_usage(FILE *f, int code) __attribute__((noreturn));
/* Parse the options of run, tap, qemu, serve, ctl, check and resolve into
 * @c; Return: the index of the first argument that is not an option. */
int cli_parse_opts(struct cli *c, int argc, char **argv);
void cli_free(struct cli *c);
/* The profile that applies; Return: 1, 0 with none, -1 on error (said). */
int cli_load_profile_ex(struct cli *c, int trusted);
int cli_load_profile(struct cli *c);
/* The profile's secrets; Return: 0, or -1 (said). */
int cli_load_secrets(struct cli *c);
/* Open TAP device @name (in @netns if set); Return: its fd, or -1 (said). */
int cli_tap_open(const char *name, const char *netns);

/* cli_run_loaded() - `run` once its profile (or none) is in c->o: the
 * secrets, the CA bundle, the confinement, then CMD.  Return: CMD's exit
 * status, or 125 (said). */
int cli_run_loaded(struct cli *c);

/* The commands: each returns the process's exit status. */
int cmd_run(int argc, char **argv);
int cmd_vm(int argc, char **argv, int qemu);
int cmd_serve(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_learn(int argc, char **argv);

#endif
