#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# keys: key selection and rotation with Linux, both directions, one guest.
# Phase 1, Linux connects to us:
#   K1  Linux rotates (aopeer --rotate-to 12) in the middle of the data; we
#       follow its RNextKeyID.
#   M   one listener of ours, three MKTs with different prefixes (/32, /32,
#       /24): each Linux source address gets its own key; a source whose
#       prefix has no key with the KeyID it uses is refused (KeyNotFound),
#       a wrong secret is refused (Bad).
# Phase 2, we connect to Linux:
#   K2  we rotate (tcpao key set --current --rnext in a pause), Linux asks
#       for the same key later (--rotate-set rnext): both end on key 32.
#   L   a long-lived connection, 400 KB, our RNextKeyID moved three times
#       (42, 43, 41) and Linux's once (42): the KeyIDs on the wire follow.
#   N   one Linux listener, two MKTs with different prefixes: each of our
#       source addresses gets its key; a source with no key is refused
#       (Linux: key not found); a wrong secret is refused (Linux: bad).
source "$(dirname "$0")/lib.sh"
io_init keys
CONF=$TS_TMP/tcpao.conf GUEST=$TS_TMP/guest-keys.sh
sha1=hmac\(sha1\)

cat >"$CONF" <<EOF
peer $G4/32 { local-port 4901; key id 11 alg hmac(sha1) secret io-rot-11;
	key id 12 alg hmac(sha1) secret io-rot-12; }
peer $G4/32 { local-port 4902; key id 21 alg hmac(sha1) secret io-mkt-A; }
peer 198.18.200.12/32 { local-port 4902; key id 22 alg cmac(aes128) secret io-mkt-B; }
peer 198.18.200.0/24 { local-port 4902; key id 23 alg hmac(sha256) secret io-mkt-C; }
peer $G4/32 { local $H4; remote-port 4911; key id 31 alg hmac(sha1) secret io-rot-31;
	key id 32 alg hmac(sha1) secret io-rot-32; current-key 31; rnext-key 31; }
peer $G4/32 { local $H4C; remote-port 4911; key id 31 alg hmac(sha1) secret io-wrong; }
peer $G4/32 { remote-port 4912; key id 41 alg hmac(sha1) secret io-long-41;
	key id 42 alg cmac(aes128) secret io-long-42; key id 43 alg hmac(sha256) secret io-long-43;
	current-key 41; rnext-key 41; }
peer $G4/32 { local $H4; remote-port 4913; key id 51 alg hmac(sha1) secret io-lmkt-A; }
peer $G4/32 { local $H4B; remote-port 4913; key id 52 alg cmac(aes128) secret io-lmkt-B; }
peer $G4/32 { local $H4C; remote-port 4913; key id 51 alg hmac(sha1) secret io-lmkt-A; }
EOF
chmod 600 "$CONF"
KEYS=("id=11,alg=$sha1,secret=io-rot-11" "id=12,alg=$sha1,secret=io-rot-12"
	"id=21,alg=$sha1,secret=io-mkt-A" "id=22,alg=cmac(aes128),secret=io-mkt-B"
	"id=23,alg=hmac(sha256),secret=io-mkt-C" "id=31,alg=$sha1,secret=io-rot-31"
	"id=32,alg=$sha1,secret=io-rot-32" "id=41,alg=$sha1,secret=io-long-41"
	"id=42,alg=cmac(aes128),secret=io-long-42" "id=43,alg=hmac(sha256),secret=io-long-43"
	"id=51,alg=$sha1,secret=io-lmkt-A" "id=52,alg=cmac(aes128),secret=io-lmkt-B"
	# the refused SYNs were signed with these: they must verify too
	"id=21,alg=$sha1,secret=io-wrong" "id=31,alg=$sha1,secret=io-wrong")

cat >"$GUEST" <<EOF
rc=0
for a in 12 22 23; do ip addr add 198.18.200.\$a/24 dev eth0; done
c() { tag=\$1; shift; aopeer connect "\$@" >/tmp/\$tag.out 2>/tmp/\$tag.err || rc=1; }
c k1 --key '11:11:$sha1:io-rot-11' --key '12:12:$sha1:io-rot-12' --rotate-to 12 \
	--bytes 131072 --timeout 60 $H4 4901
c mnokey --bind 198.18.200.23 --key '21:21:$sha1:io-mkt-A' --expect-fail --timeout 5 $H4 4902
c mbad --key '21:21:$sha1:io-wrong' --expect-fail --timeout 5 $H4 4902
c ma --key '21:21:$sha1:io-mkt-A' --bytes 65536 --timeout 60 $H4 4902
c mb --bind 198.18.200.12 --key '22:22:cmac(aes128):io-mkt-B' --bytes 65536 --timeout 60 $H4 4902
c mc --bind 198.18.200.22 --key '23:23:hmac(sha256):io-mkt-C' --bytes 65536 --timeout 60 $H4 4902
echo guest.phase1=1
pids=
s() { tag=\$1; shift; aopeer listen "\$@" >/tmp/\$tag.out 2>/tmp/\$tag.err & pids="\$pids \$!"; }
s k2 --key '31:31:$sha1:io-rot-31' --key '32:32:$sha1:io-rot-32' --rotate-to 32 \
	--rotate-set rnext --rotate-after 60000 --bytes 131072 --wait 200 0.0.0.0 4911
s l --key '41:41:$sha1:io-long-41' --key '42:42:cmac(aes128):io-long-42' \
	--key '43:43:hmac(sha256):io-long-43' --rotate-to 42 --rotate-set rnext \
	--rotate-after 100000 --bytes 409600 --wait 200 0.0.0.0 4912
s n --key '51:51:$sha1:io-lmkt-A:$H4/32' --key '52:52:cmac(aes128):io-lmkt-B:198.18.200.8/29' \
	--count 2 --bytes 65536 --wait 200 0.0.0.0 4913
i=0
while [ "\$(cat /tmp/k2.out /tmp/l.out /tmp/n.out | grep -c listen.ready)" -lt 3 ] && [ \$i -lt 100 ]; do
	sleep 0.1; i=\$((i + 1)); done
echo guest.ready=1
for p in \$pids; do wait \$p || rc=1; done
for f in /tmp/*.out; do t=\$(basename \$f .out); sed "s/^/\$t./" \$f; sed "s/^/\$t.stderr: /" /tmp/\$t.err; done
exit \$rc
EOF

ts_daemon "$NS_A" --config "$CONF"
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" serve $H4 4901 --bytes 131072 --echo --timeout 200
k1_srv=$TS_LAST_PID
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" serve $H4 4902 --bytes 65536 --echo --count 3 \
	--timeout 200
m_srv=$TS_LAST_PID
ts_wait_listen "$NS_A" 4901
ts_wait_listen "$NS_A" 4902
io_boot "$GUEST"
io_wait_guest guest.phase1=1
wait $k1_srv || ts_fail "K1: our server"
wait $m_srv || ts_fail "M: our server"
bad1=$(io_stat TCPAOBad) knf1=$(io_stat TCPAOKeyNotFound)

io_wait_guest guest.ready=1
ts_log "K2: we rotate to 32 (current and rnext) after 30000 bytes"
P=$TS_TMP/pause
out=$TS_TMP/k2.out
if io_send $G4 4911 --bind $H4C --bytes 1000 --timeout 5 >/dev/null 2>&1; then
	ts_fail "K2: a wrong secret connected"
fi
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send $G4 4911 --bind $H4 --echo --timeout 60 \
	--bytes 131072 --pause-at 30000 --pause-file $P >"$out" 2>&1 &
k2=$!
io_paused "$out" 1
ts_in "$NS_A" "${CTL[@]}" key set peer=$G4/32 --current 32 --rnext 32 || ts_fail "key set 32"
touch $P
wait $k2 || ts_fail "K2: our client: $(cat "$out")"

ts_log "L: 400 KB, our RNextKeyID to 42, 43, 41; Linux asks for 42 after 100000"
out=$TS_TMP/l.out
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send $G4 4912 --echo --timeout 90 --bytes 409600 \
	--pause-at 50000 --pause-at 150000 --pause-at 250000 --pause-file $P >"$out" 2>&1 &
l=$!
n=0
for k in 42 43 41; do
	n=$((n + 1))
	io_paused "$out" $n
	ts_in "$NS_A" "${CTL[@]}" key set peer=$G4/32 --rnext $k || ts_fail "key set --rnext $k"
	touch $P
done
wait $l || ts_fail "L: our client: $(cat "$out")"

ts_log "N: Linux listener with keys for $H4/32 and 198.18.200.8/29"
if io_send $G4 4913 --bind $H4C --bytes 1000 --timeout 5 >/dev/null 2>&1; then
	ts_fail "N: a source without a Linux key connected"
fi
io_send $G4 4913 --bind $H4 --bytes 65536 || ts_fail "N: from $H4"
io_send $G4 4913 --bind $H4B --bytes 65536 || ts_fail "N: from $H4B"
io_guest_done

ts_log "K1: Linux rotated to 12; we follow its RNextKeyID"
io_linux_ok k1.conn1
io_ours_ok 4901
ts_expect '[ "$(io_flow 4901 current)" = 12 ]' "K1: our current key follows Linux to 12"
v=$(io_linux_key k1.conn1 12 pkt_good)
echo "  Linux key 12 pkt_good=$v; our KeyIDs: $(io_keyids 4901); Linux's: $(io_keyids_to 4901)"
ts_expect '[ "${v:-0}" -gt 0 ]' "K1: Linux received segments with key 12"

ts_log "M: our listener with three MKTs"
for t in ma:$G4:21 mb:198.18.200.12:22 mc:198.18.200.22:23; do
	IFS=: read -r tag addr id <<<"$t"
	io_linux_ok $tag.conn1
	io_ours_ok "$addr,4902"
	ts_expect '[ "$(io_flow "$addr,4902" current)" = $id ]' "M: key $id for $addr"
done
echo "  ours: TCPAOKeyNotFound=$knf1 TCPAOBad=$bad1; Linux: $(io_val mnokey.result)," \
	"$(io_val mbad.result)"
ts_expect '[ "$(io_val mnokey.result)" = failed-as-expected ]' "M: source without a key refused"
ts_expect '[ "$(io_val mbad.result)" = failed-as-expected ]' "M: wrong secret refused"
ts_expect '[ "$knf1" -gt 0 ]' "M: our TCPAOKeyNotFound"
ts_expect '[ "$bad1" -gt 0 ]' "M: our TCPAOBad"

ts_log "K2: both on key 32"
io_linux_ok k2.conn1
io_ours_ok "$G4,4911"
echo "  our KeyIDs: $(io_keyids_to 4911); Linux's: $(io_keyids 4911)"
ts_expect '[ "$(io_flow "$G4,4911" current)/$(io_flow "$G4,4911" rnext)" = 32/32 ]' "K2: ours 32/32"
ts_expect '[ "$(io_val k2.conn1.ao.current_key)/$(io_val k2.conn1.ao.rnext)" = 32/32 ]' \
	"K2: Linux 32/32"
ts_expect '[[ "$(io_keyids_to 4911)" == "31 "*"32 " ]]' "K2: our KeyIDs 31 ... 32"
ts_expect '[[ "$(io_keyids 4911)" == "31 "*"32 " ]]' "K2: Linux's KeyIDs 31 ... 32"
ts_expect '[ "$(io_val k2.listen.ao.pkt_bad)" -gt 0 ]' "K2: Linux counted the wrong secret"

ts_log "L: long-lived, several rotations"
io_linux_ok l.conn1
io_ours_ok 4912
echo "  our KeyIDs: $(io_keyids_to 4912); Linux's: $(io_keyids 4912)"
ts_expect '[ "$(io_keyids 4912)" = "41 42 43 41 " ]' "L: Linux's KeyIDs follow our RNextKeyID"
ts_expect '[ "$(io_keyids_to 4912)" = "41 42 " ]' "L: our KeyIDs follow Linux's RNextKeyID"

ts_log "N: Linux listener with two MKTs"
io_linux_ok n.conn1
io_linux_ok n.conn2
ts_expect '[ "$(io_val n.conn1.ao.current_key)" = 51 ]' "N: key 51 for $H4"
ts_expect '[ "$(io_val n.conn2.ao.current_key)" = 52 ]' "N: key 52 for $H4B"
echo "  Linux listener: key_not_found=$(io_val n.listen.ao.pkt_key_not_found)"
ts_expect '[ "$(io_val n.listen.ao.pkt_key_not_found)" -gt 0 ]' "N: Linux: no key for $H4C"

keys=()
for k in "${KEYS[@]}"; do keys+=("$k,peer=198.18.200.0/24"); done
io_verify "${keys[@]}"
ts_end
