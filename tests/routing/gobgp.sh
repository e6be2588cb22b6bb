#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gobgp: Debian's gobgpd, which has no TCP-AO code (and, being Go, cannot
# use the preload), protected by host policy: a BGP session between two
# namespaces, Established, routes exchanged both ways, a key rollover with
# `tcpao key` on both sides while the session stays up (same connection),
# and every segment of the capture verified by `tcpao verify`.
source "$(dirname "$0")/lib.sh"
ts_init gobgp
ts_require gobgpd gobgp tcpdump
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_pair
rt_start gobgp
for side in a b; do
	if [ $side = a ]; then me=$A4 peer=$B4 as=65001 pas=65002; else me=$B4 peer=$A4 as=65002 pas=65001; fi
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

rt_rollover 'established "$NS_A" $B4'
ts_expect 'gb "$NS_A" neighbor | grep -q "Establ"' "neighbor list: Established"
rt_finish gobgp
ts_end
