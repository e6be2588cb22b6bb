#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# md5-bypass (issue 8, item 14): on a kernel with TCP-MD5 and without
# TCP-AO, a segment carrying a kind-29 option skips the MD5 check and is
# delivered. A TCP-MD5 session (198.18.0.13 -> .14, setsockopt TCP_MD5SIG
# on both ends, no tcpao key) and a TCP-AO session (A4 -> B4, signed by
# tcpaod) run side by side; after each chunk the sender writes, one forged
# in-window data segment with a fake AO option and no MD5 option is sent
# into each session, at layer 2 towards B:
#
#   running      both daemons running, rules in place
#   flushed      `nft flush ruleset` in B just before (the watcher restores)
#   stopped      B's daemon stopped (SIGTERM): rules and guard stay
#   stopped+nft  B's daemon stopped and the ruleset flushed: the guard alone
#   killed+nft   B's daemon killed (SIGKILL) and the ruleset flushed
#   restarted    B's daemon started again
#
# Into the AO session a second forgery carries the flow's real AO option
# and timestamps (a MAC of other bytes): the shape of the verified segments
# that B's daemon hands on with their option in place. None may reach the
# application: the receiver checks every byte of both streams. Then the
# control, which proves the forgery: after
# `tcpaod --remove-rules` in B (no rules, no guard), the same forgery into
# the MD5 session IS delivered (the kernel's bypass).
#
# MD5_FAMILY=6 (md5-bypass6.sh) runs it all over IPv6: fd00::13 -> fd00::14
# for TCP-MD5, A6 -> B6 for AO.
source "$TS_DIR/lib.sh"
FAM=${MD5_FAMILY:-4}
ts_init "md5-bypass${FAM#4}"
ts_require tcpdump nft
"$PY" -c 'import scapy' 2>/dev/null || ts_skip "python3-scapy not installed"
ts_pair
if [ "$FAM" = 6 ]; then
	# Deprecated: never the source the AO session's connect picks.
	ip -n "$NS_A" addr add fd00::13/64 dev eth0 nodad preferred_lft 0
	ip -n "$NS_B" addr add fd00::14/64 dev eth0 nodad preferred_lft 0
	M_A=fd00::13 M_B=fd00::14 AO_A=$A6 AO_B=$B6 HOST=128
else
	ip -n "$NS_A" addr add 198.18.0.13/24 dev eth0
	ip -n "$NS_B" addr add 198.18.0.14/24 dev eth0
	M_A=198.18.0.13 M_B=198.18.0.14 AO_A=$A4 AO_B=$B4 HOST=32
fi
PORT=9700
K="alg=hmac(sha1),secret=md5-bypass-test"
ts_daemon "$NS_A" --key "id=5,$K,peer=$AO_B/$HOST"
ts_daemon "$NS_B" --key "id=5,$K,peer=$AO_A/$HOST"
# TS_ALLOW_NO_GUARD=1 runs it against a daemon without the guard (c911aa2).
[ -n "${TS_ALLOW_NO_GUARD:-}" ] || grep -q "guard attached" "$TS_TMP"/tcpaod-*.log ||
	ts_skip "no netfilter BPF guard on this kernel"
BMAC=$(ts_mac "$NS_B")

ts_capture "$NS_B" "$TS_TMP/md5.pcap"
mkdir -p "$TS_TMP/out" "$TS_TMP/go"
ts_start ts_in "$NS_B" "$PY" "$SEC_DIR/md5peer.py" serve "$AO_B" "$M_B" "$M_A" $PORT "$TS_TMP/out"
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $PORT
ROUNDS=(running running flushed flushed stopped stopped+nft killed+nft restarted restarted)
NCHUNK=$((${#ROUNDS[@]} + 1))
ts_start ts_in "$NS_A" "$PY" "$SEC_DIR/md5peer.py" send "$AO_B" "$M_B" "$M_A" $PORT $NCHUNK "$TS_TMP/go" \
	>"$TS_TMP/sender.log"
cli=$TS_LAST_PID

wait_sent() {
	for _ in $(seq 600); do grep -qx "sent $1" "$TS_TMP/sender.log" && return 0; sleep 0.1; done
	ts_die "the sender did not send chunk $1"
}
# forge inside A's namespace (its eth0 faces B)
# (into the AO session also one shaped as the segments tcpaod hands on with
# their AO option in place: the flow's real option and timestamps)
forge_in_a() { FORGED_OUT=$(ts_in "$NS_A" "$PY" "$SEC_DIR/md5forge.py" "$TS_TMP/md5.pcap" eth0 "$BMAC" \
	"$AO_A,$AO_B,$PORT,shaped" "$M_A,$M_B,$PORT" </dev/null) && FORGED=$((FORGED + 3)); echo "  $FORGED_OUT"; }

# The pinned guard's drop counters in NS (the daemon may be gone): egress,
# ingress from a peer, ingress kind 29 from others.
guard_drops() {
	local cookie dir
	command -v bpftool >/dev/null || { echo "bpftool not installed"; return; }
	cookie=$(ts_in "$1" "$PY" -c 'import socket, struct
s = socket.socket(socket.AF_UNIX)
print(struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])')
	for dir in /run/tcpao/bpf/tcpao/netns-$cookie/g* /sys/fs/bpf/tcpao/netns-$cookie/g*; do
		[ -e "$dir/drops" ] || continue
		bpftool -j map dump pinned "$dir/drops" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
n = [sum(v["value"] for v in e["formatted"]["values"]) for e in d]
print("guard drops: egress=%d ingress-peer=%d ingress-ao=%d" % tuple(n))'
	done
}

FORGED=0
b_running=1
for k in "${!ROUNDS[@]}"; do
	r=${ROUNDS[$k]}
	wait_sent "$k"
	case $r in
	flushed) ts_in "$NS_B" nft flush ruleset ;;
	stopped) [ $b_running = 1 ] && ts_stop_daemon "$NS_B" TERM; b_running=0 ;;
	stopped+nft) ts_in "$NS_B" nft flush ruleset ;;
	killed+nft)
		ts_daemon "$NS_B" --key "id=5,$K,peer=$AO_A/$HOST"
		ts_stop_daemon "$NS_B" KILL
		ts_in "$NS_B" nft flush ruleset ;;
	restarted) [ $b_running = 0 ] && echo "  before the restart, $(guard_drops "$NS_B")"
		[ $b_running = 0 ] && ts_daemon "$NS_B" --key "id=5,$K,peer=$AO_A/$HOST"; b_running=1 ;;
	esac
	sleep 1.2 # the capture holds chunk k (libpcap hands blocks over after 1 s)
	ts_log "round $k ($r): forging into both sessions"
	forge_in_a
	sleep 0.3
	# While B's first daemon runs, its verified segments reach the kernel
	# with their AO option (TCPAOInOptionKept: once B's accepted socket
	# has sent); the shaped forgeries are not among them.
	if [ "$k" = 3 ]; then
		kept=$(ts_stat "$NS_B" TCPAOInOptionKept) bad=$(ts_stat "$NS_B" TCPAOBad)
		echo "  B after the running and flushed rounds: TCPAOInOptionKept=$kept TCPAOBad=$bad"
		ts_expect '[ "${kept:-0}" -gt 0 ]' "B hands verified segments on with their AO option"
		ts_expect '[ "${bad:-0}" -ge 2 ]' "B drops the shaped forgeries as TCPAOBad"
	fi
	touch "$TS_TMP/go/go.$k"
done
wait_sent $((NCHUNK - 1))
touch "$TS_TMP/go/go.$((NCHUNK - 1))"
wait $cli || ts_fail "the sender failed"
wait $srv || ts_fail "the receiver got something it should not have"
for s in ao md5; do
	n=$(grep -o FORGED "$TS_TMP/out/$s.bin" | wc -l)
	ts_expect '[ "$n" = 0 ]' "forged bytes delivered into the $s session"
done
echo "  B: $(ts_stats "$NS_B")"
ts_log "forged segments injected: $FORGED, delivered: $(cat "$TS_TMP"/out/*.bin | grep -o FORGED | wc -l)"

# The control: nothing left to protect the MD5 session; the forgery lands.
ts_log "control: tcpaod --remove-rules in B, then the same forgery into the MD5 session"
ts_stop_daemon "$NS_B" TERM
ts_in "$NS_B" "$TCPAOD" --remove-rules
ts_start ts_in "$NS_B" "$PY" -c '
import socket, struct, sys, time
sys.path.insert(0, sys.argv[1])
import md5peer
s = socket.socket(md5peer.family(sys.argv[2])); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
md5peer.md5sig(s, sys.argv[3]); s.bind((sys.argv[2], int(sys.argv[4]))); s.listen(1)
c, _ = s.accept(); c.settimeout(20); d = b""
try:
    while True:
        b = c.recv(4096)
        if not b: break
        d += b
except socket.timeout:
    pass
print("control: %d forged bytes delivered" % (6 * d.count(b"FORGED")))
' "$SEC_DIR" "$M_B" "$M_A" $((PORT + 1)) >"$TS_TMP/control.log"
ctl_srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $((PORT + 1))
ts_start ts_in "$NS_A" "$PY" -c '
import socket, sys, time
sys.path.insert(0, sys.argv[1])
import md5peer
m = socket.socket(md5peer.family(sys.argv[2])); md5peer.md5sig(m, sys.argv[2]); m.bind((sys.argv[3], 0))
m.connect((sys.argv[2], int(sys.argv[4]))); m.sendall(b"x" * 64); time.sleep(25)
' "$SEC_DIR" "$M_B" "$M_A" $((PORT + 1))
sleep 1
ts_in "$NS_A" "$PY" "$SEC_DIR/md5forge.py" "$TS_TMP/md5.pcap" eth0 "$BMAC" "$M_A,$M_B,$((PORT + 1))" </dev/null
wait $ctl_srv
cat "$TS_TMP/control.log"
grep -q "control: [1-9]" "$TS_TMP/control.log" ||
	ts_log "control: the kernel did not take the forgery (a kernel without the bypass?)"
grep -q "control: [1-9]" "$TS_TMP/control.log" &&
	ts_log "control: the kernel took the forgery without tcpao: the bypass is real here"
ts_capture_stop
ts_end
