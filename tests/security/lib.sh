# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the security tests: tests/system/lib.sh, plus the attacker, a
# local unprivileged user (nobody) with the preload. The build directory
# may be unreadable by nobody: what it runs is copied to a 0755 directory.
source "$TS_DIR/lib.sh"

# sec_attacker_init: $ATK holds the preload and usersock.py.
sec_attacker_init() {
	[ -n "${TCPAO_PRELOAD:-}" ] && [ -e "$TCPAO_PRELOAD" ] || ts_skip "TCPAO_PRELOAD not set"
	ts_require setpriv
	ATK=$(mktemp -d /tmp/tcpao-attacker-XXXXXX)
	chmod 0755 "$ATK"
	cp "$TCPAO_PRELOAD" "$ATK/preload.so"
	cp "$SEC_DIR/usersock.py" "$ATK/usersock.py"
	chmod 0755 "$ATK/preload.so" "$ATK/usersock.py"
	SEC_CLEAN+=("$ATK")
}
SEC_CLEAN=()
sec_cleanup() { rm -rf "${SEC_CLEAN[@]}"; }

# as_nobody NS CMD...: CMD as uid/gid 65534 in NS, with the preload.
as_nobody() {
	local ns=$1
	shift
	ts_in "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups \
		env LD_PRELOAD="$ATK/preload.so" TCPAO_NO_AUTOSTART=1 "$@"
}

# as_root_preloaded NS CMD...: a root program with the preload.
as_root_preloaded() {
	local ns=$1
	shift
	ts_in "$ns" env LD_PRELOAD="$ATK/preload.so" TCPAO_NO_AUTOSTART=1 "$@"
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
