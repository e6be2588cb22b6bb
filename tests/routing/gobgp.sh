#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gobgp: Debian's gobgpd, which has no TCP-AO code (and, being Go, cannot
# use the preload), protected by host policy: a BGP session between two
# namespaces, Established, routes exchanged both ways, a key rollover with
# `tcpao key` on both sides while the session stays up (same connection),
# and every segment of the capture verified by `tcpao verify`.
source "${TS_DIR:?}/lib.sh"
ts_init gobgp
ts_require gobgpd gobgp tcpdump
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_pair
K1="sndid=1,rcvid=1,alg=hmac(sha1)" K2="sndid=2,rcvid=2,alg=cmac(aes128)"
printf 'gobgp-key-one' >"$TS_TMP/k1" && printf 'gobgp-key-two' >"$TS_TMP/k2"
chmod 600 "$TS_TMP/k1" "$TS_TMP/k2"
for side in a b; do
	if [ $side = a ]; then me=$A4 peer=$B4 as=65001 pas=65002; else me=$B4 peer=$A4 as=65002 pas=65001; fi
	cat >"$TS_TMP/$side.conf" <<-CONF
	peer $peer {
	    key id 1 alg hmac(sha1) secret-file $TS_TMP/k1;
	}
	CONF
	chmod 600 "$TS_TMP/$side.conf"
	cat >"$TS_TMP/gobgp-$side.toml" <<-CONF
	[global.config]
	  as = $as
	  router-id = "$me"
	  local-address-list = ["$me"]
	[[neighbors]]
	  [neighbors.config]
	    neighbor-address = "$peer"
	    peer-as = $pas
	  [neighbors.timers.config]
	    hold-time = 9
	    keepalive-interval = 1
	    connect-retry = 1
	CONF
done
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
ts_daemon "$NS_B" --config "$TS_TMP/b.conf"
ts_capture "$NS_A" "$TS_TMP/gobgp.pcap"
for ns in "$NS_A" "$NS_B"; do
	side=a; [ "$ns" = "$NS_B" ] && side=b
	ts_start ip netns exec "$ns" gobgpd -f "$TS_TMP/gobgp-$side.toml" -t toml --pprof-disable \
		-l warn >"$TS_TMP/gobgpd-$side.log" 2>&1
done
gb() { local ns=$1; shift; ts_in "$ns" gobgp "$@"; }
established() { gb "$1" neighbor "$2" 2>/dev/null | grep -qi 'BGP state = established'; }
for _ in $(seq 120); do
	established "$NS_A" $B4 && established "$NS_B" $A4 && break
	sleep 0.5
done
established "$NS_A" $B4 || { gb "$NS_A" neighbor; ts_die "session not Established"; }
ts_log "Established"
gb "$NS_A" global rib add 10.1.0.0/24 || ts_fail "rib add A"
gb "$NS_B" global rib add 10.2.0.0/24 || ts_fail "rib add B"
for _ in $(seq 40); do
	gb "$NS_B" global rib 2>/dev/null | grep -q 10.1.0.0/24 &&
		gb "$NS_A" global rib 2>/dev/null | grep -q 10.2.0.0/24 && break
	sleep 0.25
done
ts_expect 'gb "$NS_B" global rib | grep -q 10.1.0.0/24' "B learned A's route"
ts_expect 'gb "$NS_A" global rib | grep -q 10.2.0.0/24' "A learned B's route"
# The session's connection: local and remote address:port (ctl.py show).
bgp_flow() { ts_in "$1" "$PY" "$TS_DIR/ctl.py" show | grep 'state=ESTAB' | grep -o 'local=[^ ]* remote=[^ ]*' | head -1; }
current_is() { ts_in "$1" "$PY" "$TS_DIR/ctl.py" show | grep 'state=ESTAB' | grep -q "current=$2 "; }
flow_before=$(bgp_flow "$NS_A")
ts_in "$NS_A" "$TCPAO_CLI" show

# Rollover: key 2 on both sides, ask for it, move to it, drop key 1.
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
	current_is "$NS_A" 2 && current_is "$NS_B" 2 && break
	sleep 0.25
done
ts_expect 'current_is "$NS_A" 2' "A signs with key 2"
ts_expect 'current_is "$NS_B" 2' "B signs with key 2"
for ns in "$NS_A" "$NS_B"; do
	peer=$B4; [ "$ns" = "$NS_B" ] && peer=$A4
	ts_in "$ns" "$TCPAO_CLI" key del "sndid=1,rcvid=1,peer=$peer/32" || ts_fail "key del in $ns"
done
sleep 4 # several keepalives with key 2 only
ts_in "$NS_A" "$TCPAO_CLI" show
ts_expect 'established "$NS_A" $B4' "still Established after the rollover"
flow_after=$(bgp_flow "$NS_A")
ts_expect '[ -n "$flow_before" ] && [ "$flow_before" = "$flow_after" ]' \
	"the same connection before and after the rollover ($flow_before / $flow_after)"
ts_expect 'gb "$NS_A" neighbor | grep -q "Establ"' "neighbor list: Established"
ts_capture_stop
for ns in "$NS_A" "$NS_B"; do
	echo "$ns: $(ts_stats "$ns")"
	for c in TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOEgressDropped; do
		v=$(ts_stat "$ns" $c)
		ts_expect '[ "$v" = 0 ]' "$ns $c"
	done
done
plain=$(tcpdump -nr "$TS_TMP/gobgp.pcap" 2>/dev/null | grep -vc tcp-ao)
ts_expect '[ "$plain" = 0 ]' "no segment without AO on the wire"
ts_verify_capture "$TS_TMP/gobgp.pcap" "$K1,secret=gobgp-key-one,peer=198.18.0.0/24" \
	"$K2,secret=gobgp-key-two,peer=198.18.0.0/24"
ts_end
