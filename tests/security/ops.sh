#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The host's operations during live AO transfers (issue 8, items 9-10),
# shared by the ops-*.sh tests: OPS_CASE names the operation, repeated
# through the transfer in both namespaces:
#
#   sigterm   the daemon stopped (SIGTERM) and started again
#   sigkill   the daemon killed (SIGKILL) and started again
#   nft       `nft flush ruleset` every second
#   ipt-flush `iptables -t raw -F` / `iptables -t mangle -F` (both families);
#             then single rules of each chain deleted, and a rule put
#             before our jumps (left there, warned about), after the
#             transfers
#   ipset     `ipset destroy` (refused while the rules use the sets),
#             `ipset flush` of tcpao's sets, and `nft flush ruleset` followed
#             at once by `ipset destroy` of both
#   restore   `iptables-restore` of a ruleset without tcpao's chains
#   legacy    the daemons on iptables-legacy (chosen because legacy holds
#             our jumps when they start), `iptables-legacy -t raw|mangle -F`:
#             no notification, the watcher's periodic look finds it
#
# Two transfers (IPv4 and IPv6, every byte checked by xfer.py) run 20-60 s
# under a capture of the veth; `tcpao verify` must find 0 unsigned segments
# and nothing that fails; both transfers must end intact. The guard's drops
# and the daemons' restores (with their latency) are printed for the record.
source "$TS_DIR/lib.sh"
ts_init "ops-$OPS_CASE"
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_require tcpdump nft ipset iptables-restore
ts_pair
K="alg=hmac(sha1),secret=fail-closed-test"
# iptables-legacy: our jumps there make tcpaod choose that backend.
if [ "$OPS_CASE" = legacy ]; then
	ts_require iptables-legacy ip6tables-legacy
	for ns in "$NS_A" "$NS_B"; do
		for ipt in iptables-legacy ip6tables-legacy; do
			ts_in "$ns" $ipt -t raw -N tcpao-in &&
				ts_in "$ns" $ipt -t raw -A PREROUTING -j tcpao-in &&
				ts_in "$ns" $ipt -t mangle -N tcpao-out &&
				ts_in "$ns" $ipt -t mangle -A POSTROUTING -j tcpao-out ||
				ts_die "$ipt: cannot make the chains"
		done
	done
fi
A_ARGS=(--key "id=3,$K,peer=$B4/32" --key "id=3,$K,peer=$B6/128")
B_ARGS=(--key "id=3,$K,peer=$A4/32" --key "id=3,$K,peer=$A6/128")
ts_daemon "$NS_A" "${A_ARGS[@]}"
ts_daemon "$NS_B" "${B_ARGS[@]}"
# TS_ALLOW_NO_GUARD=1 runs it against a daemon without the guard (c911aa2).
[ -n "${TS_ALLOW_NO_GUARD:-}" ] || grep -q "guard attached" "$TS_TMP"/tcpaod-*.log ||
	ts_skip "no netfilter BPF guard on this kernel"

# A ruleset someone restores: a harmless rule in raw and mangle, no tcpao.
PLAIN=$'*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p udp --dport 9 -j ACCEPT\nCOMMIT\n*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A OUTPUT -p udp --dport 9 -j ACCEPT\nCOMMIT\n'

args_of() { if [ "$1" = "$NS_A" ]; then echo A; else echo B; fi; }
restart() { # NS SIGNAL
	ts_stop_daemon "$1" "$2"
	sleep 0.5
	if [ "$1" = "$NS_A" ]; then ts_daemon "$NS_A" "${A_ARGS[@]}"; else ts_daemon "$NS_B" "${B_ARGS[@]}"; fi
}

operate() { # NS ROUND
	local ns=$1 round=$2
	case $OPS_CASE in
	sigterm) [ $((round % 4)) = 1 ] && restart "$ns" TERM && RESTARTS=$((RESTARTS + 1)) ;;
	sigkill) [ $((round % 4)) = 1 ] && restart "$ns" KILL && RESTARTS=$((RESTARTS + 1)) ;;
	nft) ts_in "$ns" nft flush ruleset ;;
	ipt-flush)
		if [ $((round % 2)) = 0 ]; then t=raw; else t=mangle; fi
		ts_in "$ns" iptables -t $t -F
		ts_in "$ns" ip6tables -t $t -F ;;
	ipset)
		ts_in "$ns" ipset destroy tcpao4 2>/dev/null # in use: refused
		ts_in "$ns" ipset flush tcpao4
		ts_in "$ns" ipset flush tcpao6
		# Rules gone first, then the sets, before the daemon restores.
		ts_in "$ns" sh -c 'nft flush ruleset && ipset destroy tcpao4 &&
			ipset destroy tcpao6' 2>/dev/null && DESTROYED=$((DESTROYED + 1)) ;;
	restore)
		ts_in "$ns" iptables-restore <<<"$PLAIN"
		ts_in "$ns" ip6tables-restore <<<"$PLAIN" ;;
	legacy)
		if [ $((round % 2)) = 0 ]; then t=raw; else t=mangle; fi
		ts_in "$ns" iptables-legacy -t $t -F
		ts_in "$ns" ip6tables-legacy -t $t -F ;;
	*) ts_die "unknown OPS_CASE $OPS_CASE" ;;
	esac
}

DESTROYED=0 RESTARTS=0
ts_capture "$NS_A" "$TS_TMP/ops.pcap"
# 16 MB each way per transfer, a 1 s pause after every MB: about 20 s
# undisturbed; each disruption costs the transfers retransmission timeouts.
PAUSES=()
for i in $(seq 1 16); do PAUSES+=(--pause-at $((i * 1000000))); done
BYTES=16500000
pids=()
for dst in "$B4" "$B6"; do
	port=$((9600 + ${#pids[@]}))
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" $port --bytes $BYTES --echo --timeout 150
	pids+=($TS_LAST_PID)
	ts_wait_listen "$NS_B" $port
	ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" $port --bytes $BYTES --echo \
		--timeout 150 "${PAUSES[@]}" --pause 1
	pids+=($TS_LAST_PID)
done
sleep 1
round=0
while [ $round -lt 12 ] && kill -0 "${pids[1]}" 2>/dev/null; do
	operate "$NS_A" $round
	operate "$NS_B" $round
	round=$((round + 1))
	sleep 1
done
ts_log "$round rounds of '$OPS_CASE' in both namespaces during the transfers"
case $OPS_CASE in
sig*) ts_log "$RESTARTS restarts"
	[ $RESTARTS -ge 4 ] || ts_fail "only $RESTARTS restarts during the transfers: make them longer" ;;
*) [ $round -ge 6 ] || ts_fail "the transfers ended after $round rounds: make them longer" ;;
esac
for p in "${pids[@]}"; do
	wait "$p" || ts_fail "a transfer was not intact (pid $p)"
done
ts_capture_stop

for ns in "$NS_A" "$NS_B"; do
	echo "  $(args_of "$ns"): $(ts_stats "$ns")"
	ts_expect '[ "$(ts_stat "$ns" TCPAOGuardPresent)" = 1 ]' "the guard is attached in $ns"
	ts_expect '[ "$(ts_stat "$ns" TCPAORulesPresent)" = 1 ]' "the rules are in place in $ns at the end"
done
restores=$(grep -h "restored in" "$TS_TMP"/tcpaod-*.log | wc -l)
lat=$(grep -ho "restored in [0-9]* ms" "$TS_TMP"/tcpaod-*.log | awk '{ n++; s += $3; if ($3 > m) m = $3 } END { if (n) printf "mean %d ms, max %d ms", s / n, m }')
ts_log "restores: $restores ($lat); ipset destroyed $DESTROYED time(s)"
case $OPS_CASE in
nft | ipt-flush | ipset | restore | legacy)
	ts_expect '[ "$restores" -ge 6 ]' "the daemons restored the rules ($restores restores)" ;;
esac
if [ "$OPS_CASE" = legacy ]; then
	for ns in "$NS_A" "$NS_B"; do
		ts_expect '[ "$(ts_in "$ns" iptables-legacy -t raw -S tcpao-in | grep -c "^-A")" -gt 0 ]' \
			"$(args_of "$ns")'s rules are in iptables-legacy"
		ts_expect '[ "$(ts_in "$ns" iptables-nft-save 2>/dev/null | grep -c "^-A tcpao-in")" = 0 ]' \
			"and not in iptables-nft"
	done
fi
# One rule deleted by hand (not a whole chain): the daemon notices that its
# chain is short and refills it.
chain_rules() { ts_in "$1" "$2" -t "$3" -S "$4" | grep -c '^-A'; }
if [ "$OPS_CASE" = ipt-flush ]; then
	for ipt in iptables ip6tables; do
		for tc in raw:tcpao-in mangle:tcpao-out; do
			t=${tc%%:*} c=${tc#*:}
			want=$(chain_rules "$NS_A" $ipt $t $c)
			ts_in "$NS_A" $ipt -t $t -D $c 2
			for _ in $(seq 1 50); do
				[ "$(chain_rules "$NS_A" $ipt $t $c)" = "$want" ] && break
				sleep 0.1
			done
			ts_expect '[ "$(chain_rules "$NS_A" $ipt $t $c)" = "$want" ]' \
				"$ipt $c refilled after one of its $want rules was deleted"
		done
	done
	# A rule put before our jumps: the daemon leaves it there (moving ours
	# first would skip the host's own rules of the table for AO peers) and
	# says so, once.
	for ipt in iptables ip6tables; do
		ts_in "$NS_A" $ipt -t raw -I PREROUTING 1 -p udp -j ACCEPT
	done
	for _ in $(seq 1 50); do
		[ "$(grep -c "a rule of the host comes before tcpao's jump" "$TS_TMP/tcpaod-$NS_A.log")" -ge 2 ] && break
		sleep 0.1
	done
	n=$(grep -c "a rule of the host comes before tcpao's jump in raw PREROUTING" "$TS_TMP/tcpaod-$NS_A.log")
	ts_expect '[ "$n" = 2 ]' "one warning per family that a rule precedes the jump ($n)"
	for ipt in iptables ip6tables; do
		ts_expect '[ "$(ts_in "$NS_A" $ipt -t raw -S PREROUTING | grep -m1 "^-A")" = "-A PREROUTING -p udp -j ACCEPT" ]' \
			"$ipt: the operator's rule stays first"
		ts_expect '[ "$(ts_in "$NS_A" $ipt -t raw -S PREROUTING | grep -c "^-A PREROUTING -j tcpao-in")" = 1 ]' \
			"$ipt: our jump stays, once"
	done
fi
if ts_verify_summary "$TS_TMP/ops.pcap" "id=3,$K,peer=198.18.0.0/24" "id=3,$K,peer=fd00::/64"; then
	ts_expect '[ "${TS_VERIFY[unsigned]}" = 0 ]' "no unsigned segment of the AO flows on the wire"
	ts_expect '[ "${TS_VERIFY[good]:-0}" -gt 1000 ]' "signed segments verified"
	for k in "${!TS_VERIFY[@]}"; do
		case $k in good | frames | ao-segments | flows | handshakes | verdict | non-tcp | non-ip-frames | plain | unsigned) continue ;; esac
		ts_expect '[ "${TS_VERIFY[$k]}" = 0 ]' "verify: $k"
	done
fi
ts_end
