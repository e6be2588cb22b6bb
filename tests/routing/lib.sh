# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the routing tests, on top of tests/system/lib.sh: a BGP session
# between A and B whose daemon has no TCP-AO code, protected by host policy
# (tcpaod with a config file per side), and a key rollover with `tcpao key`
# on both sides while the session stays up. Source it, then call ts_init.
source "${TS_DIR:?}/lib.sh"

# rt_start NAME: keys 1 and 2 (K1, K2; secrets NAME-key-one, NAME-key-two
# in $TS_TMP/k1 and k2), a tcpaod in A and in B with key 1 for the other
# side, and a capture on A's side into $TS_TMP/NAME.pcap.
rt_start() {
	local name=$1 side peer
	K1="sndid=1,rcvid=1,alg=hmac(sha1)" K2="sndid=2,rcvid=2,alg=cmac(aes128)"
	printf '%s-key-one' "$name" >"$TS_TMP/k1" && printf '%s-key-two' "$name" >"$TS_TMP/k2"
	chmod 600 "$TS_TMP/k1" "$TS_TMP/k2"
	for side in a b; do
		peer=$B4; [ $side = b ] && peer=$A4
		cat >"$TS_TMP/$side.conf" <<-CONF
		peer $peer {
		    key id 1 alg hmac(sha1) secret-file $TS_TMP/k1;
		}
		CONF
		chmod 600 "$TS_TMP/$side.conf"
	done
	ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
	ts_daemon "$NS_B" --config "$TS_TMP/b.conf"
	ts_capture "$NS_A" "$TS_TMP/$name.pcap"
}

# rt_flow NS: the session's connection, local and remote address:port
# (ctl.py show).
rt_flow() { ts_in "$1" "$PY" "$TS_DIR/ctl.py" show | grep 'state=ESTAB' | grep -o 'local=[^ ]* remote=[^ ]*' | head -1; }
rt_current_is() { ts_in "$1" "$PY" "$TS_DIR/ctl.py" show | grep 'state=ESTAB' | grep -q "current=$2 "; }

# rt_rollover ESTABLISHED: key 2 on both sides, ask for it, move to it,
# drop key 1; then ESTABLISHED (a condition for ts_expect) still holds, on
# the same connection as before.
rt_rollover() {
	local ns peer flow_before flow_after
	flow_before=$(rt_flow "$NS_A")
	ts_in "$NS_A" "$TCPAO_CLI" show

	ts_log "key rollover to key 2"
	for ns in "$NS_A" "$NS_B"; do
		peer=$B4; [ "$ns" = "$NS_B" ] && peer=$A4
		ts_in "$ns" "$TCPAO_CLI" key add "$K2,secret-file=$TS_TMP/k2,peer=$peer/32" || ts_fail "key add in $ns"
	done
	for ns in "$NS_A" "$NS_B"; do
		peer=$B4; [ "$ns" = "$NS_B" ] && peer=$A4
		ts_in "$ns" "$TCPAO_CLI" key set "peer=$peer/32" --rnext 2 || ts_fail "key set --rnext in $ns"
	done
	for _ in $(seq 40); do
		rt_current_is "$NS_A" 2 && rt_current_is "$NS_B" 2 && break
		sleep 0.25
	done
	ts_expect 'rt_current_is "$NS_A" 2' "A signs with key 2"
	ts_expect 'rt_current_is "$NS_B" 2' "B signs with key 2"
	for ns in "$NS_A" "$NS_B"; do
		peer=$B4; [ "$ns" = "$NS_B" ] && peer=$A4
		ts_in "$ns" "$TCPAO_CLI" key del "sndid=1,rcvid=1,peer=$peer/32" || ts_fail "key del in $ns"
	done
	sleep 4 # several keepalives with key 2 only
	ts_in "$NS_A" "$TCPAO_CLI" show
	ts_expect "$1" "still Established after the rollover"
	flow_after=$(rt_flow "$NS_A")
	ts_expect '[ -n "$flow_before" ] && [ "$flow_before" = "$flow_after" ]' \
		"the same connection before and after the rollover ($flow_before / $flow_after)"
}

# rt_finish NAME: stops the capture of rt_start; no error counted by either
# tcpaod, no segment without AO on the wire, and every segment verifies
# with keys 1 and 2.
rt_finish() {
	local name=$1 ns plain
	ts_capture_stop
	for ns in "$NS_A" "$NS_B"; do
		echo "$ns: $(ts_stats "$ns")"
		ts_expect_zero "$ns" TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOEgressDropped
	done
	plain=$(tcpdump -nr "$TS_TMP/$name.pcap" 2>/dev/null | grep -vc tcp-ao)
	ts_expect '[ "$plain" = 0 ]' "no segment without AO on the wire"
	ts_verify_capture "$TS_TMP/$name.pcap" "$K1,secret=$name-key-one,peer=198.18.0.0/24" \
		"$K2,secret=$name-key-two,peer=198.18.0.0/24"
}
