#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# systemd-analyze verify of the generated units (build/systemd), with
# ExecStart pointing at the build's tcpaod, and their exposure score
# (systemd-analyze security --offline, recorded in docs/deploy.md).
set -u
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
[ -x "${TCPAOD:-}" ] || { echo "SKIP: TCPAOD not set"; exit 77; }
units=${PKG_UNITS:?}
tmp=$(mktemp -d /tmp/tcpao-units-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rc=0
for u in tcpaod.service tcpaod@.service; do
	sed "s|^\(Exec[A-Za-z]*\)=[^ ]*/tcpaod |\1=$TCPAOD |" "$units/$u" >"$tmp/$u"
done
cp "$tmp/tcpaod@.service" "$tmp/tcpaod@blue.service"
for u in tcpaod.service tcpaod@blue.service; do
	out=$(cd "$tmp" && systemd-analyze verify --man=no "./$u" 2>&1)
	if [ $? != 0 ] || [ -n "$out" ]; then
		echo "FAIL: systemd-analyze verify $u:"; echo "$out"; rc=1
	else
		echo "verify $u: ok"
	fi
	(cd "$tmp" && systemd-analyze security --offline=yes "./$u" 2>/dev/null | tail -1)
done
# ExecReload's first step: tcpaod --check (0 valid, 1 not, nothing started).
printf 'peer 192.0.2.1 {\n key id 1 alg hmac(sha1) secret x;\n}\n' >"$tmp/ok.conf"
printf 'peer 192.0.2.1 {\n key id 1 alg hmac(nope) secret x;\n}\n' >"$tmp/bad.conf"
chmod 600 "$tmp/ok.conf" "$tmp/bad.conf"
"$TCPAOD" --check "$tmp/ok.conf" || { echo "FAIL: --check of a valid file"; rc=1; }
out=$("$TCPAOD" --check "$tmp/bad.conf" 2>&1)
[ $? = 1 ] && [[ $out == *bad.conf:2:* ]] || { echo "FAIL: --check of a bad file: $out"; rc=1; }
[ $rc = 0 ] && echo "PASS: units"
exit $rc
