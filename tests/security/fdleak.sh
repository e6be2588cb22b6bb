#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Descriptor leak (issue 8, item 4): an empty SOCK_SEQPACKET message that
# carries a descriptor (SCM_RIGHTS) reads as end of file; the daemon must
# close the descriptor all the same. nobody sends 300 of them; tcpaod's
# open descriptors are counted before and after.
source "$TS_DIR/lib.sh"
source "$SEC_DIR/lib.sh"
sec_init fdleak
ts_pair
ts_daemon "$NS_A"
pid=$(ts_in "$NS_A" "$PY" "$TS_DIR/ctl.py" raw ping | sed -n 's/.* pid=\([0-9]*\).*/\1/p')
[ -n "$pid" ] || ts_die "no daemon pid"
before=$(ls /proc/"$pid"/fd | wc -l)
ts_in "$NS_A" "${NOBODY[@]}" "$PY" "$ATK/attack.py" emptyfd 300 || ts_fail "attack.py emptyfd"
after=$(ls /proc/"$pid"/fd | wc -l)
echo "tcpaod's descriptors: $before before, $after after 300 empty messages with a descriptor"
ts_expect '[ "$after" -le $((before + 2)) ]' "no descriptor leaked"
ts_end
