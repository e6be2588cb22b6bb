#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Injects forged segments into a live TCP-AO connection (tests only).

    hostile.py CAPTURE IFACE DST_MAC LOCAL REMOTE REMOTE_PORT

Reads the last data segment LOCAL -> REMOTE:REMOTE_PORT from CAPTURE (the
connection's state: ports, sequence numbers, the AO option), then sends
from IFACE at layer 2 (past the local netfilter hooks) forged segments
that land inside the receive window. Prints one line per kind and how many
were sent; tcpaod on the far side must drop and count every one.
"""
import sys

from scapy.all import IP, IPv6, TCP, Ether, Raw, fragment, rdpcap, sendp
from scapy.layers.inet6 import IPv6ExtHdrFragment

AO_KIND = 29


def ao_option(tcp):
    for kind, value in tcp.options:
        if kind == AO_KIND or kind == "AO":
            return bytes(value) if not isinstance(value, bytes) else value
    return None


def last_segment(pcap, local, remote, rport):
    last = None
    for p in rdpcap(pcap):
        ip = p.getlayer(IP) or p.getlayer(IPv6)
        if ip is None or TCP not in p:
            continue
        t = p[TCP]
        if ip.src == local and ip.dst == remote and t.dport == rport and \
                len(t.payload) > 0:
            last = p
    if last is None:
        sys.exit("no data segment from %s to %s:%d in %s" % (
            local, remote, rport, pcap))
    return last


def main():
    pcap, iface, dmac, local, remote, rport = sys.argv[1:7]
    rport = int(rport)
    seg = last_segment(pcap, local, remote, rport)
    ipl = IP if IP in seg else IPv6
    t = seg[TCP]
    nxt = (t.seq + len(t.payload)) & 0xffffffff
    ao = ao_option(t)
    if ao is None:
        sys.exit("the captured segment has no AO option")
    keyid, rnext, mac = ao[0], ao[1], ao[2:]
    l2 = Ether(dst=dmac)

    def base(flags, seq=nxt, options=None):
        return ipl(src=local, dst=remote) / TCP(
            sport=t.sport, dport=rport, seq=seq, ack=t.ack, flags=flags,
            window=t.window, options=options or [])

    garbage = Raw(b"\xff" * 512)
    sent = {}

    def send(kind, pkts):
        sendp([l2 / p for p in pkts], iface=iface, verbose=False)
        sent[kind] = sent.get(kind, 0) + len(pkts)

    # No AO at all: RST, SYN, data, ACK (TCPAORequired).
    send("no-ao", [base("R"), base("S"), base("PA") / garbage, base("A")])
    # The right KeyID, a wrong MAC: the captured segment with its payload
    # changed (TCPAOBad).
    bad = seg[ipl].copy()
    bad[TCP].remove_payload()
    bad = bad / Raw(b"\xee" * len(t.payload))
    del bad[TCP].chksum
    if ipl is IP:
        del bad[IP].chksum
        del bad[IP].len
    else:
        del bad[IPv6].plen
    send("bad-mac", [bad])
    # An unknown KeyID (TCPAOKeyNotFound).
    send("key-not-found", [base("PA", options=[(AO_KIND, bytes(
        [keyid ^ 0x5a, rnext]) + mac)]) / garbage])
    # IP fragments: a forged segment without AO, and a copy of the real
    # signed one, each cut in two (dropped before reassembly).
    forged = base("PA") / Raw(b"\xdd" * 1200)
    real = seg[ipl].copy()
    if ipl is IP:
        frags = fragment(forged, fragsize=600) + fragment(real, fragsize=
                                                           max(8, (len(real) // 2) & ~7))
    else:
        frags = []
        for p in (forged, real):
            p = IPv6(bytes(p))
            whole = IPv6(src=p.src, dst=p.dst) / IPv6ExtHdrFragment(nh=6) / p.payload
            from scapy.layers.inet6 import fragment6
            frags += fragment6(whole, 600)
    send("fragments", frags)
    for kind, n in sent.items():
        print("%s=%d" % (kind, n))


if __name__ == "__main__":
    main()
