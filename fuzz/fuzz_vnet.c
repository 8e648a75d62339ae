// SPDX-License-Identifier: MIT
/*
 * fuzz_vnet.c - libFuzzer target: the whole frame-input path of the
 * gateway (as fuzz_frames.c) reached through a TAP with checksum offload
 * (IFF_VNET_HDR).  Each frame starts with a virtio_net_hdr that the
 * sandbox's kernel wrote, every field of its choosing (flags, GSO type,
 * checksum start and offset); gw_tap_frame() checks it, takes a TCP
 * segmentation offload whole, finishes a partial checksum and rewrites a
 * SYN's MSS in place (link_syn_mss()) before the frame goes on.
 *
 * Input: frames, each prefixed by a 2-byte big-endian length (header
 * included).  Frames the gateway writes back go to /dev/null.  Network
 * rule: as fuzz_frames.c, the profile reaches nothing but the discard
 * port on loopback, and the resolver never answers.
 */

/* the same target as fuzz_frames.c, through gw_tap_frame() */
#define FUZZ_VNET 1
#include "fuzz_frames.c"
