#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# frr: Debian's FRR bgpd (8.4, TCP-MD5 only, no TCP-AO), protected by host
# policy: a BGP session between two namespaces (bgpd without zebra),
# Established, routes exchanged both ways, a key rollover with `tcpao key`
# on both sides while the session stays up (same connection), and every
# segment of the capture verified by `tcpao verify`.
source "$(dirname "$0")/lib.sh"
BGPD=/usr/lib/frr/bgpd
ts_init frr
ts_require "$BGPD" vtysh tcpdump
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_pair
rt_start frr
for side in a b; do
	if [ $side = a ]; then me=$A4 peer=$B4 as=65001 pas=65002 net=10.1.0.0/24
	else me=$B4 peer=$A4 as=65002 pas=65001 net=10.2.0.0/24; fi
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

rt_rollover 'established a $B4'
rt_finish frr
ts_end
