#!/bin/sh
# SPDX-License-Identifier: MIT
# run-tests.sh - the test run behind `make check`: unit tests, fuzz-corpus
# replay and end-to-end tests, all under pytest (Debian's python3-pytest),
# which prints the summary line the CI reads.
#
# As root it also prepares what the rootless tests need: an ordinary user
# (islo-test) and a /dev/net/tun that ordinary users may open (Debian ships
# it 0666; some machines have 0600).
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
	if ! id islo-test >/dev/null 2>&1; then
		useradd --create-home --shell /bin/sh islo-test
	fi
	# subordinate ids, as useradd gives new users and rootless podman
	# uses: the sandbox then maps more than one id (src/idmap.h)
	for u in islo-test root; do
		for f in /etc/subuid /etc/subgid; do
			grep -q "^$u:" "$f" 2>/dev/null || {
				[ $u = root ] && echo "root:1000000:65536" >> "$f" ||
					echo "$u:1100000:65536" >> "$f"
			}
		done
	done
	if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
		chmod 0666 /dev/net/tun
	fi
fi

exec /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfEs tests "$@"
