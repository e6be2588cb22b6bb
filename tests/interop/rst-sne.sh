#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# rst-sne: sequence number extension and resets with Linux, one guest.
# Phase 1, Linux connects to us (aoguest, a static helper on Linux's API):
#   S1  Linux's ISN is 2^32 - 100000 (TCP_REPAIR + TCP_QUEUE_SEQ before
#       connect): its data crosses the 2^32 wrap; our receive SNE goes to 1.
#   R1  Linux resets (SO_LINGER 0) after 20000 bytes; our server sees it.
#   R2  we reset (SO_LINGER 0) after 20000 bytes; Linux sees it.
# Phase 2, we connect to Linux (aopeer listen):
#   S2  our ISN is 2^32 - 100000 (xfer.py --start-seq): our send SNE goes
#       to 1, Linux verifies every segment.
#   R3  we reset after 20000 bytes; Linux's read fails with ECONNRESET.
#   F   in a pause of a transfer, forged RSTs with exactly the next sequence
#       number, without TCP-AO and with a wrong MAC, towards each side:
#       all four dropped and counted, the transfer completes.
source "$(dirname "$0")/lib.sh"
[ -x "${AOGUEST:-}" ] || ts_skip "no static aoguest helper (sanitizer build?)"
io_init rst-sne
CONF=$TS_TMP/tcpao.conf GUEST=$TS_TMP/guest-rst-sne.sh
SEQ=$(( (1 << 32) - 100000 ))
sha1=hmac\(sha1\)

cat >"$CONF" <<EOF
peer $G4/32 { local-port 4921; key id 61 alg hmac(sha1) secret io-sne-61; }
peer $G4/32 { local-port 4922; key id 62 alg cmac(aes128) secret io-rst-62; }
peer $G4/32 { local-port 4923; key id 63 alg hmac(sha256) secret io-rst-63; }
peer $G4/32 { remote-port 4931; key id 64 alg hmac(sha1) secret io-sne-64; }
peer $G6/128 { remote-port 4932; key id 65 alg hmac(sha1) secret io-rst-65; }
peer $G4/32 { remote-port 4933; key id 66 alg hmac(sha256) secret io-forge-66; }
EOF
chmod 600 "$CONF"
KEYS=("id=61,alg=$sha1,secret=io-sne-61,peer=198.18.200.0/24"
	"id=62,alg=cmac(aes128),secret=io-rst-62,peer=198.18.200.0/24"
	"id=63,alg=hmac(sha256),secret=io-rst-63,peer=198.18.200.0/24"
	"id=64,alg=$sha1,secret=io-sne-64,peer=198.18.200.0/24"
	"id=65,alg=$sha1,secret=io-rst-65,peer=fd00:200::/64"
	"id=66,alg=hmac(sha256),secret=io-forge-66,peer=198.18.200.0/24")

cat >"$GUEST" <<EOF
rc=0
g() { tag=\$1; shift; /in/aoguest "\$@" >/tmp/\$tag.out 2>/tmp/\$tag.err || rc=1; }
g s1 --key '61:61:$sha1:io-sne-61' --start-seq $SEQ --bytes 300000 --timeout 90 $H4 4921
g r1 --key '62:62:cmac(aes128):io-rst-62' --reset-after 20480 --timeout 30 $H4 4922
g r2 --key '63:63:hmac(sha256):io-rst-63' --expect-reset --bytes 65536 --timeout 30 $H4 4923
echo guest.phase1=1
pids=
s() { tag=\$1; shift; aopeer listen "\$@" >/tmp/\$tag.out 2>/tmp/\$tag.err & pids="\$pids \$!"; }
s s2 --key '64:64:$sha1:io-sne-64' --bytes 300000 --wait 200 0.0.0.0 4931
s r3 --key '65:65:$sha1:io-rst-65' --wait 200 :: 4932
s f --key '66:66:hmac(sha256):io-forge-66' --bytes 131072 --wait 200 0.0.0.0 4933
i=0
while [ "\$(cat /tmp/s2.out /tmp/r3.out /tmp/f.out | grep -c listen.ready)" -lt 3 ] && [ \$i -lt 100 ]; do
	sleep 0.1; i=\$((i + 1)); done
echo guest.ready=1
for p in \$pids; do wait \$p; done
for f in /tmp/*.out; do t=\$(basename \$f .out); sed "s/^/\$t./" \$f; sed "s/^/\$t.stderr: /" /tmp/\$t.err; done
exit \$rc
EOF

ts_daemon "$NS_A" --config "$CONF"
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" serve $H4 4921 --bytes 300000 --echo --timeout 200
s1_srv=$TS_LAST_PID
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" serve $H4 4922 --bytes 65536 --echo --expect-reset \
	--timeout 200 >"$TS_TMP/r1.srv" 2>&1
r1_srv=$TS_LAST_PID
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" serve $H4 4923 --bytes 65536 --echo \
	--reset-after 20480 --timeout 200
r2_srv=$TS_LAST_PID
for p in 4921 4922 4923; do ts_wait_listen "$NS_A" $p; done
# A veth in our namespace: what is sent into inj1 arrives on inj0, as if
# from the wire (forged RSTs towards us).
ip -n "$NS_A" link add inj0 type veth peer name inj1 || ts_die "veth"
ip -n "$NS_A" link set inj0 up
ip -n "$NS_A" link set inj1 up
for c in all default inj0; do ts_in "$NS_A" sysctl -qw net.ipv4.conf.$c.rp_filter=0; done
io_boot "$GUEST"
io_wait_guest guest.phase1=1
wait $s1_srv || ts_fail "S1: our server"
wait $r1_srv || ts_fail "R1: our server"
wait $r2_srv || ts_fail "R2: our server"

io_wait_guest guest.ready=1
ts_log "S2: our ISN $SEQ, 300000 bytes to Linux"
io_send $G4 4931 --bytes 300000 --start-seq $SEQ || ts_fail "S2: our client"
ts_log "R3: we reset Linux after 20000 bytes (IPv6)"
io_send $G6 4932 --bytes 65536 --reset-after 20000 || ts_fail "R3: our client"
ts_log "F: forged RSTs both ways in a pause"
P=$TS_TMP/pause out=$TS_TMP/f.out
ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send $G4 4933 --echo --timeout 60 --bytes 131072 \
	--pause-at 40000 --pause-file $P >"$out" 2>&1 &
f=$!
io_paused "$out" 1
sleep 1 # the echo of what was sent before the pause comes back
lport=$(ts_in "$NS_A" ss -Htn state established "dport = :4933" | awk '{ print $3 }' | sed 's/.*://')
f_bad0=$(io_stat TCPAOBad) f_req0=$(io_stat TCPAORequired) f_knf0=$(io_stat TCPAOKeyNotFound)
ts_in "$NS_A" "$PY" "$IO_DIR/forge_rst.py" "$IO_PCAP" $H4 "$lport" $G4 4933 66 \
	--to-peer eth0 --peer-mac 52:54:00:a0:00:01 --to-us inj1 \
	--us-mac "$(ts_in "$NS_A" cat /sys/class/net/inj0/address)" ||
	ts_fail "F: forging"
sleep 1
f_bad=$(( $(io_stat TCPAOBad) - f_bad0 )) f_req=$(( $(io_stat TCPAORequired) - f_req0 ))
touch $P
wait $f || ts_fail "F: our client: $(cat "$out")"
io_guest_done

ts_log "S1: Linux's data crossed 2^32"
io_linux_ok s1.conn1
io_ours_ok 4921
ts_expect '[ "$(io_val s1.result)" = ok ]' "S1: aoguest result"
ts_expect '[ "$(io_flow 4921 rcv-sne)" = 1 ]' "S1: our receive SNE is 1"
ts_log "R1: Linux resets"
grep -q "reset seen" "$TS_TMP/r1.srv" || ts_fail "R1: our server did not see the reset: $(cat "$TS_TMP/r1.srv")"
ts_expect '[ "$(io_val r1.result)" = reset-sent ]' "R1: aoguest result"
io_linux_ok r1.conn1
ts_log "R2: we reset"
ts_expect '[ "$(io_val r2.result)" = reset-seen ]' "R2: Linux saw our reset"
io_linux_ok r2.conn1
ts_log "S2: our data crossed 2^32"
io_linux_ok s2.conn1
io_ours_ok 4931
ts_expect '[ "$(io_val s2.result)" = ok ]' "S2: aopeer result"
ts_expect '[ "$(io_flow 4931 snd-sne)" = 1 ]' "S2: our send SNE is 1"
ts_log "R3: we reset Linux"
ts_expect 'grep -q "r3.stderr: aopeer: read: Connection reset by peer" "$IO_OUT"' "R3: Linux saw our reset"
ts_expect '[ "$(io_val r3.conn1.ao.pkt_bad)" = 0 ]' "R3: Linux pkt_bad"
# A reset flow leaves our table at once: the rows above, before the
# forgeries, are checked on the global counters.
echo "  ours before F: TCPAOBad=$f_bad0 TCPAOKeyNotFound=$f_knf0 TCPAORequired=$f_req0"
ts_expect '[ "$f_bad0/$f_knf0/$f_req0" = 0/0/0 ]' "S1-R3: nothing dropped on our side"
ts_log "F: forged RSTs"
echo "  ours: TCPAOBad +$f_bad TCPAORequired +$f_req; Linux: pkt_bad=$(io_val f.conn1.ao.pkt_bad)" \
	"pkt_ao_required=$(io_val f.conn1.ao.pkt_ao_required)"
ts_expect '[ "$(io_val f.result)" = ok ]' "F: Linux's transfer completed"
ts_expect '[ "$(io_val f.conn1.ao.pkt_bad)" = 1 ]' "F: Linux dropped the bad-MAC RST"
ts_expect '[ "$(io_val f.conn1.ao.pkt_ao_required)" = 1 ]' "F: Linux dropped the unsigned RST"
ts_expect '[ "$f_bad" = 1 ]' "F: we dropped the bad-MAC RST"
ts_expect '[ "$f_req" = 1 ]' "F: we dropped the unsigned RST"
ts_expect '[ "$(io_flow 4933 bad)/$(io_flow 4933 ao-required)" = 1/1 ]' "F: our flow counted both"
# Every TCP-AO segment of the capture verifies, but for the forged RST
# with a wrong MAC towards Linux (the unsigned one is not TCP-AO).
ts_capture_stop
out=$("$TCPAO_CLI" verify "$IO_PCAP" "${KEYS[@]/#/--key=}" --quiet 2>&1)
echo "$out" | tail -4
ts_expect '[[ "$out" == *"4933 ? [R.]"*"bad-mac"* || "$out" == *"4933 client [R.]"*"bad-mac"* ]]' \
	"F: the forged RST is the bad one"
ts_expect '[[ "$out" == *", 1 bad-mac, 0 key-not-found, 0 no-isn"* ]]' \
	"F: one bad MAC in the capture, everything else good"
ts_end
