#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# prometheus: `tcpao stat --prometheus` and `--textfile` after a verified
# transfer between two namespaces: the exposition format (promcheck.py),
# the counters, the peers (their current key's age), keys and
# connections; the textfile written
# atomically, and `tcpao_up 0` with exit 1 once tcpaod is gone.
source "${TS_DIR:?}/lib.sh"
ts_init prometheus
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
CHECK=$(dirname "$0")/promcheck.py
ts_pair
KEY="sndid=7,rcvid=9,alg=hmac(sha1),secret=prom-test"
RKEY="sndid=9,rcvid=7,alg=hmac(sha1),secret=prom-test"
ts_daemon "$NS_A" --key "$KEY,peer=$B4/32"
ts_daemon "$NS_B" --key "$RKEY,peer=$A4/32"
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$B4" 6200 --bytes 200000 --echo --timeout 20
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" 6200
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" 6200 --bytes 200000 --echo --timeout 20 || ts_fail "transfer"
wait $srv || ts_fail "server"

ts_in "$NS_A" "$TCPAO_CLI" stat --prometheus --keys >"$TS_TMP/a.prom"
ts_expect '[ $? = 0 ]' "stat --prometheus exit 0"
"$PY" "$CHECK" "$TS_TMP/a.prom" >"$TS_TMP/a.samples" || ts_fail "exposition format"
cat "$TS_TMP/a.samples"
value() { awk -v k="$1" '$1 == k { print $2 }' "$TS_TMP/a.samples"; }
ts_expect '[ "$(value tcpao_up)" = 1 ]' "tcpao_up 1"
ts_expect '[ "$(value tcpao_good_total)" -gt 50 ]' "tcpao_good_total"
ts_expect '[ "$(value tcpao_signed_total)" -gt 50 ]' "tcpao_signed_total"
ts_expect '[ "$(value tcpao_bad_total)" = 0 ]' "tcpao_bad_total 0"
ts_expect '[ "$(value "tcpao_peer_keys{peer=\"$B4/32\"}")" = 1 ]' "tcpao_peer_keys of $B4/32"
age=$(value "tcpao_peer_current_key_age_seconds{peer=\"$B4/32\"}")
ts_expect '[ -n "$age" ] && [ "$age" -ge 0 ] && [ "$age" -lt 120 ]' "the current key's age: since tcpaod started ($age s)"
ts_expect 'grep -q "^tcpao_key_info{peer=\"$B4/32\",sndid=\"7\",rcvid=\"9\",alg=\"hmac(sha1)\"" "$TS_TMP/a.samples"' "tcpao_key_info"
ts_expect 'grep -q "^tcpao_connections{remote=\"$B4\"" "$TS_TMP/a.samples"' "tcpao_connections for $B4"
ts_expect 'grep -q "^tcpao_queue_dropped_total{queue=" "$TS_TMP/a.samples"' "queue drops"
ts_expect '! grep -q prom-test "$TS_TMP/a.prom"' "no secret in the output"

# The textfile: replaced atomically, no temporary file left.
out=$TS_TMP/textfile/tcpao.prom
mkdir -p "$TS_TMP/textfile"
ts_in "$NS_A" "$TCPAO_CLI" stat --textfile "$out" || ts_fail "stat --textfile exit"
"$PY" "$CHECK" "$out" >/dev/null || ts_fail "textfile format"
ts_expect '! grep -q tcpao_key_info "$out"' "no per-key series without --keys"
ts_expect '[ "$(ls "$TS_TMP/textfile")" = tcpao.prom ]' "no temporary file left"
# tcpao -n NETNS, as ip -n: the namespace's daemon and queues.
ts_expect '"$TCPAO_CLI" -n "$NS_A" stat --prometheus | grep -qx "tcpao_up 1"' "tcpao -n $NS_A"
ts_expect '"$TCPAO_CLI" -n "$NS_A" stat --prometheus | grep -q "^tcpao_queue_waiting{queue="' "tcpao -n: the namespace's queues"
ts_stop_daemon "$NS_A"
ts_in "$NS_A" "$TCPAO_CLI" stat --textfile "$out" 2>/dev/null
ts_expect '[ $? = 1 ]' "exit 1 without tcpaod"
ts_expect 'grep -qx "tcpao_up 0" "$out"' "tcpao_up 0 without tcpaod"
ts_in "$NS_A" "$TCPAO_CLI" stat --prometheus --bogus >/dev/null 2>&1
ts_expect '[ $? = 2 ]' "usage error exit 2"
ts_end
