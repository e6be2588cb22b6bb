#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tcpao demo, as a user runs it: it succeeds, shows the rotation (key 1,
# then key 2, key 1 deleted) and a verify summary with nothing failed,
# prints no secret, and leaves no namespace, process or file behind; also
# when interrupted halfway, and it refuses clearly without root.
source "$(dirname "$0")/lib.sh"
ts_init demo
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_require tcpdump socat setpriv

# demo_left PID WORKDIR: what a demo run with that pid left behind: its
# namespaces, and processes with its working directory on their command line.
demo_left() {
	local p cmd
	ip netns list | grep -E "^tcpao-demo-[ab]-$1( |$)"
	[ -n "$2" ] || return 0
	for p in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")
		[[ $cmd == *"$2"* ]] && echo "${p#/proc/}: $cmd"
	done
}

# forget PID: reaped, so that the cleanup does not signal its number.
forget() {
	local pid left=()
	for pid in "${TS_PIDS[@]}"; do
		[ "$pid" = "$1" ] || left+=("$pid")
	done
	TS_PIDS=("${left[@]}")
}

# demo_run OUT ARGS...: runs the demo (bounded), sets DEMO_RC and DEMO_PID.
demo_run() {
	local out=$1
	shift
	ts_start "$TCPAO_CLI" demo "$@" >"$out" 2>&1
	DEMO_PID=$TS_LAST_PID
	for _ in $(seq 1200); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$DEMO_PID"
	DEMO_RC=$?
	forget "$DEMO_PID"
}

ts_log "a full run (--keep, to look for the secrets in the output)"
OUT=$TS_TMP/demo.out
demo_run "$OUT" --keep
cat "$OUT"
work=$(sed -n 's/^kept: \(.*\) (DEMO)$/\1/p' "$OUT")
ts_expect '[ "$DEMO_RC" = 0 ]' "tcpao demo exits 0"
ts_expect 'grep -q "^tcpao demo: PASSED" "$OUT"' "a final PASSED line"
ts_expect '[ "$(grep -c "^== Step" "$OUT")" = 9 ]' "nine numbered steps"
# The rotation: key 1 on the live connection, then key 2, then key 1 gone.
ts_expect 'grep -Eq "^ +ESTAB .* 1 +1 +1 +0 +0 " "$OUT"' "tcpao show: KeyID/RNext/PeerRNext 1 during part 1"
ts_expect 'grep -Eq "^ +ESTAB .* 2 +2 +2 +0 +0 " "$OUT"' "tcpao show: KeyID/RNext/PeerRNext 2 after the switch"
ts_expect 'grep -q "tcpao key set peer=198.18.0.2 --rnext 2" "$OUT"' "the rnext switch is shown"
ts_expect 'grep -q "tcpao key del id=1,peer=198.18.0.2" "$OUT"' "deleting key 1 is shown"
ts_expect 'grep -Eq "^ +key sndid 2 rcvid 2 alg cmac\(aes\)" "$OUT" && ! grep -Eq "^ +key sndid 1 .*\[current\]" <(sed -n "/tcpao key del/,\$p" "$OUT")' \
	"after the deletion only key 2 is listed"
# The capture: segments with both KeyIDs, nothing failed or unsigned.
ts_expect 'grep -Eq "keyid 1 rnext 1 sne 0: good \(key 1\)" "$OUT" && grep -Eq "keyid 2 rnext 2 sne 0: good \(key 2\)" "$OUT"' \
	"verify shows segments with key 1 and with key 2"
ts_expect 'grep -Eq "^ +summary: ([0-9]+) TCP-AO segments .*: \1 good, 0 bad-mac, 0 key-not-found, 0 no-isn, 0 truncated, 0 malformed" "$OUT"' \
	"verify summary: every segment good"
ts_expect 'grep -Eq "^ +other: 0 unsigned" "$OUT" && grep -Eq "^ +verdict: ok" "$OUT"' "verify: nothing unsigned, verdict ok"
ts_expect 'grep -Eq "ok: [0-9]+ bytes, same SHA-256" "$OUT"' "the bytes arrived intact"
# No secret in what it printed (the kept keys are the ones it used).
ts_expect '[ -n "$work" ] && [ -s "$work/k1.key" ] && [ -s "$work/k2.key" ]' "--keep kept the keys"
for k in "$work/k1.key" "$work/k2.key"; do
	[ -s "$k" ] || continue
	secret=$(sed 's/^hex://' "$k")
	ts_expect '! grep -qi "${secret:0:16}" "$OUT"' "$(basename "$k")'s secret is not in the output"
done
ts_expect '[ "$(stat -c %a "$work/tcpao-A.conf")" = 600 ] && [ "$(stat -c %a "$work/k1.key")" = 600 ]' \
	"config and key files are mode 0600"
ts_expect '[ -z "$(demo_left "$DEMO_PID" "$work")" ]' "no namespace or process left"
[ -n "$work" ] && [ "${work#/tmp/tcpao-demo.}" != "$work" ] && rm -rf "$work"

ts_log "interrupted during the rotation (SIGINT, as Ctrl-C sends it)"
OUT=$TS_TMP/interrupted.out
# A background job ignores SIGINT, and bash cannot trap what it inherits
# ignored: restore the default, as in a terminal. Ctrl-C signals the whole
# foreground process group, not the shell alone: bash ignores a SIGINT that
# its running foreground child survived, so the demo gets a group of its own
# (setsid execs in place: the group's id is the demo's pid) and the group
# gets the signal.
ts_start setsid env --default-signal=INT "$TCPAO_CLI" demo >"$OUT" 2>&1
DEMO_PID=$TS_LAST_PID
for _ in $(seq 900); do grep -q "^== Step 5" "$OUT" && break; sleep 0.1; done
# bash still loses a SIGINT that lands as a foreground child exits on its
# own (it takes the child for the one that handled it): then, as a user
# would, Ctrl-C again, at most three times, 5 s apart.
for _ in 1 2 3; do
	kill -INT -- "-$DEMO_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$DEMO_PID" 2>/dev/null || break
done
wait "$DEMO_PID"
rc=$?
forget "$DEMO_PID"
work=$(sed -n 's/.*\$DEMO is \(\/tmp\/tcpao-demo\.[A-Za-z0-9]*\)).*/\1/p' "$OUT")
tail -n 3 "$OUT"
ts_expect '[ "$rc" = 130 ]' "an interrupted demo exits 130"
ts_expect 'grep -q "interrupted; cleaning up" "$OUT"' "it says it was interrupted"
ts_expect '[ -n "$work" ] && [ ! -e "$work" ]' "its working directory is removed"
ts_expect '[ -z "$(demo_left "$DEMO_PID" "$work")" ]' "no namespace or process left"

ts_log "without root"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TCPAO_CLI" demo 2>&1; echo "rc=$?")
echo "$out"
ts_expect 'grep -q "must run as root" <<<"$out" && grep -q "rc=1" <<<"$out"' "a clear refusal without root"
ts_end
