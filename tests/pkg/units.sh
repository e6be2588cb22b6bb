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
	sed "s|^ExecStart=[^ ]*/tcpaod|ExecStart=$TCPAOD|" "$units/$u" >"$tmp/$u"
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
[ $rc = 0 ] && echo "PASS: units"
exit $rc
