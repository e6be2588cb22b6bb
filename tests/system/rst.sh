#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# rst: resets of TCP-AO connections, as Linux's rst selftest.
#  - active: the client aborts (SO_LINGER 0); its RST is signed, verified
#    and delivered: the server sees the reset after intact data;
#  - passive: the server aborts; the client sees it;
#  - no listener: the kernel's RST to a verified SYN is not sent (Linux
#    sends none when the SYN had AO): the client gets no reset and times out;
#  - after a normal close both flows stay in TIME-WAIT (to sign the last
#    ACKs) and nothing unsigned or unverifiable was seen.
source "$(dirname "$0")/lib.sh"
ts_init rst
ts_require tcpdump
ts_pair
K="alg=hmac(sha256),secret=rst-test"
ts_daemon "$NS_A" --key "id=5,$K,peer=$B4/32" --key "id=5,$K,peer=$B6/128"
ts_daemon "$NS_B" --key "id=5,$K,peer=$A4/32" --key "id=5,$K,peer=$A6/128"
ts_capture "$NS_A" "$TS_TMP/rst.pcap"

for dst in $B4 $B6; do
	ts_log "active reset to $dst"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" 9501 --bytes 1000000 --echo \
		--expect-reset --timeout 15
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" 9501
	out=$(ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" 9501 --bytes 1000000 --echo \
		--reset-after 300000 --timeout 15) || ts_fail "client with --reset-after ($out)"
	wait $srv || ts_fail "server did not see the reset after intact data"

	ts_log "passive reset from $dst"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" 9502 --bytes 1000000 --echo \
		--reset-after 300000 --timeout 15
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" 9502
	out=$(ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" 9502 --bytes 1000000 --echo \
		--expect-reset --timeout 15) || ts_fail "client did not see the server's reset ($out)"
	wait $srv || ts_fail "server with --reset-after"

	ts_log "no listener on $dst"
	t0=$(date +%s)
	out=$(ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" 9509 --bytes 10 --timeout 3 2>&1); rc=$?
	ts_expect '[ $rc = 3 ]' "connecting to no listener times out, no reset (rc $rc: $out)"

	ts_log "normal close on $dst"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" 9503 --bytes 100000 --timeout 15
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" 9503
	ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" 9503 --bytes 100000 --timeout 15 >/dev/null ||
		ts_fail "normal close: sender"
	wait $srv || ts_fail "normal close: receiver"
	sleep 0.3
	line=$(ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" show | grep -F ":9503 ")
	ts_expect '[[ "$line" == *"state=TIME-WAIT"* ]]' "A's flow is in TIME-WAIT ($line)"
done
ts_capture_stop
# The passive resets were aborts: the server sent RSTs and never a FIN (a
# FIN, then RSTs for the client's further data, would look the same to the
# client's socket calls).
for dst in $B4 $B6; do
	flags=$(tcpdump -nn -r "$TS_TMP/rst.pcap" "src host $dst and src port 9502" 2>/dev/null)
	rsts=$(grep -c "Flags \[R" <<<"$flags")
	fins=$(grep -c "Flags \[F" <<<"$flags")
	ts_expect '[ "$rsts" -ge 1 ] && [ "$fins" = 0 ]' "passive reset from $dst: $rsts RST, $fins FIN from the server"
done
for ns in "$NS_A" "$NS_B"; do
	echo "$ns: $(ts_stats "$ns")"
	for c in TCPAOBad TCPAOKeyNotFound TCPAORequired; do
		v=$(ts_stat "$ns" $c)
		ts_expect '[ "$v" = 0 ]' "$c in $ns"
	done
done
# Both resets crossed the wire signed.
n=$(tcpdump -nr "$TS_TMP/rst.pcap" 'tcp[tcpflags] & tcp-rst != 0 or (ip6 and ip6[53] & 4 != 0)' 2>/dev/null | grep -c tcp-ao)
ts_expect '[ "$n" -ge 4 ]' "signed RSTs on the wire ($n)"
n=$(tcpdump -nr "$TS_TMP/rst.pcap" 2>/dev/null | grep -vc tcp-ao)
ts_expect '[ "$n" = 0 ]' "no segment without AO on the wire ($n)"
ts_verify_capture "$TS_TMP/rst.pcap" "id=5,$K,peer=198.18.0.0/24" "id=5,$K,peer=fd00::/64"
ts_end
