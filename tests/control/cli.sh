#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tcpao CLI against real daemons: a config file with a secret file,
# key list / show / stat (text and JSON, never a secret), privilege, a key
# rotation in the pause of a running transfer (deleting the key in use is
# refused), reload (good and broken files). The conventions of issue 9: --help exits 0
# on every command, usage errors 2, failed operations 1; every --json output
# parses without duplicate keys, kebab-case, typed (jsoncheck.py), errors
# as JSON; show's filters, stat --delta, algorithm names as operators
# write them (BIRD's in tcpao.conf, RFC 5926's in a key spec).
source "$TS_DIR/lib.sh"
ts_init cli
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_require setpriv
ts_pair
T=$TCPAO_CLI
SECRET1=cli-test-secret-one SECRET2=cli-test-secret-two

# A from a config file, B from --key options.
ts_conf_peer "$TS_TMP/a.conf" "$B4/32" "$TS_TMP/k1.key" "$SECRET1"
ts_daemon "$NS_A" --config "$TS_TMP/a.conf"
ts_daemon "$NS_B" --key "id=1,alg=hmac(sha1),secret=$SECRET1,peer=$A4/32"

cli() { ts_in "$NS_A" "$T" "$@"; }
cli_b() { ts_in "$NS_B" "$T" "$@"; }
cli_nobody() { ts_in "$NS_A" setpriv --reuid=65534 --regid=65534 --clear-groups "$T" "$@"; }
json_ok() { "$PY" -c 'import json, sys; json.load(sys.stdin)'; }
JC="$(dirname "${BASH_SOURCE[0]}")/jsoncheck.py"
# jc KIND [STATUS]: stdin is a valid --json output of that kind
jc() { "$PY" "$JC" "$@" >/dev/null; }
# status_of CMD...: the exit status, output dropped
status_of() { "$@" >/dev/null 2>&1; echo $?; }

ts_log "exit statuses: --help 0 everywhere, usage 2, failure 1"
for c in "--help" "help" "key --help" "key add --help" "key del --help" "key set --help" \
	"key list --help" "show --help" "stat --help" "stat --prometheus --help" "reload --help" \
	"verify --help" "demo --help" "version --help" "--version"; do
	ts_expect '[ "$(status_of cli $c)" = 0 ]' "tcpao $c exits 0"
done
for c in "" "frobnicate" "key" "key frob" "key add" "key add a b" "key del" "key set" \
	"key set --current x" "key list extra" "show extra" "show port 99999" "show state nosuch" \
	"show peer not-an-address" "stat --bogus" "reload --bogus" "verify" "version extra"; do
	ts_expect '[ "$(status_of cli $c)" = 2 ]' "tcpao $c exits 2"
	out=$(cli $c --json 2>/dev/null)
	ts_expect 'jc error 2 <<<"$out"' "tcpao $c --json: a JSON error with code 2"
done
ts_expect '[ "$(status_of cli key add "id=1,alg=nosuch,secret-file=$TS_TMP/k1.key,peer=$B4")" = 2 ]' "key add with a malformed spec exits 2"
ts_expect '[ "$(status_of cli key add "id=1,alg=hmac(sha1),secret-file=$TS_TMP/nosuch.key,peer=$B4")" = 1 ]' "key add with a missing secret file exits 1"
ts_expect '[ "$(status_of cli verify /nonexistent.pcap --key "id=1,alg=hmac(sha1),secret-file=$TS_TMP/k1.key")" = 1 ]' "verify of a missing capture exits 1"
ts_expect '[ "$(status_of cli key del "id=77,peer=$B4")" = 1 ]' "deleting an unknown key exits 1"
ts_expect '[ "$(status_of cli key del "id=300,peer=$B4")" = 2 ]' "key del with a malformed KEY (tcpaod's EINVAL) exits 2"
ts_expect '[ "$(status_of cli key set peer=not-a-prefix --current 1)" = 2 ]' "key set with a malformed peer exits 2"
out=$(cli key del "id=77,peer=$B4" --json 2>/dev/null)
ts_expect 'jc error 1 <<<"$out"' "key del --json: the failure as a JSON error with code 1"
out=$(TCPAO_CTL=/nonexistent/sock cli show --json)
ts_expect 'jc error 1 <<<"$out"' "no daemon: a JSON error with code 1"
ts_expect '[ "$(TCPAO_CTL=/nonexistent/sock status_of cli stat)" = 1 ]' "no daemon: exit 1"
out=$(cli --version --json)
ts_expect 'jc version <<<"$out"' "--version --json"
out=$(cli --json version)
ts_expect 'jc version <<<"$out"' "--json version"

ts_log "key list"
out=$(cli key list)
echo "$out"
ts_expect 'grep -q "peer $B4/32 .*a.conf:2" <<<"$out"' "list names the peer and its file:line"
ts_expect 'grep -q "key sndid 1 rcvid 1 alg hmac(sha1) maclen 12  \[current\]  \[rnext\]" <<<"$out"' "list shows key 1 current/rnext"
out=$(cli key list --json)
ts_expect 'json_ok <<<"$out"' "key list --json is JSON"
ts_expect 'jc key-list <<<"$out"' "key list --json: no duplicate keys, kebab-case, typed"
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
ts_expect 'jc show <<<"$out"' "show --json: no duplicate keys, kebab-case, typed"
ts_log "show filters"
n_flows() { cli show --json "$@" | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["flows"]))'; }
all=$(n_flows)
ts_expect '[ "$all" -ge 1 ]' "show lists the transfer's connection"
ts_expect '[ "$(n_flows peer $B4)" = "$all" ] && [ "$(n_flows peer $B4/32)" = "$all" ]' "peer ADDR and peer PREFIX match"
ts_expect '[ "$(n_flows peer 203.0.113.0/24)" = 0 ]' "another peer matches nothing"
ts_expect '[ "$(n_flows port 7001)" = "$all" ] && [ "$(n_flows port 7002)" = 0 ]' "port N: the remote port 7001 matches, 7002 not"
lport=$(cli show --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["flows"][0]["local"].rsplit(":", 1)[1])')
ts_expect '[ "$(n_flows port $lport)" -ge 1 ]' "port N: the local port matches"
st=$(cli show --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["flows"][0]["state"])')
case $st in ESTAB) ss_st=established ;; *) ss_st=$(tr A-Z a-z <<<"$st") ;; esac
ts_expect '[ "$(n_flows state $ss_st peer $B4 port 7001)" -ge 1 ]' "state $ss_st (with peer and port) matches"
ts_expect '[ "$(n_flows state syn-sent)" = 0 ]' "state syn-sent matches nothing"
out=$(cli show peer 203.0.113.0/24)
ts_expect 'grep -q "no TCP-AO connections match" <<<"$out"' "text: nothing matches"
out=$(cli show --json)
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
ts_expect 'jc stat <<<"$out"' "stat --json: numbers"

ts_log "stat --delta (nstat's history, per user)"
export XDG_RUNTIME_DIR=$TS_TMP/xdg
mkdir -m 700 "$XDG_RUNTIME_DIR"
ts_expect '[ "$(status_of cli stat --reset)" = 0 ]' "stat --reset without history"
out=$(cli stat --delta --json)
ts_expect 'jc stat <<<"$out"' "stat --delta --json"
first=$("$PY" -c 'import json, sys; print(json.load(sys.stdin)["TCPAOGood"])' <<<"$out")
ts_expect '[ "$first" -gt 0 ]' "the first --delta counts since tcpaod started ($first)"
hist=$(ls "$XDG_RUNTIME_DIR"/.tcpao-stat.u0.ns* 2>/dev/null | head -1)
ts_expect '[ -n "$hist" ] && [ "$(stat -c %a "$hist")" = 600 ]' "history file in XDG_RUNTIME_DIR, mode 0600"
out=$(cli stat -d)
ts_expect 'grep -Eq "^TCPAOGood +0$" <<<"$out"' "a second --delta: no change"
cli stat --reset
out=$(cli stat -d --json)
ts_expect '[ "$("$PY" -c "import json, sys; print(json.load(sys.stdin)[\"TCPAOGood\"])" <<<"$out")" -ge "$first" ]' "after --reset, counts since tcpaod started again"
rm -f "$hist"
ln -s "$TS_TMP/elsewhere" "$hist"
ts_expect '[ "$(status_of cli stat --delta)" = 1 ] && [ ! -e "$TS_TMP/elsewhere" ]' "a symbolic link as history is refused, not followed"
rm -f "$hist"
unset XDG_RUNTIME_DIR
ts_expect '[ "$(ts_stat "$NS_B" TCPAOBad)" = 0 ]' "B: no bad MAC"

ts_log "no secret in any output"
all=$(cli key list; cli key list --json; cli show; cli show --json; cli stat)
ts_expect '! grep -q -e "$SECRET1" -e "$SECRET2" -e "$(printf %s "$SECRET2" | od -An -tx1 | tr -d " \n" | head -c 16)" <<<"$all"' "outputs hold no secret"

ts_log "reload"
cat >>"$TS_TMP/a.conf" <<EOF
peer 198.18.0.0/24 { local-port 9999; key id 3 alg cmac(aes128) secret hex:000102030405060708090a0b0c0d0e0f; }
peer 198.18.7.0/24 { key id 4 alg hmac sha256 secret x maclen 16; key id 5 alg AES-128-CMAC-96 secret y; }
EOF
out=$(cli reload --dry-run --json)
ts_expect 'jc reload <<<"$out"' "reload --dry-run --json: typed, kebab-case"
ts_expect '"$PY" -c "import json,sys; d=json.load(sys.stdin); assert d[\"summary\"][\"applied\"] is False and d[\"summary\"][\"add\"] == len(d[\"changes\"]) and sorted(c[\"sndid\"] for c in d[\"changes\"] if c[\"peer\"] == \"198.18.7.0/24\") == [4, 5], d" <<<"$out"' "dry run: keys 4 and 5 to add, nothing applied"
cli reload || ts_fail "reload"
out=$(cli key list)
ts_expect 'grep -q "key sndid 4 rcvid 4 alg hmac(sha256) maclen 16" <<<"$out" && grep -q "key sndid 5 rcvid 5 alg cmac(aes)" <<<"$out"' "BIRD's 'hmac sha256' and RFC 5926's AES-128-CMAC-96 in tcpao.conf"
printf 'z\n' >"$TS_TMP/k9.key"
chmod 600 "$TS_TMP/k9.key"
out=$(cli key add "id=9,alg=HMAC-SHA-1-96,secret-file=$TS_TMP/k9.key,peer=198.18.9.0/24" --json)
ts_expect 'jc ok <<<"$out"' "key add --json: ok"
cli key add "id=10,alg=cmac-aes128,secret-file=$TS_TMP/k9.key,peer=198.18.9.0/24" || ts_fail "key add alg=cmac-aes128"
out=$(cli key list)
ts_expect 'grep -q "key sndid 9 rcvid 9 alg hmac(sha1)" <<<"$out" && grep -q "key sndid 10 rcvid 10 alg cmac(aes)" <<<"$out"' "key specs take HMAC-SHA-1-96 and cmac-aes128"
out=$(cli key set peer=198.18.9.0/24 --current 9 --json)
ts_expect 'jc ok <<<"$out"' "key set --json"
out=$(cli key del id=10,peer=198.18.9.0/24 --json)
ts_expect 'jc ok <<<"$out"' "key del --json"
out=$(cli key list --json)
ts_expect 'jc key-list <<<"$out"' "key list --json after the additions"
out=$(cli key list)
echo "$out"
ts_expect 'grep -q "local-port 9999" <<<"$out"' "reload added the new peer"
ts_expect 'grep -q "key sndid 3 rcvid 3 alg cmac(aes)" <<<"$out"' "reload added key 3"
echo "peer 198.18.0.9 { key id 1 alg nonsense secret x; }" >>"$TS_TMP/a.conf"
out=$(cli reload 2>&1; echo "rc=$?")
echo "$out"
ts_expect 'grep -q "a.conf:7: key: unknown algorithm" <<<"$out" && grep -q "rc=1" <<<"$out"' "a broken file is refused with file:line"
out=$(cli reload --json)
ts_expect 'jc error 1 <<<"$out"' "reload --json of a broken file: a JSON error with code 1"
ts_expect 'cli key list | grep -q "key sndid 3"' "the policy stays as it was"
ts_end
