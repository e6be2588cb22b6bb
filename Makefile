# tcpao — top-level entry points. Everything builds with meson into build*/.
SHELL := /bin/bash
MESON ?= meson
BUILD ?= build

DEB_PACKAGES := build-essential pkg-config meson ninja-build clang \
	libclang-rt-14-dev nettle-dev libpcap-dev libcmocka-dev \
	libmnl-dev libnetfilter-queue-dev libbpf-dev iproute2 iptables ipset nftables \
	tcpdump socat python3 python3-scapy iperf3 \
	qemu-system-x86 cpio linux-source-6.12 ethtool linux-perf gobgpd frr \
	libsystemd-dev systemd debhelper dpkg-dev fakeroot lintian \
	busybox-static bc flex bison libelf-dev libssl-dev xz-utils

.PHONY: all deps check unit demo bench fuzz interop interop-peer vrf vrf-guest selftests install deb clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Developers' builds are strict; package builds (debian/rules) are not.
$(BUILD)/build.ninja:
	rm -rf $(BUILD) && $(MESON) setup -Dwerror=true $(BUILD)

# Into meson's prefix (default /usr/local; `meson configure $(BUILD)
# -Dprefix=/usr` to change); DESTDIR is honoured.
install: all
	$(MESON) install -C $(BUILD)

# The Debian package (debian/), built from a copy of the tree under
# build/deb/ so that nothing is written into the source tree; the .deb
# files are left in build/deb/. LINTIAN=: skips lintian (tests/pkg/deb.sh).
DEB_DIR := build/deb
LINTIAN ?= lintian --info --fail-on error,warning
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	git ls-files -z | xargs -0 cp --parents -t $(DEB_DIR)/src
	cd $(DEB_DIR)/src && TCPAO_GIT_DESCRIBE=$$(git -C $(CURDIR) describe --always --dirty --tags) \
		dpkg-buildpackage -us -uc -b
	$(LINTIAN) $(DEB_DIR)/*.changes

deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PACKAGES)

# Every test: unit (plain, then ASan+UBSan), capture checks, fuzzing for a
# bounded time. Prints one "N passed, N failed" line at the end.
check: all
	tests/run-all.sh

demo: all
	$(BUILD)/cli/tcpao demo

# Builds only what it runs: bench-mac (about 20 s; --quick for a smoke
# test), bench-keyring (about 5 s), bench-keyops (root; to 100,000 keys,
# host policy and one socket's keys, about 10 s each with --quick;
# without, about a minute), bench-publish (about 10 s), then bench/idle
# (root, 10 s), bench/startup (root, about 5 s), bench/throughput (root,
# about 4 min; --quick about 75 s).
bench: $(BUILD)/build.ninja
	ninja -C $(BUILD) bench/bench-mac bench/bench-keyring bench/bench-keyops bench/bench-publish bench/tcpbench daemon/tcpaod cli/tcpao
	$(BUILD)/bench/bench-mac
	$(BUILD)/bench/bench-keyring
	$(BUILD)/bench/bench-keyops --quick
	$(BUILD)/bench/bench-keyops --sockets --quick
	$(BUILD)/bench/bench-publish --quick
	bench/idle $(BUILD)
	bench/startup $(BUILD)
	bench/throughput --profile 5 $(BUILD)

# The Linux guest of the interop suite (tests/vm): kernel from Debian's
# linux-source-6.12 with CONFIG_TCP_AO=y, busybox + aopeer initramfs. Cached
# in build-vm/ (or $TCPAO_VM_CACHE), keyed by a hash of its inputs: a no-op
# when they did not change; the first build takes 10-20 min on 2 CPUs.
interop-peer:
	tests/vm/build-guest.sh tcpao

# Interop with Linux's own TCP-AO (a QEMU guest; root; ~5 min).
interop: all interop-peer
	$(MESON) test -C $(BUILD) --suite interop --num-processes 1 --print-errorlogs

# The vrf suite's guest (tests/vm): Linux without TCP-AO, with VRFs,
# netfilter queue, ipset and the host's iptables/ipset/ip; cached like the
# interop guest (the first build: about 9 min on 2 idle CPUs).
vrf-guest:
	tests/vm/build-guest.sh vrf

# Keys bound to VRFs, in that guest under QEMU (root; ~3 min).
vrf: all vrf-guest
	$(MESON) test -C $(BUILD) --suite vrf --num-processes 1 --print-errorlogs

# Linux's tcp_ao selftests with libtcpao-preload.so (root; < 10 min): the
# whole table, then the regression gate of tests/selftests/expected-pass.txt.
selftests: all
	tests/selftests/run.sh --expect tests/selftests/expected-pass.txt $(BUILD)

# (build-vm/, the guest images and kernel tree, stays: rm -rf build-vm)
clean:
	rm -rf build build-asan build-fuzz
