#!/bin/sh
# SPDX-License-Identifier: MIT
#
# fuzz/build.sh - build and run the fuzz targets
#
#   fuzz/build.sh replay           build fuzz/build/<target>-replay with gcc
#                                  (ASan+UBSan when the toolchain has them)
#                                  and replay fuzz/corpus/<target>/ with it
#   fuzz/build.sh fuzz [SECONDS]   build fuzz/build/<target> with clang's
#                                  libFuzzer + ASan + UBSan and run each
#                                  target for SECONDS (default 60)
#
# New inputs found while fuzzing go to fuzz/build/corpus-<target>/ (seeds
# in fuzz/corpus/<target>/ are only read); crashes to fuzz/build/.
# Copy a crasher into fuzz/corpus/<target>/ once fixed.
set -eu

cd "$(dirname "$0")/.."
TARGETS="fuzz_dns fuzz_peek fuzz_profile"
OUT=fuzz/build
CFLAGS_COMMON="-std=gnu11 -D_GNU_SOURCE -g -O1 -Isrc -Wall -Wextra"

srcs() {
	case "$1" in
	fuzz_dns)  echo src/dns.c ;;
	fuzz_peek) echo src/peek.c ;;
	fuzz_profile) echo src/profile.c src/policy.c src/log.c ;;
	*) echo "unknown target $1" >&2; exit 1 ;;
	esac
}

libs() {
	case "$1" in
	fuzz_profile) echo -lyaml ;;
	esac
}

maxlen() {
	case "$1" in
	fuzz_peek) echo 20000 ;;
	fuzz_profile) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

mkdir -p "$OUT"

case "${1:-}" in
replay)
	CC=${CC:-gcc}
	SAN=""
	if echo 'int main(void){return 0;}' |
		$CC -x c -fsanitize=address,undefined -o "$OUT/.santest" - \
		    2>/dev/null; then
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
	fi
	rm -f "$OUT/.santest"
	rc=0
	for t in $TARGETS; do
		echo "  CC      $OUT/$t-replay"
		# shellcheck disable=SC2046
		$CC $CFLAGS_COMMON $SAN -o "$OUT/$t-replay" fuzz/$t.c \
			fuzz/replay.c $(srcs $t) $(libs $t)
		"$OUT/$t-replay" "fuzz/corpus/$t" || rc=1
	done
	exit $rc
	;;
fuzz)
	SECS=${2:-60}
	CC=${CLANG:-clang}
	for t in $TARGETS; do
		echo "  CLANG   $OUT/$t"
		# shellcheck disable=SC2046
		$CC $CFLAGS_COMMON -fsanitize=fuzzer,address,undefined \
			-fno-sanitize-recover=undefined -o "$OUT/$t" fuzz/$t.c \
			$(srcs $t) $(libs $t)
	done
	for t in $TARGETS; do
		mkdir -p "$OUT/corpus-$t"
		"$OUT/$t" -max_total_time="$SECS" -max_len="$(maxlen $t)" \
			-artifact_prefix="$OUT/$t-" -print_final_stats=1 \
			"$OUT/corpus-$t" "fuzz/corpus/$t"
	done
	;;
*)
	echo "usage: $0 replay | fuzz [SECONDS]" >&2
	exit 2
	;;
esac
