#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Squatting against the preload (issue 8, item 1): nobody listens on the
# old abstract name @tcpao/ctl and on a socket of its own; root's program
# under libtcpao-preload sets a TCP-AO key on a listener (which sends the
# socket and its key to tcpaod) with no daemon running, with TCPAO_CTL
# pointing at nobody's socket, and with autostart (the window between
# daemons). The squatter must never receive a byte or a descriptor.
source "$TS_DIR/lib.sh"
source "$SEC_DIR/lib.sh"
sec_init preload-squat
[ -n "${TCPAO_PRELOAD:-}" ] && [ -e "$TCPAO_PRELOAD" ] || ts_skip "TCPAO_PRELOAD not set"
ts_pair

ts_start ts_in "$NS_A" "${NOBODY[@]}" "$PY" "$ATK/attack.py" squat "$ATK/home/squat.log" \
	@tcpao/ctl "$(sec_ctl_path "$NS_A")" "$ATK/home/ctl.sock" >"$TS_TMP/squatter.out" 2>&1
sec_wait_line "$TS_TMP/squatter.out" ready || ts_die "the squatter did not start"
cat "$TS_TMP/squatter.out"

# victim PORT ENV...: root's listener with a key for B, under the preload.
victim() {
	local port=$1
	shift
	ts_in "$NS_A" env LD_PRELOAD="$TCPAO_PRELOAD" "$@" "$PY" -c '
import socket, sys
sys.path.insert(0, sys.argv[1])
from aosock import ao_add
s = socket.socket()
try:
    s.setsockopt(socket.IPPROTO_TCP, 38, ao_add(sys.argv[2]))
    s.bind((sys.argv[3], int(sys.argv[4])))
    s.listen()
    print("listening with a key")
except OSError as e:
    print("refused: %s" % e)
' "$TS_DIR" "$B4" "$A4" "$port" 2>&1
}

ts_log "no daemon, no autostart"
victim 9801 TCPAO_NO_AUTOSTART=1
ts_log "TCPAO_CTL at nobody's socket"
victim 9802 TCPAO_NO_AUTOSTART=1 TCPAO_CTL="$ATK/home/ctl.sock"
ts_log "autostart"
out=$(victim 9803 TCPAOD="$TCPAOD")
echo "$out"
pid=$(ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" raw ping 2>/dev/null | sed -n 's/.* pid=\([0-9]*\).*/\1/p')
ts_expect '[ -n "$pid" ]' "the autostarted tcpaod answers on its socket"
ts_expect 'grep -q "listening with a key" <<<"$out"' "the autostarted tcpaod took the listener"
[ -n "$pid" ] && kill "$pid"

# A daemon that never comes up (it holds the app's start for at most 5 s,
# then goes on alone): the app is refused, not hung, and no zombie stays.
ts_log "a daemon stuck at start"
printf '#!/bin/sh\nenv >"%s"\necho $$ >"%s"\nexec sleep 30\n' "$TS_TMP/stuck.env" \
	"$TS_TMP/stuck.pid" >"$TS_TMP/stuck"
chmod 755 "$TS_TMP/stuck"
t0=$(date +%s%N)
out=$(victim 9804 TCPAOD="$TS_TMP/stuck" TCPAO_TEST_MARK=kept)
ms=$((($(date +%s%N) - t0) / 1000000))
echo "$out (${ms} ms)"
ts_expect 'grep -q "refused" <<<"$out"' "the app is refused while the daemon does not come up"
ts_expect '[ "$ms" -lt 8000 ]' "the app waited at most 8 s ($ms ms)"
# The daemon gets the app's environment but its preload.
ts_expect 'grep -qx "TCPAO_TEST_MARK=kept" "$TS_TMP/stuck.env"' "the daemon has the app's environment"
ts_expect '! grep -q "^LD_PRELOAD=" "$TS_TMP/stuck.env"' "LD_PRELOAD did not follow the daemon"
stuck=$(cat "$TS_TMP/stuck.pid" 2>/dev/null)
ts_expect '[ -n "$stuck" ] && kill -0 "$stuck" 2>/dev/null' "the stuck daemon went on alone"
[ -n "$stuck" ] && kill "$stuck" 2>/dev/null

sleep 0.3
echo "squatter received: $(cat "$ATK/home/squat.log" 2>/dev/null)"
ts_expect '! grep -q "GOT [1-9]\|[1-9] fds" "$ATK/home/squat.log" 2>/dev/null' "the squatter received nothing"
for _ in $(seq 50); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
ts_end
