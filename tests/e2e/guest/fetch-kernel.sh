#!/bin/sh
# SPDX-License-Identifier: MIT
# fetch-kernel.sh DESTDIR - put a Debian kernel for the QEMU guest test in
# DESTDIR, without installing it: `apt-get download` of the package behind
# Debian's linux-image-cloud-amd64 (the flavour made for VMs: 27 MB, virtio
# drivers as modules), then only boot/vmlinuz-*, boot/config-* and the
# modules the guest's network needs (virtio, net) are extracted.
#
# Installing linux-image-amd64 system-wide would do too (the test also uses
# /boot/vmlinuz-* with its /lib/modules/VERSION), but it pulls in
# initramfs-tools and runs its hooks (update-initramfs, grub if present) on
# every machine that runs the tests; this needs neither root nor hooks.
# Prints the path of the vmlinuz on success.
set -eu
dest=${1:?usage: fetch-kernel.sh DESTDIR}
meta=${ISLO_GUEST_KERNEL_PKG:-linux-image-cloud-amd64}

pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
if [ -z "$pkg" ]; then
	echo "fetch-kernel: apt-cache knows no $meta (run apt-get update?)" >&2
	exit 1
fi
mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.dl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes to the working directory; as root, apt warns that
# the _apt user cannot write there and downloads unsandboxed, which is fine.
# Three tries, a few seconds apart: a mirror can fail to answer for a moment.
n=0
until (cd "$tmp" && apt-get download -q -o Acquire::Retries=2 "$pkg" >download.log 2>&1); do
	n=$((n + 1))
	if [ $n -ge 3 ]; then
		cat "$tmp/download.log" >&2
		echo "fetch-kernel: apt-get download $pkg failed $n times" >&2
		exit 1
	fi
	sleep 5
done
deb=$(ls "$tmp"/*.deb)
mkdir "$tmp/x"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" --wildcards \
	'./boot/vmlinuz-*' './boot/config-*' \
	'./lib/modules/*/modules.builtin' \
	'./lib/modules/*/kernel/drivers/virtio/*' \
	'./lib/modules/*/kernel/drivers/net/*' \
	'./lib/modules/*/kernel/net/core/*'
rm -rf "${dest:?}/boot" "${dest:?}/lib"
mv "$tmp/x/boot" "$tmp/x/lib" "$dest/"
echo "$pkg" >"$dest/PACKAGE"
ls "$dest"/boot/vmlinuz-*
