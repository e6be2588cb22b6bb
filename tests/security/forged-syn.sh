#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# forged-syn (issue 8, item 12): a remote attacker who sees the wire knows
# a connection's 4-tuple and KeyID. A SYN built from them with a wrong MAC
# is sent to B against a flow in SYN-RECV (the client's ACK held back),
# ESTABLISHED (a transfer paused) and TIME-WAIT. It must be dropped and
# counted (TCPAOBad) without touching the flow: the handshake completes,
# the transfer ends intact, the TIME-WAIT flow stays. (c911aa2 removed
# the flow before checking the MAC: the held-back handshake then died.)
source "$TS_DIR/lib.sh"
ts_init forged-syn
ts_pair
K="alg=hmac(sha1),secret=forged-syn-test"
ts_daemon "$NS_A" --key "id=5,$K,peer=$B4/32"
ts_daemon "$NS_B" --key "id=5,$K,peer=$A4/32"
BMAC=$(ts_mac "$NS_B")

client_port() { # PORT: the local port of A's connection to B:PORT
	ts_in "$NS_A" ss -Htan "dport = :$1" | awk '{ split($4, a, ":"); print a[2]; exit }'
}

flow_state() { # CPORT PORT: the state of B's flow with A:CPORT
	ts_in "$NS_B" "$PY" "$TS_DIR/ctl.py" show |
		grep -E "local=[^ ]*:$2 remote=[^ ]*:$1( |$)" |
		grep -o 'state=[^ ]*' | head -1
}

forge() { # CPORT PORT
	ts_in "$NS_A" "$PY" "$SEC_DIR/forge.py" syn eth0 "$BMAC" "$A4" "$1" "$B4" "$2" 5 |
		sed 's/^/  /'
}

bad_before() { BAD0=$(ts_stat "$NS_B" TCPAOBad); }
forge_and_look() { # CPORT PORT PAUSE: the forgery; B's flow PAUSE s after it in $st
	bad_before
	forge "$1" "$2"
	sleep "$3"
	st=$(flow_state "$1" "$2")
	echo "  after the forgery: ${st:-no flow}"
}
bad_grew() { # WHAT
	local d=$(( $(ts_stat "$NS_B" TCPAOBad) - BAD0 ))
	ts_expect '[ "$d" = 1 ]' "$1: TCPAOBad grew by $d, expected 1"
}

ts_log "SYN-RECV: the client's handshake ACK held back at B"
port=9401
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$B4" $port --bytes 100000 --timeout 40
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $port
ts_in "$NS_B" iptables -t raw -I PREROUTING 1 -p tcp --dport $port ! --syn -j DROP
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" $port --bytes 100000 --timeout 40
cli=$TS_LAST_PID
sleep 1
cport=$(client_port $port)
st=$(flow_state "$cport" $port)
echo "  B's flow with port $cport: $st"
ts_expect '[ "$st" = state=SYN-RECV ]' "SYN-RECV: B's flow is $st before the forgery"
forge_and_look "$cport" $port 0.5
ts_expect '[ "$st" = state=SYN-RECV ]' "SYN-RECV: the forged SYN changed B's flow (${st:-gone})"
bad_grew SYN-RECV
ts_in "$NS_B" iptables -t raw -D PREROUTING -p tcp --dport $port ! --syn -j DROP
wait $cli || ts_fail "SYN-RECV: sender: the transfer did not complete"
wait $srv || ts_fail "SYN-RECV: receiver: the transfer did not complete"

ts_log "ESTABLISHED: a transfer paused half way"
port=9402
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$B4" $port --bytes 200000 --timeout 30
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $port
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" $port --bytes 200000 \
	--pause-at 100000 --pause 8 --timeout 30
cli=$TS_LAST_PID
sleep 1.2
cport=$(client_port $port)
forge_and_look "$cport" $port 0.3
ts_expect '[ "$st" = state=ESTAB ]' "ESTABLISHED: B's flow is ${st:-gone}"
bad_grew ESTABLISHED
wait $cli || ts_fail "ESTABLISHED: sender: the transfer did not complete"
wait $srv || ts_fail "ESTABLISHED: receiver: the transfer did not complete"

ts_log "TIME-WAIT: a finished connection"
port=9403
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$B4" $port --bytes 20000 --timeout 20
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $port
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$B4" $port --bytes 20000 --timeout 20 ||
	ts_fail "TIME-WAIT: sender"
wait $srv || ts_fail "TIME-WAIT: receiver"
sleep 0.5
cport=$(ts_in "$NS_B" "$PY" "$TS_DIR/ctl.py" show | grep -o "local=[^ ]*:$port remote=[^ ]*" |
	head -1 | sed 's/.*://')
st=$(flow_state "$cport" $port)
echo "  B's flow with port $cport: $st"
ts_expect '[ "$st" = state=TIME-WAIT ]' "TIME-WAIT: B's flow is $st before the forgery"
forge_and_look "$cport" $port 0.3
ts_expect '[ "$st" = state=TIME-WAIT ]' "TIME-WAIT: the forged SYN removed B's flow (${st:-gone})"
bad_grew TIME-WAIT
echo "  $NS_B: $(ts_stats "$NS_B")"
ts_end
