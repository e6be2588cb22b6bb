#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes fuzz/corpus/datapath/: seeds for fuzz-datapath, records of
# [queue: 0 egress, 1 ingress, 2 icmp][length, 2 bytes][IP packet].
# Needs python3-scapy (Debian's): /usr/bin/python3 fuzz/datapath-seeds.py
import os
import struct
from scapy.all import IP, IPv6, TCP, ICMP, ICMPv6PacketTooBig, IPv6ExtHdrDestOpt, raw

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "datapath")


def ao(kid=1, rnext=1):
    return (29, bytes([kid, rnext]) + b"\x11" * 12)  # a MAC that never verifies


def rec(queue, pkt):
    b = raw(pkt)
    return bytes([queue]) + struct.pack(">H", len(b)) + b


def connection(ip, local, peer):
    """Our SYN, the peer's SYN-ACK, data both ways, a RST, our FIN."""
    out, inn = (lambda **k: ip(src=local, dst=peer) / TCP(sport=40000, dport=179, **k),
                lambda **k: ip(src=peer, dst=local) / TCP(sport=179, dport=40000, **k))
    return [
        rec(0, out(flags="S", seq=1000, options=[("MSS", 1460), ("SAckOK", b""),
                                                 ("Timestamp", (1, 0)), ("WScale", 7)])),
        rec(1, inn(flags="SA", seq=5000, ack=1001, options=[("MSS", 1460), ao()])),
        rec(0, out(flags="A", seq=1001, ack=5001)),
        rec(0, out(flags="PA", seq=1001, ack=5001) / (b"x" * 100)),
        rec(1, inn(flags="A", seq=5001, ack=1101, options=[ao()])),
        rec(1, inn(flags="R", seq=5001)),
        rec(0, out(flags="FA", seq=1101, ack=5001)),
    ]


def main():
    os.makedirs(OUT, exist_ok=True)
    c4 = connection(IP, "198.18.0.1", "198.18.0.2")
    c6 = connection(IPv6, "fd00::1", "fd00::2")
    quoted4 = raw(IP(src="198.18.0.1", dst="198.18.0.2") / TCP(sport=40000, dport=179, seq=1001))[:28]
    quoted6 = raw(IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrDestOpt() /
                  TCP(sport=40000, dport=179, seq=1001))
    seeds = {
        "conv4": b"".join(c4),
        "conv6": b"".join(c6),
        "syn-in4": rec(1, IP(src="198.18.0.2", dst="198.18.0.1") /
                       TCP(sport=40001, dport=179, flags="S", seq=7, options=[ao()])) +
                   rec(1, IP(src="198.18.0.2", dst="198.18.0.1") /
                       TCP(sport=40002, dport=179, flags="S", seq=7)),
        "icmp4": c4[0] + rec(2, IP(src="198.18.0.2", dst="198.18.0.1") /
                             ICMP(type=3, code=4, nexthopmtu=1300) / quoted4) +
                 rec(2, IP(src="198.18.0.2", dst="198.18.0.1") / ICMP(type=3, code=3) / quoted4),
        "icmp6": c6[0] + rec(2, IPv6(src="fd00::2", dst="fd00::1") /
                             ICMPv6PacketTooBig(mtu=1280) / quoted6),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


main()
