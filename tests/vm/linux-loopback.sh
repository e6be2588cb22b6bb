#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Regenerates tests/data/linux/loopback.pcap, the capture of the verify
# suite's group "linux": Linux's own TCP-AO talking to itself over loopback
# in the guest "tcpao" (aopeer on both ends, pcapdump on lo). Root not
# needed (no network device).
#
#   tests/vm/linux-loopback.sh [OUTFILE]    (default tests/data/linux/loopback.pcap)
#
# Secrets: key A "tcpao-test-key-A" (KeyIDs 10/20), key B "tcpao-test-key-B"
# (11/21), with each of hmac(sha1), cmac(aes128), hmac(sha256). The cases:
#   R1-R6  rotation A -> B (client --rotate-to 11, server asks for B with
#          --rotate-to 21 --rotate-set rnext), 64 KiB echoed, each
#          algorithm over IPv4 and IPv6
#   X      hmac(sha1), key A, options excluded (IPv4)
#   M      cmac(aes128), key A, 16-byte MAC (IPv4)
#   N      hmac(sha1): the client asks only for RNext = B (IPv4)
#   W      a client with the wrong secret ("not-the-secret", KeyIDs 10/20):
#          refused, its SYNs are bad-mac
#   K      a client with KeyIDs 99/98: refused, key-not-found
#   P      a plain TCP client: refused (no answer)
# A capture is one run: segment counts vary a little from run to run, so
# tests/verify/test_verify.py's numbers are those of the committed file.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../data/linux/loopback.pcap}
"$HERE/build-guest.sh" --check tcpao

JOB=$(mktemp /tmp/tcpao-loopback.XXXXXX.sh)
DIR=$(mktemp -d /tmp/tcpao-loopback.XXXXXX)
trap 'rm -rf "$JOB" "$DIR"' EXIT
cat >"$JOB" <<'EOF'
A=tcpao-test-key-A B=tcpao-test-key-B
rc=0
keys() { echo "--key 20:10:$1:$A --key 21:11:$1:$B"; }
ckeys() { echo "--key 10:20:$1:$A --key 11:21:$1:$B"; }
pcapdump lo /out/loopback.pcap >/tmp/cap.out 2>/tmp/cap.err &
cap=$!
while ! grep -q ready /tmp/cap.out; do sleep 0.1; done
# one case: TAG ADDR PORT "SERVER OPTIONS" "CLIENT OPTIONS"
case1() {
	aopeer listen $4 --wait 20 --timeout 40 $2 $3 >/tmp/$1.s 2>&1 &
	s=$!
	sleep 0.3
	aopeer connect $5 --timeout 30 $2 $3 >/tmp/$1.c 2>&1 || rc=1
	wait $s || rc=1
	echo "$1: server $(grep '^result=' /tmp/$1.s), client $(grep '^result=' /tmp/$1.c)"
}
p=5000
for alg in 'hmac(sha1)' 'cmac(aes128)' 'hmac(sha256)'; do
	for a in 127.0.0.1 ::1; do
		p=$((p + 1))
		case1 R$p $a $p "$(keys $alg) --bytes 65536 --rotate-to 21 --rotate-set rnext" \
			"$(ckeys $alg) --bytes 65536 --rotate-to 11"
	done
done
case1 X 127.0.0.1 5011 "--key 20:10:hmac(sha1):$A --exclude-options --bytes 16384" \
	"--key 10:20:hmac(sha1):$A --exclude-options --bytes 16384"
case1 M 127.0.0.1 5012 "--key 20:10:cmac(aes128):$A --maclen 16 --bytes 16384" \
	"--key 10:20:cmac(aes128):$A --maclen 16 --bytes 16384"
case1 N 127.0.0.1 5013 "$(keys 'hmac(sha1)') --bytes 16384" \
	"$(ckeys 'hmac(sha1)') --bytes 16384 --rotate-to 11 --rotate-set rnext"
# refused clients: the listener sees no connection
aopeer listen $(keys 'hmac(sha1)') --count 0 --wait 15 --timeout 25 127.0.0.1 5020 >/tmp/neg.s 2>&1 &
s=$!
sleep 0.3
aopeer connect --key "10:20:hmac(sha1):not-the-secret" --expect-fail --timeout 4 \
	127.0.0.1 5020 >/tmp/W.c 2>&1 || rc=1
aopeer connect --key "99:98:hmac(sha1):$A" --expect-fail --timeout 4 \
	127.0.0.1 5020 >/tmp/K.c 2>&1 || rc=1
timeout 4 nc 127.0.0.1 5020 </dev/null >/dev/null 2>&1 && rc=1
wait $s
echo "W: $(grep '^result=' /tmp/W.c); K: $(grep '^result=' /tmp/K.c)"
grep -E '^listen.ao.pkt_(bad|key_not_found|ao_required)=' /tmp/neg.s
sleep 1
kill $cap
wait $cap
cat /tmp/cap.err
[ $rc = 0 ] || for f in /tmp/*.s /tmp/*.c; do echo "== $f"; cat $f; done
exit $rc
EOF
"$HERE/run-guest.sh" --guest tcpao --no-net --timeout 300 --put "$JOB" --outdir "$DIR" \
	-- sh "/in/$(basename "$JOB")"
mkdir -p "$(dirname "$OUT")"
cp "$DIR/loopback.pcap" "$OUT"
echo "linux-loopback.sh: $OUT ($(stat -c %s "$OUT") bytes)"
