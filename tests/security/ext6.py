#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A forged IPv6 SYN, at layer 2, behind IPv6 extension headers.

    ext6.py IFACE DSTMAC SRC DST DPORT SPORT CHAIN

CHAIN: none, hbh-dst (hop-by-hop then destination options), dst4 (hop-by-
hop then three destination options), dst9 (hop-by-hop then nine: longer
than the guard walks), atomic (an atomic fragment header). What a forger
on the link would send to reach a TCP header the filters do not expect.
"""
import sys

from scapy.all import (Ether, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, TCP, sendp)


def chain(name):
    if name == "none":
        return []
    if name == "hbh-dst":
        return [IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt()]
    if name == "dst4":
        return [IPv6ExtHdrHopByHop()] + [IPv6ExtHdrDestOpt() for _ in range(3)]
    if name == "dst9":
        return [IPv6ExtHdrHopByHop()] + [IPv6ExtHdrDestOpt() for _ in range(9)]
    if name == "atomic":
        return [IPv6ExtHdrFragment(offset=0, m=0, id=0x7ca0)]
    raise SystemExit("unknown chain %s" % name)


def main(argv):
    if len(argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    iface, mac, src, dst, dport, sport, name = argv[1:]
    pkt = IPv6(src=src, dst=dst)
    for h in chain(name):
        pkt = pkt / h
    pkt = pkt / TCP(sport=int(sport), dport=int(dport), flags="S", seq=1000)
    sendp(Ether(dst=mac) / pkt, iface=iface, verbose=False)
    print("sent %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
