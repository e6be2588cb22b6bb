#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# restart: tcpaod is killed with SIGKILL in the middle of a transfer and
# started again with the same state directory. The rules stay while it is
# gone (fail closed), the new daemon restores the flow from the state file,
# and the transfer completes with every byte intact. Once for the
# receiver's daemon, once for the sender's.
source "$(dirname "$0")/lib.sh"
ts_init restart
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
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
	ts_wait_established "$NS_A" $port
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

# A key added at run time (not in the daemon's arguments) is what the flow
# uses: the state file carries it. Two kills in a row: the second restart
# reads what the first one wrote.
run_runtime_key_case() {
	local port=9103 srv cli k6="sndid=6,rcvid=6,alg=hmac(sha1),secret=added-at-run-time"
	ts_log "key added at run time; SIGKILL the daemon in $NS_B twice"
	ts_in "$NS_A" "$TCPAO_CLI" key add "$(ts_secret_spec "$k6,peer=$B4/32")" --current --rnext >/dev/null ||
		ts_die "tcpao key add in $NS_A"
	ts_in "$NS_B" "$TCPAO_CLI" key add "$(ts_secret_spec "$k6,peer=$A4/32")" --current --rnext >/dev/null ||
		ts_die "tcpao key add in $NS_B"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$B4" $port --bytes $((2 * BYTES)) --echo --timeout 90
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" $port --bytes $((2 * BYTES)) --echo --timeout 90
	cli=$TS_LAST_PID
	ts_wait_established "$NS_A" $port
	sleep 0.8
	for round in 1 2; do
		ts_stop_daemon "$NS_B" KILL
		kill -0 $cli 2>/dev/null || ts_fail "the transfer ended before kill $round: make it longer"
		sleep 0.5
		ts_daemon "$NS_B" "${B_ARGS[@]}"
		ts_in "$NS_B" "$TCPAO_CLI" key list | grep -q "sndid 6 rcvid 6" ||
			ts_fail "restart $round: the key added at run time was not restored"
		sleep 0.3
	done
	wait $cli || ts_fail "sender: transfer not intact after two restarts"
	wait $srv || ts_fail "receiver: transfer not intact after two restarts"
	echo "  $NS_B: $(ts_stats "$NS_B")"
	for c in TCPAOBad TCPAOKeyNotFound TCPAONoFlowDropped TCPAOEgressDropped; do
		v=$(ts_stat "$NS_B" $c)
		ts_expect '[ "$v" = 0 ]' "$c after two restarts"
	done
	v=$(ts_stat "$NS_B" TCPAOGood)
	ts_expect '[ "$v" -gt 0 ]' "TCPAOGood after two restarts"
}

ts_capture "$NS_A" "$TS_TMP/restart.pcap"
run_case "$NS_B" "$B4" 9101
run_case "$NS_A" "$B6" 9102
ts_capture_stop
# What each restarted daemon signed, and everything else, verifies.
ts_verify_capture "$TS_TMP/restart.pcap" "id=4,$K,peer=198.18.0.0/24" "id=4,$K,peer=fd00::/64"
run_runtime_key_case
ts_end
