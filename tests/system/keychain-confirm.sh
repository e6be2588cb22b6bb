#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# keychain-confirm: "rollover confirmed". A's chain moves from key 1 to
# key 2 at T; B is a plain peer (tcpaod --key) that has only key 1. During
# a transfer across T, A asks for key 2 (RNextKeyID) but keeps sending
# with key 1, as B never asks for key 2: not one segment is refused. Once
# B is given key 2 and asks for it (tcpao key add --rnext), both move to
# it. No byte lost, no segment dropped, the capture verified with both
# keys: A's KeyIDs on the wire go 1 then 2, the switch after B's.
source "$(dirname "$0")/lib.sh"
ts_init keychain-confirm
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_require tcpdump
PORT=9321

ts_pair
T=$(( $(date +%s) + 12 ))
for n in 1 2; do printf 'confirm-test-%s' $n >"$TS_TMP/k$n"; chmod 600 "$TS_TMP/k$n"; done
cat >"$TS_TMP/a.conf" <<EOF
key-chain c {
    rollover confirmed;
    key id 1 alg hmac(sha1) secret-file k1 send-lifetime 0 $T;
    key id 2 alg hmac(sha1) secret-file k2 send-lifetime $T infinite;
}
peer $B4 { key-chain c; }
EOF
chmod 600 "$TS_TMP/a.conf"
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
ts_daemon "$NS_B" --key "id=1,alg=hmac(sha1),secret=confirm-test-1,peer=$A4/32"
ts_capture "$NS_A" "$TS_TMP/confirm.pcap"

ts_stream_start $PORT 60
ts_expect '[ "$(date +%s)" -lt $T ]' "the stream started before the boundary"
while [ "$(date +%s)" -lt $((T + 3)) ]; do sleep 0.5; done
ts_log "past the boundary: A asks for key 2, B does not hold it"
ts_in "$NS_A" "$TCPAO_CLI" show | sed 's/^/  A: /'
ts_expect 'ts_in "$NS_A" "$TCPAO_CLI" show --json | "$PY" -c "import json,sys; f=json.load(sys.stdin); f=f[\"flows\"] if isinstance(f, dict) else f; assert any(x[\"current\"] == 1 and x[\"rnext\"] == 2 for x in f)"' \
	"A's connection sends with key 1 and asks for key 2"
ts_log "B gets key 2 and asks for it"
ts_in "$NS_B" "$TCPAO_CLI" key add "$(ts_secret_spec "id=2,alg=hmac(sha1),secret=confirm-test-2,peer=$A4/32")" --rnext
sleep 2
ts_in "$NS_A" "$TCPAO_CLI" show | sed 's/^/  A: /'
kill -0 $TS_STREAM_CLI 2>/dev/null || ts_fail "the stream ended early"
ts_stream_stop
ts_capture_stop
ts_stream_bytes
for ns in "$NS_A" "$NS_B"; do
	echo "  $ns: $(ts_stats "$ns")"
	ts_expect_zero "$ns" TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOEgressDropped
done
keys=("id=1,alg=hmac(sha1),secret=confirm-test-1,peer=198.18.0.0/24"
      "id=2,alg=hmac(sha1),secret=confirm-test-2,peer=198.18.0.0/24")
ts_verify_capture "$TS_TMP/confirm.pcap" "${keys[@]}"
seqs=$(ts_keyids "$TS_TMP/confirm.pcap" "${keys[@]}")
seqs=a2b=${seqs#* a2b=} # the KeyIDs alone: "a2b=... b2a=..."
echo "  capture KeyIDs: $seqs"
ts_expect '[[ "$seqs" == "a2b=1-2 b2a=1-2" ]]' "both sides moved once, from key 1 to key 2"
grep -h "asking for\|sending with" "$TS_TMP"/tcpaod-*.log | sed 's/^/  log: /'
ts_end
