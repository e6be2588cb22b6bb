#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# seq-ext: transfers whose sequence numbers cross 2^32 (TCP_REPAIR puts the
# sender's ISN 1,000,000 below the wrap before connect()), from A to B and
# from B to A, over IPv4 and IPv6. Every byte checked; no bad MAC on either
# side; tcpao show reports SNE 1 for the direction that wrapped; the capture
# verifies.
source "$(dirname "$0")/lib.sh"
ts_init seqext
ts_require tcpdump
ts_pair
K="alg=hmac(sha1),secret=seq-ext-test"
ts_daemon "$NS_A" --key "id=2,$K,peer=$B4/32" --key "id=2,$K,peer=$B6/128"
ts_daemon "$NS_B" --key "id=2,$K,peer=$A4/32" --key "id=2,$K,peer=$A6/128"
ts_capture "$NS_A" "$TS_TMP/seq-ext.pcap"
START=$(( (1 << 32) - 1000000 ))
BYTES=4000000

wrap_case() { # CLIENT-NS SERVER-NS DST PORT
	local cns=$1 sns=$2 dst=$3 port=$4 srv line
	ts_log "$cns -> $dst port $port from sequence number $START"
	ts_start ts_in "$sns" "$PY" "$TS_DIR/xfer.py" serve "$dst" $port --bytes $BYTES --echo --timeout 30
	srv=$TS_LAST_PID
	ts_wait_listen "$sns" $port
	ts_in "$cns" "$PY" "$TS_DIR/xfer.py" send "$dst" $port --bytes $BYTES --echo \
		--start-seq $START --timeout 30 || ts_fail "sender across the wrap"
	wait $srv || ts_fail "receiver across the wrap"
	line=$(ts_in "$cns" "$PY" "$TS_DIR/ctl.py" show | grep -F ":$port " | head -1)
	echo "  client: $line"
	ts_expect '[[ "$line" == *"snd-sne=1 "* ]]' "client's send SNE is 1"
	line=$(ts_in "$sns" "$PY" "$TS_DIR/ctl.py" show | grep -F ":$port " | head -1)
	echo "  server: $line"
	ts_expect '[[ "$line" == *"rcv-sne=1 "* ]]' "server's receive SNE is 1"
}

wrap_case "$NS_A" "$NS_B" "$B4" 9201
wrap_case "$NS_B" "$NS_A" "$A4" 9202
wrap_case "$NS_A" "$NS_B" "$B6" 9203
wrap_case "$NS_B" "$NS_A" "$A6" 9204
ts_capture_stop
for ns in "$NS_A" "$NS_B"; do
	echo "$ns: $(ts_stats "$ns")"
	for c in TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAONoFlowDropped TCPAOEgressDropped; do
		v=$(ts_stat "$ns" $c)
		ts_expect '[ "$v" = 0 ]' "$c in $ns"
	done
done
ts_verify_capture "$TS_TMP/seq-ext.pcap" "id=2,$K,peer=198.18.0.0/24" "id=2,$K,peer=fd00::/64"
ts_end
