#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# replay: captured segments replayed into the receiver (from the wire, past
# the sender's tcpaod) during a transfer whose sequence numbers cross 2^32
# twice (TCP_REPAIR puts the ISN 1,000,000 below the wrap; 4.3 GB). The
# data segment OLD, sent before the first wrap (SNE 0), is replayed:
#   P1 just after the wrap, with DUP (the last segment received, SNE 1):
#      both verify (RFC 5925's SNE puts OLD 1.5 MB back, in SNE 0, where
#      it was) and reach TCP as old duplicates, which it discards (D-SACK);
#   P2 when OLD's sequence number is more than 2^31 behind the receiver's:
#      the receiver puts it in SNE 1, its MAC fails: dropped, TCPAOBad;
#   P3 when OLD's sequence number, one wrap later, is 256 KB ahead of the
#      receiver, inside its window: without TCP-AO the kernel would take
#      its stale bytes as new data; the MAC (SNE 1) fails: TCPAOBad.
# The sender pauses at each point (nothing in flight). The application gets
# every byte right and no reset; the kernel sees only P1's replays; the
# capture (a 3 MB slice around every 2^28 of sequence space, to stay
# small) verifies except for exactly the two replays that were dropped.
source "$(dirname "$0")/lib.sh"
ts_init replay
ts_require tcpdump nstat ss
ts_pair
K="id=8,alg=hmac(sha1),secret=replay-test"
ts_daemon "$NS_A" --key "$K,peer=$B4/32"
ts_daemon "$NS_B" --key "$K,peer=$A4/32"
BMAC=$(ts_mac "$NS_B")
PORT=9501
WRAP=$((1 << 32))
START=$((WRAP - 1000000))      # the sender's ISN
OLD_SEQ=$((WRAP - 500000))     # a sequence number sent before the wrap
o_old=$((OLD_SEQ - START - 1)) # its offset in the stream
P1=2000000
P2=$((o_old + (1 << 31) + 262144))
P3=$((o_old + WRAP - 262144))
BYTES=$((P3 + 1000000))
CAP=$TS_TMP/replay.pcap

slice() { # FIELD: the sequence number at FIELD within 1 MB before / 2 MB after a multiple of 2^28
	echo "((tcp[$1] & 0x0fffffff) > 0x0ff00000 or (tcp[$1] & 0x0fffffff) < 0x00200000)"
}
ts_start ip netns exec "$NS_B" tcpdump -i eth0 -s 0 -U -w "$CAP" "tcp port $PORT and \
((tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst)) != 0 or \
(src $A4 and $(slice 4:4)) or (src $B4 and $(slice 8:4)))" 2>"$CAP.log"
TS_CAPTURE_PID=$TS_LAST_PID
for _ in $(seq 50); do grep -q listening "$CAP.log" && break; sleep 0.05; done

ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$B4" $PORT --bytes $BYTES --timeout 60 \
	>"$TS_TMP/server.out" 2>&1
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $PORT
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" $PORT --bytes $BYTES --start-seq $START \
	--pause-at $P1 --pause-at $P2 --pause-at $P3 --pause-file "$TS_TMP/go" --timeout 60 \
	>"$TS_TMP/sender.out" 2>&1
cli=$TS_LAST_PID

# pause_at N: the sender has stopped at N and everything it sent was
# received and acknowledged.
pause_at() {
	local q
	for _ in $(seq 1800); do
		grep -q "^paused at $1\$" "$TS_TMP/sender.out" && break
		kill -0 $cli 2>/dev/null || ts_die "sender gone before $1: $(cat "$TS_TMP/sender.out")"
		sleep 0.1
	done
	grep -q "^paused at $1\$" "$TS_TMP/sender.out" || ts_die "the sender never reached $1"
	for _ in $(seq 100); do
		q=$(ts_in "$NS_A" ss -Htn state established "dport = :$PORT" | awk '{ print $2 }')
		[ "$q" = 0 ] && break
		sleep 0.05
	done
	ts_expect '[ "$q" = 0 ]' "at $1: the sender's queue drained (Send-Q $q)"
	sleep 0.3
}

declare -A c0
snap() { # what B's daemon and kernel counted so far
	c0[good]=$(ts_stat "$NS_B" TCPAOGood) c0[bad]=$(ts_stat "$NS_B" TCPAOBad)
	c0[in]=$(ts_snmp "$NS_B" TcpInSegs) c0[dsack]=$(ts_snmp "$NS_B" TcpExtTCPDSACKOldSent)
}
# expect_delta WHAT GOOD BAD IN_SEGS: growth of B's counters since snap.
expect_delta() {
	local what=$1 want="$2 $3 $4" good bad in dsack
	sleep 0.5
	good=$(( $(ts_stat "$NS_B" TCPAOGood) - c0[good] ))
	bad=$(( $(ts_stat "$NS_B" TCPAOBad) - c0[bad] ))
	in=$(( $(ts_snmp "$NS_B" TcpInSegs) - c0[in] ))
	dsack=$(( $(ts_snmp "$NS_B" TcpExtTCPDSACKOldSent) - ${c0[dsack]:-0} ))
	echo "  B: TCPAOGood +$good, TCPAOBad +$bad; kernel: TcpInSegs +$in, TCPDSACKOldSent +$dsack"
	ts_expect '[ "$good $bad $in" = "$want" ]' \
		"$what: B's TCPAOGood, TCPAOBad, TcpInSegs grew by $good $bad $in, expected $want"
}
replay() {
	ts_in "$NS_A" "$PY" "$TS_DIR/replay.py" send eth0 "$BMAC" "$@" || ts_fail "replay.py send"
}

ts_log "P1: $P1 bytes, just after the wrap: replay OLD (SNE 0) and DUP (SNE 1)"
pause_at $P1
# tcpdump writes with up to 1 s delay: wait until the capture has the
# segment that ends at P1, so that DUP is the last one received.
p1_end=$(( (START + 1 + P1) % WRAP ))
for _ in $(seq 30); do
	picked=$(ts_in "$NS_A" "$PY" "$TS_DIR/replay.py" pick "$CAP" $A4 $B4 $PORT $OLD_SEQ "$TS_TMP") ||
		ts_die "replay.py pick: $picked"
	dup_seq=$(echo "$picked" | sed -n 's/^dup seq=\([0-9]*\) .*/\1/p')
	dup_len=$(echo "$picked" | sed -n 's/^dup .*len=//p')
	[ $(( (dup_seq + dup_len) % WRAP )) = $p1_end ] && break
	sleep 0.2
done
echo "$picked" | sed 's/^/  /'
old_seq=$(echo "$picked" | sed -n 's/^old seq=\([0-9]*\) .*/\1/p')
old_len=$(echo "$picked" | sed -n 's/^old .*len=//p')
ts_expect '[ $(( (dup_seq + dup_len) % WRAP )) = $p1_end ]' "DUP is the last segment before P1"
ts_expect '[ "$old_seq" -ge "$START" ] && [ "$old_seq" -le "$OLD_SEQ" ]' "OLD is before the wrap"
ts_expect '[ "$dup_seq" -lt $((1 << 31)) ]' "DUP is after the wrap"
snap
replay "$TS_TMP/old.pkt" "$TS_TMP/dup.pkt"
# Both verify; TCP takes them as duplicates (and says so with a D-SACK).
expect_delta "P1" 2 0 2
touch "$TS_TMP/go"

ts_log "P2: OLD's sequence number more than 2^31 behind the receiver's"
pause_at $P2
snap
replay "$TS_TMP/old.pkt"
expect_delta "P2" 0 1 0
touch "$TS_TMP/go"

ts_log "P3: OLD's sequence number one wrap later, inside the receive window"
pause_at $P3
rcv_nxt=$(( (START + 1 + P3) % WRAP ))
# B's window, from its last ACK and its SYN-ACK's window scale.
wscale=$(tcpdump -nr "$CAP" "src $B4 and tcp[tcpflags] & tcp-syn != 0" 2>/dev/null |
	sed -n 's/.*wscale \([0-9]*\).*/\1/p' | head -1)
for _ in $(seq 30); do # B's ACK of P3, once tcpdump has written it
	last=$(tcpdump -S -nr "$CAP" "src $B4" 2>/dev/null | tail -1)
	[[ "$last" == *" ack $rcv_nxt,"* ]] && break
	sleep 0.2
done
win=$(echo "$last" | sed -n 's/.* win \([0-9]*\).*/\1/p')
window=$(( ${win:-0} << ${wscale:-0} ))
ahead=$(( (old_seq - rcv_nxt + WRAP) % WRAP ))
echo "  OLD ends $((ahead + old_len)) bytes past B's rcv_nxt, B's window is $window"
ts_expect '[ "$ahead" -gt 0 ] && [ $((ahead + old_len)) -le "$window" ]' "OLD is inside B's window"
snap
replay "$TS_TMP/old.pkt"
expect_delta "P3" 0 1 0
touch "$TS_TMP/go"

wait $cli || ts_fail "sender: $(cat "$TS_TMP/sender.out")"
wait $srv || ts_fail "receiver: $(cat "$TS_TMP/server.out")"
ts_capture_stop
sed 's/^/  server: /' "$TS_TMP/server.out"
line=$(ts_in "$NS_B" "$PY" "$TS_DIR/ctl.py" show | grep -F ":$PORT " | head -1)
echo "  B: $line"
ts_expect '[[ "$line" == *"rcv-sne=2 "* && "$line" == *" bad=2 "* ]]' "B's flow: receive SNE 2, bad 2"
for ns in "$NS_A" "$NS_B"; do
	echo "  $ns: $(ts_stats "$ns")"
	ts_expect_zero "$ns" TCPAOKeyNotFound TCPAORequired TCPAONoFlowDropped TCPAOEgressDropped
	v=$(ts_snmp "$ns" TcpEstabResets)
	ts_expect '[ "${v:-0}" = 0 ]' "TcpEstabResets in $ns"
done
ts_expect '[ "$(ts_stat "$NS_B" TCPAOBad)" = 2 ] && [ "$(ts_stat "$NS_A" TCPAOBad)" = 0 ]' "TCPAOBad: B 2, A 0"

# The capture: everything verifies but the two replays B dropped, which
# tcpao verify, tracking the SNE as B does, also finds bad.
out=$("$TCPAO_CLI" verify "$CAP" --key "$K,peer=198.18.0.0/24" --json | "$PY" -c '
import json, sys
bad, s = [], None
for line in sys.stdin:
    o = json.loads(line)
    if "summary" in o:
        s = o["summary"]
    elif o["result"] != "good":
        bad.append("%s:%d" % (o["result"], o["seq"]))
print("segments=%d good=%d no-isn=%d unsigned=%d not-good=%s" % (
    s["ao-segments"], s["good"], s["no-isn"], s["unsigned"], ",".join(bad)))')
echo "  capture: $out"
ts_expect '[[ "$out" == *" not-good=bad-mac:$old_seq,bad-mac:$old_seq" ]]' "only the two dropped replays fail"
ts_expect '[[ "$out" == *" no-isn=0 unsigned=0 "* ]]' "every segment checked and signed"
ts_end
