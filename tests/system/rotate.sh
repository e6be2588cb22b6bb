#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# rotate: 1000 key rotations during one connection that carries data both
# ways all along (a paced echo stream). Each rotation is an operator's,
# with the tcpao CLI on both sides: add the next key, ask the peer for it
# (--rnext), wait until both sign with it, delete the old one (rotate.py).
# Keys cycle through 6 keys with different ids, secrets and algorithms.
# No byte lost or corrupted, no reset, no segment dropped by either daemon,
# and the capture verifies with the keys, every rotation visible on the
# wire in both directions.
source "$(dirname "$0")/lib.sh"
ts_init rotate
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_require tcpdump nstat
ROTATIONS=${TCPAO_ROTATIONS:-1000}
KEYS=6
ALGS=("hmac(sha1)" "cmac(aes128)" "hmac(sha256)")
PORT=9301

ts_pair
# key N: sndid N, rcvid 100+N on A; the mirror on B.
key_a() { echo "sndid=$1,rcvid=$((100 + $1)),alg=${ALGS[($1 - 1) % 3]},secret=rotate-test-$1"; }
key_b() { echo "sndid=$((100 + $1)),rcvid=$1,alg=${ALGS[($1 - 1) % 3]},secret=rotate-test-$1"; }
ts_daemon "$NS_A" --key "$(key_a 1),peer=$B4/32"
ts_daemon "$NS_B" --key "$(key_b 1),peer=$A4/32"
ts_capture "$NS_A" "$TS_TMP/rotate.pcap"

ts_stream_start $PORT 500

ts_log "$ROTATIONS rotations over keys 1-$KEYS while data flows both ways"
out=$(ts_in "$NS_A" "$PY" "$TS_DIR/rotate.py" "$TCPAO_CLI" "$NS_A" "$A4" "$NS_B" "$B4" $PORT \
	"$ROTATIONS" $KEYS "${ALGS[@]}" 2>&1) || ts_fail "rotate.py: $out"
echo "$out" | sed 's/^/  /'
ts_expect '[[ "$out" == *"rotations=$ROTATIONS"* ]]' "all $ROTATIONS rotations done"
last=$(echo "$out" | sed -n 's/^last-key=//p')
kill -0 $TS_STREAM_CLI 2>/dev/null || ts_fail "the stream ended before the rotations did"
ts_stream_stop
ts_capture_stop
ts_stream_bytes

for ns in "$NS_A" "$NS_B"; do
	echo "  $ns: $(ts_stats "$ns")"
	ts_expect_zero "$ns" TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOMalformedDropped \
		TCPAONoFlowDropped TCPAOEgressDropped
	v=$(ts_snmp "$ns" TcpEstabResets)
	ts_expect '[ "${v:-0}" = 0 ]' "TcpEstabResets in $ns"
	# Only the last key is left.
	keys=$(ts_in "$ns" "$TCPAO_CLI" key list | grep -c '^  key')
	ts_expect '[ "$keys" = 1 ]' "$ns has $keys keys left, expected 1"
done
ts_expect '[ "$(ts_stat "$NS_A" TCPAOSigned)" = "$(ts_stat "$NS_B" TCPAOGood)" ]' "A signed = B good"
ts_expect '[ "$(ts_stat "$NS_B" TCPAOSigned)" = "$(ts_stat "$NS_A" TCPAOGood)" ]' "B signed = A good"
ts_in "$NS_A" "$TCPAO_CLI" key list | grep -q "sndid $last rcvid $((100 + last))" ||
	ts_fail "A's key is not key $last"

# The capture: every segment signed and verified, and the KeyIDs on the
# wire change at every rotation in both directions.
keys=()
for n in $(seq $KEYS); do keys+=("$(key_a "$n"),peer=198.18.0.0/24"); done
ts_verify_capture "$TS_TMP/rotate.pcap" "${keys[@]}"
ts_verify_json "$TS_TMP/rotate.pcap" "$TS_TMP/verify.json" "${keys[@]}"
summary=$("$PY" - "$TS_TMP/verify.json" $A4 <<'EOF'
import json, sys
changes, ids, prev = {}, {}, {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "summary" in o:
        s = o["summary"]
        continue
    d = "a2b" if o["src"] == sys.argv[2] else "b2a"
    k = o["keyid"]
    ids.setdefault(d, set()).add(k)
    if d in prev and prev[d] != k:
        changes[d] = changes.get(d, 0) + 1
    prev[d] = k
print("good=%d ao=%d unsigned=%d a2b_changes=%d b2a_changes=%d a2b_ids=%d b2a_ids=%d" % (
    s["good"], s["ao-segments"], s["unsigned"], changes.get("a2b", 0),
    changes.get("b2a", 0), len(ids.get("a2b", ())), len(ids.get("b2a", ()))))
EOF
)
echo "  capture: $summary"
declare -A cap
for kv in $summary; do cap[${kv%%=*}]=${kv#*=}; done
ts_expect '[ "${cap[good]:-0}" -gt 0 ] && [ "${cap[good]}" = "${cap[ao]}" ]' "every AO segment verifies"
ts_expect '[ "${cap[unsigned]:-1}" = 0 ]' "no unsigned segment"
# Once per rotation: a segment with the old KeyID after one with the new
# would be a key flapping back.
ts_expect '[ "${cap[a2b_changes]:-0}" = "$ROTATIONS" ]' "A's KeyID changes once per rotation"
ts_expect '[ "${cap[b2a_changes]:-0}" = "$ROTATIONS" ]' "B's KeyID changes once per rotation"
ts_expect '[ "${cap[a2b_ids]:-0}" = "$KEYS" ] && [ "${cap[b2a_ids]:-0}" = "$KEYS" ]' "all $KEYS keys used both ways"
ts_end
