#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# audit (issue 9): every key or policy change leaves one "audit:" line in
# tcpaod's log saying who (uid and pid of the client, or signal, file,
# schedule), what, which peer, key ids and origin, never the secret: the
# file's keys at start, `tcpao key add|set|del` as root, SIGHUP and
# `tcpao reload`, a socket's keys registered by user nobody through the
# preload (logged with its uid, within a per-uid rate limit that says
# what it left out). `tcpao stat --prometheus` gives each peer's current
# key age, which a restart (SIGTERM or SIGKILL) keeps.
SEC_DIR=${SEC_DIR:-$(cd "$(dirname "$0")/../security" && pwd)}
source "$SEC_DIR/lib.sh"
ts_init audit
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
sec_attacker_init
trap 'sec_cleanup; ts_cleanup' EXIT
ts_pair
SECRET1=audit-secret-number-one SECRET2=audit-secret-number-two
LOG=$TS_TMP/tcpaod-$NS_A.log

ts_conf_peer "$TS_TMP/a.conf" "$B4/32" "$TS_TMP/k1.key" "$SECRET1"
sec_secret "$TS_TMP/k2.key" "$SECRET2"
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
cli() { ts_in "$NS_A" "$TCPAO_CLI" "$@"; }
# audit_has TEXT...: some audit line has every TEXT
audit_has() {
	local line
	while IFS= read -r line; do
		local t ok=1
		for t in "$@"; do [[ $line == *"$t"* ]] || { ok=0; break; }; done
		[ $ok = 1 ] && return 0
	done < <(grep -a 'audit: ' "$LOG")
	return 1
}
# age PEER: tcpao_peer_current_key_age_seconds of PEER
age() {
	cli stat --prometheus |
		awk -v p="tcpao_peer_current_key_age_seconds{peer=\"$1\"}" '$1 == p { print $2 }'
}

ts_log "the file's key at start"
ts_expect 'audit_has "op=start by=file change=add peer=$B4/32 sndid=1 rcvid=1 origin=file"' \
	"the start's line for key 1"
sleep 2
a=$(age "$B4/32")
ts_expect '[ -n "$a" ] && [ "$a" -ge 2 ] && [ "$a" -lt 60 ]' "key 1 is current since the start ($a s)"

ts_log "restarts keep the current key's age (state-dir/key-ages)"
ts_stop_daemon "$NS_A" TERM
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
a=$(age "$B4/32")
ts_expect '[ -n "$a" ] && [ "$a" -ge 2 ]' "after SIGTERM and a start: still $a s, not 0"
sleep 11 # past the periodic save
ts_stop_daemon "$NS_A" KILL
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
a=$(age "$B4/32")
ts_expect '[ -n "$a" ] && [ "$a" -ge 13 ]' "after SIGKILL and a start: $a s"
ts_expect '! grep -aq "$SECRET1" "$TS_TMP/state-$NS_A/key-ages"' "no secret in key-ages"

ts_log "tcpao key add / set / del as root"
cli key add "id=2,alg=hmac(sha1),secret-file=$TS_TMP/k2.key,peer=$B4" || ts_fail "key add"
ts_expect 'audit_has "op=key-add by=client uid=0 pid=" "change=add peer=$B4/32 sndid=2 rcvid=2 origin=runtime"' \
	"key add: uid 0, pid, peer, ids, origin"
a=$(age "$B4/32")
ts_expect '[ -n "$a" ] && [ "$a" -le 1 ]' "the newest key 2 is current from now on ($a s)"
cli key set peer=$B4 --current 2 --rnext 2 || ts_fail "key set"
ts_expect 'audit_has "op=key-set by=client uid=0" "change=current peer=$B4/32 sndid=2"' "key set: current"
ts_expect 'audit_has "op=key-set by=client uid=0" "change=rnext peer=$B4/32 rcvid=2"' "key set: rnext"
cli key del "id=1,peer=$B4" || ts_fail "key del"
ts_expect 'audit_has "op=key-del by=client uid=0" "change=drop peer=$B4/32 sndid=1 rcvid=1 origin=file"' \
	"key del: the file's key 1 dropped"
sleep 2
a=$(age "$B4/32")
ts_expect '[ -n "$a" ] && [ "$a" -ge 2 ]' "setting key 2 current again leaves its age ($a s)"
out=$(cli key list --json)
ts_expect '"$PY" "$TS_DIR/../control/jsoncheck.py" key-list <<<"$out" >/dev/null &&
	[[ $out == *"\"current-age\": "* ]]' "key list --json: current-age, a number"

ts_log "reload: SIGHUP and tcpao reload"
kill -HUP "${DAEMON_PID[$NS_A]}"
sec_wait_line "$LOG" "op=reload by=signal uid=0 pid=.* change=summary" 5
ts_expect 'audit_has "op=reload by=signal uid=0" "change=add peer=$B4/32 sndid=1 rcvid=1 origin=file"' \
	"SIGHUP: the file's key 1 is back"
ts_expect 'audit_has "op=reload by=signal uid=0" "change=summary added=1 changed=0 dropped=0"' \
	"SIGHUP: the summary line"
cli reload >/dev/null || ts_fail "tcpao reload"
ts_expect 'audit_has "op=reload by=client uid=0 pid=" "change=summary added=0 changed=0 dropped=0"' \
	"tcpao reload: a line even when nothing changed"

ts_log "a socket's keys, registered by nobody"
out=$(as_nobody "$NS_A" "$PY" "$ATK/usersock.py" quota $A4 21000 1 1 0)
ts_expect '[[ $out == *"sockets 1 error none"* ]]' "nobody registered a socket ($out)"
ts_expect 'audit_has "by=client uid=65534 pid=" "change=register peer=0.0.0.0/0 local=$A4/32 local-port=21000" "ids=3/3" \
	"origin=socket:uid=65534:cookie="' \
	"nobody's socket: its uid and cookie"
ts_expect 'sec_wait_line "$LOG" "op=sock-close by=close uid=65534 change=unregister" 5' \
	"nobody's closed socket: its entry leaves, said once"

ts_log "rate limit: 60 sockets of nobody"
as_nobody "$NS_A" "$PY" "$ATK/usersock.py" quota $A4 22000 60 60 0 >/dev/null
ts_expect 'sec_wait_line "$LOG" "op=rate-limit change=left-out uid=65534 lines=" 5' \
	"the lines left out are counted and said"
n=$(grep -c 'audit: op=sock-.*uid=65534' "$LOG")
ts_expect '[ "$n" -lt 80 ]' "nobody's 122 socket changes gave $n lines"

ts_log "no secret in the log"
for s in "$SECRET1" "$SECRET2" "user-socket-secret"; do
	hex=$(printf '%s' "$s" | od -An -tx1 | tr -d ' \n')
	ts_expect '! grep -aqi -e "$s" -e "$hex" "$LOG"' "neither $s nor its hex is logged"
done
grep -a 'audit: ' "$LOG" | sed 's/^/  log: /' | head -12
ts_end
