#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fetch-debsrc.sh PACKAGE DEBVER ORIG SHA256 TOPDIR DEPSDIR - fetch a
# third-party library pristine from its Debian source package, check the
# upstream tarball ORIG by sha256, unpack it as DEPSDIR/TOPDIR and apply
# our patches from third_party/PACKAGE/patches/ (if any).  Used for lwIP
# and BearSSL (third_party/versions.mk has the versions and checksums;
# third_party/README.md says what is fetched and why).
#
# Offline: when DEPSDIR already holds ORIG with the right sha256 (a
# previous fetch, or a copy), nothing is downloaded.
#
# The deb-src entry is derived at run time from this machine's own Debian
# sources (deb822 .sources or one-line sources.list): the same mirror, the
# same suites, Types: deb-src.  apt runs with a private state and cache
# directory under DEPSDIR, so the system's package lists are not touched
# and no root is needed.  Nothing fetched here is ever committed.
set -eu

[ $# -eq 6 ] || { echo "usage: $0 PACKAGE DEBVER ORIG SHA256 TOPDIR DEPSDIR" >&2; exit 2; }
PKG=$1
DEBVER=$2
ORIG=$3
SHA256=$4
TOP=$5
DEPS=$6
HERE=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$DEPS"
DEPS=$(cd "$DEPS" && pwd)
SRC="$DEPS/$TOP"

have_orig() {
	[ -f "$DEPS/$ORIG" ] &&
		echo "$SHA256  $DEPS/$ORIG" | sha256sum -c --status
}

if ! have_orig; then
	APT="$DEPS/apt-$PKG"
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
		echo "fetch-debsrc: no Debian sources entry found in /etc/apt to derive deb-src from" >&2
		exit 1
	fi
	OPTS="-o Dir::Etc::SourceList=$APT/none.list -o Dir::Etc::SourceParts=$APT/parts \
	      -o Dir::State::Lists=$APT/lists -o Dir::Cache=$APT/cache \
	      -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq"
	echo "  FETCH   $PKG $DEBVER (Debian source package)"
	# shellcheck disable=SC2086
	apt-get $OPTS update >/dev/null
	(cd "$DEPS" && apt-get $OPTS source --download-only "$PKG=$DEBVER" >/dev/null 2>&1) || {
		echo "fetch-debsrc: apt-get source $PKG=$DEBVER failed" >&2
		exit 1
	}
	rm -rf "$APT"
	if ! have_orig; then
		echo "fetch-debsrc: $ORIG does not match sha256 $SHA256" >&2
		exit 1
	fi
fi

rm -rf "$SRC" "$SRC.tmp"
mkdir -p "$SRC.tmp"
tar -C "$SRC.tmp" -xJf "$DEPS/$ORIG"
mv "$SRC.tmp/$TOP" "$SRC"
rmdir "$SRC.tmp"
for p in "$HERE"/"$PKG"/patches/*.patch; do
	[ -f "$p" ] || continue
	echo "  PATCH   $(basename "$p")"
	patch -s -p1 -d "$SRC" <"$p"
done
touch "$SRC/.islo-patched"
