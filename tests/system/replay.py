#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Picks segments of a TCP-AO connection from a capture and replays them
(tests only).

    replay.py pick CAPTURE SRC DST DPORT SEQ OUTDIR
        From the data segments SRC -> DST:DPORT, writes OUTDIR/old.pkt, the
        one whose payload holds sequence number SEQ, and OUTDIR/dup.pkt,
        the last one captured; prints "NAME seq=S len=L" for each.
    replay.py send IFACE DST_MAC FILE...
        Sends each saved IP packet, unchanged, from IFACE at layer 2 (past
        the local netfilter hooks, so that no tcpaod on this side sees it).
"""
import sys

from scapy.all import IP, TCP, Ether, Raw, rdpcap, sendp


def data_segments(pcap, src, dst, dport):
    for p in rdpcap(pcap):
        if IP not in p or TCP not in p:
            continue
        ip, t = p[IP], p[TCP]
        if ip.src == src and ip.dst == dst and t.dport == dport and \
                len(t.payload) > 0:
            yield ip


def holds(ip, seq):
    t = ip[TCP]
    return ((seq - t.seq) & 0xffffffff) < len(t.payload)


def pick(pcap, src, dst, dport, seq, outdir):
    old = last = None
    for ip in data_segments(pcap, src, dst, int(dport)):
        if old is None and holds(ip, int(seq, 0)):
            old = ip
        last = ip
    if old is None or last is None:
        sys.exit("no data segment holding seq %s in %s" % (seq, pcap))
    for name, ip in (("old", old), ("dup", last)):
        with open("%s/%s.pkt" % (outdir, name), "wb") as f:
            f.write(bytes(ip))
        print("%s seq=%d len=%d" % (name, ip[TCP].seq, len(ip[TCP].payload)))


def send(iface, dmac, files):
    for path in files:
        with open(path, "rb") as f:
            # The bytes as captured (no re-encoding of the options).
            sendp(Ether(dst=dmac, type=0x0800) / Raw(f.read()), iface=iface,
                  verbose=False)


def main(argv):
    if len(argv) >= 8 and argv[1] == "pick":
        pick(*argv[2:8])
    elif len(argv) >= 5 and argv[1] == "send":
        send(argv[2], argv[3], argv[4:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
