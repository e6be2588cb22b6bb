#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# state-origin (issue 8, item 3): user nobody registers a key for its own
# socket (the preload) and connects to a configured peer with it; tcpaod
# is SIGKILLed and restarted. The user's key must not become host policy:
# before, restore put it into the configured peer's entry as [current].
# After: it is back only as the socket's own key (the socket lives), with
# its origin, and the state directory and files are 0700 / 0600.
source "$SEC_DIR/lib.sh"
ts_init state-origin
sec_attacker_init
trap 'sec_cleanup; ts_cleanup' EXIT
ts_pair
K="alg=hmac(sha1)"
# B: a plain server; its host policy has the user's key for A (id 5).
printf '%s' user-socket-secret >"$TS_TMP/user.key"
printf '%s' root-secret >"$TS_TMP/root.key"
ts_daemon "$NS_B" --key "id=5,$K,secret=user-socket-secret,peer=$A4/32"
ts_start ts_in "$NS_B" "$PY" "$SEC_DIR/usersock.py" echo $B4 8179 0 - >/dev/null 2>&1
ts_wait_listen "$NS_B" 8179
# A: root's host policy for B (id 1), from the config file.
cat >"$TS_TMP/a.conf" <<CONF
peer $B4/32 {
	key id 1 alg hmac(sha1) secret-file "$TS_TMP/root.key";
}
CONF
chmod 600 "$TS_TMP/a.conf" "$TS_TMP"/*.key
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"

ts_log "nobody connects to B with its own socket key (id 5)"
ts_start as_nobody "$NS_A" "$PY" "$ATK/usersock.py" talk $B4 8179 5 25 >"$TS_TMP/talk.out" 2>&1
sec_wait_line "$TS_TMP/talk.out" connected || ts_die "nobody's connection: $(cat "$TS_TMP/talk.out")"
sleep 1

ts_log "SIGKILL and restart A's daemon"
ts_stop_daemon "$NS_A" KILL
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
sleep 0.5
keys=$(sec_keylist "$NS_A")
echo "$keys"
# A key record with sndid 5 under a peer entry that is not a socket's.
bad=$(awk '/^peer / { host = ($0 !~ /origin=socket/) }
	   /^key / && host && / sndid=5 / { print }' <<<"$keys")
ts_expect '[ -z "$bad" ]' "nobody's key is not in host policy: $bad"
ts_expect '! grep -E "^key .* sndid=5 .*current=yes" <<<"$keys" | grep -vq "origin=socket"' \
	"nobody's key is no host peer's current key"
ts_expect 'grep -E "^key .* sndid=5 " <<<"$keys" | grep -q "origin=socket:uid%3D65534"' \
	"it is back as the socket's own key"
ts_expect 'grep -q "^peer .*origin=socket uid=65534" <<<"$keys"' "in nobody's socket's entry"
host=$(awk '/^peer / { host = ($0 !~ /origin=socket/) } /^key / && host && / sndid=1 / { print }' <<<"$keys")
ts_expect '[[ "$host" == *current=yes* ]]' "root's key is still the peer's current key"

mode=$(stat -c %a "$TS_TMP/state-$NS_A")
ts_expect '[ "$mode" = 700 ]' "the state directory is 0700 ($mode)"
for f in "$TS_TMP/state-$NS_A"/*; do
	m=$(stat -c %a "$f")
	ts_expect '[ "$m" = 600 ]' "$f is 0600 ($m)"
done
ts_end
