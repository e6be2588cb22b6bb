#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds a test guest: a Linux kernel from Debian's linux-source-6.12 with
# `make tinyconfig` + tests/vm/config/NAME.fragment, and an initramfs with
# busybox (busybox-static), our programs (tests/vm/guest/*.c, static),
# tests/vm/guest/init and, when tests/vm/config/NAME.programs exists, the
# host's programs it lists with their shared libraries.
# tests/vm/run-guest.sh boots it.
#
#   build-guest.sh [--cache DIR] [--jobs N] [--check] [NAME]  (NAME: tcpao, vrf)
#
# The images go to CACHE/NAME-KEY/{bzImage,initramfs.cpio.gz,build-info.txt}
# and CACHE/NAME points at the newest. KEY is a hash of every input: the
# fragment, the kernel source package's version, busybox's version, the
# compiler's version, tests/vm/guest/*, this script and the host programs
# (and libraries) copied in. Same key: nothing to
# do. Other key: rebuilt (the kernel tree CACHE/obj/NAME is kept between
# builds, so a change in the initramfs alone costs seconds).
# CACHE: $TCPAO_VM_CACHE, default build-vm/ in the project root (git
# ignores /build*/). The kernel source is unpacked once into CACHE/src/.
#
# --check: exit 0 if the images for the current inputs are there, 1 if not
# (and print why); builds nothing.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TCPAO_VM_CACHE:-$ROOT/build-vm}
JOBS=$(nproc)
CHECK=0
NAME=tcpao
KPKG=linux-source-6.12

while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	--check) CHECK=1; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "build-guest.sh: unknown option $1" >&2; exit 2 ;;
	*) NAME=$1; shift ;;
	esac
done
FRAG=$HERE/config/$NAME.fragment
[ -f "$FRAG" ] || { echo "build-guest.sh: no $FRAG" >&2; exit 2; }
log() { echo "build-guest.sh[$NAME]: $*" >&2; }

# --- host programs: config/NAME.programs ------------------------------------
# One path (or glob) a line: the file goes to the same path in the guest; a
# symbolic link stays one and brings its target; an ELF file brings the
# shared libraries ldd names, at the paths ldd names them. Prints
# gen_init_cpio lines, directories first.
PROGS=$HERE/config/$NAME.programs
host_entries() {
	[ -f "$PROGS" ] || return 0
	local p f t lib
	{
		for p in $(sed 's/#.*//' "$PROGS"); do
			for f in $p; do
				[ -e "$f" ] || { log "no $f (make deps)"; exit 1; }
				if [ -L "$f" ]; then
					t=$(readlink "$f")
					echo "slink $f $t 0777 0 0"
					f=$(realpath "$f")
				fi
				echo "file $f $f 0755 0 0"
				ldd "$f" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^\s*\(\/[^ ]*\) (.*/\1/p' |
					while read -r lib; do
						echo "file $lib $(realpath "$lib") 0755 0 0"
					done
			done
		done
	} | sort -u -k2,2 >"$WORKLIST"
	awk '{ print $2 }' "$WORKLIST" | while read -r f; do
		f=$(dirname "$f")
		while [ "$f" != / ]; do echo "$f"; f=$(dirname "$f"); done
	done | sort -u | awk '{ print "dir " $1 " 0755 0 0" }'
	cat "$WORKLIST"
}
WORKLIST=$(mktemp)
trap 'rm -f "$WORKLIST"' EXIT
HOST=$(host_entries)

# --- the key ----------------------------------------------------------------
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
KVER=$(pkgver $KPKG)
BBVER=$(pkgver busybox-static)
inputs() {
	echo "kernel-source $KPKG $KVER"
	echo "busybox-static $BBVER"
	echo "cc $(${CC:-cc} -dumpfullversion 2>/dev/null || echo none)"
	(cd "$HERE" && sha256sum build-guest.sh "config/$NAME.fragment" guest/*)
	[ -z "$HOST" ] || (cd "$HERE" && sha256sum "config/$NAME.programs")
	# the host files' contents (their package updates rebuild the guest)
	echo "$HOST" | awk '$1 == "file" { print $3 }' | sort -u | xargs -r sha256sum
}
KEY=$(inputs | sha256sum | cut -c1-16)
OUT=$CACHE/$NAME-$KEY

if [ -s "$OUT/bzImage" ] && [ -s "$OUT/initramfs.cpio.gz" ]; then
	[ $CHECK = 1 ] || log "up to date: $OUT"
	ln -sfn "$NAME-$KEY" "$CACHE/$NAME"
	exit 0
fi
if [ $CHECK = 1 ]; then
	echo "guest $NAME not built for the current inputs (key $KEY): make interop-peer" >&2
	exit 1
fi

[ -n "$KVER" ] && [ -f /usr/src/$KPKG.tar.xz ] ||
	{ log "needs the package $KPKG (make deps)"; exit 1; }
[ -x /bin/busybox ] && [ -n "$BBVER" ] ||
	{ log "needs the package busybox-static (make deps)"; exit 1; }
for t in make gcc flex bison bc xz cpio gzip; do
	command -v $t >/dev/null || { log "needs $t (make deps)"; exit 1; }
done

T0=$(date +%s)
# --- kernel source, unpacked once per package version ---------------------------
SRC=$CACHE/src/linux-${KVER//\~/_}
if [ ! -f "$SRC/.tcpao-unpacked" ]; then
	log "unpacking /usr/src/$KPKG.tar.xz"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xJf /usr/src/$KPKG.tar.xz -C "$SRC.tmp"
	mv "$SRC.tmp"/$KPKG "$SRC"
	rmdir "$SRC.tmp"
	echo "$KVER" >"$SRC/.tcpao-unpacked"
fi

# --- configure: tinyconfig + the fragment, then check every line took ---------------
OBJ=$CACHE/obj/$NAME
mkdir -p "$OBJ"
K=(make -s -C "$SRC" O="$OBJ" ARCH=x86_64)
log "configuring (tinyconfig + config/$NAME.fragment)"
[ -f "$OBJ/.config" ] && cp -p "$OBJ/.config" "$OBJ/.config.prev"
"${K[@]}" tinyconfig >/dev/null
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "$FRAG" >/dev/null
"${K[@]}" olddefconfig
missing=0
while read -r line; do
	case $line in
	CONFIG_*=*) grep -qx -- "$line" "$OBJ/.config" || { log "did not take: $line"; missing=1; } ;;
	"# CONFIG_"*" is not set") grep -q "^${line:2:-11}=" "$OBJ/.config" &&
		{ log "still set: ${line:2:-11}"; missing=1; } ;;
	esac
done <"$FRAG"
[ $missing = 0 ] || { log "the fragment does not apply to $KVER"; exit 1; }
# the same config as last time: keep its date, so that make has less to redo
cmp -s "$OBJ/.config" "$OBJ/.config.prev" 2>/dev/null && touch -r "$OBJ/.config.prev" "$OBJ/.config"

# --- build -----------------------------------------------------------------------------
log "building bzImage with -j$JOBS (log: $OBJ/build.log)"
T1=$(date +%s)
# bzImage alone: usr/gen_init_cpio is a goal make only knows once usr/ is
# being built (CONFIG_BLK_DEV_INITRD), so naming it too fails on a fresh tree.
if ! nice -n 19 "${K[@]}" -j"$JOBS" bzImage >"$OBJ/build.log" 2>&1; then
	tail -30 "$OBJ/build.log" >&2
	exit 1
fi
[ -x "$OBJ/usr/gen_init_cpio" ] || nice -n 19 "${K[@]}" usr/ >>"$OBJ/build.log" 2>&1
[ -x "$OBJ/usr/gen_init_cpio" ] || { log "no usr/gen_init_cpio after the build"; exit 1; }
T2=$(date +%s)

# --- initramfs -----------------------------------------------------------------------
STAGE=$CACHE/obj/$NAME-initramfs
rm -rf "$STAGE"
mkdir -p "$STAGE"
for c in "$HERE"/guest/*.c; do
	p=$(basename "$c" .c)
	${CC:-cc} -O2 -Wall -static -o "$STAGE/$p" "$c"
	strip "$STAGE/$p"
done
{
	for d in /bin /dev /proc /sys /tmp /out /root /etc; do echo "dir $d 0755 0 0"; done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	echo "file /init $HERE/guest/init 0755 0 0"
	echo "file /bin/busybox /bin/busybox 0755 0 0"
	for a in $(/bin/busybox --list); do
		# a host program of the same path wins (iproute2's /bin/ip)
		[ "$a" = busybox ] || echo "$HOST" | grep -qF " /bin/$a " ||
			echo "slink /bin/$a busybox 0777 0 0"
	done
	echo "$HOST" | grep -v '^dir /bin ' | grep -v '^$' || true
	for p in "$STAGE"/*; do
		[ -x "$p" ] && echo "file /bin/$(basename "$p") $p 0755 0 0"
	done
} >"$STAGE.list"

rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
"$OBJ/usr/gen_init_cpio" "$STAGE.list" | gzip -9n >"$OUT.tmp/initramfs.cpio.gz"
cp "$OBJ/arch/x86/boot/bzImage" "$OUT.tmp/bzImage"
cp "$OBJ/.config" "$OUT.tmp/config"
T3=$(date +%s)
{
	echo "guest: $NAME, key $KEY"
	echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "seconds: $((T3 - T0)) in all, kernel make $((T2 - T1)) (-j$JOBS, nice 19)"
	echo "inputs:"
	inputs | sed 's/^/  /'
	echo "outputs:"
	(cd "$OUT.tmp" && sha256sum bzImage initramfs.cpio.gz | sed 's/^/  /')
} >"$OUT.tmp/build-info.txt"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
ln -sfn "$NAME-$KEY" "$CACHE/$NAME"
# older builds of this guest
for d in "$CACHE/$NAME"-*; do
	[ "$d" = "$OUT" ] || [ ! -d "$d" ] || rm -rf "$d"
done
log "done in $((T3 - T0)) s (kernel $((T2 - T1)) s): $OUT"
