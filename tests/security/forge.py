#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Forged packets from a remote attacker (tests only): sent at layer 2
from IFACE to DST_MAC, past the sender's own hooks.

    forge.py syn IFACE DST_MAC SRC SPORT DST DPORT KEYID
        a SYN with the AO option of KEYID (RNextKeyID the same), a random
        ISN and a random MAC: what anyone who sees the wire can build.
    forge.py icmp IFACE DST_MAC CAPTURE LOCAL REMOTE RPORT KIND
        an ICMP error from REMOTE to LOCAL quoting the connection's last
        data segment in CAPTURE. KIND: v6-exthdr (ICMPv6 port unreachable
        behind a destination-options header), v4-frag-quote (ICMPv4 port
        unreachable in two fragments, the quote in the first), v4-frag-split
        (the quote cut across the fragments), v6-frag (ICMPv6 port
        unreachable in two fragments).
"""
import os
import random
import sys

from scapy.all import (ICMP, IP, TCP, Ether, IPv6, fragment, sendp)
from scapy.layers.inet6 import (ICMPv6DestUnreach, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrFragment, fragment6)

AO_KIND = 29


def syn(iface, dmac, src, sport, dst, dport, keyid):
    ipl = IPv6 if ":" in src else IP
    keyid = int(keyid)
    ao = bytes([keyid, keyid]) + os.urandom(12)
    pkt = ipl(src=src, dst=dst) / TCP(
        sport=int(sport), dport=int(dport), seq=random.getrandbits(32),
        flags="S", window=64240, options=[("MSS", 1460), (AO_KIND, ao)])
    sendp(Ether(dst=dmac) / pkt, iface=iface, verbose=False)
    print("sent forged SYN %s:%s -> %s:%s KeyID %d" % (
        src, sport, dst, dport, keyid))


def icmp(iface, dmac, pcap, local, remote, rport, kind):
    sys.path.insert(0, os.environ["TS_DIR"])
    from hostile import last_segment
    seg = last_segment(pcap, local, remote, int(rport))
    t = seg[TCP]
    nxt = (t.seq + len(t.payload)) & 0xffffffff
    tcp = TCP(sport=t.sport, dport=t.dport, seq=nxt, ack=t.ack, flags="PA")
    if kind.startswith("v4"):
        quoted = bytes(IP(src=local, dst=remote, flags="DF") / tcp /
                       (b"\0" * 64))
        err = IP(src=remote, dst=local) / ICMP(type=3, code=3) / quoted
        err = IP(bytes(err))
        size = 56 if kind == "v4-frag-quote" else 16
        pkts = fragment(err, fragsize=size)
    else:
        quoted = bytes(IPv6(src=local, dst=remote) / tcp / (b"\0" * 64))
        if kind == "v6-exthdr":
            pkts = [IPv6(src=remote, dst=local) / IPv6ExtHdrDestOpt() /
                    ICMPv6DestUnreach(code=4) / quoted]
        else:
            whole = IPv6(src=remote, dst=local) / IPv6ExtHdrFragment() / \
                ICMPv6DestUnreach(code=4) / quoted
            whole = IPv6(bytes(whole))
            pkts = fragment6(whole, 120)
    sendp([Ether(dst=dmac) / p for p in pkts], iface=iface, verbose=False)
    print("sent %s in %d packet(s)" % (kind, len(pkts)))


def main():
    if sys.argv[1] == "syn":
        syn(*sys.argv[2:9])
    else:
        icmp(*sys.argv[2:9])


if __name__ == "__main__":
    main()
