#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mss-room: the handshake uses a key with a 4-byte MAC (an 8-byte AO
# option), then a bulk transfer is signed with a key with a 16-byte MAC
# (20 bytes). Linux counts the option of the key in use in every segment;
# our kernel only knows the MSS of the SYN / SYN-ACK tcpaod hands it, so
# tcpaod lowers that MSS by the longest AO option among the peer's keys.
# Every full-size segment must then fit the MTU as it is: no packet too
# big from the kernel to itself, no raw send, no fragment, no drop.
# (With the MSS lowered by the SYN's own option only, each family showed
# tens of local packet-too-big messages and raw sends after the switch.)
source "$(dirname "$0")/lib.sh"
ts_init mss-room
ts_require nstat
BYTES=$((40 * 1000 * 1000))
SHORT="sndid=1,rcvid=1,alg=hmac(sha1),secret=mss-room-short,maclen=4"
LONG="sndid=2,rcvid=2,alg=hmac(sha256),secret=mss-room-long,maclen=16"

run_case() { # FAMILY DST PEER_A PEER_B PORT
	local fam=$1 dst=$2 pa=$3 pb=$4 port=$5 srv cli shown
	ts_log "IPv$fam: handshake with a 4-byte MAC, data with a 16-byte MAC"
	ts_pair 1500
	# The key listed last is the default current key: the short one.
	ts_daemon "$NS_A" --key "$LONG,peer=$pb" --key "$SHORT,peer=$pb"
	ts_daemon "$NS_B" --key "$LONG,peer=$pa" --key "$SHORT,peer=$pa"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" "$port" --bytes $BYTES --timeout 60
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" "$port"
	ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" "$port" --bytes $BYTES \
		--pause-at 100000 --pause-file "$TS_TMP/go-$fam" --timeout 60 >"$TS_TMP/send-$fam.out" 2>&1
	cli=$TS_LAST_PID
	for _ in $(seq 200); do grep -q paused "$TS_TMP/send-$fam.out" && break; sleep 0.05; done
	grep -q paused "$TS_TMP/send-$fam.out" || ts_die "sender did not start: $(cat "$TS_TMP/send-$fam.out")"
	ts_in "$NS_B" "$PY" "$TS_DIR/ctl.py" raw "key-set current=2 rnext=2" >/dev/null ||
		ts_die "key-set in B"
	ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" raw "key-set current=2 rnext=2" >/dev/null ||
		ts_die "key-set in A"
	for _ in $(seq 100); do
		shown=$(ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" show | grep ":$port ")
		[[ "$shown" == *"state=ESTAB current=2 "* ]] && break
		sleep 0.05
	done
	ts_expect '[[ "$shown" == *"state=ESTAB current=2 "* ]]' "IPv$fam: A signs with the long key ($shown)"
	touch "$TS_TMP/go-$fam"
	wait $cli || ts_fail "IPv$fam sender: $(cat "$TS_TMP/send-$fam.out")"
	wait $srv || ts_fail "IPv$fam receiver"
	for ns in "$NS_A" "$NS_B"; do
		echo "  $ns: $(ts_stats "$ns")"
		for c in TCPAOPmtuAdjusted TCPAOPmtuRawSent TCPAOEgressDropped TCPAOBad \
			TCPAOKeyNotFound TCPAORequired; do
			v=$(ts_stat "$ns" $c)
			ts_expect '[ "$v" = 0 ]' "IPv$fam: $c in $ns"
		done
		for c in IpFragCreates IpFragFails Ip6FragCreates Ip6FragFails \
			IcmpOutDestUnreachs Icmp6OutPktTooBigs; do
			v=$(ts_snmp "$ns" $c)
			ts_expect '[ "${v:-0}" = 0 ]' "IPv$fam: $c in $ns"
		done
		v=$(ts_link_drops "$ns")
		ts_expect '[ "$v" = 0 ]' "IPv$fam: link drops in $ns"
	done
	ts_stop_daemon "$NS_A"
	ts_stop_daemon "$NS_B"
	ts_netns_del "$NS_A"
	ts_netns_del "$NS_B"
	rm -rf "$TS_TMP/state-$NS_A" "$TS_TMP/state-$NS_B" # the next case starts afresh
}

run_case 4 "$B4" "$A4/32" "$B4/32" 7111
run_case 6 "$B6" "$A6/128" "$B6/128" 7112
ts_end
