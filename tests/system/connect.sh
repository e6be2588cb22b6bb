#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# connect ALG: an echo transfer over IPv4 and over IPv6 between two
# namespaces, each with its tcpaod. Every byte checked, counters on both
# sides (good > 0, nothing bad), the capture verified by `tcpao verify`.
source "$(dirname "$0")/lib.sh"
ALG=${1:-hmac(sha1)}
ts_init "connect-${ALG//[^a-z0-9]/}"
ts_require tcpdump
ts_pair

KEY="sndid=7,rcvid=9,alg=$ALG,secret=connect-test-$ALG"
RKEY="sndid=9,rcvid=7,alg=$ALG,secret=connect-test-$ALG"
ts_daemon "$NS_A" --key "$KEY,peer=$B4/32" --key "$KEY,peer=$B6/128"
ts_daemon "$NS_B" --key "$RKEY,peer=$A4/32" --key "$RKEY,peer=$A6/128"
ts_capture "$NS_A" "$TS_TMP/connect.pcap"

ts_echo_transfer "$B4" 6001 1000000
ts_echo_transfer "$B6" 6002 1000000
ts_capture_stop

for ns in "$NS_A" "$NS_B"; do
	echo "$ns: $(ts_stats "$ns")"
	good=$(ts_stat "$ns" TCPAOGood) signed=$(ts_stat "$ns" TCPAOSigned)
	ts_expect '[ "$good" -gt 100 ]' "$ns TCPAOGood"
	ts_expect '[ "$signed" -gt 100 ]' "$ns TCPAOSigned"
	for c in TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOMalformedDropped \
		TCPAONoFlowDropped TCPAOEgressDropped; do
		v=$(ts_stat "$ns" $c)
		ts_expect '[ "$v" = 0 ]' "$ns $c"
	done
done
# What A signed, B verified, and the other way round.
ts_expect '[ "$(ts_stat "$NS_A" TCPAOSigned)" = "$(ts_stat "$NS_B" TCPAOGood)" ]' "A signed = B good"
ts_expect '[ "$(ts_stat "$NS_B" TCPAOSigned)" = "$(ts_stat "$NS_A" TCPAOGood)" ]' "B signed = A good"
# Two flows each side, keys as configured.
flows=$(ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" show | grep -c 'current=7 rnext=9')
ts_expect '[ "$flows" = 2 ]' "A shows 2 flows with current=7 rnext=9"
# Every segment on the wire carries AO and verifies.
plain=$(tcpdump -nr "$TS_TMP/connect.pcap" 2>/dev/null | grep -vc tcp-ao)
ts_expect '[ "$plain" = 0 ]' "no segment without AO on the wire"
ts_verify_capture "$TS_TMP/connect.pcap" "$KEY,peer=198.18.0.0/24" "$RKEY,peer=198.18.0.0/24" \
	"$KEY,peer=fd00::/64" "$RKEY,peer=fd00::/64"
ts_end
