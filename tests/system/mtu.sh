#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mtu: bulk transfers at MTU 1500 over IPv4 and MTU 1280 over IPv6. The AO
# option must fit without IP fragments and without drops: tcpaod lowers the
# MSS of the SYN / SYN-ACK it delivers by the option's length.
# Retransmissions are printed, not asserted: on a loaded machine the queue's
# scheduling delay makes TCP send spurious retransmissions (TLP, RACK) of
# segments that were never lost; drops are asserted (queue, link, daemon).
source "$(dirname "$0")/lib.sh"
ts_init mtu
ts_require nstat tcpdump
MB=${TCPAO_MTU_MB:-50}
BYTES=$((MB * 1000 * 1000))
K="alg=hmac(sha1),secret=mtu-test"

run_case() { # MTU DST PORT
	local mtu=$1 dst=$2 port=$3 t0 t1 srv
	ts_log "MTU $mtu, $MB MB to $dst"
	ts_pair "$mtu"
	ts_daemon "$NS_A" --key "id=1,$K,peer=$B4/32" --key "id=1,$K,peer=$B6/128"
	ts_daemon "$NS_B" --key "id=1,$K,peer=$A4/32" --key "id=1,$K,peer=$A6/128"
	ts_capture "$NS_B" "$TS_TMP/mtu-$mtu.pcap"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" "$port" --bytes $BYTES --timeout 60
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" "$port"
	t0=$(date +%s.%N)
	ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" "$port" --bytes $BYTES --timeout 60 ||
		ts_fail "sender at MTU $mtu"
	wait $srv || ts_fail "receiver at MTU $mtu"
	t1=$(date +%s.%N)
	ts_capture_stop
	echo "  $(echo "$BYTES $t0 $t1" | awk '{ printf "%.1f MB/s", $1 / ($3 - $2) / 1e6 }')"
	for ns in "$NS_A" "$NS_B"; do
		echo "  $ns: $(ts_stats "$ns")"
		echo "  $ns: TcpRetransSegs=$(ts_snmp "$ns" TcpRetransSegs)" \
			"TCPSpuriousRtxHostQueues=$(ts_snmp "$ns" TcpExtTCPSpuriousRtxHostQueues)"
		v=$(ts_queue_drops "$ns")
		ts_expect '[ "$v" = 0 ]' "MTU $mtu: queue drops in $ns"
		v=$(ts_link_drops "$ns")
		ts_expect '[ "$v" = 0 ]' "MTU $mtu: link drops in $ns"
		for c in IpFragCreates IpReasmReqds IpFragFails Ip6FragCreates Ip6ReasmReqds \
			Ip6FragFails IcmpOutDestUnreachs Icmp6OutPktTooBigs; do
			v=$(ts_snmp "$ns" $c)
			ts_expect '[ "${v:-0}" = 0 ]' "MTU $mtu: $c in $ns"
		done
		for c in TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOFragmentsDropped \
			TCPAOEgressDropped TCPAONoFlowDropped; do
			v=$(ts_stat "$ns" $c)
			ts_expect '[ "$v" = 0 ]' "MTU $mtu: $c in $ns"
		done
	done
	ts_verify_capture "$TS_TMP/mtu-$mtu.pcap" "id=1,$K,peer=198.18.0.0/24" "id=1,$K,peer=fd00::/64"
	ts_stop_daemon "$NS_A"
	ts_stop_daemon "$NS_B"
	ts_netns_del "$NS_A"
	ts_netns_del "$NS_B"
}

run_case 1500 "$B4" 7101
run_case 1280 "$B6" 7102
ts_end
