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

ts_log "nobody: 2000 keys on one listener, then 300 listeners"
ts_start as_nobody "$NS_A" "$PY" "$ATK/usersock.py" quota $A4 20000 2000 300 60 >"$TS_TMP/q.out" 2>&1
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
ts_end
