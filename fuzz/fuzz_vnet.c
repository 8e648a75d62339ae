// SPDX-License-Identifier: MIT
/*
 * fuzz_vnet.c - libFuzzer target: the whole frame-input path of the
 * gateway (as fuzz_frames.c) reached through a TAP with checksum offload
 * (IFF_VNET_HDR).  Each frame starts with a virtio_net_hdr that the
 * sandbox's kernel wrote, every field of its choosing (flags, GSO type,
 * checksum start and offset); gw_tap_frame() checks it and finishes a
 * partial checksum in place before the frame goes on.
 *
 * Input: frames, each prefixed by a 2-byte big-endian length (header
 * included).  Frames the gateway writes back go to /dev/null.  Network
 * rule: as fuzz_frames.c, the profile reaches nothing but the discard
 * port on loopback, and the resolver never answers.
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
	/* as if the TAP had IFF_VNET_HDR (/dev/null cannot say so) */
	g->vnet = sizeof(struct virtio_net_hdr);
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
		gw_tap_frame(g, frame, len);
		free(frame);
		off += len;
	}
	gw_run_once(g, 0);
	return 0;
}
