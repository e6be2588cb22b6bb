# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the interop tests: tcpaod in a network namespace of ours, and
# Linux 6.12 with CONFIG_TCP_AO=y (the guest "tcpao" of tests/vm, built by
# `make interop-peer`) under QEMU on a tap device in that namespace, running
# aopeer (tests/vm/guest/aopeer.c) / aoguest.
#
#   ours (NS_A, tap "eth0"): 198.18.200.1/24 (+ .11, .21)  fd00:200::1/64
#   Linux guest (eth0):      198.18.200.2/24               fd00:200::2/64
#
# Builds on tests/system/lib.sh (ts_*: cleanup, daemon, counters, capture,
# tcpao verify). Environment (from meson): TCPAOD, TCPAO_CLI, TS_DIR (the
# system tests' directory), IO_DIR, AOGUEST (the static guest helper; may
# be empty), TCPAO_VM (tests/vm: the guest builder and runner; the images
# are in its cache, $TCPAO_VM_CACHE or build-vm/). Exit 77 = skipped.

source "${TS_DIR:-$(dirname "${BASH_SOURCE[0]}")/../system}/lib.sh"
IO_DIR=${IO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
H4=198.18.200.1 G4=198.18.200.2 H6=fd00:200::1 G6=fd00:200::2
H4B=198.18.200.11 H4C=198.18.200.21
CTL=("${TCPAO_CLI:-tcpao}")

# io_init NAME: skip unless root with qemu and the guest; the namespace
# with its tap (named eth0 so that ts_capture works unchanged), a capture
# of everything on it, and our extra addresses.
io_init() {
	[ "$(id -u)" = 0 ] || ts_skip "needs root"
	TCPAO_VM=${TCPAO_VM:-$IO_DIR/../vm}
	local why
	why=$("$TCPAO_VM/build-guest.sh" --check tcpao 2>&1) || ts_skip "$why"
	command -v qemu-system-x86_64 >/dev/null || ts_skip "qemu-system-x86_64 not installed"
	[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
	ts_require tcpdump cpio
	ts_init "io-$1"
	ip netns add "$NS_A" || ts_die "netns add"
	ip -n "$NS_A" link set lo up
	ip -n "$NS_A" tuntap add dev eth0 mode tap || ts_die "tap"
	ip -n "$NS_A" link set eth0 up
	ip -n "$NS_A" addr add $H4/24 dev eth0
	ip -n "$NS_A" addr add $H4B/24 dev eth0
	ip -n "$NS_A" addr add $H4C/24 dev eth0
	ip -n "$NS_A" addr add $H6/64 dev eth0 nodad
	IO_PCAP=$TS_TMP/$1.pcap
	ts_capture "$NS_A" "$IO_PCAP"
}

# io_boot SCRIPT: boots the guest with SCRIPT (and aoguest) in /in and runs
# it; its output goes to $TS_TMP/guest.out, the console to guest.log.
io_boot() {
	local put=(--put "$1")
	[ -x "${AOGUEST:-}" ] && put+=(--put "$AOGUEST")
	IO_LOG=$TS_TMP/guest.log IO_OUT=$TS_TMP/guest.out
	: >"$IO_LOG"
	ts_start "$TCPAO_VM/run-guest.sh" --guest tcpao --netns "$NS_A" --tap eth0 \
		--guest4 $G4/24 --guest6 $G6/64 --timeout "${IO_GUEST_TIMEOUT:-400}" \
		--log "$IO_LOG" "${put[@]}" -- sh "/in/$(basename "$1")" >"$IO_OUT" 2>&1
	IO_GUEST_PID=$TS_LAST_PID
}

# io_wait_guest LINE [SECONDS]: until the guest prints LINE (a whole line).
io_wait_guest() {
	local i
	for ((i = 0; i < ${2:-180} * 5; i++)); do
		tr -d '\r' <"$IO_LOG" | grep -qx -- "$1" && return 0
		kill -0 "$IO_GUEST_PID" 2>/dev/null || break
		sleep 0.2
	done
	tail -n 30 "$IO_OUT" >&2
	ts_die "the guest never printed '$1'"
}

# io_guest_done: waits for the guest to end; fails unless it ended well.
io_guest_done() {
	wait "$IO_GUEST_PID"
	local rc=$?
	[ $rc = 0 ] || ts_fail "guest scenario exit status $rc"
	grep -a 'run.sh:' "$IO_OUT" | tail -1
}

# io_val NAME: the value of NAME=... in the guest's output ("" if none).
io_val() {
	tr -d '\r' <"$IO_OUT" | sed -n "s/^$1=//p" | tail -1
}

# io_linux_ok ROW [BAD KEYNOTFOUND]: what aopeer (or aoguest) reported for
# the connection ROW (e.g. "r1.conn1"): data checked, segments verified,
# and the expected number of bad / unknown-key segments (default 0).
io_linux_ok() {
	local row=$1 ebad=${2:-0} eknf=${3:-0} good bad knf
	good=$(io_val "$row.ao.pkt_good") bad=$(io_val "$row.ao.pkt_bad")
	knf=$(io_val "$row.ao.pkt_key_not_found")
	echo "  Linux $row: verified=$(io_val "$row.bytes_verified") good=$good bad=$bad" \
		"key_not_found=$knf current=$(io_val "$row.ao.current_key") rnext=$(io_val "$row.ao.rnext")"
	ts_expect '[ "$(io_val "$row.bytes_verified")" -gt 0 ]' "Linux $row: no data verified"
	ts_expect '[ "${good:-0}" -gt 0 ]' "Linux $row: pkt_good"
	ts_expect '[ "$bad" = "$ebad" ]' "Linux $row: pkt_bad"
	ts_expect '[ "$knf" = "$eknf" ]' "Linux $row: pkt_key_not_found"
}

# io_flow PORT|ADDR|ADDR,PORT FIELD: FIELD of our flow (tcpao show --json)
# with local or remote port PORT and/or remote address ADDR (the last one).
io_flow() {
	ts_in "$NS_A" "${CTL[@]}" show --json | "$PY" -c '
import json, sys
want, field = sys.argv[1], sys.argv[2]
def hit(f):
    addr, _, port = want.rpartition(",")
    if not addr and not port.isdigit():
        addr, port = port, ""
    ports = (f["local"].rsplit(":", 1)[1], f["remote"].rsplit(":", 1)[1])
    return (not port or port in ports) and \
        (not addr or f["remote"].rsplit(":", 1)[0].strip("[]") == addr)
flows = [f for f in json.load(sys.stdin)["flows"] if hit(f)]
print(flows[-1].get(field, "") if flows else "")' "$1" "$2"
}

# io_ours_ok PORT [BAD KEYNOTFOUND]: our flow on PORT verified segments
# and had the expected bad / unknown-key counts (default 0).
io_ours_ok() {
	local port=$1 ebad=${2:-0} eknf=${3:-0} good bad knf
	good=$(io_flow "$port" good) bad=$(io_flow "$port" bad) knf=$(io_flow "$port" key-not-found)
	echo "  ours :$port: good=$good bad=$bad key_not_found=$knf" \
		"current=$(io_flow "$port" current) rnext=$(io_flow "$port" rnext)" \
		"sne=$(io_flow "$port" snd-sne)/$(io_flow "$port" rcv-sne)"
	ts_expect '[ "${good:-0}" -gt 0 ]' "ours :$port: good"
	ts_expect '[ "$bad" = "$ebad" ]' "ours :$port: bad"
	ts_expect '[ "$knf" = "$eknf" ]' "ours :$port: key-not-found"
}

# io_stat NAME: one of our global counters (tcpao stat --json).
io_stat() {
	ts_in "$NS_A" "${CTL[@]}" stat --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("counters", d)
print(d.get(sys.argv[1], 0))' "$1"
}

# io_send ADDR PORT ARGS...: our echo client (xfer.py send --echo).
io_send() {
	local addr=$1 port=$2
	shift 2
	ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$addr" "$port" --echo --timeout 30 "$@"
}

# io_verify KEY...: every TCP-AO segment of the capture so far verifies
# with the keys (tcpao verify, our offline verifier); prints its summary.
io_verify() {
	ts_capture_stop
	ts_verify_capture "$IO_PCAP" "$@"
}

# io_keyids SRC_PORT: the KeyIDs of the captured segments sent from port
# SRC_PORT, in order, repeats folded ("1 2 1").
io_keyids() {
	tcpdump -nr "$IO_PCAP" 2>/dev/null "tcp src port $1" |
		sed -n 's/.*tcp-ao keyid \([0-9]*\).*/\1/p' | uniq | tr '\n' ' '
}

# The algorithm matrix, one row per connection, used in both directions:
#   PORT FAMILY ALG SECRET SNDID RCVID MACLEN FLAGS
# SNDID/RCVID are ours (Linux's key is RCVID:SNDID); FLAGS "-" or
# "exclude-options". KeyIDs are unique so that one verify run holds all.
IO_ROWS=(
	"01 4 hmac(sha1) io-sha1-v4 1 1 12 -"
	"02 6 hmac(sha1) io-sha1-v6 2 2 12 -"
	"03 4 cmac(aes128) 0123456789abcdef 3 3 12 -"
	"04 6 cmac(aes128) a-27-byte-cmac-key-for-kdf 4 4 12 -"
	"05 4 hmac(sha256) io-sha256-v4 5 5 16 -"
	"06 6 hmac(sha256) io-sha256-v6 6 6 12 -"
	"07 4 hmac(sha1) io-sha1-excl 7 7 12 exclude-options"
	"08 6 cmac(aes128) a-27-byte-cmac-key-for-kdf 8 8 12 exclude-options"
	"09 4 hmac(sha256) io-sha256-ids 9 59 16 exclude-options"
	"10 6 hmac(sha1) io-sha1-ids 60 10 16 -"
)

# io_row ROW: sets R_PORT R_FAM R_ALG R_SECRET R_SND R_RCV R_MACLEN R_FLAGS,
# R_GUEST R_HOST (addresses of the family) and R_ANY (wildcard).
io_row() {
	read -r R_PORT R_FAM R_ALG R_SECRET R_SND R_RCV R_MACLEN R_FLAGS <<<"$1"
	[ "$R_FLAGS" = - ] && R_FLAGS=
	if [ "$R_FAM" = 4 ]; then
		R_GUEST=$G4 R_HOST=$H4 R_ANY=0.0.0.0 R_LEN=32
	else
		R_GUEST=$G6 R_HOST=$H6 R_ANY=:: R_LEN=128
	fi
}

# io_row_conf BASEPORT: our tcpao.conf block for the current row;
# remote-port or local-port as given.
io_row_conf() { # WHICH-PORT PORT
	echo "peer $R_GUEST/$R_LEN { $1 $2; key sndid $R_SND rcvid $R_RCV alg $R_ALG" \
		"secret \"$R_SECRET\" maclen $R_MACLEN ${R_FLAGS}; }"
}

# io_row_aopeer: aopeer's key options for the current row.
io_row_aopeer() {
	echo "--key '$R_RCV:$R_SND:$R_ALG:$R_SECRET:$R_HOST/$R_LEN' --maclen $R_MACLEN" \
		"${R_FLAGS:+--exclude-options}"
}

# io_row_keys: the row's keys for tcpao verify (ours and Linux's view).
io_row_keys() {
	local k="alg=$R_ALG,secret=$R_SECRET,maclen=$R_MACLEN${R_FLAGS:+,exclude-options}"
	local net=198.18.200.0/24
	[ "$R_FAM" = 6 ] && net=fd00:200::/64
	echo "sndid=$R_SND,rcvid=$R_RCV,$k,peer=$net"
}

# io_linux_key ROW SNDID FIELD: FIELD (pkt_good, pkt_bad, ...) of the key
# with that SendID in aopeer's TCP_AO_GET_KEYS output for ROW.
io_linux_key() {
	local k
	k=$(tr -d '\r' <"$IO_OUT" | sed -n "s/^$1\.\(key[0-9]*\)\.sndid=$2\$/\1/p" | tail -1)
	[ -n "$k" ] && io_val "$1.$k.$3"
}

# io_paused FILE N: waits until xfer.py (output in FILE) paused N times.
io_paused() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(grep -c '^paused at' "$1" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.1
	done
	ts_die "no pause $2 in $1"
}

# io_keyids_to DST_PORT: as io_keyids, for the segments sent to DST_PORT.
io_keyids_to() {
	tcpdump -nr "$IO_PCAP" 2>/dev/null "tcp dst port $1" |
		sed -n 's/.*tcp-ao keyid \([0-9]*\).*/\1/p' | uniq | tr '\n' ' '
}
