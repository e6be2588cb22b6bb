#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# listener-scope (issue 8, item 5): a listener of user nobody with a key
# for one /32 puts that /32 in the peer set, nothing else; before, its
# entry's peer was /0, which became 0.0.0.0/1 + 128.0.0.0/1 in the ipset
# and pulled every TCP connection of the host through the queue. A plain
# connection from another address still works, and is not queued. The
# port of a listener that requires AO is closed to plain TCP by the rules
# and, when they are flushed, by the guard.
source "$SEC_DIR/lib.sh"
ts_init listener-scope
sec_attacker_init
trap 'sec_cleanup; ts_cleanup' EXIT
ts_pair
ts_daemon "$NS_B"

ts_log "nobody listens on port 4179 with a key for 198.18.0.3/32"
ts_start as_nobody "$NS_B" "$PY" "$ATK/usersock.py" listen $B4 4179 20 1 198.18.0.3 \
	>"$TS_TMP/listen.out" 2>&1
sec_wait_line "$TS_TMP/listen.out" listening || ts_die "the listener did not start: $(cat "$TS_TMP/listen.out")"
sleep 0.3
set4=$(ts_in "$NS_B" ipset list tcpao4 | sed -n '/^Members:/,$p' | tail -n +2 | sort)
echo "tcpao4 members: $set4"
ts_expect '[ "$set4" = "198.18.0.3" ]' "only the key's /32 is in the set"
ts_expect '! grep -q "/1" <<<"$set4"' "no /1 halves of the address space"
keys=$(sec_keylist "$NS_B")
echo "$keys"
ts_expect 'grep -q "origin=socket" <<<"$keys"' "the listener's entry is there"
ts_expect 'grep -q "uid=65534" <<<"$keys"' "and is nobody's"

ts_log "A (198.18.0.1, not the key's peer) connects in the clear, unqueued"
before=$(ts_in "$NS_B" iptables -t raw -L -v -n -x 2>/dev/null | awk '/NFQUEUE/ { s += $1 } END { print s + 0 }')
out=$(ts_in "$NS_A" "$PY" "$ATK/usersock.py" plain $B4 4179)
echo "$out"
ts_expect '[[ "$out" == "connected" ]]' "a plain connection from a peer the listener has no key for"
after=$(ts_in "$NS_B" iptables -t raw -L -v -n -x 2>/dev/null | awk '/NFQUEUE/ { s += $1 } END { print s + 0 }')
ts_expect '[ "$after" = "$before" ]' "none of its segments went through the queue ($before -> $after)"

# Linux's ao_required refuses unsigned segments from any peer: such a
# listener's port (and only its port) goes to the queue whoever sends.
ts_log "nobody's listener on port 4180 requires AO (key for 198.18.0.3 only)"
ts_start as_nobody "$NS_B" "$PY" "$ATK/usersock.py" listen-required $B4 4180 20 1 198.18.0.3 \
	>"$TS_TMP/required.out" 2>&1
sec_wait_line "$TS_TMP/required.out" listening || ts_die "the listener did not start: $(cat "$TS_TMP/required.out")"
sleep 0.3
ports=$(ts_in "$NS_B" ipset list tcpaoports | sed -n '/^Members:/,$p' | tail -n +2 | sort)
set4=$(ts_in "$NS_B" ipset list tcpao4 | sed -n '/^Members:/,$p' | tail -n +2 | sort)
echo "tcpaoports members: $ports; tcpao4 members: $set4"
ts_expect '[ "$ports" = "4180" ]' "its port is in the port set, no other"
ts_expect '[ "$set4" = "198.18.0.3" ]' "the peer set still holds the keys' /32 only"
req=$(ts_stat "$NS_B" TCPAORequired)
out=$(ts_in "$NS_A" "$PY" "$ATK/usersock.py" plain $B4 4180)
echo "$out"
ts_expect '[[ "$out" == refused* ]]' "a plain connection from a peer it has no key for is refused"
ts_expect '[ "$(ts_stat "$NS_B" TCPAORequired)" -gt "$req" ]' "and counted as TCPAORequired"
out=$(ts_in "$NS_A" "$PY" "$ATK/usersock.py" plain $B4 4179)
ts_expect '[[ "$out" == "connected" ]]' "the listener on 4179 (not requiring AO) still takes it in the clear"

# With the rules flushed and the daemon unable to restore them (stopped),
# the guard alone knows the port: the plain SYN never reaches the listener.
ts_log "rules flushed, daemon stopped: the guard refuses plain TCP to port 4180"
kill -STOP "${DAEMON_PID[$NS_B]}"
ts_in "$NS_B" nft flush ruleset
out=$(ts_in "$NS_A" "$PY" "$ATK/usersock.py" plain $B4 4180)
out2=$(ts_in "$NS_A" "$PY" "$ATK/usersock.py" plain $B4 4179)
kill -CONT "${DAEMON_PID[$NS_B]}"
echo "4180: $out; 4179: $out2"
ts_expect '[[ "$out" == refused* ]]' "no plain connection to the required port while the rules are gone"
ts_expect '[[ "$out2" == "connected" ]]' "the other listener is untouched by the guard"
ts_expect '[ "$(ts_stat "$NS_B" TCPAOGuardPortDropped)" -gt 0 ]' "the guard counted TCPAOGuardPortDropped"
ts_end
