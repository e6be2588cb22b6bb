#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Where a tcpaod's CPU time goes, from `perf record -g` of the daemon.

    perf-groups.py PERF.DATA

Each sample is put in one group by its call stack: user-space samples by
their leaf (the MAC in nettle, the checksum, copies, the rest of the
daemon); kernel samples by the nearest known frame above the leaf (e.g. a
slab allocation under nfqnl_enqueue_packet is queueing). Kernel stacks are
complete; user stacks are not needed (only the leaf is used).
"""
import subprocess
import sys
from collections import Counter

# Kernel frames, the first found walking from the leaf towards the root wins.
KERNEL_MARKERS = [
    ("nfqnl_enqueue_packet", "queue: enqueue a packet (copy into a netlink skb)"),
    ("tcp_v4_rcv", "TCP/IP stack: TCP receive"),
    ("tcp_v6_rcv", "TCP/IP stack: TCP receive"),
    ("tcp_write_xmit", "TCP/IP stack: TCP transmit (incl. GSO split)"),
    ("__tcp_transmit_skb", "TCP/IP stack: TCP transmit (incl. GSO split)"),
    ("__tcp_send_ack", "TCP/IP stack: TCP transmit (incl. GSO split)"),
    ("nfqnl_reinject", "TCP/IP stack: IP, netfilter, veth after the verdict"),
    ("nfqnl_recv_verdict", "queue: verdict (parse, copy the packet in)"),
    ("__sys_sendto", "queue: verdict (sendto, netlink)"),
    ("do_recvmmsg", "queue: receive (recvmmsg, copy out)"),
    ("do_sys_poll", "queue: poll, sleep, wake-up"),
    ("schedule", "queue: poll, sleep, wake-up"),
    ("vfs_fsync_range", "state file: fsync"),
    ("ksys_write", "state file: write, open, rename"),
    ("do_renameat2", "state file: write, open, rename"),
    ("do_sys_openat2", "state file: write, open, rename"),
    ("__x64_sys_close", "state file: write, open, rename"),
    ("__irq_exit_rcu", "kernel: interrupts and softirqs (any namespace)"),
    ("handle_softirqs", "kernel: interrupts and softirqs (any namespace)"),
]
USER_GROUPS = [
    ("libnettle", None, "daemon: MAC (nettle)"),
    (None, "csum", "daemon: checksum"),
    (None, "memmove", "daemon: copies (memcpy/memmove)"),
    (None, "memcpy", "daemon: copies (memcpy/memmove)"),
    (None, "fill_worker", "state file: scan the flow table, format"),
    (None, "put_flow", "state file: scan the flow table, format"),
    (None, "printf", "state file: scan the flow table, format"),
    (None, "inet_ntop", "state file: scan the flow table, format"),
    (None, "_IO_", "state file: scan the flow table, format"),
    (None, "_itoa", "state file: scan the flow table, format"),
    (None, "strchrnul", "state file: scan the flow table, format"),
]


def group_of(frames):
    """frames: [(sym, dso)] leaf first."""
    if not frames:
        return "unknown"
    sym, dso = frames[0]
    if "kernel" not in dso:
        for d, s, name in USER_GROUPS:
            if (d and d in dso) or (s and s in sym):
                return name
        return "daemon: other user space (parse, flows, libmnl, libc)"
    for sym, _ in frames:
        for marker, name in KERNEL_MARKERS:
            if sym == marker:
                return name
    return "kernel: other"


def samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "ip,sym,dso"],
                         capture_output=True, text=True, check=True).stdout
    frames = []
    for line in out.splitlines():
        line = line.strip()
        if not line:
            if frames:
                yield frames
            frames = []
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        sym, _, dso = rest.rpartition(" (")
        frames.append((sym.split("+")[0], dso.rstrip(")")))
    if frames:
        yield frames


def main():
    counts = Counter(group_of(f) for f in samples(sys.argv[1]))
    total = sum(counts.values())
    if not total:
        print("no samples")
        return
    for name, n in sorted(counts.items()):
        print("  %-56s %5.1f%%" % (name, 100.0 * n / total))
    print("  %-56s %6d" % ("samples", total))


if __name__ == "__main__":
    main()
