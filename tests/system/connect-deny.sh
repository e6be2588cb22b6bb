#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# connect-deny: connections that must not happen, and the counter that says
# why, as Linux's connect-deny selftest: wrong secret, wrong KeyID, wrong
# MAC length, a peer without AO against a side that requires it (both
# directions), no key for the peer.
source "$(dirname "$0")/lib.sh"
ts_init deny
ts_pair

K="alg=hmac(sha1),secret=deny-test"
port=7000

# deny_case NAME "A's tcpaod args" "B's tcpaod args" NS COUNTER [DST]:
# A connects to B; the connection must fail and COUNTER must grow in NS.
deny_case() {
	local name=$1 a_args=$2 b_args=$3 ns=$4 counter=$5 dst=${6:-$B4} v srv
	port=$((port + 1))
	ts_log "$name"
	[ -n "$a_args" ] && eval ts_daemon '"$NS_A"' $a_args
	[ -n "$b_args" ] && eval ts_daemon '"$NS_B"' $b_args
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" $port --bytes 1000 --timeout 6
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	if ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" $port --bytes 1000 --timeout 3 \
		>/dev/null 2>&1; then
		ts_fail "$name: the connection succeeded"
	fi
	v=$(ts_stat "$ns" "$counter")
	echo "  $ns: $(ts_stats "$ns")"
	ts_expect '[ "${v:-0}" -gt 0 ]' "$name: $counter in $ns"
	# The refusing side verified nothing.
	v=$(ts_stat "$ns" TCPAOGood)
	ts_expect '[ "$v" = 0 ]' "$name: TCPAOGood in $ns"
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	# A stopped daemon leaves its rules (fail closed); the next case may
	# want this host plain, so uninstall as an operator would.
	local ns
	for ns in ${a_args:+"$NS_A"} ${b_args:+"$NS_B"}; do
		ts_stop_daemon "$ns"
		ts_in "$ns" "$TCPAOD" --remove-rules
	done
}

deny_case "wrong secret" \
	"--key 'id=1,$K,peer=$B4/32'" \
	"--key 'id=1,alg=hmac(sha1),secret=other,peer=$A4/32'" "$NS_B" TCPAOBad
deny_case "wrong KeyID (server has rcvid 6, client sends KeyID 5)" \
	"--key 'id=5,$K,peer=$B4/32'" "--key 'id=6,$K,peer=$A4/32'" "$NS_B" TCPAOKeyNotFound
deny_case "wrong MAC length" \
	"--key 'id=1,$K,peer=$B4/32,maclen=12'" "--key 'id=1,$K,peer=$A4/32,maclen=16'" \
	"$NS_B" TCPAOBad
deny_case "plain client against an AO server (IPv4)" \
	"" "--key 'id=1,$K,peer=$A4/32'" "$NS_B" TCPAORequired
deny_case "plain client against an AO server (IPv6)" \
	"" "--key 'id=1,$K,peer=$A6/128'" "$NS_B" TCPAORequired "$B6"
deny_case "AO client against a plain server" \
	"--key 'id=1,$K,peer=$B4/32'" "" "$NS_A" TCPAORequired
# As Linux, the server drops an AO SYN it has no key for (TCPAOKeyNotFound)
# and sends nothing back.
deny_case "server has no key for the client" \
	"--key 'id=1,$K,peer=$B4/32'" "--key 'id=1,$K,peer=198.18.0.99/32'" \
	"$NS_B" TCPAOKeyNotFound
ts_end
