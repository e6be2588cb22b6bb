#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# reload-keeps (issue 8, item 11): `reload` replaces only what came from
# the config file. During a live connection whose keys came through the
# preload (both ends), with a runtime key added by root: two reloads of
# B's daemon. The connection goes on, the socket's entries and the runtime
# key survive, and the listener with a key for A still refuses A's
# connections that do not use that key (before: its entry went with the
# reload, and A's connection signed with the host key was accepted).
# `reload dry-run` lists the change, warns that it would take the current
# key of a live host-policy session, and applies nothing.
source "$SEC_DIR/lib.sh"
ts_init reload-keeps
sec_attacker_init
trap 'sec_cleanup; ts_cleanup' EXIT
ts_pair
printf '%s' host-secret >"$TS_TMP/host.key"
conf() { # FILE PEER [more key lines]
	{ echo "peer $2/32 {"
	  echo "	key id 1 alg hmac(sha1) secret-file \"$TS_TMP/host.key\";"
	  [ -n "${3:-}" ] && echo "$3"
	  echo "}"; } >"$1"
	chmod 600 "$1"
}
conf "$TS_TMP/a.conf" $B4
conf "$TS_TMP/b.conf" $A4
chmod 600 "$TS_TMP/host.key"
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
ts_daemon "$NS_B" --config "$TS_TMP/b.conf"
ts_in "$NS_B" "$PY" "$TS_DIR/ctl.py" raw "key-add sndid=7,rcvid=7,alg=hmac(sha1),secret=runtime-secret,peer=198.18.0.9/32" ||
	ts_die "runtime key-add"

ts_log "a BGP-like session on the sockets' own keys (id 2), both ends preloaded"
ts_start as_nobody "$NS_B" "$PY" "$ATK/usersock.py" echo $B4 8179 2 $A4 >"$TS_TMP/echo.out" 2>&1
sec_wait_line "$TS_TMP/echo.out" listening || ts_die "listener: $(cat "$TS_TMP/echo.out")"
ts_start as_root_preloaded "$NS_A" "$PY" "$ATK/usersock.py" talk $B4 8179 2 15 >"$TS_TMP/talk.out" 2>&1
talk=$TS_LAST_PID
sec_wait_line "$TS_TMP/talk.out" connected || ts_die "session: $(cat "$TS_TMP/talk.out")"
# A second listener of nobody's, idle, with a key for A.
ts_start as_nobody "$NS_B" "$PY" "$ATK/usersock.py" listen $B4 8180 40 2 $A4 >"$TS_TMP/l2.out" 2>&1
sec_wait_line "$TS_TMP/l2.out" listening || ts_die "listener 2"
# And a session of the host policy (file key 1), no program keys.
ts_start ts_in "$NS_B" "$PY" "$SEC_DIR/usersock.py" echo $B4 8181 0 - >/dev/null 2>&1
ts_wait_listen "$NS_B" 8181
ts_start ts_in "$NS_A" "$PY" "$SEC_DIR/usersock.py" talk $B4 8181 0 15 >"$TS_TMP/host.out" 2>&1
host=$TS_LAST_PID
sec_wait_line "$TS_TMP/host.out" connected || ts_die "host session: $(cat "$TS_TMP/host.out")"
sleep 1
# current-age is the time since the current key became current: it moves
# by itself, what is compared is the policy.
keylist() { sec_keylist "$1" | sed 's/ current-age=[0-9]*//'; }
before=$(keylist "$NS_B")
echo "$before"

ts_log "reload dry-run with a changed file (key 1 dropped, key 3 added)"
conf "$TS_TMP/b.conf" $A4 "	key id 3 alg hmac(sha1) secret-file \"$TS_TMP/host.key\";"
sed -i '/key id 1 /d' "$TS_TMP/b.conf"
plan=$(ts_in "$NS_B" "$PY" "$TS_DIR/ctl.py" raw reload dry-run)
echo "$plan"
ts_expect 'grep -q "^change action=drop .*sndid=1 .*origin=file" <<<"$plan"' "dry-run: key 1 would go"
ts_expect 'grep -q "^change action=add .*sndid=3 " <<<"$plan"' "dry-run: key 3 would come"
ts_expect '! grep -q "^change action=drop .*origin=\(runtime\|socket\)" <<<"$plan"' "dry-run: no runtime or socket key would go"
ts_expect 'grep -q "^summary .*live-flows-losing-keys=1 .*applied=no" <<<"$plan"' \
	"dry-run: warns that the host session's current key would go"
after=$(keylist "$NS_B")
ts_expect '[ "$before" = "$after" ]' "dry-run applied nothing"
conf "$TS_TMP/b.conf" $A4

ts_log "two reloads during the session"
for i in 1 2; do
	ts_in "$NS_B" "$PY" "$TS_DIR/ctl.py" raw reload >/dev/null || ts_fail "reload $i"
	sleep 1
done
ages=$(sec_keylist "$NS_B")
after=$(sed 's/ current-age=[0-9]*//' <<<"$ages")
echo "$ages"
ts_expect 'grep -q "^key .*peer=198.18.0.9/32 .*sndid=7 .*origin=runtime" <<<"$after"' "the runtime key survived"
ts_expect 'grep -Eq "^peer peer=198.18.0.9/32 .*current-age=([3-9]|[1-9][0-9]+) " <<<"$ages"' \
	"and so did its current key's age (3 s or more: two reloads 1 s apart)"
n=$(grep -c "^peer .*origin=socket" <<<"$after")
ts_expect '[ "$n" -ge 3 ]' "the sockets' entries survived (listener, accepted, idle listener: $n)"
ts_expect '[ "$(grep "^key " <<<"$before" | sed "s/ serial=[0-9]*//" | sort)" = "$(grep "^key " <<<"$after" | sed "s/ serial=[0-9]*//" | sort)" ]' \
	"the keys are what they were"
wait $talk || ts_fail "the session did not survive the reloads: $(cat "$TS_TMP/talk.out")"
cat "$TS_TMP/talk.out"
wait $host || ts_fail "the host session did not survive the reloads: $(cat "$TS_TMP/host.out")"
cat "$TS_TMP/host.out"

ts_log "A without the listener's key, to nobody's listener (key for A)"
out=$(ts_in "$NS_A" "$PY" "$ATK/usersock.py" plain $B4 8180)
echo "$out"
ts_expect '[[ "$out" != "connected" ]]' "refused: only the listener's key opens it"
ts_end
