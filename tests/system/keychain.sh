#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# keychain: two tcpaods with the same tcpao.conf key chain (3 keys whose
# send windows meet 5 s apart, accept windows overlapping) roll over during
# one long transfer that carries data both ways: no byte lost, no reset, no
# segment dropped, the capture verified with all keys and the KeyIDs on the
# wire 1 -> 2 -> 3 at the boundaries. Then the test clock of B is stepped
# back (tcpao clock shift, the machine's clock untouched): B re-evaluates at
# once and opens with key 1, whose accept window A has closed: A refuses
# the SYN and counts it (TCPAOKeyOutsideLifetime). Stepped forward again, a
# new connection works with key 3. Stepped past key 3's send and accept
# windows (a gap: no key left), B holds key 3, warns and counts, and a new
# connection still works. A reload changes nothing; key list --json holds
# the chain. The schedule's moves leave audit lines (by=schedule).
source "$(dirname "$0")/lib.sh"
ts_init keychain
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_require tcpdump
PORT=9311
ALGS=("hmac(sha1)" "cmac(aes128)" "hmac(sha256)")

ts_pair
# T: the first boundary, far enough ahead for the daemons (a few seconds
# each to start) and the stream to be running.
T=$(( $(date +%s) + 15 ))
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
for n in 1 2 3; do printf 'keychain-test-%s' $n >"$TS_TMP/k$n"; chmod 600 "$TS_TMP/k$n"; done
conf() { # PEER
	cat <<EOF
key-chain test {
    accept-tolerance 1;
    key id 1 alg ${ALGS[0]} secret-file k1
        send-lifetime $((T - 100)) $T accept-lifetime $((T - 100)) $((T + 7));
    key id 2 alg ${ALGS[1]} secret-file k2
        send-lifetime $(iso $T) duration 5 accept-lifetime $(iso $((T - 3))) $(iso $((T + 12)));
    key id 3 alg ${ALGS[2]} secret-file k3
        send-lifetime $((T + 5)) $((T + 90)) accept-lifetime $((T + 2)) duration 2m;
}
peer $1 { key-chain test; }
EOF
}
conf "$B4" >"$TS_TMP/a.conf"
conf "$A4" >"$TS_TMP/b.conf"
chmod 600 "$TS_TMP/a.conf" "$TS_TMP/b.conf"
"$TCPAOD" --check "$TS_TMP/a.conf" | sed 's/^/  /'
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
ts_daemon "$NS_B" --config "$TS_TMP/b.conf"
ts_in "$NS_A" "$TCPAO_CLI" key list | sed 's/^/  A: /'
ts_capture "$NS_A" "$TS_TMP/keychain.pcap"

ts_stream_start $PORT 60
ts_log "streaming across the boundaries at $(iso $T) and $(iso $((T + 5)))"
ts_expect '[ "$(date +%s)" -lt $T ]' "the stream started before the first boundary"
# Past both boundaries and key 1's accept window (T+7, +1 tolerance).
while [ "$(date +%s)" -lt $((T + 10)) ]; do sleep 0.5; done
ts_in "$NS_A" "$TCPAO_CLI" key list | sed 's/^/  A: /'
kill -0 $TS_STREAM_CLI 2>/dev/null || ts_fail "the stream ended before the boundaries passed"
ts_stream_stop
ts_capture_stop
ts_stream_bytes
for ns in "$NS_A" "$NS_B"; do
	echo "  $ns: $(ts_stats "$ns")"
	ts_expect_zero "$ns" TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOEgressDropped TCPAOKeyOutsideLifetime
	v=$(ts_stat "$ns" TCPAOKeychainMoves)
	ts_expect '[ "${v:-0}" -ge 3 ]' "$ns moved its send key at start and at both boundaries ($v)"
	v=$(ts_snmp "$ns" TcpEstabResets)
	ts_expect '[ "${v:-0}" = 0 ]' "TcpEstabResets in $ns"
	ts_expect '! ts_in "$ns" "$TCPAO_CLI" key list | grep -q "^  key sndid 1 "' "$ns dropped key 1 after its accept window"
	ts_expect 'ts_in "$ns" "$TCPAO_CLI" key list | grep -q "key 3 .*\[active\]"' "$ns key 3 active"
	ts_expect 'grep -q "audit: op=rollover by=schedule change=current peer=[0-9./]* sndid=3$" "$TS_TMP/tcpaod-$ns.log"' \
		"$ns audited the schedule's move to key 3"
	ts_expect 'grep -q "audit: op=rollover by=schedule change=drop peer=[0-9./]* sndid=1 rcvid=1 origin=file$" "$TS_TMP/tcpaod-$ns.log"' \
		"$ns audited key 1 leaving"
done

# The capture: all keys verify; KeyIDs on the wire go 1, 2, 3 both ways.
keys=()
for n in 1 2 3; do keys+=("sndid=$n,rcvid=$n,alg=${ALGS[n - 1]},secret=keychain-test-$n,peer=198.18.0.0/24"); done
ts_verify_capture "$TS_TMP/keychain.pcap" "${keys[@]}"
summary=$(ts_keyids "$TS_TMP/keychain.pcap" "${keys[@]}")
echo "  capture: $summary"
declare -A cap
for kv in $summary; do cap[${kv%%=*}]=${kv#*=}; done
ts_expect '[ "${cap[good]:-0}" -gt 0 ] && [ "${cap[good]}" = "${cap[ao]}" ]' "every AO segment verifies"
ts_expect '[ "${cap[unsigned]:-1}" = 0 ]' "no unsigned segment"
# A boundary may flap once within the daemons' timer skew (the peer's
# RNextKeyID is honoured, RFC 5925 7.5.2); the order must be 1, 2, 3.
for d in a2b b2a; do
	ts_expect '[[ "${cap[$d]}" =~ ^1-(2-1-)?2-(3-2-)?3$ ]]' "$d KeyIDs ${cap[$d]}: 1, then 2, then 3"
done

# Back to T-5: key 1 sends again on B; A closed its accept window at T+8.
back=$(( T - 5 - $(date +%s) ))
touch "$TS_TMP/stop2"
ts_log "clock step: B's test clock ${back#-} s back"
before=$(ts_stat "$NS_A" TCPAOKeyOutsideLifetime)
ts_in "$NS_B" "$TCPAO_CLI" clock shift $back | sed 's/^/  B: /'
ts_expect 'ts_in "$NS_B" "$TCPAO_CLI" key list | grep -q "key 1 .*\[active\]"' "B re-evaluated at once: key 1 active"
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/stream.py" serve "$A4" $((PORT + 1)) --timeout 3 >/dev/null 2>&1
ts_wait_listen "$NS_A" $((PORT + 1))
ts_in "$NS_B" timeout 3 "$PY" "$TS_DIR/stream.py" send "$A4" $((PORT + 1)) --stop-file "$TS_TMP/stop2" --timeout 2 \
	>"$TS_TMP/stepped.out" 2>&1 && ts_fail "a connection with an expired key worked"
after=$(ts_stat "$NS_A" TCPAOKeyOutsideLifetime)
echo "  A: TCPAOKeyOutsideLifetime $before -> $after; $(ts_stats "$NS_A")"
echo "  B: $(ts_stats "$NS_B")"
ts_expect '[ "${after:-0}" -gt "${before:-0}" ]' "A refused and counted B's expired key"
ts_log "clock step: B's test clock ${back#-} s forward again"
ts_in "$NS_B" "$TCPAO_CLI" clock shift $(( -back )) | sed 's/^/  B: /'
ts_expect 'ts_in "$NS_B" "$TCPAO_CLI" key list | grep -q "key 3 .*\[active\]"' "B re-evaluated at once: key 3 active"
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/stream.py" serve "$A4" $((PORT + 2)) --timeout 5 >/dev/null 2>&1
ts_wait_listen "$NS_A" $((PORT + 2))
out=$(ts_in "$NS_B" timeout 8 "$PY" "$TS_DIR/stream.py" send "$A4" $((PORT + 2)) --rate 100000 \
	--stop-file "$TS_TMP/stop2" --max-seconds 1 --timeout 5 2>&1)
ts_expect '[[ "$out" == *"ok bytes="* ]]' "a new connection works with key 3 ($out)"

ts_log "gap: B's test clock 200 s forward, past key 3's send and accept windows"
ts_in "$NS_B" "$TCPAO_CLI" clock shift 200 | sed 's/^/  B: /'
ts_in "$NS_B" "$TCPAO_CLI" key list | grep -A3 "^key-chain" | sed 's/^/  B: /'
ts_expect 'ts_in "$NS_B" "$TCPAO_CLI" key list | grep -q "key 3 .*\[active-held\]"' "B holds key 3 in the gap"
ts_expect '[ "$(ts_stat "$NS_B" TCPAOKeychainGaps)" -gt 0 ]' "B counted the gap"
ts_expect 'grep -q "NO VALID SEND KEY" "$TS_TMP/tcpaod-$NS_B.log"' "B warned about the gap"
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/stream.py" serve "$A4" $((PORT + 3)) --timeout 5 >/dev/null 2>&1
ts_wait_listen "$NS_A" $((PORT + 3))
out=$(ts_in "$NS_B" timeout 8 "$PY" "$TS_DIR/stream.py" send "$A4" $((PORT + 3)) --rate 100000 \
	--stop-file "$TS_TMP/stop2" --max-seconds 1 --timeout 5 2>&1)
ts_expect '[[ "$out" == *"ok bytes="* ]]' "a connection works in the gap with the held key ($out)"

out=$(ts_in "$NS_A" "$TCPAO_CLI" reload 2>&1)
echo "  A: $out"
ts_expect '[[ "$out" == *"0 added, 0 changed, 0 dropped"* ]]' "a reload of the same file changes no key"
out=$(ts_in "$NS_A" "$TCPAO_CLI" key list --json)
ts_expect '"$PY" -c "import json,sys; d=json.load(sys.stdin); c=d[\"chains\"][0]; assert c[\"name\"] == \"test\" and len(c[\"keys\"]) == 3 and d[\"peers\"][0][\"key-chain\"] == \"test\"" <<<"$out"' "key list --json has the chain"
grep -h "stepped\|shifted\|NO VALID\|sending with" "$TS_TMP"/tcpaod-*.log | sed 's/^/  log: /' | tail -14
ts_end
