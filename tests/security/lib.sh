# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the security tests, on top of tests/system/lib.sh: the attacker
# (user nobody) and what it needs, copied where nobody can read it (the
# build directory may be under /root).
ATK=
sec_cleanup() { [ -n "$ATK" ] && rm -rf "$ATK"; ts_cleanup; }

# sec_init NAME: ts_init, then $ATK (mode 0755) with attack.py, ctl.py,
# aosock.py and the tcpao CLI, and $ATK/home, nobody's.
sec_init() {
	ts_init "$1"
	ts_require setpriv unshare
	trap sec_cleanup EXIT
	ATK=$(mktemp -d /tmp/tcpao-attacker-XXXXXX)
	chmod 755 "$ATK"
	cp "$SEC_DIR/attack.py" "$TS_DIR/ctl.py" "$TS_DIR/aosock.py" "$ATK/"
	[ -x "${TCPAO_CLI:-}" ] && cp "$TCPAO_CLI" "$ATK/tcpao"
	[ -n "${TCPAO_PRELOAD:-}" ] && [ -e "$TCPAO_PRELOAD" ] && cp "$TCPAO_PRELOAD" "$ATK/preload.so"
	chmod -R a+rX "$ATK"
	mkdir "$ATK/home" # the attacker's own files
	chown 65534:65534 "$ATK/home"
}

# "${NOBODY[@]}" CMD...: runs CMD as nobody, no groups, no capabilities
# (an array, not a function: it follows ts_in / ip netns exec).
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# sec_secret FILE TEXT: a root secret file of mode 0600.
sec_secret() { (umask 077 && printf '%s' "$2" >"$1"); }

# sec_ctl_path NS: the daemon's socket in NS (per netns cookie).
sec_ctl_path() {
	ts_in "$1" "$PY" -c 'import socket, struct, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
c = struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0]
print("%s/netns-%d.sock" % (os.environ.get("TCPAO_RUNDIR", "/run/tcpao"), c))'
}

# sec_wait_line FILE TEXT [TENTHS]: waits until FILE has a line with TEXT.
sec_wait_line() {
	for _ in $(seq "${3:-50}"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
