#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# busy-poll: tcpaod --busy-poll (A fixed, B adaptive). Request/response
# exchanges and echo transfers over IPv4 and IPv6 are signed and verified
# as without it (every byte checked, counters, the capture verified by
# `tcpao verify`). The workers do busy poll: during exchanges a daemon
# sleeps (voluntary context switches) about once per packet without the
# option and far less with it. And the spin is bounded: once the packets
# stop, the daemons sleep again and use next to no CPU.
source "$(dirname "$0")/lib.sh"
ts_init busy-poll
ts_require tcpdump
ts_pair

ALG="hmac(sha1)"
KEY="sndid=7,rcvid=9,alg=$ALG,secret=busy-poll-test"
RKEY="sndid=9,rcvid=7,alg=$ALG,secret=busy-poll-test"
WINDOW_US=2000
EXCHANGES=2000

start_daemons() { # A's options, B's options (words)
	# shellcheck disable=SC2086
	ts_daemon "$NS_A" $1 --key "$KEY,peer=$B4/32" --key "$KEY,peer=$B6/128"
	# shellcheck disable=SC2086
	ts_daemon "$NS_B" $2 --key "$RKEY,peer=$A4/32" --key "$RKEY,peer=$A6/128"
}

stop_daemons() {
	ts_stop_daemon "$NS_A"
	ts_stop_daemon "$NS_B"
}

# sleeps NS: times the daemon's threads went to sleep so far.
sleeps() {
	cat /proc/"${DAEMON_PID[$1]}"/task/*/status |
		awk '$1 == "voluntary_ctxt_switches:" { n += $2 } END { print n + 0 }'
}

# packets NS: segments the daemon signed or verified so far.
packets() {
	echo $(($(ts_stat "$1" TCPAOSigned) + $(ts_stat "$1" TCPAOGood)))
}

# cpu_ms NS: the daemon's CPU time so far (all threads), in ms.
cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' \
		/proc/"${DAEMON_PID[$1]}"/stat
}

# exchanges PORT DST: EXCHANGES request/response exchanges from A to B;
# sets SLEEPS_PER_100[ns]: sleeps per 100 packets handled, each daemon.
declare -A SLEEPS_PER_100
exchanges() {
	local port=$1 dst=$2 ns srv out s0=() p0=() i
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/pingpong.py" serve "$dst" "$port"
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" "$port"
	i=0
	for ns in "$NS_A" "$NS_B"; do
		s0[i]=$(sleeps "$ns") p0[i]=$(packets "$ns")
		i=$((i + 1))
	done
	out=$(ts_in "$NS_A" "$PY" "$TS_DIR/pingpong.py" send "$dst" "$port" --count $EXCHANGES) ||
		ts_fail "exchanges to $dst: $out"
	wait "$srv" || ts_fail "exchange server on $dst"
	i=0
	for ns in "$NS_A" "$NS_B"; do
		local ds=$(($(sleeps "$ns") - s0[i])) dp=$(($(packets "$ns") - p0[i]))
		ts_expect '[ "$dp" -ge $((2 * EXCHANGES)) ]' "$ns handled the exchanges' packets ($dp)"
		SLEEPS_PER_100[$ns]=$((ds * 100 / (dp > 0 ? dp : 1)))
		ts_log "$ns: $dp packets, $ds sleeps; $out"
		i=$((i + 1))
	done
}

ts_log "options"
"$TCPAOD" --help | grep -q -- "--busy-poll USEC" || ts_fail "--help does not name --busy-poll"
for bad in "--busy-poll-adaptive" "--busy-poll 100001" "--busy-poll -1" "--busy-poll x"; do
	# shellcheck disable=SC2086
	out=$("$TCPAOD" $bad 2>&1)
	rc=$?
	ts_expect '[ "$rc" = 2 ]' "tcpaod $bad refused (exit $rc: $out)"
done

ts_log "without --busy-poll"
start_daemons "" ""
exchanges 6001 "$B4"
for ns in "$NS_A" "$NS_B"; do
	ts_expect '[ "${SLEEPS_PER_100[$ns]}" -ge 40 ]' \
		"$ns without busy polling sleeps about once a packet (${SLEEPS_PER_100[$ns]}/100)"
done
stop_daemons

ts_log "--busy-poll $WINDOW_US (A), --busy-poll $WINDOW_US --busy-poll-adaptive (B)"
start_daemons "--busy-poll $WINDOW_US" "--busy-poll $WINDOW_US --busy-poll-adaptive"
grep -q "busy polling: up to $WINDOW_US us" "$TS_TMP/tcpaod-$NS_A.log" ||
	ts_fail "A does not log its busy polling"
grep -q "busy polling: up to $WINDOW_US us after packets, adaptive" "$TS_TMP/tcpaod-$NS_B.log" ||
	ts_fail "B does not log its adaptive busy polling"
ts_capture "$NS_A" "$TS_TMP/busy.pcap"
exchanges 6002 "$B4"
for ns in "$NS_A" "$NS_B"; do
	ts_expect '[ "${SLEEPS_PER_100[$ns]}" -le 20 ]' \
		"$ns with busy polling sleeps rarely during exchanges (${SLEEPS_PER_100[$ns]}/100)"
done
exchanges 6003 "$B6"
ts_echo_transfer "$B4" 6011 1000000
ts_echo_transfer "$B6" 6012 1000000
ts_capture_stop

for ns in "$NS_A" "$NS_B"; do
	echo "$ns: $(ts_stats "$ns")"
	ts_expect_zero "$ns" TCPAOBad TCPAOKeyNotFound TCPAORequired \
		TCPAOMalformedDropped TCPAONoFlowDropped TCPAOEgressDropped
done
ts_expect '[ "$(ts_stat "$NS_A" TCPAOSigned)" = "$(ts_stat "$NS_B" TCPAOGood)" ]' "A signed = B good"
ts_expect '[ "$(ts_stat "$NS_B" TCPAOSigned)" = "$(ts_stat "$NS_A" TCPAOGood)" ]' "B signed = A good"
plain=$(tcpdump -nr "$TS_TMP/busy.pcap" 2>/dev/null | grep -vc tcp-ao)
ts_expect '[ "$plain" = 0 ]' "no segment without AO on the wire"
ts_verify_capture "$TS_TMP/busy.pcap" "$KEY,peer=198.18.0.0/24" "$RKEY,peer=198.18.0.0/24" \
	"$KEY,peer=fd00::/64" "$RKEY,peer=fd00::/64"

# Idle: a spin that never ended would take a CPU (or, yielding, all the
# CPU nobody else wants): seconds over these 3 s. Bounded, it is the GC's
# and the control calls' few milliseconds.
IDLE_S=3
sleep 0.2
c0=("$(cpu_ms "$NS_A")" "$(cpu_ms "$NS_B")")
sleep $IDLE_S
i=0
for ns in "$NS_A" "$NS_B"; do
	used=$(($(cpu_ms "$ns") - c0[i]))
	ts_log "$ns: ${used} ms of CPU in $IDLE_S idle seconds"
	ts_expect '[ "$used" -le 150 ]' "$ns idle with --busy-poll: at most 150 ms of CPU in $IDLE_S s ($used)"
	i=$((i + 1))
done
ts_end
