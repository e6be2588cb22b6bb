#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sockets: keys set on a socket (Linux's socket API, through the preload)
# leave tcpaod when the socket is destroyed, told by sock_diag's destroy
# notification with no other request to trigger it, so that a new socket
# on the same port never meets them; the entry of a socket that lingers in
# TIME-WAIT stays, and signs and verifies its last segments; its
# TCP_AO_INFO has its flow's counters, found on the right one of B's two
# workers (daemon/owner.c). IPv4 and IPv6.
source "$(dirname "$0")/lib.sh"
ts_init sockets
[ -n "${TCPAO_PRELOAD:-}" ] && [ -e "$TCPAO_PRELOAD" ] || ts_skip "TCPAO_PRELOAD not set"
ts_pair
K="alg=hmac(sha1),secret=sockets-test"
preloaded() { # NS CMD...: with the preload, never starting a daemon
	local ns=$1
	shift
	ts_in "$ns" env LD_PRELOAD="$TCPAO_PRELOAD" TCPAO_NO_AUTOSTART=1 "$@"
}

# B's daemon has no key of its own: the sockets bring theirs. Two
# workers: the control thread must find a socket's flow on its own.
ts_daemon "$NS_B" --queues 2
for af in 4 6; do
	if [ $af = 4 ]; then a=$A4 b=$B4; else a=$A6 b=$B6; fi
	port=$((7100 + af))
	ts_log "IPv$af: a closed listener's key leaves with it"
	out=$(preloaded "$NS_B" "$PY" "$TS_DIR/aosock.py" gone "$b" $port "$a")
	echo "$out"
	ts_expect '[[ "$out" == *"registered 1"* ]]' "IPv$af: the listener's entry is there"
	ts_expect '[[ "$out" == *"forgotten yes"* ]]' "IPv$af: its entry went when it was closed"
	# A plain server on that port for a plain client of that peer: a
	# stale entry would require AO of it.
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$b" $port --bytes 10000 --timeout 5
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$b" $port --bytes 10000 --timeout 5 >/dev/null ||
		ts_fail "IPv$af: a plain connection to the port of the closed AO listener"
	wait $srv || ts_fail "IPv$af: plain server"
done
v=$(ts_stat "$NS_B" TCPAORequired)
ts_expect '[ "${v:-0}" = 0 ]' "no plain segment was refused in B"

ts_daemon "$NS_A" --key "id=1,$K,peer=$B4/32" --key "id=1,$K,peer=$B6/128"
for af in 4 6; do
	if [ $af = 4 ]; then a=$A4 b=$B4; else a=$A6 b=$B6; fi
	port=$((7110 + af))
	ts_log "IPv$af: an accepted socket in TIME-WAIT keeps its entry"
	good=$(ts_stat "$NS_B" TCPAOGood)
	ts_start preloaded "$NS_B" "$PY" "$TS_DIR/aosock.py" tw "$b" $port "$a" \
		>"$TS_TMP/tw$af.out"
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	ts_in "$NS_A" "$PY" "$TS_DIR/aosock.py" client "$b" $port ||
		ts_fail "IPv$af: AO echo"
	wait $srv || ts_fail "IPv$af: the AO server"
	out=$(cat "$TS_TMP/tw$af.out")
	echo "$out"
	n=$(ts_in "$NS_B" ss -Htan state time-wait "( sport = :$port )" | wc -l)
	ts_expect '[ "$n" = 1 ]' "IPv$af: B's socket is in TIME-WAIT ($n)"
	ts_expect '[[ "$out" == *"after close 1"* ]]' "IPv$af: its entry stays while it lingers ($out)"
	info_good=$(sed -n 's/^info good \([0-9]*\) bad 0 current 1$/\1/p' <<<"$out")
	ts_expect '[ "${info_good:-0}" -ge 3 ]' "IPv$af: TCP_AO_INFO counts the flow's segments, current key 1"
	v=$(ts_stat "$NS_B" TCPAOGood)
	ts_expect '[ "$v" -gt "$good" ]' "IPv$af: B verified A's segments"
done
for ns in "$NS_A" "$NS_B"; do
	echo "  $ns: $(ts_stats "$ns")"
	for c in TCPAOBad TCPAOKeyNotFound TCPAORequired; do
		v=$(ts_stat "$ns" $c)
		ts_expect '[ "${v:-0}" = 0 ]' "$c in $ns"
	done
done
ts_end
