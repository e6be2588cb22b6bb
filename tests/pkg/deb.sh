#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# deb: the Debian package on this machine. Builds it (`make deb`) unless
# build/deb holds one, `dpkg -i`, runs the installed /usr/sbin/tcpaod with
# configs under /etc/tcpao in two namespaces through a verified transfer
# (IPv4 and IPv6), then `dpkg --purge` and checks that nothing is left:
# the package's files, /etc/tcpao, rules, ipsets and BPF pins of the
# host, the test's namespaces, processes. The package is purged on every exit. Skipped
# when tcpao is already installed or /etc/tcpao exists (not ours to touch).
source "${TS_DIR:?}/lib.sh"
SRC=${PKG_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
ts_require dpkg tcpdump
[ "$(id -u)" = 0 ] || ts_skip "needs root"
dpkg -s tcpao >/dev/null 2>&1 && ts_skip "tcpao is installed on this machine"
[ -e /etc/tcpao ] && ts_skip "/etc/tcpao exists"
ts_init deb
INSTALLED=0

# What the host has before: compared after the purge.
host_state() {
	echo "rules: $( (iptables-save; ip6tables-save) 2>/dev/null | grep -c tcpao)"
	echo "sets: $(ipset list -n 2>/dev/null | grep tcpao | sort | tr '\n' ' ')"
	echo "bpf: $(ls /sys/fs/bpf 2>/dev/null | grep tcpao | tr '\n' ' ')"
}
installed_daemons() { # pids of the installed tcpaod
	local p
	for p in /proc/[0-9]*; do
		case $(readlink "$p/exe" 2>/dev/null) in
		/usr/sbin/tcpaod*) echo "${p#/proc/}" ;;
		esac
	done
}
deb_cleanup() {
	local pid
	for pid in $(installed_daemons); do kill -TERM "$pid"; done
	# First the namespaces (lib.sh uninstalls a fail-closed daemon's rules
	# and guard with $TCPAOD --remove-rules), while the package is there.
	ts_cleanup
	if [ "$INSTALLED" = 1 ] && dpkg -s tcpao >/dev/null 2>&1; then
		echo "cleanup: dpkg --purge tcpao"
		dpkg --purge tcpao >/dev/null 2>&1
	fi
}
trap deb_cleanup EXIT
BEFORE=$(host_state)

# The package.
debs=("$SRC"/build/deb/tcpao_*.deb)
if [ ! -f "${debs[0]}" ]; then
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		ts_skip "no dpkg-buildpackage or debhelper (make deps)"
	ts_log "make deb"
	# lintian is `make deb`'s business, not this test's: LINTIAN=:
	SECONDS=0
	nice make -C "$SRC" deb LINTIAN=: >"$TS_TMP/make-deb.log" 2>&1 ||
		{ tail -30 "$TS_TMP/make-deb.log"; ts_die "make deb"; }
	debs=("$SRC"/build/deb/tcpao_*.deb)
	ts_log "make deb: ${SECONDS} s"
fi
DEB=${debs[-1]}
ts_log "dpkg -i $(basename "$DEB")"
INSTALLED=1
dpkg -i "$DEB" >"$TS_TMP/dpkg-i.log" 2>&1 || { cat "$TS_TMP/dpkg-i.log"; ts_die "dpkg -i"; }
# lib.sh runs the daemon and the CLI given here: the installed ones.
TCPAOD=/usr/sbin/tcpaod TCPAO_CLI=/usr/bin/tcpao
mapfile -t FILES < <(dpkg -L tcpao | while read -r f; do [ -d "$f" ] || echo "$f"; done)
ts_log "${#FILES[@]} files installed"
for f in /usr/sbin/tcpaod /usr/bin/tcpao /lib/systemd/system/tcpaod.service \
	/lib/systemd/system/tcpaod@.service /usr/share/man/man7/tcpao-socket.7.gz \
	/usr/share/bash-completion/completions/tcpao /usr/include/tcpao/socket.h; do
	ts_expect '[ -e "$f" ]' "$f installed"
done
ts_expect '[ "$(stat -c %a /etc/tcpao/tcpao.conf)" = 600 ]' "tcpao.conf mode 0600"
ts_expect '[ "$(stat -c %a /etc/tcpao)" = 700 ]' "/etc/tcpao mode 0700"
preload=$(ls /usr/lib/*/tcpao/libtcpao-preload.so 2>/dev/null | head -1)
ts_expect '[ -n "$preload" ]' "the preload in <libdir>/tcpao"
ts_expect '[ "$(pkg-config --variable=preload tcpao)" = "$preload" ]' "pkg-config names the preload"
/usr/sbin/tcpaod --version && /usr/bin/tcpao --version || ts_fail "--version"

# The installed tcpaod, configs under /etc/tcpao, a verified transfer.
ts_pair
KA="sndid=7,rcvid=9,alg=hmac(sha1),secret=deb-test" KB="sndid=9,rcvid=7,alg=hmac(sha1),secret=deb-test"
printf 'deb-test' >/etc/tcpao/deb.key && chmod 600 /etc/tcpao/deb.key
for side in a b; do
	if [ $side = a ]; then peer4=$B4 peer6=$B6 snd=7 rcv=9; else peer4=$A4 peer6=$A6 snd=9 rcv=7; fi
	for p in $peer4 $peer6; do
		printf 'peer %s {\n    key sndid %s rcvid %s alg hmac(sha1) secret-file deb.key;\n}\n' \
			"$p" $snd $rcv
	done >/etc/tcpao/$side.conf
	chmod 600 /etc/tcpao/$side.conf
done
ts_daemon "$NS_A" --config /etc/tcpao/a.conf
ts_daemon "$NS_B" --config /etc/tcpao/b.conf
ts_capture "$NS_A" "$TS_TMP/deb.pcap"
port=6100
for dst in $B4 $B6; do
	port=$((port + 1))
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" $port --bytes 300000 --echo --timeout 20
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" $port --bytes 300000 --echo --timeout 20 ||
		ts_fail "transfer to $dst"
	wait $srv || ts_fail "server on $dst"
done
ts_capture_stop
good=$(ts_stat "$NS_B" TCPAOGood)
ts_expect '[ "${good:-0}" -gt 50 ]' "B verified segments (TCPAOGood=$good)"
plain=$(tcpdump -nr "$TS_TMP/deb.pcap" 2>/dev/null | grep -vc tcp-ao)
ts_expect '[ "$plain" = 0 ]' "no segment without AO on the wire"
ts_verify_capture "$TS_TMP/deb.pcap" "$KA,peer=198.18.0.0/24" "$KB,peer=198.18.0.0/24" \
	"$KA,peer=fd00::/64" "$KB,peer=fd00::/64"
for ns in "$NS_A" "$NS_B"; do
	ts_stop_daemon "$ns"
	# Fail closed: a stopped tcpaod may leave its rules; the explicit
	# command takes them away (when this tcpaod has it).
	if /usr/sbin/tcpaod --help 2>&1 | grep -q -- --remove-rules; then
		ts_in "$ns" /usr/sbin/tcpaod --remove-rules || ts_fail "--remove-rules in $ns"
		ts_expect 'ts_rules_gone "$ns"' "no rules left in $ns after --remove-rules"
	fi
	ip netns del "$ns"
done
TS_PIDS=()

# Purge: nothing of the package is left.
ts_log "dpkg --purge tcpao"
dpkg --purge tcpao >"$TS_TMP/dpkg-purge.log" 2>&1 || { cat "$TS_TMP/dpkg-purge.log"; ts_fail "dpkg --purge"; }
cat "$TS_TMP/dpkg-purge.log"
left=0
for f in "${FILES[@]}"; do
	[ -e "$f" ] && { echo "left: $f"; left=$((left + 1)); }
done
ts_expect '[ "$left" = 0 ]' "no file of the package left"
ts_expect '[ ! -e /etc/tcpao ]' "/etc/tcpao removed by purge"
ts_expect '[ ! -e /var/lib/tcpao ]' "/var/lib/tcpao removed by purge"
ts_expect '[ -z "$(installed_daemons)" ]' "no installed tcpaod left running"
# Other tests may add and delete namespaces meanwhile: ours must be gone.
ts_expect '! ip netns list | grep -q -e "$NS_A" -e "$NS_B"' "the test's namespaces deleted"
AFTER=$(host_state)
[ "$BEFORE" = "$AFTER" ] || { echo "before: $BEFORE"; echo "after: $AFTER"; ts_fail "host state changed"; }
ts_end
