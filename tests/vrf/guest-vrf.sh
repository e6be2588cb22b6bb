#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The VRF suite's job, run inside the guest "vrf" (tests/vm: Linux without
# TCP-AO, with VRFs) by tests/vrf/vrf.sh. Files come in /in (tcpaod, tcpao,
# their libraries, vrfpeer); captures go to /out.
#
#   netns pa 198.18.1.2 --veth-- va0 198.18.1.1 in vrf-a (table 10) --+
#            fd00:18:1::2              fd00:18:1::1                    guest: tcpaod
#   netns pb 198.18.1.2 --veth-- vb0 198.18.1.1 in vrf-b (table 20) --+
#            fd00:18:1::2              fd00:18:1::1
#
# The same addresses in both VRFs; the guest's tcpaod has one key per VRF
# (the same KeyID 1, different secrets, each bound with "vrf NAME"); pa's
# and pb's tcpaod have their VRF's key, unbound. Each line of the result
# is "ok: ..." or "FAIL: ..."; the status is 1 if any failed.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/in
export LD_LIBRARY_PATH=/in
export HOME=/root
FAILED=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }
check() { if eval "$1"; then ok "$2"; else fail "$2"; fi; }
# iproute2's (busybox's sh runs its own applet for a bare "ip")
ip() { /bin/ip "$@"; }
PIDS=

# --- the topology -----------------------------------------------------------
mkdir -p /run/netns /run/tcpao /var/run /tmp/st
# tcpaod takes secrets only from root-owned directories only root writes
mkdir -p -m 0755 /etc/tcpao
for v in a b; do
	t=$([ $v = a ] && echo 10 || echo 20)
	ip link add vrf-$v type vrf table $t
	ip link set vrf-$v up
	ip netns add p$v
	ip link add v${v}0 type veth peer name v${v}1
	ip link set v${v}1 netns p$v
	ip link set v${v}0 master vrf-$v
	ip addr add 198.18.1.1/24 dev v${v}0
	ip -6 addr add fd00:18:1::1/64 dev v${v}0 nodad
	ip link set v${v}0 up
	ip -n p$v link set lo up
	ip -n p$v addr add 198.18.1.2/24 dev v${v}1
	ip -n p$v -6 addr add fd00:18:1::2/64 dev v${v}1 nodad
	ip -n p$v link set v${v}1 up
done
ip -br addr show
ip route show vrf vrf-a
echo "vrf-a ifindex $(cat /sys/class/net/vrf-a/ifindex), vrf-b $(cat /sys/class/net/vrf-b/ifindex)"

# --- keys and daemons ---------------------------------------------------------
SA=vrf-a-secret-0123 SB=vrf-b-secret-4567
umask 077
printf '%s' "$SA" >/etc/tcpao/secret-a
printf '%s' "$SB" >/etc/tcpao/secret-b
both() {
	for p in 198.18.1.2 fd00:18:1::2; do
		cat <<-EOF
		peer $p {
			key id 1 alg hmac(sha1) secret "$SA" vrf vrf-a;
			key id 1 alg hmac(sha1) secret "$SB" vrf vrf-b;
		}
		EOF
	done
}
only_a() {
	for p in 198.18.1.2 fd00:18:1::2; do
		cat <<-EOF
		peer $p {
			key id 1 alg hmac(sha1) secret "$SA" vrf vrf-a;
		}
		EOF
	done
}
both >/etc/tcpao/guest.conf

# daemon NS|- ARGS...: starts tcpaod, waits (10 s at most) for its control
# socket; its pid in LAST.
daemon() {
	ns=$1
	shift
	if [ "$ns" = - ]; then
		tcpaod --state-dir /tmp/st/guest "$@" >>/tmp/tcpaod-guest.log 2>&1 &
	else
		ip netns exec "$ns" tcpaod --state-dir /tmp/st/$ns "$@" >>/tmp/tcpaod-$ns.log 2>&1 &
	fi
	LAST=$!
	PIDS="$PIDS $LAST"
	for _ in $(seq 100); do
		stat_of "$ns" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "tcpaod in $ns did not start"
	cat /tmp/tcpaod-*.log
	return 1
}
stat_of() { # NS|-: the counters
	if [ "$1" = - ]; then tcpao stat; else tcpao -n "$1" stat; fi
}
counter() { # NS|- NAME
	stat_of "$1" | awk -v n="$2" '$1 == n { print $2 }'
}
peer_keys() { # FILE: pa's / pb's keys for the guest's side (both families)
	echo "--key sndid=1,rcvid=1,alg=hmac(sha1),secret-file=$1,peer=198.18.1.1/32" \
		"--key sndid=1,rcvid=1,alg=hmac(sha1),secret-file=$1,peer=fd00:18:1::1/128"
}

# "vrf NAME" takes VRF devices only (Linux: ENODEV for another ifindex)
printf 'peer 198.18.1.2 { key id 1 alg hmac(sha1) secret x vrf va0; }\n' >/etc/tcpao/bad.conf
check 'tcpaod --check /etc/tcpao/bad.conf 2>&1 | grep "not a VRF device"' \
	"config: vrf va0 (a VRF's slave) refused"
check 'tcpaod --check /etc/tcpao/guest.conf' "config: one key per VRF with the same KeyID accepted"
daemon - --config /etc/tcpao/guest.conf || exit 1
daemon pa $(peer_keys /etc/tcpao/secret-a) || exit 1
daemon pb $(peer_keys /etc/tcpao/secret-b) || exit 1
GUEST_PID=$(echo $PIDS | cut -d' ' -f1)
PB_PID=$(echo $PIDS | cut -d' ' -f3)
echo "guest's rules:"
iptables-nft-save 2>/dev/null | grep -e NFQUEUE

capture() { # IFACE FILE: pcapdump in the background, ready when it says
	pcapdump "$1" "$2" >/tmp/cap-$1.out 2>&1 &
	CAP=$!
	for _ in $(seq 50); do
		grep -qs ready /tmp/cap-$1.out && return 0
		sleep 0.1
	done
	fail "pcapdump $1 did not start"
}

# --- 1. each VRF's connection, both ways, with its own key ---------------------
# connections PORT: a connection each way in each VRF and family, echoed
connections() {
	for v in a b; do
		vrfpeer serve $1 vrf-$v 2 >/tmp/serve-$v-$1.log 2>&1 &
		PIDS="$PIDS $!"
		ip netns exec p$v vrfpeer serve $(($1 + 1)) - 2 >/tmp/serve-p$v-$1.log 2>&1 &
		PIDS="$PIDS $!"
	done
	sleep 1
	for v in a b; do
		for a in 1 2; do
			g=198.18.1.1 p=198.18.1.2
			[ $a = 2 ] && g=fd00:18:1::1 p=fd00:18:1::2
			check "ip netns exec p$v vrfpeer connect $g $1 - 20" \
				"p$v -> guest $g in vrf-$v: echoed (the guest verified with vrf-$v's key)"
			check "vrfpeer connect $p $(($1 + 1)) vrf-$v 20" \
				"guest in vrf-$v -> p$v $p: echoed (the guest signed with vrf-$v's key)"
		done
	done
	sleep 1
}
# Each segment signed once and verified once: what the guest signed is
# what pa and pb verified, and the other way round; nothing bad anywhere.
once() {
	echo "guest: $(stat_of - | awk '$2 != 0 { printf "%s=%s ", $1, $2 }')"
	for ns in - pa pb; do
		eval "good_$ns=\$(counter $ns TCPAOGood) signed_$ns=\$(counter $ns TCPAOSigned)" 2>/dev/null
		bad=$(counter $ns TCPAOBad) nf=$(counter $ns TCPAOKeyNotFound)
		req=$(counter $ns TCPAORequired) eg=$(counter $ns TCPAOEgressDropped)
		check '[ "$bad$nf$req$eg" = 0000 ]' "$ns: nothing bad, no key missing, nothing unsigned ($bad $nf $req $eg)"
	done
	g=$(counter - TCPAOGood) s=$(counter - TCPAOSigned)
	pg=$(($(counter pa TCPAOGood) + $(counter pb TCPAOGood)))
	ps=$(($(counter pa TCPAOSigned) + $(counter pb TCPAOSigned)))
	check '[ "$s" -gt 32 ] && [ "$s" = "$pg" ]' "$1: the guest signed each segment once ($s signed, pa+pb verified $pg)"
	check '[ "$g" -gt 32 ] && [ "$g" = "$ps" ]' "$1: the guest verified each segment once ($g verified, pa+pb signed $ps)"
}
capture va0 /out/vrf-a.pcap
CAP_A=$CAP
capture vb0 /out/vrf-b.pcap
CAP_B=$CAP
connections 1790
kill $CAP_A $CAP_B
tcpao show
once "VRF addresses only"
# pa holds vrf-a's secret only, pb vrf-b's: each verified everything the
# guest sent it (above), so each VRF's segments were signed with that
# VRF's key. The captures say the same (vrf.sh: tcpao verify).

# The same address also local in the default VRF: now our rules without
# --limit-iface match too, on the VRF device's pass as well (egress: the
# VRF device's pass comes first; ingress: second, where a queued packet
# would be lost, so our rules skip it): still signed once, verified once.
ip addr add 198.18.1.1/32 dev lo
ip -6 addr add fd00:18:1::1/128 dev lo nodad
connections 1800
once "addresses also in the default VRF"
ip addr del 198.18.1.1/32 dev lo
ip -6 addr del fd00:18:1::1/128 dev lo

# --- 2. vrf-a's key never serves vrf-b ---------------------------------------------
# The guest keeps only vrf-a's key; pb now signs with vrf-a's secret (a
# valid MAC for that key): still refused in vrf-b, and nothing leaves the
# guest into vrf-b, signed or not.
only_a >/etc/tcpao/guest.conf
tcpao reload | tee /tmp/reload.out || fail "tcpao reload"
check 'grep -q "0 added, 0 changed, 2 dropped" /tmp/reload.out' "reload dropped vrf-b's keys, one per family (same KeyID as vrf-a's)"
kill "$PB_PID"
for _ in $(seq 150); do kill -0 "$PB_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PB_PID" 2>/dev/null && fail "pb's tcpaod did not stop in 15 s"
daemon pb $(peer_keys /etc/tcpao/secret-a) || exit 1
capture vb0 /out/vrf-b-refused.pcap
CAP_B=$CAP
nf0=$(counter - TCPAOKeyNotFound) eg0=$(counter - TCPAOEgressDropped)
pbgood0=$(counter pb TCPAOGood) pbreq0=$(counter pb TCPAORequired)
vrfpeer serve 1792 vrf-b 1 >/tmp/serve-b2.log 2>&1 &
PIDS="$PIDS $!"
ip netns exec pb vrfpeer serve 1793 - 1 >/tmp/serve-pb2.log 2>&1 &
PIDS="$PIDS $!"
vrfpeer serve 1794 vrf-a 1 >/tmp/serve-a2.log 2>&1 &
PIDS="$PIDS $!"
sleep 1
for g in 198.18.1.1 fd00:18:1::1; do
	check "! ip netns exec pb vrfpeer connect $g 1792 - 6" \
		"pb -> guest $g in vrf-b with vrf-a's key: refused"
done
for p in 198.18.1.2 fd00:18:1::2; do
	check "! vrfpeer connect $p 1793 vrf-b 6" \
		"guest in vrf-b -> pb $p with only vrf-a's key: refused"
done
check "ip netns exec pa vrfpeer connect fd00:18:1::1 1794 - 20" \
	"pa -> guest fd00:18:1::1 in vrf-a: still echoed"
sleep 1
kill $CAP_B
nf1=$(counter - TCPAOKeyNotFound) eg1=$(counter - TCPAOEgressDropped)
echo "guest: $(stat_of - | awk '$2 != 0 { printf "%s=%s ", $1, $2 }')"
echo "pb: $(stat_of pb | awk '$2 != 0 { printf "%s=%s ", $1, $2 }')"
check '[ "$nf1" -gt "$nf0" ]' "guest counted pb's segments as TCPAOKeyNotFound ($nf0 -> $nf1)"
check '[ "$eg1" -gt "$eg0" ]' "guest dropped its own SYNs into vrf-b, TCPAOEgressDropped ($eg0 -> $eg1)"
check '[ "$(counter pb TCPAOGood)" = "$pbgood0" ] && [ "$(counter pb TCPAORequired)" = "$pbreq0" ]' \
	"pb received nothing from the guest: no signed, no unsigned segment"
grep -h 'drop' /tmp/tcpaod-guest.log | tail -4

for p in $PIDS; do kill "$p" 2>/dev/null; done
sleep 1
[ $FAILED = 0 ] && echo "RESULT ok" || { echo "RESULT failed"; tail -20 /tmp/tcpaod-*.log; }
exit $FAILED
