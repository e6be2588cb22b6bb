#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Keys bound to VRFs (TCP_AO_KEYF_IFINDEX, tcpao.conf's "vrf NAME"), tested
# in the guest "vrf" of tests/vm (Linux 6.12 with VRFs, netfilter queue,
# ipset, and no TCP-AO: the kernel tcpaod is for) under QEMU: this machine
# kind's kernel has no VRF. guest-vrf.sh is the job (its header: the
# topology and what is checked); here, its files go in, and its captures
# come out and are checked with `tcpao verify`: each VRF's segments verify
# with that VRF's secret and not with the other's, and nothing left the
# guest into vrf-b once only vrf-a had a key.
# Root, qemu-system-x86_64 and the guest (tests/vm/build-guest.sh vrf)
# needed, else exit 77 (skipped).
set -u
fail() { echo "FAIL: $*" >&2; FAILED=1; }
FAILED=0
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for v in TCPAOD TCPAO_CLI VRFPEER TCPAO_VM; do
	[ -n "${!v:-}" ] || { echo "SKIP: $v not set (run from meson)"; exit 77; }
done
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: no qemu-system-x86_64"; exit 77; }
command -v tcpdump >/dev/null || { echo "SKIP: no tcpdump"; exit 77; }
[ -x "$VRFPEER" ] || { echo "SKIP: vrfpeer not built (no static libc, or a sanitizer build)"; exit 77; }
"$TCPAO_VM/build-guest.sh" --check vrf || { echo "SKIP: tests/vm/build-guest.sh vrf"; exit 77; }

TMP=$(mktemp -d /tmp/tcpao-vrf-XXXXXX)
trap '[ $FAILED = 0 ] && rm -rf "$TMP" || echo "kept: $TMP"' EXIT
mkdir -p "$TMP/put" "$TMP/out"
# our programs are built here: they come per run, with their libraries
# (the guest's loader finds them through LD_LIBRARY_PATH=/in)
cp "$TCPAOD" "$TCPAO_CLI" "$VRFPEER" "$(dirname "$0")/guest-vrf.sh" "$TMP/put/"
ldd "$TCPAOD" "$TCPAO_CLI" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p' | sort -u |
	while read -r lib; do cp -L "$lib" "$TMP/put/"; done
PUT=()
for f in "$TMP"/put/*; do PUT+=(--put "$f"); done

T0=$(date +%s)
"$TCPAO_VM/run-guest.sh" --guest vrf --no-net --mem 512M --timeout 480 \
	--outdir "$TMP/out" --log "$TMP/console.log" "${PUT[@]}" -- sh /in/guest-vrf.sh
rc=$?
echo "--- guest job: status $rc after $(($(date +%s) - T0)) s"
[ $rc = 0 ] || fail "the guest's checks (status $rc)"

KEY="sndid=1,rcvid=1,alg=hmac(sha1)"
SA=vrf-a-secret-0123 SB=vrf-b-secret-4567
verify() { # CAPTURE SECRET: tcpao verify's status
	"$TCPAO_CLI" verify "$1" --key "$KEY,peer=198.18.1.0/24,secret=$2" \
		--key "$KEY,peer=fd00:18:1::/64,secret=$2" --quiet >"$TMP/verify.out" 2>&1
	local s=$?
	tail -1 "$TMP/verify.out"
	return $s
}
for v in a b; do
	cap=$TMP/out/vrf-$v.pcap
	[ -s "$cap" ] || { fail "no capture vrf-$v.pcap"; continue; }
	own=$SA other=$SB
	[ $v = b ] && own=$SB other=$SA
	verify "$cap" "$own" && echo "ok: vrf-$v's capture verifies with vrf-$v's secret" ||
		fail "vrf-$v's capture does not verify with its own secret"
	verify "$cap" "$other" && fail "vrf-$v's capture verifies with the other VRF's secret" ||
		echo "ok: vrf-$v's capture does not verify with the other VRF's secret"
	plain=$(tcpdump -nr "$cap" tcp 2>/dev/null | grep -vc tcp-ao)
	v6=$(tcpdump -nr "$cap" ip6 and tcp 2>/dev/null | wc -l)
	[ "$v6" -gt 0 ] && echo "ok: vrf-$v: IPv6 segments in the capture ($v6)" ||
		fail "vrf-$v: no IPv6 segment captured"
	[ "$plain" = 0 ] && echo "ok: vrf-$v: every TCP segment carries AO" ||
		fail "vrf-$v: $plain TCP segments without AO"
done
cap=$TMP/out/vrf-b-refused.pcap
if [ -s "$cap" ]; then
	from_pb=$(tcpdump -nr "$cap" 'tcp and (src host 198.18.1.2 or src host fd00:18:1::2)' 2>/dev/null | wc -l)
	from_guest=$(tcpdump -nr "$cap" 'tcp and (src host 198.18.1.1 or src host fd00:18:1::1)' 2>/dev/null | wc -l)
	[ "$from_pb" -gt 0 ] && echo "ok: vrf-b, refused: pb's SYNs on the wire ($from_pb)" ||
		fail "vrf-b, refused: no segment of pb captured"
	[ "$from_guest" = 0 ] && echo "ok: vrf-b, refused: the guest sent nothing" ||
		fail "vrf-b, refused: the guest sent $from_guest segments"
else
	fail "no capture vrf-b-refused.pcap"
fi
[ $FAILED = 0 ] && echo "PASS" || grep -v '^@@' "$TMP/console.log" | tail -40
exit $FAILED
