#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boots a test guest of tests/vm under QEMU (TCG: no KVM needed), runs one
# shell command line in it, prints what it prints, exits with its status.
#
#   run-guest.sh [options] -- COMMAND [ARG...]
#
#   --guest NAME        which guest (default tcpao: Linux with TCP-AO)
#   --netns NS          the tap device is in network namespace NS (created if
#                       missing, left in place) and QEMU runs there
#   --tap DEV           tap device (default tcpao0; created if missing, then
#                       deleted if it was created here)
#   --guest4 A/LEN, --guest6 A/LEN   the guest's eth0 addresses
#   --gw4 A, --gw6 A    the guest's default routes
#   --mac MAC           the guest's MAC (default 52:54:00:a0:00:01)
#   --no-net            no NIC (loopback-only jobs)
#   --timeout S         QEMU is killed after S seconds (default 300); the
#                       job itself is stopped 15 s before, so that its
#                       output and files still come back
#   --mem SIZE          guest memory (default 256M)
#   --log FILE          the whole serial console, written as it comes (a
#                       caller can wait in it for a line of the job)
#   --put FILE          FILE is /in/BASENAME in the guest (repeatable)
#   --outdir DIR        files the job left in /out are copied to DIR
#   --cache DIR         image cache (default: $TCPAO_VM_CACHE or build-vm/)
#   --kernel F, --initrd F   other images
#
# Exit status: the command's; 124 if it or the guest timed out; 125 if the
# guest ended without a status (a panic, ...); 2 for a usage error, 3 if
# the guest is not built (tests/vm/build-guest.sh, make interop-peer).
# Root is needed for --netns and the tap device.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${TCPAO_VM_CACHE:-$(cd "$HERE/../.." && pwd)/build-vm}
GUEST=tcpao NETNS= TAP=tcpao0 G4= G6= GW4= GW6= MAC=52:54:00:a0:00:01
NONET=0 TIMEOUT=300 MEM=256M LOG= OUTDIR= KERNEL= INITRD=
PUT=()

usage() { echo "run-guest.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--guest | --netns | --tap | --guest4 | --guest6 | --gw4 | --gw6 | --mac | \
	--timeout | --mem | --log | --put | --outdir | --cache | --kernel | --initrd)
		[ $# -ge 2 ] || usage "$1 needs a value"
		case $1 in
		--guest) GUEST=$2 ;; --netns) NETNS=$2 ;; --tap) TAP=$2 ;;
		--guest4) G4=$2 ;; --guest6) G6=$2 ;; --gw4) GW4=$2 ;; --gw6) GW6=$2 ;;
		--mac) MAC=$2 ;; --timeout) TIMEOUT=$2 ;; --mem) MEM=$2 ;; --log) LOG=$2 ;;
		--put) [ -f "$2" ] || usage "--put: no file $2"; PUT+=("$2") ;;
		--outdir) OUTDIR=$2 ;; --cache) CACHE=$2 ;;
		--kernel) KERNEL=$2 ;; --initrd) INITRD=$2 ;;
		esac
		shift 2 ;;
	--no-net) NONET=1; shift ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	*) usage "unknown option $1 (the command goes after --)" ;;
	esac
done
[ $# -gt 0 ] || usage "no command after --"
[[ $TIMEOUT =~ ^[0-9]+$ ]] && [ "$TIMEOUT" -ge 10 ] || usage "--timeout wants seconds (>= 10)"
KERNEL=${KERNEL:-$CACHE/$GUEST/bzImage}
INITRD=${INITRD:-$CACHE/$GUEST/initramfs.cpio.gz}
if [ ! -r "$KERNEL" ] || [ ! -r "$INITRD" ]; then
	echo "run-guest.sh: guest $GUEST not built in $CACHE (make interop-peer)" >&2
	exit 3
fi
command -v qemu-system-x86_64 >/dev/null || usage "qemu-system-x86_64 is not installed"
command -v cpio >/dev/null || usage "cpio is not installed"

WORK=$(mktemp -d /tmp/tcpao-guest.XXXXXX)
QEMU_PID= TAP_MADE=0
IPC=(ip)
[ -n "$NETNS" ] && IPC=(ip -n "$NETNS")
cleanup() {
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
	[ $TAP_MADE = 1 ] && "${IPC[@]}" link del "$TAP" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- /in: the job, its settings, the caller's files; appended as a 2nd archive ----
mkdir -p "$WORK/root/in"
[ ${#PUT[@]} = 0 ] || cp -- "${PUT[@]}" "$WORK/root/in/"
job=
for w in "$@"; do job+="${job:+ }$(printf '%q' "$w")"; done
printf '%s\n' "$job" >"$WORK/root/in/job"
LIMIT=$((TIMEOUT > 40 ? TIMEOUT - 15 : TIMEOUT - 5))
{
	printf 'ADDR4=%q ADDR6=%q ROUTE4=%q ROUTE6=%q LIMIT=%d\n' "$G4" "$G6" "$GW4" "$GW6" $LIMIT
} >"$WORK/root/in/settings"
cp "$INITRD" "$WORK/initrd"
# the kernel reads concatenated archives; the next one starts 4-byte aligned
pad=$(($(stat -c %s "$WORK/initrd") % 4))
[ $pad = 0 ] || head -c $((4 - pad)) /dev/zero >>"$WORK/initrd"
(cd "$WORK/root" && find in | cpio -o -H newc -R 0:0 --quiet | gzip -1) >>"$WORK/initrd"

# --- network: a tap device, in a namespace if asked ---------------------------------
NET=(-nic none)
if [ $NONET = 0 ]; then
	if [ -n "$NETNS" ] && ! ip netns list | grep -qw -- "$NETNS"; then
		ip netns add "$NETNS" || usage "cannot create netns $NETNS"
		ip -n "$NETNS" link set lo up
	fi
	if ! "${IPC[@]}" link show "$TAP" >/dev/null 2>&1; then
		"${IPC[@]}" tuntap add dev "$TAP" mode tap || usage "cannot create tap $TAP"
		TAP_MADE=1
	fi
	"${IPC[@]}" link set "$TAP" up
	NET=(-netdev "tap,id=net0,ifname=$TAP,script=no,downscript=no"
	     -device "virtio-net-pci,netdev=net0,mac=$MAC,romfile=")
fi
INNS=()
[ -n "$NETNS" ] && INNS=(ip netns exec "$NETNS")

# --- boot ---------------------------------------------------------------------------
# The kernel has no ACPI, so no SMP tables either: one CPU. -no-reboot turns
# the guest's final reboot into QEMU's exit. no_timer_check: on a busy host
# TCG is too slow for the kernel's IO-APIC timer check, which then panics.
LOG=${LOG:-$WORK/console}
: >"$LOG"
T0=$(date +%s.%N)
"${INNS[@]}" timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -machine pc -accel tcg -cpu max \
	-smp 1 -m "$MEM" -nodefaults -display none -no-reboot \
	-chardev "file,id=con,path=$LOG" -serial chardev:con \
	-kernel "$KERNEL" -initrd "$WORK/initrd" \
	-append "console=ttyS0 loglevel=3 panic=-1 quiet no_timer_check" \
	"${NET[@]}" </dev/null >"$WORK/qemu.err" 2>&1 &
QEMU_PID=$!

# the job's output, live: the lines between "begin" and "status"
tail -n +1 -F --pid=$QEMU_PID "$LOG" 2>/dev/null | tr -d '\r' |
	awk '/^@@tcpao-guest begin/ { on = 1; next } /^@@tcpao-guest status/ { on = 0 }
	     on { print; fflush() }' &
TAIL_PID=$!
wait $QEMU_PID
QRC=$?
QEMU_PID=
wait $TAIL_PID 2>/dev/null
T1=$(date +%s.%N)
tr -d '\r' <"$LOG" >"$WORK/console.txt"

if [ -n "$OUTDIR" ]; then
	mkdir -p "$OUTDIR"
	awk -v w="$WORK" '
		/^@@tcpao-guest endfile/ { close(f); f = ""; next }
		/^@@tcpao-guest file / { n = $3; gsub(/[^A-Za-z0-9._-]/, "_", n); f = w "/out." n;
					 names[n] = 1; printf "" >f; next }
		f != "" { print >>f }
		END { for (n in names) print n }' "$WORK/console.txt" |
		while read -r n; do base64 -d <"$WORK/out.$n" >"$OUTDIR/$n"; done
fi

took=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }')
status=$(sed -n 's/^@@tcpao-guest status \([0-9]*\).*/\1/p' "$WORK/console.txt" | head -1)
if [ -n "$status" ]; then
	echo "run-guest.sh: guest $GUEST: status $status after $took s" >&2
	exit "$status"
fi
if [ $QRC = 124 ] || [ $QRC = 137 ]; then
	echo "run-guest.sh: guest $GUEST: killed after $TIMEOUT s; console:" >&2
	tail -n 20 "$WORK/console.txt" >&2
	exit 124
fi
echo "run-guest.sh: guest $GUEST ended without a status (QEMU $QRC) after $took s:" >&2
tail -n 30 "$WORK/console.txt" >&2
cat "$WORK/qemu.err" >&2
exit 125
