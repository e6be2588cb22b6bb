#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# from-linux: Linux client -> tcpao server, the algorithm matrix (IO_ROWS)
# of to-linux.sh, plus an IPv4 client on an IPv6 (dual-stack) listener of
# ours, whose policy names the peer by its IPv4-mapped address. Our echo
# servers (xfer.py) listen before the guest boots; the guest runs aopeer
# connect for each row in turn. Each row: 64 KiB echoed and checked by both
# ends, Linux's counters and ours, the capture verified by tcpao verify.
source "$(dirname "$0")/lib.sh"
io_init from-linux
BYTES=65536
MAPPED="99 4 hmac(sha256) io-mapped-listener 41 42 12 -"
CONF=$TS_TMP/tcpao.conf GUEST=$TS_TMP/guest-from-linux.sh

: >"$CONF"
echo 'rc=0' >"$GUEST"
keys=() servers=()
for row in "${IO_ROWS[@]}" "$MAPPED"; do
	io_row "$row"
	port=48$R_PORT listen=$R_HOST
	if [ "$row" = "$MAPPED" ]; then
		listen=:: R_GUEST=::ffff:$G4 R_LEN=128
	fi
	io_row_conf local-port $port >>"$CONF"
	[ "$row" = "$MAPPED" ] && R_GUEST=$G4 R_LEN=32
	echo "aopeer connect $(io_row_aopeer) --bytes $BYTES --timeout 60 $R_HOST $port" \
		">/tmp/r$R_PORT.out 2>/tmp/r$R_PORT.err || rc=1" >>"$GUEST"
	keys+=("$(io_row_keys)")
	ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" serve "$listen" $port --bytes $BYTES \
		--echo --timeout 200
	servers+=("$R_PORT:$TS_LAST_PID")
	ts_wait_listen "$NS_A" $port
done
cat >>"$GUEST" <<'EOF'
for f in /tmp/*.out; do t=$(basename $f .out); sed "s/^/$t./" $f; sed "s/^/$t.stderr: /" /tmp/$t.err; done
exit $rc
EOF
chmod 600 "$CONF"
ts_daemon "$NS_A" --config "$CONF"
io_boot "$GUEST"
io_guest_done

for s in "${servers[@]}"; do
	wait "${s#*:}" || ts_fail "row ${s%%:*}: our echo server"
done
for row in "${IO_ROWS[@]}" "$MAPPED"; do
	io_row "$row"
	ts_log "row $R_PORT: IPv$R_FAM $R_ALG key ${#R_SECRET} bytes, maclen $R_MACLEN," \
		"ids $R_SND/$R_RCV ${R_FLAGS:-options included}"
	io_linux_ok "r$R_PORT.conn1"
	io_ours_ok 48$R_PORT
	ts_expect '[ "$(io_val r$R_PORT.result)" = ok ]' "row $R_PORT: aopeer result"
	ts_expect '[ "$(io_flow 48$R_PORT current)" = $R_SND ]' "row $R_PORT: our current key"
done
# Linux's verified data and ACKs reached our echo servers with their AO option
# in place (docs/SECURITY.md, "What reaches the kernel").
echo "  ours: $(ts_stats "$NS_A")"
ts_expect '[ "$(ts_stat "$NS_A" TCPAOInOptionKept)" -gt 0 ]' "segments handed on with their AO option"
io_verify "${keys[@]}"
ts_end
