#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Linux's own TCP-AO selftests (tools/testing/selftests/net/tcp_ao of
# Debian's linux-source-6.12), built at test time into BUILD/selftests and
# run unchanged with LD_PRELOAD=libtcpao-preload.so, IPv4 and IPv6.
# Nothing of the kernel's code is kept in the repository.
#
#   tests/selftests/run.sh [--expect FILE] [BUILD] [TEST...]   (root)
#
# Prints one line per test and family, then a summary. Without --expect,
# exits 1 when any test fails. With --expect FILE (lines "TEST FAMILY",
# e.g. "connect ipv4"; # comments), it is a regression gate: exits 1 only
# when a listed test does not pass, and names tests that pass but are not
# listed. A skipped suite (not root, no linux-source) exits 77.
#
# Env: SELFTEST_TIMEOUT (s, per test; default 120), SELFTEST_BENCH_TIMEOUT
# (bench-lookups; default 400), SELFTEST_BUDGET (s, whole run; default 1500:
# tests that would start later are reported NOT-RUN). A quiet machine runs
# them all in about 200 s; the margins are for a loaded one (unsigned-md5
# waits out its own timeouts: 18 s quiet, up to 51 s at load 9).
#
# Every process a test leaves behind (the daemons the preload starts, one
# per test namespace) is found by a mark in its environment and stopped by
# pid after the test, so no namespace outlives its test.
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
expect=
if [ "${1:-}" = --expect ]; then
	expect=$(realpath "$2")
	shift 2
fi
build=${1:-build}
shift || true
case $build in /*) ;; *) build=$root/$build ;; esac
out=$build/selftests
tarball=/usr/src/linux-source-6.12.tar.xz
sub=linux-source-6.12/tools
timeout_s=${SELFTEST_TIMEOUT:-120}
bench_timeout_s=${SELFTEST_BENCH_TIMEOUT:-400}
budget_s=${SELFTEST_BUDGET:-1500}
all_tests="setsockopt-closed key-management connect connect-deny unsigned-md5
icmps-discard icmps-accept rst self-connect seq-ext restore bench-lookups"

if [ "$(id -u)" != 0 ]; then
	echo "selftests: need root (network namespaces, veth)"; exit 77
fi
preload=$build/client/libtcpao-preload.so
daemon=$build/daemon/tcpaod
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

# Processes carrying our mark in their environment: the test's own and
# every daemon the preload started for it.
mark=tcpao-selftests-$$-$RANDOM
marked_pids() {
	local e
	for e in /proc/[0-9]*/environ; do
		grep -qs -z -x "SELFTEST_RUN_MARK=$mark" "$e" && basename "${e%/environ}"
	done
}
stop_leftovers() { # prints how many were left
	local pids n=0 i fds=() fd
	pids=$(marked_pids)
	[ -n "$pids" ] || { echo 0; return; }
	# A stopped tcpaod leaves its rules and its pinned guard (fail
	# closed), and the guard holds the namespace: hold each daemon's
	# namespace open, then uninstall in it once the daemon is gone.
	for p in $pids; do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = tcpaod ] || continue
		exec {fd}</proc/$p/ns/net && fds+=("$fd")
	done
	for p in $pids; do kill -TERM "$p" 2>/dev/null && n=$((n + 1)); done
	for i in $(seq 50); do
		[ -n "$(marked_pids)" ] || break
		sleep 0.1
	done
	for p in $(marked_pids); do kill -KILL "$p" 2>/dev/null; done
	for fd in "${fds[@]}"; do
		nsenter --net=/proc/$BASHPID/fd/$fd "$daemon" --remove-rules >/dev/null 2>&1
		exec {fd}<&-
	done
	echo "$n"
}
# Without /sys/kernel/tracing mounted, the selftests' library mounts tracefs
# in its working directory and leaves it there: unmount what it left.
unmount_tracefs() {
	local m
	for m in $(awk -v p="$out/bin/ksft-ftrace-" 'index($2, p) == 1 { print $2 }' /proc/mounts); do
		umount -l "$m" && rmdir "$m"
	done
}
trap 'stop_leftovers >/dev/null; unmount_tracefs' EXIT

declare -A expected=()
if [ -n "$expect" ]; then
	while read -r t af _; do
		case $t in '' | '#'*) continue ;; esac
		expected["$t $af"]=1
	done <"$expect"
fi

[ $# -gt 0 ] && all_tests="$*"
mkdir -p "$out/logs"
passed=0 failed=0 skipped=0 notrun=0
regressions=() newly=()
start=$SECONDS
printf '%-18s %-5s %-8s %-16s %5s %s\n' TEST AF RESULT ok/fail/skip/err TIME EXPECTED
for t in $all_tests; do
	for af in ipv4 ipv6; do
		bin=$out/bin/${t}_$af log=$out/logs/${t}_$af.log
		limit=$timeout_s
		[ "$t" = bench-lookups ] && limit=$bench_timeout_s
		left=$((budget_s - (SECONDS - start)))
		want=${expected["$t $af"]:+pass}
		t0=$SECONDS counts=- rc=
		if [ "$left" -lt 10 ]; then
			result=NOT-RUN
			notrun=$((notrun + 1))
		else
			[ "$limit" -gt "$left" ] && limit=$left
			(cd "$out/bin" && SELFTEST_RUN_MARK=$mark TCPAOD="$daemon" \
				LD_PRELOAD="$preload" timeout -k 5 "$limit" "$bin") \
				>"$log" 2>&1
			rc=$?
			echo "# tcpao: $(stop_leftovers) process(es) left behind, stopped" >>"$log"
			unmount_tracefs
			counts=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) xfail:\([0-9]*\) xpass:[0-9]* skip:\([0-9]*\) error:\([0-9]*\).*/\1\/\2\/\4\/\5/p' "$log")
			case $rc in
			0) result=PASS; passed=$((passed + 1)) ;;
			4) result=SKIP; skipped=$((skipped + 1)) ;;
			124 | 137) result=TIMEOUT; failed=$((failed + 1)) ;;
			*) result=FAIL; failed=$((failed + 1)) ;;
			esac
		fi
		if [ -n "$want" ] && [ "$result" != PASS ]; then
			regressions+=("$t $af: $result (see $log)")
		elif [ -n "$expect" ] && [ -z "$want" ] && [ "$result" = PASS ]; then
			newly+=("$t $af")
		fi
		printf '%-18s %-5s %-8s %-16s %4ss %s\n' "$t" "$af" "$result" \
			"${counts:--}" "$((SECONDS - t0))" "${want:--}"
	done
done
echo "selftests: $passed passed, $failed failed, $skipped skipped," \
	"$notrun not run, $((SECONDS - start)) s (logs: $out/logs)"
[ -n "$expect" ] || [ "$failed" = 0 ] || exit 1
[ -n "$expect" ] || exit 0
for n in "${newly[@]}"; do
	echo "selftests: passes but not in $(basename "$expect"): $n"
done
for r in "${regressions[@]}"; do
	echo "selftests: REGRESSION: $r"
done
[ ${#regressions[@]} = 0 ]
