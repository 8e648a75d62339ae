#!/bin/sh
# SPDX-License-Identifier: MIT
# install-deps.sh - install what islo-net needs to build and test, from
# Debian's packages.  Does nothing when everything is there; as root it runs
# apt-get, otherwise it names what is missing.
set -eu

PKGS="gcc make pkg-config patch xz-utils libc6-dev uidmap
libssl-dev libyaml-dev libslirp-dev libglib2.0-dev libpsl-dev publicsuffix
libnghttp2-dev
iproute2 util-linux passwd procps curl openssl dnsmasq-base
python3 python3-pytest python3-requests"
# The real-VM test (tests/e2e/test_qemu_guest.py): QEMU and a static busybox
# for the guest's initramfs.  Its kernel is fetched by the test itself
# (tests/e2e/guest/fetch-kernel.sh: apt-get download, not installed).
PKGS="$PKGS qemu-system-x86 busybox-static"
# The memcheck test (tests/e2e/test_valgrind.py).
PKGS="$PKGS valgrind"
# The database gateway's test (tests/e2e/test_postgres.py): a real
# PostgreSQL 15 server and three real clients (psql, psycopg2, pg8000).
PKGS="$PKGS postgresql-15 postgresql-client-15 python3-psycopg2 python3-pg8000"
# The packaging test (tests/test_packaging.py): the man pages rendered by
# groff and man, the shipped profiles validated against the JSON Schema.
# (systemd-analyze, from systemd, is used where the machine has it.)
PKGS="$PKGS groff-base man-db python3-jsonschema python3-yaml"
# The credential modes' test (tests/e2e/test_credmodes.py): a real AWS SDK
# signing with placeholder keys, and botocore's signer checking upstream.
PKGS="$PKGS python3-botocore"
# HTTP/2 interception's test (tests/e2e/test_http2.py): an HTTP/2 server
# and raw-frame client (python3-h2) and gRPC (python3-grpcio).
PKGS="$PKGS python3-h2 python3-grpcio"
# Ping without a profile (tests/e2e/test_nat_ping.py): a real ping.
PKGS="$PKGS iputils-ping"
[ -n "${ISLO_EXTRA_PKGS:-}" ] && PKGS="$PKGS $ISLO_EXTRA_PKGS"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO=sudo
	else
		echo "islo-net: missing packages:$missing" >&2
		echo "  install them with: sudo apt-get install$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
echo "  APT     $missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
