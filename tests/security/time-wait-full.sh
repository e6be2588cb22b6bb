#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# time-wait-full: a busy server's flow table fills with TIME-WAIT flows
# (each kept 120 s). A verified SYN must still get a slot: it evicts the
# oldest TIME-WAIT flow (daemon/admit.c), as Linux keeps fewer TIME-WAIT
# sockets rather than refuse connections. Both daemons hold 16 flows; 40
# connections one after the other all connect, the server counts no
# TCPAOFlowTableFull. (Before the fix only the client side, root's active
# opens, could evict TIME-WAIT: the server refused the 17th connection and
# every one after it for 2 minutes.)
source "$TS_DIR/lib.sh"
ts_init time-wait-full
ts_pair
K="alg=hmac(sha1),secret=time-wait-full-test"
ts_daemon "$NS_A" --key "id=7,$K,peer=$B4/32" --max-flows 16
ts_daemon "$NS_B" --key "id=7,$K,peer=$A4/32" --max-flows 16
port=9611
ts_start ts_in "$NS_B" "$PY" "$SEC_DIR/conns.py" serve "$B4" $port 20
ts_wait_listen "$NS_B" $port

ts_log "40 connections one after the other to $B4 (16 flows per daemon)"
out=$(ts_in "$NS_A" "$PY" "$SEC_DIR/conns.py" seq "$B4" $port 40 3)
echo "  $out"
echo "  $NS_A: $(ts_stats "$NS_A")"
echo "  $NS_B: $(ts_stats "$NS_B")"
ts_expect '[ "$out" = connected=40 ]' "$out, expected connected=40"
full=$(ts_stat "$NS_B" TCPAOFlowTableFull)
ts_expect '[ "${full:-0}" = 0 ]' "the server refused ${full} SYNs (TCPAOFlowTableFull)"
ev=$(ts_stat "$NS_B" TCPAOFlowsEvicted)
ts_expect '[ "${ev:-0}" -ge 20 ]' "the server evicted ${ev:-no} flows, expected 20 or more (TIME-WAIT)"
ts_end
