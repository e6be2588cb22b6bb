#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A pid read later belongs to another program (issue 8, item 2): nobody
# connects, then its process execs a setuid-root program that waits on its
# stdin (euid 0, every capability), while a child that shares the
# connection sends key-add. The daemon is stopped (SIGSTOP) meanwhile, so
# it accepts only after the exec: credentials read from /proc/PID then
# describe the setuid program, not who connected. The key must be refused.
source "$TS_DIR/lib.sh"
source "$SEC_DIR/lib.sh"
sec_init setuid-exec
HELPER=
for h in /usr/lib/polkit-1/polkit-agent-helper-1 /usr/libexec/polkit-agent-helper-1; do
	[ -u "$h" ] && HELPER=$h && break
done
[ -n "$HELPER" ] || ts_skip "no setuid-root program that waits on its stdin"
ts_pair
ts_daemon "$NS_A" --key "id=1,alg=hmac(sha1),secret=setuid-test,peer=$B4/32"
pid=$(ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" raw ping | sed -n 's/.* pid=\([0-9]*\).*/\1/p')
[ -n "$pid" ] || ts_die "no daemon pid"

kill -STOP "$pid"
ts_start ts_in "$NS_A" "${NOBODY[@]}" "$PY" "$ATK/attack.py" setuid "$HELPER" key-add \
	"sndid=5,rcvid=5,alg=hmac(sha1),secret=hex:6174746163686572,peer=$B4/32" current rnext \
	>"$TS_TMP/attack.out" 2>&1
attacker=$TS_LAST_PID
sec_wait_line "$TS_TMP/attack.out" ready || { kill -CONT "$pid"; ts_die "the attacker did not start"; }
ps -o pid,uid,euid,comm -C "$(basename "$HELPER")" 2>/dev/null
kill -CONT "$pid"
sec_wait_line "$TS_TMP/attack.out" "^ok\|^error" 10
cat "$TS_TMP/attack.out"
ts_expect 'grep -q "^error 1 .*root or CAP_NET_ADMIN" "$TS_TMP/attack.out"' "key-add after the exec gets EPERM"
ts_expect '! ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" raw key-list | grep -q "sndid=5"' "no key 5 in tcpaod"
wait "$attacker"
ts_end
