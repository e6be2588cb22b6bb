#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# kernel-kind29: what tcpaod's ingress relies on in this kernel's TCP
# (with TCP-MD5, without TCP-AO), with no daemon: a verified segment may
# keep its AO option on a full socket (the kernel skips kind 29 there),
# but not on a request socket (tcp_inbound_hash() drops it, TCPAOBad), so
# handshakes are stripped (daemon/ingress.c, for_full_socket). Handshakes
# made by hand from A (its kernel's RSTs dropped), to a listener in B.
source "$TS_DIR/lib.sh"
ts_init kernel-kind29
"$PY" -c 'import scapy' 2>/dev/null || ts_skip "python3-scapy not installed"
ts_pair
ts_in "$NS_A" iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP
PORT=9800
ts_start ts_in "$NS_B" "$PY" "$SEC_DIR/kind29probe.py" serve "$B4" $PORT 15 >"$TS_TMP/accepted"
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" $PORT
sport=41000
for c in req-ao-ack req-ao-data est-plain est-ao-data; do
	sport=$((sport + 1))
	ts_in "$NS_A" "$PY" "$SEC_DIR/kind29probe.py" send "$A4" "$B4" $PORT $sport $c ||
		ts_fail "$c: no handshake"
	eval "SPORT_${c//-/_}=$sport"
	echo "  $c: $(ts_in "$NS_B" ss -Htn state all "( sport = :$PORT and dport = :$sport )" | awk '{ print $1 }')"
done
wait $srv
cat "$TS_TMP/accepted"
got() { awk -v p="$1" '$1 == p { print $2 }' "$TS_TMP/accepted"; }
ts_expect '[ "$(got $SPORT_est_plain)" = est-plain ]' "control: a plain handshake and data"
# What the kept segments need: a full socket takes kind 29 as data.
ts_expect '[ "$(got $SPORT_est_ao_data)" = est-ao-data ]' "a full socket delivers a segment with an AO option"
# Why handshakes are stripped: a request socket drops kind 29.
for c in req_ao_ack req_ao_data; do
	eval "p=\$SPORT_$c"
	ts_expect '[ -z "$(got $p)" ]' "a request socket drops a segment with an AO option ($c)"
done
echo "  B: $(ts_in "$NS_B" nstat -az TcpExtTCPAOBad | awk '/TCPAOBad/ { print $1 "=" $2 }')"
ts_end
