#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# icmps: ICMP errors about a live TCP-AO connection, sent from the wire to
# the sender's host (RFC 5925 section 7.8, Linux's icmps-discard and
# icmps-accept selftests).
#   default:        hard errors (v4 unreachable codes 2 and 3, v6 codes 1
#                   and 4) are dropped before the kernel sees them and
#                   counted in TCPAODroppedIcmps (global and per flow);
#   --accept-icmps: they reach the kernel (IcmpInDestUnreachs grows);
#   both:           fragmentation-needed / packet-too-big reach the kernel
#                   with the MTU lowered by the AO option's 16 bytes, and
#                   the kernel's path MTU shows it.
# The transfer goes on intact in every case.
source "$(dirname "$0")/lib.sh"
ts_init icmps
ts_require tcpdump
K="alg=hmac(sha1),secret=icmps-test"
port=9300

run_mode() { # MODE(discard|accept) ARGS...
	local mode=$1 srv cli out d pmtu
	shift
	ts_log "mode $mode"
	ts_pair
	ts_daemon "$NS_A" --key "id=1,$K,peer=$B4/32" --key "id=1,$K,peer=$B6/128" "$@"
	ts_daemon "$NS_B" --key "id=1,$K,peer=$A4/32" --key "id=1,$K,peer=$A6/128"
	local amac
	amac=$(ts_mac "$NS_A")
	for fam in 4 6; do
		local a b hard mtu_kind
		if [ $fam = 4 ]; then a=$A4 b=$B4 hard="port-unreach proto-unreach" mtu_kind=frag-needed
		else a=$A6 b=$B6 hard="port-unreach admin-prohibited" mtu_kind=too-big; fi
		port=$((port + 1))
		ts_capture "$NS_B" "$TS_TMP/icmps-$port.pcap"
		ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$b" $port --bytes 300000 --timeout 20
		srv=$TS_LAST_PID
		ts_wait_listen "$NS_B" $port
		ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$b" $port --bytes 300000 \
			--pause-at 150000 --pause 5 --timeout 30
		cli=$TS_LAST_PID
		sleep 1.2
		local drops0 kin0
		drops0=$(ts_stat "$NS_A" TCPAODroppedIcmps)
		if [ $fam = 4 ]; then kin0=$(ts_snmp "$NS_A" IcmpInDestUnreachs)
		else kin0=$(ts_snmp "$NS_A" Icmp6InDestUnreachs); fi
		ts_in "$NS_B" "$PY" "$TS_DIR/icmp.py" "$TS_TMP/icmps-$port.pcap" eth0 "$amac" \
			"$a" "$b" $port $mtu_kind 1400 >/dev/null || ts_fail "icmp.py $mtu_kind"
		# While the sender waits: what the kernel learned, once tcpaod's
		# verdict has let the ICMP in (its queue is asynchronous: on a
		# loaded host the verdict may come after icmp.py returned).
		for _ in $(seq 1 30); do
			pmtu=$(ts_in "$NS_A" ip -$fam route get "$b" | grep -o "mtu [0-9]*")
			[ -n "$pmtu" ] && break
			sleep 0.1
		done
		echo "  IPv$fam: path MTU to $b after an ICMP saying 1400: $pmtu"
		ts_expect '[ "$pmtu" = "mtu 1384" ]' "IPv$fam: path MTU lowered by the AO option"
		for k in $hard; do
			ts_in "$NS_B" "$PY" "$TS_DIR/icmp.py" "$TS_TMP/icmps-$port.pcap" eth0 "$amac" \
				"$a" "$b" $port $k >/dev/null || ts_fail "icmp.py $k"
		done
		d=$(( $(ts_stat "$NS_A" TCPAODroppedIcmps) - drops0 ))
		local kin
		if [ $fam = 4 ]; then kin=$(( $(ts_snmp "$NS_A" IcmpInDestUnreachs) - kin0 ))
		else kin=$(( $(ts_snmp "$NS_A" Icmp6InDestUnreachs) - kin0 )); fi
		echo "  IPv$fam: TCPAODroppedIcmps +$d, kernel destination-unreachable in +$kin"
		if [ $mode = discard ]; then
			ts_expect '[ "$d" = 2 ]' "IPv$fam discard: TCPAODroppedIcmps grew by 2"
			# v4: only frag-needed reached the kernel; v6: none
			# (packet too big is its own type).
			ts_expect '[ "$kin" = $((fam == 4 ? 1 : 0)) ]' "IPv$fam discard: kernel saw only the PMTU message"
		else
			ts_expect '[ "$d" = 0 ]' "IPv$fam accept: nothing dropped"
			ts_expect '[ "$kin" = $((fam == 4 ? 3 : 2)) ]' "IPv$fam accept: kernel saw every error"
		fi
		wait $cli || ts_fail "IPv$fam $mode: sender"
		wait $srv || ts_fail "IPv$fam $mode: receiver"
		ts_capture_stop
	done
	local flowdrops
	flowdrops=$(ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" show | grep -o 'dropped-icmps=[0-9]*' |
		awk -F= '{ n += $2 } END { print n + 0 }')
	ts_expect '[ "$flowdrops" = $([ $mode = discard ] && echo 4 || echo 0) ]' \
		"per-flow dropped-icmps ($flowdrops)"
	v=$(ts_stat "$NS_A" TCPAOPmtuAdjusted)
	ts_expect '[ "$v" = 2 ]' "TCPAOPmtuAdjusted ($v)"
	echo "  $NS_A: $(ts_stats "$NS_A")"
	ts_stop_daemon "$NS_A"
	ts_stop_daemon "$NS_B"
	ts_netns_del "$NS_A"
	ts_netns_del "$NS_B"
}

run_mode discard
run_mode accept --accept-icmps
ts_end
