#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Secrets on command lines (issue 8, item 7): /proc/PID/cmdline is
# readable by every user. tcpaod --key and tcpao key add refuse secret=
# and take secret-file= (- : standard input, for tcpao key add); then no
# process shows a secret. tcpao verify still takes secret=, with a warning.
source "$TS_DIR/lib.sh"
source "$SEC_DIR/lib.sh"
sec_init cmdline
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_pair
S1=cmdline-secret-one S2=cmdline-secret-two S3=cmdline-secret-three

ts_log "tcpaod --key secret= is refused"
out=$(ts_in "$NS_A" timeout 5 "$TCPAOD" --key "id=1,alg=hmac(sha1),secret=$S1,peer=$B4/32" \
	--state-dir "$TS_TMP/refused" 2>&1); rc=$?
echo "$out"
ts_expect '[ $rc = 2 ] && grep -q "secret-file=" <<<"$out"' "tcpaod refuses secret= ($rc)"

ts_log "tcpaod --key secret-file= works"
sec_secret "$TS_TMP/k1" "$S1"
ts_daemon "$NS_A" --key "id=1,alg=hmac(sha1),secret-file=$TS_TMP/k1,peer=$B4/32"
ts_expect 'ts_in "$NS_A" "$TCPAO_CLI" key list | grep -q "sndid 1 rcvid 1"' "the key from the file is there"
chmod 644 "$TS_TMP/k1"
out=$(ts_in "$NS_A" timeout 5 "$TCPAOD" --key "id=1,alg=hmac(sha1),secret-file=$TS_TMP/k1,peer=$B4/32" \
	--state-dir "$TS_TMP/refused" 2>&1)
ts_expect 'grep -q "group or others" <<<"$out"' "a readable secret file is refused ($out)"

ts_log "tcpao key add: secret= refused, secret-file=- read from stdin"
out=$(ts_in "$NS_A" "$TCPAO_CLI" key add "id=2,alg=hmac(sha1),secret=$S2,peer=$B4/32" 2>&1); rc=$?
echo "$out"
ts_expect '[ $rc != 0 ] && grep -q "secret-file=" <<<"$out"' "tcpao key add refuses secret="
out=$(printf '%s\n' "$S3" | ts_in "$NS_A" "$TCPAO_CLI" key add "id=3,alg=hmac(sha1),secret-file=-,peer=$B4/32" 2>&1)
ts_expect 'ts_in "$NS_A" "$TCPAO_CLI" key list | grep -q "sndid 3 rcvid 3"' "key 3 came from stdin ($out)"

ts_log "no process shows a secret"
# The secrets go to the scanner through its environment (readable by its
# owner only), so that its own command line does not match.
found=$(S1=$S1 S2=$S2 S3=$S3 "$PY" -c 'import glob, os
keys = [os.environ[k].encode() for k in ("S1", "S2", "S3")]
for f in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        text = open(f, "rb").read()
    except OSError:
        continue
    if any(k in text for k in keys):
        print(f, text.replace(b"\0", b" ").decode(errors="replace"))')
echo "${found:-none}"
ts_expect '[ -z "$found" ]' "no /proc/*/cmdline holds a secret"

ts_log "tcpao verify warns about secret="
out=$("$TCPAO_CLI" verify /dev/null --key "id=1,alg=hmac(sha1),secret=$S1" 2>&1)
ts_expect 'grep -q "warning: --key #1: secret= on a command line" <<<"$out"' "tcpao verify warns ($out)"
ts_end
