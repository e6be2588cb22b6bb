#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# pmtu: the path MTU drops in the middle of a TCP-AO transfer. A router
# namespace R sits between A and B; half way through, R's link to B goes
# from MTU 1500 to 1400, so R answers A's full-size segments with ICMP
# fragmentation-needed / packet-too-big. tcpaod on A passes the MTU on,
# lowered by the AO option, and sends the signed segments that then exceed
# what the kernel was told through its raw socket. The transfer completes
# intact, with no IP fragment anywhere.
#
#   A eth0 198.18.1.1 fd00:1::1 -- r0 R r1 -- eth0 B 198.18.2.2 fd00:2::2
source "$(dirname "$0")/lib.sh"
ts_init pmtu
ts_require nstat
NS_R=tcpao-pmtu-r-$$
TS_EXTRA_NS+=("$NS_R")
ip netns add "$NS_A" && ip netns add "$NS_B" && ip netns add "$NS_R" || ts_die "netns"
ip link add pa$$ netns "$NS_A" type veth peer name pr0$$ netns "$NS_R" || ts_die veth
ip link add pb$$ netns "$NS_B" type veth peer name pr1$$ netns "$NS_R" || ts_die veth
ip -n "$NS_A" link set pa$$ name eth0
ip -n "$NS_B" link set pb$$ name eth0
ip -n "$NS_R" link set pr0$$ name r0
ip -n "$NS_R" link set pr1$$ name r1
for ns in "$NS_A" "$NS_B" "$NS_R"; do ip -n "$ns" link set lo up; done
ip -n "$NS_A" addr add 198.18.1.1/24 dev eth0
ip -n "$NS_A" addr add fd00:1::1/64 dev eth0 nodad
ip -n "$NS_B" addr add 198.18.2.2/24 dev eth0
ip -n "$NS_B" addr add fd00:2::2/64 dev eth0 nodad
ip -n "$NS_R" addr add 198.18.1.254/24 dev r0
ip -n "$NS_R" addr add fd00:1::fe/64 dev r0 nodad
ip -n "$NS_R" addr add 198.18.2.254/24 dev r1
ip -n "$NS_R" addr add fd00:2::fe/64 dev r1 nodad
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set eth0 up; done
ip -n "$NS_R" link set r0 up
ip -n "$NS_R" link set r1 up
ip -n "$NS_A" route add default via 198.18.1.254
ip -n "$NS_A" -6 route add default via fd00:1::fe
ip -n "$NS_B" route add default via 198.18.2.254
ip -n "$NS_B" -6 route add default via fd00:2::fe
ts_in "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

K="alg=hmac(sha1),secret=pmtu-test"
ts_daemon "$NS_A" --key "id=1,$K,peer=198.18.2.2/32" --key "id=1,$K,peer=fd00:2::2/128"
ts_daemon "$NS_B" --key "id=1,$K,peer=198.18.1.1/32" --key "id=1,$K,peer=fd00:1::1/128"
BYTES=6000000
port=9600
for dst in 198.18.2.2 fd00:2::2; do
	port=$((port + 1))
	ts_log "MTU 1500 -> 1400 on the way to $dst, half way through"
	ip -n "$NS_R" link set r1 mtu 1500
	ip -n "$NS_B" link set eth0 mtu 1500
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" $port --bytes $BYTES --timeout 40
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" $port --bytes $BYTES \
		--pause-at $((BYTES / 2)) --pause 1.5 --timeout 40
	cli=$TS_LAST_PID
	sleep 0.8
	ip -n "$NS_R" link set r1 mtu 1400
	ip -n "$NS_B" link set eth0 mtu 1400
	wait $cli || ts_fail "sender to $dst after the MTU drop"
	wait $srv || ts_fail "receiver on $dst after the MTU drop"
	echo "  A: $(ts_stats "$NS_A")"
	echo "  A: $(ts_in "$NS_A" ip route get "$dst" | grep -o 'mtu [0-9]*')"
done
v=$(ts_stat "$NS_A" TCPAOPmtuAdjusted)
ts_expect '[ "$v" -ge 2 ]' "A passed on PMTU messages ($v)"
v=$(ts_stat "$NS_A" TCPAOPmtuRawSent)
ts_expect '[ "$v" -gt 0 ]' "A sent full-size signed segments past the kernel's MTU ($v)"
for ns in "$NS_A" "$NS_B" "$NS_R"; do
	for c in IpReasmReqds IpFragCreates Ip6ReasmReqds Ip6FragCreates; do
		v=$(ts_snmp "$ns" $c)
		ts_expect '[ "${v:-0}" = 0 ]' "$c in $ns"
	done
done
for c in TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOFragmentsDropped; do
	v=$(ts_stat "$NS_B" $c)
	ts_expect '[ "$v" = 0 ]' "$c in B"
done
ts_end
