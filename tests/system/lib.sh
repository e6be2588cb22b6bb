# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the system tests: two network namespaces joined by a veth pair,
# a tcpaod in each, captures, counters. Source it, then call ts_init NAME.
#
#   A: 198.18.0.1/24 fd00::1/64  <-- veth -->  B: 198.18.0.2/24 fd00::2/64
#
# Environment (from meson): TCPAOD, TCPAO_CLI (may be empty), TS_DIR.
# Everything a test starts is killed by pid, and the namespaces deleted, on
# any exit. Exit 77 means "skipped".

set -u
PY=/usr/bin/python3
TS_DIR=${TS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
A4=198.18.0.1 B4=198.18.0.2 A6=fd00::1 B6=fd00::2
TS_PIDS=()
TS_EXTRA_NS=() # more namespaces a test creates (deleted on exit)
TS_FAILED=0

ts_skip() { echo "SKIP: $*"; exit 77; }
ts_fail() { echo "FAIL: $*" >&2; TS_FAILED=1; }
ts_die() { echo "FAIL: $*" >&2; exit 1; }
ts_log() { echo "--- $*"; }

ts_require() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] || ts_skip "$t not found"
	done
}

# ts_descendants PID: the processes PID started, theirs, and so on (a
# ts_start of a shell function is a subshell: what it runs is its child).
ts_descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		ts_descendants "$c"
		echo "$c"
	done
}

ts_cleanup() {
	local pid ns all=()
	for pid in "${TS_PIDS[@]}"; do
		all+=($(ts_descendants "$pid") "$pid")
	done
	for pid in "${all[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${all[@]}"; do
		# Bounded: a daemon gets 5 s to remove its rules.
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ns in "$NS_A" "$NS_B" "${TS_EXTRA_NS[@]}"; do
		ts_netns_del "$ns"
	done
	if [ "$TS_FAILED" = 0 ] && [ -z "${TS_KEEP:-}" ]; then
		rm -rf "$TS_TMP"
	else
		echo "logs and captures kept in $TS_TMP"
	fi
}

# ts_netns_del NS: tcpaod's rules and guard outlive it (fail closed), and
# a pinned guard holds its namespace: uninstall them, then delete it.
ts_netns_del() {
	[ -e "/run/netns/$1" ] || return 0
	ip netns exec "$1" "$TCPAOD" --remove-rules >/dev/null 2>&1
	ip netns del "$1" 2>/dev/null
}

# The guard's pins must outlive a daemon started by `ip netns exec`, which
# hides /sys/fs/bpf behind a fresh sysfs: a bpffs on /run/tcpao/bpf, mounted
# in the host's mount namespace, is visible there.
ts_bpffs() {
	[ "$(stat -f -c %T /run/tcpao/bpf 2>/dev/null)" = bpf_fs ] && return 0
	mkdir -p -m 0755 /run/tcpao && mkdir -p -m 0700 /run/tcpao/bpf &&
		mount -t bpf -o mode=0700 bpf /run/tcpao/bpf 2>/dev/null
}

# ts_sweep: namespaces of earlier tests that were killed before their
# cleanup ran (SIGKILL, a harness's hard timeout): tcpao-NAME-a|b-PID whose
# PID is gone and which no process uses. A name cut at 40 characters may
# have lost digits of its PID: left alone.
ts_sweep() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		[[ $ns =~ ^tcpao-.+-[ab]-([0-9]+)$ ]] && [ ${#ns} -lt 40 ] || continue
		pid=${BASH_REMATCH[1]}
		kill -0 "$pid" 2>/dev/null && continue
		[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || continue
		ts_netns_del "$ns"
		echo "removed $ns, left by a test that was killed (pid $pid gone)"
	done
}

# ts_init NAME: checks, unique names, cleanup trap.
ts_init() {
	[ "$(id -u)" = 0 ] || ts_skip "needs root"
	[ -x "${TCPAOD:-}" ] || ts_skip "TCPAOD not set"
	ts_require ip iptables ipset "$PY"
	TS_NAME=$1
	NS_A=tcpao-$1-a-$$ NS_B=tcpao-$1-b-$$
	NS_A=${NS_A:0:40} NS_B=${NS_B:0:40}
	TS_TMP=$(mktemp -d "/tmp/tcpao-$1-XXXXXX")
	ts_bpffs
	ts_sweep
	trap ts_cleanup EXIT
	trap 'exit 1' INT TERM
}

# ts_start CMD...: runs in the background, remembered for cleanup.
ts_start() {
	"$@" &
	TS_PIDS+=($!)
	TS_LAST_PID=$!
}

# ts_pair [MTU]: the two namespaces and the veth between them.
ts_pair() {
	local mtu=${1:-1500}
	ip netns add "$NS_A" || ts_die "netns add"
	ip netns add "$NS_B" || ts_die "netns add"
	ip link add va$$ netns "$NS_A" mtu "$mtu" type veth peer name vb$$ netns "$NS_B" mtu "$mtu" ||
		ts_die "veth"
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" link set va$$ name eth0
	ip -n "$NS_B" link set vb$$ name eth0
	ip -n "$NS_A" addr add $A4/24 dev eth0
	ip -n "$NS_B" addr add $B4/24 dev eth0
	ip -n "$NS_A" addr add $A6/64 dev eth0 nodad
	ip -n "$NS_B" addr add $B6/64 dev eth0 nodad
	ip -n "$NS_A" link set eth0 up
	ip -n "$NS_B" link set eth0 up
}

ts_in() { # NS CMD...
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ts_secret_spec SPEC: the key spec with its secret=VALUE moved into a file
# of mode 0600 (secret-file=PATH): secrets never go on command lines, where
# every user can read them (tcpaod and tcpao key add refuse them there).
# (Called in $(...): a file of its own each time, from mktemp, mode 0600.)
ts_secret_spec() {
	local spec=$1 value rest file
	case ",$spec" in
	*,secret=*) ;;
	*) echo "$spec"; return ;;
	esac
	value=${spec#*secret=}
	rest=${value#*,}
	[ "$rest" = "$value" ] && rest= || rest=,$rest
	value=${value%%,*}
	file=$(mktemp "$TS_TMP/secret-XXXXXX") || ts_die "mktemp"
	printf '%s' "$value" >"$file"
	echo "${spec%%secret=*}secret-file=$file$rest"
}

# ts_conf_peer CONF PEER KEYFILE SECRET: KEYFILE (0600) holds SECRET and a
# newline; CONF (0600) is a comment line, then one peer block (line 2) with
# key id 1, hmac(sha1), from KEYFILE: a policy for tcpaod --config.
ts_conf_peer() {
	printf '%s\n' "$4" >"$3"
	chmod 600 "$3"
	printf "# the test's policy\npeer %s {\n    key id 1 alg hmac(sha1) secret-file %s;\n}\n" \
		"$2" "$3" >"$1"
	chmod 600 "$1"
}

# ts_daemon NS ARGS...: starts tcpaod in NS and waits for its control socket.
# --key specs with secret= get their secret moved into a file.
# Its log is $TS_TMP/tcpaod-NS.log; its pid in DAEMON_PID[NS].
declare -A DAEMON_PID
ts_daemon() {
	local ns=$1 a args=() key=0
	shift
	for a in "$@"; do
		if [ "$key" = 1 ]; then
			a=$(ts_secret_spec "$a")
		elif [[ $a == --key=* ]]; then
			a=--key=$(ts_secret_spec "${a#--key=}")
		fi
		[ "$a" = --key ] && key=1 || key=0
		args+=("$a")
	done
	set -- "${args[@]}"
	mkdir -p "$TS_TMP/state-$ns"
	# TS_SIGINT=ignore or default: so (else as this shell's background
	# jobs have it: ignored).
	ts_start ip netns exec "$ns" env ${TS_SIGINT:+--$TS_SIGINT-signal=INT} \
		"$TCPAOD" --state-dir "$TS_TMP/state-$ns" "$@" \
		>>"$TS_TMP/tcpaod-$ns.log" 2>&1
	DAEMON_PID[$ns]=$TS_LAST_PID
	for _ in $(seq 100); do
		ts_in "$ns" "$PY" "$TS_DIR/ctl.py" stat >/dev/null 2>&1 && return 0
		kill -0 "$TS_LAST_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$TS_TMP/tcpaod-$ns.log" >&2
	ts_die "tcpaod did not start in $ns"
}

# ts_stop_daemon NS [SIGNAL]: stops it and waits (bounded).
ts_stop_daemon() {
	local ns=$1 sig=${2:-TERM} pid=${DAEMON_PID[$1]}
	kill -"$sig" "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	wait "$pid" 2>/dev/null
}

# ts_stat NS NAME: one counter of the daemon in NS.
ts_stat() {
	ts_in "$1" "$PY" "$TS_DIR/ctl.py" stat | awk -v n="$2" '$1 == n { print $2 }'
}

ts_stats() { # NS: all counters on one line
	ts_in "$1" "$PY" "$TS_DIR/ctl.py" stat | awk '$2 != 0 { printf "%s=%s ", $1, $2 } END { print "" }'
}

# ts_expect CONDITION MESSAGE: records a failure unless the test holds.
ts_expect() {
	if ! eval "$1"; then
		ts_fail "$2 ($1)"
	fi
}

# ts_capture NS FILE: tcpdump on eth0 of NS until ts_capture_stop.
ts_capture() {
	ts_start ip netns exec "$1" tcpdump -i eth0 -s 0 -U -w "$2" tcp 2>"$2.log"
	TS_CAPTURE_PID=$TS_LAST_PID
	for _ in $(seq 50); do grep -q listening "$2.log" 2>/dev/null && return 0; sleep 0.05; done
}

ts_capture_stop() {
	# tcpdump gets packets in blocks that libpcap hands over when full or
	# after its 1 s timeout; on SIGINT it drops the blocks not handed over.
	sleep 1.2
	kill -INT "$TS_CAPTURE_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$TS_CAPTURE_PID" 2>/dev/null || break; sleep 0.05; done
	wait "$TS_CAPTURE_PID" 2>/dev/null
}

# ts_verify_capture FILE KEY...: every TCP-AO segment of the capture
# verifies with the keys (tcpao verify); skipped when the CLI is absent.
ts_verify_capture() {
	local file=$1 args=() out
	shift
	if [ -z "${TCPAO_CLI:-}" ] || [ ! -x "$TCPAO_CLI" ]; then
		ts_log "tcpao verify not available: capture not checked"
		return 0
	fi
	for k in "$@"; do args+=(--key "$(ts_secret_spec "$k")"); done
	out=$("$TCPAO_CLI" verify "$file" "${args[@]}" --quiet 2>&1)
	local rc=$?
	echo "$out" | tail -3
	[ $rc = 0 ] || ts_fail "tcpao verify $file: exit $rc"
}

# ts_verify_summary FILE KEY...: for captures where some segments must
# fail: runs tcpao verify and fills TS_VERIFY[NAME] with its summary (good,
# bad-mac, key-not-found, no-isn, truncated, malformed, unsigned, plain,
# ip-fragments, ...), printed on one line. Returns 1 when the CLI is absent.
declare -A TS_VERIFY
ts_verify_summary() {
	local file=$1 args=() line kv
	shift
	TS_VERIFY=()
	if [ -z "${TCPAO_CLI:-}" ] || [ ! -x "$TCPAO_CLI" ]; then
		ts_log "tcpao verify not available: capture not checked"
		return 1
	fi
	for kv in "$@"; do args+=(--key "$kv"); done
	line=$("$TCPAO_CLI" verify "$file" "${args[@]}" --json | tail -1 | "$PY" -c '
import json, sys
s = json.load(sys.stdin)["summary"]
print(" ".join("%s=%s" % (k, v) for k, v in s.items() if k != "error"))')
	for kv in $line; do TS_VERIFY[${kv%%=*}]=${kv#*=}; done
	echo "  verify: $line"
}

# ts_echo_transfer DST PORT BYTES: BYTES sent from NS_A to a server on
# DST:PORT in NS_B and echoed back, every byte checked (xfer.py).
ts_echo_transfer() {
	local dst=$1 port=$2 bytes=$3 srv
	ts_log "echo transfer of $bytes bytes to $dst port $port"
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/xfer.py" serve "$dst" "$port" \
		--bytes "$bytes" --echo --timeout 20
	srv=$TS_LAST_PID
	ts_wait_listen "$NS_B" "$port"
	ts_in "$NS_A" "$PY" "$TS_DIR/xfer.py" send "$dst" "$port" --bytes "$bytes" \
		--echo --timeout 20 || ts_fail "sender to $dst"
	wait "$srv" || ts_fail "server on $dst"
}

# ts_expect_zero NS COUNTER...: each of the daemon's COUNTERs in NS is 0.
ts_expect_zero() {
	local ns=$1 c v
	shift
	for c in "$@"; do
		v=$(ts_stat "$ns" $c)
		ts_expect '[ "$v" = 0 ]' "$ns $c"
	done
}

# ts_verify_json FILE OUT KEY...: tcpao verify --json of the capture FILE
# with the keys (secrets moved into files) into OUT; its status is not
# checked (ts_verify_capture does that).
ts_verify_json() {
	local file=$1 out=$2 args=() k
	shift 2
	for k in "$@"; do args+=(--key "$(ts_secret_spec "$k")"); done
	"$TCPAO_CLI" verify "$file" "${args[@]}" --json >"$out"
}

# ts_keyids FILE KEY...: one line from tcpao verify --json of the capture
# with the keys, "good=N ao=N unsigned=N a2b=1-2-3 b2a=1-2-3": its summary's
# counts and the KeyIDs on the wire each way (A to B, B to A) in the order
# seen, a run of one KeyID written once.
ts_keyids() {
	local file=$1
	shift
	ts_verify_json "$file" "$TS_TMP/verify.json" "$@"
	"$PY" - "$TS_TMP/verify.json" $A4 <<'EOF_PY'
import json, sys
seq, s = {}, {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "summary" in o:
        s = o["summary"]
        continue
    d = "a2b" if o["src"] == sys.argv[2] else "b2a"
    q = seq.setdefault(d, [])
    if not q or q[-1] != o["keyid"]:
        q.append(o["keyid"])
print("good=%d ao=%d unsigned=%d a2b=%s b2a=%s" % (s.get("good", 0), s.get("ao-segments", -1),
      s.get("unsigned", -1), "-".join(map(str, seq.get("a2b", []))), "-".join(map(str, seq.get("b2a", [])))))
EOF_PY
}

# ts_stream_start PORT MAX_SECONDS: a paced echo stream (stream.py) from A
# to B:PORT that carries data both ways until $TS_TMP/stop exists (or
# MAX_SECONDS pass); returns once it streams. Its server's pid is in
# TS_STREAM_SRV, its sender's in TS_STREAM_CLI; their output in
# $TS_TMP/server.out and $TS_TMP/sender.out.
ts_stream_start() {
	local port=$1 max=$2
	ts_start ts_in "$NS_B" "$PY" "$TS_DIR/stream.py" serve "$B4" $port --timeout 20 \
		>"$TS_TMP/server.out" 2>&1
	TS_STREAM_SRV=$TS_LAST_PID
	ts_wait_listen "$NS_B" $port
	ts_start ts_in "$NS_A" "$PY" "$TS_DIR/stream.py" send "$B4" $port --rate 400000 \
		--stop-file "$TS_TMP/stop" --max-seconds $max --timeout 20 >"$TS_TMP/sender.out" 2>&1
	TS_STREAM_CLI=$TS_LAST_PID
	for _ in $(seq 100); do grep -q streaming "$TS_TMP/sender.out" && break; sleep 0.05; done
	grep -q streaming "$TS_TMP/sender.out" || ts_die "the stream did not start: $(cat "$TS_TMP/sender.out")"
}

# ts_stream_stop: ends the stream of ts_stream_start; both ends must exit 0.
ts_stream_stop() {
	touch "$TS_TMP/stop"
	wait $TS_STREAM_CLI || ts_fail "sender: $(cat "$TS_TMP/sender.out")"
	wait $TS_STREAM_SRV || ts_fail "server: $(cat "$TS_TMP/server.out")"
}

# ts_stream_bytes: after ts_stream_stop, every byte the sender sent came
# back to it and reached the server.
ts_stream_bytes() {
	local sent got
	sent=$(sed -n 's/^ok bytes=//p' "$TS_TMP/sender.out")
	got=$(sed -n 's/^ok bytes=\([0-9]*\) .*/\1/p' "$TS_TMP/server.out")
	echo "  stream: sent and echoed ${sent:-?} bytes, server received ${got:-?}"
	ts_expect '[ -n "$sent" ] && [ "$sent" = "$got" ]' "bytes sent = bytes received"
}

# ts_wait_listen NS PORT: until something listens on PORT (bounded).
ts_wait_listen() {
	for _ in $(seq 100); do
		ts_in "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.05
	done
	ts_die "nothing listens on port $2 in $1"
}

# ts_wait_established NS PORT: until a connection to PORT is established
# in NS (bounded): a process that has started has not always connected.
ts_wait_established() {
	for _ in $(seq 200); do
		ts_in "$1" ss -Htn state established "dport = :$2" | grep -q . && return 0
		sleep 0.05
	done
	ts_die "no connection to port $2 in $1"
}

# ts_rules_gone NS: no tcpao chain, jump or set is left in NS.
ts_rules_gone() {
	local left
	left=$( (ts_in "$1" iptables-nft-save; ts_in "$1" ip6tables-nft-save;
		 ts_in "$1" iptables-legacy-save; ts_in "$1" ip6tables-legacy-save;
		 ts_in "$1" ipset list -n) 2>/dev/null | grep -c tcpao)
	[ "$left" = 0 ]
}

ts_end() {
	if [ "$TS_FAILED" != 0 ]; then
		echo "daemon logs:"; tail -n 20 "$TS_TMP"/tcpaod-*.log 2>/dev/null
		exit 1
	fi
	echo "PASS: $TS_NAME"
	exit 0
}

# ts_snmp NS NAME: a kernel counter of NS (nstat, absolute).
ts_snmp() {
	ts_in "$1" nstat -asz 2>/dev/null | awk -v n="$2" '$1 == n { print $2 }'
}

# ts_queue_drops NS: packets the kernel dropped on tcpaod's queues (queue
# full or socket buffer full), summed over the queues.
ts_queue_drops() {
	ts_in "$1" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
		awk '{ n += $6 + $7 } END { print n + 0 }'
}

# ts_mac NS: the MAC address of eth0 in NS.
ts_mac() {
	ip -n "$1" -j link show eth0 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'
}

# ts_link_drops NS: RX + TX drops of eth0.
ts_link_drops() {
	ts_in "$1" ip -s -j link show eth0 | "$PY" -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(s["rx"]["dropped"] + s["tx"]["dropped"])'
}
