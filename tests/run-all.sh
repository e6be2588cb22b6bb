#!/usr/bin/env bash
# Runs every test of the project and ends with one line "N passed, N failed,
# N skipped". Build directories:
#   build/       gcc, everything (unit, verify, system tests)
#   build-asan/  gcc with ASan + UBSan: unit and verify suites
#   build-fuzz/  clang with libFuzzer: each fuzzer for a bounded time
set -u
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
failures=()

setup() { # DIR [meson options...]
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		rm -rf "$dir"
		meson setup "$dir" "$@" >"/tmp/tcpao-setup-$$.log" 2>&1 ||
			{ cat "/tmp/tcpao-setup-$$.log"; return 1; }
	fi
	ninja -C "$dir" >"/tmp/tcpao-build-$$.log" 2>&1 ||
		{ tail -50 "/tmp/tcpao-build-$$.log"; return 1; }
}

# Counts meson's results from its JSON test log.
tally() { # DIR LABEL
	local log=$1/meson-logs/testlog.json name result
	[ -f "$log" ] || return 0
	while IFS=$'\t' read -r name result; do
		case $result in
		OK | EXPECTEDFAIL) passed=$((passed + 1)) ;;
		SKIP) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)); failures+=("$2 $name ($result)") ;;
		esac
	done < <(sed -n 's/.*"name": "\([^"]*\)".*"result": "\([A-Z]*\)".*/\1\t\2/p' "$log")
}

run() { # DIR LABEL SUITE... (meson test arguments)
	local dir=$1 label=$2
	shift 2
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs "$@"
	tally "$dir" "$label"
}

build_failed() {
	failed=$((failed + 1))
	failures+=("$1: build failed")
}

if setup build -Dwerror=true; then
	run build gcc --suite unit --suite verify
	if [ "$(id -u)" = 0 ]; then
		run build system --suite system --num-processes 1
		run build security --suite security --num-processes 1
		run build pkg --suite pkg --num-processes 1
		run build routing --suite routing --num-processes 1
		run build interop --suite interop --num-processes 1
		run build selftests --suite selftests --num-processes 1
	fi
else
	build_failed build
fi

if setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run build-asan asan --suite unit --suite verify
else
	build_failed build-asan
fi

if command -v clang >/dev/null; then
	if CC=clang setup build-fuzz -Dwerror=true -Dfuzz=true; then
		run build-fuzz clang --suite unit --suite fuzz
	else
		build_failed build-fuzz
	fi
fi

echo
for f in "${failures[@]}"; do
	echo "FAILED: $f"
done
# What the selftests gate found, again here: CI shows only the end.
grep -hs 'selftests: REGRESSION' build/meson-logs/testlog.txt
summary="$passed passed, $failed failed, $skipped skipped"
echo "$summary" >"${TCPAO_SUMMARY:-/dev/null}"
echo "$summary"
[ "$failed" = 0 ]
