#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# icmp-bypass (issue 8, item 13): hard ICMP errors about a live TCP-AO
# connection that try to slip past tcpaod's filter (RFC 5925 7.8):
#   v6-exthdr      ICMPv6 port unreachable behind a destination-options
#                  header: filtered like any hard error (TCPAODroppedIcmps);
#   v4-frag-quote  ICMPv4 port unreachable in two fragments, the quote in
#                  the first;
#   v4-frag-split  the same with the quote cut across the fragments;
#   v6-frag        ICMPv6 port unreachable in two fragments.
# The fragmented ones are dropped unchecked (TCPAODroppedIcmpsUnchecked):
# tcpaod does not reassemble, and the kernel would. With the guard, whose
# netfilter link asks for defragmentation, the namespace reassembles them
# before the queue: tcpaod then checks each whole and drops it as a hard
# error, and none is unchecked. Either way none reaches the
# kernel (its destination-unreachable counters stay), the transfer ends
# intact. (c911aa2 let all four through to the kernel.)
source "$TS_DIR/lib.sh"
ts_init icmp-bypass
ts_require tcpdump
ts_pair
K="alg=hmac(sha1),secret=icmp-bypass-test"
ts_daemon "$NS_A" --key "id=1,$K,peer=$B4/32" --key "id=1,$K,peer=$B6/128"
ts_daemon "$NS_B" --key "id=1,$K,peer=$A4/32" --key "id=1,$K,peer=$A6/128"
AMAC=$(ts_mac "$NS_A")

run() { # FAMILY PORT KIND... : the errors go from B's side to A
	local fam=$1 port=$2 a b snmp srv cli k d u kin
	shift 2
	if [ "$fam" = 4 ]; then a=$A4 b=$B4 snmp=IcmpInDestUnreachs
	else a=$A6 b=$B6 snmp=Icmp6InDestUnreachs; fi
	ts_log "IPv$fam: $*"
	ts_capture "$NS_B" "$TS_TMP/icmp-$port.pcap"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$b" $port --bytes 300000 --timeout 30
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$b" $port --bytes 300000 \
		--pause-at 150000 --pause 8 --timeout 30
	cli=$TS_LAST_PID
	sleep 1.5
	local d0 u0 k0
	d0=$(ts_stat "$NS_A" TCPAODroppedIcmps)
	u0=$(ts_stat "$NS_A" TCPAODroppedIcmpsUnchecked)
	k0=$(ts_snmp "$NS_A" $snmp)
	for k in "$@"; do
		ts_in "$NS_B" env TS_DIR="$TS_DIR" "$PY" "$SEC_DIR/forge.py" icmp eth0 "$AMAC" \
			"$TS_TMP/icmp-$port.pcap" "$a" "$b" $port "$k" | sed 's/^/  /' ||
			ts_fail "forge.py $k"
	done
	sleep 0.3
	d=$(( $(ts_stat "$NS_A" TCPAODroppedIcmps) - d0 ))
	u=$(( $(ts_stat "$NS_A" TCPAODroppedIcmpsUnchecked) - ${u0:-0} ))
	kin=$(( $(ts_snmp "$NS_A" $snmp) - ${k0:-0} ))
	echo "  TCPAODroppedIcmps +$d, TCPAODroppedIcmpsUnchecked +$u, kernel $snmp +$kin"
	ts_expect '[ "$d" = $# ]' "IPv$fam: TCPAODroppedIcmps grew by $d, expected $#"
	ts_expect '[ "$kin" = 0 ]' "IPv$fam: the kernel saw $kin of the errors"
	EXPECT_UNCHECKED=$((EXPECT_UNCHECKED - u))
	wait $cli || ts_fail "IPv$fam: sender: the transfer did not complete"
	wait $srv || ts_fail "IPv$fam: receiver: the transfer did not complete"
	ts_capture_stop
}

defrag=0
[ "$(ts_stat "$NS_A" TCPAOGuardPresent)" = 1 ] && defrag=1
EXPECT_UNCHECKED=$((defrag ? 0 : 2))
run 4 9501 v4-frag-quote v4-frag-split
ts_expect '[ "$EXPECT_UNCHECKED" = 0 ]' "IPv4: fragmented errors counted unchecked, or reassembled and checked (defrag $defrag)"
EXPECT_UNCHECKED=$((defrag ? 0 : 1))
run 6 9502 v6-exthdr v6-frag
ts_expect '[ "$EXPECT_UNCHECKED" = 0 ]' "IPv6: the fragmented error counted unchecked, or reassembled and checked (defrag $defrag)"
for ns in "$NS_A" "$NS_B"; do
	v=$(ts_snmp "$ns" TcpEstabResets)
	ts_expect '[ "${v:-0}" = 0 ]' "TcpEstabResets in $ns"
done
echo "  $NS_A: $(ts_stats "$NS_A")"
ts_end
