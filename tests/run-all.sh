#!/usr/bin/env bash
# Runs every test of the project and ends with one line "N passed, N failed,
# N skipped". A test that skips counts as failed unless tests/skip-allowlist.txt
# names it with the reason (the skipped tests and their reasons are printed
# at the end). As root, the Linux guests of the interop and vrf suites are
# built first if their images are not in the cache (tests/vm/build-guest.sh;
# ~10-20 min each the first time). Build directories:
#   build/       gcc, everything (unit, verify, system tests)
#   build-asan/  gcc with ASan + UBSan: unit and verify suites
#   build-fuzz/  clang with libFuzzer: each fuzzer for a bounded time
set -u
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
failures=() skips=()
ALLOW=tests/skip-allowlist.txt

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

# Counts meson's results from its JSON test log. A SKIP is allowed when
# tests/skip-allowlist.txt has a line "NAME WHEN REASON" for the test, WHEN
# being "always" or "nonroot" (allowed only when not run as root).
tally() { # DIR LABEL
	local log=$1/meson-logs/testlog.json name result why allowed
	[ -f "$log" ] || return 0
	while IFS=$'\t' read -r name result why; do
		case $result in
		OK | EXPECTEDFAIL) passed=$((passed + 1)) ;;
		SKIP)
			skipped=$((skipped + 1))
			allowed=$(skip_allowed "$name")
			if [ -n "$allowed" ]; then
				skips+=("$2 $name: $why (allowed: $allowed)")
			else
				failed=$((failed + 1))
				skips+=("$2 $name: $why (NOT in $ALLOW: counted as failed)")
				failures+=("$2 $name (SKIP not in the allow list: $why)")
			fi ;;
		*) failed=$((failed + 1)); failures+=("$2 $name ($result)") ;;
		esac
	done < <(python3 - "$log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = [l.strip() for l in (t.get("stdout") or t.get("stdo") or "").splitlines() if l.strip()]
    why = [l for l in out if "skip" in l.lower()] or out or ["(no reason printed)"]
    print(t["name"].split(" / ")[-1].split(":")[-1].strip(), t["result"], why[-1].replace("\t", " "), sep="\t")
PY
)
}

skip_allowed() { # NAME: the allow list's reason for NAME, if it applies
	local n w r
	[ -f "$ALLOW" ] || return 0
	while read -r n w r; do
		case $n in '' | '#'*) continue ;; esac
		[ "$n" = "$1" ] || continue
		case $w in
		always) echo "$r"; return ;;
		nonroot) [ "$(id -u)" = 0 ] || { echo "$r"; return; } ;;
		esac
	done <"$ALLOW"
}

# A guest of tests/vm (tcpao: the interop suite's Linux; vrf: the vrf
# suite's), built when its images for the current inputs are missing (a
# failed build is one failure; its suite then skips).
guest() { # NAME
	tests/vm/build-guest.sh --check "$1" 2>/dev/null && return 0
	local t0=$SECONDS
	echo "run-all.sh: building the guest $1 (tests/vm/build-guest.sh $1)"
	if tests/vm/build-guest.sh "$1"; then
		echo "run-all.sh: guest $1 built in $((SECONDS - t0)) s"
	else
		build_failed "guest $1 (tests/vm/build-guest.sh $1)"
	fi
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
		guest tcpao
		run build interop --suite interop --num-processes 1
		guest vrf
		run build vrf --suite vrf --num-processes 1
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
if [ ${#skips[@]} -gt 0 ]; then
	echo "Skipped tests:"
	for f in "${skips[@]}"; do
		echo "SKIPPED: $f"
	done
fi
for f in "${failures[@]}"; do
	echo "FAILED: $f"
done
# What the selftests gate found, again here: CI shows only the end.
grep -hs 'selftests: REGRESSION' build/meson-logs/testlog.txt
summary="$passed passed, $failed failed, $skipped skipped"
echo "$summary" >"${TCPAO_SUMMARY:-/dev/null}"
echo "$summary"
[ "$failed" = 0 ]
