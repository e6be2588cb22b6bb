#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tcpao CLI against real daemons: a config file with a secret file,
# key list / show / stat (text and JSON, never a secret), privilege, a key
# rotation in the pause of a running transfer (deleting the key in use is
# refused), reload (good and broken files).
source "$TS_DIR/lib.sh"
ts_init cli
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_require setpriv
ts_pair
T=$TCPAO_CLI
SECRET1=cli-test-secret-one SECRET2=cli-test-secret-two

# A from a config file, B from --key options.
printf '%s\n' "$SECRET1" >"$TS_TMP/k1.key"
chmod 600 "$TS_TMP/k1.key"
cat >"$TS_TMP/a.conf" <<EOF
# the test's policy
peer $B4/32 {
    key id 1 alg hmac(sha1) secret-file k1.key;
}
EOF
chmod 600 "$TS_TMP/a.conf"
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
ts_daemon "$NS_B" --key "id=1,alg=hmac(sha1),secret=$SECRET1,peer=$A4/32"

cli() { ts_in "$NS_A" "$T" "$@"; }
cli_b() { ts_in "$NS_B" "$T" "$@"; }
cli_nobody() { ts_in "$NS_A" setpriv --reuid=65534 --regid=65534 --clear-groups "$T" "$@"; }
json_ok() { "$PY" -c 'import json, sys; json.load(sys.stdin)'; }

ts_log "key list"
out=$(cli key list)
echo "$out"
ts_expect 'grep -q "peer $B4/32 .*a.conf:2" <<<"$out"' "list names the peer and its file:line"
ts_expect 'grep -q "key sndid 1 rcvid 1 alg hmac(sha1) maclen 12  \[current\]  \[rnext\]" <<<"$out"' "list shows key 1 current/rnext"
out=$(cli key list --json)
ts_expect 'json_ok <<<"$out"' "key list --json is JSON"
ts_expect '"$PY" -c "import json,sys; d=json.load(sys.stdin); assert d[\"peers\"][0][\"keys\"][0][\"sndid\"] == 1" <<<"$out"' "key list --json has sndid 1"

ts_log "privilege: nobody may read, not change"
out=$(echo x | cli_nobody key add "id=5,alg=hmac(sha1),secret-file=-,peer=$B4" 2>&1; echo "rc=$?")
ts_expect 'grep -q "root or CAP_NET_ADMIN" <<<"$out" && grep -q "rc=1" <<<"$out"' "nobody cannot add a key"
ts_expect 'cli_nobody key list >/dev/null' "nobody can list keys"

ts_log "secret files must be private"
printf 'x\n' >"$TS_TMP/open.key"
chmod 644 "$TS_TMP/open.key"
out=$(cli key add "id=6,alg=hmac(sha1),secret-file=$TS_TMP/open.key,peer=$B4" 2>&1)
ts_expect 'grep -q "accessible by group or others" <<<"$out"' "a world-readable secret file is refused"
out=$(cli key add "id=6,alg=hmac(sha1),secret=x,peer=$B4" 2>&1; echo "rc=$?")
ts_expect 'grep -q "secret-file=" <<<"$out" && grep -q "rc=1" <<<"$out"' "secret= on the command line is refused"

ts_log "rotation during a transfer"
BYTES=4000000
ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve $B4 7001 --bytes $BYTES --echo --timeout 30
srv=$TS_LAST_PID
ts_wait_listen "$NS_B" 7001
ts_start ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send $B4 7001 --bytes $BYTES --echo \
	--timeout 30 --pause-at 1000000 --pause 4
snd=$TS_LAST_PID
for _ in $(seq 100); do cli show | grep -q ESTAB && break; sleep 0.05; done
sleep 0.5 # into the pause
cli show
printf '%s\n' "$SECRET2" >"$TS_TMP/k2.key"
chmod 600 "$TS_TMP/k2.key"
cli key add "id=2,alg=hmac(sha1),secret-file=$TS_TMP/k2.key,peer=$B4" || ts_fail "key add 2 on A"
cli_b key add "id=2,alg=hmac(sha1),secret-file=$TS_TMP/k2.key,peer=$A4" || ts_fail "key add 2 on B"
out=$(cli key del "id=1,peer=$B4" 2>&1; echo "rc=$?")
echo "$out"
ts_expect 'grep -q "live connection" <<<"$out" && grep -q "rc=1" <<<"$out"' "deleting the key in use is refused"
cli key set "peer=$B4" --rnext 2 || ts_fail "key set on A"
cli_b key set "peer=$A4" --rnext 2 || ts_fail "key set on B"
wait $snd || ts_fail "sender"
wait $srv || ts_fail "server"
out=$(cli show)
echo "$out"
out=$(cli show --json)
ts_expect 'json_ok <<<"$out"' "show --json is JSON"
ts_expect '"$PY" -c "import json,sys; f=json.load(sys.stdin)[\"flows\"][0]; assert (f[\"current\"], f[\"rnext\"]) == (2, 2), f" <<<"$out"' "the flow moved to key 2 both ways"
cli key del "id=1,peer=$B4" || ts_fail "deleting key 1 after the switch"
cli_b key del "id=1,peer=$A4" || ts_fail "deleting key 1 on B"

ts_log "stat"
out=$(cli stat)
echo "$out"
ts_expect 'grep -Eq "^TCPAOGood +[1-9]" <<<"$out"' "TCPAOGood counted"
ts_expect 'grep -Eq "^TCPAOBad +0$" <<<"$out"' "no bad MAC during the rotation"
out=$(cli stat --json)
ts_expect '"$PY" -c "import json,sys; d=json.load(sys.stdin); assert d[\"TCPAOGood\"] > 0 and d[\"TCPAOBad\"] == 0" <<<"$out"' "stat --json"
ts_expect '[ "$(ts_stat "$NS_B" TCPAOBad)" = 0 ]' "B: no bad MAC"

ts_log "no secret in any output"
all=$(cli key list; cli key list --json; cli show; cli show --json; cli stat)
ts_expect '! grep -q -e "$SECRET1" -e "$SECRET2" -e "$(printf %s "$SECRET2" | od -An -tx1 | tr -d " \n" | head -c 16)" <<<"$all"' "outputs hold no secret"

ts_log "reload"
cat >>"$TS_TMP/a.conf" <<EOF
peer 198.18.0.0/24 { local-port 9999; key id 3 alg cmac(aes128) secret hex:000102030405060708090a0b0c0d0e0f; }
EOF
cli reload || ts_fail "reload"
out=$(cli key list)
echo "$out"
ts_expect 'grep -q "local-port 9999" <<<"$out"' "reload added the new peer"
ts_expect 'grep -q "key sndid 3 rcvid 3 alg cmac(aes)" <<<"$out"' "reload added key 3"
echo "peer 198.18.0.9 { key id 1 alg nonsense secret x; }" >>"$TS_TMP/a.conf"
out=$(cli reload 2>&1; echo "rc=$?")
echo "$out"
ts_expect 'grep -q "a.conf:6: key: unknown algorithm" <<<"$out" && grep -q "rc=1" <<<"$out"' "a broken file is refused with file:line"
ts_expect 'cli key list | grep -q "key sndid 3"' "the policy stays as it was"
ts_end
