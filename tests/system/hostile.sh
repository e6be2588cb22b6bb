#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# hostile: forged segments injected into a live TCP-AO connection (from the
# wire, past the sender's hooks): RST, SYN, data and ACK without AO, a bad
# MAC, an unknown KeyID, forged and real segments cut into IP fragments.
# None may reach the socket: the transfer completes with every byte right
# and no reset, and the receiver's tcpaod counts each one by reason.
source "$(dirname "$0")/lib.sh"
ts_init hostile
ts_require tcpdump
ts_pair
K="alg=hmac(sha1),secret=hostile-test"
ts_daemon "$NS_A" --key "id=3,$K,peer=$B4/32" --key "id=3,$K,peer=$B6/128"
ts_daemon "$NS_B" --key "id=3,$K,peer=$A4/32" --key "id=3,$K,peer=$A6/128"
BMAC=$(ts_mac "$NS_B")

run_case() { # LOCAL REMOTE PORT
	local local=$1 remote=$2 port=$3 srv out before_good
	ts_log "forgeries into $local -> $remote port $port"
	ts_capture "$NS_A" "$TS_TMP/hostile-$port.pcap"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$remote" $port \
		--bytes 400000 --timeout 20
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	# The sender stops for 3 s half way: the forgeries land then.
	ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$remote" $port \
		--bytes 400000 --pause-at 200000 --pause 3 --timeout 20
	local cli=$TS_LAST_PID
	sleep 1.2
	declare -A before
	for c in TCPAORequired TCPAOBad TCPAOKeyNotFound TCPAOFragmentsDropped; do
		before[$c]=$(ts_stat "$NS_B" $c)
	done
	out=$(ts_in "$NS_A" "$PY" "$TS_DIR/hostile.py" "$TS_TMP/hostile-$port.pcap" eth0 \
		"$BMAC" "$local" "$remote" $port) || ts_fail "hostile.py: $out"
	echo "  sent: $(echo $out)"
	wait $cli || ts_fail "sender: the transfer did not complete intact"
	wait $srv || ts_fail "receiver: the transfer did not complete intact"
	ts_capture_stop
	echo "  $NS_B: $(ts_stats "$NS_B")"
	# With the guard (BPF_F_NETFILTER_IP_DEFRAG) the namespace reassembles
	# before raw PREROUTING: the daemon sees the forged fragmented segment
	# whole (one more without AO; the real one's copy is an old duplicate)
	# and no fragment. Without the guard it drops the fragments.
	local d defrag=0 want_required=4 want_frags
	[ "$(ts_stat "$NS_B" TCPAOGuardPresent)" = 1 ] && defrag=1 want_required=5
	d=$(( $(ts_stat "$NS_B" TCPAORequired) - ${before[TCPAORequired]} ))
	ts_expect '[ "$d" = $want_required ]' "TCPAORequired grew by $d, expected $want_required (RST, SYN, data, ACK, and the reassembled forgery when defrag is on)"
	d=$(( $(ts_stat "$NS_B" TCPAOBad) - ${before[TCPAOBad]} ))
	ts_expect '[ "$d" = 1 ]' "TCPAOBad grew by $d, expected 1"
	d=$(( $(ts_stat "$NS_B" TCPAOKeyNotFound) - ${before[TCPAOKeyNotFound]} ))
	ts_expect '[ "$d" = 1 ]' "TCPAOKeyNotFound grew by $d, expected 1"
	local nfrag
	nfrag=$(echo "$out" | sed -n 's/^fragments=//p')
	want_frags=$([ $defrag = 1 ] && echo 0 || echo "$nfrag")
	d=$(( $(ts_stat "$NS_B" TCPAOFragmentsDropped) - ${before[TCPAOFragmentsDropped]} ))
	ts_expect '[ "$d" = "$want_frags" ]' "TCPAOFragmentsDropped grew by $d, expected $want_frags"
	# The per-flow counters say the same for the flow under attack.
	ts_in "$NS_B" "$PY" "$TS_DIR/ctl.py" show | grep "remote=[^ ]*$local" | sed 's/^/  /'
	# The capture (real and forged): every real segment verifies, the
	# forgeries are found for what they are. tcpao verify does not
	# reassemble: the real segment's first IPv4 fragment, which shows its
	# AO option, is "malformed"; the other fragments are only counted.
	ts_verify_summary "$TS_TMP/hostile-$port.pcap" "id=3,$K,peer=198.18.0.0/24" \
		"id=3,$K,peer=fd00::/64" || return 0
	local -n v=TS_VERIFY
	local frag_ao=$([ "$port" = 9001 ] && echo 1 || echo 0)
	ts_expect '[ "${v[bad-mac]} ${v[key-not-found]} ${v[unsigned]} ${v[malformed]}" = "1 1 4 $frag_ao" ]' \
		"verify: bad-mac, key-not-found, unsigned, malformed are ${v[bad-mac]} ${v[key-not-found]} ${v[unsigned]} ${v[malformed]}, expected 1 1 4 $frag_ao"
	ts_expect '[ "${v[ip-fragments]}" = "$nfrag" ]' "verify: ${v[ip-fragments]} IP fragments, $nfrag sent"
	ts_expect '[ "${v[good]}" -gt 100 ] && [ $((v[good] + 2 + frag_ao)) = "${v[ao-segments]}" ] && [ "${v[no-isn]}" = 0 ]' \
		"verify: every real segment good"
}

run_case "$A4" "$B4" 9001
run_case "$A6" "$B6" 9002
# Nothing reset on either side.
for ns in "$NS_A" "$NS_B"; do
	v=$(ts_snmp "$ns" TcpEstabResets)
	ts_expect '[ "${v:-0}" = 0 ]' "TcpEstabResets in $ns"
done
ts_end
