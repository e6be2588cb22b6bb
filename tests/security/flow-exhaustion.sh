#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# flow-exhaustion (issue 8, item 6): a local unprivileged user (nobody)
# opens many connections to an AO peer to fill tcpaod's flow table (16
# flows here). A non-root uid holds at most a quarter of the table: nobody
# gets 4 connections, the rest of its SYNs are dropped and counted
# (TCPAOFlowQuotaExceeded), and root's connection to the same peer still
# works. (c911aa2 gave nobody all 16 and dropped root's SYN as
# TCPAOEgressDropped.)
source "$TS_DIR/lib.sh"
ts_init flow-exhaustion
ts_require setpriv
ts_pair
K="alg=hmac(sha1),secret=flow-exhaustion-test"
ts_daemon "$NS_A" --key "id=7,$K,peer=$B4/32" --max-flows 16
ts_daemon "$NS_B" --key "id=7,$K,peer=$A4/32"
# nobody may not read the build or source tree: its own copy.
BIN=$(mktemp -d "$TS_TMP/bin-XXXXXX")
cp "$SEC_DIR/conns.py" "$BIN/"
chmod 0755 "$TS_TMP" "$BIN" "$BIN/conns.py"
port=9601
ts_start ts_in "$NS_B" "$PY" "$BIN/conns.py" serve "$B4" $port 40
ts_wait_listen "$NS_B" $port

ts_log "nobody opens 40 connections to $B4"
ts_start ts_in "$NS_A" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$PY" "$BIN/conns.py" open "$B4" $port 40 4 15 >"$TS_TMP/nobody.out"
for _ in $(seq 100); do grep -q connected "$TS_TMP/nobody.out" && break; sleep 0.1; done
n=$(sed -n 's/^connected=//p' "$TS_TMP/nobody.out")
echo "  nobody: ${n:-?} connected; $NS_A: $(ts_stats "$NS_A")"
ts_expect '[ "${n:-0}" = 4 ]' "nobody got ${n:-no} connections, expected its quota of 4"
q=$(ts_stat "$NS_A" TCPAOFlowQuotaExceeded)
ts_expect '[ "${q:-0}" -ge 36 ]' "TCPAOFlowQuotaExceeded is ${q:-absent}, expected 36 or more"
grep -q "quota" "$TS_TMP/tcpaod-$NS_A.log" || ts_fail "the quota was not logged"

ts_log "root connects to $B4 while nobody holds its connections"
out=$(ts_in "$NS_A" "$PY" "$BIN/conns.py" open "$B4" $port 3 5 0)
echo "  root: $out"
ts_expect '[ "$out" = connected=3 ]' "root: $out, expected connected=3"
echo "  $NS_A: $(ts_stats "$NS_A")"
grep -E "flow table" "$TS_TMP/tcpaod-$NS_A.log" | head -3 | sed 's/^/  log: /'
ts_end
