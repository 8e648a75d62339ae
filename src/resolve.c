// SPDX-License-Identifier: MIT
/*
 * resolve.c - which gateway profile applies, and where its file is.
 *
 * Two steps.  First the NAME: the command-line flag wins; otherwise the
 * nearest islo.yaml from the working directory upward (the project's Islo
 * configuration: we read only its `gateway_profile:` key, strictly, and
 * accept whatever other keys the Islo product puts there).  The nearest
 * islo.yaml decides: one that names no profile means "no gateway", even if
 * a parent directory's would.  Second the FILE: NAME.yaml (or NAME.yml) in
 * a fixed list of places.  When that fails, the message lists the places
 * and the profiles that do exist, because "not found" alone sends people
 * hunting.
 */
#include "resolve.h"
#include "fileutil.h"
#include "log.h"
#include "profile_int.h"
#include "projtrust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define RS_MAX_PLACES  40
#define RS_MAX_LISTED  200
#define RS_MAX_ISLO    ((size_t)1024 * 1024)

struct rs_place {
	char *dir;
	const char *why;      /* how the user can change it */
};

/* Resolver context: one per profile_resolve() call. */
struct rs {
	char *cwd;                       /* absolute */
	char *err;
	size_t errlen;
	char origin[PATH_MAX + 64];      /* where the name came from */
	struct rs_place places[RS_MAX_PLACES];
	size_t nplaces;
	const struct projtrust *trust;   /* NULL: no trust checks */
	char *yaml_path, *yaml_dir;      /* the islo.yaml in force */
	const char *found_why;           /* the place lookup() found it in */
	int direct;                      /* find_file() took a path as given */
	int failed;                      /* lookup() recorded an error */
};

static void rs_err(struct rs *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void rs_err(struct rs *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->err || !r->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
}

/* A trusted project file is gone: a sandbox may have removed it so that
 * another, wider, policy applies (projtrust.h). */
static int rs_vanished(struct rs *r, const char *path)
{
	char esc[PATH_MAX * 4 + 8];

	if (!r->trust || !projtrust_known(r->trust, path))
		return 0;
	log_escape(path, strlen(path), esc, sizeof(esc));
	rs_err(r, "%s was trusted and has disappeared: a program in a sandbox "
	       "may have removed it to change which policy applies.\n"
	       "Restore it, or forget it with: islo-net trust --forget %s",
	       esc, esc);
	r->failed = 1;
	return 1;
}

/* Bounded appender for the multi-line "not found" message. */
static void rs_append(struct rs *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void rs_append(struct rs *r, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (!r->err || !r->errlen)
		return;
	len = strnlen(r->err, r->errlen);
	if (len + 1 >= r->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err + len, r->errlen - len, fmt, ap);
	va_end(ap);
}

/* A profile NAME: [A-Za-z0-9._-]+, not starting with '.', bounded. */
static int valid_name(const char *s, size_t len)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t i;

	if (!len || len > RESOLVE_MAX_NAME || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!s[i] || !strchr(chars, s[i]))
			return 0;
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* @b if absolute, else @a/@b; malloc'd, NULL if out of memory. */
static char *path_join(const char *a, const char *b)
{
	char *out;

	if (b[0] == '/' || !a)
		return strdup(b);
	if (asprintf(&out, "%s%s%s", a, ends_with(a, "/") ? "" : "/", b) < 0)
		return NULL;
	return out;
}

static int is_regular(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* File name without directory and .yaml/.yml; malloc'd. */
static char *stem_of(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (ends_with(base, ".yaml"))
		len -= 5;
	else if (ends_with(base, ".yml"))
		len -= 4;
	return strndup(base, len);
}

/**
 * read_small() - Read a whole regular file of at most @max bytes
 * @path: File
 * @max:  Limit
 * @len:  Bytes read
 * @why:  Set to a reason on failure
 * Return: malloc'd contents, or NULL
 */
static char *read_small(const char *path, size_t max, size_t *len,
			const char **why)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	*why = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto fail;
	}
	buf = malloc(max + 1);
	if (!buf) {
		*why = "out of memory";
		goto fail;
	}
	n = fu_read_fd(fd, buf, max);
	if (n < 0) {
		*why = strerror(errno);
		goto fail;
	}
	got = (size_t)n;
	if (got > max) {
		*why = "file too large";
		goto fail;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* islo.yaml parsing: the event parser, and a cursor over it. */
struct iy {
	yaml_parser_t yp;
	yaml_event_t ev;
	int have_ev;
	const char *path;
	struct rs *r;
};

static int iy_fail(struct iy *y, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int iy_fail(struct iy *y, yaml_mark_t m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rs_err(y->r, "%s:%zu:%zu: %s", y->path, m.line + 1, m.column + 1, msg);
	return -1;
}

static int iy_next(struct iy *y)
{
	if (y->have_ev) {
		yaml_event_delete(&y->ev);
		y->have_ev = 0;
	}
	if (!yaml_parser_parse(&y->yp, &y->ev)) {
		yaml_mark_t m = y->yp.problem_mark;

		if (y->yp.error == YAML_READER_ERROR)
			return iy_fail(y, m, "invalid YAML: %s at byte %zu",
				       y->yp.problem ? y->yp.problem : "error",
				       y->yp.problem_offset);
		return iy_fail(y, m, "invalid YAML: %s%s%s",
			       y->yp.problem ? y->yp.problem : "error",
			       y->yp.context ? " " : "",
			       y->yp.context ? y->yp.context : "");
	}
	y->have_ev = 1;
	return 0;
}

/* Skip the node whose first event is current (keys Islo uses, not us). */
static int iy_skip(struct iy *y)
{
	int depth = 0;

	for (;;) {
		switch (y->ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			break;
		default:
			return iy_fail(y, y->ev.start_mark, "expected a value");
		}
		if (depth <= 0)
			return 0;
		if (iy_next(y))
			return -1;
	}
}

/**
 * iy_parse() - Find `gateway_profile:` in an islo.yaml
 * @y:    Cursor, initialised
 * @name: Malloc'd name if the key is there, else left NULL
 * Return: 0, or -1 with the error recorded
 */
static int iy_parse(struct iy *y, char **name)
{
	yaml_mark_t first = { 0 };
	int seen = 0, step;

	/* STREAM-START (libyaml always sends it first), then DOCUMENT-START */
	if (iy_next(y))
		return -1;
	if (iy_next(y))
		return -1;
	if (y->ev.type == YAML_STREAM_END_EVENT)
		return 0;                               /* empty file */
	if (iy_next(y))
		return -1;
	if (y->ev.type == YAML_SCALAR_EVENT && y->ev.data.scalar.length == 0 &&
	    y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		goto doc_end;                           /* "---" alone */
	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return iy_fail(y, y->ev.start_mark,
			       "expected a mapping of Islo settings (such as gateway_profile: NAME)");
	for (;;) {
		const char *v;
		size_t len;
		int ours;

		if (iy_next(y))
			return -1;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			break;
		ours = y->ev.type == YAML_SCALAR_EVENT &&
		       y->ev.data.scalar.length == strlen("gateway_profile") &&
		       !memcmp(y->ev.data.scalar.value, "gateway_profile",
			       y->ev.data.scalar.length);
		if (!ours) {
			if (iy_skip(y) || iy_next(y) || iy_skip(y))
				return -1;
			continue;
		}
		if (seen)
			return iy_fail(y, y->ev.start_mark,
				       "expected gateway_profile once: duplicate key (first at line %zu)",
				       first.line + 1);
		seen = 1;
		first = y->ev.start_mark;
		if (iy_next(y))
			return -1;
		v = (const char *)y->ev.data.scalar.value;
		len = y->ev.data.scalar.length;
		if (y->ev.type != YAML_SCALAR_EVENT || y->ev.data.scalar.anchor ||
		    y->ev.data.scalar.tag || !valid_name(v, len)) {
			char esc[80] = "";

			if (y->ev.type == YAML_SCALAR_EVENT)
				log_escape(v, len, esc, sizeof(esc));
			return iy_fail(y, y->ev.start_mark,
				       "expected gateway_profile to be a profile name (letters, digits, '.', '_', '-'; not starting with '.'), found %s%s%s",
				       y->ev.type == YAML_SCALAR_EVENT ? "'" : "",
				       y->ev.type == YAML_SCALAR_EVENT ? esc :
				       y->ev.type == YAML_ALIAS_EVENT ? "an alias" :
				       "a mapping or list",
				       y->ev.type == YAML_SCALAR_EVENT ? "'" : "");
		}
		free(*name);
		*name = strndup(v, len);
		if (!*name)
			return iy_fail(y, y->ev.start_mark, "out of memory");
		snprintf(y->r->origin, sizeof(y->r->origin),
			 "named by gateway_profile in %s:%zu:%zu", y->path,
			 y->ev.start_mark.line + 1, y->ev.start_mark.column + 1);
	}
	if (iy_next(y))
		return -1;
doc_end:
	for (step = 0; step < 2; step++) {
		const char *why = pp_tail_check(&y->ev, step);

		if (why)
			return iy_fail(y, y->ev.start_mark, "%s", why);
		if (!step && iy_next(y))
			return -1;
	}
	return 0;
}

/**
 * islo_yaml_name() - gateway_profile from the nearest islo.yaml upward
 * @r:    Context (cwd absolute)
 * @name: Malloc'd name, or NULL if there is no islo.yaml or it names none
 * @base: Malloc'd directory of that islo.yaml (for relative paths)
 * Return: 0, or -1 with the error recorded
 */
static int islo_yaml_name(struct rs *r, char **name, char **base)
{
	char *dir = strdup(r->cwd), *path = NULL, *buf, *slash;
	const char *why;
	struct iy y;
	size_t len;
	int ret;

	*name = NULL;
	*base = NULL;
	if (!dir) {
		rs_err(r, "out of memory");
		return -1;
	}
	for (;;) {
		free(path);
		path = path_join(dir, "islo.yaml");
		if (!path) {
			rs_err(r, "out of memory");
			free(dir);
			return -1;
		}
		if (!access(path, F_OK))
			break;
		if (rs_vanished(r, path)) {
			free(path);
			free(dir);
			return -1;
		}
		if (!strcmp(dir, "/")) {
			free(path);
			free(dir);
			return 0;
		}
		slash = strrchr(dir, '/');
		if (slash == dir)
			dir[1] = '\0';
		else if (slash)
			*slash = '\0';
		else
			dir[0] = '/', dir[1] = '\0';
	}
	buf = read_small(path, RS_MAX_ISLO, &len, &why);
	if (!buf) {
		rs_err(r, "%s: cannot read: %s", path, why);
		free(path);
		free(dir);
		return -1;
	}
	if (r->trust && !projtrust_ok(r->trust, path, buf, len)) {
		char esc[PATH_MAX * 4 + 8];

		log_escape(path, strlen(path), esc, sizeof(esc));
		rs_err(r, "%s is not trusted: it is new, or has changed since it "
		       "was trusted, and a program in a sandbox could have "
		       "written it.\nReview it, then run: islo-net trust %s",
		       esc, esc);
		free(buf);
		free(path);
		free(dir);
		return -1;
	}
	memset(&y, 0, sizeof(y));
	y.path = path;
	y.r = r;
	if (!yaml_parser_initialize(&y.yp)) {
		rs_err(r, "out of memory");
		ret = -1;
	} else {
		yaml_parser_set_input_string(&y.yp, (const unsigned char *)buf, len);
		ret = iy_parse(&y, name);
		if (y.have_ev)
			yaml_event_delete(&y.ev);
		yaml_parser_delete(&y.yp);
	}
	free(buf);
	if (ret) {
		free(path);
		free(*name);
		*name = NULL;
		free(dir);
		return -1;
	}
	r->yaml_path = path;
	r->yaml_dir = strdup(dir);
	*base = dir;
	return 0;
}

static void add_place(struct rs *r, const char *dir, const char *why)
{
	char *d;

	if (!dir || !dir[0] || r->nplaces >= RS_MAX_PLACES)
		return;
	d = path_join(r->cwd, dir);
	if (!d)
		return;
	r->places[r->nplaces].dir = d;
	/*
	 * The analyzer forgets what an earlier call stored at another symbolic
	 * index of places[] and calls it leaked; every dir is freed in
	 * profile_resolve().
	 */
	r->places[r->nplaces].why = why; // NOLINT(clang-analyzer-unix.Malloc): see above
	r->nplaces++;
}

/* The search list, in order (README, "Which profile applies"). */
static void build_places(struct rs *r, const char *profiles_dir)
{
	const char *env = getenv("ISLO_PROFILES_PATH");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *tmp;

	add_place(r, profiles_dir, "--profiles-dir");
	if (env && env[0]) {
		char *copy = strdup(env), *save = NULL, *tok;

		for (tok = copy ? strtok_r(copy, ":", &save) : NULL; tok;
		     tok = strtok_r(NULL, ":", &save))
			add_place(r, tok, "$ISLO_PROFILES_PATH");
		free(copy);
	}
	add_place(r, "profiles", "./profiles");
	if (xdg && xdg[0] == '/') {
		tmp = path_join(xdg, "islo/profiles");
		add_place(r, tmp, "$XDG_CONFIG_HOME/islo/profiles");
		free(tmp);
	} else if (home && home[0] == '/') {
		tmp = path_join(home, ".config/islo/profiles");
		add_place(r, tmp, "~/.config/islo/profiles");
		free(tmp);
	}
	add_place(r, "/etc/islo/profiles", "system-wide");
}

/* NAME.yaml or NAME.yml in the places; malloc'd path or NULL. */
static char *lookup(struct rs *r, const char *name)
{
	static const char *const exts[] = { ".yaml", ".yml" };
	char *path;
	size_t i, e;

	for (i = 0; i < r->nplaces; i++) {
		for (e = 0; e < 2; e++) {
			if (asprintf(&path, "%s/%s%s", r->places[i].dir, name,
				     exts[e]) < 0)
				return NULL;
			if (is_regular(path)) {
				r->found_why = r->places[i].why;
				return path;
			}
			if (rs_vanished(r, path)) {
				free(path);
				return NULL;
			}
			free(path);
		}
	}
	return NULL;
}

static int strptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append "available profiles: a, b" or "no profiles exist ..." to err. */
static void list_available(struct rs *r)
{
	char *names[RS_MAX_LISTED];
	size_t n = 0, i, shown = 0;
	int more = 0;

	for (i = 0; i < r->nplaces; i++) {
		DIR *d = opendir(r->places[i].dir);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			char *full, *stem;

			if (!ends_with(de->d_name, ".yaml") &&
			    !ends_with(de->d_name, ".yml"))
				continue;
			stem = stem_of(de->d_name);
			if (!stem)
				continue;
			if (!valid_name(stem, strlen(stem)) ||
			    asprintf(&full, "%s/%s", r->places[i].dir, de->d_name) < 0) {
				free(stem);
				continue;
			}
			if (!is_regular(full)) {
				free(full);
				free(stem);
				continue;
			}
			free(full);
			if (n >= RS_MAX_LISTED) {
				more = 1;
				free(stem);
				continue;
			}
			names[n++] = stem;
		}
		closedir(d);
	}
	if (!n) {
		rs_append(r, "no profiles exist in those places");
		return;
	}
	qsort(names, n, sizeof(*names), strptr_cmp);
	rs_append(r, "available profiles: ");
	for (i = 0; i < n; i++) {
		if (i && !strcmp(names[i], names[i - 1]))
			continue;
		rs_append(r, "%s%s", shown++ ? ", " : "", names[i]);
	}
	if (more)
		rs_append(r, ", ...");
	for (i = 0; i < n; i++)
		free(names[i]);
}

static void not_found(struct rs *r, const char *name)
{
	char esc[RESOLVE_MAX_NAME * 4 + 8];
	size_t i;

	log_escape(name, strlen(name), esc, sizeof(esc));
	rs_err(r, "Gateway profile not found: '%s' (%s)\n", esc, r->origin);
	rs_append(r, "searched for %s.yaml and %s.yml in:\n", esc, esc);
	for (i = 0; i < r->nplaces; i++)
		rs_append(r, "  %s (%s)\n", r->places[i].dir, r->places[i].why);
	list_available(r);
}

/**
 * find_file() - Turn a NAME (or direct path) into a file
 * @r:        Context, origin set
 * @name:     As given
 * @base:     Directory a relative direct path is relative to
 * @path_out: Result
 * @name_out: Result
 * Return: 1, or -1 with the error recorded
 */
static int find_file(struct rs *r, const char *name, const char *base,
		     char **path_out, char **name_out)
{
	char esc[RESOLVE_MAX_NAME * 4 + 8], *p, *stem = NULL;
	const char *want = name;
	int direct = strchr(name, '/') || ends_with(name, ".yaml") ||
		     ends_with(name, ".yml");

	log_escape(name, strnlen(name, PATH_MAX), esc, sizeof(esc));
	if (!name[0]) {
		rs_err(r, "Gateway profile name is empty (%s)", r->origin);
		return -1;
	}
	if (direct) {
		p = path_join(base, name);
		if (p && is_regular(p)) {
			r->direct = 1;
			*path_out = p;
			*name_out = stem_of(p);
			if (!*name_out) {
				free(p);
				rs_err(r, "out of memory");
				return -1;
			}
			return 1;
		}
		if (strchr(name, '/')) {
			rs_err(r, "Gateway profile not found: '%s' (%s)\n"
				  "no such file: %s", esc, r->origin, p ? p : name);
			free(p);
			return -1;
		}
		free(p);
		/* "dev.yaml" that is not a file here: look "dev" up. */
		want = stem = stem_of(name);
		if (!stem) {
			rs_err(r, "out of memory");
			return -1;
		}
	}
	if (!valid_name(want, strlen(want))) {
		rs_err(r, "Invalid gateway profile name '%s' (%s): expected letters, digits, '.', '_' and '-', not starting with '.' (or a path to a .yaml file)",
		       esc, r->origin);
		free(stem);
		return -1;
	}
	p = lookup(r, want);
	if (!p && r->failed) {
		free(stem);
		return -1;
	}
	if (!p) {
		not_found(r, want);
		free(stem);
		return -1;
	}
	*path_out = p;
	*name_out = strdup(want);
	free(stem);
	if (!*name_out) {
		free(p);
		*path_out = NULL;
		rs_err(r, "out of memory");
		return -1;
	}
	return 1;
}

int profile_resolve(const char *flag_name, const char *profiles_dir,
		    const char *cwd, char **path_out, char **name_out,
		    char *err, size_t errlen)
{
	return profile_resolve_ex(flag_name, profiles_dir, cwd, NULL, path_out,
				  name_out, NULL, err, errlen);
}

int profile_resolve_ex(const char *flag_name, const char *profiles_dir,
		       const char *cwd, const struct projtrust *trust,
		       char **path_out, char **name_out,
		       struct resolve_info *info, char *err, size_t errlen)
{
	struct rs r = { .err = err, .errlen = errlen, .trust = trust };
	char here[PATH_MAX], *name = NULL, *base = NULL;
	size_t i, len;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!path_out || !name_out) {
		rs_err(&r, "profile_resolve: no output");
		return -1;
	}
	*path_out = NULL;
	*name_out = NULL;
	if (!getcwd(here, sizeof(here))) {
		if (!cwd || cwd[0] != '/') {
			rs_err(&r, "cannot get the working directory: %s", strerror(errno));
			return -1;
		}
		here[0] = '\0';
	}
	r.cwd = cwd ? path_join(here, cwd) : strdup(here);
	if (!r.cwd) {
		rs_err(&r, "out of memory");
		return -1;
	}
	/* "/a/b/" -> "/a/b", so the walk upward sees each directory once. */
	len = strlen(r.cwd);
	while (len > 1 && r.cwd[len - 1] == '/')
		r.cwd[--len] = '\0';

	if (flag_name) {
		snprintf(r.origin, sizeof(r.origin), "named by --gateway-profile");
		name = strdup(flag_name);
		base = strdup(r.cwd);
		if (!name || !base) {
			rs_err(&r, "out of memory");
			ret = -1;
			goto out;
		}
	} else {
		if (islo_yaml_name(&r, &name, &base)) {
			ret = -1;
			goto out;
		}
		if (!name) {
			ret = 0;
			goto out;
		}
	}
	build_places(&r, profiles_dir);
	ret = find_file(&r, name, base, path_out, name_out);
	/* the project's: found in ./profiles, or the islo.yaml's own path;
	 * what the command line or $ISLO_PROFILES_PATH names is the user's */
	if (ret > 0 && info)
		info->needs_trust = (r.found_why && !strcmp(r.found_why, "./profiles")) ||
				    (r.direct && !flag_name);
out:
	if (info) {
		info->islo_yaml = r.yaml_path;
		r.yaml_path = NULL;
	}
	free(r.yaml_path);
	free(r.yaml_dir);
	for (i = 0; i < r.nplaces; i++)
		free(r.places[i].dir);
	free(r.cwd);
	free(name);
	free(base);
	return ret;
}
