#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Squatting the daemon's names (issue 8, item 1): nobody binds the old
# abstract names (@tcpao/ctl, @tcpaod/lock) and tries the real socket path
# before tcpaod starts. tcpaod must still start, root's `tcpao key add`
# must reach it, and nothing (no byte, no secret) may reach the squatter;
# a client pointed (TCPAO_CTL) at a socket in a directory nobody can write
# refuses to send.
source "$TS_DIR/lib.sh"
source "$SEC_DIR/lib.sh"
sec_init squat
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_pair
CTL_A=$(sec_ctl_path "$NS_A")
SECRET=squat-test-secret-7

ts_log "nobody squats @tcpao/ctl, @tcpaod/lock, $CTL_A and $ATK/home/ctl.sock"
ts_start ts_in "$NS_A" "${NOBODY[@]}" "$PY" "$ATK/attack.py" squat "$ATK/home/squat.log" \
	@tcpao/ctl "$CTL_A" "$ATK/home/ctl.sock" >"$TS_TMP/squatter.out" 2>&1
sec_wait_line "$TS_TMP/squatter.out" ready || ts_die "the squatter did not start"
cat "$TS_TMP/squatter.out"
ts_expect '! grep -q "^squatting $CTL_A" "$TS_TMP/squatter.out"' "nobody cannot create the daemon's socket path"

ts_log "tcpaod starts anyway"
ts_daemon "$NS_A"

ts_log "root's key add reaches tcpaod, not the squatter"
sec_secret "$TS_TMP/k7" "$SECRET"
out=$(ts_in "$NS_A" "$TCPAO_CLI" key add "id=7,alg=hmac(sha1),secret-file=$TS_TMP/k7,peer=$B4/32" 2>&1); rc=$?
ts_expect '[ $rc = 0 ]' "tcpao key add: $out"
ts_expect 'ts_in "$NS_A" "$TCPAO_CLI" key list | grep -q "sndid 7 rcvid 7"' "the key is in tcpaod"

ts_log "a client sent to the squatter's socket refuses to talk"
out=$(ts_in "$NS_A" env TCPAO_CTL="$ATK/home/ctl.sock" "$TCPAO_CLI" key add \
	"id=8,alg=hmac(sha1),secret-file=$TS_TMP/k7,peer=$B4/32" 2>&1); rc=$?
echo "$out"
ts_expect '[ $rc != 0 ] && grep -q "not tcpaod" <<<"$out"' "TCPAO_CTL to nobody's socket is refused"
out=$(ts_in "$NS_A" env TCPAO_CTL="$ATK/home/ctl.sock" "$PY" "$TS_DIR/ctl.py" stat 2>&1); rc=$?
ts_expect '[ $rc = 2 ]' "ctl.py refuses it too ($rc: $out)"

sleep 0.3
echo "squatter received: $(cat "$ATK/home/squat.log" 2>/dev/null)"
ts_expect '! grep -q "GOT [1-9]\|[1-9] fds" "$ATK/home/squat.log" 2>/dev/null' "the squatter received nothing"
ts_expect '! grep -qi "$(printf %s "$SECRET" | od -An -tx1 | tr -d " \n")" "$ATK/home/squat.log" 2>/dev/null' "no secret reached the squatter"
ts_end
