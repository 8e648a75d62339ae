/* SPDX-License-Identifier: MIT */
/*
 * confine.h - what `islo-net run` hides from CMD and keeps read-only.
 *
 * A plan is a list of paths, built by the launcher before the sandbox
 * exists (confine_hide(), confine_protect()), and applied by the sandbox's
 * set-up process in its outer user and mount namespaces (confine_apply(),
 * ns.c), where CMD, started in a user namespace nested inside, finds every
 * one of these mounts locked by the kernel.
 *
 * Three kinds of mount, applied in this order:
 *   pin   a directory bound onto itself: a mount point cannot be renamed
 *         or removed, so CMD cannot move a protected file's parent away and
 *         put a file of its own at the old path for the next run;
 *   ro    bound onto itself read-only (its submounts too);
 *   hide  a file covered by an empty read-only file, a directory by an
 *         empty read-only tmpfs (secrets, the CA, islo-net's state).
 * Paths are resolved (realpath) when added; one that does not exist is
 * skipped (nothing to protect, and nothing the mount could cover).
 */
#ifndef ISLO_CONFINE_H
#define ISLO_CONFINE_H

#include <stddef.h>

#define CONFINE_MAX 128

struct confine {
	char *pin[CONFINE_MAX];
	size_t npin;
	char *ro[CONFINE_MAX];
	size_t nro;
	char *hide[CONFINE_MAX];
	size_t nhide;
};

/* Hide @path from CMD; pins its parents. Return: 0, -1 (out of room) */
int confine_hide(struct confine *c, const char *path);
/* Keep @path read-only for CMD; pins its parents. Return: 0, -1 */
int confine_protect(struct confine *c, const char *path);
/* mkdir -p @path (mode 0700 for what it creates); best effort. */
void confine_mkdirs(const char *path);
/* Apply the plan (in the sandbox's outer mount namespace).
 * Return: 0, or -1 with @err set: CMD must not run */
int confine_apply(const struct confine *c, char *err, size_t errlen);
void confine_free(struct confine *c);
/* Make the mount at @path, and those beneath it, read-only.
 * Return: 0, or -errno */
int confine_mount_ro(const char *path);

/* What `islo-net run` protects (SECURITY.md, "Confinement"). */
struct confine_inputs {
	const char *profiles_dir;   /* --profiles-dir, or NULL */
	const char *profile_path;   /* the profile in force, or NULL */
	const char *audit_path;     /* --audit-log, or NULL */
	const char *ca_dir;         /* --ca-dir, or NULL: the state directory */
	const char *self_exe;       /* the islo-net binary, or NULL */
	int host_services;          /* --host-services: keep their sockets */
};

/*
 * confine_plan_run() - The plan for `islo-net run`
 * Hidden: islo-net's state directory (or --ca-dir), $CREDENTIALS_DIRECTORY,
 * the host's service-manager and container-engine sockets.  Read-only:
 * islo-net's configuration directory and /etc/islo (made if missing), every
 * profile search directory, the profile in force, each islo.yaml from the
 * working directory up, the audit log (created now), the islo-net binary.
 * Return: 0, or -1 with @err (a named profile directory missing, the audit
 * log not openable, too many paths)
 */
int confine_plan_run(struct confine *cf, const struct confine_inputs *in,
		     char *err, size_t errlen);

#endif
