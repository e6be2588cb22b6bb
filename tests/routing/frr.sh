#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# frr: Debian's FRR bgpd (8.4, TCP-MD5 only, no TCP-AO), protected by host
# policy: a BGP session between two namespaces (bgpd without zebra),
# Established, routes exchanged both ways, a key rollover with `tcpao key`
# on both sides while the session stays up (same connection), and every
# segment of the capture verified by `tcpao verify`.
source "${TS_DIR:?}/lib.sh"
BGPD=/usr/lib/frr/bgpd
ts_init frr
ts_require "$BGPD" vtysh tcpdump
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_pair
K1="sndid=1,rcvid=1,alg=hmac(sha1)" K2="sndid=2,rcvid=2,alg=cmac(aes128)"
printf 'frr-key-one' >"$TS_TMP/k1" && printf 'frr-key-two' >"$TS_TMP/k2"
chmod 600 "$TS_TMP/k1" "$TS_TMP/k2"
for side in a b; do
	if [ $side = a ]; then me=$A4 peer=$B4 as=65001 pas=65002 net=10.1.0.0/24
	else me=$B4 peer=$A4 as=65002 pas=65001 net=10.2.0.0/24; fi
	cat >"$TS_TMP/$side.conf" <<-CONF
	peer $peer {
	    key id 1 alg hmac(sha1) secret-file $TS_TMP/k1;
	}
	CONF
	chmod 600 "$TS_TMP/$side.conf"
	mkdir -p "$TS_TMP/vty-$side"
	cat >"$TS_TMP/bgpd-$side.conf" <<-CONF
	hostname $side
	router bgp $as
	 bgp router-id $me
	 no bgp ebgp-requires-policy
	 no bgp network import-check
	 neighbor $peer remote-as $pas
	 neighbor $peer timers 1 3
	 neighbor $peer timers connect 1
	 address-family ipv4 unicast
	  network $net
	 exit-address-family
	CONF
done
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
ts_daemon "$NS_B" --config "$TS_TMP/b.conf"
ts_capture "$NS_A" "$TS_TMP/frr.pcap"
for side in a b; do
	ns=$NS_A; [ $side = b ] && ns=$NS_B
	ts_start ip netns exec "$ns" "$BGPD" -Z -S -f "$TS_TMP/bgpd-$side.conf" \
		-i "$TS_TMP/bgpd-$side.pid" --vty_socket "$TS_TMP/vty-$side" \
		>"$TS_TMP/bgpd-$side.log" 2>&1
done
vty() { # SIDE COMMAND
	local ns=$NS_A
	[ "$1" = b ] && ns=$NS_B
	ts_in "$ns" vtysh --vty_socket "$TS_TMP/vty-$1" -d bgpd -c "$2" 2>/dev/null
}
established() { vty "$1" "show bgp neighbors $2 json" | grep -q '"bgpState":"Established"'; }
for _ in $(seq 120); do
	established a $B4 && established b $A4 && break
	sleep 0.5
done
established a $B4 || { vty a "show bgp summary"; cat "$TS_TMP"/bgpd-*.log; ts_die "session not Established"; }
ts_log "Established"
for _ in $(seq 40); do
	vty b "show bgp ipv4 unicast" | grep -q 10.1.0.0/24 &&
		vty a "show bgp ipv4 unicast" | grep -q 10.2.0.0/24 && break
	sleep 0.25
done
ts_expect 'vty b "show bgp ipv4 unicast" | grep -q 10.1.0.0/24' "B learned A's route"
ts_expect 'vty a "show bgp ipv4 unicast" | grep -q 10.2.0.0/24' "A learned B's route"
bgp_flow() { ts_in "$1" "$PY" "$TS_DIR/ctl.py" show | grep 'state=ESTAB' | grep -o 'local=[^ ]* remote=[^ ]*' | head -1; }
current_is() { ts_in "$1" "$PY" "$TS_DIR/ctl.py" show | grep 'state=ESTAB' | grep -q "current=$2 "; }
flow_before=$(bgp_flow "$NS_A")
ts_in "$NS_A" "$TCPAO_CLI" show

ts_log "key rollover to key 2"
for ns in "$NS_A" "$NS_B"; do
	peer=$B4; [ "$ns" = "$NS_B" ] && peer=$A4
	ts_in "$ns" "$TCPAO_CLI" key add "$K2,secret-file=$TS_TMP/k2,peer=$peer/32" || ts_fail "key add in $ns"
done
for ns in "$NS_A" "$NS_B"; do
	peer=$B4; [ "$ns" = "$NS_B" ] && peer=$A4
	ts_in "$ns" "$TCPAO_CLI" key set "peer=$peer/32" --rnext 2 || ts_fail "key set --rnext in $ns"
done
for _ in $(seq 40); do
	current_is "$NS_A" 2 && current_is "$NS_B" 2 && break
	sleep 0.25
done
ts_expect 'current_is "$NS_A" 2' "A signs with key 2"
ts_expect 'current_is "$NS_B" 2' "B signs with key 2"
for ns in "$NS_A" "$NS_B"; do
	peer=$B4; [ "$ns" = "$NS_B" ] && peer=$A4
	ts_in "$ns" "$TCPAO_CLI" key del "sndid=1,rcvid=1,peer=$peer/32" || ts_fail "key del in $ns"
done
sleep 4 # several keepalives with key 2 only
ts_in "$NS_A" "$TCPAO_CLI" show
ts_expect 'established a $B4' "still Established after the rollover"
flow_after=$(bgp_flow "$NS_A")
ts_expect '[ -n "$flow_before" ] && [ "$flow_before" = "$flow_after" ]' \
	"the same connection before and after the rollover ($flow_before / $flow_after)"
ts_capture_stop
for ns in "$NS_A" "$NS_B"; do
	echo "$ns: $(ts_stats "$ns")"
	for c in TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOEgressDropped; do
		v=$(ts_stat "$ns" $c)
		ts_expect '[ "$v" = 0 ]' "$ns $c"
	done
done
plain=$(tcpdump -nr "$TS_TMP/frr.pcap" 2>/dev/null | grep -vc tcp-ao)
ts_expect '[ "$plain" = 0 ]' "no segment without AO on the wire"
ts_verify_capture "$TS_TMP/frr.pcap" "$K1,secret=frr-key-one,peer=198.18.0.0/24" \
	"$K2,secret=frr-key-two,peer=198.18.0.0/24"
ts_end
