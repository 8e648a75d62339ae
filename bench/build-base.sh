#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/build-base.sh REV OUT - build islo-net as of git revision REV into
# the file OUT, for `make bench BASE=REV` (bench/run.py --base OUT).
#
# The revision's tree comes from `git archive` into a temporary directory
# and is built there by its own Makefile, with the same CC and flags as
# this build; lwIP and BearSSL are unpacked and patched by that revision's
# own rules from the tarballs already in deps/ (no download when they are
# there).  OUT is kept with the commit it was built from (OUT.commit), so
# a second run against the same revision does not build it again.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 REV OUT" >&2; exit 2; }
REV=$1
OUT=$2
cd "$(dirname "$0")/.."

commit=$(git rev-parse --verify --quiet "$REV^{commit}") || {
	echo "build-base: $REV is not a commit here" >&2
	exit 1
}
if [ -x "$OUT" ] && [ "$(cat "$OUT.commit" 2>/dev/null)" = "$commit" ]; then
	echo "  BASE    $OUT ($REV, $(echo "$commit" | cut -c1-12), built before)"
	exit 0
fi
echo "  BASE    $OUT ($REV, $(echo "$commit" | cut -c1-12))"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/islo-bench-base.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
git archive --format=tar "$commit" | tar -x -C "$TMP"
mkdir -p "$TMP/deps"
for f in deps/*.orig.tar.xz; do
	[ -f "$f" ] && cp "$f" "$TMP/deps/"
done
# its own make, not a sub-make of ours: none of our command line's variables
unset MAKEFLAGS MFLAGS MAKELEVEL
make -C "$TMP" --no-print-directory -j"$(nproc)" islo-net ${CC:+CC="$CC"} \
	${EXTRA_CFLAGS:+EXTRA_CFLAGS="$EXTRA_CFLAGS"} \
	${EXTRA_LDLIBS:+EXTRA_LDLIBS="$EXTRA_LDLIBS"} >"$TMP/build.log" 2>&1 || {
	tail -n 30 "$TMP/build.log" >&2
	echo "build-base: building $REV failed" >&2
	exit 1
}
mkdir -p "$(dirname "$OUT")"
install -m 0755 "$TMP/islo-net" "$OUT"
echo "$commit" >"$OUT.commit"
