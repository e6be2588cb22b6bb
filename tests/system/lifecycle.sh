#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lifecycle: one tcpaod per namespace (a second one refuses to start); the
# rules come with the daemon and stay when it stops (SIGTERM leaves them:
# fail closed); `tcpaod --remove-rules` removes them; with the daemon killed, an AO peer gets nothing unsigned (fail
# closed) while traffic of other hosts is untouched; bad options are
# refused (2), a bad config file too (1, as --check); --queues 2 works;
# SIGINT stops it unless it was started with SIGINT ignored.
source "$(dirname "$0")/lib.sh"
ts_init lifecycle
ts_require tcpdump
ts_pair
K="alg=hmac(sha1),secret=lifecycle-test"
# Two addresses that are nobody's AO peer.
ip -n "$NS_A" addr add 198.18.0.4/24 dev eth0
ip -n "$NS_B" addr add 198.18.0.3/24 dev eth0

ts_log "bad options"
out=$(ts_in "$NS_A" "$TCPAOD" --key "$(ts_secret_spec "id=1,$K")" 2>&1); rc=$?
ts_expect '[ $rc = 2 ]' "a key without peer= is refused ($rc: $out)"
out=$(ts_in "$NS_A" "$TCPAOD" --key "$(ts_secret_spec "id=1,alg=nope,secret=x,peer=$B4/32")" 2>&1); rc=$?
ts_expect '[ $rc = 2 ]' "an unknown algorithm is refused ($rc: $out)"
out=$(ts_in "$NS_A" "$TCPAOD" --queues 0 2>&1); rc=$?
ts_expect '[ $rc = 2 ]' "--queues 0 is refused ($rc)"
# A config file that does not load is a failed operation, not a usage
# error: 1, as tcpaod --check says of the same file.
printf 'peer %s {\n key id 1 alg hmac(nope) secret-file x;\n}\n' "$B4" >"$TS_TMP/bad.conf"
chmod 600 "$TS_TMP/bad.conf"
out=$(ts_in "$NS_A" "$TCPAOD" --config "$TS_TMP/bad.conf" 2>&1); rc=$?
ts_expect '[ $rc = 1 ] && [[ "$out" == *bad.conf:2:* ]]' "a bad config file exits 1 ($rc: $out)"
out=$(ts_in "$NS_A" "$TCPAOD" --check "$TS_TMP/bad.conf" 2>&1); rc=$?
ts_expect '[ $rc = 1 ]' "--check of it exits 1 too ($rc: $out)"
ts_expect 'ts_rules_gone "$NS_A"' "a refused start leaves no rules"

ts_log "one daemon per namespace"
ts_daemon "$NS_A" --key "id=1,$K,peer=$B4/32" --queues 2
ts_daemon "$NS_B" --key "id=1,$K,peer=$A4/32" --queues 2
out=$(ts_in "$NS_A" timeout 5 "$TCPAOD" --key "$(ts_secret_spec "id=1,$K,peer=$B4/32")" \
	--state-dir "$TS_TMP/second" 2>&1); rc=$?
ts_expect '[ $rc = 1 ] && [[ "$out" == *"already running"* ]]' "a second daemon refuses ($rc: $out)"
ts_expect 'ts_in "$NS_A" iptables -t raw -S tcpao-in >/dev/null 2>&1' "the first one's rules are still there"

ts_log "traffic with 2 queues"
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$B4" 9401 --bytes 2000000 --echo --timeout 20
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" 9401
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" 9401 --bytes 2000000 --echo --timeout 20 ||
	ts_fail "transfer with --queues 2"
wait $srv || ts_fail "receiver with --queues 2"
v=$(ts_stat "$NS_B" TCPAOGood)
ts_expect '[ "$v" -gt 0 ]' "TCPAOGood with --queues 2"

ts_log "fail closed: SIGKILL, then a connection attempt"
ts_capture "$NS_B" "$TS_TMP/closed.pcap"
ts_stop_daemon "$NS_A" KILL
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$B4" 9402 --bytes 1000 --timeout 4
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" 9402
if ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" 9402 --bytes 1000 --timeout 2 >/dev/null 2>&1; then
	ts_fail "a connection to an AO peer worked with no daemon"
fi
kill $srv 2>/dev/null; wait $srv 2>/dev/null
# Traffic of a host that is no peer is not ours.
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve 198.18.0.3 9403 --bytes 100000 --timeout 10
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" 9403
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send 198.18.0.3 9403 --bytes 100000 --timeout 10 \
	--bind 198.18.0.4 >/dev/null ||
	ts_fail "plain traffic to a non-peer with the daemon dead"
wait $srv || ts_fail "plain receiver"
ts_capture_stop
n=$(tcpdump -nr "$TS_TMP/closed.pcap" "src host $A4 and dst host $B4" 2>/dev/null | wc -l)
ts_expect '[ "$n" = 0 ]' "nothing left A for the AO peer while the daemon was dead ($n packets)"

ts_log "SIGINT stops the daemon, unless it came ignored (a shell's background job)"
TS_SIGINT=ignore ts_daemon "$NS_A" --key "id=1,$K,peer=$B4/32"
pid=${DAEMON_PID[$NS_A]}
kill -INT "$pid"
sleep 0.5
ts_expect 'kill -0 "$pid" 2>/dev/null && ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" stat >/dev/null' \
	"one started with SIGINT ignored is still serving after a SIGINT"
ts_stop_daemon "$NS_A" TERM
TS_SIGINT=default ts_daemon "$NS_A" --key "id=1,$K,peer=$B4/32"
pid=${DAEMON_PID[$NS_A]}
kill -INT "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
ts_expect '! kill -0 "$pid" 2>/dev/null' "SIGINT stops one started without it ignored"
ts_stop_daemon "$NS_A" KILL

ts_log "SIGTERM leaves the rules; --remove-rules removes everything"
ts_stop_daemon "$NS_B" TERM
ts_expect '! ts_rules_gone "$NS_B"' "the rules stay in B after SIGTERM"
ts_daemon "$NS_A" --key "id=1,$K,peer=$B4/32"
ts_stop_daemon "$NS_A" TERM
ts_expect '! ts_rules_gone "$NS_A"' "the rules stay in A after a restart and SIGTERM"
for ns in "$NS_A" "$NS_B"; do
	ts_in "$ns" "$TCPAOD" --remove-rules || ts_fail "--remove-rules in $ns: exit $?"
	ts_expect 'ts_rules_gone "$ns"' "no tcpao chain, jump or set left in $ns after --remove-rules"
	ts_in "$ns" "$TCPAOD" --remove-rules || ts_fail "--remove-rules with nothing there: exit $?"
done
ts_end
