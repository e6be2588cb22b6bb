#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# restart: tcpaod is killed with SIGKILL in the middle of a transfer and
# started again with the same state directory. The rules stay while it is
# gone (fail closed), the new daemon restores the flow from the state file,
# and the transfer completes with every byte intact. Once for the
# receiver's daemon, once for the sender's.
source "$(dirname "$0")/lib.sh"
ts_init restart
ts_pair
ts_require tcpdump
K="alg=cmac(aes128),secret=restart-test"
A_ARGS=(--key "id=4,$K,peer=$B4/32" --key "id=4,$K,peer=$B6/128")
B_ARGS=(--key "id=4,$K,peer=$A4/32" --key "id=4,$K,peer=$A6/128")
ts_daemon "$NS_A" "${A_ARGS[@]}"
ts_daemon "$NS_B" "${B_ARGS[@]}"
BYTES=100000000

run_case() { # NS-TO-KILL DST PORT
	local victim=$1 dst=$2 port=$3 srv cli
	ts_log "SIGKILL the daemon in $victim during a transfer to $dst"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" $port --bytes $BYTES --echo --timeout 90
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" $port --bytes $BYTES --echo --timeout 90
	cli=$TS_LAST_PID
	sleep 0.8
	ts_stop_daemon "$victim" KILL
	kill -0 $cli 2>/dev/null || ts_fail "the transfer ended before the kill: make it longer"
	ts_in "$victim" iptables -t raw -S tcpao-in >/dev/null 2>&1 ||
		ts_fail "the rules went away with the killed daemon (not fail closed)"
	sleep 1
	if [ "$victim" = "$NS_A" ]; then ts_daemon "$NS_A" "${A_ARGS[@]}"; else ts_daemon "$NS_B" "${B_ARGS[@]}"; fi
	wait $cli || ts_fail "sender: transfer not intact after the restart"
	wait $srv || ts_fail "receiver: transfer not intact after the restart"
	echo "  $victim: $(ts_stats "$victim")"
	grep -q "restored flow" "$TS_TMP/tcpaod-$victim.log" ||
		ts_fail "the restarted daemon did not restore the flow"
	for c in TCPAOBad TCPAOKeyNotFound TCPAONoFlowDropped TCPAOEgressDropped; do
		v=$(ts_stat "$victim" $c)
		ts_expect '[ "$v" = 0 ]' "$c after the restart in $victim"
	done
	v=$(ts_stat "$victim" TCPAOGood)
	ts_expect '[ "$v" -gt 0 ]' "TCPAOGood after the restart in $victim"
}

ts_capture "$NS_A" "$TS_TMP/restart.pcap"
run_case "$NS_B" "$B4" 9101
run_case "$NS_A" "$B6" 9102
ts_capture_stop
# What each restarted daemon signed, and everything else, verifies.
ts_verify_capture "$TS_TMP/restart.pcap" "id=4,$K,peer=198.18.0.0/24" "id=4,$K,peer=fd00::/64"
ts_end
