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

ts_start ts_in "$NS_B" "$PY" "$TS_DIR/stream.py" serve "$B4" $PORT --timeout 20 \
	>"$TS_TMP/server.out" 2>&1
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $PORT
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/stream.py" send "$B4" $PORT --rate 400000 \
	--stop-file "$TS_TMP/stop" --max-seconds 60 --timeout 20 >"$TS_TMP/sender.out" 2>&1
cli=$TS_LAST_PID
for _ in $(seq 100); do grep -q streaming "$TS_TMP/sender.out" && break; sleep 0.05; done
grep -q streaming "$TS_TMP/sender.out" || ts_die "the stream did not start: $(cat "$TS_TMP/sender.out")"
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
kill -0 $cli 2>/dev/null || ts_fail "the stream ended early"
touch "$TS_TMP/stop"
wait $cli || ts_fail "sender: $(cat "$TS_TMP/sender.out")"
wait $srv || ts_fail "server: $(cat "$TS_TMP/server.out")"
ts_capture_stop
sent=$(sed -n 's/^ok bytes=//p' "$TS_TMP/sender.out")
got=$(sed -n 's/^ok bytes=\([0-9]*\) .*/\1/p' "$TS_TMP/server.out")
echo "  stream: sent and echoed ${sent:-?} bytes, server received ${got:-?}"
ts_expect '[ -n "$sent" ] && [ "$sent" = "$got" ]' "bytes sent = bytes received"
for ns in "$NS_A" "$NS_B"; do
	echo "  $ns: $(ts_stats "$ns")"
	for c in TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOEgressDropped; do
		v=$(ts_stat "$ns" $c)
		ts_expect '[ "$v" = 0 ]' "$ns $c"
	done
done
keys=("id=1,alg=hmac(sha1),secret=confirm-test-1,peer=198.18.0.0/24"
      "id=2,alg=hmac(sha1),secret=confirm-test-2,peer=198.18.0.0/24")
ts_verify_capture "$TS_TMP/confirm.pcap" "${keys[@]}"
args=()
for k in "${keys[@]}"; do args+=(--key "$(ts_secret_spec "$k")"); done
"$TCPAO_CLI" verify "$TS_TMP/confirm.pcap" "${args[@]}" --json >"$TS_TMP/verify.json"
seqs=$("$PY" - "$TS_TMP/verify.json" $A4 <<'EOF'
import json, sys
seq = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "summary" in o:
        continue
    d = "a2b" if o["src"] == sys.argv[2] else "b2a"
    q = seq.setdefault(d, [])
    if not q or q[-1] != o["keyid"]:
        q.append(o["keyid"])
print("a2b=%s b2a=%s" % ("-".join(map(str, seq.get("a2b", []))), "-".join(map(str, seq.get("b2a", [])))))
EOF
)
echo "  capture KeyIDs: $seqs"
ts_expect '[[ "$seqs" == "a2b=1-2 b2a=1-2" ]]' "both sides moved once, from key 1 to key 2"
grep -h "asking for\|sending with" "$TS_TMP"/tcpaod-*.log | sed 's/^/  log: /'
ts_end
