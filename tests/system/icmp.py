#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sends ICMP errors about a live connection (tests only).

    icmp.py CAPTURE IFACE DST_MAC LOCAL REMOTE REMOTE_PORT KIND [MTU]

The quoted segment is built from the last data segment LOCAL -> REMOTE in
CAPTURE (its ports, and the sequence number the peer acknowledged, so the
kernel finds it in its window). The error goes from REMOTE to LOCAL at
layer 2 on IFACE, i.e. into LOCAL's host. KIND: port-unreach,
proto-unreach (IPv4), admin-prohibited (IPv6), frag-needed / too-big
(with MTU).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile import last_segment  # noqa: E402
from scapy.all import IP, IPv6, TCP, ICMP, Ether, sendp  # noqa: E402
from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6PacketTooBig  # noqa: E402


def main():
    pcap, iface, dmac, local, remote, rport, kind = sys.argv[1:8]
    mtu = int(sys.argv[8]) if len(sys.argv) > 8 else 0
    seg = last_segment(pcap, local, remote, int(rport))
    t = seg[TCP]
    nxt = (t.seq + len(t.payload)) & 0xffffffff
    if IP in seg:
        quoted = IP(src=local, dst=remote, flags="DF") / TCP(
            sport=t.sport, dport=t.dport, seq=nxt, ack=t.ack, flags="A")
        quoted = IP(bytes(quoted))
        code = {"proto-unreach": 2, "port-unreach": 3, "frag-needed": 4}[kind]
        icmp = ICMP(type=3, code=code, nexthopmtu=mtu if code == 4 else 0)
        pkt = IP(src=remote, dst=local) / icmp / bytes(quoted)[:28]
    else:
        quoted = IPv6(src=local, dst=remote) / TCP(
            sport=t.sport, dport=t.dport, seq=nxt, ack=t.ack, flags="A")
        if kind == "too-big":
            err = ICMPv6PacketTooBig(mtu=mtu)
        else:
            err = ICMPv6DestUnreach(code={"admin-prohibited": 1,
                                          "port-unreach": 4}[kind])
        pkt = IPv6(src=remote, dst=local) / err / bytes(quoted)
    sendp(Ether(dst=dmac) / pkt, iface=iface, verbose=False)
    print("sent %s" % kind)


if __name__ == "__main__":
    main()
