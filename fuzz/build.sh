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
# FUZZ_TARGETS="fuzz_a fuzz_b" picks targets; FUZZ_LEAKS=1 turns on the
# per-input leak check that fuzz_frames otherwise runs without.
#
# New inputs found while fuzzing go to fuzz/build/corpus-<target>/ (seeds
# in fuzz/corpus/<target>/ are only read); crashes to fuzz/build/.
# Copy a crasher into fuzz/corpus/<target>/ once fixed.
set -eu

cd "$(dirname "$0")/.."
TARGETS=${FUZZ_TARGETS:-"fuzz_dns fuzz_peek fuzz_profile fuzz_frames fuzz_http1 fuzz_cert fuzz_dhcp fuzz_proxy fuzz_stream fuzz_ctl fuzz_pg fuzz_vnet fuzz_ec fuzz_ipfrag fuzz_sigv4 fuzz_learn fuzz_h2"}
OUT=fuzz/build
# lwIP's and BearSSL's trees as the Makefile fetches them (third_party/)
ver() { sed -n "s/^$1 *:= *//p" third_party/versions.mk; }
CFLAGS_COMMON="-std=gnu11 -D_GNU_SOURCE -g -O1 -Isrc -Ithird_party/lwip/port -Ideps/lwip-$(ver LWIPVER)/src/include -Ideps/bearssl-$(ver BEARVER)/inc -Wall -Wextra"

srcs() {
	case "$1" in
	fuzz_dns)  echo src/dns.c ;;
	fuzz_dhcp) echo src/dhcp.c src/ra.c src/frame.c ;;
	fuzz_peek) echo src/peek.c ;;
	fuzz_http1) echo src/http1.c src/http1body.c ;;
	fuzz_pg) echo src/pgwire.c src/pgguard.c ;;
	fuzz_cert) echo src/der.c src/ca.c src/ca_mint.c src/ecfast.c src/trust.c src/fileutil.c src/peek.c src/log.c ;;
	fuzz_profile) echo src/profile.c src/profile_rule.c src/secretcmd.c src/sigv4.c src/profile_yaml.c src/profile_check.c src/fileutil.c src/policy.c src/http1.c src/log.c ;;
	fuzz_frames|fuzz_stream|fuzz_vnet) ls src/*.c | grep -v '^src/main.c$' ;;
	fuzz_ctl) echo src/ctlmsg.c ;;
	fuzz_learn) echo src/learn.c src/profile.c src/profile_rule.c src/secretcmd.c src/sigv4.c src/profile_yaml.c src/profile_check.c src/fileutil.c src/policy.c src/http1.c src/log.c ;;
	fuzz_ipfrag) echo src/ipfrag.c ;;
	fuzz_sigv4) echo src/sigv4.c ;;
	fuzz_ec) echo src/ecfast.c src/log.c ;;
	# fuzz_proxy.c and fuzz_h2.c include src/proxy.c itself (its static
	# doors)
	fuzz_proxy|fuzz_h2) ls src/*.c | grep -v -e '^src/main.c$' -e '^src/proxy.c$' ;;
	*) echo "unknown target $1" >&2; exit 1 ;;
	esac
}

libs() {
	case "$1" in
	fuzz_profile|fuzz_learn) echo build/libbearssl.a -lyaml $(pkg-config --libs libpsl) ;;
	fuzz_cert|fuzz_ec) echo build/libbearssl.a -lcrypto ;;
	fuzz_sigv4) echo build/libbearssl.a ;;
	fuzz_frames|fuzz_stream|fuzz_proxy|fuzz_vnet|fuzz_h2) echo build/liblwip.a build/libbearssl.a $(pkg-config --libs yaml-0.1 slirp libcrypto libpsl libnghttp2) ;;
	esac
}

maxlen() {
	case "$1" in
	fuzz_peek) echo 20000 ;;
	fuzz_http1) echo 20000 ;;
	fuzz_profile) echo 8192 ;;
	fuzz_frames|fuzz_vnet) echo 70000 ;;
	fuzz_stream) echo 140000 ;;
	fuzz_ctl) echo 9000 ;;
	fuzz_proxy|fuzz_h2) echo 40000 ;;
	fuzz_cert) echo 300 ;;
	fuzz_dhcp) echo 1500 ;;
	fuzz_ec) echo 200 ;;
	*) echo 4096 ;;
	esac
}

mkdir -p "$OUT"
# the targets link lwIP and BearSSL as the main build made them
[ -f build/liblwip.a ] || make --no-print-directory build/liblwip.a
[ -f build/libbearssl.a ] || make --no-print-directory build/libbearssl.a

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
		# fuzz_frames keeps one gateway (lwIP is a singleton) across
		# inputs, so libFuzzer's per-input leak check would blame an
		# input for state a later one frees; leaks are checked instead
		# by the replay run and the LeakSanitizer e2e run.
		extra=""
		# (FUZZ_LEAKS=1 checks them per input all the same.)
		case $t in fuzz_frames|fuzz_stream|fuzz_vnet) [ -z "${FUZZ_LEAKS:-}" ] && extra="-detect_leaks=0" ;; esac
		# shellcheck disable=SC2086
		"$OUT/$t" $extra -max_total_time="$SECS" -max_len="$(maxlen $t)" \
			-artifact_prefix="$OUT/$t-" -print_final_stats=1 \
			"$OUT/corpus-$t" "fuzz/corpus/$t"
	done
	;;
*)
	echo "usage: $0 replay | fuzz [SECONDS]" >&2
	exit 2
	;;
esac
