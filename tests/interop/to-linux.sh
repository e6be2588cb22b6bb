#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# to-linux: tcpao client -> Linux server, the algorithm matrix (IO_ROWS):
# IPv4 and IPv6; hmac(sha1), cmac(aes128) with a 16-byte key and a 27-byte
# key (RFC 5926's key-shortening step), hmac(sha256); options included and
# excluded; MAC lengths 12 and 16; sndid != rcvid. One guest serves every
# row (one aopeer listener per row, all at once). Each row: 64 KiB echoed
# and checked by both ends, Linux's counters (aopeer) and ours (tcpao show)
# say every segment verified, and the capture verifies with tcpao verify.
source "$(dirname "$0")/lib.sh"
io_init to-linux
BYTES=65536
CONF=$TS_TMP/tcpao.conf GUEST=$TS_TMP/guest-to-linux.sh

: >"$CONF"
cat >"$GUEST" <<'EOF'
pids=
serve() { tag=$1; shift; aopeer listen "$@" >/tmp/$tag.out 2>/tmp/$tag.err & pids="$pids $!"; }
EOF
keys=()
for row in "${IO_ROWS[@]}"; do
	io_row "$row"
	port=47$R_PORT
	io_row_conf remote-port $port >>"$CONF"
	echo "serve r$R_PORT $(io_row_aopeer) --bytes $BYTES --wait 200 --timeout 250 $R_ANY $port" >>"$GUEST"
	keys+=("$(io_row_keys)")
done
cat >>"$GUEST" <<'EOF'
n=$(ls /tmp/*.out | wc -l)
i=0
while [ "$(cat /tmp/*.out | grep -c listen.ready)" -lt $n ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo guest.ready=1
rc=0
for p in $pids; do wait $p || rc=1; done
for f in /tmp/*.out; do t=$(basename $f .out); sed "s/^/$t./" $f; sed "s/^/$t.stderr: /" /tmp/$t.err; done
exit $rc
EOF
chmod 600 "$CONF"
ts_daemon "$NS_A" --config "$CONF"
io_boot "$GUEST"
io_wait_guest guest.ready=1

for row in "${IO_ROWS[@]}"; do
	io_row "$row"
	ts_log "row $R_PORT: IPv$R_FAM $R_ALG key ${#R_SECRET} bytes, maclen $R_MACLEN," \
		"ids $R_SND/$R_RCV ${R_FLAGS:-options included}"
	io_send "$R_GUEST" 47$R_PORT --bytes $BYTES || ts_fail "row $R_PORT: our client"
done
io_guest_done
for row in "${IO_ROWS[@]}"; do
	io_row "$row"
	ts_log "row $R_PORT counters"
	io_linux_ok "r$R_PORT.conn1"
	io_ours_ok 47$R_PORT
	ts_expect '[ "$(io_val r$R_PORT.result)" = ok ]' "row $R_PORT: aopeer result"
	ts_expect '[ "$(io_val r$R_PORT.conn1.key0.maclen)" = $R_MACLEN ]' "row $R_PORT: Linux maclen"
done
# Linux's verified data and ACKs reached our clients with their AO option
# in place (docs/SECURITY.md, "What reaches the kernel").
echo "  ours: $(ts_stats "$NS_A")"
ts_expect '[ "$(ts_stat "$NS_A" TCPAOInOptionKept)" -gt 0 ]' "segments handed on with their AO option"
io_verify "${keys[@]}"
ts_end
