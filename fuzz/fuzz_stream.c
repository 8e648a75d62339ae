// SPDX-License-Identifier: MIT
/*
 * fuzz_stream.c - libFuzzer target: QEMU's -netdev stream framing (a
 * 4-byte big-endian length, then an Ethernet frame) as a hostile guest
 * sends it, arriving in arbitrary pieces, and every frame it carries
 * through the whole frame-input path behind it.
 *
 * Input: a first byte choosing the piece size (1-256 bytes), then the
 * stream.  The "connection" is /dev/null: what the gateway answers is
 * discarded, and a bad length drops it as a real one would be dropped
 * (the next input reconnects).
 *
 * Network rule: the profile allows nothing, and the host-side resolver is
 * the discard port on loopback, which never answers.
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
	"  - name: names\n"
	"    host_pattern: \"*.example\"\n"
	"    ports: [9]\n";

static struct gw *g;

static void setup(void)
{
	static struct run_opts o;
	static struct supervisor sv;
	static char dir[] = "/tmp/islo-fuzz-stream-XXXXXX";
	static char path[64];
	char err[512];

	log_verbosity = -1;
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/q.sock", dir);
	o.mtu = 1500;
	o.profile_name = "fuzz";
	o.dns_upstream = "127.0.0.1:9";
	o.qemu_socket = path;
	o.profile = profile_parse(profile_text, sizeof(profile_text) - 1,
				  "fuzz.yaml", err, sizeof(err));
	sv.sigfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sv.child = -1;
	if (!o.profile || sv.sigfd < 0)
		abort();
	g = gw_test_new(-1, &o, &sv);
	if (!g || !g->stream)
		abort();
	/* nothing ever connects: the path is not needed past set-up */
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t piece, off = 1;

	if (!g)
		setup();
	if (size < 1)
		return 0;
	if (g->tapfd < 0) {
		/* a guest (re)connects: a fresh stream */
		g->tapfd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (g->tapfd < 0)
			abort();
	}
	piece = (size_t)data[0] + 1;
	while (off < size && g->tapfd >= 0) {
		size_t n = size - off < piece ? size - off : piece;
		/* an exact-size copy, so ASan sees any read past the piece */
		uint8_t *p = malloc(n);

		if (!p)
			abort();
		memcpy(p, data + off, n);
		gw_stream_feed(g, p, n);
		free(p);
		off += n;
	}
	/* the next input is a new stream: no partial frame carries over */
	g->srx_len = 0;
	gw_run_once(g, 0);
	return 0;
}
