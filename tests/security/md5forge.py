#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Forges a data segment with a fake TCP-AO option (kind 29) and no MD5
option into each session of md5peer.py (tests only).

    md5forge.py CAPTURE IFACE DST_MAC SRC,DST,PORT[,shaped]...

For each session, reads the last data segment SRC -> DST:PORT from CAPTURE
and sends from IFACE at layer 2 (past the local hooks) one segment with
the right 4-tuple at the next sequence number (inside the receive window),
carrying b"FORGED" and a 20-byte kind-29 option. With ",shaped" (an AO
session) a second one carries the captured segment's options instead:
its real AO option (KeyID, RNextKeyID, a MAC of other bytes) and
timestamps, the shape of the segments tcpaod hands on with their AO
option in place. Prints "forged N".
Without CONFIG_TCP_AO the kernel looks for signature options only while
18 bytes (an MD5 option) of option space remain: a shorter AO option is
never seen and the MD5 check runs; a 20-byte one skips it.
"""
import sys

from scapy.all import IP, IPv6, TCP, Ether, Raw, rdpcap, sendp


def main():
    pcap, iface, dmac = sys.argv[1:4]
    sessions = [(a[0], a[1], int(a[2]), a[3:] == ["shaped"])
                for a in (x.split(",") for x in sys.argv[4:])]
    last = {}
    for p in rdpcap(pcap):
        ip = p.getlayer(IP) or p.getlayer(IPv6)
        if ip is None or TCP not in p:
            continue
        t = p[TCP]
        if len(t.payload) > 0:
            last[(ip.src, ip.dst, t.dport)] = p
    n = 0
    for src, dst, port, shaped in sessions:
        seg = last.get((src, dst, port))
        if seg is None:
            sys.exit("no data segment %s -> %s:%d in %s" % (src, dst, port, pcap))
        t = seg[TCP]
        ipl = IP if IP in seg else IPv6
        nxt = (t.seq + len(t.payload)) & 0xffffffff
        fake = bytes([7, 7]) + b"\x5a" * 16  # KeyID, RNextKeyID, "MAC"
        shapes = [[(29, fake)]] + ([t.options] if shaped else [])
        for opts in shapes:
            pkt = Ether(dst=dmac) / ipl(src=src, dst=dst) / TCP(
                sport=t.sport, dport=port, seq=nxt, ack=t.ack, flags="PA",
                window=t.window, options=opts) / Raw(b"FORGED" * 4)
            sendp(pkt, iface=iface, verbose=False)
            n += 1
    print("forged %d" % n)


if __name__ == "__main__":
    main()
