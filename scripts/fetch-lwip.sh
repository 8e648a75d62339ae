#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fetch-lwip.sh VERSION DEPSDIR - fetch lwIP pristine from Debian's `lwip`
# source package, check it by sha256, unpack it and apply our patches.
#
# The deb-src entry is derived at run time from this machine's own Debian
# sources (deb822 .sources or one-line sources.list): the same mirror, the
# same suites, Types: deb-src.  apt runs with a private state and cache
# directory under DEPSDIR, so the system's package lists are not touched
# and no root is needed.  Nothing fetched here is ever committed.
set -eu

VERSION=${1:-2.1.3}
DEPS=${2:-deps}
DEBVER="${VERSION}+dfsg1-2"
ORIG="lwip_${VERSION}+dfsg1.orig.tar.xz"
SHA256=0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24
HERE=$(cd "$(dirname "$0")/.." && pwd)

mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
SRC="$DEPS/lwip-$VERSION"

have_orig() {
	[ -f "$DEPS/$ORIG" ] &&
		echo "$SHA256  $DEPS/$ORIG" | sha256sum -c --status
}

if ! have_orig; then
	APT="$DEPS/apt"
	rm -rf "$APT"
	mkdir -p "$APT/parts" "$APT/lists/partial" "$APT/cache/archives/partial"
	: >"$APT/none.list"
	found=0
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		grep -qi '^URIs:.*debian' "$f" || continue
		sed -e 's/^Types:.*/Types: deb-src/' "$f" >"$APT/parts/$(basename "$f")"
		found=1
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		grep -E '^deb[[:space:]]' "$f" | grep -i debian |
			sed -e 's/^deb[[:space:]]/deb-src /' >>"$APT/parts/derived.list" || true
	done
	[ -s "$APT/parts/derived.list" ] && found=1
	[ -f "$APT/parts/derived.list" ] && [ ! -s "$APT/parts/derived.list" ] && rm -f "$APT/parts/derived.list"
	if [ "$found" = 0 ]; then
		echo "fetch-lwip: no Debian sources entry found in /etc/apt to derive deb-src from" >&2
		exit 1
	fi
	OPTS="-o Dir::Etc::SourceList=$APT/none.list -o Dir::Etc::SourceParts=$APT/parts \
	      -o Dir::State::Lists=$APT/lists -o Dir::Cache=$APT/cache \
	      -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq"
	echo "  FETCH   lwip $DEBVER (Debian source package)"
	# shellcheck disable=SC2086
	apt-get $OPTS update >/dev/null
	(cd "$DEPS" && apt-get $OPTS source --download-only "lwip=$DEBVER" >/dev/null 2>&1) || {
		echo "fetch-lwip: apt-get source lwip=$DEBVER failed" >&2
		exit 1
	}
	rm -rf "$APT"
	if ! have_orig; then
		echo "fetch-lwip: $ORIG does not match sha256 $SHA256" >&2
		exit 1
	fi
fi

rm -rf "$SRC" "$SRC.tmp"
mkdir -p "$SRC.tmp"
tar -C "$SRC.tmp" -xJf "$DEPS/$ORIG"
mv "$SRC.tmp/lwip-$VERSION" "$SRC"
rmdir "$SRC.tmp"
for p in "$HERE"/patches/lwip/*.patch; do
	[ -f "$p" ] || continue
	echo "  PATCH   $(basename "$p")"
	patch -s -p1 -d "$SRC" <"$p"
done
touch "$SRC/.islo-patched"
