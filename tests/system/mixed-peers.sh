#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mixed-peers: unsigned peers beside AO peers on one listening port. B has
# one listener ([::]:PORT, IPv4 and IPv6) and a policy for A only. A (AO
# peer) and C (a plain host on a second link, no daemon, no policy entry)
# connect to the same address and port, over IPv4 and IPv6; all four
# transfers complete intact. On B's wire: A's segments all signed and
# verified, C's untouched (no AO option, full MSS, never queued: B's
# counters are exactly A's segments). Then C tries plain connections from
# A's addresses: refused (the connect times out), each SYN counted
# TCPAORequired, the listener never sees it.
#
#   A eth0 -- eth0 B eth1 -- eth0 C     C: 198.18.1.3 fd01::3 (routes to
#                                          B's 198.18.0.2 fd00::2 via eth1)
source "$(dirname "$0")/lib.sh"
ts_init mixed
ts_require tcpdump nstat
ts_pair
NS_C=${NS_A%-a-*}-c-$$
TS_EXTRA_NS+=("$NS_C")
C4=198.18.1.3 C6=fd01::3 BC4=198.18.1.2 BC6=fd01::2
ip netns add "$NS_C" || ts_die "netns add"
ip link add vc$$ netns "$NS_B" type veth peer name vd$$ netns "$NS_C" || ts_die "veth"
ip -n "$NS_B" link set vc$$ name eth1
ip -n "$NS_C" link set vd$$ name eth0
ip -n "$NS_B" addr add $BC4/24 dev eth1
ip -n "$NS_B" addr add $BC6/64 dev eth1 nodad
ip -n "$NS_C" addr add $C4/24 dev eth0
ip -n "$NS_C" addr add $C6/64 dev eth0 nodad
ip -n "$NS_B" link set eth1 up
ip -n "$NS_C" link set lo up
ip -n "$NS_C" link set eth0 up
ip -n "$NS_C" route add $B4/32 via $BC4
ip -n "$NS_C" -6 route add $B6/128 via $BC6

K="id=5,alg=hmac(sha1),secret=mixed-test"
ts_daemon "$NS_A" --key "$K,peer=$B4/32" --key "$K,peer=$B6/128"
ts_daemon "$NS_B" --key "$K,peer=$A4/32" --key "$K,peer=$A6/128"
ts_start ip netns exec "$NS_B" tcpdump -i any -s 0 -U -w "$TS_TMP/mixed.pcap" tcp 2>"$TS_TMP/mixed.pcap.log"
TS_CAPTURE_PID=$TS_LAST_PID
for _ in $(seq 50); do grep -q listening "$TS_TMP/mixed.pcap.log" && break; sleep 0.05; done

PORT=9401 BYTES=300000
ts_log "one listener on [::]:$PORT; A (AO) and C (plain) connect, IPv4 and IPv6"
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve :: $PORT --count 4 --bytes $BYTES \
	--echo --timeout 20 >"$TS_TMP/server.out" 2>&1
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $PORT
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" $PORT --bytes $BYTES --echo --timeout 20 ||
	ts_fail "A (AO) over IPv4"
ts_in "$NS_C" "$PY" "$TS_DIR/xfer.py" send "$B4" $PORT --bytes $BYTES --echo --timeout 20 ||
	ts_fail "C (plain) over IPv4"
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B6" $PORT --bytes $BYTES --echo --timeout 20 ||
	ts_fail "A (AO) over IPv6"
ts_in "$NS_C" "$PY" "$TS_DIR/xfer.py" send "$B6" $PORT --bytes $BYTES --echo --timeout 20 ||
	ts_fail "C (plain) over IPv6"
wait $srv || ts_fail "server: $(cat "$TS_TMP/server.out")"
sed 's/^/  server: /' "$TS_TMP/server.out"
for from in "::ffff:$A4" "::ffff:$C4" "$A6" "$C6"; do
	grep -qx "ok bytes=$BYTES from $from" "$TS_TMP/server.out" || ts_fail "server: nothing intact from $from"
done
ts_expect '[ "$(ts_snmp "$NS_B" TcpPassiveOpens)" = 4 ]' "B accepted 4 connections"
flows=$(ts_in "$NS_B" "$PY" "$TS_DIR/ctl.py" show)
echo "$flows" | sed 's/^/  B: /'
ts_expect '[ "$(echo "$flows" | grep -c "remote=")" = 2 ]' "B's tcpaod has exactly the 2 flows of A"
ts_expect '! echo "$flows" | grep -q "fd01::3\|198\.18\.1\.3"' "B's tcpaod has no flow of C"
good=$(ts_stat "$NS_B" TCPAOGood) signed=$(ts_stat "$NS_B" TCPAOSigned)

ts_log "plain connections from A's addresses (sent by C) to the same port"
ip -n "$NS_C" addr add $A4/32 dev eth0
ip -n "$NS_C" addr add $A6/128 dev eth0 nodad
req0=$(ts_stat "$NS_B" TCPAORequired)
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve :: $PORT --bytes 1000 --timeout 8 \
	>"$TS_TMP/server2.out" 2>&1
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $PORT
for dst in "$B4 $A4" "$B6 $A6"; do
	set -- $dst
	ts_in "$NS_C" "$PY" "$TS_DIR/xfer.py" send "$1" $PORT --bind "$2" --bytes 1000 --timeout 2.5 \
		>/dev/null 2>&1
	rc=$?
	ts_expect '[ "$rc" = 3 ]' "plain connect from $2 to $1: exit $rc, expected 3 (timeout)"
done
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null
ts_capture_stop
req=$(( $(ts_stat "$NS_B" TCPAORequired) - req0 ))
echo "  $NS_B: $(ts_stats "$NS_B")"
ts_expect '[ "$(ts_snmp "$NS_B" TcpPassiveOpens)" = 4 ]' "the listener saw no plain SYN from A's addresses"
ts_expect '[ "$(ts_stat "$NS_B" TCPAOGood)" = "$good" ] && [ "$(ts_stat "$NS_B" TCPAOSigned)" = "$signed" ]' \
	"nothing verified or signed for the refused attempts"
for ns in "$NS_A" "$NS_B"; do
	for c in TCPAOBad TCPAOKeyNotFound TCPAONoFlowDropped TCPAOEgressDropped TCPAOMalformedDropped; do
		v=$(ts_stat "$ns" $c)
		ts_expect '[ "$v" = 0 ]' "$ns $c"
	done
	v=$(ts_snmp "$ns" TcpEstabResets)
	ts_expect '[ "${v:-0}" = 0 ]' "TcpEstabResets in $ns"
done
ts_expect '[ "$(ts_stat "$NS_A" TCPAORequired)" = 0 ]' "A's TCPAORequired"

# The wire, as B saw it (both links).
wire() { tcpdump -nr "$TS_TMP/mixed.pcap" "$@" 2>/dev/null; }
n_c=$(wire "tcp and (host $C4 or host $C6)" | wc -l)
n_c_ao=$(wire "tcp and (host $C4 or host $C6)" | grep -c tcp-ao)
echo "  C's segments: $n_c, with AO: $n_c_ao"
ts_expect '[ "$n_c" -gt 20 ] && [ "$n_c_ao" = 0 ]' "C's segments carry no AO option"
# C's SYNs reached B with their MSS (1460 / 1440): nothing rewrote them.
ts_expect '[ "$(wire "src $C4 and tcp[tcpflags] & tcp-syn != 0" | grep -c "mss 1460")" = 1 ]' "C's IPv4 SYN untouched"
ts_expect '[ "$(wire "ip6 and src $C6" | grep "Flags \[S\]" | grep -c "mss 1440")" = 1 ]' "C's IPv6 SYN untouched"
a_ao=$(wire "tcp and (host $A4 or host $A6) and inbound" | grep -c tcp-ao)
b_ao=$(wire "tcp and (host $A4 or host $A6) and outbound" | grep -c tcp-ao)
echo "  A -> B signed: $a_ao (B's TCPAOGood $good), B -> A signed: $b_ao (B's TCPAOSigned $signed)"
ts_expect '[ "$a_ao" = "$good" ] && [ "$b_ao" = "$signed" ]' "B's tcpaod handled exactly A's segments"
# The refused attempts: plain SYNs from A's addresses, on eth1, each counted.
syns=$(wire "tcp and (src $A4 or src $A6)" | grep -v tcp-ao | grep -c "Flags \[S\]")
plain_a=$(wire "tcp and (src $A4 or src $A6)" | grep -vc tcp-ao)
echo "  plain segments from A's addresses: $plain_a (SYNs $syns), TCPAORequired grew by $req"
ts_expect '[ "$syns" -ge 2 ] && [ "$plain_a" = "$syns" ] && [ "$req" = "$syns" ]' \
	"every plain SYN from A's addresses counted TCPAORequired"
ts_expect '[ "$(wire "tcp and (dst $A4 or dst $A6)" | grep -vc tcp-ao)" = 0 ]' "B answered none of them"
ts_verify_capture "$TS_TMP/mixed.pcap" "$K,peer=198.18.0.0/24" "$K,peer=fd00::/64"
ts_end
