#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mark (issue 8, item 13): the tcpao mark is configurable, and tcpaod
# refuses a mark that a rule of the host already uses (it would let that
# rule's packets to AO peers leave unsigned), or the sysctls that copy a
# verified segment's mark onto replies. A transfer with another mark (from
# --mark and from tcpao.conf's "mark") works and its capture verifies; a
# reload does not change the mark.
source "$TS_DIR/lib.sh"
ts_init mark
ts_pair
K="alg=hmac(sha1),secret=mark-test"

ts_log "a rule that sets 0x40000000 (the default)"
ts_in "$NS_A" iptables -t mangle -A OUTPUT -p udp -j MARK --set-xmark 0x40000000/0x40000000
out=$(ts_in "$NS_A" timeout 20 "$TCPAOD" --key "$(ts_secret_spec "id=1,$K,peer=$B4/32")" --state-dir "$TS_TMP/s1" 2>&1); rc=$?
ts_expect '[ $rc = 1 ] && [[ "$out" == *"already used"* ]]' "the default mark is refused ($rc: $out)"
ts_expect 'ts_rules_gone "$NS_A"' "a refused start installs nothing"
out=$(ts_in "$NS_A" timeout 20 "$TCPAOD" --mark 0x40000000 --key "$(ts_secret_spec "id=1,$K,peer=$B4/32")" --state-dir "$TS_TMP/s1" 2>&1); rc=$?
ts_expect '[ $rc = 1 ]' "--mark 0x40000000 is refused too ($rc)"
out=$(ts_in "$NS_A" "$TCPAOD" --mark 0 2>&1); rc=$?
ts_expect '[ $rc = 2 ]' "--mark 0 is refused ($rc: $out)"

ts_log "a sysctl that reflects marks"
ts_in "$NS_B" sysctl -qw net.ipv4.fwmark_reflect=1
out=$(ts_in "$NS_B" timeout 20 "$TCPAOD" --key "$(ts_secret_spec "id=1,$K,peer=$A4/32")" --state-dir "$TS_TMP/s2" 2>&1); rc=$?
ts_expect '[ $rc = 1 ] && [[ "$out" == *fwmark_reflect* ]]' "fwmark_reflect is refused ($rc: $out)"
ts_in "$NS_B" sysctl -qw net.ipv4.fwmark_reflect=0

ts_log "another mark (A: --mark, B: tcpao.conf's mark): a transfer, checked on the wire"
ts_daemon "$NS_A" --mark 0x1000 --key "id=1,$K,peer=$B4/32"
ts_conf_peer "$TS_TMP/b.conf" "$A4/32" "$TS_TMP/b.key" mark-test
echo "mark 0x1000;" >>"$TS_TMP/b.conf"
ts_daemon "$NS_B" --config "$TS_TMP/b.conf"
for ns in "$NS_A" "$NS_B"; do
	ts_expect 'ts_in "$ns" iptables -t mangle -S tcpao-out | grep -q "mark ! --mark 0x1000/0x1000"' "the egress rule uses the mark in $ns"
done
ts_expect 'grep -q "guard attached (mark 0x1000)" "$TS_TMP/tcpaod-$NS_B.log"' "the guard uses the file's mark"
ts_capture "$NS_A" "$TS_TMP/mark.pcap"
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$B4" 9501 --bytes 2000000 --echo --timeout 60
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" 9501
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" 9501 --bytes 2000000 --echo --timeout 60 ||
	ts_fail "transfer with --mark 0x1000"
wait $srv || ts_fail "receiver with --mark 0x1000"
ts_capture_stop
ts_verify_capture "$TS_TMP/mark.pcap" "id=1,$K,peer=198.18.0.0/24"
ts_log "a reload with another mark keeps the running one, and says so"
sed -i 's/^mark 0x1000;/mark 0x2000;/' "$TS_TMP/b.conf"
kill -HUP "${DAEMON_PID[$NS_B]}"
for _ in $(seq 50); do grep -q "takes effect when tcpaod restarts" "$TS_TMP/tcpaod-$NS_B.log" && break; sleep 0.1; done
ts_expect 'grep -q "reload: mark 0x2000 of .* takes effect when tcpaod restarts (running with 0x1000)" "$TS_TMP/tcpaod-$NS_B.log"' "the reload warns"
ts_expect 'ts_in "$NS_B" iptables -t mangle -S tcpao-out | grep -q "mark ! --mark 0x1000/0x1000"' "the rules keep the running mark"
for c in TCPAOGuardEgressDropped TCPAOGuardIngressDropped TCPAOBad; do
	v=$(ts_stat "$NS_A" $c)
	ts_expect '[ "$v" = 0 ]' "$c in A with --mark 0x1000"
done
ts_end
