#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tcpao demo: two network namespaces, hosts A and B, joined by a veth pair;
# a tcpaod in each; a transfer from A to B over TCP-AO with a key rotation
# in the middle, captured and checked offline by `tcpao verify`. All it
# creates is removed on exit, also on failure or Ctrl-C.
#
# Run as `tcpao demo`, which sets TCPAO and TCPAOD to the binaries to use.
# Every wait is bounded; processes are stopped by the pid we started.

set -u
umask 077

A4=198.18.0.1 B4=198.18.0.2
PORT=5001
MIB=$((1024 * 1024))
PART_MIB=2              # the transfer: part 1 (key 1), part 2, part 3 (key 2)
TOTAL=$((3 * PART_MIB * MIB))
WAIT=20                 # seconds, at most, for anything to happen
STEPS=9

STEP=0 WORK="" NS_A="" NS_B="" KEEP=""
PIDS=()

usage() {
	cat <<EOF
usage: tcpao demo [--keep]

Two network namespaces (hosts A and B) joined by a veth pair, a tcpaod in
each, a transfer over TCP-AO with a key rotation in the middle, captured and
checked with tcpao verify. Then everything is removed. Needs root, and ip,
iptables, ipset, tcpdump and socat (make deps installs them).

  --keep    keep the working directory (capture, logs, demo keys)
EOF
}

# ---- output ---------------------------------------------------------------

step() { # TITLE PROOF
	STEP=$((STEP + 1))
	printf '\n== Step %d/%d: %s\n' "$STEP" "$STEPS" "$1"
	printf '   Proves: %s\n' "$2"
}

note() { printf '   %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }

# The command as one would type it: our binaries by name, the working
# directory as $DEMO, words with shell characters quoted.
shown() {
	local w out=() plain='^[-A-Za-z0-9_./:=,@%+]+$'
	for w in "$@"; do
		case $w in
		"$TCPAO") w=tcpao ;;
		"$TCPAOD") w=tcpaod ;;
		esac
		w=${w//"$WORK"/\$DEMO}
		[[ $w =~ $plain ]] || w="\"$w\""
		out+=("$w")
	done
	printf '%s' "${out[*]}"
}

ns_of() { if [ "$1" = A ]; then echo "$NS_A"; else echo "$NS_B"; fi; }

# run [A|B] CMD...: shows the command, runs it (on host A or B: in its
# namespace), prints its output indented. Returns its exit status.
run() {
	local host="" rc
	case $1 in A | B) host=$1 && shift ;; esac
	printf '  %s$ %s\n' "${host:+$host }" "$(shown "$@")"
	if [ -n "$host" ]; then
		ip netns exec "$(ns_of "$host")" "$@" >"$WORK/out" 2>&1
	else
		"$@" >"$WORK/out" 2>&1
	fi
	rc=$?
	sed 's/^/      /' "$WORK/out"
	return $rc
}

# start A|B LOG CMD...: shows the command and runs it in the background on
# the host, output to LOG; its pid is remembered for the cleanup. It gets a
# session of its own: Ctrl-C is for the demo, whose trap stops everything
# in order; a daemon that stopped on it first would fail the step running.
# (setsid execs in place: a background job leads no group.)
start() {
	local host=$1 log=$2
	shift 2
	printf '  %s $ %s &\n' "$host" "$(shown "$@")"
	ip netns exec "$(ns_of "$host")" setsid "$@" >"$log" 2>&1 &
	PIDS+=($!)
	LAST_PID=$!
}

# on A|B CMD...: runs quietly on the host (the demo's own checks).
on() {
	local host=$1
	shift
	ip netns exec "$(ns_of "$host")" "$@"
}

# ---- failure and cleanup --------------------------------------------------

fail() {
	printf '\nFAILED at step %d: %s\n' "$STEP" "$*" >&2
	local log
	for log in "$WORK"/tcpaod-*.log; do
		[ -s "$log" ] || continue
		printf -- '--- last lines of %s:\n' "$(shown "$log")" >&2
		tail -n 8 "$log" >&2
	done
	printf '\ntcpao demo: FAILED (%s)\n' "$*" >&2
	exit 1
}

# forget PID: it was reaped; the cleanup must not signal its number again.
forget() {
	local pid left=()
	for pid in "${PIDS[@]}"; do
		[ "$pid" = "$1" ] || left+=("$pid")
	done
	PIDS=("${left[@]}")
}

stop_pid() { # PID [SIGNAL]: stop it and reap it, 5 s at most
	if kill -"${2:-TERM}" "$1" 2>/dev/null; then
		for _ in $(seq 50); do
			kill -0 "$1" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
	forget "$1"
}

# On any exit: what is still running is stopped, the namespaces deleted.
cleanup() {
	local rc=$? pid ns
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
	for ns in "$NS_A" "$NS_B"; do
		[ -n "$ns" ] || continue
		# A stopped tcpaod leaves its rules and pinned guard (fail
		# closed); the guard would keep the namespace alive.
		ip netns exec "$ns" "$TCPAOD" --remove-rules >/dev/null 2>&1
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$WORK" ] && [ -n "$KEEP" ]; then
		echo "kept: $WORK (DEMO)"
	elif [ -n "$WORK" ]; then
		rm -rf "$WORK"
	fi
	exit "$rc"
}

interrupted() {
	printf '\ntcpao demo: interrupted; cleaning up\n' >&2
	exit 130
}

# until_true SECONDS CMD...: polls CMD every 0.1 s; fails after SECONDS.
until_true() {
	local tries=$(($1 * 10))
	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

# ---- checks on the hosts --------------------------------------------------

received_at_least() { [ "$(stat -c %s "$WORK/received" 2>/dev/null || echo 0)" -ge "$1" ]; }
listening() { on "$1" ss -Hltn "sport = :$2" | grep -q .; }
daemon_up() { on "$1" "$TCPAO" stat >/dev/null 2>&1; }
alive() { kill -0 "$1" 2>/dev/null; }
gone() { ! alive "$1"; }

# finished PID: it exits within $WAIT seconds, with status 0.
finished() {
	local rc
	until_true "$WAIT" gone "$1" || return 1
	wait "$1"
	rc=$?
	forget "$1"
	return $rc
}

# keys_of A|B: "KeyID RNext PeerRNext" of the host's established connection.
keys_of() { on "$1" "$TCPAO" show 2>/dev/null | awk '$1 == "ESTAB" { print $4, $5, $6; exit }'; }
both_use() { [ "$(keys_of A)" = "$1 $1 $1" ] && [ "$(keys_of B)" = "$1 $1 $1" ]; }

# counter A|B NAME: one of tcpaod's counters, as the last `tcpao stat`
# on the host printed it.
counter() { awk -v n="$2" '$1 == n { print $2 }' "$WORK/stat-$1"; }

new_secret() { # FILE: 20 random bytes, written as hex:..., readable by root only
	printf 'hex:%s\n' "$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')" >"$1"
}

# ---- the steps ------------------------------------------------------------

preflight() {
	local tool
	[ "$(id -u)" = 0 ] ||
		{ echo "tcpao demo: must run as root (it creates network namespaces): sudo tcpao demo" >&2; exit 1; }
	[ -x "${TCPAO:-}" ] && [ -x "${TCPAOD:-}" ] ||
		{ echo "tcpao demo: run it as 'tcpao demo' (TCPAO and TCPAOD are not set)" >&2; exit 1; }
	for tool in ip ss iptables ipset tcpdump socat sha256sum od dd; do
		command -v "$tool" >/dev/null ||
			{ echo "tcpao demo: $tool is missing (make deps installs it)" >&2; exit 1; }
	done
}

hosts() {
	step "two hosts and a cable" \
		"A and B are separate network stacks (own addresses, firewall, sockets), like two routers on a link."
	NS_A=tcpao-demo-a-$$ NS_B=tcpao-demo-b-$$
	run ip netns add "$NS_A" || fail "cannot create a network namespace"
	run ip netns add "$NS_B" || fail "cannot create a network namespace"
	run ip link add eth0 netns "$NS_A" type veth peer name eth0 netns "$NS_B" ||
		fail "cannot create the veth pair"
	run ip -n "$NS_A" addr add $A4/24 dev eth0 &&
		run ip -n "$NS_B" addr add $B4/24 dev eth0 &&
		run ip -n "$NS_A" link set eth0 up &&
		run ip -n "$NS_B" link set eth0 up || fail "cannot configure the veth pair"
	on A ip link set lo up && on B ip link set lo up || fail "cannot bring up lo"
	ok "host A is $A4 ($NS_A), host B is $B4 ($NS_B)"
}

daemons() {
	step "key 1 and a tcpaod on each host" \
		"with the policy below, TCP between A and B is only possible with TCP-AO: tcpaod signs and checks every segment."
	new_secret "$WORK/k1.key"
	note "key 1: 20 random bytes in \$DEMO/k1.key (mode 0600; \$DEMO is $WORK)."
	note "Host A's policy (host B's is the same with peer $A4):"
	write_policy A $B4
	write_policy B $A4
	run cat "$WORK/tcpao-A.conf"
	for host in A B; do
		mkdir -p "$WORK/state-$host"
		start "$host" "$WORK/tcpaod-$host.log" "$TCPAOD" --config "$WORK/tcpao-$host.conf" \
			--state-dir "$WORK/state-$host"
		local pid=$LAST_PID
		DAEMON_PID[$host]=$pid
		until_true "$WAIT" daemon_up "$host" ||
			{ alive "$pid" || fail "tcpaod on host $host exited"; fail "tcpaod on host $host did not answer"; }
		alive "$pid" || fail "tcpaod on host $host exited"
	done
	run A "$TCPAO" key list || fail "tcpao key list"
	ok "both daemons run and hold key 1 (the secret is never printed)"
}

write_policy() { # HOST PEER
	cat >"$WORK/tcpao-$1.conf" <<EOF
# Protect every TCP connection with $2 by TCP-AO.
peer $2/32 {
    key id 1 alg hmac(sha1) secret-file k1.key;
}
EOF
}

capture() {
	step "capture on host B" \
		"we record what really crosses the cable, to check it independently at the end."
	start B "$WORK/tcpdump.log" tcpdump -i eth0 -s 0 -U -w "$WORK/demo.pcap" tcp
	CAPTURE_PID=$LAST_PID
	until_true "$WAIT" grep -q listening "$WORK/tcpdump.log" ||
		fail "tcpdump did not start: $(head -n 2 "$WORK/tcpdump.log")"
	ok "tcpdump writes \$DEMO/demo.pcap"
}

# The sender's input, in three parts; it waits for the demo between parts
# (bounded: the transfer then comes up short and the checksum says so).
feed_sender() {
	exec >"$WORK/to-send"
	dd if="$WORK/data" bs=$MIB count=$PART_MIB status=none
	until_true "$WAIT" test -e "$WORK/go-2" || exit 1
	dd if="$WORK/data" bs=$MIB skip=$PART_MIB count=$PART_MIB status=none
	until_true "$WAIT" test -e "$WORK/go-3" || exit 1
	dd if="$WORK/data" bs=$MIB skip=$((2 * PART_MIB)) status=none
}

transfer_start() {
	step "a transfer from A to B, with key 1" \
		"ordinary programs (socat) talk over TCP-AO without any change: tcpaod does it for them."
	dd if=/dev/urandom of="$WORK/data" bs=$MIB count=$((3 * PART_MIB)) status=none ||
		fail "cannot write the test data"
	note "\$DEMO/data: $((3 * PART_MIB)) MiB of random bytes. B receives into \$DEMO/received;"
	note "A sends from a pipe that the demo fills in three parts of $PART_MIB MiB, pausing between them."
	start B "$WORK/receiver.log" socat -u -T 60 TCP-LISTEN:$PORT,bind=$B4,reuseaddr \
		CREATE:"$WORK/received"
	RECEIVER_PID=$LAST_PID
	until_true "$WAIT" listening B $PORT || fail "the receiver does not listen"
	mkfifo "$WORK/to-send" || fail "mkfifo"
	feed_sender &
	FEEDER_PID=$!
	PIDS+=($!)
	start A "$WORK/sender.log" socat -u -T 60 OPEN:"$WORK/to-send" TCP:$B4:$PORT
	SENDER_PID=$LAST_PID
	until_true "$WAIT" received_at_least $((PART_MIB * MIB)) ||
		fail "B did not receive the first $PART_MIB MiB: $(cat "$WORK/sender.log" "$WORK/receiver.log")"
	ok "B received part 1 ($PART_MIB MiB); the sender pauses"
	run A "$TCPAO" show || fail "tcpao show"
	run B "$TCPAO" show || fail "tcpao show"
	[ "$(keys_of A)" = "1 1 1" ] && [ "$(keys_of B)" = "1 1 1" ] ||
		fail "the connection does not use key 1 on both sides"
	ok "one connection, KeyID 1 and RNext 1 on both sides"
}

rotation() {
	step "key rotation during the transfer" \
		"keys change on a live connection without a reset or a lost byte (add key 2, ask for it, delete key 1)."
	new_secret "$WORK/k2.key"
	note "key 2: new random bytes in \$DEMO/k2.key, and another algorithm (AES-128-CMAC)."
	note "1. Both hosts get key 2 (the connection still signs with key 1):"
	for host in A B; do
		local peer=$B4
		[ "$host" = B ] && peer=$A4
		run "$host" "$TCPAO" key add "id=2,alg=cmac(aes128),secret-file=$WORK/k2.key,peer=$peer" ||
			fail "tcpao key add on host $host"
	done
	note "2. Both hosts ask the other to use key 2 (RNextKeyID 2); each one's KeyID follows what the other asks for:"
	run A "$TCPAO" key set peer=$B4 --rnext 2 || fail "tcpao key set on host A"
	run B "$TCPAO" key set peer=$A4 --rnext 2 || fail "tcpao key set on host B"
	note "3. The sender sends part 2; the next segments carry the new RNextKeyID and switch keys:"
	touch "$WORK/go-2"
	until_true "$WAIT" received_at_least $((2 * PART_MIB * MIB)) || fail "part 2 did not arrive"
	until_true "$WAIT" both_use 2 ||
		fail "the connection did not move to key 2 (A: $(keys_of A), B: $(keys_of B))"
	run A "$TCPAO" show || fail "tcpao show"
	run B "$TCPAO" show || fail "tcpao show"
	ok "KeyID 2 and RNext 2 on both sides, and each sees the other ask for 2"
	note "4. Key 1 is no longer used: both hosts delete it. Then part 3 goes with key 2 alone."
	run A "$TCPAO" key del id=1,peer=$B4 || fail "tcpao key del on host A"
	run B "$TCPAO" key del id=1,peer=$A4 || fail "tcpao key del on host B"
	run A "$TCPAO" key list || fail "tcpao key list"
	touch "$WORK/go-3"
}

transfer_end() {
	step "the transfer completes" \
		"every byte arrived intact across the rotation: the checksums of what A sent and B received match."
	local sent got
	finished "$SENDER_PID" || fail "the sender failed: $(cat "$WORK/sender.log")"
	finished "$RECEIVER_PID" || fail "the receiver failed: $(cat "$WORK/receiver.log")"
	finished "$FEEDER_PID" || fail "the sender's input was cut short"
	run sha256sum "$WORK/data" "$WORK/received" || fail "sha256sum"
	sent=$(sha256sum <"$WORK/data") got=$(sha256sum <"$WORK/received")
	[ "$sent" = "$got" ] || fail "B received other bytes than A sent"
	ok "$(stat -c %s "$WORK/received") bytes, same SHA-256"
}

counters() {
	step "connections and counters on each host" \
		"tcpaod checked every segment it received: TCPAOGood counts them, and no segment was dropped."
	local host name value
	for host in A B; do
		run "$host" "$TCPAO" show || fail "tcpao show on host $host"
		run "$host" "$TCPAO" stat || fail "tcpao stat on host $host"
		cp "$WORK/out" "$WORK/stat-$host"
		[ "$(counter "$host" TCPAOGood)" -gt 0 ] 2>/dev/null || fail "host $host: TCPAOGood is 0"
		for name in TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAOMD5Conflict \
			TCPAOMalformedDropped TCPAONoFlowDropped TCPAOEgressDropped; do
			value=$(counter "$host" $name)
			[ "${value:-0}" = 0 ] || fail "host $host: $name is $value"
		done
	done
	ok "TCPAOGood $(counter A TCPAOGood) on A and $(counter B TCPAOGood) on B; every drop counter is 0"
}

verify() {
	step "tcpao verify checks the capture" \
		"independently of the daemons, every segment on the wire carried TCP-AO with a correct MAC, first key 1, then key 2."
	local out=$WORK/verify.txt rc k1 k2 first2
	printf '  B $ kill -INT %s   (tcpdump)\n' "$CAPTURE_PID"
	stop_pid "$CAPTURE_PID" INT
	printf '  $ %s\n' "$(shown "$TCPAO" verify "$WORK/demo.pcap" \
		--key "id=1,alg=hmac(sha1),secret-file=$WORK/k1.key" \
		--key "id=2,alg=cmac(aes128),secret-file=$WORK/k2.key")"
	"$TCPAO" verify "$WORK/demo.pcap" --key "id=1,alg=hmac(sha1),secret-file=$WORK/k1.key" \
		--key "id=2,alg=cmac(aes128),secret-file=$WORK/k2.key" >"$out" 2>&1
	rc=$?
	# One line per segment: the handshake, the switch to key 2, the summary.
	first2=$(grep -n -m 1 ' keyid 2 ' "$out" | cut -d: -f1)
	head -n 3 "$out" | sed 's/^/      /'
	if [ -n "$first2" ] && [ "$first2" -gt 4 ]; then
		echo "      ..."
		sed -n "$((first2 - 1)),$((first2 + 1))p" "$out" | sed 's/^/      /'
	fi
	echo "      ..."
	grep -E '^(summary|other|verdict):' "$out" | sed 's/^/      /'
	[ "$rc" = 0 ] || fail "tcpao verify exited with $rc"
	grep -q '^verdict: ok' "$out" || fail "tcpao verify: no 'verdict: ok'"
	grep -Eq '^summary: .* 0 bad-mac, 0 key-not-found, 0 no-isn, 0 truncated, 0 malformed' "$out" ||
		fail "tcpao verify: some segment did not verify"
	grep -q '^other: 0 unsigned' "$out" || fail "tcpao verify: segments without TCP-AO on the connection"
	k1=$(grep -c ' keyid 1 .*: good' "$out") k2=$(grep -c ' keyid 2 .*: good' "$out")
	[ "$k1" -gt 0 ] && [ "$k2" -gt 0 ] || fail "the capture does not show both keys"
	ok "$k1 segments verified with key 1, then $k2 with key 2; none failed, none unsigned"
}

teardown() {
	step "clean up" "the demo leaves nothing behind: daemons stopped (a stopped tcpaod keeps its rules: nothing leaves unsigned), their rules removed with tcpaod --remove-rules, namespaces deleted."
	local host pid
	for host in A B; do
		pid=${DAEMON_PID[$host]}
		printf '  %s $ kill %s   (tcpaod)\n' "$host" "$pid"
		stop_pid "$pid"
	done
	run A "$TCPAOD" --remove-rules || fail "tcpaod --remove-rules"
	run B "$TCPAOD" --remove-rules || fail "tcpaod --remove-rules"
	run ip netns del "$NS_A" || fail "ip netns del"
	run ip netns del "$NS_B" || fail "ip netns del"
	NS_A="" NS_B=""
	if [ -n "$KEEP" ]; then
		ok "removed all but \$DEMO (--keep)"
	else
		printf '  $ rm -rf "$DEMO"\n'
		rm -rf "$WORK"
		WORK=""
		ok "removed"
	fi
}

main() {
	case ${1:-} in
	"") ;;
	--keep) KEEP=1 ;;
	-h | --help) usage && exit 0 ;;
	*) usage >&2 && exit 2 ;;
	esac
	preflight
	WORK=$(mktemp -d /tmp/tcpao-demo.XXXXXX) || { echo "tcpao demo: mktemp failed" >&2; exit 1; }
	trap cleanup EXIT
	trap interrupted INT TERM

	echo "tcpao demo: TCP-AO (RFC 5925) between two hosts, done in userspace by tcpaod."
	echo "Hosts A and B are network namespaces on this machine. '\$ cmd' lines are the commands run;"
	echo "'A \$ cmd' runs on host A (ip netns exec $(echo tcpao-demo-a-$$) cmd). Secrets are never printed."
	hosts
	daemons
	capture
	transfer_start
	rotation
	transfer_end
	counters
	verify
	teardown
	printf '\ntcpao demo: PASSED: %d MiB from A to B over TCP-AO, key 1 -> key 2 in the middle, every byte intact, the capture verified.\n' \
		$((3 * PART_MIB))
}

declare -A DAEMON_PID
main "$@"
