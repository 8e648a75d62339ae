// SPDX-License-Identifier: MIT
/*
 * profile_check.c - the values of a profile, as text (see profile_int.h).
 *
 * The checks that need no YAML: host patterns (with the Public Suffix List),
 * CIDRs, port entries, HTTP path patterns, routes, secret reference names,
 * header names.  Each returns NULL (or 1) for a good value, else the message
 * the parser puts after FILE:LINE:COLUMN.  Strict decimal numbers are read
 * here too (pv_uint()).
 */
#include <libpsl.h>

#include "profile_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/**
 * pv_uint() - Strict decimal: digits only, no sign, no leading zero
 * @s:   Text
 * @len: Its length
 * @max: Largest value accepted
 * @out: The value
 * Return: 0, or -1 if @s is not a number in 0..@max
 */
int pv_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 10 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}
/**
 * pv_public_suffix() - Is a name a public suffix (com, co.uk)?
 * @name: Lower-case name
 *
 * The Public Suffix List through libpsl: the system's list (Debian's
 * publicsuffix package) when there is one, else the one built into
 * libpsl.  Only its ICANN section counts, and only its own rules, not the
 * implicit "*" for unknown top-level names: "*.github.io" (a private
 * registry's suffix) and "*.corp" name hosts someone chose, "*.co.uk"
 * names everyone's.  The list is read once and kept.
 *
 * Return: 1 if it is, 0 if not or if no list could be had
 */
int pv_public_suffix(const char *name)
{
	static const psl_ctx_t *psl;
	static int tried;

	if (!tried) {
		tried = 1;
		psl = psl_latest(NULL);
		if (!psl)
			psl = psl_builtin();
	}
	return psl && psl_is_public_suffix2(psl, name, PSL_TYPE_ICANN |
						       PSL_TYPE_NO_STAR_RULE);
}

/**
 * pv_host_pattern() - Validate and normalise a host pattern in place
 * @s:      NUL-terminated pattern; lowercased and trailing dot stripped
 * @family: Set to AF_INET/AF_INET6 for an IP literal, else 0
 * @addr:   The literal's address (16 bytes)
 * Return: NULL if valid, else a message saying what is wrong
 */
const char *pv_host_pattern(char *s, int *family, uint8_t *addr)
{
	size_t len = strlen(s), i, lab = 0;
	const char *name = s, *last;
	int digits_only = 1;

	*family = 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return "expected an ASCII host name (use the xn-- form for internationalised names)";
		s[i] = (char)tolower((unsigned char)s[i]);
	}
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, addr) == 1) {
			*family = AF_INET6;
			return NULL;
		}
		return "expected a host name or an IP address: not a valid IPv6 address";
	}
	if (len && s[len - 1] == '.')
		s[--len] = '\0';
	if (!len)
		return "expected a host name, *.domain or an IP address, found an empty pattern";
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return NULL;
	}
	if (s[0] == '*') {
		if (len == 1)
			return "expected a host name or *.domain: a bare '*' would match everything (use default_action instead)";
		if (s[1] != '.' || len == 2)
			return "expected '*' only as a whole first label, as in *.example.com";
		name = s + 2;
	}
	if (strlen(name) > 253)
		return "expected a host name of at most 253 characters";
	for (i = 0; name[i]; i++) {
		char ch = name[i];

		if (ch == '.') {
			if (!lab)
				return "expected a host name: empty label (two dots in a row, or a leading dot)";
			lab = 0;
			continue;
		}
		if (ch == '*')
			return "expected '*' only as a whole first label, as in *.example.com";
		if (!isalnum((unsigned char)ch) && ch != '-' && ch != '_')
			return "expected a host name of letters, digits, '-', '_' and '.'";
		if (++lab > 63)
			return "expected host name labels of at most 63 characters";
	}
	if (!lab)
		return "expected a host name: empty label (two dots in a row, or a leading dot)";
	/* A name whose last label is all digits is a mistyped IPv4 address. */
	last = strrchr(name, '.');
	last = last ? last + 1 : name;
	for (i = 0; last[i]; i++)
		if (!isdigit((unsigned char)last[i]))
			digits_only = 0;
	if (digits_only)
		return "expected a host name or an IP address: not a valid IPv4 address";
	return NULL;
}

/**
 * pv_cidr() - Parse "ADDR/PREFIX" or a bare address (a /32 or /128)
 * @s: NUL-terminated text
 * @c: Result
 * Return: NULL if valid, else a message saying what is wrong
 */
const char *pv_cidr(const char *s, struct pf_cidr *c)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	int max;

	memset(c, 0, sizeof(*c));
	if (!alen || alen >= sizeof(tmp))
		return "expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32";
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (inet_pton(AF_INET, tmp, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		return "expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32: not an IP address";
	}
	if (!slash) {
		c->prefix = max;
		return NULL;
	}
	if (pv_uint(slash + 1, strlen(slash + 1), (unsigned long)max, &prefix))
		return c->family == AF_INET ?
		       "expected an IPv4 prefix length from 0 to 32" :
		       "expected an IPv6 prefix length from 0 to 128";
	c->prefix = (int)prefix;
	return NULL;
}

/**
 * pv_port_item() - One `ports:` entry: N, "LO-HI" or "*"
 * @s:   Text
 * @len: Its length
 * @r:   Result
 * Return: 0, or -1 if it is none of those
 */
int pv_port_item(const char *s, size_t len, struct pf_portrange *r)
{
	const char *dash = memchr(s, '-', len);
	unsigned long lo, hi;

	if (len == 1 && s[0] == '*') {
		r->lo = 1;
		r->hi = 65535;
		return 0;
	}
	if (!dash) {
		if (pv_uint(s, len, 65535, &lo) || !lo)
			return -1;
		r->lo = r->hi = (uint16_t)lo;
		return 0;
	}
	if (pv_uint(s, (size_t)(dash - s), 65535, &lo) || !lo ||
	    pv_uint(dash + 1, len - (size_t)(dash - s) - 1, 65535, &hi) ||
	    hi < lo)
		return -1;
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}
/* [A-Za-z_][A-Za-z0-9_]*, at most PF_MAX_SECRET_NAME bytes: an environment variable name. */
int pv_env_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len > PF_MAX_SECRET_NAME || isdigit((unsigned char)s[0]))
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/*
 * A systemd credential name: a file name in $CREDENTIALS_DIRECTORY.  Letters,
 * digits, '_', '-', '.', '@'; no '/', no leading '.' (so never "." or "..").
 */
int pv_cred_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len > PF_MAX_SECRET_NAME || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.@", s[i]))
			return 0;
	return 1;
}

/* An HTTP token (RFC 9110 tchar), for header names. */
int pv_http_token_ok(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    !strchr("!#$%&'*+-.^_`|~", s[i]))
			return 0;
	return 1;
}

/* Count the non-overlapping occurrences of @needle in @s. */
size_t pv_count_substr(const char *s, const char *needle)
{
	size_t n = 0, nl = strlen(needle);

	while ((s = strstr(s, needle))) {
		n++;
		s += nl;
	}
	return n;
}

/**
 * pv_path_pattern() - Validate one `path_pattern:` entry
 * @s: NUL-terminated pattern (at most PF_MAX_STRING bytes, no control bytes)
 * Return: NULL if valid, else what is wrong
 */
const char *pv_path_pattern(const char *s)
{
	size_t len = strlen(s), i;
	const char *star = strchr(s, '*');

	if (s[0] != '/')
		return "expected 'path_pattern' to start with '/', as in /repos/*";
	if (star && star != s + len - 1)
		return "expected '*' only once, as the last character of a path_pattern, as in /repos/*";
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return "expected a path_pattern of printable ASCII without spaces (percent-encode other bytes)";
		if (ch == '?' || ch == '#')
			return "expected a path_pattern without '?' or '#': patterns match the path, not the query or fragment";
	}
	/* "/./" and "/../" would never match a normalised path: say so. */
	for (i = 0; i < len; i++) {
		size_t seg;

		if (s[i] != '/')
			continue;
		seg = strcspn(s + i + 1, "/");
		if ((seg == 1 && s[i + 1] == '.') ||
		    (seg == 2 && s[i + 1] == '.' && s[i + 2] == '.'))
			return "expected a path_pattern without '.' or '..' segments";
	}
	return NULL;
}
/**
 * pv_dns_name() - Validate a DNS name (no wildcard, no IP literal)
 * @s: NUL-terminated name; lowercased and trailing dot stripped in place
 * Return: NULL if valid, else what is wrong
 */
const char *pv_dns_name(char *s)
{
	uint8_t addr[16];
	const char *why;
	int family;

	if (s[0] == '*')
		return "expected a host name without '*'";
	why = pv_host_pattern(s, &family, addr);
	if (why)
		return why;
	if (family)
		return "expected a DNS name, not an IP address";
	return NULL;
}

/**
 * pv_route() - `route:` "HOST:PORT" or "[IPV6]:PORT"
 * @s: NUL-terminated text
 * @r: Rule: route_host, route_port, route_family, route_addr filled
 * Return: NULL if valid, else what is wrong
 */
const char *pv_route(const char *s, struct pf_rule *r)
{
	char v6[INET6_ADDRSTRLEN];
	const char *colon, *why;
	unsigned long port;
	size_t hlen;
	char *host;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return "expected 'route' to be HOST:PORT or [IPV6]:PORT, as in [2001:db8::1]:8443";
		hlen = (size_t)(close - s - 1);
		colon = close + 1;
		host = strndup(s + 1, hlen);
		if (!host)
			return "out of memory";
		if (inet_pton(AF_INET6, host, r->route_addr) != 1) {
			free(host);
			return "expected an IPv6 address between '[' and ']' in 'route'";
		}
		/* Canonical text: lower case, zeros compressed. */
		free(host);
		if (!inet_ntop(AF_INET6, r->route_addr, v6, sizeof(v6)) ||
		    !(host = strdup(v6)))
			return "out of memory";
		r->route_family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return "expected 'route' to be HOST:PORT, as in 127.0.0.1:8443: the port is missing";
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			return "expected an IPv6 address in 'route' to be in brackets, as in [2001:db8::1]:8443";
		if (!hlen)
			return "expected 'route' to be HOST:PORT: the host is missing";
		host = strndup(s, hlen);
		if (!host)
			return "out of memory";
		why = host[0] == '*' ? "expected a host name without '*' in 'route'" :
		      pv_host_pattern(host, &r->route_family, r->route_addr);
		if (why) {
			free(host);
			return why;
		}
	}
	if (pv_uint(colon + 1, strlen(colon + 1), 65535, &port) || !port) {
		free(host);
		r->route_family = 0;
		return "expected the port in 'route' to be a number from 1 to 65535";
	}
	free(r->route_host);
	r->route_host = host;
	r->route_port = (uint16_t)port;
	return NULL;
}

/* Headers that frame or route the request: never set from a profile. */
int pv_header_reserved(const char *name)
{
	static const char *const reserved[] = {
		"host", "content-length", "transfer-encoding", "connection",
		"upgrade", "te", "trailer", "keep-alive", "proxy-connection",
		"expect",
	};
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(*reserved); i++)
		if (!strcasecmp(name, reserved[i]))
			return 1;
	return 0;
}
int pf_rule_needs_http(const struct pf_rule *r)
{
	return r->npath_patterns || r->nmethods || r->rate_limit_rpm ||
	       r->auth;
}

int pf_rule_intercepts(const struct pf_rule *r)
{
	if (r->tls_mode == PF_TLS_INTERCEPT)
		return 1;
	return r->tls_mode == PF_TLS_AUTO && pf_rule_needs_http(r);
}
