#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# guard-ext6 (issue 8, fail closed): a plain SYN from an AO peer, forged at
# layer 2 behind IPv6 extension headers (hop-by-hop, destination options,
# a chain longer than the guard walks, an atomic fragment), must not open
# a connection on B in any state of B's protection:
#
#   running   B's daemon and rules (the queue parses the chain)
#   guard     B's daemon stopped (SIGTERM) and `nft flush ruleset`: the
#             netfilter BPF guard alone
#
# A SYN that got through leaves a SYN-RECV socket on B (its SYN-ACK never
# completes: A's daemon drops it unsigned). The control, which proves the
# forgery: after `tcpaod --remove-rules` in B (no rules, no guard), the
# same SYNs DO leave SYN-RECV sockets.
source "$TS_DIR/lib.sh"
source "$SEC_DIR/lib.sh"
sec_init guard-ext6
ts_require nft
"$PY" -c 'import scapy' 2>/dev/null || ts_skip "python3-scapy not installed"
ts_pair
K="alg=hmac(sha1),secret=guard-ext6-test"
ts_daemon "$NS_A" --key "id=4,$K,peer=$B6/128"
ts_daemon "$NS_B" --key "id=4,$K,peer=$A6/128"
grep -q "guard attached" "$TS_TMP"/tcpaod-*.log || ts_skip "no netfilter BPF guard on this kernel"
PORT=9810
BMAC=$(ts_mac "$NS_B")
# ip execs python: the pid is the listener's, which cleanup ends.
ts_start ip netns exec "$NS_B" "$PY" -c "import socket, time
s = socket.socket(socket.AF_INET6)
s.bind(('$B6', $PORT))
s.listen(64)
time.sleep(120)" >"$TS_TMP/listener.out" 2>&1
ts_wait_listen "$NS_B" $PORT || ts_die "no listener on B"
CHAINS=(none hbh-dst dst4 dst9 atomic)

syn_recv() { ts_in "$NS_B" ss -Htn state syn-recv "sport = :$PORT" | wc -l; }

# forge PHASE: each chain once from its own source port; prints how many
# left a SYN-RECV socket on B.
SPORT=40000
forge() {
	for c in "${CHAINS[@]}"; do
		SPORT=$((SPORT + 1))
		ts_in "$NS_A" "$PY" "$SEC_DIR/ext6.py" eth0 "$BMAC" "$A6" "$B6" $PORT $SPORT "$c" >/dev/null ||
			ts_fail "ext6.py $c"
	done
	sleep 1
	syn_recv
}

ts_log "B's daemon and rules in place"
got=$(forge running)
ts_expect '[ "$got" = 0 ]' "no forged SYN reached B's listener ($got SYN-RECV)"
ts_expect '[ "$(ts_stat "$NS_B" TCPAORequired)" -ge 4 ]' "the queue refused them (TCPAORequired)"

ts_log "B's daemon stopped, the ruleset flushed: the guard alone"
ts_stop_daemon "$NS_B" TERM
ts_in "$NS_B" nft flush ruleset
got=$(forge guard)
ts_expect '[ "$got" = 0 ]' "no forged SYN reached B's listener ($got SYN-RECV)"

ts_log "control: no rules, no guard in B (tcpaod --remove-rules)"
ts_in "$NS_B" "$TCPAOD" --remove-rules >/dev/null 2>&1
got=$(forge control)
echo "SYN-RECV sockets on B: $got of ${#CHAINS[@]}"
ts_expect '[ "$got" -ge 3 ]' "the forged SYNs do open connections without protection (the test's forgery works)"
ts_end
