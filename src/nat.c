// SPDX-License-Identifier: MIT
/*
 * nat.c - `islo-net run` with no gateway profile: the gateway's own
 * datapath as an unrestricted NAT.
 *
 * DOC: Theory of Operation
 *
 * Without a profile the sandbox gets what slirp4netns gives: every
 * address and port, TCP and UDP, IPv4 and IPv6; 10.0.2.2 (fd00::2) is the
 * host's loopback; 10.0.2.3 (fd00::3) port 53 forwards DNS, UDP and TCP,
 * to the host's resolver with every record type and the resolver's own
 * answers (no synthetic addresses).  It runs on the gateway's datapath
 * (lwIP, the flow core, the relay, segmentation offload on the TAP), which
 * is several times faster than libslirp's, under a built-in profile that
 * allows everything (nat_profile()); g->o->nat turns off what only a
 * policy needs: the first bytes are not peeked at, the synthetic address
 * pool is not used, and DNS is forwarded instead of answered.  Audit
 * events are written as with a profile, if --audit-log asks for them.
 * `--nat slirp` keeps libslirp (slirpnat.c), for what only it does.
 */
#include "nat.h"

#include "gw.h"
#include "profile.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static const char nat_yaml[] =
	"name: nat\n"
	"default_action: allow\n"
	"rules:\n"
	"  - name: nat-tcp\n"
	"    cidr: [\"0.0.0.0/0\", \"::/0\"]\n"
	"    ports: \"*\"\n"
	"  - name: nat-udp\n"
	"    cidr: [\"0.0.0.0/0\", \"::/0\"]\n"
	"    ports: \"*\"\n"
	"    protocol: udp\n";

struct profile *nat_profile(void)
{
	char err[256];

	return profile_parse(nat_yaml, sizeof(nat_yaml) - 1, "(built-in nat)",
			     err, sizeof(err));
}

int nat_own_upstream(const struct gw *g, const struct ipaddr *dst,
		     uint16_t dport, struct ipaddr *up, uint16_t *port)
{
	const struct sockaddr_storage *ss;

	memset(up, 0, sizeof(*up));
	up->family = dst->family;
	if (ipaddr_eq(dst, &g->gw4) || ipaddr_eq(dst, &g->gw6)) {
		if (dst->family == AF_INET)
			up->a[0] = 127, up->a[3] = 1;
		else
			up->a[15] = 1;
		*port = dport;
		return 0;
	}
	if (dport != 53 ||
	    !(ipaddr_eq(dst, &g->dns4) || ipaddr_eq(dst, &g->dns6)))
		return -1;
	/* the resolver, in its own family whatever the sandbox used */
	ss = hostdns_server(g->hostdns);
	if (!ss)
		return -1;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		up->family = AF_INET;
		memcpy(up->a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		up->family = AF_INET6;
		memcpy(up->a, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	}
	return 0;
}
