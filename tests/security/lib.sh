# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the security tests, on top of tests/system/lib.sh: the attacker
# (user nobody) and what it needs, copied where nobody can read it (the
# build directory may be under /root).
source "$TS_DIR/lib.sh"

ATK=
sec_cleanup() { [ -n "$ATK" ] && rm -rf "$ATK"; }

# sec_attacker_dir: $ATK (mode 0755) with the attacker's tools, and
# $ATK/home, nobody's own directory.
sec_attacker_dir() {
	[ -n "$ATK" ] && return 0
	ATK=$(mktemp -d /tmp/tcpao-attacker-XXXXXX)
	chmod 755 "$ATK"
	cp "$SEC_DIR/attack.py" "$SEC_DIR/usersock.py" "$TS_DIR/ctl.py" "$TS_DIR/aosock.py" "$ATK/"
	[ -x "${TCPAO_CLI:-}" ] && cp "$TCPAO_CLI" "$ATK/tcpao"
	[ -n "${TCPAO_PRELOAD:-}" ] && [ -e "$TCPAO_PRELOAD" ] && cp "$TCPAO_PRELOAD" "$ATK/preload.so"
	chmod -R a+rX "$ATK"
	mkdir "$ATK/home"
	chown 65534:65534 "$ATK/home"
}

# sec_init NAME: ts_init, the attacker's directory, cleanup of both.
sec_init() {
	ts_init "$1"
	ts_require setpriv unshare
	trap 'sec_cleanup; ts_cleanup' EXIT
	sec_attacker_dir
}

# sec_attacker_init (after ts_init): the attacker with the preload.
sec_attacker_init() {
	[ -n "${TCPAO_PRELOAD:-}" ] && [ -e "$TCPAO_PRELOAD" ] || ts_skip "TCPAO_PRELOAD not set"
	ts_require setpriv
	sec_attacker_dir
}

# "${NOBODY[@]}" CMD...: runs CMD as nobody, no groups, no capabilities
# (an array, not a function: it follows ts_in / ip netns exec).
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# as_nobody NS CMD...: CMD as nobody in NS, with the preload.
as_nobody() {
	local ns=$1
	shift
	ts_in "$ns" "${NOBODY[@]}" env LD_PRELOAD="$ATK/preload.so" TCPAO_NO_AUTOSTART=1 "$@"
}

# as_root_preloaded NS CMD...: a root program with the preload.
as_root_preloaded() {
	local ns=$1
	shift
	ts_in "$ns" env LD_PRELOAD="$ATK/preload.so" TCPAO_NO_AUTOSTART=1 "$@"
}

# sec_secret FILE TEXT: a root secret file of mode 0600.
sec_secret() { (umask 077 && printf '%s' "$2" >"$1"); }

# sec_ctl_path NS: the daemon's socket in NS (per netns cookie).
sec_ctl_path() {
	ts_in "$1" "$PY" -c 'import socket, struct, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
c = struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0]
print("%s/netns-%d.sock" % (os.environ.get("TCPAO_RUNDIR", "/run/tcpao"), c))'
}

# sec_wait_line FILE TEXT [SECONDS]: until FILE has a line with TEXT.
sec_wait_line() {
	local i
	for i in $(seq $((${3:-10} * 20))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# sec_keylist NS: the daemon's key-list reply, one record a line.
sec_keylist() { ts_in "$1" "$PY" "$TS_DIR/ctl.py" raw key-list; }
