#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Control slots (issue 8, item 4): nobody opens 100 connections and holds
# them without a word. nobody gets at most its quota, another user and
# root are still served at once, and the idle connections are closed after
# the idle timeout (30 s).
source "$TS_DIR/lib.sh"
source "$SEC_DIR/lib.sh"
sec_init slots
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_pair
ts_daemon "$NS_A" --key "id=1,alg=hmac(sha1),secret=slots-test,peer=$B4/32"
QUOTA=16 IDLE=30

ts_log "nobody holds 100 connections"
ts_start ts_in "$NS_A" "${NOBODY[@]}" "$PY" "$ATK/attack.py" hold 100 $((IDLE + 3)) \
	>"$TS_TMP/hold.out" 2>&1
holder=$TS_LAST_PID
sec_wait_line "$TS_TMP/hold.out" served 20 || ts_die "the holder did not report"
cat "$TS_TMP/hold.out"
served=$(sed -n 's/^served \([0-9]*\) of.*/\1/p' "$TS_TMP/hold.out")
ts_expect '[ "$served" -le $QUOTA ]' "nobody got $served connections, at most $QUOTA"

ts_log "root and another user are served meanwhile"
t0=$(date +%s%N)
out=$(ts_in "$NS_A" timeout 5 "$TCPAO_CLI" key list 2>&1); rc=$?
echo "$out (in $(( ($(date +%s%N) - t0) / 1000000 )) ms)"
ts_expect '[ $rc = 0 ] && grep -q "sndid 1 rcvid 1" <<<"$out"' "root's tcpao key list works"
out=$(ts_in "$NS_A" setpriv --reuid=4242 --regid=4242 --clear-groups "$PY" "$ATK/attack.py" raw ping 2>&1)
ts_expect 'grep -q "^ok" <<<"$out"' "uid 4242 is served ($out)"

ts_log "idle connections are closed after ${IDLE} s"
wait "$holder"
cat "$TS_TMP/hold.out"
closed=$(sed -n 's/^closed \([0-9]*\)/\1/p' "$TS_TMP/hold.out")
ts_expect '[ "${closed:-0}" -ge "$served" ]' "tcpaod closed the $served idle connections"
ts_end
