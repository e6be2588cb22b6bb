#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Linux's own TCP-AO selftests (tools/testing/selftests/net/tcp_ao of
# Debian's linux-source-6.12), built at test time into BUILD/selftests and
# run unchanged with LD_PRELOAD=libtcpao-preload.so, IPv4 and IPv6.
# Nothing of the kernel's code is kept in the repository.
#
#   tests/selftests/run.sh [BUILD] [TEST...]     (root; default: every test)
#
# Env: SELFTEST_TIMEOUT (s, per test; default 120), SELFTEST_BENCH_TIMEOUT
# (bench-lookups; default 600). Prints one line per test and a summary;
# exits 1 when a test fails, 0 otherwise (a skipped suite exits 77).
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
shift || true
root=$(pwd)
out=$root/$build/selftests
tarball=/usr/src/linux-source-6.12.tar.xz
sub=linux-source-6.12/tools
timeout_s=${SELFTEST_TIMEOUT:-120}
bench_timeout_s=${SELFTEST_BENCH_TIMEOUT:-600}
all_tests="setsockopt-closed key-management connect connect-deny unsigned-md5
icmps-discard icmps-accept rst self-connect seq-ext restore bench-lookups"

if [ "$(id -u)" != 0 ]; then
	echo "selftests: need root (network namespaces, veth)"; exit 77
fi
preload=$root/$build/client/libtcpao-preload.so
daemon=$root/$build/daemon/tcpaod
for f in "$preload" "$daemon"; do
	[ -e "$f" ] || { echo "selftests: $f missing: build first"; exit 1; }
done

if [ ! -f "$tarball" ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-source-6.12 >/dev/null ||
		{ echo "selftests: cannot install linux-source-6.12"; exit 77; }
fi

src=$out/src/$sub/testing/selftests/net/tcp_ao
if [ ! -f "$src/Makefile" ]; then
	mkdir -p "$out/src"
	tar -xJf "$tarball" -C "$out/src" "$sub/testing/selftests/net/tcp_ao" \
		"$sub/testing/selftests/kselftest.h" "$sub/testing/selftests/lib.mk" \
		"$sub/include" || exit 1
fi

# Debian 12's linux-libc-dev (6.1) has no TCP-AO: <linux/tcp.h> gains our
# include/tcpao/uapi.h, the same definitions.
mkdir -p "$out/khdr/linux"
cat >"$out/khdr/linux/tcp.h" <<'H'
#include_next <linux/tcp.h>
#include <tcpao/uapi.h>
H
mkdir -p "$out/bin"
make -s -C "$src" OUTPUT="$out/bin" \
	KHDR_INCLUDES="-I$out/khdr -I$root/include" -j"$(nproc)" \
	>"$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }

[ $# -gt 0 ] && all_tests="$*"
mkdir -p "$out/logs"
passed=0 failed=0 skipped=0
printf '%-22s %-5s %-6s %s\n' TEST AF RESULT "ok/fail/skip/error"
for t in $all_tests; do
	for af in ipv4 ipv6; do
		bin=$out/bin/${t}_$af log=$out/logs/${t}_$af.log
		limit=$timeout_s
		[ "$t" = bench-lookups ] && limit=$bench_timeout_s
		(cd "$out/bin" && TCPAOD="$daemon" LD_PRELOAD="$preload" \
			timeout -k 5 "$limit" "$bin") >"$log" 2>&1
		rc=$?
		counts=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) xfail:\([0-9]*\) xpass:[0-9]* skip:\([0-9]*\) error:\([0-9]*\).*/\1\/\2\/\4\/\5/p' "$log")
		case $rc in
		0) result=PASS; passed=$((passed + 1)) ;;
		4) result=SKIP; skipped=$((skipped + 1)) ;;
		124 | 137) result=TIMEOUT; failed=$((failed + 1)) ;;
		*) result=FAIL; failed=$((failed + 1)) ;;
		esac
		printf '%-22s %-5s %-7s %s\n' "$t" "$af" "$result" "${counts:--}"
	done
done
echo "selftests: $passed passed, $failed failed, $skipped skipped (logs: $out/logs)"
[ "$failed" = 0 ]
