/* SPDX-License-Identifier: MIT */
/*
 * resolve.h - which gateway profile applies (README, "Which profile applies").
 *
 * --gateway-profile NAME (alias --profile) > `gateway_profile:` in the
 * nearest islo.yaml from the working directory upward > no gateway.
 */
#ifndef ISLO_RESOLVE_H
#define ISLO_RESOLVE_H

#include <stddef.h>

#define RESOLVE_MAX_NAME 255 /* bytes in a profile name */

/**
 * profile_resolve() - Find the profile file to use
 * @flag_name:    From --gateway-profile/--profile, or NULL.  A NAME, or a
 *                path to an existing file if it contains '/' or ends in
 *                .yaml/.yml
 * @profiles_dir: From --profiles-dir, or NULL
 * @cwd:          Working directory (NULL: getcwd()); islo.yaml is searched
 *                from here upward, ./profiles is relative to it
 * @path_out:     Malloc'd path of the profile file
 * @name_out:     Malloc'd profile name (NAME, or the file's stem)
 * @err:          Filled on error; multi-line, ~4096 bytes is plenty
 * @errlen:       Its size
 *
 * NAME is looked up as NAME.yaml, then NAME.yml, in: @profiles_dir, each
 * entry of $ISLO_PROFILES_PATH, @cwd/profiles, $XDG_CONFIG_HOME/islo/profiles
 * (default ~/.config/islo/profiles), /etc/islo/profiles.  Relative
 * directories (and relative direct paths) are taken relative to @cwd; a
 * direct path named by islo.yaml is relative to that file's directory.
 *
 * Return: 1 when a profile applies; 0 when no gateway is asked for (no flag,
 * no islo.yaml naming one); -1 with @err filled (profile not found, bad
 * name, malformed islo.yaml with file:line:column)
 */
int profile_resolve(const char *flag_name, const char *profiles_dir,
		    const char *cwd, char **path_out, char **name_out,
		    char *err, size_t errlen);

struct projtrust;

/* What profile_resolve_ex() found besides the file. */
struct resolve_info {
	char *islo_yaml;     /* the islo.yaml that decided (malloc'd), or NULL */
	int needs_trust;     /* the profile file is the project's (found in
			      * ./profiles, or a path the islo.yaml names):
			      * used only if trusted (projtrust.h) */
};

/*
 * profile_resolve_ex() - profile_resolve(), with the trust rules
 * @trust:  Trusted project files; NULL: no checks
 * @info:   What decided, or NULL
 * With @trust, an islo.yaml is used only if trusted, and a trusted
 * islo.yaml or profile that has disappeared from a place searched before
 * the one found is an error (never a silent fall-back).  Whether the
 * profile file itself needs trust is @info->needs_trust: the caller hashes
 * the bytes it parses.
 */
int profile_resolve_ex(const char *flag_name, const char *profiles_dir,
		       const char *cwd, const struct projtrust *trust,
		       char **path_out, char **name_out,
		       struct resolve_info *info, char *err, size_t errlen);

#endif
