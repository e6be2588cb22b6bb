#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# quota (issue 8, item 4): user nobody registers keys and sockets until
# the daemon refuses: 1024 keys (ENOMEM, as Linux past optmem) and 256
# sockets (ENOBUFS) per uid. Root is not limited: it still adds a runtime
# key, registers a socket of its own with keys, and connects to its AO
# peer. Before, nobody registered 2000 keys and 300 sockets.
source "$SEC_DIR/lib.sh"
ts_init quota
sec_attacker_init
trap 'sec_cleanup; ts_cleanup' EXIT
ts_pair
ts_daemon "$NS_A" --key "id=1,alg=hmac(sha1),secret=root-secret,peer=$B4/32"
ts_daemon "$NS_B" --key "id=1,alg=hmac(sha1),secret=root-secret,peer=$A4/32"
ts_start ts_in "$NS_B" "$PY" "$SEC_DIR/usersock.py" echo $B4 8179 0 - >/dev/null 2>&1
ts_wait_listen "$NS_B" 8179

ts_log "nobody: a listener with 1100 keys given before listen(): refused whole"
# One registration, its requests sent ahead of their replies: the daemon
# refuses key 1025 and then the commit, so no part of the socket's keys is
# taken, and the refused ones stop counting while that socket lives on:
# 1000 keys on another socket then register.
ts_in "$NS_A" sysctl -qw net.core.optmem_max=1000000 # the preload's own per-socket limit
ts_start as_nobody "$NS_A" "$PY" "$ATK/usersock.py" register $A4 19000 1100 4 3 >"$TS_TMP/r.out" 2>&1
held=$TS_LAST_PID
sec_wait_line "$TS_TMP/r.out" "^listen" 60 || ts_die "register: $(cat "$TS_TMP/r.out")"
out=$(cat "$TS_TMP/r.out")
echo "nobody, 1100 keys (the socket kept open): $out"
ts_expect '[ "$out" = "listen ENOMEM" ]' "listen() of 1100 keys fails with ENOMEM ($out)"
ts_expect '! sec_keylist "$NS_A" | grep -q "sndid=4"' "no key of the refused socket in tcpaod"
out=$(as_nobody "$NS_A" "$PY" "$ATK/usersock.py" register $A4 19001 1000 5 0 2>&1)
echo "nobody, 1000 keys: $out"
ts_expect '[ "$out" = "listen ok" ]' "then 1000 keys register ($out)"
wait "$held"
v=$(sec_keylist "$NS_A" | grep -c "sndid=5")
ts_expect '[ "$v" = 0 ]' "the registered socket's keys left with it ($v)"
ts_in "$NS_A" sysctl -qw net.core.optmem_max=131072

ts_log "nobody: 2000 keys on one listener, then 300 listeners"
ts_start as_nobody "$NS_A" "$PY" "$ATK/usersock.py" quota $A4 20000 2000 300 60 >"$TS_TMP/q.out" 2>&1
quota_pid=$TS_LAST_PID
sec_wait_line "$TS_TMP/q.out" "^keys" 180 || ts_die "quota run: $(cat "$TS_TMP/q.out")"
cat "$TS_TMP/q.out"
keys=$(awk '/^keys/ { print $2 }' "$TS_TMP/q.out")
kerr=$(awk '/^keys/ { print $4 }' "$TS_TMP/q.out")
socks=$(awk '/^sockets/ { print $2 }' "$TS_TMP/q.out")
serr=$(awk '/^sockets/ { print $4 }' "$TS_TMP/q.out")
ts_expect '[ "$keys" = 1024 ] && [ "$kerr" = ENOMEM ]' "nobody's keys stop at 1024 with ENOMEM ($keys $kerr)"
ts_expect '[ "$socks" = 256 ] && [ "$serr" = ENOBUFS ]' "nobody's sockets stop at 256 with ENOBUFS ($socks $serr)"

ts_log "root is not limited"
ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" raw "key-add sndid=9,rcvid=9,alg=hmac(sha1),secret=root-runtime,peer=198.18.0.99/32" >/dev/null ||
	ts_fail "root's key-add"
out=$(as_root_preloaded "$NS_A" "$PY" "$ATK/usersock.py" quota $A4 25000 1100 3 0)
echo "root: $out"
ts_expect '[[ "$out" == *"sockets 3 error none"* ]]' "root's sockets register"
ts_expect '[[ "$out" == *"keys 1100 error none"* ]]' "root's sockets hold 1100 keys"
t0=$(date +%s%N)
ts_in "$NS_A" "$PY" "$ATK/usersock.py" plain $B4 8179 | grep -q connected || ts_fail "root's AO connect to B"
echo "root's connect took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
good=$(ts_stat "$NS_B" TCPAOGood)
ts_expect '[ "${good:-0}" -gt 0 ]' "B verified root's segments ($good)"

ts_log "nobody's quota comes back when its sockets go"
# as_nobody runs in a subshell: its child is the program (every step execs).
for pid in $(pgrep -P "$quota_pid"); do kill -TERM "$pid"; done
wait "$quota_pid" 2>/dev/null
out=$(as_nobody "$NS_A" "$PY" "$ATK/usersock.py" quota $A4 21000 10 256 0 2>&1)
echo "nobody again: $out"
ts_expect '[[ "$out" == *"sockets 256 error none"* ]]' "nobody registers 256 sockets again"
ts_end
