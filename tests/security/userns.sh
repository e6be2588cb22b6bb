#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Capabilities from a user namespace (issue 8, item 2): nobody's
# `unshare -Ur` gives it a full CapEff in its own namespace, which must not
# count in tcpaod's. Both the real CLI (which refuses a daemon that is not
# root as seen from inside) and a raw client that skips that check must
# fail to add a key; root's peer keeps its key. A process with
# CAP_NET_ADMIN in tcpaod's own namespace (not root) may add one.
source "$TS_DIR/lib.sh"
source "$SEC_DIR/lib.sh"
sec_init userns
[ -x "${TCPAO_CLI:-}" ] || ts_skip "TCPAO_CLI not set"
ts_pair
ts_daemon "$NS_A" --key "id=1,alg=hmac(sha1),secret=userns-test,peer=$B4/32"
SPEC="id=5,alg=hmac(sha1),secret-file=-,peer=$B4/32"
HEXSPEC="sndid=5,rcvid=5,alg=hmac(sha1),secret=hex:6174746163686572,peer=$B4/32"
has_key5() { ts_in "$NS_A" "$TCPAO_CLI" key list | grep -q "sndid 5 rcvid 5"; }

ts_log "nobody in unshare -Ur: tcpao key add --current --rnext"
out=$(echo attacker | ts_in "$NS_A" "${NOBODY[@]}" unshare -Ur "$ATK/tcpao" key add "$SPEC" \
	--current --rnext 2>&1); rc=$?
echo "$out"
ts_expect '[ $rc != 0 ]' "the CLI in a user namespace failed"

ts_log "nobody in unshare -Ur, raw key-add (no server check)"
out=$(ts_in "$NS_A" "${NOBODY[@]}" unshare -Ur "$PY" "$ATK/attack.py" raw key-add "$HEXSPEC" current rnext 2>&1)
echo "$out"
ts_expect 'grep -q "^error 1 .*root or CAP_NET_ADMIN" <<<"$out"' "key-add from a user namespace gets EPERM"
out=$(ts_in "$NS_A" "${NOBODY[@]}" unshare -Ur "$PY" "$ATK/attack.py" raw ping 2>&1)
ts_expect 'grep -q "privileged=no" <<<"$out"' "unshare -Ur is not privileged ($out)"
ts_expect '! has_key5' "no key 5 in tcpaod"
ts_expect 'ts_in "$NS_A" "$TCPAO_CLI" key list | grep -q "sndid 1 rcvid 1 .*\[current\]"' "root's key 1 is still current"

ts_log "nobody with CAP_NET_ADMIN in tcpaod's namespace may"
out=$(echo admin | ts_in "$NS_A" "${NOBODY[@]}" --inh-caps=+net_admin --ambient-caps=+net_admin \
	"$ATK/tcpao" key add "$SPEC" 2>&1); rc=$?
echo "$out"
ts_expect '[ $rc = 0 ] && has_key5' "CAP_NET_ADMIN (uid 65534) added key 5"
ts_end
