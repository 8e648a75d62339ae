// SPDX-License-Identifier: MIT
/*
 * fuzz_frames.c - libFuzzer target: the whole frame-input path of the
 * gateway, as a hostile sandbox drives it: Ethernet, our ARP/NDP answers,
 * the IP pre-filter (ICMP, UDP policy and relay, held SYNs and the TCP
 * policy), the DNS server, and lwIP's IPv4/IPv6 input, reassembly and TCP.
 *
 * Input: frames, each prefixed by a 2-byte big-endian length.  Frames the
 * gateway writes back go to /dev/null.  One gateway lives across inputs
 * (lwIP is a process-wide singleton), as it does across a sandbox's life.
 *
 * Network rule: the profile lets the fuzzer reach nothing but the discard
 * port on the loopback address, and the host-side resolver is that same
 * port, which never answers, so no name is ever connected to.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gw.h"
#include "log.h"
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char profile_text[] =
	"name: fuzz\n"
	"default_action: deny\n"
	"rules:\n"
	"  - name: discard-tcp\n"
	"    cidr: [127.0.0.1/32, \"::1/128\"]\n"
	"    ports: [9]\n"
	"    allow_private: true\n"
	"  - name: discard-udp\n"
	"    cidr: [127.0.0.1/32]\n"
	"    protocol: udp\n"
	"    ports: [9]\n"
	"    allow_private: true\n"
	"  - name: names\n"
	"    host_pattern: \"*.example\"\n"
	"    ports: [\"*\"]\n"
	"  - name: names-udp\n"
	"    host_pattern: \"*.example\"\n"
	"    protocol: udp\n"
	"    ports: [\"*\"]\n";

static struct gw *g;

static void setup(void)
{
	static struct run_opts o;
	static struct supervisor sv;
	char err[512];
	int tap = open("/dev/null", O_RDWR | O_CLOEXEC);

	log_verbosity = -1;
	o.mtu = ISLO_MTU_DEFAULT;
	o.profile_name = "fuzz";
	o.dns_upstream = "127.0.0.1:9";
	o.profile = profile_parse(profile_text, sizeof(profile_text) - 1,
				  "fuzz.yaml", err, sizeof(err));
	sv.sigfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sv.child = -1;
	if (!o.profile || tap < 0 || sv.sigfd < 0)
		abort();
	g = gw_test_new(tap, &o, &sv);
	if (!g)
		abort();
#ifdef FUZZ_VNET
	/* as if the TAP had IFF_VNET_HDR (/dev/null cannot say so), with
	 * segmentation offload: SYNs have their MSS raised or clamped */
	g->vnet = sizeof(struct virtio_net_hdr);
	g->tso = 1;
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (!g)
		setup();
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		uint8_t *frame;

		off += 2;
		if (len > size - off)
			len = size - off;
		/* an exact-size copy, so ASan sees any read past the frame */
		frame = malloc(len ? len : 1);
		if (!frame)
			abort();
		memcpy(frame, data + off, len);
#ifdef FUZZ_VNET
		gw_tap_frame(g, frame, len);
#else
		gw_frame_input(g, frame, len);
#endif
		free(frame);
		off += len;
	}
	gw_run_once(g, 0);
	return 0;
}
